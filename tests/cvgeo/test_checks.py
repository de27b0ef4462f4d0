"""cvgeo._checks: the shared validation and its message shape."""

from __future__ import annotations

import numpy as np
import pytest

from cvgeo._checks import (
    DegenerateError,
    check_choice,
    check_int,
    check_int_pair,
    check_mask,
    check_matrix,
    check_pair,
    check_points,
    check_points_xp,
    check_real,
    check_samples,
    check_seed,
)


def test_degenerate_error_is_a_value_error():
    assert issubclass(DegenerateError, ValueError)


def test_check_real_ranges():
    assert check_real(2, "f", "x", low=0) == 2.0
    with pytest.raises(ValueError, match=r"^f: x must be in \[0, 1\], got 1.5$"):
        check_real(1.5, "f", "x", low=0, high=1)
    with pytest.raises(ValueError, match=r"^f: x must be > 0, got 0$"):
        check_real(0, "f", "x", low=0, low_inclusive=False)
    with pytest.raises(ValueError, match=r"^f: x must be a finite number"):
        check_real(float("nan"), "f", "x")
    with pytest.raises(TypeError, match=r"^f: x must be a real number, got '3'$"):
        check_real("3", "f", "x")
    with pytest.raises(TypeError, match=r"^f: x must be a real number, got True$"):
        check_real(True, "f", "x")


def test_check_int_pair():
    assert check_int_pair(3, "f", "k") == (3, 3)
    assert check_int_pair((np.int64(2), 5), "f", "k") == (2, 5)
    assert check_int_pair([0, 0], "f", "k", low=0) == (0, 0)
    for bad, shown in ((0, "0"), ((1, 0), r"\(1, 0\)"), (True, "True"), ((1, 2, 3), ""),
                       (2.0, "2.0"), ((1, True), ""), ("ab", "")):
        with pytest.raises(ValueError,
                           match=rf"f: k must be an int >= 1 or a pair of them, got .*{shown}"):
            check_int_pair(bad, "f", "k")


def test_check_int():
    assert check_int(np.int64(3), "f", "k", low=1) == 3
    with pytest.raises(ValueError, match=r"^kmeans: k must be an int in \[1, 6\], got 8$"):
        check_int(8, "kmeans", "k", low=1, high=6)
    with pytest.raises(TypeError, match=r"^f: k must be an int, got 2.0$"):
        check_int(2.0, "f", "k")


def test_check_choice():
    assert check_choice("a", "f", "mode", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"^f: mode must be one of 'a', 'b', got 'c'$"):
        check_choice("c", "f", "mode", ("a", "b"))


def test_check_points_and_pair():
    pts = check_points(np.array([[1, 2], [3, 4]], np.int32), "f", "src")
    assert pts.dtype == np.float64
    with pytest.raises(TypeError, match=r"^f: src must be a numpy array of shape \(N, 2\), got "
                                        r"list; wrap it with numpy.asarray$"):
        check_points([[1, 2]], "f", "src")
    with pytest.raises(ValueError, match=r"^f: src must have shape \(N, 2\), got shape \(2, 3\)"):
        check_points(np.zeros((2, 3)), "f", "src")
    with pytest.raises(DegenerateError, match=r"^f: src must hold at least 4 points, got 3$"):
        check_points(np.zeros((3, 2)), "f", "src", min_count=4)
    with pytest.raises(ValueError, match=r"^f: src must be finite, got 1 NaN value"):
        check_points(np.array([[np.nan, 0.0]]), "f", "src")
    with pytest.raises(ValueError, match=r"^f: src and dst must have the same number of points, "
                                         r"got 2 and 3$"):
        check_pair(np.zeros((2, 2)), np.zeros((3, 2)), "f")


