"""Planar degeneracy of the fundamental matrix: DEGENSAC's test and plane-and-parallax.

When most matches lie on one plane, a 7-point sample with five or more points on the
plane gives a fundamental matrix that fits the plane and whatever else happens to agree;
RANSAC keeps it because the plane alone brings most of the support. DEGENSAC (Chum,
Werner & Matas 2005) tests the sample of every new best model: the homographies
compatible with ``F`` through three of its matches are checked against the other four,
and when one is consistent with five or more of the seven, ``F`` is completed from that
homography and two matches off the plane (plane and parallax: ``F = [e2]x H`` with the
epipole ``e2`` the intersection of the two parallax lines ``(H x1) × x2``).

Models that share the plane are ranked on the matches off it (:func:`off_plane_scorer`):
the plane's matches fit every ``[e2]x H`` and say nothing of ``e2``, yet their summed
cost moves with it by noise.

When no match off the plane agrees with any ``F`` beyond what chance gives, the scene is
planar (or the motion a pure rotation) and ``F`` is not determined.

References
----------
O. Chum, T. Werner, J. Matas, "Two-view geometry estimation unaffected by a dominant
plane", CVPR 2005. doi:10.1109/CVPR.2005.354.
R. Hartley, A. Zisserman, "Multiple View Geometry in Computer Vision", 2nd ed., 2004,
result 13.6 (the homographies compatible with F) and 13.3 (plane plus parallax).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cvgeo._checks import DegenerateError
from cvgeo.geometry._common import _left_null_cross
from cvgeo.geometry._homography_refine import _transfer_sq
from cvgeo.geometry.epipolar.kernels import _sampson_kernel, _score_batch_kernel, _soa
from cvgeo.geometry.homography import _dlt_lsq, _transfer
from cvgeo.geometry.ransac import _chance_support, _draw_samples, _epipolar_chance

#: the five triplets of a 7-point sample of which any five points contain one
_TRIPLETS = np.array([[0, 1, 2], [3, 4, 5], [0, 1, 6], [3, 4, 6], [2, 5, 6]], dtype=np.int64)
#: matches within this many thresholds of their transfer by H are on the plane
_PLANE_FACTOR = 2.0
#: the sample test is looser: its H comes from three noisy matches and a noisy F
_SAMPLE_FACTOR = 4.0
#: the planarity test counts as off the plane only matches beyond this many thresholds of
#: H: at 2 thresholds the noise tail of the plane's own matches (transfer noise is about
#: twice the per-image noise) still lands some there, and F fits them since they are on
#: the plane
_SUPPORT_PLANE_FACTOR = 3.0
#: at most this many pairs of off-plane matches (epipoles) are tried by plane and parallax
_PARALLAX_PAIRS = 10_000


@njit(cache=True)
def _left_epipole(F, e2):
    """The unit ``e2`` with ``Fᵀ e2 = 0`` into ``e2``; False when ``F`` has rank below 2."""
    e2[0], e2[1], e2[2], best = _left_null_cross(F)
    n = math.sqrt(best)
    if not n > 0.0:
        return False
    e2 /= n
    return True


@njit(cache=True)
def _compatible_h(F, e2, x1, x2, tri, H):
    """The homography compatible with ``F`` through the three matches ``tri`` into ``H``.

    ``H = A - e2 (M⁻¹ b)ᵀ`` with ``A = [e2]x F``, ``M`` the rows ``x1_iᵀ`` and
    ``b_i = (x2_i × A x1_i)ᵀ (x2_i × e2) / |x2_i × e2|²`` (Hartley & Zisserman 13.6).
    Returns False when the three points are collinear or a match sits on the epipole.
    """
    A = np.empty((3, 3))
    for j in range(3):  # A = [e2]x F
        A[0, j] = e2[1] * F[2, j] - e2[2] * F[1, j]
        A[1, j] = e2[2] * F[0, j] - e2[0] * F[2, j]
        A[2, j] = e2[0] * F[1, j] - e2[1] * F[0, j]
    M = np.empty((3, 3))
    b = np.empty(3)
    for r in range(3):
        i = tri[r]
        p = np.array([x1[i, 0], x1[i, 1], 1.0])
        q = np.array([x2[i, 0], x2[i, 1], 1.0])
        Ap = A @ p
        u = np.cross(q, Ap)
        v = np.cross(q, e2)
        vv = v @ v
        if not vv > 0.0:
            return False
        M[r] = p
        b[r] = (u @ v) / vv
    det = np.linalg.det(M)
    if not abs(det) > 1e-12 * np.abs(M).max() ** 3:
        return False
    w = np.linalg.solve(M, b)
    for i in range(3):
        for j in range(3):
            H[i, j] = A[i, j] - e2[i] * w[j]
    return True


@njit(cache=True)
def _sample_plane_kernel(F, s1, s2, t2, H):
    """DEGENSAC's test of a 7-point sample: a homography compatible with F through one of
    the five triplets on which five or more of the seven points lie (transfer error²
    ``<= t2``); written into ``H``. Returns the number of points on it (0 if none)."""
    e2 = np.empty(3)
    if not _left_epipole(F, e2):
        return 0
    G = np.empty((3, 3))
    best = 0
    for k in range(_TRIPLETS.shape[0]):
        if not _compatible_h(F, e2, s1, s2, _TRIPLETS[k], G):
            continue
        cnt = 0
        for i in range(s1.shape[0]):
            if _transfer_sq(G, s1, s2, i) <= t2:
                cnt += 1
        if cnt > best:
            best = cnt
            H[:, :] = G
    return best if best >= 5 else 0


@njit(cache=True)
def _parallax_models_kernel(H, x1, x2, pairs, Fs, valid):
    """``F = [e2]x H`` with ``e2 = (H x1_a × x2_a) × (H x1_b × x2_b)`` for each pair."""
    for k in range(pairs.shape[0]):
        lines = np.empty((2, 3))
        for r in range(2):
            i = pairs[k, r]
            p = H @ np.array([x1[i, 0], x1[i, 1], 1.0])
            q = np.array([x2[i, 0], x2[i, 1], 1.0])
            lines[r] = np.cross(p, q)
        e = np.cross(lines[0], lines[1])
        n = math.sqrt(e @ e)
        valid[k] = n > 0.0
        if not valid[k]:
            continue
        e /= n
        for j in range(3):
            Fs[k, 0, j] = e[1] * H[2, j] - e[2] * H[1, j]
            Fs[k, 1, j] = e[2] * H[0, j] - e[0] * H[2, j]
            Fs[k, 2, j] = e[0] * H[1, j] - e[1] * H[0, j]


def off_plane_scorer(H, x1, x2, t):
    """The matches off the plane of ``H`` and the MSAC cost restricted to them.

    Every ``F = [e2]x H`` fits the plane's matches whatever ``e2``, so they carry no
    information on the epipole; but the sum of their truncated Sampson costs still
    varies with the direction of the epipolar lines through them, by about
    ``σ² √n_plane`` (the noise of a few hundred matches projected on a direction chosen
    after the fact), which outweighs the support of a few dozen matches off the plane.
    Models that share the plane are therefore compared on the matches off it only.

    Returns
    -------
    off : ndarray of int64
        Matches beyond ``2 t`` of their transfer by ``H``.
    score : callable
        ``score(Fs, bound) -> costs``: MSAC costs on ``off`` (``inf`` for a model that
        cannot beat ``bound`` or an earlier model of the stack).
    """
    off = np.flatnonzero(_transfer(H, x1, x2) > _PLANE_FACTOR * t)
    X = _soa(x1[off], x2[off])
    t2 = float(t) ** 2

    def score(Fs, bound):
        Fs = np.ascontiguousarray(Fs, dtype=np.float64)
        return _score_batch_kernel(Fs, X, X, t2, float(bound), np.empty(len(Fs)))

    return off, score


def plane_and_parallax(H, x1, x2, t, rng, confidence=0.999, max_samples=_PARALLAX_PAIRS):
    """The best ``F = [e2]x H`` over pairs of matches off the plane of ``H``.

    Parameters
    ----------
    H : ndarray (3, 3)
        The plane's homography (image 1 -> image 2); refitted first (:func:`refine_plane`).
    x1, x2 : ndarray (N, 2)
        All matches, pixels.
    t : float
        Inlier threshold (√Sampson, pixels).
    rng : numpy.random.Generator
    confidence, max_samples
        Pairs are drawn until an all-inlier pair has been drawn with ``confidence``
        (for the off-plane inlier ratio of the best model so far), at most
        ``max_samples``.

    Returns
    -------
    (F, cost, H, score) or (None, inf, H, score)
        The best completion, its MSAC cost on the matches off the plane, the refitted
        plane and the scorer of those matches (:func:`off_plane_scorer`): candidates
        differ only off the plane, so they are ranked there.
    """
    H = refine_plane(H, x1, x2, t)
    off, score = off_plane_scorer(H, x1, x2, t)
    if off.size < 2:
        return None, math.inf, H, score
    x1c = np.ascontiguousarray(x1)
    x2c = np.ascontiguousarray(x2)
    best_F, best_cost = None, math.inf
    drawn = 0
    needed = max_samples
    while drawn < needed:
        count = min(128, needed - drawn)
        pairs = off[_draw_samples(rng, off.size, 2, count)]
        Fs = np.zeros((count, 3, 3))
        valid = np.zeros(count, dtype=bool)
        _parallax_models_kernel(H, x1c, x2c, pairs, Fs, valid)
        drawn += count
        if not valid.any():
            continue
        costs = score(Fs[valid], best_cost)
        k = int(np.argmin(costs))
        if costs[k] < best_cost:
            best_F, best_cost = Fs[valid][k].copy(), float(costs[k])
            # off-plane inliers of the new best set the budget of pairs
            res = _sampson_kernel(best_F, x1c, x2c, np.empty(len(x1c)))
            w = np.count_nonzero(res[off] <= t) / off.size
            if w > 0:
                p = w * w
                k_needed = math.log(1 - confidence) / math.log1p(-min(p, 1 - 1e-12))
                needed = int(min(max_samples, max(drawn, math.ceil(k_needed))))
    if best_F is not None:
        best_F, best_cost = _refit_epipole(H, x1c, x2c, off, t, best_F, best_cost, score)
    return best_F, best_cost, H, score


def _refit_epipole(H, x1, x2, off, t, F, cost, score, iterations=3):
    """Least-squares epipole from all off-plane inliers: ``e2`` is the point closest to
    their parallax lines ``(H x1) × x2`` (unit-normalised lines, smallest singular
    vector); kept while the MSAC cost drops."""
    h1 = np.c_[x1, np.ones(len(x1))] @ H.T
    h2 = np.c_[x2, np.ones(len(x2))]
    for _ in range(iterations):
        res = _sampson_kernel(F, x1, x2, np.empty(len(x1)))
        sel = off[res[off] <= t]
        if sel.size < 3:
            break
        L = np.cross(h1[sel], h2[sel])
        L /= np.linalg.norm(L[:, :2], axis=1, keepdims=True)
        e = np.linalg.svd(L, full_matrices=False)[2][-1]
        G = np.cross(e, H.T).T  # [e]x H, column by column
        G /= np.linalg.norm(G)
        c = float(score(G[None], cost)[0])
        if not c < cost:
            break
        F, cost = G, c
    return F, cost


def refine_plane(H, x1, x2, t, iterations=4):
    """Least-squares refits (normalised DLT) of ``H`` on its matches, at a threshold
    shrinking from 4 to 2 ``t``: the sample's H rests on three noisy matches."""
    for k in np.linspace(_SAMPLE_FACTOR, _PLANE_FACTOR, iterations):
        inl = _transfer(H, x1, x2) <= k * t
        if inl.sum() < 8:
            break
        try:
            H = _dlt_lsq(x1[inl], x2[inl])
        except DegenerateError:
            break
    return H


