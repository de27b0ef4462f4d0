"""Hough transforms: straight lines, line peaks, probabilistic segments, circles.

Conventions
-----------
Images and edge maps are ``(H, W)`` arrays indexed ``[row, col]``. Points are ``(x, y)``
with x the column and y the row, origin at the centre of the top-left pixel. A Hough
line is ``(rho, theta)`` with ``x cos(theta) + y sin(theta) = rho``, ``theta`` in
radians in ``[0, pi)`` and ``rho`` in pixels (it may be negative); the same line as
``(a, b, c)`` satisfies ``a x + b y + c = 0`` with ``a = cos(theta)``,
``b = sin(theta)``, ``c = -rho`` (so ``a**2 + b**2 = 1``). Line accumulators are
``(n_rho, n_theta)``: row ``i`` is ``rhos[i]``, column ``j`` is ``thetas[j]``. Circles
are ``(x, y, r)`` in pixels.

The voting and search loops are compiled with numba; each kernel sits beside the public
function that calls it. ``hough_lines``' voting runs on several threads after
``cvgeo.set_num_threads(n)``, ``n > 1`` (same accumulator); the rest is serial.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit, prange, uint64

from cvgeo._checks import (
    DEFAULT_MAX_PIXELS,
    check_bool,
    check_image,
    check_int,
    check_kernel_radius,
    check_real,
    check_seed,
    describe,
    names_errors_as,
)
from cvgeo.edges import canny
from cvgeo.filters import gaussian_filter, gaussian_gradient
from cvgeo.image import as_float_image
from cvgeo.threads import parallel_threads

__all__ = [
    "HoughCircles",
    "HoughLinePeaks",
    "HoughLines",
    "hough_circles",
    "hough_line_peaks",
    "hough_lines",
    "hough_segments",
]


# --------------------------------------------------------------------------- helpers
def _check_edges(edges: object, func: str) -> np.ndarray:
    """Validate a binary ``(H, W)`` edge map and return it as a C-contiguous bool array."""
    edges = check_image(edges, func, "edges", ndim=(2,))
    if edges.dtype != np.bool_:
        if not np.isin(edges, (0, 1)).all():
            lo, hi = edges.min(), edges.max()
            raise ValueError(
                f"{func}: edges must be a binary edge map (bool, or only 0 and 1 values), got "
                f"dtype {edges.dtype} with values in [{lo}, {hi}]; threshold it first, e.g. "
                f"with cvgeo.edges.canny"
            )
        edges = edges != 0
    return np.ascontiguousarray(edges)


def _theta_rho_grid(
    shape: tuple[int, int], theta_step: float, rho_step: float, func: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate the steps and build ``thetas`` (n_theta,), ``rhos`` (2 n_off + 1,), ``n_off``.

    ``n_theta = round(pi / theta_step)`` so the angular step divides pi exactly; the rho
    grid is symmetric about 0 (``rhos[n_off] == 0``) and covers every pixel centre.
    """
    theta_step = check_real(theta_step, func, "theta_step", low=0.0, high=math.pi / 2,
                            low_inclusive=False)
    diag = math.hypot(shape[0] - 1, shape[1] - 1)
    rho_step = check_real(rho_step, func, "rho_step", low=0.0, high=max(1.0, diag),
                          low_inclusive=False)
    cells = (math.pi / theta_step + 1) * (2 * diag / rho_step + 3)
    if cells > DEFAULT_MAX_PIXELS:
        raise ValueError(f"{func}: theta_step and rho_step must give an accumulator of at most "
                         f"{DEFAULT_MAX_PIXELS} cells, got about {cells:.3g} (theta_step="
                         f"{theta_step!r}, rho_step={rho_step!r})")
    n_theta = max(2, int(round(math.pi / theta_step)))
    thetas = np.arange(n_theta, dtype=np.float64) * (math.pi / n_theta)
    n_off = int(math.ceil(diag / rho_step))
    rhos = (np.arange(2 * n_off + 1, dtype=np.float64) - n_off) * rho_step
    return thetas, rhos, n_off


@njit(cache=True, inline="always")
def _round_half_away(v: float) -> int:
    """C ``round``: nearest integer, halves away from zero (odd-symmetric)."""
    return int(v + math.copysign(0.5, v))


# --------------------------------------------------------------------------- lines
@dataclass(frozen=True)
class HoughLines:
    """The straight-line Hough transform of an edge map.

    Attributes
    ----------
    accumulator : ndarray of int32, shape (n_rho, n_theta)
        Votes; ``accumulator[i, j]`` counts edge pixels on the line
        ``(rhos[i], thetas[j])`` (to within half a rho step).
    thetas : ndarray of float64, shape (n_theta,)
        ``j * pi / n_theta``, radians in [0, pi).
    rhos : ndarray of float64, shape (n_rho,)
        ``(i - n_rho // 2) * rho_step``, pixels, symmetric about 0.
    theta_step, rho_step : float
        The steps actually used (``theta_step = pi / n_theta``).
    shape : tuple of int
        ``(H, W)`` of the edge map.
    """

    accumulator: np.ndarray
    thetas: np.ndarray
    rhos: np.ndarray
    theta_step: float
    rho_step: float
    shape: tuple[int, int]


@njit(cache=True)
def _edge_points_kernel(edges):
    """Columns and rows of the True pixels of a C-contiguous bool ``(H, W)`` map.

    Returns ``xs, ys`` (float64, shape (N,)) in row-major order, like ``np.nonzero``
    but several times faster on sparse maps: it skips eight zero bytes at a time.
    """
    H, W = edges.shape
    flat = edges.ravel().view(np.uint8)
    n8 = flat.size // 8
    words = flat[: 8 * n8].view(np.uint64)
    count = 0
    for w in range(n8):
        if words[w] != 0:
            for b in range(8 * w, 8 * w + 8):
                count += flat[b] != 0
    for b in range(8 * n8, flat.size):
        count += flat[b] != 0
    xs = np.empty(count, dtype=np.float64)
    ys = np.empty(count, dtype=np.float64)
    k = 0
    for w in range(n8 + 1):
        if w < n8 and words[w] == 0:
            continue
        for b in range(8 * w, min(8 * w + 8, flat.size)):
            if flat[b] != 0:
                y = b // W
                xs[k] = b - y * W
                ys[k] = y
                k += 1
    return xs, ys


@njit(cache=True)
def _hough_lines_kernel(xs, ys, cos_t, sin_t, inv_rho_step, n_off, acc_t):
    """Vote every edge point for every angle.

    Parameters
    ----------
    xs, ys : ndarray of float64, shape (N,)
        Columns and rows of the edge pixels.
    cos_t, sin_t : ndarray of float64, shape (n_theta,)
        ``cos(thetas)``, ``sin(thetas)``.
    inv_rho_step : float
        ``1 / rho_step``.
    n_off : int
        Row of ``rho = 0``.
    acc_t : ndarray of int32, shape (n_theta, n_rho)
        Accumulator, transposed (one row per angle keeps the writes local); updated.

    Notes
    -----
    For each angle ``theta_j`` and each point ``(x, y)``: ``rho = x cos + y sin``,
    ``acc_t[j, round(rho / rho_step) + n_off] += 1`` with C's ``round`` (halves away
    from zero), written ``trunc(v + copysign(0.5, v))`` so that it compiles without a
    branch. The bins are computed for all points first (a loop the compiler
    vectorises), then counted.
    """
    n = xs.shape[0]
    idx = np.empty(n, dtype=np.int64)
    for j in range(cos_t.shape[0]):
        c = cos_t[j]
        s = sin_t[j]
        for k in range(n):
            v = (c * xs[k] + s * ys[k]) * inv_rho_step
            idx[k] = int(v + math.copysign(0.5, v))
        row = acc_t[j]
        for k in range(n):
            row[idx[k] + n_off] += 1


