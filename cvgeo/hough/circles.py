"""Circles by gradient-direction Hough voting, verified against the edge map."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from cvgeo._checks import (
    check_bool,
    check_int,
    check_kernel_radius,
    check_real,
    describe,
    names_errors_as,
    renamed_parameters,
)
from cvgeo.edges import canny
from cvgeo.filters import gaussian_filter, gaussian_gradient
from cvgeo.hough._circle_fit import _circle_fit_kernel
from cvgeo.hough._circle_support import _circle_refine_kernel, _support_tables
from cvgeo.hough._common import (
    _check_edges,
    _check_reals_1d,
    _edge_points_kernel,
    _room_for,
)
from cvgeo.hough.peaks import _circle_nms_kernel
from cvgeo.image import as_float_image

__all__ = ["HoughCircles", "hough_circles"]


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
        non-increasing; with ``normalize=False``, the number of those samples.
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
def _normal_maps_kernel(xs, ys, nx, ny, shape):
    """The normals ``nx, ny`` of the pixels ``(xs, ys)`` as two float32 maps of
    ``shape``, left unset elsewhere (their only reader, the circle fit, looks at edge
    pixels alone)."""
    ux = np.empty(shape, dtype=np.float32)
    uy = np.empty(shape, dtype=np.float32)
    for i in range(xs.shape[0]):
        ux[ys[i], xs[i]] = nx[i]
        uy[ys[i], xs[i]] = ny[i]
    return ux, uy


@njit(cache=True)
def _vote_slice(xs, ys, nx, ny, r, raw, cells, pad):
    """Votes of every edge pixel for radius ``r`` into ``raw`` (one-cell zero frame
    around the image grown by ``pad`` cells on each side).

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
            cx = int(vx + math.copysign(0.5, vx)) + 1 + pad  # _round_half_away, spelled out
            cy = int(vy + math.copysign(0.5, vy)) + 1 + pad
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
def _box3(raw, rows, out, rowmax, computed, s_min):
    """``out = 3x3 sum of raw`` inside the one-cell frame, and each row's maximum, on
    the rows that can reach ``3 s_min``.

    A row is summed only when the maxima of ``raw`` on it and the rows beside it add up
    to at least ``s_min`` (a 3x3 sum is at most three times that); ``computed[y]`` says
    which were, and the others get ``rowmax[y] = 0`` and keep stale sums.
    """
    Hp, Wp = raw.shape
    raw_max = np.empty(Hp, dtype=raw.dtype)
    for y in range(Hp):
        r = raw[y]
        mx = r[0]
        for x in range(1, Wp):
            mx = max(mx, r[x])
        raw_max[y] = mx
    y = 1
    while y < Hp - 1:  # runs of rows to sum, each in one call
        y1 = y
        while y1 < Hp - 1 and (np.int64(raw_max[y1 - 1]) + raw_max[y1]
                               + raw_max[y1 + 1]) >= s_min:
            computed[y1] = True
            y1 += 1
        if y1 > y:
            _box3_rows(raw, rows, out, rowmax, y, y1)
            y = y1
        else:
            computed[y] = False
            rowmax[y] = 0
            y += 1


@njit(cache=True)
def _box3_rows(raw, rows, out, rowmax, y0, y1):
    """Rows ``y0 .. y1 - 1`` of :func:`_box3`: integer arithmetic on whole rows, indexed
    in two dimensions (no row views), so the loops vectorise."""
    Wp = raw.shape[1]
    for y in range(y0, y1):
        for x in range(Wp):
            rows[x] = raw[y - 1, x] + raw[y, x] + raw[y + 1, x]
        for x in range(1, Wp - 1):
            out[y, x] = rows[x - 1] + rows[x] + rows[x + 1]
        mx = out[y, 1]  # the maximum in a loop of its own: both loops vectorise far better
        for x in range(2, Wp - 1):
            mx = max(mx, out[y, x])
        rowmax[y] = mx


@njit(cache=True)
def _skip_below(threshold, norm, k):
    """The ``s_min`` of :func:`_box3` for slice ``k``: rows that fall short of it have
    3x3 sums worth less than 0.99 of any candidate's score in slices ``k - 1 .. k + 1``
    (those are at least ``threshold - 1e-9 norm``), so neither a candidate nor a
    neighbour that could beat one lies there. 0 (every row) when the threshold is too
    small for that margin."""
    n_max = norm[k]
    if k > 0:
        n_max = max(n_max, norm[k - 1])
    if k + 1 < norm.shape[0]:
        n_max = max(n_max, norm[k + 1])
    low = 0.99 * (threshold - 1e-9 * n_max)
    if low <= 0:
        return 0
    return int(math.ceil(low / (3.0 * norm[k])))


