"""Tests for the generic RANSAC (cvgeo.geometry.ransac) with a small line estimator."""

from __future__ import annotations

import numpy as np
import pytest

from cvgeo import DegenerateError
from cvgeo.geometry.ransac import RansacResult, ransac, required_trials


class LineEstimator:
    """y = a x + b through points (N, 2); residual = perpendicular distance."""

    sample_size = 2

    def __init__(self):
        self.minimal_calls = 0

    def is_degenerate(self, pts):
        return bool(np.allclose(pts[0], pts[1]))

    def fit_minimal(self, pts):
        self.minimal_calls += 1
        (x0, y0), (x1, y1) = pts
        if x0 == x1:
            return []
        a = (y1 - y0) / (x1 - x0)
        return [np.array([a, y0 - a * x0])]

    def fit(self, pts):
        if np.ptp(pts[:, 0]) == 0:
            raise DegenerateError("line: vertical")
        A = np.c_[pts[:, 0], np.ones(len(pts))]
        return np.linalg.lstsq(A, pts[:, 1], rcond=None)[0]

    def residuals(self, model, pts):
        a, b = model
        return np.abs(a * pts[:, 0] - pts[:, 1] + b) / np.hypot(a, 1.0)


def _line_data(rng, n=200, outlier_ratio=0.4, noise=0.2):
    x = rng.uniform(0, 100, n)
    y = 0.5 * x + 3.0 + rng.normal(0, noise, n)
    out = rng.random(n) < outlier_ratio
    y[out] = rng.uniform(-50, 100, out.sum())
    return np.c_[x, y], ~out


def test_recovers_line_and_inliers(rng):
    pts, truth = _line_data(rng)
    r = ransac(LineEstimator(), pts, threshold_px=1.0)
    assert isinstance(r, RansacResult)
    np.testing.assert_allclose(r.model, [0.5, 3.0], atol=0.02)
    # nearly every true inlier is found; outliers found are those lying near the line
    assert np.mean(r.inlier_mask[truth]) > 0.99
    res_true = LineEstimator().residuals(np.array([0.5, 3.0]), pts)
    assert np.all(res_true[~truth][r.inlier_mask[~truth]] <= 1.5)
    # mask and residuals are those of the returned model
    np.testing.assert_array_equal(r.residuals, LineEstimator().residuals(r.model, pts))
    np.testing.assert_array_equal(r.inlier_mask, r.residuals <= 1.0)
    assert r.n_inliers == r.inlier_mask.sum()


def test_adaptive_stopping_uses_few_trials(rng):
    pts, _ = _line_data(rng, outlier_ratio=0.3)
    r = ransac(LineEstimator(), pts, threshold_px=1.0, max_trials=10_000)
    # w >= 0.7 -> log(0.001)/log(1-0.49) ~ 10.3 trials; LO makes w exact quickly
    assert r.n_trials <= 30
    r2 = ransac(LineEstimator(), pts, threshold_px=1.0, max_trials=5)
    assert r2.n_trials == 5


def test_same_seed_same_result_and_default_reproducible(rng):
    pts, _ = _line_data(rng, outlier_ratio=0.6, noise=1.0)
    a = ransac(LineEstimator(), pts, threshold_px=2.0, local_optimization=False)
    b = ransac(LineEstimator(), pts, threshold_px=2.0, local_optimization=False)
    np.testing.assert_array_equal(a.model, b.model)
    np.testing.assert_array_equal(a.inlier_mask, b.inlier_mask)
    assert a.n_trials == b.n_trials
    c = ransac(LineEstimator(), pts, threshold_px=2.0, seed=np.random.default_rng(0),
               local_optimization=False)
    np.testing.assert_array_equal(a.model, c.model)  # an int seed == a Generator of it
    trials = {ransac(LineEstimator(), pts, threshold_px=2.0, seed=s,
                     local_optimization=False).n_trials for s in range(6)}
    assert len(trials) > 1  # different seeds draw different samples


def test_degenerate_samples_counted_and_skipped(rng):
    pts, _ = _line_data(rng, n=60, outlier_ratio=0.0)
    pts[:30] = pts[0]  # half of the points coincide: many samples are degenerate
    est = LineEstimator()
    r = ransac(est, pts, threshold_px=1.0, min_trials=200, max_trials=200)
    # degenerate samples are drawn on top of the budget of 200 fitted ones
    assert r.n_trials - r.n_degenerate == 200
    # P(both in the cluster) = (30/60)(29/59) = 0.246: 200 fitted need ~65 degenerate
    assert 30 < r.n_degenerate < 110
    assert est.minimal_calls == r.n_trials - r.n_degenerate  # never fitted


