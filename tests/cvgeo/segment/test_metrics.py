"""Segmentation metrics: hand cases, sklearn/skimage agreement, properties, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.metrics
import sklearn.metrics
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cvgeo.segment import (
    achievable_segmentation_accuracy,
    adjusted_rand_index,
    boundary_recall,
    undersegmentation_error,
    variation_of_information,
)

labels_pair = st.integers(1, 40).flatmap(
    lambda n: st.tuples(arrays(np.int64, n, elements=st.integers(0, 5)),
                        arrays(np.int64, n, elements=st.integers(-3, 3))))


def test_ari_hand_case():
    # true {0,1,2} {3,4,5}; pred {0,1} {2,3} {4,5}: contingency [[2,1,0],[0,1,2]]
    # index = C(2)+C(2) = 2; rows: 2*C(3)=6; cols: 3*C(2)=3; C(6)=15
    # expected = 6*3/15 = 1.2; max = 4.5 -> ARI = (2 - 1.2) / (4.5 - 1.2) = 0.8/3.3
    t = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0, 0, 1, 1, 2, 2])
    assert adjusted_rand_index(t, p) == pytest.approx(0.8 / 3.3, abs=1e-12)
    assert adjusted_rand_index(t, t + 7) == 1.0
    assert adjusted_rand_index(np.zeros(5, int), np.zeros(5, int)) == 1.0


def test_vi_hand_case():
    # true splits 4 pixels 2/2, pred is one segment: H(true|pred) = 1 bit, H(pred|true) = 0
    assert variation_of_information(np.array([0, 0, 1, 1]), np.zeros(4, int)) == pytest.approx(1)
    # independent 2x2: VI = H(A) + H(B) = 2 bits
    a = np.array([0, 0, 1, 1])
    b = np.array([0, 1, 0, 1])
    assert variation_of_information(a, b) == pytest.approx(2.0)
    assert variation_of_information(a, a * 3) == 0.0


@settings(max_examples=40, deadline=None)
@given(labels_pair)
def test_ari_and_vi_match_peers(pair):
    t, p = pair
    assert adjusted_rand_index(t, p) == pytest.approx(
        sklearn.metrics.adjusted_rand_score(t, p), abs=1e-10)
    ours_vi = variation_of_information(t.reshape(1, -1), p.reshape(1, -1))
    ref = skimage.metrics.variation_of_information(t - t.min(), p - p.min())
    assert ours_vi == pytest.approx(float(ref.sum()), abs=1e-9)
    assert adjusted_rand_index(t, p) == pytest.approx(adjusted_rand_index(p, t), abs=1e-12)


def test_ari_vi_on_real_segmentation(coins):
    """Two thresholdings of coins: same numbers as the peers on 100k pixels."""
    t = (coins > 100).astype(np.int32) + (coins > 150)
    p = (coins > 110).astype(np.int32) * 3
    assert adjusted_rand_index(t, p) == pytest.approx(
        sklearn.metrics.adjusted_rand_score(t.ravel(), p.ravel()), abs=1e-10)
    assert variation_of_information(t, p) == pytest.approx(
        float(skimage.metrics.variation_of_information(t, p).sum()), abs=1e-9)


def test_undersegmentation_and_asa_hand_cases():
    gt = np.array([0, 0, 0, 1, 1, 1])
    # segment {0,1,2,3} leaks 1 pixel into region 1: min(3, 1) + min(1, 3) = 2 -> 2/6
    pred = np.array([0, 0, 0, 0, 1, 1])
    assert undersegmentation_error(gt, pred) == pytest.approx(2 / 6)
    assert achievable_segmentation_accuracy(gt, pred) == pytest.approx(5 / 6)
    over = np.array([0, 1, 2, 3, 3, 4])  # a pure over-segmentation
    assert undersegmentation_error(gt, over) == 0.0
    assert achievable_segmentation_accuracy(gt, over) == 1.0
    one = np.zeros(6, int)  # one segment over two equal regions
    assert undersegmentation_error(gt, one) == pytest.approx(1.0)
    assert achievable_segmentation_accuracy(gt, one) == pytest.approx(0.5)


def test_boundary_recall_hand_cases():
    gt = np.zeros((5, 8), int)
    gt[:, 4:] = 1  # boundary pixels: column 3
    shifted = np.zeros((5, 8), int)
    shifted[:, 6:] = 1  # boundary at column 5, two pixels away
    assert boundary_recall(gt, shifted, tolerance_px=2) == 1.0
    assert boundary_recall(gt, shifted, tolerance_px=1.5) == 0.0
    assert boundary_recall(gt, gt, tolerance_px=0) == 1.0
    assert boundary_recall(gt, np.zeros_like(gt)) == 0.0
    assert boundary_recall(np.zeros_like(gt), shifted) == 1.0
    half = gt.copy()
    half[3:, :] = 0  # predicted boundary only in rows 0..2
    assert boundary_recall(gt, half, tolerance_px=0) == pytest.approx(3 / 5)


@settings(max_examples=30, deadline=None)
@given(labels_pair)
def test_metric_properties(pair):
    t, p = pair
    ue = undersegmentation_error(t, p)
    asa = achievable_segmentation_accuracy(t, p)
    assert 0 <= ue <= 1 and 0 < asa <= 1
    assert variation_of_information(t, p) >= 0
    perm = np.random.default_rng(0).permutation(20) + 100  # renaming labels changes nothing
    assert achievable_segmentation_accuracy(t, perm[p + 3]) == pytest.approx(asa)
    assert undersegmentation_error(t, perm[p + 3]) == pytest.approx(ue)


@pytest.mark.parametrize("func", [adjusted_rand_index, variation_of_information,
                                  undersegmentation_error, achievable_segmentation_accuracy,
                                  boundary_recall])
def test_bad_input(func):
    name = func.__name__
    a = np.zeros((3, 3), int)
    with pytest.raises(ValueError, match=f"{name}: labels_pred must have the shape"):
        func(a, np.zeros((3, 4), int))
    with pytest.raises(TypeError, match=f"{name}: labels_true must hold integer labels"):
        func(a.astype(float), a)
    with pytest.raises(TypeError, match=f"{name}: labels_pred must be a numpy array"):
        func(a, [[0]])
    with pytest.raises(ValueError, match=f"{name}: labels_true must be"):
        func(np.zeros((0, 3), int), np.zeros((0, 3), int))


def test_boundary_recall_bad_tolerance():
    with pytest.raises(ValueError, match="boundary_recall: tolerance_px must be >= 0"):
        boundary_recall(np.zeros((3, 3), int), np.zeros((3, 3), int), tolerance_px=-1)


def test_boundary_recall_old_tolerance_keyword_still_works():
    gt = np.zeros((6, 6), int)
    gt[:, 3:] = 1
    with pytest.warns(DeprecationWarning, match="boundary_recall: the keyword 'tolerance'.*"
                                                "use 'tolerance_px'"):
        assert boundary_recall(gt, np.roll(gt, 1, axis=1), tolerance=1) == \
            boundary_recall(gt, np.roll(gt, 1, axis=1), tolerance_px=1) == 1.0
