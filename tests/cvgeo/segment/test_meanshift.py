"""Mean shift: known modes, sklearn's modes on astronaut features, the joint-domain
segmentation on synthetic images, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import skimage.transform
from hypothesis import given, settings
from hypothesis import strategies as st

from cvgeo import DegenerateError
from cvgeo.segment import (
    adjusted_rand_index,
    estimate_bandwidth,
    mean_shift,
    mean_shift_segment,
)


def test_known_modes_flat_kernel():
    # two tight groups 10 apart; with bandwidth 1 each seed climbs to its group's mean
    X = np.array([[0.0, 0.0], [0.2, 0.0], [0.0, 0.2], [10.0, 10.0], [10.4, 10.0]])
    r = mean_shift(X, bandwidth=1.0)
    assert r.labels.dtype == np.int32
    assert r.labels.tolist() == [0, 0, 0, 1, 1]  # the 3-sample mode is most populated
    np.testing.assert_allclose(r.centers, [[0.2 / 3, 0.2 / 3], [10.2, 10.0]], atol=1e-12)


def test_gaussian_kernel_finds_weighted_modes():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.3, (200, 2)), rng.normal(5, 0.3, (100, 2))])
    r = mean_shift(X, bandwidth=0.5, kernel="gaussian")
    assert len(r.centers) == 2
    np.testing.assert_allclose(r.centers[0], [0, 0], atol=0.1)
    np.testing.assert_allclose(r.centers[1], [5, 5], atol=0.1)


@pytest.fixture(scope="module")
def astronaut64():
    img = skimage.transform.resize(skimage.data.astronaut(), (64, 64), anti_aliasing=True)
    return img.reshape(-1, 3)


@pytest.mark.parametrize("bandwidth", [0.2])
def test_same_modes_as_sklearn_on_astronaut_features(astronaut64, bandwidth):
    """64x64 astronaut RGB features; bin seeding keeps sklearn's side of the test short
    (the all-samples comparison, 90 s for sklearn, is in benchmarks/bench_segment.py)."""
    from sklearn.cluster import MeanShift

    ref = MeanShift(bandwidth=bandwidth, bin_seeding=True).fit(astronaut64)
    ours = mean_shift(astronaut64, bandwidth=bandwidth, bin_seeding=True)
    assert ours.centers.shape == ref.cluster_centers_.shape
    np.testing.assert_allclose(ours.centers, ref.cluster_centers_, atol=1e-9)
    assert adjusted_rand_index(ref.labels_, ours.labels) >= 0.99


def test_same_modes_as_sklearn_all_seeds_small(astronaut64):
    from sklearn.cluster import MeanShift

    X = astronaut64[::32]  # 128 samples, every one a seed
    ref = MeanShift(bandwidth=0.15).fit(X)
    ours = mean_shift(X, bandwidth=0.15)
    np.testing.assert_allclose(ours.centers, ref.cluster_centers_, atol=1e-9)
    np.testing.assert_array_equal(ours.labels, ref.labels_)


def test_seeds_like_sklearn(astronaut64):
    """Explicit seeds (sklearn's ``seeds``): the same modes and labels as MeanShift given
    the same seeds; bin_seeding is then ignored, as in sklearn."""
    from sklearn.cluster import MeanShift

    X = astronaut64[::16]
    seeds = X[::7]
    ref = MeanShift(bandwidth=0.15, seeds=seeds).fit(X)
    ours = mean_shift(X, bandwidth=0.15, seeds=seeds, bin_seeding=True)
    np.testing.assert_allclose(ours.centers, ref.cluster_centers_, atol=1e-9)
    np.testing.assert_array_equal(ours.labels, ref.labels_)
    with pytest.raises(ValueError, match=r"mean_shift: seeds must have shape \(N, 3\)"):
        mean_shift(X, bandwidth=0.15, seeds=seeds[:, :2])
    with pytest.raises(ValueError, match="mean_shift: seeds must be finite"):
        mean_shift(X, bandwidth=0.15, seeds=np.full((2, 3), np.nan))


def test_cluster_all_false_like_sklearn():
    """cluster_all=False: samples farther than the bandwidth from every mode are orphans
    (label -1), as sklearn. Two tight blobs seeded only at their centres plus far-away
    stragglers: the stragglers are orphans, and all labels equal sklearn's."""
    from sklearn.cluster import MeanShift

    rng = np.random.default_rng(0)
    blobs = np.concatenate([rng.normal(0, 0.1, (40, 2)), rng.normal(5, 0.1, (40, 2))])
    stragglers = np.array([[2.5, 2.5], [10.0, -3.0], [-4.0, 6.0]])
    X = np.concatenate([blobs, stragglers])
    seeds = np.array([[0.0, 0.0], [5.0, 5.0]])
    ours = mean_shift(X, bandwidth=1.0, seeds=seeds, cluster_all=False)
    ref = MeanShift(bandwidth=1.0, seeds=seeds, cluster_all=False).fit(X)
    np.testing.assert_array_equal(ours.labels, ref.labels_)
    assert (ours.labels[-3:] == -1).all() and (ours.labels[:80] >= 0).all()
    assert (mean_shift(X, bandwidth=1.0, seeds=seeds).labels >= 0).all()
    with pytest.raises(TypeError, match="mean_shift: cluster_all must be a bool"):
        mean_shift(X, bandwidth=1.0, cluster_all="no")


def test_high_dimension_falls_back_to_one_cell():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0, 0.1, (30, 9)), rng.normal(3, 0.1, (30, 9))])
    r = mean_shift(X, bandwidth=1.0)
    assert len(r.centers) == 2 and (r.labels[:30] != r.labels[30:]).all()


