"""Region-of-interest pooling: RoI max pooling (Fast R-CNN) and RoI Align (Mask R-CNN).

Conventions
-----------
Features are ``(N, C, H, W)``. Boxes are xyxy in the *image's* frame, the frame of
:mod:`cvgeo.geometry.boxes`: pixel centres at integer coordinates, the image covering
``[-0.5, W_img - 0.5]``. ``spatial_scale`` is the feature map's resolution relative to the
image (``1 / stride``); feature cell ``j`` covers image pixels ``[j / s - 0.5,
(j + 1) / s - 0.5]``, so an image coordinate ``x`` lands at feature coordinate
``u = (x + 0.5) s - 0.5`` (cell centres at integer ``u``). Boxes come either as one
``(K, 5)`` tensor of rows ``(batch_index, x1, y1, x2, y2)`` or as a list of ``N``
tensors ``(K_i, 4)``, one per image. Outputs are ``(K, C, out_h, out_w)``, RoIs in the
order given.

Both are written with differentiable torch operations: gradients flow to the features
and, for RoI Align, to the box coordinates too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from cvgeo._checks import check_int_pair

__all__ = ["RoIAlign", "RoIPool", "roi_align", "roi_pool"]


def _rois(features: torch.Tensor, boxes, func: str) -> torch.Tensor:
    """Validate the inputs; return boxes as a ``(K, 5)`` tensor of the features' dtype."""
    if not isinstance(features, torch.Tensor) or features.ndim != 4:
        raise ValueError(f"{func}: features must be a tensor (N, C, H, W), got "
                         f"{getattr(features, 'shape', type(features).__name__)}")
    if not features.is_floating_point():
        raise TypeError(f"{func}: features must be floating point, got dtype {features.dtype}")
    n = features.shape[0]
    if isinstance(boxes, (list, tuple)):
        if len(boxes) != n:
            raise ValueError(f"{func}: boxes as a list must hold one (K_i, 4) tensor per image "
                             f"(N={n}), got {len(boxes)} tensors")
        parts = []
        for i, b in enumerate(boxes):
            if not isinstance(b, torch.Tensor) or b.ndim != 2 or b.shape[1] != 4:
                raise ValueError(f"{func}: boxes[{i}] must be a tensor (K_i, 4), got "
                                 f"{getattr(b, 'shape', type(b).__name__)}")
            idx = torch.full((b.shape[0], 1), float(i), dtype=features.dtype,
                             device=features.device)
            parts.append(torch.cat([idx, b.to(features.dtype)], dim=1))
        rois = torch.cat(parts) if parts else features.new_zeros((0, 5))
    elif isinstance(boxes, torch.Tensor):
        if boxes.ndim != 2 or boxes.shape[1] != 5:
            raise ValueError(f"{func}: boxes must be a tensor (K, 5) of (batch_index, x1, y1, "
                             f"x2, y2) or a list of (K_i, 4) tensors, got shape "
                             f"{tuple(boxes.shape)}")
        rois = boxes.to(features.dtype)
        bi = rois[:, 0].detach()
        if rois.shape[0] and (bool((bi != bi.round()).any()) or float(bi.min()) < 0
                              or float(bi.max()) >= n):
            raise ValueError(f"{func}: boxes[:, 0] must be integer batch indices in [0, {n}), "
                             f"got values in [{float(bi.min())}, {float(bi.max())}]")
    else:
        raise TypeError(f"{func}: boxes must be a tensor (K, 5) or a list of (K_i, 4) tensors, "
                        f"got {type(boxes).__name__}")
    if not bool(torch.isfinite(rois).all()):
        raise ValueError(f"{func}: boxes must be finite, got NaN or inf values")
    if bool(((rois[:, 3] < rois[:, 1]) | (rois[:, 4] < rois[:, 2])).any()):
        raise ValueError(f"{func}: boxes must have x1 <= x2 and y1 <= y2, got boxes with "
                         f"x2 < x1 or y2 < y1")
    return rois


def _check_scale(spatial_scale, func: str) -> float:
    if isinstance(spatial_scale, bool) or not isinstance(spatial_scale, (int, float)) \
            or not math.isfinite(spatial_scale) or spatial_scale <= 0:
        raise ValueError(f"{func}: spatial_scale must be a positive number, got "
                         f"{spatial_scale!r}")
    return float(spatial_scale)