def sample_plane(F, s1, s2, t):
    """DEGENSAC's test: the homography compatible with ``F`` on >= 5 of the 7 sample
    points (transfer error ``<= 4 t``: that H rests on three noisy matches), or None."""
    H = np.empty((3, 3))
    n = _sample_plane_kernel(np.ascontiguousarray(F), np.ascontiguousarray(s1),
                             np.ascontiguousarray(s2), (_SAMPLE_FACTOR * t) ** 2, H)
    return H if n else None


def complete_dominant_plane(F, H, x1, x2, t, rng):
    """DEGENSAC's completion of the final model when its inliers are plane-dominated.

    ``H`` is the dominant plane of the inliers
    (:func:`cvgeo.geometry._degensac.dominant_plane`); ``F`` is completed from that plane
    and the matches off it (:func:`plane_and_parallax`). The two are compared by their
    MSAC cost on the matches off the plane (the plane's matches fit both, and their cost
    varies with the epipole by noise alone, :func:`off_plane_scorer`).

    Returns
    -------
    F : ndarray (3, 3)
        The completion when it is the better, else ``F``.
    completed : bool
        Whether it is the completion.
    score : callable
        The scorer of the matches off the plane, to judge later changes of ``F`` by.
    """
    Fp, cost, _, score = plane_and_parallax(H, x1, x2, t, rng)
    if Fp is not None and cost < float(score(np.asarray(F)[None], np.inf)[0]):
        return Fp, True, score
    return F, False, score


