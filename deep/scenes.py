"""Synthetic detection scenes: images with several shapes of several classes, and their boxes.

Conventions
-----------
Images are float32 in [0, 1], ``(N, H, W)`` grey or ``(N, H, W, 3)`` colour, as in
:mod:`deep.data`. Boxes are xyxy float64 in the frame of :mod:`cvgeo.geometry.boxes`
(pixel centres at integer coordinates): each box is the tight box of the shape's
pixels, ``(c_min - 0.5, r_min - 0.5, c_max + 0.5, r_max + 0.5)``. Labels index
``class_names``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cvgeo._checks import check_int, check_real, check_seed, describe
from deep.data import images_to_tensor

__all__ = ["SCENE_SHAPES", "DetectionScenes", "make_detection_scenes"]

#: the shapes :func:`make_detection_scenes` can draw, one class each.
SCENE_SHAPES = ("circle", "square", "triangle", "ring", "cross")


def _shape_mask(kind: str, r: float, cx: float, cy: float, angle: float, xx: np.ndarray,
                yy: np.ndarray) -> np.ndarray:
    """Pixels (centres ``xx, yy``) inside a shape of circumradius ``r``, rotated by ``angle``."""
    u = (xx - cx) * math.cos(angle) + (yy - cy) * math.sin(angle)  # the shape's own frame
    v = -(xx - cx) * math.sin(angle) + (yy - cy) * math.cos(angle)
    if kind == "circle":
        return u * u + v * v <= r * r
    if kind == "ring":
        d2 = u * u + v * v
        return (d2 <= r * r) & (d2 >= (0.55 * r) ** 2)
    if kind == "square":
        half = r / math.sqrt(2)
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if kind == "cross":
        arm = 0.3 * r
        return ((np.abs(u) <= r) & (np.abs(v) <= arm)) | ((np.abs(v) <= r) & (np.abs(u) <= arm))
    # triangle: equilateral, circumradius r: three half-planes at distance r / 2
    inside = np.ones_like(u, dtype=bool)
    for k in range(3):
        a = math.pi / 2 + 2 * math.pi * k / 3
        inside &= u * math.cos(a) + v * math.sin(a) <= r / 2
    return inside


@dataclass(frozen=True)
class DetectionScenes:
    """Images with their objects' boxes and labels (see :func:`make_detection_scenes`).

    Attributes
    ----------
    images : ndarray of float32, shape (N, H, W) or (N, H, W, 3)
    boxes : list of N ndarrays (M_i, 4)
        xyxy, float64.
    labels : list of N ndarrays (M_i,)
        int64 indices into ``class_names``.
    class_names : tuple of str
    """

    images: np.ndarray
    boxes: list
    labels: list
    class_names: tuple

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def tensors(self) -> torch.Tensor:
        """The images as a float32 tensor ``(N, C, H, W)``."""
        return images_to_tensor(self.images, layout="NHWC" if self.images.ndim == 4 else "NHW")

    def ground_truths(self) -> list:
        """The objects as a list of :class:`deep.models.detection.GroundTruth`, for metrics."""
        from deep.models.detection.metrics import GroundTruth

        return [GroundTruth(b, lab) for b, lab in zip(self.boxes, self.labels)]

    def subset(self, index: Sequence[int] | slice) -> DetectionScenes:
        """The scenes at ``index`` (a slice or a list of ints)."""
        idx = range(len(self))[index] if isinstance(index, slice) else [int(i) for i in index]
        idx = list(idx)
        return DetectionScenes(self.images[idx], [self.boxes[i] for i in idx],
                               [self.labels[i] for i in idx], self.class_names)


def make_detection_scenes(
    n_images: int = 200,
    *,
    image_size: int = 64,
    classes: Sequence[str] = ("circle", "square", "triangle"),
    min_objects: int = 1,
    max_objects: int = 4,
    size_range: tuple[float, float] = (0.12, 0.3),
    max_iou: float = 0.0,
    channels: int = 1,
    noise: float = 0.05,
    seed=0,
) -> DetectionScenes:
    """Generate scenes of filled shapes on a dark background, with their boxes.

    Each image holds between ``min_objects`` and ``max_objects`` shapes (uniformly), each
    of a class drawn uniformly from ``classes``, with a random centre, size (its
    circumscribed circle's diameter a fraction ``size_range`` of the image side),
    rotation, and grey level in [0.5, 1] (with ``channels=3``, a random colour whose
    brightest channel is in [0.6, 1]). A shape is placed only where its box overlaps
    every earlier box with IoU <= ``max_iou`` (with the default 0, boxes do not overlap
    at all); after 100 failed tries the image has fewer objects. Gaussian noise of
    standard deviation ``noise`` is added and the image clipped to [0, 1].

    Parameters
    ----------
    n_images : int, optional
    image_size : int, optional
        >= 16; images are square.
    classes : sequence of str, optional
        A subset of :data:`SCENE_SHAPES`, in label order.
    min_objects, max_objects : int, optional
        ``1 <= min_objects <= max_objects``.
    size_range : (float, float), optional
        In (0, 1].
    max_iou : float, optional
        In [0, 1).
    channels : {1, 3}, optional
    noise : float, optional
        >= 0.
    seed : int, numpy.random.Generator or None, optional

    Returns
    -------
    DetectionScenes

    Examples
    --------
    >>> s = make_detection_scenes(2, image_size=32, seed=0)
    >>> s.images.shape, s.class_names
    ((2, 32, 32), ('circle', 'square', 'triangle'))
    """
    func = "make_detection_scenes"
    n_images = check_int(n_images, func, "n_images", low=1)
    image_size = check_int(image_size, func, "image_size", low=16)
    classes = tuple(classes) if isinstance(classes, (list, tuple)) else classes
    if not isinstance(classes, tuple) or not classes or any(c not in SCENE_SHAPES
                                                             for c in classes) \
            or len(set(classes)) != len(classes):
        raise ValueError(f"{func}: classes must be distinct names from {SCENE_SHAPES}, got "
                         f"{describe(classes)}")
    min_objects = check_int(min_objects, func, "min_objects", low=1)
    max_objects = check_int(max_objects, func, "max_objects", low=min_objects)
    if not isinstance(size_range, (tuple, list)) or len(size_range) != 2:
        raise ValueError(f"{func}: size_range must be a pair (low, high), got "
                         f"{describe(size_range)}")
    lo = check_real(size_range[0], func, "size_range[0]", low=0.0, high=1.0, low_inclusive=False)
    hi = check_real(size_range[1], func, "size_range[1]", low=lo, high=1.0)
    max_iou = check_real(max_iou, func, "max_iou", low=0.0, high=1.0, high_inclusive=False)
    if channels not in (1, 3) or isinstance(channels, bool):
        raise ValueError(f"{func}: channels must be 1 or 3, got {describe(channels)}")
    noise = check_real(noise, func, "noise", low=0.0)
    rng = check_seed(seed, func)
    s = image_size
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float64)
    shape = (n_images, s, s) if channels == 1 else (n_images, s, s, 3)
    images = np.zeros(shape, np.float32)
    all_boxes, all_labels = [], []
    for i in range(n_images):
        canvas = np.zeros((s, s, channels))
        n_obj = int(rng.integers(min_objects, max_objects + 1))
        boxes, labels = [], []
        tries = 0
        while len(boxes) < n_obj and tries < 100:
            tries += 1
            label = int(rng.integers(len(classes)))
            r = 0.5 * s * rng.uniform(lo, hi)
            cx, cy = rng.uniform(r - 0.5, s - 0.5 - r, size=2)
            mask = _shape_mask(classes[label], r, cx, cy, rng.uniform(0, 2 * math.pi), xx, yy)
            rows, cols = np.nonzero(mask)
            if rows.size == 0:
                continue
            box = np.array([cols.min() - 0.5, rows.min() - 0.5, cols.max() + 0.5,
                            rows.max() + 0.5])
            if boxes and _max_iou(box, np.array(boxes)) > max_iou:
                continue
            if channels == 1:
                colour = np.array([rng.uniform(0.5, 1.0)])
            else:
                colour = rng.uniform(0.1, 1.0, 3)
                colour *= rng.uniform(0.6, 1.0) / colour.max()
            canvas[mask] = colour
            boxes.append(box)
            labels.append(label)
        canvas += rng.normal(0.0, noise, canvas.shape) if noise > 0 else 0.0
        img = np.clip(canvas, 0.0, 1.0)
        images[i] = img[..., 0] if channels == 1 else img
        all_boxes.append(np.array(boxes, dtype=np.float64).reshape(-1, 4))
        all_labels.append(np.array(labels, dtype=np.int64))
    return DetectionScenes(images, all_boxes, all_labels, classes)


def _max_iou(box: np.ndarray, others: np.ndarray) -> float:
    from cvgeo.geometry.boxes import box_iou

    # strictly positive IoU is what max_iou = 0 forbids; touching boxes (IoU 0) are allowed
    return float(box_iou(box[None], others).max())
