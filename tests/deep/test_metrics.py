"""Segmentation scores: hand-computed IoU / Dice with empty classes and ignored pixels;
instance scores through cvgeo's segmentation metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cvgeo
from deep.metrics import (
    SegmentationScores,
    confusion_matrix,
    instance_scores,
    label_instances,
    segmentation_scores,
)

NAN = float("nan")


def test_tiny_masks_by_hand_with_an_empty_class_and_ignored_pixels():
    target = np.array([[0, 0, 1],
                       [1, 255, 2]])
    pred = np.array([[0, 1, 1],
                     [1, 2, 1]])
    s = segmentation_scores(pred, target, num_classes=4, ignore_index=255)
    # counted pixels (true -> pred): 0->0, 0->1, 1->1, 1->1, 2->1; the ignored pixel's
    # prediction (2) is not a false positive of class 2
    np.testing.assert_array_equal(s.confusion, [[1, 1, 0, 0],
                                                [0, 2, 0, 0],
                                                [0, 1, 0, 0],
                                                [0, 0, 0, 0]])
    # class 0: TP 1, FP 0, FN 1; class 1: TP 2, FP 2, FN 0; class 2: TP 0, FN 1;
    # class 3: absent from both -> NaN
    np.testing.assert_allclose(s.iou, [1 / 2, 2 / 4, 0.0, NAN])
    np.testing.assert_allclose(s.dice, [2 / 3, 4 / 6, 0.0, NAN])
    np.testing.assert_allclose(s.class_accuracy, [1 / 2, 1.0, 0.0, NAN])
    assert s.mean_iou == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert s.mean_dice == pytest.approx((2 / 3 + 2 / 3 + 0.0) / 3)
    assert s.pixel_accuracy == pytest.approx(3 / 5)


def test_a_class_only_predicted_has_iou_zero_not_nan():
    s = segmentation_scores(np.array([0, 2]), np.array([0, 0]), num_classes=3)
    np.testing.assert_allclose(s.iou, [1 / 2, NAN, 0.0])
    assert s.mean_iou == pytest.approx(0.25)


def test_perfect_prediction_and_all_ignored():
    t = np.array([[0, 1], [2, 2]])
    s = segmentation_scores(t, t, num_classes=3)
    assert s.mean_iou == 1.0 and s.mean_dice == 1.0 and s.pixel_accuracy == 1.0
    s = segmentation_scores(t, np.full((2, 2), -1), num_classes=3, ignore_index=-1)
    assert np.isnan(s.mean_iou) and np.isnan(s.pixel_accuracy)
    assert s.confusion.sum() == 0


def test_confusion_matrix_agrees_with_sklearn_and_accepts_tensors():
    from sklearn.metrics import confusion_matrix as sk_confusion

    rng = np.random.default_rng(0)
    t = rng.integers(0, 5, (3, 16, 16))
    p = rng.integers(0, 5, (3, 16, 16))
    ours = confusion_matrix(torch.from_numpy(p), torch.from_numpy(t), num_classes=5)
    np.testing.assert_array_equal(ours, sk_confusion(t.ravel(), p.ravel(), labels=range(5)))
    # batches add up
    parts = sum(confusion_matrix(p[i], t[i], num_classes=5) for i in range(3))
    np.testing.assert_array_equal(parts, ours)
    s = SegmentationScores.from_confusion(ours)
    from sklearn.metrics import jaccard_score

    np.testing.assert_allclose(s.iou, jaccard_score(t.ravel(), p.ravel(), average=None))


def test_metric_errors():
    with pytest.raises(TypeError, match="confusion_matrix: pred must hold integer labels"):
        confusion_matrix(np.zeros(3), np.zeros(3, int), num_classes=2)
    with pytest.raises(TypeError, match="confusion_matrix: target must be a numpy array"):
        confusion_matrix(np.zeros(3, int), [0, 0, 0], num_classes=2)
    with pytest.raises(ValueError, match="pred must have the shape of target"):
        confusion_matrix(np.zeros(3, int), np.zeros(4, int), num_classes=2)
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 1\] or equal"):
        confusion_matrix(np.zeros(3, int), np.array([0, 5, 255]), num_classes=2,
                         ignore_index=255)
    with pytest.raises(ValueError, match=r"pred labels must lie in \[0, 1\]"):
        confusion_matrix(np.array([0, 2]), np.zeros(2, int), num_classes=2)
    with pytest.raises(ValueError, match="confusion_matrix: num_classes must be an int >= 1"):
        confusion_matrix(np.zeros(2, int), np.zeros(2, int), num_classes=0)
    with pytest.raises(ValueError, match="from_confusion: confusion must be a square"):
        SegmentationScores.from_confusion(np.ones((2, 3), int))
    with pytest.raises(ValueError, match="instance_scores: pred and true_instances must be"):
        instance_scores(np.zeros((2, 2), int), np.zeros((2, 3), int))
    with pytest.raises(ValueError, match="label_instances: connectivity must be"):
        label_instances(np.zeros((2, 2), int), connectivity=3)


def _two_touching_squares(gap: bool):
    truth = np.zeros((8, 12), np.int64)
    truth[2:6, 1:5] = 1
    truth[2:6, 6:10] = 2
    pred = (truth > 0).astype(np.int64)
    if not gap:
        pred[2:6, 5] = 1  # the gap column predicted as foreground: the objects merge
    return truth, pred


def test_instance_scores_on_connected_components():
    truth, pred = _two_touching_squares(gap=True)
    s = instance_scores(pred, truth)
    assert (s.ari, s.vi, s.boundary_recall, s.n_true, s.n_pred) == (1.0, 0.0, 1.0, 2, 2)
    truth, merged = _two_touching_squares(gap=False)
    s = instance_scores(merged, truth)
    assert (s.n_true, s.n_pred) == (2, 1)
    # the same numbers as cvgeo's metrics on the components
    comps = label_instances(merged)
    assert s.ari == cvgeo.adjusted_rand_index(truth, comps)
    assert s.vi == cvgeo.variation_of_information(truth, comps)
    # by hand: 96 pixels; truth background 64 = 60 predicted background + the 4 gap
    # pixels inside the merged component of 36 = 4 + 16 + 16
    def h(*p):
        p = np.array(p) / sum(p)
        return float(-(p * np.log2(p)).sum())

    assert s.vi == pytest.approx(64 / 96 * h(60, 4) + 36 / 96 * h(4, 16, 16))
    c2 = lambda n: n * (n - 1) / 2  # noqa: E731
    index = c2(60) + c2(4) + 2 * c2(16)
    rows, cols = c2(64) + 2 * c2(16), c2(60) + c2(36)
    expected = index - rows * cols / c2(96)
    assert s.ari == pytest.approx(expected / ((rows + cols) / 2 - rows * cols / c2(96)))
    assert s.ari < 0.8
    np.testing.assert_array_equal(s.instances, comps)


def test_label_instances_splits_classes_and_respects_connectivity():
    lab = np.array([[1, 1, 2, 0],
                    [0, 0, 0, 1],
                    [0, 0, 1, 0]])
    four = label_instances(lab, connectivity=1)
    eight = label_instances(lab, connectivity=2)
    # class 1: {(0,0),(0,1)}, {(1,3)}, {(2,2)} with 4-neighbours; the last two join with 8
    assert four.max() == 4 and eight.max() == 3
    assert four[0, 2] != four[0, 1]  # a different class is a different object
    assert eight[1, 3] == eight[2, 2] and four[1, 3] != four[2, 2]
    assert four.dtype == np.int32 and (four[lab == 0] == 0).all()


def test_instance_scores_tolerance_keyword_renamed():
    """``tolerance_px`` reaches boundary_recall; the old ``tolerance`` still works, warned."""
    truth, merged = _two_touching_squares(gap=False)
    comps = label_instances(merged)
    for tol in (0.0, 3.0):
        s = instance_scores(merged, truth, tolerance_px=tol)
        assert s.boundary_recall == cvgeo.boundary_recall(truth, comps, tolerance_px=tol)
    with pytest.warns(DeprecationWarning, match="instance_scores: the keyword 'tolerance' is "
                      "deprecated .* use 'tolerance_px'"):
        old = instance_scores(merged, truth, tolerance=0.0)
    assert old.boundary_recall == instance_scores(merged, truth, tolerance_px=0.0).boundary_recall
