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

from cvgeo._checks import check_bool, check_choice, check_kernel_radius, check_mask, check_real
from cvgeo._llvm import _borrowed
from cvgeo.filters import (
    BORDERS,
    Border,
    _correlate,
    _filter_buffers,
    _filtered_row,
    _gaussian_taps,
)
from cvgeo.image import as_float_image

__all__ = ["canny"]

#: Most channels ``canny`` takes: grey, grey + alpha, RGB, RGBA. A 3-D array with more is
#: a volume or a stack of images far more often than an image, and is refused.
MAX_CHANNELS = 4

_REFLECT = BORDERS.index("reflect")
_CONSTANT = BORDERS.index("constant")

#: Relative difference under which two magnitudes count as tied in the suppression.
_TIE = np.float32(2.0**-16)
_ZERO, _ONE, _TWO = np.float32(0.0), np.float32(1.0), np.float32(2.0)

#: Labels of the double-threshold map that the kernels pass to each other (3 marks a
#: pixel the hysteresis fill has reached).
_NONE, _WEAK, _STRONG, _REACHED = 0, 1, 2, 3


# --------------------------------------------------------------- compiled kernels
@njit(cache=True, inline="always")
def _gradient_pixel(prev, cur, nxt, C, j, gx, gy, mag):  # pragma: no cover - compiled
    """Sobel gradient at column ``j`` of a row, strongest channel (helper of below; the
    columns beyond the row's ends are its end columns)."""
    W = gx.size
    jm = max(j - 1, 0)
    jp = min(j + 1, W - 1)
    best = np.float32(-1.0)
    bx = np.float32(0.0)
    by = np.float32(0.0)
    for c in range(C):
        a = jm * C + c
        b = j * C + c
        d = jp * C + c
        dx = (prev[d] - prev[a]) + _TWO * (cur[d] - cur[a]) + (nxt[d] - nxt[a])
        dy = (nxt[a] - prev[a]) + _TWO * (nxt[b] - prev[b]) + (nxt[d] - prev[d])
        m2 = dx * dx + dy * dy
        if m2 > best:
            best = m2
            bx = dx
            by = dy
    gx[j] = bx
    gy[j] = by
    mag[j] = np.sqrt(best)


@njit(cache=True)
def _gradient_row(prev, cur, nxt, C, gx, gy, mag):  # pragma: no cover - compiled
    """Sobel gradient of one row of the smoothed image, strongest channel per pixel.

    Parameters
    ----------
    prev, cur, nxt : ndarrays of shape (W * C,), float32
        Smoothed rows ``i - 1``, ``i``, ``i + 1`` (channel-interleaved; at the image's
        top and bottom the edge row is repeated: half-sample reflection at radius 1).
    C : int
        Number of channels.
    gx, gy, mag : ndarrays of shape (W,), float32
        Output: unnormalised Sobel d/dx and d/dy of the channel whose gradient is
        strongest at that pixel, and ``sqrt(gx**2 + gy**2)``; all arithmetic float32.
    """
    W = gx.size
    if C == 1:  # grey: the interior loop is branch-free and vectorises
        for j in range(1, W - 1):
            dx = (prev[j + 1] - prev[j - 1]) + _TWO * (cur[j + 1] - cur[j - 1]) + (
                nxt[j + 1] - nxt[j - 1])
            dy = (nxt[j - 1] - prev[j - 1]) + _TWO * (nxt[j] - prev[j]) + (
                nxt[j + 1] - prev[j + 1])
            gx[j] = dx
            gy[j] = dy
            mag[j] = np.sqrt(dx * dx + dy * dy)
    else:  # colour: keep the channel with the largest squared magnitude
        for j in range(1, W - 1):
            _gradient_pixel(prev, cur, nxt, C, j, gx, gy, mag)
    _gradient_pixel(prev, cur, nxt, C, 0, gx, gy, mag)
    _gradient_pixel(prev, cur, nxt, C, W - 1, gx, gy, mag)


