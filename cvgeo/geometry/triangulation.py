"""Vectorised two-view triangulation kernels (array API: numpy or torch, batched).

Private helpers of :func:`cvgeo.geometry.epipolar.triangulate_points` and of the
cheirality test of :func:`~cvgeo.geometry.epipolar.recover_pose` /
:func:`~cvgeo.geometry.essential.find_essential`. Every operation is elementwise on arrays
of shape ``(..., N)``, so a thousand matches cost a few dozen vector operations instead of
a thousand 4 x 4 singular value decompositions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: a point whose 3 x 3 normal matrix has ``det <= _SINGULAR * trace³`` is at infinity.
_SINGULAR = 1e-15


def _solve3(a00, a01, a02, a11, a12, a22, b0, b1, b2):
    """Solve the symmetric 3 x 3 systems ``A x = b`` elementwise by Cramer's rule.

    Returns ``(x0, x1, x2, det)``; ``det`` is the determinant of ``A``.
    """
    c00 = a11 * a22 - a12 * a12
    c01 = a02 * a12 - a01 * a22
    c02 = a01 * a12 - a02 * a11
    c11 = a00 * a22 - a02 * a02
    c12 = a01 * a02 - a00 * a12
    c22 = a00 * a11 - a01 * a01
    det = a00 * c00 + a01 * c01 + a02 * c02
    inv = _safe_recip(det)
    x0 = (c00 * b0 + c01 * b1 + c02 * b2) * inv
    x1 = (c01 * b0 + c11 * b1 + c12 * b2) * inv
    x2 = (c02 * b0 + c12 * b1 + c22 * b2) * inv
    return x0, x1, x2, det


def _safe_recip(v):
    """``1 / v`` elementwise, with 0 where ``v == 0`` (no division by zero is evaluated)."""
    zero = v == 0
    return (~zero) / (v + zero)


def _entry(P, i, j):
    """``P[..., i, j]`` shaped to broadcast against per-match arrays (..., N)."""
    return P[..., i, j][..., None]


def _rows(P, x):
    """The two DLT rows ``x p3 - p1`` and ``y p3 - p2`` of one camera: 4 arrays (..., N) each."""
    r0 = [x[..., 0] * _entry(P, 2, j) - _entry(P, 0, j) for j in range(4)]
    r1 = [x[..., 1] * _entry(P, 2, j) - _entry(P, 1, j) for j in range(4)]
    return r0, r1


def triangulate_linear(P1, P2, x1, x2, xp):
    """Linear triangulation with the last homogeneous coordinate fixed to 1.

    The four DLT equations of a match (rows scaled to unit norm) are solved in least
    squares for the inhomogeneous point through their 3 x 3 normal equations, every
    quantity an elementwise array over the matches.

    Returns
    -------
    X : (..., N, 3)
        The points; rows of points at infinity are meaningless (see ``finite``).
    finite : (..., N) bool
        False where the normal matrix is singular to working precision (the two rays are
        parallel: zero parallax).
    """
    rows = [*_rows(P1, x1), *_rows(P2, x2)]
    a = [[0.0] * 4 for _ in range(4)]  # a[i][j] = sum over rows of r_i r_j (i <= j)
    for r in rows:
        inv = 1.0 / xp.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2] + r[3] * r[3])
        r = [v * inv for v in r]
        for i in range(3):
            for j in range(i, 4):
                a[i][j] = a[i][j] + r[i] * r[j]
    X0, X1, X2, det = _solve3(a[0][0], a[0][1], a[0][2], a[1][1], a[1][2], a[2][2],
                              -a[0][3], -a[1][3], -a[2][3])
    tr = a[0][0] + a[1][1] + a[2][2]
    finite = xp.abs(det) > _SINGULAR * tr * tr * tr
    return xp.stack([X0, X1, X2], axis=-1), finite


def reprojection_gauss_newton(P1, P2, x1, x2, X, iterations, xp):
    """Gauss–Newton steps on the reprojection error of each point, cameras fixed.

    Minimises ``|π(P1 X) - x1|² + |π(P2 X) - x2|²`` over ``X`` (3 unknowns per match),
    all matches at once; a step that does not lower a point's error is not taken.
    """
    cams = [([[_entry(P, i, j) for j in range(4)] for i in range(3)], x[..., 0], x[..., 1])
            for P, x in ((P1, x1), (P2, x2))]

    def project(Pe, X0, X1, X2):
        return [Pe[i][0] * X0 + Pe[i][1] * X1 + Pe[i][2] * X2 + Pe[i][3] for i in range(3)]

    def error(X0, X1, X2):
        e = 0.0
        for Pe, u, v in cams:
            p = project(Pe, X0, X1, X2)
            iz = _safe_recip(p[2])
            du = p[0] * iz - u
            dv = p[1] * iz - v
            e = e + du * du + dv * dv
        return e

    X0, X1, X2 = X[..., 0], X[..., 1], X[..., 2]
    err = error(X0, X1, X2)
    for _ in range(iterations):
        acc = [0.0] * 9  # a00 a01 a02 a11 a12 a22 g0 g1 g2
        for Pe, u, v in cams:
            p = project(Pe, X0, X1, X2)
            iz = _safe_recip(p[2])
            for k, obs in ((0, u), (1, v)):
                q = p[k] * iz
                r = q - obs
                # d(p_k / p_2)/dX = (P_k - (p_k / p_2) P_2) / p_2
                j0 = (Pe[k][0] - q * Pe[2][0]) * iz
                j1 = (Pe[k][1] - q * Pe[2][1]) * iz
                j2 = (Pe[k][2] - q * Pe[2][2]) * iz
                acc[0] = acc[0] + j0 * j0
                acc[1] = acc[1] + j0 * j1
                acc[2] = acc[2] + j0 * j2
                acc[3] = acc[3] + j1 * j1
                acc[4] = acc[4] + j1 * j2
                acc[5] = acc[5] + j2 * j2
                acc[6] = acc[6] + j0 * r
                acc[7] = acc[7] + j1 * r
                acc[8] = acc[8] + j2 * r
        s0, s1, s2, _ = _solve3(*acc)
        n0, n1, n2 = X0 - s0, X1 - s1, X2 - s2
        en = error(n0, n1, n2)
        better = en < err  # NaN compares False
        X0 = xp.where(better, n0, X0)
        X1 = xp.where(better, n1, X1)
        X2 = xp.where(better, n2, X2)
        err = xp.where(better, en, err)
    return xp.stack([X0, X1, X2], axis=-1)


def camera_centre(P, xp):
    """Homogeneous camera centre ``C`` with ``P C = 0`` (..., 4), by signed 3 x 3 minors."""
    def minor(cols):
        return xp.linalg.det(xp.stack([P[..., :, c] for c in cols], axis=-1))

    return xp.stack([minor((1, 2, 3)), -minor((0, 2, 3)), minor((0, 1, 3)),
                     -minor((0, 1, 2))], axis=-1)


def two_view_depths(R: np.ndarray, t: np.ndarray, q1: np.ndarray, q2: np.ndarray):
    """Depths ``(λ1, λ2)`` with ``λ2 q̃2 = λ1 R q̃1 + t`` in least squares, numpy (N,) each.

    ``q1, q2`` are normalised (N, 2) points, ``q̃`` their homogeneous (x, y, 1). Crossing
    the equation with ``q̃2`` (resp. ``R q̃1``) removes one unknown:
    ``λ1 = -(q̃2 × t)·(q̃2 × R q̃1) / |q̃2 × R q̃1|²`` and
    ``λ2 = (R q̃1 × t)·(R q̃1 × q̃2) / |R q̃1 × q̃2|²`` (both ``nan`` for parallel rays).
    """
    h1 = np.c_[q1, np.ones(len(q1))]
    h2 = np.c_[q2, np.ones(len(q2))]
    a = h1 @ R.T  # R q̃1
    n = np.cross(h2, a)
    nn = np.einsum("ij,ij->i", n, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam1 = -np.einsum("ij,ij->i", np.cross(h2, t), n) / nn
        lam2 = -np.einsum("ij,ij->i", np.cross(a, t), n) / nn
    return lam1, lam2


def any_coincident_centres(P1: Any, P2: Any, xp) -> bool:
    """True when the two cameras (of any pair in the batch) share their centre."""
    C1 = camera_centre(P1, xp)
    C2 = camera_centre(P2, xp)
    n1 = xp.sqrt(xp.sum(C1 * C1, axis=-1))
    n2 = xp.sqrt(xp.sum(C2 * C2, axis=-1))
    # |C1 ∧ C2|² = |C1|²|C2|² - (C1·C2)², relative to |C1|²|C2|²
    d = xp.sum(C1 * C2, axis=-1)
    wedge = n1 * n1 * n2 * n2 - d * d
    bad = (n1 == 0) | (n2 == 0) | (wedge <= 1e-14 * n1 * n1 * n2 * n2)
    return bool(xp.any(bad))
