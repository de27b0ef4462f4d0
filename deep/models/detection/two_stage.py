"""A small two-stage detector in the manner of Faster R-CNN: an RPN, then an RoI Align head.

Conventions
-----------
Boxes are xyxy pixels in the frame of :mod:`cvgeo.geometry.boxes`. The backbone is a
stack of 3x3 convolutions (batch norm, leaky ReLU) with 2x2 max pooling down to one
feature map of stride ``2 ** len(stem_widths)``. The region proposal network (RPN) puts
``len(anchor_sizes) * len(aspect_ratios)`` anchors (:func:`grid_anchors`) on every cell
of that map and predicts, per anchor, one objectness logit and four offsets
(:class:`BoxCoder` weights ``(1, 1, 1, 1)``). Proposals are the decoded boxes, clipped
to the image, without the tiny ones, the ``pre_nms_top_n`` best by objectness, greedy
NMS (:func:`cvgeo.geometry.boxes.nms`), then the ``post_nms_top_n`` best. The second
stage pools each proposal with :func:`deep.layers.roi.roi_align` and predicts ``C + 1``
class logits (index 0 is the background) and class-specific offsets (weights
``(10, 10, 5, 5)``) through two fully connected layers.

Training (:meth:`FasterRCNN.loss`) follows the paper: anchors are positive at IoU
``>= 0.7`` with a ground truth (and every ground truth claims its best anchors),
negative below 0.3; ``rpn_batch_size`` anchors per image are sampled, at most half
positive. RoIs are the proposals plus the ground-truth boxes; they are foreground at IoU
``>= 0.5``, background below; ``roi_batch_size`` per image are sampled, at most
``roi_positive_fraction`` foreground. The four terms are the binary cross-entropy of the
objectness, the smooth L1 of the RPN offsets, the cross-entropy of the RoI classes and
the smooth L1 of the RoI offsets of the true class.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo.geometry.boxes import box_iou, nms
from deep.layers.roi import roi_align
from deep.models.detection._blocks import _conv, _pooled_stages, _pos_int
from deep.models.detection.anchors import BoxCoder, grid_anchors
from deep.models.detection.matching import Matcher

__all__ = ["FasterRCNN", "FasterRCNNLossParts", "FasterRCNNOutput", "RPNOutput",
           "decode_faster_rcnn", "rpn_proposals"]

_RPN_CODER = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
_HEAD_CODER = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))


def _fraction(v, func: str, name: str, *, low_open: bool = True) -> float:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) \
        and (0 < v if low_open else 0 <= v) and v <= 1
    if not ok:
        raise ValueError(f"{func}: {name} must be a number in {'(' if low_open else '['}0, 1], "
                         f"got {v!r}")
    return float(v)


@dataclass(frozen=True)
class RPNOutput:
    """Raw RPN predictions for ``A`` anchors.

    Attributes
    ----------
    objectness : Tensor of shape (N, A)
        Logits.
    deltas : Tensor of shape (N, A, 4)
        Offsets from the anchors (:class:`BoxCoder` weights ``(1, 1, 1, 1)``).
    """

    objectness: torch.Tensor
    deltas: torch.Tensor


@dataclass(frozen=True)
class FasterRCNNOutput:
    """What :meth:`FasterRCNN.forward` returns: the RPN's output, proposals, head output.

    Attributes
    ----------
    rpn : RPNOutput
    proposals : list of N Tensors (K_i, 4)
        xyxy proposals per image (no gradient).
    proposal_scores : list of N Tensors (K_i,)
        Their objectness probabilities.
    cls_logits : Tensor of shape (sum K_i, C + 1)
        RoI class logits, proposals of image 0 first; index 0 is the background.
    box_deltas : Tensor of shape (sum K_i, C + 1, 4)
        Class-specific offsets from the proposals (weights ``(10, 10, 5, 5)``).
    """

    rpn: RPNOutput
    proposals: list
    proposal_scores: list
    cls_logits: torch.Tensor
    box_deltas: torch.Tensor


@dataclass(frozen=True)
class FasterRCNNLossParts:
    """The four terms of :meth:`FasterRCNN.loss` and their sum."""

    total: torch.Tensor
    rpn_objectness: torch.Tensor
    rpn_box: torch.Tensor
    cls: torch.Tensor
    box: torch.Tensor


def rpn_proposals(objectness: torch.Tensor, deltas: torch.Tensor, anchors: torch.Tensor, *,
                  image_shape: tuple[int, int], pre_nms_top_n: int = 300,
                  post_nms_top_n: int = 50, iou_threshold: float = 0.7,
                  min_size: float = 1.0) -> tuple[list, list]:
    """Region proposals from RPN outputs: decode, clip, drop tiny boxes, top-k, NMS, top-k.

    Parameters
    ----------
    objectness : Tensor of shape (N, A)
        Logits.
    deltas : Tensor of shape (N, A, 4)
    anchors : Tensor of shape (A, 4)
        xyxy.
    image_shape : (H, W)
        Proposals are clipped to ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``.
    pre_nms_top_n, post_nms_top_n : int, optional
        Candidates kept before NMS (by objectness) and proposals kept after it.
    iou_threshold : float, optional
        NMS threshold (:func:`cvgeo.geometry.boxes.nms`).
    min_size : float, optional
        Clipped boxes narrower or lower than this (pixels) are dropped.

    Returns
    -------
    proposals : list of N Tensors (K_i, 4)
        By descending objectness, ``K_i <= post_nms_top_n``; detached.
    scores : list of N Tensors (K_i,)
        Objectness probabilities.

    Examples
    --------
    >>> import torch
    >>> anchors = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [20., 20., 30., 30.]])
    >>> p, s = rpn_proposals(torch.tensor([[3.0, 2.0, 1.0]]), torch.zeros(1, 3, 4), anchors,
    ...                      image_shape=(40, 40), iou_threshold=0.5)
    >>> p[0]  # the second anchor overlaps the first with IoU 0.68
    tensor([[ 0.,  0., 10., 10.],
            [20., 20., 30., 30.]])
    """
    func = "rpn_proposals"
    if not isinstance(objectness, torch.Tensor) or objectness.ndim != 2:
        raise ValueError(f"{func}: objectness must be a tensor (N, A), got "
                         f"{getattr(objectness, 'shape', type(objectness).__name__)}")
    n, a = objectness.shape
    if not isinstance(deltas, torch.Tensor) or tuple(deltas.shape) != (n, a, 4):
        raise ValueError(f"{func}: deltas must be a tensor ({n}, {a}, 4), got "
                         f"{getattr(deltas, 'shape', type(deltas).__name__)}")
    if not isinstance(anchors, torch.Tensor) or tuple(anchors.shape) != (a, 4):
        raise ValueError(f"{func}: anchors must be a tensor ({a}, 4), got "
                         f"{getattr(anchors, 'shape', type(anchors).__name__)}")
    pre = _pos_int(pre_nms_top_n, func, "pre_nms_top_n")
    post = _pos_int(post_nms_top_n, func, "post_nms_top_n")
    thr = _fraction(iou_threshold, func, "iou_threshold", low_open=False)
    if isinstance(min_size, bool) or not isinstance(min_size, (int, float)) or not min_size >= 0:
        raise ValueError(f"{func}: min_size must be a number >= 0, got {min_size!r}")
    props, scores = [], []
    with torch.no_grad():
        boxes = _RPN_CODER.decode(deltas.detach().float(), anchors.float(),
                                  image_shape=image_shape)  # (N, A, 4), clipped
        prob = torch.sigmoid(objectness.detach().float())
        for i in range(n):
            b, s = boxes[i], prob[i]
            ok = ((b[:, 2] - b[:, 0]) >= min_size) & ((b[:, 3] - b[:, 1]) >= min_size)
            b, s = b[ok], s[ok]
            top = s.argsort(descending=True, stable=True)[:pre]
            b, s = b[top], s[top]
            if b.shape[0]:
                # the compiled kernel on a float64 copy; the kept indices come back in order
                keep = torch.from_numpy(nms(b.cpu().double().numpy(), s.cpu().double().numpy(),
                                            iou_threshold=thr)[:post]).to(b.device)
                b, s = b[keep], s[keep]
            props.append(b)
            scores.append(s)
    return props, scores


def _sample(pos: torch.Tensor, neg: torch.Tensor, total: int, pos_fraction: float,
            generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random positive and negative indices: at most ``pos_fraction * total`` positives,
    negatives fill the rest."""
    pi = torch.nonzero(pos).squeeze(1)
    ni = torch.nonzero(neg).squeeze(1)
    n_pos = min(int(total * pos_fraction), pi.numel())
    n_neg = min(total - n_pos, ni.numel())
    pi = pi[torch.randperm(pi.numel(), generator=generator)[:n_pos].to(pi.device)]
    ni = ni[torch.randperm(ni.numel(), generator=generator)[:n_neg].to(ni.device)]
    return pi, ni


