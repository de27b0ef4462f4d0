"""Axis-aligned boxes: formats, area, IoU and its generalisations, clipping, NMS.

Conventions
-----------
A box is 4 numbers in one of three formats:

========== ===================================================================
format     meaning
========== ===================================================================
"xyxy"     ``(x1, y1, x2, y2)``: left, top, right, bottom edges, ``x1 <= x2``
"xywh"     ``(x, y, w, h)``: left and top edges, width and height (>= 0)
"cxcywh"   ``(cx, cy, w, h)``: centre, width and height (>= 0)
========== ===================================================================

Every function except :func:`box_convert` takes "xyxy". Coordinates are continuous and
share the frame of cvgeo's points: x is the column, y the row, the origin is the centre
of the top-left pixel, so pixel ``(row r, col c)`` covers ``[c - 0.5, c + 0.5] x
[r - 0.5, r + 0.5]`` and the whole ``(H, W)`` image is the box ``(-0.5, -0.5, W - 0.5,
H - 0.5)``. A box's area is ``(x2 - x1) * (y2 - y1)``, with no "+1" (the pixel-inclusive
rule of the PASCAL VOC devkit is not used).

Boxes are ``(..., N, 4)`` numpy arrays or torch tensors: one implementation written
against the array API (``array_api_compat``), so ``deep`` reuses it with autograd.
numpy input is computed in float64; torch input keeps its floating dtype and device
(integer tensors become float64).

Degenerate boxes: a box with ``x2 < x1`` or ``y2 < y1`` (negative width or height in
the other formats) is an error. Zero-area boxes are allowed and never give NaN: their
IoU with anything, themselves included, is 0 (the union is 0 or the intersection is);
the GIoU / DIoU penalty terms are 0 when their denominator (enclosing area, enclosing
diagonal) is 0, and the CIoU aspect term uses ``atan2(w, h)``, which is defined for
``h = 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numba import njit

from cvgeo._checks import check_choice, check_points_xp, check_real, check_shape2, describe

__all__ = [
    "BOX_FORMATS",
    "SoftNMSResult",
    "batched_nms",
    "box_area",
    "box_convert",
    "box_iou",
    "clip_boxes",
    "complete_box_iou",
    "complete_box_iou_loss",
    "distance_box_iou",
    "distance_box_iou_loss",
    "generalized_box_iou",
    "generalized_box_iou_loss",
    "nms",
    "soft_nms",
]

#: the box formats understood by :func:`box_convert`.
BOX_FORMATS = ("xyxy", "xywh", "cxcywh")

BoxFormat = Literal["xyxy", "xywh", "cxcywh"]
Reduction = Literal["none", "mean", "sum"]


# ----------------------------------------------------------------------------- checks
def _first_index(bad: Any, xp) -> tuple[int, tuple[int, ...]]:
    """How many entries of a boolean array are True, and the index of the first."""
    n_bad = int(xp.sum(xp.astype(xp.reshape(bad, (-1,)), xp.int64)))
    flat = int(xp.argmax(xp.astype(xp.reshape(bad, (-1,)), xp.int64)))
    return n_bad, tuple(int(i) for i in np.unravel_index(flat, tuple(bad.shape)))


def _check_boxes(boxes: Any, func: str, name: str = "boxes", *, fmt: str = "xyxy",
                 batched: bool = True):
    """Validate ``(..., N, 4)`` boxes in ``fmt``; return ``(boxes, xp)`` as floats."""
    b, xp = check_points_xp(boxes, func, name, dim=4, batched=batched)
    if fmt == "xyxy":
        bad = (b[..., 2] < b[..., 0]) | (b[..., 3] < b[..., 1])
        rule = "x1 <= x2 and y1 <= y2 (format 'xyxy')"
        what = "x2 < x1 or y2 < y1"
    else:
        bad = (b[..., 2] < 0) | (b[..., 3] < 0)
        rule = f"non-negative width and height (format {fmt!r})"
        what = "w < 0 or h < 0"
    if bool(xp.any(bad)):
        n_bad, first = _first_index(bad, xp)
        raise ValueError(f"{func}: {name} must have {rule}, got {n_bad} box(es) with {what}, "
                         f"the first at index {first}")
    return b, xp


def _check_scores(scores: Any, n: int, func: str, name: str = "scores"):
    from array_api_compat import is_numpy_array, is_torch_array

    if not (is_numpy_array(scores) or is_torch_array(scores)):
        raise TypeError(f"{func}: {name} must be a numpy array or torch tensor of shape "
                        f"({n},), got {describe(scores)}")
    if tuple(scores.shape) != (n,):
        raise ValueError(f"{func}: {name} must have shape ({n},) (one per box), got shape "
                         f"{tuple(scores.shape)}")
    if is_numpy_array(scores):
        if scores.dtype.kind not in "uif":
            raise TypeError(f"{func}: {name} must be numeric, got dtype {scores.dtype}")
        scores = scores.astype(np.float64, copy=False)
        if not np.isfinite(scores).all():
            raise ValueError(f"{func}: {name} must be finite, got NaN or inf values")
    else:
        if not scores.is_floating_point():
            scores = scores.double()
        if not bool(scores.isfinite().all()):
            raise ValueError(f"{func}: {name} must be finite, got NaN or inf values")
    return scores


def _same_library(a: Any, b: Any, func: str) -> None:
    if type(a).__module__.split(".")[0] != type(b).__module__.split(".")[0]:
        raise TypeError(f"{func}: boxes1 and boxes2 must both be numpy arrays or both torch "
                        f"tensors, got {type(a).__name__} and {type(b).__name__}")


def _safe_div(num: Any, den: Any, xp) -> Any:
    """``num / den`` where ``den > 0``, else 0 (and no NaN gradient through the 0 branch)."""
    ok = den > 0
    out = num / xp.where(ok, den, xp.ones_like(den))
    return xp.where(ok, out, xp.zeros_like(out))


def _relu(x: Any, xp) -> Any:
    return xp.where(x > 0, x, xp.zeros_like(x))


# ----------------------------------------------------------------------------- formats
def box_convert(boxes: Any, *, src: BoxFormat, dst: BoxFormat) -> Any:
    """Convert boxes between the formats "xyxy", "xywh" and "cxcywh".

    Parameters
    ----------
    boxes : array of shape (..., N, 4)
        numpy array or torch tensor, in format ``src``.
    src, dst : {"xyxy", "xywh", "cxcywh"}
        See the module docstring.

    Returns
    -------
    array of shape (..., N, 4)
        The same library as ``boxes`` (numpy: float64).

    Raises
    ------
    ValueError
        An unknown format, a wrong shape, NaN or inf, a negative width or height.

    Examples
    --------
    >>> import numpy as np
    >>> box_convert(np.array([[1.0, 2.0, 5.0, 4.0]]), src="xyxy", dst="cxcywh")
    array([[3., 3., 4., 2.]])
    """
    func = "box_convert"
    src = check_choice(src, func, "src", BOX_FORMATS)
    dst = check_choice(dst, func, "dst", BOX_FORMATS)
    b, xp = _check_boxes(boxes, func, fmt=src)
    if src == dst:
        return b
    a0, a1, a2, a3 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    if src == "xyxy":
        x1, y1, x2, y2 = a0, a1, a2, a3
    elif src == "xywh":
        x1, y1, x2, y2 = a0, a1, a0 + a2, a1 + a3
    else:
        x1, y1, x2, y2 = a0 - 0.5 * a2, a1 - 0.5 * a3, a0 + 0.5 * a2, a1 + 0.5 * a3
    if dst == "xyxy":
        out = [x1, y1, x2, y2]
    elif dst == "xywh":
        out = [x1, y1, x2 - x1, y2 - y1]
    else:
        out = [0.5 * (x1 + x2), 0.5 * (y1 + y2), x2 - x1, y2 - y1]
    return xp.stack(out, axis=-1)


def box_area(boxes: Any) -> Any:
    """Areas ``(x2 - x1) * (y2 - y1)`` of ``(..., N, 4)`` xyxy boxes, shape ``(..., N)``.

    Examples
    --------
    >>> import numpy as np
    >>> box_area(np.array([[0.0, 0.0, 2.0, 3.0], [1.0, 1.0, 1.0, 5.0]]))
    array([6., 0.])
    """
    b, _ = _check_boxes(boxes, "box_area")
    return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])


def clip_boxes(boxes: Any, *, image_shape: tuple[int, int]) -> Any:
    """Clip xyxy boxes to the extent of an ``(H, W)`` image.

    The image covers ``[-0.5, W - 0.5] x [-0.5, H - 0.5]`` (pixel centres at integer
    coordinates, see the module docstring); each coordinate is clamped into it, so a box
    wholly outside becomes a zero-area box on the border.

    Examples
    --------
    >>> import numpy as np
    >>> clip_boxes(np.array([[-3.0, 2.0, 12.0, 4.0]]), image_shape=(8, 10))
    array([[-0.5,  2. ,  9.5,  4. ]])
    """
    func = "clip_boxes"
    h, w = check_shape2(image_shape, func, "image_shape")
    b, xp = _check_boxes(boxes, func)
    lo = xp.full_like(b[..., 0], -0.5)
    cols = []
    for k, hi_val in enumerate((w - 0.5, h - 0.5, w - 0.5, h - 0.5)):
        hi = xp.full_like(lo, hi_val)
        cols.append(xp.minimum(xp.maximum(b[..., k], lo), hi))
    return xp.stack(cols, axis=-1)


# ----------------------------------------------------------------------------- IoU family
def _iou_terms(a: Any, b: Any, xp, kind: str) -> Any:
    """IoU (``kind="iou"``) or GIoU / DIoU / CIoU of broadcastable ``(..., 4)`` xyxy boxes.

    The single implementation behind the pairwise matrices and the aligned losses.
    """
    ax1, ay1, ax2, ay2 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bx1, by1, bx2, by2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    aw, ah, bw, bh = ax2 - ax1, ay2 - ay1, bx2 - bx1, by2 - by1
    iw = _relu(xp.minimum(ax2, bx2) - xp.maximum(ax1, bx1), xp)
    ih = _relu(xp.minimum(ay2, by2) - xp.maximum(ay1, by1), xp)
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    iou = _safe_div(inter, union, xp)
    if kind == "iou":
        return iou
    cw = xp.maximum(ax2, bx2) - xp.minimum(ax1, bx1)  # enclosing box
    ch = xp.maximum(ay2, by2) - xp.minimum(ay1, by1)
    if kind == "giou":
        enclose = cw * ch
        return iou - _safe_div(enclose - union, enclose, xp)
    diag2 = cw * cw + ch * ch
    dx = 0.5 * (bx1 + bx2 - ax1 - ax2)
    dy = 0.5 * (by1 + by2 - ay1 - ay2)
    diou = iou - _safe_div(dx * dx + dy * dy, diag2, xp)
    if kind == "diou":
        return diou
    d_atan = xp.atan2(bw, bh) - xp.atan2(aw, ah)
    v = (4.0 / math.pi**2) * d_atan * d_atan
    alpha = _safe_div(v, (1.0 - iou) + v, xp)
    if hasattr(alpha, "detach"):  # a trade-off weight, not differentiated (Zheng et al.)
        alpha = alpha.detach()
    return diou - alpha * v


def _pairwise(boxes1: Any, boxes2: Any, func: str, kind: str) -> Any:
    a, xp = _check_boxes(boxes1, func, "boxes1")
    b, _ = _check_boxes(boxes2, func, "boxes2")
    _same_library(a, b, func)
    if a.shape[:-2] != b.shape[:-2]:
        raise ValueError(f"{func}: boxes1 and boxes2 must have the same leading batch shape, "
                         f"got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if hasattr(a, "dtype") and hasattr(b, "dtype") and a.dtype != b.dtype:
        b = xp.astype(b, a.dtype)
    return _iou_terms(xp.expand_dims(a, axis=-2), xp.expand_dims(b, axis=-3), xp, kind)


_PAIRWISE_DOC = """

    Parameters
    ----------
    boxes1 : array of shape (..., N, 4)
        xyxy boxes, numpy array or torch tensor.
    boxes2 : array of shape (..., M, 4)
        xyxy boxes of the same library and leading shape.

    Returns
    -------
    array of shape (..., N, M)
        Entry ``[i, j]`` compares ``boxes1[i]`` with ``boxes2[j]``.

    Raises
    ------
    TypeError
        Not arrays, or one numpy and one torch.
    ValueError
        Wrong shapes, NaN or inf, boxes with ``x2 < x1`` or ``y2 < y1``.