def test_all_degenerate_raises():
    pts = np.tile([[3.0, 4.0]], (10, 1))
    # the degenerate samples have their own cap, 10 * max_trials by default
    with pytest.raises(DegenerateError, match="ransac: every one of the 500 minimal samples"):
        ransac(LineEstimator(), pts, threshold_px=1.0, max_trials=50)
    with pytest.raises(DegenerateError, match="ransac: every one of the 7 minimal samples"):
        ransac(LineEstimator(), pts, threshold_px=1.0, max_trials=50, max_degenerate=7)
    with pytest.raises(ValueError, match="ransac: max_degenerate must be"):
        ransac(LineEstimator(), pts, threshold_px=1.0, max_degenerate=-1)


def test_local_optimization_improves_cost(rng):
    pts, _ = _line_data(rng, n=400, outlier_ratio=0.5, noise=1.0)
    cost = []
    for lo in (False, True):
        r = ransac(LineEstimator(), pts, threshold_px=3.0, local_optimization=lo, seed=3)
        cost.append(np.minimum(r.residuals**2, 9.0).sum())
    assert cost[1] <= cost[0]


def test_required_trials_clamped():
    assert required_trials(0.0, 4, 0.999) == np.inf
    assert required_trials(1.0, 4, 0.999) == 0.0
    assert required_trials(1e-200, 4, 0.999) == np.inf  # w**s underflows
    np.testing.assert_allclose(required_trials(0.5, 4, 0.999),
                               np.log(0.001) / np.log(1 - 0.0625))


def test_errors(rng):
    pts, _ = _line_data(rng, n=20)
    with pytest.raises(DegenerateError, match="ransac: data must hold at least sample_size=2"):
        ransac(LineEstimator(), pts[:1], threshold_px=1.0)
    with pytest.raises(ValueError,
                       match=r"ransac: threshold_px must be in \(0.0, 1000000000000.0\]"):
        ransac(LineEstimator(), pts, threshold_px=0.0)
    with pytest.raises(ValueError, match=r"ransac: confidence must be in \(0.0, 1.0\)"):
        ransac(LineEstimator(), pts, threshold_px=1.0, confidence=1.0)
    with pytest.raises(TypeError, match="ransac: data\\[0\\] must be a numpy array"):
        ransac(LineEstimator(), pts.tolist(), threshold_px=1.0)
    bad = pts.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="ransac: data\\[0\\] must be finite"):
        ransac(LineEstimator(), bad, threshold_px=1.0)
    with pytest.raises(ValueError, match="ransac: data arrays must share their first axis"):
        ransac(LineEstimator(), pts, pts[:5], threshold_px=1.0)
    with pytest.raises(TypeError, match="ransac: estimator must have a 'sample_size'"):
        ransac(object(), pts, threshold_px=1.0)
    with pytest.raises(TypeError, match="ransac: seed must be"):
        ransac(LineEstimator(), pts, threshold_px=1.0, seed=1.5)


def test_several_candidates_per_sample_best_is_kept(rng):
    """fit_minimal may return several models (7-point F returns up to 3)."""

    class TwoCandidates(LineEstimator):
        def fit_minimal(self, pts):
            good = super().fit_minimal(pts)
            return [np.array([-3.0, 500.0])] + good  # a decoy first, then the real one

    pts, _ = _line_data(rng, outlier_ratio=0.3)
    r = ransac(TwoCandidates(), pts, threshold_px=1.0, local_optimization=False)
    np.testing.assert_allclose(r.model, [0.5, 3.0], atol=0.05)


@pytest.mark.parametrize("n, s", [(1000, 7), (10, 7), (7, 7), (30, 4), (5, 4), (50, 1)])
def test_draw_samples_distinct_and_uniform(n, s):
    import sys

    draw = sys.modules["cvgeo.geometry.ransac"]._draw_samples
    x = draw(np.random.default_rng(0), n, s, 4000)
    assert x.shape == (4000, s) and x.dtype == np.int64
    assert x.min() >= 0 and x.max() < n
    assert all(len(set(row)) == s for row in x.tolist())  # no repeat within a sample
    freq = np.bincount(x.ravel(), minlength=n) / x.size  # every index equally likely
    np.testing.assert_allclose(freq, 1.0 / n, atol=4 * np.sqrt(1.0 / (n * x.size)) + 1e-12)
    # every position, too (no index favoured at the front of a sample)
    np.testing.assert_allclose(np.bincount(x[:, 0], minlength=n) / 4000, 1.0 / n,
                               atol=5 * np.sqrt(1.0 / (n * 4000)))
    again = draw(np.random.default_rng(0), n, s, 4000)
    np.testing.assert_array_equal(x, again)
