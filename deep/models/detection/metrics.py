"""Detection metrics: PASCAL VOC AP, COCO AP@[.5:.95], and precision-recall plots.

Conventions
-----------
A data set is two equally long lists over images: :class:`Detections` (xyxy boxes,
scores, integer labels) and :class:`GroundTruth` (xyxy boxes, labels, optionally which
ones are "difficult", i.e. neither rewarded nor penalised). numpy arrays or torch tensors
are accepted and converted to numpy. Boxes use the frame of :mod:`cvgeo.geometry.boxes`
and their area and IoU carry no "+1". Classes are the sorted union of the labels found,
unless given. A class without ground truth has AP ``nan`` and is left out of the mean.

Crowd annotations (COCO ``iscrowd``) are not modelled; "difficult" boxes play the part of
ignored ground truth in both protocols.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numba import njit

from cvgeo.geometry.boxes import batched_nms, box_area, box_iou

__all__ = [
    "COCO_AREA_RANGES", "CocoEval", "Detections", "GroundTruth", "VocEval", "evaluate_coco",
    "evaluate_voc", "plot_precision_recall", "precision_recall_image", "voc_ap",
]

#: COCO's object size ranges (pixel area), in the order its summary reports them.
COCO_AREA_RANGES = {"all": (0.0, 1e5**2), "small": (0.0, 32.0**2),
                    "medium": (32.0**2, 96.0**2), "large": (96.0**2, 1e5**2)}


def _np(a: Any, func: str, name: str, *, ndim: int, dtype_kinds: str) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array or torch tensor, got "
                        f"{type(a).__name__}")
    if a.ndim != ndim or (ndim == 2 and a.shape[1] != 4):
        want = "(N, 4)" if ndim == 2 else "(N,)"
        raise ValueError(f"{func}: {name} must have shape {want}, got shape {a.shape}")
    if a.dtype.kind not in dtype_kinds:
        raise TypeError(f"{func}: {name} must have a dtype of kind {dtype_kinds!r}, got "
                        f"{a.dtype}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{func}: {name} must be finite, got NaN or inf values")
    return a


@dataclass(frozen=True)
class Detections:
    """One image's detections: ``boxes (N, 4)`` xyxy, ``scores (N,)``, ``labels (N,)`` int."""

    boxes: Any
    scores: Any
    labels: Any

    def __post_init__(self):
        f = "Detections"
        b = _np(self.boxes, f, "boxes", ndim=2, dtype_kinds="uif").astype(np.float64)
        s = _np(self.scores, f, "scores", ndim=1, dtype_kinds="uif").astype(np.float64)
        lab = _np(self.labels, f, "labels", ndim=1, dtype_kinds="iu").astype(np.int64)
        if not len(b) == len(s) == len(lab):
            raise ValueError(f"{f}: boxes, scores and labels must have the same length, got "
                             f"{len(b)}, {len(s)} and {len(lab)}")
        box_area(b)  # validates x1 <= x2, y1 <= y2
        object.__setattr__(self, "boxes", b)
        object.__setattr__(self, "scores", s)
        object.__setattr__(self, "labels", lab)


def nms_detections(boxes, scores, labels, *, iou_threshold: float,
                   max_detections: int) -> Detections:
    """One image's candidates ``boxes (K, 4)``, ``scores (K,)``, ``labels (K,)`` (torch or
    numpy, already filtered by score) after per-class NMS
    (:func:`cvgeo.geometry.boxes.batched_nms`, in float64), the best ``max_detections``
    kept: the last step every NMS-based decoder here shares."""
    import torch

    b, s = torch.as_tensor(boxes).double(), torch.as_tensor(scores).double()
    lab = torch.as_tensor(labels)
    if b.shape[0]:
        keep = batched_nms(b, s, lab, iou_threshold=iou_threshold)[:max_detections]
        b, s, lab = b[keep], s[keep], lab[keep]
    return Detections(b.numpy(), s.numpy(), lab.numpy())


