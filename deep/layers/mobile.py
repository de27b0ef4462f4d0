"""The mobile networks' blocks: MobileNet V2's inverted residual, MobileNet V3's block
(squeeze-and-excitation, hard-swish) and EfficientNet's MBConv (stochastic depth)."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from cvgeo._checks import check_int, check_real
from deep.layers.block import DropPath
from deep.layers.conv import ConvNormAct, LayerFactory, SqueezeExcite, make_divisible
from deep.layers.norm import BatchNorm2d

__all__ = ["InvertedResidual", "MBConv", "MobileNetV3Block"]


class InvertedResidual(nn.Module):
    """Expand (1x1) → depthwise (k x k, stride) → [squeeze-excite] → project (1x1, linear).

    The block is narrow at its ends and wide in the middle (the inverse of ResNet's
    bottleneck), and its projection has no activation ("linear bottleneck"): a ReLU in a
    narrow space would destroy information. A residual connection joins the narrow ends
    when ``stride == 1`` and ``in_chs == out_chs`` (Sandler et al., 2018).

    Parameters
    ----------
    in_chs, out_chs : int
    mid_chs : int
        Width of the depthwise convolution; the expansion is skipped when it equals
        ``in_chs``.
    kernel_size, stride, dilation : int
        Of the depthwise convolution.
    act_layer : callable
        ``nn.ReLU6`` in V2.
    norm_layer : callable
    se_layer : callable, optional
        ``se_layer(mid_chs)``, after the depthwise convolution.
    drop_path : float
        Stochastic depth of the residual branch (used only when there is a residual).

    References
    ----------
    M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018,
    arXiv:1801.04381.
    """

    def __init__(self, in_chs: int, out_chs: int, *, mid_chs: int, kernel_size: int = 3,
                 stride: int = 1, dilation: int = 1, act_layer: LayerFactory = nn.ReLU6,
                 norm_layer: LayerFactory = BatchNorm2d, se_layer: LayerFactory | None = None,
                 drop_path: float = 0.0):
        super().__init__()
        name = type(self).__name__
        in_chs = check_int(in_chs, name, "in_chs", low=1)
        out_chs = check_int(out_chs, name, "out_chs", low=1)
        mid_chs = check_int(mid_chs, name, "mid_chs", low=1)
        stride = check_int(stride, name, "stride", low=1)
        self.has_residual = stride == 1 and in_chs == out_chs
        self.expand = (ConvNormAct(in_chs, mid_chs, 1, norm_layer=norm_layer, act_layer=act_layer)
                       if mid_chs != in_chs else nn.Identity())
        self.dw = ConvNormAct(mid_chs, mid_chs, kernel_size, stride=stride, dilation=dilation,
                              groups=mid_chs, norm_layer=norm_layer, act_layer=act_layer)
        self.se = se_layer(mid_chs) if se_layer is not None else nn.Identity()
        self.project = ConvNormAct(mid_chs, out_chs, 1, norm_layer=norm_layer, act_layer=None)
        self.drop_path = DropPath(drop_path) if self.has_residual else nn.Identity()
        self.in_chs, self.out_chs = in_chs, out_chs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.dw(self.expand(x))))  # (B, out, H/s, W/s)
        return x + self.drop_path(y) if self.has_residual else y


class MobileNetV3Block(InvertedResidual):
    """MobileNet V3's inverted residual: optional squeeze-and-excitation (bottleneck
    ``make_divisible(mid_chs / 4)``, ReLU, hard-sigmoid gate) and a choice of ReLU or
    hard-swish ``x · ReLU6(x + 3) / 6`` (Howard et al., 2019).

    Parameters
    ----------
    in_chs, out_chs, mid_chs, kernel_size, stride, norm_layer, drop_path
        As :class:`InvertedResidual`.
    use_se : bool
    use_hs : bool
        Hard-swish instead of ReLU.

    References
    ----------
    A. Howard et al., "Searching for MobileNetV3", ICCV 2019, arXiv:1905.02244.
    """

    def __init__(self, in_chs: int, out_chs: int, *, mid_chs: int, kernel_size: int = 3,
                 stride: int = 1, use_se: bool = False, use_hs: bool = False,
                 norm_layer: LayerFactory = BatchNorm2d, drop_path: float = 0.0):
        se = (partial(_v3_se) if use_se else None)
        super().__init__(in_chs, out_chs, mid_chs=mid_chs, kernel_size=kernel_size,
                         stride=stride, act_layer=nn.Hardswish if use_hs else nn.ReLU,
                         norm_layer=norm_layer, se_layer=se, drop_path=drop_path)


def _v3_se(channels: int) -> SqueezeExcite:
    return SqueezeExcite(channels, rd_channels=make_divisible(channels // 4, 8),
                         act_layer=nn.ReLU, gate_layer=nn.Hardsigmoid)


class MBConv(InvertedResidual):
    """EfficientNet's mobile inverted bottleneck: expand ``expand_ratio`` x, depthwise,
    squeeze-and-excitation (bottleneck ``max(1, int(in_chs · se_ratio))``, SiLU, sigmoid
    gate), linear projection, and stochastic depth on the residual branch (Tan & Le, 2019).

    Parameters
    ----------
    in_chs, out_chs : int
    expand_ratio : float
        ``mid_chs = make_divisible(in_chs · expand_ratio)``; 1 skips the expansion.
    kernel_size, stride : int
    se_ratio : float
        0 disables squeeze-and-excitation.
    act_layer, norm_layer : callable
    drop_path : float
        Probability of dropping the residual branch of a sample in training (the block
        is then the identity for it); the survivors are scaled by ``1 / (1 - drop_path)``.

    References
    ----------
    M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, arXiv:1905.11946.
    """

    def __init__(self, in_chs: int, out_chs: int, *, expand_ratio: float = 6.0,
                 kernel_size: int = 3, stride: int = 1, se_ratio: float = 0.25,
                 act_layer: LayerFactory = nn.SiLU, norm_layer: LayerFactory = BatchNorm2d,
                 drop_path: float = 0.0):
        expand_ratio = check_real(expand_ratio, "MBConv", "expand_ratio", low=1.0)
        se_ratio = check_real(se_ratio, "MBConv", "se_ratio", low=0.0, high=1.0)
        mid = make_divisible(in_chs * expand_ratio, 8) if expand_ratio != 1 else in_chs
        rd = max(1, int(in_chs * se_ratio))
        se = (partial(SqueezeExcite, rd_channels=rd, act_layer=nn.SiLU, gate_layer=nn.Sigmoid)
              if se_ratio > 0 else None)
        super().__init__(in_chs, out_chs, mid_chs=mid, kernel_size=kernel_size, stride=stride,
                         act_layer=act_layer, norm_layer=norm_layer, se_layer=se,
                         drop_path=drop_path)
