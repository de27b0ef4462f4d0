"""An SSD-style single-shot detector: default boxes on several feature levels.

Conventions
-----------
Every feature level's cells carry default boxes (:func:`ssd_default_boxes`); for each
one the detector predicts ``C + 1`` class logits (index 0 is the background) and four
offsets from the default box (:class:`BoxCoder` with weights ``(10, 10, 5, 5)``, SSD's
variances 0.1 / 0.2). Default boxes are listed level by level, then row-major over
cells, then over the boxes of a cell, as :mod:`deep.models.detection.anchors` says.
Boxes are xyxy pixels in the frame of :mod:`cvgeo.geometry.boxes`.

The backbone is a small stack of 3x3 convolutions with batch norm, leaky ReLU and 2x2
max pooling; the last ``len(level_widths)`` stages are the feature levels, each with a
3x3 convolutional head.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo.geometry.boxes import box_iou
from deep.models.detection._blocks import _conv, _pooled_stages
from deep.models.detection.anchors import BoxCoder, ssd_default_boxes
from deep.models.detection.losses import sigmoid_focal_loss
from deep.models.detection.matching import Matcher, hard_negative_mining

__all__ = ["SSD", "SSDLoss", "SSDLossParts", "SSDOutput", "decode_ssd"]


@dataclass(frozen=True)
class SSDOutput:
    """Raw predictions of :class:`SSD` for ``A`` default boxes.

    Attributes
    ----------
    cls_logits : Tensor of shape (N, A, C + 1)
        Index 0 is the background.
    box_deltas : Tensor of shape (N, A, 4)
        Offsets from the default boxes (see :class:`BoxCoder`).
    """

    cls_logits: torch.Tensor
    box_deltas: torch.Tensor


class SSD(nn.Module):
    """SSD-style detector for ``(N, in_chans, image_size, image_size)`` images.

    Parameters
    ----------
    num_classes : int
        Object classes ``C`` (the background is added).
    in_chans, image_size : int, optional
    stem_widths : sequence of int, optional
        Channels of the stages before the first feature level; each halves the resolution.
    level_widths : sequence of int, optional
        Channels of the feature levels; each after the first halves the resolution again.
    min_scale, max_scale : float, optional
        Default box scales of the first and last level, relative to the image side.
    aspect_ratios : list of lists of float, optional
        Per level, the ratios besides 1 (default ``[2]`` for every level).
    cls_prior : float in (0, 1), optional
        RetinaNet's initialisation for training with the focal loss: the object-class
        logits start at ``log(p / (1 - p))`` so every sigmoid starts at ``p`` (0.01 in the
        paper) and the many background boxes do not swamp the first steps.

    Attributes
    ----------
    anchors : Tensor of shape (A, 4)
        The default boxes (a buffer: it follows the module's device).

    References
    ----------
    W. Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016.
    doi:10.1007/978-3-319-46448-0_2

    Examples
    --------
    >>> import torch
    >>> m = SSD(num_classes=3)
    >>> out = m(torch.zeros(2, 1, 64, 64))
    >>> m.anchors.shape, out.cls_logits.shape, out.box_deltas.shape
    (torch.Size([1344, 4]), torch.Size([2, 1344, 4]), torch.Size([2, 1344, 4]))
    """

    def __init__(self, *, num_classes: int, in_chans: int = 1, image_size: int = 64,
                 stem_widths: Sequence[int] = (16, 32), level_widths: Sequence[int] = (64, 96, 128),
                 min_scale: float = 0.15, max_scale: float = 0.45,
                 aspect_ratios: Sequence[Sequence[float]] | None = None,
                 cls_prior: float | None = None):
        super().__init__()
        for name, v in (("num_classes", num_classes), ("in_chans", in_chans),
                        ("image_size", image_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"SSD: {name} must be a positive int, got {v!r}")
        if not level_widths or not stem_widths:
            raise ValueError("SSD: stem_widths and level_widths must not be empty")
        n_down = len(stem_widths) + len(level_widths) - 1
        if image_size % (2**n_down):
            raise ValueError(f"SSD: image_size must be a multiple of 2**{n_down} (one halving "
                             f"per stem stage and per level after the first), got {image_size}")
        self.num_classes = num_classes
        self.image_size = image_size
        layers, c = _pooled_stages(in_chans, stem_widths)
        self.stem = nn.Sequential(*layers)
        self.levels = nn.ModuleList()
        shapes = []
        size = image_size // 2 ** len(stem_widths)
        for i, w in enumerate(level_widths):
            block = ([nn.MaxPool2d(2)] if i else []) + _conv(c, w) + _conv(w, w)
            self.levels.append(nn.Sequential(*block))
            size = size // 2 if i else size
            shapes.append((size, size))
            c = w
        ratios = [[2.0]] * len(level_widths) if aspect_ratios is None else aspect_ratios
        anchors = ssd_default_boxes(shapes, image_shape=(image_size, image_size),
                                    min_scale=min_scale, max_scale=max_scale,
                                    aspect_ratios=ratios)
        self.register_buffer("anchors", anchors, persistent=False)
        self.feature_shapes = shapes
        per_cell = [2 + 2 * len(r) for r in ratios]
        self.cls_heads = nn.ModuleList(nn.Conv2d(w, a * (num_classes + 1), 3, padding=1)
                                       for w, a in zip(level_widths, per_cell))
        self.box_heads = nn.ModuleList(nn.Conv2d(w, a * 4, 3, padding=1)
                                       for w, a in zip(level_widths, per_cell))
        if cls_prior is not None:
            if isinstance(cls_prior, bool) or not isinstance(cls_prior, float) \
                    or not 0 < cls_prior < 1:
                raise ValueError(f"SSD: cls_prior must be a float in (0, 1), got {cls_prior!r}")
            with torch.no_grad():
                for head, a in zip(self.cls_heads, per_cell):
                    bias = head.bias.view(a, num_classes + 1)
                    bias[:, 0] = 0.0
                    bias[:, 1:] = math.log(cls_prior / (1 - cls_prior))

    def forward(self, x: torch.Tensor) -> SSDOutput:
        if x.ndim != 4 or x.shape[2:] != (self.image_size,) * 2:
            raise ValueError(f"SSD: input must be (N, C, {self.image_size}, {self.image_size}), "
                             f"got shape {tuple(x.shape)}")
        n = x.shape[0]
        feats = self.stem(x)
        logits, deltas = [], []
        for level, cls_head, box_head in zip(self.levels, self.cls_heads, self.box_heads):
            feats = level(feats)
            # (N, A*K, h, w) -> (N, h, w, A*K) -> (N, h*w*A, K): cells row-major, then boxes
            logits.append(cls_head(feats).permute(0, 2, 3, 1).reshape(n, -1,
                                                                      self.num_classes + 1))
            deltas.append(box_head(feats).permute(0, 2, 3, 1).reshape(n, -1, 4))
        return SSDOutput(torch.cat(logits, 1), torch.cat(deltas, 1))


@dataclass(frozen=True)
class SSDLossParts:
    """The terms of :class:`SSDLoss`, each divided by the number of matched default boxes."""

    total: torch.Tensor
    box: torch.Tensor
    cls: torch.Tensor


class SSDLoss(nn.Module):
    """SSD's multibox loss: smooth L1 on matched boxes plus a classification loss.

    Each default box is matched to the ground truth of highest IoU when that IoU is
    ``>= iou_threshold``, and every object also claims its best default box
    (:class:`Matcher` with low-quality matches). Matched boxes regress their offsets
    (smooth L1, :class:`BoxCoder` weights (10, 10, 5, 5)) and learn the object's class;
    the others are background. The classification loss is cross-entropy over the
    positives and the hardest negatives, 3 per positive (:func:`hard_negative_mining`),
    or, with ``focal=True``, RetinaNet's sigmoid focal loss over every default box.
    Both terms are divided by the number of positives in the batch (at least 1).

    Parameters
    ----------
    anchors : Tensor of shape (A, 4)
        The model's default boxes (``SSD.anchors``).
    num_classes : int
    iou_threshold : float, optional
    neg_pos_ratio : float, optional
    focal : bool, optional
    """

    def __init__(self, anchors: torch.Tensor, *, num_classes: int, iou_threshold: float = 0.5,
                 neg_pos_ratio: float = 3.0, focal: bool = False):
        super().__init__()
        self.register_buffer("anchors", anchors.detach().clone(), persistent=False)
        self.num_classes = num_classes
        self.matcher = Matcher(high_threshold=iou_threshold, low_threshold=iou_threshold,
                               allow_low_quality_matches=True)
        self.coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        self.neg_pos_ratio = neg_pos_ratio
        self.focal = focal

    def targets(self, boxes: Sequence[torch.Tensor], labels: Sequence[torch.Tensor]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per default box: class labels ``(N, A)`` (0 background) and offsets ``(N, A, 4)``."""
        a = self.anchors
        cls_t = torch.zeros(len(boxes), a.shape[0], dtype=torch.int64, device=a.device)
        box_t = torch.zeros(len(boxes), a.shape[0], 4, dtype=a.dtype, device=a.device)
        for i, (b, lab) in enumerate(zip(boxes, labels)):
            b = torch.as_tensor(b, dtype=a.dtype, device=a.device).reshape(-1, 4)
            lab = torch.as_tensor(lab, dtype=torch.int64, device=a.device).reshape(-1)
            if b.shape[0] == 0:
                continue
            m = self.matcher(box_iou(b, a))
            pos = m >= 0
            cls_t[i, pos] = lab[m[pos]] + 1
            box_t[i, pos] = self.coder.encode(b[m[pos]], a[pos])
        return cls_t, box_t

    def parts(self, out: SSDOutput, boxes: Sequence[torch.Tensor],
              labels: Sequence[torch.Tensor]) -> SSDLossParts:
        """The loss and its two terms for a batch with per-image boxes and labels."""
        if len(boxes) != out.cls_logits.shape[0] or len(labels) != len(boxes):
            raise ValueError(f"SSDLoss: boxes and labels must hold one entry per image "
                             f"({out.cls_logits.shape[0]}), got {len(boxes)} and {len(labels)}")
        cls_t, box_t = self.targets(boxes, labels)
        pos = cls_t > 0
        n_pos = max(int(pos.sum()), 1)
        box_loss = F.smooth_l1_loss(out.box_deltas[pos], box_t[pos].to(out.box_deltas.dtype),
                                    reduction="sum") / n_pos
        if self.focal:
            onehot = F.one_hot(cls_t, self.num_classes + 1)[..., 1:].to(out.cls_logits.dtype)
            cls_loss = sigmoid_focal_loss(out.cls_logits[..., 1:], onehot,
                                          reduction="sum") / n_pos
        else:
            ce = F.cross_entropy(out.cls_logits.transpose(1, 2), cls_t, reduction="none")
            keep = hard_negative_mining(ce, cls_t, neg_pos_ratio=self.neg_pos_ratio)
            cls_loss = ce[keep].sum() / n_pos
        return SSDLossParts(box_loss + cls_loss, box_loss, cls_loss)

    def forward(self, out: SSDOutput, boxes: Sequence[torch.Tensor],
                labels: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.parts(out, boxes, labels).total


def decode_ssd(out: SSDOutput, anchors: torch.Tensor, *, image_size: int,
               focal: bool = False, score_threshold: float = 0.01, iou_threshold: float = 0.45,
               top_k: int = 200, max_detections: int = 100) -> list:
    """Detections from SSD outputs: per class scores, top ``top_k``, per-class NMS.

    Scores are the softmax over ``C + 1`` classes (or, with ``focal=True``, sigmoids of
    the ``C`` object logits); every (default box, class) pair scoring at least
    ``score_threshold`` is a candidate, the ``top_k`` best go through
    :func:`cvgeo.batched_nms`, and the best ``max_detections`` remain. Boxes are clipped
    to the image.

    Returns
    -------
    list of :class:`deep.models.detection.Detections`
    """
    from deep.models.detection.metrics import nms_detections

    coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    results = []
    with torch.no_grad():
        logits = out.cls_logits.detach().float().cpu()
        probs = torch.sigmoid(logits[..., 1:]) if focal else logits.softmax(-1)[..., 1:]
        boxes = coder.decode(out.box_deltas.detach().float().cpu(), anchors.float().cpu(),
                             image_shape=(image_size, image_size))
        for i in range(probs.shape[0]):
            p = probs[i]  # (A, C)
            flat = p.reshape(-1)
            cand = torch.nonzero(flat >= score_threshold).squeeze(1)
            cand = cand[flat[cand].argsort(descending=True, stable=True)][:top_k]
            a_idx, c_idx = cand // p.shape[1], cand % p.shape[1]
            results.append(nms_detections(boxes[i, a_idx], flat[cand], c_idx,
                                          iou_threshold=iou_threshold,
                                          max_detections=max_detections))
    return results
