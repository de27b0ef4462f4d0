"""The geometry modules' layout and names: old import paths, renamed keywords, keyword-only
intrinsics, and the field scheme of robust results."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import warnings

import numpy as np
import pytest

import cvgeo
from cvgeo.datasets import synthetic_two_view_scene
from cvgeo.geometry.epipolar import (
    essential_from_fundamental,
    find_fundamental,
    fundamental_8point,
    fundamental_from_essential,
    recover_pose,
    refine_fundamental,
)
from cvgeo.geometry.essential import find_essential
from cvgeo.geometry.homography import HomographyResult, find_homography
from cvgeo.geometry.ransac import RansacResult


@pytest.fixture(scope="module")
def scene():
    return synthetic_two_view_scene(60, seed=4, noise_px=0.3)


@pytest.mark.parametrize("module, names", [
    ("cvgeo.geometry.ransac", ["HomographyEstimator", "find_homography", "RansacResult",
                               "ransac", "required_trials"]),
    ("cvgeo.geometry.camera", ["synthetic_two_view_scene", "TwoViewScene",
                               "MAX_SCENE_POINTS", "intrinsic_matrix"]),
    ("cvgeo.geometry.epipolar", ["find_fundamental", "refine_fundamental", "skew",
                                 "rectify_uncalibrated", "_seven_point_core"]),
    ("cvgeo.geometry", ["find_homography", "synthetic_two_view_scene", "TwoViewScene",
                        "find_fundamental", "find_essential"]),
])
def test_old_import_paths_give_the_same_objects(module, names):
    mod = importlib.import_module(module)
    for name in names:
        obj = getattr(mod, name)
        public = getattr(cvgeo, name, None)
        assert public is None or public is obj, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mod.nope  # noqa: B018


def test_old_home_of_the_homography_is_the_new_one():
    from cvgeo.geometry import homography
    from cvgeo.geometry.ransac import HomographyEstimator
    from cvgeo.geometry.ransac import find_homography as old

    assert old is homography.find_homography is cvgeo.find_homography
    assert HomographyEstimator is homography.HomographyEstimator


def test_camera_and_epipolar_import_without_a_cycle():
    """Each module imports on its own, first, in a fresh interpreter."""
    for mod in ("cvgeo.geometry.camera", "cvgeo.geometry.epipolar.robust", "cvgeo.datasets",
                "cvgeo.geometry.degeneracy"):
        out = subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True,
                             text=True)
        assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("fn, args", [
    ("refine_fundamental", "F"), ("recover_pose", "E"), ("find_essential", "x")])
def test_max_iterations_still_works_with_a_warning(scene, fn, args):
    s = scene
    call = {
        "refine_fundamental": lambda **kw: refine_fundamental(
            fundamental_8point(s.x1, s.x2), s.x1, s.x2, **kw),
        "recover_pose": lambda **kw: recover_pose(s.E, s.x1, s.x2, K1=s.K1, K2=s.K2, **kw).R,
        "find_essential": lambda **kw: find_essential(s.x1, s.x2, K1=s.K1, K2=s.K2,
                                                      threshold_px=1.0, **kw).E,
    }[fn]
    new = call(max_iter=3)
    with pytest.warns(DeprecationWarning, match=f"{fn}: the keyword 'max_iterations' is "
                                                "deprecated.*use 'max_iter'"):
        old = call(max_iterations=3)
    np.testing.assert_array_equal(old, new)
    with pytest.raises(TypeError, match=f"{fn}: got both 'max_iterations'"):
        call(max_iter=3, max_iterations=3)
    assert "max_iter" in inspect.signature(globals()[fn]).parameters
    assert "max_iterations" not in inspect.signature(globals()[fn]).parameters


@pytest.mark.parametrize("fn", [fundamental_from_essential, essential_from_fundamental,
                                recover_pose])
def test_intrinsics_are_keyword_only(fn):
    params = inspect.signature(fn).parameters
    assert params["K1"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["K2"].kind is inspect.Parameter.KEYWORD_ONLY


def test_every_epipolar_function_takes_intrinsics_by_keyword_only():
    from cvgeo import datasets
    from cvgeo.geometry import epipolar, essential

    seen = 0
    for mod in (epipolar, essential, datasets):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                for p in inspect.signature(obj).parameters.values():
                    if p.name in ("K1", "K2"):
                        seen += 1
                        assert p.kind is p.KEYWORD_ONLY, f"{name}({p.name})"
    # fundamental_from_essential/_pose, essential_from_fundamental, recover_pose,
    # find_essential, synthetic_two_view_scene: K1 and K2 each
    assert seen == 12


def test_positional_intrinsics_still_work_for_one_release(scene):
    s = scene
    E = essential_from_fundamental(s.F, K1=s.K1, K2=s.K2)
    with pytest.warns(DeprecationWarning, match="essential_from_fundamental: passing K1, K2 by "
                                                "position is deprecated"):
        np.testing.assert_array_equal(essential_from_fundamental(s.F, s.K1, s.K2), E)
    F = fundamental_from_essential(s.E, K1=s.K1, K2=s.K2)
    with pytest.warns(DeprecationWarning, match="fundamental_from_essential: passing K1, K2"):
        np.testing.assert_array_equal(fundamental_from_essential(s.E, s.K1, s.K2), F)
    np.testing.assert_allclose(F, s.F, atol=1e-12)
    pose = recover_pose(s.E, s.x1, s.x2, K1=s.K1, K2=s.K2, refine=False)
    with pytest.warns(DeprecationWarning, match="recover_pose: passing K1, K2 by position"):
        old = recover_pose(s.E, s.x1, s.x2, s.K1, s.K2, refine=False)
    np.testing.assert_array_equal(old.R, pose.R)
    with pytest.warns(DeprecationWarning, match="passing K1 by position"):
        old = recover_pose(s.E, s.x1, s.x2, s.K1, K2=s.K2, refine=False)
    np.testing.assert_array_equal(old.t, pose.t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(TypeError, match="recover_pose: got 'K1' both by position and by"):
            recover_pose(s.E, s.x1, s.x2, s.K1, K1=s.K1, K2=s.K2)
    with pytest.raises(TypeError, match="essential_from_fundamental: takes 1 positional "
                                        "arguments, got 4"):
        essential_from_fundamental(s.F, s.K1, s.K2, s.K2)


def test_every_robust_result_has_model_and_its_concept_name(scene):
    s = synthetic_two_view_scene(120, seed=5, noise_px=0.3, outlier_fraction=0.2)
    rf = find_fundamental(s.x1, s.x2, threshold_px=1.5)
    assert rf.model is rf.F
    re_ = find_essential(s.x1, s.x2, K1=s.K1, K2=s.K2, threshold_px=1.5)
    assert re_.model is re_.E
    rh = find_homography(s.x1, s.x1 + [3.0, -2.0], threshold_px=1.0)
    assert isinstance(rh, HomographyResult) and isinstance(rh, RansacResult)
    assert rh.H is rh.model
    np.testing.assert_allclose(rh.H[:2, 2] / rh.H[2, 2], [3.0, -2.0], atol=1e-9)
    for r in (rf, re_, rh):
        assert r.inlier_mask.shape == r.residuals.shape == (len(s.x1),)
        assert r.n_inliers == int(r.inlier_mask.sum())
        assert r.n_trials >= 1 and 0 <= r.n_degenerate
    with pytest.raises(AttributeError):  # frozen: the alias is read-only
        rf.model = np.eye(3)


# --------------------------------------------------------------------------- twins agree
# Each of these is written once per form: a numba kernel for the compiled loops and an
# array-API (numpy/torch) function for the public API. The pairs must give the same numbers.


def _matches(n, seed):
    s = synthetic_two_view_scene(n, seed=seed, noise_px=1.0, outlier_fraction=0.3)
    return s.F, s.x1, s.x2


@pytest.mark.parametrize("seed", range(4))
def test_hartley_normaliser_numba_twin_agrees_with_hartley_normalize(seed):
    from numba import njit

    from cvgeo.geometry._common import _hartley_stats, _normalizer_kernel
    from cvgeo.geometry.epipolar.kernels import _eight_point_gram_kernel
    from cvgeo.geometry.homogeneous import hartley_normalize

    stats = njit(lambda p, idx: _hartley_stats(p, idx))
    rng = np.random.default_rng(seed)
    p = rng.uniform(-300, 900, (37, 2)) * rng.uniform(0.01, 10)
    ref = hartley_normalize(p)
    out, s, mx, my = _normalizer_kernel(p)
    np.testing.assert_allclose(out, ref.points, rtol=1e-13, atol=1e-13)
    T = np.array([[s, 0, -s * mx], [0, s, -s * my], [0, 0, 1]])
    np.testing.assert_allclose(T, ref.T, rtol=1e-13, atol=1e-12)
    idx = rng.choice(37, 11, replace=False)
    s2, mx2, my2 = stats(p, idx)
    ref2 = hartley_normalize(p[idx])
    np.testing.assert_allclose([s2, -s2 * mx2, -s2 * my2], ref2.T[[0, 0, 1], [0, 2, 2]],
                               rtol=1e-13)
    assert _normalizer_kernel(np.ones((5, 2)))[1] == 0.0  # coincident: scale 0
    # the 8-point kernel normalises with it: same F as the array-API 8-point
    F, x1, x2 = _matches(40, seed)
    G = np.empty((3, 3))
    assert _eight_point_gram_kernel(x1, x2, np.arange(40), G)
    np.testing.assert_allclose(G, fundamental_8point(x1, x2), atol=1e-8)


def test_hartley_normaliser_torch_twin():
    torch = pytest.importorskip("torch")
    from cvgeo.geometry._common import _normalizer_kernel
    from cvgeo.geometry.homogeneous import hartley_normalize

    p = np.random.default_rng(9).normal(size=(20, 2)) * 50
    np.testing.assert_allclose(hartley_normalize(torch.tensor(p)).points.numpy(),
                               _normalizer_kernel(p)[0], rtol=1e-12, atol=1e-12)


def _sign_cases(seed):
    rng = np.random.default_rng(seed)
    cases = [rng.normal(size=(3, 3)) for _ in range(20)]
    rect = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # a tie
    tiny33 = rng.normal(size=(3, 3))
    tiny33[2, 2] = 1e-9
    lead0 = rng.normal(size=(3, 3))
    lead0[2, 2] = 0.0
    lead0[0, 0] = 1e-8  # below the 1e-6 cut: the next entry decides
    cases += [rect, -rect, tiny33, -tiny33, lead0, -lead0]
    return cases


def test_fundamental_sign_rule_numba_twin_agrees():
    from cvgeo.geometry._common import _unit_sign, _unit_sign_kernel

    for M in _sign_cases(1):
        out = np.empty((3, 3))
        _unit_sign_kernel(M, out)
        np.testing.assert_allclose(out, _unit_sign(M, np), rtol=1e-14, atol=1e-15)
        _unit_sign_kernel(-M, out)  # F and -F give the same matrix
        np.testing.assert_allclose(out, _unit_sign(M, np), rtol=1e-14, atol=1e-15)


def test_homography_sign_rule_numba_twin_agrees():
    from cvgeo.geometry._common import _homography_sign, _homography_sign_kernel

    for M in _sign_cases(2):
        H = M.copy()
        _homography_sign_kernel(H)
        ref = _homography_sign(M, np)
        np.testing.assert_allclose(H, ref, rtol=1e-14, atol=1e-15)
        assert abs(np.linalg.norm(H) - 1) < 1e-14
        flat = H.ravel()
        lead = flat[8] if abs(flat[8]) > 1e-6 else flat[np.abs(flat) > 1e-6][0]
        assert lead > 0
    batch = np.stack(_sign_cases(3))
    each = np.stack([_homography_sign(M, np) for M in batch])
    np.testing.assert_array_equal(_homography_sign(batch, np), each)


@pytest.mark.parametrize("seed", range(3))
def test_sampson_numba_twin_agrees_with_epipolar_distance(seed):
    from cvgeo.geometry.epipolar import epipolar_distance
    from cvgeo.geometry.epipolar.kernels import _msac_cost_kernel, _sampson_kernel, _soa
    from cvgeo.geometry.epipolar.refinement import _sampson_sq_sum
    from tests.cvgeo.geometry._pose_reference import _signed_sampson

    F, x1, x2 = _matches(80, seed)
    F = F + np.random.default_rng(seed).normal(scale=1e-4, size=(3, 3))  # not exact
    ref = epipolar_distance(F, x1, x2)
    assert ref.max() > 5.0  # outliers: distances far beyond the threshold below
    np.testing.assert_allclose(_sampson_kernel(F, x1, x2, np.empty(80)), ref, rtol=1e-12)
    h1, h2 = np.c_[x1, np.ones(80)], np.c_[x2, np.ones(80)]
    np.testing.assert_allclose(np.abs(_signed_sampson(F, h1, h2)), ref, rtol=1e-12)
    X = _soa(x1, x2)
    t2 = 2.0**2
    np.testing.assert_allclose(_msac_cost_kernel(F, X, t2, np.inf),
                               np.minimum(ref**2, t2).sum(), rtol=1e-12)
    np.testing.assert_allclose(_sampson_sq_sum(F, X), (ref**2).sum(), rtol=1e-12)
