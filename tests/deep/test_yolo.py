"""YOLOv1: target encoding, decoding, the loss against a loop reference, a learning smoke test."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deep.models.detection import (
    YOLOv1,
    YOLOv1Loss,
    decode_yolo_v1,
    encode_yolo_v1_targets,
    evaluate_voc,
)
from deep.scenes import make_detection_scenes


def perfect_prediction(target: torch.Tensor, boxes_per_cell: int = 2) -> torch.Tensor:
    """Predictions that every predictor of a cell gets exactly right, conf 1 on objects."""
    n, s, _, d = target.shape
    box = torch.cat([target[..., 1:5], target[..., :1]], dim=-1)  # (x, y, √w, √h, conf)
    return torch.cat([box.repeat(1, 1, 1, boxes_per_cell), target[..., 5:]], dim=-1)


def test_forward_shape_gradients_and_errors():
    torch.manual_seed(0)
    m = YOLOv1(num_classes=3, image_size=32, grid_size=4, widths=(8, 8, 8, 16))
    x = torch.randn(2, 1, 32, 32)
    out = m(x)
    assert out.shape == (2, 4, 4, 13)
    assert ((out >= 0) & (out <= 1)).all()
    torch.testing.assert_close(out[..., 10:].sum(-1), torch.ones(2, 4, 4))  # class softmax
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())
    with pytest.raises(ValueError, match="YOLOv1: image_size / grid_size must be a power of two"):
        YOLOv1(num_classes=3, image_size=48, grid_size=4)
    with pytest.raises(ValueError, match=r"YOLOv1: widths must have at least 3 stages"):
        YOLOv1(num_classes=3, image_size=32, grid_size=4, widths=(8, 8))
    with pytest.raises(ValueError, match=r"YOLOv1: input must be \(N, 1, 32, 32\)"):
        m(torch.zeros(1, 1, 16, 16))


def test_encode_targets_known_values():
    # 64x64 image, 8x8 grid of 8-pixel cells; cell (row 2, col 5) spans x in [39.5, 47.5]
    boxes = torch.tensor([[40.5, 17.5, 46.5, 21.5],    # centre (43.5, 19.5): cell (2, 5)
                          [41.0, 18.0, 42.0, 19.0]])   # smaller, same cell: dropped
    t = encode_yolo_v1_targets([boxes], [torch.tensor([2, 0])], image_size=64, grid_size=8,
                               num_classes=3)
    assert t.shape == (1, 8, 8, 8) and int(t[..., 0].sum()) == 1
    cell = t[0, 2, 5]
    expected = [1.0, (44.0 / 8) - 5, (20.0 / 8) - 2, math.sqrt(6 / 64), math.sqrt(4 / 64),
                0.0, 0.0, 1.0]
    torch.testing.assert_close(cell, torch.tensor(expected))
    with pytest.raises(ValueError, match=r"encode_yolo_v1_targets: labels\[0\] must be in"):
        encode_yolo_v1_targets([boxes], [torch.tensor([2, 3])], image_size=64, grid_size=8,
                               num_classes=3)


def test_decode_of_perfect_predictions_recovers_the_boxes():
    scenes = make_detection_scenes(20, image_size=64, seed=4, max_objects=3)
    t = encode_yolo_v1_targets([torch.tensor(b) for b in scenes.boxes],
                               [torch.tensor(lab) for lab in scenes.labels],
                               image_size=64, grid_size=8, num_classes=3)
    dets = decode_yolo_v1(perfect_prediction(t), image_size=64)
    lost = 0
    for d, b, lab in zip(dets, scenes.boxes, scenes.labels):
        # both predictors of a cell give the same box: NMS keeps one
        assert len(d.boxes) <= len(b)
        for box, label in zip(b, lab):
            hit = np.abs(d.boxes - box).max(axis=1) < 1e-4
            lost += not hit.any()
            if hit.any():
                assert d.labels[hit][0] == label and d.scores[hit][0] == pytest.approx(1.0)
    n_obj = sum(len(b) for b in scenes.boxes)
    assert lost == n_obj - int(t[..., 0].sum())  # only objects sharing a cell are lost
    assert evaluate_voc(dets, scenes.ground_truths()).map > 0.9


def loop_loss(pred, target, nb, nc, size, l_coord=5.0, l_noobj=0.5):
    """YOLOv1's loss written cell by cell, predictor by predictor."""
    n, s = pred.shape[:2]
    cell = size / s
    total = 0.0

    def corners(v, i, j):
        cx, cy = (v[0] + j) * cell - 0.5, (v[1] + i) * cell - 0.5
        w, h = v[2] ** 2 * size, v[3] ** 2 * size
        return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2

    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union if union > 0 else 0.0

    for b in range(n):
        for i in range(s):
            for j in range(s):
                p, t = pred[b, i, j].tolist(), target[b, i, j].tolist()
                boxes = [p[5 * k: 5 * k + 5] for k in range(nb)]
                if t[0] > 0:
                    g = corners(t[1:5], i, j)
                    ious = [iou(corners(bx, i, j), g) for bx in boxes]
                    r = int(np.argmax(ious))
                else:
                    r = -1
                for k, bx in enumerate(boxes):
                    if k == r:
                        total += l_coord * sum((bx[q] - t[1 + q]) ** 2 for q in range(4))
                        total += (bx[4] - ious[r]) ** 2
                    else:
                        total += l_noobj * bx[4] ** 2
                if t[0] > 0:
                    total += sum((p[5 * nb + c] - t[5 + c]) ** 2 for c in range(nc))
    return total / n


