"""Linear filters: Gaussian kernels, separable convolution, Sobel and Gaussian gradients.

Conventions
-----------
Images are ``(H, W)`` or ``(H, W, C)``, indexed ``[row, col]``; colour images are
filtered per channel. Every function validates with :func:`cvgeo.image.as_float_image`
and returns float32. ``x`` is the column axis (axis 1), ``y`` the row axis (axis 0):
``gx`` is d/dx (along a row, left to right), ``gy`` is d/dy (down a column).

Border names, used everywhere in cvgeo, with the scipy / OpenCV equivalents:

============  =======================  ==================  =====================
border        padding of ``a b c d``   scipy.ndimage mode  OpenCV
============  =======================  ==================  =====================
"constant"    ``k k | a b c d | k k``  "constant"          BORDER_CONSTANT
"edge"        ``a a | a b c d | d d``  "nearest"           BORDER_REPLICATE
"reflect"     ``b a | a b c d | d c``  "reflect"           BORDER_REFLECT
"mirror"      ``c b | a b c d | c b``  "mirror"            BORDER_REFLECT_101
"wrap"        ``c d | a b c d | a b``  "wrap"              BORDER_WRAP
============  =======================  ==================  =====================

The padding extends as far as a kernel needs, even beyond the image size (the
reflections repeat).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit

from cvgeo._checks import (
    MAX_IMAGE_MAGNITUDE,
    check_choice,
    check_kernel_radius,
    check_real,
    describe,
)
from cvgeo._llvm import _borrowed, _fma
from cvgeo.image import as_float_image

__all__ = [
    "BORDERS",
    "Gradient",
    "gaussian_kernel",
    "separable_convolve",
    "gaussian_filter",
    "gaussian_blur",
    "sobel",
    "gaussian_gradient",
]

Border = Literal["constant", "edge", "reflect", "mirror", "wrap"]

#: Border names accepted by every cvgeo filter, in the order of the integer codes
#: the compiled kernels use.
BORDERS: tuple[str, ...] = ("constant", "edge", "reflect", "mirror", "wrap")

#: scipy.ndimage mode for each cvgeo border name (for tests and comparisons).
SCIPY_MODES = {"constant": "constant", "edge": "nearest", "reflect": "reflect",
               "mirror": "mirror", "wrap": "wrap"}


# ----------------------------------------------------------------------- results
@dataclass(frozen=True)
class Gradient:
    """An image gradient: ``gx`` = d/dx (along columns), ``gy`` = d/dy (along rows).

    Attributes
    ----------
    gx, gy : ndarray of shape (H, W) or (H, W, C), float32
        The two partial derivatives, per channel for colour input.
    """

    gx: np.ndarray
    gy: np.ndarray

    @property
    def magnitude(self) -> np.ndarray:
        """``sqrt(gx**2 + gy**2)``, float32, same shape as ``gx``."""
        return np.hypot(self.gx, self.gy).astype(np.float32, copy=False)

    @property
    def orientation(self) -> np.ndarray:
        """``atan2(gy, gx)`` in radians, in (-pi, pi], float32; 0 points along +x.

        With ``y`` pointing down the rows, a positive angle turns from +x towards +y
        (clockwise on screen).
        """
        return np.arctan2(self.gy, self.gx).astype(np.float32, copy=False)


# ------------------------------------------------------------------------ kernels
def gaussian_kernel(sigma: float, *, truncate: float = 4.0) -> np.ndarray:
    """Sampled, normalised 1-D Gaussian.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, >= 0. ``sigma == 0`` gives the identity ``[1.0]``.
    truncate : float
        The kernel radius is ``int(truncate * sigma + 0.5)`` pixels (as
        ``scipy.ndimage.gaussian_filter``), so its length is ``2 * radius + 1``. The
        radius is at most ``MAX_KERNEL_RADIUS`` (4096 pixels).

    Returns
    -------
    ndarray of shape (2 * radius + 1,), float64
        ``exp(-x**2 / (2 sigma**2))`` for ``x = -radius .. radius``, summing to 1.

    Raises
    ------
    TypeError, ValueError
        ``sigma`` negative or not finite, ``truncate`` not > 0, a radius above
        ``MAX_KERNEL_RADIUS``.

    Examples
    --------
    >>> gaussian_kernel(1.0, truncate=2.0).round(4)
    array([0.0545, 0.2442, 0.4026, 0.2442, 0.0545])
    """
    sigma = check_real(sigma, "gaussian_kernel", "sigma", low=0.0)
    truncate = check_real(truncate, "gaussian_kernel", "truncate", low=0.0,
                          low_inclusive=False)
    check_kernel_radius(sigma, truncate, "gaussian_kernel")
    return _gaussian_taps(sigma, truncate, order=0)


def _gaussian_taps(sigma: float, truncate: float, order: int) -> np.ndarray:
    """Gaussian (order 0) or its first derivative (order 1), as a convolution kernel."""
    radius = int(truncate * sigma + 0.5)
    if sigma == 0.0 or radius == 0:
        return np.array([1.0]) if order == 0 else np.array([0.5, 0.0, -0.5])
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 * (x / sigma) ** 2)
    phi /= phi.sum()
    if order == 0:
        return phi
    return -x / (sigma * sigma) * phi  # d/dx of the normalised Gaussian


# --------------------------------------------------------------- compiled kernels
@njit(cache=True, inline="always")
def border_index(i, n, mode):  # pragma: no cover - compiled
    """Index into ``[0, n)`` that position ``i`` of the padded line reads, or -1 (constant).

    ``mode`` is an index into :data:`BORDERS` (reflect is half-sample symmetric,
    ``-1 -> 0``, ``n -> n - 1``; mirror whole-sample, ``-1 -> 1``). Shared by the
    separable filters and :func:`cvgeo.geometry.warp`; not in ``__all__``.
    """
    if 0 <= i < n:
        return i
    if mode == 0:  # constant
        return -1
    if mode == 1:  # edge
        return 0 if i < 0 else n - 1
    if mode == 2:  # reflect, half-sample symmetric: period 2n
        p = 2 * n
        i = i % p
        return i if i < n else p - 1 - i
    if mode == 3:  # mirror, whole-sample symmetric: period 2n - 2
        if n == 1:
            return 0
        p = 2 * n - 2
        i = i % p
        return i if i < n else p - i
    return i % n  # wrap


@njit(cache=True)
def _row_filter(src_row, buf, C, taps, mode, fill, dst):  # pragma: no cover - compiled
    """Correlate one interleaved row with ``taps`` along x into ``dst`` (helper of below)."""
    WC = src_row.size
    W = WC // C
    n = taps.size
    r = n // 2
    middle = buf[r * C:r * C + WC]  # a view: the loop below is a plain vectorised copy
    for j in range(WC):
        middle[j] = src_row[j]
    for xp in range(r):
        for side in range(2):
            pos = xp if side == 0 else W + r + xp
            s = border_index(pos - r, W, mode)
            for c in range(C):
                buf[pos * C + c] = fill if s < 0 else src_row[s * C + c]
    for j in range(WC):
        dst[j] = 0.0
    _accumulate_taps(dst, taps, buf, C, WC)


@njit(cache=True, inline="always")
def _fma4(t0, t1, t2, t3, v0, v1, v2, v3, acc):  # pragma: no cover - compiled
    """``acc + t0 v0 + t1 v1 + t2 v2 + t3 v3`` as four fused multiply-adds, in order."""
    return _fma(t3, v3, _fma(t2, v2, _fma(t1, v1, _fma(t0, v0, acc))))


@njit(cache=True, inline="always")
def _accumulate_taps(dst, taps, buf, C, WC):  # pragma: no cover - compiled
    """``dst[j] += sum_k taps[k] buf[j + k C]``, four taps per pass over ``dst`` (fused
    multiply-adds): each pass loads and stores ``dst`` once for four products instead
    of once per tap, the loops over ``j`` vectorised."""
    n = taps.size
    k = 0
    while k + 4 <= n:
        t0, t1, t2, t3 = taps[k], taps[k + 1], taps[k + 2], taps[k + 3]
        b0 = buf[k * C:k * C + WC]  # views: keep the loop below vectorised
        b1 = buf[(k + 1) * C:(k + 1) * C + WC]
        b2 = buf[(k + 2) * C:(k + 2) * C + WC]
        b3 = buf[(k + 3) * C:(k + 3) * C + WC]
        for j in range(WC):
            dst[j] = _fma4(t0, t1, t2, t3, b0[j], b1[j], b2[j], b3[j], dst[j])
        k += 4
    while k < n:
        t = taps[k]
        shifted = buf[k * C:k * C + WC]
        for j in range(WC):
            dst[j] += t * shifted[j]
        k += 1


@njit(cache=True)
def _filtered_row(image, C, row_taps, col_taps, mode, cval, ring, tag, buf, y,
                  o):  # pragma: no cover - compiled
    """Output row ``y`` of the separable correlation, into ``o`` (helper of below).

    ``ring`` (min(len(col_taps), H), W * C) caches row-filtered source rows: slot
    ``s % len(ring)`` holds source row ``s`` (``tag[slot] == s``) and is recomputed on a
    miss.
    """
    H, WC = image.shape
    nc = col_taps.size
    rc = nc // 2
    n_slots = ring.shape[0]
    fill = np.float32(cval)
    for j in range(WC):
        o[j] = 0.0
    k = 0
    while k < nc:
        # four taps at a time whose rows are all inside the image (each in the ring)
        if k + 4 <= nc and _rows_inside(y + k - rc, 4, H, mode, n_slots):
            rows = _ring_rows(image, C, row_taps, mode, fill, ring, tag, buf,
                              y + k - rc, H)
            t0, t1, t2, t3 = col_taps[k], col_taps[k + 1], col_taps[k + 2], col_taps[k + 3]
            r0, r1, r2, r3 = ring[rows[0]], ring[rows[1]], ring[rows[2]], ring[rows[3]]
            for j in range(WC):
                o[j] = _fma4(t0, t1, t2, t3, r0[j], r1[j], r2[j], r3[j], o[j])
            k += 4
            continue
        t = col_taps[k]
        s = border_index(y + k - rc, H, mode)
        k += 1
        if s < 0:
            v = t * np.float32(cval * row_taps.astype(np.float64).sum())
            for j in range(WC):
                o[j] += v
            continue
        src = ring[_ring_row(image, C, row_taps, mode, fill, ring, tag, buf, y + k - 1 - rc,
                             H)]
        for j in range(WC):
            o[j] += t * src[j]


@njit(cache=True, inline="always")
def _rows_inside(first, count, H, mode, n_slots):  # pragma: no cover - compiled
    """Whether padded rows ``first .. first + count - 1`` all read an image row (none is
    the constant border's) and no two different ones share a ring slot (the wrap border
    can join rows far apart), so that all can sit in the ring at once."""
    for i in range(first, first + count):
        s = border_index(i, H, mode)
        if s < 0:
            return False
        for k in range(first, i):
            e = border_index(k, H, mode)
            if e != s and e % n_slots == s % n_slots:
                return False
    return True


@njit(cache=True, inline="always")
def _ring_rows(image, C, row_taps, mode, fill, ring, tag, buf, first,
               H):  # pragma: no cover - compiled
    """The ring slots of padded rows ``first .. first + 3`` (row-filtered on a miss)."""
    return (_ring_row(image, C, row_taps, mode, fill, ring, tag, buf, first, H),
            _ring_row(image, C, row_taps, mode, fill, ring, tag, buf, first + 1, H),
            _ring_row(image, C, row_taps, mode, fill, ring, tag, buf, first + 2, H),
            _ring_row(image, C, row_taps, mode, fill, ring, tag, buf, first + 3, H))


@njit(cache=True, inline="always")
def _ring_row(image, C, row_taps, mode, fill, ring, tag, buf, i,
              H):  # pragma: no cover - compiled
    """The ring slot of padded row ``i`` (inside the image), row-filtered on a miss."""
    s = border_index(i, H, mode)
    slot = s % ring.shape[0]
    if tag[slot] != s:
        _row_filter(image[s], buf, C, row_taps, mode, fill, ring[slot])
        tag[slot] = s
    return slot


@njit(cache=True)
def _filter_buffers(H, W, C, row_taps, col_taps):  # pragma: no cover - compiled
    """The ring, its tags and the padded-row buffer that :func:`_filtered_row` uses.

    The ring has a slot per column tap, or per image row when the kernel is taller
    than the image (every row then keeps its own slot).
    """
    n_slots = min(col_taps.size, H)
    ring = np.empty((n_slots, W * C), np.float32)
    tag = np.full(n_slots, -1, np.int64)
    buf = np.empty((W + 2 * (row_taps.size // 2)) * C, np.float32)
    return ring, tag, buf


@njit(cache=True)
def _separable_kernel(image, channels, row_taps, col_taps, mode, cval):  # pragma: no cover
    """Correlate an interleaved image with ``row_taps`` along x, then ``col_taps`` along y.

    Parameters
    ----------
    image : ndarray of shape (H, W * C), float32, C-contiguous
        Channel-interleaved rows (a ``(H, W, C)`` image reshaped).
    channels : int
        C.
    row_taps, col_taps : ndarray of odd length, float32
        Correlation taps (already flipped for a convolution), centred.
    mode : int
        Index into :data:`BORDERS`.
    cval : float
        Value outside the image for mode 0.

    Returns
    -------
    ndarray of shape (H, W * C), float32

    Notes
    -----
    Streaming: row-filtered rows live in a ring of ``len(col_taps)`` slots, and each
    output row accumulates whole ring rows tap by tap. Both inner loops run over
    contiguous memory and vectorise; no full-size temporary is allocated. Padding is
    that of the full 2-D image: with ``constant``, rows outside the image hold
    ``cval * sum(row_taps)`` after the row pass.
    """
    H, WC = image.shape
    ring, tag, buf = _filter_buffers(H, WC // channels, channels, row_taps, col_taps)
    out = np.empty((H, WC), np.float32)
    _filter_rows(image, channels, row_taps, col_taps, mode, cval, ring, tag, buf, out)
    return out


@njit(cache=True)
def _filter_rows(image, channels, row_taps, col_taps, mode, cval, ring, tag, buf,
                 out):  # pragma: no cover - compiled
    """Every output row of :func:`_separable_kernel`, through borrowed views of the
    arguments (alive for the call): numba's atomic reference counting of the arrays
    passed per row was ~20 % of the filter's time."""
    bimage, brow, bcol = _borrowed(image), _borrowed(row_taps), _borrowed(col_taps)
    bring, btag, bbuf, bout = _borrowed(ring), _borrowed(tag), _borrowed(buf), _borrowed(out)
    for y in range(image.shape[0]):
        _filtered_row(bimage, channels, brow, bcol, mode, cval, bring, btag, bbuf, y,
                      bout[y])


