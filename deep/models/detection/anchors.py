"""Anchors, SSD default boxes and the box coder that regresses boxes relative to them.

Conventions
-----------
Boxes are xyxy tensors in the image's frame of :mod:`cvgeo.geometry.boxes` (pixel centres
at integer coordinates; an ``(H, W)`` image covers ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``).
A feature level of shape ``(h, w)`` on an image of shape ``(H, W)`` has strides
``H / h`` and ``W / w``; its cell ``(r, c)`` is centred at image coordinates
``((c + 0.5) W / w - 0.5, (r + 0.5) H / h - 0.5)``. An aspect ratio is width / height.
Anchors are listed level by level, then row-major over cells, then over the anchor shapes
of one cell — the order of a convolutional head's output ``(N, A * 4, h, w)`` after
``permute(0, 2, 3, 1).reshape(N, -1, 4)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cvgeo.geometry.boxes import clip_boxes

__all__ = ["BoxCoder", "anchors_per_cell", "grid_anchors", "ssd_default_boxes"]


def _shapes(feature_shapes, func: str) -> list[tuple[int, int]]:
    out = []
    if not isinstance(feature_shapes, (list, tuple)) or not feature_shapes:
        raise ValueError(f"{func}: feature_shapes must be a non-empty list of (h, w) pairs, got "
                         f"{feature_shapes!r}")
    for s in feature_shapes:
        if (not isinstance(s, (list, tuple)) or len(s) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in s)):
            raise ValueError(f"{func}: feature_shapes must hold (h, w) pairs of positive ints, "
                             f"got {s!r}")
        out.append((int(s[0]), int(s[1])))
    return out


def _image_shape(image_shape, func: str) -> tuple[int, int]:
    if (not isinstance(image_shape, (list, tuple)) or len(image_shape) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in image_shape)):
        raise ValueError(f"{func}: image_shape must be a pair (H, W) of positive ints, got "
                         f"{image_shape!r}")
    return int(image_shape[0]), int(image_shape[1])


def _positive_list(values, func: str, name: str) -> list[float]:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{func}: {name} must be a non-empty list of positive numbers, got "
                         f"{values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or v <= 0:
            raise ValueError(f"{func}: {name} must hold positive numbers, got {values!r}")
        out.append(float(v))
    return out


def _centres(h: int, w: int, image_shape: tuple[int, int], dtype, device) -> torch.Tensor:
    """Cell centres ``(h * w, 2)`` as image ``(x, y)``, row-major."""
    sy, sx = image_shape[0] / h, image_shape[1] / w
    cy = (torch.arange(h, dtype=dtype, device=device) + 0.5) * sy - 0.5
    cx = (torch.arange(w, dtype=dtype, device=device) + 0.5) * sx - 0.5
    yy, xx = torch.meshgrid(cy, cx, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def _place(centres: torch.Tensor, wh: torch.Tensor) -> torch.Tensor:
    """Boxes ``(P * A, 4)`` of sizes ``wh (A, 2)`` centred on each of ``centres (P, 2)``."""
    c = centres[:, None, :]  # (P, 1, 2)
    half = 0.5 * wh[None, :, :]  # (1, A, 2)
    return torch.cat([c - half, c + half], dim=-1).reshape(-1, 4)


def anchors_per_cell(sizes: Sequence[float], aspect_ratios: Sequence[float]) -> torch.Tensor:
    """Anchor widths and heights ``(len(sizes) * len(aspect_ratios), 2)`` for one level.

    For each size ``s`` (the square root of the area, in pixels), then each aspect ratio
    ``a = w / h``: ``w = s sqrt(a)``, ``h = s / sqrt(a)``.

    Examples
    --------
    >>> anchors_per_cell([8.0], [1.0, 4.0])
    tensor([[ 8.,  8.],
            [16.,  4.]], dtype=torch.float64)
    """
    func = "anchors_per_cell"
    sizes = _positive_list(list(sizes) if isinstance(sizes, tuple) else sizes, func, "sizes")
    ratios = _positive_list(list(aspect_ratios) if isinstance(aspect_ratios, tuple)
                            else aspect_ratios, func, "aspect_ratios")
    wh = [(s * math.sqrt(a), s / math.sqrt(a)) for s in sizes for a in ratios]
    return torch.tensor(wh, dtype=torch.float64)


def grid_anchors(feature_shapes: Sequence[tuple[int, int]], *, image_shape: tuple[int, int],
                 sizes: Sequence[Sequence[float]],
                 aspect_ratios: Sequence[Sequence[float]] | Sequence[float] = (0.5, 1.0, 2.0),
                 dtype: torch.dtype = torch.float32,
                 device: torch.device | str | None = None) -> torch.Tensor:
    """Anchors (Faster R-CNN / RetinaNet style): sizes x aspect ratios at every cell.

    Parameters
    ----------
    feature_shapes : list of (h, w)
        One per feature level.
    image_shape : (H, W)
    sizes : list of lists of float
        Per level, anchor sizes (square root of the area) in pixels.
    aspect_ratios : list of float, or list of lists of float
        Widths / heights, shared by every level or one list per level.

    Returns
    -------
    Tensor of shape (sum_l h_l w_l A_l, 4)
        xyxy anchors in the order of the module docstring, ``A_l = len(sizes[l]) *
        len(aspect_ratios[l])``; not clipped.

    Raises
    ------
    ValueError
        Mismatched numbers of levels, non-positive sizes, ratios or shapes.

    Examples
    --------
    >>> grid_anchors([(1, 2)], image_shape=(4, 8), sizes=[[2.0]], aspect_ratios=[1.0])
    tensor([[0.5000, 0.5000, 2.5000, 2.5000],
            [4.5000, 0.5000, 6.5000, 2.5000]])
    """
    func = "grid_anchors"
    shapes = _shapes(feature_shapes, func)
    image_shape = _image_shape(image_shape, func)
    if not isinstance(sizes, (list, tuple)) or len(sizes) != len(shapes):
        raise ValueError(f"{func}: sizes must hold one list of sizes per level ({len(shapes)}), "
                         f"got {sizes!r}")
    if isinstance(aspect_ratios, (list, tuple)) and aspect_ratios \
            and all(isinstance(r, (list, tuple)) for r in aspect_ratios):
        ratios = list(aspect_ratios)
        if len(ratios) != len(shapes):
            raise ValueError(f"{func}: aspect_ratios must be one list for all levels or one per "
                             f"level ({len(shapes)}), got {len(ratios)} lists")
    else:
        ratios = [aspect_ratios] * len(shapes)
    out = []
    for (h, w), s, r in zip(shapes, sizes, ratios):
        wh = anchors_per_cell(s, r).to(dtype=dtype, device=device)
        out.append(_place(_centres(h, w, image_shape, dtype, device), wh))
    return torch.cat(out)


def ssd_default_boxes(feature_shapes: Sequence[tuple[int, int]], *,
                      image_shape: tuple[int, int], min_scale: float = 0.2,
                      max_scale: float = 0.9,
                      aspect_ratios: Sequence[Sequence[float]] | None = None,
                      clip: bool = True, dtype: torch.dtype = torch.float32,
                      device: torch.device | str | None = None) -> torch.Tensor:
    """SSD's default boxes: one scale per level, several aspect ratios, at every cell.

    Level ``k`` of ``m`` has scale ``s_k = min_scale + (max_scale - min_scale) k / (m - 1)``
    (relative to the image side; ``s_m = 1``). Each cell gets, in this order: a square of
    scale ``s_k``, a square of scale ``sqrt(s_k s_{k+1})``, and for each ratio ``a`` in
    ``aspect_ratios[k]`` the boxes ``(s_k sqrt(a), s_k / sqrt(a))`` and ``(s_k / sqrt(a),
    s_k sqrt(a))`` (widths relative to ``W``, heights to ``H``): ``2 + 2 len(aspect_ratios[k])``
    boxes per cell.

    Parameters
    ----------
    feature_shapes : list of (h, w)
    image_shape : (H, W)
    min_scale, max_scale : float, optional
        ``0 < min_scale <= max_scale <= 1``.
    aspect_ratios : list of lists of float, optional
        Ratios > 0 besides 1, per level; default ``[2]`` for every level.
    clip : bool, optional
        Clip the boxes to the image (SSD does).

    Returns
    -------
    Tensor of shape (sum_k h_k w_k (2 + 2 len(aspect_ratios[k])), 4)
        xyxy default boxes in pixels.

    References
    ----------
    W. Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016.
    doi:10.1007/978-3-319-46448-0_2

    Examples
    --------
    >>> b = ssd_default_boxes([(2, 2), (1, 1)], image_shape=(100, 100), aspect_ratios=[[2], []])
    >>> b.shape, b[0].tolist()
    (torch.Size([18, 4]), [14.5, 14.5, 34.5, 34.5])
    """
    func = "ssd_default_boxes"
    shapes = _shapes(feature_shapes, func)
    image_shape = _image_shape(image_shape, func)
    m = len(shapes)
    for name, v in (("min_scale", min_scale), ("max_scale", max_scale)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise ValueError(f"{func}: {name} must be in (0, 1], got {v!r}")
    if min_scale > max_scale:
        raise ValueError(f"{func}: min_scale must be <= max_scale, got {min_scale} > {max_scale}")
    if aspect_ratios is None:
        aspect_ratios = [[2.0]] * m
    if not isinstance(aspect_ratios, (list, tuple)) or len(aspect_ratios) != m:
        raise ValueError(f"{func}: aspect_ratios must hold one list per level ({m}), got "
                         f"{aspect_ratios!r}")
    scales = [min_scale + (max_scale - min_scale) * k / max(m - 1, 1) for k in range(m)] + [1.0]
    h_img, w_img = image_shape
    out = []
    for k, (h, w) in enumerate(shapes):
        rel = [(scales[k], scales[k]), (math.sqrt(scales[k] * scales[k + 1]),) * 2]
        ratios = list(aspect_ratios[k])
        if ratios:
            _positive_list(ratios, func, f"aspect_ratios[{k}]")
        for a in ratios:
            r = math.sqrt(a)
            rel += [(scales[k] * r, scales[k] / r), (scales[k] / r, scales[k] * r)]
        wh = torch.tensor([(rw * w_img, rh * h_img) for rw, rh in rel], dtype=dtype,
                          device=device)
        out.append(_place(_centres(h, w, image_shape, dtype, device), wh))
    boxes = torch.cat(out)
    return clip_boxes(boxes, image_shape=image_shape) if clip else boxes


@dataclass(frozen=True)
class BoxCoder:
    """Encode boxes as offsets from reference boxes (anchors), and decode them back.

    With anchor centre ``(x_a, y_a)`` and size ``(w_a, h_a)`` and box ``(x, y, w, h)``::

        t_x = w_x (x - x_a) / w_a      t_w = w_w log(w / w_a)
        t_y = w_y (y - y_a) / h_a      t_h = w_h log(h / h_a)

    ``weights = (w_x, w_y, w_w, w_h)``: (1, 1, 1, 1) for an RPN, (10, 10, 5, 5) for the
    Fast R-CNN head and SSD (SSD's "variances" 0.1 and 0.2 are their inverses).
    Decoding clamps ``t_w / w_w`` and ``t_h / w_h`` at ``scale_clamp`` (default
    ``log(1000 / 16)``) so that an untrained head cannot overflow ``exp``.

    Both methods take xyxy tensors of broadcastable shapes ``(..., 4)`` and are
    differentiable.

    References
    ----------
    R. Girshick, J. Donahue, T. Darrell, J. Malik, "Rich feature hierarchies for accurate
    object detection and semantic segmentation", CVPR 2014, appendix C.
    doi:10.1109/CVPR.2014.81

    Examples
    --------
    >>> import torch
    >>> coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    >>> a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    >>> d = coder.encode(torch.tensor([[1.0, 2.0, 11.0, 22.0]]), a)
    >>> d
    tensor([[1.0000, 7.0000, 0.0000, 3.4657]])
    >>> coder.decode(d, a)
    tensor([[ 1.,  2., 11., 22.]])
    """

    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    scale_clamp: float = math.log(1000.0 / 16)

    def __post_init__(self):
        w = self.weights
        if (not isinstance(w, (tuple, list)) or len(w) != 4
                or any(isinstance(v, bool) or not isinstance(v, (int, float))
                       or not math.isfinite(v) or v <= 0 for v in w)):
            raise ValueError(f"BoxCoder: weights must be 4 positive numbers (wx, wy, ww, wh), "
                             f"got {w!r}")
        if not (isinstance(self.scale_clamp, (int, float)) and self.scale_clamp > 0):
            raise ValueError(f"BoxCoder: scale_clamp must be a positive number, got "
                             f"{self.scale_clamp!r}")
        object.__setattr__(self, "weights", tuple(float(v) for v in w))

    @staticmethod
    def _centre_size(b: torch.Tensor, func: str, name: str):
        if not isinstance(b, torch.Tensor) or b.ndim < 1 or b.shape[-1] != 4:
            raise ValueError(f"{func}: {name} must be a tensor (..., 4), got "
                             f"{getattr(b, 'shape', type(b).__name__)}")
        w = b[..., 2] - b[..., 0]
        h = b[..., 3] - b[..., 1]
        if not bool(torch.isfinite(b).all()):
            raise ValueError(f"{func}: {name} must be finite, got NaN or inf values")
        if bool(((w <= 0) | (h <= 0)).any()):
            raise ValueError(f"{func}: {name} must have positive width and height (the "
                             f"encoding takes their logarithm), got "
                             f"{int(((w <= 0) | (h <= 0)).sum())} box(es) of zero or negative "
                             f"size")
        return b[..., 0] + 0.5 * w, b[..., 1] + 0.5 * h, w, h

    def encode(self, boxes: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        """Offsets ``(..., 4)`` ``(t_x, t_y, t_w, t_h)`` of ``boxes`` from ``anchors``."""
        func = "BoxCoder.encode"
        x, y, w, h = self._centre_size(boxes, func, "boxes")
        xa, ya, wa, ha = self._centre_size(anchors.to(boxes.dtype), func, "anchors")
        wx, wy, ww, wh = self.weights
        return torch.stack([wx * (x - xa) / wa, wy * (y - ya) / ha,
                            ww * torch.log(w / wa), wh * torch.log(h / ha)], dim=-1)

    def decode(self, deltas: torch.Tensor, anchors: torch.Tensor, *,
               image_shape: tuple[int, int] | None = None) -> torch.Tensor:
        """xyxy boxes ``(..., 4)`` from offsets; clipped to the image when ``image_shape``."""
        func = "BoxCoder.decode"
        if not isinstance(deltas, torch.Tensor) or deltas.ndim < 1 or deltas.shape[-1] != 4:
            raise ValueError(f"{func}: deltas must be a tensor (..., 4), got "
                             f"{getattr(deltas, 'shape', type(deltas).__name__)}")
        xa, ya, wa, ha = self._centre_size(anchors.to(deltas.dtype), func, "anchors")
        wx, wy, ww, wh = self.weights
        dw = (deltas[..., 2] / ww).clamp(max=self.scale_clamp)
        dh = (deltas[..., 3] / wh).clamp(max=self.scale_clamp)
        x = xa + deltas[..., 0] / wx * wa
        y = ya + deltas[..., 1] / wy * ha
        w = wa * torch.exp(dw)
        h = ha * torch.exp(dh)
        out = torch.stack([x - 0.5 * w, y - 0.5 * h, x + 0.5 * w, y + 0.5 * h], dim=-1)
        if image_shape is not None:
            out = clip_boxes(out, image_shape=_image_shape(image_shape, func))
        return out
