"""A YOLOv1-style grid detector: one forward pass predicts an S x S x (B * 5 + C) tensor.

Conventions
-----------
The image is cut into an ``S x S`` grid; the cell that contains an object's centre is
responsible for it. Each cell predicts ``B`` boxes ``(x, y, sqrt(w), sqrt(h), conf)`` and
one set of ``C`` class probabilities. ``x, y`` are the box centre's offset inside the cell
and ``sqrt(w), sqrt(h)`` the square roots of the box size relative to the image, all in
[0, 1] (sigmoids); ``conf`` (sigmoid) is trained towards the IoU of the box with the
object; class probabilities are a softmax. Layout of the last axis: ``[x, y, sqrt(w),
sqrt(h), conf] * B + [p_1 .. p_C]``. Boxes outside are xyxy in the frame of
:mod:`cvgeo.geometry.boxes`: a cell of an ``(H, W)`` image at column ``j`` spans image x
in ``[j W / S - 0.5, (j + 1) W / S - 0.5]``.

The backbone is a small stack of 3x3 convolutions, batch norm and leaky ReLU with 2x2 max
pooling down to the grid, and the head a 1x1 convolution: a fully convolutional version
of the paper's network, sized for small synthetic scenes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from deep.models.detection._blocks import _pooled_stages, _pos_int

__all__ = ["YOLOv1", "YOLOv1Loss", "YOLOv1LossParts", "decode_yolo_v1",
           "encode_yolo_v1_targets"]


class YOLOv1(nn.Module):
    """YOLOv1-style detector for ``(N, in_chans, image_size, image_size)`` images.

    Parameters
    ----------
    num_classes : int
        ``C``.
    in_chans : int, optional
    image_size : int, optional
        Square input side; ``image_size / grid_size`` must be a power of two (the
        backbone halves the resolution that many times).
    grid_size : int, optional
        ``S``.
    boxes_per_cell : int, optional
        ``B``.
    widths : sequence of int, optional
        Channels of the convolution stages; a 2x2 max pool follows each stage until the
        grid is reached, and the remaining stages run at grid resolution.

    Notes
    -----
    ``forward`` returns the activated predictions ``(N, S, S, B * 5 + C)`` described in
    the module docstring; :class:`YOLOv1Loss` trains them and :func:`decode_yolo_v1`
    turns them into boxes.

    References
    ----------
    J. Redmon, S. Divvala, R. Girshick, A. Farhadi, "You Only Look Once: Unified, Real-Time
    Object Detection", CVPR 2016. doi:10.1109/CVPR.2016.91

    Examples
    --------
    >>> import torch
    >>> m = YOLOv1(num_classes=3, image_size=64, grid_size=8)
    >>> m(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 8, 8, 13])
    """

    def __init__(self, *, num_classes: int, in_chans: int = 1, image_size: int = 64,
                 grid_size: int = 8, boxes_per_cell: int = 2,
                 widths: Sequence[int] = (16, 32, 64, 128, 128)):
        super().__init__()
        func = "YOLOv1"
        self.num_classes = _pos_int(num_classes, func, "num_classes")
        self.in_chans = _pos_int(in_chans, func, "in_chans")
        self.image_size = _pos_int(image_size, func, "image_size")
        self.grid_size = _pos_int(grid_size, func, "grid_size")
        self.boxes_per_cell = _pos_int(boxes_per_cell, func, "boxes_per_cell")
        ratio = image_size // grid_size
        if image_size % grid_size or ratio & (ratio - 1):
            raise ValueError(f"{func}: image_size / grid_size must be a power of two, got "
                             f"{image_size} / {grid_size}")
        n_pool = ratio.bit_length() - 1
        widths = [_pos_int(w, func, "widths[i]") for w in widths]
        if len(widths) < n_pool:
            raise ValueError(f"{func}: widths must have at least {n_pool} stages to reach the "
                             f"{grid_size}x{grid_size} grid, got {len(widths)}")
        layers, c = _pooled_stages(in_chans, widths, n_pool=n_pool)
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Conv2d(c, boxes_per_cell * 5 + num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_chans or x.shape[2:] != (self.image_size,) * 2:
            raise ValueError(f"YOLOv1: input must be (N, {self.in_chans}, {self.image_size}, "
                             f"{self.image_size}), got shape {tuple(x.shape)}")
        raw = self.head(self.backbone(x)).permute(0, 2, 3, 1)  # (N, S, S, B*5 + C)
        nb = self.boxes_per_cell * 5
        boxes = torch.sigmoid(raw[..., :nb])
        probs = torch.softmax(raw[..., nb:], dim=-1)
        return torch.cat([boxes, probs], dim=-1)


def encode_yolo_v1_targets(boxes: Sequence[torch.Tensor], labels: Sequence[torch.Tensor], *,
                           image_size: int, grid_size: int, num_classes: int) -> torch.Tensor:
    """Targets ``(N, S, S, 5 + C)``: ``[has_object, x, y, sqrt(w), sqrt(h), one-hot class]``.

    Each object goes to the cell containing its centre, with the parametrisation of the
    module docstring. A cell holds at most one object: when several centres fall in one
    cell, the largest object (by area) is kept.

    Parameters
    ----------
    boxes : list of N tensors (M_i, 4)
        xyxy boxes in pixels.
    labels : list of N int tensors (M_i,)
    image_size, grid_size, num_classes : int
    """
    func = "encode_yolo_v1_targets"
    if len(boxes) != len(labels):
        raise ValueError(f"{func}: boxes and labels must have one entry per image each, got "
                         f"{len(boxes)} and {len(labels)}")
    s, size = grid_size, float(image_size)
    cell = size / s
    out = torch.zeros(len(boxes), s, s, 5 + num_classes)
    for n, (b, lab) in enumerate(zip(boxes, labels)):
        b = torch.as_tensor(b, dtype=torch.float32).reshape(-1, 4)
        lab = torch.as_tensor(lab, dtype=torch.int64).reshape(-1)
        if lab.numel() and (int(lab.min()) < 0 or int(lab.max()) >= num_classes):
            raise ValueError(f"{func}: labels[{n}] must be in [0, {num_classes}), got values "
                             f"in [{int(lab.min())}, {int(lab.max())}]")
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        for i in torch.argsort(area, stable=True).tolist():  # largest written last
            x1, y1, x2, y2 = b[i].tolist()
            cx, cy = (x1 + x2) / 2 + 0.5, (y1 + y2) / 2 + 0.5  # from the image's left edge
            col = min(max(int(cx // cell), 0), s - 1)
            row = min(max(int(cy // cell), 0), s - 1)
            t = out[n, row, col]
            t.zero_()
            t[0] = 1.0
            t[1] = cx / cell - col
            t[2] = cy / cell - row
            t[3] = max(x2 - x1, 0.0) ** 0.5 / size**0.5
            t[4] = max(y2 - y1, 0.0) ** 0.5 / size**0.5
            t[5 + int(lab[i])] = 1.0
    return out


def _cell_boxes(xywh: torch.Tensor, image_size: int) -> torch.Tensor:
    """``(..., S, S, [B,] 4)`` of ``(x, y, sqrt w, sqrt h)`` to xyxy pixels."""
    s = xywh.shape[1]
    cell = image_size / s
    rows = torch.arange(s, dtype=xywh.dtype, device=xywh.device)
    if xywh.ndim == 5:  # (N, S, S, B, 4)
        col_off, row_off = rows[None, None, :, None], rows[None, :, None, None]
    else:  # (N, S, S, 4)
        col_off, row_off = rows[None, None, :], rows[None, :, None]
    cx = (xywh[..., 0] + col_off) * cell - 0.5
    cy = (xywh[..., 1] + row_off) * cell - 0.5
    w = xywh[..., 2] ** 2 * image_size
    h = xywh[..., 3] ** 2 * image_size
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def _aligned_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of aligned xyxy boxes ``(..., 4)``, 0 where the union is empty."""
    iw = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    ih = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = iw * ih
    union = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
             + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter)
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(union))