@njit(cache=True)
def _nms_row(gx, gy, above, cur, below, valid, low, high, labels):  # pragma: no cover
    """Non-maximum suppression and double threshold along one row.

    Parameters
    ----------
    gx, gy : ndarrays of shape (W,), float32
        Gradient of this row.
    above, cur, below : ndarrays of shape (W,), float32
        Magnitude of rows ``i - 1``, ``i``, ``i + 1``.
    valid : ndarray of shape (W,), bool
        Pixels allowed to be edges.
    low, high : float32
        Thresholds, ``0 < low <= high``.
    labels : ndarray of shape (W,), uint8
        Output, written for ``1 <= j <= W - 2`` only: 0 none, 1 weak, 2 strong.

    Returns
    -------
    int
        The number of weak or strong pixels in the row.

    Notes
    -----
    Canny (1986), step 2. The magnitude is interpolated linearly one step ahead of and
    behind the pixel along the gradient direction: the step is 1 along the dominant
    axis and ``w = min(|gx|, |gy|) / max(|gx|, |gy|)`` along the other, so the
    neighbour value is ``(1 - w) m[axial] + w m[diagonal]``. The pixel survives if
    ``m >= ahead`` and ``m > behind``, where values within a relative ``2**-16`` (the
    float32 rounding of the earlier steps) count as equal; this asymmetric tie rule
    keeps exactly one pixel of a two-pixel plateau: the one on the darker side of a
    step, whichever way the image is turned. All nine neighbours are loaded and the
    right ones selected, so the loop has no branches and vectorises.
    """
    W = cur.size
    n = 0
    for j in range(1, W - 1):
        m = cur[j]
        dx = gx[j]
        dy = gy[j]
        ax = abs(dx)
        ay = abs(dy)
        horizontal = ax >= ay  # dominant axis: step one column (else one row)
        big = ax if horizontal else ay
        small = ay if horizontal else ax
        w = small / big if big > 0 else _ZERO
        down = dy > 0  # the gradient points down the rows (ahead = the row below)
        right = dx > 0  # ... and to the right (ahead = the next column)
        ul = above[j - 1]
        uc = above[j]
        ur = above[j + 1]
        cl = cur[j - 1]
        cr = cur[j + 1]
        dl = below[j - 1]
        dc = below[j]
        dr = below[j + 1]
        ahead_diag = (dr if right else dl) if down else (ur if right else ul)
        behind_diag = (ul if right else ur) if down else (dl if right else dr)
        ahead_axis = (cr if right else cl) if horizontal else (dc if down else uc)
        behind_axis = (cl if right else cr) if horizontal else (uc if down else dc)
        ahead = (_ONE - w) * ahead_axis + w * ahead_diag
        behind = (_ONE - w) * behind_axis + w * behind_diag
        tol = m * _TIE
        keep = valid[j] & (m >= low) & (ahead - tol <= m) & (m > behind + tol)
        labels[j] = (np.uint8(_WEAK) + np.uint8(m >= high)) if keep else np.uint8(_NONE)
        n += keep
    return n


@njit(cache=True)
def _gradient_kernel(smoothed, C):  # pragma: no cover - compiled
    """Sobel gradient of the strongest channel at every pixel (staged path).

    Parameters
    ----------
    smoothed : ndarray of shape (H, W * C), float32, C-contiguous
        The smoothed image, channel-interleaved rows.
    C : int
        Number of channels.

    Returns
    -------
    gx, gy, magnitude : ndarrays of shape (H, W), float32
        See :func:`_gradient_row`.
    """
    H = smoothed.shape[0]
    W = smoothed.shape[1] // C
    gx = np.empty((H, W), np.float32)
    gy = np.empty((H, W), np.float32)
    mag = np.empty((H, W), np.float32)
    for i in range(H):
        _gradient_row(smoothed[max(i - 1, 0)], smoothed[i], smoothed[min(i + 1, H - 1)], C,
                      gx[i], gy[i], mag[i])
    return gx, gy, mag


@njit(cache=True)
def _nms_kernel(gx, gy, mag, valid, low, high):  # pragma: no cover - compiled
    """Non-maximum suppression and double threshold over the image (staged path).

    Parameters
    ----------
    gx, gy, mag : ndarrays of shape (H, W), float32
    valid : ndarray of shape (H, W), bool
        Pixels allowed to be edges.
    low, high : float32

    Returns
    -------
    labels : ndarray of shape (H, W), uint8
        0 none, 1 weak, 2 strong (see :func:`_nms_row`); the one-pixel frame is 0.
    count : int
        The number of weak or strong pixels.
    """
    H, W = mag.shape
    labels = np.zeros((H, W), np.uint8)
    count = 0
    for i in range(1, H - 1):
        count += _nms_row(gx[i], gy[i], mag[i - 1], mag[i], mag[i + 1], valid[i], low, high,
                          labels[i])
    return labels, count


