"""Normalisation layers."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RMSNorm"]


class RMSNorm(nn.Module):
    """Root-mean-square layer normalisation (Zhang & Sennrich, 2019).

    ``y = x / sqrt(mean(x², over the last axis) + eps) * weight`` — LayerNorm without the
    mean subtraction and without a bias.

    Parameters
    ----------
    dim : int
        Size of the last axis.
    eps : float
        Added to the mean square before the square root.
    elementwise_affine : bool
        Learn a per-feature ``weight`` (initialised to ones).

    References
    ----------
    B. Zhang and R. Sennrich, "Root Mean Square Layer Normalization", NeurIPS 2019,
    arXiv:1910.07467.
    """

    def __init__(self, dim: int, *, eps: float = 1e-6, elementwise_affine: bool = True):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"RMSNorm: dim must be a positive int, got {dim!r}")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"RMSNorm: eps must be a positive number, got {eps!r}")
        self.dim = dim
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.ones(dim)) if elementwise_affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.dim:
            raise ValueError(f"RMSNorm: input must have last dimension {self.dim}, got shape "
                             f"{tuple(x.shape)}")
        # Computed in float32 at least, so half-precision inputs do not overflow x².
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        y = y.to(x.dtype)
        return y * self.weight if self.weight is not None else y

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}, elementwise_affine={self.weight is not None}"
