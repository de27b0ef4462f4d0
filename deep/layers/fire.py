"""SqueezeNet's Fire module (Iandola et al., 2016)."""

from __future__ import annotations

import torch
from torch import nn

from deep.layers.conv import ConvNormAct, LayerFactory

__all__ = ["Fire"]


class Fire(nn.Module):
    """Squeeze with ``1x1`` convolutions, then expand with ``1x1`` and ``3x3`` side by side.

    ``s = act(conv1x1(x))``, ``y = concat(act(conv1x1(s)), act(conv3x3(s)))`` along the
    channels: the squeeze keeps the 3x3 convolutions' input narrow, and half of the
    expansion costs ``1 / 9`` of a 3x3.

    Parameters
    ----------
    in_chs : int
    squeeze_chs, expand1x1_chs, expand3x3_chs : int
        The output has ``expand1x1_chs + expand3x3_chs`` channels.
    act_layer : callable
    norm_layer : callable, optional
        None (the paper: convolutions with biases, no normalisation).

    References
    ----------
    F. N. Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and
    <0.5MB model size", arXiv:1602.07360, 2016.
    """

    def __init__(self, in_chs: int, squeeze_chs: int, expand1x1_chs: int, expand3x3_chs: int,
                 *, act_layer: LayerFactory = nn.ReLU, norm_layer: LayerFactory | None = None):
        super().__init__()
        self.squeeze = ConvNormAct(in_chs, squeeze_chs, 1, norm_layer=norm_layer,
                                   act_layer=act_layer)
        self.expand1x1 = ConvNormAct(squeeze_chs, expand1x1_chs, 1, norm_layer=norm_layer,
                                     act_layer=act_layer)
        self.expand3x3 = ConvNormAct(squeeze_chs, expand3x3_chs, 3, norm_layer=norm_layer,
                                     act_layer=act_layer)
        self.out_chs = expand1x1_chs + expand3x3_chs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)  # (B, squeeze, H, W)
        return torch.cat([self.expand1x1(s), self.expand3x3(s)], dim=1)  # (B, e1 + e3, H, W)
