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

The voting and search loops are compiled with numba (serial); each kernel sits beside
the public function that calls it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from cvgeo._checks import check_image, check_int, check_real, check_seed, describe
from cvgeo.image import as_float_image

__all__ = [
    "HoughLinePeaks",
    "HoughLines",
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
    _hough_lines_kernel(xs, ys, np.cos(thetas), np.sin(thetas), 1.0 / float(rho_step),
                        n_off, acc_t)
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
def _walk_setup(dx, dy):
    """Step along direction ``(dx, dy)`` that moves the major axis by exactly one pixel."""
    if abs(dx) >= abs(dy):
        return (1.0 if dx > 0 else -1.0), dy / abs(dx), True
    return dx / abs(dy), (1.0 if dy > 0 else -1.0), False


@njit(cache=True)
def _walk_end(state, x0, y0, sx, sy, x_major, max_gap):
    """Walk from ``(x0, y0)`` by steps ``(sx, sy)`` through a 3-pixel corridor.

    Returns the last edge pixel met before leaving the image or meeting more than
    ``max_gap`` consecutive steps without one (the start pixel if none).
    """
    H, W = state.shape
    ex, ey = x0, y0
    gap = 0
    t = 1
    while True:
        px = _round_half_away(x0 + t * sx)
        py = _round_half_away(y0 + t * sy)
        if px < 0 or px >= W or py < 0 or py >= H:
            break
        hit = False
        for d in (0, -1, 1):
            qx = px if x_major else px + d
            qy = py + d if x_major else py
            if 0 <= qx < W and 0 <= qy < H and state[qy, qx] != 0:
                hit = True
                ex, ey = qx, qy
                break
        if hit:
            gap = 0
        else:
            gap += 1
            if gap > max_gap:
                break
        t += 1
    return ex, ey


@njit(cache=True)
def _unvote(acc, x, y, cos_t, sin_t, inv_rho_step, n_off):
    for j in range(cos_t.shape[0]):
        acc[j, _round_half_away((cos_t[j] * x + sin_t[j] * y) * inv_rho_step) + n_off] -= 1


@njit(cache=True)
def _pph_kernel(state, order, cos_t, sin_t, inv_rho_step, n_off, n_rho, threshold,
                min_length, max_gap):
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

    Returns
    -------
    ndarray of int64, shape (K, 4)
        Segments ``(x0, y0, x1, y1)`` in the order found.

    Notes
    -----
    Repeat while unvisited edge pixels remain:
    1. draw a random pixel; skip it if it was removed; vote it into the accumulator;
    2. if the largest bin it touched is below ``threshold``, draw again;
    3. walk from the pixel along that bin's line in both directions through a
       3-pixel-wide corridor, bridging gaps of up to ``max_gap`` pixels, to find the
       segment's ends; walk again along the chord between those ends (a direction
       finer than the accumulator's theta step) to settle them;
    4. if the segment is long enough, remove the corridor's pixels from the edge map,
       withdraw the votes of those that had voted, and output the segment.
    """
    H, W = state.shape
    n_t = cos_t.shape[0]
    acc = np.zeros((n_t, n_rho), dtype=np.int32)
    out = np.empty((16, 4), dtype=np.int64)
    n_out = 0
    for idx in order:
        y0 = idx // W
        x0 = idx - y0 * W
        if state[y0, x0] != 1:
            continue
        state[y0, x0] = 2
        best_v = 0
        best_j = 0
        for j in range(n_t):
            r = _round_half_away((cos_t[j] * x0 + sin_t[j] * y0) * inv_rho_step) + n_off
            acc[j, r] += 1
            if acc[j, r] > best_v:
                best_v = acc[j, r]
                best_j = j
        if best_v < threshold:
            continue
        # step 3: the ends along the bin's direction, then along the chord between them
        sx, sy, x_major = _walk_setup(-sin_t[best_j], cos_t[best_j])
        ax, ay = _walk_end(state, x0, y0, sx, sy, x_major, max_gap)
        bx, by = _walk_end(state, x0, y0, -sx, -sy, x_major, max_gap)
        if ax != bx or ay != by:
            sx, sy, x_major = _walk_setup(float(ax - bx), float(ay - by))
            ax, ay = _walk_end(state, x0, y0, sx, sy, x_major, max_gap)
            bx, by = _walk_end(state, x0, y0, -sx, -sy, x_major, max_gap)
        if math.hypot(ax - bx, ay - by) < min_length:
            continue
        # step 4: clear the corridor from end b to end a, withdrawing cast votes
        t_end = abs(ax - bx) if x_major else abs(ay - by)
        for t in range(-1, t_end + 2):
            px = _round_half_away(bx + t * sx)
            py = _round_half_away(by + t * sy)
            for d in (-1, 0, 1):
                qx = px if x_major else px + d
                qy = py + d if x_major else py
                if qx < 0 or qx >= W or qy < 0 or qy >= H:
                    continue
                if state[qy, qx] == 2:
                    _unvote(acc, qx, qy, cos_t, sin_t, inv_rho_step, n_off)
                state[qy, qx] = 0
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
    ``threshold`` the line is followed through the edge map (a corridor one pixel either
    side of it) from the pixel just drawn, bridging gaps up to ``max_gap``, and followed
    once more along the chord between the two ends found (finer than ``theta_step``, so
    long segments are not cut short by the accumulator's angular error). A long enough
    segment is output and its pixels leave both the edge map and the accumulator, so
    they cannot vote for another line. Only a fraction of the pixels ever vote, which is
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
    segs = _pph_kernel(state, order, np.cos(thetas), np.sin(thetas), 1.0 / float(rho_step),
                       n_off, rhos.size, threshold, min_length, max_gap)
    segs = segs.astype(np.float64)
    # a canonical direction: left to right, or top to bottom for vertical segments
    swap = (segs[:, 0] > segs[:, 2]) | ((segs[:, 0] == segs[:, 2]) & (segs[:, 1] > segs[:, 3]))
    segs[swap] = segs[swap][:, [2, 3, 0, 1]]
    return segs