def test_loss_equals_loop_reference():
    gen = torch.Generator().manual_seed(0)
    scenes = make_detection_scenes(3, image_size=32, seed=2, max_objects=4)
    t = encode_yolo_v1_targets([torch.tensor(b) for b in scenes.boxes],
                               [torch.tensor(lab) for lab in scenes.labels],
                               image_size=32, grid_size=4, num_classes=3)
    pred = torch.rand(3, 4, 4, 13, generator=gen, dtype=torch.float64)
    # a predicted box near the truth in each object cell, so the IoUs are not all 0
    pred[..., 0:4] = torch.where(t[..., :1] > 0, t[..., 1:5].double() + 0.05, pred[..., 0:4])
    loss = YOLOv1Loss(num_classes=3, image_size=32)
    parts = loss.parts(pred, t.double())
    assert float(parts.total) == pytest.approx(loop_loss(pred, t, 2, 3, 32), rel=1e-10)
    assert float(parts.obj) > 0 and float(parts.coord) > 0
    assert float(parts.total) == pytest.approx(float(parts.coord + parts.obj + parts.noobj
                                                     + parts.cls))
    # perfect predictions cost nothing but the second predictor's confidence in object cells
    perfect = perfect_prediction(t.double())
    perfect[..., 9] = torch.where(t[..., 0] > 0, 0.0, perfect[..., 9].double())
    assert float(loss(perfect, t.double())) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match=r"YOLOv1Loss: target must be \(3, 4, 4, 8\)"):
        loss(pred, t[..., :7])


def test_training_reduces_the_loss():
    torch.manual_seed(0)
    scenes = make_detection_scenes(48, image_size=32, seed=5, max_objects=2)
    x = scenes.tensors()
    t = encode_yolo_v1_targets([torch.tensor(b) for b in scenes.boxes],
                               [torch.tensor(lab) for lab in scenes.labels],
                               image_size=32, grid_size=4, num_classes=3)
    m = YOLOv1(num_classes=3, image_size=32, grid_size=4, widths=(8, 16, 16, 32))
    loss = YOLOv1Loss(num_classes=3, image_size=32)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    first = loss(m(x), t).item()
    for _ in range(40):
        opt.zero_grad()
        value = loss(m(x), t)
        value.backward()
        opt.step()
    assert value.item() < 0.5 * first
