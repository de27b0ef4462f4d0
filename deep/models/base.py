"""What every CNN here shares: stages with known strides, multi-scale features, a head.

A :class:`ConvNet` is ``stages`` (an ``nn.ModuleList`` whose first entry is the stem)
followed by ``final`` (a last layer on the deepest map, e.g. MobileNet's 1x1 expansion)
and a head. The seams, as in timm:

* ``forward_features(x)``: images ``(B, C, H, W)`` → the last feature map ``(B, F, h, w)``;
* ``forward_head(x, pre_logits=False)``: that map → pooled features ``(B, F')`` or logits;
* ``forward_intermediates(x, indices=...)``: the output of chosen stages, for U-Nets,
  feature pyramids and Grad-CAM; ``feature_info[i]`` gives stage ``i``'s channels and
  reduction (stride from the input) and its module name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ConvNet", "FeatureInfo"]


@dataclass(frozen=True)
class FeatureInfo:
    """One stage's output: ``num_chs`` channels at ``1 / reduction`` of the input size
    (rounded up per stride-2 step for odd sizes); ``module`` is its name in the model."""

    num_chs: int
    reduction: int
    module: str


class ConvNet(nn.Module):
    """Base class of the CNN families (not built directly).

    Subclasses build ``self.stages`` (``nn.ModuleList``, stem first), ``self.final``,
    ``self.head``, and call :meth:`_set_features` with each stage's ``(channels, stride)``.
    The default head is global average pooling → dropout → linear.
    """

    def _set_features(self, stages: Sequence[tuple[int, int]], *, num_features: int,
                      in_chans: int, num_classes: int) -> None:
        info, reduction = [], 1
        for i, (chs, stride) in enumerate(stages):
            reduction *= stride
            info.append(FeatureInfo(int(chs), reduction, f"stages.{i}"))
        self.feature_info: tuple[FeatureInfo, ...] = tuple(info)
        self.num_features = int(num_features)
        self.in_chans = int(in_chans)
        self.num_classes = int(num_classes)

    def _check_input(self, x) -> None:
        check_input_batch(x, type(self).__name__, self.in_chans)

    def _run_stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        try:
            return self.stages[i](x)
        except RuntimeError as exc:
            msg = str(exc)
            if "too small" in msg or "Kernel size can't be greater" in msg:
                raise ValueError(
                    f"{type(self).__name__}: the input is too small: stage {i} received a "
                    f"{x.shape[2]}x{x.shape[3]} map and cannot reduce it further ({exc}); use "
                    "a larger input or small_input=True") from None
            raise

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → the deepest feature map ``(B, num_features, h, w)``."""
        self._check_input(x)
        for i in range(len(self.stages)):
            x = self._run_stage(i, x)
        return self.final(x)

    def forward_intermediates(self, x: torch.Tensor, *,
                              indices: int | Sequence[int] | None = None
                              ) -> list[torch.Tensor]:
        """Stage outputs, shallow to deep.

        Parameters
        ----------
        x : Tensor (B, C, H, W)
        indices : int, sequence of int, or None
            Stage indices into :attr:`feature_info` (negative counts from the end); an
            int ``n`` means the last ``n`` stages; None: all stages.

        Returns
        -------
        list of Tensor
            ``(B, feature_info[i].num_chs, ~H / reduction, ~W / reduction)`` for each
            requested ``i``, in increasing order of depth. Stages after the deepest
            requested one are not run.
        """
        n = len(self.stages)
        if indices is None:
            wanted = list(range(n))
        elif isinstance(indices, int) and not isinstance(indices, bool):
            if not 1 <= indices <= n:
                raise ValueError(f"{type(self).__name__}.forward_intermediates: indices as an "
                                 f"int must be in [1, {n}] (the last n stages), got {indices}")
            wanted = list(range(n - indices, n))
        else:
            wanted = []
            for i in indices:
                if isinstance(i, bool) or not isinstance(i, int) or not -n <= i < n:
                    raise ValueError(f"{type(self).__name__}.forward_intermediates: indices "
                                     f"must be ints in [-{n}, {n - 1}], got {list(indices)!r}")
                wanted.append(i % n)
            wanted = sorted(set(wanted))
        self._check_input(x)
        out = []
        for i in range(max(wanted) + 1):
            x = self._run_stage(i, x)
            if i in wanted:
                out.append(x)
        return out

    def forward_head(self, x: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Feature map ``(B, F, h, w)`` → pooled ``(B, F)`` (``pre_logits``) or logits."""
        x = x.mean(dim=(2, 3))  # (B, F): global average pooling
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def check_input_batch(x, name: str, in_chans: int) -> None:
    """Raise unless ``x`` is a ``torch.Tensor`` of shape ``(B, in_chans, H, W)``: the input
    check of every image model, its errors named by the model ``name``."""
    if not isinstance(x, torch.Tensor):
        from cvgeo._checks import describe

        raise TypeError(f"{name}: input must be a torch.Tensor (B, C, H, W), got "
                        f"{describe(x)}; convert numpy images with deep.data.images_to_tensor")
    if x.ndim != 4 or x.shape[1] != in_chans:
        raise ValueError(f"{name}: input must be (B, {in_chans}, H, W), got shape "
                         f"{tuple(x.shape)}")


def check_common(name: str, *, in_chans, num_classes, drop_rate=0.0,
                 drop_path_rate=0.0) -> None:
    """Validate the constructor arguments every CNN shares."""
    from cvgeo._checks import check_int, check_real

    check_int(in_chans, name, "in_chans", low=1)
    check_int(num_classes, name, "num_classes", low=0)
    check_real(drop_rate, name, "drop_rate", low=0.0, high=1.0, high_inclusive=False)
    check_real(drop_path_rate, name, "drop_path_rate", low=0.0, high=1.0, high_inclusive=False)


def scaled(channels: int, width_multiplier: float) -> int:
    """``max(1, round(channels · width_multiplier))``."""
    return max(1, int(round(channels * width_multiplier)))


def init_conv_bn(model: nn.Module, *, linear_std: float | None = 0.01) -> None:
    """Kaiming-normal (fan-out, ReLU) convolutions, zero biases, norms at (1, 0), linear
    layers ``N(0, linear_std²)`` (None: leave torch's default)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0.0, linear_std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
