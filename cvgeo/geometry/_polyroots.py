"""Real eigenvalues of a small matrix through its characteristic polynomial, and the real
roots of a polynomial.

Householder reduction to Hessenberg form and Hyman's recurrence give ``det(λ I - A)``;
Sturm sequences isolate each real root of a polynomial in an interval and safeguarded
Newton polishes it. Numba kernels for :mod:`cvgeo.geometry._fivepoint`, whose action
matrix's real eigenvalues are the solutions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _hessenberg(A):
    """Reduce the square ``A`` in place to upper Hessenberg form by Householder similarity."""
    n = A.shape[0]
    v = np.empty(n)
    for k in range(n - 2):
        alpha = 0.0
        for i in range(k + 1, n):
            alpha += A[i, k] * A[i, k]
        alpha = np.sqrt(alpha)
        if alpha == 0.0:
            continue
        if A[k + 1, k] > 0:
            alpha = -alpha
        vn = 0.0
        for i in range(k + 1, n):
            v[i] = A[i, k]
        v[k + 1] -= alpha
        for i in range(k + 1, n):
            vn += v[i] * v[i]
        if vn == 0.0:
            continue
        vn = np.sqrt(vn)
        for i in range(k + 1, n):
            v[i] /= vn
        for j in range(n):  # A <- (I - 2 v vᵀ) A
            d = 0.0
            for i in range(k + 1, n):
                d += v[i] * A[i, j]
            for i in range(k + 1, n):
                A[i, j] -= 2.0 * v[i] * d
        for i in range(n):  # A <- A (I - 2 v vᵀ)
            d = 0.0
            for j in range(k + 1, n):
                d += A[i, j] * v[j]
            for j in range(k + 1, n):
                A[i, j] -= 2.0 * d * v[j]
        for i in range(k + 2, n):
            A[i, k] = 0.0


@njit(cache=True)
def _hessenberg_charpoly(H):
    """Coefficients (lowest degree first) of ``det(λ I - H)`` for an upper Hessenberg ``H``.

    Hyman's recurrence on the leading blocks: ``p_k = (λ - h_kk) p_{k-1} -
    Σ_{i<k} h_ik (Π_{j=i+1..k} h_{j,j-1}) p_{i-1}``.
    """
    n = H.shape[0]
    P = np.zeros((n + 1, n + 1))
    P[0, 0] = 1.0
    for k in range(1, n + 1):
        kk = k - 1
        for d in range(k):  # (λ - h_kk) p_{k-1}
            P[k, d + 1] += P[k - 1, d]
            P[k, d] -= H[kk, kk] * P[k - 1, d]
        prod = 1.0
        for i in range(k - 1, 0, -1):  # i = k-1 .. 1 (1-based)
            prod *= H[i, i - 1]  # h_{i+1, i} in 1-based indices
            c = H[i - 1, kk] * prod
            if c != 0.0:
                for d in range(i):
                    P[k, d] -= c * P[i - 1, d]
    return P[n].copy()


@njit(cache=True, inline="always")
def _estrin10(c, x, x2, x4):
    """The degree-10 polynomial ``c`` at ``x`` by Estrin's scheme (``x2 = x²``,
    ``x4 = x⁴``): a tree of multiply-adds about a third as deep as Horner's chain."""
    q0 = (c[0] + c[1] * x) + (c[2] + c[3] * x) * x2
    q1 = (c[4] + c[5] * x) + (c[6] + c[7] * x) * x2
    q2 = (c[8] + c[9] * x) + c[10] * x2
    return q0 + (q1 + q2 * x4) * x4


@njit(cache=True)
def _horner(c, deg, x):
    """The polynomial ``c`` (degree ``deg``) at ``x``; Estrin's scheme for degree 10."""
    if deg == 10:
        x2 = x * x
        return _estrin10(c, x, x2, x2 * x2)
    v = c[deg]
    for i in range(deg - 1, -1, -1):
        v = v * x + c[i]
    return v


