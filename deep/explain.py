"""Seeing what a model looks at: gradients, class activation maps, attention.

Every method takes a model, a batch of images ``(B, C, H, W)`` and a *target*, and returns
an :class:`Explanation` whose ``maps`` are ``(B, H, W)`` at the input's resolution.

Targets
-------
A target turns the model's output into one score per image, the quantity explained:

* :class:`ClassTarget` — a classifier's logit ``output[b, c]`` (an int, one int per image,
  or None for the predicted class);
* :class:`MaskTarget` — a segmentation model's logits of class ``c`` summed over a mask;
* :class:`BoxTarget` — a detector's score of class ``c`` over its boxes that overlap a
  given box (each weighted by its IoU with it).

An int, a sequence of ints or None given where a target is expected means a
:class:`ClassTarget`. Any callable ``output -> Tensor (B,)`` is a target too.

Model state
-----------
The whole batch goes through one forward and one ``torch.autograd.grad`` call (the
score is summed over the batch; in eval mode samples do not interact, so each image's
map is the one it would get alone). Inside, the model is put in eval mode and a forward
hook is held on the explained layer; both are undone on leaving, even after an error:
each module's ``training`` flag is restored, the hooks are removed, and because the
gradients are taken with ``torch.autograd.grad`` on an input copy that requires grad,
neither the parameters' ``requires_grad`` flags nor their ``.grad`` are touched.

Vision Transformers
-------------------
A layer that outputs tokens ``(B, T, D)`` is read as a feature map: the model's
``num_prefix_tokens`` (the class token, then any register tokens) are dropped and the
rest are reshaped row-major to the patch grid ``(H / patch_size, W / patch_size)`` read
from the model (:class:`deep.models.ViT`), giving ``(B, D, H / p, W / p)``. Under
class-token pooling only the class token of the last block reaches the head, so the
patch tokens of the last block's output (and of the final norm) receive **zero**
gradient; Grad-CAM there is empty. The default layer is therefore ``blocks[-1].norm1``:
the input of the last attention, whose patch tokens reach the class token through that
attention. With average pooling (``pool="gap"``) every patch token reaches the head and
the default is the final ``norm``.

Grad-CAM does not point at the evidence in a ViT
------------------------------------------------
Measured with ``examples/explain.py`` (``--vit-probes`` reproduces the registers,
average-pooling, one-block and conv-stem numbers; the other variants used the same data
and training loop) on :func:`make_quadrant_blobs` (32x32, 3000 training and 400 held-out
images; patch 8, so a quadrant is 2x2 tokens): a small CNN's Grad-CAM puts its maximum
in the blob's quadrant (the pointing game) for 100 % of the held-out images; no ViT's
Grad-CAM reaches 0.90, at any layer of any variant tried below. Grad-CAM
localises in the CNN because its last conv layer meets two conditions at once: its units
are **local** (a 12-pixel receptive field) and the score reads every position **the same
way** (global average pooling then a linear head), so the token-averaged gradient
``alpha`` is every position's gradient and ``alpha · A[i, j]`` is what position
``(i, j)`` contributes. In a ViT no layer meets both:

* **after the first attention every token holds the decision.** In an average-pooled ViT
  (3 blocks, 96 % accurate) any single token of the final norm, put through the head
  alone, classifies the image: 94 % right for the blob's tokens, 95 % for the others.
  Grad-CAM at that norm is exactly CAM, each token's share of the logit, and points at
  the blob's quadrant for 14 % of the images — below chance (25 %): the blob's tokens
  carry the local detail too and, every token being normalised to the same size, keep a
  little less of the class direction. The other layers after an attention — every later
  ``norm1`` input and output, the block outputs (the residual stream before its
  LayerNorm), the attention and MLP outputs, the MLP's hidden activations — score
  0.14–0.62 under class-token or average pooling. So do the usual remedies: 4 register
  tokens (Darcet et al., 2024; 0.11–0.67 — they hold global state in large ViTs, but
  here the patch tokens keep it too), dropout and stochastic depth 0.1 (0.20–0.62), a
  fixed 2-D sin-cos position embedding (0.20–0.49), rotation and flip augmentation with
  60 epochs (99.8 % accurate; 0.25–0.55), 100 epochs (0.565), 1 or 2 blocks, patch 4
  with 2 blocks (84–93 % accurate; 0.19–0.70), and the score taken as the logit minus the
  mean logit or as the log-probability (0.10–0.62).
* **before the first attention the tokens are local, but the score reads them through
  softmax attention.** Averaged over the tokens, the gradient that reaches them through
  one attention is the class direction of the values (the part through the keys sums to
  zero over all tokens, the class token included), so ``alpha · A_i`` is what token
  ``i`` *would* give the class token if attended, without the attention weight that
  decides what it *does* give — and the values of tokens the attention ignores are never
  constrained by training. In the 3-block ViTs above, the patch embedding and
  ``blocks[0].norm1`` score 0.31–0.67. A one-block ViT (96 % accurate) isolates the
  effect: Grad-CAM at ``blocks[0].norm1`` scores 0.24, while the class token's attention
  in that same block points at the blob's quadrant for 96 % of the images. A
  convolutional stem (Xiao et al., 2021: three stride-2 conv-BN-ReLU before the
  transformer) gives local ReLU maps ahead of the attention; Grad-CAM there reaches
  0.81–0.83 with average pooling (100 % accurate), 0.71–0.89 with a fourth (stride-1)
  conv in the stem, and 0.38–0.68 with a class token: local ReLU maps help, but the
  gradient still reaches them through the attention.

Methods that keep the attention weight or the per-token gradient do point for the same
ViT: attention rollout 0.963, the per-token gradient norm at ``blocks[1].norm1`` 0.94,
integrated gradients 0.932, SmoothGrad 0.910. A ViT's Grad-CAM map shows where the
decision is stored, not where its evidence lies; for a ViT use those methods. Neither
sign nor emptiness explains the misses (ReLU empties at most 6 % of the maps and the
signed maps score the same), nor does the position embedding (subtracting a blank image's
activation does not help); gradient x activation per token (HiResCAM) scores 0.1–0.8,
Grad-CAM over the attention probabilities (heads as channels) 0.44–0.83, and Chefer et
al.'s gradient-weighted attention (2021) 0.62–0.88. These are
small ViTs trained from scratch on 16 tokens; large pretrained ViTs, whose patch tokens
keep more of their own content through the residual stream, are not measured here.

References: T. Darcet, M. Oquab, J. Mairal, P. Bojanowski, "Vision Transformers Need
Registers", ICLR 2024; T. Xiao et al., "Early Convolutions Help Transformers See
Better", NeurIPS 2021.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import check_choice, check_int, check_real, check_seed, describe

__all__ = [
    "BoxTarget", "ClassTarget", "Explanation", "LayerCapture", "MaskTarget", "QuadrantBlobs",
    "attention_maps", "attention_rollout", "cam", "colorize", "default_layer", "eval_mode",
    "grad_cam", "grad_cam_plus_plus", "integrated_gradients", "make_quadrant_blobs",
    "overlay", "pointing_game", "resolve_layer", "saliency", "smooth_grad", "tokens_to_grid",
    "write_overlays",
]


# -------------------------------------------------------------------- results
@dataclass(frozen=True)
class Explanation:
    """What a method found.

    Attributes
    ----------
    maps : Tensor of shape (B, H, W)
        One map per image at the input's resolution (layer maps upsampled bilinearly,
        pixel centres aligned as in :func:`cvgeo.resize`), float32, detached.
    scores : Tensor of shape (B,) or None
        The target's score for each image (None for attention rollout).
    layer_maps : Tensor of shape (B, h, w) or None
        CAM-family maps at the layer's resolution (before upsampling).
    attributions : Tensor of shape (B, C, H, W) or None
        Input-space attributions with the input's channels (the gradient for saliency,
        the averaged noisy gradient for SmoothGrad, ``(x - x') · mean gradient`` for
        integrated gradients).
    """

    maps: torch.Tensor
    scores: torch.Tensor | None = None
    layer_maps: torch.Tensor | None = None
    attributions: torch.Tensor | None = None


# -------------------------------------------------------------------- targets
def _box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of boxes ``a (..., 4)`` and ``b (..., 4)`` (x0, y0, x1, y1), broadcast."""
    x0 = torch.maximum(a[..., 0], b[..., 0])
    y0 = torch.maximum(a[..., 1], b[..., 1])
    x1 = torch.minimum(a[..., 2], b[..., 2])
    y1 = torch.minimum(a[..., 3], b[..., 3])
    inter = (x1 - x0).clamp(min=0) * (y1 - y0).clamp(min=0)
    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    return inter / (area_a + area_b - inter).clamp(min=1e-12)


