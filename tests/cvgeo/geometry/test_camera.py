"""Tests for cvgeo.geometry.camera: intrinsics, projection, rotations, stereo data, scenes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvgeo
from cvgeo import DegenerateError
from cvgeo.geometry.camera import (
    correspondences_from_disparity,
    depth_from_disparity,
    intrinsic_matrix,
    project,
    projection_matrix,
    rotation_angle,
    rotation_from_axis_angle,
    synthetic_two_view_scene,
)
from cvgeo.geometry.epipolar import epipolar_distance

try:  # only the tests marked requires_torch need it: the numpy tests run without it
    import torch
except ImportError:
    torch = None
requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def test_intrinsic_matrix_known_answer():
    K = intrinsic_matrix(500.0, 320.0, 240.0, fy=510.0, skew=1.5)
    np.testing.assert_array_equal(K, [[500.0, 1.5, 320.0], [0.0, 510.0, 240.0], [0, 0, 1]])
    assert K.dtype == np.float64


@pytest.mark.parametrize("bad, exc, msg", [
    (0.0, ValueError, "intrinsic_matrix: focal_px must be > 0"),
    (-3.0, ValueError, "intrinsic_matrix: focal_px must be > 0"),
    (float("nan"), ValueError, "intrinsic_matrix: focal_px must be a finite number"),
    ("800", TypeError, "intrinsic_matrix: focal_px must be a real number"),
])
def test_intrinsic_matrix_errors(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        intrinsic_matrix(bad, 0.0, 0.0)


@requires_torch
def test_project_known_answer_and_torch():
    K = intrinsic_matrix(100.0, 50.0, 40.0)
    R = rotation_from_axis_angle(np.array([0.0, 0.0, np.pi / 2]))  # x -> y
    P = projection_matrix(K, R, np.array([0.0, 0.0, 1.0]))
    X = np.array([[1.0, 0.0, 9.0], [0.0, 0.0, 4.0]])
    # R X + t = (0, 1, 10) and (0, 0, 5)
    np.testing.assert_allclose(project(X, P), [[50.0, 50.0], [50.0, 40.0]], atol=1e-12)
    Pt = projection_matrix(torch.tensor(K), torch.tensor(R), torch.tensor([0.0, 0.0, 1.0],
                                                                           dtype=torch.float64))
    out = project(torch.tensor(X), Pt)
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), [[50.0, 50.0], [50.0, 40.0]], atol=1e-12)


def test_project_errors():
    P = projection_matrix(np.eye(3), np.eye(3), np.zeros(3))
    with pytest.raises(DegenerateError, match="project: points3d must not lie on the camera's "
                                              "principal plane"):
        project(np.array([[1.0, 2.0, 0.0]]), P)
    with pytest.raises(ValueError, match="project: P must have shape"):
        project(np.ones((2, 3)), np.eye(3))
    with pytest.raises(ValueError, match="project: points3d must be finite"):
        project(np.array([[np.nan, 0.0, 1.0]]), P)
    with pytest.raises(TypeError, match="projection_matrix: K must be a numpy array"):
        projection_matrix([[1, 0, 0]], np.eye(3), np.zeros(3))


def test_rotation_matches_scipy_and_is_proper():
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(0)
    rv = rng.normal(size=(20, 3))
    R = rotation_from_axis_angle(rv)
    np.testing.assert_allclose(R, Rotation.from_rotvec(rv).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape),
                               atol=1e-12)
    np.testing.assert_array_equal(rotation_from_axis_angle(np.zeros(3)), np.eye(3))


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, np.pi - 1e-3), st.tuples(*[st.floats(-1, 1)] * 3))
def test_rotation_angle_round_trip(angle, axis):
    axis = np.asarray(axis)
    if np.linalg.norm(axis) < 1e-3:
        axis = np.array([0.0, 0.0, 1.0])
    R = rotation_from_axis_angle(axis / np.linalg.norm(axis) * angle)
    assert abs(float(rotation_angle(R)) - angle) < 1e-9


def test_correspondences_from_disparity_convention():
    d = np.array([[np.nan, 2.0, np.inf], [1.5, 0.0, 3.0]], dtype=np.float32)
    c = correspondences_from_disparity(d)
    np.testing.assert_array_equal(c.x1, [[1, 0], [0, 1], [1, 1], [2, 1]])
    np.testing.assert_array_equal(c.x2, [[-1, 0], [-1.5, 1], [1, 1], [-1, 1]])
    np.testing.assert_array_equal(c.disparity, [2.0, 1.5, 0.0, 3.0])
    sub = correspondences_from_disparity(d, n_points=2, seed=3)
    assert sub.x1.shape == (2, 2)
    with pytest.raises(DegenerateError, match="correspondences_from_disparity: disparity must "
                                              "have at least n_points=5 finite values, got 4"):
        correspondences_from_disparity(d, n_points=5)
    with pytest.raises(ValueError, match="correspondences_from_disparity: disparity must have "
                                         "shape"):
        correspondences_from_disparity(np.zeros(3))


def test_motorcycle_disparity_means_right_is_left_shifted():
    """x2 = x1 - d: the right image at (x - d, y) looks like the left at (x, y)."""
    import skimage.data

    left, right, disp = skimage.data.stereo_motorcycle()
    c = correspondences_from_disparity(disp, n_points=3000, seed=0)
    g1, g2 = left.mean(axis=2), right.mean(axis=2)
    y = c.x1[:, 1].astype(int)
    x = c.x1[:, 0].astype(int)
    minus = np.round(c.x2[:, 0]).astype(int)
    plus = np.round(c.x1[:, 0] + c.disparity).astype(int)
    ok = (minus >= 0) & (plus < g1.shape[1])
    err_minus = np.abs(g1[y[ok], x[ok]] - g2[y[ok], minus[ok]]).mean()
    err_plus = np.abs(g1[y[ok], x[ok]] - g2[y[ok], plus[ok]]).mean()
    assert err_minus < 10 and err_plus > 3 * err_minus


def test_depth_from_disparity():
    z = depth_from_disparity(np.array([10.0, 0.0]), focal_px=100.0, baseline=0.5, doffs=2.0)
    np.testing.assert_allclose(z, [50.0 / 12.0, 25.0])
    with pytest.raises(ValueError, match="depth_from_disparity: baseline must be > 0"):
        depth_from_disparity(np.ones(2), focal_px=1.0, baseline=0.0)


def test_synthetic_scene_is_consistent_and_reproducible():
    s = synthetic_two_view_scene(60, seed=4, noise_px=0.0, outlier_fraction=0.25)
    s2 = synthetic_two_view_scene(60, seed=4, noise_px=0.0, outlier_fraction=0.25)
    np.testing.assert_array_equal(s.x2, s2.x2)
    assert s.inlier_mask.sum() == 45
    # true points satisfy F exactly, outliers do not
    d = epipolar_distance(s.F, s.x1_true, s.x2_true)
    assert d.max() < 1e-9
    assert np.median(epipolar_distance(s.F, s.x1, s.x2)[~s.inlier_mask]) > 5
    # F, E and the pose agree: F ~ K2^-T [t]x R K1^-1
    Kinv1, Kinv2 = np.linalg.inv(s.K1), np.linalg.inv(s.K2)
    F = Kinv2.T @ s.E @ Kinv1
    F /= np.linalg.norm(F)
    assert min(np.abs(F - s.F).max(), np.abs(F + s.F).max()) < 1e-12
    np.testing.assert_allclose(np.linalg.svd(s.E, compute_uv=False), [1, 1, 0], atol=1e-12)
    # all points in front of both cameras
    assert (s.points3d[:, 2] > 0).all() and ((s.points3d @ s.R.T + s.t)[:, 2] > 0).all()


def test_synthetic_scene_planar_and_given_points():
    s = synthetic_two_view_scene(30, seed=1, planar=True)
    n = np.array([0.2, -0.3, 1.0])
    dist = s.points3d @ n
    assert np.ptp(dist) < 1e-9  # one plane
    X = np.array([[0.0, 0.0, 5.0], [1.0, 1.0, 6.0]])
    g = synthetic_two_view_scene(points3d=X, R=np.eye(3), t=np.array([-1.0, 0, 0]), seed=0)
    np.testing.assert_array_equal(g.points3d, X)
    with pytest.raises(DegenerateError, match="synthetic_two_view_scene: points3d must lie in "
                                              "front of both cameras"):
        synthetic_two_view_scene(points3d=np.array([[0.0, 0.0, -1.0]]))
    with pytest.raises(ValueError, match="synthetic_two_view_scene: outlier_fraction must be"):
        synthetic_two_view_scene(10, outlier_fraction=1.5)


def test_rotation_in_radians_and_rotation_deg_deprecated():
    """synthetic_two_view_scene(rotation=) is radians; the former rotation_deg (degrees)
    gives the same scene for one release, with a DeprecationWarning."""
    a = cvgeo.synthetic_two_view_scene(30, seed=3, rotation=np.deg2rad(6.0))
    with pytest.warns(DeprecationWarning, match="synthetic_two_view_scene: the keyword "
                                                "'rotation_deg' is deprecated.*'rotation'"):
        b = cvgeo.synthetic_two_view_scene(30, seed=3, rotation_deg=6.0)
    np.testing.assert_array_equal(a.x2, b.x2)
    assert cvgeo.rotation_angle(a.R) == pytest.approx(np.deg2rad(6.0), abs=1e-12)
    with pytest.raises(TypeError, match="got both 'rotation_deg' and its new name"):
        cvgeo.synthetic_two_view_scene(30, rotation=0.1, rotation_deg=6.0)
