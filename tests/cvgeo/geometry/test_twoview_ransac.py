"""The compiled two-view RANSAC (SPRT, LO+) and the compiled dominant-plane search."""

import math

import numpy as np
import pytest

from cvgeo import DegenerateError
from cvgeo.geometry._degensac import dominant_plane, plane_samples
from cvgeo.geometry._twoview_ransac import (
    _LO_SCHEDULE,
    _SOLVER_COST,
    _lo_kernel,
    _oriented_ok,
    sprt_threshold,
    trials_needed,
    two_view_ransac,
)
from cvgeo.geometry.camera import rotation_from_axis_angle, synthetic_two_view_scene
from cvgeo.geometry.epipolar import epipolar_distance, fundamental_from_pose, skew
from cvgeo.geometry.epipolar.robust import _FundamentalEstimator
from cvgeo.geometry.homography import HomographyEstimator, _transfer
from cvgeo.geometry.ransac import _epipolar_chance, ransac


def generic_dominant_plane(x1, x2, inliers, t, rng):
    """The oracle: the same plane search by the generic RANSAC engine (threshold 2 t,
    300 samples; None below half of the inliers)."""
    try:
        r = ransac(HomographyEstimator(), x1[inliers], x2[inliers], threshold_px=2.0 * t,
                   seed=rng, max_trials=300)
    except DegenerateError:
        return None
    return r.model if r.inlier_mask.sum() >= 0.5 * inliers.sum() else None


def _plane_scene(n, seed, plane_fraction, outliers, noise=0.5):
    rng = np.random.default_rng(seed)
    sp = synthetic_two_view_scene(n, seed=rng, planar=True)
    sg = synthetic_two_view_scene(n, seed=rng, R=sp.R, t=sp.t)
    on = rng.random(n) < plane_fraction
    X = np.where(on[:, None], sp.points3d, sg.points3d)
    s = synthetic_two_view_scene(points3d=X, R=sp.R, t=sp.t, K1=sp.K1, K2=sp.K2,
                                 noise_px=noise, outlier_fraction=outliers, seed=rng)
    return s, on


# ----------------------------------------------------------------------------- stopping rule


def test_trials_needed_known_values():
    # w^s (1 - 1/A) = 0.5^7 (1 - 1/50): log(0.001) / log(1 - 0.0076563) = 898.8
    k = trials_needed(0.5, 7, 50.0, 0.999)
    assert k == pytest.approx(math.log(1e-3) / math.log1p(-(0.5**7) * 0.98), rel=1e-12)
    assert 898 < k < 900
    assert trials_needed(0.0, 5, 50.0, 0.999) == math.inf
    assert trials_needed(1.0, 5, math.inf, 0.999) == 0.0


def test_sprt_threshold_solves_its_equation_and_is_floored():
    eps, delta = 0.5, 0.01
    A = sprt_threshold(eps, delta, 7)
    C = (1 - delta) * math.log((1 - delta) / (1 - eps)) + delta * math.log(delta / eps)
    t_m, m_s = _SOLVER_COST[7]
    K = t_m * C / m_s
    assert A == pytest.approx(K + 1 + math.log(A), rel=1e-6)
    assert sprt_threshold(0.05, 0.04, 7) == 50.0  # weak test: the floor
    assert sprt_threshold(0.01, 0.02, 5) == math.inf  # eps <= delta: no test