@dataclass(frozen=True)
class YOLOv1LossParts:
    """The terms of :class:`YOLOv1Loss`, each summed over the batch and divided by N."""

    total: torch.Tensor
    coord: torch.Tensor
    obj: torch.Tensor
    noobj: torch.Tensor
    cls: torch.Tensor


class YOLOv1Loss(nn.Module):
    """YOLOv1's sum-squared loss.

    ``λ_coord Σ 1^obj [(x - x̂)² + (y - ŷ)² + (√w - √ŵ)² + (√h - √ĥ)²]
    + Σ 1^obj (IoU - Ĉ)² + λ_noobj Σ 1^noobj Ĉ² + Σ_cells 1^obj Σ_c (p(c) - p̂(c))²``,
    where ``1^obj`` marks the one predictor of an object's cell whose box has the highest
    IoU with the object (the first on ties) and ``1^noobj`` every other predictor. The
    confidence target is that IoU (detached; ``rescore=False`` uses 1). The sum is divided
    by the batch size.

    Parameters
    ----------
    num_classes, boxes_per_cell, image_size : int
    lambda_coord, lambda_noobj : float, optional
        5 and 0.5 as in the paper.
    rescore : bool, optional
    """

    def __init__(self, *, num_classes: int, boxes_per_cell: int = 2, image_size: int = 64,
                 lambda_coord: float = 5.0, lambda_noobj: float = 0.5, rescore: bool = True):
        super().__init__()
        self.num_classes = _pos_int(num_classes, "YOLOv1Loss", "num_classes")
        self.boxes_per_cell = _pos_int(boxes_per_cell, "YOLOv1Loss", "boxes_per_cell")
        self.image_size = _pos_int(image_size, "YOLOv1Loss", "image_size")
        self.lambda_coord = float(lambda_coord)
        self.lambda_noobj = float(lambda_noobj)
        self.rescore = bool(rescore)

    def parts(self, pred: torch.Tensor, target: torch.Tensor) -> YOLOv1LossParts:
        """The loss and its four terms."""
        nb, c = self.boxes_per_cell, self.num_classes
        if pred.ndim != 4 or pred.shape[-1] != nb * 5 + c:
            raise ValueError(f"YOLOv1Loss: pred must be (N, S, S, {nb * 5 + c}), got shape "
                             f"{tuple(pred.shape)}")
        if target.shape != pred.shape[:3] + (5 + c,):
            raise ValueError(f"YOLOv1Loss: target must be {tuple(pred.shape[:3]) + (5 + c,)}, "
                             f"got shape {tuple(target.shape)}")
        n = pred.shape[0]
        p_box = pred[..., : nb * 5].reshape(pred.shape[:3] + (nb, 5))  # (N, S, S, B, 5)
        p_cls = pred[..., nb * 5:]
        obj_cell = target[..., 0] > 0  # (N, S, S)
        t_box = target[..., 1:5]
        with torch.no_grad():
            iou = _aligned_iou(_cell_boxes(p_box[..., :4], self.image_size),
                               _cell_boxes(t_box, self.image_size)[..., None, :])  # (N,S,S,B)
            best = iou.argmax(dim=-1)  # first maximal predictor
        resp = torch.nn.functional.one_hot(best, nb).bool() & obj_cell[..., None]  # (N,S,S,B)
        coord = ((p_box[..., :4] - t_box[..., None, :]) ** 2).sum(-1)  # (N, S, S, B)
        conf = p_box[..., 4]
        conf_target = iou if self.rescore else torch.ones_like(iou)
        coord_loss = self.lambda_coord * coord[resp].sum()
        obj_loss = ((conf - conf_target) ** 2)[resp].sum()
        noobj_loss = self.lambda_noobj * (conf**2)[~resp].sum()
        cls_loss = ((p_cls - target[..., 5:]) ** 2).sum(-1)[obj_cell].sum()
        parts = [coord_loss / n, obj_loss / n, noobj_loss / n, cls_loss / n]
        return YOLOv1LossParts(sum(parts), *parts)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.parts(pred, target).total