"""


def box_iou(boxes1: Any, boxes2: Any) -> Any:
    """Intersection over union of every pair: ``|A ∩ B| / |A ∪ B|`` in [0, 1].

    Two boxes whose union has zero area (zero-area boxes) have IoU 0.

    Examples
    --------
    >>> import numpy as np
    >>> box_iou(np.array([[0.0, 0.0, 2.0, 2.0]]), np.array([[1.0, 1.0, 3.0, 3.0],
    ...                                                      [5.0, 5.0, 6.0, 6.0]]))
    array([[0.14285714, 0.        ]])
    """
    return _pairwise(boxes1, boxes2, "box_iou", "iou")


def generalized_box_iou(boxes1: Any, boxes2: Any) -> Any:
    """Generalised IoU of every pair: ``IoU - |C \\ (A ∪ B)| / |C|`` in [-1, 1].

    ``C`` is the smallest box enclosing both. The penalty is 0 when ``|C| = 0``.

    References
    ----------
    H. Rezatofighi et al., "Generalized Intersection over Union: A Metric and a Loss for
    Bounding Box Regression", CVPR 2019. doi:10.1109/CVPR.2019.00075
    """
    return _pairwise(boxes1, boxes2, "generalized_box_iou", "giou")


def distance_box_iou(boxes1: Any, boxes2: Any) -> Any:
    """Distance IoU of every pair: ``IoU - ρ²(centres) / c²`` in [-1, 1].

    ``c`` is the diagonal of the smallest enclosing box; the penalty is 0 when ``c = 0``.

    References
    ----------
    Z. Zheng et al., "Distance-IoU Loss: Faster and Better Learning for Bounding Box
    Regression", AAAI 2020. doi:10.1609/aaai.v34i07.6999
    """
    return _pairwise(boxes1, boxes2, "distance_box_iou", "diou")


def complete_box_iou(boxes1: Any, boxes2: Any) -> Any:
    """Complete IoU of every pair: ``DIoU - α v``.

    ``v = 4/π² (atan2(w_B, h_B) - atan2(w_A, h_A))²`` measures the difference of aspect
    ratios and ``α = v / ((1 - IoU) + v)`` (0 when both are 0) weighs it; as in the paper,
    ``α`` is a weight that gradients do not flow through.

    References
    ----------
    Z. Zheng et al., "Distance-IoU Loss: Faster and Better Learning for Bounding Box
    Regression", AAAI 2020. doi:10.1609/aaai.v34i07.6999
    """
    return _pairwise(boxes1, boxes2, "complete_box_iou", "ciou")


for _f in (box_iou, generalized_box_iou, distance_box_iou, complete_box_iou):
    _head, _sep, _examples = _f.__doc__.rstrip().partition("\n\n    Examples")
    _f.__doc__ = _head + "\n" + _PAIRWISE_DOC + (_sep + _examples if _sep else "")
del _f, _head, _sep, _examples


def _aligned_loss(boxes1: Any, boxes2: Any, reduction: str, func: str, kind: str) -> Any:
    reduction = check_choice(reduction, func, "reduction", ("none", "mean", "sum"))
    a, xp = _check_boxes(boxes1, func, "boxes1")
    b, _ = _check_boxes(boxes2, func, "boxes2")
    _same_library(a, b, func)
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{func}: boxes1 and boxes2 must have the same shape (..., N, 4), "
                         f"got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype:
        b = xp.astype(b, a.dtype)
    loss = 1.0 - _iou_terms(a, b, xp, kind)
    if reduction == "sum":
        return xp.sum(loss)
    if reduction == "mean":
        n = math.prod(tuple(loss.shape))
        return xp.sum(loss) / max(n, 1)
    return loss


_LOSS_DOC = """

    Parameters
    ----------
    boxes1, boxes2 : array of shape (..., N, 4)
        xyxy boxes of the same shape and library: ``boxes1[i]`` is compared with
        ``boxes2[i]`` (predictions and their targets).
    reduction : {"none", "mean", "sum"}, optional
        "none" returns shape ``(..., N)``; "mean" of no boxes is 0.

    Returns
    -------
    array
        Differentiable for torch tensors.

    Raises
    ------
    TypeError, ValueError
        As for the pairwise function, and for different shapes or a bad ``reduction``.
