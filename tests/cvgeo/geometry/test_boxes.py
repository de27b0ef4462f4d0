"""Tests for boxes: formats, IoU / GIoU / DIoU / CIoU, clipping, NMS, soft-NMS."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cvgeo.geometry.boxes import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes,
    complete_box_iou,
    complete_box_iou_loss,
    distance_box_iou,
    distance_box_iou_loss,
    generalized_box_iou,
    generalized_box_iou_loss,
    nms,
    soft_nms,
)


def random_boxes(rng, n, *, span=200.0, size=(2.0, 60.0)):
    xy = rng.uniform(0, span, (n, 2))
    wh = rng.uniform(*size, (n, 2))
    return np.c_[xy, xy + wh]


def scalar_iou(a, b):
    """IoU of two boxes written out with Python floats (the tests' reference)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def brute_nms(boxes, scores, thr):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        if all(scalar_iou(boxes[i], boxes[k]) <= thr for k in keep):
            keep.append(i)
    return np.array(keep, dtype=np.int64)


# ----------------------------------------------------------------------------- formats
def test_convert_known_values():
    xyxy = np.array([[1.0, 2.0, 5.0, 4.0], [0.0, 0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(box_convert(xyxy, src="xyxy", dst="xywh"),
                                  [[1, 2, 4, 2], [0, 0, 0, 3]])
    np.testing.assert_array_equal(box_convert(xyxy, src="xyxy", dst="cxcywh"),
                                  [[3, 3, 4, 2], [0, 1.5, 0, 3]])
    np.testing.assert_array_equal(box_convert(np.array([[3.0, 3.0, 4.0, 2.0]]), src="cxcywh",
                                              dst="xyxy"), [[1, 2, 5, 4]])
    np.testing.assert_array_equal(box_area(xyxy), [8.0, 0.0])


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (2, 5, 4), elements=st.floats(0, 1e3)),
       st.sampled_from(["xyxy", "xywh", "cxcywh"]), st.sampled_from(["xyxy", "xywh", "cxcywh"]))
def test_convert_round_trip(raw, src, dst):
    xyxy = np.concatenate([raw[..., :2], raw[..., :2] + raw[..., 2:]], axis=-1)
    b = box_convert(xyxy, src="xyxy", dst=src)
    back = box_convert(box_convert(b, src=src, dst=dst), src=dst, dst="xyxy")
    np.testing.assert_allclose(back, xyxy, atol=1e-9)
    np.testing.assert_allclose(box_area(xyxy), raw[..., 2] * raw[..., 3], rtol=1e-9, atol=1e-6)


# ----------------------------------------------------------------------------- IoU family
def test_iou_family_hand_computed():
    a = np.array([[0.0, 0.0, 2.0, 2.0]])
    b = np.array([[1.0, 1.0, 3.0, 3.0]])
    # intersection 1, union 4 + 4 - 1 = 7, enclosing box (0,0,3,3): area 9, diagonal² 18,
    # centres (1,1) and (2,2): distance² 2, equal aspect ratios: v = 0.
    assert box_iou(a, b)[0, 0] == pytest.approx(1 / 7, abs=1e-15)
    assert generalized_box_iou(a, b)[0, 0] == pytest.approx(1 / 7 - 2 / 9, abs=1e-15)
    assert distance_box_iou(a, b)[0, 0] == pytest.approx(1 / 7 - 2 / 18, abs=1e-15)
    assert complete_box_iou(a, b)[0, 0] == pytest.approx(1 / 7 - 2 / 18, abs=1e-15)

    a = np.array([[0.0, 0.0, 4.0, 2.0]])
    b = np.array([[0.0, 0.0, 2.0, 4.0]])
    # intersection 4, union 12, enclosing (0,0,4,4): 16, diagonal² 32, centres (2,1) and
    # (1,2): distance² 2; aspect: v = 4/π² (atan(2/4) - atan(4/2))².
    iou = 1 / 3
    v = 4 / math.pi**2 * (math.atan(0.5) - math.atan(2.0)) ** 2
    alpha = v / (1 - iou + v)
    assert box_iou(a, b)[0, 0] == pytest.approx(iou, abs=1e-15)
    assert generalized_box_iou(a, b)[0, 0] == pytest.approx(iou - 4 / 16, abs=1e-15)
    assert distance_box_iou(a, b)[0, 0] == pytest.approx(iou - 2 / 32, abs=1e-15)
    assert complete_box_iou(a, b)[0, 0] == pytest.approx(iou - 2 / 32 - alpha * v, abs=1e-15)

    # disjoint: IoU 0, GIoU -(3 - 2) / 3, DIoU -(2² / (3² + 1²))
    a = np.array([[0.0, 0.0, 1.0, 1.0]])
    b = np.array([[2.0, 0.0, 3.0, 1.0]])
    assert box_iou(a, b)[0, 0] == 0.0
    assert generalized_box_iou(a, b)[0, 0] == pytest.approx(-1 / 3, abs=1e-15)
    assert distance_box_iou(a, b)[0, 0] == pytest.approx(-4 / 10, abs=1e-15)
    # identical boxes
    for f in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        assert f(a, a)[0, 0] == 1.0


def test_zero_area_boxes_are_zero_never_nan():
    pts = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 4.0], [0.0, 0.0, 2.0, 2.0]])
    for f in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        m = f(pts, pts)
        assert np.isfinite(m).all()
    iou = box_iou(pts, pts)
    np.testing.assert_array_equal(iou[:2, :2], 0.0)  # documented: zero-area IoU is 0
    assert iou[2, 2] == 1.0 and iou[0, 2] == 0.0
    # a point box against itself: enclosing area and diagonal are 0, so no penalty
    assert generalized_box_iou(pts[:1], pts[:1])[0, 0] == 0.0
    assert distance_box_iou(pts[:1], pts[:1])[0, 0] == 0.0
    assert complete_box_iou(pts[:1], pts[:1])[0, 0] == 0.0


