"""ResNet's residual blocks (He et al., 2016): Basic (two 3x3) and Bottleneck (1-3-1)."""

from __future__ import annotations

import torch
from torch import nn

from cvgeo._checks import check_int
from deep.layers.block import DropPath
from deep.layers.conv import ConvNormAct, LayerFactory
from deep.layers.norm import BatchNorm2d

__all__ = ["BasicBlock", "Bottleneck"]


def _shortcut(in_chs: int, out_chs: int, stride: int, norm_layer) -> nn.Module:
    """Identity when shapes agree, else a strided 1x1 projection (option B of the paper)."""
    if stride == 1 and in_chs == out_chs:
        return nn.Identity()
    return ConvNormAct(in_chs, out_chs, 1, stride=stride, norm_layer=norm_layer, act_layer=None)


def _zero_init(norm: nn.Module) -> None:
    weight = getattr(norm, "weight", None)
    if isinstance(weight, torch.Tensor):
        nn.init.zeros_(weight)


class BasicBlock(nn.Module):
    """``act(x + norm(conv3x3(act(norm(conv3x3_s(x))))))``: ResNet-18/34's block.

    Parameters
    ----------
    in_chs : int
    planes : int
        Output channels (``expansion = 1``).
    stride : int
        Of the first 3x3 convolution (and of the projection shortcut).
    norm_layer, act_layer : callable
    drop_path : float
        Stochastic depth of the residual branch.
    zero_init_last : bool
        Start the last norm's scale at 0, so the block starts as the identity
        (Goyal et al., 2017).
    """

    expansion = 1

    def __init__(self, in_chs: int, planes: int, *, stride: int = 1,
                 norm_layer: LayerFactory = BatchNorm2d, act_layer: LayerFactory = nn.ReLU,
                 drop_path: float = 0.0, zero_init_last: bool = False):
        super().__init__()
        stride = check_int(stride, "BasicBlock", "stride", low=1)
        self.conv1 = ConvNormAct(in_chs, planes, 3, stride=stride, norm_layer=norm_layer,
                                 act_layer=act_layer)
        self.conv2 = ConvNormAct(planes, planes, 3, norm_layer=norm_layer, act_layer=None)
        self.shortcut = _shortcut(in_chs, planes, stride, norm_layer)
        self.drop_path = DropPath(drop_path)
        self.act = act_layer()
        self.out_chs = planes
        if zero_init_last:
            _zero_init(self.conv2.norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))  # (B, planes, H/s, W/s)
        return self.act(self.shortcut(x) + self.drop_path(y))


class Bottleneck(nn.Module):
    """``1x1 → 3x3 (stride) → 1x1 (x4)`` with a residual connection: ResNet-50/101/152's block.

    The stride sits on the 3x3 convolution ("ResNet v1.5", as torchvision and timm),
    not on the first 1x1 as in the paper: a strided 1x1 would skip three of every four
    input pixels.

    Parameters
    ----------
    in_chs : int
    planes : int
        Width of the 3x3 convolution; the block outputs ``4 * planes`` channels.
    stride, norm_layer, act_layer, drop_path, zero_init_last
        As :class:`BasicBlock`.
    """

    expansion = 4

    def __init__(self, in_chs: int, planes: int, *, stride: int = 1,
                 norm_layer: LayerFactory = BatchNorm2d, act_layer: LayerFactory = nn.ReLU,
                 drop_path: float = 0.0, zero_init_last: bool = False):
        super().__init__()
        stride = check_int(stride, "Bottleneck", "stride", low=1)
        out_chs = planes * self.expansion
        self.conv1 = ConvNormAct(in_chs, planes, 1, norm_layer=norm_layer, act_layer=act_layer)
        self.conv2 = ConvNormAct(planes, planes, 3, stride=stride, norm_layer=norm_layer,
                                 act_layer=act_layer)
        self.conv3 = ConvNormAct(planes, out_chs, 1, norm_layer=norm_layer, act_layer=None)
        self.shortcut = _shortcut(in_chs, out_chs, stride, norm_layer)
        self.drop_path = DropPath(drop_path)
        self.act = act_layer()
        self.out_chs = out_chs
        if zero_init_last:
            _zero_init(self.conv3.norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.conv2(self.conv1(x)))  # (B, 4 planes, H/s, W/s)
        return self.act(self.shortcut(x) + self.drop_path(y))
