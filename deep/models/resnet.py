"""ResNet-18/34/50/101/152 (He et al., 2016)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from cvgeo._checks import check_choice
from deep.layers.conv import ConvNormAct
from deep.layers.norm import BatchNorm2d
from deep.layers.residual import BasicBlock, Bottleneck
from deep.models.base import ConvNet, check_common, init_conv_bn, scaled

__all__ = ["ResNet", "RESNET_DEPTHS"]

#: Blocks per stage and block type, Table 1 of the paper.
RESNET_DEPTHS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


class ResNet(ConvNet):
    """Residual network: a stem, four stages of residual blocks, global pooling, linear.

    Parameters
    ----------
    block : {"basic", "bottleneck"}
        :class:`~deep.layers.BasicBlock` (ResNet-18/34) or
        :class:`~deep.layers.Bottleneck` (50/101/152; stride on the 3x3).
    layers : sequence of int
        Blocks per stage (:data:`RESNET_DEPTHS`).
    widths : sequence of int
        Planes per stage (64, 128, 256, 512), before ``width_multiplier``.
    in_chans, num_classes : int
    width_multiplier : float
    small_input : bool
        Stem ``3x3`` stride 1 without max-pool (CIFAR-style, for 8–32 px inputs) instead of
        ``7x7`` stride 2 plus a stride-2 max-pool.
    norm_layer, act_layer : callable
    zero_init_last : bool
        Zero the last norm of every block (each starts as the identity).
    drop_rate, drop_path_rate : float
        Dropout before the head; stochastic depth rising linearly to this value.

    Notes
    -----
    ``stages[0]`` is the stem (stride 2, or 1 with ``small_input``); ``stages[1:]`` hold
    the max-pool and the four groups of blocks, at strides 4, 8, 16, 32. ResNet-18 has
    11,689,512 parameters and ResNet-50 25,557,032 (torchvision's counts).

    References
    ----------
    K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image Recognition",
    CVPR 2016, arXiv:1512.03385.
    """

    def __init__(self, *, block: str = "basic", layers: Sequence[int] = (2, 2, 2, 2),
                 widths: Sequence[int] = (64, 128, 256, 512), in_chans: int = 3,
                 num_classes: int = 1000, width_multiplier: float = 1.0,
                 small_input: bool = False,
                 norm_layer: Callable[[int], nn.Module] = BatchNorm2d,
                 act_layer: Callable[[], nn.Module] = nn.ReLU, zero_init_last: bool = False,
                 drop_rate: float = 0.0, drop_path_rate: float = 0.0):
        super().__init__()
        check_common("ResNet", in_chans=in_chans, num_classes=num_classes, drop_rate=drop_rate,
                     drop_path_rate=drop_path_rate)
        check_choice(block, "ResNet", "block", ("basic", "bottleneck"))
        if (not isinstance(layers, (tuple, list)) or len(layers) != len(widths)
                or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in layers)):
            raise ValueError(f"ResNet: layers must be a sequence of positive ints, one per "
                             f"stage of widths={tuple(widths)}, got {layers!r}")
        block_cls = BasicBlock if block == "basic" else Bottleneck
        stem_chs = scaled(64, width_multiplier)
        if small_input:
            stem = ConvNormAct(in_chans, stem_chs, 3, norm_layer=norm_layer, act_layer=act_layer)
            stem_stride, first_pool = 1, nn.Identity()
        else:
            stem = ConvNormAct(in_chans, stem_chs, 7, stride=2, norm_layer=norm_layer,
                               act_layer=act_layer)
            stem_stride, first_pool = 2, nn.MaxPool2d(3, stride=2, padding=1)
        stages, info = [stem], [(stem_chs, stem_stride)]
        total, k = sum(layers), 0
        chs = stem_chs
        for s, (n, w) in enumerate(zip(layers, widths)):
            planes = scaled(w, width_multiplier)
            stride = 1 if s == 0 else 2
            blocks = [first_pool] if s == 0 else []
            for b in range(n):
                rate = drop_path_rate * k / max(total - 1, 1)
                blocks.append(block_cls(chs, planes, stride=stride if b == 0 else 1,
                                        norm_layer=norm_layer, act_layer=act_layer,
                                        drop_path=rate, zero_init_last=zero_init_last))
                chs = blocks[-1].out_chs
                k += 1
            stages.append(nn.Sequential(*blocks))
            info.append((chs, 2 if s == 0 and not small_input else stride))
        self.stages = nn.ModuleList(stages)
        self.final = nn.Identity()
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(chs, num_classes) if num_classes > 0 else nn.Identity()
        self._set_features(info, num_features=chs, in_chans=in_chans, num_classes=num_classes)
        init_conv_bn(self, linear_std=None)
