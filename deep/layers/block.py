"""The pre-norm transformer block and stochastic depth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from deep.layers.attention import Attention
from deep.layers.mlp import Mlp

__all__ = ["Block", "BlockOutput", "DropPath"]


class DropPath(nn.Module):
    """Stochastic depth (Huang et al., 2016): drop a whole residual branch per sample.

    In training, each sample's branch output is zeroed with probability ``p`` and the
    survivors are scaled by ``1 / (1 - p)``; in eval it is the identity.
    """

    def __init__(self, p: float = 0.0):
        super().__init__()
        if not (isinstance(p, (int, float)) and 0.0 <= p < 1.0):
            raise ValueError(f"DropPath: p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # (B, 1, ..., 1): one draw per sample
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


@dataclass(frozen=True)
class BlockOutput:
    """Result of :meth:`Block.forward_explicit`: the tokens and the attention weights.

    ``output`` is ``(B, N, D)``; ``weights`` is ``(B, num_heads, N, N)``.
    """

    output: torch.Tensor
    weights: torch.Tensor


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``.

    Parameters
    ----------
    dim : int
        Token dimension.
    num_heads : int
    mlp_ratio : float
        Hidden width of the MLP as a multiple of ``dim``.
    qkv_bias : bool
    proj_drop, attn_drop : float
        Dropout after projections / on attention weights.
    drop_path : float
        Stochastic-depth probability of both residual branches.
    norm_layer : callable
        ``norm_layer(dim)`` builds a normalisation (``nn.LayerNorm``, :class:`RMSNorm`, ...).
    mlp_layer : callable
        ``mlp_layer(dim, hidden_features=int(dim * mlp_ratio), drop=proj_drop)`` builds
        the feed-forward layer (:class:`Mlp`, :class:`SwiGLU`, :class:`MoE`, ...).
    fused_attn : bool
        Use ``scaled_dot_product_attention`` in :meth:`forward`.
    """

    def __init__(self, dim: int, *, num_heads: int, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, proj_drop: float = 0.0, attn_drop: float = 0.0,
                 drop_path: float = 0.0,
                 norm_layer: Callable[[int], nn.Module] = nn.LayerNorm,
                 mlp_layer: Callable[..., nn.Module] = Mlp, fused_attn: bool = True):
        super().__init__()
        if not (isinstance(mlp_ratio, (int, float)) and mlp_ratio > 0):
            raise ValueError(f"Block: mlp_ratio must be a positive number, got {mlp_ratio!r}")
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop,
                              proj_drop=proj_drop, fused=fused_attn)
        self.drop_path1 = DropPath(drop_path)
        self.norm2 = norm_layer(dim)
        self.mlp = mlp_layer(dim, hidden_features=int(dim * mlp_ratio), drop=proj_drop)
        self.drop_path2 = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path1(self.attn(self.norm1(x)))  # (B, N, D)
        return x + self.drop_path2(self.mlp(self.norm2(x)))  # (B, N, D)

    def forward_explicit(self, x: torch.Tensor) -> BlockOutput:
        """Same as :meth:`forward` through the explicit attention path, with its weights."""
        a = self.attn.forward_explicit(self.norm1(x))
        x = x + self.drop_path1(a.output)  # (B, N, D)
        x = x + self.drop_path2(self.mlp(self.norm2(x)))  # (B, N, D)
        return BlockOutput(output=x, weights=a.weights)
