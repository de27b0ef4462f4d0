"""A sanity-check task with known evidence (a blob in a known quadrant) and the pointing
game that scores maps against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cvgeo._checks import check_int, check_real, check_seed, describe


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


class QuadrantCNN(nn.Module):
    """The small CNN the quadrant task is measured with: CAM's architecture.

    conv-BN-ReLU x3 (16, 32, 32 channels, 3x3, a 2x2 max pool after the first) → global
    average pooling → linear. Its last ReLU (``features.8``) is local (a 12-pixel
    receptive field) and is read the same way at every position, the two conditions under
    which CAM and Grad-CAM localise (see :mod:`deep.explain`).

    Parameters
    ----------
    num_classes : int
        Output logits (3 for :func:`make_quadrant_blobs`).
    in_chans : int
        Input channels.
    """

    def __init__(self, *, num_classes: int = 3, in_chans: int = 1):
        super().__init__()
        num_classes = check_int(num_classes, "QuadrantCNN", "num_classes", low=1)
        in_chans = check_int(in_chans, "QuadrantCNN", "in_chans", low=1)
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU())
        self.head = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` of images ``(B, in_chans, H, W)``."""
        return self.head(self.features(x).mean(dim=(2, 3)))


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
