"""Detection foundations: anchors, box coder, matchers, focal loss, VOC / COCO metrics."""

from __future__ import annotations

import contextlib
import io
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cvgeo.geometry.boxes import box_area, box_convert
from deep.models.detection import (
    BoxCoder,
    Detections,
    GroundTruth,
    HungarianMatcher,
    Matcher,
    anchors_per_cell,
    evaluate_coco,
    evaluate_voc,
    grid_anchors,
    hard_negative_mining,
    plot_precision_recall,
    precision_recall_image,
    sigmoid_focal_loss,
    ssd_default_boxes,
    voc_ap,
)


# ----------------------------------------------------------------------------- anchors
def test_grid_anchors_layout_sizes_and_ratios():
    a = grid_anchors([(4, 5), (2, 3)], image_shape=(32, 40), sizes=[[8.0, 16.0], [24.0]],
                     aspect_ratios=[0.5, 1.0, 2.0], dtype=torch.float64)
    assert a.shape == (4 * 5 * 6 + 2 * 3 * 3, 4)
    lvl0 = a[:120].reshape(4, 5, 6, 4)  # (rows, cols, anchors, xyxy)
    centres = (lvl0[..., :2] + lvl0[..., 2:]) / 2
    # stride 8 on both axes: cell (r, c) centred at (8c + 3.5, 8r + 3.5)
    torch.testing.assert_close(centres[2, 3, 0], torch.tensor([27.5, 19.5], dtype=torch.float64))
    assert torch.allclose(centres[2, 3], centres[2, 3, :1].expand(6, 2))
    wh = lvl0[0, 0, :, 2:] - lvl0[0, 0, :, :2]
    torch.testing.assert_close(wh[:, 0] * wh[:, 1],
                               torch.tensor([64.0] * 3 + [256.0] * 3, dtype=torch.float64))
    torch.testing.assert_close(wh[:, 0] / wh[:, 1],
                               torch.tensor([0.5, 1, 2] * 2, dtype=torch.float64))
    # level 1: stride (16, 13.33...), first cell centre
    c = (a[120, :2] + a[120, 2:]) / 2
    torch.testing.assert_close(c, torch.tensor([40 / 6 - 0.5, 7.5], dtype=torch.float64))
    torch.testing.assert_close(anchors_per_cell([8.0], [1.0, 4.0]),
                               torch.tensor([[8.0, 8.0], [16.0, 4.0]], dtype=torch.float64))


def test_ssd_default_boxes_count_and_scales():
    shapes = [(38, 38), (19, 19), (10, 10), (5, 5), (3, 3), (1, 1)]
    ratios = [[2], [2, 3], [2, 3], [2, 3], [2], [2]]
    b = ssd_default_boxes(shapes, image_shape=(300, 300), aspect_ratios=ratios,
                          dtype=torch.float64)
    assert b.shape == (8732, 4)  # SSD300's famous number of default boxes
    assert b.min() >= -0.5 and b.max() <= 299.5  # clipped to the image
    # level 2 (10x10, scale 0.2 + 0.7 * 2/5 = 0.48), cell (5, 5), its 6 boxes
    start = 38 * 38 * 4 + 19 * 19 * 6
    cell = b[start + (5 * 10 + 5) * 6: start + (5 * 10 + 5) * 6 + 6]
    wh = cell[:, 2:] - cell[:, :2]
    s, s_next = 0.48, 0.62
    expected = [[s, s], [math.sqrt(s * s_next)] * 2, [s * math.sqrt(2), s / math.sqrt(2)],
                [s / math.sqrt(2), s * math.sqrt(2)], [s * math.sqrt(3), s / math.sqrt(3)],
                [s / math.sqrt(3), s * math.sqrt(3)]]
    torch.testing.assert_close(wh, torch.tensor(expected, dtype=torch.float64) * 300)
    torch.testing.assert_close((cell[:, :2] + cell[:, 2:]) / 2,
                               torch.full((6, 2), 5.5 * 30 - 0.5, dtype=torch.float64))


