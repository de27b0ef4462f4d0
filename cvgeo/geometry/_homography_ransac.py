"""RANSAC for :func:`~cvgeo.geometry.homography.find_homography`: one compiled search.

Private module. The search is the one of :func:`~cvgeo.geometry.ransac.ransac` (MSAC
scoring, local optimisation of each new best model, adaptive stopping, degenerate samples
outside the budget) in a single numba call: drawing a sample, the 4-point solve with its
collinearity and orientation checks (:func:`~cvgeo.geometry.homography._minimal_one`),
the verification, the local optimisation of a new best model and the new trial budget.
The generic :func:`~cvgeo.geometry.ransac.ransac` stays the engine for user models (and
:class:`~cvgeo.geometry.homography.HomographyEstimator` still plugs into it).

Draws. A SplitMix64 generator (Steele, Lea & Flood 2014) seeded from ``find_homography``'s
``seed`` draws the verification order (a random permutation) and the samples (four
distinct indices, uniform), so a seed gives one result and no generator object is built
per call.

Verification is Wald's SPRT with Capel's bail-out, as for F and E
(:mod:`cvgeo.geometry._twoview_ransac`, whose notes give the argument): the matches are
taken in the random order, a model is dropped once its likelihood ratio passes ``A`` (a
good model is lost with probability at most ``1 / A``, which the stopping rule
accounts for), ``δ`` is re-estimated from the dropped models. At 90 % outliers it cuts
the scoring of a wrong model from most of the matches to a few dozen.

The local optimisation is LO+ (Lebeda, Matas & Chum 2012), as for F and E: least-squares
DLT refits on the matches within a threshold shrinking from ``3 t`` to ``t``, each from
the last refit's residuals, then further refits at ``t`` while they lower the cost
(a model that sees a third of its consensus reaches the rest only in steps), keeping the
model of lowest MSAC cost. The refits use one Hartley normalisation of all the matches,
so each costs one pass over the selected matches (the 9 x 9 normal matrix has four
distinct 3 x 3 blocks) and a few inverse iterations started from the previous model.

References
----------
O. Chum, J. Matas, J. Kittler, "Locally optimized RANSAC", DAGM 2003.
doi:10.1007/978-3-540-45243-0_31.
K. Lebeda, J. Matas, O. Chum, "Fixing the locally optimized RANSAC", BMVC 2012.
J. Matas, O. Chum, "Randomized RANSAC with sequential probability ratio test", ICCV 2005.
D. Capel, "An effective bail-out test for RANSAC consensus scoring", BMVC 2005.
G. L. Steele, D. Lea, C. H. Flood, "Fast splittable pseudorandom number generators",
OOPSLA 2014. doi:10.1145/2660193.2660195.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from cvgeo._checks import DegenerateError
from cvgeo.geometry._common import _cholesky, _cholesky_solve, _normalizer_kernel
from cvgeo.geometry._homography_refine import _denormalize, _transfer_sq
from cvgeo.geometry._twoview_ransac import (
    _LO_SCHEDULE,
    _MIN_A,
    _select_within,
    sprt_a,
    trials_needed,
)
from cvgeo.geometry.homography import _minimal_one
from cvgeo.geometry.ransac import _DEGENERATE_CAP

#: the local refits need at least this many matches (twice a minimal sample)
_LO_MIN = 8
#: most refits of one local optimisation: a model that sees a third of its consensus
#: takes a dozen refits to reach the rest (each refit at t widens it a little)
_LO_STEPS = 20
#: most inverse iterations of one refit (it stops when the vector moves by < 1e-14)
_INVERSE_ITERATIONS = 6
#: entry (a, b) of p p^T in the order xx, xy, x, yy, y, 1 of _dlt_subset's sums
_PP = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]], dtype=np.int64)

#: cost of one drawn sample (its checks and, for the 30 % or so that pass them, the
#: 4-point solve) in units of the verification of one match, and models per drawn
#: sample (measured at N = 1000, 50 % outliers: ~0.1 µs a sample, ~5 ns a match, 0.3
#: of the samples pass the orientation test): the t_M and m_S of the SPRT's threshold
_SOLVER_COST = (20.0, 0.3)

_trials_needed = njit(cache=True)(trials_needed)
_sprt_a = njit(cache=True)(sprt_a)


@njit(cache=True)
def _transfer_all(H, src, dst, t2, out):
    """Squared transfer errors ``|pi(H src_i) - dst_i|^2`` into ``out`` (``inf`` where
    undefined); returns the MSAC cost ``sum min(e, t2)`` and the count of ``e <= t2``."""
    n = src.shape[0]
    cost = 0.0
    inliers = 0
    for i in range(n):
        e = _transfer_sq(H, src, dst, i)
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
    ``Hn`` holds the start of the inverse iteration (:func:`_null_vector`) on entry.
    Returns False when that fails.
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
    return _null_vector(M, Hn)


@njit(cache=True)
def _null_vector(M, Hn):
    """The unit eigenvector of the smallest eigenvalue of the 9 x 9 positive
    semi-definite ``M``, by inverse iteration started from ``Hn`` (written back there).

    ``M`` is shifted by ``1e-13`` of its trace (positive definite even for exact data);
    each iteration shrinks the other directions by ``λ1 / λk`` (noise against signal,
    1e-4 or less for a homography's normalised DLT), so a few iterations from a nearby
    start reach machine precision. Returns False if the shifted ``M`` is not positive
    definite or the start vector is zero.
    """
    S = M.copy()
    shift = 0.0
    for a in range(9):
        shift += M[a, a]
    for a in range(9):
        S[a, a] += 1e-13 * shift
    L = np.empty((9, 9))
    if not _cholesky(S, L):
        return False
    x = np.empty(9)
    y = np.empty(9)
    nrm = 0.0
    for k in range(9):
        x[k] = Hn[k // 3, k % 3]
        nrm += x[k] * x[k]
    if not nrm > 0.0:
        return False
    for _ in range(_INVERSE_ITERATIONS):
        _cholesky_solve(L, x, y)
        nrm = 0.0
        dot = 0.0
        for k in range(9):
            nrm += y[k] * y[k]
            dot += y[k] * x[k]
        nrm = math.sqrt(nrm)
        if not (nrm > 0.0 and np.isfinite(nrm)):
            return False
        if dot < 0.0:
            nrm = -nrm
        change = 0.0
        for k in range(9):
            v = y[k] / nrm
            change = max(change, abs(v - x[k]))
            x[k] = v
        if change <= 1e-14:
            break
    for k in range(9):
        Hn[k // 3, k % 3] = x[k]
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
    c0, inliers = _transfer_all(model, src, dst, t2, cur)
    if c0 < cost:
        cost = c0
    M = np.empty((9, 9))
    Hn = np.empty((3, 3))
    H = np.empty((3, 3))
    improved = True
    have_prev = False
    # the model in normalised coordinates, T2 H T1^-1: the inverse iteration's start
    s1, a1, b1, s2, a2, b2 = norm[0], norm[1], norm[2], norm[3], norm[4], norm[5]
    for i in range(3):
        r0 = s2 * model[0, i] + a2 * model[2, i]
        r1 = s2 * model[1, i] + b2 * model[2, i]
        r2 = model[2, i]
        H[0, i], H[1, i], H[2, i] = r0, r1, r2
    for i in range(3):
        c0 = H[i, 0] / s1
        c1 = H[i, 1] / s1
        Hn[i, 0] = c0
        Hn[i, 1] = c1
        Hn[i, 2] = H[i, 2] - c0 * a1 - c1 * b1
    for step in range(_LO_STEPS):
        if step >= schedule.shape[0] and not improved:
            break  # past the schedule: refits at t go on only while the cost drops
        thr = (schedule[step] if step < schedule.shape[0] else 1.0) * t
        thr2 = thr * thr
        m, same = _select_within(cur, thr2, prev, have_prev, ids)
        if m < _LO_MIN or same:
            break
        if thr == t:
            for i in range(n):
                prev[i] = cur[i] <= thr2
            have_prev = True
        if not _dlt_subset(xs, xd, ids[:m], M, Hn):
            break
        _denormalize(Hn, norm[0], norm[1], norm[2], norm[3], norm[4], norm[5], H)
        c, k = _transfer_all(H, src, dst, t2, cur)
        improved = c < cost
        if improved:
            cost = c
            inliers = k
            model[:, :] = H
    return cost, inliers


@njit(cache=True)
def _sprt_threshold(eps, delta):
    """:func:`cvgeo.geometry._twoview_ransac.sprt_a` (the SPRT threshold ``A``) with the
    4-point costs ``_SOLVER_COST``."""
    return _sprt_a(eps, delta, _SOLVER_COST[0], _SOLVER_COST[1])


@njit(cache=True)
def _sprt_cost(h, src, dst, t2, eps, delta, A, bound, stats):
    """MSAC cost of ``h`` with Wald's SPRT and Capel's bail-out, and its inlier count.

    Returns ``(inf, 0)`` for a model dropped by either test. Each match multiplies the
    likelihood ratio by ``δ / ε`` if within the threshold and by ``(1 - δ) / (1 - ε)``
    otherwise; the model is dropped once it exceeds ``A`` (``A = inf`` or ``ε <= δ``:
    no test). ``stats`` (float64 (3,)) accumulates, over the models the SPRT drops, the
    matches tested, those within the threshold and the number of models (the estimate
    of ``δ``).
    """
    n = src.shape[0]
    use = A < np.inf and eps > delta
    up = delta / eps if use else 1.0
    down = (1.0 - delta) / (1.0 - eps) if use else 1.0
    h00, h01, h02 = h[0, 0], h[0, 1], h[0, 2]
    h10, h11, h12 = h[1, 0], h[1, 1], h[1, 2]
    h20, h21, h22 = h[2, 0], h[2, 1], h[2, 2]
    lam = 1.0
    cost = 0.0
    cons = 0
    for i in range(n):
        x = src[i, 0]
        y = src[i, 1]
        w = h20 * x + h21 * y + h22
        du = (h00 * x + h01 * y + h02) / w - dst[i, 0]
        dv = (h10 * x + h11 * y + h12) / w - dst[i, 1]
        e = du * du + dv * dv
        if e <= t2:
            cost += e
            cons += 1
            lam *= up
        else:  # NaN (w = 0) lands here too
            cost += t2
            lam *= down
            if lam > A:
                stats[0] += i + 1
                stats[1] += cons
                stats[2] += 1.0
                return np.inf, 0
            if cost >= bound:
                return np.inf, 0
    return cost, cons


@njit(cache=True, inline="always")
def _next_u64(rs):
    """The next output of the SplitMix64 generator whose state is ``rs[0]`` (uint64)."""
    z = rs[0] + np.uint64(0x9E3779B97F4A7C15)
    rs[0] = z
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _below(rs, n):
    """A uniform integer in ``[0, n)`` (``n < 2**32``; bias below ``n / 2**32``)."""
    return np.int64(((_next_u64(rs) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(cache=True)
def _search_kernel(src, dst, t, confidence, max_trials, cap, delta0, key, schedule, best,
                   counts):
    """The whole robust search: draw, solve, score and locally optimise 4-point samples
    until the trial budget or the cap on degenerate samples is spent.

    Parameters
    ----------
    src, dst : float64 (N, 2)
        Matches, pixels.
    t, confidence : float
    max_trials, cap : int
        Bounds on non-degenerate and on degenerate samples.
    delta0 : float
        Initial ``δ`` of the SPRT.
    key : uint64
        Seed of the SplitMix64 generator that draws the verification order (a random
        permutation) and the samples (four distinct indices, uniform).
    schedule : float64 (S,)
        The local optimisation's thresholds (:func:`_lo_kernel`).
    best : float64 (3, 3)
        Output: the best model (pixels), locally optimised.
    counts : int64 (3,)
        Output: samples drawn, degenerate samples, 1 if a model was found.
    """
    n = src.shape[0]
    t2 = t * t
    rs = np.empty(1, dtype=np.uint64)
    rs[0] = key
    order = np.arange(n)
    for i in range(n - 1, 0, -1):  # Fisher-Yates
        j = _below(rs, i + 1)
        order[i], order[j] = order[j], order[i]
    so = np.empty((n, 2))
    do = np.empty((n, 2))
    for k in range(n):
        so[k, 0] = src[order[k], 0]
        so[k, 1] = src[order[k], 1]
        do[k, 0] = dst[order[k], 0]
        do[k, 1] = dst[order[k], 1]
    xs, s1, mx1, my1 = _normalizer_kernel(so)
    xd, s2, mx2, my2 = _normalizer_kernel(do)
    norm = np.array([s1, -s1 * mx1, -s1 * my1, s2, -s2 * mx2, -s2 * my2])
    s4 = np.empty((4, 2))
    d4 = np.empty((4, 2))
    sel = np.empty(4, dtype=np.int64)
    work = np.empty((2, 3, 3))
    h = np.empty((3, 3))
    cur = np.empty(n)
    ids = np.empty(n, dtype=np.int64)
    prev = np.zeros(n, dtype=np.bool_)
    stats = np.zeros(3)
    best_cost = np.inf
    eps = 0.0
    delta = min(max(delta0, 1e-4), 0.5)
    A = np.inf
    n_trials = 0
    n_valid = 0
    n_degen = 0
    needed = max_trials
    while n_valid < needed and n_degen < cap:
        for j in range(4):
            i = _below(rs, n)
            again = True
            while again:
                again = False
                for q in range(j):
                    if sel[q] == i:
                        again = True
                if again:
                    i = _below(rs, n)
            sel[j] = i
            s4[j, 0] = so[i, 0]
            s4[j, 1] = so[i, 1]
            d4[j, 0] = do[i, 0]
            d4[j, 1] = do[i, 1]
        n_trials += 1
        if not _minimal_one(s4, d4, h, work):
            n_degen += 1
            continue
        n_valid += 1
        dropped = stats[2]
        c, inliers = _sprt_cost(h, so, do, t2, eps, delta, A, best_cost, stats)
        if stats[2] != dropped and stats[2] >= 10.0:  # δ from the dropped models
            d = min(max(stats[1] / stats[0], 1e-4), 0.5)
            if abs(d - delta) > 0.05 * delta:
                delta = d
                A = _sprt_threshold(eps, delta)
        if not c < best_cost:
            continue
        best[:, :] = h
        best_cost = c
        best_cost, inliers = _lo_kernel(so, do, xs, xd, norm, t, schedule, best, best_cost,
                                        cur, ids, prev)
        eps = inliers / n
        A = _sprt_threshold(eps, delta)
        k = _trials_needed(eps, 4, max(A, _MIN_A), confidence)
        needed = max_trials if not k < max_trials else max(1, int(math.ceil(k)))
    found = best_cost < np.inf
    counts[0] = n_trials
    counts[1] = n_degen
    counts[2] = 1 if found else 0


def homography_ransac(src: np.ndarray, dst: np.ndarray, *, threshold_px: float,
                      confidence: float, max_trials: int, key: int,
                      delta0: float) -> tuple[np.ndarray, int, int]:
    """The robust search of :func:`~cvgeo.geometry.homography.find_homography`.

    Parameters
    ----------
    src, dst : float64 (N, 2)
        Validated matches, pixels, C-contiguous, 4 <= N < 2**32.
    threshold_px, confidence, max_trials
        Validated, as for :func:`~cvgeo.geometry.ransac.ransac`.
    key : int
        In ``[0, 2**64)``: seeds the draws (the verification order and the samples).
    delta0 : float
        Initial ``δ`` of the SPRT (chance that a match is consistent with a wrong
        model); then estimated from the dropped models.

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
    best = np.zeros((3, 3))
    counts = np.zeros(3, dtype=np.int64)
    _search_kernel(src, dst, float(threshold_px), float(confidence), int(max_trials),
                   _DEGENERATE_CAP * int(max_trials), float(delta0), np.uint64(key),
                   np.ascontiguousarray(_LO_SCHEDULE, dtype=np.float64), best, counts)
    n_trials, n_degen = int(counts[0]), int(counts[1])
    if not counts[2]:
        raise DegenerateError(f"ransac: every one of the {n_trials} minimal samples was "
                              f"degenerate (coincident or collinear points, or rejected by "
                              f"the estimator's checks); no model found")
    return best, n_trials, n_degen
