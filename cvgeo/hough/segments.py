"""Line segments by the progressive probabilistic Hough transform."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit, uint64

from cvgeo._checks import check_int, check_real, check_seed, renamed_parameters
from cvgeo.hough._common import (
    _check_edges,
    _edge_indices_kernel,
    _room_for,
    _round_half_away,
    _theta_rho_grid,
)

__all__ = ["hough_segments"]



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
    """Centroid ``(cx, cy)`` and unit direction ``(ux, uy)`` of the pixels in ``mom``.

    The direction is the principal axis, at the angle ``phi = atan2(2 sxy, sxx - syy) / 2``
    in (-pi/2, pi/2]; its cosine and sine come from ``cos 2 phi`` and ``sin 2 phi`` by the
    half-angle formulas (no trigonometric call), each from the side where it does not
    cancel.
    """
    n = mom[0]
    cx = mom[1] / n
    cy = mom[2] / n
    sxx = mom[3] / n - cx * cx
    sxy = mom[4] / n - cx * cy
    syy = mom[5] / n - cy * cy
    a = sxx - syy
    b = 2.0 * sxy
    h = math.hypot(a, b)
    if h == 0.0:
        angle = 0.5 * math.atan2(b, a)
        return cx, cy, math.cos(angle), math.sin(angle)
    if a >= 0.0:  # |phi| <= pi/4: the cosine is the large one
        c = math.sqrt(0.5 * (1.0 + a / h))
        return cx, cy, c, b / (2.0 * h * c)
    s = math.copysign(math.sqrt(0.5 * (1.0 - a / h)), b)
    return cx, cy, abs(b) / (2.0 * h * abs(s)), s


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
    4. remove a 3-pixel corridor around the fitted line between the ends from the edge
       map and withdraw the votes of the removed pixels that had voted; if the segment
       is long enough, output it (its ends on the fitted line, rounded).
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
        # step 4: clear a 3-pixel corridor along the fitted line from end b to end a,
        # withdrawing the votes cast, whether or not the segment is long enough (the
        # paper's order: a pixel that led a walk cannot lead another); a long enough
        # segment is reported with its ends on that line, rounded
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
        if math.hypot(ax - bx, ay - by) < min_length:
            continue
        # (clamped: near the border the fitted line can round to just outside the image)
        if xm:
            ay = min(max(_round_half_away(cy + (ax - cx) * slope), 0), H - 1)
            by = min(max(_round_half_away(cy + (bx - cx) * slope), 0), H - 1)
        else:
            ax = min(max(_round_half_away(cx + (ay - cy) * slope), 0), W - 1)
            bx = min(max(_round_half_away(cx + (by - cy) * slope), 0), W - 1)
        out = _room_for(out, n_out)
        out[n_out, 0] = bx
        out[n_out, 1] = by
        out[n_out, 2] = ax
        out[n_out, 3] = ay
        n_out += 1
    return out[:n_out]


@renamed_parameters(threshold="min_votes", min_length="min_length_px", max_gap="max_gap_px")
def hough_segments(
    edges: np.ndarray,
    *,
    min_votes: int = 10,
    min_length_px: float = 30.0,
    max_gap_px: int = 5,
    theta_step: float = math.pi / 180,
    rho_step: float = 1.0,
    thetas: Sequence[float] | np.ndarray | None = None,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Line segments by the progressive probabilistic Hough transform.

    Parameters
    ----------
    edges : ndarray of shape (H, W)
        Binary edge map: bool, or a numeric array (any integer dtype, float32, float64)
        holding only 0 and 1.
    min_votes : int, optional
        Votes a line must collect (from the pixels drawn so far) before its segment is
        traced; >= 1.
    min_length_px : float, optional
        Shortest segment returned, pixels (Euclidean distance between its ends).
    max_gap_px : int, optional
        Longest run of missing pixels bridged inside one segment, >= 0.
    theta_step, rho_step : float, optional
        Accumulator resolution, as in :func:`hough_lines`.
    thetas : array_like of float, optional
        Explicit accumulator angles in radians, as in :func:`hough_lines`.
    seed : int, numpy.random.Generator or None, optional
        Order in which pixels are drawn. The same seed gives the same segments.

    (``min_votes``, ``min_length_px`` and ``max_gap_px`` were ``threshold``,
    ``min_length`` and ``max_gap``; those keywords work for one release, with a
    ``DeprecationWarning``.)

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
    ``min_votes`` the line is followed through the edge map from the pixel just drawn,
    bridging gaps up to ``max_gap_px``; the pixels met are fitted with a least-squares line
    and the walk goes on from both ends along it until they stop moving (the fitted line
    is finer than ``theta_step``, so long segments are not cut short by the
    accumulator's angular error). A 3-pixel corridor around the walked segment then
    leaves both the edge map and the accumulator, so its pixels cannot vote for another
    line, and the segment is output if it is long enough. As in the paper (and in
    OpenCV's and scikit-image's implementations) a segment that is too short is removed
    too: a line whose votes passed ``min_votes`` but whose pixels do not run
    ``min_length_px`` far is not looked for again from each of its pixels. Only a
    fraction of the pixels ever vote, which is what makes the method fast on long lines.
    Unlike OpenCV, which keeps the votes of a too-short segment's pixels, the votes cast
    are always withdrawn: the accumulator only ever holds votes of pixels still in the
    edge map.

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
    >>> hough_segments(edges, min_votes=10, min_length_px=20)
    array([[10., 20., 69., 20.]])
    """
    func = "hough_segments"
    edges = _check_edges(edges, func)
    min_votes = check_int(min_votes, func, "min_votes", low=1)
    min_length_px = check_real(min_length_px, func, "min_length_px", low=0.0)
    max_gap_px = check_int(max_gap_px, func, "max_gap_px", low=0)
    rng = check_seed(seed, func)
    thetas, rhos, n_off = _theta_rho_grid(edges.shape, theta_step, rho_step, func, thetas)
    flat = _edge_indices_kernel(edges)  # np.flatnonzero, faster on sparse maps
    order = flat[rng.permutation(flat.size)]
    state = edges.astype(np.uint8)
    # a bin counts pixel centres in a strip rho_step wide: in each row (or column, for the
    # steeper half of the angles) at most floor(rho_step * sqrt 2) + 1 of them (+1 more
    # for rounding at the strip's edges)
    most = min(flat.size, max(edges.shape) * (int(rho_step * math.sqrt(2.0)) + 2))
    acc = np.zeros(thetas.size * rhos.size, dtype=np.int16 if most < 32767 else np.int32)
    segs = _pph_kernel(state, order, np.cos(thetas), np.sin(thetas), 1.0 / float(rho_step),
                       n_off, rhos.size, min_votes, min_length_px, max_gap_px, acc)
    segs = segs.astype(np.float64)
    # a canonical direction: left to right, or top to bottom for vertical segments
    swap = (segs[:, 0] > segs[:, 2]) | ((segs[:, 0] == segs[:, 2]) & (segs[:, 1] > segs[:, 3]))
    segs[swap] = segs[swap][:, [2, 3, 0, 1]]
    return segs


