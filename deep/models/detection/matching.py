"""Assigning ground truth to anchors or queries: IoU matcher, hard negatives, Hungarian.

Conventions
-----------
Boxes are xyxy tensors unless a docstring says cxcywh (DETR predicts normalised
``(cx, cy, w, h)``). Label 0 is the background class wherever a function speaks of
background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from cvgeo.geometry.boxes import box_convert, generalized_box_iou

__all__ = ["HungarianMatch", "HungarianMatcher", "Matcher", "hard_negative_mining"]


@dataclass(frozen=True)
class Matcher:
    """Match each anchor to its best ground-truth box by a quality (usually IoU).

    For a quality matrix ``(G, A)`` (ground truths x anchors), each anchor takes the
    ground truth of highest quality (the lowest index among ties) when that quality is
    ``>= high_threshold``; an anchor whose best quality is ``< low_threshold`` gets
    :attr:`BELOW_LOW_THRESHOLD` (-1, background); in between, :attr:`BETWEEN_THRESHOLDS`
    (-2, ignored).

    With ``allow_low_quality_matches``, every ground truth also claims the anchors of its
    own highest quality (all of them, if tied) unless that quality is 0: such an anchor is
    matched to *its* best ground truth even if below the thresholds. This is how Faster
    R-CNN's RPN makes sure that every object has at least one positive anchor.

    Attributes
    ----------
    high_threshold, low_threshold : float
        ``0 <= low_threshold <= high_threshold``.
    allow_low_quality_matches : bool

    Examples
    --------
    >>> import torch
    >>> q = torch.tensor([[0.9, 0.5, 0.1, 0.3], [0.2, 0.6, 0.0, 0.35]])
    >>> Matcher(high_threshold=0.7, low_threshold=0.3)(q)
    tensor([ 0, -2, -1, -2])
    >>> Matcher(high_threshold=0.7, low_threshold=0.3, allow_low_quality_matches=True)(q)
    tensor([ 0,  1, -1, -2])
    """

    high_threshold: float
    low_threshold: float
    allow_low_quality_matches: bool = False

    BELOW_LOW_THRESHOLD: ClassVar[int] = -1
    BETWEEN_THRESHOLDS: ClassVar[int] = -2

    def __post_init__(self):
        for name in ("high_threshold", "low_threshold"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
                raise ValueError(f"Matcher: {name} must be a number, got {v!r}")
        if not 0 <= self.low_threshold <= self.high_threshold:
            raise ValueError(f"Matcher: thresholds must satisfy 0 <= low_threshold <= "
                             f"high_threshold, got low={self.low_threshold}, "
                             f"high={self.high_threshold}")

    def __call__(self, quality: torch.Tensor) -> torch.Tensor:
        """Matches ``(A,)`` int64: a ground-truth index, -1 or -2 (see the class doc)."""
        if not isinstance(quality, torch.Tensor) or quality.ndim != 2:
            raise ValueError(f"Matcher: quality must be a tensor (G, A), got "
                             f"{getattr(quality, 'shape', type(quality).__name__)}")
        g, a = quality.shape
        if g == 0:
            return torch.full((a,), self.BELOW_LOW_THRESHOLD, dtype=torch.int64,
                              device=quality.device)
        if a == 0:
            return torch.zeros((0,), dtype=torch.int64, device=quality.device)
        q = quality.detach()
        best = q.max(dim=0).values
        best_gt = torch.argmax(q, dim=0)  # the first maximal index among ties
        matches = best_gt.clone()
        matches[best < self.high_threshold] = self.BETWEEN_THRESHOLDS
        matches[best < self.low_threshold] = self.BELOW_LOW_THRESHOLD
        if self.allow_low_quality_matches:
            top = q.max(dim=1, keepdim=True).values  # (G, 1): each ground truth's best
            claimed = ((q == top) & (top > 0)).any(dim=0)  # (A,)
            matches[claimed] = best_gt[claimed]
        return matches


def hard_negative_mining(loss: torch.Tensor, labels: torch.Tensor, *,
                         neg_pos_ratio: float = 3.0) -> torch.Tensor:
    """SSD's hard negative mining: positives plus the highest-loss negatives, 3:1.

    Per image, keep every positive anchor (label > 0) and the ``min(neg_pos_ratio *
    num_positives, num_negatives)`` background anchors (label 0) with the highest loss
    (ties: lower index first). Anchors with a negative label are ignored. An image
    without positives contributes no negatives.

    Parameters
    ----------
    loss : Tensor of shape (B, A)
        Per-anchor classification loss (e.g. cross-entropy against the background).
    labels : Tensor of int, shape (B, A)
        > 0 object class, 0 background, < 0 ignored.
    neg_pos_ratio : float, optional

    Returns
    -------
    Tensor of bool, shape (B, A)
        The anchors that enter the classification loss.

    References
    ----------
    W. Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016, section 2.2.

    Examples
    --------
    >>> import torch
    >>> loss = torch.tensor([[0.1, 0.9, 0.5, 0.7, 0.2, 0.8]])
    >>> labels = torch.tensor([[1, 0, 0, 0, 0, 0]])
    >>> hard_negative_mining(loss, labels, neg_pos_ratio=2).int()
    tensor([[1, 1, 0, 0, 0, 1]], dtype=torch.int32)
    """
    func = "hard_negative_mining"
    if not isinstance(loss, torch.Tensor) or loss.ndim != 2:
        raise ValueError(f"{func}: loss must be a tensor (B, A), got "
                         f"{getattr(loss, 'shape', type(loss).__name__)}")
    if not isinstance(labels, torch.Tensor) or labels.shape != loss.shape:
        raise ValueError(f"{func}: labels must be a tensor of the same shape as loss "
                         f"{tuple(loss.shape)}, got {getattr(labels, 'shape', labels)}")
    if isinstance(neg_pos_ratio, bool) or not isinstance(neg_pos_ratio, (int, float)) \
            or not neg_pos_ratio >= 0:
        raise ValueError(f"{func}: neg_pos_ratio must be a number >= 0, got {neg_pos_ratio!r}")
    pos = labels > 0
    neg = labels == 0
    n_neg = torch.minimum((neg_pos_ratio * pos.sum(dim=1)).floor().long(), neg.sum(dim=1))
    ranked = torch.where(neg, loss.detach(), torch.full_like(loss, -torch.inf))
    order = ranked.sort(dim=1, descending=True, stable=True).indices
    rank = order.argsort(dim=1)  # rank of each anchor among the negatives, 0 = hardest
    return pos | (neg & (rank < n_neg[:, None]))


@dataclass(frozen=True)
class HungarianMatch:
    """One image's assignment: query ``pred_indices[i]`` predicts target ``target_indices[i]``.

    Both are int64 tensors of length ``min(Q, T)``, ``pred_indices`` ascending.
    """

    pred_indices: torch.Tensor
    target_indices: torch.Tensor


class HungarianMatcher:
    """DETR's bipartite matcher: the assignment of queries to targets of least total cost.

    The cost of predicting target ``t`` with query ``q`` is::

        cost_class * (-p_q(class_t)) + cost_bbox * |b_q - b_t|_1 + cost_giou * (-GIoU(b_q, b_t))

    with ``p_q`` the softmax of the query's logits and boxes in normalised cxcywh (the L1
    term on cxcywh, the GIoU on the same boxes as xyxy). The optimum is found by
    ``scipy.optimize.linear_sum_assignment`` per image.

    Parameters
    ----------
    cost_class, cost_bbox, cost_giou : float, optional
        Non-negative weights, not all 0 (DETR: 1, 5, 2).

    References
    ----------
    N. Carion et al., "End-to-End Object Detection with Transformers", ECCV 2020.
    doi:10.1007/978-3-030-58452-8_13

    Examples
    --------
    >>> import torch
    >>> m = HungarianMatcher()
    >>> logits = torch.tensor([[[0.0, 5.0], [5.0, 0.0]]])  # 2 queries, 2 classes
    >>> boxes = torch.tensor([[[0.7, 0.7, 0.2, 0.2], [0.3, 0.3, 0.2, 0.2]]])
    >>> r = m(logits, boxes, [torch.tensor([0])], [torch.tensor([[0.3, 0.3, 0.2, 0.2]])])
    >>> r[0].pred_indices, r[0].target_indices
    (tensor([1]), tensor([0]))
    """

    def __init__(self, *, cost_class: float = 1.0, cost_bbox: float = 5.0,
                 cost_giou: float = 2.0):
        ws = {"cost_class": cost_class, "cost_bbox": cost_bbox, "cost_giou": cost_giou}
        for name, v in ws.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ValueError(f"HungarianMatcher: {name} must be a number >= 0, got {v!r}")
        if not any(ws.values()):
            raise ValueError("HungarianMatcher: cost weights must not all be 0, got 0, 0, 0")
        self.cost_class = float(cost_class)
        self.cost_bbox = float(cost_bbox)
        self.cost_giou = float(cost_giou)

    def cost_matrix(self, logits: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor,
                    target_boxes: torch.Tensor) -> torch.Tensor:
        """The ``(Q, T)`` cost of one image (queries x targets), without gradients."""
        with torch.no_grad():
            prob = logits.softmax(-1)  # (Q, K)
            c_class = -prob[:, labels]  # (Q, T)
            tb = target_boxes.to(boxes.dtype)
            c_bbox = torch.cdist(boxes, tb, p=1)
            giou = generalized_box_iou(box_convert(boxes, src="cxcywh", dst="xyxy"),
                                       box_convert(tb, src="cxcywh", dst="xyxy"))
            return self.cost_class * c_class + self.cost_bbox * c_bbox - self.cost_giou * giou

    def __call__(self, logits: torch.Tensor, boxes: torch.Tensor,
                 target_labels: Sequence[torch.Tensor],
                 target_boxes: Sequence[torch.Tensor]) -> list[HungarianMatch]:
        """Match a batch.

        Parameters
        ----------
        logits : Tensor of shape (B, Q, K)
            Class logits per query (DETR includes a "no object" class; it is simply never
            a target here).
        boxes : Tensor of shape (B, Q, 4)
            Predicted normalised cxcywh boxes.
        target_labels : list of B int Tensors (T_b,)
        target_boxes : list of B Tensors (T_b, 4)
            Normalised cxcywh.

        Returns
        -------
        list of HungarianMatch
            One per image.
        """
        from scipy.optimize import linear_sum_assignment

        func = "HungarianMatcher"
        if not isinstance(logits, torch.Tensor) or logits.ndim != 3:
            raise ValueError(f"{func}: logits must be a tensor (B, Q, K), got "
                             f"{getattr(logits, 'shape', type(logits).__name__)}")
        bsz, q, k = logits.shape
        if not isinstance(boxes, torch.Tensor) or tuple(boxes.shape) != (bsz, q, 4):
            raise ValueError(f"{func}: boxes must be a tensor ({bsz}, {q}, 4), got "
                             f"{getattr(boxes, 'shape', type(boxes).__name__)}")
        if len(target_labels) != bsz or len(target_boxes) != bsz:
            raise ValueError(f"{func}: target_labels and target_boxes must hold one tensor per "
                             f"image ({bsz}), got {len(target_labels)} and {len(target_boxes)}")
        out = []
        for b in range(bsz):
            lab, tb = target_labels[b], target_boxes[b]
            if tb.ndim != 2 or tb.shape[1] != 4 or lab.shape != (tb.shape[0],):
                raise ValueError(f"{func}: target {b} must be labels (T,) and boxes (T, 4), got "
                                 f"shapes {tuple(lab.shape)} and {tuple(tb.shape)}")
            if lab.numel() and (int(lab.min()) < 0 or int(lab.max()) >= k):
                raise ValueError(f"{func}: target_labels[{b}] must be in [0, {k}), got values "
                                 f"in [{int(lab.min())}, {int(lab.max())}]")
            if tb.shape[0] == 0:
                empty = torch.zeros(0, dtype=torch.int64)
                out.append(HungarianMatch(empty, empty.clone()))
                continue
            cost = self.cost_matrix(logits[b], boxes[b], lab.long(), tb).cpu().double().numpy()
            rows, cols = linear_sum_assignment(cost)
            out.append(HungarianMatch(torch.as_tensor(rows, dtype=torch.int64),
                                      torch.as_tensor(np.asarray(cols), dtype=torch.int64)))
        return out