def test_anchor_errors():
    with pytest.raises(ValueError, match=r"grid_anchors: sizes must hold one list of sizes per "
                                         r"level \(2\)"):
        grid_anchors([(2, 2), (1, 1)], image_shape=(8, 8), sizes=[[4.0]])
    with pytest.raises(ValueError, match="grid_anchors: feature_shapes must hold"):
        grid_anchors([(2, 0)], image_shape=(8, 8), sizes=[[4.0]])
    with pytest.raises(ValueError, match="anchors_per_cell: aspect_ratios must hold positive"):
        anchors_per_cell([4.0], [0.0])
    with pytest.raises(ValueError, match="ssd_default_boxes: min_scale must be <= max_scale"):
        ssd_default_boxes([(2, 2)], image_shape=(8, 8), min_scale=0.9, max_scale=0.2)
    with pytest.raises(ValueError, match=r"ssd_default_boxes: image_shape must be a pair"):
        ssd_default_boxes([(2, 2)], image_shape=(8,))


# ----------------------------------------------------------------------------- coder
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1),
       st.sampled_from([(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 3.0, 0.5, 7.0)]))
def test_encode_decode_identity(seed, weights):
    rng = np.random.default_rng(seed)
    axy = rng.uniform(-50, 500, (64, 2))
    awh = rng.uniform(1, 300, (64, 2))
    anchors = torch.tensor(np.c_[axy, axy + awh])
    # sizes up to 20x the anchor's either way: inside the decoder's clamp, log(1000 / 16)
    xy = rng.uniform(-50, 500, (64, 2))
    boxes = torch.tensor(np.c_[xy, xy + awh * np.exp(rng.uniform(-3, 3, (64, 2)))])
    coder = BoxCoder(weights=weights)
    back = coder.decode(coder.encode(boxes, anchors), anchors)
    assert (back - boxes).abs().max() < 1e-6


def test_coder_known_values_clamp_and_clip():
    coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    d = coder.encode(torch.tensor([[1.0, 2.0, 11.0, 22.0]]), a)
    torch.testing.assert_close(d, torch.tensor([[1.0, 7.0, 0.0, 5 * math.log(2)]]))
    # a huge predicted log-size is clamped at log(1000 / 16): width 10 * 62.5
    big = coder.decode(torch.tensor([[0.0, 0.0, 1e4, 0.0]]), a)
    assert torch.isfinite(big).all()
    assert float(big[0, 2] - big[0, 0]) == pytest.approx(625.0)
    clipped = BoxCoder().decode(torch.tensor([[0.0, 0.0, 1.0, 0.0]]), a, image_shape=(8, 8))
    torch.testing.assert_close(clipped, torch.tensor([[-0.5, 0.0, 7.5, 10.0]]).clamp(max=7.5))
    # broadcasting: deltas (2, 3, 4) against anchors (3, 4)
    anchors = torch.tensor([[0.0, 0, 4, 4], [1.0, 1, 5, 9], [2.0, 3, 4, 5]])
    assert coder.decode(torch.zeros(2, 3, 4), anchors).shape == (2, 3, 4)
    torch.testing.assert_close(coder.decode(torch.zeros(2, 3, 4), anchors)[1], anchors)


def test_coder_errors():
    coder = BoxCoder()
    with pytest.raises(ValueError, match=r"BoxCoder.encode: anchors must have positive width "
                                         r"and height"):
        coder.encode(torch.tensor([[0.0, 0, 1, 1]]), torch.tensor([[0.0, 0, 0, 1]]))
    with pytest.raises(ValueError, match=r"BoxCoder.decode: deltas must be a tensor \(\.\.\., 4\)"):
        coder.decode(torch.zeros(3), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="BoxCoder: weights must be 4 positive numbers"):
        BoxCoder(weights=(1.0, 1.0, 0.0, 1.0))


