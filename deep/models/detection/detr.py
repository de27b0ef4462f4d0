"""DETR-style set prediction: a CNN, a transformer encoder-decoder and object queries.

Conventions
-----------
The model predicts, for each of ``Q`` object queries, ``C + 1`` class logits (the last,
index ``C``, is "no object", as in DETR) and a box in *normalised* cxcywh: the centre and
size as fractions of the image side, the image covering ``[0, 1]``. In the pixel frame
of :mod:`cvgeo.geometry.boxes` (an image of side ``S`` covers ``[-0.5, S - 0.5]``) that
is ``x = S cx - 0.5``; :func:`boxes_to_normalized` and :func:`boxes_from_normalized`
convert xyxy pixels to and from it.

The backbone is a stack of 3x3 convolutions (batch norm, leaky ReLU, 2x2 max pooling);
a 1x1 convolution projects its map to ``dim`` channels, whose cells, plus a learned
position embedding, are the encoder's tokens (:class:`deep.layers.Block`). The decoder
blocks are pre-norm: self-attention among the queries (not causal), cross-attention to
the encoder's tokens (both :class:`deep.layers.MultiHeadAttention`), an
:class:`deep.layers.Mlp`. Every decoder block's output goes through the same class and
box heads, so :class:`DETRLoss` can add DETR's auxiliary losses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo.geometry.boxes import box_convert, generalized_box_iou_loss
from deep.layers.block import Block
from deep.layers.decoder import MultiHeadAttention
from deep.layers.mlp import Mlp
from deep.models.detection._blocks import _pooled_stages, _pos_int
from deep.models.detection.matching import HungarianMatcher

__all__ = ["DETR", "DETRLoss", "DETRLossParts", "DETROutput", "boxes_from_normalized",
           "boxes_to_normalized", "decode_detr"]


def boxes_to_normalized(boxes: torch.Tensor, image_size: int) -> torch.Tensor:
    """xyxy pixel boxes ``(..., 4)`` to normalised cxcywh (see the module docstring).

    Examples
    --------
    >>> import torch
    >>> boxes_to_normalized(torch.tensor([[-0.5, -0.5, 63.5, 31.5]]), 64)
    tensor([[0.5000, 0.2500, 1.0000, 0.5000]])
    """
    c = box_convert(boxes, src="xyxy", dst="cxcywh")
    shift = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=c.dtype, device=c.device)
    return (c + shift) / image_size


def boxes_from_normalized(boxes: torch.Tensor, image_size: int) -> torch.Tensor:
    """Normalised cxcywh ``(..., 4)`` to xyxy pixel boxes; the inverse of
    :func:`boxes_to_normalized`."""
    shift = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=boxes.dtype, device=boxes.device)
    return box_convert(boxes * image_size - shift, src="cxcywh", dst="xyxy")


class _QueryDecoderBlock(nn.Module):
    """``x + self_attn(norm1(x))``, ``x + cross_attn(norm2(x), memory)``, ``x + mlp(norm3(x))``."""

    def __init__(self, dim: int, *, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.self_attn = MultiHeadAttention(dim, num_heads=num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.cross_attn = MultiHeadAttention(dim, num_heads=num_heads)
        self.norm3 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, hidden_features=int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.norm1(x))  # (B, Q, D)
        x = x + self.cross_attn(self.norm2(x), memory)  # (B, Q, D)
        return x + self.mlp(self.norm3(x))


@dataclass(frozen=True)
class DETROutput:
    """Predictions of :class:`DETR`.

    Attributes
    ----------
    logits : Tensor of shape (B, Q, C + 1)
        Index ``C`` is "no object".
    boxes : Tensor of shape (B, Q, 4)
        Normalised cxcywh in (0, 1).
    aux : tuple of (logits, boxes) pairs
        The same heads on the earlier decoder blocks' outputs, first block first.
    """

    logits: torch.Tensor
    boxes: torch.Tensor
    aux: tuple = ()


class DETR(nn.Module):
    """DETR-style detector for ``(N, in_chans, image_size, image_size)`` images.

    Parameters
    ----------
    num_classes : int
        Object classes ``C`` ("no object" is added as index ``C``).
    in_chans, image_size : int, optional
    widths : sequence of int, optional
        Backbone stages; each halves the resolution.
    dim, num_heads : int, optional
        Transformer width and heads.
    encoder_depth, decoder_depth : int, optional
    mlp_ratio : float, optional
    num_queries : int, optional
        ``Q``, the most objects one image can have detected.

    References
    ----------
    N. Carion, F. Massa, G. Synnaeve, N. Usunier, A. Kirillov, S. Zagoruyko, "End-to-End
    Object Detection with Transformers", ECCV 2020. doi:10.1007/978-3-030-58452-8_13

    Examples
    --------
    >>> import torch
    >>> m = DETR(num_classes=3)
    >>> out = m(torch.zeros(2, 1, 64, 64))
    >>> out.logits.shape, out.boxes.shape, len(out.aux)
    (torch.Size([2, 10, 4]), torch.Size([2, 10, 4]), 1)
    """

    def __init__(self, *, num_classes: int, in_chans: int = 1, image_size: int = 64,
                 widths: Sequence[int] = (16, 32, 64), dim: int = 64, num_heads: int = 4,
                 encoder_depth: int = 2, decoder_depth: int = 2, mlp_ratio: float = 2.0,
                 num_queries: int = 10):
        super().__init__()
        func = "DETR"
        self.num_classes = _pos_int(num_classes, func, "num_classes")
        self.in_chans = _pos_int(in_chans, func, "in_chans")
        self.image_size = _pos_int(image_size, func, "image_size")
        self.num_queries = _pos_int(num_queries, func, "num_queries")
        _pos_int(encoder_depth, func, "encoder_depth")
        _pos_int(decoder_depth, func, "decoder_depth")
        if not widths:
            raise ValueError(f"{func}: widths must not be empty")
        stride = 2 ** len(widths)
        if image_size % stride:
            raise ValueError(f"{func}: image_size must be a multiple of 2 ** len(widths) = "
                             f"{stride}, got {image_size}")
        layers, c = _pooled_stages(in_chans, [_pos_int(w, func, "widths[i]") for w in widths])
        self.backbone = nn.Sequential(*layers)
        self.proj = nn.Conv2d(c, _pos_int(dim, func, "dim"), 1)
        n_tokens = (image_size // stride) ** 2
        self.pos_embed = nn.Parameter(torch.randn(1, n_tokens, dim) * 0.02)
        self.encoder = nn.ModuleList(Block(dim, num_heads=num_heads, mlp_ratio=mlp_ratio)
                                     for _ in range(encoder_depth))
        self.enc_norm = nn.LayerNorm(dim)
        self.query_embed = nn.Parameter(torch.randn(1, num_queries, dim))
        self.decoder = nn.ModuleList(_QueryDecoderBlock(dim, num_heads=num_heads,
                                                        mlp_ratio=mlp_ratio)
                                     for _ in range(decoder_depth))
        self.dec_norm = nn.LayerNorm(dim)
        self.class_head = nn.Linear(dim, num_classes + 1)
        self.box_head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim),
                                      nn.ReLU(), nn.Linear(dim, 4))

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.dec_norm(x)
        return self.class_head(h), torch.sigmoid(self.box_head(h))

    def forward(self, x: torch.Tensor) -> DETROutput:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.in_chans \
                or x.shape[2:] != (self.image_size,) * 2:
            raise ValueError(f"DETR: input must be (N, {self.in_chans}, {self.image_size}, "
                             f"{self.image_size}), got {getattr(x, 'shape', type(x).__name__)}")
        f = self.proj(self.backbone(x))  # (N, D, h, w)
        tokens = f.flatten(2).transpose(1, 2) + self.pos_embed  # (N, h*w, D)
        for blk in self.encoder:
            tokens = blk(tokens)
        memory = self.enc_norm(tokens)
        q = self.query_embed.expand(x.shape[0], -1, -1)  # (N, Q, D)
        outs = []
        for blk in self.decoder:
            q = blk(q, memory)
            outs.append(self._heads(q))
        logits, boxes = outs[-1]
        return DETROutput(logits, boxes, tuple(outs[:-1]))


@dataclass(frozen=True)
class DETRLossParts:
    """The weighted terms of :class:`DETRLoss` (auxiliary terms included) and their sum."""

    total: torch.Tensor
    cls: torch.Tensor
    bbox: torch.Tensor
    giou: torch.Tensor


class DETRLoss(nn.Module):
    """DETR's Hungarian loss.

    Each decoder output is matched to the targets by :class:`HungarianMatcher` (class,
    L1 and GIoU costs); the loss is the cross-entropy of every query's class (matched
    queries against their target's class, the others against "no object", whose weight
    is ``eos_coef``), plus, on the matched queries, the L1 distance of the normalised
    cxcywh boxes and ``1 - GIoU``, each divided by the number of targets in the batch.
    With ``aux_loss`` the same loss is added for every earlier decoder block.

    Parameters
    ----------
    num_classes : int
    matcher : HungarianMatcher, optional
        Default: class 1, L1 5, GIoU 2 (DETR's).
    eos_coef : float, optional
    weight_class, weight_bbox, weight_giou : float, optional
    aux_loss : bool, optional
    """

    def __init__(self, *, num_classes: int, matcher: HungarianMatcher | None = None,
                 eos_coef: float = 0.1, weight_class: float = 1.0, weight_bbox: float = 5.0,
                 weight_giou: float = 2.0, aux_loss: bool = True):
        super().__init__()
        func = "DETRLoss"
        self.num_classes = _pos_int(num_classes, func, "num_classes")
        for name, v in (("eos_coef", eos_coef), ("weight_class", weight_class),
                        ("weight_bbox", weight_bbox), ("weight_giou", weight_giou)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 \
                    or not math.isfinite(v):
                raise ValueError(f"{func}: {name} must be a finite number >= 0, got {v!r}")
        self.matcher = matcher if matcher is not None else HungarianMatcher()
        if not isinstance(self.matcher, HungarianMatcher):
            raise TypeError(f"{func}: matcher must be a HungarianMatcher, got "
                            f"{type(matcher).__name__}")
        w = torch.ones(num_classes + 1)
        w[-1] = eos_coef
        self.register_buffer("class_weight", w, persistent=False)
        self.weights = (float(weight_class), float(weight_bbox), float(weight_giou))
        self.aux_loss = bool(aux_loss)

    def _one(self, logits, boxes, labels, targets, n_targets):
        matches = self.matcher(logits, boxes, labels, targets)
        bsz, q, _ = logits.shape
        cls_t = torch.full((bsz, q), self.num_classes, dtype=torch.int64, device=logits.device)
        src, tgt = [], []
        for b, m in enumerate(matches):
            cls_t[b, m.pred_indices] = labels[b][m.target_indices].long()
            src.append(boxes[b, m.pred_indices])
            tgt.append(targets[b][m.target_indices].to(boxes.dtype))
        cls = F.cross_entropy(logits.transpose(1, 2), cls_t,
                              weight=self.class_weight.to(logits.dtype))
        src, tgt = torch.cat(src), torch.cat(tgt)
        bbox = F.l1_loss(src, tgt, reduction="sum") / n_targets
        giou = generalized_box_iou_loss(box_convert(src, src="cxcywh", dst="xyxy"),
                                        box_convert(tgt, src="cxcywh", dst="xyxy"),
                                        reduction="sum") / n_targets
        return cls, bbox, giou

    def parts(self, out: DETROutput, labels: Sequence[torch.Tensor],
              targets: Sequence[torch.Tensor]) -> DETRLossParts:
        """The loss of a batch.

        Parameters
        ----------
        out : DETROutput
        labels : list of B int Tensors (T_b,)
            Classes in ``[0, C)``.
        targets : list of B Tensors (T_b, 4)
            Normalised cxcywh boxes (:func:`boxes_to_normalized`).
        """
        func = "DETRLoss"
        if len(labels) != out.logits.shape[0] or len(targets) != len(labels):
            raise ValueError(f"{func}: labels and targets must hold one entry per image "
                             f"({out.logits.shape[0]}), got {len(labels)} and {len(targets)}")
        if out.logits.shape[-1] != self.num_classes + 1:
            raise ValueError(f"{func}: logits must have num_classes + 1 = "
                             f"{self.num_classes + 1} columns, got {out.logits.shape[-1]}")
        n_targets = max(sum(int(t.shape[0]) for t in targets), 1)
        wc, wb, wg = self.weights
        heads = [(out.logits, out.boxes)] + (list(out.aux) if self.aux_loss else [])
        cls = bbox = giou = out.logits.new_zeros(())
        for logits, boxes in heads:
            c, b, g = self._one(logits, boxes, labels, targets, n_targets)
            cls, bbox, giou = cls + wc * c, bbox + wb * b, giou + wg * g
        return DETRLossParts(cls + bbox + giou, cls, bbox, giou)

    def forward(self, out: DETROutput, labels: Sequence[torch.Tensor],
                targets: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.parts(out, labels, targets).total


def decode_detr(out: DETROutput, *, image_size: int, score_threshold: float = 0.0) -> list:
    """Detections from :class:`DETROutput`: one per query, no NMS (a set prediction).

    A query's score is its highest softmax probability among the object classes (the
    "no object" probability is left out of the maximum but stays in the softmax), its
    label that class, its box converted to xyxy pixels and clipped to the image.

    Returns
    -------
    list of :class:`deep.models.detection.Detections`
        One per image, queries scoring at least ``score_threshold``, best first.
    """
    from cvgeo.geometry.boxes import clip_boxes
    from deep.models.detection.metrics import Detections

    if isinstance(score_threshold, bool) or not isinstance(score_threshold, (int, float)) \
            or not 0 <= score_threshold <= 1:
        raise ValueError(f"decode_detr: score_threshold must be in [0, 1], got "
                         f"{score_threshold!r}")
    results = []
    with torch.no_grad():
        prob = out.logits.detach().float().softmax(-1)[..., :-1].cpu()  # (B, Q, C)
        score, label = prob.max(-1)
        boxes = clip_boxes(boxes_from_normalized(out.boxes.detach().double().cpu(), image_size),
                           image_shape=(image_size, image_size))
        for i in range(prob.shape[0]):
            keep = score[i] >= score_threshold
            s, lab, b = score[i][keep], label[i][keep], boxes[i][keep]
            order = s.argsort(descending=True, stable=True)
            results.append(Detections(b[order].numpy(), s[order].double().numpy(),
                                      lab[order].numpy()))
    return results
