"""Multi-scale images: anti-aliased downsampling, Gaussian and Laplacian pyramids.

Conventions
-----------
Images are ``(H, W)`` or ``(H, W, C)``; colour images are processed channel by channel and
every result is float32. :func:`downsample` filters in the type-II DCT domain, that is the
half-sample symmetric extension of the image (nothing wraps around, see
:mod:`cvgeo.fourier`); the pyramids use Burt & Adelson's 5-tap generating kernel with the
whole-sample mirror border.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from cvgeo._checks import check_int, check_real
from cvgeo.image import as_float_image, from_planes, to_planes

__all__ = [
    "LaplacianPyramid",
    "downsample",
    "gaussian_pyramid",
    "laplacian_pyramid",
]


def dct_frequencies(n: int) -> np.ndarray:
    """Frequencies (cycles/pixel) of the type-II DCT coefficients of a length-n signal."""
    return np.arange(n) / (2.0 * n)


# ------------------------------------------------------- anti-aliased downsampling
def _taper_gain(f: np.ndarray, nyquist: float, rolloff: float) -> np.ndarray:
    """Raised-cosine low-pass: 1 up to ``(1 - rolloff) * nyquist``, 0 from ``nyquist``."""
    start = (1.0 - rolloff) * nyquist
    t = np.clip((f - start) / (nyquist - start), 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * t))


def downsample(image: np.ndarray, factor: int, *, rolloff: float = 0.5) -> np.ndarray:
    """Shrink an image by an integer factor, low-passing below the new Nyquist first.

    Keeping every ``factor``-th pixel of a detailed image (``image[::f, ::f]``) folds
    every frequency above the new Nyquist frequency (``1 / (2 f)`` cycles/pixel of the
    input) back into the visible band as false patterns (aliasing). This function
    removes those frequencies first, then samples the band-limited image on the coarse
    grid.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    factor : int
        Shrink factor (>= 1; 1 returns a copy).
    rolloff : float
        Width of the filter's transition band as a fraction of the new Nyquist frequency
        ``fN`` (``M / (2 N)`` cycles/pixel for an axis shrinking from N to M pixels,
        ``1 / (2 factor)`` when ``factor`` divides N), in (0, 1]: the gain is 1 up to
        ``(1 - rolloff) fN``, falls as a raised cosine, and is exactly 0 from ``fN`` on.
        Smaller is sharper but rings more.

    Returns
    -------
    ndarray of float32, shape (ceil(H / factor), ceil(W / factor)[, C])
        Output pixel ``i`` samples the filtered image at input coordinate
        ``(i + 0.5) * N / M - 0.5`` (the convention of :func:`cvgeo.resize` and
        ``cv2.resize``): the centre of its ``factor x factor`` block when ``factor``
        divides the size.

    Raises
    ------
    ValueError
        ``factor`` < 1, ``rolloff`` outside (0, 1], bad image.

    Notes
    -----
    Computed in the DCT domain (the half-sample symmetric extension of the image, see the
    module notes, so nothing wraps around): take the type-II DCT of each axis, keep its
    first M coefficients (frequencies ``k / (2 N)`` below ``fN``; the rest would alias),
    multiply by the separable gain ``G(fy) G(fx)`` (separable to match the square band
    ``|fx|, |fy| < fN`` the coarse grid can hold), and invert with a DCT of length M,
    scaled by ``M / N``. Sampling a sum of cosines ``cos(pi k (n + 1/2) / N)`` at
    ``n + 1/2 = (m + 1/2) N / M`` is exactly the length-M inverse DCT, so the output is
    the band-limited image's exact samples, at the cost of one forward transform.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((64, 48)).astype(np.float32)
    >>> downsample(x, 3).shape
    (22, 16)
    >>> round(float(downsample(np.full((9, 9), 0.5), 2)[0, 0]), 6)
    0.5
    """
    func = "downsample"
    x = as_float_image(image, func)
    factor = check_int(factor, func, "factor", low=1)
    rolloff = check_real(rolloff, func, "rolloff", low=0.0, high=1.0, low_inclusive=False)
    if factor == 1:
        return x.copy()
    planes = to_planes(x)
    h, w = planes.shape[1:]
    mh, mw = -(-h // factor), -(-w // factor)
    gy = _taper_gain(dct_frequencies(h)[:mh], mh / (2.0 * h), rolloff) * (mh / h)
    gx = _taper_gain(dct_frequencies(w)[:mw], mw / (2.0 * w), rolloff) * (mw / w)
    c = sfft.dct(planes, type=2, axis=-1)[..., :mw]
    c *= gx.astype(np.float32)
    c = sfft.dct(c, type=2, axis=-2)[:, :mh]
    c *= gy.astype(np.float32)[:, None]
    c = sfft.idct(c, type=2, axis=-2, overwrite_x=True)
    c = sfft.idct(c, type=2, axis=-1, overwrite_x=True)
    return from_planes(c, x.ndim)


# ------------------------------------------------------------------- pyramids
def _generating_kernel(a: float) -> np.ndarray:
    """Burt & Adelson's 5-tap generating kernel ``(1/4 - a/2, 1/4, a, 1/4, 1/4 - a/2)``."""
    return np.array([0.25 - a / 2, 0.25, a, 0.25, 0.25 - a / 2], dtype=np.float32)


