"""Patch embedding: an image cut into non-overlapping patches, each projected to a token."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["PatchEmbed"]


class PatchEmbed(nn.Module):
    """Split ``(B, C, H, W)`` images into ``p x p`` patches and project each to ``dim``.

    A ``Conv2d`` with kernel = stride = ``patch_size`` is exactly a shared linear map of
    every flattened patch (the ViT paper's ``x_p E``), computed without an explicit unfold.

    Parameters
    ----------
    patch_size : int
        Side of the square patches, in pixels.
    in_chans : int
        Channels ``C`` of the input images.
    dim : int
        Token (embedding) dimension ``D``.
    norm_layer : callable, optional
        ``norm_layer(dim)`` applied to the tokens (identity when None).
    bias : bool
        Whether the projection has a bias.

    Notes
    -----
    Conventions: input ``(B, C, H, W)``; output ``(B, N, D)`` with ``N = (H / p) * (W / p)``
    tokens in row-major patch order (token ``i`` is patch row ``i // (W / p)``, column
    ``i % (W / p)``). ``H`` and ``W`` must be multiples of ``p``: the input is never
    silently cropped.
    """

    def __init__(self, *, patch_size: int = 16, in_chans: int = 3, dim: int = 768,
                 norm_layer: Callable[[int], nn.Module] | None = None, bias: bool = True):
        super().__init__()
        for name, value in (("patch_size", patch_size), ("in_chans", in_chans), ("dim", dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PatchEmbed: {name} must be a positive int, got {value!r}")
        self.patch_size = patch_size
        self.in_chans = in_chans
        self.dim = dim
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size, bias=bias)
        self.norm = norm_layer(dim) if norm_layer is not None else nn.Identity()

    def grid_size(self, height: int, width: int) -> tuple[int, int]:
        """Patch grid ``(H / p, W / p)`` for an input of that size; raises if not divisible."""
        p = self.patch_size
        if height % p or width % p:
            raise ValueError(
                f"PatchEmbed: input height and width must be multiples of patch_size={p}, "
                f"got {height}x{width}; resize or pad the images (e.g. to "
                f"{-(-height // p) * p}x{-(-width // p) * p})"
            )
        return height // p, width // p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"PatchEmbed: input must be (B, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_chans:
            raise ValueError(f"PatchEmbed: input must have in_chans={self.in_chans} channels, "
                             f"got shape {tuple(x.shape)}")
        self.grid_size(x.shape[2], x.shape[3])
        x = self.proj(x)  # (B, D, H/p, W/p)
        x = x.flatten(2).transpose(1, 2)  # (B, N, D), N = (H/p) * (W/p), row-major
        return self.norm(x)
