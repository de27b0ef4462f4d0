"""The dominant plane of a fundamental matrix's inliers, compiled.

Private module: the plane search of ``find_fundamental`` (it replaced a search by the
generic RANSAC engine, which the tests keep as the oracle: same answer to the same
question); the homography search runs in one numba pass and stops as soon as a plane
holding half of the inliers would have been drawn.

``find_fundamental`` asks twice per call whether a homography holds at least half of the
inliers of ``F`` (DEGENSAC's completion of the final model, and the planarity test). The
question is one-sided: a plane holding a fraction ``w >= 1/2`` of the inliers is drawn in a
4-point sample with probability ``w^4 >= 1/16``, so 108 samples find it with probability
0.999 whatever else the inliers hold. A plane holding less than half is never the answer,
so the search does not need the budget that would find it.

References
----------
O. Chum, T. Werner, J. Matas, "Two-view geometry estimation unaffected by a dominant
plane", CVPR 2005. doi:10.1109/CVPR.2005.354.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cvgeo._checks import DegenerateError
from cvgeo.geometry._homography_refine import _transfer_sq
from cvgeo.geometry.homography import _dlt_lsq, _homography_minimal_kernel, _transfer
from cvgeo.geometry.ransac import _draw_samples

#: matches within this many thresholds of their transfer by H are on the plane (as in
#: :mod:`cvgeo.geometry.degeneracy`)
_PLANE_FACTOR = 2.0
#: a plane must hold at least this fraction of the inliers
_HALF = 0.5
#: probability of missing a plane that holds half of the inliers
_MISS = 1e-3
#: at most this many 4-point samples (the cap of the generic search this replaces)
_MAX_SAMPLES = 300
#: least-squares refits of the best homography
_REFITS = 5
#: the preliminary test of a sample's homography: this many random inliers, of which it
#: must hold at least _PRE_MIN. A homography off any plane holds its own sample and
#: almost nothing else, so it is dropped after 64 transfers instead of being scored on
#: every inlier. The homography of a noisy 4-point sample on the plane holds a quarter of
#: the plane's matches at the median (measured at σ = t / 2: it extrapolates poorly) and
#: the refits recover the rest; 3 of 64 keeps every sample holding a tenth of the inliers
#: or more with probability 0.96 (at 55, 65 and 80 % of the matches on the plane, 200
#: searches each, the plane was found every time with the test as without it)
_PRE_SIZE = 64
_PRE_MIN = 3


@njit(cache=True)
def _plane_search_kernel(src, dst, idx, t2, n_samples, pre, pre_min):
    """MSAC search for a homography over the 4-point samples ``idx[:n_samples]``.

    Parameters
    ----------
    src, dst : float64 (M, 2)
    idx : int64 (B, 4)
        Pre-drawn samples.
    t2 : float
        Squared transfer threshold.
    n_samples : int
        Samples to try (at most ``B``).
    pre : int64 (P,)
        A random subset of the matches for a preliminary test: a homography with fewer
        than ``pre_min`` of them within the threshold is skipped (it cannot hold half of
        the matches, see :func:`dominant_plane`). Empty: no preliminary test.
    pre_min : int

    Returns
    -------
    H : float64 (3, 3)
        The homography of lowest MSAC cost (zeros when every sample was degenerate).
    count : int
        Its matches within the threshold (-1 when none was found).
    """
    m = src.shape[0]
    B = min(n_samples, idx.shape[0])
    s = np.empty((B, 4, 2))
    d = np.empty((B, 4, 2))
    for b in range(B):
        for k in range(4):
            i = idx[b, k]
            s[b, k, 0] = src[i, 0]
            s[b, k, 1] = src[i, 1]
            d[b, k, 0] = dst[i, 0]
            d[b, k, 1] = dst[i, 1]
    Hs, valid = _homography_minimal_kernel(s, d)
    best = np.zeros((3, 3))
    best_cost = np.inf
    best_count = -1
    for b in range(B):
        if not valid[b]:
            continue
        H = Hs[b]
        if pre.shape[0] > 0:
            hits = 0
            for k in range(pre.shape[0]):
                if _transfer_sq(H, src, dst, pre[k]) <= t2:
                    hits += 1
            if hits < pre_min:
                continue
        cost = 0.0
        count = 0
        for i in range(m):
            e = _transfer_sq(H, src, dst, i)
            if e <= t2:
                count += 1
            else:
                e = t2
            cost += e
            if cost >= best_cost:
                break
        if cost < best_cost:
            best_cost = cost
            best_count = count
            best[:, :] = H
    return best, best_count


def plane_samples(w: float) -> int:
    """4-point samples that draw one sample on a plane holding the fraction ``w`` of the
    matches with probability ``1 - _MISS`` (``w`` at least one half), at most
    ``_MAX_SAMPLES``."""
    p = max(w, _HALF) ** 4
    if p >= 1.0:
        return 1
    return int(min(_MAX_SAMPLES, math.ceil(math.log(_MISS) / math.log1p(-p))))


def dominant_plane(x1, x2, inliers, t, rng):
    """A homography fitted robustly to the inliers of F, or None when no plane holds at
    least half of them.

    Transfer threshold ``2 t``; the search draws :func:`plane_samples` 4-point samples
    (108 for a plane holding half of the inliers: found with probability 0.999), keeps
    the homography of lowest MSAC cost and refits it by the normalised DLT on its matches
    while the cost drops.
    """
    if inliers.sum() < 8:
        return None
    src = np.ascontiguousarray(x1[inliers], dtype=np.float64)
    dst = np.ascontiguousarray(x2[inliers], dtype=np.float64)
    m = src.shape[0]
    thr = _PLANE_FACTOR * float(t)
    t2 = thr * thr
    n_samples = plane_samples(_HALF)
    idx = _draw_samples(rng, m, 4, n_samples)
    if m >= 2 * _PRE_SIZE:
        pre = rng.choice(m, _PRE_SIZE, replace=False).astype(np.int64)
    else:
        pre = np.empty(0, dtype=np.int64)
    H, count = _plane_search_kernel(src, dst, idx, t2, n_samples, pre, _PRE_MIN)
    if count < 0:
        return None
    res = _transfer(H, src, dst)
    cost = float(np.minimum(res * res, t2).sum())
    for _ in range(_REFITS):
        inl = res <= thr
        if inl.sum() < 4:
            break
        try:
            H2 = _dlt_lsq(src[inl], dst[inl])
        except DegenerateError:
            break
        r2 = _transfer(H2, src, dst)
        c2 = float(np.minimum(r2 * r2, t2).sum())
        if not c2 < cost:
            break
        H, res, cost = H2, r2, c2
    return H if np.count_nonzero(res <= thr) >= _HALF * m else None
