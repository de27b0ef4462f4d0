"""k-means: a hand-computed answer, the fast path against the reference, sklearn on
astronaut, determinism, the sklearn-style segmenter, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvgeo.segment import KMeansSegmenter, kmeans, kmeans_segment, pixel_features
from cvgeo.segment._lloyd import _lloyd, _lloyd_reference
from cvgeo.segment.kmeans import ConvergenceWarning


def test_hand_computed_tiny_set():
    # Two pairs 10 apart horizontally; each pair 2 apart vertically. Centres are the pair
    # midpoints (0, 1) and (10, 1); every point is 1 from its centre: inertia 4 * 1^2 = 4.
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0]])
    for init in ("k-means++", "random"):
        r = kmeans(X, 2, init=init, seed=3)
        assert r.inertia == pytest.approx(4.0)
        assert sorted(map(tuple, r.centers)) == [(0.0, 1.0), (10.0, 1.0)]
        assert r.labels.dtype == np.int32
        assert r.labels[0] == r.labels[1] != r.labels[2] == r.labels[3]


def test_hand_computed_1d_three_clusters():
    # {1, 2, 3} {10, 11} {20}: means 2, 10.5, 20; inertia 1 + 0 + 1 + 0.25 * 2 + 0 = 2.5
    X = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 20.0])[:, None]
    r = kmeans(X, 3, n_init=5, seed=0)
    assert r.inertia == pytest.approx(2.5)
    np.testing.assert_allclose(np.sort(r.centers[:, 0]), [2.0, 10.5, 20.0])


def test_k_equal_n_and_k_one():
    X = np.array([[0.0], [1.0], [5.0]])
    r = kmeans(X, 3, seed=0)
    assert r.inertia == pytest.approx(0.0) and len(set(r.labels.tolist())) == 3
    r1 = kmeans(X, 1, seed=0)
    np.testing.assert_allclose(r1.centers, [[2.0]])
    assert r1.inertia == pytest.approx(4 + 1 + 9)


def test_duplicate_points_fewer_distinct_than_k():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 5, axis=0)
    with pytest.warns(ConvergenceWarning, match=r"kmeans: found 2 distinct clusters, fewer "
                                                r"than n_clusters=3"):
        r = kmeans(X, 3, seed=0)
    assert r.inertia == pytest.approx(0.0)
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    import sklearn.exceptions

    with pytest.warns(sklearn.exceptions.ConvergenceWarning, match="Number of distinct"):
        sklearn_cluster.KMeans(3, n_init=1, random_state=0).fit(X)  # the peer warns too


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 6))
def test_hamerly_matches_plain_lloyd_from_same_start(seed, k):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, 1.0, size=(40, 3)) for c in range(k)])
    centers = X[rng.choice(len(X), k, replace=False)].copy()
    fast = _lloyd(X, np.ascontiguousarray(X.T), centers, 300, 0.0)
    ref = _lloyd_reference(X, centers, 300, 0.0)
    np.testing.assert_array_equal(fast[0], ref[0])
    np.testing.assert_allclose(fast[1], ref[1], atol=1e-9)
    assert fast[2] == pytest.approx(ref[2], rel=1e-9)


def test_astronaut_inertia_within_one_percent_of_sklearn(astronaut):
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    X = pixel_features(astronaut).astype(np.float64)
    ours = kmeans(X, 8, n_init=2, seed=0)
    with threadpool_limits(1):  # oversubscribed OpenMP threads are slow on shared CI
        ref = KMeans(8, n_init=2, random_state=0).fit(X)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=0.01)
    # and our reported inertia is the true objective of our labels and centres
    true = ((X - ours.centers[ours.labels]) ** 2).sum()
    assert ours.inertia == pytest.approx(true, rel=1e-9)


def test_same_seed_same_labels(astronaut):
    img = astronaut[::4, ::4]
    a = kmeans_segment(img, 5, seed=7)
    b = kmeans_segment(img, 5, seed=7)
    np.testing.assert_array_equal(a, b)
    g1 = kmeans(pixel_features(img), 5, seed=np.random.default_rng(1))
    g2 = kmeans(pixel_features(img), 5, seed=np.random.default_rng(1))
    np.testing.assert_array_equal(g1.labels, g2.labels)


def test_kmeans_segment_known_image():
    img = np.zeros((6, 9, 3), dtype=np.uint8)
    img[:, 3:6] = (255, 0, 0)
    img[:, 6:] = (0, 0, 255)
    lab = kmeans_segment(img, 3, seed=0)
    assert lab.shape == (6, 9) and lab.dtype == np.int32
    # labels numbered by first appearance in raster order
    np.testing.assert_array_equal(lab[0], [0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert (lab == lab[0]).all()


def test_segmenter_fit_predict_and_params(astronaut):
    img = astronaut[::8, ::8]
    seg = KMeansSegmenter(n_clusters=4, space="lab", seed=1)
    assert vars(seg) == seg.get_params()  # nothing but the parameters set in __init__
    seg.fit(img)
    assert seg.centers_.shape == (4, 3) and seg.labels_.shape == img.shape[:2]
    np.testing.assert_array_equal(seg.predict(img), seg.labels_)
    assert seg.inertia_ > 0 and seg.n_iter_ >= 1
    other = seg.predict(astronaut[4::8, 4::8])  # a shifted frame, same palette
    assert other.shape == img.shape[:2] and set(np.unique(other)) <= set(range(4))
    assert seg.set_params(n_clusters=3) is seg and seg.n_clusters == 3
    import sklearn.base

    clone = sklearn.base.clone(seg)
    assert clone.get_params() == seg.get_params() and not hasattr(clone, "centers_")
    with pytest.raises(ValueError, match="KMeansSegmenter.set_params: parameter must be"):
        seg.set_params(k=3)
    with pytest.raises(ValueError, match="KMeansSegmenter.predict: the segmenter must be fitted"):
        KMeansSegmenter().predict(img)
    with pytest.raises(ValueError, match=r"KMeansSegmenter.predict: space='lab' needs an"):
        seg.predict(img[..., 0])
    auto = KMeansSegmenter(n_clusters=2).fit(img)
    with pytest.raises(ValueError, match="KMeansSegmenter.predict: image must give 3 features"):
        auto.predict(img[..., 0])


def test_bad_input():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"kmeans: n_clusters must be an int in \[1, 4\], got 5"):
        kmeans(X, 5)
    with pytest.raises(ValueError, match="kmeans: X must be finite"):
        kmeans(np.array([[0.0], [np.nan]]), 1)
    with pytest.raises(ValueError, match="kmeans: X must have shape"):
        kmeans(np.zeros(4), 1)
    with pytest.raises(TypeError, match="kmeans: X must be a numpy array"):
        kmeans([[0.0]], 1)
    with pytest.raises(ValueError, match="kmeans: init must be one of"):
        kmeans(X, 2, init="forgy")
    with pytest.raises(ValueError, match=r"kmeans: n_init must be an int in \[1, 1000\]"):
        kmeans(X, 2, n_init=0)
    with pytest.raises(ValueError, match="kmeans: tol must be >= 0"):
        kmeans(X, 2, tol=-1.0)
    with pytest.raises(ValueError, match="kmeans: seed must be a non-negative int"):
        kmeans(X, 2, seed=-1)
    with pytest.raises(ValueError, match=r"kmeans_segment: n_clusters must be an int in \[1, 6\]"):
        kmeans_segment(np.zeros((2, 3)), 7)
    with pytest.raises(ValueError, match="kmeans_segment: image must be finite"):
        kmeans_segment(np.full((2, 3), np.nan), 2)
    with pytest.raises(ValueError, match=r"KMeansSegmenter.fit: n_clusters must be an int in"):
        KMeansSegmenter(n_clusters=10).fit(np.zeros((2, 3)))


# ------------------------------------------------------------- sklearn's options
def _blobs(seed=0, n=300):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples=n, centers=4, cluster_std=1.5, random_state=seed)
    return X


def test_init_array_like_sklearn():
    """init as an array: one run from those centres; the same fixed point as sklearn's
    Lloyd from the same centres (algorithm="lloyd", n_init=1)."""
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    X = _blobs()
    C0 = X[[0, 50, 100, 150]].copy()
    ours = kmeans(X, 4, init=C0, tol=0.0)
    ref = sklearn_cluster.KMeans(4, init=C0, n_init=1, tol=0.0, algorithm="lloyd").fit(X)
    np.testing.assert_allclose(ours.centers, ref.cluster_centers_, atol=1e-9)
    np.testing.assert_array_equal(ours.labels, ref.labels_)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-12)
    with pytest.raises(ValueError, match=r"kmeans: init must be a numeric array of shape "
                                         r"\(n_clusters, n_features\) = \(4, 2\)"):
        kmeans(X, 4, init=C0[:3])
    with pytest.raises(ValueError, match="kmeans: init must be finite"):
        kmeans(X, 4, init=np.full((4, 2), np.nan))


def test_init_callable_like_sklearn():
    """A callable init(X, n_clusters, rng), as sklearn's init(X, n_clusters, random_state):
    called once per run; returning the same centres as an array init gives its result."""
    X = _blobs(1)
    calls = []

    def first_k(data, k, rng):
        calls.append((data.shape, k, isinstance(rng, np.random.Generator)))
        return data[:k] + 0.0

    r = kmeans(X, 4, init=first_k, n_init=3)
    assert calls == [((300, 2), 4, True)] * 3
    ref = kmeans(X, 4, init=X[:4].copy())
    np.testing.assert_array_equal(r.labels, ref.labels)
    assert kmeans(X, 4, init=first_k).n_iter == ref.n_iter  # "auto": 10 identical runs
    with pytest.raises(ValueError, match="kmeans: the array returned by init must be a "
                                         "numeric array of shape"):
        kmeans(X, 4, init=lambda data, k, rng: data[:2])


def test_sample_weight_like_sklearn_and_like_repeating_samples():
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    X = _blobs(2)
    w = np.random.default_rng(0).integers(1, 4, X.shape[0]).astype(np.float64)
    C0 = X[[3, 80, 160, 240]].copy()
    ours = kmeans(X, 4, init=C0, sample_weight=w, tol=0.0)
    ref = sklearn_cluster.KMeans(4, init=C0, n_init=1, tol=0.0, algorithm="lloyd").fit(
        X, sample_weight=w)
    np.testing.assert_allclose(ours.centers, ref.cluster_centers_, atol=1e-9)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-12)
    # an integer weight is that many copies of the sample
    rep = kmeans(np.repeat(X, w.astype(int), axis=0), 4, init=C0, tol=0.0)
    np.testing.assert_allclose(ours.centers, rep.centers, atol=1e-9)
    assert ours.inertia == pytest.approx(rep.inertia, rel=1e-9)
    # seeded k-means++ with weights: as good as sklearn's weighted k-means++ (10 runs each)
    pp = kmeans(X, 4, sample_weight=w, n_init=10, seed=0)
    skl = sklearn_cluster.KMeans(4, n_init=10, random_state=0).fit(X, sample_weight=w)
    assert pp.inertia <= skl.inertia_ * 1.01
    # zero weight: the sample does not move its centre
    w0 = np.ones(X.shape[0])
    w0[0] = 0.0
    far = X.copy()
    far[0] = [1e3, 1e3]
    a = kmeans(far, 4, init=C0, sample_weight=w0, tol=0.0)  # tol=0: the far sample
    b = kmeans(np.delete(far, 0, axis=0), 4, init=C0, tol=0.0)  # inflates var(X)
    np.testing.assert_allclose(a.centers, b.centers, atol=1e-8)
    r = kmeans(X, 4, init="random", sample_weight=w, seed=1)
    assert r.inertia <= skl.inertia_ * 1.05
    for bad, msg in ((np.ones(3), "shape"), (-w, ">= 0"), (np.zeros_like(w), "positive sum")):
        with pytest.raises(ValueError, match=f"kmeans: sample_weight must .*{msg}"):
            kmeans(X, 4, sample_weight=bad)
    with pytest.raises(ValueError, match="kmeans: sample_weight must be finite"):
        kmeans(X, 4, sample_weight=np.full(X.shape[0], np.nan))


def test_float32_in_float32_centres_like_sklearn():
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    X = _blobs(3).astype(np.float32)
    r = kmeans(X, 4, seed=0)
    assert r.centers.dtype == np.float32
    assert sklearn_cluster.KMeans(4, n_init=1, random_state=0).fit(X).cluster_centers_.dtype \
        == np.float32
    assert kmeans(X.astype(np.float64), 4, seed=0).centers.dtype == np.float64
    np.testing.assert_allclose(r.centers, kmeans(X.astype(np.float64), 4, seed=0).centers,
                               rtol=1e-6)


def test_k_keyword_still_works_with_a_deprecation_warning():
    X = _blobs(4)
    with pytest.warns(DeprecationWarning, match="kmeans: the keyword 'k' is deprecated.*"
                                                "use 'n_clusters'"):
        old = kmeans(X, k=3, seed=0)
    np.testing.assert_array_equal(old.labels, kmeans(X, n_clusters=3, seed=0).labels)
    img = np.zeros((4, 4), np.uint8)
    img[:, 2:] = 200
    with pytest.warns(DeprecationWarning, match="kmeans_segment: the keyword 'k'"):
        np.testing.assert_array_equal(kmeans_segment(img, k=2), kmeans_segment(img, 2))