def test_estimate_bandwidth_matches_sklearn_and_subsamples(astronaut64):
    from sklearn.cluster import estimate_bandwidth as sk_estimate

    X = astronaut64[::2]
    exact = estimate_bandwidth(X, max_samples=None)
    assert exact == pytest.approx(sk_estimate(X), rel=1e-9)
    approx = estimate_bandwidth(X, max_samples=500, seed=0)
    assert approx == pytest.approx(exact, rel=0.05)
    assert estimate_bandwidth(X, max_samples=500, seed=0) == approx
    r = mean_shift(astronaut64[::8])  # bandwidth estimated when not given
    assert r.bandwidth == pytest.approx(estimate_bandwidth(astronaut64[::8]))


def test_segment_two_flat_regions_and_min_size():
    img = np.zeros((12, 16), dtype=np.uint8)
    img[:, 8:] = 200
    img[2, 2] = 90  # a one-pixel speck
    lab = mean_shift_segment(img, spatial_bandwidth_px=3, range_bandwidth=0.15, min_size=0)
    assert lab.dtype == np.int32 and lab.shape == img.shape
    assert lab[2, 2] != lab[0, 0]
    merged = mean_shift_segment(img, spatial_bandwidth_px=3, range_bandwidth=0.15, min_size=5)
    assert merged.max() == 1
    assert (merged[:, :8] == merged[0, 0]).all() and (merged[:, 8:] == merged[0, 15]).all()


def test_segment_colour_and_space_both_matter():
    # same colour in two places far apart: range alone would join them, the spatial
    # bandwidth keeps them apart (they are not connected)
    img = np.zeros((10, 30, 3), dtype=np.float32)
    img[:, :5] = (1, 0, 0)
    img[:, 25:] = (1, 0, 0)
    lab = mean_shift_segment(img, spatial_bandwidth_px=4, range_bandwidth=0.2, min_size=0)
    assert len(np.unique(lab)) == 3
    assert lab[0, 0] != lab[0, 29]


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 1000))
def test_segment_invariants(seed):
    rng = np.random.default_rng(seed)
    img = (rng.random((12, 14)) > 0.5).astype(np.float32) * 0.8
    lab = mean_shift_segment(img, spatial_bandwidth_px=2, range_bandwidth=0.3, min_size=4)
    # labels are 0..n-1 numbered by first appearance, every segment has >= 4 pixels
    assert lab[0, 0] == 0
    n = lab.max() + 1
    assert set(np.unique(lab)) == set(range(n))
    assert np.bincount(lab.ravel()).min() >= 4
    np.testing.assert_array_equal(lab, mean_shift_segment(img, spatial_bandwidth_px=2,
                                                          range_bandwidth=0.3, min_size=4))


