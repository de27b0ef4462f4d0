"""The compiled homography search (cvgeo.geometry._homography_ransac): its generator, the
SPRT verification, the LO refits, and find_homography's results where it matters."""

import math

import numpy as np
import pytest

from cvgeo import find_homography
from cvgeo.geometry import _homography_ransac as HR
from cvgeo.geometry import _homography_refine as HK
from cvgeo.geometry import homography as R
from cvgeo.geometry._common import _normalizer_kernel
from cvgeo.geometry._twoview_ransac import _MIN_A
from tests.cvgeo.geometry._homography_scenes import apply_h, corner_error, random_h, synthetic

MASK = (1 << 64) - 1


def splitmix64(state):
    """Reference SplitMix64 in Python integers: (output, new state)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31), state


def test_generator_is_splitmix64_and_below_is_uniform():
    for seed in (0, 1, 2**63 + 5):
        rs = np.array([seed], dtype=np.uint64)
        state = seed
        for _ in range(5):
            ref, state = splitmix64(state)
            assert int(HR._next_u64(rs)) == ref
        assert int(rs[0]) == state
    # the published first output for state 0
    assert splitmix64(0)[0] == 0xE220A8397B1DCDAF
    rs = np.array([7], dtype=np.uint64)
    n = 7
    draws = np.array([HR._below(rs, n) for _ in range(14_000)])
    assert draws.min() == 0 and draws.max() == n - 1
    counts = np.bincount(draws, minlength=n)
    chi2 = float(((counts - 2000.0) ** 2 / 2000.0).sum())
    assert chi2 < 22.5  # chi-square, 6 degrees of freedom: P(> 22.5) = 0.001


def test_null_vector_matches_eigh_and_dlt_subset_matches_numpy(rng):
    H, src, dst, truth = synthetic(rng, n=300, outliers=0.3)
    xs, s1, mx1, my1 = _normalizer_kernel(src)
    xd, s2, mx2, my2 = _normalizer_kernel(dst)
    ids = np.flatnonzero(truth)
    # the DLT normal matrix of the normalised inliers, built row by row in numpy
    x, y = xs[ids, 0], xs[ids, 1]
    u, v = xd[ids, 0], xd[ids, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    A = np.concatenate([np.c_[-x, -y, -one, zero, zero, zero, u * x, u * y, u],
                        np.c_[zero, zero, zero, -x, -y, -one, v * x, v * y, v]])
    M_ref = A.T @ A
    w, V = np.linalg.eigh(M_ref)
    M = np.empty((9, 9))
    Hn = np.eye(3)  # a poor start: the iteration still gets there
    assert HR._dlt_subset(xs, xd, ids, M, Hn)
    np.testing.assert_allclose(M, M_ref, rtol=1e-12, atol=1e-9)
    h = Hn.ravel() * np.sign(Hn.ravel() @ V[:, 0])
    np.testing.assert_allclose(h, V[:, 0], atol=1e-10)
    # denormalised, it is the DLT of the inliers (the subset's own normalisation
    # differs from the global one by far less than the noise)
    Hp = np.empty((3, 3))
    HK._denormalize(Hn, s1, -s1 * mx1, -s1 * my1, s2, -s2 * mx2, -s2 * my2, Hp)
    assert corner_error(Hp, R._dlt_lsq(src[ids], dst[ids])) < 0.02
    # exact data: the null vector is the true H
    exact = apply_h(H, src)
    xd, s2, mx2, my2 = _normalizer_kernel(exact)
    Hn = np.eye(3)
    assert HR._dlt_subset(xs, xd, np.arange(300), M, Hn)
    HK._denormalize(Hn, s1, -s1 * mx1, -s1 * my1, s2, -s2 * mx2, -s2 * my2, Hp)
    np.testing.assert_allclose(Hp / Hp[2, 2], H / H[2, 2], rtol=1e-9, atol=1e-12)
    assert not HR._null_vector(np.zeros((9, 9)), np.eye(3))  # not positive definite


def test_sprt_cost_is_msac_without_the_test_and_drops_wrong_models(rng):
    H, src, dst, truth = synthetic(rng)
    good = H / np.linalg.norm(H)
    t2 = 9.0
    res2 = R._transfer(good, src, dst) ** 2
    stats = np.zeros(3)
    c, k = HR._sprt_cost(good, src, dst, t2, 0.0, 1e-3, np.inf, np.inf, stats)
    assert c == pytest.approx(np.minimum(res2, t2).sum(), rel=1e-12)
    assert k == int((res2 <= t2).sum()) and stats.sum() == 0
    eps = k / len(src)
    A = HR._sprt_threshold(eps, 1e-3)
    wrong = random_h(rng)
    c, k = HR._sprt_cost(wrong, src, dst, t2, eps, 1e-3, A, np.inf, stats)
    assert np.isinf(c) and k == 0
    assert stats[2] == 1 and 6 <= stats[0] <= 30  # dropped after a few dozen matches
    # a good model is dropped with probability at most 1 / A (Ville's inequality):
    # over 400 random verification orders, at most 400 / A + 4 standard deviations
    drops = 0
    for _ in range(400):
        p = rng.permutation(len(src))
        c, _ = HR._sprt_cost(good, src[p], dst[p], t2, eps, 1e-3, A, np.inf, stats)
        drops += np.isinf(c)
    assert drops <= 400 / A + 4 * math.sqrt(400 / A)
    # the bail-out: a bound below the cost
    bound = np.minimum(res2, t2).sum() * 0.99
    assert np.isinf(HR._sprt_cost(good, src, dst, t2, 0.0, 1e-3, np.inf, bound, stats)[0])


def test_sprt_threshold_solves_its_equation():
    eps, delta = 0.45, 0.01
    A = HR._sprt_threshold(eps, delta)
    C = (1 - delta) * math.log((1 - delta) / (1 - eps)) + delta * math.log(delta / eps)
    K = HR._SOLVER_COST[0] * C / HR._SOLVER_COST[1]
    assert A == pytest.approx(max(K + 1 + math.log(A), _MIN_A), rel=1e-5)
    assert HR._sprt_threshold(0.9, 0.01) > A  # more informative matches: a larger A
    assert HR._sprt_threshold(0.01, 0.02) == np.inf  # eps <= delta: no test
    assert HR._sprt_threshold(0.1, 0.001) >= _MIN_A


def test_lo_reaches_the_consensus_of_a_model_that_sees_a_third_of_it(rng):
    """The refits go on at t while they gain: from a model that sees ~1/3 of the
    inliers the LO reaches the DLT of all of them."""
    H, src, dst, truth = synthetic(rng, outliers=0.5)
    xs, s1, mx1, my1 = _normalizer_kernel(src)
    xd, s2, mx2, my2 = _normalizer_kernel(dst)
    norm = np.array([s1, -s1 * mx1, -s1 * my1, s2, -s2 * mx2, -s2 * my2])
    scale = np.diag([1.0, 1.0, 1.0])
    scale[0, 0] = 1.03  # a 3 % stretch in x: only a band of the inliers stays within t
    start = H @ scale
    start /= np.linalg.norm(start)
    n = len(src)
    before = int((R._transfer(start, src, dst) <= 3.0).sum())
    model = start.copy()
    cost, inliers = HR._lo_kernel(src, dst, xs, xd, norm, 3.0, HR._LO_SCHEDULE, model,
                                  np.inf, np.empty(n), np.empty(n, np.int64),
                                  np.zeros(n, bool))
    res = R._transfer(model, src, dst)
    assert before < 0.5 * truth.sum() * 0.9
    assert inliers == int((res <= 3.0).sum()) > 0.85 * truth.sum()
    assert cost == pytest.approx(np.minimum(res**2, 9.0).sum(), rel=1e-9)
    assert corner_error(model, H) < 1.0


def test_ninety_percent_outliers_found():
    """1000 matches, 90 % outliers (benchmarks/bench_general_motion.py's homography
    section: 20/20 over 20 seeds, cv2 USAC_MAGSAC 7/20); the first four of its seeds."""
    for k in range(4):
        H, src, dst, _ = synthetic(np.random.default_rng(2000 + k), outliers=0.9)
        r = find_homography(src, dst, threshold_px=3.0, seed=k)
        assert corner_error(r.model, H) < 5.0
        assert r.n_trials - r.n_degenerate == 10_000  # the whole budget (w^4 ~ 1e-4)


def test_seed_forms_reproducible_and_checked(rng):
    _, src, dst, _ = synthetic(rng, n=300)
    a = find_homography(src, dst, seed=3)
    b = find_homography(src, dst, seed=np.int64(3))
    np.testing.assert_array_equal(a.model, b.model)
    assert (a.n_trials, a.n_degenerate) == (b.n_trials, b.n_degenerate)
    g1 = find_homography(src, dst, seed=np.random.default_rng(5))
    g2 = find_homography(src, dst, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(g1.model, g2.model)
    assert corner_error(find_homography(src, dst, seed=None).model, a.model) < 0.2
    assert corner_error(find_homography(src, dst, seed=2**70).model, a.model) < 0.2
    with pytest.raises(ValueError, match="find_homography: seed must be a non-negative"):
        find_homography(src, dst, seed=-1)
    with pytest.raises(TypeError, match="find_homography: seed must be an int"):
        find_homography(src, dst, seed=True)
    with pytest.raises(ValueError, match=r"find_homography: max_trials must be"):
        find_homography(src, dst, max_trials=0)


def test_sampson_cost_only_pass_matches_the_full_pass(rng):
    xs, xd = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    Hn = np.eye(3) + 0.1 * rng.normal(size=(3, 3))
    J, g = np.empty((9, 9)), np.empty(9)
    full = HK._sampson_normal_kernel(Hn, xs, xd, 0.7, 1.3, J, g, True)
    r, Jr, ok = HK._sampson_kernel(Hn, xs, xd, 0.7, 1.3)
    assert ok and full == pytest.approx(r @ r, rel=1e-12)
    np.testing.assert_allclose(J, Jr.T @ Jr, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, Jr.T @ r, rtol=1e-10, atol=1e-12)
    J0, g0 = J.copy(), g.copy()
    assert HK._sampson_normal_kernel(Hn, xs, xd, 0.7, 1.3, J, g, False) == full
    np.testing.assert_array_equal(J, J0)  # left alone
    np.testing.assert_array_equal(g, g0)


def test_finish_without_refine_is_the_sign_rule_and_transfer(rng):
    H, src, dst, _ = synthetic(rng, n=200)
    M = -3.0 * H
    out, res = HK._finish_kernel(M, src, dst, 3.0, False)
    np.testing.assert_allclose(out, H / np.linalg.norm(H) * np.sign(H[2, 2]), rtol=1e-12)
    np.testing.assert_array_equal(res, R._transfer(out, src, dst))
    # with fewer than 5 matches within t there is nothing to refine on
    far = dst + 100.0
    out, _ = HK._finish_kernel(H, src, far, 3.0, True)
    np.testing.assert_allclose(out, H / np.linalg.norm(H) * np.sign(H[2, 2]), rtol=1e-12)
