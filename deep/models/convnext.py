"""ConvNeXt (Liu et al., 2022)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from deep.layers.convnext import ConvNeXtBlock
from deep.layers.norm import LayerNorm, LayerNorm2d
from deep.models.base import ConvNet, check_common, scaled

__all__ = ["ConvNeXt"]


class ConvNeXt(ConvNet):
    """ConvNeXt: a 4x4 stride-4 "patchify" stem, four stages of ConvNeXt blocks joined by
    LayerNorm + 2x2 stride-2 convolutions, global pooling, LayerNorm, linear.

    Parameters
    ----------
    depths : sequence of int
        Blocks per stage; ConvNeXt-T: (3, 3, 9, 3).
    dims : sequence of int
        Channels per stage; ConvNeXt-T: (96, 192, 384, 768).
    in_chans, num_classes : int
    width_multiplier : float
    small_input : bool
        Stem ``3x3`` at stride 1 (total stride 8 instead of 32).
    layer_scale_init : float or None
    drop_rate, drop_path_rate : float
        ``drop_path_rate`` rises linearly over all blocks (ConvNeXt-T was trained with 0.1).
    norm_layer : callable
        Channels-first norm of the stem, downsampling layers and head; default
        :class:`~deep.layers.LayerNorm2d` (eps 1e-6).
    block_norm_layer : callable
        Channels-last norm inside each block; default :class:`~deep.layers.LayerNorm`
        (eps 1e-6).

    Notes
    -----
    ConvNeXt-T has 28,589,128 parameters at ImageNet settings (torchvision's count).

    References
    ----------
    Z. Liu et al., "A ConvNet for the 2020s", CVPR 2022, arXiv:2201.03545.
    """

    def __init__(self, *, depths: Sequence[int] = (3, 3, 9, 3),
                 dims: Sequence[int] = (96, 192, 384, 768), in_chans: int = 3,
                 num_classes: int = 1000, width_multiplier: float = 1.0,
                 small_input: bool = False, layer_scale_init: float | None = 1e-6,
                 drop_rate: float = 0.0, drop_path_rate: float = 0.0,
                 norm_layer: Callable[[int], nn.Module] = LayerNorm2d,
                 block_norm_layer: Callable[[int], nn.Module] | None = None):
        super().__init__()
        check_common("ConvNeXt", in_chans=in_chans, num_classes=num_classes,
                     drop_rate=drop_rate, drop_path_rate=drop_path_rate)
        if (not isinstance(depths, (tuple, list)) or not isinstance(dims, (tuple, list))
                or len(depths) != len(dims) or not depths
                or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in depths)):
            raise ValueError(f"ConvNeXt: depths must be positive ints, one per entry of dims, "
                             f"got depths={depths!r}, dims={dims!r}")
        block_norm_layer = block_norm_layer or (lambda d: LayerNorm(d, eps=1e-6))
        dims = [scaled(d, width_multiplier) for d in dims]
        if small_input:
            stem = nn.Sequential(nn.Conv2d(in_chans, dims[0], 3, padding=1), norm_layer(dims[0]))
            stem_stride = 1
        else:
            stem = nn.Sequential(nn.Conv2d(in_chans, dims[0], 4, stride=4), norm_layer(dims[0]))
            stem_stride = 4
        stages, info = [stem], [(dims[0], stem_stride)]
        total, k = sum(depths), 0
        for s, (n, d) in enumerate(zip(depths, dims)):
            layers = []
            if s > 0:
                layers += [norm_layer(dims[s - 1]), nn.Conv2d(dims[s - 1], d, 2, stride=2)]
            for _ in range(n):
                layers.append(ConvNeXtBlock(d, layer_scale_init=layer_scale_init,
                                            drop_path=drop_path_rate * k / max(total - 1, 1),
                                            norm_layer=block_norm_layer))
                k += 1
            stages.append(nn.Sequential(*layers))
            info.append((d, 1 if s == 0 else 2))
        self.stages = nn.ModuleList(stages)
        self.final = nn.Identity()
        self.head_norm = norm_layer(dims[-1])
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(dims[-1], num_classes) if num_classes > 0 else nn.Identity()
        self._set_features(info, num_features=dims[-1], in_chans=in_chans,
                           num_classes=num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_head(self, x: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Map ``(B, C, h, w)`` → pooled and normalised ``(B, C)`` or logits."""
        x = self.head_norm(x.mean(dim=(2, 3), keepdim=True)).flatten(1)  # (B, C)
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)