@njit(cache=True, inline="always")
def _horner2(c, deg, x):
    """Value and derivative of the polynomial ``c`` (degree ``deg``) at ``x``.

    Horner's rule is a chain of ``deg`` dependent multiply-adds; for degree 10 (the
    five-point polynomials) Estrin's scheme evaluates both in about a third of the
    latency.
    """
    if deg == 10:
        x2 = x * x
        x4 = x2 * x2
        d0 = (c[1] + 2.0 * c[2] * x) + (3.0 * c[3] + 4.0 * c[4] * x) * x2
        d1 = (5.0 * c[5] + 6.0 * c[6] * x) + (7.0 * c[7] + 8.0 * c[8] * x) * x2
        d2 = 9.0 * c[9] + 10.0 * c[10] * x
        return _estrin10(c, x, x2, x4), d0 + (d1 + d2 * x4) * x4
    f = c[deg]
    df = 0.0
    for i in range(deg - 1, -1, -1):
        df = df * x + f
        f = f * x + c[i]
    return f, df


@njit(cache=True, inline="always")
def _shrink(a, b, fa, x, f):
    """The bracket ``[a, b]`` (``fa`` the value at ``a``) cut at ``x`` (value ``f``) on the
    side that keeps the sign change: ``(a, b, fa)``."""
    if (f > 0) == (fa > 0):
        return x, b, f
    return a, x, fa


@njit(cache=True)
def _bracketed_root(c, deg, a, b, fa):
    """The root of the polynomial ``c`` (degree ``deg``) in ``[a, b]`` where it changes sign.

    Bisection on the sign of ``p`` (one Horner pass a step) to a bracket of relative
    width 1/8, then Newton's method kept inside the bracket: from the middle of a wide
    bracket Newton's steps on a degree-10 polynomial shrink the distance by little more
    than ``1 - 1/deg``. A bisection step replaces a Newton step that would leave the
    bracket, and every other step after the first 16, so convergence is at least linear.
    The iteration stops when a Newton step is below ``1e-12`` relative, or when the last
    two steps show quadratic convergence that leaves an error below ``1e-15`` relative
    (waiting for a step below rounding instead spins on the noise of ``p`` near the
    root).
    """
    for _ in range(40):  # bisect on the sign of p to a relative width of 1/8 first
        if not b - a > 0.125 * max(abs(a), abs(b)):
            break
        m = 0.5 * (a + b)
        fm = _horner(c, deg, m)
        if fm == 0.0:
            return m
        a, b, fa = _shrink(a, b, fa, m, fm)
    x = 0.5 * (a + b)
    f, df = _horner2(c, deg, x)
    last = 0.0  # the previous Newton step (none yet)
    for it in range(200):
        if f == 0.0:
            return x
        a, b, fa = _shrink(a, b, fa, x, f)
        if b - a <= 4e-16 * max(abs(a), abs(b)) or b - a < 1e-300:
            return 0.5 * (a + b)
        step = f / df if df != 0.0 else np.inf
        h = abs(step)
        # done when the step is below 1e-12 relative, or when the last two steps show
        # quadratic convergence (|e'| = K e², K estimated as h / last²) that leaves an
        # error below 1e-15 relative after this step
        if h <= 1e-12 * abs(x) or (h < last and h * h * h <= 1e-15 * abs(x) * last * last):
            return x - step
        last = h
        xn = x - step
        if not (a < xn < b) or (it >= 16 and it % 2 == 1):
            xn = 0.5 * (a + b)
        x = xn
        f, df = _horner2(c, deg, x)
    return x


@njit(cache=True)
def _sturm_changes(S, deg, m, x):
    """Sign changes of the Sturm chain ``S`` (rows, degrees ``deg``, ``m`` polynomials) at x."""
    count = 0
    last = 0.0
    for k in range(m):
        v = _horner(S[k], deg[k], x)
        if v != 0.0:
            if last != 0.0 and (v > 0) != (last > 0):
                count += 1
            last = v
    return count


