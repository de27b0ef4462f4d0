"""Generative models on 8x8 digits and their evaluation (VAE, VQ-VAE, diffusion, GANs).

Every model here works on scikit-learn's digits at native 8x8 resolution, values in
[-1, 1] (:mod:`deep.generative.data`); :mod:`deep.generative.evaluate` scores samples with
a Fréchet distance on a LeNet-5's features and that classifier's recognition rate.
"""

from deep.generative import data as _data
from deep.generative import evaluate as _evaluate
from deep.generative import gan as _gan
from deep.generative import pix2pix as _pix2pix
from deep.generative.data import *  # noqa: F403
from deep.generative.evaluate import *  # noqa: F403
from deep.generative.gan import *  # noqa: F403
from deep.generative.pix2pix import *  # noqa: F403

__all__ = sorted({*_data.__all__, *_evaluate.__all__, *_gan.__all__, *_pix2pix.__all__})