@njit(cache=True)
def _circle_candidates_kernel(xs, ys, nx, ny, radii, H, W, threshold, acc_dtype, pad):
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
    pad : int
        Centres up to ``pad`` pixels outside the image are voted for too.

    Returns
    -------
    ndarray of float64, shape (M, 4)
        ``(k, y, x, score)`` of every cell at or above ``threshold`` whose score is not
        smaller than its 26 neighbours' in (radius, row, column); ``y`` and ``x`` in
        ``[-pad, H + pad)`` and ``[-pad, W + pad)``.

    Notes
    -----
    Only three smoothed slices (radii ``k - 1``, ``k``, ``k + 1``) exist at a time, so
    memory is ``O(H W)`` whatever the number of radii; the radius loop is outermost, so
    the scattered vote writes stay inside one slice. A slice's 3x3 sums are taken only
    on the rows where some cell could come within 0.99 of the threshold (see
    :func:`_skip_below`): the other rows can hold neither a candidate nor a neighbour
    that beats one, and both tests pass them by. Within one slice, scores compare as
    whole votes (the same order: ``norm > 0`` and the counts are far below ``2**52``).
    """
    n_r = radii.shape[0]
    Hp, Wp = H + 2 + 2 * pad, W + 2 + 2 * pad
    norm = 1.0 / (2.0 * math.pi * radii)
    raw = np.zeros((Hp, Wp), dtype=acc_dtype)
    ring = np.zeros((3, Hp, Wp), dtype=acc_dtype)
    rowmax = np.zeros((3, Hp), dtype=acc_dtype)
    computed = np.ones((3, Hp), dtype=np.bool_)  # the frame rows: zero sums
    rows = np.empty(Wp, dtype=acc_dtype)
    cells = np.empty(2 * xs.shape[0], dtype=np.int64)
    out = np.empty((64, 4))
    m = 0
    n_cells = _vote_slice(xs, ys, nx, ny, radii[0], raw, cells, pad)
    _box3(raw, rows, ring[0], rowmax[0], computed[0], _skip_below(threshold, norm, 0))
    _clear_slice(raw, cells, n_cells)
    for k in range(n_r):
        if k + 1 < n_r:
            n_cells = _vote_slice(xs, ys, nx, ny, radii[k + 1], raw, cells, pad)
            _box3(raw, rows, ring[(k + 1) % 3], rowmax[(k + 1) % 3], computed[(k + 1) % 3],
                  _skip_below(threshold, norm, k + 1))
            _clear_slice(raw, cells, n_cells)
        cur = ring[k % 3]
        # the threshold in (whole) votes of this slice
        votes_min = int(math.ceil(threshold / norm[k] - 1e-9))
        k_lo = max(k - 1, 0)
        k_hi = min(k + 2, n_r)
        for y in range(1, Hp - 1):
            if rowmax[k % 3, y] < votes_min:
                continue
            row = cur[y]
            for x in range(1, Wp - 1):
                if row[x] < votes_min:
                    continue
                v = cur[y, x] * norm[k]
                # its own slice first (the test that fails most often), in whole votes; rows
                # not summed hold only sums below v
                c = cur[y, x]
                is_max = (cur[y, x - 1] <= c) & (cur[y, x + 1] <= c)
                if computed[k % 3, y - 1]:
                    is_max &= ((cur[y - 1, x - 1] <= c) & (cur[y - 1, x] <= c)
                               & (cur[y - 1, x + 1] <= c))
                if computed[k % 3, y + 1]:
                    is_max &= ((cur[y + 1, x - 1] <= c) & (cur[y + 1, x] <= c)
                               & (cur[y + 1, x + 1] <= c))
                for kk in range(k_lo, k_hi):
                    if kk == k or not is_max:
                        continue
                    sl = ring[kk % 3]
                    for yy in range(y - 1, y + 2):
                        if not computed[kk % 3, yy]:  # every sum there is below v
                            continue
                        for xx in range(x - 1, x + 2):
                            if sl[yy, xx] * norm[kk] > v:
                                is_max = False
                                break
                        if not is_max:
                            break
                    if not is_max:
                        break
                if is_max:
                    out = _room_for(out, m)
                    out[m, 0] = k
                    out[m, 1] = y - 1 - pad
                    out[m, 2] = x - 1 - pad
                    out[m, 3] = v
                    m += 1
    return out[:m]


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


@renamed_parameters(threshold="min_votes_fraction")
@names_errors_as("canny", "gaussian_filter", "gaussian_gradient")
def hough_circles(
    image: np.ndarray,
    *,
    radii: Sequence[float] | np.ndarray,
    edges: np.ndarray | None = None,
    sigma: float = 2.0,
    low_threshold: float = 0.1,
    high_threshold: float = 0.2,
    min_votes_fraction: float = 0.5,
    num_peaks: int | None = None,
    min_distance_px: float | None = None,
    min_radius_diff_px: float = 5.0,
    subpixel: bool = True,
    centers_outside: bool = False,
    normalize: bool = True,
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
    min_votes_fraction : float, optional
        Minimum support, in (0, 1]: the fraction of the circumference lying on edge
        pixels whose normal points at the centre (see :class:`HoughCircles`). (Formerly
        ``threshold``; that keyword works for one release, with a ``DeprecationWarning``.)
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
    centers_outside : bool, optional
        Also look for circles whose centre lies outside the image, up to the largest
        radius beyond its border (scikit-image's ``full_output``). Their support is still
        a fraction of the whole circumference, so a circle half outside scores at most
        about 0.5: lower ``min_votes_fraction`` to find it.
    normalize : bool, optional
        With True (default), ``scores`` are supports (fractions of the circumference)
        and circles are ranked by them. With False, ``scores`` are the number of
        supported samples (pixels of arc), and ranking and suppression go by that count:
        of two equally complete circles the larger comes first (scikit-image's
        ``hough_circle(normalize=False)``). ``min_votes_fraction`` is a fraction either
        way.

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
       local maxima over centre *and* radius (3x3x3) at or above
       ``min_votes_fraction / 2``.
       Peaks are taken per radius, so concentric circles survive.
    4. Verification: each candidate's support (step 1's edges sampled along the
       circle) is hill-climbed over one-pixel / one-radius moves; candidates are
       visited best first, those near a circle already kept (centre within
       ``min_distance_px`` *and* radius within ``min_radius_diff_px``) are skipped, and
       circles with support >= ``min_votes_fraction`` are kept.
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
    threshold = check_real(min_votes_fraction, func, "min_votes_fraction", low=0.0, high=1.0,
                           low_inclusive=False)
    if num_peaks is None:
        num_peaks = np.iinfo(np.int64).max
    num_peaks = check_int(num_peaks, func, "num_peaks", low=1)
    if min_distance_px is None:
        min_distance_px = float(radius_grid[0])
    min_distance_px = check_real(min_distance_px, func, "min_distance_px", low=0.0)
    min_radius_diff_px = check_real(min_radius_diff_px, func, "min_radius_diff_px", low=0.0)
    subpixel = check_bool(subpixel, func, "subpixel")
    centers_outside = check_bool(centers_outside, func, "centers_outside")
    normalize = check_bool(normalize, func, "normalize")

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
        ux, uy = _normal_maps_kernel(xs, ys, nx, ny, edge_map.shape)
    edge_map = np.ascontiguousarray(edge_map)
    facing = (nx != 0) | (ny != 0)
    H, W = edge_map.shape
    n_facing = int(facing.sum())
    pad = int(math.ceil(radius_grid[-1])) if centers_outside else 0
    vx, vy, vnx, vny = xs.astype(np.float64), ys.astype(np.float64), nx, ny
    if n_facing < nx.size:
        vx, vy, vnx, vny = vx[facing], vy[facing], vnx[facing], vny[facing]
    cand = _circle_candidates_kernel(vx, vy, vnx, vny, radius_grid, H, W, 0.5 * threshold,
                                     np.int16 if 2 * n_facing < 32767 else np.int32, pad)
    tables = _support_tables(xs.astype(np.int64), ys.astype(np.int64), nx, ny, (H, W),
                             radius_grid, pad)
    found = _circle_refine_kernel(tables, cand, threshold, (-pad, H + pad, -pad, W + pad))
    k = found[:, 2].astype(np.int64)
    circles = np.stack([found[:, 0], found[:, 1], radius_grid[k]], axis=1).reshape(-1, 3)
    scores = found[:, 3] if normalize else np.round(found[:, 3] * tables[4][k])
    order = np.lexsort((circles[:, 2], circles[:, 1], circles[:, 0], -scores))
    circles, scores = circles[order], scores[order]
    keep = _circle_nms_kernel(circles, num_peaks, min_distance_px, min_radius_diff_px)
    circles, scores = circles[keep], scores[keep]
    if subpixel:
        _circle_fit_kernel(edge_map, ux, uy, circles, 3)
        keep = _circle_nms_kernel(circles, num_peaks, min_distance_px, min_radius_diff_px)
        circles, scores = circles[keep], scores[keep]
    return HoughCircles(circles=circles, scores=scores, radius_grid=radius_grid,
                        edges=edge_map)


#: Most circle samples :func:`hough_circles` precomputes (radii times samples per radius).
MAX_CIRCLE_SAMPLES = 10_000_000


def _check_radii(radii: object, func: str, shape: tuple[int, int]) -> np.ndarray:
    """Validate radii: a non-empty 1-D sequence of finite numbers in ``(0, diagonal]``;
    sorted float64. A circle centred in the image with a larger radius misses it."""
    arr = _check_reals_1d(radii, func, "radii", "positive numbers")
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
