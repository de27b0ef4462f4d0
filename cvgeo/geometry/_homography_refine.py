"""Compiled kernels of :func:`cvgeo.geometry.homography.find_homography` shared with the
robust searches: the point-transfer error, denormalisation of a homography fitted to
Hartley-normalised points, and the final refinement (Levenberg–Marquardt on the Sampson
error, with the σ estimate and residuals of the finish) — private."""

from __future__ import annotations

import numpy as np
from numba import njit

from cvgeo.geometry._common import (
    _cholesky,
    _cholesky_solve,
    _hartley_stats,
    _homography_sign_kernel,
)

#: the final refinement uses residuals up to this many noise sigmas (see find_homography).
_REFINE_SIGMAS = 4.0


@njit(cache=True)
def _transfer_sq(h, src, dst, i):
    """``|pi(h src_i) - dst_i|^2``, the squared transfer error of match ``i``; ``inf``
    where ``h`` maps ``src_i`` to infinity (w = 0). The one point-transfer error of the
    compiled homography code."""
    x = src[i, 0]
    y = src[i, 1]
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    if w == 0.0:
        return np.inf
    du = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w - dst[i, 0]
    dv = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w - dst[i, 1]
    return du * du + dv * dv


@njit(cache=True)
def _transfer_kernel(H, src, dst):
    """Forward transfer distances ``|pi(H src_i) - dst_i|``: float64 (N,); inf if w = 0."""
    n = src.shape[0]
    out = np.empty(n)
    for i in range(n):
        e = np.sqrt(_transfer_sq(H, src, dst, i))
        out[i] = e if e == e else np.inf
    return out


@njit(cache=True)
def _denormalize(Hn, s1, a1, b1, s2, a2, b2, H):
    """``H = T2^-1 Hn T1`` into ``H``, with ``T = [[s, 0, a], [0, s, b], [0, 0, 1]]``."""
    for i in range(3):
        H[i, 0] = Hn[i, 0] * s1
        H[i, 1] = Hn[i, 1] * s1
        H[i, 2] = Hn[i, 0] * a1 + Hn[i, 1] * b1 + Hn[i, 2]
    for j in range(3):
        H[0, j] = (H[0, j] - a2 * H[2, j]) / s2
        H[1, j] = (H[1, j] - b2 * H[2, j]) / s2


