"""Kernel-level tests of the five-point solver (cvgeo.geometry._fivepoint) and of the real
root finder it runs on (cvgeo.geometry._polyroots).

``essential_5point`` and ``find_essential`` are tested in test_essential.py; here the
pieces RANSAC calls directly: the hidden-variable kernel, the null space, the cubic
constraints, det B(z), and the two Sturm-chain evaluations.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from cvgeo.geometry._fivepoint import (
    _MONOMIALS,
    _cubics,
    _det_poly,
    _five_point_hidden_kernel,
    _five_point_kernel,
    _five_point_work,
    _hidden_z,
    _lin_lin_add,
    _null_space_5x9,
    _quad_lin_add,
)
from cvgeo.geometry._polyroots import (
    _full_chain,
    _linear_chain,
    _linear_changes,
    _real_roots,
    _sturm_changes,
)
from tests.cvgeo.geometry.test_essential import _dist_up_to_sign, _five_point_problem


@pytest.mark.parametrize("seed", range(8))
def test_hidden_kernel_recovers_exact_E(seed):
    q1, q2, E = _five_point_problem(seed)
    h1 = np.c_[q1, np.ones(5)]
    h2 = np.c_[q2, np.ones(5)]
    for polish, tol in ((True, 1e-9), (False, 1e-7)):
        out = np.empty((10, 3, 3))
        n = _five_point_hidden_kernel(q1, q2, out, polish)
        assert 1 <= n <= 10
        assert min(_dist_up_to_sign(out[k], E) for k in range(n)) < tol
        for S in out[:n]:
            assert abs(np.linalg.norm(S) - 1.0) < 1e-12
            # every root satisfies the five epipolar equations (the null space) ...
            assert np.abs(np.einsum("ni,ij,nj->n", h2, S, h1)).max() < 1e-12
            # ... and is an essential matrix (singular values (1, 1, 0) / sqrt 2)
            s = np.linalg.svd(S, compute_uv=False)
            assert abs(s[0] - s[1]) < 1e-6 and s[2] < 1e-6


def test_hidden_kernel_finds_the_action_matrix_roots():
    # the RANSAC solver (det B(z) = 0) and the exact one (eigenvalues of the action
    # matrix) have the same solutions; the hidden variable may merge two roots closer
    # than ~1e-14 (about 1 problem in 1000), so one miss in 40 problems is allowed
    missed = 0
    for seed in range(100, 140):
        q1, q2, _ = _five_point_problem(seed)
        a = np.empty((10, 3, 3))
        h = np.empty((10, 3, 3))
        na = _five_point_kernel(q1, q2, a, True)
        nh = _five_point_hidden_kernel(q1, q2, h, True)
        for S in a[:na]:
            missed += min((_dist_up_to_sign(S, T) for T in h[:nh]), default=1.0) > 1e-8
    assert missed <= 1


def test_hidden_kernel_degenerate_sample_gives_no_root():
    q1, q2, _ = _five_point_problem(0)
    out = np.empty((10, 3, 3))
    rep1 = np.repeat(q1[:1], 5, axis=0)
    rep2 = np.repeat(q2[:1], 5, axis=0)
    assert _five_point_hidden_kernel(rep1, rep2, out, False) == 0


def test_null_space_is_orthonormal_and_rank_deficiency_is_reported():
    rng = np.random.default_rng(0)
    for _ in range(20):
        Q = rng.normal(size=(5, 9))
        E = np.empty((9, 4))
        assert _null_space_5x9(Q.copy(), E, np.empty(9))
        np.testing.assert_allclose(Q @ E, 0.0, atol=1e-13)
        np.testing.assert_allclose(E.T @ E, np.eye(4), atol=1e-13)
    Q = rng.normal(size=(5, 9))
    Q[4] = Q[0] + 2.0 * Q[3]  # rank 4
    assert not _null_space_5x9(Q, np.empty((9, 4)), np.empty(9))


def _coefficients(E_true, basis):
    """(x, y, z) with E_true ∝ x X + y Y + z Z + W for the null-space basis (9, 4)."""
    c, *_ = np.linalg.lstsq(basis, E_true.ravel(), rcond=None)
    return c[:3] / c[3]


def _monomials(x, y, z):
    return np.array([x**a * y**b * z**c for a, b, c in _MONOMIALS])


def test_polynomial_products_evaluate_as_products():
    # quadratics over b = (x², xy, xz, y², yz, z², x, y, z, 1) are the last ten monomials
    rng = np.random.default_rng(1)
    E = rng.normal(size=(9, 4))
    P = np.zeros((2, 10))
    _lin_lin_add(E, 2, 5, P, 0)
    out = np.zeros((1, 20))
    _quad_lin_add(P, 0, E, 7, out, 0)
    for x, y, z in rng.normal(size=(5, 3)):
        lin = E[:, :3] @ [x, y, z] + E[:, 3]
        m = _monomials(x, y, z)
        np.testing.assert_allclose(P[0] @ m[10:], lin[2] * lin[5], rtol=1e-12)
        np.testing.assert_allclose(out[0] @ m, lin[2] * lin[5] * lin[7], rtol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_cubics_vanish_at_the_true_E_and_det_poly_is_det_B(seed):
    q1, q2, E = _five_point_problem(seed)
    Eb = np.empty((9, 4))
    A = np.empty((10, 20))
    assert _cubics(q1, q2, Eb, A, np.empty((21, 10)))
    x, y, z = _coefficients(E, Eb)
    scale = np.abs(A).max() * np.abs(_monomials(x, y, z)).max()
    # det E = 0 and 2 E Eᵀ E - tr(E Eᵀ) E = 0 at the true E
    assert np.abs(A @ _monomials(x, y, z)).max() < 1e-11 * scale
    # ... and not at a point off the solutions
    assert np.abs(A @ _monomials(x + 0.1, y, z)).max() > 1e-4 * scale
    B = np.empty((9, 5))
    G = np.empty((10, 20))
    assert _hidden_z(A, B, G)
    p = np.empty(11)
    _det_poly(B, p, np.empty(24))
    for zz in (-1.3, 0.2, 2.5):
        Bz = np.array([[np.polyval(B[3 * r + c][::-1], zz) for c in range(3)]
                       for r in range(3)])
        np.testing.assert_allclose(np.polyval(p[::-1], zz), np.linalg.det(Bz), rtol=1e-9)
    # the true z is a root of det B(z), to rounding (the terms' magnitudes times 1e-12)
    assert abs(np.polyval(p[::-1], z)) < 1e-12 * np.polyval(np.abs(p[::-1]), abs(z))
    # B(z) (x, y, 1)ᵀ = 0 at the true solution
    Bz = np.array([[np.polyval(B[3 * r + c][::-1], z) for c in range(3)] for r in range(3)])
    assert np.abs(Bz @ [x, y, 1.0]).max() < 1e-9 * np.abs(Bz).max()


def test_work_arrays_are_reusable_across_samples():
    # the RANSAC loop calls the core on one set of work arrays: a result must not depend
    # on what the previous sample left in them
    from cvgeo.geometry._fivepoint import _five_point_hidden_core

    work = _five_point_work()
    first = []
    for seed in range(5):
        q1, q2, _ = _five_point_problem(seed)
        out = np.empty((10, 3, 3))
        n = _five_point_hidden_core(q1, q2, out, False, work)
        first.append(out[:n].copy())
    for seed in (3, 0, 4):
        q1, q2, _ = _five_point_problem(seed)
        out = np.empty((10, 3, 3))
        n = _five_point_hidden_core(q1, q2, out, False, _five_point_work())
        np.testing.assert_array_equal(out[:n], first[seed])


def test_real_roots_non_generic_chain_and_multiplicities():
    # x^10 - 1: the remainder of p by p' is a constant (the chain drops eight degrees at
    # once), so the full Sturm chain is used: real roots ±1
    c = np.r_[-1.0, np.zeros(9), 1.0]
    assert not _linear_chain(c, 10, np.empty(33), np.empty(11), np.empty(11), np.empty(11))
    roots = np.empty(10)
    n = _real_roots(c, roots)
    np.testing.assert_allclose(roots[:n], [-1.0, 1.0], atol=1e-15)
    # ten distinct real roots, generic chain
    p = np.poly(np.arange(1.0, 11.0))[::-1].copy()
    n = _real_roots(p, roots)
    np.testing.assert_allclose(roots[:n], np.arange(1.0, 11.0), rtol=1e-9)
    # a root of odd multiplicity is found once (the chain stops at gcd(p, p'))
    p = np.poly([0.5, 0.5, 0.5, 2.0, -1.0])[::-1].copy()
    n = _real_roots(p, roots)
    np.testing.assert_allclose(roots[:n], [-1.0, 0.5, 2.0], rtol=1e-4)


@njit(cache=False)
def _both_counts(c, xs, out):
    """Sign changes of the linear-quotient and of the full Sturm chain of ``c`` at ``xs``
    into ``out`` (2, len(xs)) (compiled: the full chain stays on the numba side)."""
    Q = np.empty(33)
    if not _linear_chain(c, 10, Q, np.empty(11), np.empty(11), np.empty(11)):
        return False
    S, deg, m = _full_chain(c, 10)
    for k in range(xs.shape[0]):
        out[0, k] = _linear_changes(Q, c, 10, xs[k])
        out[1, k] = _sturm_changes(S, deg, m, xs[k])
    return True


def test_linear_sturm_chain_counts_as_the_full_chain():
    rng = np.random.default_rng(7)
    for _ in range(50):
        p = rng.normal(size=11)
        c = p / p[10]
        xs = np.r_[rng.normal(scale=3.0, size=20), -1e6, 1e6]
        counts = np.empty((2, xs.size), dtype=np.int64)
        assert _both_counts(c, xs, counts)
        np.testing.assert_array_equal(counts[0], counts[1])
        # V(-inf) - V(+inf) is the number of distinct real roots
        r = np.roots(p[::-1])
        assert counts[0, -2] - counts[0, -1] == int(np.sum(np.abs(r.imag) < 1e-9))