"""


def generalized_box_iou_loss(boxes1: Any, boxes2: Any, *, reduction: Reduction = "none") -> Any:
    """``1 - GIoU`` of aligned pairs of boxes, in [0, 2] (see :func:`generalized_box_iou`)."""
    return _aligned_loss(boxes1, boxes2, reduction, "generalized_box_iou_loss", "giou")


def distance_box_iou_loss(boxes1: Any, boxes2: Any, *, reduction: Reduction = "none") -> Any:
    """``1 - DIoU`` of aligned pairs of boxes, in [0, 2] (see :func:`distance_box_iou`)."""
    return _aligned_loss(boxes1, boxes2, reduction, "distance_box_iou_loss", "diou")


def complete_box_iou_loss(boxes1: Any, boxes2: Any, *, reduction: Reduction = "none") -> Any:
    """``1 - CIoU`` of aligned pairs of boxes (see :func:`complete_box_iou`)."""
    return _aligned_loss(boxes1, boxes2, reduction, "complete_box_iou_loss", "ciou")


for _f in (generalized_box_iou_loss, distance_box_iou_loss, complete_box_iou_loss):
    _f.__doc__ = _f.__doc__.rstrip() + "\n" + _LOSS_DOC
del _f


# ----------------------------------------------------------------------------- NMS
def _score_order(scores: Any, xp) -> Any:
    """Indices by descending score; equal scores keep their input order (stable)."""
    from array_api_compat import is_torch_array

    if is_torch_array(scores):
        return scores.argsort(descending=True, stable=True)
    return np.argsort(-scores, kind="stable")


@njit(cache=True)
def _nms_kernel(boxes, order, iou_threshold):  # pragma: no cover - compiled
    """Greedy NMS over float64 ``(N, 4)`` xyxy ``boxes`` visited in ``order``.

    Visit boxes from the highest score down; keep a box unless an already kept one
    overlaps it with IoU > ``iou_threshold``; once kept, it suppresses every later box
    that overlaps it that much. Returns the kept indices (int64) in visiting order.
    """
    n = order.shape[0]
    x1 = np.empty(n)
    y1 = np.empty(n)
    x2 = np.empty(n)
    y2 = np.empty(n)
    area = np.empty(n)
    for i in range(n):
        k = order[i]
        x1[i] = boxes[k, 0]
        y1[i] = boxes[k, 1]
        x2[i] = boxes[k, 2]
        y2[i] = boxes[k, 3]
        area[i] = (x2[i] - x1[i]) * (y2[i] - y1[i])
    suppressed = np.zeros(n, np.bool_)
    keep = np.empty(n, np.int64)
    n_keep = 0
    for i in range(n):
        if suppressed[i]:
            continue
        keep[n_keep] = order[i]
        n_keep += 1
        ix1, iy1, ix2, iy2, iarea = x1[i], y1[i], x2[i], y2[i], area[i]
        for j in range(i + 1, n):
            if suppressed[j]:
                continue
            w = min(ix2, x2[j]) - max(ix1, x1[j])
            if w <= 0.0:
                continue
            h = min(iy2, y2[j]) - max(iy1, y1[j])
            if h <= 0.0:
                continue
            inter = w * h
            union = iarea + area[j] - inter
            if union > 0.0 and inter / union > iou_threshold:
                suppressed[j] = True
    return keep[:n_keep]


def _nms_xp(b: Any, order: Any, iou_threshold: float, xp) -> Any:
    """The array-API greedy NMS (torch path): one vector step per kept box."""
    n = int(b.shape[0])
    bs = xp.take(b, order, axis=0)
    remaining = xp.ones((n,), dtype=xp.bool, device=getattr(b, "device", None))
    positions = xp.arange(n, device=getattr(b, "device", None))
    kept = []
    while bool(xp.any(remaining)):
        i = int(xp.argmax(xp.astype(remaining, xp.int8)))  # first one still in play
        kept.append(i)
        iou = _iou_terms(bs[i : i + 1, :], bs, xp, "iou")
        remaining = remaining & ~(iou > iou_threshold) & (positions != i)
    sel = xp.asarray(kept, dtype=xp.int64, device=getattr(b, "device", None))
    return xp.take(order, sel, axis=0)


def nms(boxes: Any, scores: Any, *, iou_threshold: float) -> Any:
    """Greedy non-maximum suppression.

    Boxes are visited from the highest score down; a box is kept unless a kept box
    overlaps it with IoU strictly greater than ``iou_threshold`` (ties in score are
    visited in input order: the sort is stable, as OpenCV's ``cv2.dnn.NMSBoxes`` is).

    Parameters
    ----------
    boxes : array of shape (N, 4)
        xyxy boxes, numpy array or torch tensor.
    scores : array of shape (N,)
        One finite score per box, the same library as ``boxes``.
    iou_threshold : float
        In [0, 1]: boxes overlapping a kept one by more than this are dropped.

    Returns
    -------
    array of int64, shape (K,)
        Indices into ``boxes`` of the kept boxes, by descending score (the same library
        and device as ``boxes``).

    Raises
    ------
    TypeError, ValueError
        Bad boxes (see the module docstring), a scores array of the wrong shape or with
        NaN, a threshold outside [0, 1].

    Notes
    -----
    numpy input runs a compiled kernel (``O(N K)`` for ``K`` kept boxes); torch input
    runs the same greedy rule as array operations, one vectorised step per kept box.
    Zero-area boxes overlap nothing (IoU 0) and are never suppressed.

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=float)
    >>> nms(b, np.array([0.9, 0.8, 0.7]), iou_threshold=0.5)
    array([0, 2])
    """
    func = "nms"
    b, xp = _check_boxes(boxes, func, batched=False)
    s = _check_scores(scores, int(b.shape[0]), func)
    _same_library(b, s, func)
    thr = check_real(iou_threshold, func, "iou_threshold", low=0.0, high=1.0)
    order = _score_order(s, xp)
    if isinstance(b, np.ndarray):
        return _nms_kernel(np.ascontiguousarray(b), order.astype(np.int64), thr)
    return _nms_xp(b.detach(), order, thr, xp)


def batched_nms(boxes: Any, scores: Any, labels: Any, *, iou_threshold: float) -> Any:
    """Non-maximum suppression within each class: boxes of different labels never suppress.

    Parameters
    ----------
    boxes : array of shape (N, 4)
        xyxy boxes, numpy array or torch tensor.
    scores : array of shape (N,)
    labels : array of int, shape (N,)
        The class of each box.
    iou_threshold : float
        As in :func:`nms`.

    Returns
    -------
    array of int64, shape (K,)
        Indices of the kept boxes over all classes, by descending score (ties in input
        order).

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11]], dtype=float)
    >>> batched_nms(b, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 1]), iou_threshold=0.5)
    array([0, 2])
    """
    func = "batched_nms"
    b, xp = _check_boxes(boxes, func, batched=False)
    n = int(b.shape[0])
    s = _check_scores(scores, n, func)
    _same_library(b, s, func)
    thr = check_real(iou_threshold, func, "iou_threshold", low=0.0, high=1.0)
    from array_api_compat import is_torch_array

    if type(labels).__module__.split(".")[0] != type(b).__module__.split(".")[0]:
        raise TypeError(f"{func}: labels must be the same library as boxes (numpy or "
                        f"torch), got {describe(labels)}")
    if tuple(labels.shape) != (n,):
        raise ValueError(f"{func}: labels must have shape ({n},) (one per box), got shape "
                         f"{tuple(labels.shape)}")
    lab_np = labels.detach().cpu().numpy() if is_torch_array(labels) else np.asarray(labels)
    if lab_np.dtype.kind not in "iub":
        raise TypeError(f"{func}: labels must be integers, got dtype {labels.dtype}")
    kept = []
    for c in np.unique(lab_np):
        idx_np = np.flatnonzero(lab_np == c)
        idx = xp.asarray(idx_np, device=getattr(b, "device", None)) if is_torch_array(b) \
            else idx_np
        sub = nms(xp.take(b, idx, axis=0), xp.take(s, idx, axis=0), iou_threshold=thr)
        kept.append(xp.take(idx, sub, axis=0))
    if not kept:
        return xp.asarray(np.empty(0, np.int64)) if not is_torch_array(b) else \
            xp.zeros((0,), dtype=xp.int64, device=b.device)
    keep = xp.concat(kept)
    keep = xp.sort(keep)  # input order, so that the stable sort below breaks ties by index
    return xp.take(keep, _score_order(xp.take(s, keep, axis=0), xp), axis=0)


@dataclass(frozen=True)
class SoftNMSResult:
    """Result of :func:`soft_nms`.

    Attributes
    ----------
    indices : array of int64, shape (K,)
        The boxes that kept a score >= ``score_threshold``, in the order they were picked
        (by descending decayed score).
    scores : array of shape (K,)
        Their decayed scores.
    """

    indices: Any
    scores: Any


_SOFT_METHODS = {"linear": 0, "gaussian": 1}


@njit(cache=True)
def _soft_nms_kernel(boxes, scores, method, sigma, iou_threshold,
                     score_threshold):  # pragma: no cover - compiled
    """Soft-NMS (Bodla et al. 2017, Algorithm 1) on float64 ``(N, 4)`` xyxy boxes.

    Repeatedly pick the box ``m`` of highest current score (lowest index among ties),
    then decay every remaining box ``i``: linear (``method=0``) multiplies by
    ``1 - IoU(m, i)`` when that IoU exceeds ``iou_threshold``; Gaussian (``method=1``) by
    ``exp(-IoU² / sigma)``. Boxes whose score falls below ``score_threshold`` are dropped.
    Returns the picked indices and their scores.
    """
    n = boxes.shape[0]
    s = scores.copy()
    alive = np.ones(n, np.bool_)
    for i in range(n):
        if s[i] < score_threshold:
            alive[i] = False
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    out_idx = np.empty(n, np.int64)
    out_score = np.empty(n)
    k = 0
    while True:
        m = -1
        best = -np.inf
        for i in range(n):
            if alive[i] and s[i] > best:
                best = s[i]
                m = i
        if m < 0:
            break
        alive[m] = False
        out_idx[k] = m
        out_score[k] = s[m]
        k += 1
        for i in range(n):
            if not alive[i]:
                continue
            w = min(boxes[m, 2], boxes[i, 2]) - max(boxes[m, 0], boxes[i, 0])
            h = min(boxes[m, 3], boxes[i, 3]) - max(boxes[m, 1], boxes[i, 1])
            iou = 0.0
            if w > 0.0 and h > 0.0:
                union = area[m] + area[i] - w * h
                if union > 0.0:
                    iou = w * h / union
            if method == 0:
                if iou > iou_threshold:
                    s[i] *= 1.0 - iou
            else:
                s[i] *= math.exp(-iou * iou / sigma)
            if s[i] < score_threshold:
                alive[i] = False
    return out_idx[:k], out_score[:k]


def _soft_nms_xp(b, s, method, sigma, thr, score_threshold, xp):
    """The array-API soft-NMS (torch path), the same steps as :func:`_soft_nms_kernel`."""
    dev = getattr(b, "device", None)
    s = xp.asarray(s, copy=True)
    alive = s >= score_threshold
    neg_inf = xp.full_like(s, -math.inf)
    idx, sc = [], []
    while bool(xp.any(alive)):
        m = int(xp.argmax(xp.where(alive, s, neg_inf)))
        idx.append(m)
        sc.append(s[m : m + 1])
        alive = alive & (xp.arange(s.shape[0], device=dev) != m)
        iou = _iou_terms(b[m : m + 1, :], b, xp, "iou")
        if method == "linear":
            decay = xp.where(iou > thr, 1.0 - iou, xp.ones_like(iou))
        else:
            decay = xp.exp(-(iou * iou) / sigma)
        s = xp.where(alive, s * decay, s)
        alive = alive & (s >= score_threshold)
    indices = xp.asarray(idx, dtype=xp.int64, device=dev)
    scores_out = xp.concat(sc) if sc else s[:0]
    return SoftNMSResult(indices=indices, scores=scores_out)


def soft_nms(
    boxes: Any,
    scores: Any,
    *,
    method: Literal["linear", "gaussian"] = "gaussian",
    sigma: float = 0.5,
    iou_threshold: float = 0.3,
    score_threshold: float = 0.001,
) -> SoftNMSResult:
    """Soft-NMS: decay the scores of overlapping boxes instead of dropping them.

    Parameters
    ----------
    boxes : array of shape (N, 4)
        xyxy boxes, numpy array or torch tensor.
    scores : array of shape (N,)
    method : {"linear", "gaussian"}, optional
        Linear: a box overlapping the picked one with IoU > ``iou_threshold`` has its
        score multiplied by ``1 - IoU``. Gaussian: every box's score is multiplied by
        ``exp(-IoU² / sigma)``.
    sigma : float, optional
        > 0; the Gaussian's width (unused by "linear").
    iou_threshold : float, optional
        In [0, 1]; used by "linear" only.
    score_threshold : float, optional
        Boxes whose (decayed) score falls below it are discarded.

    Returns
    -------
    SoftNMSResult
        ``indices`` in picking order and their decayed ``scores``. Ties in score are
        picked lowest index first.

    References
    ----------
    N. Bodla, B. Singh, R. Chellappa, L. S. Davis, "Soft-NMS — Improving Object Detection
    With One Line of Code", ICCV 2017. doi:10.1109/ICCV.2017.593

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([[0, 0, 10, 10], [0, 0, 10, 5]], dtype=float)
    >>> r = soft_nms(b, np.array([0.9, 0.8]), method="linear", iou_threshold=0.3)
    >>> r.indices, r.scores
    (array([0, 1]), array([0.9, 0.4]))
    """
    func = "soft_nms"
    b, xp = _check_boxes(boxes, func, batched=False)
    s = _check_scores(scores, int(b.shape[0]), func)
    _same_library(b, s, func)
    method = check_choice(method, func, "method", tuple(_SOFT_METHODS))
    sigma = check_real(sigma, func, "sigma", low=0.0, low_inclusive=False)
    thr = check_real(iou_threshold, func, "iou_threshold", low=0.0, high=1.0)
    score_threshold = check_real(score_threshold, func, "score_threshold")
    if isinstance(b, np.ndarray):
        idx, sc = _soft_nms_kernel(np.ascontiguousarray(b), np.ascontiguousarray(s),
                                   _SOFT_METHODS[method], sigma, thr, score_threshold)
        return SoftNMSResult(indices=idx, scores=sc)
    return _soft_nms_xp(b.detach(), s.detach(), method, sigma, thr, score_threshold, xp)
