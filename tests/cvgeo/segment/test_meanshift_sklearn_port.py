"""scikit-learn's own MeanShift tests (sklearn/cluster/tests/test_mean_shift.py), ported.

``MeanShift(bandwidth=..., cluster_all=..., seeds=..., bin_seeding=..., max_iter=...)
.fit(X)`` and ``sklearn.cluster.mean_shift(X, ...)`` both become ``cvgeo.mean_shift(X,
...)``, whose result holds ``labels``, ``centers`` (sklearn's ``cluster_centers_``),
``bandwidth`` and ``n_iter``; ``estimate_bandwidth(X, n_samples=m)`` becomes
``estimate_bandwidth(X, max_samples=m)``. sklearn's ``global_dtype`` (float32 and float64)
is kept. sklearn itself is run on the same data where the port can compare numbers.

Not ported: ``test_parallel`` (``n_jobs``), ``test_meanshift_predict`` and
``test_unfitted`` (cvgeo's ``mean_shift`` is a function, not an estimator with
``predict``).

Deliberate differences, marked ``DIFFERENCE`` below:

- ``estimate_bandwidth(X, max_samples=m)`` draws its subset with cvgeo's seeded
  generator, so it is a different subset from sklearn's ``n_samples=m``; with every
  sample (``max_samples=None``) both are the same number.
- ``estimate_bandwidth`` returns a Python float (sklearn: a numpy scalar of X's dtype).
- sklearn's empty-seeding error is a ``ValueError`` "No point was within bandwidth=0.1
  of any seed"; cvgeo raises ``DegenerateError`` (a ``ValueError``) with its own message.
- ``get_bin_seeds`` is public in sklearn; cvgeo's binning is the private ``_bin_seeds``,
  tested here the same way (its seeds come out in another order: compared as sets).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from sklearn.cluster import MeanShift
from sklearn.cluster import estimate_bandwidth as sk_estimate_bandwidth
from sklearn.cluster import mean_shift as sk_mean_shift
from sklearn.datasets import make_blobs
from sklearn.metrics import v_measure_score

from cvgeo import DegenerateError
from cvgeo.segment import estimate_bandwidth, mean_shift
from cvgeo.segment.meanshift import _bin_seeds

pytestmark = pytest.mark.usefixtures("one_blas_thread")

N_CLUSTERS = 3
CENTERS = np.array([[1, 1], [-1, -1], [1, -1]]) + 10
X, _ = make_blobs(n_samples=300, n_features=2, centers=CENTERS, cluster_std=0.4,
                  shuffle=True, random_state=11)

DTYPES = [np.float32, np.float64]


def test_convergence_of_1d_constant_data():
    # sklearn #28926: constant 1-D data converges well before max_iter
    r = mean_shift(np.ones(10).reshape(-1, 1))
    assert r.n_iter < 300
    assert r.labels.tolist() == [0] * 10 and r.centers.tolist() == [[1.0]]


def test_estimate_bandwidth():
    # DIFFERENCE: another random subset of 200 than sklearn's, same range
    bandwidth = estimate_bandwidth(X, max_samples=200)
    assert 0.9 <= bandwidth <= 1.5
    # with every sample the estimate is sklearn's number
    assert estimate_bandwidth(X, max_samples=None) == pytest.approx(sk_estimate_bandwidth(X),
                                                                   rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_estimate_bandwidth_1sample(dtype):
    """One sample (sklearn's n_samples=1): the only neighbour is the sample itself."""
    bandwidth = estimate_bandwidth(X.astype(dtype), max_samples=1, quantile=0.3)
    assert bandwidth == pytest.approx(0.0, abs=1e-5)
    assert isinstance(bandwidth, float)  # DIFFERENCE: a float, not X's dtype


@pytest.fixture(scope="module")
def sklearn_at_1_2():
    """sklearn's MeanShift(bandwidth=1.2, cluster_all=False) on X, fitted once: a fit takes
    about a second of CPU (its centres do not depend on cluster_all)."""
    return MeanShift(bandwidth=1.2, cluster_all=False).fit(X)


@pytest.mark.parametrize("bandwidth, cluster_all, expected, first_cluster_label",
                         [(1.2, True, 3, 0), (1.2, False, 4, -1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_mean_shift(dtype, bandwidth, cluster_all, expected, first_cluster_label,
                    sklearn_at_1_2):
    Xd = X.astype(dtype)
    r = mean_shift(Xd, bandwidth=bandwidth, cluster_all=cluster_all)
    labels_unique = np.unique(r.labels)
    assert len(labels_unique) == expected
    assert labels_unique[0] == first_cluster_label
    assert r.centers.dtype == dtype
    # with an estimated bandwidth (sklearn's function form)
    e = mean_shift(Xd, cluster_all=cluster_all)
    labels_unique = np.unique(e.labels)
    assert len(labels_unique) == expected
    assert labels_unique[0] == first_cluster_label
    assert e.centers.dtype == dtype
    # and the numbers are sklearn's: the modes, and the orphans without cluster_all
    np.testing.assert_allclose(r.centers, sklearn_at_1_2.cluster_centers_, rtol=1e-6)
    orphans = sklearn_at_1_2.labels_ == -1
    assert orphans.sum() > 0
    if cluster_all:
        assert (r.labels >= 0).all()
        np.testing.assert_array_equal(r.labels[~orphans], sklearn_at_1_2.labels_[~orphans])
    else:
        np.testing.assert_array_equal(r.labels, sklearn_at_1_2.labels_)


def test_meanshift_all_orphans():
    # seeds away from the data raise with a sensible message
    with pytest.raises(DegenerateError, match=r"mean_shift: bandwidth must leave a sample near "
                                              r"some seed, got no sample within "
                                              r"bandwidth=0.1 of any seed"):
        mean_shift(X, bandwidth=0.1, seeds=np.array([[-9.0, -9.0], [-10.0, -10.0]]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cluster_intensity_tie(dtype):
    # two modes of equal population: the order follows the coordinates, not the input
    X1 = np.array([[1, 1], [2, 1], [1, 0], [4, 7], [3, 5], [3, 6]], dtype=dtype)
    X2 = np.array([[4, 7], [3, 5], [3, 6], [1, 1], [2, 1], [1, 0]], dtype=dtype)
    np.testing.assert_array_equal(mean_shift(X1, bandwidth=2).labels, [1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(mean_shift(X2, bandwidth=2).labels, [0, 0, 0, 1, 1, 1])


def _as_set(seeds: np.ndarray) -> set:
    return {tuple(float(v) for v in p) for p in np.round(seeds, 12)}


@pytest.mark.parametrize("dtype", DTYPES)
def test_bin_seeds(dtype):
    # 6 points in the plane
    X = np.array([[1.0, 1.0], [1.4, 1.4], [1.8, 1.2], [2.0, 1.0], [2.1, 1.1], [0.0, 0.0]],
                 dtype=dtype).astype(np.float64)
    # bin side 1, min_bin_freq 1: 3 bins
    assert _as_set(_bin_seeds(X, 1, 1)) == {(1.0, 1.0), (2.0, 1.0), (0.0, 0.0)}
    # bin side 1, min_bin_freq 2: 2 bins
    assert _as_set(_bin_seeds(X, 1, 2)) == {(1.0, 1.0), (2.0, 1.0)}
    # bin side 0.01: as many bins as points, so the data itself are the seeds
    np.testing.assert_allclose(_bin_seeds(X, 0.01, 1), X)
    # tight clusters around [0, 0] and [1, 1]: two bins
    Xb, _ = make_blobs(n_samples=100, n_features=2, centers=[[0, 0], [1, 1]], cluster_std=0.1,
                       random_state=0)
    Xb = Xb.astype(dtype).astype(np.float64)
    assert _as_set(_bin_seeds(Xb, 1, 1)) == {(0.0, 0.0), (1.0, 1.0)}
    # bin seeding finds sklearn's modes on the blobs
    r = mean_shift(Xb, bandwidth=0.5, bin_seeding=True)
    ref = MeanShift(bandwidth=0.5, bin_seeding=True).fit(Xb)
    np.testing.assert_allclose(r.centers, ref.cluster_centers_, atol=1e-9)


@pytest.mark.parametrize("max_iter", [1, 100])
def test_max_iter(max_iter):
    """n_iter never exceeds max_iter. sklearn compares its function and estimator (the same
    code); the port compares cvgeo with sklearn at max_iter=1, where the modes are one
    step from the seeds (max_iter=100 is the default, compared in test_mean_shift)."""
    r = mean_shift(X, max_iter=max_iter)
    assert r.n_iter <= max_iter
    if max_iter == 1:
        centres, _ = sk_mean_shift(X, max_iter=max_iter)
        assert len(r.centers) == len(centres)
        for c1, c2 in zip(r.centers, centres):
            assert np.allclose(c1, c2)
    else:
        assert r.n_iter > 1 and len(r.centers) == N_CLUSTERS


@functools.cache
def _sklearn_zero_bandwidth_centres() -> np.ndarray:
    X = np.array([1, 1, 1, 2, 2, 2, 3, 3], dtype=np.float64).reshape(-1, 1)
    return MeanShift().fit(X).cluster_centers_


@pytest.mark.parametrize("dtype", DTYPES)
def test_mean_shift_zero_bandwidth(dtype):
    # mean shift works when the estimated bandwidth is 0
    X = np.array([1, 1, 1, 2, 2, 2, 3, 3], dtype=dtype).reshape(-1, 1)
    # estimate_bandwidth with default arguments gives 0 on these data
    assert estimate_bandwidth(X) == 0
    # bin seeding at a zero bandwidth is the same as no binning
    binning = mean_shift(X, bin_seeding=True)
    no_binning = mean_shift(X, bin_seeding=False)
    expected_labels = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    assert v_measure_score(binning.labels, expected_labels) == pytest.approx(1)
    assert v_measure_score(no_binning.labels, expected_labels) == pytest.approx(1)
    np.testing.assert_allclose(binning.centers, no_binning.centers)
    # and equal to sklearn's (fitted once, on the float64 copy: each fit costs about a
    # second of joblib start-up)
    np.testing.assert_allclose(no_binning.centers, _sklearn_zero_bandwidth_centres())