@njit(cache=True)
def _fused_labels_kernel(image, C, taps, low, high, mode):  # pragma: no cover - compiled
    """Steps 1-4 of Canny in one streaming pass (no mask, thresholds known).

    Parameters
    ----------
    image : ndarray of shape (H, W * C), float32, C-contiguous
        Channel-interleaved image, H, W >= 3.
    C : int
        Number of channels.
    taps : ndarray of odd length, float32
        The Gaussian (correlation taps; ``[1]`` for no smoothing).
    low, high : float32
        Thresholds, ``0 < low <= high``.
    mode : int
        Border of the smoothing, an index into ``BORDERS`` (not "constant", which needs
        the normalised staged path).

    Returns
    -------
    labels : ndarray of shape (H, W), uint8
        0 none, 1 weak, 2 strong; the one-pixel frame is 0.
    count : int
        The number of weak or strong pixels.

    Notes
    -----
    Row ``y`` of the smoothed image is made (rows then columns, border ``mode``)
    into a ring of 3 smoothed rows; then the gradient of row ``y - 1`` into a ring of 3
    gradient rows; then non-maximum suppression of row ``y - 2``. Everything stays in
    cache and only the uint8 labels are written, so the result equals the staged path
    (:func:`_smooth`, :func:`_gradient_kernel`, :func:`_nms_kernel`) exactly.
    """
    H, WC = image.shape
    W = WC // C
    ring, tag, buf = _filter_buffers(H, W, C, taps, taps)
    sm = np.empty((3, WC), np.float32)
    gx = np.empty((3, W), np.float32)
    gy = np.empty((3, W), np.float32)
    mag = np.empty((3, W), np.float32)
    labels = np.zeros((H, W), np.uint8)
    valid = np.ones(W, np.bool_)
    count = _fused_label_rows(image, C, taps, low, high, mode, ring, tag, buf, sm, gx, gy,
                              mag, labels, valid)
    return labels, count


@njit(cache=True)
def _fused_label_rows(image, C, taps, low, high, mode, ring, tag, buf, sm, gx, gy, mag,
                      labels, valid):  # pragma: no cover - compiled
    """The row loop of :func:`_fused_labels_kernel` on borrowed views of its arguments
    (alive for the call): no reference counting of the arrays passed per row."""
    H, WC = image.shape
    image, taps, ring, tag, buf = (_borrowed(image), _borrowed(taps), _borrowed(ring),
                                   _borrowed(tag), _borrowed(buf))
    sm, gx, gy, mag = _borrowed(sm), _borrowed(gx), _borrowed(gy), _borrowed(mag)
    labels, valid = _borrowed(labels), _borrowed(valid)
    count = 0
    smooth = taps.size > 1
    for y in range(H + 1):
        if y < H:  # smoothed row y
            if smooth:
                _filtered_row(image, C, taps, taps, mode, 0.0, ring, tag, buf, y,
                              sm[y % 3])
            else:
                sm[y % 3] = image[y]
        g = y - 1  # gradient of row g needs smoothed rows g - 1, g, g + 1 (clamped)
        if g >= 0:
            _gradient_row(sm[max(g - 1, 0) % 3], sm[g % 3], sm[min(g + 1, H - 1) % 3], C,
                          gx[g % 3], gy[g % 3], mag[g % 3])
        i = g - 1  # suppression of row i needs gradient rows i - 1, i, i + 1
        if 1 <= i <= H - 2:
            count += _nms_row(gx[i % 3], gy[i % 3], mag[(i - 1) % 3], mag[i % 3],
                              mag[(i + 1) % 3], valid, low, high, labels[i])
    return count


