"""SSD: default-box layout, matching targets, the multibox loss, decoding, a learning smoke test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cvgeo.geometry.boxes import box_iou
from deep.models.detection import (
    SSD,
    BoxCoder,
    SSDLoss,
    SSDOutput,
    decode_ssd,
    evaluate_voc,
    hard_negative_mining,
)
from deep.scenes import make_detection_scenes


def scenes_and_targets(n=6, seed=3):
    s = make_detection_scenes(n, image_size=64, seed=seed, max_objects=4)
    return s, [torch.tensor(b) for b in s.boxes], [torch.tensor(lab) for lab in s.labels]


def test_output_layout_matches_the_default_boxes():
    torch.manual_seed(0)
    m = SSD(num_classes=3)
    assert m.feature_shapes == [(16, 16), (8, 8), (4, 4)]
    assert m.anchors.shape == ((256 + 64 + 16) * 4, 4)
    out = m(torch.randn(2, 1, 64, 64))
    assert out.cls_logits.shape == (2, 1344, 4) and out.box_deltas.shape == (2, 1344, 4)
    # the first level's head output at cell (row 3, col 5), box 2 is default box (3*16+5)*4+2
    feats = m.levels[0](m.stem(torch.zeros(1, 1, 64, 64)))
    raw = m.box_heads[0](feats)[0, :, 3, 5].reshape(4, 4)
    torch.testing.assert_close(m(torch.zeros(1, 1, 64, 64)).box_deltas[0, (3 * 16 + 5) * 4 + 2],
                               raw[2])
    centre = (m.anchors[(3 * 16 + 5) * 4 + 2, :2] + m.anchors[(3 * 16 + 5) * 4 + 2, 2:]) / 2
    torch.testing.assert_close(centre, torch.tensor([5.5 * 4 - 0.5, 3.5 * 4 - 0.5]))
    with pytest.raises(ValueError, match=r"SSD: image_size must be a multiple of 2\*\*4"):
        SSD(num_classes=3, image_size=40)
    with pytest.raises(ValueError, match=r"SSD: input must be \(N, C, 64, 64\)"):
        m(torch.zeros(1, 1, 32, 32))


def test_targets_match_and_encode_the_objects():
    m = SSD(num_classes=3)
    loss = SSDLoss(m.anchors, num_classes=3)
    s, boxes, labels = scenes_and_targets()
    cls_t, box_t = loss.targets(boxes, labels)
    coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    for i, (b, lab) in enumerate(zip(boxes, labels)):
        iou = box_iou(b.float(), m.anchors)  # (G, A)
        pos = cls_t[i] > 0
        # every object has at least its best default box; every IoU >= 0.5 box is positive
        assert pos[iou.argmax(dim=1)].all()
        assert pos[(iou >= 0.5).any(dim=0)].all()
        decoded = coder.decode(box_t[i, pos], m.anchors[pos])
        best = iou[:, pos].argmax(dim=0)
        assert torch.equal(cls_t[i, pos], lab[best] + 1)
        torch.testing.assert_close(decoded, b[best].float(), atol=1e-4, rtol=0)


def test_loss_terms_against_a_direct_computation():
    torch.manual_seed(1)
    m = SSD(num_classes=3)
    loss = SSDLoss(m.anchors, num_classes=3)
    _, boxes, labels = scenes_and_targets(4)
    out = SSDOutput(torch.randn(4, 1344, 4), torch.randn(4, 1344, 4))
    parts = loss.parts(out, boxes, labels)
    cls_t, box_t = loss.targets(boxes, labels)
    pos = cls_t > 0
    n_pos = int(pos.sum())
    ce = F.cross_entropy(out.cls_logits.reshape(-1, 4), cls_t.reshape(-1),
                         reduction="none").reshape(4, 1344)
    keep = hard_negative_mining(ce, cls_t)
    assert int((keep & ~pos).sum()) == 3 * n_pos  # 3 negatives per positive
    assert float(parts.cls) == pytest.approx(float(ce[keep].sum()) / n_pos, rel=1e-6)
    expected_box = F.smooth_l1_loss(out.box_deltas[pos], box_t[pos], reduction="sum") / n_pos
    assert float(parts.box) == pytest.approx(float(expected_box), rel=1e-6)
    prior = SSD(num_classes=3, cls_prior=0.01)
    with torch.no_grad():
        p = torch.sigmoid(prior(torch.zeros(1, 1, 64, 64)).cls_logits[..., 1:])
    assert abs(p.mean().item() - 0.01) < 0.005  # RetinaNet's start for the focal loss
    focal = SSDLoss(m.anchors, num_classes=3, focal=True).parts(out, boxes, labels)
    assert torch.isfinite(focal.total) and float(focal.cls) > 0
    with pytest.raises(ValueError, match="SSDLoss: boxes and labels must hold one entry per"):
        loss(out, boxes[:2], labels[:2])


def test_decode_of_perfect_predictions_recovers_the_boxes():
    m = SSD(num_classes=3)
    loss = SSDLoss(m.anchors, num_classes=3)
    s, boxes, labels = scenes_and_targets(8, seed=5)
    cls_t, box_t = loss.targets(boxes, labels)
    logits = F.one_hot(cls_t, 4).float() * 20.0  # confident and right everywhere
    dets = decode_ssd(SSDOutput(logits, box_t), m.anchors, image_size=64)
    for d, b, lab in zip(dets, s.boxes, s.labels):
        assert len(d.boxes) == len(b)  # the duplicates of each object are suppressed
        order = np.lexsort((d.boxes[:, 1], d.boxes[:, 0]))
        ref = np.lexsort((b[:, 1], b[:, 0]))
        np.testing.assert_allclose(d.boxes[order], b[ref], atol=1e-3)
        np.testing.assert_array_equal(d.labels[order], lab[ref])
    assert evaluate_voc(dets, s.ground_truths()).map == pytest.approx(1.0)


def test_training_reduces_the_loss():
    torch.manual_seed(0)
    m = SSD(num_classes=3, stem_widths=(8, 16), level_widths=(16, 16, 16))
    loss = SSDLoss(m.anchors, num_classes=3)
    s, boxes, labels = scenes_and_targets(32, seed=6)
    x = s.tensors()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    first = loss(m(x), boxes, labels).item()
    for _ in range(25):
        opt.zero_grad()
        value = loss(m(x), boxes, labels)
        value.backward()
        opt.step()
    assert value.item() < 0.5 * first
