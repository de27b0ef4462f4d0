"""Convolution building blocks: Conv-Norm-Act, depthwise-separable convolution,
squeeze-and-excitation, and the channel rounding rule of the mobile networks."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cvgeo._checks import check_int, check_real
from deep.layers.norm import BatchNorm2d

__all__ = ["ConvNormAct", "DepthwiseSeparableConv", "SqueezeExcite", "make_divisible"]

LayerFactory = Callable[..., nn.Module]


def make_divisible(value: float, divisor: int = 8, *, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never below ``min_value``
    (default ``divisor``) and never more than 10 % below ``value`` (MobileNet V2/V3's rule).

    Examples
    --------
    >>> make_divisible(32 * 0.75), make_divisible(72 // 4), make_divisible(10)
    (24, 24, 16)
    """
    divisor = check_int(divisor, "make_divisible", "divisor", low=1)
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def _act(act_layer: LayerFactory | None) -> nn.Module:
    return nn.Identity() if act_layer is None else act_layer()


class ConvNormAct(nn.Sequential):
    """``conv → norm → act``: the unit every CNN here is built from.

    Parameters
    ----------
    in_chs, out_chs : int
    kernel_size : int
    stride : int
    padding : int, optional
        Default ``dilation · (kernel_size - 1) // 2``: an odd kernel at stride 1 keeps the
        size ("same"); at stride ``s`` the output is ``ceil(H / s)``.
    dilation : int
        Spacing of the kernel taps (a dilated / atrous convolution): a ``k x k`` kernel
        with dilation ``d`` covers ``d (k - 1) + 1`` pixels with ``k²`` weights.
    groups : int
        ``in_chs`` (and ``out_chs`` a multiple of it) makes a depthwise convolution.
    bias : bool, optional
        Default: a bias only when there is no norm (a norm's shift makes it redundant).
    norm_layer : callable or None
        ``norm_layer(out_chs)``; None for no normalisation. Default :class:`BatchNorm2d`.
    act_layer : callable or None
        ``act_layer()``; None for no activation.

    Notes
    -----
    The children are named ``conv``, ``norm``, ``act`` (``nn.Identity`` when absent).
    """

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 3, *, stride: int = 1,
                 padding: int | None = None, dilation: int = 1, groups: int = 1,
                 bias: bool | None = None, norm_layer: LayerFactory | None = BatchNorm2d,
                 act_layer: LayerFactory | None = nn.ReLU):
        in_chs = check_int(in_chs, "ConvNormAct", "in_chs", low=1)
        out_chs = check_int(out_chs, "ConvNormAct", "out_chs", low=1)
        kernel_size = check_int(kernel_size, "ConvNormAct", "kernel_size", low=1)
        stride = check_int(stride, "ConvNormAct", "stride", low=1)
        dilation = check_int(dilation, "ConvNormAct", "dilation", low=1)
        groups = check_int(groups, "ConvNormAct", "groups", low=1)
        if in_chs % groups or out_chs % groups:
            raise ValueError(f"ConvNormAct: groups must divide in_chs={in_chs} and "
                             f"out_chs={out_chs}, got {groups}")
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        bias = norm_layer is None if bias is None else bool(bias)
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, kernel_size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups, bias=bias)
        self.norm = norm_layer(out_chs) if norm_layer is not None else nn.Identity()
        self.act = _act(act_layer)
        self.in_chs, self.out_chs = in_chs, out_chs


class DepthwiseSeparableConv(nn.Module):
    """A depthwise ``k x k`` convolution (one filter per channel) followed by a pointwise
    ``1 x 1`` convolution that mixes channels (MobileNet V1's unit; Howard et al., 2017).

    Cost against a standard ``k x k`` convolution from ``C_in`` to ``C_out`` channels
    (weights, and multiply-adds per output pixel)::

        (C_in k² + C_in C_out) / (C_in C_out k²) = 1 / C_out + 1 / k²

    Parameters
    ----------
    in_chs, out_chs : int
    kernel_size, stride, dilation : int
        Of the depthwise convolution.
    norm_layer, act_layer : callable or None
        After each of the two convolutions (see :class:`ConvNormAct`).
    pw_act : bool
        Activation after the pointwise convolution too (MobileNet V1: yes).
    se_layer : callable, optional
        ``se_layer(in_chs)`` between the two convolutions (EfficientNet's first blocks).
    """

    def __init__(self, in_chs: int, out_chs: int, *, kernel_size: int = 3, stride: int = 1,
                 dilation: int = 1, norm_layer: LayerFactory | None = BatchNorm2d,
                 act_layer: LayerFactory | None = nn.ReLU, pw_act: bool = True,
                 se_layer: LayerFactory | None = None):
        super().__init__()
        self.dw = ConvNormAct(in_chs, in_chs, kernel_size, stride=stride, dilation=dilation,
                              groups=in_chs, norm_layer=norm_layer, act_layer=act_layer)
        self.se = se_layer(in_chs) if se_layer is not None else nn.Identity()
        self.pw = ConvNormAct(in_chs, out_chs, 1, norm_layer=norm_layer,
                              act_layer=act_layer if pw_act else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.se(self.dw(x)))  # (B, C_in, H, W) → (B, C_out, H/s, W/s)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018): reweight channels by a gate computed
    from their global averages.

    ``s = gate(W₂ act(W₁ avgpool(x) + b₁) + b₂)``, ``y = x · s`` (one ``s`` per sample and
    channel; ``W₁``, ``W₂`` are ``1 x 1`` convolutions with biases).

    Parameters
    ----------
    channels : int
    rd_channels : int, optional
        Width of the bottleneck; default ``max(1, round(channels * rd_ratio))``.
    rd_ratio : float
    act_layer, gate_layer : callable
        ``nn.ReLU`` / ``nn.Sigmoid`` in the paper; MobileNet V3 gates with
        ``nn.Hardsigmoid``, EfficientNet squeezes with ``nn.SiLU``.

    References
    ----------
    J. Hu, L. Shen and G. Sun, "Squeeze-and-Excitation Networks", CVPR 2018,
    arXiv:1709.01507.
    """

    def __init__(self, channels: int, *, rd_channels: int | None = None,
                 rd_ratio: float = 1 / 16, act_layer: LayerFactory = nn.ReLU,
                 gate_layer: LayerFactory = nn.Sigmoid):
        super().__init__()
        channels = check_int(channels, "SqueezeExcite", "channels", low=1)
        if rd_channels is None:
            rd_ratio = check_real(rd_ratio, "SqueezeExcite", "rd_ratio", low=0.0,
                                  low_inclusive=False)
            rd_channels = max(1, round(channels * rd_ratio))
        rd_channels = check_int(rd_channels, "SqueezeExcite", "rd_channels", low=1)
        self.fc1 = nn.Conv2d(channels, rd_channels, 1)
        self.act = act_layer()
        self.fc2 = nn.Conv2d(rd_channels, channels, 1)
        self.gate = gate_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
        s = self.gate(self.fc2(self.act(self.fc1(s))))  # (B, C, 1, 1)
        return x * s