@njit(cache=True)
def _linear_chain(c, n, Q, f, g, r):
    """Sturm chain of the monic ``c`` (degree ``n >= 2``) as linear quotients, or False.

    The chain ``f_0 = c``, ``f_1 = c' / n``, ``f_{k+1} = -(f_{k-1} mod f_k) / s_k``
    (``s_k > 0`` makes the leading coefficient ±1) loses one degree per step for a
    generic polynomial: every quotient is linear, ``f_{k-1} = (a_k x + b_k) f_k -
    s_k f_{k+1}``, and the rows ``Q[3k:3k + 3] = (a_k, b_k, s_k)`` (``k = 1 .. n-1``) with
    ``Q[0:3] = (f_{n-1}[1], f_{n-1}[0], f_n)`` evaluate the whole chain at ``x`` by that
    recurrence in ``O(n)`` (:func:`_linear_changes`). ``f``, ``g``, ``r`` are work
    arrays of ``n + 1``; False when a remainder loses more than one degree (a multiple
    root or a non-generic chain: :func:`_sturm_changes` on the full chain then).
    """
    for i in range(n + 1):
        f[i] = c[i]
    for i in range(n):
        g[i] = (i + 1) * c[i + 1] / n
    for k in range(1, n):
        d = n - k  # degree of g = f_k; f = f_{k-1} has degree d + 1
        il = 1.0 / g[d]
        a = f[d + 1] * il
        b = (f[d] - a * g[d - 1]) * il
        scale = 1.0
        for i in range(d):
            scale = max(scale, abs(f[i]))
        r[0] = f[0] - b * g[0]
        for i in range(1, d):
            r[i] = f[i] - a * g[i - 1] - b * g[i]
        s = abs(r[d - 1])
        if not s > 1e-13 * scale:
            return False
        Q[3 * k] = a
        Q[3 * k + 1] = b
        Q[3 * k + 2] = s
        for i in range(d + 1):
            f[i] = g[i]
        ms = -1.0 / s
        for i in range(d):
            g[i] = r[i] * ms
    Q[0] = f[1]
    Q[1] = f[0]
    Q[2] = g[0]
    return True


@njit(cache=True)
def _linear_changes(Q, c, n, x):
    """Sign changes at ``x`` of the Sturm chain stored by :func:`_linear_chain` for the
    monic ``c`` (degree ``n``).

    Counted without branches: a zero of ``f_k`` (``0 < k < n``) can be given either sign,
    since ``f_{k-1} = -s_k f_{k+1}`` there and the pair around it counts one change
    either way. ``f_0 = c`` is evaluated directly (the recurrence leaves rounding noise
    where ``c`` vanishes) and skipped where it is zero, so that a root at ``x`` is
    counted left of ``x``.
    """
    nxt = Q[2]  # f_n
    cur = Q[0] * x + Q[1]  # f_{n-1}
    count = int((cur < 0.0) != (nxt < 0.0))
    for k in range(n - 1, 1, -1):
        prev = (Q[3 * k] * x + Q[3 * k + 1]) * cur - Q[3 * k + 2] * nxt
        count += int((prev < 0.0) != (cur < 0.0))
        nxt = cur
        cur = prev
    # f_0 = c itself rather than the recurrence, which leaves rounding noise where c
    # vanishes: a root at x is skipped and so counted left of x, as the leaves expect
    f0 = _horner(c, n, x)
    if f0 != 0.0:
        count += int((f0 < 0.0) != (cur < 0.0))
    return count


@njit(cache=True)
def _full_chain(c, n):
    """The Sturm chain of the monic ``c`` (degree ``n``) as polynomials: ``S``, their
    degrees and count; stops at a zero remainder (a multiple root)."""
    S = np.zeros((n + 1, n + 1))
    deg = np.zeros(n + 1, dtype=np.int64)
    S[0, :n + 1] = c[:n + 1]
    deg[0] = n
    for i in range(n):
        S[1, i] = (i + 1) * c[i + 1] / n
    deg[1] = n - 1
    m = 2
    r = np.empty(n + 1)
    while deg[m - 1] > 0:
        a = S[m - 2]
        b = S[m - 1]
        da = deg[m - 2]
        db = deg[m - 1]
        r[:da + 1] = a[:da + 1]
        for k in range(da - db, -1, -1):  # long division: r = a mod b
            q = r[k + db] / b[db]
            for i in range(db + 1):
                r[k + i] -= q * b[i]
        dr = db - 1
        scale = 0.0
        for i in range(db):
            scale = max(scale, abs(a[i]))
        while dr >= 0 and abs(r[dr]) <= 1e-13 * max(scale, 1.0):
            dr -= 1
        if dr < 0:
            break  # a multiple root: stop the chain (its roots are still counted once)
        for i in range(dr + 1):
            S[m, i] = -r[i] / abs(r[dr])
        deg[m] = dr
        m += 1
    return S, deg, m