# ------------------------------------------------------------------ public filters
def _border_code(border: str, func: str) -> int:
    return BORDERS.index(check_choice(border, func, "border", BORDERS))


def _correlate(x: np.ndarray, row_taps: np.ndarray, col_taps: np.ndarray, mode: int,
               cval: float) -> np.ndarray:
    """Run the compiled separable correlation on a validated float32 image."""
    C = 1 if x.ndim == 2 else x.shape[2]
    flat = x.reshape(x.shape[0], x.shape[1] * C)
    out = _separable_kernel(flat, C, np.ascontiguousarray(row_taps, dtype=np.float32),
                            np.ascontiguousarray(col_taps, dtype=np.float32), mode, float(cval))
    return out.reshape(x.shape)


def _check_kernel(kernel, func: str, name: str) -> np.ndarray:
    if not isinstance(kernel, np.ndarray):
        raise TypeError(f"{func}: {name} must be a 1-D numpy array of odd length, got "
                        f"{describe(kernel)}")
    if kernel.ndim != 1 or kernel.size % 2 == 0:
        raise ValueError(f"{func}: {name} must be a 1-D array of odd length, got shape "
                         f"{kernel.shape}")
    if kernel.dtype.kind not in "uif":
        raise TypeError(f"{func}: {name} must be numeric, got dtype {kernel.dtype}")
    if not np.isfinite(kernel).all():
        raise ValueError(f"{func}: {name} must be finite, got {describe(kernel)} with "
                         "NaN or inf values")
    return kernel.astype(np.float64)


