"""RANSAC for the two-view relations F and E: compiled hypothesis loops, SPRT verification.

Private module: :func:`~cvgeo.geometry.epipolar.find_fundamental` and
:func:`~cvgeo.geometry.essential.find_essential` call :func:`two_view_ransac`.

The loop is the generic one of :func:`~cvgeo.geometry.ransac.ransac` (MSAC scoring, local
optimisation of each new best model, adaptive stopping, degenerate samples outside the
budget) with the hypothesis generation and verification in one numba pass per chunk of
pre-drawn samples: a minimal sample is solved (7-point or 5-point), every root is verified
at once, and control comes back to Python only when a root beats the best MSAC cost so far
(for local optimisation and DEGENSAC) or the chunk ends.

Roots whose sample violates the oriented epipolar constraint (:func:`_oriented_ok`) are
not verified: at 70 % outliers that drops about 93 % of the 7-point and 78 % of the
5-point roots for a few multiplications each, and never a root near the true model.

Verification is Wald's sequential probability ratio test (SPRT) on the matches taken in a
fixed random order, together with Capel's MSAC bail-out. Each match multiplies the
likelihood ratio ``λ`` by ``δ / ε`` if it is within the threshold and by
``(1 - δ) / (1 - ε)`` otherwise, where ``ε`` is the inlier ratio of the best model so far
and ``δ`` the chance that a match is consistent with a wrong model; a model is dropped as
soon as ``λ > A``. Under a model whose inlier ratio is at least ``ε``, ``λ`` is a
(super)martingale of mean 1, so Ville's inequality bounds the probability of dropping it by
``1 / A`` whatever the value of ``δ``; the stopping rule accounts for that loss. A wrong
model is dropped after ``log A / log((1 - δ) / (1 - ε))`` matches or so (a dozen or two)
instead of being scored on most of the data, which is what MSAC's bail-out does when most
matches are outliers and every model's cost is close to the bound.

References
----------
J. Matas, O. Chum, "Randomized RANSAC with sequential probability ratio test", ICCV 2005.
O. Chum, J. Matas, "Optimal randomized RANSAC", IEEE TPAMI 30(8), 2008.
doi:10.1109/TPAMI.2007.70787.
D. Capel, "An effective bail-out test for RANSAC consensus scoring", BMVC 2005.
O. Chum, T. Werner, J. Matas, "Epipolar geometry estimation via RANSAC benefits from the
oriented epipolar constraint", ICPR 2004.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cvgeo._checks import DegenerateError
from cvgeo.geometry._common import _left_null_cross
from cvgeo.geometry._fivepoint import _five_point_hidden_core, _five_point_work
from cvgeo.geometry.epipolar.kernels import (
    _eight_point_gram_kernel,
    _sampson_kernel,
    _seven_point_core,
)
from cvgeo.geometry.ransac import RansacResult, _draw_samples

#: samples drawn at once (a draw costs tens of microseconds whatever its size)
_CHUNK = 1024
#: degenerate samples allowed, in multiples of max_trials (as in ransac)
_DEGENERATE_CAP = 10
#: cost of one minimal solve in units of the verification of one match, per solver, and
#: mean models verified per sample: those that pass the oriented epipolar constraint
#: (measured at N = 1000, 70 % outliers: 0.17 of 2.5 7-point roots, 1.0 of 4.4 5-point
#: roots). The SPRT threshold grows as the logarithm of the cost, so it is a rough figure:
#: a sample costs about 1 µs (7-point) and 3.5 µs (5-point) against ~5 ns per match, 200
#: and 700 units; these larger values lose fewer good models for a few more matches per
#: rejected one, at no measurable difference in time (N = 1000, 50 and 70 % outliers)
_SOLVER_COST = {7: (400.0, 0.2), 5: (2400.0, 1.0)}
#: the polish hook of two_view_ransac runs only while more than this many samples are
#: left to draw: it costs about as much as a hundred 5-point samples, and the inlier
#: ratio it gains saves more than that only when many samples are left
_POLISH_LEFT = 1000
#: the SPRT threshold is kept at least this large: at most 1 in 50 good models is lost
_MIN_A = 50.0
#: thresholds (in units of the inlier threshold) of the local optimisation's refits
_LO_SCHEDULE = np.array([3.0, 2.0, 1.5, 1.0, 1.0, 1.0])
#: the local refits (8-point least squares) need at least this many matches
_LO_MIN = 8
#: new best models met in the first this many non-degenerate samples are not locally
#: optimised: they are superseded within a few samples (the all-inlier sample that LO
#: is for comes later unless nearly every match is an inlier), and the best model is
#: optimised when the search ends if it was not then
_LO_AFTER = 50


# ----------------------------------------------------------------------------- verification


@njit(cache=True)
def _sprt_cost(F, X, t2, eps, delta, A, bound, stats):
    """MSAC cost of ``F`` on ``X`` (4, N) with SPRT and bail-out; ``inf`` when dropped.

    ``stats`` (float64 (3,)) accumulates, for models dropped by the SPRT, the matches
    tested, those within the threshold and the number of such models (the estimate of
    ``δ``). ``A <= 1`` (or ``ε <= δ``) switches the SPRT off.
    """
    n = X.shape[1]
    u1 = X[0]
    v1 = X[1]
    u2 = X[2]
    v2 = X[3]
    f00, f01, f02 = F[0, 0], F[0, 1], F[0, 2]
    f10, f11, f12 = F[1, 0], F[1, 1], F[1, 2]
    f20, f21, f22 = F[2, 0], F[2, 1], F[2, 2]
    use = A > 1.0 and eps > delta
    up = delta / eps if use else 1.0
    down = (1.0 - delta) / (1.0 - eps) if use else 1.0
    lam = 1.0
    cost = 0.0
    cons = 0
    for i in range(n):
        a = f00 * u1[i] + f01 * v1[i] + f02  # F x1
        b = f10 * u1[i] + f11 * v1[i] + f12
        c = f20 * u1[i] + f21 * v1[i] + f22
        d = f00 * u2[i] + f10 * v2[i] + f20  # Fᵀ x2
        e = f01 * u2[i] + f11 * v2[i] + f21
        r = u2[i] * a + v2[i] * b + c
        den = a * a + b * b + d * d + e * e
        rr = r * r
        if rr <= t2 * den and den > 0.0:
            cost += rr / den
            cons += 1
            lam *= up
        else:
            cost += t2
            lam *= down
            if lam > A and use:
                stats[0] += i + 1
                stats[1] += cons
                stats[2] += 1.0
                return np.inf
            if cost >= bound:
                return np.inf
    return cost


@njit(cache=True)
def _pixel_f(E, Ki1, Ki2, F):
    """``F = Ki2ᵀ E Ki1`` into ``F`` (two 3 x 3 products, ``E Ki1`` a row at a time)."""
    for j in range(3):
        F[0, j] = 0.0
        F[1, j] = 0.0
        F[2, j] = 0.0
    for a in range(3):
        t0 = E[a, 0] * Ki1[0, 0] + E[a, 1] * Ki1[1, 0] + E[a, 2] * Ki1[2, 0]
        t1 = E[a, 0] * Ki1[0, 1] + E[a, 1] * Ki1[1, 1] + E[a, 2] * Ki1[2, 1]
        t2 = E[a, 0] * Ki1[0, 2] + E[a, 1] * Ki1[1, 2] + E[a, 2] * Ki1[2, 2]
        for i in range(3):
            k = Ki2[a, i]
            F[i, 0] += k * t0
            F[i, 1] += k * t1
            F[i, 2] += k * t2


# ----------------------------------------------------------------------------- hypothesis loops


@njit(cache=True)
def _oriented_ok(F, s1, s2, k):
    """The oriented epipolar constraint on the first ``k`` sample matches.

    A match of a point in front of both cameras satisfies ``e2 × x2 ~ F x1`` with a
    positive factor, the same for every match under one ``F`` (of either sign), where
    ``e2`` is the epipole ``Fᵀ e2 = 0`` (Chum, Werner & Matas 2004). A model fitted to
    the sample makes the two vectors parallel at its matches, so the signs of
    ``(e2 × x2) · (F x1)`` must agree; a model whose sample disagrees explains its
    matches only with some point behind a camera, and cannot be the answer.
    """
    e0, e1, e2, best = _left_null_cross(F)
    if not best > 0.0:
        return True
    sign = 0.0
    for i in range(k):
        u1 = s1[i, 0]
        v1 = s1[i, 1]
        u2 = s2[i, 0]
        v2 = s2[i, 1]
        l0 = e1 - e2 * v2  # e2 × (u2, v2, 1)
        l1 = e2 * u2 - e0
        l2 = e0 * v2 - e1 * u2
        f0 = F[0, 0] * u1 + F[0, 1] * v1 + F[0, 2]
        f1 = F[1, 0] * u1 + F[1, 1] * v1 + F[1, 2]
        f2 = F[2, 0] * u1 + F[2, 1] * v1 + F[2, 2]
        d = l0 * f0 + l1 * f1 + l2 * f2
        if d == 0.0:
            continue
        if sign == 0.0:
            sign = d
        elif (d > 0.0) != (sign > 0.0):
            return False
    return True


@njit(cache=True)
def _cheiral_ok(E, s1, s2, k):
    """Some pose of ``E`` puts the first ``k`` sample matches (normalised coordinates) in
    front of both cameras.

    ``E = U diag(1, 1, 0) Vᵀ`` gives ``t = ±u3`` and ``R = U W Vᵀ`` or ``U Wᵀ Vᵀ``; with
    ``X2 = R X1 + t`` the depths of a match are ``λ1 = -((q2 × t)·(q2 × R q1)) / |q2 × R
    q1|²`` and ``λ2 = ((R q1 × t)·(R q1 × q2)) / |R q1 × q2|²``, both changing sign with
    ``t``. Stronger than the oriented epipolar constraint for E: it also rules out the
    twisted pair, where the points lie in front of one camera and behind the other.
    """
    U, _, Vt = np.linalg.svd(E)
    U = np.ascontiguousarray(U)
    Vt = np.ascontiguousarray(Vt)
    if np.linalg.det(U) < 0.0:
        U = -U
    if np.linalg.det(Vt) < 0.0:
        Vt = -Vt
    W = np.zeros((3, 3))
    W[0, 1] = -1.0
    W[1, 0] = 1.0
    W[2, 2] = 1.0
    Wt = np.ascontiguousarray(W.T)
    t = U[:, 2].copy()
    for w in range(2):
        R = U @ W @ Vt if w == 0 else U @ Wt @ Vt
        pos = True
        neg = True
        for i in range(k):
            q1 = np.array([s1[i, 0], s1[i, 1], 1.0])
            q2 = np.array([s2[i, 0], s2[i, 1], 1.0])
            a = R @ q1
            c = np.cross(q2, a)
            l1 = -np.dot(np.cross(q2, t), c)
            l2 = np.dot(np.cross(a, t), -c)
            if not (l1 > 0.0 and l2 > 0.0):
                pos = False
            if not (l1 < 0.0 and l2 < 0.0):
                neg = False
            if not (pos or neg):
                break
        if pos or neg:
            return True
    return False


@njit(cache=True, inline="always")
def _normalise(x, i, Ki, out, k):
    """``out[k] = Ki (x_i, 1)``, dehomogenised."""
    u = Ki[0, 0] * x[i, 0] + Ki[0, 1] * x[i, 1] + Ki[0, 2]
    v = Ki[1, 0] * x[i, 0] + Ki[1, 1] * x[i, 1] + Ki[1, 2]
    w = Ki[2, 0] * x[i, 0] + Ki[2, 1] * x[i, 1] + Ki[2, 2]
    out[k, 0] = u / w
    out[k, 1] = v / w


@njit(cache=True)
def _search_kernel(kind, x1, x2, idx, start, X, t2, bound, sprt, stats, remaining,
                   degenerate_left, Ki1, Ki2, model, counts):
    """Solve and verify the samples ``idx[start:]`` until a root beats ``bound``.

    Parameters
    ----------
    kind : int
        7 (the 7-point F, pixels) or 5 (the 5-point E, normalised coordinates
        ``Ki (x, y, 1)``; verified through the pixel ``F = Ki2ᵀ E Ki1``).
    x1, x2 : float64 (N, 2)
        Matches, pixels.
    idx : int64 (B, kind)
        Pre-drawn samples.
    X : float64 (4, M)
        The matches in verification order (rows x1, y1, x2, y2).
    t2, bound : float
        Squared threshold; the best MSAC cost so far.
    sprt : float64 (3,)
        ``ε, δ, A``.
    stats : float64 (3,)
        SPRT statistics of dropped models (see :func:`_sprt_cost`), accumulated.
    remaining, degenerate_left : int
        Non-degenerate samples left in the budget; degenerate samples left before the cap.
    model : float64 (3, 3)
        Output: the root that beat ``bound`` (F, or E for ``kind`` 5).
    counts : int64 (5,)
        Output: the index after the last sample processed, the non-degenerate and the
        degenerate samples processed, 1 if ``model`` was written (else 0), and the
        number of roots verified.

    Returns
    -------
    float
        The MSAC cost of ``model`` (``bound`` when none beat it).
    """
    s = idx.shape[1]
    s1 = np.empty((s, 2))
    s2 = np.empty((s, 2))
    sols = np.empty((10, 3, 3))
    Fk = np.empty((3, 3))
    # work arrays of the 7-point solver
    A7 = np.empty((7, 9))
    F2 = np.empty((3, 3))
    D = np.empty((3, 3))
    M = np.empty((3, 3))
    g = np.empty(4)
    roots = np.empty(3)
    # work arrays of the 5-point solver
    w5 = _five_point_work()
    eps, delta, A = sprt[0], sprt[1], sprt[2]
    n_valid = 0
    n_degen = 0
    n_models = 0
    found = 0
    b = start
    while b < idx.shape[0]:
        for k in range(s):
            i = idx[b, k]
            if kind == 5:
                _normalise(x1, i, Ki1, s1, k)
                _normalise(x2, i, Ki2, s2, k)
            else:
                s1[k, 0] = x1[i, 0]
                s1[k, 1] = x1[i, 1]
                s2[k, 0] = x2[i, 0]
                s2[k, 1] = x2[i, 1]
        if kind == 5:
            nr = _five_point_hidden_core(s1, s2, sols, False, w5)
        else:
            nr = _seven_point_core(s1, s2, sols, A7, F2, D, M, g, roots)
        b += 1
        if nr == 0:
            n_degen += 1
            if n_degen >= degenerate_left:
                break
            continue
        n_valid += 1
        for r in range(nr):
            if not _oriented_ok(sols[r], s1, s2, s):
                continue
            n_models += 1
            if kind == 5:
                _pixel_f(sols[r], Ki1, Ki2, Fk)
                c = _sprt_cost(Fk, X, t2, eps, delta, A, bound, stats)
            else:
                c = _sprt_cost(sols[r], X, t2, eps, delta, A, bound, stats)
            # E: the full cheirality test of the sample, only for a root that would be the
            # new best (an SVD per root is too dear for every one)
            if c < bound and (kind != 5 or _cheiral_ok(sols[r], s1, s2, s)):
                bound = c
                model[:, :] = sols[r]
                found = 1
        if found or n_valid >= remaining:
            break
    counts[0] = b
    counts[1] = n_valid
    counts[2] = n_degen
    counts[3] = found
    counts[4] = n_models
    return bound


# ----------------------------------------------------------------------------- local optimisation


@njit(cache=True)
def _select_within(res, thr, prev, have_prev, ids):
    """The local optimisation's selection: the indices of ``res <= thr`` into ``ids``.

    Returns ``(m, same)``: their number, and whether ``have_prev`` and the selection equals
    the boolean mask ``prev`` (a refit from the same matches would repeat the last one).
    """
    m = 0
    same = have_prev
    for i in range(res.shape[0]):
        inl = res[i] <= thr
        if inl:
            ids[m] = i
            m += 1
        if same and inl != prev[i]:
            same = False
    return m, same


@njit(cache=True)
def _lo_kernel(kind, x1, x2, K1, K2, Ki1, Ki2, t, schedule, model, res, cost, out, out_res):
    """LO+ around ``model``: least-squares refits on the matches within a shrinking
    threshold, each from the last refit's residuals.

    Parameters
    ----------
    kind : int
        7: ``model`` is a pixel F; 5: an essential matrix (refit by the 8-point algorithm
        on pixels, ``E = K2ᵀ F K1`` projected onto the essential manifold, verified
        through ``F = Ki2ᵀ E Ki1``).
    x1, x2 : float64 (N, 2)
        Matches, pixels.
    K1, K2, Ki1, Ki2 : float64 (3, 3)
        Intrinsics and their inverses (identities for ``kind`` 7).
    t : float
        Inlier threshold, pixels.
    schedule : float64 (S,)
        Thresholds of the refits in units of ``t``; a refit at ``t`` whose inliers are
        those of the previous one ends the sequence.
    model, res, cost
        The starting model, its √Sampson residuals and MSAC cost.
    out, out_res : float64 (3, 3), (N,)
        Output: the model of lowest MSAC cost met (``model`` unless beaten) and its
        residuals.

    Returns
    -------
    float
        The MSAC cost of ``out``.
    """
    n = x1.shape[0]
    t2 = t * t
    out[:, :] = model
    out_res[:] = res
    best = cost
    cur = res.copy()
    r2 = np.empty(n)
    idx = np.empty(n, dtype=np.int64)
    prev = np.zeros(n, dtype=np.bool_)
    have_prev = False
    G = np.empty((3, 3))
    Fp = np.empty((3, 3))
    E = np.empty((3, 3))
    D = np.zeros((3, 3))
    D[0, 0] = 1.0 / math.sqrt(2.0)
    D[1, 1] = 1.0 / math.sqrt(2.0)
    for step in range(schedule.shape[0]):
        thr = schedule[step] * t
        m, same = _select_within(cur, thr, prev, have_prev, idx)
        if m < 8 or same:
            break
        if schedule[step] == 1.0:
            for i in range(n):
                prev[i] = cur[i] <= thr
            have_prev = True
        if not _eight_point_gram_kernel(x1, x2, idx[:m], G):
            break
        if kind == 5:
            U, _, Vt = np.linalg.svd(K2.T @ G @ K1)
            E[:, :] = U @ D @ Vt
            _pixel_f(E, Ki1, Ki2, Fp)
        else:
            E[:, :] = G
            Fp[:, :] = G
        _sampson_kernel(Fp, x1, x2, r2)
        c = 0.0
        for i in range(n):
            c += min(r2[i] * r2[i], t2)
        cur[:] = r2
        if c < best:
            best = c
            out[:, :] = E
            out_res[:] = r2
    return best


# ----------------------------------------------------------------------------- the SPRT's A


def sprt_threshold(eps: float, delta: float, sample_size: int) -> float:
    """Chum & Matas' optimal SPRT threshold ``A`` for inlier ratios ``ε`` (good model) and
    ``δ`` (wrong model) with the solver costs of ``sample_size``-point samples
    (``_SOLVER_COST``), or ``inf`` (no test) when ``ε <= δ``: :func:`sprt_a`."""
    t_m, m_s = _SOLVER_COST[sample_size]
    return sprt_a(eps, delta, t_m, m_s)


def sprt_a(eps: float, delta: float, t_m: float, m_s: float) -> float:
    """The SPRT threshold ``A`` (plain Python, compiled as is by the callers that need it).

    ``A`` solves ``A = K + 1 + log A`` with ``K = t_M C / m_S``: ``t_M`` the cost of a
    minimal solve in units of one match's verification, ``m_S`` the mean number of models
    per sample, ``C = (1 - δ) log((1 - δ) / (1 - ε)) + δ log(δ / ε)`` the expected
    information per match; kept at least ``_MIN_A``; ``inf`` unless ``0 < δ < ε < 1``.
    """
    if not (0.0 < delta < eps < 1.0):
        return math.inf
    C = (1.0 - delta) * math.log((1.0 - delta) / (1.0 - eps)) + delta * math.log(delta / eps)
    K = t_m * C / m_s
    A = K + 1.0
    for _ in range(20):
        A_next = K + 1.0 + math.log(A)
        if abs(A_next - A) <= 1e-6 * A:
            A = A_next
            break
        A = A_next
    return max(A, _MIN_A)


def trials_needed(w: float, sample_size: int, A: float, confidence: float) -> float:
    """Samples for one all-inlier sample to be drawn *and kept* with ``confidence``:
    ``log(1 - confidence) / log(1 - w^s (1 - 1/A))``."""
    p = w**sample_size * (1.0 - 1.0 / A)
    if p <= 0.0:
        return math.inf
    if p >= 1.0 - 1e-15:
        return 0.0
    den = math.log1p(-p)
    if den >= 0.0:
        return math.inf
    return math.log1p(-min(confidence, 1.0 - 1e-15)) / den


# ----------------------------------------------------------------------------- the search


def two_view_ransac(est, x1, x2, *, threshold_px, confidence, max_trials, rng, delta0,
                    Ki1=None, Ki2=None, complete=None, lo_iterations=6, polish=None):
    """RANSAC for F (``est.sample_size`` 7) or E (5, with ``Ki1``, ``Ki2``).

    Parameters
    ----------
    est : object
        ``sample_size`` and ``residuals(model, x1, x2)`` (√Sampson, pixels); the local
        optimisation is :func:`_lo_kernel` (8-point refits, projected onto the essential
        manifold for E).
    x1, x2 : float64 (N, 2)
        Matches, pixels, C-contiguous.
    threshold_px, confidence, max_trials
        As for :func:`~cvgeo.geometry.ransac.ransac`.
    rng : numpy.random.Generator
        Draws the verification order and the samples.
    delta0 : float
        Initial ``δ`` (chance that a match is consistent with a wrong model); then
        estimated from the dropped models.
    complete : callable or None
        ``complete(model, sample) -> list of models`` for each new best (DEGENSAC).
    lo_iterations : int
        At most this many refits per local optimisation (the first of ``_LO_SCHEDULE``).
    polish : callable or None
        ``polish(model) -> model``, run after a local optimisation that leaves more than
        ``_POLISH_LEFT`` samples to draw, and kept when its MSAC cost is lower (for E: a
        Sampson polish on the essential manifold, which the 8-point refits projected onto
        it do not reach; the inlier ratio of the best model sets the number of samples,
        to the power five).

    Returns
    -------
    RansacResult, int
        The result and the number of models (roots) verified, for the chance bound of
        the low-support warning.
    """
    x1 = np.ascontiguousarray(x1, dtype=np.float64)
    x2 = np.ascontiguousarray(x2, dtype=np.float64)
    n = x1.shape[0]
    s = int(est.sample_size)
    if n < s:
        raise DegenerateError(f"ransac: data must hold at least sample_size={s} items, "
                              f"got {n}")
    t = float(threshold_px)
    t2 = t * t
    order = rng.permutation(n)
    X = np.ascontiguousarray(np.concatenate([x1[order].T, x2[order].T]))
    eye = np.eye(3)
    Ki1 = eye if Ki1 is None else np.ascontiguousarray(Ki1, dtype=np.float64)
    Ki2 = eye if Ki2 is None else np.ascontiguousarray(Ki2, dtype=np.float64)
    stats = np.zeros(3)
    sprt = np.array([0.0, float(delta0), math.inf])
    model_buf = np.empty((3, 3))
    counts = np.zeros(5, dtype=np.int64)
    best_model = None
    best_cost = math.inf
    best_res = None
    needed = max_trials
    cap = _DEGENERATE_CAP * max_trials
    n_trials = n_valid = n_degen = n_models = 0

    def cost_of(res):
        return float(np.minimum(np.square(res), t2).sum())

    K1 = np.ascontiguousarray(np.linalg.inv(Ki1))
    K2 = np.ascontiguousarray(np.linalg.inv(Ki2))
    schedule = np.ascontiguousarray(_LO_SCHEDULE[:lo_iterations])
    lo_model = np.empty((3, 3))

    def local_opt(model, res, cost):
        # LO+ (Lebeda, Matas & Chum 2012): least squares on the matches within a
        # threshold shrinking from _LO_SCHEDULE[0] t to t, each refit from the last one
        # (a noisy minimal model sees only part of its consensus at t; the wider band
        # lets the rest in), keeping the model of lowest MSAC cost
        lo_res = np.empty(n)
        c = _lo_kernel(s, x1, x2, K1, K2, Ki1, Ki2, t, schedule,
                       np.ascontiguousarray(model, dtype=np.float64), res, float(cost),
                       lo_model, lo_res)
        model = lo_model.copy()
        w_lo = float(np.count_nonzero(lo_res <= t)) / n
        left = min(trials_needed(w_lo, s, max(sprt[2], _MIN_A), confidence), max_trials) - n_valid
        if polish is not None and left > _POLISH_LEFT:
            p = polish(model)
            p_res = est.residuals(p, x1, x2)
            p_cost = cost_of(p_res)
            if p_cost < c:
                return p, p_res, p_cost
        return model, lo_res, c

    best_optimised = False

    def offer(model, res, cost=None):
        nonlocal best_model, best_cost, best_res, needed, best_optimised
        if cost is None:
            cost = cost_of(res)
        if not cost < best_cost:
            return False
        best_optimised = n_valid >= _LO_AFTER
        if best_optimised:
            best_model, best_res, best_cost = local_opt(model, res, cost)
        else:
            best_model, best_res, best_cost = model, res, cost
        w = float(np.count_nonzero(best_res <= t)) / n
        sprt[0] = w
        sprt[2] = sprt_threshold(w, sprt[1], s)
        k = trials_needed(w, s, sprt[2], confidence)
        needed = max_trials if not k < max_trials else max(1, math.ceil(k))
        return True

    while n_valid < needed and n_degen < cap:
        count = min(_CHUNK, needed - n_valid)
        idx = _draw_samples(rng, n, s, count)
        j = 0
        while j < count and n_valid < needed and n_degen < cap:
            cost = _search_kernel(s, x1, x2, idx, j, X, t2, best_cost, sprt, stats,
                                  needed - n_valid, cap - n_degen, Ki1, Ki2, model_buf,
                                  counts)
            stop, v, d, found, m_count = (int(c) for c in counts)
            n_models += m_count
            n_trials += stop - j
            n_valid += v
            n_degen += d
            j = stop
            if stats[2] >= 10:  # δ from the dropped models (at least 10 of them)
                delta = float(np.clip(stats[1] / stats[0], 1e-4, 0.5))
                if abs(delta - sprt[1]) > 0.05 * sprt[1]:
                    sprt[1] = delta
                    sprt[2] = sprt_threshold(sprt[0], delta, s)
            if found:
                m = model_buf.copy()
                res = est.residuals(m, x1, x2)
                # DEGENSAC's test, like LO, waits for the end of the first _LO_AFTER samples
                if offer(m, res, cost) and complete is not None and best_optimised:
                    sample = idx[stop - 1]
                    for c in complete(m, sample) or ():
                        offer(c, est.residuals(c, x1, x2))
    if best_model is None:
        raise DegenerateError(f"ransac: every one of the {n_trials} minimal samples was "
                              f"degenerate (coincident or collinear points, or rejected by "
                              f"the estimator's checks); no model found")
    if not best_optimised:
        best_model, best_res, best_cost = local_opt(best_model, best_res, best_cost)
    res = best_res
    return RansacResult(model=best_model, inlier_mask=res <= t, n_trials=n_trials,
                        n_degenerate=n_degen, residuals=res), n_models
