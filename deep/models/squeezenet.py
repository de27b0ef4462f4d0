"""SqueezeNet 1.0 and 1.1 (Iandola et al., 2016)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from deep.layers.conv import ConvNormAct
from deep.layers.fire import Fire
from deep.models.base import ConvNet, check_common, scaled

__all__ = ["SqueezeNet", "SQUEEZENET_CONFIGS"]

#: Stem (channels, kernel) and the Fire modules (squeeze, expand1x1, expand3x3) with "M"
#: for a 3x3 stride-2 max-pool. 1.0: Table 1 of the paper; 1.1: the authors' revision
#: (3x3 stem, pools moved earlier: 2.4x less computation, same accuracy).
SQUEEZENET_CONFIGS: dict[str, tuple[tuple[int, int], tuple]] = {
    "1_0": ((96, 7), ("M", (16, 64, 64), (16, 64, 64), (32, 128, 128), "M", (32, 128, 128),
                      (48, 192, 192), (48, 192, 192), (64, 256, 256), "M", (64, 256, 256))),
    "1_1": ((64, 3), ("M", (16, 64, 64), (16, 64, 64), "M", (32, 128, 128), (32, 128, 128),
                      "M", (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256))),
}


class SqueezeNet(ConvNet):
    """SqueezeNet: a convolution, Fire modules between max-pools, and a 1x1 convolution
    classifier averaged over space (no fully connected layer).

    Parameters
    ----------
    version : {"1_0", "1_1"}
    in_chans, num_classes : int
    width_multiplier : float
    small_input : bool
        Stem 3x3 at stride 1 and no first max-pool (total stride 4 instead of 16).
    norm_layer : callable, optional
        After every convolution; None as in the paper.
    drop_rate : float
        Dropout before the classifier convolution (0.5).

    Notes
    -----
    1,248,424 (1.0) and 1,235,496 (1.1) parameters at ImageNet settings (torchvision's).
    ``pre_logits`` gives the pooled last Fire output ``(B, 512)``.

    References
    ----------
    F. N. Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and
    <0.5MB model size", arXiv:1602.07360, 2016.
    """

    def __init__(self, *, version: str = "1_0", in_chans: int = 3, num_classes: int = 1000,
                 width_multiplier: float = 1.0, small_input: bool = False,
                 norm_layer: Callable[[int], nn.Module] | None = None, drop_rate: float = 0.5):
        super().__init__()
        check_common("SqueezeNet", in_chans=in_chans, num_classes=num_classes,
                     drop_rate=drop_rate)
        if version not in SQUEEZENET_CONFIGS:
            raise ValueError(f"SqueezeNet: version must be one of '1_0', '1_1', got "
                             f"{version!r}")
        (stem_chs, k), fires = SQUEEZENET_CONFIGS[version]
        stem_chs = scaled(stem_chs, width_multiplier)
        if small_input:
            stem = ConvNormAct(in_chans, stem_chs, 3, norm_layer=norm_layer)
            stem_stride = 1
        else:
            stem = ConvNormAct(in_chans, stem_chs, k, stride=2, padding=0,
                               norm_layer=norm_layer)
            stem_stride = 2
        stages, info, current, chs, stride = [stem], [(stem_chs, stem_stride)], [], stem_chs, 1
        first_pool = True
        for item in fires:
            if item == "M":
                if small_input and first_pool:
                    first_pool = False
                    continue
                first_pool = False
                if current:
                    stages.append(nn.Sequential(*current))
                    info.append((chs, stride))
                current, stride = [nn.MaxPool2d(3, stride=2, ceil_mode=True)], 2
                continue
            s, e1, e3 = (scaled(v, width_multiplier) for v in item)
            current.append(Fire(chs, s, e1, e3, norm_layer=norm_layer))
            chs = e1 + e3
        stages.append(nn.Sequential(*current))
        info.append((chs, stride))
        self.stages = nn.ModuleList(stages)
        self.final = nn.Identity()
        self.head_drop = nn.Dropout(drop_rate)
        self.head = (nn.Sequential(nn.Conv2d(chs, num_classes, 1), nn.ReLU())
                     if num_classes > 0 else None)
        self._set_features(info, num_features=chs, in_chans=in_chans, num_classes=num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if self.head is not None and m is self.head[0]:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_head(self, x: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Map ``(B, 512, h, w)`` → pooled ``(B, 512)`` (``pre_logits``) or logits: the
        classifier is a 1x1 convolution and ReLU on the map, then an average over space."""
        if pre_logits or self.head is None:
            return x.mean(dim=(2, 3))  # (B, F)
        return self.head(self.head_drop(x)).mean(dim=(2, 3))  # (B, K)