@dataclass(frozen=True)
class GroundTruth:
    """One image's true objects: ``boxes (M, 4)`` xyxy, ``labels (M,)`` int, ``difficult``.

    ``difficult`` is an optional bool ``(M,)``: such objects are ignored (matching one is
    neither a true nor a false positive). None means none is.
    """

    boxes: Any
    labels: Any
    difficult: Any = None

    def __post_init__(self):
        f = "GroundTruth"
        b = _np(self.boxes, f, "boxes", ndim=2, dtype_kinds="uif").astype(np.float64)
        lab = _np(self.labels, f, "labels", ndim=1, dtype_kinds="iu").astype(np.int64)
        d = np.zeros(len(b), bool) if self.difficult is None else \
            _np(self.difficult, f, "difficult", ndim=1, dtype_kinds="b")
        if not len(b) == len(lab) == len(d):
            raise ValueError(f"{f}: boxes, labels and difficult must have the same length, got "
                             f"{len(b)}, {len(lab)} and {len(d)}")
        box_area(b)
        object.__setattr__(self, "boxes", b)
        object.__setattr__(self, "labels", lab)
        object.__setattr__(self, "difficult", d.astype(bool))


def _check_sets(detections, ground_truths, func: str):
    if not isinstance(detections, (list, tuple)) or not isinstance(ground_truths, (list, tuple)):
        raise TypeError(f"{func}: detections and ground_truths must be lists (one entry per "
                        f"image), got {type(detections).__name__} and "
                        f"{type(ground_truths).__name__}")
    if len(detections) != len(ground_truths):
        raise ValueError(f"{func}: detections and ground_truths must have one entry per image "
                         f"each, got {len(detections)} and {len(ground_truths)}")
    for i, (d, g) in enumerate(zip(detections, ground_truths)):
        if not isinstance(d, Detections) or not isinstance(g, GroundTruth):
            raise TypeError(f"{func}: entry {i} must be a Detections and a GroundTruth, got "
                            f"{type(d).__name__} and {type(g).__name__}")


def _classes(detections, ground_truths, classes) -> np.ndarray:
    if classes is not None:
        return np.asarray(sorted({int(c) for c in classes}), dtype=np.int64)
    labs = [d.labels for d in detections] + [g.labels for g in ground_truths]
    return np.unique(np.concatenate(labs)) if labs else np.zeros(0, np.int64)


# ----------------------------------------------------------------------------- VOC
def voc_ap(recall: np.ndarray, precision: np.ndarray, *,
           method: Literal["all_points", "11_points"] = "all_points") -> float:
    """Average precision of one precision-recall curve, PASCAL VOC style.

    Parameters
    ----------
    recall, precision : ndarray of shape (N,)
        The curve after each detection in descending score order (recall non-decreasing).
    method : {"all_points", "11_points"}, optional
        "11_points" (VOC 2007): the mean over ``t = 0, 0.1, ..., 1`` (``numpy.linspace(0, 1,
        11)``) of the highest precision at recall ``>= t`` (0 if none). "all_points" (VOC
        2010 on): the area under the curve after making precision monotonically
        decreasing (each point takes the highest precision at any higher recall).

    Returns
    -------
    float

    References
    ----------
    M. Everingham et al., "The PASCAL Visual Object Classes (VOC) Challenge", IJCV 88,
    2010. doi:10.1007/s11263-009-0275-4

    Examples
    --------
    >>> import numpy as np
    >>> voc_ap(np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3]))
    0.8333333333333333
    """
    func = "voc_ap"
    rec = _np(np.asarray(recall) if isinstance(recall, list) else recall, func, "recall",
              ndim=1, dtype_kinds="f")
    prec = _np(np.asarray(precision) if isinstance(precision, list) else precision, func,
               "precision", ndim=1, dtype_kinds="f")
    if rec.shape != prec.shape:
        raise ValueError(f"{func}: recall and precision must have the same shape, got "
                         f"{rec.shape} and {prec.shape}")
    if method == "11_points":
        ap = 0.0
        for t in np.linspace(0.0, 1.0, 11):
            above = prec[rec >= t]
            ap += (above.max() if above.size else 0.0) / 11.0
        return float(ap)
    if method != "all_points":
        raise ValueError(f"{func}: method must be one of 'all_points', '11_points', got "
                         f"{method!r}")
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


