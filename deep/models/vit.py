"""Vision Transformer (Dosovitskiy et al., 2021), composed from :mod:`deep.layers`.

The named configurations of the ViT and DeiT papers live in :mod:`deep.models.configs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import check_int_pair
from deep.layers.block import Block
from deep.layers.mlp import Mlp
from deep.layers.patch_embed import PatchEmbed
from deep.models.base import check_input_batch

__all__ = ["ViT", "resample_pos_embed"]


def resample_pos_embed(pos_embed: torch.Tensor, *, old_grid: tuple[int, int],
                       new_grid: tuple[int, int], num_prefix_tokens: int = 1) -> torch.Tensor:
    """Resample learned 1-D position embeddings as a 2-D grid (bicubic).

    Parameters
    ----------
    pos_embed : Tensor of shape (1, P + Gh * Gw, D)
        ``P = num_prefix_tokens`` embeddings of prefix tokens (the class token) followed
        by one embedding per patch in row-major order of the ``old_grid = (Gh, Gw)``.
    old_grid, new_grid : (int, int)
        Patch grids (rows, columns) before and after.
    num_prefix_tokens : int
        Prefix embeddings, copied unchanged.

    Returns
    -------
    Tensor of shape (1, P + new_grid[0] * new_grid[1], D)
        Same dtype as ``pos_embed``; differentiable.

    Notes
    -----
    The patch embeddings are reshaped to a ``(D, Gh, Gw)`` image and resized with
    ``F.interpolate(mode="bicubic", align_corners=False)``: embedding ``(i, j)`` sits at
    the centre of patch ``(i, j)``, the same convention as ``cvgeo.resize``. This is how
    the ViT paper fine-tunes at a higher resolution (section 3.2).
    """
    if pos_embed.ndim != 3 or pos_embed.shape[0] != 1:
        raise ValueError(f"resample_pos_embed: pos_embed must be (1, P + N, D), got shape "
                         f"{tuple(pos_embed.shape)}")
    gh, gw = old_grid
    if pos_embed.shape[1] != num_prefix_tokens + gh * gw:
        raise ValueError(
            f"resample_pos_embed: pos_embed must hold {num_prefix_tokens} + {gh}*{gw} = "
            f"{num_prefix_tokens + gh * gw} embeddings for old_grid={tuple(old_grid)}, got "
            f"{pos_embed.shape[1]}")
    if tuple(new_grid) == tuple(old_grid):
        return pos_embed
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    D = grid.shape[-1]
    grid = grid.reshape(1, gh, gw, D).permute(0, 3, 1, 2)  # (1, D, Gh, Gw)
    grid = F.interpolate(grid.float(), size=tuple(new_grid), mode="bicubic",
                         align_corners=False).to(pos_embed.dtype)  # (1, D, Gh', Gw')
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_grid[0] * new_grid[1], D)  # (1, N', D)
    return torch.cat([prefix, grid], dim=1)  # (1, P + N', D)


class ViT(nn.Module):
    """Vision Transformer for image classification.

    Parameters
    ----------
    image_size : int or (int, int)
        Training size ``(H, W)``; the position embeddings are learned for this grid and
        resampled (bicubic, in 2-D) for other input sizes.
    patch_size : int
        Square patch side; ``H`` and ``W`` must be multiples of it.
    in_chans : int
    num_classes : int
        Classes of the linear head; 0 gives no head (``forward`` returns pooled features).
    dim : int
        Token dimension ``D``.
    depth : int
        Number of transformer blocks.
    num_heads : int
    mlp_ratio : float
        MLP hidden width / ``dim``.
    pool : {"cls", "gap"}
        ``"cls"``: a learned class token is prepended and its final state classified (the
        paper); ``"gap"``: no class token, the patch tokens are averaged.
    qkv_bias : bool
    norm_layer : callable, optional
        ``norm_layer(dim)``; default ``LayerNorm(eps=1e-6)``. :class:`~deep.layers.RMSNorm`
        fits.
    mlp_layer : callable
        Feed-forward layer of each block (:class:`~deep.layers.Mlp`,
        :class:`~deep.layers.SwiGLU`, :class:`~deep.layers.MoE`, or a ``partial`` of them).
    drop_rate : float
        Dropout after position embedding, after projections and before the head.
    attn_drop_rate : float
    drop_path_rate : float
        Stochastic depth, increasing linearly from 0 to this value over the blocks.
    fused_attn : bool
        Use ``scaled_dot_product_attention`` (the explicit path is always available
        through :meth:`attention_maps`).
    num_registers : int
        Learned register tokens (Darcet et al., 2024) placed after the class token and
        before the patches; they take part in attention but get no position embedding
        and are discarded at the output (neither pooled nor classified). 0 (default):
        none.

    Notes
    -----
    Shapes: ``forward_features`` maps images ``(B, C, H, W)`` to normalised tokens
    ``(B, T, D)`` with ``T = num_prefix_tokens + (H / p)(W / p)``: the class token first
    when ``pool="cls"``, then the ``num_registers`` registers, then the patches row-major
    (``num_prefix_tokens = [1 +] num_registers``); ``forward_head`` pools them to
    ``(B, D)`` and classifies to ``(B, num_classes)``. With ``pool="cls"``,
    ``image_size=224``, ``patch_size=16``, ``dim=768``, ``depth=12``, ``num_heads=12``,
    1000 classes the model has 86,567,656 parameters, as ViT-B/16 (and timm's
    ``vit_base_patch16_224``).

    References
    ----------
    A. Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image
    Recognition at Scale", ICLR 2021, arXiv:2010.11929.

    T. Darcet, M. Oquab, J. Mairal, P. Bojanowski, "Vision Transformers Need Registers",
    ICLR 2024, arXiv:2309.16588.
    """

    def __init__(self, *, image_size: int | tuple[int, int] = 224, patch_size: int = 16,
                 in_chans: int = 3, num_classes: int = 1000, dim: int = 768, depth: int = 12,
                 num_heads: int = 12, mlp_ratio: float = 4.0,
                 pool: Literal["cls", "gap"] = "cls", qkv_bias: bool = True,
                 norm_layer: Callable[[int], nn.Module] | None = None,
                 mlp_layer: Callable[..., nn.Module] = Mlp, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0,
                 fused_attn: bool = True, num_registers: int = 0):
        super().__init__()
        self.image_size = check_int_pair(image_size, "ViT", "image_size")
        if isinstance(patch_size, bool) or not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(f"ViT: patch_size must be a positive int, got {patch_size!r}")
        h, w = self.image_size
        if h % patch_size or w % patch_size:
            raise ValueError(f"ViT: image_size must be a multiple of patch_size={patch_size} in "
                             f"both height and width, got {h}x{w}")
        if pool not in ("cls", "gap"):
            raise ValueError(f"ViT: pool must be one of 'cls', 'gap', got {pool!r}")
        for name, v, low in (("num_classes", num_classes, 0), ("depth", depth, 1),
                             ("dim", dim, 1), ("in_chans", in_chans, 1),
                             ("num_registers", num_registers, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"ViT: {name} must be an int >= {low}, got {v!r}")
        for name, p in (("drop_rate", drop_rate), ("attn_drop_rate", attn_drop_rate),
                        ("drop_path_rate", drop_path_rate)):
            if not (isinstance(p, (int, float)) and 0.0 <= p < 1.0):
                raise ValueError(f"ViT: {name} must be a probability in [0, 1), got {p!r}")
        norm_layer = norm_layer if norm_layer is not None else partial(nn.LayerNorm, eps=1e-6)

        self.patch_size = patch_size
        self.in_chans = in_chans
        self.num_classes = num_classes
        self.dim = dim
        self.pool = pool
        self.grid = (h // patch_size, w // patch_size)
        self.num_registers = num_registers
        self.num_prefix_tokens = (1 if pool == "cls" else 0) + num_registers

        self.patch_embed = PatchEmbed(patch_size=patch_size, in_chans=in_chans, dim=dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if pool == "cls" else None
        self.reg_token = (nn.Parameter(torch.zeros(1, num_registers, dim)) if num_registers
                          else None)
        n_tokens = (1 if pool == "cls" else 0) + self.grid[0] * self.grid[1]  # registers: none
        self.pos_embed = nn.Parameter(torch.zeros(1, n_tokens, dim))
        self.pos_drop = nn.Dropout(drop_rate)
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]  # 0 → rate
        self.blocks = nn.ModuleList(
            Block(dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                  proj_drop=drop_rate, attn_drop=attn_drop_rate, drop_path=r,
                  norm_layer=norm_layer, mlp_layer=mlp_layer, fused_attn=fused_attn)
            for r in rates
        )
        self.norm = norm_layer(dim)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(dim, num_classes) if num_classes > 0 else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """ViT/timm initialisation: truncated normal (std 0.02) weights, zero biases."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if self.cls_token is not None:
            nn.init.normal_(self.cls_token, std=1e-6)
        if self.reg_token is not None:
            nn.init.normal_(self.reg_token, std=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        # The patch projection is a linear map of the flattened patch: LeCun-style fan-in.
        w = self.patch_embed.proj.weight
        nn.init.trunc_normal_(w, std=math.sqrt(1.0 / (w.shape[1] * w.shape[2] * w.shape[3])))
        if self.patch_embed.proj.bias is not None:
            nn.init.zeros_(self.patch_embed.proj.bias)

    def _check_input(self, x: torch.Tensor) -> tuple[int, int]:
        check_input_batch(x, "ViT", self.in_chans)
        H, W = x.shape[2], x.shape[3]
        p = self.patch_size
        if H % p or W % p:
            raise ValueError(f"ViT: input height and width must be multiples of patch_size={p}, "
                             f"got {H}x{W} (the model was built for "
                             f"{self.image_size[0]}x{self.image_size[1]})")
        return H // p, W // p

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        grid = self._check_input(x)
        x = self.patch_embed(x)  # (B, N, D)
        if self.cls_token is not None:
            cls = self.cls_token.expand(x.shape[0], -1, -1)  # (B, 1, D)
            x = torch.cat([cls, x], dim=1)  # (B, 1 + N, D)
        n_pos_prefix = 1 if self.cls_token is not None else 0
        pos = resample_pos_embed(self.pos_embed, old_grid=self.grid, new_grid=grid,
                                 num_prefix_tokens=n_pos_prefix)  # (1, [1 +] N, D)
        x = x + pos
        if self.reg_token is not None:
            reg = self.reg_token.expand(x.shape[0], -1, -1)  # (B, R, D)
            x = torch.cat([x[:, :n_pos_prefix], reg, x[:, n_pos_prefix:]], dim=1)  # (B, T, D)
        return self.pos_drop(x)  # (B, T, D)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → normalised tokens ``(B, T, D)`` (class token first)."""
        x = self._embed(x)
        for block in self.blocks:
            x = block(x)  # (B, T, D)
        return self.norm(x)

    def forward_head(self, x: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Tokens ``(B, T, D)`` → pooled ``(B, D)`` (``pre_logits``) or logits ``(B, K)``."""
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"ViT.forward_head: tokens must be (B, T, {self.dim}), got shape "
                             f"{tuple(x.shape)}")
        if self.pool == "cls":
            x = x[:, 0]  # (B, D)
        else:
            x = x[:, self.num_prefix_tokens:].mean(dim=1)  # (B, D)
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Attention weights of every block, through the explicit path.

        Returns
        -------
        list of ``depth`` tensors of shape (B, num_heads, T, T)
            Token order as in :meth:`forward_features` (class token first if any, then
            the registers, then patches row-major over the ``(H / p, W / p)`` grid).
        """
        x = self._embed(x)
        maps = []
        for block in self.blocks:
            out = block.forward_explicit(x)
            x = out.output  # (B, T, D)
            maps.append(out.weights)  # (B, h, T, T)
        return maps
