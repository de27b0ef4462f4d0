"""What the detectors share: their positive-int check and their conv-BN-LeakyReLU stages."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def _pos_int(v, func: str, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{func}: {name} must be a positive int, got {v!r}")
    return v


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    """3x3 convolution (no bias, padding 1) → batch norm → LeakyReLU(0.1)."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.1)]


def _pooled_stages(c_in: int, widths: Sequence[int], *, n_pool: int | None = None
                   ) -> tuple[list[nn.Module], int]:
    """One :func:`_conv` per width, the first ``n_pool`` (all by default) each followed by
    a 2x2 max pool; returns the layers and the last width."""
    n_pool = len(widths) if n_pool is None else n_pool
    layers: list[nn.Module] = []
    for i, w in enumerate(widths):
        layers += _conv(c_in, w)
        if i < n_pool:
            layers.append(nn.MaxPool2d(2))
        c_in = w
    return layers, c_in