@dataclass(frozen=True)
class VocEval:
    """Result of :func:`evaluate_voc`.

    Attributes
    ----------
    classes : ndarray of int64, shape (K,)
    ap : ndarray of float64, shape (K,)
        Per class; ``nan`` for a class without (non-difficult) ground truth.
    map : float
        Mean of the finite entries of ``ap`` (``nan`` if none).
    recall, precision : list of K ndarrays
        Each class's curve, one point per detection in descending score order.
    """

    classes: np.ndarray
    ap: np.ndarray
    map: float
    recall: list
    precision: list


def evaluate_voc(detections: Sequence[Detections], ground_truths: Sequence[GroundTruth], *,
                 iou_threshold: float = 0.5,
                 method: Literal["all_points", "11_points"] = "all_points",
                 classes: Sequence[int] | None = None) -> VocEval:
    """PASCAL VOC detection AP per class and its mean.

    For each class, detections from all images are ranked by score (ties in input order,
    image by image). Each is compared with the ground truth of its image and class: if its
    best IoU is ``> iou_threshold`` (strictly, as the VOC devkit) and that object is
    difficult, it is ignored; if that object is not yet detected, it is a true positive
    and the object is marked; otherwise (a duplicate, or a poor overlap) a false
    positive. Recall is over the non-difficult objects.

    Parameters
    ----------
    detections : list of Detections
    ground_truths : list of GroundTruth
        One per image, in the same order.
    iou_threshold : float, optional
    method : {"all_points", "11_points"}, optional
        See :func:`voc_ap`.
    classes : list of int, optional
        The classes to evaluate (default: every label found).

    Returns
    -------
    VocEval
    """
    func = "evaluate_voc"
    _check_sets(detections, ground_truths, func)
    if method not in ("all_points", "11_points"):
        raise ValueError(f"{func}: method must be one of 'all_points', '11_points', got "
                         f"{method!r}")
    if isinstance(iou_threshold, bool) or not isinstance(iou_threshold, (int, float)) \
            or not 0 <= iou_threshold <= 1:
        raise ValueError(f"{func}: iou_threshold must be in [0, 1], got {iou_threshold!r}")
    cls = _classes(detections, ground_truths, classes)
    aps, recs, precs = [], [], []
    for c in cls:
        scores, tp, fp = [], [], []
        npos = 0
        for d, g in zip(detections, ground_truths):
            gsel = g.labels == c
            gb, gdiff = g.boxes[gsel], g.difficult[gsel]
            npos += int((~gdiff).sum())
            dsel = np.flatnonzero(d.labels == c)
            if dsel.size == 0:
                continue
            order = dsel[np.argsort(-d.scores[dsel], kind="stable")]
            iou = box_iou(d.boxes[order], gb) if gb.shape[0] else np.zeros((order.size, 0))
            t, f, keep = _voc_match_kernel(iou, gdiff, float(iou_threshold))
            scores.append(d.scores[order][keep])
            tp.append(t[keep])
            fp.append(f[keep])
        if scores:
            s = np.concatenate(scores)
            o = np.argsort(-s, kind="stable")
            tpc = np.cumsum(np.concatenate(tp)[o])
            fpc = np.cumsum(np.concatenate(fp)[o])
        else:
            tpc = fpc = np.zeros(0)
        prec = tpc / np.maximum(tpc + fpc, np.finfo(np.float64).tiny)
        if npos == 0:
            rec = np.full(tpc.shape, np.nan)
            aps.append(np.nan)
        else:
            rec = tpc / npos
            aps.append(voc_ap(rec.astype(np.float64), prec.astype(np.float64), method=method))
        recs.append(rec)
        precs.append(prec)
    ap = np.asarray(aps, dtype=np.float64)
    finite = ap[np.isfinite(ap)]
    return VocEval(classes=cls, ap=ap, map=float(finite.mean()) if finite.size else np.nan,
                   recall=recs, precision=precs)


