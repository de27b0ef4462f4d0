"""Tests for cvgeo.geometry.epipolar (F, E, pose, triangulation, rectification).

The heavy sweeps (Hartley's error-vs-N curve, robust F at N=1000, timings) live in
benchmarks/bench_epipolar.py; these are their cheap versions.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvgeo import DegenerateError
from cvgeo.geometry import _common
from cvgeo.geometry import epipolar as ep
from cvgeo.geometry.camera import (
    correspondences_from_disparity,
    depth_from_disparity,
    intrinsic_matrix,
    projection_matrix,
    rotation_angle,
    rotation_from_axis_angle,
    synthetic_two_view_scene,
)
from cvgeo.geometry.epipolar import (
    correct_matches,
    decompose_essential,
    epipolar_distance,
    epipolar_lines,
    epipoles,
    essential_from_fundamental,
    find_fundamental,
    fundamental_7point,
    fundamental_8point,
    fundamental_from_pose,
    normalize_fundamental,
    recover_pose,
    rectify_uncalibrated,
    refine_fundamental,
    skew,
    triangulate_points,
)
from cvgeo.geometry.epipolar import kernels as ep_kernels
from cvgeo.geometry.epipolar import robust as ep_robust

try:  # only the tests marked requires_torch need it: the numpy tests run without it
    import torch
except ImportError:
    torch = None
requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

# skimage.data.stereo_motorcycle (Middlebury 2014, down-sampled 4x): its docstring
F_PX, CX, CY, DOFFS, BASELINE_MM = 994.978, 311.193, 254.877, 31.086, 193.001
K1_MOTO = intrinsic_matrix(F_PX, CX, CY)
K2_MOTO = intrinsic_matrix(F_PX, CX + DOFFS, CY)
F_MOTO = normalize_fundamental(np.array([[0.0, 0, 0], [0, 0, -1], [0, 1, 0]]))  # rectified


@pytest.fixture(scope="module")
def moto():
    import skimage.data

    left, right, disp = skimage.data.stereo_motorcycle()
    return left, right, disp


def _noisy(c, sigma, seed):
    rng = np.random.default_rng(seed)
    return (c.x1 + rng.normal(0, sigma, c.x1.shape), c.x2 + rng.normal(0, sigma, c.x2.shape))


def _same_up_to_sign(A, B, atol):
    return min(np.abs(A - B).max(), np.abs(A + B).max()) < atol


# ----------------------------------------------------------------------------- 8-point


def test_8point_exact_on_noise_free_scene():
    s = synthetic_two_view_scene(30, seed=0)
    F = fundamental_8point(s.x1, s.x2)
    np.testing.assert_allclose(F, s.F, atol=1e-9)
    assert abs(np.linalg.norm(F) - 1) < 1e-12
    assert np.linalg.svd(F, compute_uv=False)[2] < 1e-12
    assert F.flat[np.argmax(np.abs(F))] > 0  # sign rule
    np.testing.assert_array_equal(normalize_fundamental(-F), F)
    # ties (a rectified pair's F has two entries of equal magnitude) are broken too
    np.testing.assert_array_equal(normalize_fundamental(-F_MOTO), normalize_fundamental(F_MOTO))
    with pytest.raises(DegenerateError, match="normalize_fundamental: F must not be zero"):
        normalize_fundamental(np.zeros((3, 3)))


def test_8point_matches_cv2_on_motorcycle(moto):
    c = correspondences_from_disparity(moto[2], n_points=60, seed=0)
    x1, x2 = _noisy(c, 0.5, 1)
    F = fundamental_8point(x1, x2)
    Fc, _ = cv2.findFundamentalMat(x1, x2, cv2.FM_8POINT)
    assert _same_up_to_sign(F, Fc / np.linalg.norm(Fc), 1e-4)
    e_ours = np.mean(epipolar_distance(F, c.x1, c.x2, kind="symmetric"))
    e_cv2 = np.mean(epipolar_distance(Fc, c.x1, c.x2, kind="symmetric"))
    assert abs(e_ours - e_cv2) <= 0.01 * e_cv2


def test_8point_error_falls_with_n_on_motorcycle(moto):
    """Hartley's curve, cheap version: mean symmetric error at N=8 >> at N=150."""
    errs = {8: [], 150: []}
    for trial in range(5):
        for n in errs:
            c = correspondences_from_disparity(moto[2], n_points=n, seed=100 + trial)
            x1, x2 = _noisy(c, 0.5, trial)
            F = fundamental_8point(x1, x2)
            ref = correspondences_from_disparity(moto[2], n_points=2000, seed=7)
            errs[n].append(np.mean(epipolar_distance(F, ref.x1, ref.x2, kind="symmetric")))
    e8, e150 = np.median(errs[8]), np.median(errs[150])
    assert e8 > 0.5 and e150 < 0.3 and e8 > 5 * e150