def separable_convolve(
    image: np.ndarray,
    row_kernel: np.ndarray,
    col_kernel: np.ndarray,
    *,
    border: Border = "reflect",
    cval: float = 0.0,
) -> np.ndarray:
    """Convolve with the separable kernel ``outer(col_kernel, row_kernel)``.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        Any accepted dtype; filtered per channel in float32 (uint8 / 255 and so on).
    row_kernel : ndarray of shape (K,), K odd
        Applied along each row (the x axis, axis 1), centred on its middle tap.
    col_kernel : ndarray of shape (L,), L odd
        Applied along each column (the y axis, axis 0).
    border : {"constant", "edge", "reflect", "mirror", "wrap"}
        How the image is padded (see the module docstring).
    cval : float
        The padding value for ``border="constant"``; magnitude at most 1e10, as any
        image value.

    Returns
    -------
    ndarray, same shape as ``image``, float32

    Raises
    ------
    TypeError, ValueError
        Invalid image, kernels that are not 1-D of odd length or not finite, kernels
        so large the result could overflow float32, unknown border.

    Notes
    -----
    This is true convolution (kernels are flipped), as ``scipy.ndimage.convolve`` with
    the 2-D kernel ``np.outer(col_kernel, row_kernel)``, including at the border (the
    padding is that of the 2-D image, so a constant border with a non-zero ``cval`` sees
    ``cval`` in every corner). Rows are filtered first, then columns; accumulation is in
    float32.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((3, 5), np.float32); img[1, 2] = 1
    >>> separable_convolve(img, np.array([1.0, 2, 3]), np.array([1.0]))[1]
    array([0., 1., 2., 3., 0.], dtype=float32)
    """
    func = "separable_convolve"
    x = as_float_image(image, func)
    rk = _check_kernel(row_kernel, func, "row_kernel")
    ck = _check_kernel(col_kernel, func, "col_kernel")
    mode = _border_code(border, func)
    cval = check_real(cval, func, "cval", low=-MAX_IMAGE_MAGNITUDE, high=MAX_IMAGE_MAGNITUDE)
    check_result_bound(max(float(np.abs(x).max()), abs(cval))
                       * float(np.abs(rk).sum()) * float(np.abs(ck).sum()), func,
                       "row_kernel and col_kernel")
    return _correlate(x, rk[::-1], ck[::-1], mode, cval)


