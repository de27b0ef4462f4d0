"""Two-view geometry: fundamental and essential matrices, pose, triangulation, rectification.

Conventions
-----------
* Points are ``(N, 2)`` pixel coordinates ``(x, y)`` (x the column, y the row, origin at
  the centre of the top-left pixel). ``x1`` are in image 1, ``x2`` their matches in image 2.
* The fundamental matrix satisfies ``x2ᵀ F x1 = 0`` (homogeneous points). It is returned
  at unit Frobenius norm with a sign rule (the entry of largest magnitude is positive);
  it is never divided by ``F[2, 2]``, which is 0 for a rectified pair.
* ``F x1`` is the epipolar line of ``x1`` in image 2, ``Fᵀ x2`` that of ``x2`` in image 1.
  The epipoles are ``F e1 = 0`` (image 1) and ``Fᵀ e2 = 0`` (image 2).
* Cameras are ``P1 = K1 [I | 0]`` and ``P2 = K2 [R | t]``: a point ``X1`` in camera-1
  coordinates is ``X2 = R X1 + t`` in camera 2, and ``E = [t]x R``,
  ``F ~ K2⁻ᵀ E K1⁻¹``. From images alone ``t`` is known up to scale: it is returned with
  unit norm. ``det R = +1`` always.
* Distances are in pixels unless said otherwise; ``squared=True`` returns their squares.

The linear algebra (8-point, epipoles, lines, distances, essential matrix, DLT
triangulation) accepts numpy arrays or torch tensors, batched where it is natural, through
``array_api_compat``; the minimal solvers, robust estimation, the optimal correction and
rectification are numpy.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from cvgeo._checks import (
    DegenerateError,
    check_bool,
    check_choice,
    check_int,
    check_matrix,
    check_pair,
    check_points,
    check_points_xp,
    check_real,
    check_seed,
    check_shape2,
    describe,
    names_errors_as,
)
from cvgeo.geometry.camera import _as_float_matrix, _namespace
from cvgeo.geometry.degeneracy import (
    complete_dominant_plane,
    dominant_plane,
    planar_support,
    plane_and_parallax,
    sample_plane,
)
from cvgeo.geometry.homogeneous import hartley_normalize
from cvgeo.geometry.ransac import (
    MAX_THRESHOLD_PX,
    MAX_TRIALS,
    _draw_samples,
    _epipolar_chance,
    _normalizer_kernel,
    _warn_low_support,
)
from cvgeo.geometry.triangulation import (
    any_coincident_centres,
    reprojection_gauss_newton,
    triangulate_linear,
    two_view_depths,
)

__all__ = [
    "CorrectedMatches",
    "Epipoles",
    "FundamentalResult",
    "Pose",
    "RecoveredPose",
    "Rectification",
    "correct_matches",
    "decompose_essential",
    "epipolar_distance",
    "epipolar_lines",
    "epipoles",
    "essential_from_fundamental",
    "find_fundamental",
    "fundamental_7point",
    "fundamental_8point",
    "fundamental_from_essential",
    "fundamental_from_pose",
    "normalize_fundamental",
    "recover_pose",
    "rectify_uncalibrated",
    "refine_fundamental",
    "skew",
    "triangulate_points",
]


# --------------------------------------------------------------------------- helpers


def _matrix_xp(M: Any, func: str, name: str, shape=(3, 3)):
    xp = _namespace(M, func=func, names=(name,))
    return _as_float_matrix(M, func, name, shape, xp), xp


def _points_pair_xp(x1: Any, x2: Any, func: str, min_count: int = 0):
    p1, xp = check_points_xp(x1, func, "x1", min_count=min_count)
    p2, _ = check_points_xp(x2, func, "x2", min_count=min_count)
    _namespace(p1, p2, func=func, names=("x1", "x2"))
    if tuple(p1.shape) != tuple(p2.shape):
        raise ValueError(f"{func}: x1 and x2 must have the same shape, got "
                         f"{tuple(p1.shape)} and {tuple(p2.shape)}")
    return p1, p2, xp


def _require_rank(M, xp, func: str, name: str, rank: int, what: str) -> None:
    """Raise :class:`DegenerateError` if a matrix (or one of a batch) is zero or has
    numerical rank below ``rank`` (singular value ``rank`` at most 1e-12 of the largest).
    """
    sv = xp.linalg.svdvals(M)
    top = sv[..., 0]
    if bool(xp.any(top == 0)):
        raise DegenerateError(f"{func}: {name} must not be zero, got an all-zero matrix")
    if rank > 1 and bool(xp.any(sv[..., rank - 1] <= 1e-12 * top)):
        raise DegenerateError(f"{func}: {name} must {what}, got a matrix of rank below {rank}")


def _require_finite(out, xp, func: str, what: str):
    """Refuse a result that overflowed (values too large for float64 arithmetic)."""
    if not bool(xp.all(xp.isfinite(out))):
        raise ValueError(f"{func}: {what} must be small enough for float64 arithmetic, got "
                         "a result that overflows")
    return out


def _points_pair(x1: Any, x2: Any, func: str, min_count: int = 0):
    p1 = check_points(x1, func, "x1")
    p2 = check_points(x2, func, "x2")
    check_pair(p1, p2, func, ("x1", "x2"))
    if p1.shape[0] < min_count:
        raise DegenerateError(f"{func}: x1 and x2 must hold at least {min_count} matches, got "
                              f"{p1.shape[0]}")
    return p1, p2


def skew(v: Any) -> Any:
    """The cross-product matrix ``[v]x`` with ``[v]x w = v × w``.

    Parameters
    ----------
    v : array of shape (..., 3)
        numpy array or torch tensor.

    Returns
    -------
    array of shape (..., 3, 3)

    Examples
    --------
    >>> import numpy as np
    >>> skew(np.array([1.0, 2.0, 3.0])) @ np.array([4.0, 5.0, 6.0])
    array([-3.,  6., -3.])
    """
    v, xp = _matrix_xp(v, "skew", "v", (3,))
    z = xp.zeros_like(v[..., 0])
    a, b, c = v[..., 0], v[..., 1], v[..., 2]
    return xp.stack([xp.stack([z, -c, b], axis=-1), xp.stack([c, z, -a], axis=-1),
                     xp.stack([-b, a, z], axis=-1)], axis=-2)


def _unit_sign(F, xp):
    """Scale to unit Frobenius norm; make the entry of largest magnitude positive.

    Ties (within a relative 1e-9, as in a rectified pair's F) go to the first such entry
    in row-major order, so ``F`` and ``-F`` always give the same result.
    """
    if isinstance(F, np.ndarray) and F.ndim == 2:  # the common case, without array-API cost
        flat = F.ravel()
        mag = np.abs(flat)
        first = int(np.argmax(mag >= mag.max() * (1.0 - 1e-9)))
        sign = -1.0 if flat[first] < 0 else 1.0
        return F * (sign / np.sqrt(flat @ flat)) + 0.0
    flat = xp.reshape(F, F.shape[:-2] + (9,))
    norm = xp.sqrt(xp.sum(flat * flat, axis=-1))
    big = xp.max(xp.abs(flat), axis=-1, keepdims=True)
    near = xp.abs(flat) >= big * (1.0 - 1e-9)
    first = xp.argmax(xp.astype(near, xp.int8), axis=-1)  # first True
    pos = xp.arange(9, device=getattr(F, "device", None))
    at_max = xp.sum(xp.where(pos == first[..., None], flat, xp.zeros_like(flat)), axis=-1)
    sign = xp.where(at_max < 0, -xp.ones_like(norm), xp.ones_like(norm))
    return F * (sign / norm)[..., None, None] + 0.0  # + 0.0 turns -0.0 into 0.0


def normalize_fundamental(F: Any) -> Any:
    """Scale ``F`` (or ``E``, or a batch) to unit Frobenius norm with a fixed sign.

    The sign rule makes the entry of largest absolute value positive, so ``F`` and ``-F``
    (the same geometry) come out identical.

    Parameters
    ----------
    F : array of shape (..., 3, 3)
        numpy array or torch tensor, not all zero.

    Returns
    -------
    array of shape (..., 3, 3)

    Raises
    ------
    DegenerateError
        ``F`` is zero.

    Examples
    --------
    >>> import numpy as np
    >>> normalize_fundamental(np.array([[0, 0, 0], [0, 0, 3.0], [0, -4.0, 0]]))
    array([[ 0. ,  0. ,  0. ],
           [ 0. ,  0. , -0.6],
           [ 0. ,  0.8,  0. ]])
    """
    F, xp = _matrix_xp(F, "normalize_fundamental", "F")
    if bool(xp.any(xp.max(xp.abs(xp.reshape(F, F.shape[:-2] + (9,))), axis=-1) == 0)):
        raise DegenerateError("normalize_fundamental: F must not be zero, got a zero matrix")
    return _unit_sign(F, xp)


def _rank2(F, xp):
    U, s, Vh = xp.linalg.svd(F)
    s = xp.stack([s[..., 0], s[..., 1], xp.zeros_like(s[..., 2])], axis=-1)
    return (U * s[..., None, :]) @ Vh


def _design_matrix(p1, p2, xp):
    """Rows ``kron(x2, x1)`` so that ``A @ F.ravel() = x2ᵀ F x1`` (row-major F)."""
    u1, v1, u2, v2 = p1[..., 0], p1[..., 1], p2[..., 0], p2[..., 1]
    one = xp.ones_like(u1)
    return xp.stack([u2 * u1, u2 * v1, u2, v2 * u1, v2 * v1, v2, u1, v1, one], axis=-1)


# --------------------------------------------------------------------------- 8-point


def fundamental_8point(x1: Any, x2: Any) -> Any:
    """Fundamental matrix by Hartley's normalised 8-point algorithm (least squares).

    Parameters
    ----------
    x1, x2 : array of shape (..., N, 2)
        Matches, ``N >= 8``; numpy arrays or torch tensors (autograd is kept).

    Returns
    -------
    F : array of shape (..., 3, 3)
        Rank 2, unit Frobenius norm, sign rule of :func:`normalize_fundamental`;
        ``x2ᵀ F x1 ≈ 0``.

    Raises
    ------
    DegenerateError
        Fewer than 8 matches, coincident points, or a configuration that does not
        determine ``F`` (the linear system has a null space of dimension > 1: every point
        on one plane, or a camera that only rotated — a homography explains the matches).
    ValueError, TypeError
        Bad shapes, NaN or inf.

    Notes
    -----
    1. Normalise each image's points (centroid at 0, mean distance sqrt(2)).
    2. Stack one row ``kron(x2, x1)`` per match and take the right singular vector of
       the smallest singular value: the least-squares ``F`` with ``|F| = 1``.
    3. Enforce rank 2 by zeroing the smallest singular value of ``F̂`` (the closest
       rank-2 matrix in the Frobenius norm of the *normalised* coordinates), then
       de-normalise ``F = T2ᵀ F̂ T1``, which keeps rank 2 exactly. Hartley's order:
       projecting in pixel coordinates instead weighs the entries by their pixel scale,
       and on the Middlebury motorcycle pair (500 clean matches, σ = 0.5 px) it doubled
       the median Sampson error (0.16 px against 0.074 px for this order and for
       ``cv2.findFundamentalMat(FM_8POINT)``).

    References
    ----------
    R. Hartley, "In defense of the eight-point algorithm", IEEE TPAMI 19(6), 1997.
    doi:10.1109/34.601246

    Examples
    --------
    >>> from cvgeo.geometry.camera import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(20, seed=0)
    >>> F = fundamental_8point(s.x1, s.x2)
    >>> bool(abs(F - s.F).max() < 1e-8)
    True
    """
    func = "fundamental_8point"
    p1, p2, xp = _points_pair_xp(x1, x2, func, min_count=8)
    n1, n2 = hartley_normalize(p1), hartley_normalize(p2)
    A = _design_matrix(n1.points, n2.points, xp)  # (..., N, 9)
    n = A.shape[-2]
    if n < 9:  # a square system keeps the null vector among the reduced singular vectors
        A = xp.concat([A, xp.zeros_like(A[..., :1, :])], axis=-2)
    _, s, Vh = xp.linalg.svd(A, full_matrices=False)
    smax = s[..., 0]
    if bool(xp.any(s[..., 7] <= 1e-10 * smax)):
        raise DegenerateError(
            f"{func}: the matches must determine F, got a degenerate configuration (the "
            "8-point system has a null space of dimension > 1: points on one plane, or a "
            "pure rotation — a homography explains them)")
    Fn = _rank2(xp.reshape(Vh[..., 8, :], Vh.shape[:-2] + (3, 3)), xp)
    F = xp.matrix_transpose(n2.T) @ Fn @ n1.T  # T1, T2 invertible: still rank 2
    return _unit_sign(F, xp)


@njit(cache=True)
def _eight_point_gram_kernel(x1, x2, idx, F):
    """Normalised 8-point on the matches ``idx`` through the normal matrix ``AᵀA``.

    Parameters
    ----------
    x1, x2 : float64 (N, 2)
    idx : int64 (M,)
        Matches to use (M >= 8).
    F : float64 (3, 3)
        Output: rank 2 (enforced in normalised coordinates), unit Frobenius norm, sign
        rule (first entry of largest magnitude positive).

    Returns
    -------
    bool
        False when the points coincide or the system has a null space of dimension > 1.

    Notes
    -----
    Hartley normalisation, ``AᵀA = Σ a aᵀ`` with ``a = kron(x̂2, x̂1)`` accumulated
    without forming ``A``, its eigenvector of the smallest eigenvalue, rank 2 by a 3 × 3
    SVD, then ``F = T2ᵀ F̂ T1``.
    """
    m = idx.shape[0]
    c1x = 0.0
    c1y = 0.0
    c2x = 0.0
    c2y = 0.0
    for k in range(m):
        i = idx[k]
        c1x += x1[i, 0]
        c1y += x1[i, 1]
        c2x += x2[i, 0]
        c2y += x2[i, 1]
    c1x /= m
    c1y /= m
    c2x /= m
    c2y /= m
    d1 = 0.0
    d2 = 0.0
    for k in range(m):
        i = idx[k]
        d1 += math.sqrt((x1[i, 0] - c1x) ** 2 + (x1[i, 1] - c1y) ** 2)
        d2 += math.sqrt((x2[i, 0] - c2x) ** 2 + (x2[i, 1] - c2y) ** 2)
    if d1 <= 0.0 or d2 <= 0.0:
        return False
    s1 = math.sqrt(2.0) * m / d1
    s2 = math.sqrt(2.0) * m / d2
    M = np.zeros((9, 9))
    a = np.empty(9)
    for k in range(m):
        i = idx[k]
        u1 = (x1[i, 0] - c1x) * s1
        v1 = (x1[i, 1] - c1y) * s1
        u2 = (x2[i, 0] - c2x) * s2
        v2 = (x2[i, 1] - c2y) * s2
        a[0] = u2 * u1
        a[1] = u2 * v1
        a[2] = u2
        a[3] = v2 * u1
        a[4] = v2 * v1
        a[5] = v2
        a[6] = u1
        a[7] = v1
        a[8] = 1.0
        for r in range(9):
            ar = a[r]
            for c in range(r, 9):
                M[r, c] += ar * a[c]
    for r in range(9):
        for c in range(r):
            M[r, c] = M[c, r]
    w, V = np.linalg.eigh(M)
    if w[1] <= 1e-20 * w[8]:
        return False
    Fn = np.empty((3, 3))
    for j in range(9):
        Fn[j // 3, j % 3] = V[j, 0]
    U, sv, Vt = np.linalg.svd(Fn)
    G = np.zeros((3, 3))
    for r in range(3):
        for c in range(3):
            G[r, c] = U[r, 0] * sv[0] * Vt[0, c] + U[r, 1] * sv[1] * Vt[1, c]
    T1 = np.array([[s1, 0.0, -s1 * c1x], [0.0, s1, -s1 * c1y], [0.0, 0.0, 1.0]])
    T2 = np.array([[s2, 0.0, -s2 * c2x], [0.0, s2, -s2 * c2y], [0.0, 0.0, 1.0]])
    H = T2.T @ G @ T1
    nrm = 0.0
    big = 0.0
    for r in range(3):
        for c in range(3):
            nrm += H[r, c] * H[r, c]
            big = max(big, abs(H[r, c]))
    sign = 1.0
    for j in range(9):
        if abs(H[j // 3, j % 3]) >= big * (1.0 - 1e-9):
            sign = 1.0 if H[j // 3, j % 3] > 0 else -1.0
            break
    nrm = sign / math.sqrt(nrm)
    for r in range(3):
        for c in range(3):
            F[r, c] = H[r, c] * nrm + 0.0
    return True


# --------------------------------------------------------------------------- 7-point


def fundamental_7point(x1: np.ndarray, x2: np.ndarray) -> list[np.ndarray]:
    """All fundamental matrices through exactly 7 matches (1 or 3 real solutions).

    Parameters
    ----------
    x1, x2 : ndarray of shape (7, 2)
        Seven matches (numpy).

    Returns
    -------
    list of ndarray of shape (3, 3)
        Every real solution of ``det(a F1 + (1 - a) F2) = 0``, each rank 2, unit
        Frobenius norm, sign rule of :func:`normalize_fundamental`. An empty list when the
        7 matches are degenerate (the linear system has rank < 7).

    Raises
    ------
    DegenerateError
        Not exactly 7 matches, or all points of an image coincide.

    Notes
    -----
    The 7 × 9 system ``A f = 0`` (normalised coordinates) has a 2-D null space spanned by
    ``F1``, ``F2``. The rank-2 condition ``det(a F1 + (1 - a) F2) = 0`` is a cubic in
    ``a``: each real root gives one ``F`` (Hartley & Zisserman, section 11.1.2).

    References
    ----------
    R. Hartley, A. Zisserman, "Multiple View Geometry in Computer Vision", 2nd ed., 2004,
    section 11.1.2.

    Examples
    --------
    >>> from cvgeo.geometry.camera import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(7, seed=3)
    >>> sols = fundamental_7point(s.x1, s.x2)
    >>> any(abs(F - s.F).max() < 1e-6 for F in sols)
    True
    """
    func = "fundamental_7point"
    p1, p2 = _points_pair(x1, x2, func)
    if p1.shape[0] != 7:
        raise DegenerateError(f"{func}: x1 and x2 must hold exactly 7 matches, got "
                              f"{p1.shape[0]}")
    n1, n2 = hartley_normalize(p1), hartley_normalize(p2)
    A = _design_matrix(n1.points, n2.points, np)  # (7, 9)
    _, s, Vh = np.linalg.svd(A, full_matrices=True)
    if s[6] <= 1e-10 * s[0]:
        return []
    F1, F2 = Vh[7].reshape(3, 3), Vh[8].reshape(3, 3)
    coeffs = _det_cubic(F1, F2)
    out = []
    for a in _real_cubic_roots(coeffs):
        Fn = F2 + a * (F1 - F2) if np.isfinite(a) else F1 - F2
        F = n2.T.T @ Fn @ n1.T
        out.append(_unit_sign(F, np))
    return out


def _det_cubic(F1, F2):
    """Coefficients (c3, c2, c1, c0) of ``det(F2 + a (F1 - F2))`` in ``a``."""
    D = F1 - F2
    g0 = np.linalg.det(F2)
    g1 = np.linalg.det(F2 + D)
    gm = np.linalg.det(F2 - D)
    g2 = np.linalg.det(F2 + 2 * D)
    c0 = g0
    c2 = 0.5 * (g1 + gm) - c0
    s = 0.5 * (g1 - gm)
    c3 = (g2 - 4 * c2 - c0 - 2 * s) / 6.0
    c1 = s - c3
    return np.array([c3, c2, c1, c0])


def _real_cubic_roots(c) -> list[float]:
    """Real roots of ``c[0] a³ + c[1] a² + c[2] a + c[3]``; ``inf`` when ``c[0] ≈ 0``."""
    scale = np.max(np.abs(c))
    if scale == 0:
        return []
    c = c / scale
    roots = [float(r.real) for r in np.roots(c) if abs(r.imag) <= 1e-8 * max(1.0, abs(r))]
    if abs(c[0]) < 1e-12:
        roots.append(math.inf)
    return roots


@njit(cache=True)
def _det3(M):
    return (M[0, 0] * (M[1, 1] * M[2, 2] - M[1, 2] * M[2, 1])
            - M[0, 1] * (M[1, 0] * M[2, 2] - M[1, 2] * M[2, 0])
            + M[0, 2] * (M[1, 0] * M[2, 1] - M[1, 1] * M[2, 0]))


@njit(cache=True)
def _cubic_roots_kernel(c3, c2, c1, c0, roots):
    """Real roots of ``c3 a³ + c2 a² + c1 a + c0`` into ``roots``; returns their count.

    Closed form (trigonometric for three real roots, Cardano for one), each root then
    polished by two Newton steps. A vanishing ``c3`` gives the root at infinity, written
    as ``inf``.
    """
    scale = max(max(abs(c3), abs(c2)), max(abs(c1), abs(c0)))
    if scale == 0.0:
        return 0
    c3 /= scale
    c2 /= scale
    c1 /= scale
    c0 /= scale
    k = 0
    if abs(c3) < 1e-12:
        roots[k] = np.inf
        k += 1
        if abs(c2) < 1e-12:
            if abs(c1) > 0.0:
                roots[k] = -c0 / c1
                k += 1
            return k
        disc = c1 * c1 - 4.0 * c2 * c0
        if disc >= 0.0:
            sq = math.sqrt(disc)
            q = -0.5 * (c1 + (sq if c1 >= 0 else -sq))
            roots[k] = q / c2
            k += 1
            if q != 0.0:
                roots[k] = c0 / q
                k += 1
        return k
    b = c2 / c3
    c = c1 / c3
    d = c0 / c3
    p = c - b * b / 3.0
    q = 2.0 * b * b * b / 27.0 - b * c / 3.0 + d
    disc = 0.25 * q * q + p * p * p / 27.0
    if disc > 0.0:
        sq = math.sqrt(disc)
        u = -0.5 * q + sq
        v = -0.5 * q - sq
        u = math.copysign(abs(u) ** (1.0 / 3.0), u)
        v = math.copysign(abs(v) ** (1.0 / 3.0), v)
        roots[k] = u + v - b / 3.0
        k += 1
    else:
        r = math.sqrt(max(-p / 3.0, 0.0))
        if r == 0.0:
            roots[k] = -b / 3.0
            k += 1
        else:
            arg = min(1.0, max(-1.0, -q / (2.0 * r * r * r)))
            phi = math.acos(arg)
            for j in range(3):
                roots[k] = 2.0 * r * math.cos((phi + 2.0 * math.pi * j) / 3.0) - b / 3.0
                k += 1
    for j in range(k):  # Newton polish on the monic cubic
        a = roots[j]
        for _ in range(2):
            f = ((a + b) * a + c) * a + d
            df = (3.0 * a + 2.0 * b) * a + c
            if df == 0.0:
                break
            a -= f / df
        roots[j] = a
    return k


@njit(cache=True)
def _seven_point_core(x1, x2, out, A, F2, D, M, g, roots):
    """The body of :func:`_seven_point_kernel` on caller-provided work arrays
    ``A`` (7, 9), ``F2``, ``D``, ``M`` (3, 3), ``g`` (4,), ``roots`` (3,)."""
    q1, s1, cx1, cy1 = _normalizer_kernel(x1)
    q2, s2, cx2, cy2 = _normalizer_kernel(x2)
    if s1 == 0.0 or s2 == 0.0:
        return 0
    for i in range(7):
        u1 = q1[i, 0]
        v1 = q1[i, 1]
        u2 = q2[i, 0]
        v2 = q2[i, 1]
        A[i, 0] = u2 * u1
        A[i, 1] = u2 * v1
        A[i, 2] = u2
        A[i, 3] = v2 * u1
        A[i, 4] = v2 * v1
        A[i, 5] = v2
        A[i, 6] = u1
        A[i, 7] = v1
        A[i, 8] = 1.0
    for col in range(7):  # Gauss-Jordan, pivot rows
        piv = col
        best = abs(A[col, col])
        for r in range(col + 1, 7):
            if abs(A[r, col]) > best:
                best = abs(A[r, col])
                piv = r
        if best < 1e-10:
            return 0
        if piv != col:
            for j in range(col, 9):
                tmp = A[col, j]
                A[col, j] = A[piv, j]
                A[piv, j] = tmp
        inv = 1.0 / A[col, col]
        for j in range(col, 9):
            A[col, j] *= inv
        for r in range(7):
            if r != col:
                fct = A[r, col]
                if fct != 0.0:
                    for j in range(col, 9):
                        A[r, j] -= fct * A[col, j]
    # null space: f = (-A[:, 7], 1, 0) and (-A[:, 8], 0, 1); F1 - F2 = D, F = F2 + a D
    for i in range(7):
        F2[i // 3, i % 3] = -A[i, 8]
        D[i // 3, i % 3] = -A[i, 7] + A[i, 8]
    F2[2, 1] = 0.0
    F2[2, 2] = 1.0
    D[2, 1] = 1.0
    D[2, 2] = -1.0
    for k, a in enumerate((0.0, 1.0, -1.0, 2.0)):
        for i in range(3):
            for j in range(3):
                M[i, j] = F2[i, j] + a * D[i, j]
        g[k] = _det3(M)
    c0 = g[0]
    c2 = 0.5 * (g[1] + g[2]) - c0
    sodd = 0.5 * (g[1] - g[2])
    c3 = (g[3] - 4.0 * c2 - c0 - 2.0 * sodd) / 6.0
    c1 = sodd - c3
    nr = _cubic_roots_kernel(c3, c2, c1, c0, roots)
    for k in range(nr):
        a = roots[k]
        for i in range(3):
            for j in range(3):
                M[i, j] = D[i, j] if not np.isfinite(a) else F2[i, j] + a * D[i, j]
        # de-normalise F = T2ᵀ M T1 with T = [[s, 0, -s cx], [0, s, -s cy], [0, 0, 1]]
        for i in range(3):
            g0 = s1 * M[i, 0]
            g1 = s1 * M[i, 1]
            M[i, 2] = M[i, 2] - cx1 * g0 - cy1 * g1
            M[i, 0] = g0
            M[i, 1] = g1
        nrm = 0.0
        for j in range(3):
            f0 = s2 * M[0, j]
            f1 = s2 * M[1, j]
            f2 = M[2, j] - cx2 * f0 - cy2 * f1
            out[k, 0, j] = f0
            out[k, 1, j] = f1
            out[k, 2, j] = f2
            nrm += f0 * f0 + f1 * f1 + f2 * f2
        nrm = math.sqrt(nrm)
        for i in range(3):
            for j in range(3):
                out[k, i, j] /= nrm
    return nr


@njit(cache=True)
def _seven_point_kernel(x1, x2, out):
    """7-point solver for one sample.

    Parameters
    ----------
    x1, x2 : float64 (7, 2)
    out : float64 (3, 3, 3)
        Receives up to three solutions (pixel coordinates, unit Frobenius norm).

    Returns
    -------
    int
        Number of solutions (0 when the sample is degenerate).

    Notes
    -----
    Hartley-normalise the 7 points of each image, take the null space of the 7 × 9
    system by Gauss–Jordan elimination with partial pivoting (cheaper than an SVD for a
    minimal sample), find the real roots of the cubic ``det(F2 + a (F1 - F2)) = 0``, and
    de-normalise each solution ``F = T2ᵀ F̂ T1``.
    """
    return _seven_point_core(x1, x2, out, np.empty((7, 9)), np.empty((3, 3)),
                             np.empty((3, 3)), np.empty((3, 3)), np.empty(4), np.empty(3))


@njit(cache=True)
def _sampson_kernel(F, x1, x2, out):
    """√Sampson distance of each match, in pixels (float64 (N,) into ``out``)."""
    for i in range(x1.shape[0]):
        u1 = x1[i, 0]
        v1 = x1[i, 1]
        u2 = x2[i, 0]
        v2 = x2[i, 1]
        a = F[0, 0] * u1 + F[0, 1] * v1 + F[0, 2]  # F x1
        b = F[1, 0] * u1 + F[1, 1] * v1 + F[1, 2]
        c = F[2, 0] * u1 + F[2, 1] * v1 + F[2, 2]
        d = F[0, 0] * u2 + F[1, 0] * v2 + F[2, 0]  # Fᵀ x2
        e = F[0, 1] * u2 + F[1, 1] * v2 + F[2, 1]
        r = u2 * a + v2 * b + c
        den = a * a + b * b + d * d + e * e
        out[i] = abs(r) / math.sqrt(den) if den > 0.0 else np.inf
    return out


@njit(cache=True, fastmath={"reassoc", "contract", "arcp"})
def _msac_cost_kernel(F, X, t2, bound):
    """MSAC cost ``sum(min(sampson², t²))`` of one model (no square roots).

    Parameters
    ----------
    F : float64 (3, 3)
    X : float64 (4, N)
        The matches as rows ``x1, y1, x2, y2`` (structure of arrays, so the inner loop
        vectorises).
    t2 : float
        Squared threshold.
    bound : float
        The sum stops (checked every 64 matches) once it reaches ``bound``: such a model
        can only lose against one of cost ``bound``. The partial sum is returned then.

    Notes
    -----
    A match with an undefined Sampson distance (``0 / 0`` at an epipole) costs ``t²``.
    """
    n = X.shape[1]
    u1 = X[0]
    v1 = X[1]
    u2 = X[2]
    v2 = X[3]
    f00, f01, f02 = F[0, 0], F[0, 1], F[0, 2]
    f10, f11, f12 = F[1, 0], F[1, 1], F[1, 2]
    f20, f21, f22 = F[2, 0], F[2, 1], F[2, 2]
    cost = 0.0
    for start in range(0, n, 64):
        acc = 0.0
        for i in range(start, min(n, start + 64)):
            a = f00 * u1[i] + f01 * v1[i] + f02  # F x1
            b = f10 * u1[i] + f11 * v1[i] + f12
            c = f20 * u1[i] + f21 * v1[i] + f22
            d = f00 * u2[i] + f10 * v2[i] + f20  # Fᵀ x2
            e = f01 * u2[i] + f11 * v2[i] + f21
            r = u2[i] * a + v2[i] * b + c
            q = r * r / (a * a + b * b + d * d + e * e)
            acc += q if q < t2 else t2
        cost += acc
        if cost >= bound:
            return cost
    return cost


@njit(cache=True)
def _score_batch_kernel(Fs, X, sub, t2, bound, out):
    """MSAC costs of B models into ``out`` (float64 (B,)); ``inf`` for a model that cannot win.

    A model cannot win when its cost reaches ``bound`` (the best so far) or the cost of
    an earlier model of the batch (the trial-order replay would keep that one first), so
    the bound tightens as the batch goes. Two early exits skip most of the work for the
    many bad hypotheses:

    * a preliminary test (Matas & Chum's T(d, d) idea, with a margin): the cost on the
      fixed subset ``sub`` of m matches is compared with the bound scaled to m matches;
      each match costs between 0 and t², so a subset sum has standard deviation at most
      ``t² √m / 2`` about its expectation, and a model more than 4 of those above the
      scaled bound is rejected (a model that would beat the bound fails this with
      probability below 1e-4);
    * Capel's bail-out: summing over all matches stops once the partial sum reaches the
      bound.
    """
    n = X.shape[1]
    m = sub.shape[1]
    slack = 4.0 * 0.5 * t2 * math.sqrt(m)
    for b in range(Fs.shape[0]):
        if bound < np.inf and m < n:
            pre = _msac_cost_kernel(Fs[b], sub, t2, np.inf)
            if pre > bound * (m / n) + slack:
                out[b] = np.inf
                continue
        c = _msac_cost_kernel(Fs[b], X, t2, bound)
        if c < bound:
            out[b] = c
            bound = c
        else:
            out[b] = np.inf
    return out


@njit(cache=True)
def _seven_point_batch_kernel(s1, s2, X, t2, models, valid):
    """7-point on B samples, keeping each sample's best solution by its MSAC cost.

    Parameters
    ----------
    s1, s2 : float64 (B, 7, 2)
        Minimal samples.
    X : float64 (4, M)
        Matches ``x1, y1, x2, y2`` on which a sample's up to three solutions are ranked
        (a fixed, evenly spread subset of the data: the chosen root is scored in full
        later).
    t2 : float
        Squared threshold of the MSAC cost ``sum(min(r², t²))``.
    models : float64 (B, 3, 3), valid : bool (B,)
        Outputs.
    """
    sols = np.empty((3, 3, 3))
    A = np.empty((7, 9))
    F2 = np.empty((3, 3))
    D = np.empty((3, 3))
    M = np.empty((3, 3))
    g = np.empty(4)
    roots = np.empty(3)
    for b in range(s1.shape[0]):
        nr = _seven_point_core(s1[b], s2[b], sols, A, F2, D, M, g, roots)
        valid[b] = nr > 0
        if nr == 1:
            models[b] = sols[0]
            continue
        low = np.inf
        for k in range(nr):
            cost = _msac_cost_kernel(sols[k], X, t2, low)
            if k == 0 or cost < low:
                low = cost
                models[b] = sols[k]


# --------------------------------------------------------------------------- conversions


def fundamental_from_essential(E: Any, K1: Any, K2: Any) -> Any:
    """``F = K2⁻ᵀ E K1⁻¹``, normalised (unit Frobenius norm, sign rule).

    Parameters
    ----------
    E : array of shape (..., 3, 3)
    K1, K2 : array of shape (..., 3, 3)
        Intrinsics of camera 1 and 2.

    Returns
    -------
    F : array of shape (..., 3, 3)

    Raises
    ------
    DegenerateError
        ``E`` is zero, or ``K1`` or ``K2`` is singular.

    Examples
    --------
    >>> import numpy as np
    >>> E = skew(np.array([1.0, 0.0, 0.0]))
    >>> F = fundamental_from_essential(E, np.eye(3), np.eye(3))
    >>> np.round(F * np.sqrt(2), 12)  # sign rule: the first largest entry is positive
    array([[ 0.,  0.,  0.],
           [ 0.,  0.,  1.],
           [ 0., -1.,  0.]])
    """
    func = "fundamental_from_essential"
    xp = _namespace(E, K1, K2, func=func, names=("E", "K1", "K2"))
    E = _as_float_matrix(E, func, "E", (3, 3), xp)
    K1 = _as_float_matrix(K1, func, "K1", (3, 3), xp)
    K2 = _as_float_matrix(K2, func, "K2", (3, 3), xp)
    _require_rank(E, xp, func, "E", 1, "")
    _require_rank(K1, xp, func, "K1", 3, "be invertible")
    _require_rank(K2, xp, func, "K2", 3, "be invertible")
    F = xp.matrix_transpose(xp.linalg.inv(K2)) @ E @ xp.linalg.inv(K1)
    _require_rank(F, xp, func, "K2⁻ᵀ E K1⁻¹", 1, "")  # all-zero only by underflow
    return _require_finite(_unit_sign(F, xp), xp, func, "E, K1 and K2")


@names_errors_as("fundamental_from_essential", "skew")
def fundamental_from_pose(R: Any, t: Any, *, K1: Any, K2: Any) -> Any:
    """Fundamental matrix of cameras ``K1 [I | 0]`` and ``K2 [R | t]``.

    Parameters
    ----------
    R : array of shape (..., 3, 3)
        Rotation camera 1 -> camera 2.
    t : array of shape (..., 3)
        Translation camera 1 -> camera 2 (``X2 = R X1 + t``), not zero.
    K1, K2 : array of shape (..., 3, 3)

    Returns
    -------
    F : array of shape (..., 3, 3)
        ``K2⁻ᵀ [t]x R K1⁻¹``, unit Frobenius norm, sign rule.

    Raises
    ------
    DegenerateError
        ``t`` is zero (a pure rotation has no epipolar geometry).

    Examples
    --------
    >>> import numpy as np
    >>> F = fundamental_from_pose(np.eye(3), np.array([-1.0, 0, 0]), K1=np.eye(3), K2=np.eye(3))
    >>> x1, x2 = np.array([0.3, 0.2, 1.0]), np.array([0.1, 0.2, 1.0])
    >>> float(x2 @ F @ x1)
    0.0
    """
    func = "fundamental_from_pose"
    xp = _namespace(R, t, K1, K2, func=func, names=("R", "t", "K1", "K2"))
    R = _as_float_matrix(R, func, "R", (3, 3), xp)
    _require_rank(_as_float_matrix(K1, func, "K1", (3, 3), xp), xp, func, "K1", 3,
                  "be invertible")
    _require_rank(_as_float_matrix(K2, func, "K2", (3, 3), xp), xp, func, "K2", 3,
                  "be invertible")
    R = _as_float_matrix(R, func, "R", (3, 3), xp)
    t = _as_float_matrix(t, func, "t", (3,), xp)
    if bool(xp.any(xp.sum(t * t, axis=-1) == 0)):
        raise DegenerateError(f"{func}: t must not be zero, got a zero translation (a pure "
                              "rotation has no epipolar geometry; a homography relates the views)")
    return fundamental_from_essential(skew(t) @ R, K1, K2)


def _project_essential(E, xp):
    U, _, Vh = xp.linalg.svd(E)
    one = xp.ones_like(E[..., 0, :2])
    s = xp.concat([one, xp.zeros_like(one[..., :1])], axis=-1)  # (..., 3) = (1, 1, 0)
    return (U * s[..., None, :]) @ Vh


def essential_from_fundamental(F: Any, K1: Any, K2: Any) -> Any:
    """Essential matrix ``E = K2ᵀ F K1``, projected onto the essential manifold.

    Parameters
    ----------
    F : array of shape (..., 3, 3)
        Fundamental matrix (``x2ᵀ F x1 = 0``), any scale.
    K1, K2 : array of shape (..., 3, 3)
        Intrinsics of camera 1 and 2 (required: there is no sensible default).

    Returns
    -------
    E : array of shape (..., 3, 3)
        Singular values exactly ``(1, 1, 0)`` (up to rounding): the closest essential
        matrix in Frobenius norm to ``K2ᵀ F K1`` scaled to that shape. Its sign is
        arbitrary (``E`` and ``-E`` are the same geometry).

    Raises
    ------
    DegenerateError
        ``F`` of rank below 2 (zero included), ``K1`` or ``K2`` singular.

    Examples
    --------
    >>> import numpy as np
    >>> E = essential_from_fundamental(np.diag([2.0, 1.0, 0.1]), np.eye(3), np.eye(3))
    >>> np.round(np.linalg.svd(E, compute_uv=False), 12)
    array([1., 1., 0.])
    """
    func = "essential_from_fundamental"
    xp = _namespace(F, K1, K2, func=func, names=("F", "K1", "K2"))
    F = _as_float_matrix(F, func, "F", (3, 3), xp)
    K1 = _as_float_matrix(K1, func, "K1", (3, 3), xp)
    K2 = _as_float_matrix(K2, func, "K2", (3, 3), xp)
    _require_rank(F, xp, func, "F", 2, "have rank 2")
    _require_rank(K1, xp, func, "K1", 3, "be invertible")
    _require_rank(K2, xp, func, "K2", 3, "be invertible")
    E = xp.matrix_transpose(K2) @ F @ K1
    _require_finite(E, xp, func, "F, K1 and K2")
    return _project_essential(E, xp)


# --------------------------------------------------------------------------- epipoles, lines


@dataclass(frozen=True)
class Epipoles:
    """Result of :func:`epipoles`: homogeneous epipoles at unit norm.

    Attributes
    ----------
    e1 : array of shape (..., 3)
        Epipole in image 1 (``F e1 = 0``): the image of camera 2's centre.
    e2 : array of shape (..., 3)
        Epipole in image 2 (``Fᵀ e2 = 0``).

    Homogeneous, because an epipole may lie at infinity (``w = 0``, a rectified pair);
    use :func:`~cvgeo.geometry.homogeneous.from_homogeneous` for pixels when it does not.
    The sign makes ``w >= 0``.
    """

    e1: Any
    e2: Any


def epipoles(F: Any) -> Epipoles:
    """Epipoles of a fundamental matrix: its right and left null vectors.

    Parameters
    ----------
    F : array of shape (..., 3, 3)

    Returns
    -------
    Epipoles
        ``e1`` and ``e2``, homogeneous, unit norm, ``w >= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> F = fundamental_from_pose(np.eye(3), np.array([-1.0, 0, 0]), K1=np.eye(3), K2=np.eye(3))
    >>> np.abs(epipoles(F).e1)
    array([1., 0., 0.])
    """
    F, xp = _matrix_xp(F, "epipoles", "F")
    _require_rank(F, xp, "epipoles", "F", 2, "have rank 2 (its null space is the epipole)")
    U, _, Vh = xp.linalg.svd(F)
    e1 = Vh[..., 2, :]
    e2 = U[..., :, 2]

    def fix(e):
        sgn = xp.where(e[..., 2:3] < 0, -xp.ones_like(e[..., 2:3]), xp.ones_like(e[..., 2:3]))
        return e * sgn

    return Epipoles(e1=fix(e1), e2=fix(e2))


def epipolar_lines(F: Any, points: Any, *, image: int = 1) -> Any:
    """Epipolar lines ``(a, b, c)`` with ``a x + b y + c = 0`` and ``a² + b² = 1``.

    Parameters
    ----------
    F : array of shape (..., 3, 3)
        Fundamental matrix, ``x2ᵀ F x1 = 0``.
    points : array of shape (..., N, 2)
        Points in image ``image``.
    image : {1, 2}
        Which image ``points`` lie in. Points of image 1 give lines ``F x1`` in image 2;
        points of image 2 give lines ``Fᵀ x2`` in image 1.

    Returns
    -------
    lines : array of shape (..., N, 3)
        In the *other* image; the signed distance of a point ``(x, y)`` from a line is
        ``a x + b y + c`` pixels.

    Raises
    ------
    DegenerateError
        A point is the epipole itself (its line is undefined).

    Examples
    --------
    >>> import numpy as np
    >>> F = fundamental_from_pose(np.eye(3), np.array([-1.0, 0, 0]), K1=np.eye(3), K2=np.eye(3))
    >>> np.round(epipolar_lines(F, np.array([[5.0, 2.0]])), 12)  # the row y = 2
    array([[ 0.,  1., -2.]])
    """
    func = "epipolar_lines"
    if isinstance(image, (bool, np.bool_)) or not isinstance(image, (int, np.integer)) or \
            image not in (1, 2):
        raise ValueError(f"{func}: image must be 1 or 2, got {describe(image)}")
    p, xp = check_points_xp(points, func, "points")
    F = _as_float_matrix(F, func, "F", (3, 3), _namespace(F, p, func=func, names=("F", "points")))
    M = F if image == 1 else xp.matrix_transpose(F)
    lines = p @ xp.matrix_transpose(M[..., :, :2]) + M[..., None, :, 2]
    nrm = xp.sqrt(lines[..., 0] ** 2 + lines[..., 1] ** 2)
    fnorm = xp.sqrt(xp.sum(xp.reshape(F * F, F.shape[:-2] + (9,)), axis=-1))[..., None]
    pnorm = xp.sqrt(xp.sum(p * p, axis=-1) + 1.0)
    if bool(xp.any(nrm <= 1e-12 * fnorm * pnorm)):
        raise DegenerateError(f"{func}: points must not be the epipole, got a point whose "
                              "epipolar line is undefined (F x = 0)")
    return lines / nrm[..., None]


def epipolar_distance(F: Any, x1: Any, x2: Any, *, kind: str = "sampson",
                      squared: bool = False) -> Any:
    """Per-match epipolar error of ``F``: Sampson, symmetric or algebraic.

    Parameters
    ----------
    F : array of shape (..., 3, 3)
        Fundamental matrix, ``x2ᵀ F x1 = 0``.
    x1, x2 : array of shape (..., N, 2)
        Matches.
    kind : {"sampson", "symmetric", "algebraic"}
        * ``"sampson"``: the first-order geometric error
          ``r² / ((F x1)₁² + (F x1)₂² + (Fᵀ x2)₁² + (Fᵀ x2)₂²)`` with ``r = x2ᵀ F x1``;
          its square root is (to first order) the distance in pixels that the 4-vector
          ``(x1, x2)`` must move to satisfy ``F`` exactly.
        * ``"symmetric"``: the root mean square of the two point-to-epipolar-line
          distances, ``sqrt((d(x2, F x1)² + d(x1, Fᵀ x2)²) / 2)``, pixels.
        * ``"algebraic"``: ``|x2ᵀ F̂ x1|`` with ``F̂`` at unit Frobenius norm — unitless,
          not pixels; for diagnostics only.
    squared : bool
        Return the square of the distance above (for example the Sampson error
        ``r² / (...)`` itself, in pixels²).

    Returns
    -------
    array of shape (..., N)
        float64 for numpy input. ``inf`` where a denominator is 0 (a point at an epipole).

    Raises
    ------
    DegenerateError
        ``F`` is zero.

    Examples
    --------
    >>> import numpy as np
    >>> F = fundamental_from_pose(np.eye(3), np.array([-1.0, 0, 0]), K1=np.eye(3), K2=np.eye(3))
    >>> x1, x2 = np.array([[5.0, 2.0]]), np.array([[3.0, 2.5]])  # 0.5 px off the row
    >>> epipolar_distance(F, x1, x2, kind="symmetric")
    array([0.5])
    """
    func = "epipolar_distance"
    kind = check_choice(kind, func, "kind", ("sampson", "symmetric", "algebraic"))
    squared = check_bool(squared, func, "squared")
    p1, p2, xp = _points_pair_xp(x1, x2, func)
    F = _as_float_matrix(F, func, "F", (3, 3), _namespace(F, p1, func=func, names=("F", "x1")))
    if bool(xp.any(xp.max(xp.abs(F), axis=(-2, -1)) == 0)):
        raise DegenerateError(f"{func}: F must not be zero, got an all-zero matrix (every "
                              "distance would be undefined)")
    if kind == "algebraic":
        F = F / xp.sqrt(xp.sum(xp.reshape(F * F, F.shape[:-2] + (9,)), axis=-1))[..., None, None]
    l2 = p1 @ xp.matrix_transpose(F[..., :, :2]) + F[..., None, :, 2]  # F x1, (..., N, 3)
    Ft = xp.matrix_transpose(F)
    l1 = p2 @ xp.matrix_transpose(Ft[..., :, :2]) + Ft[..., None, :, 2]  # Fᵀ x2
    r = p2[..., 0] * l2[..., 0] + p2[..., 1] * l2[..., 1] + l2[..., 2]
    r2 = r * r
    if kind == "algebraic":
        return r2 if squared else xp.abs(r)
    n2 = l2[..., 0] ** 2 + l2[..., 1] ** 2
    n1 = l1[..., 0] ** 2 + l1[..., 1] ** 2
    inf = xp.full_like(r, math.inf)
    if kind == "sampson":
        den = n1 + n2
        d2 = xp.where(den > 0, r2 / xp.where(den > 0, den, xp.ones_like(den)), inf)
    else:
        ok = (n1 > 0) & (n2 > 0)
        s1 = xp.where(ok, n1, xp.ones_like(n1))
        s2 = xp.where(ok, n2, xp.ones_like(n2))
        d2 = xp.where(ok, 0.5 * (r2 / s1 + r2 / s2), inf)
    if bool(xp.any(xp.isnan(d2))):
        raise ValueError(f"{func}: F, x1 and x2 must be small enough for float64 arithmetic, "
                         "got a distance that overflows")
    return d2 if squared else xp.sqrt(d2)


# --------------------------------------------------------------------------- essential -> pose


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
    p1, p2, xp = _points_pair_xp(x1, x2, func)
    xp = _namespace(p1, P1, P2, func=func, names=("x1", "P1", "P2"))
    P1 = _as_float_matrix(P1, func, "P1", (3, 4), xp)
    P2 = _as_float_matrix(P2, func, "P2", (3, 4), xp)
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


def _tangent_basis(t):
    """Two unit vectors orthogonal to the unit vector ``t`` and to each other."""
    t0, t1, t2 = float(t[0]), float(t[1]), float(t[2])
    k = int(np.argmin(np.abs(t)))
    # b1 = t x e_k, b2 = t x b1 (written out: np.cross costs more than the rest here)
    if k == 0:
        b = (0.0, t2, -t1)
    elif k == 1:
        b = (-t2, 0.0, t0)
    else:
        b = (t1, -t0, 0.0)
    n = math.sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2])
    b1 = np.array([b[0] / n, b[1] / n, b[2] / n])
    b2 = np.array([t1 * b1[2] - t2 * b1[1], t2 * b1[0] - t0 * b1[2], t0 * b1[1] - t1 * b1[0]])
    return b1, b2


def _refine_pose(R, t, p1, p2, K1, K2, iterations, weights=None):
    """Minimise the (weighted) Sampson error of ``F = K2⁻ᵀ [t]x R K1⁻¹`` over ``R``, unit ``t``."""
    Ki1, Ki2 = np.linalg.inv(K1), np.linalg.inv(K2)
    h1 = np.c_[p1, np.ones(len(p1))]
    h2 = np.c_[p2, np.ones(len(p2))]

    def build(st):
        Rm, tv = st
        tx = np.array([[0.0, -tv[2], tv[1]], [tv[2], 0.0, -tv[0]], [-tv[1], tv[0], 0.0]])
        return Ki2.T @ tx @ Rm @ Ki1

    def update(st, p):
        Rm, tv = st
        b1, b2 = _tangent_basis(tv)
        tn = tv + p[3] * b1 + p[4] * b2
        return _rotation_small(p[:3]) @ Rm, tn / np.linalg.norm(tn)

    return _lm_sampson(build, update, (R, t), 5, h1, h2, iterations, weights)


@names_errors_as("decompose_essential", "triangulate_points")
def recover_pose(E: np.ndarray, x1: np.ndarray, x2: np.ndarray, K1: np.ndarray,
                 K2: np.ndarray, *, refine: bool = True,
                 max_iterations: int = 20) -> RecoveredPose:
    """Relative pose from an essential matrix, chosen by cheirality.

    Parameters
    ----------
    E : ndarray of shape (3, 3)
        Essential matrix (``x̂2ᵀ E x̂1 = 0`` for normalised points ``x̂ = K⁻¹ x``).
    x1, x2 : ndarray of shape (N, 2)
        Matches in pixels (use inliers only), ``N >= 1``.
    K1, K2 : ndarray of shape (3, 3)
        Intrinsics (required).
    refine : bool
        Then minimise the Sampson error (pixels) of the matches in front over the 5
        degrees of freedom of the pose (``R`` and the direction of ``t``) by
        Levenberg–Marquardt. With K known this is tighter than refining the 7-parameter
        ``F``: the calibration is no longer free to absorb noise. On by default: for E
        from the 8-point F at σ = 1 px (benchmarks/bench_general_motion.py) it lowers the
        median translation-direction error 2.6x (N=50) to 3.7x (N=1000) and the rotation
        error at N=50/200, for about 6 ms at N=1000.
    max_iterations : int
        Levenberg–Marquardt iterations for ``refine``.

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
    >>> from cvgeo.geometry.camera import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(30, seed=0)
    >>> E = essential_from_fundamental(s.F, s.K1, s.K2)
    >>> pose = recover_pose(E, s.x1, s.x2, s.K1, s.K2)
    >>> bool(np.allclose(pose.R, s.R)), bool(np.allclose(pose.t, s.t / np.linalg.norm(s.t)))
    (True, True)
    """
    func = "recover_pose"
    E = check_matrix(E, func, "E")
    refine = check_bool(refine, func, "refine")
    K1 = check_matrix(K1, func, "K1")
    K2 = check_matrix(K2, func, "K2")
    p1, p2 = _points_pair(x1, x2, func, min_count=1)
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
        iters = check_int(max_iterations, func, "max_iterations", low=0)
        R, t = _refine_pose(R, t, p1[front], p2[front], K1, K2, iters)
        front = _cheirality(R, t, q1, q2)
    return RecoveredPose(R=R, t=t, in_front=front, n_in_front=counts)


# --------------------------------------------------------------------------- optimal correction


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
    >>> F = fundamental_from_pose(np.eye(3), np.array([-1.0, 0, 0]), K1=np.eye(3), K2=np.eye(3))
    >>> c = correct_matches(F, np.array([[5.0, 2.0]]), np.array([[3.0, 3.0]]))
    >>> np.round(c.x1, 12), np.round(c.x2, 12)
    (array([[5. , 2.5]]), array([[3. , 2.5]]))
    """
    func = "correct_matches"
    F = check_matrix(F, func, "F")
    p1, p2 = _points_pair(x1, x2, func)
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


# --------------------------------------------------------------------------- refinement


def _rotation_small(w):
    """Rodrigues for a small update vector (numpy (3,))."""
    th = math.sqrt(float(w @ w))
    if th < 1e-15:
        return np.eye(3)
    k = w / th
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(th) * K + (1.0 - math.cos(th)) * (K @ K)


def _signed_sampson(F, h1, h2, jacobian=False):
    """Signed Sampson residuals ``e / sqrt(D)`` (pixels) for homogeneous (N, 3) points.

    With ``jacobian=True`` also their derivatives with respect to the 9 entries of ``F``
    (row-major), ``(N, 9)``: ``∂e/∂F_ij = x2_i x1_j`` and
    ``∂D/∂F_ij = 2 (F x1)_i x1_j [i < 2] + 2 (Fᵀ x2)_j x2_i [j < 2]``.
    """
    l2 = h1 @ F.T  # F x1
    l1 = h2 @ F  # Fᵀ x2
    e = np.sum(h2 * l2, axis=1)
    D = l2[:, 0] ** 2 + l2[:, 1] ** 2 + l1[:, 0] ** 2 + l1[:, 1] ** 2
    sq = np.sqrt(D)
    r = e / sq
    if not jacobian:
        return r
    de = (h2[:, :, None] * h1[:, None, :]).reshape(-1, 9)
    a = l2.copy()
    a[:, 2] = 0.0
    b = l1.copy()
    b[:, 2] = 0.0
    dD = 2.0 * ((a[:, :, None] * h1[:, None, :]) + (h2[:, :, None] * b[:, None, :]))
    J = de / sq[:, None] - (0.5 * e / (D * sq))[:, None] * dD.reshape(-1, 9)
    return r, J


def _lm_sampson(build, update, state, n_params, h1, h2, iterations, weights=None):
    """Levenberg–Marquardt on the signed Sampson residuals of ``F = build(state)``.

    ``update(state, p)`` applies a parameter step ``p`` (``n_params``); ``∂F/∂p`` is taken
    by differences on the 3x3 matrix and chained with the analytic ``∂r/∂F``. Returns the
    final state; the sum of squares never increases. ``weights`` (N,), optional, weigh
    the squared residuals (iteratively reweighted least squares by the caller).
    """
    sw = None if weights is None else np.sqrt(weights)
    F0 = build(state)
    r = _signed_sampson(F0, h1, h2)
    if sw is not None:
        r = r * sw
    cost = float(r @ r)
    lam = 1e-3
    eps = 1e-7
    for _ in range(iterations):
        F0 = build(state)
        r, G = _signed_sampson(F0, h1, h2, jacobian=True)  # (N,), (N, 9)
        if sw is not None:
            r = r * sw
            G = G * sw[:, None]
        dF = np.empty((9, n_params))
        for k in range(n_params):
            dp = np.zeros(n_params)
            dp[k] = eps
            dF[:, k] = ((build(update(state, dp)) - F0) / eps).ravel()
        J = G @ dF
        JtJ = J.T @ J
        g = J.T @ r
        improved = False
        rel = 0.0
        for _ in range(8):
            A = JtJ + lam * np.diag(np.diag(JtJ) + 1e-12)
            try:
                step = -np.linalg.solve(A, g)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            cand = update(state, step)
            rn = _signed_sampson(build(cand), h1, h2)
            if sw is not None:
                rn = rn * sw
            cn = float(rn @ rn)
            if np.isfinite(cn) and cn < cost:
                rel = (cost - cn) / max(cost, 1e-300)
                state, cost = cand, cn
                lam = max(lam / 10, 1e-12)
                improved = True
                break
            lam *= 10
        if not improved or rel < 1e-10:
            break
    return state


@njit(cache=True)
def _rodrigues(w0, w1, w2, R):
    """Rotation ``exp([w]x)`` into ``R`` (float64 (3, 3))."""
    th = math.sqrt(w0 * w0 + w1 * w1 + w2 * w2)
    for r in range(3):
        for c in range(3):
            R[r, c] = 1.0 if r == c else 0.0
    if th < 1e-15:
        return
    k0, k1, k2 = w0 / th, w1 / th, w2 / th
    K = np.array([[0.0, -k2, k1], [k2, 0.0, -k0], [-k1, k0, 0.0]])
    s = math.sin(th)
    c1 = 1.0 - math.cos(th)
    for r in range(3):
        for c in range(3):
            kk = K[r, 0] * K[0, c] + K[r, 1] * K[1, c] + K[r, 2] * K[2, c]
            R[r, c] += s * K[r, c] + c1 * kk


@njit(cache=True)
def _bs_build(U, V, sigma, T1, T2, F):
    """``F = T2ᵀ U diag(1, σ, 0) Vᵀ T1`` into ``F``."""
    Fn = np.empty((3, 3))
    for r in range(3):
        for c in range(3):
            Fn[r, c] = U[r, 0] * V[c, 0] + sigma * U[r, 1] * V[c, 1]
    A = np.empty((3, 3))
    for r in range(3):  # T2ᵀ Fn
        for c in range(3):
            A[r, c] = T2[0, r] * Fn[0, c] + T2[1, r] * Fn[1, c] + T2[2, r] * Fn[2, c]
    for r in range(3):  # (T2ᵀ Fn) T1
        for c in range(3):
            F[r, c] = A[r, 0] * T1[0, c] + A[r, 1] * T1[1, c] + A[r, 2] * T1[2, c]


@njit(cache=True)
def _sampson_sq_sum(F, X):
    """Sum of squared signed Sampson residuals (``inf`` if one is undefined)."""
    total = 0.0
    for i in range(X.shape[1]):
        u1, v1, u2, v2 = X[0, i], X[1, i], X[2, i], X[3, i]
        a = F[0, 0] * u1 + F[0, 1] * v1 + F[0, 2]
        b = F[1, 0] * u1 + F[1, 1] * v1 + F[1, 2]
        c = F[2, 0] * u1 + F[2, 1] * v1 + F[2, 2]
        d = F[0, 0] * u2 + F[1, 0] * v2 + F[2, 0]
        e = F[0, 1] * u2 + F[1, 1] * v2 + F[2, 1]
        den = a * a + b * b + d * d + e * e
        if not den > 0.0:
            return np.inf
        r = u2 * a + v2 * b + c
        total += r * r / den
    return total


@njit(cache=True)
def _solve_spd(A, g, out):
    """Solve ``A out = g`` for a small symmetric positive-definite ``A`` (Cholesky).

    Returns False when ``A`` is not numerically positive definite."""
    n = A.shape[0]
    L = np.zeros((n, n))
    for j in range(n):
        s = A[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, n):
            s = A[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / L[j, j]
    y = np.empty(n)
    for i in range(n):
        s = g[i]
        for k in range(i):
            s -= L[i, k] * y[k]
        y[i] = s / L[i, i]
    for i in range(n - 1, -1, -1):
        s = y[i]
        for k in range(i + 1, n):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]
    return True


@njit(cache=True)
def _refine_fundamental_kernel(U, V, sigma, T1, T2, X, iterations, F):
    """Levenberg–Marquardt on the signed Sampson residuals over ``(U, V, σ)``.

    ``F = T2ᵀ U diag(1, σ, 0) Vᵀ T1``; a step is ``U ← U R(ωu)``, ``V ← V R(ωv)``,
    ``σ ← σ + δ`` (7 parameters). ``∂F/∂p`` is analytic at ``p = 0``
    (``∂R/∂ω_k = [e_k]x``), ``∂r/∂F`` as in :func:`_signed_sampson`. Writes the result
    into ``F``; the sum of squares never increases.
    """
    n = X.shape[1]
    _bs_build(U, V, sigma, T1, T2, F)
    cost = _sampson_sq_sum(F, X)
    if not np.isfinite(cost):
        return
    lam = 1e-3
    dF = np.empty((9, 7))
    Fk = np.empty((3, 3))
    E = np.zeros((3, 3, 3))  # generators [e_k]x
    for k in range(3):
        E[k, (k + 2) % 3, (k + 1) % 3] = 1.0
        E[k, (k + 1) % 3, (k + 2) % 3] = -1.0
    Rm = np.empty((3, 3))
    Uc = np.empty((3, 3))
    Vc = np.empty((3, 3))
    JtJ = np.empty((7, 7))
    g = np.empty(7)
    step = np.empty(7)
    jrow = np.empty(7)
    Gi = np.empty(9)
    Dg = np.array([1.0, 0.0, 0.0])
    h1 = np.ones(3)
    h2 = np.ones(3)
    l1 = np.empty(3)
    l2 = np.empty(3)
    for _ in range(iterations):
        # ∂F/∂p by the chain rule through Fn = U D Vᵀ, D = diag(1, σ, 0)
        Dg[1] = sigma
        for k in range(7):
            for r in range(3):
                for c in range(3):
                    v = 0.0
                    if k < 3:  # U [e_k]x D Vᵀ
                        for a in range(3):
                            for b in range(2):
                                v += U[r, a] * E[k - 0, a, b] * Dg[b] * V[c, b]
                    elif k < 6:  # U D ([e_k]x)ᵀ Vᵀ = U D (V [e_k]x)ᵀ
                        for a in range(2):
                            for b in range(3):
                                v += U[r, a] * Dg[a] * E[k - 3, b, a] * V[c, b]
                    else:
                        v = U[r, 1] * V[c, 1]
                    Fk[r, c] = v
            for r in range(3):
                for c in range(3):
                    v = 0.0
                    for a in range(3):
                        for b in range(3):
                            v += T2[a, r] * Fk[a, b] * T1[b, c]
                    dF[3 * r + c, k] = v
        JtJ[:, :] = 0.0
        g[:] = 0.0
        for i in range(n):
            h1[0] = X[0, i]
            h1[1] = X[1, i]
            h2[0] = X[2, i]
            h2[1] = X[3, i]
            for r in range(3):
                l2[r] = F[r, 0] * h1[0] + F[r, 1] * h1[1] + F[r, 2]  # F x1
                l1[r] = F[0, r] * h2[0] + F[1, r] * h2[1] + F[2, r]  # Fᵀ x2
            e = h2[0] * l2[0] + h2[1] * l2[1] + l2[2]
            D = l2[0] * l2[0] + l2[1] * l2[1] + l1[0] * l1[0] + l1[1] * l1[1]
            sq = math.sqrt(D)
            ri = e / sq
            w = 0.5 * e / (D * sq)
            for r in range(3):
                for c in range(3):
                    dd = 0.0
                    if r < 2:
                        dd += 2.0 * l2[r] * h1[c]
                    if c < 2:
                        dd += 2.0 * h2[r] * l1[c]
                    Gi[3 * r + c] = h2[r] * h1[c] / sq - w * dd
            for k in range(7):
                v = 0.0
                for m in range(9):
                    v += Gi[m] * dF[m, k]
                jrow[k] = v
            for a in range(7):
                g[a] += jrow[a] * ri
                for b in range(a, 7):
                    JtJ[a, b] += jrow[a] * jrow[b]
        for a in range(7):
            for b in range(a):
                JtJ[a, b] = JtJ[b, a]
        improved = False
        rel = 0.0
        A = np.empty((7, 7))
        for _try in range(8):
            for a in range(7):
                for b in range(7):
                    A[a, b] = JtJ[a, b]
                A[a, a] += lam * (JtJ[a, a] + 1e-12)
            if not _solve_spd(A, g, step):
                lam *= 10.0
                continue
            _rodrigues(-step[0], -step[1], -step[2], Rm)
            for r in range(3):
                for c in range(3):
                    Uc[r, c] = U[r, 0] * Rm[0, c] + U[r, 1] * Rm[1, c] + U[r, 2] * Rm[2, c]
            _rodrigues(-step[3], -step[4], -step[5], Rm)
            for r in range(3):
                for c in range(3):
                    Vc[r, c] = V[r, 0] * Rm[0, c] + V[r, 1] * Rm[1, c] + V[r, 2] * Rm[2, c]
            sc = sigma - step[6]
            _bs_build(Uc, Vc, sc, T1, T2, Fk)
            cn = _sampson_sq_sum(Fk, X)
            if np.isfinite(cn) and cn < cost:
                rel = (cost - cn) / max(cost, 1e-300)
                U[:, :] = Uc
                V[:, :] = Vc
                sigma = sc
                cost = cn
                F[:, :] = Fk
                lam = max(lam / 10.0, 1e-12)
                improved = True
                break
            lam *= 10.0
        if not improved or rel < 1e-10:
            break


def refine_fundamental(F: np.ndarray, x1: np.ndarray, x2: np.ndarray, *,
                       max_iterations: int = 10) -> np.ndarray:
    """Minimise the Sampson error of ``F`` over rank-2 matrices (Levenberg–Marquardt).

    Parameters
    ----------
    F : ndarray of shape (3, 3)
        Starting fundamental matrix (for example from :func:`fundamental_8point`).
    x1, x2 : ndarray of shape (N, 2)
        Inlier matches, ``N >= 8``.
    max_iterations : int
        Maximum Levenberg–Marquardt iterations (each with a 7-column Jacobian).

    Returns
    -------
    F : ndarray of shape (3, 3)
        Rank 2 by construction, unit Frobenius norm, sign rule. The sum of squared
        Sampson distances never increases.

    Raises
    ------
    DegenerateError
        Fewer than 8 matches.

    Notes
    -----
    ``F`` is kept in Hartley-normalised coordinates in the orthonormal representation of
    Bartoli & Sturm, ``F̂ = U diag(1, σ, 0) Vᵀ``: an update is two small rotations
    ``U ← U R(ωu)``, ``V ← V R(ωv)`` and ``σ ← σ + δ`` (7 parameters, the true degrees of
    freedom), so rank 2 never has to be re-imposed. The residuals are the signed Sampson
    distances in *pixels* of the de-normalised ``F = T2ᵀ F̂ T1``; the Sampson error is
    the first-order approximation of the Gold-standard (reprojection) error.

    References
    ----------
    A. Bartoli, P. Sturm, "Non-linear estimation of the fundamental matrix with minimal
    parameters", IEEE TPAMI 26(4), 2004. doi:10.1109/TPAMI.2004.1262333

    Examples
    --------
    >>> from cvgeo.geometry.camera import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(100, seed=0, noise_px=0.5)
    >>> F0 = fundamental_8point(s.x1, s.x2)
    >>> F1 = refine_fundamental(F0, s.x1, s.x2)
    >>> e0 = (epipolar_distance(F0, s.x1, s.x2, squared=True)).sum()
    >>> bool((epipolar_distance(F1, s.x1, s.x2, squared=True)).sum() <= e0)
    True
    """
    func = "refine_fundamental"
    F = check_matrix(F, func, "F")
    p1, p2 = _points_pair(x1, x2, func, min_count=8)
    iters = check_int(max_iterations, func, "max_iterations", low=0)
    return _refine_fundamental_np(np.asarray(F, dtype=np.float64), p1, p2, iters, func)


def _refine_fundamental_np(F, p1, p2, iters, func="refine_fundamental"):
    """:func:`refine_fundamental` on validated numpy input (no argument checks)."""
    Ts, Tinv = [], []
    for name, p in (("x1", p1), ("x2", p2)):  # Hartley normalisation (numba, no copies)
        _, k, mx, my = _normalizer_kernel(np.ascontiguousarray(p, dtype=np.float64))
        if not k > 0:
            raise DegenerateError(f"{func}: {name} must not all coincide, got {len(p)} "
                                  "identical points")
        Ts.append(np.array([[k, 0.0, -k * mx], [0.0, k, -k * my], [0.0, 0.0, 1.0]]))
        Tinv.append(np.array([[1.0 / k, 0.0, mx], [0.0, 1.0 / k, my], [0.0, 0.0, 1.0]]))
    T1, T2 = Ts
    Fn = Tinv[1].T @ F @ Tinv[0]
    U, s, Vt = np.linalg.svd(Fn)
    if s[0] == 0:
        raise DegenerateError(f"{func}: F must not be zero, got a zero matrix")
    out = np.empty((3, 3))
    _refine_fundamental_kernel(np.ascontiguousarray(U), np.ascontiguousarray(Vt.T),
                               float(s[1] / s[0]), T1, T2, _soa(p1, p2), iters, out)
    return _unit_sign(out, np)


# --------------------------------------------------------------------------- robust estimation


def _soa(x1, x2):
    """Matches as a C-contiguous (4, N) array: rows x1, y1, x2, y2."""
    return np.ascontiguousarray(np.concatenate([x1.T, x2.T]), dtype=np.float64)


class _FundamentalEstimator:
    """The ransac estimator protocol for F: 7-point hypotheses, √Sampson residuals.

    ``fit_minimal_batch`` solves B samples at once in numba and, since the protocol
    carries one model per sample, keeps each sample's best 7-point root by its MSAC cost
    on a fixed, evenly spread subset of at most 32 matches (held by the estimator);
    the chosen root is then scored by ``score_batch``: a preliminary test on an evenly
    spread subset of at most 64 matches, then all data with Capel's bail-out once the
    cost reaches the best so far. ``fit`` is the normalised 8-point algorithm through
    the normal matrix (LO's refits).

    References
    ----------
    D. Capel, "An effective bail-out test for RANSAC consensus scoring", BMVC 2005.
    J. Matas, O. Chum, "Randomized RANSAC with T(d,d) test", Image and Vision Computing
    22(10), 2004.
    """

    sample_size = 7

    def __init__(self, x1: np.ndarray, x2: np.ndarray) -> None:
        pick = np.unique(np.linspace(0, len(x1) - 1, min(len(x1), 64)).astype(np.int64))
        self.sub = _soa(x1[pick], x2[pick])  # the preliminary test of score_batch
        self.rank = np.ascontiguousarray(self.sub[:, ::2])  # ranks a sample's 7-point roots
        self.t2 = 1.0
        self.n_plane_samples = 0  # new best samples found H-degenerate (DEGENSAC)

    def fit_minimal(self, x1, x2):
        out = np.empty((3, 3, 3))
        k = _seven_point_kernel(np.ascontiguousarray(x1), np.ascontiguousarray(x2), out)
        return [out[i] for i in range(k)]

    def fit_minimal_batch(self, s1, s2):
        models = np.zeros((s1.shape[0], 3, 3))
        valid = np.zeros(s1.shape[0], dtype=bool)
        _seven_point_batch_kernel(np.ascontiguousarray(s1), np.ascontiguousarray(s2),
                                  self.rank, self.t2, models, valid)
        return models, valid

    def score_batch(self, Fs, x1, x2, *, threshold_px, bound):
        self.t2 = float(threshold_px) ** 2  # also ranks the 7-point roots from now on
        return _score_batch_kernel(np.ascontiguousarray(Fs), _soa(x1, x2), self.sub, self.t2,
                                   float(bound), np.empty(len(Fs)))

    def fit(self, x1, x2):
        if len(x1) < 8:
            raise DegenerateError(f"fundamental_8point: x1 must hold at least 8 points, got "
                                  f"{len(x1)}")
        F = np.empty((3, 3))
        if not _eight_point_gram_kernel(np.ascontiguousarray(x1), np.ascontiguousarray(x2),
                                        np.arange(len(x1)), F):
            raise DegenerateError("fundamental_8point: the matches must determine F, got a "
                                  "degenerate configuration")
        return F

    def residuals(self, F, x1, x2):
        return _sampson_kernel(F, np.ascontiguousarray(x1), np.ascontiguousarray(x2),
                               np.empty(len(x1)))

    def complete_degenerate(self, F, sample, x1, x2, *, threshold_px, rng):
        """DEGENSAC: when >= 5 of the 7 sample points lie on a homography compatible with
        ``F``, complete that plane with two off-plane matches (plane and parallax)."""
        H = sample_plane(F, x1[sample], x2[sample], threshold_px)
        if H is None:
            return []
        self.n_plane_samples += 1
        X = _soa(x1, x2)
        t2 = float(threshold_px) ** 2

        def score(Fs, bound):
            return _score_batch_kernel(Fs, X, self.sub, t2, bound, np.empty(len(Fs)))

        Fp, _ = plane_and_parallax(H, x1, x2, float(threshold_px), rng, score)
        return [] if Fp is None else [Fp]


@dataclass(frozen=True)
class FundamentalResult:
    """Result of :func:`find_fundamental`.

    Attributes
    ----------
    F : ndarray of shape (3, 3)
        ``x2ᵀ F x1 = 0``, rank 2, unit Frobenius norm, sign rule.
    inlier_mask : ndarray of shape (N,), bool
        Matches whose √Sampson distance under ``F`` is ``<= threshold_px`` (all True for
        the non-robust method).
    residuals : ndarray of shape (N,), float64
        √Sampson distance of every match under ``F``, pixels.
    n_trials : int
        Minimal samples drawn (0 for the non-robust method).
    n_degenerate : int
        Minimal samples skipped as degenerate.
    """

    F: np.ndarray
    inlier_mask: np.ndarray
    residuals: np.ndarray
    n_trials: int
    n_degenerate: int

    @property
    def n_inliers(self) -> int:
        """Number of inliers."""
        return int(self.inlier_mask.sum())


@njit(cache=True)
def _inner_lo_kernel(F, x1, x2, X, t, picks, out):
    """The inner RANSAC of :func:`_inner_lo` on pre-drawn samples ``picks`` (S, k).

    Writes the best model (``F`` unless beaten) into ``out``; returns its MSAC cost.
    """
    t2 = t * t
    best = _msac_cost_kernel(F, X, t2, np.inf)
    out[:, :] = F
    buf = np.empty(x1.shape[0])
    G = np.empty((3, 3))
    for s in range(picks.shape[0]):
        ok = _eight_point_gram_kernel(x1, x2, picks[s], G)
        for k in (3.0, 2.0, 1.5, 1.0):
            if not ok:
                break
            _sampson_kernel(G, x1, x2, buf)
            sel = np.flatnonzero(buf <= k * t)
            ok = sel.size >= 8 and _eight_point_gram_kernel(x1, x2, sel, G)
        if not ok:
            continue
        cost = _msac_cost_kernel(G, X, t2, best)
        if cost < best:
            best = cost
            out[:, :] = G
    return best


def _inner_lo(F, x1, x2, t, rng, n_samples, sample_size=14, spread=2.0):
    """LO-RANSAC's inner RANSAC around ``F`` (Chum, Matas & Kittler 2003, step 2).

    Draws ``n_samples`` non-minimal samples of ``sample_size`` matches among those within
    ``spread * t`` of ``F``, fits each by the 8-point algorithm, iterates least squares
    on all matches within a shrinking threshold (3, 2, 1.5, 1 times ``t``), and keeps
    the model of lowest MSAC cost (``F`` itself unless beaten).
    """
    x1 = np.ascontiguousarray(x1)
    x2 = np.ascontiguousarray(x2)
    pool = np.flatnonzero(_sampson_kernel(F, x1, x2, np.empty(len(x1))) <= spread * t)
    if pool.size < sample_size:
        return F
    picks = pool[_draw_samples(rng, pool.size, sample_size, n_samples)]
    out = np.empty((3, 3))
    _inner_lo_kernel(F, x1, x2, _soa(x1, x2), float(t), picks, out)
    return out


@names_errors_as("ransac", "fundamental_7point", "fundamental_8point", "refine_fundamental",
                 "epipolar_distance", "normalize_fundamental")
def find_fundamental(
    x1: np.ndarray,
    x2: np.ndarray,
    *,
    method: str = "ransac",
    threshold_px: float = 1.0,
    confidence: float = 0.999,
    max_trials: int = 10_000,
    seed: Any = 0,
    inner_samples: int = 10,
    refine: bool = True,
    check_planar: bool = True,
) -> FundamentalResult:
    """Fundamental matrix from matches, robustly (RANSAC) or by least squares.

    Parameters
    ----------
    x1, x2 : ndarray of shape (N, 2)
        Matches in pixels (``N >= 7`` for RANSAC, ``N >= 8`` for least squares). With
        only 7 inliers the 7-point solution is returned unrefined; when the 7-point cubic
        has three real roots, all of which fit those 7 exactly, the roots are ranked by
        their support among the other matches and a ``RuntimeWarning`` says the choice
        among equals was arbitrary if no other match decides it.
    method : {"ransac", "8point"}
        ``"ransac"``: the generic :func:`~cvgeo.geometry.ransac.ransac` with the 7-point
        minimal solver, √Sampson residuals, MSAC scoring and local optimisation.
        ``"8point"``: the normalised 8-point algorithm on all matches (no outliers).
    threshold_px : float
        Inlier threshold on the √Sampson distance, pixels, in (0, 1e12]. Around 1.5–3 σ
        of the point noise.
    confidence : float
        RANSAC stopping confidence in (0, 1).
    max_trials : int
        Cap on the RANSAC minimal samples.
    seed : int, Generator or None
        RANSAC random source; the default makes the call reproducible.
    inner_samples : int
        Non-minimal samples (14 matches each) of LO-RANSAC's inner RANSAC, drawn among
        the final model's near-inliers (``<= 2 threshold_px``) and iterated by least
        squares at a shrinking threshold; it pulls the search out of the local minima
        that a noisy 7-point hypothesis leads the refits into. 0 disables it; at most
        10000.
    refine : bool
        Finish with :func:`refine_fundamental` (Sampson error over rank-2 matrices) on the
        inliers at 1.5 and then 1 times ``threshold_px``, recomputing them in between
        (the shrinking threshold of LO+ lets missed inliers back in).
    check_planar : bool
        Raise :class:`DegenerateError` when the inliers are a plane plus chance: a
        homography fitted robustly to them holds at least half, and the inliers off it
        are no more than random matches give (see Notes). A plane-dominated scene with
        enough matches off the plane is completed instead (DEGENSAC).

    Returns
    -------
    FundamentalResult
        ``F``, ``inlier_mask``, ``residuals`` (√Sampson, pixels), ``n_trials``,
        ``n_degenerate``.

    Raises
    ------
    DegenerateError
        Too few matches; every sample degenerate; fewer than 7 inliers; the inliers lie
        on one plane / are related by a homography.
    ValueError, TypeError
        Bad shapes, NaN or inf, bad options.

    Warns
    -----
    RuntimeWarning
        Low support (RANSAC): the inliers are no more than random matches would give
        (the 7 of the sample plus the count of matches falling within ``threshold_px``
        of an epipolar line by chance that the best of the hypotheses tried exceeds with
        probability below 1e-3).

    Notes
    -----
    RANSAC draws 7 matches, solves the cubic for up to three ``F`` (Hartley & Zisserman
    11.1.2), scores with the truncated quadratic MSAC cost on √Sampson distances,
    re-fits by the normalised 8-point algorithm on the inliers of each new best model
    (LO-RANSAC), runs LO-RANSAC's inner RANSAC around the result (``inner_samples``),
    and the final model is polished by minimising the Sampson error
    (a first-order Gold-standard estimate) on inliers at a shrinking threshold
    (Lebeda, Matas & Chum, "Fixing the locally optimized RANSAC", BMVC 2012).

    Dominant planes (DEGENSAC, Chum, Werner & Matas, CVPR 2005): the 7-point sample of
    each new best model is tested for five or more points on a homography compatible
    with its ``F``; when found, and again for the final model when a homography holds at
    least half of its inliers, ``F = [e2]x H`` is completed from the plane and pairs of
    matches off it (plane and parallax, the epipole then refitted to all off-plane
    inliers) and kept if its MSAC cost is lower; the inner RANSAC is skipped then (its
    8-point refits are ill-posed on a dominant plane). A scene whose off-plane support is
    within chance (:mod:`cvgeo.geometry.degeneracy`) raises :class:`DegenerateError`,
    whatever the outliers.

    References
    ----------
    R. Hartley, A. Zisserman, "Multiple View Geometry in Computer Vision", 2nd ed., 2004,
    chapter 11. O. Chum, J. Matas, J. Kittler, "Locally optimized RANSAC", DAGM 2003.

    Examples
    --------
    >>> from cvgeo.geometry.camera import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(200, seed=0, noise_px=0.5, outlier_fraction=0.3)
    >>> r = find_fundamental(s.x1, s.x2, threshold_px=1.5)
    >>> bool((r.inlier_mask == s.inlier_mask).mean() > 0.95)
    True
    """
    func = "find_fundamental"
    method = check_choice(method, func, "method", ("ransac", "8point"))
    refine = check_bool(refine, func, "refine")
    check_planar = check_bool(check_planar, func, "check_planar")
    p1, p2 = _points_pair(x1, x2, func, min_count=7 if method == "ransac" else 8)
    t = check_real(threshold_px, func, "threshold_px", low=0.0, high=MAX_THRESHOLD_PX,
                   low_inclusive=False)
    if method == "8point":
        F = fundamental_8point(p1, p2)
        if refine:
            F = refine_fundamental(F, p1, p2)
        res = epipolar_distance(F, p1, p2)
        return FundamentalResult(F=F, inlier_mask=np.ones(len(p1), dtype=bool),
                                 residuals=res, n_trials=0, n_degenerate=0)

    inner = check_int(inner_samples, func, "inner_samples", low=0, high=10_000)
    rng = check_seed(seed, func)
    confidence = check_real(confidence, func, "confidence", low=0.0, high=1.0,
                            low_inclusive=False, high_inclusive=False)
    max_trials = check_int(max_trials, func, "max_trials", low=1, high=MAX_TRIALS)
    from cvgeo.geometry._twoview_ransac import two_view_ransac  # imports this module

    est = _FundamentalEstimator(p1, p2)
    est.t2 = t * t

    def complete(F, sample):
        return est.complete_degenerate(F, sample, p1, p2, threshold_px=t, rng=rng)

    r, n_models = two_view_ransac(est, p1, p2, threshold_px=t, confidence=confidence,
                                  max_trials=max_trials, rng=rng,
                                  delta0=_epipolar_chance(p2, t),
                                  complete=complete)
    F = r.model
    inl = r.inlier_mask
    if inl.sum() < 7:
        raise DegenerateError(f"{func}: the matches must have at least 7 inliers, got "
                              f"{int(inl.sum())} within {t:g} px")
    if inl.sum() == 7 and len(fundamental_7point(p1[inl], p2[inl])) > 1:
        warnings.warn(f"{func}: only 7 inliers, and the 7-point algorithm gives several "
                      "fundamental matrices that fit them all; the one returned is the first "
                      "(fundamental_7point lists them all)", RuntimeWarning, stacklevel=2)
    X = _soa(p1, p2)

    def score(Fs, bound):
        return _score_batch_kernel(Fs, X, est.sub, t * t, bound, np.empty(len(Fs)))

    H_plane = dominant_plane(p1, p2, r.inlier_mask, t, rng)
    plane = False
    if H_plane is not None:
        F, plane = complete_dominant_plane(F, H_plane, p1, p2, t, rng, score)
    if inner and not plane:  # LO's 8-point refits are ill-posed on a dominant plane
        F = _inner_lo(F, p1, p2, t, rng, inner)
    if refine:  # LO+-style polish: Sampson refits on inliers at a shrinking threshold
        for k, iters in ((1.5, 3), (1.0, 10)):
            sel = est.residuals(F, p1, p2) <= k * t
            if sel.sum() < 8:
                break
            F = _refine_fundamental_np(F, p1[sel], p2[sel], iters)
    F = _unit_sign(F, np)
    res = est.residuals(F, p1, p2)
    inl = res <= t
    if check_planar:
        planar_support(func, p1, p2, inl, dominant_plane(p1, p2, inl, t, rng), t)
    _warn_low_support(func, int(inl.sum()), len(p1), 7, _epipolar_chance(p2, t),
                      n_models)
    return FundamentalResult(F=F, inlier_mask=inl, residuals=res, n_trials=r.n_trials,
                             n_degenerate=r.n_degenerate)


# --------------------------------------------------------------------------- rectification


@dataclass(frozen=True)
class Rectification:
    """Result of :func:`rectify_uncalibrated`.

    Attributes
    ----------
    H1, H2 : ndarray of shape (3, 3)
        Homographies for image 1 and 2 (source pixel -> rectified pixel): matches land on
        the same row, ``(H1 x1)_y = (H2 x2)_y``.
    output_shape : tuple of int
        ``(H, W)`` canvas that holds both rectified images (for
        :func:`~cvgeo.geometry.warp.warp`).
    """

    H1: np.ndarray
    H2: np.ndarray
    output_shape: tuple[int, int]


def rectify_uncalibrated(F: np.ndarray, x1: np.ndarray, x2: np.ndarray, *,
                         image_size: tuple[int, int]) -> Rectification:
    """Projective rectification of an uncalibrated pair (Hartley 1999).

    Parameters
    ----------
    F : ndarray of shape (3, 3)
        Fundamental matrix, ``x2ᵀ F x1 = 0``.
    x1, x2 : ndarray of shape (N, 2)
        Inlier matches (used to pick the matching homography), ``N >= 3``.
    image_size : (H, W)
        Size of the images (both the same), rows and columns.

    Returns
    -------
    Rectification
        ``H1``, ``H2`` and the ``output_shape`` (equal to ``image_size``): after
        warping, epipolar lines are image rows and matches share their row.

    Raises
    ------
    DegenerateError
        The epipole of image 2 lies inside the image (no rectification keeps the image
        finite), too few matches, or ``F`` of rank below 2.

    Notes
    -----
    1. ``H2 = G R T``: translate the image centre to the origin, rotate the epipole
       ``e2`` onto the x axis at ``(f, 0, 1)``, and send it to infinity with
       ``G = [[1, 0, 0], [0, 1, 0], [-1/f, 0, 1]]`` — to first order a rigid motion
       near the image centre.
    2. The rows 2 and 3 of ``H1`` are those of ``H2 [e2]x F`` (a matching homography:
       corresponding epipolar lines become the same row).
    3. The first row of ``H1`` is the linear least-squares choice minimising the
       disparity ``Σ ((H1 x1)_x - (H2 x2)_x)²`` over the matches (Hartley's ``H_A``).
    4. One similarity applied to both fits the two images into ``image_size``.

    References
    ----------
    R. Hartley, "Theory and practice of projective rectification", IJCV 35(2), 1999.
    doi:10.1023/A:1008115206617

    Examples
    --------
    >>> from cvgeo.geometry.camera import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(50, seed=2, rotation_deg=5)
    >>> r = rectify_uncalibrated(s.F, s.x1, s.x2, image_size=(480, 640))
    >>> h1 = np.c_[s.x1, np.ones(50)] @ r.H1.T
    >>> h2 = np.c_[s.x2, np.ones(50)] @ r.H2.T
    >>> bool(np.abs(h1[:, 1] / h1[:, 2] - h2[:, 1] / h2[:, 2]).max() < 1e-6)
    True
    """
    func = "rectify_uncalibrated"
    F = check_matrix(F, func, "F")
    p1, p2 = _points_pair(x1, x2, func, min_count=3)
    h, w = check_shape2(image_size, func, "image_size")
    _require_rank(F, np, func, "F", 2, "have rank 2")
    F = F / np.abs(F).max()
    F = F / np.linalg.norm(F)
    e2 = epipoles(F).e2
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    if abs(e2[2]) > 1e-12 * np.abs(e2).max():
        ex, ey = e2[0] / e2[2], e2[1] / e2[2]
        if -0.5 <= ex <= w - 0.5 and -0.5 <= ey <= h - 0.5:
            raise DegenerateError(f"{func}: the epipole of image 2 must lie outside the "
                                  f"image, got ({ex:.1f}, {ey:.1f}) inside {w}x{h}")
    T = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    e = T @ e2
    if e[0] < 0:  # the same point; keeps the rotation within ±90°
        e = -e
    r = math.hypot(e[0], e[1])
    if r == 0:
        raise DegenerateError(f"{func}: the epipole of image 2 must not be the image centre")
    c, s = e[0] / r, e[1] / r
    Rm = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    G = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-e[2] / r, 0.0, 1.0]])
    H2 = G @ Rm @ T
    M = H2 @ skew(e2) @ F  # rows 2 and 3 map epipolar lines of image 1 to rows
    hom1 = np.c_[p1, np.ones(len(p1))]
    hom2 = np.c_[p2, np.ones(len(p2))] @ H2.T
    # orient rows 2-3 of M so rectified y agrees in sign/scale with image 2's
    w1 = hom1 @ M[2]
    y1 = (hom1 @ M[1]) / w1
    y2 = hom2[:, 1] / hom2[:, 2]
    k = float(np.median(y2 / np.where(y1 == 0, np.nan, y1)))
    if not np.isfinite(k) or k == 0:
        k = 1.0
    row2, row3 = M[1] * (1.0 if k > 0 else -1.0), M[2]
    x2r = hom2[:, 0] / hom2[:, 2]
    a = hom1 / (hom1 @ row3)[:, None]
    first, *_ = np.linalg.lstsq(a, x2r, rcond=None)
    H1 = np.vstack([first, row2, row3])
    H1 = H1 / H1[2].dot([cx, cy, 1.0])
    H2 = H2 / H2[2].dot([cx, cy, 1.0])
    if abs(np.linalg.det(H1 / np.abs(H1).max())) < 1e-14:
        raise DegenerateError(f"{func}: the matches must determine a non-singular H1, got a "
                              "singular one (too few or collinear matches)")
    # one similarity for both images: fit the union of the warped corners into the canvas
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], float)
    pts = []
    for H in (H1, H2):
        q = corners @ H.T
        if np.any(q[:, 2] <= 0):
            raise DegenerateError(f"{func}: the rectifying homographies must keep the image "
                                  "finite, got a corner sent to infinity (epipole too close)")
        pts.append(q[:, :2] / q[:, 2:])
    pts = np.vstack(pts)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = min((w - 1) / max(hi[0] - lo[0], 1e-12), (h - 1) / max(hi[1] - lo[1], 1e-12))
    S = np.array([[scale, 0.0, -scale * lo[0]], [0.0, scale, -scale * lo[1]], [0, 0, 1.0]])
    return Rectification(H1=S @ H1, H2=S @ H2, output_shape=(h, w))