@requires_torch
def test_8point_torch_batched_and_autograd():
    scenes = [synthetic_two_view_scene(20, seed=k, noise_px=0.3) for k in range(3)]
    X1 = np.stack([s.x1 for s in scenes])
    X2 = np.stack([s.x2 for s in scenes])
    Fb = fundamental_8point(X1, X2)
    for k in range(3):
        np.testing.assert_allclose(Fb[k], fundamental_8point(X1[k], X2[k]), atol=1e-12)
    t1 = torch.tensor(X1, requires_grad=True)
    Ft = fundamental_8point(t1, torch.tensor(X2))
    assert isinstance(Ft, torch.Tensor) and Ft.shape == (3, 3, 3)
    np.testing.assert_allclose(Ft.detach().numpy(), Fb, atol=1e-10)
    ep.epipolar_distance(Ft, t1, torch.tensor(X2)).sum().backward()
    assert t1.grad is not None and torch.isfinite(t1.grad).all()


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_8point_swapping_images_transposes_F(seed):
    s = synthetic_two_view_scene(15, seed=seed, noise_px=0.5)
    F12 = fundamental_8point(s.x1, s.x2)
    F21 = fundamental_8point(s.x2, s.x1)
    assert _same_up_to_sign(F21, F12.T, 1e-8)


def test_8point_errors():
    s = synthetic_two_view_scene(10, seed=0)
    with pytest.raises(DegenerateError, match="fundamental_8point: x1 must hold at least 8 "
                                              "points, got 7"):
        fundamental_8point(s.x1[:7], s.x2[:7])
    bad = s.x1.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="fundamental_8point: x1 must be finite"):
        fundamental_8point(bad, s.x2)
    with pytest.raises(ValueError, match="fundamental_8point: x1 and x2 must have the same shape"):
        fundamental_8point(s.x1, s.x2[:9])
    with pytest.raises(TypeError, match="fundamental_8point: x1 must be a numpy array or torch"):
        fundamental_8point(s.x1.tolist(), s.x2)
    p = synthetic_two_view_scene(30, seed=2, planar=True)
    with pytest.raises(DegenerateError, match="fundamental_8point: .*a homography explains"):
        fundamental_8point(p.x1, p.x2)


# ----------------------------------------------------------------------------- 7-point


@pytest.mark.parametrize("seed", range(6))
def test_7point_contains_truth_and_kernel_agrees(seed):
    s = synthetic_two_view_scene(7, seed=seed)
    sols = fundamental_7point(s.x1, s.x2)
    assert len(sols) in (1, 3)
    assert any(np.abs(F - s.F).max() < 1e-7 for F in sols)
    for F in sols:
        assert epipolar_distance(F, s.x1, s.x2).max() < 1e-6
        assert abs(np.linalg.det(F)) < 1e-12
    out = np.empty((3, 3, 3))
    k = ep_kernels._seven_point_kernel(s.x1.copy(), s.x2.copy(), out)
    fast = sorted(normalize_fundamental(out[i]).ravel().tolist() for i in range(k))
    ref = sorted(F.ravel().tolist() for F in sols)
    assert k == len(sols)
    np.testing.assert_allclose(fast, ref, atol=1e-7)


def test_7point_degenerate_and_errors():
    s = synthetic_two_view_scene(7, seed=0)
    x1 = s.x1.copy()
    x1[:] = x1[0]
    with pytest.raises(DegenerateError, match="hartley_normalize: points must not all coincide"):
        fundamental_7point(x1, s.x2)
    assert ep_kernels._seven_point_kernel(x1, s.x2.copy(), np.empty((3, 3, 3))) == 0
    with pytest.raises(DegenerateError, match="fundamental_7point: x1 and x2 must hold exactly 7 "
                                              "matches, got 8"):
        fundamental_7point(np.zeros((8, 2)), np.zeros((8, 2)))