# ----------------------------------------------------------------------------- oriented constraint


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_oriented_constraint_keeps_true_matches_and_drops_a_point_behind(seed):
    s = synthetic_two_view_scene(40, seed=seed, noise_px=0.0)
    F = s.F.copy()
    x1 = np.ascontiguousarray(s.x1[:7])
    x2 = np.ascontiguousarray(s.x2[:7])
    assert _oriented_ok(F, x1, x2, 7) and _oriented_ok(-F, x1, x2, 7)
    # the epipolar line of x1 through e2: a point on it on the other side of e2 still fits
    # F exactly, but only as the image of a point behind the camera
    e2 = np.linalg.svd(F.T)[2][-1]
    e2 = e2[:2] / e2[2]
    bad = x2.copy()
    bad[3] = e2 - (x2[3] - e2)
    assert abs(np.r_[bad[3], 1.0] @ F @ np.r_[x1[3], 1.0]) < 1e-9 * np.linalg.norm(F) * (
        np.linalg.norm(bad[3]) + 1) * (np.linalg.norm(x1[3]) + 1)
    assert not _oriented_ok(F, x1, bad, 7)
    assert _oriented_ok(F, x1, bad, 3)  # only the first k matches are tested


def test_oriented_constraint_never_drops_a_root_near_the_truth():
    from cvgeo.geometry.epipolar.kernels import _sampson_kernel, _seven_point_kernel

    s = synthetic_two_view_scene(1000, seed=1, noise_px=0.5, outlier_fraction=0.7)
    rng = np.random.default_rng(0)
    inl = np.flatnonzero(s.inlier_mask)
    good = dropped = 0
    for _ in range(200):
        i = rng.choice(inl, 7, replace=False)
        out = np.empty((3, 3, 3))
        for r in range(_seven_point_kernel(s.x1[i], s.x2[i], out)):
            res = _sampson_kernel(out[r], s.x1[inl], s.x2[inl], np.empty(inl.size))
            if np.mean(res <= 1.0) >= 0.3:  # a root that LO would take to the consensus
                good += 1
                dropped += not _oriented_ok(out[r], np.ascontiguousarray(s.x1[i]),
                                            np.ascontiguousarray(s.x2[i]), 7)
    assert good > 100 and dropped == 0


# ----------------------------------------------------------------------------- the loop


def test_lo_brings_the_consensus_to_the_true_inliers_at_60_percent_outliers():
    s = synthetic_two_view_scene(600, seed=3, noise_px=0.5, outlier_fraction=0.6)
    est = _FundamentalEstimator(s.x1, s.x2)
    est.t2 = 1.0
    r, n_models = two_view_ransac(est, s.x1, s.x2, threshold_px=1.0, confidence=0.999,
                                  max_trials=10_000, rng=np.random.default_rng(0),
                                  delta0=_epipolar_chance(s.x2, 1.0))
    true_in = epipolar_distance(r.model, s.x1_true, s.x2_true) <= 1.0
    # at σ = 0.5 px about 95 % of the true matches lie within 1 px (√Sampson)
    assert r.inlier_mask[s.inlier_mask].mean() > 0.9
    assert r.inlier_mask[~s.inlier_mask].mean() < 0.02
    assert true_in[s.inlier_mask].mean() > 0.99
    # verified roots: those passing the oriented constraint, at most three per sample
    assert 0 < n_models <= 3 * (r.n_trials - r.n_degenerate)


def test_stopping_uses_the_lo_support():
    # 40 % outliers: the 7-point bound at the LO-refined ratio (~0.57) is ~500 trials
    # (1 - 0.999 confidence); at the raw minimal-sample support it would be far more
    s = synthetic_two_view_scene(800, seed=4, noise_px=0.5, outlier_fraction=0.4)
    est = _FundamentalEstimator(s.x1, s.x2)
    est.t2 = 1.0
    r, _ = two_view_ransac(est, s.x1, s.x2, threshold_px=1.0, confidence=0.999,
                           max_trials=10_000, rng=np.random.default_rng(1),
                           delta0=_epipolar_chance(s.x2, 1.0))
    w = r.inlier_mask.mean()
    bound = math.log(1e-3) / math.log1p(-(w**7) * (1 - 1 / 50.0))
    assert w > 0.55
    assert r.n_trials <= 1.6 * bound


