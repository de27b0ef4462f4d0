"""Non-linear refinement on the Sampson error: of a relative pose (5 degrees of freedom)
and of a fundamental matrix (Bartoli–Sturm's 7-parameter orthonormal representation).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cvgeo._checks import (
    DegenerateError,
    check_int,
    check_matrix,
    check_points_pair,
    renamed_parameters,
)
from cvgeo.geometry._common import (
    _cholesky,
    _cholesky_solve,
    _normalizer_kernel,
    _unit_sign,
)
from cvgeo.geometry.epipolar.kernels import _sampson_terms, _soa

__all__ = ["refine_fundamental"]


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
        r, den = _sampson_terms(F, X[0, i], X[1, i], X[2, i], X[3, i])
        if not den > 0.0:
            return np.inf
        total += r * r / den
    return total


@njit(cache=True)
def _solve_spd(A, g, out):
    """Solve ``A out = g`` for a small symmetric positive-definite ``A`` (Cholesky).

    Returns False when ``A`` is not numerically positive definite."""
    n = A.shape[0]
    L = np.zeros((n, n))
    if not _cholesky(A, L):
        return False
    _cholesky_solve(L, g, out)
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


@renamed_parameters(max_iterations="max_iter")
def refine_fundamental(F: np.ndarray, x1: np.ndarray, x2: np.ndarray, *,
                       max_iter: int = 10) -> np.ndarray:
    """Minimise the Sampson error of ``F`` over rank-2 matrices (Levenberg–Marquardt).

    Parameters
    ----------
    F : ndarray of shape (3, 3)
        Starting fundamental matrix (for example from :func:`fundamental_8point`).
    x1, x2 : ndarray of shape (N, 2)
        Inlier matches, ``N >= 8``.
    max_iter : int
        Maximum Levenberg–Marquardt iterations (each with a 7-column Jacobian).
        (Formerly ``max_iterations``; that keyword works for one release, with a
        ``DeprecationWarning``.)

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
    >>> from cvgeo.datasets import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(100, seed=0, noise_px=0.5)
    >>> from cvgeo.geometry.epipolar import epipolar_distance, fundamental_8point
    >>> F0 = fundamental_8point(s.x1, s.x2)
    >>> F1 = refine_fundamental(F0, s.x1, s.x2)
    >>> e0 = (epipolar_distance(F0, s.x1, s.x2, squared=True)).sum()
    >>> bool((epipolar_distance(F1, s.x1, s.x2, squared=True)).sum() <= e0)
    True
    """
    func = "refine_fundamental"
    F = check_matrix(F, func, "F")
    p1, p2 = check_points_pair(x1, x2, func, min_count=8)
    iters = check_int(max_iter, func, "max_iter", low=0)
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