def decode_yolo_v1(pred: torch.Tensor, *, image_size: int, boxes_per_cell: int = 2,
                   score_threshold: float = 0.01, iou_threshold: float = 0.5,
                   max_detections: int = 100) -> list:
    """Boxes from YOLOv1 predictions: class-specific scores, thresholded, per-class NMS.

    Each predictor's score is ``conf * max_c p(c)`` with label ``argmax_c p(c)``;
    predictors scoring below ``score_threshold`` are dropped, the rest go through
    :func:`cvgeo.batched_nms` and the top ``max_detections`` are kept.

    Returns
    -------
    list of :class:`deep.models.detection.Detections`
        One per image, boxes xyxy in pixels (not clipped).
    """
    from deep.models.detection.metrics import nms_detections

    nb = _pos_int(boxes_per_cell, "decode_yolo_v1", "boxes_per_cell")
    with torch.no_grad():
        p_box = pred[..., : nb * 5].reshape(pred.shape[:3] + (nb, 5)).detach().float().cpu()
        probs = pred[..., nb * 5:].detach().float().cpu()
        boxes = _cell_boxes(p_box[..., :4], image_size)  # (N, S, S, B, 4)
        best_p, label = probs.max(dim=-1)  # (N, S, S)
        score = p_box[..., 4] * best_p[..., None]  # (N, S, S, B)
        label = label[..., None].expand_as(score)
    out = []
    for i in range(pred.shape[0]):
        b, s, lab = boxes[i].reshape(-1, 4), score[i].reshape(-1), label[i].reshape(-1)
        keep = s >= score_threshold
        out.append(nms_detections(b[keep], s[keep], lab[keep], iou_threshold=iou_threshold,
                                  max_detections=max_detections))
    return out