@njit(cache=True)
def _hysteresis_kernel(labels, count=-1):  # pragma: no cover - compiled
    """Edge tracking by hysteresis: weak pixels 8-connected to a strong one are edges.

    Parameters
    ----------
    labels : ndarray of shape (H, W), uint8
        0 none, 1 weak, 2 strong; the one-pixel frame must be 0. Not modified.
    count : int
        The number of non-zero labels if known (sizes the stack), else -1.

    Returns
    -------
    edges : ndarray of shape (H, W), bool

    Notes
    -----
    Canny (1986), step 3, as a flood fill with an explicit stack: every strong pixel
    seeds a fill that spreads through 8-connected weak pixels. The fill works on a copy
    of the labels, marking reached pixels 3, so each pixel is pushed at most once and
    the stack (row and column, int32) never outgrows the number of candidates.
    """
    H, W = labels.shape
    work = labels.copy()
    n = count
    if n < 0:
        n = 0
        for i in range(H):
            for j in range(W):
                n += work[i, j] != _NONE
    stack_i = np.empty(max(n, 1), np.int32)
    stack_j = np.empty(max(n, 1), np.int32)
    for i in range(1, H - 1):
        row = work[i]
        for j in range(1, W - 1):
            if row[j] != _STRONG:
                continue
            row[j] = _REACHED
            stack_i[0] = i
            stack_j[0] = j
            top = 1
            while top > 0:
                top -= 1
                pi = stack_i[top]
                pj = stack_j[top]
                for qi in range(pi - 1, pi + 2):
                    neighbours = work[qi]
                    for qj in range(pj - 1, pj + 2):
                        v = neighbours[qj]
                        if v == _WEAK or v == _STRONG:
                            neighbours[qj] = _REACHED
                            stack_i[top] = qi
                            stack_j[top] = qj
                            top += 1
    return work == _REACHED


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
def _smooth(x: np.ndarray, sigma: float, mask: np.ndarray | None, mode: int = _REFLECT,
            cval: float = 0.0) -> np.ndarray:
    """Gaussian smoothing with border ``mode`` (an index into BORDERS) and ``cval``.

    With a mask, or with the constant border, the result is normalised by the same
    smoothing of the mask (of ones), so pixels outside the mask or the image do not
    bleed in (scikit-image's bleed-over correction, which also pads the mask with
    ``cval``).
    """
    taps = _gaussian_taps(sigma, 4.0, order=0)
    if mask is None and mode != _CONSTANT:
        if taps.size == 1:
            return x
        return _correlate(x, taps, taps, mode, 0.0)
    m = np.ones(x.shape[:2], np.float32) if mask is None else mask.astype(np.float32)
    mx = x * (m if x.ndim == 2 else m[..., None])
    if taps.size == 1:
        return mx
    num = _correlate(mx, taps, taps, mode, cval)
    den = _correlate(m, taps, taps, mode, cval)
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
    border: Border = "reflect",
    cval: float = 0.0,
) -> np.ndarray:
    """Canny edge detector.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C), C <= 4
        uint8, uint16, bool, float32 or float64; computed in float32 in [0, 1] units.
        For colour, each pixel uses the channel with the strongest gradient. At most
        ``MAX_CHANNELS`` (4) channels: a 3-D array with more, such as a ``(20, 20, 20)``
        volume, is refused rather than read as a 20-channel image (run ``canny`` on each
        2-D slice of a volume or stack).
    sigma : float
        Standard deviation of the Gaussian smoothing in pixels, >= 0 (0: none); the
        kernel radius ``int(4 * sigma + 0.5)`` is at most ``MAX_KERNEL_RADIUS`` (4096).
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
    border : {"constant", "edge", "reflect", "mirror", "wrap"}
        How the Gaussian smoothing continues the image past its edges (cvgeo's border
        names, see :mod:`cvgeo.filters`); scikit-image's ``mode`` with "nearest" called
        "edge". ``"constant"`` pads with ``cval`` and, like scikit-image, divides by the
        equally padded smoothing of a mask of ones (bleed-over correction), so
        ``canny(img, border="constant")`` reproduces ``skimage.feature.canny(img,
        mode="constant")``, its default. Default ``"reflect"``.
    cval : float
        The padding value for ``border="constant"``, in [0, 1]-image units.

    Returns
    -------
    edges : ndarray of shape (H, W), bool

    Raises
    ------
    TypeError
        ``image`` or ``mask`` not a numpy array, unsupported dtype, non-bool
        ``use_quantiles``.
    ValueError
        Wrong ndim, more than 4 channels, empty image, NaN/inf values, negative
        ``sigma`` or thresholds, ``low_threshold > high_threshold``, quantiles outside
        [0, 1], mask of the wrong shape, unknown ``border``, non-finite ``cval``.

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
    Everything is float32. Without a mask or quantiles, steps 1-4 run as one streaming
    numba kernel (a few rows of each intermediate in cache, only a uint8 label map
    written); otherwise they run stage by stage on whole images (the same row
    functions, so the results are identical). With the default settings this matches
    ``skimage.feature.canny(image, sigma, low, high, mode="reflect")`` on a float image
    in [0, 1] up to float32 rounding at near-ties (pixel F1 >= 0.998 on the skimage
    sample images; >= 0.99 against skimage's default ``mode="constant"``).

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
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] > MAX_CHANNELS:
        raise ValueError(f"{func}: image must be (H, W) or (H, W, C) with C <= {MAX_CHANNELS} "
                         f"channels, got shape {image.shape}; for a volume or an image "
                         "stack, run canny on each 2-D slice")
    x = as_float_image(image, func)
    H, W = x.shape[:2]
    sigma = check_real(sigma, func, "sigma", low=0.0)
    check_kernel_radius(sigma, 4.0, func, names="sigma")
    use_quantiles = check_bool(use_quantiles, func, "use_quantiles")
    high_limit = 1.0 if use_quantiles else None
    low = check_real(low_threshold, func, "low_threshold", low=0.0, high=high_limit)
    high = check_real(high_threshold, func, "high_threshold", low=0.0, high=high_limit)
    if low > high:
        raise ValueError(f"{func}: low_threshold must be <= high_threshold, got "
                         f"low_threshold={low_threshold!r} > high_threshold={high_threshold!r}")
    if mask is not None:
        mask = check_mask(mask, func, (H, W))
    mode = BORDERS.index(check_choice(border, func, "border", BORDERS))
    cval = check_real(cval, func, "cval")
    if H < 3 or W < 3:
        return np.zeros((H, W), bool)
    labels, count = _canny_labels(x, sigma, low, high, use_quantiles, mask, mode=mode,
                                  cval=cval)
    return _hysteresis_kernel(labels, count)


def _canny_labels(x: np.ndarray, sigma: float, low: float, high: float, use_quantiles: bool,
                  mask: np.ndarray | None, *, staged: bool = False, mode: int = _REFLECT,
                  cval: float = 0.0) -> tuple[np.ndarray, int]:
    """Steps 1-4 of :func:`canny` on a validated float32 image of at least 3x3 pixels.

    Returns the uint8 label map (0 none, 1 weak, 2 strong) and its number of non-zero
    labels. Without a mask or quantiles one fused streaming kernel does the work;
    otherwise (or with ``staged=True``, which the tests compare against the fused
    kernel) the stages run one after the other on whole images.
    """
    H, W = x.shape[:2]
    C = 1 if x.ndim == 2 else x.shape[2]
    taps = _gaussian_taps(sigma, 4.0, order=0).astype(np.float32)
    normalised = mask is not None or (mode == _CONSTANT and sigma > 0)
    if not normalised and not use_quantiles and not staged:
        low32, high32 = _thresholds32(low, high, 0.0)
        return _fused_labels_kernel(x.reshape(H, W * C), C, taps, low32, high32, mode)

    smoothed = _smooth(x, sigma, mask, mode, cval)
    gx, gy, mag = _gradient_kernel(np.ascontiguousarray(smoothed).reshape(H, W * C), C)
    if mask is not None:
        valid = ndi.binary_erosion(mask, np.ones((3, 3), bool), border_value=0)
    else:
        valid = np.ones((H, W), bool)
    if use_quantiles:
        inner = valid if mask is not None else np.s_[1:-1, 1:-1]
        values = mag[inner]
        if values.size == 0:
            return np.zeros((H, W), np.uint8), 0
        low, high = np.quantile(values.astype(np.float64), [low, high])
    # A zero magnitude is never an edge (see _thresholds32). Without a mask, smoothing a
    # constant region gives exactly equal values (the same float operations), so its
    # gradient is exactly 0; the mask-normalised smoothing divides by a varying weight,
    # which leaves float32 rounding noise of about 1e-6 * |image|: there, magnitudes
    # below 2**-13 * max|image| are treated as zero.
    floor = 0.0
    if normalised and sigma > 0:
        floor = 2.0**-13 * float(max(x.max(), -x.min()))
    low32, high32 = _thresholds32(low, high, floor)
    return _nms_kernel(gx, gy, mag, valid, low32, high32)


def _thresholds32(low: float, high: float, floor: float) -> tuple[np.float32, np.float32]:
    """float32 thresholds for the kernels: ``m >= low32`` iff ``m >= low`` for float32 m.

    ``low`` is raised to the smallest positive float32 (and to ``floor``), so a zero
    magnitude is never an edge.
    """
    low = max(float(low), float(floor))
    high = max(float(high), low)
    tiny = np.float32(np.finfo(np.float32).smallest_subnormal)

    def up(t: float) -> np.float32:  # the smallest float32 >= t
        f = np.float32(t)
        return f if float(f) >= t else np.nextafter(f, np.float32(np.inf))

    return max(up(low), tiny), max(up(high), tiny)
