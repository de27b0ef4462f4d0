"""DETR-style set prediction: layout, box normalisation, the Hungarian loss, smoke training."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from cvgeo.geometry.boxes import box_convert, generalized_box_iou
from deep.models.detection import (
    DETR,
    DETRLoss,
    DETROutput,
    HungarianMatcher,
    boxes_from_normalized,
    boxes_to_normalized,
    decode_detr,
)
from deep.scenes import make_detection_scenes

SMALL = dict(widths=(8, 16, 16), dim=32, num_heads=2, encoder_depth=1, decoder_depth=2,
             num_queries=6)


def test_output_layout_and_ranges():
    m = DETR(num_classes=3, **SMALL)
    out = m(torch.randn(2, 1, 64, 64))
    assert out.logits.shape == (2, 6, 4) and out.boxes.shape == (2, 6, 4)
    assert len(out.aux) == 1 and out.aux[0][0].shape == (2, 6, 4)
    assert float(out.boxes.detach().min()) > 0 and float(out.boxes.detach().max()) < 1
    # the queries differ from each other (learned embeddings, not one repeated vector)
    assert float((out.boxes[0, 0] - out.boxes[0, 1]).detach().abs().sum()) > 1e-4
    # the encoder sees 8x8 cells of the stride-8 map
    assert m.pos_embed.shape == (1, 64, 32)


def test_normalised_boxes_known_values_and_round_trip():
    b = torch.tensor([[-0.5, -0.5, 63.5, 31.5], [9.5, 19.5, 29.5, 23.5]], dtype=torch.float64)
    n = boxes_to_normalized(b, 64)
    torch.testing.assert_close(n, torch.tensor([[0.5, 0.25, 1.0, 0.5],
                                                [20.0 / 64, 22.0 / 64, 20.0 / 64, 4.0 / 64]],
                                               dtype=torch.float64))
    r = torch.rand(50, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    xyxy = torch.cat([r[:, :2] * 40, r[:, :2] * 40 + 1 + r[:, 2:] * 20], 1)
    torch.testing.assert_close(boxes_from_normalized(boxes_to_normalized(xyxy, 64), 64), xyxy,
                               atol=1e-6, rtol=0)


def _targets():
    labels = torch.tensor([2, 0, 1])
    targets = torch.tensor([[0.2, 0.2, 0.1, 0.1], [0.7, 0.3, 0.2, 0.3], [0.5, 0.8, 0.3, 0.1]])
    return labels, targets


def test_loss_of_a_perfect_prediction_is_small_and_needs_the_right_assignment():
    """Queries 1, 3, 4 predict targets 2, 0, 1 exactly: the matcher must find that
    permutation, and then the box terms are 0."""
    labels, targets = _targets()
    perm = {1: 2, 3: 0, 4: 1}
    logits = torch.full((1, 6, 4), -8.0)
    logits[0, :, 3] = 8.0  # "no object" everywhere ...
    boxes = torch.full((1, 6, 4), 0.05)
    boxes[0, :, :2] = torch.linspace(0.1, 0.9, 6)[:, None]
    for q, t in perm.items():  # ... except the three queries that predict the targets
        logits[0, q] = -8.0
        logits[0, q, labels[t]] = 8.0
        boxes[0, q] = targets[t]
    (m,) = HungarianMatcher()(logits, boxes, [labels], [targets])
    assert m.pred_indices.tolist() == [1, 3, 4] and m.target_indices.tolist() == [2, 0, 1]
    loss = DETRLoss(num_classes=3, aux_loss=False)
    parts = loss.parts(DETROutput(logits, boxes), [labels], [targets])
    assert float(parts.bbox) == pytest.approx(0.0, abs=1e-6)
    assert float(parts.giou) == pytest.approx(0.0, abs=1e-6)
    assert float(parts.cls) < 1e-5
    # a wrong prediction: the L1 and GIoU terms equal their hand-computed values
    boxes2 = boxes.clone()
    boxes2[0, 3] = torch.tensor([0.25, 0.2, 0.1, 0.1])  # target 0 shifted by 0.05 in x
    parts = loss.parts(DETROutput(logits, boxes2), [labels], [targets])
    assert float(parts.bbox) == pytest.approx(5 * 0.05 / 3, abs=1e-6)
    xy = box_convert(torch.stack([boxes2[0, 3], targets[0]]), src="cxcywh", dst="xyxy")
    giou = float(generalized_box_iou(xy[:1], xy[1:])[0, 0])
    assert float(parts.giou) == pytest.approx(2 * (1 - giou) / 3, abs=1e-6)


def test_class_term_weights_no_object_by_eos_coef():
    labels, targets = _targets()
    logits = torch.randn(1, 5, 4, generator=torch.Generator().manual_seed(1))
    boxes = torch.rand(1, 5, 4, generator=torch.Generator().manual_seed(2)) * 0.4 + 0.1
    loss = DETRLoss(num_classes=3, eos_coef=0.1, aux_loss=False)
    (m,) = loss.matcher(logits, boxes, [labels], [targets])
    cls_t = torch.full((5,), 3)
    cls_t[m.pred_indices] = labels[m.target_indices]
    w = torch.where(cls_t == 3, 0.1, 1.0)
    ce = torch.nn.functional.cross_entropy(logits[0], cls_t, reduction="none")
    expected = float((w * ce).sum() / w.sum())
    assert float(loss.parts(DETROutput(logits, boxes), [labels], [targets]).cls) == \
        pytest.approx(expected, rel=1e-5)
    # the matcher's assignment is optimal (brute force over all 5P3 assignments)
    cost = loss.matcher.cost_matrix(logits[0], boxes[0], labels, targets)
    best = min(sum(float(cost[q, t]) for t, q in enumerate(qs))
               for qs in itertools.permutations(range(5), 3))
    # float32 costs of size ~10: summation order differs by ~1e-6
    assert float(cost[m.pred_indices, m.target_indices].sum()) == pytest.approx(best, abs=1e-5)


def test_aux_loss_adds_every_decoder_block():
    m = DETR(num_classes=3, **SMALL)
    s = make_detection_scenes(4, image_size=64, seed=3)
    labels = [torch.from_numpy(v) for v in s.labels]
    targets = [boxes_to_normalized(torch.from_numpy(b).float(), 64) for b in s.boxes]
    out = m(s.tensors())
    with_aux = DETRLoss(num_classes=3).parts(out, labels, targets)
    no_aux = DETRLoss(num_classes=3, aux_loss=False)
    last = no_aux.parts(out, labels, targets)
    first = no_aux.parts(DETROutput(*out.aux[0]), labels, targets)
    both = float((last.total + first.total).detach())
    assert float(with_aux.total.detach()) == pytest.approx(both, rel=1e-5)
    with_aux.total.backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []


def test_smoke_training_reduces_the_loss():
    torch.manual_seed(0)
    m = DETR(num_classes=3, **SMALL)
    crit = DETRLoss(num_classes=3)
    s = make_detection_scenes(8, image_size=64, seed=5)
    x = s.tensors()
    labels = [torch.from_numpy(v) for v in s.labels]
    targets = [boxes_to_normalized(torch.from_numpy(b).float(), 64) for b in s.boxes]
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    history = []
    for _ in range(25):
        loss = crit(m(x), labels, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    # measured: 16.8 -> 10.6 (seed 0); a drop of more than 30 % is no fluctuation
    assert np.mean(history[-3:]) < 0.7 * np.mean(history[:3])


def test_decode_one_detection_per_query_best_first():
    logits = torch.tensor([[[0.0, 3.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 9.0]]])
    boxes = torch.tensor([[[0.5, 0.5, 0.25, 0.5], [0.25, 0.25, 0.125, 0.125],
                           [0.9, 0.9, 0.5, 0.5]]])
    (d,) = decode_detr(DETROutput(logits, boxes), image_size=64)
    np.testing.assert_array_equal(d.labels, [0, 1, 0])
    p0 = torch.softmax(logits[0, 1], 0)[0]
    assert d.scores[0] == pytest.approx(float(p0))
    np.testing.assert_allclose(d.boxes[0], [11.5, 11.5, 19.5, 19.5])
    np.testing.assert_allclose(d.boxes[2], [41.1, 41.1, 63.5, 63.5], atol=1e-4)  # clipped
    (d,) = decode_detr(DETROutput(logits, boxes), image_size=64, score_threshold=0.5)
    assert len(d.scores) == 2
    with pytest.raises(ValueError, match="decode_detr: score_threshold must be in"):
        decode_detr(DETROutput(logits, boxes), image_size=64, score_threshold=-1)


def test_errors():
    with pytest.raises(ValueError, match="DETR: image_size must be a multiple of"):
        DETR(num_classes=3, image_size=60)
    with pytest.raises(ValueError, match="DETR: num_queries must be a positive int"):
        DETR(num_classes=3, num_queries=0)
    with pytest.raises(ValueError, match=r"DETR: input must be \(N, 1, 64, 64\)"):
        DETR(num_classes=3, **SMALL)(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="DETRLoss: eos_coef must be"):
        DETRLoss(num_classes=3, eos_coef=-1)
    with pytest.raises(TypeError, match="DETRLoss: matcher must be a HungarianMatcher"):
        DETRLoss(num_classes=3, matcher=object())
    labels, targets = _targets()
    out = DETROutput(torch.zeros(1, 5, 4), torch.full((1, 5, 4), 0.2))
    with pytest.raises(ValueError, match="DETRLoss: labels and targets must hold one entry"):
        DETRLoss(num_classes=3)(out, [labels, labels], [targets])
    with pytest.raises(ValueError, match="DETRLoss: logits must have num_classes"):
        DETRLoss(num_classes=4)(out, [labels], [targets])
