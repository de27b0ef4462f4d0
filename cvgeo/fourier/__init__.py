"""Fourier analysis of images: spectra (:mod:`.spectra`), frequency-domain filters
(:mod:`.frequency_filters`), FFT convolution and the transform path of Gaussian blur
(:mod:`.convolve`), hybrid images (:mod:`.hybrid`).

Anti-aliased downsampling and Gaussian/Laplacian pyramids live in :mod:`cvgeo.pyramids`
(``cvgeo.fourier.downsample`` and the pyramid names are re-exported from there).

Conventions
-----------
Frequencies are in **cycles per pixel**: 0 is the mean, 0.5 is the Nyquist frequency (a
pattern that alternates every pixel). ``fy`` runs along rows (the y axis, downwards),
``fx`` along columns (the x axis, rightwards); the radial frequency is
``rho = sqrt(fx**2 + fy**2)``. Images are ``(H, W)`` or ``(H, W, C)``; colour images are
filtered channel by channel. Every image result is float32.

Borders. A Fourier transform treats the image as one period of a periodic signal, so the
left edge meets the right edge ("wrap-around"). Unless told otherwise, this module filters
the *half-sample symmetric extension* of the image instead (scipy's ``"reflect"``: ``... c b
a | a b c ... x y z | z y x ...``), whose period is ``2H x 2W`` and has no jumps at the
edges. Filtering that extension with an even transfer function is exactly a type-II
discrete cosine transform (DCT) of the image, a multiplication and the inverse DCT, at the
cost of one transform of the image's own size. It gives the same numbers as reflect-padding
the image to ``2H x 2W``, taking the FFT and cropping (tested), without padding anything.
"""

from cvgeo.filters import (  # noqa: F401  (gaussian_blur, AUTO_FFT_RADIUS: re-exported)
    AUTO_FFT_RADIUS,
    gaussian_blur,
)
from cvgeo.fourier.convolve import (  # noqa: F401  (the Gaussian transform path and its limits)
    GAUSSIAN_GAIN_FLOOR,
    PRUNE_MIN_SIZE,
    TRUNCATED_RIPPLE_MAX,
    fft_convolve,
    gaussian_by_transform,
)
from cvgeo.fourier.frequency_filters import FrequencyFilter, apply_filter, frequency_filter
from cvgeo.fourier.hybrid import hybrid_image, hybrid_scales
from cvgeo.fourier.spectra import FrequencyGrid, Spectrum, frequency_grid, spectrum
from cvgeo.pyramids import (  # noqa: F401  (re-exported: cvgeo.fourier.<name> keeps working)
    LaplacianPyramid,
    dct_frequencies,
    downsample,
    gaussian_pyramid,
    laplacian_pyramid,
)

__all__ = [
    "FrequencyFilter",
    "FrequencyGrid",
    "Spectrum",
    "apply_filter",
    "fft_convolve",
    "frequency_filter",
    "frequency_grid",
    "hybrid_image",
    "hybrid_scales",
    "spectrum",
]