def planar_support(func, x1, x2, inliers, H, t):
    """Raise :class:`DegenerateError` when the inliers of ``F`` are a plane plus chance.

    ``H`` is the dominant plane of the inliers (None: there is none, nothing to do).
    The inliers of ``F`` off that plane are what determines ``F`` beyond the plane.
    When they are no more than random matches give (the two of a parallax pair plus the
    Poisson count of the other off-plane matches landing within ``t`` of their epipolar
    line by chance that the best of the ``_PARALLAX_PAIRS`` epipoles tried by
    :func:`plane_and_parallax` exceeds with probability below 1e-3), the scene is planar
    or the motion a pure rotation: F is not determined. Off the plane means beyond
    ``3 t`` of ``H`` here (chosen on benchmarks/bench_general_motion.py's planar and
    plane-dominated scenes: at 2 t the noise tail of the plane's own matches counts).
    """
    if H is None:
        return
    n_in = int(inliers.sum())
    on = _transfer(H, x1, x2) <= _SUPPORT_PLANE_FACTOR * t
    on_plane = int((on & inliers).sum())
    off_support = n_in - on_plane
    bound = _chance_support(int((~on).sum()), 2, _epipolar_chance(x2, t),
                           _PARALLAX_PAIRS)
    if off_support <= bound:
        raise DegenerateError(
            f"{func}: the matches must not all fit one homography, got {on_plane} of the "
            f"{n_in} inliers on a single homography (within {_SUPPORT_PLANE_FACTOR * t:g} px) and "
            f"only {off_support} off it, no more than chance gives ({bound:.1f}): a planar "
            "scene or a pure rotation, F is not determined")