def _check_label(label, func: str, name: str = "label") -> int:
    return check_int(label, func, name, low=0)


class ClassTarget:
    """A classifier's logit of one class per image.

    Parameters
    ----------
    index : int, sequence of B ints, or None
        The class explained: the same for every image, one per image, or None for each
        image's predicted class (the arg-max of its logits).

    Calling it on logits ``(B, K)`` returns ``(B,)``: ``logits[b, index_b]``.
    """

    def __init__(self, index: int | Sequence[int] | torch.Tensor | None = None):
        if index is None:
            self.index = None
        elif isinstance(index, (bool, np.bool_)):
            raise TypeError(f"ClassTarget: index must be an int, a sequence of ints or None, "
                            f"got {index!r}")
        elif isinstance(index, (int, np.integer)):
            self.index = _check_label(index, "ClassTarget", "index")
        else:
            idx = torch.as_tensor(np.asarray(index) if not isinstance(index, torch.Tensor)
                                  else index)
            if idx.ndim != 1 or idx.dtype.is_floating_point or idx.dtype == torch.bool:
                raise TypeError(f"ClassTarget: index must be an int, a sequence of ints or "
                                f"None, got {describe(index)}")
            if len(idx) and int(idx.min()) < 0:
                raise ValueError(f"ClassTarget: index must be >= 0, got {idx.tolist()}")
            self.index = idx.long()

    def fixed(self, output: torch.Tensor) -> ClassTarget:
        """This target with None replaced by the arg-max of ``output`` (the prediction)."""
        if self.index is not None:
            return self
        return ClassTarget(self._logits(output).argmax(dim=1).detach().cpu())

    def expand(self, n: int) -> ClassTarget:
        """The target for a batch whose every image is repeated ``n`` times in a row."""
        if self.index is None or isinstance(self.index, int):
            return self
        return ClassTarget(self.index.repeat_interleave(n))

    @staticmethod
    def _logits(output) -> torch.Tensor:
        if not isinstance(output, torch.Tensor) or output.ndim != 2:
            raise ValueError(f"ClassTarget: the model's output must be logits (B, K), got "
                             f"{describe(output)}")
        return output

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        logits = self._logits(output)
        B, K = logits.shape
        if self.index is None:
            idx = logits.argmax(dim=1)
        elif isinstance(self.index, int):
            idx = torch.full((B,), self.index, dtype=torch.long, device=logits.device)
        else:
            if len(self.index) != B:
                raise ValueError(f"ClassTarget: index holds {len(self.index)} classes for a "
                                 f"batch of {B} images")
            idx = self.index.to(logits.device)
        if int(idx.max()) >= K:
            raise ValueError(f"ClassTarget: index must be < K={K} (the number of logits), got "
                             f"{int(idx.max())}")
        return logits.gather(1, idx[:, None])[:, 0]  # (B,)

    def __repr__(self) -> str:
        idx = self.index.tolist() if isinstance(self.index, torch.Tensor) else self.index
        return f"ClassTarget({idx!r})"


