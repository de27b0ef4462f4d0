"""Nistér's five-point relative-pose solver (Stewénius' Gröbner-basis formulation).

Private module: :func:`cvgeo.geometry.essential.essential_5point` is the public entry.

The five matches, in normalised camera coordinates, give five linear equations
``q2ᵀ E q1 = 0`` in the nine entries of ``E``; their null space is four-dimensional, so
``E = x X + y Y + z Z + W``. The essential-matrix constraints ``det E = 0`` and
``2 E Eᵀ E - tr(E Eᵀ) E = 0`` are ten cubic equations in ``(x, y, z)``, written as a
10 x 20 matrix over the monomials of degree <= 3. Gauss–Jordan elimination of the ten
cubic monomials expresses each of them in the ten monomials of degree <= 2,
``b = (x², xy, xz, y², yz, z², x, y, z, 1)``; multiplication by ``x`` maps ``b`` into
itself modulo the ideal, and the 10 x 10 matrix of that map (the action matrix) has the
vectors ``b`` at the solutions as eigenvectors, ``x`` as eigenvalues. Real eigenvalues
give up to ten essential matrices.

References
----------
D. Nistér, "An efficient solution to the five-point relative pose problem", IEEE TPAMI
26(6), 2004. doi:10.1109/TPAMI.2004.17.
H. Stewénius, C. Engels, D. Nistér, "Recent developments on direct relative orientation",
ISPRS J. Photogrammetry and Remote Sensing 60(4), 2006. doi:10.1016/j.isprsjprs.2006.03.005.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cvgeo.geometry._polyroots import (
    ROOTS_WORK,
    _hessenberg,
    _hessenberg_charpoly,
    _real_roots,
    _real_roots_work,
)
from cvgeo.geometry.epipolar.kernels import _epipolar_row

#: the 20 monomials ``x^a y^b z^c`` of degree <= 3 as exponents ``(a, b, c)``, the order of
#: the columns of the cubic constraints: the ten cubic ones first, then
#: ``b = (x², xy, xz, y², yz, z², x, y, z, 1)``
_MONOMIALS = ((3, 0, 0), (2, 1, 0), (2, 0, 1), (1, 2, 0), (1, 1, 1), (1, 0, 2),
              (0, 3, 0), (0, 2, 1), (0, 1, 2), (0, 0, 3),
              (2, 0, 0), (1, 1, 0), (1, 0, 1), (0, 2, 0), (0, 1, 1), (0, 0, 2),
              (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 0))


@njit(cache=True, inline="always")
def _lin_lin_add(E, i, j, out, r):
    """``out[r] += E[i] E[j]``: two linear polynomials ``(x, y, z, 1)`` (rows of ``E``
    (9, 4)) times each other, a quadratic over ``(x², xy, xz, y², yz, z², x, y, z, 1)``."""
    a0, a1, a2, a3 = E[i, 0], E[i, 1], E[i, 2], E[i, 3]
    b0, b1, b2, b3 = E[j, 0], E[j, 1], E[j, 2], E[j, 3]
    out[r, 0] += a0 * b0
    out[r, 1] += a0 * b1 + a1 * b0
    out[r, 2] += a0 * b2 + a2 * b0
    out[r, 3] += a1 * b1
    out[r, 4] += a1 * b2 + a2 * b1
    out[r, 5] += a2 * b2
    out[r, 6] += a0 * b3 + a3 * b0
    out[r, 7] += a1 * b3 + a3 * b1
    out[r, 8] += a2 * b3 + a3 * b2
    out[r, 9] += a3 * b3


@njit(cache=True, inline="always")
def _quad_lin_add(P, i, E, j, out, r):
    """``out[r] += P[i] E[j]``: a quadratic (row of ``P``, monomials as in
    :func:`_lin_lin_add`) times a linear polynomial (row of ``E``), a cubic over the 20
    monomials of :data:`_MONOMIALS`."""
    q0, q1, q2, q3, q4 = P[i, 0], P[i, 1], P[i, 2], P[i, 3], P[i, 4]
    q5, q6, q7, q8, q9 = P[i, 5], P[i, 6], P[i, 7], P[i, 8], P[i, 9]
    l0, l1, l2, l3 = E[j, 0], E[j, 1], E[j, 2], E[j, 3]
    out[r, 0] += q0 * l0
    out[r, 1] += q0 * l1 + q1 * l0
    out[r, 2] += q0 * l2 + q2 * l0
    out[r, 3] += q1 * l1 + q3 * l0
    out[r, 4] += q1 * l2 + q2 * l1 + q4 * l0
    out[r, 5] += q2 * l2 + q5 * l0
    out[r, 6] += q3 * l1
    out[r, 7] += q3 * l2 + q4 * l1
    out[r, 8] += q4 * l2 + q5 * l1
    out[r, 9] += q5 * l2
    out[r, 10] += q0 * l3 + q6 * l0
    out[r, 11] += q1 * l3 + q6 * l1 + q7 * l0
    out[r, 12] += q2 * l3 + q6 * l2 + q8 * l0
    out[r, 13] += q3 * l3 + q7 * l1
    out[r, 14] += q4 * l3 + q7 * l2 + q8 * l1
    out[r, 15] += q5 * l3 + q8 * l2
    out[r, 16] += q6 * l3 + q9 * l0
    out[r, 17] += q7 * l3 + q9 * l1
    out[r, 18] += q8 * l3 + q9 * l2
    out[r, 19] += q9 * l3


@njit(cache=True)
def _gauss_jordan(A):
    """Reduce ``A`` (float64 (10, 20)) in place so its left 10 x 10 block is the identity.

    Partial pivoting; returns False when a pivot is negligible (singular left block).
    """
    n = A.shape[0]
    big = np.abs(A[:, :n]).max()
    for c in range(n):
        p = c
        for r in range(c + 1, n):
            if abs(A[r, c]) > abs(A[p, c]):
                p = r
        if not abs(A[p, c]) > 1e-13 * big:
            return False
        if p != c:
            for k in range(A.shape[1]):
                A[c, k], A[p, k] = A[p, k], A[c, k]
        piv = 1.0 / A[c, c]
        for k in range(A.shape[1]):
            A[c, k] *= piv
        for r in range(n):
            if r != c:
                f = A[r, c]
                if f != 0.0:
                    for k in range(A.shape[1]):
                        A[r, k] -= f * A[c, k]
    return True


@njit(cache=True)
def _null_space_5x9(Q, E, v):
    """An orthonormal basis of the null space of the 5 x 9 ``Q`` into the columns of ``E``
    (9, 4).

    Householder QR of ``Qᵀ`` (the reflectors overwrite the rows of ``Q``; ``v`` is float64
    work of 9): the last four columns of the orthogonal factor span the null space.
    Returns False when ``Q`` has rank below 5 (a diagonal entry of R below ``1e-12``
    times the largest row norm). No pivoting and so no data-dependent branches: the
    reflectors are stable whatever the order of the rows.
    """
    big = 0.0
    for i in range(5):
        nn = 0.0
        for k in range(9):
            nn += Q[i, k] * Q[i, k]
        big = max(big, nn)
    tol = 1e-24 * big
    for k in range(5):
        # reflector of Q[k, k:] (column k of Qᵀ): v = x - alpha e, alpha = -sign(x0) |x|
        nn = 0.0
        for i in range(k, 9):
            nn += Q[k, i] * Q[k, i]
        if not nn > tol:
            return False
        x0 = Q[k, k]
        alpha = -np.sqrt(nn) if x0 >= 0.0 else np.sqrt(nn)
        Q[k, k] = x0 - alpha
        vv = 1.0 / np.sqrt(2.0 * (nn - x0 * alpha))  # |x - alpha e|, alpha² = |x|²
        for i in range(k, 9):
            Q[k, i] *= vv
        for j in range(k + 1, 5):  # the remaining columns of Qᵀ
            d = 0.0
            for i in range(k, 9):
                d += Q[k, i] * Q[j, i]
            d += d
            for i in range(k, 9):
                Q[j, i] -= d * Q[k, i]
    # columns 5..8 of H_0 H_1 ... H_4: each reflector applied to e_(5+f), last first
    for f in range(4):
        for i in range(9):
            v[i] = 0.0
        v[5 + f] = 1.0
        for k in range(4, -1, -1):
            d = 0.0
            for i in range(k, 9):
                d += Q[k, i] * v[i]
            d += d
            for i in range(k, 9):
                v[i] -= d * Q[k, i]
        for i in range(9):
            E[i, f] = v[i]
    return True


@njit(cache=True)
def _lstsq_small(G, h, out):
    """Least squares ``min |G out - h|`` for a small tall ``G`` (overwritten).

    Columns scaled to unit norm, then modified Gram–Schmidt QR and back substitution;
    returns False for a rank-deficient ``G``. At most 8 columns.
    """
    m, n = G.shape
    scale = np.empty(8)
    Rm = np.zeros((8, 8))
    for j in range(n):
        sj = 0.0
        for i in range(m):
            sj += G[i, j] * G[i, j]
        sj = np.sqrt(sj)
        if not sj > 0.0:
            return False
        scale[j] = sj
        for i in range(m):
            G[i, j] /= sj
    for j in range(n):
        for k in range(j):
            d = 0.0
            for i in range(m):
                d += G[i, k] * G[i, j]
            Rm[k, j] = d
            for i in range(m):
                G[i, j] -= d * G[i, k]
        nrm = 0.0
        for i in range(m):
            nrm += G[i, j] * G[i, j]
        nrm = np.sqrt(nrm)
        if not nrm > 1e-13:
            return False
        Rm[j, j] = nrm
        for i in range(m):
            G[i, j] /= nrm
    for j in range(n - 1, -1, -1):
        acc = 0.0
        for i in range(m):
            acc += G[i, j] * h[i]
        for k in range(j + 1, n):
            acc -= Rm[j, k] * out[k]
        out[j] = acc / Rm[j, j]
    for j in range(n):
        out[j] /= scale[j]
    return True


@njit(cache=True)
def _polish(A, x, y, z):
    """Up to five Gauss–Newton steps on the ten cubics ``A m(x, y, z) = 0``.

    ``A`` is the (10, 20) coefficient matrix over the monomials ordered as in
    :data:`_MONOMIALS`; the steps stop when they no longer reduce the residual.
    """
    best = np.inf
    px, py, pz = x, y, z
    for _ in range(5):
        mon = (x * x * x, x * x * y, x * x * z, x * y * y, x * y * z, x * z * z,
               y * y * y, y * y * z, y * z * z, z * z * z,
               x * x, x * y, x * z, y * y, y * z, z * z, x, y, z, 1.0)
        dx = (3 * x * x, 2 * x * y, 2 * x * z, y * y, y * z, z * z, 0.0, 0.0, 0.0, 0.0,
              2 * x, y, z, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
        dy = (0.0, x * x, 0.0, 2 * x * y, x * z, 0.0, 3 * y * y, 2 * y * z, z * z, 0.0,
              0.0, x, 0.0, 2 * y, z, 0.0, 0.0, 1.0, 0.0, 0.0)
        dz = (0.0, 0.0, x * x, 0.0, x * y, 2 * x * z, 0.0, y * y, 2 * y * z, 3 * z * z,
              0.0, 0.0, x, 0.0, y, 2 * z, 0.0, 0.0, 1.0, 0.0)
        a00 = a01 = a02 = a11 = a12 = a22 = 0.0
        g0 = g1 = g2 = 0.0
        res = 0.0
        for r in range(10):
            f = 0.0
            j0 = 0.0
            j1 = 0.0
            j2 = 0.0
            for k in range(20):
                ark = A[r, k]
                f += ark * mon[k]
                j0 += ark * dx[k]
                j1 += ark * dy[k]
                j2 += ark * dz[k]
            res += f * f
            a00 += j0 * j0
            a01 += j0 * j1
            a02 += j0 * j2
            a11 += j1 * j1
            a12 += j1 * j2
            a22 += j2 * j2
            g0 += j0 * f
            g1 += j1 * f
            g2 += j2 * f
        if not res < best:
            x, y, z = px, py, pz  # the last step did not help: undo it
            break
        best = res
        px, py, pz = x, y, z
        # Cramer's rule on the symmetric 3 x 3 normal equations
        c00 = a11 * a22 - a12 * a12
        c01 = a02 * a12 - a01 * a22
        c02 = a01 * a12 - a02 * a11
        det = a00 * c00 + a01 * c01 + a02 * c02
        if not abs(det) > 0.0:
            break
        c11 = a00 * a22 - a02 * a02
        c12 = a01 * a02 - a00 * a12
        c22 = a00 * a11 - a01 * a01
        s0 = (c00 * g0 + c01 * g1 + c02 * g2) / det
        s1 = (c01 * g0 + c11 * g1 + c12 * g2) / det
        s2 = (c02 * g0 + c12 * g1 + c22 * g2) / det
        if not (np.isfinite(s0) and np.isfinite(s1) and np.isfinite(s2)):
            break
        x -= s0
        y -= s1
        z -= s2
    return x, y, z


#: the 20 monomials in the order of Nistér's elimination: x³, y³, x²y, xy², x²z, x², y²z,
#: y², xyz, xy (eliminated), then xz², xz, x, yz², yz, y, z³, z², z, 1 (indices into the
#: order of :data:`_MONOMIALS`)
_NISTER = np.array([0, 6, 1, 3, 2, 10, 7, 13, 4, 11, 5, 12, 16, 8, 14, 17, 9, 15, 18, 19],
                   dtype=np.int64)


@njit(cache=True)
def _hidden_z(A, B, G):
    """Nistér's hidden variable: ``B`` (9, 5), the 3 x 3 matrix of polynomials in ``z``
    (entry ``(r, c)`` in row ``3 r + c``, coefficients lowest first) with
    ``B(z) (x, y, 1)ᵀ = 0`` at every solution, from the cubics ``A`` (10, 20).

    The columns of ``A`` are put in :data:`_NISTER` order into ``G`` and its first ten
    eliminated: Gaussian elimination with partial pivoting, then back substitution of
    rows 9 to 4 only, the rows (e, f), (g, h), (i, j) that express ``x²z, x², y²z, y²,
    xyz, xy`` in the other ten monomials. ``<e> - z <f>`` (and so on) cancels the
    eliminated monomial, leaving ``x`` times a cubic in ``z``, ``y`` times a cubic and a
    quartic. Returns False when the elimination fails (a negligible pivot).
    """
    big = 0.0
    for r in range(10):
        for c in range(20):
            v = A[r, _NISTER[c]]
            G[r, c] = v
            if c < 10:
                big = max(big, abs(v))
    for c in range(10):
        p = c
        for r in range(c + 1, 10):
            if abs(G[r, c]) > abs(G[p, c]):
                p = r
        if not abs(G[p, c]) > 1e-13 * big:
            return False
        if p != c:
            for k in range(c, 20):
                G[c, k], G[p, k] = G[p, k], G[c, k]
        piv = 1.0 / G[c, c]
        for r in range(c + 1, 10):
            f = G[r, c] * piv
            if f != 0.0:
                for k in range(c + 1, 20):
                    G[r, k] -= f * G[c, k]
    for r in range(9, 3, -1):  # rows 4..9 of the reduced system, in G[r, 10:]
        piv = 1.0 / G[r, r]
        for k in range(10, 20):
            acc = G[r, k]
            for c in range(r + 1, 10):
                acc -= G[r, c] * G[c, k]
            G[r, k] = acc * piv
    for k in range(3):
        e = 4 + 2 * k
        f = e + 1
        for v in range(3):  # x: columns 10-12 (z², z, 1), y: 13-15
            if v < 2:
                c2 = 10 + 3 * v
                B[3 * k + v, 0] = G[e, c2 + 2]
                B[3 * k + v, 1] = G[e, c2 + 1] - G[f, c2 + 2]
                B[3 * k + v, 2] = G[e, c2] - G[f, c2 + 1]
                B[3 * k + v, 3] = -G[f, c2]
                B[3 * k + v, 4] = 0.0
            else:  # 1: columns 16-19 (z³, z², z, 1)
                B[3 * k + v, 0] = G[e, 19]
                B[3 * k + v, 1] = G[e, 18] - G[f, 19]
                B[3 * k + v, 2] = G[e, 17] - G[f, 18]
                B[3 * k + v, 3] = G[e, 16] - G[f, 17]
                B[3 * k + v, 4] = -G[f, 16]
    return True


@njit(cache=True)
def _det_poly(B, p, w):
    """``p`` (11,) = det B(z), the degree-10 polynomial, by cofactors along row 0
    (``w``: float64 work of 24; loops of fixed length, unrolled by the compiler)."""
    c0 = w[0:8]  # B11 B22 - B12 B21 (degree 7)
    c1 = w[8:16]  # B12 B20 - B10 B22 (degree 7)
    c2 = w[16:24]  # B10 B21 - B11 B20 (degree 6)
    for k in range(8):
        c0[k] = 0.0
        c1[k] = 0.0
        c2[k] = 0.0
    for i in range(4):
        for j in range(5):
            c0[i + j] += B[4, i] * B[8, j] - B[7, i] * B[5, j]
            c1[i + j] += B[6, i] * B[5, j] - B[3, i] * B[8, j]
        for j in range(4):
            c2[i + j] += B[3, i] * B[7, j] - B[4, i] * B[6, j]
    for k in range(11):
        p[k] = 0.0
    for i in range(4):
        for j in range(8):
            p[i + j] += B[0, i] * c0[j] + B[1, i] * c1[j]
    for i in range(5):
        for j in range(7):
            p[i + j] += B[2, i] * c2[j]


@njit(cache=True)
def _write_essential(E, x, y, z, out):
    """``x X + y Y + z Z + W`` (the null-space basis in the columns of ``E`` (9, 4)) into
    ``out`` (3, 3) at unit Frobenius norm; returns 1, or 0 when that norm is zero or not
    finite."""
    nrm = 0.0
    for k in range(9):
        e = x * E[k, 0] + y * E[k, 1] + z * E[k, 2] + E[k, 3]
        out[k // 3, k % 3] = e
        nrm += e * e
    if not (nrm > 0.0 and np.isfinite(nrm)):
        return 0
    inv = 1.0 / np.sqrt(nrm)
    for a in range(3):
        for b in range(3):
            out[a, b] *= inv
    return 1


#: length of the 1-D work of :func:`_five_point_hidden_core`: det B (11), its roots (10),
#: the work of _det_poly (24) and of the root finder
_W_R, _W_D, _W_S = 11, 21, 45
_W1 = _W_S + ROOTS_WORK


@njit(cache=True)
def _five_point_work():
    """Work arrays of :func:`_five_point_hidden_core`, allocated once per caller: E (9, 4),
    A and G (rows 0-9 and 10-19 of a (20, 20)), B (9, 5), the work of _cubics (21, 10)
    and a 1-D work. Separate 2-D arrays rather than reshaped views of one buffer: a
    reshape costs a runtime call, a row slice nothing."""
    return (np.empty((9, 4)), np.empty((20, 20)), np.empty((9, 5)), np.empty((21, 10)),
            np.empty(_W1))


@njit(cache=True)
def _five_point_hidden_kernel(q1, q2, out, polish=True):
    """Essential matrices from five normalised matches (hidden variable ``z``).

    Parameters and return value as :func:`_five_point_kernel`; the work arrays are
    allocated here (:func:`_five_point_hidden_core` takes them from the caller).

    Notes
    -----
    Nistér's hidden-variable form of the elimination: the cubics reduced by Gaussian
    elimination give a 3 x 3 matrix ``B(z)`` of polynomials with ``B(z) (x, y, 1)ᵀ = 0``;
    the real roots of ``det B(z)`` (degree 10, Sturm sequences) give ``z``, and
    ``(x, y, 1)`` is the cross product of two rows of ``B(z)``. About 3 µs a sample
    without ``polish`` (``benchmarks/bench_general_motion.py --only solvers``), several
    times faster than the action matrix of :func:`_five_point_kernel` (no eigenvalue
    problem, no least squares per root), but ``det B(z)`` can cluster roots that the
    action matrix keeps apart: on exact random problems about 1 in 1000 loses the true
    solution. RANSAC, which needs one good sample among many, uses it;
    :func:`~cvgeo.geometry.essential.essential_5point` does not.
    """
    return _five_point_hidden_core(q1, q2, out, polish, _five_point_work())


@njit(cache=True)
def _five_point_hidden_core(q1, q2, out, polish, work):
    """:func:`_five_point_hidden_kernel` on the work arrays ``work`` of
    :func:`_five_point_work`."""
    E, AG, B, Wc, w = work
    A = AG[:10]
    G = AG[10:]
    p = w[:_W_R]
    roots = w[_W_R:_W_D]
    if not _cubics(q1, q2, E, A, Wc):
        return 0
    if not _hidden_z(A, B, G):
        return 0
    _det_poly(B, p, w[_W_D:_W_S])
    deg = 10
    big = 0.0
    for k in range(11):
        big = max(big, abs(p[k]))
    while deg > 0 and not abs(p[deg]) > 1e-14 * big:
        deg -= 1
    if deg == 0:
        return 0
    nz = _real_roots_work(p, deg, roots, w[_W_S:])
    n = 0
    for i in range(nz):
        z = roots[i]
        z2 = z * z
        z3 = z2 * z
        # B(z) (powers of z rather than Horner: nine independent evaluations)
        b00 = B[0, 0] + B[0, 1] * z + B[0, 2] * z2 + B[0, 3] * z3
        b01 = B[1, 0] + B[1, 1] * z + B[1, 2] * z2 + B[1, 3] * z3
        b10 = B[3, 0] + B[3, 1] * z + B[3, 2] * z2 + B[3, 3] * z3
        b11 = B[4, 0] + B[4, 1] * z + B[4, 2] * z2 + B[4, 3] * z3
        b20 = B[6, 0] + B[6, 1] * z + B[6, 2] * z2 + B[6, 3] * z3
        b21 = B[7, 0] + B[7, 1] * z + B[7, 2] * z2 + B[7, 3] * z3
        # (x, y, 1) ∝ the cross product of the two rows of B(z) with the largest last
        # component
        w01 = b00 * b11 - b01 * b10
        w12 = b10 * b21 - b11 * b20
        w20 = b20 * b01 - b21 * b00
        if abs(w01) >= abs(w12) and abs(w01) >= abs(w20):
            ra, rb, w2 = 0, 1, w01
        elif abs(w12) >= abs(w20):
            ra, rb, w2 = 1, 2, w12
        else:
            ra, rb, w2 = 2, 0, w20
        if not abs(w2) > 0.0:
            continue
        z4 = z3 * z
        ia = 3 * ra
        ib = 3 * rb
        ua0 = B[ia, 0] + B[ia, 1] * z + B[ia, 2] * z2 + B[ia, 3] * z3
        ua1 = B[ia + 1, 0] + B[ia + 1, 1] * z + B[ia + 1, 2] * z2 + B[ia + 1, 3] * z3
        ua2 = (B[ia + 2, 0] + B[ia + 2, 1] * z + B[ia + 2, 2] * z2 + B[ia + 2, 3] * z3
               + B[ia + 2, 4] * z4)
        ub0 = B[ib, 0] + B[ib, 1] * z + B[ib, 2] * z2 + B[ib, 3] * z3
        ub1 = B[ib + 1, 0] + B[ib + 1, 1] * z + B[ib + 1, 2] * z2 + B[ib + 1, 3] * z3
        ub2 = (B[ib + 2, 0] + B[ib + 2, 1] * z + B[ib + 2, 2] * z2 + B[ib + 2, 3] * z3
               + B[ib + 2, 4] * z4)
        x = (ua1 * ub2 - ua2 * ub1) / w2
        y = (ua2 * ub0 - ua0 * ub2) / w2
        if polish:
            x, y, z = _polish(A, x, y, z)
        n += _write_essential(E, x, y, z, out[n])
    return n


@njit(cache=True)
def _five_point_kernel(q1, q2, out, polish=True):
    """Essential matrices from five normalised matches.

    Parameters
    ----------
    q1, q2 : float64 (5, 2)
        Normalised image coordinates ``K⁻¹ x`` (inhomogeneous).
    out : float64 (10, 3, 3)
        Receives the solutions, each at unit Frobenius norm.
    polish : bool
        Finish each root with Gauss–Newton steps on the ten cubics (the accuracy of
        exact data; RANSAC hypotheses on noisy data do without).

    Returns
    -------
    int
        Number of real solutions written (0 to 10; 0 for a degenerate sample).
    """
    E = np.zeros((9, 4))
    A = np.zeros((10, 20))
    M = np.zeros((10, 10))
    if not _action_matrix(q1, q2, E, A, M):
        return 0
    return _solve_action(E, A, M, out, polish)


@njit(cache=True)
def _cubics(q1, q2, E, A, W):
    """The entries of ``E`` as linear polynomials (9, 4) in ``(x, y, z, 1)`` and the ten
    cubic constraints ``A`` (10, 20), monomials ordered as in :data:`_MONOMIALS`; False
    when the five equations are dependent. ``W``: float64 work (21, 10)."""
    Q = W[:5]
    for i in range(5):
        _epipolar_row(Q, i, q1[i, 0], q1[i, 1], q2[i, 0], q2[i, 1])
    if not _null_space_5x9(Q, E, W[20]):
        return False  # the five equations are dependent: the null space is not 4-D
    # E_k (entry k, row-major) = x X_k + y Y_k + z Z_k + W_k
    # E Eᵀ (degree 2; rows 00, 01, 02, 11, 12, 22)
    EEt = W[5:11]
    EEt[:, :] = 0.0
    r = 0
    for i in range(3):
        for j in range(i, 3):
            for k in range(3):
                _lin_lin_add(E, 3 * i + k, 3 * j + k, EEt, r)
            r += 1
    # P = 2 E Eᵀ - tr(E Eᵀ) I, so that 2 E Eᵀ E - tr(E Eᵀ) E = P E: nine cubics
    P = W[11:20]
    sym = ((0, 1, 2), (1, 3, 4), (2, 4, 5))
    for i in range(3):
        for k in range(3):
            src = sym[i][k]
            for q in range(10):
                v = 2.0 * EEt[src, q]
                if i == k:
                    v -= EEt[0, q] + EEt[3, q] + EEt[5, q]
                P[3 * i + k, q] = v
    A[:, :] = 0.0
    for i in range(3):
        for j in range(3):
            for k in range(3):
                _quad_lin_add(P, 3 * i + k, E, 3 * k + j, A, 3 * i + j)
    # det E: the tenth cubic (cofactor expansion along the first row); the cofactors in
    # the first three rows of P, which are no longer needed
    for c in range(3):
        c1 = (c + 1) % 3
        c2 = (c + 2) % 3
        for q in range(10):
            P[c, q] = 0.0
        _lin_lin_add(E, 3 + c1, 6 + c2, P, c)
        for q in range(10):
            EEt[0, q] = 0.0
        _lin_lin_add(E, 3 + c2, 6 + c1, EEt, 0)
        for q in range(10):
            P[c, q] -= EEt[0, q]
        _quad_lin_add(P, c, E, c, A, 9)
    return True


@njit(cache=True)
def _action_matrix(q1, q2, E, A, M):
    """Build ``E`` (9, 4) polynomials, the reduced cubics ``A`` (10, 20) and the action
    matrix ``M`` (10, 10) of multiplication by x; False for a degenerate sample."""
    M[:, :] = 0.0
    if not _cubics(q1, q2, E, A, np.empty((21, 10))):
        return False
    # eliminate the cubic monomials: cubic_k = -C[k] . b
    if not _gauss_jordan(A):
        return False  # the cubic monomials cannot be eliminated (a degenerate sample)
    C = A[:, 10:]
    # action matrix of multiplication by x on b = (x², xy, xz, y², yz, z², x, y, z, 1)
    for r in range(6):  # x*x² = x³, x*xy = x²y, x*xz = x²z, x*y² = xy², x*yz, x*z²
        for c in range(10):
            M[r, c] = -C[r, c]
    M[6, 0] = 1.0  # x*x = x²
    M[7, 1] = 1.0  # x*y = xy
    M[8, 2] = 1.0  # x*z = xz
    M[9, 6] = 1.0  # x*1 = x
    return True


@njit(cache=True)
def _solve_action(E, A, M, out, polish):
    """Real solutions from the action matrix ``M`` (overwritten) into ``out``; their count."""
    C = A[:, 10:]
    # its eigenvalues x: real roots of the characteristic polynomial
    _hessenberg(M)
    roots = np.empty(10)
    nx = _real_roots(_hessenberg_charpoly(M), roots)
    n = 0
    G = np.empty((6, 5))
    h = np.empty(6)
    u = np.empty(5)
    for i in range(nx):
        x = roots[i]
        # y, z from rows 0..5 of M b = x b with b = (x², xy, xz, y², yz, z², x, y, z, 1):
        # linear in u = (y, z, y², yz, z²) (least squares on the six equations)
        for r in range(6):
            # -C[r] . b = x b_r, b_r = (x², xy, xz, y², yz, z²)[r]
            G[r, 0] = C[r, 1] * x + C[r, 7]  # y
            G[r, 1] = C[r, 2] * x + C[r, 8]  # z
            G[r, 2] = C[r, 3]  # y²
            G[r, 3] = C[r, 4]  # yz
            G[r, 4] = C[r, 5]  # z²
            h[r] = -(C[r, 0] * x * x + C[r, 6] * x + C[r, 9])
            if r == 0:
                h[r] -= x * x * x
            elif r < 3:
                G[r, r - 1] += x * x  # x * (xy) = x² y, x * (xz) = x² z
            else:
                G[r, r - 1] += x  # x * y², x * yz, x * z²
        if not _lstsq_small(G, h, u):
            continue
        y = u[0]
        z = u[1]
        if polish:
            x, y, z = _polish(A, x, y, z)
        n += _write_essential(E, x, y, z, out[n])
    return n
