"""The frequencies of an image's 2-D DFT and its (windowed) amplitude spectrum.

Conventions are in :mod:`cvgeo.fourier`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.fft as sfft

from cvgeo._checks import (
    DEFAULT_MAX_PIXELS,
    check_bool,
    check_choice,
    check_output_pixels,
    check_shape2,
)
from cvgeo.image import as_float_image


# ------------------------------------------------------------------ frequency grid
@dataclass(frozen=True)
class FrequencyGrid:
    """Frequencies of the 2-D DFT of an ``(H, W)`` image, in cycles per pixel.

    Attributes
    ----------
    fy : ndarray of shape (H, 1), float64
        Vertical frequency of each row of the spectrum (in [-0.5, 0.5)).
    fx : ndarray of shape (1, W), float64
        Horizontal frequency of each column of the spectrum.
    """

    fy: np.ndarray
    fx: np.ndarray

    @property
    def radius(self) -> np.ndarray:
        """Radial frequency ``sqrt(fx**2 + fy**2)``, shape (H, W), cycles/pixel."""
        return np.hypot(self.fy, self.fx)


def frequency_grid(shape: tuple[int, int], *, centered: bool = True) -> FrequencyGrid:
    """Frequencies of the 2-D DFT of an image of ``shape = (H, W)``, in cycles/pixel.

    Parameters
    ----------
    shape : (int, int)
        Image height and width.
    centered : bool
        True: zero frequency in the middle (row ``H // 2``, column ``W // 2``), the layout
        of ``numpy.fft.fftshift`` and of :func:`spectrum`. False: the raw FFT order
        (``0, 1/N, ..., -1/N``), as ``numpy.fft.fftfreq``.

    Returns
    -------
    FrequencyGrid
        ``fy`` of shape (H, 1) and ``fx`` of shape (1, W), broadcasting to (H, W).

    Examples
    --------
    >>> g = frequency_grid((4, 4))
    >>> g.fx.ravel().tolist()
    [-0.5, -0.25, 0.0, 0.25]
    """
    h, w = check_shape2(shape, "frequency_grid", "shape")
    check_output_pixels((h, w), "frequency_grid", DEFAULT_MAX_PIXELS, "shape")
    centered = check_bool(centered, "frequency_grid", "centered")
    fy, fx = sfft.fftfreq(h), sfft.fftfreq(w)
    if centered:
        fy, fx = sfft.fftshift(fy), sfft.fftshift(fx)
    return FrequencyGrid(fy=fy[:, None], fx=fx[None, :])


# ------------------------------------------------------------------------ spectra
@dataclass(frozen=True)
class Spectrum:
    """The centred, orthonormal 2-D DFT of a grey image.

    Attributes
    ----------
    coefficients : ndarray of shape (H, W), complex128
        ``fftshift(fft2(image, norm="ortho"))``: zero frequency at ``[H // 2, W // 2]``.
        With this normalisation Parseval's theorem reads
        ``sum(|coefficients|**2) == sum(image**2)``.
    grid : FrequencyGrid
        The (centred) frequency of every coefficient, cycles/pixel.
    """

    coefficients: np.ndarray
    grid: FrequencyGrid

    @property
    def magnitude(self) -> np.ndarray:
        """``|coefficients|``, float64 (H, W)."""
        return np.abs(self.coefficients)

    @property
    def power(self) -> np.ndarray:
        """``|coefficients|**2``, float64 (H, W); sums to the image's energy."""
        return self.coefficients.real ** 2 + self.coefficients.imag ** 2

    @property
    def phase(self) -> np.ndarray:
        """Phase angle in radians, in (-pi, pi], float64 (H, W)."""
        return np.angle(self.coefficients)

    @property
    def log_magnitude(self) -> np.ndarray:
        """Display image: ``log(1 + |fft2(image)|)`` scaled to a maximum of 1, float32.

        Uses the *unnormalised* DFT magnitude (``|coefficients| * sqrt(H W)``, that of
        ``numpy.fft.fft2``), the classic textbook display.
        """
        m = np.log1p(self.magnitude * np.sqrt(self.coefficients.size))
        top = m.max()
        return (m / top if top > 0 else m).astype(np.float32)

    @property
    def phase_image(self) -> np.ndarray:
        """Display image: phase mapped from [-pi, pi] to [0, 1], float32."""
        return ((self.phase + np.pi) / (2 * np.pi)).astype(np.float32)


def spectrum(image: np.ndarray, *, window: Literal["none", "hann"] = "none") -> Spectrum:
    """Centred 2-D Fourier spectrum of a grey image, normalised so Parseval holds.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image (convert colour with :func:`cvgeo.to_gray`).
    window : {"none", "hann"}
        ``"hann"`` multiplies the image by a separable Hann window first, which removes
        the bright horizontal and vertical cross that the image's edges (its wrap-around
        jumps) put through the centre of the display. Parseval then holds for the
        windowed image.

    Returns
    -------
    Spectrum
        Orthonormal coefficients (``norm="ortho"``, so ``sum |F|^2 = sum |x|^2``), their
        frequency grid in cycles/pixel, and display images ``log_magnitude`` and
        ``phase_image`` (float32 in [0, 1]).

    Raises
    ------
    TypeError, ValueError
        Not a grey image, NaN/inf values, or an unknown ``window``.

    Notes
    -----
    Computed in float64 with ``scipy.fft.fft2``. The image is taken as is (its mean is not
    removed), so the centre coefficient is ``mean * sqrt(H * W)``.

    Examples
    --------
    >>> import numpy as np
    >>> s = spectrum(np.ones((4, 4), np.float32))
    >>> float(s.magnitude[2, 2]), float(s.magnitude.sum())
    (4.0, 4.0)
    """
    check_choice(window, "spectrum", "window", ("none", "hann"))
    x = as_float_image(image, "spectrum", ndim=(2,)).astype(np.float64)
    if window == "hann":
        h, w = x.shape
        x = x * np.outer(np.hanning(h) if h > 1 else np.ones(1),
                         np.hanning(w) if w > 1 else np.ones(1))
    coeffs = sfft.fftshift(sfft.fft2(x, norm="ortho"))
    return Spectrum(coefficients=coeffs, grid=frequency_grid(x.shape))