class MaskTarget:
    """A segmentation model's logits of class ``label`` summed over a mask.

    Parameters
    ----------
    label : int
        The class channel of the output ``(B, K, H, W)``.
    mask : array or Tensor of shape (H, W) or (B, H, W), optional
        Pixels (bool, or float weights) whose logits are summed; None: every pixel.

    Calling it on logits ``(B, K, H, W)`` returns ``(B,)``:
    ``sum_{ij} logits[b, label, i, j] · mask[b, i, j]`` (Vinogradova et al.'s
    "Towards interpretable semantic segmentation via gradient-weighted class activation
    mapping", AAAI 2020).
    """

    def __init__(self, label: int, mask: np.ndarray | torch.Tensor | None = None):
        self.label = _check_label(label, "MaskTarget")
        if mask is not None:
            m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
            if m.ndim not in (2, 3):
                raise ValueError(f"MaskTarget: mask must be (H, W) or (B, H, W), got "
                                 f"{describe(mask)}")
            mask = m.float()
        self.mask = mask

    def fixed(self, output) -> MaskTarget:
        return self

    def expand(self, n: int) -> MaskTarget:
        if self.mask is None or self.mask.ndim == 2:
            return self
        return MaskTarget(self.label, self.mask.repeat_interleave(n, dim=0))

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        if not isinstance(output, torch.Tensor) or output.ndim != 4:
            raise ValueError(f"MaskTarget: the model's output must be logits (B, K, H, W), got "
                             f"{describe(output)}")
        if self.label >= output.shape[1]:
            raise ValueError(f"MaskTarget: label must be < K={output.shape[1]}, got "
                             f"{self.label}")
        logit = output[:, self.label]  # (B, H, W)
        if self.mask is None:
            return logit.sum(dim=(1, 2))
        if self.mask.shape[-2:] != logit.shape[-2:] or (
                self.mask.ndim == 3 and self.mask.shape[0] != logit.shape[0]):
            raise ValueError(f"MaskTarget: mask of shape {tuple(self.mask.shape)} does not fit "
                             f"the output's (B, H, W) = {tuple(logit.shape)}")
        return (logit * self.mask.to(logit.device)).sum(dim=(-2, -1))  # (B,)

    def __repr__(self) -> str:
        return f"MaskTarget(label={self.label}, mask={'None' if self.mask is None else 'set'})"


def _field(output, name: str, func: str):
    if isinstance(output, Mapping):
        value = output.get(name)
    else:
        value = getattr(output, name, None)
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{func}: the model's output must carry a tensor {name!r} (a mapping "
                         f"key or an attribute), got {describe(output)}")
    return value


class BoxTarget:
    """A detector's score of class ``label`` over its boxes that overlap ``box``.

    Parameters
    ----------
    box : sequence of 4 numbers, or array/Tensor of shape (B, 4)
        ``(x0, y0, x1, y1)`` in input pixels, one for all images or one per image.
    label : int
        The class whose score is explained.
    iou_threshold : float
        Predicted boxes whose IoU with ``box`` is below this are ignored.

    Calling it on the detector's output — a mapping or object with ``boxes``
    ``(B, N, 4)`` (x0, y0, x1, y1) and ``scores`` ``(B, N, K)`` (class scores or logits) —
    returns ``(B,)``: ``sum_n [IoU_n >= t] · IoU_n · scores[b, n, label]``, the
    box-score target of Jacob Gildenblat's pytorch-grad-cam, differentiable through
    both the scores and the boxes.
    """

    def __init__(self, box, label: int, *, iou_threshold: float = 0.5):
        b = torch.as_tensor(np.asarray(box, dtype=np.float32) if not isinstance(box, torch.Tensor)
                            else box, dtype=torch.float32)
        if b.shape[-1:] != (4,) or b.ndim not in (1, 2):
            raise ValueError(f"BoxTarget: box must be (x0, y0, x1, y1) or (B, 4), got "
                             f"{describe(box)}")
        if not torch.isfinite(b).all() or bool((b[..., 2] <= b[..., 0]).any()
                                                 or (b[..., 3] <= b[..., 1]).any()):
            raise ValueError(f"BoxTarget: box must be finite with x1 > x0 and y1 > y0, got "
                             f"{b.tolist()}")
        self.box = b
        self.label = _check_label(label, "BoxTarget")
        self.iou_threshold = check_real(iou_threshold, "BoxTarget", "iou_threshold", low=0.0,
                                        high=1.0)

    def fixed(self, output) -> BoxTarget:
        return self

    def expand(self, n: int) -> BoxTarget:
        if self.box.ndim == 1:
            return self
        return BoxTarget(self.box.repeat_interleave(n, dim=0), self.label,
                         iou_threshold=self.iou_threshold)

    def __call__(self, output) -> torch.Tensor:
        boxes = _field(output, "boxes", "BoxTarget")  # (B, N, 4)
        scores = _field(output, "scores", "BoxTarget")  # (B, N, K)
        if boxes.ndim != 3 or boxes.shape[-1] != 4 or scores.ndim != 3 or (
                scores.shape[:2] != boxes.shape[:2]):
            raise ValueError(f"BoxTarget: boxes must be (B, N, 4) and scores (B, N, K), got "
                             f"{tuple(boxes.shape)} and {tuple(scores.shape)}")
        if self.label >= scores.shape[2]:
            raise ValueError(f"BoxTarget: label must be < K={scores.shape[2]}, got {self.label}")
        ref = self.box.to(boxes.device)
        ref = ref[None, None] if ref.ndim == 1 else ref[:, None]  # (B or 1, 1, 4)
        iou = _box_iou(boxes, ref)  # (B, N)
        keep = (iou >= self.iou_threshold).to(iou.dtype)
        return (keep * iou * scores[..., self.label]).sum(dim=1)  # (B,)

    def __repr__(self) -> str:
        return f"BoxTarget(box={self.box.tolist()}, label={self.label})"


def _as_target(target, func: str):
    if target is None or isinstance(target, (int, np.integer, list, tuple, torch.Tensor,
                                             np.ndarray)):
        return ClassTarget(target)
    if not callable(target):
        raise TypeError(f"{func}: target must be a ClassTarget, MaskTarget, BoxTarget, an int, "
                        f"a sequence of ints, None or a callable output -> (B,), got "
                        f"{describe(target)}")
    return target


def _fix(target, output):
    return target.fixed(output) if hasattr(target, "fixed") else target


def _expand(target, n: int, func: str):
    if n == 1:
        return target
    if not hasattr(target, "expand"):
        raise TypeError(f"{func}: a callable target needs an expand(n) method (the target for "
                        f"each image repeated n times) to be used here")
    return target.expand(n)


def _scores(target, output, batch: int, func: str) -> torch.Tensor:
    s = target(output)
    if not isinstance(s, torch.Tensor) or s.shape != (batch,):
        raise ValueError(f"{func}: the target must return one score per image, shape "
                         f"({batch},), got {describe(s)}")
    return s


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


