"""Tests for homogeneous coordinates and Hartley normalisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cvgeo import DegenerateError
from cvgeo.geometry.homogeneous import (
    from_homogeneous,
    hartley_normalize,
    is_at_infinity,
    to_homogeneous,
)

finite_points = arrays(np.float64, st.tuples(st.integers(2, 12), st.just(2)),
                       elements=st.floats(-1e4, 1e4))


def test_known_values():
    p = np.array([[2.0, 3.0], [-1.0, 0.5]])
    np.testing.assert_array_equal(to_homogeneous(p), [[2, 3, 1], [-1, 0.5, 1]])
    np.testing.assert_array_equal(from_homogeneous(np.array([[4.0, 6.0, 2.0],
                                                             [-3.0, 1.5, -3.0]])),
                                  [[2, 3], [1, -0.5]])
    np.testing.assert_array_equal(is_at_infinity(np.array([[1.0, 2.0, 0.0], [1.0, 2.0, 1.0],
                                                           [1e20, 0.0, 1e5]])),
                                  [True, False, True])


def test_batched_shapes_and_int_input():
    p = np.arange(48).reshape(2, 3, 4, 2)
    h = to_homogeneous(p)
    assert h.shape == (2, 3, 4, 3) and h.dtype == np.float64
    np.testing.assert_array_equal(from_homogeneous(h * 7.0), p)
    n = hartley_normalize(p.astype(float))
    assert n.points.shape == (2, 3, 4, 2) and n.T.shape == (2, 3, 3, 3)


@settings(max_examples=40, deadline=None)
@given(finite_points, st.floats(0.1, 100.0))
def test_round_trip_and_scale_invariance(p, w):
    np.testing.assert_allclose(from_homogeneous(to_homogeneous(p) * w), p, rtol=1e-12,
                               atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(finite_points)
def test_hartley_properties(p):
    spread = np.sqrt(((p - p.mean(0)) ** 2).sum(1)).mean()
    if spread == 0:
        with pytest.raises(DegenerateError):
            hartley_normalize(p)
        return
    assume(spread > 1e-3 * max(np.abs(p).max(), 1.0))  # well-conditioned: tight checks
    r = hartley_normalize(p)
    np.testing.assert_allclose(r.points.mean(0), 0.0, atol=1e-9)
    np.testing.assert_allclose(np.sqrt((r.points**2).sum(1)).mean(), np.sqrt(2), rtol=1e-9)
    # T does the normalisation and is a similarity (uniform scale, no rotation)
    mapped = to_homogeneous(p) @ r.T.T
    np.testing.assert_allclose(mapped[:, :2], r.points, atol=1e-9)
    assert r.T[0, 0] == r.T[1, 1] > 0 and r.T[0, 1] == r.T[1, 0] == 0
    np.testing.assert_array_equal(r.T[2], [0, 0, 1])


def test_torch_matches_numpy_and_keeps_gradients():
    torch = pytest.importorskip("torch")
    p = np.random.default_rng(0).uniform(0, 100, (3, 6, 2))
    t = torch.tensor(p, requires_grad=True)
    n_np = hartley_normalize(p)
    n_t = hartley_normalize(t)
    np.testing.assert_allclose(n_t.points.detach().numpy(), n_np.points, atol=1e-12)
    np.testing.assert_allclose(n_t.T.detach().numpy(), n_np.T, atol=1e-12)
    back = from_homogeneous(to_homogeneous(t) * 3.0)
    (back.sum() + n_t.points.pow(3).sum() + n_t.T.sum()).backward()
    assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0
    assert isinstance(to_homogeneous(torch.zeros(4, 2, dtype=torch.int64)), torch.Tensor)


def test_errors():
    with pytest.raises(DegenerateError, match=r"from_homogeneous: points must not lie at "
                                              r"infinity \(w = 0\), got 1 such point\(s\), "
                                              r"the first at flat index 1"):
        from_homogeneous(np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 0.0]]))
    with pytest.raises(DegenerateError, match="hartley_normalize: points must not all "
                                              "coincide"):
        hartley_normalize(np.ones((5, 2)))
    with pytest.raises(DegenerateError, match="hartley_normalize: points must hold at least 2"):
        hartley_normalize(np.ones((1, 2)))
    with pytest.raises(ValueError, match="to_homogeneous: points must be finite, got 1 NaN"):
        to_homogeneous(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"to_homogeneous: points must have shape \(\.\.\., N, "
                                         r"2\), got shape \(3, 3\)"):
        to_homogeneous(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"from_homogeneous: points must have shape \(\.\.\., "
                                         r"N, 3\)"):
        from_homogeneous(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="to_homogeneous: points must be a numpy array or torch"):
        to_homogeneous([[1.0, 2.0]])
    with pytest.raises(TypeError, match="to_homogeneous: points must be numeric"):
        to_homogeneous(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="is_at_infinity: eps must be >= 0"):
        is_at_infinity(np.zeros((1, 3)), eps=-1.0)