def test_check_samples():
    """The feature-matrix validator kmeans, estimate_bandwidth and mean_shift share."""
    X = np.array([[1, 2, 3], [4, 5, 6]], np.int16)
    out = check_samples(X, "f")
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, X)
    f = np.asfortranarray(np.arange(6.0).reshape(3, 2))
    assert check_samples(f, "f").flags.c_contiguous
    with pytest.raises(TypeError, match=r"^f: X must be a numpy array of shape \(n_samples, "
                                        r"n_features\), got \[\[1.0, 2.0\]\]$"):
        check_samples([[1.0, 2.0]], "f")
    for bad, shape in ((np.zeros(3), r"\(3,\)"), (np.zeros((0, 2)), r"\(0, 2\)"),
                       (np.zeros((2, 0)), r"\(2, 0\)"), (np.zeros((2, 2, 2)), r"\(2, 2, 2\)")):
        with pytest.raises(ValueError, match=r"^f: X must have shape \(n_samples, n_features\) "
                                             rf"with both > 0, got shape {shape}$"):
            check_samples(bad, "f")
    with pytest.raises(TypeError, match=r"^f: X must be numeric, got dtype complex128$"):
        check_samples(np.zeros((2, 2), complex), "f")
    with pytest.raises(ValueError, match=r"^f: seeds must be finite, got 1 inf value"):
        check_samples(np.array([[np.inf, 0.0]]), "f", "seeds")


def test_check_points_xp_torch():
    torch = pytest.importorskip("torch")
    t, xp = check_points_xp(torch.tensor([[1, 2]]), "f")
    assert t.dtype == torch.float64
    with pytest.raises(ValueError, match=r"^f: points must be finite, got 1 inf value\(s\)$"):
        check_points_xp(torch.tensor([[float("inf"), 0.0]]), "f")
    with pytest.raises(ValueError, match=r"^f: points must have shape \(\.\.\., N, 2\)"):
        check_points_xp(torch.zeros(3), "f")


def test_check_mask_and_matrix():
    m = check_mask(np.array([[0, 1]]), "canny", (1, 2))
    assert m.dtype == bool and m.tolist() == [[False, True]]
    with pytest.raises(ValueError, match=r"^canny: mask must have shape \(2, 2\), got shape"):
        check_mask(np.zeros((1, 2), bool), "canny", (2, 2))
    with pytest.raises(ValueError, match=r"^canny: mask must be boolean"):
        check_mask(np.array([[0, 2]]), "canny", (1, 2))
    with pytest.raises(ValueError, match=r"^warp: H must have shape \(3, 3\), got shape \(2, 3\)"):
        check_matrix(np.eye(3)[:2], "warp")


def test_check_seed_reproducible():
    a = check_seed(7, "f").random(3)
    b = check_seed(7, "f").random(3)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(1)
    assert check_seed(g, "f") is g
    with pytest.raises(TypeError, match=r"^f: seed must be an int, a numpy.random.Generator"):
        check_seed(1.5, "f")
    with pytest.raises(ValueError, match=r"^f: seed must be a non-negative int, got -1$"):
        check_seed(-1, "f")


def _error(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)
    return None


BAD_POINTS = [
    np.zeros((4, 3)),                                  # wrong width
    np.zeros(4),                                       # 1-D
    np.array([[1.0, np.nan], [np.inf, 2.0], [np.nan, 0.0]]),  # 2 NaN and 1 inf
    np.array([["a", "b"]]),                            # not numeric
    np.zeros((2, 2)),                                  # too few (min_count=3)
    [[1.0, 2.0]],                                      # a list
    "points",                                          # not an array at all
]


@pytest.mark.parametrize("bad", BAD_POINTS, ids=range(len(BAD_POINTS)))
def test_points_validator_numpy_and_array_api_twins_agree(bad):
    """check_points and check_points_xp are one validator: the same input gets the same
    error type and the same message (up to the kinds of array each accepts)."""
    a = _error(check_points, bad, "f", "x1", min_count=3)
    b = _error(check_points_xp, bad, "f", "x1", min_count=3, batched=False)
    assert a is not None and b is not None
    assert a[0] is b[0]
    assert a[1] == b[1].replace("a numpy array or torch tensor", "a numpy array")
    good = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(check_points(good, "f", min_count=3),
                                  check_points_xp(good, "f", min_count=3)[0])


def test_points_validator_torch_and_numpy_paths_agree():
    torch = pytest.importorskip("torch")
    for bad in BAD_POINTS[:3] + BAD_POINTS[4:5]:
        a = _error(check_points_xp, bad, "f", "x1", min_count=3, batched=False)
        b = _error(check_points_xp, torch.from_numpy(bad), "f", "x1", min_count=3,
                   batched=False)
        assert a == b, (a, b)
    msg = _error(check_points_xp, BAD_POINTS[2], "f", "x1")[1]
    assert msg == "f: x1 must be finite, got 2 NaN and 1 inf value(s)"
    out, xp = check_points_xp(torch.arange(6).reshape(3, 2), "f")
    assert out.dtype == torch.float64 and xp.__name__.endswith("torch")
