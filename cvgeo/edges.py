"""Canny edge detection.

Conventions
-----------
Images are ``(H, W)`` or ``(H, W, C)``, indexed ``[row, col]``; thresholds are in units
of the [0, 1]-scaled image (uint8 / 255, uint16 / 65535) and apply to the *unnormalised*
Sobel magnitude of the smoothed image, as scikit-image's ``canny``: an ideal unit step
has magnitude 4 before smoothing. The edge map is bool ``(H, W)``; the outermost
one-pixel frame (and every pixel within one pixel of a masked-out pixel) is never an
edge, because its gradient would depend on pixels that are not there.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi
from numba import njit

from cvgeo._checks import check_mask, check_real, describe
from cvgeo.filters import BORDERS, _correlate, _gaussian_taps
from cvgeo.image import as_float_image

__all__ = ["canny"]

_REFLECT = BORDERS.index("reflect")

#: Relative difference under which two magnitudes count as tied in the suppression.
_TIE = np.float32(2.0**-16)

#: Labels of the double-threshold map that the kernels pass to each other.
_NONE, _WEAK, _STRONG = 0, 1, 2


# --------------------------------------------------------------- compiled kernels
@njit(cache=True)
def _gradient_kernel(smoothed):  # pragma: no cover - compiled
    """Sobel gradient of the strongest channel at every pixel.

    Parameters
    ----------
    smoothed : ndarray of shape (H, W, C), float32, C-contiguous
        The Gaussian-smoothed image.

    Returns
    -------
    gx, gy, magnitude : ndarrays of shape (H, W), float32
        Unnormalised Sobel derivatives along x (columns) and y (rows) of the channel
        whose gradient is strongest at that pixel, and ``hypot(gx, gy)``. Out-of-image
        neighbours repeat the edge pixel (half-sample reflection at radius 1).
    """
    H, W, C = smoothed.shape
    gx = np.empty((H, W), np.float32)
    gy = np.empty((H, W), np.float32)
    mag = np.empty((H, W), np.float32)
    for i in range(H):
        im = max(i - 1, 0)
        ip = min(i + 1, H - 1)
        for j in range(W):
            jm = max(j - 1, 0)
            jp = min(j + 1, W - 1)
            best = np.float32(-1.0)
            bx = np.float32(0.0)
            by = np.float32(0.0)
            for c in range(C):
                dx = ((smoothed[im, jp, c] - smoothed[im, jm, c])
                      + 2 * (smoothed[i, jp, c] - smoothed[i, jm, c])
                      + (smoothed[ip, jp, c] - smoothed[ip, jm, c]))
                dy = ((smoothed[ip, jm, c] - smoothed[im, jm, c])
                      + 2 * (smoothed[ip, j, c] - smoothed[im, j, c])
                      + (smoothed[ip, jp, c] - smoothed[im, jp, c]))
                m2 = dx * dx + dy * dy
                if m2 > best:
                    best = m2
                    bx = dx
                    by = dy
            gx[i, j] = bx
            gy[i, j] = by
            mag[i, j] = np.sqrt(best)
    return gx, gy, mag


@njit(cache=True)
def _nms_kernel(gx, gy, mag, valid, use_valid, low, high):  # pragma: no cover - compiled
    """Non-maximum suppression along the gradient, then the double threshold.

    Parameters
    ----------
    gx, gy, mag : ndarrays of shape (H, W), float32
        Gradient and its magnitude.
    valid : ndarray of shape (H, W), bool
        Pixels allowed to be edges (read only when ``use_valid``).
    use_valid : bool
        Whether ``valid`` applies; the one-pixel frame is excluded in any case.
    low, high : float
        Thresholds on the magnitude, ``0 < low <= high``.

    Returns
    -------
    labels : ndarray of shape (H, W), uint8
        0: not an edge candidate; 1 (weak): a local maximum with ``low <= m < high``;
        2 (strong): a local maximum with ``m >= high``.

    Notes
    -----
    Canny (1986), step 2. The magnitude is interpolated linearly at one step ahead of
    and behind the pixel along the gradient direction: the step is 1 along the
    dominant axis and ``w = min(|gx|, |gy|) / max(|gx|, |gy|)`` along the other, so the
    neighbour value is ``(1 - w) m[axial] + w m[diagonal]``. The pixel survives if
    ``m >= ahead`` and ``m > behind``, where values within a relative ``2**-16`` (the
    float32 rounding of the earlier steps) count as equal; this asymmetric tie rule
    keeps exactly one pixel of a two-pixel plateau: the one on the darker side of a
    step, whichever way the image is turned.
    """
    H, W = mag.shape
    labels = np.zeros((H, W), np.uint8)
    for i in range(1, H - 1):
        for j in range(1, W - 1):
            m = mag[i, j]
            if m < low:
                continue
            if use_valid and not valid[i, j]:
                continue
            dx = gx[i, j]
            dy = gy[i, j]
            ax = abs(dx)
            ay = abs(dy)
            si = 1 if dy > 0 else -1  # row step along the gradient
            sj = 1 if dx > 0 else -1  # column step along the gradient
            if ax >= ay:  # mostly horizontal gradient: step one column, w rows
                w = ay / ax
                ahead = (1 - w) * mag[i, j + sj] + w * mag[i + si, j + sj]
                behind = (1 - w) * mag[i, j - sj] + w * mag[i - si, j - sj]
            else:  # mostly vertical gradient: step one row, w columns
                w = ax / ay
                ahead = (1 - w) * mag[i + si, j] + w * mag[i + si, j + sj]
                behind = (1 - w) * mag[i - si, j] + w * mag[i - si, j - sj]
            tol = m * _TIE
            if ahead - tol <= m and m > behind + tol:
                labels[i, j] = _STRONG if m >= high else _WEAK
    return labels


@njit(cache=True)
def _hysteresis_kernel(labels):  # pragma: no cover - compiled
    """Edge tracking by hysteresis: weak pixels 8-connected to a strong one are edges.

    Parameters
    ----------
    labels : ndarray of shape (H, W), uint8
        0 none, 1 weak, 2 strong; the one-pixel frame must be 0.

    Returns
    -------
    edges : ndarray of shape (H, W), bool

    Notes
    -----
    Canny (1986), step 3, as a flood fill with an explicit stack: every strong pixel
    seeds a fill that spreads through 8-connected weak pixels. Each pixel is pushed at
    most once (it is marked when pushed), so the stack never outgrows the number of
    candidates and the work is linear in the image size.
    """
    H, W = labels.shape
    edges = np.zeros((H, W), np.bool_)
    n = 0
    for i in range(H):
        for j in range(W):
            if labels[i, j] != 0:
                n += 1
    stack = np.empty(max(n, 1), np.int64)
    for i in range(1, H - 1):
        for j in range(1, W - 1):
            if labels[i, j] != 2 or edges[i, j]:
                continue
            edges[i, j] = True
            stack[0] = i * W + j
            top = 1
            while top > 0:
                top -= 1
                p = stack[top]
                pi = p // W
                pj = p - pi * W
                for qi in range(pi - 1, pi + 2):
                    for qj in range(pj - 1, pj + 2):
                        if labels[qi, qj] != 0 and not edges[qi, qj]:
                            edges[qi, qj] = True
                            stack[top] = qi * W + qj
                            top += 1
    return edges


def _hysteresis_by_labels(labels: np.ndarray) -> np.ndarray:
    """Vectorised reference for :func:`_hysteresis_kernel` (same input and output).

    Labels the 8-connected components of the candidate pixels (weak or strong) with
    ``scipy.ndimage.label`` and keeps every component that holds a strong pixel.
    """
    candidates = labels != _NONE
    components, count = ndi.label(candidates, structure=np.ones((3, 3), bool))
    if count == 0:
        return candidates
    keep = np.zeros(count + 1, bool)
    keep[components[labels == _STRONG]] = True
    keep[0] = False
    return keep[components]


# ------------------------------------------------------------------------ canny
def _smooth(x: np.ndarray, sigma: float, mask: np.ndarray | None) -> np.ndarray:
    """Gaussian smoothing (reflect border); with a mask, normalised to the mask."""
    taps = _gaussian_taps(sigma, 4.0, order=0)
    if mask is None:
        if taps.size == 1:
            return x
        return _correlate(x, taps, taps, _REFLECT, 0.0)
    m = mask.astype(np.float32)
    mx = x * (m if x.ndim == 2 else m[..., None])
    if taps.size == 1:
        return mx
    num = _correlate(mx, taps, taps, _REFLECT, 0.0)
    den = _correlate(m, taps, taps, _REFLECT, 0.0)
    np.maximum(den, np.float32(np.finfo(np.float32).tiny), out=den)
    return num / (den if x.ndim == 2 else den[..., None])


def canny(
    image: np.ndarray,
    *,
    sigma: float = 1.0,
    low_threshold: float = 0.1,
    high_threshold: float = 0.2,
    use_quantiles: bool = False,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Canny edge detector.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        uint8, uint16, bool, float32 or float64; computed in float32 in [0, 1] units.
        For colour, each pixel uses the channel with the strongest gradient.
    sigma : float
        Standard deviation of the Gaussian smoothing in pixels, >= 0 (0: none).
    low_threshold, high_threshold : float
        Hysteresis thresholds on the Sobel gradient magnitude of the smoothed image, in
        units of the [0, 1]-scaled image (the scale of ``skimage.feature.canny`` on a
        float image in [0, 1]); ``0 <= low_threshold <= high_threshold``. With
        ``use_quantiles`` they are quantiles in [0, 1] of the magnitude instead.
    use_quantiles : bool
        Read the thresholds as quantiles of the gradient magnitude over the pixels that
        may be edges (inside the eroded mask, away from the frame).
    mask : ndarray of shape (H, W), bool, optional
        Where to look for edges. Smoothing is normalised to the mask (pixels outside it
        do not bleed in) and the mask is eroded by one pixel.

    Returns
    -------
    edges : ndarray of shape (H, W), bool

    Raises
    ------
    TypeError
        ``image`` or ``mask`` not a numpy array, unsupported dtype, non-bool
        ``use_quantiles``.
    ValueError
        Wrong ndim, empty image, NaN/inf values, negative ``sigma`` or thresholds,
        ``low_threshold > high_threshold``, quantiles outside [0, 1], mask of the wrong
        shape.

    Notes
    -----
    1. Smooth with a Gaussian of standard deviation ``sigma`` (half-sample reflection
       at the border, so a constant image stays exactly constant and padding makes no
       edges).
    2. Sobel gradient ``(gx, gy)`` and its magnitude (per pixel, the strongest
       channel).
    3. Non-maximum suppression: keep a pixel if its magnitude is not below the
       magnitude interpolated one step ahead along the gradient and above the one
       behind it (the tie rule keeps one pixel of a symmetric step).
    4. Double threshold: local maxima with ``m >= high_threshold`` are strong, those
       with ``low_threshold <= m < high_threshold`` weak (a zero magnitude is never an
       edge).
    5. Hysteresis: the edges are the strong pixels and every weak pixel 8-connected to
       one through weak pixels.

    The one-pixel image frame is never an edge (as ``skimage.feature.canny``).

    References
    ----------
    .. [1] J. Canny, "A Computational Approach to Edge Detection", IEEE TPAMI 8(6),
       679-698, 1986. :doi:`10.1109/TPAMI.1986.4767851`

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((8, 8)); img[:, 4:] = 1
    >>> canny(img).sum(axis=0)
    array([0, 0, 0, 6, 0, 0, 0, 0])
    """
    func = "canny"
    x = as_float_image(image, func)
    H, W = x.shape[:2]
    sigma = check_real(sigma, func, "sigma", low=0.0)
    if not isinstance(use_quantiles, (bool, np.bool_)):
        raise TypeError(f"{func}: use_quantiles must be a bool, got {describe(use_quantiles)}")
    high_limit = 1.0 if use_quantiles else None
    low = check_real(low_threshold, func, "low_threshold", low=0.0, high=high_limit)
    high = check_real(high_threshold, func, "high_threshold", low=0.0, high=high_limit)
    if low > high:
        raise ValueError(f"{func}: low_threshold must be <= high_threshold, got "
                         f"low_threshold={low_threshold!r} > high_threshold={high_threshold!r}")
    if mask is not None:
        mask = check_mask(mask, func, (H, W))
    if H < 3 or W < 3:
        return np.zeros((H, W), bool)
    labels = _canny_labels(x, sigma, low, high, use_quantiles, mask)
    return _hysteresis_kernel(labels)