def check_result_bound(bound: float, func: str, names: str) -> None:
    """Refuse a linear filter whose output could exceed float32's range.

    ``bound`` is ``max|input| * sum|kernel|``: no output value can be larger.
    """
    if not bound <= float(np.finfo(np.float32).max):
        raise ValueError(f"{func}: {names} must keep the result within float32's range, got "
                         f"max|image| * sum|kernel| = {bound:.4g} (> 3.4e38)")


#: Kernel radius (pixels) from which ``method="auto"`` takes the transform path. Measured
#: in benchmarks/bench_fourier.py (crossover sweep, single thread): the transform path
#: overtakes the separable convolution between radius 20 and 28 (sigma 5 to 7 with
#: truncate 4) at 256^2, 1024^2 and 2048^2 alike, because its pruned cost falls as
#: 1 / sigma while the convolution's grows as sigma.
AUTO_FFT_RADIUS = 24

GaussianMethod = Literal["auto", "spatial", "fft"]


def gaussian_filter(
    image: np.ndarray,
    sigma: float,
    *,
    method: GaussianMethod = "auto",
    truncate: float = 4.0,
    border: Border = "reflect",
) -> np.ndarray:
    """Gaussian blur, per channel, by separable convolution or through a transform.

    ``cvgeo.gaussian_blur`` is an alias of this function (same signature, same results;
    errors name ``gaussian_blur``).

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        Any accepted dtype; computed in float32 (uint8 / 255 and so on).
    sigma : float
        Standard deviation in pixels, >= 0 (0 returns a float32 copy).
    method : {"auto", "spatial", "fft"}
        ``"spatial"``: separable convolution (numba). ``"fft"``: multiply the image's
        transform by the transfer function of the same truncated, sampled kernel (see
        Notes). ``"auto"``: spatial when the kernel radius ``int(truncate * sigma + 0.5)``
        is below ``AUTO_FFT_RADIUS = 24`` (the measured crossover), else fft.
    truncate : float
        Kernel radius ``int(truncate * sigma + 0.5)`` pixels (> 0), as scipy; at most
        ``MAX_KERNEL_RADIUS`` (4096 pixels).
    border : {"constant", "edge", "reflect", "mirror", "wrap"}
        How the image continues past its edges (``"constant"`` pads with 0). Default
        ``"reflect"``, half-sample symmetric.

    Returns
    -------
    ndarray, same shape as ``image``, float32

    Raises
    ------
    TypeError, ValueError
        Invalid image, negative or non-finite ``sigma``, ``truncate <= 0``, a kernel
        radius above ``MAX_KERNEL_RADIUS``, unknown ``method`` or ``border``.

    Notes
    -----
    Both methods apply the kernel ``g_j ∝ exp(-j^2 / (2 sigma^2))``,
    ``|j| <= int(truncate * sigma + 0.5)``, normalised to sum 1, that is the kernel of
    ``scipy.ndimage.gaussian_filter(image, sigma, truncate=truncate,
    mode=SCIPY_MODES[border])`` (with ``sigma`` 0 on the channel axis). The spatial method
    equals scipy to float32 rounding (about 1e-6 on images in [0, 1]); the fft method to
    about 7e-6 (tested to 1e-5), see :func:`cvgeo.fourier.convolve.gaussian_by_transform` for how
    it diagonalises each border with a DCT-II (reflect), DCT-I (mirror) or FFT (wrap) of
    the image's own size, and why its cost falls as sigma grows.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((5, 5), np.float32); img[2, 2] = 1
    >>> out = gaussian_filter(img, 1.0)
    >>> round(float(out.sum()), 5), round(float(out[2, 2]), 4)  # mass kept, peak spread
    (1.0, 0.1592)
    >>> y = gaussian_filter(img, 1.0, method="fft")
    >>> bool(np.abs(y - out).max() < 1e-5)
    True
    """
    return _gaussian(image, sigma, method, truncate, border, "gaussian_filter")