class FasterRCNN(nn.Module):
    """Two-stage detector for ``(N, in_chans, image_size, image_size)`` images.

    Parameters
    ----------
    num_classes : int
        Object classes ``C`` (the background is added).
    in_chans, image_size : int, optional
    stem_widths : sequence of int, optional
        Channels of the stages that each halve the resolution; the feature map has
        stride ``2 ** len(stem_widths)``.
    feature_width : int, optional
        Channels of the two convolutions at the feature map's resolution.
    anchor_sizes : sequence of float, optional
        Anchor sizes (square roots of their areas) in pixels.
    aspect_ratios : sequence of float, optional
        Anchor widths / heights.
    roi_size : int, optional
        RoI Align output side; ``sampling_ratio`` samples per bin along each axis.
    hidden : int, optional
        Width of the head's two fully connected layers.
    pre_nms_top_n, post_nms_top_n : int, optional
        Proposals, see :func:`rpn_proposals`; ``post_nms_top_n`` also at inference.
    rpn_batch_size, roi_batch_size : int, optional
        Anchors and RoIs sampled per image for the loss.
    roi_positive_fraction : float, optional

    Attributes
    ----------
    anchors : Tensor of shape (A, 4)
        A buffer.

    References
    ----------
    S. Ren, K. He, R. Girshick, J. Sun, "Faster R-CNN: Towards Real-Time Object Detection
    with Region Proposal Networks", NeurIPS 2015 / TPAMI 2017. doi:10.1109/TPAMI.2016.2577031

    Examples
    --------
    >>> import torch
    >>> m = FasterRCNN(num_classes=3).eval()
    >>> out = m(torch.zeros(2, 1, 64, 64))
    >>> m.anchors.shape, out.rpn.objectness.shape, out.cls_logits.shape[1]
    (torch.Size([768, 4]), torch.Size([2, 768]), 4)
    """

    def __init__(self, *, num_classes: int, in_chans: int = 1, image_size: int = 64,
                 stem_widths: Sequence[int] = (16, 32), feature_width: int = 64,
                 anchor_sizes: Sequence[float] = (8.0, 12.0, 18.0),
                 aspect_ratios: Sequence[float] = (1.0,), roi_size: int = 7,
                 sampling_ratio: int = 2, hidden: int = 256, pre_nms_top_n: int = 300,
                 post_nms_top_n: int = 50, rpn_batch_size: int = 128,
                 roi_batch_size: int = 32, roi_positive_fraction: float = 0.25):
        super().__init__()
        func = "FasterRCNN"
        self.num_classes = _pos_int(num_classes, func, "num_classes")
        self.in_chans = _pos_int(in_chans, func, "in_chans")
        self.image_size = _pos_int(image_size, func, "image_size")
        if not stem_widths:
            raise ValueError(f"{func}: stem_widths must not be empty")
        stride = 2 ** len(stem_widths)
        if image_size % stride:
            raise ValueError(f"{func}: image_size must be a multiple of the stride {stride} "
                             f"(2 ** len(stem_widths)), got {image_size}")
        self.stride = stride
        layers, c = _pooled_stages(in_chans,
                                   [_pos_int(w, func, "stem_widths[i]") for w in stem_widths])
        fw = _pos_int(feature_width, func, "feature_width")
        self.backbone = nn.Sequential(*layers, *_conv(c, fw), *_conv(fw, fw))
        size = image_size // stride
        self.feature_shape = (size, size)
        anchors = grid_anchors([self.feature_shape], image_shape=(image_size, image_size),
                               sizes=[list(anchor_sizes)], aspect_ratios=list(aspect_ratios))
        self.register_buffer("anchors", anchors, persistent=False)
        self.num_anchors = len(anchor_sizes) * len(aspect_ratios)  # per cell
        self.rpn_conv = nn.Sequential(nn.Conv2d(fw, fw, 3, padding=1), nn.ReLU())
        self.rpn_cls = nn.Conv2d(fw, self.num_anchors, 1)
        self.rpn_box = nn.Conv2d(fw, self.num_anchors * 4, 1)
        self.roi_size = _pos_int(roi_size, func, "roi_size")
        self.sampling_ratio = _pos_int(sampling_ratio, func, "sampling_ratio")
        hidden = _pos_int(hidden, func, "hidden")
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(fw * roi_size * roi_size, hidden),
                                  nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.cls_score = nn.Linear(hidden, num_classes + 1)
        self.bbox_pred = nn.Linear(hidden, (num_classes + 1) * 4)
        for lin in (self.rpn_cls, self.rpn_box):
            nn.init.normal_(lin.weight, std=0.01)
            nn.init.zeros_(lin.bias)
        nn.init.normal_(self.cls_score.weight, std=0.01)
        nn.init.normal_(self.bbox_pred.weight, std=0.001)
        nn.init.zeros_(self.cls_score.bias)
        nn.init.zeros_(self.bbox_pred.bias)
        self.pre_nms_top_n = _pos_int(pre_nms_top_n, func, "pre_nms_top_n")
        self.post_nms_top_n = _pos_int(post_nms_top_n, func, "post_nms_top_n")
        self.rpn_batch_size = _pos_int(rpn_batch_size, func, "rpn_batch_size")
        self.roi_batch_size = _pos_int(roi_batch_size, func, "roi_batch_size")
        self.roi_positive_fraction = _fraction(roi_positive_fraction, func,
                                               "roi_positive_fraction")
        self.rpn_matcher = Matcher(high_threshold=0.7, low_threshold=0.3,
                                   allow_low_quality_matches=True)
        self.roi_matcher = Matcher(high_threshold=0.5, low_threshold=0.5)

    # ----------------------------------------------------------------------- parts
    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.in_chans \
                or x.shape[2:] != (self.image_size,) * 2:
            raise ValueError(f"FasterRCNN: input must be (N, {self.in_chans}, {self.image_size}, "
                             f"{self.image_size}), got {getattr(x, 'shape', type(x).__name__)}")

    def rpn(self, features: torch.Tensor) -> RPNOutput:
        """Objectness ``(N, A)`` and offsets ``(N, A, 4)`` from the feature map."""
        n = features.shape[0]
        t = self.rpn_conv(features)
        # (N, a, h, w) -> (N, h, w, a) -> (N, h*w*a): cells row-major, then anchors
        obj = self.rpn_cls(t).permute(0, 2, 3, 1).reshape(n, -1)
        deltas = self.rpn_box(t).permute(0, 2, 3, 1).reshape(n, -1, 4)
        return RPNOutput(obj, deltas)

    def proposals(self, rpn: RPNOutput) -> tuple[list, list]:
        """:func:`rpn_proposals` with the model's anchors and settings."""
        return rpn_proposals(rpn.objectness, rpn.deltas, self.anchors,
                             image_shape=(self.image_size, self.image_size),
                             pre_nms_top_n=self.pre_nms_top_n,
                             post_nms_top_n=self.post_nms_top_n)

    def roi_head(self, features: torch.Tensor, rois: Sequence[torch.Tensor]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits ``(K, C + 1)`` and offsets ``(K, C + 1, 4)`` of the RoIs (per image)."""
        pooled = roi_align(features, list(rois), output_size=self.roi_size,
                           spatial_scale=1.0 / self.stride, sampling_ratio=self.sampling_ratio)
        h = self.head(pooled)  # (K, hidden)
        return self.cls_score(h), self.bbox_pred(h).reshape(-1, self.num_classes + 1, 4)

    def forward(self, x: torch.Tensor) -> FasterRCNNOutput:
        """Both stages on the proposals (the inference path)."""
        self._check_input(x)
        feats = self.backbone(x)
        rpn = self.rpn(feats)
        props, scores = self.proposals(rpn)
        logits, deltas = self.roi_head(feats, props)
        return FasterRCNNOutput(rpn, props, scores, logits, deltas)

    # ----------------------------------------------------------------------- loss
    def loss(self, x: torch.Tensor, boxes: Sequence[torch.Tensor],
             labels: Sequence[torch.Tensor], *,
             generator: torch.Generator | None = None) -> FasterRCNNLossParts:
        """The training loss of a batch (see the module docstring).

        Parameters
        ----------
        x : Tensor of shape (N, in_chans, image_size, image_size)
        boxes : list of N Tensors (M_i, 4)
            xyxy ground truth.
        labels : list of N int Tensors (M_i,)
            Classes in ``[0, C)``.
        generator : torch.Generator, optional
            For the anchor and RoI sampling (default: torch's global generator).

        Returns
        -------
        FasterRCNNLossParts
            Objectness and RPN box terms are averaged over the sampled anchors, class
            and box terms over the sampled RoIs (box terms count only the positives but
            divide by all samples, as in Faster R-CNN).
        """
        func = "FasterRCNN.loss"
        self._check_input(x)
        n = x.shape[0]
        if len(boxes) != n or len(labels) != n:
            raise ValueError(f"{func}: boxes and labels must hold one entry per image ({n}), "
                             f"got {len(boxes)} and {len(labels)}")
        dev, dt = x.device, x.dtype
        gts, labs = [], []
        for i, (b, lab) in enumerate(zip(boxes, labels)):
            b = torch.as_tensor(b, dtype=dt, device=dev).reshape(-1, 4)
            lab = torch.as_tensor(lab, dtype=torch.int64, device=dev).reshape(-1)
            if lab.shape[0] != b.shape[0]:
                raise ValueError(f"{func}: labels[{i}] must hold one label per box "
                                 f"({b.shape[0]}), got {lab.shape[0]}")
            if lab.numel() and (int(lab.min()) < 0 or int(lab.max()) >= self.num_classes):
                raise ValueError(f"{func}: labels[{i}] must be in [0, {self.num_classes}), got "
                                 f"values in [{int(lab.min())}, {int(lab.max())}]")
            gts.append(b)
            labs.append(lab)
        feats = self.backbone(x)
        rpn = self.rpn(feats)
        anchors = self.anchors.to(dt)

        # --- RPN: sampled anchors, objectness BCE and offsets of the positives
        obj_idx, obj_t, box_idx, box_t = [], [], [], []
        for i, b in enumerate(gts):
            if b.shape[0]:
                m = self.rpn_matcher(box_iou(b, anchors))
            else:
                m = torch.full((anchors.shape[0],), -1, dtype=torch.int64, device=dev)
            pi, ni = _sample(m >= 0, m == Matcher.BELOW_LOW_THRESHOLD, self.rpn_batch_size,
                             0.5, generator)
            obj_idx += [i * anchors.shape[0] + pi, i * anchors.shape[0] + ni]
            obj_t += [torch.ones(pi.numel(), dtype=dt, device=dev),
                      torch.zeros(ni.numel(), dtype=dt, device=dev)]
            box_idx.append(i * anchors.shape[0] + pi)
            box_t.append(_RPN_CODER.encode(b[m[pi]], anchors[pi]) if pi.numel()
                         else anchors.new_zeros((0, 4)))
        obj_idx, obj_t = torch.cat(obj_idx), torch.cat(obj_t)
        n_rpn = max(obj_idx.numel(), 1)
        rpn_obj = F.binary_cross_entropy_with_logits(rpn.objectness.reshape(-1)[obj_idx], obj_t,
                                                     reduction="sum") / n_rpn
        rpn_box = F.smooth_l1_loss(rpn.deltas.reshape(-1, 4)[torch.cat(box_idx)],
                                   torch.cat(box_t), beta=1.0 / 9, reduction="sum") / n_rpn

        # --- RoIs: proposals plus ground truth, sampled, class and offsets
        props, _ = self.proposals(rpn)
        rois, cls_t, reg_t = [], [], []
        for p, b, lab in zip(props, gts, labs):
            cand = torch.cat([p.to(dt), b])
            if b.shape[0]:
                m = self.roi_matcher(box_iou(b, cand))
            else:
                m = torch.full((cand.shape[0],), -1, dtype=torch.int64, device=dev)
            pi, ni = _sample(m >= 0, m < 0, self.roi_batch_size, self.roi_positive_fraction,
                             generator)
            rois.append(torch.cat([cand[pi], cand[ni]]))
            cls_t.append(torch.cat([lab[m[pi]] + 1,
                                    torch.zeros(ni.numel(), dtype=torch.int64, device=dev)]))
            reg_t.append(_HEAD_CODER.encode(b[m[pi]], cand[pi]) if pi.numel()
                         else cand.new_zeros((0, 4)))
        logits, deltas = self.roi_head(feats, rois)
        cls_t, reg_t = torch.cat(cls_t), torch.cat(reg_t)
        n_roi = max(cls_t.numel(), 1)
        cls_loss = F.cross_entropy(logits, cls_t, reduction="sum") / n_roi
        fg = torch.nonzero(cls_t > 0).squeeze(1)
        box_loss = F.smooth_l1_loss(deltas[fg, cls_t[fg]], reg_t, beta=1.0,
                                    reduction="sum") / n_roi
        total = rpn_obj + rpn_box + cls_loss + box_loss
        return FasterRCNNLossParts(total, rpn_obj, rpn_box, cls_loss, box_loss)


def decode_faster_rcnn(out: FasterRCNNOutput, *, image_size: int,
                       score_threshold: float = 0.05, iou_threshold: float = 0.5,
                       max_detections: int = 100) -> list:
    """Detections from :class:`FasterRCNNOutput`: per class scores and boxes, per-class NMS.

    Each proposal gives, for every object class ``c``, the softmax probability of ``c``
    and the proposal refined by the offsets of ``c``, clipped to the image; pairs scoring
    at least ``score_threshold`` go through :func:`cvgeo.geometry.boxes.batched_nms` and
    the best ``max_detections`` remain.

    Returns
    -------
    list of :class:`deep.models.detection.Detections`
        One per image; labels in ``[0, C)``.
    """
    from deep.models.detection.metrics import nms_detections

    func = "decode_faster_rcnn"
    _fraction(score_threshold, func, "score_threshold", low_open=False)
    _fraction(iou_threshold, func, "iou_threshold", low_open=False)
    _pos_int(max_detections, func, "max_detections")
    counts = [p.shape[0] for p in out.proposals]
    if sum(counts) != out.cls_logits.shape[0]:
        raise ValueError(f"{func}: out.cls_logits must hold one row per proposal "
                         f"({sum(counts)}), got {out.cls_logits.shape[0]}")
    results = []
    with torch.no_grad():
        probs = out.cls_logits.detach().float().softmax(-1)[:, 1:].cpu()  # (K, C)
        k, c = probs.shape
        props = torch.cat(out.proposals).float().cpu() if counts else torch.zeros(0, 4)
        if k:
            boxes = _HEAD_CODER.decode(out.box_deltas.detach().float().cpu()[:, 1:],
                                       props[:, None, :], image_shape=(image_size, image_size))
        else:
            boxes = torch.zeros(0, c, 4)
        start = 0
        for n_i in counts:
            p = probs[start:start + n_i].reshape(-1)  # (K_i * C,)
            b = boxes[start:start + n_i].reshape(-1, 4)
            lab = torch.arange(c).repeat(n_i)
            start += n_i
            keep = p >= score_threshold
            results.append(nms_detections(b[keep], p[keep], lab[keep],
                                          iou_threshold=iou_threshold,
                                          max_detections=max_detections))
    return results
