"""Relative pose from an essential matrix, triangulation, and the optimal correction of
matches (Hartley–Sturm).

Conventions are those of :mod:`cvgeo.geometry.epipolar`.
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
    check_float_array_xp,
    check_int,
    check_matrix,
    check_namespace,
    check_points_pair,
    check_points_pair_xp,
    names_errors_as,
    positional_deprecated,
    renamed_parameters,
)
from cvgeo.geometry._common import (
    _matrix_xp,
    _require_finite,
    _require_rank,
)
from cvgeo.geometry._pose_polish import refine_pose
from cvgeo.geometry.triangulation import (
    any_coincident_centres,
    reprojection_gauss_newton,
    triangulate_linear,
    two_view_depths,
)

__all__ = [
    "CorrectedMatches",
    "Pose",
    "RecoveredPose",
    "correct_matches",
    "decompose_essential",
    "recover_pose",
    "triangulate_points",
]


@dataclass(frozen=True)
class Pose:
    """A relative pose: camera 2 is ``[R | t]`` when camera 1 is ``[I | 0]``.

    Attributes
    ----------
    R : ndarray of shape (3, 3)
        Rotation, ``det R = +1``.
    t : ndarray of shape (3,)
        Translation direction (unit norm; images fix it only up to scale).
    """

    R: Any
    t: Any


def decompose_essential(E: Any) -> list[Pose]:
    """The four ``(R, t)`` consistent with an essential matrix.

    Parameters
    ----------
    E : array of shape (3, 3)
        Essential matrix (numpy or torch), any scale and sign.

    Returns
    -------
    list of 4 Pose
        ``(R1, t), (R1, -t), (R2, t), (R2, -t)`` with ``R1 = U W Vᵀ``, ``R2 = U Wᵀ Vᵀ``,
        ``t = u3`` (unit norm), all with ``det R = +1`` (Hartley & Zisserman, result
        9.19). Exactly one puts the scene in front of both cameras:
        :func:`recover_pose` chooses it.

    Examples
    --------
    >>> import numpy as np
    >>> from cvgeo.geometry.epipolar import skew
    >>> poses = decompose_essential(skew(np.array([-1.0, 0, 0])))
    >>> sum(bool(np.allclose(p.R, np.eye(3))) for p in poses)  # R1 or R2, with ±t
    2
    """
    E, xp = _matrix_xp(E, "decompose_essential", "E")
    if E.ndim != 2:
        raise ValueError(f"decompose_essential: E must have shape (3, 3), got shape "
                         f"{tuple(E.shape)}")
    _require_rank(E, xp, "decompose_essential", "E", 2, "have rank 2")
    U, _, Vh = xp.linalg.svd(E)
    dU = xp.linalg.det(U)
    dV = xp.linalg.det(Vh)
    U = xp.concat([U[:, :2], U[:, 2:] * xp.where(dU < 0, -1.0, 1.0)], axis=1)
    Vh = xp.concat([Vh[:2], Vh[2:] * xp.where(dV < 0, -1.0, 1.0)], axis=0)
    W = xp.asarray([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=E.dtype)
    R1 = U @ W @ Vh
    R2 = U @ xp.matrix_transpose(W) @ Vh
    t = U[:, 2]
    return [Pose(R1, t), Pose(R1, -t), Pose(R2, t), Pose(R2, -t)]


def _triangulate_h(P1, P2, x1, x2, xp):
    """DLT: homogeneous points (..., N, 4), rows scaled to unit norm for conditioning."""
    def rows(P, x):
        r0 = x[..., 0:1] * P[..., None, 2, :] - P[..., None, 0, :]
        r1 = x[..., 1:2] * P[..., None, 2, :] - P[..., None, 1, :]
        return r0, r1

    a0, a1 = rows(P1, x1)
    b0, b1 = rows(P2, x2)
    A = xp.stack([a0, a1, b0, b1], axis=-2)  # (..., N, 4, 4)
    A = A / xp.sqrt(xp.sum(A * A, axis=-1, keepdims=True))
    _, _, Vh = xp.linalg.svd(A)
    return Vh[..., 3, :]


def triangulate_points(x1: Any, x2: Any, P1: Any, P2: Any, *, refine: bool = True) -> Any:
    """Triangulation of matches seen by two cameras: linear, then reprojection-optimal.

    Parameters
    ----------
    x1, x2 : array of shape (..., N, 2)
        Matches, pixels (numpy or torch; autograd is kept).
    P1, P2 : array of shape (..., 3, 4)
        Camera matrices, for example :func:`~cvgeo.geometry.camera.projection_matrix`.
    refine : bool
        After the linear solution, take one Gauss–Newton step per point on its
        reprojection error in both images (the cameras fixed; from the linear solution one
        step reaches the minimum to a few 1e-8 of its value); a step that does not lower a
        point's error is not taken, so the error never exceeds the linear one.

    Returns
    -------
    points3d : array of shape (..., N, 3)
        In the frame the cameras are expressed in. A match whose rays are parallel
        (zero parallax: the point is at infinity) gets a row of ``inf``; the others
        are unaffected, so ``isfinite(points3d).all(-1)`` is the mask of triangulated
        points.

    Raises
    ------
    DegenerateError
        The two cameras share their centre (for example ``P1 == P2``) or one of them
        has rank below 3: no match can be triangulated.
    ValueError, TypeError
        Bad shapes or dtypes, NaN or inf.

    Notes
    -----
    Each match gives four equations ``x (p3ᵀ X) - p1ᵀ X = 0``,
    ``y (p3ᵀ X) - p2ᵀ X = 0`` (two per camera) in the homogeneous ``X`` (Hartley &
    Zisserman 12.2); rows are scaled to unit norm and solved in least squares with the
    last coordinate fixed to 1, all matches at once through their 3 x 3 normal equations
    (a singular normal matrix is the parallel-ray case). For noisy data
    :func:`correct_matches` first gives the optimal two-view correction.

    Examples
    --------
    >>> import numpy as np
    >>> from cvgeo.geometry.camera import projection_matrix, project
    >>> P1 = projection_matrix(np.eye(3), np.eye(3), np.zeros(3))
    >>> P2 = projection_matrix(np.eye(3), np.eye(3), np.array([-1.0, 0, 0]))
    >>> X = np.array([[0.5, 0.2, 4.0]])
    >>> np.round(triangulate_points(project(X, P1), project(X, P2), P1, P2), 12)
    array([[0.5, 0.2, 4. ]])
    """
    func = "triangulate_points"
    p1, p2, xp = check_points_pair_xp(x1, x2, func)
    xp = check_namespace(p1, P1, P2, func=func, names=("x1", "P1", "P2"))
    P1 = check_float_array_xp(P1, func, "P1", (3, 4), xp)
    P2 = check_float_array_xp(P2, func, "P2", (3, 4), xp)
    refine = check_bool(refine, func, "refine")
    _require_rank(P1, xp, func, "P1", 3, "have rank 3 (a camera matrix)")
    _require_rank(P2, xp, func, "P2", 3, "have rank 3 (a camera matrix)")
    if any_coincident_centres(P1, P2, xp):
        raise DegenerateError(f"{func}: P1 and P2 must have distinct camera centres (and "
                              "rank 3), got coincident centres (e.g. P1 == P2): no parallax")
    X, finite = triangulate_linear(P1, P2, p1, p2, xp)
    X = xp.where(finite[..., None], X, xp.zeros_like(X))
    if refine:
        X = reprojection_gauss_newton(P1, P2, p1, p2, X, 1, xp)
    return xp.where(finite[..., None], X, xp.full_like(X, math.inf))


@dataclass(frozen=True)
class RecoveredPose:
    """Result of :func:`recover_pose`.

    Attributes
    ----------
    R : ndarray of shape (3, 3)
        Rotation camera 1 -> camera 2, ``det R = +1``.
    t : ndarray of shape (3,)
        Unit translation, ``X2 = R X1 + t`` (up to the unknown scale).
    in_front : ndarray of shape (N,), bool
        Matches triangulated in front of both cameras with this pose.
    n_in_front : tuple of 4 int
        Cheirality count of each candidate of :func:`decompose_essential`, in its order.
    """

    R: np.ndarray
    t: np.ndarray
    in_front: np.ndarray
    n_in_front: tuple[int, int, int, int]


def _cheirality(R, t, q1, q2):
    """Matches (normalised) whose two depths under ``(R, t)`` are both positive."""
    lam1, lam2 = two_view_depths(R, t, q1, q2)
    return (lam1 > 0) & (lam2 > 0)



@positional_deprecated("K1", "K2")
@renamed_parameters(max_iterations="max_iter")
@names_errors_as("decompose_essential", "triangulate_points")
def recover_pose(E: np.ndarray, x1: np.ndarray, x2: np.ndarray, *, K1: np.ndarray,
                 K2: np.ndarray, refine: bool = True, max_iter: int = 20) -> RecoveredPose:
    """Relative pose from an essential matrix, chosen by cheirality.

    Parameters
    ----------
    E : ndarray of shape (3, 3)
        Essential matrix (``x̂2ᵀ E x̂1 = 0`` for normalised points ``x̂ = K⁻¹ x``).
    x1, x2 : ndarray of shape (N, 2)
        Matches in pixels (use inliers only), ``N >= 1``.
    K1, K2 : ndarray of shape (3, 3)
        Intrinsics (required). Keyword-only; passing them by position still works for
        one release, with a ``DeprecationWarning``.
    refine : bool
        Then minimise the Sampson error (pixels) of the matches in front over the 5
        degrees of freedom of the pose (``R`` and the direction of ``t``) by
        Levenberg–Marquardt. With K known this is tighter than refining the 7-parameter
        ``F``: the calibration is no longer free to absorb noise. On by default: for E
        from the 8-point F with 1 px noise it lowers the median rotation and
        translation-direction errors (benchmarks/bench_general_motion.py measures by how
        much, and what it costs).
    max_iter : int
        Levenberg–Marquardt iterations for ``refine``. (Formerly ``max_iterations``;
        that keyword works for one release, with a ``DeprecationWarning``.)

    Returns
    -------
    RecoveredPose
        ``R``, unit ``t``, the mask of matches in front of both cameras and the counts of
        the four candidates (before any refinement).

    Raises
    ------
    DegenerateError
        No candidate puts any match in front of both cameras.

    Notes
    -----
    Each of the four ``(R, t)`` of :func:`decompose_essential` triangulates the
    normalised matches (DLT); the one with the most points at positive depth in both
    cameras wins (Hartley & Zisserman 9.6.3).

    Examples
    --------
    >>> from cvgeo.datasets import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(30, seed=0)
    >>> from cvgeo.geometry.epipolar import essential_from_fundamental
    >>> E = essential_from_fundamental(s.F, K1=s.K1, K2=s.K2)
    >>> pose = recover_pose(E, s.x1, s.x2, K1=s.K1, K2=s.K2)
    >>> bool(np.allclose(pose.R, s.R)), bool(np.allclose(pose.t, s.t / np.linalg.norm(s.t)))
    (True, True)
    """
    func = "recover_pose"
    E = check_matrix(E, func, "E")
    refine = check_bool(refine, func, "refine")
    K1 = check_matrix(K1, func, "K1")
    K2 = check_matrix(K2, func, "K2")
    p1, p2 = check_points_pair(x1, x2, func, min_count=1)
    for K, name in ((K1, "K1"), (K2, "K2")):
        if K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] == 0 or K[0, 0] * K[1, 1] == 0:
            raise ValueError(f"{func}: {name} must be an intrinsic matrix [[fx, s, cx], "
                             f"[0, fy, cy], [0, 0, 1]], got {K.tolist()}")
    q1 = (np.c_[p1, np.ones(len(p1))] @ np.linalg.inv(K1).T)
    q2 = (np.c_[p2, np.ones(len(p2))] @ np.linalg.inv(K2).T)
    q1 = q1[:, :2] / q1[:, 2:]
    q2 = q2[:, :2] / q2[:, 2:]
    masks = [_cheirality(p.R, p.t, q1, q2) for p in decompose_essential(E)]
    counts = tuple(int(m.sum()) for m in masks)
    best = int(np.argmax(counts))
    if counts[best] == 0:
        raise DegenerateError(f"{func}: the matches must triangulate in front of both "
                              "cameras for some pose, got none (wrong E, K or matches?)")
    pose = decompose_essential(E)[best]
    R, t = pose.R, pose.t / np.linalg.norm(pose.t)
    front = masks[best]
    if refine and front.sum() >= 6:
        iters = check_int(max_iter, func, "max_iter", low=0)
        R, t = refine_pose(R, t, p1[front], p2[front], K1, K2, iters)
        front = _cheirality(R, t, q1, q2)
    return RecoveredPose(R=R, t=t, in_front=front, n_in_front=counts)



@dataclass(frozen=True)
class CorrectedMatches:
    """Result of :func:`correct_matches`.

    Attributes
    ----------
    x1, x2 : ndarray of shape (N, 2), float64
        The corrected matches: ``x2ᵀ F x1 = 0`` exactly (up to rounding).
    """

    x1: np.ndarray
    x2: np.ndarray


@njit(cache=True)
def _polymul(a, b):
    out = np.zeros(a.shape[0] + b.shape[0] - 1)
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i + j] += a[i] * b[j]
    return out


@njit(cache=True)
def _polyadd(a, b):
    n = max(a.shape[0], b.shape[0])
    out = np.zeros(n)
    out[n - a.shape[0]:] += a
    out[n - b.shape[0]:] += b
    return out


@njit(cache=True)
def _correct_matches_kernel(F, x1, x2, out1, out2):
    """Hartley–Sturm optimal correction, one match at a time (HZ algorithm 12.1).

    Parameters
    ----------
    F : float64 (3, 3)
    x1, x2 : float64 (N, 2)
    out1, out2 : float64 (N, 2)
        Corrected points.
    """
    for i in range(x1.shape[0]):
        # (i) translations taking each point to the origin
        Ti = np.array([[1.0, 0.0, x1[i, 0]], [0.0, 1.0, x1[i, 1]], [0.0, 0.0, 1.0]])  # T⁻¹
        Tpi = np.array([[1.0, 0.0, x2[i, 0]], [0.0, 1.0, x2[i, 1]], [0.0, 0.0, 1.0]])
        Fi = Tpi.T @ F @ Ti
        # (ii) epipoles, scaled so e1² + e2² = 1
        U, _, Vt = np.linalg.svd(Fi)
        e = Vt[2].copy()
        ep = U[:, 2].copy()
        ne = math.hypot(e[0], e[1])
        nep = math.hypot(ep[0], ep[1])
        if ne == 0.0 or nep == 0.0:  # a point at the epipole: leave it
            out1[i] = x1[i]
            out2[i] = x2[i]
            continue
        e /= ne
        ep /= nep
        # (iii) rotations putting the epipoles on the x axis: (1, 0, f), (1, 0, f')
        R = np.array([[e[0], e[1], 0.0], [-e[1], e[0], 0.0], [0.0, 0.0, 1.0]])
        Rp = np.array([[ep[0], ep[1], 0.0], [-ep[1], ep[0], 0.0], [0.0, 0.0, 1.0]])
        Fr = Rp @ Fi @ R.T
        f = e[2]
        fp = ep[2]
        a = Fr[1, 1]
        b = Fr[1, 2]
        c = Fr[2, 1]
        d = Fr[2, 2]
        # (iv) g(t) = t((at+b)² + f'²(ct+d)²)² - (ad-bc)(1+f²t²)²(at+b)(ct+d)
        atb = np.array([a, b])
        ctd = np.array([c, d])
        q = _polyadd(_polymul(atb, atb), fp * fp * _polymul(ctd, ctd))
        g1 = _polymul(np.array([1.0, 0.0]), _polymul(q, q))
        w = np.array([f * f, 0.0, 1.0])
        g2 = (a * d - b * c) * _polymul(_polymul(w, w), _polymul(atb, ctd))
        g = _polyadd(g1, -g2)
        gmax = np.max(np.abs(g))
        start = 0
        while start < g.shape[0] - 1 and abs(g[start]) <= 1e-14 * gmax:
            start += 1
        # (v) evaluate the cost at each real root and at t = infinity
        best_t = np.inf
        den_inf = a * a + fp * fp * c * c
        best = (1.0 / (f * f) if f != 0.0 else np.inf) + (c * c / den_inf if den_inf > 0
                                                          else np.inf)
        if g.shape[0] - start > 1:
            rts = np.roots(g[start:].astype(np.complex128))
            for r in rts:
                t = r.real
                den = (a * t + b) ** 2 + fp * fp * (c * t + d) ** 2
                if den <= 0.0:
                    continue
                s = t * t / (1.0 + f * f * t * t) + (c * t + d) ** 2 / den
                if s < best:
                    best = s
                    best_t = t
        # (vi) the two epipolar lines and the points on them closest to the origin
        if np.isfinite(best_t):
            t = best_t
            l1 = np.array([t * f, 1.0, -t])
            l2 = np.array([-fp * (c * t + d), a * t + b, c * t + d])
        else:
            l1 = np.array([f, 0.0, -1.0])
            l2 = np.array([-fp * c, a, c])
        p1 = np.array([-l1[0] * l1[2], -l1[1] * l1[2], l1[0] ** 2 + l1[1] ** 2])
        p2 = np.array([-l2[0] * l2[2], -l2[1] * l2[2], l2[0] ** 2 + l2[1] ** 2])
        # (vii) back to the original coordinates
        h1 = Ti @ (R.T @ p1)
        h2 = Tpi @ (Rp.T @ p2)
        out1[i, 0] = h1[0] / h1[2]
        out1[i, 1] = h1[1] / h1[2]
        out2[i, 0] = h2[0] / h2[2]
        out2[i, 1] = h2[1] / h2[2]


def correct_matches(F: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> CorrectedMatches:
    """Hartley–Sturm optimal correction: the closest matches that satisfy ``F`` exactly.

    Moves each match ``(x1, x2)`` the least (in the sum of squared pixel distances in both
    images) onto a pair of corresponding epipolar lines; with Gaussian noise this is the
    maximum-likelihood estimate, and triangulating the corrected matches (any method)
    gives the optimal triangulation.

    Parameters
    ----------
    F : ndarray of shape (3, 3)
        Fundamental matrix, ``x2ᵀ F x1 = 0``, rank 2.
    x1, x2 : ndarray of shape (N, 2)
        Matches, pixels.

    Returns
    -------
    CorrectedMatches
        ``x1``, ``x2`` corrected (float64 ``(N, 2)``). A match sitting exactly on an
        epipole is returned unchanged.

    Raises
    ------
    DegenerateError
        ``F`` of rank below 2 (zero included).

    Notes
    -----
    Per match (Hartley & Zisserman algorithm 12.1): translate both points to the origin,
    rotate the epipoles to ``(1, 0, f)`` and ``(1, 0, f')``, parametrise the pencil of
    epipolar lines by ``t``, find the real roots of the degree-6 polynomial ``g(t)``
    whose minima give the closest pair of lines, evaluate the cost at each root (and at
    ``t = ∞``), and take the feet of the perpendiculars from the points to the best pair.

    References
    ----------
    R. Hartley, P. Sturm, "Triangulation", CVIU 68(2), 1997. doi:10.1006/cviu.1997.0547

    Examples
    --------
    >>> import numpy as np
    >>> from cvgeo.geometry.epipolar import fundamental_from_pose
    >>> F = fundamental_from_pose(np.eye(3), np.array([-1.0, 0, 0]), K1=np.eye(3), K2=np.eye(3))
    >>> c = correct_matches(F, np.array([[5.0, 2.0]]), np.array([[3.0, 3.0]]))
    >>> np.round(c.x1, 12), np.round(c.x2, 12)
    (array([[5. , 2.5]]), array([[3. , 2.5]]))
    """
    func = "correct_matches"
    F = check_matrix(F, func, "F")
    p1, p2 = check_points_pair(x1, x2, func)
    _require_rank(F, np, func, "F", 2, "have rank 2")
    F = F / np.abs(F).max()
    F = F / np.linalg.norm(F)
    out1 = np.empty_like(p1)
    out2 = np.empty_like(p2)
    _correct_matches_kernel(np.ascontiguousarray(F), np.ascontiguousarray(p1),
                            np.ascontiguousarray(p2), out1, out2)
    _require_finite(out1, np, func, "x1 and x2")
    _require_finite(out2, np, func, "x1 and x2")
    return CorrectedMatches(x1=out1, x2=out2)