# ----------------------------------------------------------------------------- matchers
def test_matcher_thresholds_and_low_quality():
    q = torch.tensor([[0.9, 0.5, 0.1, 0.3, 0.0],
                      [0.2, 0.6, 0.0, 0.35, 0.0],
                      [0.0, 0.0, 0.25, 0.0, 0.0]])
    m = Matcher(high_threshold=0.7, low_threshold=0.3)
    assert m(q).tolist() == [0, -2, -1, -2, -1]
    m = Matcher(high_threshold=0.7, low_threshold=0.3, allow_low_quality_matches=True)
    # gt 1 claims anchor 1 (0.6), gt 2 claims anchor 2 (0.25 < low): both become matches
    assert m(q).tolist() == [0, 1, 2, -2, -1]
    # ties: both anchors of a tied best quality are claimed; among tied gts the first wins
    q = torch.tensor([[0.4, 0.4, 0.1], [0.4, 0.2, 0.1]])
    assert Matcher(high_threshold=0.5, low_threshold=0.5,
                   allow_low_quality_matches=True)(q).tolist() == [0, 0, -1]
    # a ground truth that overlaps nothing claims nothing
    assert Matcher(high_threshold=0.5, low_threshold=0.3, allow_low_quality_matches=True)(
        torch.zeros(2, 3)).tolist() == [-1, -1, -1]
    assert Matcher(high_threshold=0.5, low_threshold=0.3)(torch.zeros(0, 4)).tolist() == [-1] * 4
    with pytest.raises(ValueError, match="Matcher: thresholds must satisfy 0 <= low_threshold"):
        Matcher(high_threshold=0.3, low_threshold=0.5)
    with pytest.raises(ValueError, match=r"Matcher: quality must be a tensor \(G, A\)"):
        Matcher(high_threshold=0.5, low_threshold=0.3)(torch.zeros(3))


def test_hard_negative_mining():
    loss = torch.tensor([[0.1, 0.9, 0.5, 0.7, 0.2, 0.8, 0.95, 0.3],
                         [0.5, 0.5, 0.5, 0.1, 0.5, 0.5, 0.5, 0.5],
                         [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]])
    labels = torch.tensor([[2, 0, 0, 0, 0, 0, -1, 0],   # 1 positive: 3 negatives
                           [0, 0, 0, 1, 0, 0, 0, 0],    # ties: lower indices first
                           [0, 0, 0, 0, 0, 0, 0, 0]])   # no positive: nothing
    mask = hard_negative_mining(loss, labels)
    assert mask.int().tolist() == [[1, 1, 0, 1, 0, 1, 0, 0],
                                   [1, 1, 1, 1, 0, 0, 0, 0],
                                   [0, 0, 0, 0, 0, 0, 0, 0]]
    # more asked than available: every negative
    m = hard_negative_mining(loss[:1], labels[:1], neg_pos_ratio=10)
    assert m.int().tolist() == [[1, 1, 1, 1, 1, 1, 0, 1]]
    with pytest.raises(ValueError, match="hard_negative_mining: labels must be a tensor of the"):
        hard_negative_mining(loss, labels[:2])


def test_hungarian_matcher_known_assignment_and_optimality():
    torch.manual_seed(0)
    targets = torch.tensor([[0.2, 0.2, 0.1, 0.1], [0.7, 0.3, 0.2, 0.3], [0.5, 0.8, 0.3, 0.1]])
    labels = torch.tensor([2, 0, 1])
    # query q predicts target perm[q] (slightly perturbed, right class); query 3 predicts noise
    perm = [2, 0, 1]
    boxes = torch.cat([targets[perm] + 0.01, torch.tensor([[0.9, 0.9, 0.05, 0.05]])])
    logits = torch.full((4, 4), -3.0)
    for q, t in enumerate(perm):
        logits[q, labels[t]] = 3.0
    matcher = HungarianMatcher()
    (r,) = matcher(logits[None], boxes[None], [labels], [targets])
    assert r.pred_indices.tolist() == [0, 1, 2]
    assert r.target_indices.tolist() == perm
    # optimal against brute force on random costs
    logits, boxes = torch.randn(1, 5, 4), torch.rand(1, 5, 4) * 0.5 + 0.1
    (r,) = matcher(logits, boxes, [labels], [targets])
    cost = matcher.cost_matrix(logits[0], boxes[0], labels, targets)
    best = min(sum(float(cost[q, t]) for t, q in enumerate(qs))
               for qs in itertools.permutations(range(5), 3))
    assert float(cost[r.pred_indices, r.target_indices].sum()) == pytest.approx(best, abs=1e-9)
    # the cost's parts, checked for one pair
    prob = logits[0].softmax(-1)
    q, t = 1, 2
    xyxy = box_convert(torch.stack([boxes[0, q], targets[t]]), src="cxcywh", dst="xyxy")
    from cvgeo.geometry.boxes import generalized_box_iou
    expected = (-prob[q, labels[t]] + 5 * (boxes[0, q] - targets[t]).abs().sum()
                - 2 * generalized_box_iou(xyxy[:1], xyxy[1:])[0, 0])
    assert float(cost[q, t]) == pytest.approx(float(expected), abs=1e-6)
    # no targets
    (r,) = matcher(logits, boxes, [torch.zeros(0, dtype=torch.int64)], [torch.zeros(0, 4)])
    assert r.pred_indices.numel() == 0
    with pytest.raises(ValueError, match=r"HungarianMatcher: target_labels\[0\] must be in"):
        matcher(logits, boxes, [torch.tensor([4])], [targets[:1]])