def _gaussian(image, sigma, method, truncate, border, func: str) -> np.ndarray:
    """:func:`gaussian_filter`, with errors naming ``func``."""
    check_choice(method, func, "method", ("auto", "spatial", "fft"))
    x = as_float_image(image, func)
    sigma = check_real(sigma, func, "sigma", low=0.0)
    truncate = check_real(truncate, func, "truncate", low=0.0, low_inclusive=False)
    radius = check_kernel_radius(sigma, truncate, func)
    mode = _border_code(border, func)
    if sigma == 0.0 or radius == 0:
        return x.copy() if np.shares_memory(x, image) else x
    if method == "auto":
        method = "fft" if radius >= AUTO_FFT_RADIUS else "spatial"
    if method == "fft":
        # fourier imports this module, so the transform path is imported when first used
        from cvgeo.fourier.convolve import gaussian_by_transform

        return gaussian_by_transform(x, sigma, truncate=truncate, border=border)
    taps = _gaussian_taps(sigma, truncate, order=0)
    return _correlate(x, taps, taps, mode, 0.0)


def gaussian_blur(
    image: np.ndarray,
    sigma: float,
    *,
    method: GaussianMethod = "auto",
    border: Border = "reflect",
    truncate: float = 4.0,
) -> np.ndarray:
    """Alias of :func:`gaussian_filter` (same parameters, same results).

    Kept as a second name for the one Gaussian blur; errors name ``gaussian_blur``. See
    :func:`gaussian_filter` for the parameters, methods and accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((9, 9), np.float32); x[4, 4] = 1
    >>> y = gaussian_blur(x, 1.0, method="fft")
    >>> round(float(y.sum()), 5), bool(np.allclose(y, y.T, atol=1e-7))
    (1.0, True)
    """
    return _gaussian(image, sigma, method, truncate, border, "gaussian_blur")


