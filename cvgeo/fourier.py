"""Fourier analysis of images: spectra, frequency-domain filters, FFT convolution, the
transform path of Gaussian blur, hybrid images.

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

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import scipy.fft as sfft

from cvgeo._checks import (
    DEFAULT_MAX_PIXELS,
    check_bool,
    check_choice,
    check_int,
    check_output_pixels,
    check_real,
    check_shape2,
    describe,
)
from cvgeo.filters import (  # noqa: F401  (gaussian_blur, AUTO_FFT_RADIUS: re-exported)
    AUTO_FFT_RADIUS,
    BORDERS,
    gaussian_blur,
    gaussian_kernel,
)
from cvgeo.image import as_float_image, from_planes, to_planes
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

Border = Literal["constant", "edge", "reflect", "mirror", "wrap"]
#: numpy.pad's names for cvgeo's border names.
_NP_PAD = {"constant": "constant", "edge": "edge", "reflect": "symmetric", "mirror": "reflect",
           "wrap": "wrap"}


# ------------------------------------------------------------------------ helpers
def _is_fast(n: int) -> bool:
    """Whether scipy.fft transforms a length-``n`` real signal quickly (5-smooth-ish)."""
    return sfft.next_fast_len(n, real=True) == n


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


# ------------------------------------------------------------- frequency filters
FilterKind = Literal["ideal", "gaussian", "butterworth"]
Band = Literal["lowpass", "highpass", "bandpass", "bandstop"]


@dataclass(frozen=True)
class FrequencyFilter:
    """A radially symmetric transfer function ``H(rho)``, rho in cycles/pixel.

    Build it with :func:`frequency_filter` (which validates); call it on radial
    frequencies to get the gain, or use :meth:`transfer` for a displayable 2-D array.

    Attributes
    ----------
    kind : {"ideal", "gaussian", "butterworth"}
    band : {"lowpass", "highpass", "bandpass", "bandstop"}
    cutoff : tuple of float
        One cutoff ``(D0,)`` for low/high-pass, ``(low, high)`` for band filters,
        cycles/pixel.
    order : int
        Butterworth order ``n`` (ignored by the other kinds).
    """

    kind: FilterKind
    band: Band
    cutoff: tuple[float, ...]
    order: int = 2

    def _lowpass(self, rho: np.ndarray, d0: float) -> np.ndarray:
        if self.kind == "ideal":
            return (rho <= d0).astype(np.float64)
        if self.kind == "gaussian":
            return np.exp(-0.5 * (rho / d0) ** 2)
        return 1.0 / (1.0 + (rho / d0) ** (2 * self.order))

    def __call__(self, rho: np.ndarray) -> np.ndarray:
        """Gain at radial frequencies ``rho`` (cycles/pixel), float64, same shape."""
        rho = np.asarray(rho, dtype=np.float64)
        if self.band == "lowpass":
            return self._lowpass(rho, self.cutoff[0])
        if self.band == "highpass":
            return 1.0 - self._lowpass(rho, self.cutoff[0])
        low, high = self.cutoff
        passed = self._lowpass(rho, high) * (1.0 - self._lowpass(rho, low))
        return passed if self.band == "bandpass" else 1.0 - passed

    def transfer(self, shape: tuple[int, int], *, centered: bool = True) -> np.ndarray:
        """The gain on the DFT grid of an image of ``shape``, float64 (H, W).

        ``centered=True`` puts zero frequency in the middle, like :class:`Spectrum`.
        """
        return self(frequency_grid(shape, centered=centered).radius)


def frequency_filter(
    band: Band,
    *,
    cutoff: float | tuple[float, float],
    kind: FilterKind = "gaussian",
    order: int = 2,
) -> FrequencyFilter:
    """Make an ideal, Gaussian or Butterworth low/high/band-pass or band-stop filter.

    Parameters
    ----------
    band : {"lowpass", "highpass", "bandpass", "bandstop"}
    cutoff : float or (float, float)
        Cutoff frequency ``D0`` in **cycles per pixel** (> 0; 0.5 is the Nyquist frequency
        along an axis) for low/high-pass; a pair ``(low, high)`` with ``0 < low < high``
        for band-pass and band-stop.
    kind : {"ideal", "gaussian", "butterworth"}
        Profile of the underlying low-pass ``L(rho; D0)``, with ``rho`` the radial
        frequency (Gonzalez & Woods, ch. 4):

        - ideal: ``1`` where ``rho <= D0``, else ``0``;
        - gaussian: ``exp(-rho**2 / (2 D0**2))`` (gain 0.607 at the cutoff; the spatial
          Gaussian with the same effect has ``sigma = 1 / (2 pi D0)`` pixels);
        - butterworth: ``1 / (1 + (rho / D0)**(2 n))``, gain 1/2 at the cutoff. This is the
          **squared** form: the square of the classical Butterworth magnitude
          ``1 / sqrt(1 + (rho / D0)**(2 n))`` (it equals that of order ``n`` applied twice,
          forward and backward, a zero-phase filter).
    order : int
        Butterworth order ``n >= 1`` (steeper for larger ``n``).

    Returns
    -------
    FrequencyFilter
        High-pass is ``1 - L(D0)``; band-pass is ``L(high) * (1 - L(low))``; band-stop is
        ``1 - bandpass``. For the ideal kind, band-pass keeps ``low < rho <= high``.

    Raises
    ------
    ValueError
        Unknown ``band``/``kind``; a cutoff that is not a finite number > 0; a band
        filter without a pair, or with ``low >= high``; ``order < 1``.

    Examples
    --------
    >>> f = frequency_filter("lowpass", cutoff=0.1, kind="butterworth", order=2)
    >>> float(f(np.array(0.1)))
    0.5
    """
    func = "frequency_filter"
    check_choice(band, func, "band", ("lowpass", "highpass", "bandpass", "bandstop"))
    check_choice(kind, func, "kind", ("ideal", "gaussian", "butterworth"))
    order = check_int(order, func, "order", low=1)
    if band in ("lowpass", "highpass"):
        if isinstance(cutoff, (tuple, list, np.ndarray)):
            raise ValueError(f"{func}: cutoff must be one number for a {band} filter, got "
                             f"{describe(cutoff)}")
        cut = (check_real(cutoff, func, "cutoff", low=0.0, low_inclusive=False),)
    else:
        if not isinstance(cutoff, (tuple, list, np.ndarray)) or len(cutoff) != 2:
            raise ValueError(f"{func}: cutoff must be a pair (low, high) in cycles/pixel for "
                             f"a {band} filter, got {describe(cutoff)}")
        low = check_real(cutoff[0], func, "cutoff[0] (low)", low=0.0, low_inclusive=False)
        high = check_real(cutoff[1], func, "cutoff[1] (high)", low=0.0, low_inclusive=False)
        if low >= high:
            raise ValueError(f"{func}: cutoff must be (low, high) with low < high, got "
                             f"low={low!r} >= high={high!r}")
        cut = (low, high)
    return FrequencyFilter(kind=kind, band=band, cutoff=cut, order=order)


def _dct_filter(planes: np.ndarray, gy: np.ndarray, gx: np.ndarray, dct_type: int = 2,
                keep: tuple[int, int] | None = None) -> np.ndarray:
    """Multiply the DCT of each (H, W) plane by ``gy[:, None] * gx[None, :]`` and invert.

    ``planes`` is (C, H, W) float32; ``gy``/``gx`` are the gains at the DCT frequencies.
    Type 2 realises the half-sample symmetric ("reflect") extension, type 1 the
    whole-sample one ("mirror"; an axis of length 1 is constant and left alone).

    The transform is done one axis at a time, and only the first ``keep = (ky, kx)``
    coefficients of each axis are carried through (the gain beyond them is taken as 0):
    after the row transform only ``kx`` columns go through the column transforms, and the
    inverse row transform zero-fills the rest. For a low-pass this saves most of the work.
    """
    h, w = planes.shape[1:]
    ky, kx = keep if keep is not None else (h, w)
    ky, kx = max(1, min(ky, h)), max(1, min(kx, w))
    use_y = not (dct_type == 1 and h < 2)
    use_x = not (dct_type == 1 and w < 2)
    gy32 = np.asarray(gy[:ky], dtype=np.float32)
    gx32 = np.asarray(gx[:kx], dtype=np.float32)
    c = sfft.dct(planes, type=dct_type, axis=-1)[..., :kx] if use_x else planes[..., :1].copy()
    c *= gx32 if use_x else gx32[:1]
    if use_y:
        c = sfft.dct(c, type=dct_type, axis=-2)[:, :ky]
        c *= gy32[:, None]
        c = sfft.idct(c, type=dct_type, n=h, axis=-2, overwrite_x=True)
    else:
        c *= gy32[0]
    if use_x:
        c = sfft.idct(c, type=dct_type, n=w, axis=-1, overwrite_x=True)
    return c


def apply_filter(
    image: np.ndarray,
    filt: FrequencyFilter,
    *,
    border: Literal["reflect", "wrap"] = "reflect",
) -> np.ndarray:
    """Filter an image in the frequency domain with a :class:`FrequencyFilter`.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    filt : FrequencyFilter
        From :func:`frequency_filter`.
    border : {"reflect", "wrap"}
        ``"reflect"`` (default): filter the half-sample symmetric extension of the image,
        so nothing wraps around from the opposite edge. ``"wrap"``: treat the image as
        periodic (the plain FFT; a hard edge leaks into the opposite side).

    Returns
    -------
    ndarray of float32, same shape
        Not clipped: a high-pass result is centred on 0.

    Raises
    ------
    TypeError
        ``filt`` is not a :class:`FrequencyFilter`, or the image is not an image.
    ValueError
        Unknown ``border``; NaN/inf in the image.

    Notes
    -----
    How the border is padded. ``"reflect"`` is exactly "reflect-pad to ``2H x 2W``, FFT,
    multiply by ``H(rho)``, inverse FFT, crop" — the padding is the full period of the
    symmetric extension, so no two unrelated edges ever meet and there are no wrap-around
    artefacts — but is computed as a type-II DCT of the unpadded image (the symmetric
    extension's DFT is real and even, and a radial ``H`` keeps it so), with the gain
    evaluated at the DCT frequencies ``k / (2H)`` and ``k / (2W)`` cycles/pixel. Both
    computations are in the tests. Arithmetic is float32 (error ~1e-6).

    Examples
    --------
    >>> x = np.cos(2 * np.pi * 0.25 * (np.arange(16) + 0.5))[None].repeat(8, 0) / 2 + 0.5
    >>> y = apply_filter(x, frequency_filter("lowpass", cutoff=0.1, kind="ideal"))
    >>> float(np.abs(y - 0.5).max()) < 1e-6
    True
    """
    if not isinstance(filt, FrequencyFilter):
        raise TypeError(f"apply_filter: filt must be a FrequencyFilter (see frequency_filter),"
                        f" got {describe(filt)}")
    check_choice(border, "apply_filter", "border", ("reflect", "wrap"))
    x = as_float_image(image, "apply_filter")
    planes = to_planes(x)
    h, w = planes.shape[1:]
    if border == "reflect":
        fy, fx = dct_frequencies(h)[:, None], dct_frequencies(w)[None, :]
        gain = filt(np.hypot(fy, fx)).astype(np.float32)
        coeffs = sfft.dctn(planes, type=2, axes=(-2, -1))
        coeffs *= gain
        out = sfft.idctn(coeffs, type=2, axes=(-2, -1), overwrite_x=True)
    else:
        fy, fx = sfft.fftfreq(h)[:, None], sfft.rfftfreq(w)[None, :]
        gain = filt(np.hypot(fy, fx)).astype(np.float32)
        spec = sfft.rfftn(planes, axes=(-2, -1))
        spec *= gain
        out = sfft.irfftn(spec, s=(h, w), axes=(-2, -1), overwrite_x=True)
    return from_planes(out, x.ndim)


# -------------------------------------------------------------- FFT convolution
def _check_kernel(kernel, func: str) -> np.ndarray:
    if not isinstance(kernel, np.ndarray):
        raise TypeError(f"{func}: kernel must be a 2-D numpy array, got {describe(kernel)}")
    if kernel.ndim != 2 or kernel.size == 0:
        raise ValueError(f"{func}: kernel must be a non-empty 2-D array (kh, kw), got shape "
                         f"{kernel.shape}")
    if kernel.dtype.kind not in "buif":
        raise TypeError(f"{func}: kernel must be real-valued, got dtype {kernel.dtype}")
    k = kernel.astype(np.float64)
    if not np.isfinite(k).all():
        raise ValueError(f"{func}: kernel must be finite, got "
                         f"{int((~np.isfinite(k)).sum())} NaN or inf value(s)")
    return k


def fft_convolve(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    mode: Literal["full", "same", "valid"] = "same",
    border: Border | None = None,
) -> np.ndarray:
    """2-D convolution by the convolution theorem (real FFTs of fast sizes).

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        Colour images are convolved channel by channel with the same kernel.
    kernel : ndarray of shape (kh, kw)
        Any real, finite values (not flipped by the caller: this is a convolution).
    mode : {"full", "same", "valid"}
        Output extent, as ``scipy.signal.convolve``: ``"full"`` is
        ``(H + kh - 1, W + kw - 1)``; ``"same"`` is ``(H, W)`` centred on the full result
        (``same[i, j] = full[i + (kh - 1) // 2, j + (kw - 1) // 2]``); ``"valid"`` is
        ``(H - kh + 1, W - kw + 1)``, only where the kernel fits entirely.
    border : {"constant", "edge", "reflect", "mirror", "wrap"}, optional
        How the image continues past its edges, for ``mode="same"`` only; default
        ``"reflect"`` (half-sample symmetric). ``"constant"`` means zeros (the
        ``scipy.signal`` result). ``"full"``/``"valid"`` are defined with zeros outside,
        so any border other than ``"constant"`` is an error there.

    Returns
    -------
    ndarray of float32
        Shape given by ``mode`` (plus the channel axis).

    Raises
    ------
    TypeError, ValueError
        Bad image or kernel (not 2-D, NaN/inf), unknown ``mode``/``border``, a border
        with ``mode="full"``/``"valid"``, a kernel larger than the image for
        ``"valid"``, a transform of more than ``DEFAULT_MAX_PIXELS`` (1e8) pixels, or a
        kernel so large the result could overflow float32.

    Notes
    -----
    The image (padded per ``border`` by ``kh // 2`` above and ``(kh - 1) // 2`` below,
    likewise for columns) and the kernel are zero-padded to a size
    ``P >= n + k - 1`` chosen by ``scipy.fft.next_fast_len``, so the circular convolution
    the FFT computes has no wrap-around where we read it. Arithmetic is float32: the
    result equals direct convolution to about ``1e-6 * sum(|kernel|) * max|image|``.
    For odd kernels and ``mode="same"`` the result equals
    ``scipy.ndimage.convolve(image, kernel, mode=border)``.

    Examples
    --------
    >>> x = np.zeros((5, 5), np.float32); x[2, 2] = 1
    >>> k = np.arange(9.0).reshape(3, 3)
    >>> bool(np.allclose(fft_convolve(x, k)[1:4, 1:4], k, atol=1e-6))
    True
    """
    func = "fft_convolve"
    check_choice(mode, func, "mode", ("full", "same", "valid"))
    if border is not None:
        check_choice(border, func, "border", BORDERS)
    if mode != "same" and border not in (None, "constant"):
        raise ValueError(f"{func}: border must be 'constant' (or None) for mode={mode!r}, got "
                         f"{border!r}; borders only apply to mode='same'")
    x = as_float_image(image, func)
    k = _check_kernel(kernel, func)
    kh, kw = k.shape
    planes = to_planes(x)
    h, w = planes.shape[1:]
    if mode == "valid" and (kh > h or kw > w):
        raise ValueError(f"{func}: kernel must fit inside the image for mode='valid', got "
                         f"kernel {k.shape} and image {x.shape}")
    if mode == "same" and (border or "reflect") != "constant":
        pad = ((0, 0), (kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2))
        planes = np.pad(planes, pad, mode=_NP_PAD[border or "reflect"])
        lo, out_shape = (kh - 1, kw - 1), (h, w)
    elif mode == "same":
        lo, out_shape = ((kh - 1) // 2, (kw - 1) // 2), (h, w)
    elif mode == "full":
        lo, out_shape = (0, 0), (h + kh - 1, w + kw - 1)
    else:
        lo, out_shape = (kh - 1, kw - 1), (h - kh + 1, w - kw + 1)
    ph, pw = planes.shape[1:]
    check_output_pixels((ph + kh - 1, pw + kw - 1), func, DEFAULT_MAX_PIXELS,
                        "the padded image and kernel")
    bound = float(np.abs(x).max()) * float(np.abs(k).sum())
    if not bound <= float(np.finfo(np.float32).max) / 2:  # FFT rounding adds a little
        raise ValueError(f"{func}: kernel must keep the result within float32's range, got "
                         f"max|image| * sum|kernel| = {bound:.4g}")
    size = (sfft.next_fast_len(ph + kh - 1), sfft.next_fast_len(pw + kw - 1, real=True))
    spec = sfft.rfftn(planes, s=size, axes=(-2, -1))
    spec *= sfft.rfftn(k.astype(np.float32), s=size)
    full = sfft.irfftn(spec, s=size, axes=(-2, -1), overwrite_x=True)
    out = full[:, lo[0]:lo[0] + out_shape[0], lo[1]:lo[1] + out_shape[1]]
    return from_planes(out, x.ndim)


# ---------------------------------------------------------------- Gaussian blur
@lru_cache(maxsize=64)
def _kernel_gain(sigma: float, truncate: float, period: float, n: int) -> np.ndarray:
    """Gain of the truncated Gaussian kernel at frequencies ``k / period``, k = 0..n-1.

    For a symmetric kernel ``g`` of radius r this is the real number
    ``g_0 + 2 sum_{j=1}^{r} g_j cos(2 pi j k / period)``: the DFT of the kernel wrapped
    onto a circle of ``period`` (an integer) samples, which is how it is computed (taps
    beyond the circle add onto it, so any radius works). Returned read-only (cached).
    """
    g = gaussian_kernel(sigma, truncate=truncate).astype(np.float64)  # scipy's taps
    r = g.size // 2
    p = int(period)
    circle = np.zeros(p)
    np.add.at(circle, np.arange(-r, r + 1) % p, g)
    gain = np.ascontiguousarray(sfft.fft(circle).real[:n])
    gain.setflags(write=False)
    return gain


#: Frequencies where the (untruncated) Gaussian's gain is below this are not computed by
#: the DCT path of :func:`gaussian_by_transform` (see its Notes for the error this costs).
GAUSSIAN_GAIN_FLOOR = 1e-9


#: ... provided the truncated kernel's own gain there (its truncation ripple) stays below
#: this; otherwise (small ``truncate``) every frequency is computed. Dropping a frequency
#: changes the result by its gain times that frequency's amplitude in the image, so this
#: bounds the error on a single sinusoid; ``truncate=4`` ripples at up to 3.3e-5.
TRUNCATED_RIPPLE_MAX = 5e-5

#: Axes shorter than this are never pruned: the transform is cheap there, and one dropped
#: frequency can carry a large share of a small image (on a 1x2 image the only non-zero
#: frequency is the difference of the two pixels).
PRUNE_MIN_SIZE = 64


def _n_keep(gain: np.ndarray, sigma: float, period: float) -> int:
    """How many DCT frequencies ``k / period`` (k = 0, 1, ...) the Gaussian path computes.

    Those where the untruncated Gaussian's gain ``exp(-2 pi^2 sigma^2 f^2)`` is at least
    :data:`GAUSSIAN_GAIN_FLOOR`, if the truncated kernel's gain ``gain`` beyond them is
    below :data:`TRUNCATED_RIPPLE_MAX` and the axis has at least :data:`PRUNE_MIN_SIZE`
    frequencies; else all of them.
    """
    if gain.size < PRUNE_MIN_SIZE:
        return gain.size
    f_max = math.sqrt(math.log(1.0 / GAUSSIAN_GAIN_FLOOR) / (2.0 * math.pi ** 2 * sigma ** 2))
    k = int(math.floor(f_max * period)) + 1
    if k >= gain.size or np.abs(gain[k:]).max() > TRUNCATED_RIPPLE_MAX:
        return gain.size
    return k


def gaussian_by_transform(x: np.ndarray, sigma: float, *, truncate: float,
                          border: str) -> np.ndarray:
    """The ``method="fft"`` path of :func:`cvgeo.filters.gaussian_filter`.

    ``x`` is a validated float32 image, ``sigma > 0`` and ``truncate > 0`` validated
    numbers and ``border`` one of :data:`cvgeo.filters.BORDERS`; returns float32.

    Notes
    -----
    Applies the kernel of ``scipy.ndimage.gaussian_filter`` (taps
    ``g_j ∝ exp(-j^2 / (2 sigma^2))``, ``|j| <= r = int(truncate * sigma + 0.5)``) exactly,
    to float32 rounding: with ``"reflect"`` the convolution with a symmetric kernel is
    diagonalised by the type-II DCT (the half-sample symmetric extension is what the
    DCT-II assumes), with ``"mirror"`` by the type-I DCT, with ``"wrap"`` by the FFT, so
    the image is transformed at its own size and multiplied by the kernel's gain
    ``G(k) = g_0 + 2 sum_j g_j cos(2 pi j k / period)`` (period ``2N``, ``2(N - 1)``,
    ``N``). This is exact for any radius, even one larger than the image. The DCT is done
    one axis at a time and only frequencies where the untruncated Gaussian's gain
    ``exp(-2 pi^2 sigma^2 f^2)`` exceeds :data:`GAUSSIAN_GAIN_FLOOR` are carried through
    the second axis and the inverse (about ``2 N / sigma`` of N): the truncated kernel's
    gain beyond them is its truncation ripple, below 3.3e-5 for ``truncate=4`` (with a
    smaller ``truncate``, whose ripple exceeds :data:`TRUNCATED_RIPPLE_MAX`, or on axes
    shorter than :data:`PRUNE_MIN_SIZE` pixels, nothing is dropped). Agreement with scipy
    (float64) is about 7e-6 on [0, 1] images (noise, a checkerboard and skimage's
    astronaut at 2048^2, sigma 2 to 32); the worst case is an image that is one sinusoid
    at the frequency of largest ripple, off by at most 5e-5 times its amplitude. The
    cost *falls* with sigma while a convolution's grows with it. For ``"constant"`` /
    ``"edge"``, or sizes that are slow to transform (large prime factors), the image is
    padded by ``r`` with that border to a ``scipy.fft.next_fast_len`` size and full real
    FFTs are used.
    """
    planes = to_planes(x)
    h, w = planes.shape[1:]
    r = int(truncate * sigma + 0.5)
    if border == "reflect" and _is_fast(h) and _is_fast(w):
        gy = _kernel_gain(sigma, truncate, 2.0 * h, h)
        gx = _kernel_gain(sigma, truncate, 2.0 * w, w)
        keep = (_n_keep(gy, sigma, 2.0 * h), _n_keep(gx, sigma, 2.0 * w))
        return from_planes(_dct_filter(planes, gy, gx, 2, keep), x.ndim)
    if border == "mirror" and all(n < 2 or _is_fast(2 * (n - 1)) for n in (h, w)):
        gy = _kernel_gain(sigma, truncate, 2.0 * max(h - 1, 1), h)
        gx = _kernel_gain(sigma, truncate, 2.0 * max(w - 1, 1), w)
        keep = (_n_keep(gy, sigma, 2.0 * max(h - 1, 1)),
                _n_keep(gx, sigma, 2.0 * max(w - 1, 1)))
        return from_planes(_dct_filter(planes, gy, gx, 1, keep), x.ndim)
    if border == "wrap" and _is_fast(h) and _is_fast(w):
        size, lo = (h, w), 0
    else:
        size = (sfft.next_fast_len(h + 2 * r, real=True),
                sfft.next_fast_len(w + 2 * r, real=True))
        pad = ((0, 0), (r, size[0] - h - r), (r, size[1] - w - r))
        planes = np.pad(planes, pad, mode=_NP_PAD[border])
        lo = r
    gy = _kernel_gain(sigma, truncate, float(size[0]), size[0])
    gx = _kernel_gain(sigma, truncate, float(size[1]), size[1] // 2 + 1)
    spec = sfft.rfftn(planes, axes=(-2, -1))
    spec *= np.outer(gy, gx).astype(np.float32)
    out = sfft.irfftn(spec, s=size, axes=(-2, -1), overwrite_x=True)
    return from_planes(out[:, lo:lo + h, lo:lo + w], x.ndim)


# -------------------------------------------------------------- hybrid images
def hybrid_image(
    low_image: np.ndarray,
    high_image: np.ndarray,
    *,
    low_cutoff: float,
    high_cutoff: float,
    kind: FilterKind = "gaussian",
    clip: bool = True,
) -> np.ndarray:
    """Hybrid image: the coarse structure of one image plus the fine detail of another.

    Seen from close by (or large), the high frequencies of ``high_image`` dominate; from
    far away (or small), only the low frequencies of ``low_image`` remain visible
    (Oliva, Torralba & Schyns 2006).

    Parameters
    ----------
    low_image, high_image : ndarray of shape (H, W) or (H, W, C)
        The two images, aligned and of the same shape (align and crop them first).
    low_cutoff : float
        Cutoff of the low-pass applied to ``low_image``, in **cycles per pixel** (> 0).
    high_cutoff : float
        Cutoff of the high-pass applied to ``high_image``, cycles/pixel (> 0). Usually
        ``high_cutoff >= low_cutoff``; overlapping bands are allowed (both images then
        contribute between the cutoffs).
    kind : {"ideal", "gaussian", "butterworth"}
        Filter profile, see :func:`frequency_filter` (Gaussian, as in the paper, avoids
        ringing).
    clip : bool
        Clip the sum to [0, 1] (for display and saving). False returns the raw sum.

    Returns
    -------
    ndarray of float32, same shape
        ``lowpass(low_image) + highpass(high_image)``, filtered with
        :func:`apply_filter` (reflect border).

    Raises
    ------
    ValueError
        Images of different shapes, a cutoff that is not a finite number > 0, NaN/inf.

    References
    ----------
    A. Oliva, A. Torralba, P. G. Schyns, "Hybrid images", ACM Transactions on Graphics
    25(3), 527-532, 2006. doi:10.1145/1141911.1141919

    Examples
    --------
    >>> a = np.full((8, 8), 0.25, np.float32); b = np.full((8, 8), 0.75, np.float32)
    >>> float(hybrid_image(a, b, low_cutoff=0.05, high_cutoff=0.1)[0, 0])
    0.25
    """
    func = "hybrid_image"
    low_cutoff = check_real(low_cutoff, func, "low_cutoff", low=0.0, low_inclusive=False)
    high_cutoff = check_real(high_cutoff, func, "high_cutoff", low=0.0, low_inclusive=False)
    check_choice(kind, func, "kind", ("ideal", "gaussian", "butterworth"))
    clip = check_bool(clip, func, "clip")
    a = as_float_image(low_image, func, "low_image")
    b = as_float_image(high_image, func, "high_image")
    if a.shape != b.shape:
        raise ValueError(f"{func}: low_image and high_image must have the same shape (align "
                         f"and crop them first), got {a.shape} and {b.shape}")
    low = apply_filter(a, FrequencyFilter(kind, "lowpass", (low_cutoff,)))
    high = apply_filter(b, FrequencyFilter(kind, "highpass", (high_cutoff,)))
    out = low + high
    return np.clip(out, 0.0, 1.0, out=out) if clip else out


def hybrid_scales(
    image: np.ndarray,
    n: int = 5,
    *,
    gap: int = 4,
    background: float = 1.0,
) -> np.ndarray:
    """Show an image at ``n`` decreasing scales side by side (each half the last).

    The usual way to look at a hybrid image: the large copy shows the high-frequency
    image, the small ones the low-frequency one. Each copy is made from the previous one
    with :func:`downsample` (anti-aliased) and clipped to the input's value range (the
    band-limiting filter overshoots slightly at sharp edges); the copies are
    bottom-aligned on one canvas.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    n : int
        Number of copies (>= 1); copy ``i`` is ``1 / 2**i`` of the size.
    gap : int
        Pixels between copies (>= 0).
    background : float
        Canvas value in [0, 1].

    Returns
    -------
    ndarray of float32, shape (H, W_total) or (H, W_total, C)

    Raises
    ------
    ValueError
        ``n`` < 1 or more halvings than the image allows (the smallest copy must be at
        least 1 pixel), negative ``gap``, ``background`` outside [0, 1], a canvas of
        more than ``DEFAULT_MAX_PIXELS`` (1e8) pixels.
    """
    func = "hybrid_scales"
    x = as_float_image(image, func)
    n = check_int(n, func, "n", low=1)
    gap = check_int(gap, func, "gap", low=0)
    background = check_real(background, func, "background", low=0.0, high=1.0)
    h, w = x.shape[:2]
    most = min(h, w).bit_length()  # 2 ** (most - 1) <= min(h, w) < 2 ** most
    if n > most:
        raise ValueError(f"{func}: n must be at most {most} for an image of shape {x.shape} "
                         f"(each copy halves it), got {n}")
    check_output_pixels((h, 2 * w + gap * (n - 1)), func, DEFAULT_MAX_PIXELS, "the canvas")
    lo, hi = float(x.min()), float(x.max())
    copies = [x]
    for _ in range(n - 1):
        copies.append(np.clip(downsample(copies[-1], 2), lo, hi))
    width = sum(c.shape[1] for c in copies) + gap * (n - 1)
    canvas = np.full((h, width) + x.shape[2:], background, dtype=np.float32)
    col = 0
    for c in copies:
        canvas[h - c.shape[0]:, col:col + c.shape[1]] = c
        col += c.shape[1] + gap
    return canvas