def test_sigmoid_focal_loss():
    x = torch.linspace(-6, 6, 13, dtype=torch.float64)
    y = (torch.arange(13) % 2).double()
    torch.testing.assert_close(sigmoid_focal_loss(x, y, alpha=None, gamma=0.0),
                               F.binary_cross_entropy_with_logits(x, y, reduction="none"))
    p = torch.sigmoid(x)
    p_t = torch.where(y == 1, p, 1 - p)
    expected = -torch.where(y == 1, 0.25, 0.75) * (1 - p_t) ** 2 * torch.log(p_t)
    torch.testing.assert_close(sigmoid_focal_loss(x, y), expected)
    assert float(sigmoid_focal_loss(x, y, reduction="sum")) == pytest.approx(float(expected.sum()))
    # easy examples are down-weighted: a confident right answer costs far less than in BCE
    easy = sigmoid_focal_loss(torch.tensor([5.0]), torch.tensor([1.0]), alpha=None)
    assert float(easy) < 1e-4 * float(F.softplus(torch.tensor(-5.0)))
    z = torch.tensor([80.0, -80.0], requires_grad=True)
    sigmoid_focal_loss(z, torch.tensor([0.0, 1.0]), reduction="mean").backward()
    assert torch.isfinite(z.grad).all()
    with pytest.raises(ValueError, match=r"sigmoid_focal_loss: alpha must be in \[0, 1\]"):
        sigmoid_focal_loss(x, y, alpha=2.0)


# ----------------------------------------------------------------------------- VOC
def voc_case():
    g = [GroundTruth(np.array([[0.0, 0, 10, 10], [20, 20, 30, 30]]), np.array([0, 0])),
         GroundTruth(np.array([[0.0, 0, 10, 10], [50, 50, 60, 60]]), np.array([0, 0]),
                     difficult=np.array([False, True]))]
    d = [Detections(np.array([[0.0, 0, 10, 10], [1, 0, 11, 10], [100, 100, 110, 110]]),
                    np.array([0.9, 0.8, 0.5]), np.array([0, 0, 0])),
         Detections(np.array([[50.0, 50, 60, 60], [0, 0, 10, 10]]), np.array([0.7, 0.6]),
                    np.array([0, 0]))]
    return d, g


def test_voc_ap_hand_computed():
    d, g = voc_case()
    # ranked: TP, FP (duplicate of the same object), ignored (difficult), TP, FP;
    # 3 non-difficult objects: recall 1/3, 1/3, 2/3, 2/3; precision 1, 1/2, 2/3, 1/2.
    r = evaluate_voc(d, g)
    np.testing.assert_allclose(r.recall[0], [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(r.precision[0], [1, 1 / 2, 2 / 3, 1 / 2])
    assert r.ap[0] == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3)  # all points: 5/9
    assert r.map == pytest.approx(5 / 9)
    r11 = evaluate_voc(d, g, method="11_points")
    assert r11.ap[0] == pytest.approx((4 * 1 + 3 * 2 / 3) / 11)  # t=0..0.3: 1; t=0.4..0.6: 2/3
    # with a stricter threshold the shifted duplicate (IoU 9/11) still counts as a hit
    assert evaluate_voc(d, g, iou_threshold=0.85).ap[0] == pytest.approx(5 / 9)
    assert voc_ap(np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3])) == pytest.approx(5 / 6)


def test_voc_classes_without_ground_truth_are_nan_and_perfect_is_one():
    d, g = voc_case()
    d = d + [Detections(np.array([[0.0, 0, 5, 5]]), np.array([0.3]), np.array([7]))]
    g = g + [GroundTruth(np.zeros((0, 4)), np.zeros(0, np.int64))]
    r = evaluate_voc(d, g)
    assert r.classes.tolist() == [0, 7] and np.isnan(r.ap[1]) and r.map == pytest.approx(5 / 9)
    perfect = [Detections(x.boxes, np.ones(len(x.boxes)), x.labels) for x in g[:1]]
    assert evaluate_voc(perfect, g[:1]).map == 1.0


