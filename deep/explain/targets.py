"""What is explained and what comes back: targets that turn a model's output into one
score per image, and the :class:`Explanation` every method returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cvgeo._checks import check_int, check_real, describe


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
