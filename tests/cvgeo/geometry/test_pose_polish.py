"""The compiled Sampson polish of a relative pose against the numpy one it replaces."""

import numpy as np
import pytest

from cvgeo.geometry._pose_polish import _residuals, polish_pose, refine_pose
from cvgeo.geometry.camera import rotation_angle, synthetic_two_view_scene
from cvgeo.geometry.essential import _EssentialEstimator, find_essential
from tests.cvgeo.geometry._pose_reference import polish_pose_numpy, refine_pose_numpy


def _start(seed, outliers):
    s = synthetic_two_view_scene(400, seed=seed, noise_px=1.0, outlier_fraction=outliers)
    r = find_essential(s.x1, s.x2, K1=s.K1, threshold_px=2.0, refine=False)
    return s, r.R, r.t


@pytest.mark.parametrize("weighted", [False, True])
def test_refine_pose_matches_the_numpy_levenberg_marquardt(weighted):
    s, R, t = _start(0, 0.0)
    w = np.random.default_rng(0).uniform(0.2, 1.0, len(s.x1)) if weighted else None
    Ra, ta = refine_pose_numpy(R, t, s.x1, s.x2, s.K1, s.K2, 10, w)
    Rb, tb = refine_pose(R, t, s.x1, s.x2, s.K1, s.K2, 10, w)
    # same iterations, same accept/reject decisions: equal up to rounding
    assert float(rotation_angle(Ra.T @ Rb)) < 1e-9
    assert np.linalg.norm(ta - tb) < 1e-9
    assert abs(np.linalg.det(Rb) - 1.0) < 1e-12 and abs(np.linalg.norm(tb) - 1.0) < 1e-12


def test_refine_pose_lowers_the_sampson_error_to_the_truth_level():
    s, R, t = _start(1, 0.0)
    Ki1, Ki2 = np.linalg.inv(s.K1), np.linalg.inv(s.K2)
    ones = np.ones(len(s.x1))
    r = np.empty(len(s.x1))
    G = np.empty((len(s.x1), 9))

    def cost(Rm, tv):
        F = Ki2.T @ np.cross(tv, Rm.T).T @ Ki1  # [t]x R, column by column
        return _residuals(F, s.x1, s.x2, ones, r, G, False)

    Rb, tb = refine_pose(R, t, s.x1, s.x2, s.K1, s.K2, 20)
    c_true = cost(s.R, s.t / np.linalg.norm(s.t))
    assert cost(Rb, tb) <= cost(R, t)
    assert cost(Rb, tb) <= c_true  # the least-squares optimum fits the noise at least as well


@pytest.mark.parametrize("seed,outliers", [(2, 0.5), (3, 0.7)])
def test_polish_pose_matches_the_numpy_polish(seed, outliers):
    s, R, t = _start(seed, outliers)
    Ki1, Ki2 = np.linalg.inv(s.K1), np.linalg.inv(s.K2)
    est = _EssentialEstimator(s.x1, s.x2, Ki1, Ki2, 2.0)
    Ra, ta = polish_pose_numpy(est, R, t, s.x1, s.x2, s.K1, s.K2, 2.0, 20)
    Rb, tb = polish_pose(est, R, t, s.x1, s.x2, s.K1, s.K2, 2.0, 20)
    assert float(rotation_angle(Ra.T @ Rb)) < 1e-8
    assert np.linalg.norm(ta - tb) < 1e-8
    assert np.degrees(float(rotation_angle(Rb.T @ s.R))) < 0.5