# ----------------------------------------------------------------------------- COCO
def coco_case(seed, n_img=10, n_cls=3):
    """Random truths and detections (jittered truths, random boxes, wrong labels)."""
    rng = np.random.default_rng(seed)
    dets, gts = [], []
    for _ in range(n_img):
        m = int(rng.integers(0, 8))
        xy = rng.uniform(0, 300, (m, 2))
        wh = rng.uniform(4, 150, (m, 2))
        gl = rng.integers(0, n_cls, m)
        k = int(rng.integers(0, 3 * m + 5))
        src = rng.integers(0, max(m, 1), k)
        base_xy = xy[src] if m else rng.uniform(0, 300, (k, 2))
        base_wh = wh[src] if m else rng.uniform(4, 150, (k, 2))
        dxy = base_xy + rng.normal(0, 8, (k, 2))
        dwh = base_wh * rng.uniform(0.7, 1.3, (k, 2))
        rnd = rng.uniform(size=k) < 0.3
        dxy[rnd] = rng.uniform(0, 300, (int(rnd.sum()), 2))
        dl = np.where(rng.uniform(size=k) < 0.85, gl[src] if m else 0, rng.integers(0, n_cls, k))
        dets.append(Detections(np.c_[dxy, dxy + dwh], rng.uniform(size=k), dl))
        gts.append(GroundTruth(np.c_[xy, xy + wh], gl))
    return dets, gts


