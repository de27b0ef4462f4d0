"""Generative models on 8x8 digits and their evaluation (VAE, VQ-VAE, diffusion, GANs).

Every model here works on scikit-learn's digits at native 8x8 resolution, values in
[-1, 1] (:mod:`deep.generative.data`); :mod:`deep.generative.evaluate` scores samples with
a Fréchet distance on a LeNet-5's features and that classifier's recognition rate.
The models: :mod:`~deep.generative.vae`, :mod:`~deep.generative.vqvae`,
:mod:`~deep.generative.diffusion`.
"""

from deep.generative import data as _data
from deep.generative import diffusion as _diffusion
from deep.generative import evaluate as _evaluate
from deep.generative import gan as _gan
from deep.generative import pix2pix as _pix2pix
from deep.generative import vae as _vae
from deep.generative import vqvae as _vqvae
from deep.generative.data import *  # noqa: F403
from deep.generative.diffusion import *  # noqa: F403
from deep.generative.evaluate import *  # noqa: F403
from deep.generative.gan import *  # noqa: F403
from deep.generative.pix2pix import *  # noqa: F403
from deep.generative.vae import *  # noqa: F403
from deep.generative.vqvae import *  # noqa: F403

__all__ = sorted({
    *_data.__all__,
    *_evaluate.__all__,
    *_vae.__all__,
    *_vqvae.__all__,
    *_diffusion.__all__,
    *_gan.__all__,
    *_pix2pix.__all__,
})