# ----------------------------------------------------------------------------- RoI Align
def _interp_weights(t: torch.Tensor, size: int) -> torch.Tensor:
    """Linear-interpolation weights ``t.shape + (size,)`` of samples at coordinates ``t``
    along an axis of ``size`` cells: the RoI Align rule, zero outside.

    A sample more than one cell outside ``[0, size - 1]`` gets all-zero weights;
    otherwise it is clamped to ``[0, size - 1]`` and split between its two neighbours.
    A bilinear sample at ``(y, x)`` is the product of the weights of ``y`` and of ``x``
    (it is zero when either coordinate is outside), so RoI Align is separable.
    """
    outside = (t < -1.0) | (t > size)
    t = t.clamp(min=0.0, max=size - 1)
    t0 = t.detach().floor().long().clamp(max=size - 1)
    t1 = (t0 + 1).clamp(max=size - 1)
    lt = t - t0.to(t.dtype)
    keep = (~outside).to(t.dtype)
    hot0 = torch.nn.functional.one_hot(t0, size).to(t.dtype)
    hot1 = torch.nn.functional.one_hot(t1, size).to(t.dtype)
    return (((1.0 - lt) * keep)[..., None] * hot0 + (lt * keep)[..., None] * hot1)


def _align_group(feat_nhwc, rois, out_h, out_w, gh, gw, scale, aligned):
    """RoI Align for RoIs that share the sampling grid ``gh x gw`` per bin.

    Each bin's mean of ``gh x gw`` bilinear samples equals ``a_y^T F a_x`` with ``a_y``
    the mean of the ``gh`` row-weight vectors and ``a_x`` of the ``gw`` column ones
    (:func:`_interp_weights`), so the output is two batched matrix products.
    """
    offset = 0.5 * scale - 0.5 if aligned else 0.0
    bidx = rois[:, 0].detach().long()
    x1 = rois[:, 1] * scale + offset
    y1 = rois[:, 2] * scale + offset
    rw = (rois[:, 3] - rois[:, 1]) * scale
    rh = (rois[:, 4] - rois[:, 2]) * scale
    if not aligned:  # legacy: RoIs at least one cell wide
        rw = rw.clamp(min=1.0)
        rh = rh.clamp(min=1.0)
    dev, dt = rois.device, rois.dtype
    # sample positions inside the RoI, as fractions of its size: (out * g,)
    fy = ((torch.arange(out_h, device=dev, dtype=dt)[:, None]
           + (torch.arange(gh, device=dev, dtype=dt)[None, :] + 0.5) / gh) / out_h).reshape(-1)
    fx = ((torch.arange(out_w, device=dev, dtype=dt)[:, None]
           + (torch.arange(gw, device=dev, dtype=dt)[None, :] + 0.5) / gw) / out_w).reshape(-1)
    ys = y1[:, None] + rh[:, None] * fy[None, :]  # (K, out_h * gh)
    xs = x1[:, None] + rw[:, None] * fx[None, :]  # (K, out_w * gw)
    k = rois.shape[0]
    h, w, c = feat_nhwc.shape[1:]
    ay = _interp_weights(ys, h).reshape(k, out_h, gh, h).mean(dim=2)  # (K, out_h, H)
    ax = _interp_weights(xs, w).reshape(k, out_w, gw, w).mean(dim=2)  # (K, out_w, W)
    parts, order = [], []
    for b in torch.unique(bidx).tolist():  # image by image: no per-RoI copy of the map
        sel = torch.nonzero(bidx == b).squeeze(1)
        ks = sel.shape[0]
        f = feat_nhwc[b].reshape(h, w * c)  # (H, W*C)
        t = (ay[sel].reshape(ks * out_h, h) @ f).reshape(ks, out_h, w, c)  # (k, out_h, W, C)
        t = t.transpose(1, 2).reshape(ks, w, out_h * c)  # (k, W, out_h*C)
        parts.append(torch.bmm(ax[sel], t))  # (k, out_w, out_h*C)
        order.append(sel)
    v = torch.cat(parts)[torch.cat(order).argsort()].reshape(k, out_w, out_h, c)
    return v.permute(0, 3, 2, 1)  # (K, C, out_h, out_w)


