"""RANSAC for :func:`~cvgeo.geometry.homography.find_homography`: one compiled loop.

Private module. The search is the one of :func:`~cvgeo.geometry.ransac.ransac` (MSAC
scoring, local optimisation of each new best model, adaptive stopping, degenerate samples
outside the budget), with every step of a chunk of pre-drawn samples in one numba call:
the 4-point solve with its collinearity and orientation checks
(:func:`~cvgeo.geometry.homography._minimal_one`), the MSAC score with its preliminary
test and bail-out (:func:`~cvgeo.geometry.homography._msac_one`), the local optimisation
of a new best model and the new trial budget. Python only draws the samples (the seeded
``numpy.random.Generator``, so a seed gives one result).

The local optimisation is LO+ (Lebeda, Matas & Chum 2012) as for F and E
(:mod:`cvgeo.geometry._twoview_ransac`): least-squares DLT refits on the matches within a
threshold shrinking from ``3 t`` to ``t``, each from the last refit's residuals, keeping
the model of lowest MSAC cost. A minimal model fitted to four noisy matches sees only
part of its consensus at ``t``; the wider first band lets the rest in. The refits use
one Hartley normalisation of all the points, so each costs one pass over the selected
matches (the 9 x 9 normal matrix has four distinct 3 x 3 blocks) and a 9 x 9 eigen
decomposition.

References
----------
O. Chum, J. Matas, J. Kittler, "Locally optimized RANSAC", DAGM 2003.
doi:10.1007/978-3-540-45243-0_31.
K. Lebeda, J. Matas, O. Chum, "Fixing the locally optimized RANSAC", BMVC 2012.
D. Capel, "An effective bail-out test for RANSAC consensus scoring", BMVC 2005.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cvgeo._checks import DegenerateError
from cvgeo.geometry._common import _normalizer_kernel
from cvgeo.geometry._twoview_ransac import _CHUNK, _LO_SCHEDULE, trials_needed
from cvgeo.geometry.homography import _denormalize, _minimal_one, _msac_one
from cvgeo.geometry.ransac import _DEGENERATE_CAP, _draw_samples

#: the local refits need at least this many matches (twice a minimal sample)
_LO_MIN = 8
#: most refits of one local optimisation: a model that sees a third of its consensus
#: takes a dozen refits to reach the rest (each refit at t widens it a little)
_LO_STEPS = 20
#: new best models met in the first this many non-degenerate samples are not locally
#: optimised (they are superseded within a few samples); the best model is optimised
#: when the search ends if it was not then
_LO_AFTER = 0

#: entry (a, b) of p p^T in the order xx, xy, x, yy, y, 1 of _dlt_subset's sums
_PP = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]], dtype=np.int64)

_trials_needed = njit(cache=True)(trials_needed)


@njit(cache=True)
def _transfer_sq(H, src, dst, t2, out):
    """Squared transfer errors ``|pi(H src_i) - dst_i|^2`` into ``out`` (``inf`` where
    undefined); returns the MSAC cost ``sum min(e, t2)`` and the count of ``e <= t2``."""
    n = src.shape[0]
    cost = 0.0
    inliers = 0
    for i in range(n):
        x = src[i, 0]
        y = src[i, 1]
        w = H[2, 0] * x + H[2, 1] * y + H[2, 2]
        du = (H[0, 0] * x + H[0, 1] * y + H[0, 2]) / w - dst[i, 0]
        dv = (H[1, 0] * x + H[1, 1] * y + H[1, 2]) / w - dst[i, 1]
        e = du * du + dv * dv
        if not e <= t2:
            out[i] = e if e == e else np.inf
            cost += t2
        else:
            out[i] = e
            cost += e
            inliers += 1
    return cost, inliers


@njit(cache=True)
def _dlt_subset(xs, xd, ids, M, Hn):
    """DLT of the normalised matches ``xs[ids]``, ``xd[ids]`` into ``Hn``.

    The normal matrix of the rows ``[-p, 0, u p]`` and ``[0, -p, v p]`` (``p = (x, y,
    1)``) is ``[[P, 0, -U], [0, P, -V], [-U, -V, W]]`` with ``P = sum p p^T`` and
    ``U``, ``V``, ``W`` the same sums weighted by ``u``, ``v`` and ``u^2 + v^2``.
    Returns False when the null space has dimension > 1 (degenerate matches).
    """
    S = np.zeros((4, 6))  # P, U, V, W: entries xx, xy, x, yy, y, 1
    for k in range(ids.shape[0]):
        i = ids[k]
        x = xs[i, 0]
        y = xs[i, 1]
        u = xd[i, 0]
        v = xd[i, 1]
        q0 = x * x
        q1 = x * y
        q3 = y * y
        ww = u * u + v * v
        for r in range(4):
            f = 1.0 if r == 0 else (u if r == 1 else (v if r == 2 else ww))
            S[r, 0] += f * q0
            S[r, 1] += f * q1
            S[r, 2] += f * x
            S[r, 3] += f * q3
            S[r, 4] += f * y
            S[r, 5] += f
    M[:, :] = 0.0
    for a in range(3):
        for b in range(3):
            e = _PP[a, b]
            M[a, b] = S[0, e]
            M[3 + a, 3 + b] = S[0, e]
            M[a, 6 + b] = -S[1, e]
            M[6 + a, b] = -S[1, e]
            M[3 + a, 6 + b] = -S[2, e]
            M[6 + a, 3 + b] = -S[2, e]
            M[6 + a, 6 + b] = S[3, e]
    w, V = np.linalg.eigh(M)
    if not w[1] > 1e-20 * w[8]:
        return False
    for k in range(9):
        Hn[k // 3, k % 3] = V[k, 0]
    return True


@njit(cache=True)
def _lo_kernel(src, dst, xs, xd, norm, t, schedule, model, cost, cur, ids, prev):
    """LO+ around ``model`` (pixels, in place): refits at ``schedule * t``.

    Parameters
    ----------
    src, dst : float64 (N, 2)
        Matches, pixels.
    xs, xd : float64 (N, 2)
        The same, Hartley-normalised, with ``norm = (s1, a1, b1, s2, a2, b2)`` (the
        similarities ``[[s, 0, a], [0, s, b], [0, 0, 1]]``).
    t : float
        Inlier threshold, pixels.
    schedule : float64 (S,)
        Thresholds of the refits in units of ``t``; refits at ``t`` go on after it while
        they lower the cost, to ``_LO_STEPS`` refits in all; a refit at ``t`` whose
        inliers are those of the previous one ends the sequence.
    model : float64 (3, 3)
        The starting model; replaced by the model of lowest MSAC cost met.
    cost : float
        MSAC cost of ``model``.
    cur, ids, prev : float64 (N,), int64 (N,), bool (N,)
        Work space.

    Returns
    -------
    cost, inliers
        The MSAC cost and inlier count of ``model`` on return.
    """
    n = src.shape[0]
    t2 = t * t
    c0, inliers = _transfer_sq(model, src, dst, t2, cur)
    if c0 < cost:
        cost = c0
    M = np.empty((9, 9))
    Hn = np.empty((3, 3))
    H = np.empty((3, 3))
    improved = True
    have_prev = False
    for step in range(_LO_STEPS):
        if step >= schedule.shape[0] and not improved:
            break  # past the schedule: refits at t go on only while the cost drops
        thr = (schedule[step] if step < schedule.shape[0] else 1.0) * t
        thr2 = thr * thr
        m = 0
        same = have_prev
        for i in range(n):
            inl = cur[i] <= thr2
            if inl:
                ids[m] = i
                m += 1
            if same and inl != prev[i]:
                same = False
        if m < _LO_MIN or same:
            break
        if thr == t:
            for i in range(n):
                prev[i] = cur[i] <= thr2
            have_prev = True
        if not _dlt_subset(xs, xd, ids[:m], M, Hn):
            break
        _denormalize(Hn, norm[0], norm[1], norm[2], norm[3], norm[4], norm[5], H)
        c, k = _transfer_sq(H, src, dst, t2, cur)
        improved = c < cost
        if improved:
            cost = c
            inliers = k
            model[:, :] = H
    return cost, inliers


@njit(cache=True)
def _search_kernel(src, dst, xs, xd, norm, idx, t, confidence, max_trials, cap, schedule,
                   best, state, counts):
    """Solve, score and locally optimise the samples ``idx`` in order.

    Parameters
    ----------
    src, dst, xs, xd, norm, t, schedule
        As for :func:`_lo_kernel`.
    idx : int64 (B, 4)
        Pre-drawn samples.
    confidence : float
    max_trials, cap : int
        Bounds on non-degenerate and on degenerate samples.
    best : float64 (3, 3)
        In/out: the best model so far (pixels).
    state : float64 (1,)
        In/out: its MSAC cost (``inf`` before the first).
    counts : int64 (5,)
        In/out: samples drawn, non-degenerate samples, degenerate samples, the trial
        budget (non-degenerate samples) and 1 if ``best`` was locally optimised.

    Stops at the end of ``idx``, when the budget is spent or at ``cap`` degenerate
    samples.
    """
    n = src.shape[0]
    t2 = t * t
    s4 = np.empty((4, 2))
    d4 = np.empty((4, 2))
    work = np.empty((2, 3, 3))
    h = np.empty((3, 3))
    cur = np.empty(n)
    ids = np.empty(n, dtype=np.int64)
    prev = np.zeros(n, dtype=np.bool_)
    best_cost = state[0]
    n_trials, n_valid, n_degen, needed, optimised = (counts[0], counts[1], counts[2],
                                                     counts[3], counts[4])
    for b in range(idx.shape[0]):
        if n_valid >= needed or n_degen >= cap:
            break
        for k in range(4):
            i = idx[b, k]
            s4[k, 0] = src[i, 0]
            s4[k, 1] = src[i, 1]
            d4[k, 0] = dst[i, 0]
            d4[k, 1] = dst[i, 1]
        n_trials += 1
        if not _minimal_one(s4, d4, h, work):
            n_degen += 1
            continue
        n_valid += 1
        c, inliers = _msac_one(h, src, dst, t2, best_cost)
        if not c < best_cost:
            continue
        best[:, :] = h
        best_cost = c
        optimised = 1 if n_valid >= _LO_AFTER else 0
        if optimised:
            best_cost, inliers = _lo_kernel(src, dst, xs, xd, norm, t, schedule, best,
                                            best_cost, cur, ids, prev)
        k = _trials_needed(inliers / n, 4, np.inf, confidence)
        needed = max_trials if not k < max_trials else max(1, int(math.ceil(k)))
    state[0] = best_cost
    counts[0] = n_trials
    counts[1] = n_valid
    counts[2] = n_degen
    counts[3] = needed
    counts[4] = optimised


def homography_ransac(src: np.ndarray, dst: np.ndarray, *, threshold_px: float,
                      confidence: float, max_trials: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, int, int]:
    """The robust search of :func:`~cvgeo.geometry.homography.find_homography`.

    Parameters
    ----------
    src, dst : float64 (N, 2)
        Validated matches, pixels, C-contiguous, N >= 4.
    threshold_px, confidence, max_trials
        Validated, as for :func:`~cvgeo.geometry.ransac.ransac`.
    rng : numpy.random.Generator
        Draws the samples.

    Returns
    -------
    H, n_trials, n_degenerate
        The best model (pixels, unit Frobenius norm, locally optimised), the samples
        drawn and the degenerate ones among them.

    Raises
    ------
    DegenerateError
        Every sample drawn was degenerate.
    """
    n = src.shape[0]
    t = float(threshold_px)
    xs, s1, mx1, my1 = _normalizer_kernel(src)
    xd, s2, mx2, my2 = _normalizer_kernel(dst)
    norm = np.array([s1, -s1 * mx1, -s1 * my1, s2, -s2 * mx2, -s2 * my2])
    schedule = _LO_SCHEDULE
    best = np.zeros((3, 3))
    state = np.array([np.inf])
    counts = np.array([0, 0, 0, max_trials, 0], dtype=np.int64)
    cap = _DEGENERATE_CAP * max_trials
    while counts[1] < counts[3] and counts[2] < cap:
        remaining = int(counts[3] - counts[1])
        # enough samples for the remaining budget at the valid rate seen so far
        rate = max(counts[1] / counts[0], 0.05) if counts[0] else 1.0
        count = min(_CHUNK, math.ceil(remaining / rate))
        idx = _draw_samples(rng, n, 4, count)
        _search_kernel(src, dst, xs, xd, norm, idx, t, float(confidence), int(max_trials),
                       int(cap), schedule, best, state, counts)
    n_trials, n_degen = int(counts[0]), int(counts[2])
    if not state[0] < np.inf:
        raise DegenerateError(f"ransac: every one of the {n_trials} minimal samples was "
                              f"degenerate (coincident or collinear points, or rejected by "
                              f"the estimator's checks); no model found")
    if not counts[4] and s1 > 0.0 and s2 > 0.0:
        _lo_kernel(src, dst, xs, xd, norm, t, schedule, best, float(state[0]),
                   np.empty(n), np.empty(n, dtype=np.int64), np.zeros(n, dtype=np.bool_))
    return best, n_trials, n_degen