@njit(cache=True, parallel=True)
def _hough_lines_parallel_kernel(xs, ys, cos_t, sin_t, inv_rho_step, n_off, acc_t, n_chunks):
    """``_hough_lines_kernel`` with the angles split into ``n_chunks`` bands on numba's
    threads: each angle's row of ``acc_t`` is written by one thread only, with the same
    votes as the serial kernel."""
    n_t = cos_t.shape[0]
    for c in prange(n_chunks):
        j0 = c * n_t // n_chunks
        j1 = (c + 1) * n_t // n_chunks
        _hough_lines_kernel(xs, ys, cos_t[j0:j1], sin_t[j0:j1], inv_rho_step, n_off,
                            acc_t[j0:j1])


def hough_lines(
    edges: np.ndarray,
    *,
    theta_step: float = math.pi / 180,
    rho_step: float = 1.0,
) -> HoughLines:
    """Straight-line Hough transform: every edge pixel votes for every line through it.

    Parameters
    ----------
    edges : ndarray of shape (H, W)
        Binary edge map: bool, or a numeric array holding only 0 and 1.
    theta_step : float, optional
        Angular step in radians, in (0, pi/2]. Rounded so that it divides pi:
        ``n_theta = round(pi / theta_step)`` angles ``j pi / n_theta``.
    rho_step : float, optional
        Distance step in pixels, > 0.

    Returns
    -------
    HoughLines
        ``accumulator`` (int32, ``(n_rho, n_theta)``), ``thetas``, ``rhos`` and the steps.

    Raises
    ------
    TypeError
        ``edges`` is not a numpy array of an image dtype; a step is not a number.
    ValueError
        ``edges`` is not 2-D, is empty, is not binary or holds NaN; a step is not
        positive, not finite, or too large.

    Notes
    -----
    Conventions: ``x cos(theta) + y sin(theta) = rho`` with x the column and y the row
    of a pixel centre, origin at the top-left pixel's centre; theta in [0, pi) so a line
    has exactly one ``(rho, theta)`` (rho may be negative). Each edge pixel adds one
    vote to ``round(rho / rho_step)`` in every column: the accumulator equals
    scikit-image's ``hough_line`` for the same angles and ``rho_step = 1`` (whose theta
    range is [-pi/2, pi/2): a column at ``theta - pi`` there is this column with rho
    negated).

    References
    ----------
    .. [1] R. O. Duda and P. E. Hart, "Use of the Hough transformation to detect lines and
       curves in pictures", Comm. ACM 15(1), 1972. :doi:`10.1145/361237.361242`

    Examples
    --------
    >>> import numpy as np
    >>> edges = np.zeros((50, 60), dtype=bool)
    >>> edges[:, 20] = True                      # the line x = 20
    >>> res = hough_lines(edges)
    >>> i, j = np.unravel_index(res.accumulator.argmax(), res.accumulator.shape)
    >>> float(res.rhos[i]), float(res.thetas[j]), int(res.accumulator[i, j])
    (20.0, 0.0, 50)
    """
    func = "hough_lines"
    edges = _check_edges(edges, func)
    thetas, rhos, n_off = _theta_rho_grid(edges.shape, theta_step, rho_step, func)
    xs, ys = _edge_points_kernel(edges)
    acc_t = np.zeros((thetas.size, rhos.size), dtype=np.int32)
    rho_step_used = float(rhos[1] - rhos[0]) if rhos.size > 1 else float(rho_step)
    args = (xs, ys, np.cos(thetas), np.sin(thetas), 1.0 / float(rho_step), n_off, acc_t)
    threads = parallel_threads()
    if threads:
        _hough_lines_parallel_kernel(*args, min(thetas.size, 4 * threads))
    else:
        _hough_lines_kernel(*args)
    return HoughLines(accumulator=acc_t.T, thetas=thetas, rhos=rhos,
                      theta_step=math.pi / thetas.size, rho_step=rho_step_used,
                      shape=(int(edges.shape[0]), int(edges.shape[1])))


# --------------------------------------------------------------------------- line peaks
@dataclass(frozen=True)
class HoughLinePeaks:
    """Peaks of a line accumulator, strongest first.

    Attributes
    ----------
    rhos, thetas : ndarray of float64, shape (N,)
        The lines ``x cos(theta) + y sin(theta) = rho`` (pixels; radians in [0, pi)).
    votes : ndarray of int64, shape (N,)
        Accumulator value at each peak, non-increasing.
    lines : ndarray of float64, shape (N, 3)
        The same lines as ``(a, b, c)`` with ``a x + b y + c = 0``, ``a**2 + b**2 = 1``.
    """

    rhos: np.ndarray
    thetas: np.ndarray
    votes: np.ndarray
    lines: np.ndarray


@njit(cache=True)
def _line_candidates_kernel(acc_t, threshold):
    """Local maxima of a line accumulator at or above ``threshold``.

    Parameters
    ----------
    acc_t : ndarray of int32, shape (n_theta, n_rho)
        Transposed accumulator, ``n_rho`` odd with rho = 0 in the middle.
    threshold : int
        Minimum votes (>= 1).

    Returns
    -------
    ndarray of int64, shape (M, 2)
        ``(j, i)`` (theta column, rho row) of every cell not smaller than its 8
        neighbours. The theta axis wraps: the neighbour of column ``n_theta - 1`` beyond
        it is column 0 at the mirrored rho row ``n_rho - 1 - i`` (rho flips sign at pi).
    """
    n_t, n_r = acc_t.shape
    out = np.empty((64, 2), dtype=np.int64)
    m = 0
    for j in range(n_t):
        for i in range(n_r):
            v = acc_t[j, i]
            if v < threshold:
                continue
            is_max = True
            for dj in (-1, 0, 1):
                jj = j + dj
                flip = False
                if jj < 0:
                    jj = n_t - 1
                    flip = True
                elif jj >= n_t:
                    jj = 0
                    flip = True
                for di in (-1, 0, 1):
                    if dj == 0 and di == 0:
                        continue
                    ii = i + di
                    if flip:
                        ii = n_r - 1 - ii
                    if ii < 0 or ii >= n_r:
                        continue
                    if acc_t[jj, ii] > v:
                        is_max = False
                        break
                if not is_max:
                    break
            if is_max:
                if m == out.shape[0]:
                    grown = np.empty((2 * m, 2), dtype=np.int64)
                    grown[:m] = out
                    out = grown
                out[m, 0] = j
                out[m, 1] = i
                m += 1
    return out[:m]


@njit(cache=True)
def _line_nms_kernel(rho, theta, num_peaks, min_distance, min_angle):
    """Greedy non-maximum suppression of candidate lines sorted strongest first.

    Parameters
    ----------
    rho, theta : ndarray of float64, shape (M,)
        Candidates, strongest first.
    num_peaks : int
        Stop after this many.
    min_distance, min_angle : float
        A candidate is dropped when a kept line is within ``min_distance`` pixels in rho
        *and* ``min_angle`` radians in theta, measured both directly and across the
        theta = 0 / pi seam (where ``(rho, theta)`` and ``(-rho, theta - pi)`` are the
        same line).

    Returns
    -------
    ndarray of int64, shape (K,)
        Indices of the kept candidates, in order.
    """
    eps = 1e-9
    keep = np.empty(min(num_peaks, rho.shape[0]), dtype=np.int64)
    k = 0
    for m in range(rho.shape[0]):
        if k >= num_peaks:
            break
        ok = True
        for q in range(k):
            p = keep[q]
            dt = abs(theta[m] - theta[p])
            if dt <= min_angle + eps and abs(rho[m] - rho[p]) <= min_distance + eps:
                ok = False
                break
            if math.pi - dt <= min_angle + eps and abs(rho[m] + rho[p]) <= min_distance + eps:
                ok = False
                break
        if ok:
            keep[k] = m
            k += 1
    return keep[:k]


