"""LeNet-5 (LeCun et al., 1998)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from deep.models.base import ConvNet, check_common

__all__ = ["LeNet5"]


class LeNet5(ConvNet):
    """LeNet-5: C1 (6 @ 5x5) → S2 → C3 (16 @ 5x5) → S4 → C5 (120 @ 5x5) → F6 (84) → output.

    Parameters
    ----------
    in_chans : int
    num_classes : int
        10 in the paper; 0 gives no output layer (``forward`` returns F6's activations).
    act_layer : callable
        ``nn.Tanh`` (the paper's squashing function, without its 1.7159 scale).
    pool : {"avg", "max"}
        Subsampling of S2 and S4: 2x2 average (the paper's, without its trainable
        coefficient and bias) or max.
    norm_layer : callable, optional
        After each convolution; None as in the paper.
    drop_rate : float
        Dropout before the output layer.

    Notes
    -----
    Built for 32x32 inputs (28x28 digits padded by 2), for which C5 reduces the map to
    1x1; other sizes (at least 32) work because C5's output is averaged over space.
    With 10 classes it has 61,706 parameters (C3 fully connected; the paper's sparse
    C3 connection table and trainable subsampling give 60,000).

    References
    ----------
    Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-Based Learning Applied to
    Document Recognition", Proc. IEEE 86(11), 1998. doi:10.1109/5.726791
    """

    def __init__(self, *, in_chans: int = 1, num_classes: int = 10,
                 act_layer: Callable[[], nn.Module] = nn.Tanh, pool: str = "avg",
                 norm_layer: Callable[[int], nn.Module] | None = None, drop_rate: float = 0.0):
        super().__init__()
        check_common("LeNet5", in_chans=in_chans, num_classes=num_classes, drop_rate=drop_rate)
        if pool not in ("avg", "max"):
            raise ValueError(f"LeNet5: pool must be one of 'avg', 'max', got {pool!r}")
        pool_cls = nn.AvgPool2d if pool == "avg" else nn.MaxPool2d

        def conv(cin, cout):
            layers = [nn.Conv2d(cin, cout, 5)]
            if norm_layer is not None:
                layers.append(norm_layer(cout))
            layers.append(act_layer())
            return layers

        self.stages = nn.ModuleList([
            nn.Sequential(*conv(in_chans, 6)),  # C1: (B, 6, H-4, W-4)
            nn.Sequential(pool_cls(2), *conv(6, 16)),  # S2, C3
            nn.Sequential(pool_cls(2), *conv(16, 120)),  # S4, C5
        ])
        self.final = nn.Identity()
        self.f6 = nn.Sequential(nn.Linear(120, 84), act_layer())
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(84, num_classes) if num_classes > 0 else nn.Identity()
        self._set_features([(6, 1), (16, 2), (120, 2)], num_features=120, in_chans=in_chans,
                           num_classes=num_classes)

    def forward_head(self, x: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """C5's map ``(B, 120, h, w)`` → F6 ``(B, 84)`` (``pre_logits``) or logits."""
        x = self.f6(x.mean(dim=(2, 3)))  # (B, 84)
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)
