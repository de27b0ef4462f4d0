"""The Sampson polish of a relative pose, compiled.

Private module: ``find_essential``'s final polish and ``recover_pose``'s refinement. It
replaced a numpy implementation (kept in ``tests/cvgeo/geometry/_pose_reference.py`` as
the oracle: same iterations, same answer to rounding); its Levenberg–Marquardt runs in one
numba call per reweighting round instead of a numpy loop with a Python callback per
finite-difference column.

The model is ``F = K2⁻ᵀ [t]x R K1⁻¹`` with ``R`` updated by a small rotation on the left
and the unit ``t`` moved in its tangent plane (5 parameters); residuals are the signed
Sampson distances, weighted; ``∂F/∂p`` is taken by forward differences on the 3 x 3 matrix
and chained with the analytic ``∂r/∂F``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: the polish weighs residuals by Tukey's biweight with this many thresholds as cut-off
_TUKEY_C = 2.0


@njit(cache=True)
def _build(R, t, Ki1, Ki2, F):
    """``F = Ki2ᵀ [t]x R Ki1`` into ``F``."""
    tx = np.zeros((3, 3))
    tx[0, 1] = -t[2]
    tx[0, 2] = t[1]
    tx[1, 0] = t[2]
    tx[1, 2] = -t[0]
    tx[2, 0] = -t[1]
    tx[2, 1] = t[0]
    F[:, :] = Ki2.T @ (tx @ R) @ Ki1


@njit(cache=True)
def _update(R, t, p, Rn, tn):
    """``Rn = exp([p0:3]x) R`` (Rodrigues), ``tn`` = ``t + p3 b1 + p4 b2`` normalised,
    ``b1, b2`` an orthonormal basis of the tangent plane of ``t``."""
    th = math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
    if th < 1e-15:
        Rn[:, :] = R
    else:
        K = np.zeros((3, 3))
        K[0, 1] = -p[2] / th
        K[0, 2] = p[1] / th
        K[1, 0] = p[2] / th
        K[1, 2] = -p[0] / th
        K[2, 0] = -p[1] / th
        K[2, 1] = p[0] / th
        Q = np.eye(3) + math.sin(th) * K + (1.0 - math.cos(th)) * (K @ K)
        Rn[:, :] = Q @ R
    t0, t1, t2 = t[0], t[1], t[2]
    a0, a1, a2 = abs(t0), abs(t1), abs(t2)
    if a0 <= a1 and a0 <= a2:  # the first index of the smallest |t_k|, as numpy's argmin
        b0, b1_, b2_ = 0.0, t2, -t1
    elif a1 <= a2:
        b0, b1_, b2_ = -t2, 0.0, t0
    else:
        b0, b1_, b2_ = t1, -t0, 0.0
    nb = math.sqrt(b0 * b0 + b1_ * b1_ + b2_ * b2_)
    b0 /= nb
    b1_ /= nb
    b2_ /= nb
    c0 = t1 * b2_ - t2 * b1_
    c1 = t2 * b0 - t0 * b2_
    c2 = t0 * b1_ - t1 * b0
    n0 = t0 + p[3] * b0 + p[4] * c0
    n1 = t1 + p[3] * b1_ + p[4] * c1
    n2 = t2 + p[3] * b2_ + p[4] * c2
    nn = math.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
    tn[0] = n0 / nn
    tn[1] = n1 / nn
    tn[2] = n2 / nn


@njit(cache=True)
def _residuals(F, x1, x2, sw, r, J, jacobian):
    """Weighted signed Sampson residuals ``sw e / √D`` into ``r``; their derivatives with
    respect to the 9 entries of ``F`` (row-major) into ``J`` when ``jacobian``.
    Returns the sum of squares."""
    ss = 0.0
    h1 = np.empty(3)
    h2 = np.empty(3)
    l2 = np.empty(3)
    l1 = np.empty(3)
    for i in range(x1.shape[0]):
        h1[0] = x1[i, 0]
        h1[1] = x1[i, 1]
        h1[2] = 1.0
        h2[0] = x2[i, 0]
        h2[1] = x2[i, 1]
        h2[2] = 1.0
        for k in range(3):
            l2[k] = F[k, 0] * h1[0] + F[k, 1] * h1[1] + F[k, 2]  # F x1
            l1[k] = F[0, k] * h2[0] + F[1, k] * h2[1] + F[2, k]  # Fᵀ x2
        e = h2[0] * l2[0] + h2[1] * l2[1] + l2[2]
        D = l2[0] * l2[0] + l2[1] * l2[1] + l1[0] * l1[0] + l1[1] * l1[1]
        sq = math.sqrt(D)
        ri = sw[i] * e / sq
        r[i] = ri
        ss += ri * ri
        if jacobian:
            f = 0.5 * e / (D * sq)
            for p in range(3):
                for q in range(3):
                    dD = 2.0 * ((l2[p] if p < 2 else 0.0) * h1[q]
                                + h2[p] * (l1[q] if q < 2 else 0.0))
                    J[i, 3 * p + q] = sw[i] * (h2[p] * h1[q] / sq - f * dD)
    return ss


@njit(cache=True)
def _solve5(A, g, out):
    """``A out = g`` (5 x 5) by Gaussian elimination with partial pivoting; False when a
    pivot vanishes or the result is not finite."""
    M = A.copy()
    b = g.copy()
    n = 5
    for c in range(n):
        p = c
        for r in range(c + 1, n):
            if abs(M[r, c]) > abs(M[p, c]):
                p = r
        if not abs(M[p, c]) > 0.0:
            return False
        if p != c:
            for k in range(n):
                M[c, k], M[p, k] = M[p, k], M[c, k]
            b[c], b[p] = b[p], b[c]
        for r in range(c + 1, n):
            f = M[r, c] / M[c, c]
            if f != 0.0:
                for k in range(c, n):
                    M[r, k] -= f * M[c, k]
                b[r] -= f * b[c]
    for c in range(n - 1, -1, -1):
        acc = b[c]
        for k in range(c + 1, n):
            acc -= M[c, k] * out[k]
        out[c] = acc / M[c, c]
        if not np.isfinite(out[c]):
            return False
    return True


@njit(cache=True)
def _tukey_weigh(r, G, c, sw):
    """Tukey's biweight cost ``Σ ρ(r)`` of the raw residuals ``r`` at scale ``c``
    (``ρ = c²/6 (1 - (1 - (r/c)²)³)`` inside ``c``, ``c²/6`` beyond); with ``G`` of ``len(r)``
    rows, also scales ``r`` and the rows of ``G`` by ``√w``, ``w = ρ'(r) / r = (1 -
    (r/c)²)²`` the IRLS weight (zero beyond ``c``)."""
    cost = 0.0
    c2 = c * c
    for i in range(r.shape[0]):
        u = r[i] * r[i] / c2
        if u < 1.0:
            v = 1.0 - u
            cost += c2 / 6.0 * (1.0 - v * v * v)
            sw[i] = v
        else:
            cost += c2 / 6.0
            sw[i] = 0.0
    if G.shape[0] == r.shape[0]:
        for i in range(r.shape[0]):
            r[i] *= sw[i]
            for j in range(9):
                G[i, j] *= sw[i]
    return cost


@njit(cache=True)
def _lm_pose_kernel(R0, t0, x1, x2, sw, Ki1, Ki2, iterations, R, t, tukey=0.0):
    """Levenberg–Marquardt on the weighted signed Sampson residuals over ``(R, t)``.

    ``tukey`` 0: least squares with the fixed weights ``sw²``; ``tukey > 0``: Tukey's
    biweight cost of that scale on the unweighted residuals (``sw`` must then be ones),
    its IRLS weights recomputed at every iteration (Gauss–Newton on the weighted
    residuals, steps accepted on the robust cost). Writes the final pose into ``R``,
    ``t``; the cost never increases.
    """
    n = x1.shape[0]
    R[:, :] = R0
    t[:] = t0
    F0 = np.empty((3, 3))
    Fk = np.empty((3, 3))
    r = np.empty(n)
    G = np.empty((n, 9))
    dF = np.empty((9, 5))
    JtJ = np.empty((5, 5))
    A = np.empty((5, 5))
    g = np.empty(5)
    Ji = np.empty(5)
    dp = np.empty(5)
    step = np.empty(5)
    Rc = np.empty((3, 3))
    tc = np.empty(3)
    robust = tukey > 0.0
    ws = np.empty(n)
    no_g = np.empty((0, 9))
    _build(R, t, Ki1, Ki2, F0)
    cost = _residuals(F0, x1, x2, sw, r, G, False)
    if robust:
        cost = _tukey_weigh(r, no_g, tukey, ws)
    lam = 1e-3
    eps = 1e-7
    for _ in range(iterations):
        _build(R, t, Ki1, Ki2, F0)
        _residuals(F0, x1, x2, sw, r, G, True)
        if robust:
            _tukey_weigh(r, G, tukey, ws)
        for k in range(5):
            dp[:] = 0.0
            dp[k] = eps
            _update(R, t, dp, Rc, tc)
            _build(Rc, tc, Ki1, Ki2, Fk)
            for j in range(9):
                dF[j, k] = (Fk[j // 3, j % 3] - F0[j // 3, j % 3]) / eps
        JtJ[:, :] = 0.0
        g[:] = 0.0
        for i in range(n):
            for k in range(5):
                acc = 0.0
                for j in range(9):
                    acc += G[i, j] * dF[j, k]
                Ji[k] = acc
            for a in range(5):
                g[a] += Ji[a] * r[i]
                for b in range(a, 5):
                    JtJ[a, b] += Ji[a] * Ji[b]
        for a in range(5):
            for b in range(a):
                JtJ[a, b] = JtJ[b, a]
        improved = False
        rel = 0.0
        for _ in range(8):
            for a in range(5):
                for b in range(5):
                    A[a, b] = JtJ[a, b]
                A[a, a] += lam * (JtJ[a, a] + 1e-12)
            if not _solve5(A, -g, step):
                lam *= 10.0
                continue
            _update(R, t, step, Rc, tc)
            _build(Rc, tc, Ki1, Ki2, Fk)
            cn = _residuals(Fk, x1, x2, sw, r, G, False)
            if robust:
                cn = _tukey_weigh(r, no_g, tukey, ws)
            if np.isfinite(cn) and cn < cost:
                rel = (cost - cn) / max(cost, 1e-300)
                R[:, :] = Rc
                t[:] = tc
                cost = cn
                lam = max(lam / 10.0, 1e-12)
                improved = True
                break
            lam *= 10.0
        if not improved or rel < 1e-10:
            break


def refine_pose(R, t, p1, p2, K1, K2, iterations, weights=None, tukey=0.0):
    """Minimise the (weighted) Sampson error of ``F = K2⁻ᵀ [t]x R K1⁻¹`` over ``R`` and the
    unit ``t`` (Levenberg–Marquardt, ``iterations`` at most); with ``tukey > 0`` (pixels,
    no ``weights``), Tukey's biweight of the Sampson distances at that scale instead,
    reweighted at every iteration."""
    if tukey > 0.0 and weights is not None:
        raise ValueError("refine_pose: weights must be None with a tukey scale, got both")
    Ki1 = np.ascontiguousarray(np.linalg.inv(K1), dtype=np.float64)
    Ki2 = np.ascontiguousarray(np.linalg.inv(K2), dtype=np.float64)
    x1 = np.ascontiguousarray(p1, dtype=np.float64)
    x2 = np.ascontiguousarray(p2, dtype=np.float64)
    sw = np.ones(len(x1)) if weights is None else np.sqrt(np.asarray(weights, dtype=np.float64))
    R_out = np.empty((3, 3))
    t_out = np.empty(3)
    _lm_pose_kernel(np.ascontiguousarray(R, dtype=np.float64),
                    np.ascontiguousarray(t, dtype=np.float64), x1, x2,
                    np.ascontiguousarray(sw), Ki1, Ki2, int(iterations), R_out, t_out,
                    float(tukey))
    return R_out, t_out


def polish_pose(est, R, t, p1, p2, K1, K2, threshold, iterations, rounds=3):
    """Iteratively reweighted Levenberg–Marquardt on the Sampson error over ``(R, t)``.

    Each round weighs the matches by Tukey's biweight ``(1 - (r / c)²)²`` of their current
    residual ``r`` (``est.residuals``, pixels) with ``c = 2 threshold`` (zero beyond) and
    runs :func:`refine_pose` on the weighted matches.
    """
    c = _TUKEY_C * threshold
    for _ in range(rounds):
        tx = np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])
        res = est.residuals(tx @ R, p1, p2)
        sel = res < c
        if sel.sum() < 6:
            break
        w = (1.0 - (res[sel] / c) ** 2) ** 2
        R, t = refine_pose(R, t, p1[sel], p2[sel], K1, K2, iterations, w)
    return R, t