def test_pairwise_matches_scalar_reference_and_bounds(rng):
    a, b = random_boxes(rng, 30), random_boxes(rng, 20)
    m = box_iou(a, b)
    ref = np.array([[scalar_iou(x, y) for y in b] for x in a])
    np.testing.assert_allclose(m, ref, rtol=0, atol=1e-15)
    assert 0 < (m > 0).mean() < 1  # the case has both overlaps and misses
    g, d, c = generalized_box_iou(a, b), distance_box_iou(a, b), complete_box_iou(a, b)
    assert (g <= m + 1e-15).all() and (g >= -1).all()
    assert (d <= m + 1e-15).all() and (d >= -1).all() and (c <= d + 1e-15).all()
    # batched: (2, N, 4) x (2, M, 4) -> (2, N, M), each slice as alone
    batched = box_iou(np.stack([a, a[::-1]]), np.stack([b, b]))
    assert batched.shape == (2, 30, 20)
    np.testing.assert_array_equal(batched[1], m[::-1])


def test_losses_and_reductions(rng):
    a, b = random_boxes(rng, 12), random_boxes(rng, 12)
    g = generalized_box_iou_loss(a, b)
    np.testing.assert_allclose(g, 1 - np.diag(generalized_box_iou(a, b)), atol=1e-15)
    np.testing.assert_allclose(distance_box_iou_loss(a, b), 1 - np.diag(distance_box_iou(a, b)),
                               atol=1e-15)
    np.testing.assert_allclose(complete_box_iou_loss(a, b, reduction="sum"),
                               (1 - np.diag(complete_box_iou(a, b))).sum(), rtol=1e-12)
    assert generalized_box_iou_loss(a, b, reduction="mean") == pytest.approx(g.mean())
    assert generalized_box_iou_loss(a[:0], b[:0], reduction="mean") == 0.0
    assert (generalized_box_iou_loss(a, a) == 0).all()


