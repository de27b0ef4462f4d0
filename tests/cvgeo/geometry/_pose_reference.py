"""The numpy pose refinement that ``cvgeo.geometry._pose_polish`` compiles: the test
oracle its answers are checked against (same iterations, same accept/reject decisions).

Kept here, not in the library: the library runs only the compiled form.
"""

from __future__ import annotations

import math

import numpy as np

#: the polish weighs residuals by Tukey's biweight with this many thresholds as cut-off
_TUKEY_C = 2.0


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


def _rotation_small(w):
    """Rodrigues for a small update vector (numpy (3,))."""
    th = math.sqrt(float(w @ w))
    if th < 1e-15:
        return np.eye(3)
    k = w / th
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(th) * K + (1.0 - math.cos(th)) * (K @ K)


def refine_pose_numpy(R, t, p1, p2, K1, K2, iterations, weights=None):
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





def polish_pose_numpy(est, R, t, p1, p2, K1, K2, threshold, iterations, rounds=3):
    """Iteratively reweighted LM on the Sampson error over ``(R, t)`` (Tukey weights)."""
    c = _TUKEY_C * threshold
    for _ in range(rounds):
        tx = np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])
        res = est.residuals(tx @ R, p1, p2)
        sel = res < c
        if sel.sum() < 6:
            break
        w = (1.0 - (res[sel] / c) ** 2) ** 2
        R, t = refine_pose_numpy(R, t, p1[sel], p2[sel], K1, K2, iterations, w)
    return R, t