_SOBEL_DIFF = np.array([-1.0, 0.0, 1.0])  # correlation taps: f(i + 1) - f(i - 1)
_SOBEL_SMOOTH = np.array([1.0, 2.0, 1.0])


def sobel(image: np.ndarray, *, border: Border = "reflect") -> Gradient:
    """Sobel gradient (unnormalised, as ``scipy.ndimage.sobel`` and ``cv2.Sobel``).

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        Any accepted dtype; computed in float32 in [0, 1] units.
    border : {"constant", "edge", "reflect", "mirror", "wrap"}
        Padding (``"constant"`` pads with 0).

    Returns
    -------
    Gradient
        ``gx = [1, 2, 1]^T (x) [-1, 0, 1]`` correlated with the image, ``gy`` its
        transpose; float32, same shape as ``image``.

    Notes
    -----
    Conventions: the kernels are not normalised, so a unit step gives ``|gx| = 4`` and
    a unit ramp ``gx = 8`` (divide by 8 for a derivative estimate). ``gx`` equals
    ``scipy.ndimage.sobel(image, axis=1, mode=SCIPY_MODES[border])``.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(5, dtype=np.float32), (4, 1))
    >>> sobel(ramp).gx[1, 1:4]
    array([8., 8., 8.], dtype=float32)
    """
    func = "sobel"
    x = as_float_image(image, func)
    mode = _border_code(border, func)
    gx = _correlate(x, _SOBEL_DIFF, _SOBEL_SMOOTH, mode, 0.0)
    gy = _correlate(x, _SOBEL_SMOOTH, _SOBEL_DIFF, mode, 0.0)
    return Gradient(gx, gy)