def test_torch_matches_numpy_and_has_finite_gradients(rng):
    torch = pytest.importorskip("torch")
    a, b = random_boxes(rng, 10), random_boxes(rng, 10)
    a[0] = [5.0, 5.0, 5.0, 9.0]  # a zero-width box: must not poison the gradients
    b[1] = a[1]
    for f in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
        np.testing.assert_allclose(f(torch.tensor(a), torch.tensor(b)).numpy(), f(a, b),
                                   atol=1e-14)
    ta = torch.tensor(a, requires_grad=True)
    for loss in (generalized_box_iou_loss, distance_box_iou_loss, complete_box_iou_loss):
        ta.grad = None
        loss(ta, torch.tensor(b), reduction="sum").backward()
        assert torch.isfinite(ta.grad).all() and ta.grad.abs().sum() > 0
    # float32 tensors stay float32
    assert box_iou(torch.tensor(a, dtype=torch.float32), torch.tensor(b)).dtype == torch.float32


def test_giou_loss_gradient_matches_finite_differences(rng):
    torch = pytest.importorskip("torch")
    a = torch.tensor(random_boxes(rng, 4), requires_grad=True)
    b = torch.tensor(random_boxes(rng, 4))
    assert torch.autograd.gradcheck(lambda x: generalized_box_iou_loss(x, b), (a,))
    assert torch.autograd.gradcheck(lambda x: distance_box_iou_loss(x, b), (a,))


def test_clip_boxes():
    b = np.array([[-3.0, 2.0, 12.0, 4.0], [20.0, 20.0, 30.0, 30.0]])
    np.testing.assert_array_equal(clip_boxes(b, image_shape=(8, 10)),
                                  [[-0.5, 2, 9.5, 4], [9.5, 7.5, 9.5, 7.5]])


