"""Generated segmentation scenes, joint image/mask augmentation and a segmentation dataset.

Conventions
-----------
A scene set holds grey images ``(N, H, W)`` float32 in [0, 1], class maps ``labels``
``(N, H, W)`` int64 (0 = background) and object ids ``instances`` ``(N, H, W)`` int32
(0 = background, ``1..n`` per image). Geometry follows cvgeo: pixel centres at integer
coordinates, ``(x, y)`` = (column, row). Numpy arrays become tensors only through
:func:`deep.data.images_to_tensor` and :func:`deep.data.masks_to_tensor`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from skimage import draw

from cvgeo._checks import check_int, check_real, check_seed, describe
from cvgeo.geometry.warp import warp
from deep.data import RandomAffine, RandomHomography, images_to_tensor, masks_to_tensor

__all__ = ["JointWarp", "SCENE_CLASSES", "SegmentationDataset", "SegmentationScenes",
           "make_segmentation_scenes", "make_touching_scenes"]

SCENE_CLASSES = ("background", "circle", "square", "triangle")


@dataclass(frozen=True)
class SegmentationScenes:
    """Images with per-pixel classes and object ids.

    Attributes
    ----------
    images : ndarray of float32, shape (N, H, W)
    labels : ndarray of int64, shape (N, H, W)
        Class per pixel, indices into ``class_names`` (0 = background).
    instances : ndarray of int32, shape (N, H, W)
        Object id per pixel, 0 = background; where objects overlap the one drawn last
        (on top) owns the pixel.
    class_names : tuple of str
    """

    images: np.ndarray
    labels: np.ndarray
    instances: np.ndarray
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _check_range(value, func: str, name: str, low: float, integer: bool = False):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{func}: {name} must be a pair (low, high), got {describe(value)}")
    check = check_int if integer else check_real
    lo = check(value[0], func, f"{name}[0]", low=low)
    hi = check(value[1], func, f"{name}[1]", low=lo)
    return lo, hi


def _shape_mask(kind: int, cy: float, cx: float, r: float, angle: float,
                shape: tuple[int, int]) -> np.ndarray:
    """Filled circle (1), square (2) or equilateral triangle (3) of circumradius ``r``."""
    mask = np.zeros(shape, bool)
    if kind == 1:
        rr, cc = draw.disk((cy, cx), r, shape=shape)
    else:
        n = 4 if kind == 2 else 3
        a = angle + 2 * np.pi * np.arange(n) / n
        rr, cc = draw.polygon(cy + r * np.sin(a), cx + r * np.cos(a), shape=shape)
    mask[rr, cc] = True
    return mask


def _scene_arrays(func: str, n_samples, image_size):
    """Validated ``n_samples`` and ``image_size`` (an int or a pair (H, W), each >= 16) and the
    empty ``images (n, H, W)`` float32, ``labels`` int64 and ``instances`` int32 they fill."""
    n = check_int(n_samples, func, "n_samples", low=1)
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
        raise ValueError(f"{func}: image_size must be an int or a pair (H, W), got "
                         f"{describe(image_size)}")
    h = check_int(image_size[0], func, "image_size[0]", low=16)
    w = check_int(image_size[1], func, "image_size[1]", low=16)
    return (n, h, w, np.empty((n, h, w), np.float32), np.zeros((n, h, w), np.int64),
            np.zeros((n, h, w), np.int32))


def make_segmentation_scenes(n_samples: int = 100, *, image_size: int | tuple[int, int] = 64,
                             n_objects: tuple[int, int] = (2, 5),
                             radius: tuple[float, float] = (0.1, 0.2),
                             max_overlap: float = 0.3, noise: float = 0.05,
                             seed=0) -> SegmentationScenes:
    """Grey scenes of overlapping circles, squares and triangles on a noisy background.

    Each image gets a background level ``U(0, 0.35)`` and ``U(n_objects)`` objects, each a
    random class (circle, square, triangle), circumradius ``U(radius) · min(H, W)``,
    rotation, centre inside the image and grey level ``U(0.5, 1)``, drawn in order so
    later objects occlude earlier ones. An object is redrawn (up to 20 times, then
    dropped) when more than ``max_overlap`` of its area would cover earlier objects.
    Gaussian noise of standard deviation ``noise`` is added and the image clipped to
    [0, 1]. The class must be told from the shape: levels do not depend on the class.

    Parameters
    ----------
    n_samples : int
    image_size : int or (int, int)
        ``(H, W)``; any size from 16 up.
    n_objects : (int, int)
        Inclusive range of objects per image.
    radius : (float, float)
        Range of circumradii as fractions of ``min(H, W)``.
    max_overlap : float in [0, 1]
    noise : float >= 0
    seed : int, numpy.random.Generator or None

    Returns
    -------
    SegmentationScenes
        ``class_names = SCENE_CLASSES`` (background, circle, square, triangle).
    """
    func = "make_segmentation_scenes"
    n_samples, h, w, images, labels, instances = _scene_arrays(func, n_samples, image_size)
    n_lo, n_hi = _check_range(n_objects, func, "n_objects", 0, integer=True)
    r_lo, r_hi = _check_range(radius, func, "radius", 0.02)
    if r_hi > 0.45:
        raise ValueError(f"{func}: radius must be at most 0.45 of the image side, got {r_hi}")
    max_overlap = check_real(max_overlap, func, "max_overlap", low=0.0, high=1.0)
    noise = check_real(noise, func, "noise", low=0.0)
    rng = check_seed(seed, func)
    side = min(h, w)
    for i in range(n_samples):
        img = np.full((h, w), rng.uniform(0.0, 0.35))
        occupied = np.zeros((h, w), bool)
        n_placed = 0
        for _ in range(int(rng.integers(n_lo, n_hi + 1))):
            kind = int(rng.integers(1, 4))
            level = rng.uniform(0.5, 1.0)
            for _attempt in range(20):
                r = rng.uniform(r_lo, r_hi) * side
                cy = rng.uniform(r, h - 1 - r)
                cx = rng.uniform(r, w - 1 - r)
                mask = _shape_mask(kind, cy, cx, r, rng.uniform(0, 2 * np.pi), (h, w))
                area = mask.sum()
                if area and (mask & occupied).sum() <= max_overlap * area:
                    break
            else:
                continue
            n_placed += 1
            img[mask] = level
            labels[i][mask] = kind
            instances[i][mask] = n_placed
            occupied |= mask
        images[i] = np.clip(img + rng.normal(0.0, noise, (h, w)), 0.0, 1.0)
    return SegmentationScenes(images, labels, instances, SCENE_CLASSES)


def make_touching_scenes(n_samples: int = 100, *, image_size: int | tuple[int, int] = 64,
                         n_objects: tuple[int, int] = (4, 9),
                         radius: tuple[float, float] = (0.08, 0.14),
                         squeeze: tuple[float, float] = (0.75, 0.95),
                         gap_contrast: float = 0.4, noise: float = 0.05,
                         seed=0) -> SegmentationScenes:
    """Grey scenes of round objects pressed against each other, like cells in a tissue.

    The first disc is placed at random; each further disc is centred at distance
    ``U(squeeze) · (r + r')`` from a random earlier disc (so the two overlap) and kept
    when it stays inside the image and no closer than ``squeeze[0] · (r + r'')`` to any
    other disc. Where discs overlap, a pixel belongs to the disc of smallest power
    distance ``|x - c|^2 - r^2`` (a straight dividing line). The pixels of each
    dividing line (4-neighbours of a different object, on the side of the larger id)
    are background in ``labels`` and ``instances``: the one-pixel gaps that U-Net's
    border weights emphasise. In the image a gap pixel is
    ``gap_contrast · background + (1 - gap_contrast) · object level``: a faint line.

    Parameters
    ----------
    n_samples : int
    image_size : int or (int, int)
    n_objects : (int, int)
        Inclusive range of discs tried per image.
    radius : (float, float)
        Radii as fractions of ``min(H, W)``.
    squeeze : (float, float) in (0, 1]
        How far neighbours are pushed together (1: just touching).
    gap_contrast : float in [0, 1]
        0: the gaps are invisible in the image; 1: they have the background's level.
    noise : float >= 0
    seed : int, numpy.random.Generator or None

    Returns
    -------
    SegmentationScenes
        ``class_names = ("background", "object")``.
    """
    func = "make_touching_scenes"
    n_samples, h, w, images, labels, instances = _scene_arrays(func, n_samples, image_size)
    n_lo, n_hi = _check_range(n_objects, func, "n_objects", 1, integer=True)
    r_lo, r_hi = _check_range(radius, func, "radius", 0.02)
    if r_hi > 0.3:
        raise ValueError(f"{func}: radius must be at most 0.3 of the image side, got {r_hi}")
    s_lo, s_hi = _check_range(squeeze, func, "squeeze", 0.1)
    if s_hi > 1.0:
        raise ValueError(f"{func}: squeeze must lie in (0, 1], got {(s_lo, s_hi)}")
    gap_contrast = check_real(gap_contrast, func, "gap_contrast", low=0.0, high=1.0)
    noise = check_real(noise, func, "noise", low=0.0)
    rng = check_seed(seed, func)
    side = min(h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for i in range(n_samples):
        discs: list[tuple[float, float, float]] = []  # (cy, cx, r)
        for _ in range(int(rng.integers(n_lo, n_hi + 1))):
            for _attempt in range(30):
                r = rng.uniform(r_lo, r_hi) * side
                if not discs:
                    cy, cx = rng.uniform(r, h - 1 - r), rng.uniform(r, w - 1 - r)
                else:
                    py, px, pr = discs[int(rng.integers(len(discs)))]
                    d = rng.uniform(s_lo, s_hi) * (r + pr)
                    a = rng.uniform(0, 2 * np.pi)
                    cy, cx = py + d * math.sin(a), px + d * math.cos(a)
                inside = r <= cy <= h - 1 - r and r <= cx <= w - 1 - r
                if inside and all(math.hypot(cy - qy, cx - qx) >= s_lo * (r + qr) - 1e-9
                                  for qy, qx, qr in discs):
                    discs.append((cy, cx, r))
                    break
        # power distance to every disc: (n, H, W); inside a disc where it is <= 0
        power = np.stack([(yy - cy) ** 2 + (xx - cx) ** 2 - r * r for cy, cx, r in discs])
        owner = power.argmin(0)
        inst = np.where(power.min(0) <= 0, owner + 1, 0).astype(np.int32)
        gap = np.zeros((h, w), bool)  # the larger id's side of each dividing line
        gap[:, :-1] |= (inst[:, :-1] > inst[:, 1:]) & (inst[:, 1:] > 0)  # right neighbour
        gap[:, 1:] |= (inst[:, 1:] > inst[:, :-1]) & (inst[:, :-1] > 0)  # left
        gap[:-1] |= (inst[:-1] > inst[1:]) & (inst[1:] > 0)  # below
        gap[1:] |= (inst[1:] > inst[:-1]) & (inst[:-1] > 0)  # above
        levels = rng.uniform(0.55, 1.0, size=len(discs))
        bg = rng.uniform(0.0, 0.3)
        img = np.where(inst > 0, levels[np.maximum(inst - 1, 0)], bg)
        img = np.where(gap, gap_contrast * bg + (1 - gap_contrast) * img, img)
        inst[gap] = 0
        images[i] = np.clip(img + rng.normal(0.0, noise, (h, w)), 0.0, 1.0)
        instances[i] = inst
        labels[i] = inst > 0
    return SegmentationScenes(images, labels, instances, ("background", "object"))


class JointWarp:
    """One random warp applied to an image and its masks together (cvgeo's warp).

    Parameters
    ----------
    augment : RandomAffine or RandomHomography
        Draws the matrix (:meth:`~deep.data.RandomAffine.sample_matrix`) and sets how the
        image is interpolated (its ``interpolation``, ``border`` and ``fill``).
    mask_fill : int
        Value of mask pixels that come from outside the source (0 = background, or an
        ``ignore_index`` to leave them out of the loss).

    Notes
    -----
    Masks are warped with nearest-neighbour interpolation and a constant border, so class
    indices and object ids stay exact integers (they are carried through cvgeo's float32
    warp, exact up to 2**24).

    Examples
    --------
    >>> import numpy as np
    >>> from deep.data import RandomAffine
    >>> jw = JointWarp(RandomAffine(seed=0))
    >>> img, mask = jw(np.zeros((8, 8), np.float32), np.ones((8, 8), np.int64))
    >>> img.shape, mask.dtype
    ((8, 8), dtype('int64'))
    """

    def __init__(self, augment: RandomAffine | RandomHomography, *, mask_fill: int = 0):
        if not isinstance(augment, (RandomAffine, RandomHomography)):
            raise TypeError(f"JointWarp: augment must be a deep.data.RandomAffine or "
                            f"RandomHomography, got {describe(augment)}")
        self.augment = augment
        self.mask_fill = check_int(mask_fill, "JointWarp", "mask_fill")

    def __call__(self, image: np.ndarray, *masks: np.ndarray) -> tuple[np.ndarray, ...]:
        """Return ``(warped image, *warped masks)``; masks keep their dtype."""
        a = self.augment
        H = a.sample_matrix(image.shape)
        out = [warp(image, H, output_shape=image.shape[:2], interpolation=a.interpolation,
                    border=a.border, cval=a.fill)]
        for m in masks:
            if not isinstance(m, np.ndarray) or m.dtype.kind not in "iub" \
                    or m.shape != image.shape[:2]:
                raise ValueError(f"JointWarp: every mask must be an integer array of shape "
                                 f"{image.shape[:2]}, got {describe(m)}")
            if m.size and (np.abs(m).max() >= 2 ** 24 or abs(self.mask_fill) >= 2 ** 24):
                raise ValueError("JointWarp: mask values must be below 2**24 in magnitude "
                                 "(they pass through float32)")
            warped = warp(m.astype(np.float32), H, output_shape=m.shape,
                          interpolation="nearest", border="constant",
                          cval=float(self.mask_fill))
            out.append(np.rint(warped).astype(m.dtype))
        return tuple(out)

    def __repr__(self) -> str:
        return f"JointWarp({self.augment!r}, mask_fill={self.mask_fill})"


class SegmentationDataset(torch.utils.data.Dataset):
    """Images with class maps (and optional object ids), served as dicts of tensors.

    Parameters
    ----------
    images : ndarray of shape (N, H, W) or (N, H, W, C)
        Float images in [0, 1].
    labels : ndarray of int, shape (N, H, W)
    instances : ndarray of int, shape (N, H, W), optional
        Object ids; zeros when not given.
    transform : JointWarp, optional
        Applied to the image, labels and instances together.
    weight_fn : callable, optional
        ``weight_fn(instances, labels) -> (H, W)`` float pixel weights, computed after
        the transform (e.g. ``lambda inst, lab: unet_weight_map(inst)``); ones when not
        given.

    Notes
    -----
    ``dataset[i]`` is a dict: ``"image"`` float32 ``(C, H, W)``, ``"labels"`` int64
    ``(H, W)``, ``"instances"`` int64 ``(H, W)``, ``"weight"`` float32 ``(H, W)``;
    ``DataLoader`` stacks them into batches. Keep ``num_workers=0`` for reproducible
    augmentation (the transform owns its generator).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, *,
                 instances: np.ndarray | None = None, transform: JointWarp | None = None,
                 weight_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None):
        func = "SegmentationDataset"
        if not isinstance(images, np.ndarray) or images.ndim not in (3, 4):
            raise ValueError(f"{func}: images must be a numpy array (N, H, W) or (N, H, W, C), "
                             f"got {describe(images)}")
        n, h, w = images.shape[:3]
        for name, m in (("labels", labels), ("instances", instances)):
            if m is None:
                continue
            if not isinstance(m, np.ndarray) or m.dtype.kind not in "iub" or m.shape != (n, h, w):
                raise ValueError(f"{func}: {name} must be an integer array of shape "
                                 f"({n}, {h}, {w}), got {describe(m)}")
        if transform is not None and not isinstance(transform, JointWarp):
            raise TypeError(f"{func}: transform must be a JointWarp or None, got "
                            f"{describe(transform)}")
        if weight_fn is not None and not callable(weight_fn):
            raise TypeError(f"{func}: weight_fn must be callable or None, got "
                            f"{describe(weight_fn)}")
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        self.labels = labels
        self.instances = instances if instances is not None else np.zeros_like(labels)
        self.transform = transform
        self.weight_fn = weight_fn

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image, lab, inst = self.images[index], self.labels[index], self.instances[index]
        if self.transform is not None:
            image, lab, inst = self.transform(image, lab, inst)
        if self.weight_fn is not None:
            weight = np.asarray(self.weight_fn(inst, lab), dtype=np.float32)
            if weight.shape != lab.shape:
                raise ValueError(f"SegmentationDataset: weight_fn must return shape "
                                 f"{lab.shape}, got {weight.shape}")
        else:
            weight = np.ones(lab.shape, np.float32)
        layout = "HWC" if image.ndim == 3 else "HW"
        return {
            "image": images_to_tensor(np.asarray(image, np.float32), layout=layout)[0],
            "labels": masks_to_tensor(lab, layout="HW")[0],
            "instances": masks_to_tensor(inst, layout="HW")[0],
            "weight": torch.from_numpy(weight),
        }