@njit(cache=True)
def _sampson_point(Hn, X0, X1, u, v, s1, s2, dr, jac):
    """One correspondence of :func:`_sampson_kernel`: its two whitened residuals
    ``(r1, r2, ok)``, and (if ``jac``) their derivatives w.r.t. the 9 entries of ``Hn``
    into the rows of ``dr`` (2, 9).

    With ``Jx``'s rows ``(p0, p1, c / s2, 0)`` and ``(q0, q1, 0, c / s2)`` the whitening
    ``S = [[A, B], [B, C]]`` has ``A = p0² + p1² + (c/s2)²``, ``B = p0 q0 + p1 q1``,
    ``C = q0² + q1² + (c/s2)²``; each entry ``h_jk`` moves only a few of ``p, q, c`` and
    of ``e``, so the derivatives are written out entry by entry.
    """
    a = Hn[0, 0] * X0 + Hn[0, 1] * X1 + Hn[0, 2]
    b = Hn[1, 0] * X0 + Hn[1, 1] * X1 + Hn[1, 2]
    c = Hn[2, 0] * X0 + Hn[2, 1] * X1 + Hn[2, 2]
    e1 = u * c - a
    e2 = v * c - b
    i1 = 1.0 / s1
    i2 = 1.0 / s2
    # Jx scaled by the noise scales of each coordinate
    p0 = (u * Hn[2, 0] - Hn[0, 0]) * i1
    p1 = (u * Hn[2, 1] - Hn[0, 1]) * i1
    q0 = (v * Hn[2, 0] - Hn[1, 0]) * i1
    q1 = (v * Hn[2, 1] - Hn[1, 1]) * i1
    cc = c * i2
    A = p0 * p0 + p1 * p1 + cc * cc
    B = p0 * q0 + p1 * q1
    C = q0 * q0 + q1 * q1 + cc * cc
    if not A > 0.0:
        return 0.0, 0.0, False
    l11 = np.sqrt(A)
    l21 = B / l11
    d22 = C - l21 * l21
    if not d22 > 0.0:
        return 0.0, 0.0, False
    l22 = np.sqrt(d22)
    r1 = e1 / l11
    r2 = (e2 - l21 * r1) / l22
    if not jac:
        return r1, r2, True
    il11 = 1.0 / l11
    il22 = 1.0 / l22
    for k in range(9):
        # dA, dB, dC and de1, de2 for H_jk (index 3 j + k)
        if k == 0 or k == 1:  # h00, h01: p moves by -1/s1 per X
            pk = p0 if k == 0 else p1
            qk = q0 if k == 0 else q1
            dA, dB, dC = -2.0 * pk * i1, -qk * i1, 0.0
            d1, d2 = -(X0 if k == 0 else X1), 0.0
        elif k == 2:
            dA, dB, dC = 0.0, 0.0, 0.0
            d1, d2 = -1.0, 0.0
        elif k == 3 or k == 4:  # h10, h11: q moves
            pk = p0 if k == 3 else p1
            qk = q0 if k == 3 else q1
            dA, dB, dC = 0.0, -pk * i1, -2.0 * qk * i1
            d1, d2 = 0.0, -(X0 if k == 3 else X1)
        elif k == 5:
            dA, dB, dC = 0.0, 0.0, 0.0
            d1, d2 = 0.0, -1.0
        elif k == 6 or k == 7:  # h20, h21: p, q and c move
            xk = X0 if k == 6 else X1
            pk = p0 if k == 6 else p1
            qk = q0 if k == 6 else q1
            dc = 2.0 * cc * xk * i2
            dA = 2.0 * pk * u * i1 + dc
            dB = (u * qk + v * pk) * i1
            dC = 2.0 * qk * v * i1 + dc
            d1, d2 = u * xk, v * xk
        else:  # h22: c moves
            dc = 2.0 * cc * i2
            dA, dB, dC = dc, 0.0, dc
            d1, d2 = u, v
        dl11 = 0.5 * dA * il11
        dl21 = (dB - l21 * dl11) * il11
        dl22 = 0.5 * (dC - 2.0 * l21 * dl21) * il22
        dr1 = (d1 - dl11 * r1) * il11
        dr[0, k] = dr1
        dr[1, k] = (d2 - dl21 * r1 - l21 * dr1 - dl22 * r2) * il22
    return r1, r2, True


@njit(cache=True)
def _sampson_kernel(Hn, xs, xd, s1, s2):
    """Whitened Sampson residuals of a homography and their Jacobian w.r.t. ``Hn``.

    For each correspondence the two DLT equations ``e = (u c - a, v c - b)`` (with
    ``(a, b, c) = Hn (x, y, 1)``) are whitened by their first-order covariance
    ``S = Jx D Jx^T`` (``Jx`` = de/d(x, y, u, v), ``D = diag(s1, s1, s2, s2)^2`` the
    noise scale of normalised coordinates): ``r = L^-1 e`` with ``L L^T = S``, so
    ``|r|^2`` is the Sampson error in pixels^2, the first-order approximation of the
    gold-standard (maximum-likelihood) reprojection error. The Jacobian is exact,
    including the dependence of ``L`` on ``Hn``: ``dr = L^-1 (de - dL r)``.

    Parameters
    ----------
    Hn : float64 (3, 3)
    xs, xd : float64 (N, 2)
        Hartley-normalised src and dst points, with scales ``s1`` and ``s2``.

    Returns
    -------
    r : float64 (2N,)
    J : float64 (2N, 9)
    ok : bool
        False for a degenerate whitening (``S`` singular).
    """
    n = xs.shape[0]
    r = np.empty(2 * n)
    J = np.zeros((2 * n, 9))
    dr = np.empty((2, 9))
    for i in range(n):
        r1, r2, ok = _sampson_point(Hn, xs[i, 0], xs[i, 1], xd[i, 0], xd[i, 1], s1, s2,
                                    dr, True)
        if not ok:
            return r, J, False
        r[2 * i] = r1
        r[2 * i + 1] = r2
        for k in range(9):
            J[2 * i, k] = dr[0, k]
            J[2 * i + 1, k] = dr[1, k]
    return r, J, True


