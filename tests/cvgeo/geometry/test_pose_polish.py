"""The compiled Sampson polish of a relative pose against the numpy one it replaces."""

import numpy as np
import pytest

from cvgeo.geometry._pose_polish import _residuals, _tukey_weigh, polish_pose, refine_pose
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


def test_tukey_weigh_known_values():
    r = np.array([0.0, 1.0, -1.0, 2.0, 3.0])
    G = np.ones((5, 9))
    sw = np.empty(5)
    cost = _tukey_weigh(r, G, 2.0, sw)
    # rho = c^2/6 (1 - (1 - u)^3), u = (r/c)^2, c = 2: 0, 37/96, 37/96, 2/3, 2/3
    assert cost == pytest.approx(37.0 / 48.0 + 4.0 / 3.0, abs=1e-14)
    # sqrt of the IRLS weight rho'(r)/r = (1 - u)^2: 1, 3/4, 3/4, 0, 0
    np.testing.assert_allclose(sw, [1.0, 0.75, 0.75, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(r, [0.0, 0.75, -0.75, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(G[:, 0], sw, atol=1e-15)


def test_refine_pose_tukey_of_huge_scale_is_least_squares():
    s, R, t = _start(4, 0.0)
    Ra, ta = refine_pose(R, t, s.x1, s.x2, s.K1, s.K2, 20)
    Rb, tb = refine_pose(R, t, s.x1, s.x2, s.K1, s.K2, 20, tukey=1e4)
    # weights (1 - (r/c)^2)^2 differ from 1 by ~1e-7 at r <= 3 px: the same optimum
    assert float(rotation_angle(Ra.T @ Rb)) < 1e-7
    assert np.linalg.norm(ta - tb) < 1e-7


def test_refine_pose_tukey_ignores_the_outliers_of_all_matches():
    s, R, t = _start(5, 0.6)
    Ki1, Ki2 = np.linalg.inv(s.K1), np.linalg.inv(s.K2)
    est = _EssentialEstimator(s.x1, s.x2, Ki1, Ki2, 2.0)
    m = s.inlier_mask

    def err(Rm, tv):
        return np.degrees(float(rotation_angle(Rm.T @ s.R))), np.degrees(
            np.arccos(min(1.0, abs(float(tv @ s.t)) / np.linalg.norm(s.t))))

    def tukey_cost(Rm, tv):
        res = est.residuals(np.cross(tv, Rm.T).T, s.x1, s.x2)
        return _tukey_weigh(res, np.empty((0, 9)), 5.0, np.empty(len(res)))

    Rt, tt = refine_pose(R, t, s.x1, s.x2, s.K1, s.K2, 20, tukey=5.0)
    Rl, tl = refine_pose(R, t, s.x1, s.x2, s.K1, s.K2, 20)  # least squares, outliers in
    Ro, to = refine_pose(R, t, s.x1[m], s.x2[m], s.K1, s.K2, 20)  # the true inliers only
    assert tukey_cost(Rt, tt) <= tukey_cost(R, t)
    assert abs(np.linalg.det(Rt) - 1.0) < 1e-12 and abs(np.linalg.norm(tt) - 1.0) < 1e-12
    # the robust fit lands beside the fit of the true inliers, within the ~0.1° (rotation)
    # and ~1° (translation direction) noise of 160 inliers at 1 px; least squares on
    # all matches is pulled degrees away by the 60 % outliers
    assert float(rotation_angle(Rt.T @ Ro)) < np.radians(0.1)
    assert err(Rt, tt)[0] < 0.2 and err(Rt, tt)[1] < 1.0
    assert err(Rl, tl)[0] > 1.0


def test_refine_pose_tukey_refuses_weights():
    s, R, t = _start(0, 0.0)
    with pytest.raises(ValueError, match="refine_pose: weights must be None"):
        refine_pose(R, t, s.x1, s.x2, s.K1, s.K2, 5, np.ones(len(s.x1)), tukey=2.0)