#: float64 work of :func:`_real_roots_work` for a polynomial of degree <= 10
ROOTS_WORK = 7 * 11 + 4 * 64


@njit(cache=True)
def _real_roots(p, roots):
    """Real roots of the polynomial ``p`` (coefficients lowest first, leading one non-zero).

    Sturm's theorem counts the real roots in an interval; the interval bounded by
    Fujiwara's bound is bisected until each piece holds one root, which safeguarded
    Newton then polishes to full precision. Returns the count written to ``roots``
    (ascending); a cluster narrower than ~1e-14 relative counts once.
    """
    n = p.shape[0] - 1
    return _real_roots_work(p, n, roots, np.empty(7 * (n + 1) + 4 * 64))


@njit(cache=True)
def _real_roots_work(p, n, roots, w):
    """:func:`_real_roots` of ``p[:n + 1]`` on the float64 work array ``w`` (at least
    ``7 (n + 1) + 256`` long; :data:`ROOTS_WORK` for ``n <= 10``)."""
    c = w[:n + 1]
    Q = w[n + 1:4 * (n + 1)]
    f = w[4 * (n + 1):5 * (n + 1)]
    g = w[5 * (n + 1):6 * (n + 1)]
    r = w[6 * (n + 1):7 * (n + 1)]
    o = 7 * (n + 1)
    sa = w[o:o + 64]
    sb = w[o + 64:o + 128]
    va = w[o + 128:o + 192]  # sign-change counts, small integers stored exactly
    vb = w[o + 192:o + 256]
    il = 1.0 / p[n]
    for i in range(n + 1):
        c[i] = p[i] * il
    # Fujiwara's bound on the moduli of the roots, 2 max |c_{n-i}|^(1/i), rounded up to
    # a power of two from the binary exponents (no fractional powers)
    e_max = -1100
    for i in range(1, n + 1):
        v = abs(c[n - i]) / (2.0 if i == n else 1.0)
        if v > 0.0:
            e = math.frexp(v)[1]  # v < 2^e
            e_max = max(e_max, -((-e) // i))  # v^(1/i) < 2^ceil(e / i)
    bound = math.ldexp(1.0, e_max + 1)
    # Sturm chain: p, p', then minus the remainders; linear quotients when generic
    linear = n >= 2 and _linear_chain(c, n, Q, f, g, r)
    if linear:
        S = np.empty((0, 0))
        deg = np.empty(0, dtype=np.int64)
        m = 0
    else:
        S, deg, m = _full_chain(c, n)
    # bisection with an explicit stack of (a, b, V(a), V(b))
    sa[0] = -bound
    sb[0] = bound
    if linear:
        va[0] = _linear_changes(Q, c, n, -bound)
        vb[0] = _linear_changes(Q, c, n, bound)
    else:
        va[0] = _sturm_changes(S, deg, m, -bound)
        vb[0] = _sturm_changes(S, deg, m, bound)
    top = 1
    nr = 0
    while top > 0:
        top -= 1
        a, b, Va, Vb = sa[top], sb[top], va[top], vb[top]
        cnt = Va - Vb
        if cnt <= 0:
            continue
        if cnt == 1 or b - a <= 1e-14 * max(abs(a), abs(b)) or top >= 62:
            # Sturm counts the roots in (a, b]: one at b is this interval's, one at a
            # the left neighbour's, and p then has the sign of p'(a) just right of a
            fa = _horner(c, n, a)
            fb = _horner(c, n, b)
            if fa == 0.0:
                fa = _horner2(c, n, a)[1]
            if fb == 0.0:
                x = b
            elif (fa > 0) != (fb > 0):
                x = _bracketed_root(c, n, a, b, fa)
            elif cnt == 1:
                continue  # rounding: no sign change although Sturm counts one
            else:
                x = 0.5 * (a + b)
            if nr < roots.shape[0]:
                roots[nr] = x
                nr += 1
            continue
        mid = 0.5 * (a + b)
        if linear:
            Vm = _linear_changes(Q, c, n, mid)
        else:
            Vm = _sturm_changes(S, deg, m, mid)
        # push the right half first so the left one is processed first (ascending roots)
        sa[top], sb[top], va[top], vb[top] = mid, b, Vm, Vb
        top += 1
        sa[top], sb[top], va[top], vb[top] = a, mid, Va, Vm
        top += 1
    return nr