@njit(cache=True)
def _voc_match_kernel(iou, difficult, threshold):  # pragma: no cover - compiled
    """VOC matching of one image and class: detections (rows of ``iou``) in score order.

    Returns float64 true-positive and false-positive flags and a bool mask of the
    detections that count (those matched to a difficult object do not).
    """
    n_det, n_gt = iou.shape
    tp = np.zeros(n_det)
    fp = np.zeros(n_det)
    keep = np.ones(n_det, np.bool_)
    taken = np.zeros(n_gt, np.bool_)
    for d in range(n_det):
        best = -1.0
        j = -1
        for g in range(n_gt):
            if iou[d, g] > best:
                best = iou[d, g]
                j = g
        if j >= 0 and best > threshold:
            if difficult[j]:
                keep[d] = False
            elif not taken[j]:
                tp[d] = 1.0
                taken[j] = True
            else:
                fp[d] = 1.0
        else:
            fp[d] = 1.0
    return tp, fp, keep


# ----------------------------------------------------------------------------- COCO
@njit(cache=True)
def _coco_match_kernel(iou, gt_ignore, thresholds):  # pragma: no cover - compiled
    """COCO's greedy matching of one image, class and area range.

    ``iou`` is ``(D, G)`` with detections in descending score order and ground truth
    sorted with the non-ignored first. For each threshold, each detection takes the
    not-yet-matched object of highest IoU (``>= threshold``; a later object wins a tie),
    preferring non-ignored objects: once it holds a non-ignored match it stops at the
    first ignored one. Returns ``matched (T, D)`` and ``ignored (T, D)``: whether the
    detection matched, and whether its match was an ignored object.
    """
    n_t = thresholds.shape[0]
    n_det, n_gt = iou.shape
    matched = np.zeros((n_t, n_det), np.bool_)
    ignored = np.zeros((n_t, n_det), np.bool_)
    for t in range(n_t):
        gt_taken = np.zeros(n_gt, np.bool_)
        for d in range(n_det):
            best = min(thresholds[t], 1 - 1e-10)
            m = -1
            for g in range(n_gt):
                if gt_taken[g]:
                    continue
                if m > -1 and not gt_ignore[m] and gt_ignore[g]:
                    break
                if iou[d, g] < best:
                    continue
                best = iou[d, g]
                m = g
            if m == -1:
                continue
            matched[t, d] = True
            ignored[t, d] = gt_ignore[m]
            gt_taken[m] = True
    return matched, ignored


@dataclass(frozen=True)
class CocoEval:
    """Result of :func:`evaluate_coco`.

    Attributes
    ----------
    classes : ndarray of int64, shape (K,)
    iou_thresholds : ndarray, shape (T,)
    recall_thresholds : ndarray, shape (R,)
    area_ranges : dict of name -> (low, high)
    max_dets : tuple of int, length M
    precision : ndarray of shape (T, R, K, A, M)
        Interpolated precision at each recall threshold; -1 where a class has no ground
        truth in that area range.
    recall : ndarray of shape (T, K, A, M)
        Final recall; -1 likewise.
    stats : ndarray of shape (12,)
        COCO's summary in pycocotools' order: AP, AP50, AP75, AP small / medium / large (at
        the largest ``max_dets``), AR at each of the three ``max_dets``, AR small / medium
        / large. -1 where undefined, as pycocotools prints.
    ap : ndarray of shape (K,)
        AP@[.5:.95] per class (area "all", largest ``max_dets``), ``nan`` without ground truth.
    map : float
        ``stats[0]``: the COCO mAP.
    map_50, map_75 : float
        AP at IoU 0.5 and 0.75 (``stats[1]``, ``stats[2]``).
    """

    classes: np.ndarray
    iou_thresholds: np.ndarray
    recall_thresholds: np.ndarray
    area_ranges: dict
    max_dets: tuple
    precision: np.ndarray
    recall: np.ndarray
    stats: np.ndarray
    ap: np.ndarray
    map: float
    map_50: float
    map_75: float


