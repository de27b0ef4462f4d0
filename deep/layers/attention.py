"""Multi-head self-attention with a fused path and an explicit path that shows its weights."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Attention", "AttentionOutput"]


@dataclass(frozen=True)
class AttentionOutput:
    """Result of :meth:`Attention.forward_explicit`.

    Attributes
    ----------
    output : Tensor of shape (B, N, D)
        The attention layer's output (after the output projection).
    weights : Tensor of shape (B, num_heads, N, N)
        ``softmax(q kᵀ / sqrt(head_dim))``; row ``i`` is how token ``i`` attends to every
        token, and each row sums to 1 (before attention dropout).
    """

    output: torch.Tensor
    weights: torch.Tensor


class Attention(nn.Module):
    """Multi-head self-attention (Vaswani et al., 2017) with one fused qkv projection.

    Parameters
    ----------
    dim : int
        Token dimension ``D``; must be divisible by ``num_heads``.
    num_heads : int
        Number of heads; each has ``head_dim = D / num_heads``.
    qkv_bias : bool
        Bias on the fused qkv projection (ViT and timm's default: True).
    attn_drop, proj_drop : float
        Dropout on the attention weights and on the output projection (training only).
    fused : bool
        ``forward`` uses ``torch.nn.functional.scaled_dot_product_attention`` (flash or
        memory-efficient kernels where available) when True, the explicit softmax path
        when False. Both compute the same function; :meth:`forward_explicit` always
        takes the explicit path and also returns the weights.

    Notes
    -----
    Shapes: input ``(B, N, D)``; ``qkv`` is ``(B, N, 3 * D)`` laid out as
    ``[q | k | v]``, each split into heads ``(B, num_heads, N, head_dim)``.
    """

    def __init__(self, dim: int, *, num_heads: int = 8, qkv_bias: bool = True,
                 attn_drop: float = 0.0, proj_drop: float = 0.0, fused: bool = True):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"Attention: dim must be a positive int, got {dim!r}")
        if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(f"Attention: num_heads must be a positive int, got {num_heads!r}")
        if dim % num_heads:
            raise ValueError(f"Attention: dim must be divisible by num_heads, got dim={dim} and "
                             f"num_heads={num_heads}")
        for name, p in (("attn_drop", attn_drop), ("proj_drop", proj_drop)):
            if not (isinstance(p, (int, float)) and 0.0 <= p < 1.0):
                raise ValueError(f"Attention: {name} must be a probability in [0, 1), got {p!r}")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.fused = bool(fused)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"Attention: input must be (B, N, D) with D={self.dim}, got shape "
                             f"{tuple(x.shape)}")
        B, N, _ = x.shape
        qkv = self.qkv(x)  # (B, N, 3 * D)
        qkv = qkv.reshape(B, N, 3, self.num_heads, self.head_dim)  # (B, N, 3, h, hd)
        qkv = qkv.permute(2, 0, 3, 1, 4)  # (3, B, h, N, hd)
        return qkv[0], qkv[1], qkv[2]  # each (B, h, N, hd)

    def _merge(self, out: torch.Tensor) -> torch.Tensor:
        B, _, N, _ = out.shape  # (B, h, N, hd)
        out = out.transpose(1, 2).reshape(B, N, self.dim)  # (B, N, D)
        return self.proj_drop(self.proj(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fused:
            return self.forward_explicit(x).output
        q, k, v = self._qkv(x)
        p = self.attn_drop.p if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # (B, h, N, hd)
        return self._merge(out)

    def forward_explicit(self, x: torch.Tensor) -> AttentionOutput:
        """The textbook path: ``softmax(q kᵀ / sqrt(d)) v``, returning the weights too."""
        q, k, v = self._qkv(x)
        logits = (q * self.scale) @ k.transpose(-2, -1)  # (B, h, N, N)
        weights = logits.softmax(dim=-1)  # (B, h, N, N), rows sum to 1
        out = self.attn_drop(weights) @ v  # (B, h, N, hd)
        return AttentionOutput(output=self._merge(out), weights=weights)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, fused={self.fused}"
