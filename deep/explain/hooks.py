"""Reaching inside a model: naming a layer, capturing its output with a hook, eval mode
that is undone on leaving, and reading ViT tokens as a feature map.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import describe


# ------------------------------------------------------------ layers and hooks
def resolve_layer(model: nn.Module, layer: nn.Module | str) -> nn.Module:
    """The submodule ``layer`` of ``model``: a module inside it, or a dotted name.

    Dotted names follow ``model.named_modules()`` (``"stages.4"``, ``"blocks.5.norm1"``);
    a negative index counts from the end of a list (``"blocks.-1.norm1"``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"resolve_layer: model must be a torch.nn.Module, got {describe(model)}")
    if isinstance(layer, nn.Module):
        if not any(m is layer for m in model.modules()):
            raise ValueError(f"resolve_layer: layer {type(layer).__name__} is not a submodule "
                             f"of the {type(model).__name__}")
        return layer
    if not isinstance(layer, str):
        raise TypeError(f"resolve_layer: layer must be an nn.Module or a dotted name, got "
                        f"{describe(layer)}")
    module = model
    for part in layer.split(".") if layer else []:
        children = dict(module.named_children())
        if part.lstrip("-").isdigit() and part.startswith("-") and isinstance(
                module, (nn.ModuleList, nn.Sequential)):
            part = str(len(module) + int(part))
        if part not in children:
            names = [n for n, _ in model.named_modules() if n][:12]
            raise ValueError(f"resolve_layer: model has no layer {layer!r} ({part!r} is not a "
                             f"child of {type(module).__name__}); layers include "
                             f"{', '.join(names)}, ...")
        module = children[part]
    return module


def default_layer(model: nn.Module) -> str:
    """The layer the CAM family explains when none is given.

    * a :class:`~deep.models.ViT` with class-token pooling: ``"blocks.<last>.norm1"`` (see
      the module's notes: the last block's output tokens get no gradient);
    * a ViT with average pooling: ``"norm"``;
    * a :class:`~deep.models.ConvNet`: ``"final"`` (the map the head pools);
    * anything else: the last ``nn.Conv2d`` in ``model.named_modules()`` order.
    """
    from deep.models.base import ConvNet
    from deep.models.vit import ViT

    if isinstance(model, ViT):
        return f"blocks.{len(model.blocks) - 1}.norm1" if model.pool == "cls" else "norm"
    if isinstance(model, ConvNet):
        return "final"
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"default_layer: {type(model).__name__} has no nn.Conv2d; pass layer=")
    return convs[-1]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode; on leaving, give every module back its own ``training``
    flag (a model partly in train mode stays exactly so)."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


class LayerCapture:
    """A context manager holding a forward hook that keeps one layer's output.

    Parameters
    ----------
    model : nn.Module
    layer : nn.Module or str
        See :func:`resolve_layer`.

    Attributes
    ----------
    activations : list of Tensor
        The layer's outputs, one per call during the ``with`` block.

    Notes
    -----
    The hook hands the rest of the network a copy of the output (same values), so an
    in-place operation after the layer (``ReLU(inplace=True)``) cannot change what was
    kept, and gradients with respect to the kept tensor are gradients with respect to the
    layer's output. The hook is removed on leaving the block, even after an error.
    """

    def __init__(self, model: nn.Module, layer: nn.Module | str):
        self.module = resolve_layer(model, layer)
        self.activations: list[torch.Tensor] = []
        self._handle = None

    def _hook(self, module, inputs, output):
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"LayerCapture: layer {type(module).__name__} must output one "
                            f"tensor, got {describe(output)}")
        self.activations.append(output)
        return output.clone()

    def __enter__(self) -> LayerCapture:
        self.activations = []
        self._handle = self.module.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    @property
    def activation(self) -> torch.Tensor:
        """The single output kept (an error if the layer ran zero or several times)."""
        if len(self.activations) != 1:
            raise ValueError(f"LayerCapture: the layer {type(self.module).__name__} ran "
                             f"{len(self.activations)} times in the forward pass; explain a "
                             "layer that runs exactly once")
        return self.activations[0]


def _check_images(images, func: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{func}: images must be a torch.Tensor (B, C, H, W), got "
                        f"{describe(images)}; convert numpy images with "
                        "deep.data.images_to_tensor")
    if images.ndim != 4 or 0 in images.shape:
        raise ValueError(f"{func}: images must be (B, C, H, W), got shape {tuple(images.shape)}")
    if not images.dtype.is_floating_point:
        raise TypeError(f"{func}: images must be floating point, got dtype {images.dtype}")
    if not torch.isfinite(images).all():
        raise ValueError(f"{func}: images must be finite (no NaN or inf)")
    return images


def tokens_to_grid(model: nn.Module, tokens: torch.Tensor,
                   image_size: tuple[int, int]) -> torch.Tensor:
    """Transformer tokens ``(B, T, D)`` → a feature map ``(B, D, H / p, W / p)``.

    The first ``model.num_prefix_tokens`` tokens (class token) are dropped; the rest are
    the patches in row-major order of the grid ``(H // model.patch_size, W //
    model.patch_size)`` for an input of ``image_size = (H, W)``. A model without
    ``patch_size`` must have a square number of patch tokens.
    """
    if tokens.ndim != 3:
        raise ValueError(f"tokens_to_grid: tokens must be (B, T, D), got shape "
                         f"{tuple(tokens.shape)}")
    B, T, D = tokens.shape
    prefix = int(getattr(model, "num_prefix_tokens", 0))
    p = getattr(model, "patch_size", None)
    if isinstance(p, int):
        gh, gw = image_size[0] // p, image_size[1] // p
    else:
        side = math.isqrt(T - prefix)
        gh = gw = side
    if T - prefix != gh * gw:
        raise ValueError(f"tokens_to_grid: {T} tokens do not make {prefix} prefix tokens and a "
                         f"{gh}x{gw} patch grid for an input of {image_size[0]}x{image_size[1]}")
    grid = tokens[:, prefix:].reshape(B, gh, gw, D)  # (B, gh, gw, D), row-major patches
    return grid.permute(0, 3, 1, 2)  # (B, D, gh, gw)


def _as_map(model, activation: torch.Tensor, image_size, func: str) -> torch.Tensor:
    if activation.ndim == 4:
        return activation  # (B, C, h, w)
    if activation.ndim == 3:
        return tokens_to_grid(model, activation, image_size)  # (B, D, gh, gw)
    raise ValueError(f"{func}: the layer must output a map (B, C, h, w) or tokens (B, T, D), got "
                     f"shape {tuple(activation.shape)}")


def _upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, h, w) → (B, H, W), bilinear with pixel centres aligned (as cvgeo.resize)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