@njit(cache=True)
def _sampson_normal_kernel(Hn, xs, xd, s1, s2, JtJ, g, jac):
    """The Gauss-Newton normal equations of :func:`_sampson_kernel`'s residuals.

    Writes ``J^T J`` (9, 9) into ``JtJ`` and ``J^T r`` (9,) into ``g`` without forming
    ``J`` (if ``jac``; else leaves them); returns the cost ``|r|^2`` (pixels^2), ``inf``
    for a degenerate whitening.
    """
    n = xs.shape[0]
    dr = np.empty((2, 9))
    if jac:
        JtJ[:, :] = 0.0
        g[:] = 0.0
    cost = 0.0
    for i in range(n):
        r1, r2, ok = _sampson_point(Hn, xs[i, 0], xs[i, 1], xd[i, 0], xd[i, 1], s1, s2,
                                    dr, jac)
        if not ok:
            return np.inf
        cost += r1 * r1 + r2 * r2
        if not jac:
            continue
        for a in range(9):
            d0 = dr[0, a]
            d1 = dr[1, a]
            g[a] += d0 * r1 + d1 * r2
            for b in range(a, 9):
                JtJ[a, b] += d0 * dr[0, b] + d1 * dr[1, b]
    if jac:
        for a in range(9):
            for b in range(a):
                JtJ[a, b] = JtJ[b, a]
    return cost if np.isfinite(cost) else np.inf


@njit(cache=True)
def _lm_kernel(Hn, xs, xd, s1, s2, iterations):
    """Levenberg-Marquardt on the Sampson error (see :func:`_refine_homography`).

    Returns ``(H, ok)``: the refined normalised homography (unit Frobenius norm; ``Hn``
    itself when nothing lowered the cost) and False when the start is degenerate.

    Trial steps are costed without the Jacobian, which is computed only at the start
    and at each accepted point the iteration goes on from (one call site for both
    kinds of pass keeps the compiled code small).
    """
    JtJ = np.empty((9, 9))
    g = np.empty(9)
    A = np.empty((9, 9))
    L = np.empty((9, 9))
    step = np.empty(9)
    H = Hn.copy()
    trial = Hn.copy()
    cost = np.inf
    lam = 1e-4
    jac = True  # the next pass: the Jacobian at H (True) or the cost of a trial step
    iteration = 0
    tries = 0
    while True:
        c = _sampson_normal_kernel(trial, xs, xd, s1, s2, JtJ, g, jac)
        if jac:
            if not c < np.inf:
                return H, False
            cost = c
            iteration += 1
            tries = 0
        elif c < cost:  # accepted
            converged = cost - c <= 1e-8 * cost
            H[:, :] = trial
            cost = c
            lam = max(lam / 10.0, 1e-12)
            if converged or iteration >= iterations:
                break
            jac = True
            continue
        else:
            lam *= 10.0
            tries += 1
            if tries >= 8:
                break
        jac = False
        # the next trial step from H: (J^T J + lam diag(J^T J)) step = -J^T r
        ok = False
        while not ok and tries < 8:
            for a in range(9):
                for b in range(9):
                    A[a, b] = JtJ[a, b]
                A[a, a] += lam * (JtJ[a, a] + 1e-12)
            ok = _cholesky(A, L)
            if not ok:
                lam *= 10.0
                tries += 1
        if not ok:
            break
        _cholesky_solve(L, g, step)
        norm = 0.0
        for i in range(3):
            for j in range(3):
                v = H[i, j] - step[3 * i + j]
                trial[i, j] = v
                norm += v * v
        trial /= np.sqrt(norm)
    return H, True


