"""The two-stage detector (RPN + RoI Align head): layout, proposals, loss, decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cvgeo.geometry.boxes import box_iou
from deep.layers.roi import roi_align
from deep.models.detection import (
    BoxCoder,
    FasterRCNN,
    FasterRCNNOutput,
    RPNOutput,
    decode_faster_rcnn,
    evaluate_voc,
    rpn_proposals,
)
from deep.scenes import make_detection_scenes

SMALL = dict(stem_widths=(8, 16), feature_width=16, hidden=32, roi_size=4)


def scenes_and_targets(n, seed):
    s = make_detection_scenes(n, image_size=64, seed=seed)
    return (s, [torch.from_numpy(b).float() for b in s.boxes],
            [torch.from_numpy(lab) for lab in s.labels])


def greedy_nms_reference(boxes, scores, thr):
    """Textbook greedy NMS with Python loops (ties: lower index first)."""
    iou = box_iou(boxes, boxes).tolist()
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        if all(iou[i][k] <= thr for k in keep):
            keep.append(i)
    return keep


def test_rpn_layout_matches_the_anchors():
    m = FasterRCNN(num_classes=3, anchor_sizes=(8.0, 16.0), aspect_ratios=(0.5, 1.0, 2.0),
                   **SMALL)
    assert m.feature_shape == (16, 16) and m.stride == 4
    assert m.anchors.shape == (16 * 16 * 6, 4)
    with torch.no_grad():
        feats = m.backbone(torch.randn(2, 1, 64, 64))
    assert feats.shape == (2, 16, 16, 16)
    with torch.no_grad():
        rpn = m.rpn(feats)
    assert rpn.objectness.shape == (2, 16 * 16 * 6) and rpn.deltas.shape == (2, 16 * 16 * 6, 4)
    # anchor a of cell (r, c) is output channel a at (r, c): check one position directly
    with torch.no_grad():
        t = m.rpn_conv(feats)
    r, c, a = 3, 11, 4
    with torch.no_grad():
        direct = m.rpn_cls(t)[1, a, r, c]
    assert float(rpn.objectness[1, (r * 16 + c) * 6 + a]) == pytest.approx(float(direct))
    with torch.no_grad():
        direct_box = m.rpn_box(t)[1, 4 * a:4 * a + 4, r, c]
    torch.testing.assert_close(rpn.deltas[1, (r * 16 + c) * 6 + a], direct_box)
    # that anchor is centred on the cell: x = (c + 0.5) * 4 - 0.5
    anchor = m.anchors[(r * 16 + c) * 6 + a]
    assert float(anchor[0] + anchor[2]) / 2 == pytest.approx((c + 0.5) * 4 - 0.5)
    assert float(anchor[1] + anchor[3]) / 2 == pytest.approx((r + 0.5) * 4 - 0.5)


def test_proposals_are_decoded_clipped_nmsed_and_ranked():
    g = torch.Generator().manual_seed(3)
    m = FasterRCNN(num_classes=2, **SMALL)
    anchors = m.anchors
    n, a = 2, anchors.shape[0]
    obj = torch.randn(n, a, generator=g)
    deltas = 0.5 * torch.randn(n, a, 4, generator=g)
    props, scores = rpn_proposals(obj, deltas, anchors, image_shape=(64, 64),
                                  pre_nms_top_n=120, post_nms_top_n=40, iou_threshold=0.5,
                                  min_size=2.0)
    coder = BoxCoder()
    for i in range(n):
        p, s = props[i], scores[i]
        assert 0 < p.shape[0] <= 40 and s.shape == (p.shape[0],)
        assert not p.requires_grad
        assert float(p.min()) >= -0.5 and float(p.max()) <= 63.5  # clipped to the image
        assert bool(((p[:, 2] - p[:, 0]) >= 2).all() and ((p[:, 3] - p[:, 1]) >= 2).all())
        assert bool((s[:-1] >= s[1:]).all())  # by descending objectness
        iou = box_iou(p, p) - torch.eye(p.shape[0])
        assert float(iou.max()) <= 0.5 + 1e-6  # no two kept proposals overlap more
        # the same as: decode, clip, drop small, top 120, textbook greedy NMS, top 40
        b = coder.decode(deltas[i], anchors, image_shape=(64, 64))
        pr = torch.sigmoid(obj[i])
        ok = ((b[:, 2] - b[:, 0]) >= 2) & ((b[:, 3] - b[:, 1]) >= 2)
        b, pr = b[ok], pr[ok]
        top = pr.argsort(descending=True, stable=True)[:120]
        b, pr = b[top].double(), pr[top].tolist()
        keep = greedy_nms_reference(b, pr, 0.5)[:40]
        torch.testing.assert_close(p.double(), b[keep], atol=1e-5, rtol=0)
        torch.testing.assert_close(s, torch.sigmoid(obj[i])[ok][top][keep])


def test_proposals_known_answer_and_errors():
    anchors = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0],
                            [20.0, 20.0, 30.0, 30.0], [60.0, 60.0, 80.0, 80.0]])
    deltas = torch.zeros(1, 4, 4)
    deltas[0, 2, 0] = 0.1  # anchor 2 moves right by a tenth of its width
    p, s = rpn_proposals(torch.tensor([[3.0, 2.0, 1.0, 0.0]]), deltas, anchors,
                         image_shape=(64, 64), iou_threshold=0.5)
    # anchor 1 overlaps anchor 0 (IoU 81/119 = 0.68 > 0.5); anchor 3 is clipped to the image
    torch.testing.assert_close(p[0], torch.tensor([[0.0, 0.0, 10.0, 10.0],
                                                   [21.0, 20.0, 31.0, 30.0],
                                                   [60.0, 60.0, 63.5, 63.5]]))
    torch.testing.assert_close(s[0], torch.sigmoid(torch.tensor([3.0, 1.0, 0.0])))
    with pytest.raises(ValueError, match=r"rpn_proposals: deltas must be a tensor \(1, 4, 4\)"):
        rpn_proposals(torch.zeros(1, 4), torch.zeros(1, 3, 4), anchors, image_shape=(64, 64))
    with pytest.raises(ValueError, match="rpn_proposals: anchors must be"):
        rpn_proposals(torch.zeros(1, 4), deltas, anchors[:3], image_shape=(64, 64))
    with pytest.raises(ValueError, match="rpn_proposals: objectness must be"):
        rpn_proposals(torch.zeros(4), deltas, anchors, image_shape=(64, 64))
    with pytest.raises(ValueError, match="rpn_proposals: iou_threshold must be"):
        rpn_proposals(torch.zeros(1, 4), deltas, anchors, image_shape=(64, 64),
                      iou_threshold=1.5)
    with pytest.raises(ValueError, match="rpn_proposals: post_nms_top_n must be"):
        rpn_proposals(torch.zeros(1, 4), deltas, anchors, image_shape=(64, 64),
                      post_nms_top_n=0)


def test_forward_heads_and_roi_features():
    m = FasterRCNN(num_classes=3, post_nms_top_n=7, **SMALL).eval()
    x = torch.rand(3, 1, 64, 64)
    out = m(x)
    counts = [p.shape[0] for p in out.proposals]
    assert all(0 < c <= 7 for c in counts)
    assert out.cls_logits.shape == (sum(counts), 4)
    assert out.box_deltas.shape == (sum(counts), 4, 4)
    # the head sees RoI Align of the feature map at stride 4 on exactly those proposals
    feats = m.backbone(x)
    pooled = roi_align(feats, out.proposals, output_size=4, spatial_scale=0.25,
                       sampling_ratio=2)
    h = m.head(pooled)
    torch.testing.assert_close(out.cls_logits, m.cls_score(h))


def test_every_parameter_gets_a_gradient_and_loss_terms_are_finite():
    m = FasterRCNN(num_classes=3, **SMALL)
    s, boxes, labels = scenes_and_targets(4, seed=2)
    parts = m.loss(s.tensors(), boxes, labels, generator=torch.Generator().manual_seed(0))
    terms = [float(v.detach()) for v in (parts.rpn_objectness, parts.rpn_box, parts.cls,
                                         parts.box)]
    assert all(np.isfinite(v) and v > 0 for v in terms)
    assert float(parts.total.detach()) == pytest.approx(sum(terms))
    parts.total.backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []


def test_loss_with_an_image_without_objects():
    m = FasterRCNN(num_classes=2, **SMALL)
    boxes = [torch.zeros(0, 4), torch.tensor([[10.0, 10.0, 25.0, 22.0]])]
    labels = [torch.zeros(0, dtype=torch.int64), torch.tensor([1])]
    parts = m.loss(torch.rand(2, 1, 64, 64), boxes, labels)
    assert torch.isfinite(parts.total)
    parts.total.backward()


def test_training_reduces_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    m = FasterRCNN(num_classes=3, **SMALL)
    s, boxes, labels = scenes_and_targets(8, seed=6)
    x = s.tensors()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    history = []
    for step in range(30):
        parts = m.loss(x, boxes, labels, generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        parts.total.backward()
        opt.step()
        history.append(float(parts.total.detach()))
    assert np.mean(history[-5:]) < 0.5 * np.mean(history[:3])


def test_decode_of_known_head_outputs():
    props = [torch.tensor([[10.0, 10.0, 20.0, 30.0], [11.0, 10.0, 21.0, 30.0]]),
             torch.tensor([[40.0, 40.0, 50.0, 50.0]])]
    logits = torch.tensor([[-5.0, -5.0, 5.0], [-5.0, -5.0, 4.0], [-5.0, 5.0, -5.0]])
    deltas = torch.zeros(3, 3, 4)
    deltas[2, 1] = torch.tensor([10.0, 0.0, 0.0, 0.0])  # class 0 of proposal 2: + 1 width
    out = FasterRCNNOutput(RPNOutput(torch.zeros(2, 1), torch.zeros(2, 1, 4)), props,
                           [torch.ones(2), torch.ones(1)], logits, deltas)
    dets = decode_faster_rcnn(out, image_size=64, score_threshold=0.05, iou_threshold=0.5)
    # image 0: the two proposals of class 1 overlap (IoU 0.82): one survives
    np.testing.assert_allclose(dets[0].boxes, [[10.0, 10.0, 20.0, 30.0]])
    np.testing.assert_array_equal(dets[0].labels, [1])
    assert dets[0].scores[0] == pytest.approx(float(torch.softmax(logits[0], 0)[2]))
    np.testing.assert_allclose(dets[1].boxes, [[50.0, 40.0, 60.0, 50.0]], atol=1e-5)
    np.testing.assert_array_equal(dets[1].labels, [0])
    with pytest.raises(ValueError, match="decode_faster_rcnn: out.cls_logits must hold one"):
        decode_faster_rcnn(FasterRCNNOutput(out.rpn, props, out.proposal_scores, logits[:2],
                                            deltas[:2]), image_size=64)
    with pytest.raises(ValueError, match="decode_faster_rcnn: score_threshold must be"):
        decode_faster_rcnn(out, image_size=64, score_threshold=2.0)


def test_perfect_second_stage_scores_map_one():
    """With the ground truth as proposals and a head that names the right class, the
    evaluation gives mAP 1: the decode keeps the boxes and labels it is given."""
    s, boxes, labels = scenes_and_targets(4, seed=9)
    logits = torch.cat([torch.nn.functional.one_hot(lab + 1, 4).float() * 10 for lab in labels])
    k = logits.shape[0]
    out = FasterRCNNOutput(RPNOutput(torch.zeros(4, 1), torch.zeros(4, 1, 4)), boxes,
                           [torch.ones(b.shape[0]) for b in boxes], logits,
                           torch.zeros(k, 4, 4))
    dets = decode_faster_rcnn(out, image_size=64)
    assert evaluate_voc(dets, s.ground_truths()).map == pytest.approx(1.0)


def test_errors():
    with pytest.raises(ValueError, match="FasterRCNN: num_classes must be a positive int"):
        FasterRCNN(num_classes=0)
    with pytest.raises(ValueError, match="FasterRCNN: image_size must be a multiple of the "
                                         "stride 4"):
        FasterRCNN(num_classes=2, image_size=66)
    with pytest.raises(ValueError, match="FasterRCNN: roi_positive_fraction must be"):
        FasterRCNN(num_classes=2, roi_positive_fraction=0.0)
    m = FasterRCNN(num_classes=2, **SMALL)
    with pytest.raises(ValueError, match=r"FasterRCNN: input must be \(N, 1, 64, 64\)"):
        m(torch.zeros(1, 3, 64, 64))
    x = torch.zeros(1, 1, 64, 64)
    with pytest.raises(ValueError, match="FasterRCNN.loss: boxes and labels must hold one"):
        m.loss(x, [], [])
    with pytest.raises(ValueError, match=r"FasterRCNN.loss: labels\[0\] must be in \[0, 2\)"):
        m.loss(x, [torch.tensor([[1.0, 1.0, 9.0, 9.0]])], [torch.tensor([2])])
    with pytest.raises(ValueError, match=r"FasterRCNN.loss: labels\[0\] must hold one label"):
        m.loss(x, [torch.tensor([[1.0, 1.0, 9.0, 9.0]])], [torch.tensor([0, 1])])