def _canny_labels(x: np.ndarray, sigma: float, low: float, high: float, use_quantiles: bool,
                  mask: np.ndarray | None) -> np.ndarray:
    """Steps 1-4 of :func:`canny` on a validated float32 image of at least 3x3 pixels.

    Returns the uint8 label map of :func:`_nms_kernel` (0 none, 1 weak, 2 strong).
    """
    H, W = x.shape[:2]
    smoothed = _smooth(x, sigma, mask)
    if smoothed.ndim == 2:
        smoothed = smoothed[..., None]
    gx, gy, mag = _gradient_kernel(np.ascontiguousarray(smoothed))

    if mask is not None:
        valid = ndi.binary_erosion(mask, np.ones((3, 3), bool), border_value=0)
    else:
        valid = np.zeros((1, 1), bool)
    if use_quantiles:
        inner = valid if mask is not None else np.s_[1:-1, 1:-1]
        values = mag[inner]
        if values.size == 0:
            return np.zeros((H, W), np.uint8)
        low, high = np.quantile(values.astype(np.float64), [low, high])
    # A zero magnitude is never an edge. Without a mask, smoothing a constant region
    # gives exactly equal values (the same float operations), so its gradient is exactly
    # 0; the mask-normalised smoothing divides by a varying weight, which leaves float32
    # rounding noise of about 1e-6 * |image|: magnitudes below 2**-13 * max|image| are
    # treated as zero there.
    floor = 1e-12
    if mask is not None and sigma > 0:
        floor = max(floor, 2.0**-13 * float(max(x.max(), -x.min())))
    low = max(float(low), floor)
    high = max(float(high), low)
    return _nms_kernel(gx, gy, mag, valid, mask is not None, low, high)
