"""GoogLeNet's Inception module (Szegedy et al., 2015)."""

from __future__ import annotations

import torch
from torch import nn

from deep.layers.conv import ConvNormAct, LayerFactory
from deep.layers.norm import BatchNorm2d

__all__ = ["Inception"]


class Inception(nn.Module):
    """Four parallel branches concatenated along the channels.

    ``1x1`` | ``1x1 → 3x3`` | ``1x1 → k x k`` | ``3x3 max-pool (stride 1) → 1x1``; the
    ``1x1`` reductions keep the larger kernels cheap. Output channels:
    ``ch1x1 + ch3x3 + ch5x5 + pool_proj``; the spatial size is kept.

    Parameters
    ----------
    in_chs : int
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj : int
        Table 1 of the paper.
    large_kernel : int
        Kernel of the third branch: 5 in the paper; torchvision's GoogLeNet (and its
        published parameter count, 6,624,904) uses 3.
    norm_layer, act_layer : callable
        After every convolution (the paper has no normalisation; torchvision uses
        batch norm with eps 1e-3).

    References
    ----------
    C. Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, arXiv:1409.4842.
    """

    def __init__(self, in_chs: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int, *, large_kernel: int = 5,
                 norm_layer: LayerFactory | None = BatchNorm2d,
                 act_layer: LayerFactory = nn.ReLU):
        super().__init__()
        kw = dict(norm_layer=norm_layer, act_layer=act_layer)
        self.branch1 = ConvNormAct(in_chs, ch1x1, 1, **kw)
        self.branch2 = nn.Sequential(ConvNormAct(in_chs, ch3x3red, 1, **kw),
                                     ConvNormAct(ch3x3red, ch3x3, 3, **kw))
        self.branch3 = nn.Sequential(ConvNormAct(in_chs, ch5x5red, 1, **kw),
                                     ConvNormAct(ch5x5red, ch5x5, large_kernel, **kw))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     ConvNormAct(in_chs, pool_proj, 1, **kw))
        self.out_chs = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, dim=1)  # (B, out_chs, H, W)