@pytest.mark.parametrize("kind", [7, 5])
def test_lo_kernel_recovers_the_consensus_of_a_perturbed_model(kind):
    s = synthetic_two_view_scene(500, seed=6, noise_px=0.5, outlier_fraction=0.5)
    eye = np.eye(3)
    K1, K2 = (eye, eye) if kind == 7 else (s.K1, s.K2)
    Ki1, Ki2 = np.linalg.inv(K1), np.linalg.inv(K2)
    # a pose 0.5° off: the model sees only the part of its consensus near the epipoles
    R = rotation_from_axis_angle(np.radians(0.5) * np.array([0.6, 0.0, 0.8])) @ s.R
    start = fundamental_from_pose(R, s.t, K1=s.K1, K2=s.K2) if kind == 7 else skew(s.t) @ R
    start = start / np.linalg.norm(start)
    Fpix = start if kind == 7 else Ki2.T @ start @ Ki1
    res = epipolar_distance(Fpix, s.x1, s.x2)
    cost = float(np.minimum(res**2, 1.0).sum())
    out, out_res = np.empty((3, 3)), np.empty(len(s.x1))
    c = _lo_kernel(kind, s.x1, s.x2, K1, K2, Ki1, Ki2, 1.0, _LO_SCHEDULE, start, res, cost,
                   out, out_res)
    Fout = out if kind == 7 else Ki2.T @ out @ Ki1
    F_true = s.F if kind == 7 else Ki2.T @ s.E @ Ki1
    c_true = float(np.minimum(epipolar_distance(F_true, s.x1, s.x2) ** 2, 1.0).sum())
    assert cost > 1.2 * c_true  # the start sees only part of the consensus
    assert c < 1.01 * c_true  # LO+ reaches the cost of the true model (or below: noise fit)
    assert c == pytest.approx(float(np.minimum(out_res**2, 1.0).sum()), rel=1e-12)
    np.testing.assert_allclose(out_res, epipolar_distance(Fout, s.x1, s.x2), rtol=1e-9)
    assert (out_res <= 1.0)[s.inlier_mask].mean() > 0.9
    if kind == 5:  # on the essential manifold: singular values (1, 1, 0) / √2
        np.testing.assert_allclose(np.linalg.svd(out, compute_uv=False),
                                   [2**-0.5, 2**-0.5, 0.0], atol=1e-12)


# ----------------------------------------------------------------------------- dominant plane


def test_plane_samples():
    assert plane_samples(0.5) == 108  # log(1e-3) / log(1 - 1/16) = 107.03
    assert plane_samples(0.1) == 108  # a plane holding less than half is not sought
    assert plane_samples(0.9) == 7  # 6.47: 0.9^4 = 0.656
    assert plane_samples(1.0) == 1


@pytest.mark.parametrize("seed", [0, 1])
def test_dominant_plane_finds_the_plane_of_a_plane_dominated_scene(seed):
    s, on = _plane_scene(600, seed, 0.9, 0.3)
    H = dominant_plane(s.x1, s.x2, s.inlier_mask, 1.0, np.random.default_rng(seed))
    assert H is not None
    on_true = on & s.inlier_mask
    # on the true (noise-free) plane matches the transfer error is the fit error only
    err = _transfer(H, s.x1_true[on_true], s.x2_true[on_true])
    assert np.median(err) < 0.3
    # the generic RANSAC engine finds the same plane
    G = generic_dominant_plane(s.x1, s.x2, s.inlier_mask, 1.0, np.random.default_rng(seed))
    a = _transfer(H, s.x1, s.x2) <= 2.0
    b = _transfer(G, s.x1, s.x2) <= 2.0
    assert (a == b)[s.inlier_mask].mean() > 0.98


def test_dominant_plane_none_without_plane_or_with_few_inliers():
    s = synthetic_two_view_scene(400, seed=2, noise_px=0.5)
    assert dominant_plane(s.x1, s.x2, s.inlier_mask, 1.0, np.random.default_rng(0)) is None
    few = np.zeros(len(s.x1), dtype=bool)
    few[:7] = True
    assert dominant_plane(s.x1, s.x2, few, 1.0, np.random.default_rng(0)) is None