def pycocotools_eval(dets, gts, n_cls, **params):
    coco_mod = pytest.importorskip("pycocotools.coco")
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    ann, res, aid = [], [], 1
    for i, (d, g) in enumerate(zip(dets, gts)):
        for b, lab in zip(g.boxes, g.labels):
            w, h = b[2] - b[0], b[3] - b[1]
            ann.append(dict(id=aid, image_id=i, category_id=int(lab),
                            bbox=[b[0], b[1], w, h], area=w * h, iscrowd=0))
            aid += 1  # ids from 1: pycocotools reads a match to id 0 as no match
        for b, lab, s in zip(d.boxes, d.labels, d.scores):
            res.append(dict(image_id=i, category_id=int(lab), score=float(s),
                            bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]]))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = coco_mod.COCO()
        gt.dataset = dict(images=[dict(id=i) for i in range(len(gts))], annotations=ann,
                          categories=[dict(id=c) for c in range(n_cls)])
        gt.createIndex()
        E = cocoeval.COCOeval(gt, gt.loadRes(res), "bbox")
        for k, v in params.items():
            setattr(E.params, k, v)
        E.evaluate()
        E.accumulate()
        E.summarize()
    return E


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coco_map_equals_pycocotools(seed):
    dets, gts = coco_case(seed)
    ref = pycocotools_eval(dets, gts, 3)
    ours = evaluate_coco(dets, gts, classes=range(3))
    np.testing.assert_allclose(ours.stats, ref.stats, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.precision, ref.eval["precision"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.recall, ref.eval["recall"], rtol=0, atol=1e-6)
    assert 0.02 < ours.map < 0.6 and ours.map_50 > ours.map  # a case with hits and misses
    assert (ours.stats[3:6] > -1).sum() >= 2  # several area ranges are populated


def test_coco_custom_max_dets_equal_pycocotools():
    dets, gts = coco_case(5, n_img=6)
    ref = pycocotools_eval(dets, gts, 3, maxDets=[2, 5, 8])
    ours = evaluate_coco(dets, gts, classes=range(3), max_dets=(2, 5, 8))
    # pycocotools' summary looks up AP@[.5:.95] at a hard-coded maxDets=100 and prints -1
    # when 100 is not among maxDets; ours reports it at the largest max_dets, as its
    # AP50 and AP75 do.
    assert ref.stats[0] == -1
    np.testing.assert_allclose(ours.stats[1:], ref.stats[1:], rtol=0, atol=1e-6)
    assert ours.map == pytest.approx(ref.eval["precision"][..., 0, -1][
        ref.eval["precision"][..., 0, -1] > -1].mean(), abs=1e-12)
    np.testing.assert_allclose(ours.precision, ref.eval["precision"], rtol=0, atol=1e-6)


def test_coco_perfect_and_per_class():
    _, gts = coco_case(3)
    perfect = [Detections(g.boxes, np.linspace(1, 0.5, len(g.boxes)), g.labels) for g in gts]
    r = evaluate_coco(perfect, gts)
    assert r.map == pytest.approx(1.0) and np.allclose(r.ap, 1.0)
    assert r.stats[8] == pytest.approx(1.0)
    # one class's detections shifted by half their size: that class loses AP, others not
    shifted = []
    for d in perfect:
        b = d.boxes.copy()
        sel = d.labels == 1
        b[sel] += np.tile(b[sel, 2:] - b[sel, :2], 2) * 0.3
        shifted.append(Detections(b, d.scores, d.labels))
    r = evaluate_coco(shifted, gts)
    assert r.ap[0] == pytest.approx(1.0) and r.ap[2] == pytest.approx(1.0) and r.ap[1] < 0.5
    assert r.map == pytest.approx(r.ap.mean())


def test_metric_errors():
    d, g = voc_case()
    with pytest.raises(ValueError, match="evaluate_coco: detections and ground_truths must "
                                         "have one entry per image each, got 2 and 1"):
        evaluate_coco(d, g[:1])
    with pytest.raises(TypeError, match="evaluate_voc: entry 0 must be a Detections"):
        evaluate_voc([g[0]], [g[0]])
    with pytest.raises(ValueError, match="Detections: boxes, scores and labels must have the "
                                         "same length"):
        Detections(np.zeros((2, 4)), np.zeros(3), np.zeros(2, int))
    with pytest.raises(TypeError, match="GroundTruth: labels must have a dtype of kind 'iu'"):
        GroundTruth(np.zeros((1, 4)), np.zeros(1))
    with pytest.raises(ValueError, match="Detections: boxes must be finite"):
        Detections(np.full((1, 4), np.nan), np.zeros(1), np.zeros(1, int))
    with pytest.raises(ValueError, match="voc_ap: method must be one of"):
        voc_ap(np.zeros(2), np.zeros(2), method="101")
    with pytest.raises(ValueError, match="evaluate_coco: max_dets must be increasing"):
        evaluate_coco(d, g, max_dets=(10, 1))


def test_precision_recall_plot(tmp_path):
    d, g = voc_case()
    r = evaluate_voc(d, g)
    img = precision_recall_image(r.recall, r.precision, size=100)
    assert img.shape == (100, 100, 3) and img.dtype == np.float32
    # the curve is drawn in the first palette colour, at precision 1 near recall 0..1/3
    blue = (np.abs(img - np.array([0.12, 0.47, 0.71], np.float32)).sum(-1) < 1e-3)
    rows, cols = np.nonzero(blue)
    assert blue.sum() > 50 and rows.min() <= 11 and cols.min() <= 11
    path = plot_precision_recall(r.recall, r.precision, tmp_path / "pr.png", names=["a"])
    assert path.exists() and path.stat().st_size > 100
    with pytest.raises(ValueError, match="plot_precision_recall: names must hold one name"):
        plot_precision_recall(r.recall, r.precision, tmp_path / "x.png", names=["a", "b"])


def test_precision_recall_plot_without_matplotlib(tmp_path, monkeypatch):
    import sys

    from cvgeo.image import read_image

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    d, g = voc_case()
    r = evaluate_voc(d, g)
    path = plot_precision_recall(r.recall, r.precision, tmp_path / "pr.png")
    written = read_image(path)
    expected = precision_recall_image(r.recall, r.precision)
    assert written.shape == (256, 256, 3)
    assert np.abs(written.astype(np.float32) / 255 - expected).max() <= 0.5 / 255 + 1e-6


def test_metrics_accept_torch_and_box_area_is_consistent():
    d, g = voc_case()
    dt = [Detections(torch.tensor(x.boxes), torch.tensor(x.scores), torch.tensor(x.labels))
          for x in d]
    assert evaluate_voc(dt, g).map == pytest.approx(5 / 9)
    assert box_area(g[0].boxes).tolist() == [100.0, 100.0]
