"""The digits every generative model here trains on, as tensors, with one fixed split.

Resolution and range
--------------------
All generative models of :mod:`deep.generative` work on scikit-learn's digits at their
native **8x8** resolution, one channel, values scaled to **[-1, 1]** (the raw 0–16 counts
``v`` become ``v / 8 - 1``). The split is :func:`deep.data.load_digits`'s stratified split
with ``test_size=0.2, seed=0``: 1438 training and 359 held-out images. Nothing is
downloaded or cached: the digits ship with scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from cvgeo._checks import describe

__all__ = ["DigitsTensors", "digits_tensors", "to_unit", "IMAGE_SIZE"]

IMAGE_SIZE = 8  # side of every image the generative models see


@dataclass(frozen=True)
class DigitsTensors:
    """One split of the digits as tensors.

    Attributes
    ----------
    images : Tensor of shape (N, 1, 8, 8), float32 in [-1, 1]
    labels : Tensor of shape (N,), int64 in 0..9
    """

    images: torch.Tensor
    labels: torch.Tensor


def digits_tensors(split: Literal["train", "test"] = "train") -> DigitsTensors:
    """The fixed training (1438) or held-out (359) digits as ``(N, 1, 8, 8)`` in [-1, 1].

    Examples
    --------
    >>> d = digits_tensors("test")
    >>> tuple(d.images.shape), float(d.images.min()), float(d.images.max())
    ((359, 1, 8, 8), -1.0, 1.0)
    """
    if split not in ("train", "test"):
        raise ValueError(f"digits_tensors: split must be 'train' or 'test', got "
                         f"{describe(split)}")
    from deep.data import load_digits

    ds = getattr(load_digits(test_size=0.2, seed=0), split)
    images = torch.from_numpy(np.ascontiguousarray(ds.images, dtype=np.float32))
    images = (images * 2.0 - 1.0).unsqueeze(1)  # (N, 1, 8, 8), [0, 1] -> [-1, 1]
    labels = torch.from_numpy(np.asarray(ds.labels, dtype=np.int64))
    return DigitsTensors(images=images, labels=labels)


def to_unit(images: torch.Tensor) -> np.ndarray:
    """Model-range images ``(N, 1, H, W)`` in [-1, 1] → ``(N, H, W)`` float32 in [0, 1],
    clipped, for saving pictures."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"to_unit: images must be a (N, 1, H, W) tensor, got "
                         f"{describe(images)}")
    x = ((images.detach().float().cpu() + 1.0) / 2.0).clamp(0.0, 1.0)
    return x[:, 0].numpy()
