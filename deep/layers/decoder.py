"""Transformer decoder parts: multi-head attention with a causal mask or over a memory
(cross-attention), and the pre-norm decoder block."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import check_int, describe
from deep.layers.mlp import Mlp

__all__ = ["DecoderBlock", "MultiHeadAttention", "MultiHeadAttentionOutput"]


@dataclass(frozen=True)
class MultiHeadAttentionOutput:
    """``output (B, Tq, D)`` and ``weights (B, num_heads, Tq, Tk)`` (rows sum to 1)."""

    output: torch.Tensor
    weights: torch.Tensor


class MultiHeadAttention(nn.Module):
    """Multi-head attention of queries ``x`` over keys/values ``memory`` (or ``x``).

    Parameters
    ----------
    dim : int
    num_heads : int
    causal : bool
        Query ``i`` may only attend to keys ``j <= i`` (self-attention of a decoder).
    attn_drop, proj_drop : float
    fused : bool
        ``forward`` uses ``scaled_dot_product_attention`` (``is_causal`` for the mask);
        the explicit path (:meth:`forward_explicit`) adds ``-inf`` above the diagonal
        before the softmax. Both compute the same function.
    """

    def __init__(self, dim: int, *, num_heads: int = 8, causal: bool = False,
                 attn_drop: float = 0.0, proj_drop: float = 0.0, fused: bool = True):
        super().__init__()
        self.dim = check_int(dim, "MultiHeadAttention", "dim", low=1)
        self.num_heads = check_int(num_heads, "MultiHeadAttention", "num_heads", low=1)
        if dim % num_heads:
            raise ValueError(f"MultiHeadAttention: dim must be divisible by num_heads, got "
                             f"dim={dim} and num_heads={num_heads}")
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.causal = bool(causal)
        self.fused = bool(fused)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def _heads(self, x: torch.Tensor, memory: torch.Tensor | None):
        for name, t in (("x", x), ("memory", memory)):
            if t is not None and (not isinstance(t, torch.Tensor) or t.ndim != 3
                                  or t.shape[-1] != self.dim):
                raise ValueError(f"MultiHeadAttention: {name} must be (B, T, {self.dim}), got "
                                 f"{describe(t)}")
        src = x if memory is None else memory
        B, Tq, _ = x.shape
        Tk = src.shape[1]
        if self.causal and Tq != Tk:
            raise ValueError(f"MultiHeadAttention: a causal mask needs as many keys as queries, "
                             f"got {Tq} queries and {Tk} keys")
        q = self.q(x).reshape(B, Tq, self.num_heads, self.head_dim).transpose(1, 2)  # (B,h,Tq,hd)
        kv = self.kv(src).reshape(B, Tk, 2, self.num_heads, self.head_dim)  # (B, Tk, 2, h, hd)
        kv = kv.permute(2, 0, 3, 1, 4)  # (2, B, h, Tk, hd)
        return q, kv[0], kv[1]

    def _merge(self, out: torch.Tensor) -> torch.Tensor:
        B, _, T, _ = out.shape  # (B, h, Tq, hd)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(B, T, self.dim)))

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, Tq, D)``, ``memory (B, Tk, D)`` or None (self-attention) → ``(B, Tq, D)``."""
        if not self.fused:
            return self.forward_explicit(x, memory).output
        q, k, v = self._heads(x, memory)
        p = self.attn_drop.p if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=self.causal)
        return self._merge(out)

    def forward_explicit(self, x: torch.Tensor, memory: torch.Tensor | None = None
                         ) -> MultiHeadAttentionOutput:
        """``softmax(q kᵀ / sqrt(d) + mask) v``, returning the weights too."""
        q, k, v = self._heads(x, memory)
        logits = (q * self.scale) @ k.transpose(-2, -1)  # (B, h, Tq, Tk)
        if self.causal:
            T = logits.shape[-1]
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)  # j > i
            logits = logits.masked_fill(future, float("-inf"))
        weights = logits.softmax(dim=-1)
        out = self.attn_drop(weights) @ v  # (B, h, Tq, hd)
        return MultiHeadAttentionOutput(output=self._merge(out), weights=weights)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, causal={self.causal}"


class DecoderBlock(nn.Module):
    """Pre-norm transformer decoder block (Vaswani et al., 2017; pre-norm as in GPT-2):

    ``x + self_attn(norm1(x))`` (causal), ``x + cross_attn(norm2(x), memory)``,
    ``x + mlp(norm3(x))``.

    Parameters
    ----------
    dim, num_heads : int
    mlp_ratio : float
    drop : float
        Dropout after the projections and in the MLP.
    norm_layer : callable
    fused_attn : bool
    """

    def __init__(self, dim: int, *, num_heads: int, mlp_ratio: float = 4.0, drop: float = 0.0,
                 norm_layer: Callable[[int], nn.Module] = nn.LayerNorm,
                 fused_attn: bool = True):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.self_attn = MultiHeadAttention(dim, num_heads=num_heads, causal=True,
                                            proj_drop=drop, fused=fused_attn)
        self.norm2 = norm_layer(dim)
        self.cross_attn = MultiHeadAttention(dim, num_heads=num_heads, proj_drop=drop,
                                             fused=fused_attn)
        self.norm3 = norm_layer(dim)
        self.mlp = Mlp(dim, hidden_features=int(dim * mlp_ratio), drop=drop)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """``x (B, T, D)`` tokens so far, ``memory (B, N, D)`` encoder tokens → ``(B, T, D)``."""
        x = x + self.self_attn(self.norm1(x))
        x = x + self.cross_attn(self.norm2(x), memory)
        return x + self.mlp(self.norm3(x))
