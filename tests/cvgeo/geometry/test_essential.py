"""Tests for the calibrated estimator (5-point, find_essential), planar degeneracy
(DEGENSAC), the ransac degenerate-sample budget, and the triangulation contract.

The general-motion grid against cv2 and PoseLib lives in
benchmarks/bench_general_motion.py; these are its cheap versions.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from cvgeo import DegenerateError
from cvgeo.geometry import triangulation as tri
from cvgeo.geometry._fivepoint import _real_roots
from cvgeo.geometry._twoview_ransac import _cheiral_ok, _oriented_ok
from cvgeo.geometry.camera import (
    projection_matrix,
    rotation_angle,
    rotation_from_axis_angle,
    synthetic_two_view_scene,
)
from cvgeo.geometry.epipolar import (
    epipolar_distance,
    find_fundamental,
    fundamental_7point,
    recover_pose,
    skew,
    triangulate_points,
)
from cvgeo.geometry.epipolar.pose import _triangulate_h
from cvgeo.geometry.essential import (
    EssentialResult,
    _off_epipoles,
    essential_5point,
    find_essential,
)
from cvgeo.geometry.ransac import ransac


def _random_pose_and_points(rng):
    """A random rotation (3-29 degrees), unit translation and five points about z = 4."""
    axis = rng.normal(size=3)
    R = rotation_from_axis_angle(axis / np.linalg.norm(axis) * rng.uniform(0.05, 0.5))
    t = rng.normal(size=3)
    t /= np.linalg.norm(t)
    return R, t, rng.uniform(-1, 1, (5, 3)) + [0, 0, 4]


def _five_point_problem(seed):
    R, t, X = _random_pose_and_points(np.random.default_rng(seed))
    X2 = X @ R.T + t
    E = skew(t) @ R
    return X[:, :2] / X[:, 2:], X2[:, :2] / X2[:, 2:], E / np.linalg.norm(E)


def _dist_up_to_sign(A, B):
    return min(np.abs(A - B).max(), np.abs(A + B).max())


def test_off_epipoles_drops_the_matches_near_either_epipole():
    K = np.array([[800.0, 0, 320], [0, 800, 240], [0, 0, 1]])
    R, t = np.eye(3), np.array([0.0, 0.0, 1.0])  # forward: both epipoles at (320, 240)
    d = np.array([5.0, 30.0, 49.0, 51.0, 80.0, 120.0, 150.0, 200.0, 210.0, 220.0])
    far = np.c_[320 + d, np.full(10, 240.0)]
    near2 = far.copy()
    near2[6] = [322.0, 241.0]  # x1 far, x2 by the epipole of image 2
    keep = _off_epipoles(R, t, far, near2, K, K, 50.0, np.ones(10, bool))
    assert keep.tolist() == [False, False, False, True, True, True, False, True, True, True]
    # fewer than half of the inliers (or fewer than 6) left: nothing is dropped
    inl = np.r_[np.ones(4, bool), np.zeros(6, bool)]
    assert _off_epipoles(R, t, far, far, K, K, 50.0, inl).all()
    assert _off_epipoles(R, t, far, far, K, K, 100.0, np.ones(10, bool)).all()
    # sideways: the epipoles are at infinity, every match stays
    assert _off_epipoles(R, np.array([1.0, 0, 0]), far, far, K, K, 50.0,
                         np.ones(10, bool)).all()


@pytest.mark.parametrize("seed", range(4))
def test_sample_cheirality_rejects_a_point_behind_both_cameras(seed):
    R, t, X = _random_pose_and_points(np.random.default_rng(seed))
    E = skew(t) @ R
    X[4] *= -1.0  # behind both cameras: depths -4 ± 1 and about -4 ± 2 after (R, t)
    X2 = X @ R.T + t
    assert X[4, 2] < 0 and X2[4, 2] < 0 and (X[:4, 2] > 0).all() and (X2[:4, 2] > 0).all()
    q1, q2 = X[:, :2] / X[:, 2:], X2[:, :2] / X2[:, 2:]
    h1, h2 = np.c_[q1, np.ones(5)], np.c_[q2, np.ones(5)]
    assert np.abs(np.einsum("ni,ij,nj->n", h2, E, h1)).max() < 1e-12  # all exact
    # the four in front pass under E and -E; the fifth passes the oriented epipolar
    # constraint (its depths have the same sign as each other) but no pose of E puts
    # all five in front of both cameras
    assert _cheiral_ok(E, q1, q2, 4) and _cheiral_ok(-E, q1, q2, 4)
    assert _oriented_ok(E, q1, q2, 5)
    assert not _cheiral_ok(E, q1, q2, 5) and not _cheiral_ok(-E, q1, q2, 5)


@pytest.mark.parametrize("seed", range(8))
def test_five_point_recovers_exact_E(seed):
    q1, q2, E = _five_point_problem(seed)
    sols = essential_5point(q1, q2)
    assert 1 <= len(sols) <= 10
    assert len(sols) % 2 == 0  # real roots of a degree-10 polynomial pair up here
    assert min(_dist_up_to_sign(S, E) for S in sols) < 1e-9
    for S in sols:
        s = np.linalg.svd(S, compute_uv=False)
        assert abs(s[0] - s[1]) < 1e-8 * s[0] and s[2] < 1e-8 * s[0]  # essential
        assert np.abs(np.einsum("ni,ij,nj->n", np.c_[q2, np.ones(5)], S,
                                np.c_[q1, np.ones(5)])).max() < 1e-10  # epipolar
        assert abs(np.linalg.norm(S) - 1) < 1e-12


def test_five_point_errors():
    q1, q2, _ = _five_point_problem(0)
    with pytest.raises(ValueError, match=r"essential_5point: q1 must have shape \(5, 2\)"):
        essential_5point(q1[:4], q2[:4])
    with pytest.raises(ValueError, match="essential_5point: q2 must be finite"):
        essential_5point(q1, np.full((5, 2), np.nan))
    with pytest.raises(DegenerateError, match="essential_5point: the 5 matches must give"):
        essential_5point(np.tile(q1[:1], (5, 1)), np.tile(q2[:1], (5, 1)))


def test_real_roots_against_numpy():
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = rng.normal(size=11)
        roots = np.empty(10)
        n = _real_roots(p, roots)
        ref = np.roots(p[::-1])
        ref = np.sort(ref[np.abs(ref.imag) < 1e-9].real)
        np.testing.assert_allclose(roots[:n], ref, rtol=1e-9, atol=1e-12)


def _angle_deg(R, R_true):
    return np.degrees(float(rotation_angle(R.T @ R_true)))


def _tdir_deg(t, t_true):
    c = abs(t @ t_true) / np.linalg.norm(t) / np.linalg.norm(t_true)
    return np.degrees(np.arccos(min(c, 1.0)))


def test_find_essential_exact_and_noisy():
    s = synthetic_two_view_scene(60, seed=4)
    r = find_essential(s.x1, s.x2, K1=s.K1, K2=s.K2)
    assert isinstance(r, EssentialResult)
    assert _dist_up_to_sign(r.E, s.E / np.linalg.norm(s.E)) < 1e-8
    assert _angle_deg(r.R, s.R) < 1e-6
    assert r.t @ (s.t / np.linalg.norm(s.t)) > 1 - 1e-12  # sign chosen by cheirality
    assert r.inlier_mask.all() and r.in_front.all()
    # noisy, 40 % outliers: pose within a fraction of a degree, outliers rejected
    s = synthetic_two_view_scene(300, seed=5, noise_px=0.5, outlier_fraction=0.4)
    r = find_essential(s.x1, s.x2, K1=s.K1, threshold_px=1.0)
    assert _angle_deg(r.R, s.R) < 0.3 and _tdir_deg(r.t, s.t) < 1.0
    assert r.inlier_mask[~s.inlier_mask].mean() < 0.05
    assert r.inlier_mask[s.inlier_mask].mean() > 0.9
    assert r.n_trials >= r.n_degenerate >= 0
    # normalised coordinates when K is None: the same pose
    q1 = (s.x1 - s.K1[:2, 2]) / s.K1[0, 0]
    q2 = (s.x2 - s.K1[:2, 2]) / s.K1[0, 0]
    rn = find_essential(q1, q2, threshold_px=1.0 / s.K1[0, 0])
    assert _angle_deg(rn.R, r.R) < 0.05


def test_find_essential_matches_cv2_on_clean_data():
    s = synthetic_two_view_scene(100, seed=6, noise_px=0.3)
    r = find_essential(s.x1, s.x2, K1=s.K1, threshold_px=1.0)
    E, mask = cv2.findEssentialMat(s.x1, s.x2, s.K1, method=cv2.USAC_MAGSAC, threshold=1.0)
    _, R, t, _ = cv2.recoverPose(E[:3], s.x1, s.x2, s.K1, mask=mask.copy())
    assert _angle_deg(r.R, R) < 0.2  # both near the truth at 0.3 px noise
    assert _angle_deg(r.R, s.R) <= _angle_deg(R, s.R) + 0.05


def test_find_essential_errors():
    s = synthetic_two_view_scene(20, seed=1)
    with pytest.raises(DegenerateError, match="find_essential: x1 and x2 must hold at least 5"):
        find_essential(s.x1[:4], s.x2[:4], K1=s.K1)
    with pytest.raises(ValueError, match="find_essential: K2 needs K1"):
        find_essential(s.x1, s.x2, K2=s.K1)
    with pytest.raises(ValueError, match="find_essential: K1 must be an intrinsic matrix"):
        find_essential(s.x1, s.x2, K1=np.ones((3, 3)))
    with pytest.raises(ValueError, match="find_essential: threshold_px must be"):
        find_essential(s.x1, s.x2, K1=s.K1, threshold_px=0.0)
    with pytest.raises(ValueError, match="find_essential: x1 and x2 must have the same"):
        find_essential(s.x1, s.x2[:10], K1=s.K1)
    with pytest.raises(TypeError, match="find_essential: x1 must be a numpy array"):
        find_essential(s.x1.tolist(), s.x2, K1=s.K1)


def test_find_essential_warns_on_chance_support():
    rng = np.random.default_rng(0)
    x1 = rng.uniform(0, [639, 479], (300, 2))
    x2 = rng.uniform(0, [639, 479], (300, 2))  # no geometry at all
    K = np.array([[800.0, 0, 319.5], [0, 800.0, 239.5], [0, 0, 1]])
    with pytest.warns(RuntimeWarning, match="find_essential: low support"):
        find_essential(x1, x2, K1=K, threshold_px=1.0, max_trials=300)
    # F's bound is for a raw model at the 1e-3 tail; the returned F is locally optimised
    # (LO, inner RANSAC, polish), which lifts its chance support on some random data sets
    # just past the bound: most of ten data sets must warn
    warned = 0
    for k in range(10):
        r = np.random.default_rng(100 + k)
        a = r.uniform(0, [639, 479], (300, 2))
        b = r.uniform(0, [639, 479], (300, 2))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            find_fundamental(a, b, threshold_px=1.0, max_trials=300, check_planar=False)
        warned += any("find_fundamental: low support" in str(x.message) for x in w)
    assert warned >= 7
    s = synthetic_two_view_scene(300, seed=2, noise_px=0.5, outlier_fraction=0.8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 60 true inliers of 300: no warning
        find_essential(s.x1, s.x2, K1=s.K1, threshold_px=1.0)


def test_recover_pose_cheirality_matches_dlt_reference():
    s = synthetic_two_view_scene(50, seed=2, noise_px=0.5)
    pose = recover_pose(s.E, s.x1, s.x2, K1=s.K1, K2=s.K2, refine=False)
    assert _angle_deg(pose.R, s.R) < 1e-9 and pose.in_front.all()
    # the closed-form depths agree in sign with the DLT reference triangulation
    q1 = (s.x1 - s.K1[:2, 2]) / s.K1[0, 0]
    q2 = (s.x2 - s.K2[:2, 2]) / s.K2[0, 0]
    t = s.t / np.linalg.norm(s.t)
    for R, tt in ((s.R, t), (s.R, -t)):
        lam1, lam2 = tri.two_view_depths(R, tt, q1, q2)
        P2 = np.hstack([R, tt[:, None]])
        Xh = _triangulate_h(np.hstack([np.eye(3), np.zeros((3, 1))]), P2, q1, q2, np)
        d1 = Xh[:, 2] * Xh[:, 3]
        d2 = (Xh[:, :3] @ R[2] + tt[2] * Xh[:, 3]) * Xh[:, 3]
        np.testing.assert_array_equal(lam1 > 0, d1 > 0)
        np.testing.assert_array_equal(lam2 > 0, d2 > 0)


# ----------------------------------------------------------------------------- triangulation


def test_triangulation_fast_path_matches_svd_reference_and_beats_cv2_error():
    s = synthetic_two_view_scene(200, seed=7, noise_px=0.5)
    P1 = projection_matrix(s.K1, np.eye(3), np.zeros(3))
    P2 = projection_matrix(s.K2, s.R, s.t)
    Xlin = triangulate_points(s.x1, s.x2, P1, P2, refine=False)
    Xh = _triangulate_h(P1, P2, s.x1, s.x2, np)
    # inhomogeneous vs homogeneous least squares: equal to well below the noise
    np.testing.assert_allclose(Xlin, Xh[:, :3] / Xh[:, 3:], rtol=1e-3, atol=1e-3)
    X = triangulate_points(s.x1, s.x2, P1, P2)
    Xc = cv2.triangulatePoints(P1, P2, s.x1.T, s.x2.T)
    Xc = (Xc[:3] / Xc[3]).T

    def reproj(Y):
        e1 = np.linalg.norm((Y @ P1[:, :3].T + P1[:, 3])[:, :2]
                            / (Y @ P1[:, :3].T + P1[:, 3])[:, 2:] - s.x1, axis=1)
        e2 = np.linalg.norm((Y @ P2[:, :3].T + P2[:, 3])[:, :2]
                            / (Y @ P2[:, :3].T + P2[:, 3])[:, 2:] - s.x2, axis=1)
        return e1**2 + e2**2

    assert (reproj(X) <= reproj(Xlin) + 1e-12).all()  # a step is taken only if it helps
    assert reproj(X).sum() <= reproj(Xc).sum()


def test_triangulation_reports_infinite_points_per_match():
    Pa = projection_matrix(np.eye(3), np.eye(3), np.zeros(3))
    Pb = projection_matrix(np.eye(3), np.eye(3), np.array([-1.0, 0.0, 0.0]))
    x1 = np.array([[0.1, 0.05], [0.3, 0.2], [-0.2, 0.1]])
    x2 = np.array([[-0.15, 0.05], [0.3, 0.2], [-0.45, 0.1]])  # the middle one: no parallax
    X = triangulate_points(x1, x2, Pa, Pb)
    assert np.isinf(X[1]).all()
    np.testing.assert_allclose(X[[0, 2]], [[0.4, 0.2, 4.0], [-0.8, 0.4, 4.0]], rtol=1e-12)


def test_triangulation_coincident_cameras_raise():
    s = synthetic_two_view_scene(10, seed=8)
    P = projection_matrix(s.K1, np.eye(3), np.zeros(3))
    with pytest.raises(DegenerateError, match="triangulate_points: P1 and P2 must have distinct"):
        triangulate_points(s.x1, s.x2, P, P)
    # a pure rotation about the same centre is just as degenerate
    P2 = projection_matrix(s.K1, rotation_from_axis_angle(np.array([0.0, 0.1, 0.0])),
                           np.zeros(3))
    with pytest.raises(DegenerateError, match="distinct camera centres"):
        triangulate_points(s.x1, s.x2, P, P2)


# ----------------------------------------------------------------------------- fundamental


def test_find_fundamental_accepts_exactly_seven():
    s = synthetic_two_view_scene(7, seed=3)
    n_roots = len(fundamental_7point(s.x1, s.x2))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = find_fundamental(s.x1, s.x2, check_planar=False)
    assert r.n_inliers == 7
    assert epipolar_distance(r.F, s.x1, s.x2).max() < 1e-9
    ties = [x for x in w if "several fundamental matrices" in str(x.message)]
    assert len(ties) == (1 if n_roots > 1 else 0)
    with pytest.raises(DegenerateError, match="find_fundamental: x1 and x2 must hold at least 7"):
        find_fundamental(s.x1[:6], s.x2[:6])


def _plane_scene(n, seed, plane_fraction, outliers, noise=0.5):
    rng = np.random.default_rng(seed)
    sp = synthetic_two_view_scene(n, seed=rng, planar=True)
    sg = synthetic_two_view_scene(n, seed=rng, R=sp.R, t=sp.t)
    on = rng.random(n) < plane_fraction
    X = np.where(on[:, None], sp.points3d, sg.points3d)
    return synthetic_two_view_scene(points3d=X, R=sp.R, t=sp.t, K1=sp.K1, K2=sp.K2,
                                    noise_px=noise, outlier_fraction=outliers, seed=rng)


def _general_error(F, s):
    g = synthetic_two_view_scene(300, seed=123, R=s.R, t=s.t, K1=s.K1, K2=s.K2)
    return float(np.median(epipolar_distance(F, g.x1_true, g.x2_true)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planar_scene_with_outliers_raises(seed):
    s = _plane_scene(400, seed, 1.0, 0.5)
    with pytest.raises(DegenerateError, match="find_fundamental: the matches must not all fit"):
        find_fundamental(s.x1, s.x2, seed=seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plane_dominated_scene_is_completed(seed):
    # 90 % of the points on one plane, 50 % outliers: DEGENSAC's plane and parallax
    s = _plane_scene(600, seed, 0.9, 0.5)
    r = find_fundamental(s.x1, s.x2, seed=seed)
    assert _general_error(r.F, s) < 1.0  # px on points off the plane


# scenes of benchmarks/bench_general_motion.py (scene seed 1000 + k, RANSAC seed k) where the
# plane's matches (about 470) outweighed the ~20 inliers off it when the completion was
# ranked on all matches: the epipole was wrong and the scene then refused as planar
@pytest.mark.parametrize("seed", [0, 12, 15, 18])
def test_plane_dominated_95_percent_with_half_outliers_is_completed(seed):
    s = _plane_scene(1000, 1000 + seed, 0.95, 0.5)
    r = find_fundamental(s.x1, s.x2, threshold_px=1.0, seed=seed)
    assert _general_error(r.F, s) < 1.0  # px on points off the plane (noise 0.5 px)
    # the true inliers are found (noise beyond the 1 px threshold loses a few percent)
    assert np.count_nonzero(r.inlier_mask & s.inlier_mask) >= 0.9 * s.inlier_mask.sum()


# planar scenes at 50 % outliers whose best chance epipole reaches 14-15 off-plane matches
@pytest.mark.parametrize("seed", [4, 10, 12, 16])
def test_planar_scene_with_half_outliers_raises_at_1000_points(seed):
    s = _plane_scene(1000, 1000 + seed, 1.0, 0.5)
    with pytest.raises(DegenerateError, match="no more than chance gives"):
        find_fundamental(s.x1, s.x2, threshold_px=1.0, seed=seed)


def test_off_plane_scorer_scores_only_the_matches_off_the_plane():
    from cvgeo.geometry.degeneracy import off_plane_scorer
    from cvgeo.geometry.homography import _dlt_lsq, _transfer

    s = _plane_scene(400, 3, 0.9, 0.3)
    # the plane's exact homography, from the noise-free planar scene _plane_scene draws first
    sp = synthetic_two_view_scene(400, seed=np.random.default_rng(3), planar=True)
    H = _dlt_lsq(sp.x1_true, sp.x2_true)
    t = 1.0
    off, score = off_plane_scorer(H, s.x1, s.x2, t)
    np.testing.assert_array_equal(off, np.flatnonzero(_transfer(H, s.x1, s.x2) > 2 * t))
    assert 0.3 * len(s.x1) < off.size < 0.5 * len(s.x1)  # outliers and 10 % off the plane
    F = s.F / np.linalg.norm(s.F)
    r = epipolar_distance(F, s.x1[off], s.x2[off])
    msac = float(np.minimum(r * r, t * t).sum())
    assert score(F[None], np.inf)[0] == pytest.approx(msac, rel=1e-9)
    # a model that cannot beat the bound is inf; the bound tightens along the stack
    assert score(F[None], 0.5 * msac)[0] == np.inf
    costs = score(np.stack([F, F]), np.inf)
    assert costs[0] == pytest.approx(msac, rel=1e-9) and costs[1] == np.inf
    # every F = [e2]x H fits the plane's matches: the truth beats a wrong epipole off it
    e_wrong = np.array([320.0, 240.0, 1.0])
    G = np.cross(e_wrong, H.T).T
    assert score(np.stack([G / np.linalg.norm(G)]), np.inf)[0] > msac + 0.5 * (
        np.count_nonzero(r <= t))


# ----------------------------------------------------------------------------- ransac budget


class _CountingLine:
    sample_size = 2

    def __init__(self):
        self.calls = 0

    def is_degenerate(self, a):
        return bool(np.all(a[0] == a[1]))

    def fit_minimal(self, a):
        self.calls += 1
        d = a[1] - a[0]
        return [np.array([-d[1], d[0], d[1] * a[0, 0] - d[0] * a[0, 1]]) / np.hypot(*d)]

    def fit(self, a):
        c = a.mean(0)
        n = np.linalg.svd(a - c)[2][-1]
        return np.array([n[0], n[1], -n @ c])

    def residuals(self, m, a):
        return np.abs(a @ m[:2] + m[2])


def test_ransac_degenerate_samples_do_not_use_the_budget():
    rng = np.random.default_rng(0)
    a = np.c_[np.linspace(0, 10, 40), np.zeros(40)] + rng.normal(0, 0.01, (40, 2))
    a[:30] = a[0]  # 3/4 of the points coincide: ~56 % of samples are degenerate
    est = _CountingLine()
    r = ransac(est, a, threshold_px=0.1, max_trials=100, min_trials=100,
               local_optimization=False)
    assert est.calls == r.n_trials - r.n_degenerate == 100
    assert r.n_degenerate > 60  # they were drawn, counted and skipped on top of the 100