def gaussian_gradient(
    image: np.ndarray,
    sigma: float,
    *,
    truncate: float = 4.0,
    border: Border = "reflect",
) -> Gradient:
    """Derivative-of-Gaussian gradient: the exact gradient of the blurred image.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        Any accepted dtype; computed in float32 in [0, 1] units.
    sigma : float
        Standard deviation in pixels, > 0.
    truncate : float
        Kernel radius ``int(truncate * sigma + 0.5)``, as scipy; at most
        ``MAX_KERNEL_RADIUS`` (4096 pixels).
    border : {"constant", "edge", "reflect", "mirror", "wrap"}
        Padding (``"constant"`` pads with 0).

    Returns
    -------
    Gradient
        ``gx``, ``gy`` in intensity units per pixel, float32, same shape as ``image``.

    Notes
    -----
    ``gx`` convolves the rows with ``g'(x) = -x / sigma**2 g(x)`` and the columns with
    ``g``, where ``g`` is the normalised sampled Gaussian; it equals
    ``scipy.ndimage.gaussian_filter(image, sigma, order=(0, 1))`` up to float32
    rounding. A unit ramp gives ``gx`` close to 1.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(32, dtype=np.float32), (8, 1)) / 31
    >>> round(float(gaussian_gradient(ramp, 2.0).gx[4, 16]) * 31, 3)
    1.0
    """
    func = "gaussian_gradient"
    x = as_float_image(image, func)
    sigma = check_real(sigma, func, "sigma", low=0.0, low_inclusive=False)
    truncate = check_real(truncate, func, "truncate", low=0.0, low_inclusive=False)
    check_kernel_radius(sigma, truncate, func)
    mode = _border_code(border, func)
    g = _gaussian_taps(sigma, truncate, order=0)
    dg = _gaussian_taps(sigma, truncate, order=1)
    if g.size != dg.size:  # radius 0 Gaussian: a central difference, smoothing [1]
        g = np.array([0.0, 1.0, 0.0])
    gx = _correlate(x, dg[::-1], g[::-1], mode, 0.0)
    gy = _correlate(x, g[::-1], dg[::-1], mode, 0.0)
    return Gradient(gx, gy)