def _conv5(x: np.ndarray, w: np.ndarray, axis: int) -> np.ndarray:
    """Correlate (C, H, W) planes with a symmetric 5-tap kernel along ``axis`` (1 or 2).

    The border is the whole-sample mirror (``... c b | a b c ...``, cvgeo's "mirror").
    """
    pad = [(0, 0)] * 3
    pad[axis] = (2, 2)
    p = np.pad(x, pad, mode="reflect")
    n = x.shape[axis]

    def s(i):
        idx = [slice(None)] * 3
        idx[axis] = slice(i, i + n)
        return p[tuple(idx)]

    return w[2] * s(2) + w[1] * (s(1) + s(3)) + w[0] * (s(0) + s(4))


def _reduce(planes: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Burt-Adelson REDUCE: blur with the generating kernel, keep every other pixel."""
    blurred = _conv5(_conv5(planes, w, 1), w, 2)
    return np.ascontiguousarray(blurred[:, ::2, ::2])


def _expand(planes: np.ndarray, w: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Burt-Adelson EXPAND to ``shape``: insert zeros between pixels, blur with ``2 w``.

    ``shape`` is the finer level's (H, W); ``planes`` must be ``ceil`` of half of it.
    """
    up = np.zeros((planes.shape[0],) + tuple(shape), dtype=np.float32)
    up[:, ::2, ::2] = planes
    return _conv5(_conv5(up, 2 * w, 1), 2 * w, 2)


def _levels(x: np.ndarray, levels: int | None, func: str) -> int:
    h, w = x.shape[:2]
    most = 1 + math.ceil(math.log2(max(h, w))) if max(h, w) > 1 else 1
    if levels is None:  # halve while the smaller side stays >= 8 pixels
        n, s = 1, min(h, w)
        while -(-s // 2) >= 8:
            n, s = n + 1, -(-s // 2)
        return n
    return check_int(levels, func, "levels", low=1, high=most)


def gaussian_pyramid(
    image: np.ndarray,
    *,
    levels: int | None = None,
    a: float = 0.375,
) -> list[np.ndarray]:
    """Burt-Adelson Gaussian pyramid: repeatedly blur and halve.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    levels : int, optional
        Number of levels including the image itself. Default: halve while the smaller
        side stays at least 8 pixels. At most ``1 + ceil(log2(max(H, W)))``.
    a : float
        Centre tap of the generating kernel ``(1/4 - a/2, 1/4, a, 1/4, 1/4 - a/2)``, in
        [0, 1/2]; 0.375 is the binomial kernel ``(1, 4, 6, 4, 1) / 16``, 0.4 Burt &
        Adelson's Gaussian-like choice.

    Returns
    -------
    list of ndarray of float32
        ``levels`` arrays; level ``i + 1`` has shape ``ceil(shape_i / 2)`` (odd sizes
        fine), level 0 is the image as float32.

    Raises
    ------
    ValueError
        Bad image, ``levels`` out of range, ``a`` outside [0, 0.5].

    Notes
    -----
    REDUCE: separable 5-tap blur (whole-sample mirror border), then keep pixels
    ``0, 2, 4, ...``.

    References
    ----------
    P. J. Burt, E. H. Adelson, "The Laplacian pyramid as a compact image code", IEEE
    Transactions on Communications 31(4), 532-540, 1983. doi:10.1109/TCOM.1983.1095851
    """
    func = "gaussian_pyramid"
    x = as_float_image(image, func)
    n = _levels(x, levels, func)
    w = _generating_kernel(check_real(a, func, "a", low=0.0, high=0.5))
    out = [to_planes(x)]
    for _ in range(n - 1):
        out.append(_reduce(out[-1], w))
    return [from_planes(p, x.ndim) for p in out]


@dataclass(frozen=True)
class LaplacianPyramid:
    """A Burt-Adelson Laplacian pyramid.

    Attributes
    ----------
    levels : tuple of ndarray of float32
        ``levels[i] = G_i - EXPAND(G_{i+1})`` (band-pass detail, centred on 0) for
        ``i < n - 1``, and ``levels[-1] = G_{n-1}``, the coarsest Gaussian level. Level
        ``i`` has the shape of Gaussian level ``i``; these shapes are all
        :meth:`reconstruct` needs.
    a : float
        The generating kernel's centre tap used to build it.
    """

    levels: tuple[np.ndarray, ...]
    a: float = 0.375

    def reconstruct(self) -> np.ndarray:
        """Invert the pyramid: ``G_i = levels[i] + EXPAND(G_{i+1})``, float32.

        Exact up to float32 rounding (about 1e-7 per level) for any sizes.
        """
        w = _generating_kernel(self.a)
        ndim = self.levels[0].ndim
        g = to_planes(self.levels[-1])
        for band in reversed(self.levels[:-1]):
            g = to_planes(band) + _expand(g, w, band.shape[:2])
        return from_planes(g, ndim)


def laplacian_pyramid(
    image: np.ndarray,
    *,
    levels: int | None = None,
    a: float = 0.375,
) -> LaplacianPyramid:
    """Burt-Adelson Laplacian pyramid (band-pass levels plus a low-pass residual).

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    levels, a
        As :func:`gaussian_pyramid`.

    Returns
    -------
    LaplacianPyramid
        ``.levels`` (float32 arrays, finest first) and ``.reconstruct()``, which returns
        the image (float32) to about 1e-7 for odd and even sizes alike.

    Raises
    ------
    ValueError
        As :func:`gaussian_pyramid`.

    Notes
    -----
    EXPAND puts level ``i + 1`` on the even pixels of a zero array of level ``i``'s
    shape and blurs it with ``2 w`` separably (so the interpolation keeps the mean).
    Because reconstruction applies the same EXPAND to the same coarse level, it is exact
    whatever the filter; only float rounding remains.

    References
    ----------
    P. J. Burt, E. H. Adelson, "The Laplacian pyramid as a compact image code", IEEE
    Transactions on Communications 31(4), 532-540, 1983. doi:10.1109/TCOM.1983.1095851

    Examples
    --------
    >>> x = np.random.default_rng(0).random((13, 10)).astype(np.float32)
    >>> p = laplacian_pyramid(x, levels=3)
    >>> [b.shape for b in p.levels]
    [(13, 10), (7, 5), (4, 3)]
    >>> float(np.abs(p.reconstruct() - x).max()) < 1e-6
    True
    """
    func = "laplacian_pyramid"
    x = as_float_image(image, func)
    n = _levels(x, levels, func)
    a = check_real(a, func, "a", low=0.0, high=0.5)
    w = _generating_kernel(a)
    gauss = [to_planes(x)]
    for _ in range(n - 1):
        gauss.append(_reduce(gauss[-1], w))
    bands = [g - _expand(coarse, w, g.shape[1:]) for g, coarse in zip(gauss[:-1], gauss[1:])]
    bands.append(gauss[-1])
    return LaplacianPyramid(levels=tuple(from_planes(b, x.ndim) for b in bands), a=a)
