"""GoogLeNet / Inception v1 (Szegedy et al., 2015)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from deep.layers.conv import ConvNormAct
from deep.layers.inception import Inception
from deep.layers.norm import BatchNorm2d, LocalResponseNorm
from deep.models.base import ConvNet, check_common, scaled

__all__ = ["GoogLeNet"]

#: Table 1 of the paper: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) per
#: Inception module, "M" a 3x3 stride-2 max-pool (the last one 2x2, as torchvision).
_INCEPTIONS = (
    (64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64), "M",
    (192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
    (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128), "M",
    (256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128),
)


class GoogLeNet(ConvNet):
    """GoogLeNet: a convolutional stem, nine Inception modules, global average pooling,
    dropout and one linear layer (the two auxiliary classifiers are not built).

    Parameters
    ----------
    in_chans, num_classes : int
    width_multiplier : float
    large_kernel : int
        Kernel of each Inception module's third branch: torchvision uses 3 (and its
        published count, 6,624,904 parameters, is with 3); the paper's is 5.
    lrn : bool
        Local response normalisation after the first pool and after the third
        convolution, as in the paper (no parameters).
    small_input : bool
        Stem ``3x3`` convolutions at stride 1 without its two max-pools (total stride 4
        instead of 32).
    norm_layer : callable
        Default batch norm with eps 1e-3 after every convolution (torchvision's).
    drop_rate : float
        0.2 (torchvision; the paper: 0.4).

    References
    ----------
    C. Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, arXiv:1409.4842.
    """

    def __init__(self, *, in_chans: int = 3, num_classes: int = 1000,
                 width_multiplier: float = 1.0, large_kernel: int = 3, lrn: bool = True,
                 small_input: bool = False, norm_layer: Callable[[int], nn.Module] | None = None,
                 drop_rate: float = 0.2):
        super().__init__()
        check_common("GoogLeNet", in_chans=in_chans, num_classes=num_classes,
                     drop_rate=drop_rate)
        norm_layer = norm_layer or partial(BatchNorm2d, eps=1e-3)
        w = lambda c: scaled(c, width_multiplier)  # noqa: E731
        conv = partial(ConvNormAct, norm_layer=norm_layer)
        norm = (lambda: LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)) if lrn else nn.Identity
        if small_input:
            stem = nn.Sequential(conv(in_chans, w(64), 3))
            stem2 = nn.Sequential(norm(), conv(w(64), w(64), 1), conv(w(64), w(192), 3), norm())
            strides = (1, 1)
        else:
            stem = nn.Sequential(conv(in_chans, w(64), 7, stride=2, padding=3))
            stem2 = nn.Sequential(nn.MaxPool2d(3, stride=2, ceil_mode=True), norm(),
                                  conv(w(64), w(64), 1), conv(w(64), w(192), 3), norm())
            strides = (2, 2)
        stages, info = [stem, stem2], [(w(64), strides[0]), (w(192), strides[1])]
        current = [] if small_input else [nn.MaxPool2d(3, stride=2, ceil_mode=True)]
        chs, stride, pools = w(192), 1 if small_input else 2, 0
        for item in _INCEPTIONS:
            if item == "M":
                stages.append(nn.Sequential(*current))
                info.append((chs, stride))
                pools += 1
                pool = (nn.MaxPool2d(3, stride=2, ceil_mode=True) if pools == 1
                        else nn.MaxPool2d(2, stride=2, ceil_mode=True))
                current, stride = [pool], 2
                continue
            widths = [w(c) for c in item]
            current.append(Inception(chs, *widths, large_kernel=large_kernel,
                                     norm_layer=norm_layer))
            chs = current[-1].out_chs
        stages.append(nn.Sequential(*current))
        info.append((chs, stride))
        self.stages = nn.ModuleList(stages)
        self.final = nn.Identity()
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(chs, num_classes) if num_classes > 0 else nn.Identity()
        self._set_features(info, num_features=chs, in_chans=in_chans, num_classes=num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
