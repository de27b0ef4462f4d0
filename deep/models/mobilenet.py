"""MobileNet V1 (Howard et al., 2017), V2 (Sandler et al., 2018), V3 (Howard et al., 2019)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from cvgeo._checks import check_real
from deep.layers.conv import ConvNormAct, DepthwiseSeparableConv, make_divisible
from deep.layers.mobile import InvertedResidual, MobileNetV3Block
from deep.layers.norm import BatchNorm2d
from deep.models.base import ConvNet, check_common, init_conv_bn

__all__ = ["MobileNetV1", "MobileNetV2", "MobileNetV3", "MOBILENET_V3_CONFIGS"]

NormFactory = Callable[[int], nn.Module]


def _group_stages(blocks, strides, chs_out, stem, stem_chs, stem_stride):
    """Cut a flat list of blocks into stages that end before every stride-2 block."""
    stages, info, current = [stem], [(stem_chs, stem_stride)], []
    cur_stride, prev_c = 1, stem_chs
    for blk, s, c in zip(blocks, strides, chs_out):
        if s > 1 and current:
            stages.append(nn.Sequential(*current))
            info.append((prev_c, cur_stride))
            current, cur_stride = [], 1
        current.append(blk)
        cur_stride *= s
        prev_c = c
    stages.append(nn.Sequential(*current))
    info.append((prev_c, cur_stride))
    return stages, info


class MobileNetV1(ConvNet):
    """MobileNet V1: a 3x3 convolution, then 13 depthwise-separable convolutions.

    Parameters
    ----------
    in_chans, num_classes : int
    width_multiplier : float
        α of the paper: every layer has ``int(α · channels)`` channels, so the cost falls
        roughly as α².
    resolution_multiplier : float
        ρ of the paper: the intended input side is ``round(224 ρ)`` (stored as
        :attr:`default_image_size`); the network itself is the same, its cost falls as ρ².
    small_input : bool
        Stem at stride 1 (total stride 16 instead of 32).
    norm_layer, act_layer : callable
    drop_rate : float

    References
    ----------
    A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
    Vision Applications", arXiv:1704.04861, 2017.
    """

    #: (output channels, stride) of the 13 depthwise-separable layers, Table 1.
    LAYERS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
              (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))

    def __init__(self, *, in_chans: int = 3, num_classes: int = 1000,
                 width_multiplier: float = 1.0, resolution_multiplier: float = 1.0,
                 small_input: bool = False, norm_layer: NormFactory = BatchNorm2d,
                 act_layer: Callable[[], nn.Module] = nn.ReLU, drop_rate: float = 0.0):
        super().__init__()
        check_common("MobileNetV1", in_chans=in_chans, num_classes=num_classes,
                     drop_rate=drop_rate)
        a = check_real(width_multiplier, "MobileNetV1", "width_multiplier", low=0.0,
                       low_inclusive=False)
        rho = check_real(resolution_multiplier, "MobileNetV1", "resolution_multiplier",
                         low=0.0, low_inclusive=False, high=1.0)
        self.default_image_size = max(1, round(224 * rho))
        ch = lambda c: max(1, int(c * a))  # noqa: E731
        stem_stride = 1 if small_input else 2
        stem = ConvNormAct(in_chans, ch(32), 3, stride=stem_stride, norm_layer=norm_layer,
                           act_layer=act_layer)
        blocks, strides, outs, cin = [], [], [], ch(32)
        for c, s in self.LAYERS:
            blocks.append(DepthwiseSeparableConv(cin, ch(c), stride=s, norm_layer=norm_layer,
                                                 act_layer=act_layer))
            strides.append(s)
            outs.append(ch(c))
            cin = ch(c)
        stages, info = _group_stages(blocks, strides, outs, stem, ch(32), stem_stride)
        self.stages = nn.ModuleList(stages)
        self.final = nn.Identity()
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(cin, num_classes) if num_classes > 0 else nn.Identity()
        self._set_features(info, num_features=cin, in_chans=in_chans, num_classes=num_classes)
        init_conv_bn(self)


class MobileNetV2(ConvNet):
    """MobileNet V2: inverted residuals with linear bottlenecks.

    Parameters
    ----------
    in_chans, num_classes : int
    width_multiplier : float
        Channels rounded to multiples of 8 (:func:`~deep.layers.make_divisible`); the last
        layer keeps 1280 unless the multiplier exceeds 1.
    small_input : bool
        Stem at stride 1.
    norm_layer : callable
    drop_rate : float
        Dropout before the classifier (0.2).

    Notes
    -----
    3,504,872 parameters at ImageNet settings (torchvision's count).

    References
    ----------
    M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018,
    arXiv:1801.04381.
    """

    #: (expansion t, channels c, repeats n, stride s), Table 2.
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, *, in_chans: int = 3, num_classes: int = 1000,
                 width_multiplier: float = 1.0, small_input: bool = False,
                 norm_layer: NormFactory = BatchNorm2d, drop_rate: float = 0.2):
        super().__init__()
        check_common("MobileNetV2", in_chans=in_chans, num_classes=num_classes,
                     drop_rate=drop_rate)
        a = check_real(width_multiplier, "MobileNetV2", "width_multiplier", low=0.0,
                       low_inclusive=False)
        stem_chs = make_divisible(32 * a)
        last_chs = make_divisible(1280 * max(1.0, a))
        stem_stride = 1 if small_input else 2
        stem = ConvNormAct(in_chans, stem_chs, 3, stride=stem_stride, norm_layer=norm_layer,
                           act_layer=nn.ReLU6)
        blocks, strides, outs, cin = [], [], [], stem_chs
        for t, c, n, s in self.SETTINGS:
            cout = make_divisible(c * a)
            for i in range(n):
                stride = s if i == 0 else 1
                blocks.append(InvertedResidual(cin, cout, mid_chs=int(round(cin * t)),
                                               stride=stride, norm_layer=norm_layer))
                strides.append(stride)
                outs.append(cout)
                cin = cout
        stages, info = _group_stages(blocks, strides, outs, stem, stem_chs, stem_stride)
        self.stages = nn.ModuleList(stages)
        self.final = ConvNormAct(cin, last_chs, 1, norm_layer=norm_layer, act_layer=nn.ReLU6)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(last_chs, num_classes) if num_classes > 0 else nn.Identity()
        self._set_features(info, num_features=last_chs, in_chans=in_chans,
                           num_classes=num_classes)
        init_conv_bn(self)


#: Rows (kernel, expanded, out, use_se, use_hard_swish, stride) of Tables 1 and 2 of
#: the V3 paper, and the width of the classifier's hidden layer.
MOBILENET_V3_CONFIGS: dict[str, tuple[tuple, int]] = {
    "large": ((
        (3, 16, 16, False, False, 1), (3, 64, 24, False, False, 2),
        (3, 72, 24, False, False, 1), (5, 72, 40, True, False, 2),
        (5, 120, 40, True, False, 1), (5, 120, 40, True, False, 1),
        (3, 240, 80, False, True, 2), (3, 200, 80, False, True, 1),
        (3, 184, 80, False, True, 1), (3, 184, 80, False, True, 1),
        (3, 480, 112, True, True, 1), (3, 672, 112, True, True, 1),
        (5, 672, 160, True, True, 2), (5, 960, 160, True, True, 1),
        (5, 960, 160, True, True, 1)), 1280),
    "small": ((
        (3, 16, 16, True, False, 2), (3, 72, 24, False, False, 2),
        (3, 88, 24, False, False, 1), (5, 96, 40, True, True, 2),
        (5, 240, 40, True, True, 1), (5, 240, 40, True, True, 1),
        (5, 120, 48, True, True, 1), (5, 144, 48, True, True, 1),
        (5, 288, 96, True, True, 2), (5, 576, 96, True, True, 1),
        (5, 576, 96, True, True, 1)), 1024),
}


class MobileNetV3(ConvNet):
    """MobileNet V3 (large or small): V2's blocks with squeeze-and-excitation and
    hard-swish where the search put them, a 1x1 expansion to ``6 x`` the last width, and
    a two-layer classifier.

    Parameters
    ----------
    variant : {"large", "small"}
    in_chans, num_classes : int
    width_multiplier : float
    small_input : bool
        Stem at stride 1.
    norm_layer : callable
        Default batch norm with eps 1e-3 and momentum 0.01 (the paper's).
    drop_rate : float
        Dropout in the classifier (0.2).

    Notes
    -----
    5,483,032 (large) and 2,542,856 (small) parameters at ImageNet settings
    (torchvision's counts).

    References
    ----------
    A. Howard et al., "Searching for MobileNetV3", ICCV 2019, arXiv:1905.02244.
    """

    def __init__(self, *, variant: str = "large", in_chans: int = 3, num_classes: int = 1000,
                 width_multiplier: float = 1.0, small_input: bool = False,
                 norm_layer: NormFactory | None = None, drop_rate: float = 0.2):
        super().__init__()
        check_common("MobileNetV3", in_chans=in_chans, num_classes=num_classes,
                     drop_rate=drop_rate)
        if variant not in MOBILENET_V3_CONFIGS:
            raise ValueError(f"MobileNetV3: variant must be one of 'large', 'small', got "
                             f"{variant!r}")
        a = check_real(width_multiplier, "MobileNetV3", "width_multiplier", low=0.0,
                       low_inclusive=False)
        norm_layer = norm_layer or partial(BatchNorm2d, eps=1e-3, momentum=0.01)
        rows, hidden = MOBILENET_V3_CONFIGS[variant]
        adj = lambda c: make_divisible(c * a)  # noqa: E731
        stem_chs = adj(16)
        stem_stride = 1 if small_input else 2
        stem = ConvNormAct(in_chans, stem_chs, 3, stride=stem_stride, norm_layer=norm_layer,
                           act_layer=nn.Hardswish)
        blocks, strides, outs, cin = [], [], [], stem_chs
        for k, exp, out, se, hs, s in rows:
            blocks.append(MobileNetV3Block(cin, adj(out), mid_chs=adj(exp), kernel_size=k,
                                           stride=s, use_se=se, use_hs=hs,
                                           norm_layer=norm_layer))
            strides.append(s)
            outs.append(adj(out))
            cin = adj(out)
        stages, info = _group_stages(blocks, strides, outs, stem, stem_chs, stem_stride)
        self.stages = nn.ModuleList(stages)
        last = 6 * cin
        self.final = ConvNormAct(cin, last, 1, norm_layer=norm_layer, act_layer=nn.Hardswish)
        hidden = adj(hidden)
        self.pre_logits = nn.Sequential(nn.Linear(last, hidden), nn.Hardswish())
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(hidden, num_classes) if num_classes > 0 else nn.Identity()
        self._set_features(info, num_features=last, in_chans=in_chans, num_classes=num_classes)
        init_conv_bn(self)

    def forward_head(self, x: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Map ``(B, 6 C, h, w)`` → hidden ``(B, 1280 or 1024)`` or logits."""
        x = self.pre_logits(x.mean(dim=(2, 3)))  # (B, hidden)
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)
