"""VGG-11/13/16/19 (Simonyan & Zisserman, 2015), configurations as data."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from deep.layers.conv import ConvNormAct
from deep.layers.norm import BatchNorm2d
from deep.models.base import ConvNet, check_common, init_conv_bn, scaled

__all__ = ["VGG", "VGG_CONFIGS"]

#: Table 1 of the paper: conv widths, "M" = 2x2 max-pool. A = 11, B = 13, D = 16, E = 19.
VGG_CONFIGS: dict[str, tuple] = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"),
}


class VGG(ConvNet):
    """VGG: stacks of 3x3 convolutions (with bias) and 2x2 max-pools, then three fully
    connected layers on a fixed ``pool_size x pool_size`` map.

    Parameters
    ----------
    config : sequence of int and "M"
        A value of :data:`VGG_CONFIGS`, or your own.
    in_chans, num_classes : int
    batch_norm : bool
        ``norm_layer`` after each convolution (the "_bn" variants).
    norm_layer : callable
        Used when ``batch_norm``; default :class:`~deep.layers.BatchNorm2d`.
    width_multiplier : float
        Scales every convolution and hidden layer width.
    hidden_dim : int
        Width of the two hidden fully connected layers (4096), before ``width_multiplier``.
    pool_size : int
        Adaptive average pooling to this size before the classifier (7, as torchvision).
    small_input : bool
        Drop the first two max-pools (total stride 8 instead of 32) for 8–32 px inputs.
    drop_rate : float
        Dropout after each hidden fully connected layer (0.5 in the paper).

    Notes
    -----
    Each stage ends at a max-pool, so ``feature_info`` lists the map just before each
    pool (strides 1, 2, 4, 8, 16 at ImageNet settings). VGG-16 has 138,357,544
    parameters; with batch norm 138,365,992 (torchvision's counts).

    References
    ----------
    K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
    Recognition", ICLR 2015, arXiv:1409.1556.
    """

    def __init__(self, *, config: Sequence = VGG_CONFIGS["vgg16"], in_chans: int = 3,
                 num_classes: int = 1000, batch_norm: bool = False,
                 norm_layer: Callable[[int], nn.Module] = BatchNorm2d,
                 width_multiplier: float = 1.0, hidden_dim: int = 4096, pool_size: int = 7,
                 small_input: bool = False, drop_rate: float = 0.5):
        super().__init__()
        check_common("VGG", in_chans=in_chans, num_classes=num_classes, drop_rate=drop_rate)
        if (not isinstance(config, (tuple, list)) or not config
                or any(not (c == "M" or (isinstance(c, int) and c > 0)) for c in config)):
            raise ValueError(f"VGG: config must be a non-empty sequence of positive ints and "
                             f"'M', got {config!r}")
        stages, info, current, chs, stride = [], [], [], in_chans, 1
        pools_seen = 0
        for c in config:
            if c == "M":
                pools_seen += 1
                if small_input and pools_seen <= 2:
                    continue
                stages.append(nn.Sequential(*current))
                info.append((chs, stride))
                current, stride = [nn.MaxPool2d(2)], 2
                continue
            out = scaled(c, width_multiplier)
            current.append(ConvNormAct(chs, out, 3, bias=True,
                                       norm_layer=norm_layer if batch_norm else None))
            chs = out
        stages.append(nn.Sequential(*current))  # the last pool (and anything after it)
        self.stages = nn.ModuleList(stages)
        info.append((chs, stride))
        self.final = nn.Identity()
        hidden = scaled(hidden_dim, width_multiplier)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.pre_logits = nn.Sequential(
            nn.Linear(chs * pool_size * pool_size, hidden), nn.ReLU(), nn.Dropout(drop_rate),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(drop_rate))
        self.head_drop = nn.Identity()
        self.head = nn.Linear(hidden, num_classes) if num_classes > 0 else nn.Identity()
        self._set_features(info, num_features=chs, in_chans=in_chans, num_classes=num_classes)
        init_conv_bn(self)

    def forward_head(self, x: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Map ``(B, F, h, w)`` → the second hidden layer ``(B, hidden)`` or logits."""
        x = self.pool(x).flatten(1)  # (B, F * pool_size²)
        x = self.pre_logits(x)  # (B, hidden)
        return x if pre_logits else self.head(x)