def test_cubic_root_kernel_known_answers():
    roots = np.empty(3)
    k = ep_kernels._cubic_roots_kernel(1.0, -6.0, 11.0, -6.0, roots)  # (a-1)(a-2)(a-3)
    np.testing.assert_allclose(sorted(roots[:k]), [1, 2, 3], atol=1e-12)
    k = ep_kernels._cubic_roots_kernel(1.0, 0.0, 1.0, -2.0, roots)  # one real root: 1
    assert k == 1 and abs(roots[0] - 1) < 1e-12
    k = ep_kernels._cubic_roots_kernel(0.0, 1.0, -3.0, 2.0, roots)  # degree 2 + root at infinity
    assert k == 3 and np.isinf(roots[0]) and sorted(roots[1:3]) == pytest.approx([1, 2])


# ----------------------------------------------------------------- epipoles, lines, distances


def test_epipoles_and_lines():
    s = synthetic_two_view_scene(25, seed=3)
    e = epipoles(s.F)
    assert np.abs(s.F @ e.e1).max() < 1e-12 and np.abs(e.e2 @ s.F).max() < 1e-12
    # e1 is camera 2's centre seen by camera 1
    c2 = -s.R.T @ s.t
    proj = s.K1 @ c2
    np.testing.assert_allclose(e.e1[:2] / e.e1[2], proj[:2] / proj[2], rtol=1e-9)
    lines2 = epipolar_lines(s.F, s.x1, image=1)
    np.testing.assert_allclose(lines2[:, 0] ** 2 + lines2[:, 1] ** 2, 1.0, atol=1e-12)
    assert np.abs(np.sum(lines2[:, :2] * s.x2, axis=1) + lines2[:, 2]).max() < 1e-8
    lines1 = epipolar_lines(s.F, s.x2, image=2)
    assert np.abs(np.sum(lines1[:, :2] * s.x1, axis=1) + lines1[:, 2]).max() < 1e-8
    # every epipolar line of image 1 passes through e1
    assert np.abs(lines1 @ e.e1).max() < 1e-9
    # a rectified pair: epipoles at infinity along x, lines are rows
    em = epipoles(F_MOTO)
    np.testing.assert_allclose(np.abs(em.e1), [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(epipolar_lines(F_MOTO, np.array([[10.0, 7.0]])), [[0, 1, -7]],
                               atol=1e-12)
    with pytest.raises(ValueError, match="epipolar_lines: image must be 1 or 2, got 3"):
        epipolar_lines(s.F, s.x1, image=3)
    with pytest.raises(DegenerateError, match="epipolar_lines: points must not be the epipole"):
        epipolar_lines(s.F, (e.e1[:2] / e.e1[2])[None], image=1)


@requires_torch
def test_distances_known_answers_and_cv2():
    x1 = np.array([[5.0, 2.0], [1.0, 1.0]])
    x2 = np.array([[3.0, 2.5], [0.0, 0.0]])
    np.testing.assert_allclose(epipolar_distance(F_MOTO, x1, x2, kind="symmetric"), [0.5, 1.0])
    np.testing.assert_allclose(epipolar_distance(F_MOTO, x1, x2, kind="sampson"),
                               [0.5 / np.sqrt(2), 1 / np.sqrt(2)])
    np.testing.assert_allclose(epipolar_distance(F_MOTO, x1, x2, kind="sampson", squared=True),
                               [0.125, 0.5])
    np.testing.assert_allclose(epipolar_distance(10 * F_MOTO, x1, x2, kind="algebraic"),
                               [0.5 / np.sqrt(2), 1 / np.sqrt(2)])
    s = synthetic_two_view_scene(40, seed=5, noise_px=1.0)
    ours = epipolar_distance(s.F, s.x1, s.x2, squared=True)
    ref = [cv2.sampsonDistance(np.r_[a, 1.0], np.r_[b, 1.0], s.F) for a, b in zip(s.x1, s.x2)]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    sym = epipolar_distance(s.F, s.x1, s.x2, kind="symmetric")
    np.testing.assert_allclose(epipolar_distance(s.F, s.x1, s.x2, kind="symmetric",
                                                 squared=True), sym**2, rtol=1e-12)
    t = epipolar_distance(torch.tensor(s.F), torch.tensor(s.x1), torch.tensor(s.x2))
    np.testing.assert_allclose(t.numpy(), np.sqrt(ours), rtol=1e-12)
    with pytest.raises(ValueError, match="epipolar_distance: kind must be one of 'sampson', "
                                         "'symmetric', 'algebraic', got 'geometric'"):
        epipolar_distance(s.F, s.x1, s.x2, kind="geometric")
    with pytest.raises(TypeError, match="epipolar_distance: squared must be a bool"):
        epipolar_distance(s.F, s.x1, s.x2, squared=1)
    with pytest.raises(ValueError, match="epipolar_distance: F must have shape"):
        epipolar_distance(np.eye(4), s.x1, s.x2)


# ----------------------------------------------------------------------------- E and pose


@requires_torch
def test_essential_from_noisy_F_is_essential():
    s = synthetic_two_view_scene(50, seed=6, noise_px=1.0)
    F = fundamental_8point(s.x1, s.x2)
    E = essential_from_fundamental(F, K1=s.K1, K2=s.K2)
    sv = np.linalg.svd(E, compute_uv=False)
    assert abs(sv[0] - sv[1]) < 1e-9 and sv[2] < 1e-9 and abs(sv[0] - 1) < 1e-9
    Et = essential_from_fundamental(torch.tensor(F), K1=torch.tensor(s.K1), K2=torch.tensor(s.K2))
    np.testing.assert_allclose(Et.numpy(), E, atol=1e-12)


def test_decompose_essential_four_poses():
    s = synthetic_two_view_scene(10, seed=7)
    poses = decompose_essential(s.E)
    assert len(poses) == 4
    for p in poses:
        assert abs(np.linalg.det(p.R) - 1) < 1e-12
        np.testing.assert_allclose(p.R @ p.R.T, np.eye(3), atol=1e-12)
        assert _same_up_to_sign(skew(p.t) @ p.R, s.E, 1e-9)
    tn = s.t / np.linalg.norm(s.t)
    assert any(np.allclose(p.R, s.R) and np.allclose(p.t, tn) for p in poses)
    # sign of E does not matter
    assert any(np.allclose(p.R, s.R) and np.allclose(p.t, tn) for p in decompose_essential(-s.E))


def test_recover_pose_synthetic_exact_and_cv2():
    s = synthetic_two_view_scene(40, seed=8)
    E = essential_from_fundamental(s.F, K1=s.K1, K2=s.K2)
    pose = recover_pose(E, s.x1, s.x2, K1=s.K1, K2=s.K2)
    np.testing.assert_allclose(pose.R, s.R, atol=1e-9)
    np.testing.assert_allclose(pose.t, s.t / np.linalg.norm(s.t), atol=1e-9)
    assert pose.in_front.all() and sorted(pose.n_in_front)[-1] == 40
    _, Rc, tc, _ = cv2.recoverPose(E, s.x1, s.x2, s.K1)
    np.testing.assert_allclose(pose.R, Rc, atol=1e-6)
    np.testing.assert_allclose(pose.t, tc.ravel(), atol=1e-6)


def _pose_errors_deg(R, t, R_true, t_true):
    rot = np.degrees(float(rotation_angle(R.T @ R_true)))
    cosang = np.clip(t @ t_true / np.linalg.norm(t) / np.linalg.norm(t_true), -1, 1)
    return rot, np.degrees(np.arccos(cosang))


def test_recover_pose_motorcycle_rectified(moto):
    """R = I, t ∝ (-1, 0, 0): rotation ≤ 0.3°, direction ≤ 1.5° at σ = 0.5 px, N = 1000."""
    c = correspondences_from_disparity(moto[2], n_points=1000, seed=11)
    x1, x2 = _noisy(c, 0.5, 12)
    F = find_fundamental(x1, x2, method="8point").F
    E = essential_from_fundamental(F, K1=K1_MOTO, K2=K2_MOTO)
    pose = recover_pose(E, x1, x2, K1=K1_MOTO, K2=K2_MOTO)
    rot, tdir = _pose_errors_deg(pose.R, pose.t, np.eye(3), np.array([-1.0, 0, 0]))
    assert rot <= 0.3 and tdir <= 1.5
    assert pose.in_front.mean() > 0.99
    # the 5-parameter refinement (K known) is much tighter, even with a third of the matches
    few = slice(0, 1000, 3)  # 334 matches spread over the image (they are sorted by row)
    F3 = find_fundamental(x1[few], x2[few], method="8point").F
    E3 = essential_from_fundamental(F3, K1=K1_MOTO, K2=K2_MOTO)
    plain = recover_pose(E3, x1[few], x2[few], K1=K1_MOTO, K2=K2_MOTO, refine=False)
    fine = recover_pose(E3, x1[few], x2[few], K1=K1_MOTO, K2=K2_MOTO, refine=True)
    e_plain = _pose_errors_deg(plain.R, plain.t, np.eye(3), np.array([-1.0, 0, 0]))
    e_fine = _pose_errors_deg(fine.R, fine.t, np.eye(3), np.array([-1.0, 0, 0]))
    assert e_fine[0] <= 0.3 and e_fine[1] <= 1.5 and e_fine[1] < e_plain[1]
    assert abs(np.linalg.det(fine.R) - 1) < 1e-12 and abs(np.linalg.norm(fine.t) - 1) < 1e-12


def test_recover_pose_semi_synthetic_general_motion(moto):
    """Motorcycle's real 3-D points re-projected into a rotated and translated camera."""
    c = correspondences_from_disparity(moto[2], n_points=1000, seed=13)
    Z = depth_from_disparity(c.disparity, focal_px=F_PX, baseline=BASELINE_MM, doffs=DOFFS)
    X = np.c_[(c.x1 - [CX, CY]) * Z[:, None] / F_PX, Z]
    R = rotation_from_axis_angle(np.radians([2.0, -8.0, 3.0]))
    t = np.array([-150.0, 20.0, 40.0])
    s = synthetic_two_view_scene(points3d=X, R=R, t=t, K1=K1_MOTO, K2=K1_MOTO, seed=14,
                                 noise_px=0.5)
    F = find_fundamental(s.x1, s.x2, method="8point").F
    for refine in (False, True):
        pose = recover_pose(essential_from_fundamental(F, K1=s.K1, K2=s.K2), s.x1, s.x2,
                            K1=s.K1, K2=s.K2, refine=refine)
        rot, tdir = _pose_errors_deg(pose.R, pose.t, R, t)
        assert rot <= 0.3 and tdir <= 1.5


def test_recover_pose_errors():
    s = synthetic_two_view_scene(10, seed=0)
    with pytest.raises(TypeError, match="recover_pose: K1 must be a numpy array"):
        recover_pose(s.E, s.x1, s.x2, K1=None, K2=s.K2)
    with pytest.raises(ValueError, match="recover_pose: K2 must be an intrinsic matrix"):
        recover_pose(s.E, s.x1, s.x2, K1=s.K1, K2=np.ones((3, 3)))
    with pytest.raises(ValueError, match="recover_pose: x2 must be finite"):
        recover_pose(s.E, s.x1, np.full_like(s.x2, np.nan), K1=s.K1, K2=s.K2)


# ----------------------------------------------------------------------------- triangulation


@requires_torch
def test_triangulate_exact_cv2_and_torch():
    s = synthetic_two_view_scene(30, seed=9)
    P1 = projection_matrix(s.K1, np.eye(3), np.zeros(3))
    P2 = projection_matrix(s.K2, s.R, s.t)
    X = triangulate_points(s.x1, s.x2, P1, P2)
    np.testing.assert_allclose(X, s.points3d, rtol=1e-9)
    n = synthetic_two_view_scene(30, seed=9, noise_px=0.5)
    Xh = cv2.triangulatePoints(P1, P2, s.x1.T, s.x2.T)  # cv2 does not rescale the rows:
    np.testing.assert_allclose(X, (Xh[:3] / Xh[3]).T, rtol=1e-6)  # equal when noise-free
    Xh = cv2.triangulatePoints(P1, P2, n.x1.T, n.x2.T)
    np.testing.assert_allclose(triangulate_points(n.x1, n.x2, P1, P2), (Xh[:3] / Xh[3]).T,
                               rtol=0.01)
    Xt = triangulate_points(torch.tensor(s.x1), torch.tensor(s.x2), torch.tensor(P1),
                            torch.tensor(P2))
    np.testing.assert_allclose(Xt.numpy(), X, rtol=1e-9)
    # pure sideways translation, zero disparity: parallel rays meet at infinity; the
    # match is reported as a row of inf and its neighbour is triangulated as usual
    Pa = projection_matrix(np.eye(3), np.eye(3), np.zeros(3))
    Pb = projection_matrix(np.eye(3), np.eye(3), np.array([-1.0, 0.0, 0.0]))
    Xi = triangulate_points(np.array([[0.3, 0.2], [0.1, 0.05]]),
                            np.array([[0.3, 0.2], [-0.15, 0.05]]), Pa, Pb)
    assert np.isinf(Xi[0]).all()
    np.testing.assert_allclose(Xi[1], [0.4, 0.2, 4.0], rtol=1e-12)


def test_triangulated_depth_matches_disparity(moto):
    c = correspondences_from_disparity(moto[2], n_points=400, seed=15)
    P1 = projection_matrix(K1_MOTO, np.eye(3), np.zeros(3))
    P2 = projection_matrix(K2_MOTO, np.eye(3), np.array([-BASELINE_MM, 0.0, 0.0]))
    X = triangulate_points(c.x1, c.x2, P1, P2)
    Z = depth_from_disparity(c.disparity, focal_px=F_PX, baseline=BASELINE_MM, doffs=DOFFS)
    np.testing.assert_allclose(X[:, 2], Z, rtol=1e-9)


def test_correct_matches_agrees_with_cv2_and_is_exact():
    s = synthetic_two_view_scene(60, seed=10, noise_px=1.0)
    c = correct_matches(s.F, s.x1, s.x2)
    a, b = cv2.correctMatches(s.F, s.x1[None], s.x2[None])
    np.testing.assert_allclose(c.x1, a[0], atol=1e-6)
    np.testing.assert_allclose(c.x2, b[0], atol=1e-6)
    assert epipolar_distance(s.F, c.x1, c.x2).max() < 1e-8
    # the correction is no larger than the Sampson estimate suggests (first order)
    moved = np.sqrt(np.sum((c.x1 - s.x1) ** 2 + (c.x2 - s.x2) ** 2, axis=1))
    np.testing.assert_allclose(moved, epipolar_distance(s.F, s.x1, s.x2), rtol=0.05, atol=1e-3)
    # rectified pair (epipole at infinity): both rows meet at the mean y
    r = correct_matches(F_MOTO, np.array([[5.0, 2.0]]), np.array([[3.0, 3.0]]))
    np.testing.assert_allclose(r.x1, [[5.0, 2.5]], atol=1e-9)
    np.testing.assert_allclose(r.x2, [[3.0, 2.5]], atol=1e-9)


# ----------------------------------------------------------------------------- refinement, robust F


def test_refine_reduces_sampson_cost_and_keeps_rank2():
    s = synthetic_two_view_scene(80, seed=16, noise_px=1.0)
    F0 = fundamental_8point(s.x1, s.x2)
    F1 = refine_fundamental(F0, s.x1, s.x2)
    c0 = epipolar_distance(F0, s.x1, s.x2, squared=True).sum()
    c1 = epipolar_distance(F1, s.x1, s.x2, squared=True).sum()
    assert c1 < c0
    assert np.linalg.svd(F1, compute_uv=False)[2] < 1e-12
    with pytest.raises(DegenerateError, match="refine_fundamental: x1 and x2 must hold at least 8"):
        refine_fundamental(F0, s.x1[:7], s.x2[:7])


def test_find_fundamental_robust_synthetic():
    s = synthetic_two_view_scene(300, seed=17, noise_px=0.5, outlier_fraction=0.5)
    r = find_fundamental(s.x1, s.x2, threshold_px=1.0)
    assert r.F.shape == (3, 3) and r.n_trials > 0
    assert np.mean(r.inlier_mask[s.inlier_mask]) > 0.9
    assert np.mean(r.inlier_mask[~s.inlier_mask]) < 0.05
    err = np.median(epipolar_distance(r.F, s.x1_true[s.inlier_mask], s.x2_true[s.inlier_mask]))
    assert err < 0.15
    np.testing.assert_allclose(r.residuals, epipolar_distance(r.F, s.x1, s.x2), rtol=1e-9,
                               atol=1e-12)
    r2 = find_fundamental(s.x1, s.x2, threshold_px=1.0)
    np.testing.assert_array_equal(r.F, r2.F)  # seeded: reproducible


def test_find_fundamental_motorcycle_outliers(moto):
    c = correspondences_from_disparity(moto[2], n_points=300, seed=18)
    x1, x2 = _noisy(c, 0.5, 19)
    rng = np.random.default_rng(20)
    out = rng.random(300) < 0.4
    x2[out] = rng.uniform([0, 0], [740, 499], (out.sum(), 2))
    r = find_fundamental(x1, x2, threshold_px=1.0)
    # cheap version of the benchmark's N=1000 / 50 % case (there: median 0.05 px)
    assert np.median(epipolar_distance(r.F, c.x1[~out], c.x2[~out])) <= 0.2
    assert r.inlier_mask[out].mean() < 0.05 and r.inlier_mask[~out].mean() > 0.9


def test_score_batch_is_msac_cost_with_bailout():
    s = synthetic_two_view_scene(300, seed=21, noise_px=0.5, outlier_fraction=0.5)
    est = ep_robust._FundamentalEstimator(s.x1, s.x2)
    rng = np.random.default_rng(0)
    idx = np.stack([rng.choice(300, 7, replace=False) for _ in range(40)])
    models, valid = est.fit_minimal_batch(s.x1[idx], s.x2[idx])
    models = np.concatenate([models[valid], s.F[None]])
    ref = np.array([np.minimum(est.residuals(F, s.x1, s.x2) ** 2, 1.0).sum() for F in models])
    _, first = np.unique(ref, return_index=True)  # distinct costs (no ties to order)
    models, ref = models[first], ref[first]
    # worst first: each model beats every earlier one, so every cost comes back exactly
    down = np.argsort(-ref)
    full = est.score_batch(models[down], s.x1, s.x2, threshold_px=1.0, bound=np.inf)
    np.testing.assert_allclose(full, ref[down], rtol=1e-9)
    # best first: no later model can be kept (the replay keeps the first), all are cut
    up = np.argsort(ref)
    cut = est.score_batch(models[up], s.x1, s.x2, threshold_px=1.0, bound=np.inf)
    assert cut[0] == pytest.approx(ref[up[0]], rel=1e-9) and np.isinf(cut[1:]).all()
    # a bound: nothing at or above it survives; what survives is exact
    srt = np.sort(ref)
    bound = float(srt[len(srt) // 2] + srt[len(srt) // 2 - 1]) / 2  # between two costs
    cut = est.score_batch(models[down], s.x1, s.x2, threshold_px=1.0, bound=bound)
    keep = ref[down] < bound
    np.testing.assert_array_equal(np.isinf(cut), ~keep)
    np.testing.assert_allclose(cut[keep], ref[down][keep], rtol=1e-9)
    # the preliminary test runs on the subset first: with a subset of outliers only, even
    # the true F (full cost below the bound) is judged hopeless there and dropped
    X = ep_kernels._soa(s.x1, s.x2)
    true_cost = np.minimum(est.residuals(s.F, s.x1, s.x2) ** 2, 1.0).sum()
    out = ~s.inlier_mask
    for sub, expect_inf in ((est.sub, False), (ep_kernels._soa(s.x1[out], s.x2[out]), True)):
        got = ep_kernels._score_batch_kernel(s.F[None].copy(), X, sub, 1.0, 1.01 * true_cost,
                                     np.empty(1))
        assert np.isinf(got[0]) == expect_inf


def test_estimator_batch_matches_single_and_lean_8point():
    s = synthetic_two_view_scene(100, seed=22, noise_px=0.5)
    est = ep_robust._FundamentalEstimator(s.x1, s.x2)
    rng = np.random.default_rng(0)
    idx = np.stack([rng.choice(100, 7, replace=False) for _ in range(10)])
    models, valid = est.fit_minimal_batch(s.x1[idx], s.x2[idx])
    assert valid.all()
    for b in range(10):
        singles = est.fit_minimal(s.x1[idx[b]], s.x2[idx[b]])
        assert any(np.allclose(models[b], F) for F in singles)
    np.testing.assert_allclose(est.fit(s.x1, s.x2), fundamental_8point(s.x1, s.x2), atol=1e-8)
    with pytest.raises(DegenerateError, match="fundamental_8point: x1 must hold at least 8"):
        est.fit(s.x1[:7], s.x2[:7])


def test_find_fundamental_errors():
    s = synthetic_two_view_scene(40, seed=23)
    with pytest.raises(DegenerateError, match="find_fundamental: x1 and x2 must hold at least 7 "
                                              "matches, got 6"):
        find_fundamental(s.x1[:6], s.x2[:6])
    with pytest.raises(ValueError,
                       match=r"find_fundamental: threshold_px must be in \(0.0, 1000000000000.0\]"):
        find_fundamental(s.x1, s.x2, threshold_px=0.0)
    with pytest.raises(ValueError, match="find_fundamental: method must be one of"):
        find_fundamental(s.x1, s.x2, method="lmeds")
    bad = s.x2.copy()
    bad[0, 1] = np.inf
    with pytest.raises(ValueError, match="find_fundamental: x2 must be finite"):
        find_fundamental(s.x1, bad)
    with pytest.raises(ValueError, match="find_fundamental: x1 and x2 must have the same number"):
        find_fundamental(s.x1, s.x2[:20])
    p = synthetic_two_view_scene(100, seed=24, planar=True, noise_px=0.3)
    with pytest.raises(DegenerateError, match="find_fundamental: the matches must not all fit one "
                                              "homography"):
        find_fundamental(p.x1, p.x2, threshold_px=1.0)


# ----------------------------------------------------------------------------- rectification


def _rows(H, x):
    h = np.c_[x, np.ones(len(x))] @ H.T
    return h[:, :2] / h[:, 2:]


def test_rectify_synthetic_aligns_rows():
    s = synthetic_two_view_scene(80, seed=25, rotation=np.radians(6), noise_px=0.0)
    r = rectify_uncalibrated(s.F, s.x1, s.x2, image_size=s.image_size)
    a, b = _rows(r.H1, s.x1), _rows(r.H2, s.x2)
    assert np.abs(a[:, 1] - b[:, 1]).max() < 1e-6
    # the rectified F is the rectified-pair F (rows are epipolar lines)
    Fr = np.linalg.inv(r.H2).T @ s.F @ np.linalg.inv(r.H1)
    assert _same_up_to_sign(normalize_fundamental(Fr), F_MOTO, 1e-6)
    # both images land on the canvas, not mirrored
    corners = np.array([[0, 0], [639, 0], [0, 479], [639, 479]], float)
    for H in (r.H1, r.H2):
        c = _rows(H, corners)
        assert c.min() > -1.0 and c[:, 0].max() < 640 and c[:, 1].max() < 480
        assert c[1, 0] > c[0, 0] and c[2, 1] > c[0, 1]


def test_rectify_rectified_pair_is_near_identity(moto):
    c = correspondences_from_disparity(moto[2], n_points=200, seed=26)
    r = rectify_uncalibrated(F_MOTO, c.x1, c.x2, image_size=moto[2].shape)
    a, b = _rows(r.H1, c.x1), _rows(r.H2, c.x2)
    assert np.abs(a[:, 1] - b[:, 1]).max() < 1e-6
    A = r.H2 / r.H2[2, 2]
    assert abs(A[1, 0]) < 1e-6 and abs(A[2, 0]) < 1e-9 and A[0, 0] > 0 and A[1, 1] > 0


def test_rectify_errors():
    s = synthetic_two_view_scene(20, seed=27)
    F = fundamental_from_pose(np.eye(3), np.array([0.0, 0.0, 1.0]), K1=s.K1, K2=s.K2)
    with pytest.raises(DegenerateError, match="rectify_uncalibrated: the epipole of image 2 must "
                                              "lie outside the image"):
        rectify_uncalibrated(F, s.x1, s.x2, image_size=(480, 640))
    with pytest.raises(ValueError, match="rectify_uncalibrated: image_size must be a pair"):
        rectify_uncalibrated(s.F, s.x1, s.x2, image_size=640)


def test_unit_sign_numpy_fast_path_matches_array_api_path():
    import array_api_compat.numpy as xnp

    rng = np.random.default_rng(5)
    cases = [rng.normal(size=(3, 3)) for _ in range(20)]
    cases.append(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]))  # a tie
    for F in cases:
        for G in (F, -F, 3.0 * F):
            fast = _common._unit_sign(G, np)
            generic = _common._unit_sign(G[None], xnp)[0]  # batched input takes the generic path
            # Both divide by a 9-term Frobenius norm summed in different orders: each
            # entry (|entry| <= 1) may differ by ~9 eps, so 16 eps, not a bare 1e-15.
            np.testing.assert_allclose(fast, generic, rtol=0, atol=16 * np.finfo(float).eps)
            assert np.linalg.norm(fast) == pytest.approx(1.0)
        np.testing.assert_array_equal(_common._unit_sign(F, np), _common._unit_sign(-F, np))
