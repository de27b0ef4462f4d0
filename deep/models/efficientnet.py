"""EfficientNet-B0 (Tan & Le, 2019)."""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn

from deep.layers.conv import ConvNormAct, make_divisible
from deep.layers.mobile import MBConv
from deep.layers.norm import BatchNorm2d
from deep.models.base import ConvNet, check_common, init_conv_bn
from deep.models.mobilenet import _group_stages

__all__ = ["EfficientNet"]


class EfficientNet(ConvNet):
    """EfficientNet: a 3x3 stem, seven stages of MBConv blocks, a 1x1 expansion to 1280.

    Parameters
    ----------
    width_multiplier, depth_multiplier : float
        The compound-scaling coefficients (B0: 1.0, 1.0): channels rounded to multiples
        of 8, repeats rounded up.
    in_chans, num_classes : int
    small_input : bool
        Stem at stride 1.
    norm_layer : callable
    drop_rate : float
        Dropout before the classifier (0.2 for B0).
    drop_path_rate : float
        Stochastic depth of the MBConv residual branches, rising linearly from 0 over the
        blocks (0.2 for B0).

    Notes
    -----
    EfficientNet-B0 has 5,288,548 parameters at ImageNet settings (torchvision's count).

    References
    ----------
    M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, arXiv:1905.11946.
    """

    #: (expand ratio, kernel, stride, in channels, out channels, repeats), Table 1.
    SETTINGS = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
                (6, 3, 1, 192, 320, 1))

    def __init__(self, *, width_multiplier: float = 1.0, depth_multiplier: float = 1.0,
                 in_chans: int = 3, num_classes: int = 1000, small_input: bool = False,
                 norm_layer: Callable[[int], nn.Module] = BatchNorm2d, drop_rate: float = 0.2,
                 drop_path_rate: float = 0.2):
        super().__init__()
        check_common("EfficientNet", in_chans=in_chans, num_classes=num_classes,
                     drop_rate=drop_rate, drop_path_rate=drop_path_rate)
        ch = lambda c: make_divisible(c * width_multiplier, 8)  # noqa: E731
        reps = [int(math.ceil(n * depth_multiplier)) for *_, n in self.SETTINGS]
        total, k = sum(reps), 0
        stem_stride = 1 if small_input else 2
        stem = ConvNormAct(in_chans, ch(32), 3, stride=stem_stride, norm_layer=norm_layer,
                           act_layer=nn.SiLU)
        blocks, strides, outs = [], [], []
        cin = ch(32)
        for (t, kernel, s, _, c, _), n in zip(self.SETTINGS, reps):
            for i in range(n):
                stride = s if i == 0 else 1
                blocks.append(MBConv(cin, ch(c), expand_ratio=t, kernel_size=kernel,
                                     stride=stride, norm_layer=norm_layer,
                                     drop_path=drop_path_rate * k / total))
                strides.append(stride)
                outs.append(ch(c))
                cin = ch(c)
                k += 1
        stages, info = _group_stages(blocks, strides, outs, stem, ch(32), stem_stride)
        self.stages = nn.ModuleList(stages)
        last = 4 * cin
        self.final = ConvNormAct(cin, last, 1, norm_layer=norm_layer, act_layer=nn.SiLU)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(last, num_classes) if num_classes > 0 else nn.Identity()
        self._set_features(info, num_features=last, in_chans=in_chans, num_classes=num_classes)
        init_conv_bn(self, linear_std=None)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                r = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -r, r)
                nn.init.zeros_(m.bias)
