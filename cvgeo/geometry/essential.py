"""The calibrated two-view problem: essential matrices from five matches, robustly.

Conventions are those of :mod:`cvgeo.geometry.epipolar`: ``x2ᵀ F x1 = 0`` in pixels,
``q2ᵀ E q1 = 0`` for normalised points ``q = K⁻¹ x``, ``E = [t]x R`` with camera 2
``[R | t]`` when camera 1 is ``[I | 0]``, ``t`` of unit norm, ``det R = +1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from cvgeo._checks import (
    DegenerateError,
    check_bool,
    check_int,
    check_matrix,
    check_points,
    check_points_pair,
    check_real,
    check_seed,
    names_errors_as,
    renamed_parameters,
)
from cvgeo.geometry._common import _ConceptModel
from cvgeo.geometry._fivepoint import _five_point_kernel
from cvgeo.geometry._pose_polish import polish_pose, refine_pose
from cvgeo.geometry._twoview_ransac import two_view_ransac
from cvgeo.geometry.epipolar.kernels import (
    _msac_cost_kernel,
    _sampson_kernel,
    _soa,
)
from cvgeo.geometry.epipolar.pose import _cheirality, decompose_essential
from cvgeo.geometry.epipolar.robust import _eight_point_fit, _inner_lo
from cvgeo.geometry.ransac import (
    MAX_THRESHOLD_PX,
    MAX_TRIALS,
    _epipolar_chance,
    _warn_low_support,
)

__all__ = ["EssentialResult", "essential_5point", "find_essential"]

#: Levenberg–Marquardt iterations of the Sampson polish inside the robust loop (one
#: unweighted-threshold round on each locally optimised best model)
_LO_POLISH_ITER = 5

#: scale of Tukey's biweight in the final refinement, in thresholds (the Gaussian
#: efficiency of the biweight grows with its scale, its pull towards the outliers that
#: fall near an epipolar line by chance too; 2.5 thresholds is about 5 σ at the usual
#: threshold of 2 σ)
_FINAL_TUKEY_C = 2.5

#: matches within this many thresholds of an epipole sit out the final refinement
_EPIPOLE_RADIUS = 25.0


def _skew(t):
    return np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])


def essential_5point(q1: np.ndarray, q2: np.ndarray) -> list[np.ndarray]:
    """Essential matrices from five matches in normalised coordinates (Nistér).

    Parameters
    ----------
    q1, q2 : ndarray of shape (5, 2)
        Matches in normalised camera coordinates ``K⁻¹ x`` (inhomogeneous), not pixels.

    Returns
    -------
    list of ndarray of shape (3, 3)
        Between 0 and 10 real solutions ``E`` with ``q2ᵀ E q1 = 0``, each of unit
        Frobenius norm (sign arbitrary). The right one is found with a sixth match or by
        consensus (:func:`find_essential`).

    Raises
    ------
    DegenerateError
        The five matches do not give five independent equations (repeated matches),
        or the elimination fails (a degenerate configuration).
    ValueError, TypeError
        Shapes other than ``(5, 2)``, NaN or inf.

    Notes
    -----
    The five equations ``q2ᵀ E q1 = 0`` leave ``E = x X + y Y + z Z + W`` (their null
    space); ``det E = 0`` and ``2 E Eᵀ E - tr(E Eᵀ) E = 0`` are ten cubics in
    ``(x, y, z)``. Gauss–Jordan elimination on their 10 x 20 coefficient matrix gives the
    ten cubic monomials in terms of the ten monomials of degree <= 2; the action matrix
    of multiplication by ``x`` on those ten is read off, and its real eigenvectors give
    ``(x, y, z)`` and hence ``E``.

    References
    ----------
    D. Nistér, "An efficient solution to the five-point relative pose problem", IEEE TPAMI
    26(6), 2004. doi:10.1109/TPAMI.2004.17.
    H. Stewénius, C. Engels, D. Nistér, "Recent developments on direct relative
    orientation", ISPRS J. Photogrammetry and Remote Sensing 60(4), 2006.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (5, 3)) + [0, 0, 5]
    >>> t = np.array([1.0, 0.0, 0.0])
    >>> q1, q2 = X[:, :2] / X[:, 2:], (X + t)[:, :2] / (X + t)[:, 2:]
    >>> sols = essential_5point(q1, q2)
    >>> E = np.array([[0, 0, 0], [0, 0, -1], [0, 1, 0]]) / np.sqrt(2)  # [t]x, R = I
    >>> any(np.allclose(abs(S), abs(E), atol=1e-9) for S in sols)
    True
    """
    func = "essential_5point"
    a = check_points(q1, func, "q1")
    b = check_points(q2, func, "q2")
    for p, name in ((a, "q1"), (b, "q2")):
        if p.shape[0] != 5:
            raise ValueError(f"{func}: {name} must have shape (5, 2), got shape {p.shape}")
    out = np.empty((10, 3, 3))
    n = _five_point_kernel(np.ascontiguousarray(a), np.ascontiguousarray(b), out)
    if n == 0 and _rank5(a, b) < 5:
        raise DegenerateError(f"{func}: the 5 matches must give independent equations, got "
                              "a rank-deficient system (repeated or degenerate matches)")
    return [out[k].copy() for k in range(n)]


def _rank5(a, b):
    Q = np.einsum("ni,nj->nij", np.c_[b, np.ones(5)], np.c_[a, np.ones(5)]).reshape(5, 9)
    s = np.linalg.svd(Q, compute_uv=False)
    return int(np.sum(s > 1e-12 * s[0]))


# --------------------------------------------------------------------------- robust estimation


@njit(cache=True)
def _normalise_sample(s, Ki, out):
    """Pixels ``s`` (k, 2) to normalised coordinates ``Ki (x, y, 1)`` into ``out``."""
    for i in range(s.shape[0]):
        u = Ki[0, 0] * s[i, 0] + Ki[0, 1] * s[i, 1] + Ki[0, 2]
        v = Ki[1, 0] * s[i, 0] + Ki[1, 1] * s[i, 1] + Ki[1, 2]
        w = Ki[2, 0] * s[i, 0] + Ki[2, 1] * s[i, 1] + Ki[2, 2]
        out[i, 0] = u / w
        out[i, 1] = v / w


def _project_to_essential(E):
    """The nearest essential matrix (singular values ``(1, 1, 0)``), unit Frobenius norm."""
    U, _, Vt = np.linalg.svd(E)
    return (U * np.array([1.0, 1.0, 0.0])) @ Vt / math.sqrt(2.0)


class _EssentialEstimator:
    """The ransac estimator protocol for E on pixel matches with known intrinsics.

    Models are essential matrices (normalised coordinates); residuals are the √Sampson
    distances of ``F = K2⁻ᵀ E K1⁻¹`` in pixels. The robust loop
    (:func:`~cvgeo.geometry._twoview_ransac.two_view_ransac`) solves and verifies the
    minimal samples itself; ``fit`` (local optimisation) is the normalised 8-point
    algorithm projected onto the essential manifold.
    """

    sample_size = 5

    def __init__(self, x1, x2, Ki1, Ki2, t):
        self.Ki1 = np.ascontiguousarray(Ki1)
        self.Ki2 = np.ascontiguousarray(Ki2)

    def pixel_f(self, E):
        return self.Ki2.T @ E @ self.Ki1

    def fit_minimal(self, x1, x2):
        q1 = np.empty((5, 2))
        q2 = np.empty((5, 2))
        _normalise_sample(np.ascontiguousarray(x1), self.Ki1, q1)
        _normalise_sample(np.ascontiguousarray(x2), self.Ki2, q2)
        out = np.empty((10, 3, 3))
        k = _five_point_kernel(q1, q2, out)
        return [out[i] for i in range(k)]

    def fit(self, x1, x2):
        F = _eight_point_fit(x1, x2, "find_essential: the local refit needs at least 8 matches",
                             "find_essential: the inliers must determine E")
        return _project_to_essential(np.linalg.inv(self.Ki2).T @ F @ np.linalg.inv(self.Ki1))

    def residuals(self, E, x1, x2):
        return _sampson_kernel(self.pixel_f(E), np.ascontiguousarray(x1),
                               np.ascontiguousarray(x2), np.empty(len(x1)))


@dataclass(frozen=True)
class EssentialResult(_ConceptModel):
    """Result of :func:`find_essential`.

    Attributes
    ----------
    E : ndarray of shape (3, 3)
        ``[t]x R`` at unit Frobenius norm (singular values ``(1, 1, 0) / √2``);
        ``q2ᵀ E q1 = 0`` for normalised points ``q = K⁻¹ x``.
    R : ndarray of shape (3, 3)
        Rotation camera 1 -> camera 2 chosen by cheirality, ``det R = +1``.
    t : ndarray of shape (3,)
        Unit translation direction, ``X2 = R X1 + t`` up to scale.
    inlier_mask : ndarray of shape (N,), bool
        Matches within ``threshold_px`` (√Sampson distance) of ``E``.
    in_front : ndarray of shape (N,), bool
        Inliers that triangulate in front of both cameras with ``(R, t)``.
    residuals : ndarray of shape (N,), float64
        √Sampson distance of every match under ``E``, in the units of the points (pixels
        when K1 is given).
    n_trials : int
        Minimal samples drawn (degenerate ones included).
    n_degenerate : int
        Minimal samples that gave no real solution.

    Every robust result names its model ``model`` (as :class:`~cvgeo.geometry.ransac.
    RansacResult` does) and by its concept: here ``model`` is ``E``.
    """

    E: np.ndarray
    R: np.ndarray
    t: np.ndarray
    inlier_mask: np.ndarray
    in_front: np.ndarray
    residuals: np.ndarray
    n_trials: int
    n_degenerate: int

    _concept = "E"


def _check_intrinsics(K, func, name):
    K = check_matrix(K, func, name)
    if K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] == 0 or K[0, 0] * K[1, 1] == 0:
        raise ValueError(f"{func}: {name} must be an intrinsic matrix [[fx, s, cx], "
                         f"[0, fy, cy], [0, 0, 1]], got {K.tolist()}")
    return K / K[2, 2]


def _select_pose(E, p1, p2, Ki1, Ki2, sel):
    """The (R, t) of ``E`` putting most of the selected matches in front of both cameras."""
    q1 = p1[sel] @ Ki1[:2, :2].T + Ki1[:2, 2]
    q2 = p2[sel] @ Ki2[:2, :2].T + Ki2[:2, 2]
    poses = decompose_essential(E)
    counts = [int(_cheirality(p.R, p.t, q1, q2).sum()) for p in poses]
    best = int(np.argmax(counts))
    return poses[best].R, poses[best].t / np.linalg.norm(poses[best].t), counts[best]


def _off_epipoles(R, t, p1, p2, K1, K2, radius, inl):
    """Matches farther than ``radius`` from both epipoles of the pose; all of them when
    that leaves fewer than half of the inliers ``inl`` (or fewer than 6).

    Every epipolar line passes through the epipole, so a chance match near it is
    explained by a small move of the epipole, i.e. of the translation direction, and a
    robust cost rewards that move; the inliers there carry little of the pose.
    """
    keep = np.ones(len(p1), dtype=bool)
    for e, p in ((K2 @ t, p2), (K1 @ (-R.T @ t), p1)):
        if abs(e[2]) > 1e-12 * np.linalg.norm(e):
            keep &= np.hypot(p[:, 0] - e[0] / e[2], p[:, 1] - e[1] / e[2]) > radius
    if np.count_nonzero(keep & inl) < max(6, inl.sum() / 2):
        keep[:] = True
    return keep


@renamed_parameters(max_iterations="max_iter")
@names_errors_as("ransac")
def find_essential(
    x1: np.ndarray,
    x2: np.ndarray,
    *,
    K1: np.ndarray | None = None,
    K2: np.ndarray | None = None,
    threshold_px: float = 1.0,
    confidence: float = 0.999,
    max_trials: int = 10_000,
    seed: Any = 0,
    inner_samples: int = 10,
    refine: bool = True,
    max_iter: int = 20,
) -> EssentialResult:
    """Essential matrix and relative pose from matches, robustly (5-point RANSAC).

    Parameters
    ----------
    x1, x2 : ndarray of shape (N, 2)
        Matches, ``N >= 5``: pixels when ``K1`` is given, otherwise normalised camera
        coordinates ``K⁻¹ x`` (inhomogeneous).
    K1, K2 : ndarray of shape (3, 3), optional
        Intrinsics of the two cameras. ``K2=None`` with ``K1`` given uses ``K1`` for both;
        both None means the points are already normalised (``K = I``), and
        ``threshold_px`` is then in normalised units (a pixel threshold divided by the
        focal length).
    threshold_px : float
        Inlier threshold on the √Sampson distance of ``F = K2⁻ᵀ E K1⁻¹``, in pixels
        (> 0); around 1.5–3 σ of the point noise.
    confidence : float
        RANSAC stopping confidence in (0, 1).
    max_trials : int
        Cap on the minimal samples drawn.
    seed : int, Generator or None
        Random source; the default makes the call reproducible.
    inner_samples : int
        Non-minimal samples (14 matches) of LO-RANSAC's inner RANSAC around the RANSAC
        model, fitted by the 8-point algorithm and projected onto the essential manifold;
        the result replaces the model when its MSAC cost is lower. 0 disables it.
    refine : bool
        Finish with a Levenberg–Marquardt minimisation over the five degrees of freedom
        of the pose of a robust cost of the Sampson distances (pixels) of the matches:
        Tukey's biweight of scale ``2.5 threshold_px``, reweighted at every iteration;
        matches within ``25 threshold_px`` of an epipole are left out (Notes).
    max_iter : int
        Levenberg–Marquardt iterations of that refinement. (Formerly ``max_iterations``;
        that keyword works for one release, with a ``DeprecationWarning``.)

    Returns
    -------
    EssentialResult
        ``E``, ``R``, ``t``, ``inlier_mask``, ``in_front``, ``residuals``, ``n_trials``,
        ``n_degenerate``.

    Raises
    ------
    DegenerateError
        Fewer than 5 matches; every sample degenerate; fewer than 5 inliers; no pose
        puts the inliers in front of both cameras.
    ValueError, TypeError
        Bad shapes, NaN or inf, intrinsics that are not ``[[fx, s, cx], [0, fy, cy],
        [0, 0, 1]]``, bad options.

    Warns
    -----
    RuntimeWarning
        Low support: the inliers are no more than random matches would give (the 5 of
        the sample plus the count of matches falling within ``threshold_px`` of an
        epipolar line by chance that the best of the hypotheses tried exceeds with
        probability below 1e-3): the pose is likely wrong.

    Notes
    -----
    1. RANSAC (the loop of :func:`~cvgeo.geometry.ransac.ransac`, compiled) draws 5
       matches, solves them with Nistér's hidden-variable form of
       :func:`essential_5point` (up to 10 roots), and verifies every root with Wald's
       SPRT and the truncated quadratic MSAC cost of the pixel √Sampson distance (Chum &
       Matas, "Optimal randomized RANSAC", 2008); each new best model is refitted on its
       inliers (LO-RANSAC) by the normalised 8-point algorithm projected onto the
       essential manifold.
    2. The four poses ``(R, ±t)`` of ``E`` are triangulated; the one with most inliers
       in front of both cameras is kept (cheirality, Hartley & Zisserman 9.6.3).
    3. ``refine``: ``E = [t]x R`` is parametrised on the manifold (a rotation update
       ``exp([w]x) R`` and ``t`` moved in its tangent plane and renormalised) and
       Tukey's biweight of the Sampson distances in pixels of every match minimised by
       Levenberg–Marquardt, its weights recomputed at every iteration and each step
       accepted only if it lowers the robust cost. A hard inlier threshold would keep
       the inlier set that the RANSAC model chose, and the truncation bias with it;
       weights frozen over several iterations let a start that some chance outliers pull
       off stay in their basin. The scale (2.5 thresholds, about 5 σ) keeps most of the
       least-squares efficiency on the inliers; at 70 % outliers a narrower one lets
       fewer chance outliers in but wastes more of the inliers. Matches within 25
       thresholds of an epipole (when that leaves at least half of the inliers) sit the
       refinement out: every epipolar line passes through the epipole, so an outlier
       near it costs nothing once the epipole moves onto it, and under forward motion
       (the epipole in the image) such chance matches pull the translation direction.

    References
    ----------
    D. Nistér, "An efficient solution to the five-point relative pose problem", IEEE TPAMI
    26(6), 2004. O. Chum, J. Matas, J. Kittler, "Locally optimized RANSAC", DAGM 2003.

    Examples
    --------
    >>> from cvgeo.datasets import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(200, seed=0, noise_px=0.5, outlier_fraction=0.3)
    >>> r = find_essential(s.x1, s.x2, K1=s.K1, K2=s.K2, threshold_px=1.5)
    >>> bool(np.degrees(np.arccos((np.trace(r.R.T @ s.R) - 1) / 2)) < 0.5)
    True
    """
    func = "find_essential"
    p1, p2 = check_points_pair(x1, x2, func, min_count=5)
    if K1 is None:
        if K2 is not None:
            raise ValueError(f"{func}: K2 needs K1 (both None means normalised points), got "
                             "K1=None and a K2")
        K1 = K2 = np.eye(3)
    else:
        K1 = _check_intrinsics(K1, func, "K1")
        K2 = K1 if K2 is None else _check_intrinsics(K2, func, "K2")
    t = check_real(threshold_px, func, "threshold_px", low=0.0, high=MAX_THRESHOLD_PX,
                   low_inclusive=False)
    iters = check_int(max_iter, func, "max_iter", low=0, high=10_000)
    inner_samples = check_int(inner_samples, func, "inner_samples", low=0, high=10_000)
    refine = check_bool(refine, func, "refine")
    rng = check_seed(seed, func)
    Ki1, Ki2 = np.linalg.inv(K1), np.linalg.inv(K2)
    confidence = check_real(confidence, func, "confidence", low=0.0, high=1.0,
                            low_inclusive=False, high_inclusive=False)
    max_trials = check_int(max_trials, func, "max_trials", low=1, high=MAX_TRIALS)
    est = _EssentialEstimator(p1, p2, Ki1, Ki2, t)

    def lo_polish(E):
        # any of the four poses of E parametrises it: the Sampson error sees only E
        pose = decompose_essential(E)[0]
        R, tv = polish_pose(est, pose.R, pose.t / np.linalg.norm(pose.t), p1, p2, K1, K2,
                            t, _LO_POLISH_ITER, rounds=1)
        return _skew(tv) @ R

    r, n_models = two_view_ransac(est, p1, p2, threshold_px=t, confidence=confidence,
                                  max_trials=max_trials, rng=rng,
                                  delta0=_epipolar_chance(p2, t),
                                  Ki1=Ki1, Ki2=Ki2, polish=lo_polish if refine else None)
    E = _project_to_essential(r.model)
    if inner_samples:
        # LO-RANSAC's inner RANSAC (as for F), on the pixel F of E, projected back
        X = _soa(p1, p2)
        F2 = _inner_lo(est.pixel_f(E), p1, p2, t, rng, inner_samples)
        E2 = _project_to_essential(K2.T @ F2 @ K1)
        if (_msac_cost_kernel(est.pixel_f(E2), X, t * t, np.inf)
                < _msac_cost_kernel(est.pixel_f(E), X, t * t, np.inf)):
            E = E2
    inl = est.residuals(E, p1, p2) <= t
    if inl.sum() < 5:
        raise DegenerateError(f"{func}: the matches must have at least 5 inliers, got "
                              f"{int(inl.sum())} within {t:g} px")
    R, tv, n_front = _select_pose(E, p1, p2, Ki1, Ki2, inl)
    if n_front == 0:
        raise DegenerateError(f"{func}: the inliers must triangulate in front of both "
                              "cameras for some pose of E, got none")
    if refine:
        keep = _off_epipoles(R, tv, p1, p2, K1, K2, _EPIPOLE_RADIUS * t, inl)
        R, tv = refine_pose(R, tv, p1[keep], p2[keep], K1, K2, iters,
                            tukey=_FINAL_TUKEY_C * t)
        E = _skew(tv) @ R
        E /= np.linalg.norm(E)
    res = est.residuals(E, p1, p2)
    inl = res <= t
    q1 = p1 @ Ki1[:2, :2].T + Ki1[:2, 2]
    q2 = p2 @ Ki2[:2, :2].T + Ki2[:2, 2]
    front = _cheirality(R, tv, q1, q2) & inl
    _warn_low_support(func, int(inl.sum()), len(p1), 5, _epipolar_chance(p2, t),
                      n_models)
    return EssentialResult(E=E, R=R, t=tv, inlier_mask=inl, in_front=front, residuals=res,
                           n_trials=r.n_trials, n_degenerate=r.n_degenerate)