@njit(cache=True)
def _refine_kernel(H, src, dst, ids, iterations):
    """:func:`_refine_homography` on the matches ``ids`` (int64): ``(H, ok)``, ``ok``
    False (and ``H`` unchanged) when the matches of one image coincide or the Sampson
    whitening is degenerate."""
    m = ids.shape[0]
    s1, mx1, my1 = _hartley_stats(src, ids)
    s2, mx2, my2 = _hartley_stats(dst, ids)
    if not (s1 > 0.0 and s2 > 0.0):
        return H, False
    xs = np.empty((m, 2))
    xd = np.empty((m, 2))
    for k in range(m):
        i = ids[k]
        xs[k, 0] = (src[i, 0] - mx1) * s1
        xs[k, 1] = (src[i, 1] - my1) * s1
        xd[k, 0] = (dst[i, 0] - mx2) * s2
        xd[k, 1] = (dst[i, 1] - my2) * s2
    # Hn = T2 H T1^-1
    G = np.empty((3, 3))
    for j in range(3):
        G[0, j] = s2 * (H[0, j] - mx2 * H[2, j])
        G[1, j] = s2 * (H[1, j] - my2 * H[2, j])
        G[2, j] = H[2, j]
    Hn = np.empty((3, 3))
    for i in range(3):
        Hn[i, 0] = G[i, 0] / s1
        Hn[i, 1] = G[i, 1] / s1
        Hn[i, 2] = G[i, 2] + (G[i, 0] * mx1 + G[i, 1] * my1)
    Hn /= np.sqrt(np.sum(Hn * Hn))
    Hr, ok = _lm_kernel(Hn, xs, xd, s1, s2, iterations)
    if not ok:
        return H, False
    out = np.empty((3, 3))
    _denormalize(Hr, s1, -s1 * mx1, -s1 * my1, s2, -s2 * mx2, -s2 * my2, out)
    _homography_sign_kernel(out)
    return out, True


def _refine_homography(H: np.ndarray, src: np.ndarray, dst: np.ndarray,
                       iterations: int = 10) -> np.ndarray:
    """Levenberg-Marquardt on the Sampson error over ``src``/``dst`` (the inliers).

    Works on the 9 entries of the homography in Hartley-normalised coordinates (the
    scale direction is left to the damping and removed by renormalising each step);
    stops when a step lowers the cost by less than 1e-8 of it. Returns the refined ``H``
    (unit Frobenius norm, sign rule), never a worse one.
    """
    src = np.ascontiguousarray(src, dtype=np.float64)
    out, _ = _refine_kernel(np.ascontiguousarray(H, dtype=np.float64), src,
                            np.ascontiguousarray(dst, dtype=np.float64),
                            np.arange(src.shape[0]), iterations)
    return out


@njit(cache=True)
def _finish_kernel(H, src, dst, t, refine):
    """The last steps of :func:`find_homography`: ``(H, residuals)``.

    ``H`` gets the sign rule; with ``refine`` (and at least 5 inliers) it is refined by
    :func:`_refine_kernel` on the matches with residuals up to ``max(t, 4 sigma)``,
    ``sigma`` estimated from the median inlier residual; the residuals (forward transfer
    distances, ``inf`` where undefined) are those of the returned ``H``.
    """
    H = H.copy()
    _homography_sign_kernel(H)
    res = _transfer_kernel(H, src, dst)
    if not refine:
        return H, res
    n = src.shape[0]
    m = 0
    for i in range(n):
        if res[i] <= t:
            m += 1
    if m < 5:
        return H, res
    within = np.empty(m)
    m = 0
    for i in range(n):
        if res[i] <= t:
            within[m] = res[i]
            m += 1
    # residuals of true inliers are ~Rayleigh(sigma), median 1.1774 sigma
    lim = max(t, _REFINE_SIGMAS * np.median(within) / 1.1774)
    ids = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if res[i] <= lim:
            ids[m] = i
            m += 1
    Hr, ok = _refine_kernel(H, src, dst, ids[:m], 10)
    if not ok:  # the refinement set collapsed: keep the RANSAC model
        return H, res
    return Hr, _transfer_kernel(Hr, src, dst)
