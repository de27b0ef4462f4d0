"""The ConvNeXt block (Liu et al., 2022)."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from cvgeo._checks import check_int, check_real
from deep.layers.block import DropPath
from deep.layers.conv import LayerFactory
from deep.layers.norm import LayerNorm

__all__ = ["ConvNeXtBlock"]


class ConvNeXtBlock(nn.Module):
    """``x + drop_path(γ · Linear(GELU(Linear(LN(dwconv7x7(x))))))``.

    A 7x7 depthwise convolution mixes space; a LayerNorm over the channels and an
    inverted-bottleneck MLP (``dim → mlp_ratio · dim → dim``, as pointwise linear layers
    on channels-last tokens) mix channels; a learned per-channel layer scale ``γ``
    (initialised small) keeps each block near the identity at the start.

    Parameters
    ----------
    dim : int
    kernel_size : int
    mlp_ratio : float
    layer_scale_init : float or None
        Initial value of ``γ``; None disables layer scale.
    drop_path : float
    norm_layer : callable
        ``norm_layer(dim)`` on channels-last tensors; default :class:`LayerNorm`, eps 1e-6.
    act_layer : callable

    References
    ----------
    Z. Liu et al., "A ConvNet for the 2020s", CVPR 2022, arXiv:2201.03545.
    """

    def __init__(self, dim: int, *, kernel_size: int = 7, mlp_ratio: float = 4.0,
                 layer_scale_init: float | None = 1e-6, drop_path: float = 0.0,
                 norm_layer: LayerFactory | None = None, act_layer: LayerFactory = nn.GELU):
        super().__init__()
        dim = check_int(dim, "ConvNeXtBlock", "dim", low=1)
        kernel_size = check_int(kernel_size, "ConvNeXtBlock", "kernel_size", low=1)
        mlp_ratio = check_real(mlp_ratio, "ConvNeXtBlock", "mlp_ratio", low=0.0,
                               low_inclusive=False)
        norm_layer = norm_layer if norm_layer is not None else partial(LayerNorm, eps=1e-6)
        self.dwconv = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = norm_layer(dim)
        hidden = int(mlp_ratio * dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden, dim)
        self.gamma = (nn.Parameter(torch.full((dim,), float(layer_scale_init)))
                      if layer_scale_init is not None else None)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x)  # (B, C, H, W)
        y = y.permute(0, 2, 3, 1)  # (B, H, W, C): channels last for LN and the MLP
        y = self.fc2(self.act(self.fc1(self.norm(y))))  # (B, H, W, C)
        if self.gamma is not None:
            y = y * self.gamma
        y = y.permute(0, 3, 1, 2)  # (B, C, H, W)
        return x + self.drop_path(y)
