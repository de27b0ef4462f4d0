"""Numba kernels shared by the two-view estimators: the normalised 8-point through the
normal matrix, the 7-point minimal solver, √Sampson distances and MSAC costs.

Private: every kernel assumes validated, C-contiguous float64 input.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cvgeo.geometry._common import _det3, _hartley_stats, _unit_sign_kernel

__all__ = []


@njit(cache=True, inline="always")
def _epipolar_row(A, i, u1, v1, u2, v2):
    """``A[i] = kron((u2, v2, 1), (u1, v1, 1))``: the row of ``x2ᵀ F x1 = 0`` in the
    entries of ``F`` (row-major)."""
    A[i, 0] = u2 * u1
    A[i, 1] = u2 * v1
    A[i, 2] = u2
    A[i, 3] = v2 * u1
    A[i, 4] = v2 * v1
    A[i, 5] = v2
    A[i, 6] = u1
    A[i, 7] = v1
    A[i, 8] = 1.0


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
    s1, c1x, c1y = _hartley_stats(x1, idx)
    s2, c2x, c2y = _hartley_stats(x2, idx)
    if s1 == 0.0 or s2 == 0.0:
        return False
    M = np.zeros((9, 9))
    a = np.empty((1, 9))
    for k in range(m):
        i = idx[k]
        _epipolar_row(a, 0, (x1[i, 0] - c1x) * s1, (x1[i, 1] - c1y) * s1,
                      (x2[i, 0] - c2x) * s2, (x2[i, 1] - c2y) * s2)
        for r in range(9):
            ar = a[0, r]
            for c in range(r, 9):
                M[r, c] += ar * a[0, c]
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
    _unit_sign_kernel(T2.T @ G @ T1, F)
    return True



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
    s1, cx1, cy1 = _hartley_stats(x1, None)  # normalised in place: no arrays allocated
    s2, cx2, cy2 = _hartley_stats(x2, None)
    if s1 == 0.0 or s2 == 0.0:
        return 0
    for i in range(7):
        _epipolar_row(A, i, (x1[i, 0] - cx1) * s1, (x1[i, 1] - cy1) * s1,
                      (x2[i, 0] - cx2) * s2, (x2[i, 1] - cy2) * s2)
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


@njit(cache=True, inline="always")
def _sampson_terms(F, u1, v1, u2, v2):
    """``(r, den)`` of one match: the epipolar residual ``r = x2ᵀ F x1`` and the Sampson
    denominator ``(F x1)₁² + (F x1)₂² + (Fᵀ x2)₁² + (Fᵀ x2)₂²``; the squared Sampson
    distance is ``r² / den`` (pixels²).

    The one numba form of the Sampson distance (every kernel here calls it); the
    array-API form is :func:`~cvgeo.geometry.epipolar.epipolar_distance`, tested against it.
    """
    a = F[0, 0] * u1 + F[0, 1] * v1 + F[0, 2]  # F x1
    b = F[1, 0] * u1 + F[1, 1] * v1 + F[1, 2]
    c = F[2, 0] * u1 + F[2, 1] * v1 + F[2, 2]
    d = F[0, 0] * u2 + F[1, 0] * v2 + F[2, 0]  # Fᵀ x2
    e = F[0, 1] * u2 + F[1, 1] * v2 + F[2, 1]
    return u2 * a + v2 * b + c, a * a + b * b + d * d + e * e


@njit(cache=True)
def _sampson_kernel(F, x1, x2, out):
    """√Sampson distance of each match, in pixels (float64 (N,) into ``out``)."""
    for i in range(x1.shape[0]):
        r, den = _sampson_terms(F, x1[i, 0], x1[i, 1], x2[i, 0], x2[i, 1])
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
    cost = 0.0
    for start in range(0, n, 64):
        acc = 0.0
        for i in range(start, min(n, start + 64)):
            r, den = _sampson_terms(F, u1[i], v1[i], u2[i], v2[i])
            q = r * r / den
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


def _soa(x1, x2):
    """Matches as a C-contiguous (4, N) array: rows x1, y1, x2, y2."""
    return np.ascontiguousarray(np.concatenate([x1.T, x2.T]), dtype=np.float64)