def _layer_forward(model, images, target, layer, func):
    """One forward with a hook on ``layer`` and one gradient of the summed scores.

    Returns the layer's map ``(B, C, h, w)``, its gradient, and the scores ``(B,)``.
    """
    images = _check_images(images, func)
    target = _as_target(target, func)
    layer = default_layer(model) if layer is None else layer
    x = images.detach().clone().requires_grad_(True)
    with eval_mode(model), LayerCapture(model, layer) as cap, torch.enable_grad():
        output = model(x)
        scores = _scores(target, output, x.shape[0], func)
        act = cap.activation
        (grad,) = torch.autograd.grad(scores.sum(), act, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(act)
    size = tuple(images.shape[-2:])
    return (_as_map(model, act.detach(), size, func), _as_map(model, grad, size, func),
            scores.detach())


def _cam_result(weighted: torch.Tensor, size, scores, relu: bool) -> Explanation:
    layer_maps = weighted.clamp(min=0) if relu else weighted  # (B, h, w)
    layer_maps = layer_maps.detach().float()
    return Explanation(maps=_upsample(layer_maps, size), scores=scores, layer_maps=layer_maps)


# ------------------------------------------------------------ the CAM family
def cam(model: nn.Module, images: torch.Tensor, target=None, *, layer=None,
        fc: nn.Linear | str | None = None) -> Explanation:
    """Class activation map (Zhou et al., 2016) of a network ending in GAP → linear.

    ``CAM_c = sum_k w_ck A_k``: the last feature maps ``A_k`` weighted by the linear
    head's row for class ``c``. No gradient is needed; the map is signed (no ReLU).

    Parameters
    ----------
    model : nn.Module
        Its logits must be ``fc(mean_{ij} A[:, :, i, j])`` (global average pooling of the
        ``layer`` output then the linear ``fc``); other architectures need Grad-CAM.
    images : Tensor (B, C, H, W)
    target : ClassTarget, int, sequence of ints or None
        The class per image (None: the predicted class).
    layer : nn.Module or str, optional
        The map the head pools (default :func:`default_layer`).
    fc : nn.Linear or str, optional
        The linear head (default ``model.head``).

    Returns
    -------
    Explanation
        ``layer_maps`` ``(B, h, w)`` and their upsampling ``maps``; ``scores`` the logits.

    References
    ----------
    B. Zhou, A. Khosla, A. Lapedriza, A. Oliva, A. Torralba, "Learning Deep Features for
    Discriminative Localization", CVPR 2016, arXiv:1512.04150.
    """
    images = _check_images(images, "cam")
    target = _as_target(target, "cam")
    if not isinstance(target, ClassTarget):
        raise TypeError(f"cam: target must be a class (ClassTarget, int, ints or None), got "
                        f"{describe(target)}; use grad_cam for masks and boxes")
    fc = resolve_layer(model, "head" if fc is None else fc)
    if not isinstance(fc, nn.Linear):
        raise TypeError(f"cam: fc must be an nn.Linear head, got {type(fc).__name__}")
    layer = default_layer(model) if layer is None else layer
    with eval_mode(model), LayerCapture(model, layer) as cap, torch.no_grad():
        output = model(images)
        target = target.fixed(output)
        scores = _scores(target, output, images.shape[0], "cam")
        A = _as_map(model, cap.activation, tuple(images.shape[-2:]), "cam")  # (B, F, h, w)
    if A.shape[1] != fc.in_features:
        raise ValueError(f"cam: the layer has {A.shape[1]} channels but fc takes "
                         f"{fc.in_features} features; the layer must be the one the head pools")
    idx = target.index
    idx = torch.full((A.shape[0],), idx) if isinstance(idx, int) else idx
    w = fc.weight.detach()[idx.to(fc.weight.device)]  # (B, F)
    weighted = torch.einsum("bf,bfhw->bhw", w.to(A.dtype), A)  # (B, h, w)
    return _cam_result(weighted, tuple(images.shape[-2:]), scores, relu=False)


def grad_cam(model: nn.Module, images: torch.Tensor, target=None, *,
             layer: nn.Module | str | None = None, relu: bool = True) -> Explanation:
    """Grad-CAM (Selvaraju et al., 2017) of any layer with a spatial (or token) output.

    ``alpha_k = mean_{ij} dS/dA_k[i, j]``, ``map = ReLU(sum_k alpha_k A_k)``, where ``S``
    is the target's score and ``A`` the layer's output.

    Parameters
    ----------
    model : nn.Module
    images : Tensor (B, C, H, W)
    target : target, int, sequence of ints or None
        See the module's notes (None: each image's predicted class).
    layer : nn.Module or str, optional
        A module or dotted name (``"stages.3"``, ``"blocks.-1.norm1"``); default
        :func:`default_layer`. Token outputs ``(B, T, D)`` are reshaped to the patch grid
        (:func:`tokens_to_grid`).
    relu : bool
        Keep only the positive evidence (the paper); False returns the signed map.

    Returns
    -------
    Explanation
        ``layer_maps (B, h, w)``, ``maps (B, H, W)`` and ``scores (B,)``.

    Notes
    -----
    For a network whose logits are ``fc(GAP(A))`` and ``layer`` the map ``A``,
    ``dS/dA_k[i, j] = w_ck / (h w)``, so Grad-CAM is ``ReLU(CAM) / (h w)``.

    References
    ----------
    R. R. Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization", ICCV 2017, arXiv:1610.02391.
    """
    A, G, scores = _layer_forward(model, images, target, layer, "grad_cam")
    alpha = G.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    weighted = (alpha * A).sum(dim=1)  # (B, h, w)
    return _cam_result(weighted, tuple(images.shape[-2:]), scores, relu)


def grad_cam_plus_plus(model: nn.Module, images: torch.Tensor, target=None, *,
                       layer: nn.Module | str | None = None) -> Explanation:
    """Grad-CAM++ (Chattopadhyay et al., 2018): pixel-weighted gradients.

    ``alpha_k[i, j] = g² / (2 g² + sum_{ab} A_k[a, b] · g³)`` with ``g = dS/dA_k[i, j]``
    (the closed form for an exponential of the score, as in the paper's eq. 19),
    ``w_k = sum_{ij} alpha_k[i, j] · ReLU(g)``, ``map = ReLU(sum_k w_k A_k)``. Where
    ``g = 0`` the ratio is taken as 0. Parameters and result as :func:`grad_cam`.

    References
    ----------
    A. Chattopadhyay, A. Sarkar, P. Howlader, V. N. Balasubramanian, "Grad-CAM++:
    Generalized Gradient-based Visual Explanations for Deep Convolutional Networks",
    WACV 2018, arXiv:1710.11063.
    """
    A, G, scores = _layer_forward(model, images, target, layer, "grad_cam_plus_plus")
    g2, g3 = G * G, G * G * G
    denom = 2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g3  # (B, C, h, w)
    alpha = torch.where(G != 0, g2 / torch.where(denom != 0, denom, torch.ones_like(denom)),
                        torch.zeros_like(G))
    w = (alpha * G.clamp(min=0)).sum(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    weighted = (w * A).sum(dim=1)  # (B, h, w)
    return _cam_result(weighted, tuple(images.shape[-2:]), scores, relu=True)


# ------------------------------------------------------------ input gradients
def _input_gradients(model, x: torch.Tensor, target, batch_size: int | None,
                     func: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients ``dS/dx`` ``(N, C, H, W)`` and scores ``(N,)``; one backward per chunk."""
    n = x.shape[0]
    step = n if batch_size is None else batch_size
    grads, scores = [], []
    for start in range(0, n, step):
        xi = x[start:start + step].detach().clone().requires_grad_(True)
        ti = target
        if step < n:
            ti = _slice_target(target, start, start + xi.shape[0], func)
        with torch.enable_grad():
            s = _scores(ti, model(xi), xi.shape[0], func)
            (g,) = torch.autograd.grad(s.sum(), xi)
        grads.append(g)
        scores.append(s.detach())
    return torch.cat(grads), torch.cat(scores)


def _slice_target(target, start: int, stop: int, func: str):
    if isinstance(target, ClassTarget) and isinstance(target.index, torch.Tensor):
        return ClassTarget(target.index[start:stop])
    if isinstance(target, MaskTarget) and target.mask is not None and target.mask.ndim == 3:
        return MaskTarget(target.label, target.mask[start:stop])
    if isinstance(target, BoxTarget) and target.box.ndim == 2:
        return BoxTarget(target.box[start:stop], target.label,
                         iou_threshold=target.iou_threshold)
    if isinstance(target, (ClassTarget, MaskTarget, BoxTarget)):
        return target
    raise TypeError(f"{func}: batch_size needs one of the target classes (a callable target "
                    "cannot be split into chunks); leave batch_size=None")


def _fixed_target(model, images, target, func):
    target = _as_target(target, func)
    with torch.no_grad():
        return _fix(target, model(images))


def saliency(model: nn.Module, images: torch.Tensor, target=None) -> Explanation:
    """Vanilla gradient saliency (Simonyan et al., 2014): ``max_c |dS/dx_c|``.

    Returns
    -------
    Explanation
        ``maps (B, H, W)``: the largest absolute gradient over the input's channels;
        ``attributions (B, C, H, W)``: the signed gradient; ``scores (B,)``.

    References
    ----------
    K. Simonyan, A. Vedaldi, A. Zisserman, "Deep Inside Convolutional Networks:
    Visualising Image Classification Models and Saliency Maps", ICLR workshop 2014,
    arXiv:1312.6034.
    """
    images = _check_images(images, "saliency")
    target = _as_target(target, "saliency")
    with eval_mode(model):
        g, scores = _input_gradients(model, images, target, None, "saliency")
    return Explanation(maps=g.abs().amax(dim=1), scores=scores, attributions=g)


def smooth_grad(model: nn.Module, images: torch.Tensor, target=None, *, n_samples: int = 25,
                noise: float = 0.15, seed=0, batch_size: int | None = None) -> Explanation:
    """SmoothGrad (Smilkov et al., 2017): saliency averaged over noisy copies.

    Each image gets ``n_samples`` copies with Gaussian noise of standard deviation
    ``noise · (max(x) - min(x))`` (per image); the explained class is fixed on the clean
    image first.

    Parameters
    ----------
    n_samples : int
    noise : float
        Noise level as a fraction of the image's range (the paper finds 10–20 % best).
    seed : int, numpy.random.Generator or None
    batch_size : int, optional
        Rows per forward/backward; None: all ``B · n_samples`` rows at once (one backward).

    Returns
    -------
    Explanation
        ``maps``: the mean of the noisy saliency maps ``max_c |dS/dx_c|``;
        ``attributions``: the mean noisy gradient; ``scores``: at the clean images.

    References
    ----------
    D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg, "SmoothGrad: removing noise by
    adding noise", arXiv:1706.03825, 2017.
    """
    images = _check_images(images, "smooth_grad")
    n = check_int(n_samples, "smooth_grad", "n_samples", low=1)
    noise = check_real(noise, "smooth_grad", "noise", low=0.0)
    if batch_size is not None:
        batch_size = check_int(batch_size, "smooth_grad", "batch_size", low=1)
    gen = torch.Generator().manual_seed(int(check_seed(seed, "smooth_grad").integers(2**62)))
    B = images.shape[0]
    with eval_mode(model):
        target = _fixed_target(model, images, target, "smooth_grad")
        with torch.no_grad():
            clean = _scores(target, model(images), B, "smooth_grad")
        span = (images.amax(dim=(1, 2, 3)) - images.amin(dim=(1, 2, 3))).view(B, 1, 1, 1)
        eps = torch.randn((B * n, *images.shape[1:]), generator=gen).to(images)
        x = images.repeat_interleave(n, dim=0) + (noise * span).repeat_interleave(n, 0) * eps
        g, _ = _input_gradients(model, x, _expand(target, n, "smooth_grad"), batch_size,
                                "smooth_grad")  # (B * n, C, H, W)
    g = g.view(B, n, *images.shape[1:])  # (B, n, C, H, W)
    maps = g.abs().amax(dim=2).mean(dim=1)  # (B, H, W)
    return Explanation(maps=maps, scores=clean, attributions=g.mean(dim=1))


def integrated_gradients(model: nn.Module, images: torch.Tensor, target=None, *,
                         baseline: torch.Tensor | float = 0.0, steps: int = 32,
                         batch_size: int | None = None) -> Explanation:
    """Integrated gradients (Sundararajan et al., 2017), midpoint Riemann sum.

    ``IG_i(x) = (x_i - x'_i) · (1/m) sum_{k=0}^{m-1} dS/dx_i (x' + (k + ½)/m · (x - x'))``.
    The attributions sum to ``S(x) - S(x')`` up to the quadrature error (completeness).

    Parameters
    ----------
    baseline : Tensor broadcastable to images, or float
        The reference input ``x'`` (default black: 0).
    steps : int
        Points ``m`` on the straight path.
    batch_size : int, optional
        Rows per forward/backward; None: all ``B · steps`` rows at once (one backward).

    Returns
    -------
    Explanation
        ``attributions (B, C, H, W)``; ``maps``: their sum over channels (signed);
        ``scores``: ``S(x)``.

    References
    ----------
    M. Sundararajan, A. Taly, Q. Yan, "Axiomatic Attribution for Deep Networks", ICML 2017,
    arXiv:1703.01365.
    """
    images = _check_images(images, "integrated_gradients")
    m = check_int(steps, "integrated_gradients", "steps", low=1)
    if batch_size is not None:
        batch_size = check_int(batch_size, "integrated_gradients", "batch_size", low=1)
    if isinstance(baseline, torch.Tensor):
        try:
            x0 = torch.broadcast_to(baseline.to(images), images.shape)
        except RuntimeError:
            raise ValueError(f"integrated_gradients: baseline of shape {tuple(baseline.shape)} "
                             f"does not broadcast to images {tuple(images.shape)}") from None
    else:
        x0 = torch.full_like(images, check_real(baseline, "integrated_gradients", "baseline"))
    B = images.shape[0]
    alphas = (torch.arange(m, dtype=images.dtype) + 0.5) / m  # (m,) midpoints
    with eval_mode(model):
        target = _fixed_target(model, images, target, "integrated_gradients")
        with torch.no_grad():
            clean = _scores(target, model(images), B, "integrated_gradients")
        d = images - x0  # (B, C, H, W)
        path = (x0[:, None] + alphas.view(1, m, 1, 1, 1) * d[:, None]).flatten(0, 1)
        g, _ = _input_gradients(model, path, _expand(target, m, "integrated_gradients"),
                                batch_size, "integrated_gradients")  # (B * m, C, H, W)
    attr = d * g.view(B, m, *images.shape[1:]).mean(dim=1)  # (B, C, H, W)
    return Explanation(maps=attr.sum(dim=1), scores=clean, attributions=attr)


# ------------------------------------------------------------------ attention
def attention_maps(model: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    """Attention weights of every :class:`deep.layers.Attention` in ``model``.

    A forward hook on each attention layer recomputes ``softmax(q kᵀ / sqrt(d))`` from
    the layer's input with the layer's own projections (the explicit path), so the model
    keeps its fused ``scaled_dot_product_attention`` forward and its outputs are
    unchanged. The hooks are removed on return.

    Returns
    -------
    list of Tensor (B, num_heads, T, T)
        One per attention layer, in the order they ran; rows sum to 1.
    """
    from deep.layers.attention import Attention

    images = _check_images(images, "attention_maps")
    layers = [m for m in model.modules() if isinstance(m, Attention)]
    if not layers:
        raise ValueError(f"attention_maps: {type(model).__name__} has no deep.layers.Attention")
    maps: list[torch.Tensor] = []

    def hook(module, inputs, output):
        q, k, _ = module._qkv(inputs[0])  # each (B, h, T, hd)
        maps.append(((q * module.scale) @ k.transpose(-2, -1)).softmax(dim=-1))  # (B, h, T, T)

    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        with eval_mode(model), torch.no_grad():
            model(images)
    finally:
        for h in handles:
            h.remove()
    return maps


def attention_rollout(model: nn.Module, images: torch.Tensor, *,
                      head_fusion: str = "mean", residual: float = 0.5) -> Explanation:
    """Attention rollout (Abnar & Zuidema, 2020) of a Vision Transformer.

    Each layer's heads are fused (mean, max or min) into ``W``, the residual connection
    is added as ``Â = (1 - r) W + r I`` with rows renormalised, and the layers are
    multiplied, last on the left: ``R = Â_L ... Â_1``. The map is the class token's row
    of ``R`` over the patches (with average pooling and no class token: the mean of the
    patches' rows), reshaped to the patch grid; prefix tokens (registers) are dropped.

    Parameters
    ----------
    head_fusion : {"mean", "max", "min"}
    residual : float
        ``r`` in [0, 1]: 0.5 in the paper.

    Returns
    -------
    Explanation
        ``layer_maps (B, H / p, W / p)``, ``maps (B, H, W)``; no scores.

    References
    ----------
    S. Abnar, W. Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020,
    arXiv:2005.00928.
    """
    head_fusion = check_choice(head_fusion, "attention_rollout", "head_fusion",
                               ("mean", "max", "min"))
    r = check_real(residual, "attention_rollout", "residual", low=0.0, high=1.0)
    maps = attention_maps(model, images)
    B, _, T, _ = maps[0].shape
    eye = torch.eye(T, dtype=maps[0].dtype)
    rollout = eye.expand(B, T, T)
    for w in maps:
        fused = {"mean": w.mean(dim=1), "max": w.amax(dim=1), "min": w.amin(dim=1)}[head_fusion]
        a = (1 - r) * fused + r * eye  # (B, T, T)
        a = a / a.sum(dim=-1, keepdim=True)
        rollout = a @ rollout  # (B, T, T)
    prefix = int(getattr(model, "num_prefix_tokens", 0))
    has_cls = prefix > 0 and getattr(model, "cls_token", True) is not None
    row = rollout[:, 0] if has_cls else rollout[:, prefix:].mean(dim=1)  # (B, T)
    grid = tokens_to_grid(model, row[..., None], tuple(images.shape[-2:]))[:, 0]  # (B, gh, gw)
    return Explanation(maps=_upsample(grid.float(), tuple(images.shape[-2:])), layer_maps=grid)


# ------------------------------------------------------------------- overlays
# Perceptual colormaps (van der Walt & Smith's viridis, and inferno): 33 samples at
# t = 0, 1/32, ..., 1 of matplotlib's tables, linearly interpolated; within 0.017 of
# matplotlib's 256-entry tables (tests/deep/test_explain.py checks it where installed).
_VIRIDIS = np.array([
    (0.2670, 0.0049, 0.3294), (0.2770, 0.0503, 0.3757), (0.2823, 0.0950, 0.4173),
    (0.2829, 0.1359, 0.4534), (0.2788, 0.1755, 0.4834), (0.2706, 0.2141, 0.5071),
    (0.2590, 0.2515, 0.5247), (0.2450, 0.2877, 0.5373), (0.2297, 0.3224, 0.5457),
    (0.2143, 0.3556, 0.5512), (0.1994, 0.3876, 0.5546), (0.1856, 0.4186, 0.5568),
    (0.1727, 0.4488, 0.5579), (0.1607, 0.4785, 0.5581), (0.1490, 0.5081, 0.5573),
    (0.1378, 0.5375, 0.5549), (0.1276, 0.5669, 0.5506), (0.1206, 0.5964, 0.5436),
    (0.1206, 0.6258, 0.5335), (0.1323, 0.6550, 0.5197), (0.1579, 0.6838, 0.5017),
    (0.1966, 0.7118, 0.4792), (0.2461, 0.7389, 0.4520), (0.3041, 0.7647, 0.4199),
    (0.3692, 0.7889, 0.3829), (0.4401, 0.8111, 0.3410), (0.5160, 0.8312, 0.2943),
    (0.5958, 0.8487, 0.2433), (0.6785, 0.8637, 0.1895), (0.7624, 0.8764, 0.1371),
    (0.8456, 0.8873, 0.0997), (0.9261, 0.8973, 0.1041), (0.9932, 0.9062, 0.1439),
], np.float32)
_INFERNO = np.array([
    (0.0015, 0.0005, 0.0139), (0.0140, 0.0112, 0.0719), (0.0423, 0.0281, 0.1411),
    (0.0820, 0.0433, 0.2153), (0.1293, 0.0473, 0.2908), (0.1834, 0.0403, 0.3550),
    (0.2383, 0.0366, 0.3964), (0.2908, 0.0456, 0.4186), (0.3415, 0.0623, 0.4294),
    (0.3915, 0.0809, 0.4331), (0.4412, 0.0993, 0.4316), (0.4910, 0.1172, 0.4256),
    (0.5409, 0.1347, 0.4151), (0.5907, 0.1526, 0.4003), (0.6401, 0.1714, 0.3811),
    (0.6887, 0.1922, 0.3576), (0.7357, 0.2159, 0.3302), (0.7805, 0.2433, 0.2995),
    (0.8224, 0.2752, 0.2661), (0.8605, 0.3119, 0.2306), (0.8943, 0.3534, 0.1936),
    (0.9232, 0.3994, 0.1552), (0.9470, 0.4492, 0.1153), (0.9654, 0.5022, 0.0739),
    (0.9784, 0.5579, 0.0349), (0.9860, 0.6158, 0.0256), (0.9879, 0.6753, 0.0653),
    (0.9841, 0.7361, 0.1295), (0.9746, 0.7977, 0.2063), (0.9606, 0.8591, 0.2980),
    (0.9476, 0.9174, 0.4107), (0.9545, 0.9659, 0.5404), (0.9884, 0.9984, 0.6449),
], np.float32)
_COLORMAPS = {"viridis": _VIRIDIS, "inferno": _INFERNO}


def _to_numpy_map(heatmap, func: str) -> np.ndarray:
    if isinstance(heatmap, torch.Tensor):
        heatmap = heatmap.detach().cpu().float().numpy()
    if not isinstance(heatmap, np.ndarray) or heatmap.ndim != 2:
        raise ValueError(f"{func}: heatmap must be a 2-D array or tensor (h, w), got "
                         f"{describe(heatmap)}")
    heatmap = heatmap.astype(np.float32)
    if not np.isfinite(heatmap).all():
        raise ValueError(f"{func}: heatmap must be finite (no NaN or inf)")
    return heatmap


def colorize(values, *, colormap: str = "viridis", vmin: float | None = None,
             vmax: float | None = None) -> np.ndarray:
    """Map a 2-D array to RGB with a perceptual colormap.

    Parameters
    ----------
    values : ndarray or Tensor of shape (h, w)
    colormap : {"viridis", "inferno"}
    vmin, vmax : float, optional
        The values shown as the colormap's ends (default the array's min and max; a
        constant array maps to the low end).

    Returns
    -------
    ndarray of shape (h, w, 3), float32 in [0, 1]
    """
    colormap = check_choice(colormap, "colorize", "colormap", tuple(_COLORMAPS))
    v = _to_numpy_map(values, "colorize")
    lo = float(v.min()) if vmin is None else check_real(vmin, "colorize", "vmin")
    hi = float(v.max()) if vmax is None else check_real(vmax, "colorize", "vmax")
    t = np.clip((v - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(v)
    table = _COLORMAPS[colormap]
    pos = t * (len(table) - 1)
    i0 = np.minimum(pos.astype(np.int64), len(table) - 2)
    f = (pos - i0)[..., None]
    return ((1 - f) * table[i0] + f * table[i0 + 1]).astype(np.float32)  # (h, w, 3)


def overlay(image: np.ndarray, heatmap, *, alpha: float = 0.5,
            colormap: str = "viridis") -> np.ndarray:
    """Blend a heat map, min-max scaled and coloured, over an image.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, 3)
        Any dtype :func:`cvgeo.to_float` takes; grey images are shown grey.
    heatmap : ndarray or Tensor of shape (h, w)
        Resized to ``(H, W)`` with :func:`cvgeo.resize` (bilinear) when it differs.
    alpha : float
        Weight of the heat map in [0, 1].
    colormap : {"viridis", "inferno"}

    Returns
    -------
    ndarray of shape (H, W, 3), float32 in [0, 1]
        ``(1 - alpha) · image + alpha · colour(heatmap)``; write it with
        :func:`cvgeo.write_image`.
    """
    import cvgeo

    alpha = check_real(alpha, "overlay", "alpha", low=0.0, high=1.0)
    img = cvgeo.to_float(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"overlay: image must be (H, W) or (H, W, 3), got shape {img.shape}")
    hm = _to_numpy_map(heatmap, "overlay")
    if hm.shape != img.shape[:2]:
        hm = cvgeo.resize(hm, img.shape[:2], interpolation="bilinear")
    colour = colorize(hm, colormap=colormap)
    return np.clip((1 - alpha) * img + alpha * colour, 0.0, 1.0).astype(np.float32)


def write_overlays(path, images: Sequence[np.ndarray], heatmaps, *, columns: int = 8,
                   alpha: float = 0.5, colormap: str = "viridis", scale: int = 1,
                   pad: int = 2) -> Path:
    """Write a grid of overlays (each image with its heat map) with
    :func:`cvgeo.write_image`.

    Parameters
    ----------
    path : str or PathLike
        An image file (.png, ...).
    images : sequence of ndarray (H, W) or (H, W, 3), all the same size
    heatmaps : sequence of (h, w) arrays, or a Tensor (B, h, w)
    columns : int
    alpha, colormap
        As :func:`overlay`.
    scale : int
        Each tile is enlarged ``scale`` times (nearest neighbour) so small images stay
        legible.
    pad : int
        White pixels between tiles.

    Returns
    -------
    pathlib.Path
    """
    import cvgeo

    columns = check_int(columns, "write_overlays", "columns", low=1)
    scale = check_int(scale, "write_overlays", "scale", low=1)
    pad = check_int(pad, "write_overlays", "pad", low=0)
    if len(images) == 0 or len(images) != len(heatmaps):
        raise ValueError(f"write_overlays: images and heatmaps must be non-empty and of equal "
                         f"length, got {len(images)} and {len(heatmaps)}")
    tiles = [overlay(im, hm, alpha=alpha, colormap=colormap) for im, hm in zip(images, heatmaps)]
    if len({t.shape for t in tiles}) != 1:
        raise ValueError("write_overlays: images must all have the same size")
    tiles = [np.kron(t, np.ones((scale, scale, 1), np.float32)) for t in tiles]
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    cols = min(columns, len(tiles))
    canvas = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), np.float32)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        y0, x0 = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y0:y0 + h, x0:x0 + w] = t
    return cvgeo.write_image(path, canvas)


# ------------------------------------------------------- a sanity-check task
@dataclass(frozen=True)
class QuadrantBlobs:
    """Images whose class is decided by a blob in a known quadrant
    (see :func:`make_quadrant_blobs`).

    Attributes
    ----------
    images : ndarray of shape (N, S, S), float32 in [0, 1]
    labels : ndarray of shape (N,), int64
        The blob's kind: 0 disc, 1 ring, 2 square (``class_names``).
    quadrants : ndarray of shape (N,), int64
        Where the blob is: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.
    masks : ndarray of shape (N, S, S), bool
        The blob's quadrant (for :func:`pointing_game`).
    """

    images: np.ndarray
    labels: np.ndarray
    quadrants: np.ndarray
    masks: np.ndarray
    class_names: tuple[str, ...] = ("disc", "ring", "square")


def make_quadrant_blobs(n_samples: int = 512, *, image_size: int = 32, noise: float = 0.1,
                        distractor: bool = True, seed=0) -> QuadrantBlobs:
    """A task where the class is decided by a blob in a known quadrant.

    Each image holds one blob — a disc, a ring or a square (the label), radius 11–16 %
    of the side, brightness 0.7–1 — at a random place inside a random quadrant, and a
    distractor that carries no class information — a thin bar as bright as the blob —
    inside another quadrant, on Gaussian noise of standard deviation ``noise``, clipped
    to [0, 1]. A map whose maximum falls in the blob's quadrant points at the evidence
    (the pointing game of Zhang et al., ECCV 2016); one that points at the brightest
    thing may point at the bar. ``distractor=False`` leaves the bar out.
    """
    n = check_int(n_samples, "make_quadrant_blobs", "n_samples", low=1)
    s = check_int(image_size, "make_quadrant_blobs", "image_size", low=8)
    if s % 2:
        raise ValueError(f"make_quadrant_blobs: image_size must be even, got {s}")
    noise = check_real(noise, "make_quadrant_blobs", "noise", low=0.0)
    rng = check_seed(seed, "make_quadrant_blobs")
    h = s // 2
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float64)
    labels = rng.permutation(np.arange(n) % 3).astype(np.int64)
    quadrants = rng.integers(0, 4, n).astype(np.int64)
    images = np.empty((n, s, s), np.float32)
    masks = np.zeros((n, s, s), bool)
    for i, (label, q) in enumerate(zip(labels, quadrants)):
        qy, qx = divmod(int(q), 2)
        masks[i, qy * h:(qy + 1) * h, qx * h:(qx + 1) * h] = True
        r = rng.uniform(0.11, 0.16) * s
        cy = qy * h + rng.uniform(r + 0.5, h - r - 0.5)
        cx = qx * h + rng.uniform(r + 0.5, h - r - 0.5)
        peak = rng.uniform(0.7, 1.0)
        dist = np.hypot(xx - cx, yy - cy)
        if label == 0:
            blob = dist <= r
        elif label == 1:
            blob = (dist <= r) & (dist >= 0.55 * r)
        else:
            blob = (np.abs(xx - cx) <= 0.85 * r) & (np.abs(yy - cy) <= 0.85 * r)
        other = int(rng.choice([k for k in range(4) if k != q]))
        oy, ox = divmod(other, 2)
        by = oy * h + rng.uniform(0.3, 0.7) * h
        bx = ox * h + rng.uniform(0.3, 0.7) * h
        angle = rng.uniform(0, math.pi)
        u = (xx - bx) * math.cos(angle) + (yy - by) * math.sin(angle)  # along the bar
        v = -(xx - bx) * math.sin(angle) + (yy - by) * math.cos(angle)
        bar = (np.abs(u) <= 0.35 * h) & (np.abs(v) <= 0.75)
        if not distractor:
            bar = np.zeros_like(bar)
        img = np.where(blob | bar, peak, 0.0) + rng.normal(0, noise, (s, s))
        images[i] = np.clip(img, 0.0, 1.0)
    return QuadrantBlobs(images=images, labels=labels, quadrants=quadrants, masks=masks)


def pointing_game(maps, masks) -> float:
    """Fraction of maps whose maximum falls inside the mask (Zhang et al., 2016).

    Parameters
    ----------
    maps : Tensor or ndarray of shape (N, H, W)
    masks : ndarray or Tensor of shape (N, H, W), bool

    Returns
    -------
    float
        Hits / N. A map that is constant (no evidence) counts as a miss.

    References
    ----------
    J. Zhang, Z. Lin, J. Brandt, X. Shen, S. Sclaroff, "Top-down Neural Attention by
    Excitation Backprop", ECCV 2016, arXiv:1608.00507.
    """
    m = maps.detach().cpu().numpy() if isinstance(maps, torch.Tensor) else np.asarray(maps)
    k = masks.detach().cpu().numpy() if isinstance(masks, torch.Tensor) else np.asarray(masks)
    if m.ndim != 3 or k.shape != m.shape or m.shape[0] == 0:
        raise ValueError(f"pointing_game: maps and masks must be (N, H, W) of the same shape, "
                         f"got {describe(maps)} and {describe(masks)}")
    flat = m.reshape(len(m), -1)
    arg = flat.argmax(axis=1)
    constant = flat.max(axis=1) == flat.min(axis=1)
    hits = k.reshape(len(k), -1)[np.arange(len(k)), arg].astype(bool) & ~constant
    return float(hits.mean())