def hough_line_peaks(
    result: HoughLines,
    *,
    num_peaks: int | None = None,
    threshold: int | None = None,
    min_distance_px: float = 9.0,
    min_angle_rad: float = math.pi / 18,
) -> HoughLinePeaks:
    """The strongest, well-separated lines of a line accumulator.

    Parameters
    ----------
    result : HoughLines
        From :func:`hough_lines`.
    num_peaks : int, optional
        At most this many lines (default: all that pass).
    threshold : int, optional
        Minimum votes (edge pixels on the line). Default: half the maximum, at least 1.
    min_distance_px : float, optional
        Lines closer than this in rho (pixels) *and* ``min_angle_rad`` in theta to a
        stronger kept line are suppressed.
    min_angle_rad : float, optional
        Angular suppression radius, radians in [0, pi/2].

    Returns
    -------
    HoughLinePeaks
        ``rhos``, ``thetas``, ``votes`` and ``lines`` (``(N, 3)`` a, b, c), strongest
        first; ties broken by theta then rho. Empty arrays when nothing passes.

    Raises
    ------
    TypeError
        ``result`` is not a :class:`HoughLines`; a parameter has the wrong type.
    ValueError
        A parameter is out of range.

    Notes
    -----
    1. Candidates: accumulator cells with at least ``threshold`` votes that are not
       smaller than any of their 8 neighbours. The theta axis is circular with a twist:
       the cell after ``(rho, thetas[-1])`` is ``(-rho, 0)``.
    2. Candidates sorted by votes are kept greedily unless a kept line is near in both
       rho and theta -- measured directly and across the 0/pi seam, where the same line
       appears as ``(rho, theta)`` and ``(-rho, theta - pi)``. A line at theta close to
       0 or pi is therefore returned once.

    Examples
    --------
    >>> import numpy as np
    >>> edges = np.zeros((50, 60), dtype=bool)
    >>> edges[:, 20] = True
    >>> edges[30, :] = True
    >>> peaks = hough_line_peaks(hough_lines(edges))
    >>> peaks.rhos.tolist(), np.degrees(peaks.thetas).round(6).tolist(), peaks.votes.tolist()
    ([30.0, 20.0], [90.0, 0.0], [60, 50])
    """
    func = "hough_line_peaks"
    if not isinstance(result, HoughLines):
        raise TypeError(f"{func}: result must be a HoughLines from hough_lines, got "
                        f"{describe(result)}")
    acc_t = np.ascontiguousarray(result.accumulator.T)
    if num_peaks is None:
        num_peaks = acc_t.size
    num_peaks = check_int(num_peaks, func, "num_peaks", low=1)
    if threshold is None:
        threshold = max(1, int(acc_t.max(initial=0)) // 2)
    threshold = max(1, check_int(threshold, func, "threshold", low=0))
    min_distance_px = check_real(min_distance_px, func, "min_distance_px", low=0.0)
    min_angle_rad = check_real(min_angle_rad, func, "min_angle_rad", low=0.0,
                               high=math.pi / 2)

    cand = _line_candidates_kernel(acc_t, threshold)
    jt, ir = cand[:, 0], cand[:, 1]
    votes = acc_t[jt, ir].astype(np.int64)
    order = np.argsort(-votes, kind="stable")  # candidates come in (theta, rho) order
    jt, ir, votes = jt[order], ir[order], votes[order]
    rho, theta = result.rhos[ir], result.thetas[jt]
    keep = _line_nms_kernel(rho, theta, num_peaks, min_distance_px, min_angle_rad)
    rho, theta, votes = rho[keep], theta[keep], votes[keep]
    lines = np.stack([np.cos(theta), np.sin(theta), -rho], axis=1).reshape(-1, 3)
    return HoughLinePeaks(rhos=rho, thetas=theta, votes=votes, lines=lines)


# --------------------------------------------------------------------------- segments
@njit(cache=True)
def _walk_end(state, cx, cy, ux, uy, start, sgn, max_gap, mom):
    """Walk along the line through ``(cx, cy)`` with direction ``(ux, uy)``.

    The walk steps one pixel at a time along the major axis of the direction (x when
    ``|ux| >= |uy|``), from the whole coordinate ``start`` in the direction ``sgn``
    (+1 or -1); the other coordinate is the line's, rounded. Returns the last edge
    pixel met before leaving the image or meeting more than ``max_gap`` consecutive
    steps without one (``(-1, -1)`` if none). The pixels met are added to the moments
    ``mom = (n, sum x, sum y, sum xx, sum xy, sum yy)``.
    """
    H, W = state.shape
    x_major = abs(ux) >= abs(uy)
    slope = uy / ux if x_major else ux / uy
    ex, ey = -1, -1
    gap = 0
    t = 1
    while True:
        m = start + sgn * t
        if x_major:
            px = m
            py = _round_half_away(cy + (m - cx) * slope)
        else:
            py = m
            px = _round_half_away(cx + (m - cy) * slope)
        if px < 0 or px >= W or py < 0 or py >= H:
            break
        if state[py, px] != 0:
            ex, ey = px, py
            gap = 0
            _add_moment(mom, px, py)
        else:
            gap += 1
            if gap > max_gap:
                break
            # a pixel just beside the line extends the segment, but counts as a gap
            qx, qy = (px, py - 1) if x_major else (px - 1, py)
            rx, ry = (px, py + 1) if x_major else (px + 1, py)
            if 0 <= qx < W and 0 <= qy < H and state[qy, qx] != 0:
                ex, ey = qx, qy
                _add_moment(mom, qx, qy)
            elif 0 <= rx < W and 0 <= ry < H and state[ry, rx] != 0:
                ex, ey = rx, ry
                _add_moment(mom, rx, ry)
        t += 1
    return ex, ey


@njit(cache=True)
def _add_moment(mom, x, y):
    mom[0] += 1.0
    mom[1] += x
    mom[2] += y
    mom[3] += x * x
    mom[4] += x * y
    mom[5] += y * y


@njit(cache=True)
def _fit_line(mom):
    """Centroid ``(cx, cy)`` and unit direction ``(ux, uy)`` of the pixels in ``mom``."""
    n = mom[0]
    cx = mom[1] / n
    cy = mom[2] / n
    sxx = mom[3] / n - cx * cx
    sxy = mom[4] / n - cx * cy
    syy = mom[5] / n - cy * cy
    angle = 0.5 * math.atan2(2.0 * sxy, sxx - syy)
    return cx, cy, math.cos(angle), math.sin(angle)


@njit(cache=True, inline="always")
def _pixel_bins(bins, x, y, cos_t, sin_t, inv_rho_step, n_off, n_rho):
    """``bins[j]`` = flat accumulator offset ``j * n_rho + rho bin`` of pixel ``(x, y)``
    for every angle ``j`` (a loop the compiler vectorises)."""
    for j in range(cos_t.shape[0]):
        v = (cos_t[j] * x + sin_t[j] * y) * inv_rho_step
        bins[j] = j * n_rho + int(v + math.copysign(0.5, v)) + n_off


@njit(cache=True)
def _unvote(acc, bins, x, y, cos_t, sin_t, inv_rho_step, n_off, n_rho):
    """Withdraw the votes of pixel ``(x, y)`` from the flat accumulator ``acc``."""
    _pixel_bins(bins, x, y, cos_t, sin_t, inv_rho_step, n_off, n_rho)
    for j in range(cos_t.shape[0]):
        acc[uint64(bins[j])] -= 1


@njit(cache=True)
def _pph_kernel(state, order, cos_t, sin_t, inv_rho_step, n_off, n_rho, threshold,
                min_length, max_gap, acc):
    """Progressive probabilistic Hough transform (Matas, Galambos & Kittler, 2000).

    Parameters
    ----------
    state : ndarray of uint8, shape (H, W)
        0 background or removed, 1 edge pixel not yet voted, 2 voted; updated.
    order : ndarray of int64, shape (N,)
        Flat indices of the edge pixels in the random order they are drawn.
    cos_t, sin_t : ndarray of float64, shape (n_theta,)
    inv_rho_step : float
    n_off, n_rho : int
        Row of rho = 0 and number of rho rows.
    threshold : int
        Votes a line needs before its segment is looked for.
    min_length : float
        Shortest segment kept (Euclidean, pixels).
    max_gap : int
        Longest run of missing pixels bridged while walking along a line.
    acc : ndarray of int16 or int32, shape (n_theta * n_rho,)
        Zeros: the accumulator, flat, row ``j`` for angle ``j``. int16 when no bin can
        pass 32767 votes: half the cache footprint.

    Returns
    -------
    ndarray of int64, shape (K, 4)
        Segments ``(x0, y0, x1, y1)`` in the order found.

    Notes
    -----
    Repeat while unvisited edge pixels remain:
    1. draw a random pixel; skip it if it was removed; vote it into the accumulator;
    2. if the largest bin it touched is below ``threshold``, draw again;
    3. walk from the pixel along that bin's line in both directions, one pixel per step
       of the major axis, bridging up to ``max_gap`` steps without an edge pixel on the
       line (a pixel just beside it extends the segment but counts as a gap), to find
       the segment's ends; then fit a least-squares line to the pixels met and walk on
       from both ends along it, until neither end moves;
    4. if the segment is long enough, remove a 3-pixel corridor around the fitted line
       between the ends from the edge map, withdraw the votes of the removed pixels that
       had voted, and output the segment (its ends on the fitted line, rounded).
    """
    H, W = state.shape
    n_t = cos_t.shape[0]
    bins = np.empty(n_t, dtype=np.int64)
    out = np.empty((16, 4), dtype=np.int64)
    n_out = 0
    mom = np.zeros(6)
    for idx in order:
        y0 = idx // W
        x0 = idx - y0 * W
        if state[y0, x0] != 1:
            continue
        state[y0, x0] = 2
        best_v = 0
        best_j = 0
        _pixel_bins(bins, x0, y0, cos_t, sin_t, inv_rho_step, n_off, n_rho)
        for j in range(n_t):
            b = uint64(bins[j])  # unsigned: numba skips its negative-index test
            v = acc[b] + 1
            acc[b] = v
            if v > best_v:
                best_v = v
                best_j = j
        if best_v < threshold:
            continue
        # step 3: walk both ways along the bin's line; then, from each end's foot on
        # the least-squares line of the pixels met so far, walk on; until neither end
        # moves (a fitted line drifts far less than the accumulator's theta step)
        mom[:] = 0.0
        mom[0] = 1.0
        mom[1] = x0
        mom[2] = y0
        mom[3] = x0 * x0
        mom[4] = x0 * y0
        mom[5] = y0 * y0
        ux, uy = -sin_t[best_j], cos_t[best_j]
        cx, cy = float(x0), float(y0)
        xm = abs(ux) >= abs(uy)
        s0 = x0 if xm else y0
        sa = 1 if (ux if xm else uy) > 0 else -1  # the major-axis sign towards end a
        ax, ay = _walk_end(state, cx, cy, ux, uy, s0, sa, max_gap, mom)
        bx, by = _walk_end(state, cx, cy, ux, uy, s0, -sa, max_gap, mom)
        if ax < 0:
            ax, ay = x0, y0
        if bx < 0:
            bx, by = x0, y0
        for _ in range(8):
            if mom[0] < 2:
                break
            cx, cy, ux, uy = _fit_line(mom)
            xm = abs(ux) >= abs(uy)
            sa = 1 if (ax - bx if xm else ay - by) >= 0 else -1
            nax, nay = _walk_end(state, cx, cy, ux, uy, ax if xm else ay, sa, max_gap, mom)
            nbx, nby = _walk_end(state, cx, cy, ux, uy, bx if xm else by, -sa, max_gap, mom)
            moved = False
            if nax >= 0:
                ax, ay = nax, nay
                moved = True
            if nbx >= 0:
                bx, by = nbx, nby
                moved = True
            if not moved:
                break
        if math.hypot(ax - bx, ay - by) < min_length:
            continue
        # step 4: clear a 3-pixel corridor along the fitted line from end b to end a,
        # withdrawing the votes cast; report the ends on that line, rounded
        cx, cy, ux, uy = _fit_line(mom)
        xm = abs(ux) >= abs(uy)
        slope = uy / ux if xm else ux / uy
        lo, hi = (min(ax, bx), max(ax, bx)) if xm else (min(ay, by), max(ay, by))
        for m in range(lo - 1, hi + 2):
            for d in (-1, 0, 1):
                if xm:
                    qx = m
                    qy = _round_half_away(cy + (m - cx) * slope) + d
                else:
                    qy = m
                    qx = _round_half_away(cx + (m - cy) * slope) + d
                if qx < 0 or qx >= W or qy < 0 or qy >= H:
                    continue
                if state[qy, qx] == 2:
                    _unvote(acc, bins, qx, qy, cos_t, sin_t, inv_rho_step, n_off, n_rho)
                state[qy, qx] = 0
        if xm:
            ay = _round_half_away(cy + (ax - cx) * slope)
            by = _round_half_away(cy + (bx - cx) * slope)
        else:
            ax = _round_half_away(cx + (ay - cy) * slope)
            bx = _round_half_away(cx + (by - cy) * slope)
        if n_out == out.shape[0]:
            grown = np.empty((2 * n_out, 4), dtype=np.int64)
            grown[:n_out] = out
            out = grown
        out[n_out, 0] = bx
        out[n_out, 1] = by
        out[n_out, 2] = ax
        out[n_out, 3] = ay
        n_out += 1
    return out[:n_out]


def hough_segments(
    edges: np.ndarray,
    *,
    threshold: int = 10,
    min_length: float = 30.0,
    max_gap: int = 5,
    theta_step: float = math.pi / 180,
    rho_step: float = 1.0,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Line segments by the progressive probabilistic Hough transform.

    Parameters
    ----------
    edges : ndarray of shape (H, W)
        Binary edge map: bool, or only 0 and 1 values.
    threshold : int, optional
        Votes a line must collect (from the pixels drawn so far) before its segment is
        traced; >= 1.
    min_length : float, optional
        Shortest segment returned, pixels (Euclidean distance between its ends).
    max_gap : int, optional
        Longest run of missing pixels bridged inside one segment, >= 0.
    theta_step, rho_step : float, optional
        Accumulator resolution, as in :func:`hough_lines`.
    seed : int, numpy.random.Generator or None, optional
        Order in which pixels are drawn. The same seed gives the same segments.

    Returns
    -------
    ndarray of float64, shape (N, 4)
        Segments ``(x0, y0, x1, y1)`` (pixel centres of the two end pixels), in the order
        found: long, well-supported lines tend to come first.

    Raises
    ------
    TypeError, ValueError
        Not a binary 2-D edge map, or a parameter out of range.

    Notes
    -----
    The pixels vote one at a time in random order; as soon as a bin reaches
    ``threshold`` the line is followed through the edge map from the pixel just drawn,
    bridging gaps up to ``max_gap``; the pixels met are fitted with a least-squares line
    and the walk goes on from both ends along it until they stop moving (the fitted line
    is finer than ``theta_step``, so long segments are not cut short by the
    accumulator's angular error). A long enough segment is output and a 3-pixel corridor
    around it leaves both the edge map and the accumulator, so its pixels cannot vote
    for another line. Only a fraction of the pixels ever vote, which is
    what makes the method fast on long lines. Unlike OpenCV's implementation, only the
    votes that were cast are withdrawn.

    References
    ----------
    .. [1] J. Matas, C. Galambos and J. Kittler, "Robust detection of lines using the
       progressive probabilistic Hough transform", Computer Vision and Image
       Understanding 78(1), 2000. :doi:`10.1006/cviu.1999.0831`

    Examples
    --------
    >>> import numpy as np
    >>> edges = np.zeros((40, 80), dtype=bool)
    >>> edges[20, 10:70] = True
    >>> hough_segments(edges, threshold=10, min_length=20)
    array([[10., 20., 69., 20.]])
    """
    func = "hough_segments"
    edges = _check_edges(edges, func)
    threshold = check_int(threshold, func, "threshold", low=1)
    min_length = check_real(min_length, func, "min_length", low=0.0)
    max_gap = check_int(max_gap, func, "max_gap", low=0)
    rng = check_seed(seed, func)
    thetas, rhos, n_off = _theta_rho_grid(edges.shape, theta_step, rho_step, func)
    flat = np.flatnonzero(edges)
    order = flat[rng.permutation(flat.size)].astype(np.int64)
    state = edges.astype(np.uint8)
    # a bin counts pixel centres in a strip rho_step wide: in each row (or column, for the
    # steeper half of the angles) at most floor(rho_step * sqrt 2) + 1 of them (+1 more
    # for rounding at the strip's edges)
    most = min(flat.size, max(edges.shape) * (int(rho_step * math.sqrt(2.0)) + 2))
    acc = np.zeros(thetas.size * rhos.size, dtype=np.int16 if most < 32767 else np.int32)
    segs = _pph_kernel(state, order, np.cos(thetas), np.sin(thetas), 1.0 / float(rho_step),
                       n_off, rhos.size, threshold, min_length, max_gap, acc)
    segs = segs.astype(np.float64)
    # a canonical direction: left to right, or top to bottom for vertical segments
    swap = (segs[:, 0] > segs[:, 2]) | ((segs[:, 0] == segs[:, 2]) & (segs[:, 1] > segs[:, 3]))
    segs[swap] = segs[swap][:, [2, 3, 0, 1]]
    return segs


# --------------------------------------------------------------------------- circles
@dataclass(frozen=True)
class HoughCircles:
    """Circles found by :func:`hough_circles`, best supported first.

    Attributes
    ----------
    circles : ndarray of float64, shape (N, 3)
        ``(x, y, r)``: centre column, centre row, radius, in pixels.
    scores : ndarray of float64, shape (N,)
        Support: the fraction of the circle's circumference (sampled every pixel of arc)
        that lies on an edge pixel whose normal points at the centre, in [0, 1],
        non-increasing.
    radius_grid : ndarray of float64, shape (n_radii,)
        The radii tried, ascending.
    edges : ndarray of bool, shape (H, W)
        The edge pixels that voted.
    """

    circles: np.ndarray
    scores: np.ndarray
    radius_grid: np.ndarray
    edges: np.ndarray


@njit(cache=True)
def _sobel_normals_kernel(smoothed, xs, ys):
    """Unit Sobel gradient directions of ``smoothed`` at interior pixels ``(xs, ys)``.

    Returns ``nx, ny`` (float64, shape (N,)); ``(0, 0)`` where the gradient vanishes.
    These are the directions Canny used on the same smoothed image.
    """
    n = xs.shape[0]
    nx = np.zeros(n)
    ny = np.zeros(n)
    for i in range(n):
        x = xs[i]
        y = ys[i]
        gx = ((smoothed[y - 1, x + 1] + 2.0 * smoothed[y, x + 1] + smoothed[y + 1, x + 1])
              - (smoothed[y - 1, x - 1] + 2.0 * smoothed[y, x - 1] + smoothed[y + 1, x - 1]))
        gy = ((smoothed[y + 1, x - 1] + 2.0 * smoothed[y + 1, x] + smoothed[y + 1, x + 1])
              - (smoothed[y - 1, x - 1] + 2.0 * smoothed[y - 1, x] + smoothed[y - 1, x + 1]))
        m = math.hypot(gx, gy)
        if m > 0:
            nx[i] = gx / m
            ny[i] = gy / m
    return nx, ny


@njit(cache=True)
def _vote_slice(xs, ys, nx, ny, r, raw, cells):
    """Votes of every edge pixel for radius ``r`` into ``raw`` (one-cell zero frame).

    An edge pixel ``p`` on a circle of radius ``r`` has the centre at ``p - r n`` for the
    outward normal ``n``; the gradient points out of a dark disc and into a bright one,
    so ``p + r n`` and ``p - r n`` both get a vote. ``raw`` must be zero on entry; the
    flat offsets of the cells voted go to ``cells`` (their count is returned), so that
    ``_clear_slice`` zeroes them again in time proportional to the votes.
    """
    Hp, Wp = raw.shape
    flat = raw.reshape(Hp * Wp)
    n_pts = xs.shape[0]
    # the two centres of every pixel first (a loop the compiler vectorises), -1 outside
    for i in range(n_pts):
        dx = r * nx[i]
        dy = r * ny[i]
        for sgn in range(2):
            vx = xs[i] + dx if sgn == 0 else xs[i] - dx
            vy = ys[i] + dy if sgn == 0 else ys[i] - dy
            cx = int(vx + math.copysign(0.5, vx)) + 1  # _round_half_away, spelled out
            cy = int(vy + math.copysign(0.5, vy)) + 1
            inside = cx >= 1 and cx < Wp - 1 and cy >= 1 and cy < Hp - 1
            cells[2 * i + sgn] = cy * Wp + cx if inside else -1
    n = 0
    for i in range(2 * n_pts):
        c = cells[i]
        if c >= 0:
            flat[c] += 1
            cells[n] = c
            n += 1
    return n


@njit(cache=True)
def _clear_slice(raw, cells, n):
    """Undo ``_vote_slice``: zero the ``n`` cells it voted."""
    flat = raw.reshape(raw.size)
    for i in range(n):
        flat[cells[i]] = 0


@njit(cache=True)
def _box3(raw, rows, out, rowmax):
    """``out = 3x3 sum of raw`` inside the one-cell frame, and each row's maximum.

    Integer arithmetic on whole rows, so the loops vectorise.
    """
    Hp, Wp = raw.shape
    for y in range(1, Hp - 1):
        r0 = raw[y - 1]
        r1 = raw[y]
        r2 = raw[y + 1]
        for x in range(Wp):
            rows[x] = r0[x] + r1[x] + r2[x]
        o = out[y]
        for x in range(1, Wp - 1):
            o[x] = rows[x - 1] + rows[x] + rows[x + 1]
        mx = o[1]  # the maximum in a loop of its own: both loops vectorise far better
        for x in range(2, Wp - 1):
            mx = max(mx, o[x])
        rowmax[y] = mx


@njit(cache=True)
def _circle_candidates_kernel(xs, ys, nx, ny, radii, H, W, threshold, acc_dtype):
    """Vote, smooth and find centre-and-radius local maxima, one radius slice at a time.

    Parameters
    ----------
    xs, ys : ndarray of float64, shape (N,)
        Edge pixel columns and rows.
    nx, ny : ndarray of float64, shape (N,)
        Their unit normals.
    radii : ndarray of float64, shape (n_radii,)
    H, W : int
    threshold : float
        Minimum score: votes within one pixel of the centre (3x3 sum) over ``2 pi r``.
    acc_dtype : numpy integer dtype
        Of the vote slices: int16 when no 3x3 sum can pass 32767 (fewer than 16384 edge
        pixels: each casts two votes per radius), halving the memory each slice moves.

    Returns
    -------
    ndarray of float64, shape (M, 4)
        ``(k, y, x, score)`` of every cell at or above ``threshold`` whose score is not
        smaller than its 26 neighbours' in (radius, row, column).

    Notes
    -----
    Only three smoothed slices (radii ``k - 1``, ``k``, ``k + 1``) exist at a time, so
    memory is ``O(H W)`` whatever the number of radii; the radius loop is outermost, so
    the scattered vote writes stay inside one slice.
    """
    n_r = radii.shape[0]
    Hp, Wp = H + 2, W + 2
    norm = 1.0 / (2.0 * math.pi * radii)
    raw = np.zeros((Hp, Wp), dtype=acc_dtype)
    ring = np.zeros((3, Hp, Wp), dtype=acc_dtype)
    rowmax = np.zeros((3, Hp), dtype=acc_dtype)
    rows = np.empty(Wp, dtype=acc_dtype)
    cells = np.empty(2 * xs.shape[0], dtype=np.int64)
    out = np.empty((64, 4))
    m = 0
    n_cells = _vote_slice(xs, ys, nx, ny, radii[0], raw, cells)
    _box3(raw, rows, ring[0], rowmax[0])
    _clear_slice(raw, cells, n_cells)
    for k in range(n_r):
        if k + 1 < n_r:
            n_cells = _vote_slice(xs, ys, nx, ny, radii[k + 1], raw, cells)
            _box3(raw, rows, ring[(k + 1) % 3], rowmax[(k + 1) % 3])
            _clear_slice(raw, cells, n_cells)
        cur = ring[k % 3]
        votes_min = threshold / norm[k] - 1e-9  # the threshold in votes of this slice
        k_lo = max(k - 1, 0)
        k_hi = min(k + 2, n_r)
        for y in range(1, Hp - 1):
            if rowmax[k % 3, y] < votes_min:
                continue
            for x in range(1, Wp - 1):
                if cur[y, x] < votes_min:
                    continue
                v = cur[y, x] * norm[k]
                is_max = True
                for kk in range(k_lo, k_hi):
                    sl = ring[kk % 3]
                    for yy in range(y - 1, y + 2):
                        for xx in range(x - 1, x + 2):
                            if sl[yy, xx] * norm[kk] > v:
                                is_max = False
                                break
                        if not is_max:
                            break
                    if not is_max:
                        break
                if is_max:
                    if m == out.shape[0]:
                        grown = np.empty((2 * m, 4))
                        grown[:m] = out
                        out = grown
                    out[m, 0] = k
                    out[m, 1] = y - 1
                    out[m, 2] = x - 1
                    out[m, 3] = v
                    m += 1
    return out[:m]


def _circle_samples(radii: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per radius, the circle sampled every pixel of arc, as integer pixel offsets.

    Returns ``off_x, off_y`` (int64, ``(n_radii, n_max, 3)``: radius ``r``, ``r - 0.5``,
    ``r + 0.5`` on each ray, rounded), ``cos, sin`` (float64, ``(n_radii, n_max)``) and
    ``counts`` (int64, ``(n_radii,)``, samples per radius).
    """
    counts = np.maximum(8, np.ceil(2 * np.pi * radii)).astype(np.int64)
    n_max = int(counts.max())
    i = np.arange(n_max)
    phi = 2 * np.pi * i[None, :] / counts[:, None]
    c, s = np.cos(phi), np.sin(phi)
    off_x, off_y = _circle_offsets_kernel(radii, c, s)
    return off_x, off_y, c, s, counts


@njit(cache=True)
def _circle_offsets_kernel(radii, c, s):
    """``round(rr * cos)``, ``round(rr * sin)`` (halves away from zero) for the radii
    ``rr = r, r - 0.5, r + 0.5`` of each ray: one pass, no temporaries."""
    n_r, n_max = c.shape
    off_x = np.empty((n_r, n_max, 3), dtype=np.int64)
    off_y = np.empty((n_r, n_max, 3), dtype=np.int64)
    for k in range(n_r):
        for j in range(3):
            rr = radii[k] + (0.0, -0.5, 0.5)[j]
            for i in range(n_max):
                off_x[k, i, j] = _round_half_away(rr * c[k, i])
                off_y[k, i, j] = _round_half_away(rr * s[k, i])
    return off_x, off_y


@njit(cache=True, inline="always")
def _circle_support(edges, nx_map, ny_map, x, y, k, off_x, off_y, cos_p, sin_p, counts,
                    cos_tol, beat):
    """Fraction of circle ``(x, y, radii[k])`` on edge pixels whose normal faces the centre.

    A sample (one per pixel of arc) is supported when an edge pixel lies at radius
    ``r``, ``r - 0.5`` or ``r + 0.5`` on its ray and that pixel's normal is within
    ``arccos(cos_tol)`` of the ray, either way.

    The callers only want supports larger than ``beat``: the count stops as soon as the
    samples left cannot lift it above ``beat``, and then returns a value ``<= beat`` (the
    best it could still have reached) instead of the exact support.
    """
    H, W = edges.shape
    n = counts[k]
    hits = 0
    for i in range(n):
        for j in range(3):
            px = x + off_x[k, i, j]
            py = y + off_y[k, i, j]
            if 0 <= px < W and 0 <= py < H and edges[py, px]:
                if abs(nx_map[py, px] * cos_p[k, i] + ny_map[py, px] * sin_p[k, i]) >= cos_tol:
                    hits += 1
                    break
        reach = (hits + (n - 1 - i)) / n  # division is monotonic: the support is <= reach
        if reach <= beat:
            return reach
    return hits / n


@njit(cache=True)
def _near_kept(kept, n_kept, x, y, r, min_distance, min_radius_diff):
    for q in range(n_kept):
        if (math.hypot(x - kept[q, 0], y - kept[q, 1]) < min_distance
                and abs(r - kept[q, 2]) < min_radius_diff):
            return True
    return False


@njit(cache=True)
def _circle_refine_kernel(edges, nx_map, ny_map, cand, radii, off_x, off_y, cos_p, sin_p,
                          counts, threshold, num_peaks, min_distance, min_radius_diff):
    """Verify candidates against the edge map, hill-climb their support, suppress repeats.

    Parameters
    ----------
    edges : ndarray of bool, shape (H, W)
    nx_map, ny_map : ndarray of float32, shape (H, W)
        Unit edge normals.
    cand : ndarray of float64, shape (M, 4)
        ``(k, y, x, vote score)``.
    radii : ndarray of float64, shape (n_radii,)
    off_x, off_y, cos_p, sin_p, counts
        Circle samples per radius, from :func:`_circle_samples`.
    threshold : float
        Minimum support of a circle kept; candidates below half of it are not refined.
    num_peaks : int
    min_distance, min_radius_diff : float
        A circle whose centre and radius are both this close to a kept one is dropped.

    Returns
    -------
    ndarray of float64, shape (K, 4)
        ``(x, y, r, support)`` of the kept circles, in the order kept.

    Notes
    -----
    Candidates are visited by their own support (the best within two radius steps at
    their centre), best first. One that is near a circle
    already kept is skipped (it would climb to the same circle); the others move one
    pixel (same radius) or one radius step (same centre) at a time towards more support
    until none of those 10 neighbours is better, and are kept if still not near a kept
    circle.
    """
    cos_tol = math.cos(math.pi / 6)
    n_r = counts.shape[0]
    H, W = edges.shape
    m_total = cand.shape[0]
    # own support: the best over two radius steps either way at the candidate's centre
    # (the 3x3 vote sum cannot tell radii a pixel apart)
    own = np.zeros(m_total)
    own_k = np.empty(m_total, dtype=np.int64)
    for m in range(m_total):
        k0 = int(cand[m, 0])
        own_k[m] = k0
        for k in range(max(k0 - 2, 0), min(k0 + 3, n_r)):
            v = _circle_support(edges, nx_map, ny_map, int(cand[m, 2]), int(cand[m, 1]), k,
                                off_x, off_y, cos_p, sin_p, counts, cos_tol, own[m])
            if v > own[m]:
                own[m] = v
                own_k[m] = k
    order = np.argsort(-own, kind="mergesort")
    kept = np.empty((min(num_peaks, m_total), 4))
    n_kept = 0
    for m in order:
        if n_kept >= num_peaks or own[m] < 0.5 * threshold:
            break
        k = own_k[m]
        y = int(cand[m, 1])
        x = int(cand[m, 2])
        if _near_kept(kept, n_kept, x, y, radii[k], min_distance, min_radius_diff):
            continue
        best = own[m]
        for _ in range(50):
            bk, by, bx = k, y, x
            # the 8 centres around at this radius, and this centre at the 2 radii around
            for kk in range(max(k - 1, 0), min(k + 2, n_r)):
                for yy in range(max(y - 1, 0), min(y + 2, H)):
                    for xx in range(max(x - 1, 0), min(x + 2, W)):
                        if (kk == k) == (yy == y and xx == x):
                            continue
                        v = _circle_support(edges, nx_map, ny_map, xx, yy, kk, off_x, off_y,
                                            cos_p, sin_p, counts, cos_tol, best)
                        if v > best:
                            best = v
                            bk, by, bx = kk, yy, xx
            if bk == k and by == y and bx == x:
                break
            k, y, x = bk, by, bx
        if best < threshold or _near_kept(kept, n_kept, x, y, radii[k], min_distance,
                                          min_radius_diff):
            continue
        kept[n_kept, 0] = x
        kept[n_kept, 1] = y
        kept[n_kept, 2] = radii[k]
        kept[n_kept, 3] = best
        n_kept += 1
    return kept[:n_kept]


@njit(cache=True)
def _det3(a, b, c, d, e, f, g, h, i):
    """Determinant of the 3x3 matrix with rows (a, b, c), (d, e, f), (g, h, i)."""
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


@njit(cache=True)
def _circle_fit_kernel(edges, nx_map, ny_map, circles, n_iter):
    """Sub-pixel refinement: least-squares circles through each circle's edge pixels.

    Parameters
    ----------
    edges : ndarray of bool, shape (H, W)
    nx_map, ny_map : ndarray of float32, shape (H, W)
    circles : ndarray of float64, shape (N, 3)
        ``(x, y, r)`` to refine; updated in place.
    n_iter : int

    Notes
    -----
    Per iteration: along each ray (one per pixel of arc) take the edge pixel nearest
    to the circle within 1.5 pixels whose normal is within 30 degrees of the ray; fit
    ``x**2 + y**2 = D x + E y + F`` to them by least squares (Kasa's algebraic fit:
    centre ``(D/2, E/2)``, radius ``sqrt(F + (D/2)**2 + (E/2)**2)``). A fit with fewer
    than eight pixels, a singular system or a jump of more than 2 pixels is not taken.
    """
    H, W = edges.shape
    cos_tol = math.cos(math.pi / 6)
    drs = np.array([0.0, -0.5, 0.5, -1.0, 1.0, -1.5, 1.5])
    for m in range(circles.shape[0]):
        for _ in range(n_iter):
            cx, cy, r = circles[m, 0], circles[m, 1], circles[m, 2]
            n = max(8, int(math.ceil(2.0 * math.pi * r)))
            a = np.zeros((3, 3))
            b = np.zeros(3)
            used = 0
            last_x = -1
            last_y = -1
            for i in range(n):
                phi = 2.0 * math.pi * i / n
                c = math.cos(phi)
                s = math.sin(phi)
                for dr in drs:
                    px = _round_half_away(cx + (r + dr) * c)
                    py = _round_half_away(cy + (r + dr) * s)
                    if (0 <= px < W and 0 <= py < H and edges[py, px]
                            and abs(nx_map[py, px] * c + ny_map[py, px] * s) >= cos_tol):
                        if px != last_x or py != last_y:  # neighbouring rays, same pixel
                            row = (float(px), float(py), 1.0)
                            rhs = float(px) * px + float(py) * py
                            for u in range(3):
                                b[u] += row[u] * rhs
                                for v in range(3):
                                    a[u, v] += row[u] * row[v]
                            used += 1
                            last_x, last_y = px, py
                        break
            if used < 8:
                break
            det = _det3(a[0, 0], a[0, 1], a[0, 2], a[1, 0], a[1, 1], a[1, 2], a[2, 0],
                        a[2, 1], a[2, 2])
            if abs(det) < 1e-9:
                break
            # Cramer's rule for the 3x3 normal equations a @ (D, E, F) = b
            d_ = _det3(b[0], a[0, 1], a[0, 2], b[1], a[1, 1], a[1, 2], b[2], a[2, 1],
                       a[2, 2]) / det
            e_ = _det3(a[0, 0], b[0], a[0, 2], a[1, 0], b[1], a[1, 2], a[2, 0], b[2],
                       a[2, 2]) / det
            f_ = _det3(a[0, 0], a[0, 1], b[0], a[1, 0], a[1, 1], b[1], a[2, 0], a[2, 1],
                       b[2]) / det
            nx_c = 0.5 * d_
            ny_c = 0.5 * e_
            r2 = f_ + nx_c * nx_c + ny_c * ny_c
            if r2 <= 0:
                break
            nr = math.sqrt(r2)
            if math.hypot(nx_c - cx, ny_c - cy) > 2.0 or abs(nr - r) > 2.0:
                break
            circles[m, 0] = nx_c
            circles[m, 1] = ny_c
            circles[m, 2] = nr


@njit(cache=True)
def _circle_nms_kernel(circles, num_peaks, min_distance, min_radius_diff):
    """Greedy suppression of circles ``(x, y, r)`` sorted strongest first.

    A circle is dropped when a kept one has its centre closer than ``min_distance``
    *and* its radius closer than ``min_radius_diff``: concentric circles of clearly
    different radii both stay.
    """
    keep = np.empty(min(num_peaks, circles.shape[0]), dtype=np.int64)
    k = 0
    for m in range(circles.shape[0]):
        if k >= num_peaks:
            break
        ok = True
        for q in range(k):
            p = keep[q]
            d = math.hypot(circles[m, 0] - circles[p, 0], circles[m, 1] - circles[p, 1])
            if d < min_distance and abs(circles[m, 2] - circles[p, 2]) < min_radius_diff:
                ok = False
                break
        if ok:
            keep[k] = m
            k += 1
    return keep[:k]


def _edge_normals(edges: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals of a binary edge map's curves from its structure tensor.

    The gradient of the smoothed edge map points across each curve on both sides of
    it; the dominant eigenvector of its local second-moment matrix is the curve's
    normal (up to sign, which the circle vote does not need).
    """
    g = gaussian_gradient(edges.astype(np.float32), sigma)
    gx, gy = g.gx, g.gy
    jxx = gaussian_filter(gx * gx, 2 * sigma)
    jxy = gaussian_filter(gx * gy, 2 * sigma)
    jyy = gaussian_filter(gy * gy, 2 * sigma)
    angle = 0.5 * np.arctan2(2 * jxy, jxx - jyy)
    strength = np.hypot(jxx - jyy, 2 * jxy)
    ux = np.where(strength > 0, np.cos(angle), 0).astype(np.float32)
    uy = np.where(strength > 0, np.sin(angle), 0).astype(np.float32)
    return ux, uy


@names_errors_as("canny", "gaussian_filter", "gaussian_gradient")
def hough_circles(
    image: np.ndarray,
    *,
    radii: Sequence[float] | np.ndarray,
    edges: np.ndarray | None = None,
    sigma: float = 2.0,
    low_threshold: float = 0.1,
    high_threshold: float = 0.2,
    threshold: float = 0.5,
    num_peaks: int | None = None,
    min_distance_px: float | None = None,
    min_radius_diff_px: float = 5.0,
    subpixel: bool = True,
) -> HoughCircles:
    """Circles by gradient-direction Hough voting.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        A grey image (any cvgeo dtype), or a binary edge map given as a bool array.
    radii : array_like of float, shape (n_radii,)
        Radii to try, pixels, all > 0 and at most the image diagonal (for example
        ``numpy.arange(20, 36)``); count times largest circumference at most
        ``MAX_CIRCLE_SAMPLES`` (1e7).
    edges : ndarray of bool, shape (H, W), optional
        Edge pixels that vote (default: ``canny(image, sigma=sigma,
        low_threshold=low_threshold, high_threshold=high_threshold)``). Only for a grey
        ``image``.
    sigma : float, optional
        Gaussian scale (pixels) of the Canny detector, whose gradient directions the
        votes follow (for a bool edge map: the scale of its structure tensor).
    low_threshold, high_threshold : float, optional
        Canny hysteresis thresholds on the gradient magnitude of the [0, 1]-scaled image.
    threshold : float, optional
        Minimum support, in [0, 1]: the fraction of the circumference lying on edge
        pixels whose normal points at the centre (see :class:`HoughCircles`).
    num_peaks : int, optional
        At most this many circles (default: all that pass).
    min_distance_px : float, optional
        Centres closer than this, with radii closer than ``min_radius_diff_px``, are one
        circle: the weaker is suppressed. Default: the smallest radius.
    min_radius_diff_px : float, optional
        Circles whose radii differ by at least this much are kept even when concentric.
    subpixel : bool, optional
        Refine each circle by a least-squares fit to its edge pixels (default); with
        False, centres are whole pixels and radii come from ``radii``.

    Returns
    -------
    HoughCircles
        ``circles`` (``(N, 3)`` x, y, r), ``scores``, the ``radius_grid`` and the voting
        ``edges``. Empty arrays when nothing passes.

    Raises
    ------
    TypeError, ValueError
        A bad image or edge map, radii that are empty, not finite or not positive, or a
        parameter out of range.

    Notes
    -----
    Conventions: x is the column, y the row, origin at the top-left pixel's centre.

    1. Edges and normals: for a grey image, Canny edges and, at each edge pixel, the
       direction of the gradient Canny used (Sobel of the image smoothed at scale
       ``sigma``; the one-pixel frame never votes); for a bool edge map, the normal of each
       curve from the structure tensor of the map (scales ``sigma`` and ``2 sigma``).
    2. Voting: each edge pixel ``p`` with unit normal ``n`` votes, for every radius
       ``r``, for the two centres ``p + r n`` and ``p - r n`` (a disc may be brighter or
       darker than its surround): ``2 n_radii`` votes per pixel instead of a whole
       circle's worth.
    3. Candidates: the votes within one pixel of a centre (3x3 sum) over ``2 pi r``;
       local maxima over centre *and* radius (3x3x3) at or above ``threshold / 2``.
       Peaks are taken per radius, so concentric circles survive.
    4. Verification: each candidate's support (step 1's edges sampled along the
       circle) is hill-climbed over one-pixel / one-radius moves; candidates are
       visited best first, those near a circle already kept (centre within
       ``min_distance_px`` *and* radius within ``min_radius_diff_px``) are skipped, and
       circles with support >= ``threshold`` are kept.
    5. Sub-pixel: a few rounds of an algebraic least-squares circle fit (Kasa) to the
       supporting edge pixels.

    References
    ----------
    .. [1] D. H. Ballard, "Generalizing the Hough transform to detect arbitrary shapes",
       Pattern Recognition 13(2), 1981. :doi:`10.1016/0031-3203(81)90009-1`
    .. [2] C. Kimme, D. Ballard and J. Sklansky, "Finding circles by an array of
       accumulators", Comm. ACM 18(2), 1975. :doi:`10.1145/360666.360677`
    .. [3] I. Kasa, "A circle fitting procedure and its error analysis", IEEE Trans.
       Instrumentation and Measurement 25(1), 1976. :doi:`10.1109/TIM.1976.6312298`

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:80, :100]
    >>> disc = ((xx - 40) ** 2 + (yy - 35) ** 2 <= 20 ** 2).astype(np.float32)
    >>> res = hough_circles(disc, radii=np.arange(15, 26), sigma=1.0, num_peaks=1)
    >>> np.round(res.circles, 1).tolist(), np.round(res.scores, 2).tolist()
    ([[40.0, 35.0, 19.9]], [0.97])
    """
    func = "hough_circles"
    if isinstance(image, np.ndarray) and image.dtype == np.bool_:
        if edges is not None:
            raise ValueError(f"{func}: edges must be None when image is already a bool edge "
                             f"map, got {describe(edges)}")
        edge_map = _check_edges(image, func)
        img = None
    else:
        img = as_float_image(image, func, ndim=(2,))
        edge_map = None if edges is None else _check_edges(edges, func)
        if edge_map is not None and edge_map.shape != img.shape:
            raise ValueError(f"{func}: edges must have the image's shape {img.shape}, got "
                             f"shape {edge_map.shape}")
    radius_grid = _check_radii(radii, func, (edge_map if img is None else img).shape)
    sigma = check_real(sigma, func, "sigma", low=0.0, low_inclusive=False)
    check_kernel_radius(sigma, 4.0, func, names="sigma")
    threshold = check_real(threshold, func, "threshold", low=0.0, high=1.0,
                           low_inclusive=False)
    if num_peaks is None:
        num_peaks = np.iinfo(np.int64).max
    num_peaks = check_int(num_peaks, func, "num_peaks", low=1)
    if min_distance_px is None:
        min_distance_px = float(radius_grid[0])
    min_distance_px = check_real(min_distance_px, func, "min_distance_px", low=0.0)
    min_radius_diff_px = check_real(min_radius_diff_px, func, "min_radius_diff_px", low=0.0)
    subpixel = check_bool(subpixel, func, "subpixel")

    if img is None:
        ux, uy = _edge_normals(edge_map, sigma)
        ys, xs = np.nonzero(edge_map)
        nx, ny = ux[ys, xs].astype(np.float64), uy[ys, xs].astype(np.float64)
    else:
        # Canny smooths then takes the Sobel gradient: smooth once, and read the
        # normals from the same gradient, at the edge pixels only
        smoothed = gaussian_filter(img, sigma)
        if edge_map is None:
            edge_map = canny(smoothed, sigma=0.0, low_threshold=low_threshold,
                             high_threshold=high_threshold)
        edge_map = edge_map.copy()
        edge_map[[0, -1], :] = False  # the frame has no Sobel gradient
        edge_map[:, [0, -1]] = False
        xf, yf = _edge_points_kernel(edge_map)  # np.nonzero's order, faster on sparse maps
        xs, ys = xf.astype(np.int64), yf.astype(np.int64)
        nx, ny = _sobel_normals_kernel(smoothed, xs, ys)
        ux = np.zeros(edge_map.shape, np.float32)
        uy = np.zeros(edge_map.shape, np.float32)
        ux[ys, xs] = nx
        uy[ys, xs] = ny
    edge_map = np.ascontiguousarray(edge_map)
    facing = (nx != 0) | (ny != 0)
    H, W = edge_map.shape
    n_facing = int(facing.sum())
    cand = _circle_candidates_kernel(xs[facing].astype(np.float64),
                                     ys[facing].astype(np.float64), nx[facing], ny[facing],
                                     radius_grid, H, W, 0.5 * threshold,
                                     np.int16 if 2 * n_facing < 32767 else np.int32)
    kept = _circle_refine_kernel(edge_map, ux, uy, cand, radius_grid,
                                 *_circle_samples(radius_grid), threshold, num_peaks,
                                 min_distance_px, min_radius_diff_px)
    # greedy keeping went by each candidate's support before refinement: sort by the
    # refined support and suppress once more so the order and the spacing are exact
    order = np.lexsort((kept[:, 2], kept[:, 1], kept[:, 0], -kept[:, 3]))
    kept = kept[order]
    circles, scores = kept[:, :3].copy(), kept[:, 3].copy()
    if subpixel:
        _circle_fit_kernel(edge_map, ux, uy, circles, 3)
    keep = _circle_nms_kernel(circles, num_peaks, min_distance_px, min_radius_diff_px)
    return HoughCircles(circles=circles[keep], scores=scores[keep], radius_grid=radius_grid,
                        edges=edge_map)


#: Most circle samples :func:`hough_circles` precomputes (radii times samples per radius).
MAX_CIRCLE_SAMPLES = 10_000_000


def _check_radii(radii: object, func: str, shape: tuple[int, int]) -> np.ndarray:
    """Validate radii: a non-empty 1-D sequence of finite numbers in ``(0, diagonal]``;
    sorted float64. A circle centred in the image with a larger radius misses it."""
    if isinstance(radii, (bool, np.bool_)) or isinstance(radii, (str, bytes)):
        raise TypeError(f"{func}: radii must be a 1-D array of positive numbers, got "
                        f"{describe(radii)}")
    arr = np.asarray(radii)
    if arr.dtype.kind not in "uif":
        raise TypeError(f"{func}: radii must be a 1-D array of positive numbers, got "
                        f"{describe(radii)}")
    arr = np.atleast_1d(arr.astype(np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{func}: radii must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{func}: radii must be finite, got {describe(radii)}")
    if arr.min() <= 0:
        raise ValueError(f"{func}: radii must all be > 0, got min {arr.min():g}")
    diag = math.hypot(shape[0], shape[1])
    if arr.max() > diag:
        raise ValueError(f"{func}: radii must be at most the image diagonal {diag:.1f} px (a "
                         f"larger circle centred in the image misses it), got max "
                         f"{arr.max():g}")
    arr = np.unique(arr)
    if arr.size * max(8.0, math.ceil(2 * math.pi * arr[-1])) > MAX_CIRCLE_SAMPLES:
        raise ValueError(f"{func}: radii must need at most {MAX_CIRCLE_SAMPLES} circle "
                         f"samples (count x circumference), got {arr.size} radii up to "
                         f"{arr[-1]:g}")
    return arr