def roi_align(features: torch.Tensor, boxes: torch.Tensor | Sequence[torch.Tensor], *,
              output_size: int | tuple[int, int], spatial_scale: float = 1.0,
              sampling_ratio: int = -1, aligned: bool = True) -> torch.Tensor:
    """RoI Align: average of bilinear samples on a regular grid in each output bin.

    Each RoI is split into ``out_h x out_w`` bins; each bin is the mean of ``g_h x g_w``
    bilinear samples at the centres of a regular sub-grid, with ``g = sampling_ratio``,
    or, when ``sampling_ratio <= 0``, ``g_h = ceil(roi_h / out_h)`` and ``g_w = ceil(roi_w
    / out_w)`` for each RoI (its size in feature cells). No coordinate is rounded.

    Parameters
    ----------
    features : Tensor of shape (N, C, H, W)
    boxes : Tensor of shape (K, 5) or list of N Tensors of shape (K_i, 4)
        See the module docstring.
    output_size : int or (out_h, out_w)
    spatial_scale : float, optional
        Feature resolution relative to the image, ``1 / stride``.
    sampling_ratio : int, optional
        Samples per bin along each axis; <= 0 for the adaptive choice above.
    aligned : bool, optional
        True: the exact mapping ``u = (x + 0.5) s - 0.5`` of the module docstring.
        False: the original Mask R-CNN mapping ``u = x s`` (half a cell off), with RoIs
        clamped to be at least one cell wide and high.

    Returns
    -------
    Tensor of shape (K, C, out_h, out_w)

    Raises
    ------
    TypeError, ValueError
        Bad features, boxes, batch indices, output size or scale.

    Notes
    -----
    torchvision's ``roi_align`` puts pixel *corners* at integer coordinates; for the same
    RoI its boxes are ours plus 0.5, and ``aligned=False`` is the same mapping in both.
    A sample is 0 more than one cell outside the map and clamped to the border within it.

    References
    ----------
    K. He, G. Gkioxari, P. Dollár, R. Girshick, "Mask R-CNN", ICCV 2017.
    doi:10.1109/ICCV.2017.322

    Examples
    --------
    >>> import torch
    >>> f = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> roi_align(f, torch.tensor([[0.0, -0.5, -0.5, 3.5, 3.5]]), output_size=2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    func = "roi_align"
    out_h, out_w = check_int_pair(output_size, func, "output_size")
    scale = _check_scale(spatial_scale, func)
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, int):
        raise TypeError(f"{func}: sampling_ratio must be an int, got {sampling_ratio!r}")
    rois = _rois(features, boxes, func)
    n, c = features.shape[:2]
    feat_nhwc = features.permute(0, 2, 3, 1)  # (N, H, W, C): one gather fetches all channels
    k = rois.shape[0]
    if k == 0:
        return features.new_zeros((0, c, out_h, out_w))
    if sampling_ratio > 0:
        return _align_group(feat_nhwc, rois, out_h, out_w, sampling_ratio, sampling_ratio,
                            scale, aligned)
    with torch.no_grad():
        rw = (rois[:, 3] - rois[:, 1]) * scale
        rh = (rois[:, 4] - rois[:, 2]) * scale
        if not aligned:
            rw, rh = rw.clamp(min=1.0), rh.clamp(min=1.0)
        gh = torch.ceil(rh / out_h).long().clamp(min=1)
        gw = torch.ceil(rw / out_w).long().clamp(min=1)
        key = gh * (int(gw.max()) + 1) + gw
    out = features.new_zeros((k, c, out_h, out_w))
    for kv in torch.unique(key).tolist():
        sel = torch.nonzero(key == kv).squeeze(1)
        g_h, g_w = int(gh[sel[0]]), int(gw[sel[0]])
        part = _align_group(feat_nhwc, rois[sel], out_h, out_w, g_h, g_w, scale, aligned)
        out = out.index_copy(0, sel, part)
    return out


# ----------------------------------------------------------------------------- RoI pool
def roi_pool(features: torch.Tensor, boxes: torch.Tensor | Sequence[torch.Tensor], *,
             output_size: int | tuple[int, int], spatial_scale: float = 1.0) -> torch.Tensor:
    """RoI max pooling (Fast R-CNN): the RoI snapped to feature cells, max over each bin.

    The RoI is mapped to feature coordinates ``u = (x + 0.5) s - 0.5`` and snapped to the
    cells it touches: from the cell containing ``u1`` (``floor(u1 + 0.5)``) to the cell
    containing ``u2`` (``ceil(u2 - 0.5)``), at least one cell. Those ``n`` cells are split
    into ``out`` bins; bin ``i`` spans cells ``floor(i n / out)`` to ``ceil((i + 1) n /
    out) - 1`` (bins may overlap by a cell), clipped to the map. The output is each bin's
    maximum, or 0 for a bin wholly outside the map.

    Parameters
    ----------
    features : Tensor of shape (N, C, H, W)
    boxes : Tensor of shape (K, 5) or list of N Tensors of shape (K_i, 4)
    output_size : int or (out_h, out_w)
    spatial_scale : float, optional

    Returns
    -------
    Tensor of shape (K, C, out_h, out_w)
        Gradients flow to the features (to the maximum of each bin).

    References
    ----------
    R. Girshick, "Fast R-CNN", ICCV 2015. doi:10.1109/ICCV.2015.169

    Examples
    --------
    >>> import torch
    >>> f = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> roi_pool(f, torch.tensor([[0.0, -0.5, -0.5, 3.5, 3.5]]), output_size=2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    func = "roi_pool"
    out_h, out_w = check_int_pair(output_size, func, "output_size")
    scale = _check_scale(spatial_scale, func)
    rois = _rois(features, boxes, func).detach()
    n, c, h, w = features.shape
    k = rois.shape[0]
    if k == 0:
        return features.new_zeros((0, c, out_h, out_w))
    u = (rois[:, 1:] + 0.5) * scale - 0.5  # (K, 4) in feature coordinates
    start_x = torch.floor(u[:, 0] + 0.5).long()
    start_y = torch.floor(u[:, 1] + 0.5).long()
    len_x = (torch.ceil(u[:, 2] - 0.5).long() - start_x + 1).clamp(min=1)
    len_y = (torch.ceil(u[:, 3] - 0.5).long() - start_y + 1).clamp(min=1)

    def bin_masks(start, length, out, size):
        i = torch.arange(out, device=rois.device)
        lo = start[:, None] + torch.div(i[None, :] * length[:, None], out, rounding_mode="floor")
        hi = start[:, None] - torch.div(-(i[None, :] + 1) * length[:, None], out,
                                        rounding_mode="floor")  # + ceil((i+1) n / out)
        cells = torch.arange(size, device=rois.device)
        return (cells >= lo[..., None]) & (cells < hi[..., None])  # (K, out, size)

    mask_y = bin_masks(start_y, len_y, out_h, h)  # (K, out_h, H)
    mask_x = bin_masks(start_x, len_x, out_w, w)  # (K, out_w, W)
    feats = features[rois[:, 0].long()]  # (K, C, H, W)
    neg = torch.tensor(-math.inf, dtype=features.dtype, device=features.device)
    # max over the columns of each x-bin: (K, C, H, 1, W) with (K, 1, 1, out_w, W)
    by_x = torch.where(mask_x[:, None, None], feats[:, :, :, None, :], neg).amax(dim=-1)
    # then over the rows of each y-bin: (K, C, 1, out_w, H) with (K, 1, out_h, 1, H)
    by_xy = torch.where(mask_y[:, None, :, None, :], by_x.transpose(2, 3)[:, :, None], neg)
    out = by_xy.amax(dim=-1)  # (K, C, out_h, out_w)
    return torch.where(torch.isinf(out), torch.zeros_like(out), out)


# ----------------------------------------------------------------------------- modules
class RoIAlign(nn.Module):
    """:func:`roi_align` as a module: ``RoIAlign(output_size=7, spatial_scale=1 / 16)``."""

    def __init__(self, *, output_size: int | tuple[int, int], spatial_scale: float = 1.0,
                 sampling_ratio: int = -1, aligned: bool = True):
        super().__init__()
        self.output_size = check_int_pair(output_size, "RoIAlign", "output_size")
        self.spatial_scale = _check_scale(spatial_scale, "RoIAlign")
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, features: torch.Tensor, boxes) -> torch.Tensor:
        return roi_align(features, boxes, output_size=self.output_size,
                         spatial_scale=self.spatial_scale, sampling_ratio=self.sampling_ratio,
                         aligned=self.aligned)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned}")


class RoIPool(nn.Module):
    """:func:`roi_pool` as a module: ``RoIPool(output_size=7, spatial_scale=1 / 16)``."""

    def __init__(self, *, output_size: int | tuple[int, int], spatial_scale: float = 1.0):
        super().__init__()
        self.output_size = check_int_pair(output_size, "RoIPool", "output_size")
        self.spatial_scale = _check_scale(spatial_scale, "RoIPool")

    def forward(self, features: torch.Tensor, boxes) -> torch.Tensor:
        return roi_pool(features, boxes, output_size=self.output_size,
                        spatial_scale=self.spatial_scale)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"