def test_box_errors():
    with pytest.raises(ValueError, match=r"box_iou: boxes1 must have x1 <= x2 and y1 <= y2 "
                                         r"\(format 'xyxy'\), got 1 box\(es\) with x2 < x1 or "
                                         r"y2 < y1, the first at index \(1,\)"):
        box_iou(np.array([[0.0, 0, 1, 1], [2.0, 0, 1, 1]]), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="box_convert: boxes must have non-negative width"):
        box_convert(np.array([[0.0, 0, -1, 1]]), src="xywh", dst="xyxy")
    with pytest.raises(ValueError, match="box_convert: src must be one of"):
        box_convert(np.zeros((1, 4)), src="xy", dst="xyxy")
    with pytest.raises(ValueError, match=r"box_area: boxes must have shape \(\.\.\., N, 4\)"):
        box_area(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="box_iou: boxes2 must be finite"):
        box_iou(np.zeros((1, 4)), np.array([[0.0, 0.0, np.nan, 1.0]]))
    with pytest.raises(TypeError, match="box_iou: boxes1 must be a numpy array"):
        box_iou([[0, 0, 1, 1]], np.zeros((1, 4)))
    with pytest.raises(ValueError, match="box_iou: boxes1 and boxes2 must have the same lead"):
        box_iou(np.zeros((2, 3, 4)), np.zeros((3, 3, 4)))
    with pytest.raises(ValueError, match="generalized_box_iou_loss: boxes1 and boxes2 must "
                                         "have the same shape"):
        generalized_box_iou_loss(np.zeros((2, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="generalized_box_iou_loss: reduction must be one of"):
        generalized_box_iou_loss(np.zeros((2, 4)), np.zeros((2, 4)), reduction="avg")
    with pytest.raises(ValueError, match=r"clip_boxes: image_shape must be a pair"):
        clip_boxes(np.zeros((1, 4)), image_shape=5)
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="box_iou: boxes1 and boxes2 must both be numpy arrays "
                                        "or both torch tensors"):
        box_iou(np.zeros((1, 4)), torch.zeros(1, 4))


# ----------------------------------------------------------------------------- NMS
@pytest.mark.parametrize("seed,thr", [(0, 0.3), (1, 0.5), (2, 0.7), (3, 0.0)])
def test_nms_equals_opencv_and_brute_force(seed, thr):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(seed)
    b = random_boxes(rng, 400)
    s = rng.uniform(0.01, 1.0, 400)
    keep = nms(b, s, iou_threshold=thr)
    np.testing.assert_array_equal(keep, brute_nms(b, s, thr))
    xywh = box_convert(b, src="xyxy", dst="xywh")
    ref = np.asarray(cv2.dnn.NMSBoxes(xywh, s, 0.0, thr)).ravel()
    np.testing.assert_array_equal(keep, ref)
    assert 5 < keep.size < 400 and keep.dtype == np.int64
    # kept boxes overlap each other by at most the threshold; scores descend
    iou = box_iou(b[keep], b[keep])
    np.fill_diagonal(iou, 0)
    assert iou.max() <= thr and (np.diff(s[keep]) <= 0).all()


def test_nms_ties_keep_input_order_like_opencv():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(7)
    b = random_boxes(rng, 300)
    s = np.round(rng.uniform(0.1, 1.0, 300), 1)  # 10 distinct scores: many ties
    keep = nms(b, s, iou_threshold=0.4)
    np.testing.assert_array_equal(keep, brute_nms(b, s, 0.4))
    ref = np.asarray(cv2.dnn.NMSBoxes(box_convert(b, src="xyxy", dst="xywh"), s, 0.0, 0.4))
    np.testing.assert_array_equal(keep, ref.ravel())
    # two identical boxes with equal scores: the lower index wins
    twin = np.array([[0.0, 0, 10, 10], [0.0, 0, 10, 10]])
    np.testing.assert_array_equal(nms(twin, np.array([0.5, 0.5]), iou_threshold=0.5), [0])


def test_nms_threshold_is_strict_and_zero_area_boxes_survive():
    b = np.array([[0.0, 0, 2, 1], [1.0, 0, 3, 1], [5, 5, 5, 5], [5, 5, 5, 5]])
    s = np.array([0.9, 0.8, 0.7, 0.6])
    # IoU of the first two is exactly 1/3: dropped only when the threshold is below it
    np.testing.assert_array_equal(nms(b, s, iou_threshold=1 / 3), [0, 1, 2, 3])
    np.testing.assert_array_equal(nms(b, s, iou_threshold=0.33), [0, 2, 3])
    assert nms(b[:0], s[:0], iou_threshold=0.5).shape == (0,)


def test_nms_torch_path_equals_numpy_path(rng):
    torch = pytest.importorskip("torch")
    b, s = random_boxes(rng, 500), rng.uniform(size=500)
    keep_t = nms(torch.tensor(b, requires_grad=True), torch.tensor(s), iou_threshold=0.45)
    assert keep_t.dtype == torch.int64
    np.testing.assert_array_equal(keep_t.numpy(), nms(b, s, iou_threshold=0.45))


def test_batched_nms_equals_opencv_and_per_class(rng):
    cv2 = pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    b, s = random_boxes(rng, 400), rng.uniform(0.01, 1.0, 400)
    labels = rng.integers(0, 4, 400)
    keep = batched_nms(b, s, labels, iou_threshold=0.5)
    ref = np.asarray(cv2.dnn.NMSBoxesBatched(box_convert(b, src="xyxy", dst="xywh"), s, labels,
                                             0.0, 0.5)).ravel()
    np.testing.assert_array_equal(keep, ref)
    per_class = np.concatenate([np.flatnonzero(labels == c)[brute_nms(b[labels == c],
                                                                      s[labels == c], 0.5)]
                                for c in range(4)])
    np.testing.assert_array_equal(np.sort(keep), np.sort(per_class))
    assert keep.size > nms(b, s, iou_threshold=0.5).size  # classes do not suppress each other
    keep_t = batched_nms(torch.tensor(b), torch.tensor(s), torch.tensor(labels),
                         iou_threshold=0.5)
    np.testing.assert_array_equal(keep_t.numpy(), keep)


def test_soft_nms_known_values():
    b = np.array([[0.0, 0, 10, 10], [0.0, 0, 10, 5], [20.0, 20, 30, 30]])
    s = np.array([0.9, 0.8, 0.3])
    r = soft_nms(b, s, method="linear", iou_threshold=0.3)  # IoU(0, 1) = 0.5
    np.testing.assert_array_equal(r.indices, [0, 1, 2])
    np.testing.assert_allclose(r.scores, [0.9, 0.4, 0.3])
    r = soft_nms(b, s, method="linear", iou_threshold=0.6)  # 0.5 is not above 0.6: no decay
    np.testing.assert_allclose(r.scores, [0.9, 0.8, 0.3])
    r = soft_nms(b, s, method="gaussian", sigma=0.5)
    # box 1 decays to 0.8 exp(-0.25 / 0.5) = 0.485 > 0.3: picked second
    np.testing.assert_array_equal(r.indices, [0, 1, 2])
    np.testing.assert_allclose(r.scores, [0.9, 0.8 * math.exp(-0.5), 0.3])
    r = soft_nms(b, s, method="gaussian", sigma=0.5, score_threshold=0.5)
    np.testing.assert_array_equal(r.indices, [0])


def test_soft_nms_torch_equals_numpy_and_hard_limit(rng):
    torch = pytest.importorskip("torch")
    b, s = random_boxes(rng, 300), rng.uniform(size=300)
    for method in ("linear", "gaussian"):
        r = soft_nms(b, s, method=method, score_threshold=0.05)
        rt = soft_nms(torch.tensor(b), torch.tensor(s), method=method, score_threshold=0.05)
        np.testing.assert_array_equal(rt.indices.numpy(), r.indices)
        np.testing.assert_allclose(rt.scores.numpy(), r.scores, rtol=1e-12)
        assert (r.scores >= 0.05).all() and (np.diff(r.scores) <= 1e-15).all()
    # linear soft-NMS with a huge decay ... a score threshold of 1 leaves nothing
    assert soft_nms(b, s, score_threshold=1.0).indices.size == 0


def test_nms_errors():
    b = np.array([[0.0, 0, 1, 1], [0.0, 0, 2, 2]])
    with pytest.raises(ValueError, match=r"nms: scores must have shape \(2,\) \(one per box\)"):
        nms(b, np.ones(3), iou_threshold=0.5)
    with pytest.raises(ValueError, match="nms: scores must be finite"):
        nms(b, np.array([1.0, np.nan]), iou_threshold=0.5)
    with pytest.raises(ValueError, match=r"nms: iou_threshold must be in \[0.0, 1.0\], got 1.5"):
        nms(b, np.ones(2), iou_threshold=1.5)
    with pytest.raises(ValueError, match=r"nms: boxes must have shape \(N, 4\)"):
        nms(b[None], np.ones(2), iou_threshold=0.5)
    with pytest.raises(TypeError, match="batched_nms: labels must be integers"):
        batched_nms(b, np.ones(2), np.ones(2), iou_threshold=0.5)
    with pytest.raises(ValueError, match=r"batched_nms: labels must have shape \(2,\)"):
        batched_nms(b, np.ones(2), np.ones(3, int), iou_threshold=0.5)
    with pytest.raises(ValueError, match="soft_nms: method must be one of 'linear', 'gaussian'"):
        soft_nms(b, np.ones(2), method="hard")
    with pytest.raises(ValueError, match=r"soft_nms: sigma must be > 0.0"):
        soft_nms(b, np.ones(2), sigma=0.0)