def _mean_valid(x: np.ndarray) -> float:
    v = x[x > -1]
    return float(v.mean()) if v.size else -1.0


def evaluate_coco(detections: Sequence[Detections], ground_truths: Sequence[GroundTruth], *,
                  iou_thresholds: Sequence[float] | None = None,
                  area_ranges: dict[str, tuple[float, float]] | None = None,
                  max_dets: Sequence[int] = (1, 10, 100),
                  classes: Sequence[int] | None = None) -> CocoEval:
    """COCO detection AP@[.5:.95] with 101-point interpolation, per area range and max dets.

    The protocol of the COCO evaluation (pycocotools ``COCOeval``, bbox): per image and
    class, the top ``max(max_dets)`` detections by score are matched greedily to ground
    truth at each IoU threshold (IoU ``>=`` threshold); objects outside an area range, and
    difficult ones, are ignored, and so are unmatched detections outside the range. Per
    class, area range and ``max_dets`` value (the top that many per image), detections of
    all images are ranked by score; precision is made monotone and read at recall
    ``0, 0.01, ..., 1``; AP is the mean over recall and IoU thresholds, mAP the mean over
    classes with ground truth.

    Parameters
    ----------
    detections : list of Detections
    ground_truths : list of GroundTruth
    iou_thresholds : list of float, optional
        Default ``0.5, 0.55, ..., 0.95``.
    area_ranges : dict, optional
        Default :data:`COCO_AREA_RANGES`; the first entry is the one ``ap`` reports.
    max_dets : sequence of int, optional
        Increasing; default (1, 10, 100).
    classes : list of int, optional

    Returns
    -------
    CocoEval

    References
    ----------
    T.-Y. Lin et al., "Microsoft COCO: Common Objects in Context", ECCV 2014.
    doi:10.1007/978-3-319-10602-1_48
    """
    func = "evaluate_coco"
    _check_sets(detections, ground_truths, func)
    thr = np.linspace(0.5, 0.95, 10) if iou_thresholds is None else \
        np.asarray(iou_thresholds, dtype=np.float64)
    if thr.ndim != 1 or thr.size == 0 or not ((thr >= 0) & (thr <= 1)).all():
        raise ValueError(f"{func}: iou_thresholds must be a non-empty list of numbers in [0, 1], "
                         f"got {iou_thresholds!r}")
    areas = dict(COCO_AREA_RANGES if area_ranges is None else area_ranges)
    if not areas or any(len(v) != 2 or v[0] > v[1] for v in areas.values()):
        raise ValueError(f"{func}: area_ranges must map names to (low, high) with low <= high, "
                         f"got {area_ranges!r}")
    max_dets = tuple(int(m) for m in max_dets)
    if not max_dets or any(m < 1 for m in max_dets) or list(max_dets) != sorted(max_dets):
        raise ValueError(f"{func}: max_dets must be increasing positive ints, got {max_dets!r}")
    rec_thr = np.linspace(0.0, 1.0, 101)
    cls = _classes(detections, ground_truths, classes)
    n_t, n_r, n_k, n_a, n_m = thr.size, rec_thr.size, cls.size, len(areas), len(max_dets)
    precision = -np.ones((n_t, n_r, n_k, n_a, n_m))
    recall = -np.ones((n_t, n_k, n_a, n_m))
    top = max_dets[-1]
    ranges = list(areas.values())
    for k, c in enumerate(cls):
        per_image = []  # (scores, det areas, iou, gt areas, gt difficult) per image
        for d, g in zip(detections, ground_truths):
            gsel = g.labels == c
            dsel = np.flatnonzero(d.labels == c)
            if not gsel.any() and dsel.size == 0:
                continue  # pycocotools skips (image, class) pairs with nothing
            order = dsel[np.argsort(-d.scores[dsel], kind="stable")][:top]
            db, gb = d.boxes[order], g.boxes[gsel]
            iou = box_iou(db, gb) if db.shape[0] and gb.shape[0] else \
                np.zeros((db.shape[0], gb.shape[0]))
            per_image.append((d.scores[order], box_area(db), iou, box_area(gb),
                              g.difficult[gsel]))
        if not per_image:
            continue
        for a, (lo, hi) in enumerate(ranges):
            scores, matched, ignored, n_pos = [], [], [], 0
            for s, darea, iou, garea, gdiff in per_image:
                g_ign = gdiff | (garea < lo) | (garea > hi)
                gorder = np.argsort(g_ign, kind="stable")  # non-ignored first
                mt, ig = _coco_match_kernel(np.ascontiguousarray(iou[:, gorder]),
                                            g_ign[gorder], thr)
                ig |= ~mt & ((darea < lo) | (darea > hi))[None, :]
                scores.append(s)
                matched.append(mt)
                ignored.append(ig)
                n_pos += int((~g_ign).sum())
            if n_pos == 0:
                continue
            for m, md in enumerate(max_dets):
                s = np.concatenate([x[:md] for x in scores])
                o = np.argsort(-s, kind="stable")
                mt = np.concatenate([x[:, :md] for x in matched], axis=1)[:, o]
                ig = np.concatenate([x[:, :md] for x in ignored], axis=1)[:, o]
                tps = np.cumsum(mt & ~ig, axis=1).astype(np.float64)
                fps = np.cumsum(~mt & ~ig, axis=1).astype(np.float64)
                for t in range(n_t):
                    tp, fp = tps[t], fps[t]
                    rc = tp / n_pos
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if rc.size else 0.0
                    pr = np.maximum.accumulate(pr[::-1])[::-1]
                    idx = np.searchsorted(rc, rec_thr, side="left")
                    q = np.zeros(n_r)
                    ok = idx < pr.size
                    q[ok] = pr[idx[ok]]
                    precision[t, :, k, a, m] = q
    stats = np.full(12, -1.0)
    names = list(areas)
    t50 = np.flatnonzero(np.isclose(thr, 0.5))
    t75 = np.flatnonzero(np.isclose(thr, 0.75))
    stats[0] = _mean_valid(precision[:, :, :, 0, -1])
    stats[1] = _mean_valid(precision[t50, :, :, 0, -1]) if t50.size else -1.0
    stats[2] = _mean_valid(precision[t75, :, :, 0, -1]) if t75.size else -1.0
    for j, name in enumerate(("small", "medium", "large")):
        if name in names:
            stats[3 + j] = _mean_valid(precision[:, :, :, names.index(name), -1])
            stats[9 + j] = _mean_valid(recall[:, :, names.index(name), -1])
    for j in range(min(3, n_m)):
        stats[6 + j] = _mean_valid(recall[:, :, 0, j])
    ap = np.array([_mean_valid(precision[:, :, k, 0, -1]) for k in range(n_k)])
    ap[ap == -1] = np.nan
    return CocoEval(classes=cls, iou_thresholds=thr, recall_thresholds=rec_thr,
                    area_ranges=areas, max_dets=max_dets, precision=precision, recall=recall,
                    stats=stats, ap=ap, map=float(stats[0]), map_50=float(stats[1]),
                    map_75=float(stats[2]))