def test_zero_estimate_keeps_duplicated_clusters_apart_like_sklearn():
    """Three clusters of 100 exact duplicates, 1 and 9 apart: each sample's 30 % nearest are
    its own copies, so the estimate is 0, as sklearn's; mean shift then takes each
    distinct point as a mode (sklearn's MeanShift does the same) instead of one
    positive guess on the data's scale merging them."""
    from sklearn.cluster import MeanShift
    from sklearn.cluster import estimate_bandwidth as sk_estimate

    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [10.0, 10.0]]), [100, 100, 100], axis=0)
    assert estimate_bandwidth(X) == sk_estimate(X) == 0.0
    r = mean_shift(X)
    ref = MeanShift().fit(X)
    assert r.bandwidth == 0.0 and r.n_iter == 0
    np.testing.assert_array_equal(r.centers, ref.cluster_centers_)  # most duplicated first
    np.testing.assert_array_equal(r.labels, ref.labels_)
    assert sorted(np.bincount(r.labels).tolist()) == [100, 100, 100]
    # constant data: one cluster (estimate_bandwidth gives 0 there too)
    assert estimate_bandwidth(np.ones((4, 2))) == 0.0
    const = mean_shift(np.ones((10, 1)))
    assert const.labels.tolist() == [0] * 10 and const.centers.tolist() == [[1.0]]
    # seeds pick which distinct points are modes; orphans are -1 without cluster_all
    some = mean_shift(X, seeds=np.array([[10.0, 10.0], [0.0, 0.0]]), cluster_all=False)
    assert some.centers.tolist() == [[10.0, 10.0], [0.0, 0.0]]  # equal counts: by coordinates
    assert (some.labels == -1).sum() == 100
    # an explicit bandwidth must still be positive
    with pytest.raises(ValueError, match=r"mean_shift: bandwidth must be > 0"):
        mean_shift(X, bandwidth=0.0)


def test_bad_input():
    X = np.zeros((5, 2))
    X[0] = 1
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"mean_shift: bandwidth must be > 0"):
            mean_shift(X, bandwidth=bad)
    with pytest.raises(ValueError, match="mean_shift: X must be finite"):
        mean_shift(np.array([[np.nan, 0.0]]), bandwidth=1.0)
    with pytest.raises(ValueError, match="mean_shift: kernel must be one of"):
        mean_shift(X, bandwidth=1.0, kernel="epanechnikov")
    with pytest.raises(DegenerateError, match="mean_shift: min_bin_freq must leave"):
        mean_shift(X, bandwidth=0.1, bin_seeding=True, min_bin_freq=10)
    with pytest.raises(DegenerateError, match="mean_shift: bandwidth must leave a sample near "
                                              "some seed, got no sample within the estimated "
                                              "bandwidth=0"):
        mean_shift(np.repeat([[0.0, 0.0], [1.0, 1.0]], 10, axis=0), seeds=np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"estimate_bandwidth: quantile must be in \(0"):
        estimate_bandwidth(X, quantile=0.0)
    with pytest.raises(ValueError,
                       match=r"mean_shift_segment: spatial_bandwidth_px must be in \[1e-06, "
                             r"1000000.0\]"):
        mean_shift_segment(np.zeros((4, 4)), spatial_bandwidth_px=0)
    with pytest.raises(ValueError,
                       match=r"mean_shift_segment: range_bandwidth must be in \[1e-06, 1000000.0\]"
                       ):
        mean_shift_segment(np.zeros((4, 4)), range_bandwidth=-0.1)
    with pytest.raises(ValueError, match="mean_shift_segment: min_size must be an int >= 0"):
        mean_shift_segment(np.zeros((4, 4)), min_size=-1)
    with pytest.raises(ValueError, match="mean_shift_segment: image must be finite"):
        mean_shift_segment(np.full((4, 4), np.nan))


def test_old_bandwidth_keywords_still_work_with_a_deprecation_warning():
    img = np.zeros((12, 12), np.uint8)
    img[:, 6:] = 200
    new = mean_shift_segment(img, spatial_bandwidth_px=3, range_bandwidth=0.2, min_size=0)
    with pytest.warns(DeprecationWarning, match="mean_shift_segment: the keyword 'spatial_bw'"
                                                ".*use 'spatial_bandwidth_px'"):
        old = mean_shift_segment(img, spatial_bw=3, range_bandwidth=0.2, min_size=0)
    np.testing.assert_array_equal(old, new)
    with pytest.warns(DeprecationWarning, match="'range_bw'.*use 'range_bandwidth'"):
        np.testing.assert_array_equal(
            mean_shift_segment(img, spatial_bandwidth_px=3, range_bw=0.2, min_size=0), new)