# ----------------------------------------------------------------------------- plots
_PALETTE = [(0.12, 0.47, 0.71), (1.0, 0.5, 0.05), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16),
            (0.58, 0.4, 0.74), (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.5, 0.5, 0.5)]


def _curves(recalls, precisions, func):
    if len(recalls) != len(precisions):
        raise ValueError(f"{func}: recalls and precisions must hold the same number of curves, "
                         f"got {len(recalls)} and {len(precisions)}")
    out = []
    for i, (r, p) in enumerate(zip(recalls, precisions)):
        r = np.asarray(r, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        if r.shape != p.shape or r.ndim != 1:
            raise ValueError(f"{func}: curve {i} must be two 1-D arrays of one length, got "
                             f"shapes {r.shape} and {p.shape}")
        ok = np.isfinite(r) & np.isfinite(p)
        out.append((r[ok], p[ok]))
    return out


def precision_recall_image(recalls: Sequence[np.ndarray], precisions: Sequence[np.ndarray], *,
                           size: int = 256) -> np.ndarray:
    """Draw precision-recall curves with cvgeo's drawing functions (no plotting library).

    A white ``size x size`` canvas with recall along x and precision up y over [0, 1], a
    grey grid every 0.1, and each curve as a step plot in its own colour (a fixed
    8-colour palette, repeated).

    Returns
    -------
    ndarray of float32, shape (size, size, 3)
    """
    from cvgeo.draw import draw_segments

    func = "precision_recall_image"
    if isinstance(size, bool) or not isinstance(size, int) or size < 32:
        raise ValueError(f"{func}: size must be an int >= 32, got {size!r}")
    curves = _curves(recalls, precisions, func)
    margin = size // 10
    span = size - 2 * margin

    def px(r, p):
        return margin + r * span, size - 1 - margin - p * span

    img = np.ones((size, size, 3), np.float32)
    grid = []
    for v in np.linspace(0, 1, 11):
        x0, y0 = px(v, 0.0)
        x1, y1 = px(v, 1.0)
        grid.append([x0, y0, x1, y1])
        x0, y0 = px(0.0, v)
        x1, y1 = px(1.0, v)
        grid.append([x0, y0, x1, y1])
    img = draw_segments(img, np.array(grid), color=(0.85, 0.85, 0.85))
    axes = np.array([[*px(0, 0), *px(1, 0)], [*px(0, 0), *px(0, 1)]])
    img = draw_segments(img, axes, color=(0.0, 0.0, 0.0))
    for i, (r, p) in enumerate(curves):
        if r.size == 0:
            continue
        rr = np.concatenate([[0.0], np.repeat(r, 2)[:-1]])  # steps: across, then down
        pp = np.repeat(p, 2)
        xs, ys = px(rr, pp)
        segs = np.stack([xs[:-1], ys[:-1], xs[1:], ys[1:]], axis=1)
        if segs.size:
            img = draw_segments(img, segs, color=_PALETTE[i % len(_PALETTE)], thickness=2)
    return img


def plot_precision_recall(recalls: Sequence[np.ndarray], precisions: Sequence[np.ndarray],
                          path: str | os.PathLike, *, names: Sequence[str] | None = None,
                          title: str = "precision-recall") -> Path:
    """Write precision-recall curves to an image file (PNG).

    With matplotlib installed, a labelled plot with a legend of ``names``; without it,
    :func:`precision_recall_image` (no text) written with :func:`cvgeo.write_image`.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    func = "plot_precision_recall"
    curves = _curves(recalls, precisions, func)
    if names is not None and len(names) != len(curves):
        raise ValueError(f"{func}: names must hold one name per curve ({len(curves)}), got "
                         f"{len(names)}")
    path = Path(path)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from cvgeo.image import write_image

        return write_image(path, precision_recall_image(recalls, precisions))
    fig, ax = plt.subplots(figsize=(5, 5))
    for i, (r, p) in enumerate(curves):
        ax.step(np.r_[0.0, r], np.r_[p[:1] if p.size else [1.0], p], where="pre",
                label=None if names is None else names[i])
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=title)
    ax.grid(alpha=0.3)
    if names is not None:
        ax.legend(loc="lower left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
