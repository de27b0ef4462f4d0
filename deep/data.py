"""Datasets and transforms: where numpy images become ``(N, C, H, W)`` tensors.

Conventions
-----------
``cvgeo`` images are numpy arrays, channel-last: ``(H, W)`` or ``(H, W, C)``, float32 in
[0, 1] after :func:`cvgeo.to_float`. Models take float32 tensors ``(N, C, H, W)``. This
module is the only place that converts between the two, through
:func:`images_to_tensor` and :func:`tensor_to_images` with a *named* numpy layout:

======== =================== ==================================
layout   numpy shape          meaning
======== =================== ==================================
"HW"     (H, W)               one grey image
"HWC"    (H, W, C)            one image with channels last
"NHW"    (N, H, W)            a stack of grey images
"NHWC"   (N, H, W, C)         a stack of images with channels last
======== =================== ==================================

Transforms act on one numpy image ``(H, W)`` or ``(H, W, C)`` and return float32; the
random ones own a ``numpy.random.Generator`` made from their ``seed`` (int, Generator
or None), so the same seed gives the same stream of augmentations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

import cvgeo
from cvgeo._checks import check_choice, check_int, check_real, check_seed, describe
from cvgeo.geometry.warp import warp

__all__ = [
    "Layout", "images_to_tensor", "masks_to_tensor", "tensor_to_images",
    "ArrayDataset", "DatasetSplit", "load_digits", "load_faces", "make_shapes",
    "stratified_split",
    "Compose", "Normalize", "Resize", "RandomAffine", "RandomHomography",
]

Layout = Literal["HW", "HWC", "NHW", "NHWC"]
_LAYOUT_NDIM = {"HW": 2, "HWC": 3, "NHW": 3, "NHWC": 4}


# ------------------------------------------------------------------ conversion
def _check_layout(layout, func: str) -> str:
    if layout not in _LAYOUT_NDIM:
        raise ValueError(f"{func}: layout must be one of 'HW', 'HWC', 'NHW', 'NHWC', got "
                         f"{describe(layout)}")
    return layout


def images_to_tensor(images: np.ndarray, *, layout: Layout) -> torch.Tensor:
    """Convert numpy images to a float32 tensor ``(N, C, H, W)``.

    Parameters
    ----------
    images : ndarray
        Shaped as ``layout`` says (see the module's table); uint8, uint16, bool, float32 or
        float64. Integer images are scaled to [0, 1] by their dtype (uint8 / 255,
        uint16 / 65535) exactly as :func:`cvgeo.to_float` does; floats are kept as they are
        (normalised images may be negative).
    layout : {"HW", "HWC", "NHW", "NHWC"}
        The layout of ``images`` (required: ``(8, 8, 3)`` could be either "HWC" or "NHW").

    Returns
    -------
    Tensor of shape (N, C, H, W), float32, contiguous, on the CPU
        ``N = 1`` for a single image, ``C = 1`` for grey layouts.

    Raises
    ------
    TypeError
        Not a numpy array, or an unsupported dtype.
    ValueError
        Unknown layout, a shape that does not match it, or NaN/inf values.

    Examples
    --------
    >>> import numpy as np
    >>> images_to_tensor(np.zeros((4, 5, 3), np.uint8), layout="HWC").shape
    torch.Size([1, 3, 4, 5])
    """
    layout = _check_layout(layout, "images_to_tensor")
    if not isinstance(images, np.ndarray):
        what = type(images).__name__ if isinstance(images, (list, tuple)) else describe(images)
        raise TypeError(f"images_to_tensor: images must be a numpy array, got {what}; stack a "
                        "list of images with numpy.stack first")
    if images.ndim != _LAYOUT_NDIM[layout]:
        raise ValueError(f"images_to_tensor: images must have {_LAYOUT_NDIM[layout]} dimensions "
                         f"for layout={layout!r}, got shape {images.shape}")
    if 0 in images.shape:
        raise ValueError(f"images_to_tensor: images must be non-empty, got shape {images.shape}")
    # Named layout → canonical (N, H, W, C), then one permute to (N, C, H, W).
    x = images
    if "N" not in layout:
        x = x[None]  # (1, H, W[, C])
    if "C" not in layout:
        x = x[..., None]  # (N, H, W, 1)
    n, h, w, c = x.shape
    # cvgeo.to_float validates (dtype, NaN/inf) and applies the dtype scaling; it works on
    # an (H, W, C) image, so the stack is viewed as one tall image (N * H, W, C).
    flat = cvgeo.to_float(x.reshape(n * h, w, c))  # (N*H, W, C) float32
    nhwc = torch.from_numpy(np.ascontiguousarray(flat)).reshape(n, h, w, c)  # (N, H, W, C)
    return nhwc.permute(0, 3, 1, 2).contiguous()  # (N, C, H, W)


def tensor_to_images(tensor: torch.Tensor, *, layout: Layout = "NHWC") -> np.ndarray:
    """Convert a tensor ``(N, C, H, W)`` back to numpy images in a named layout.

    Parameters
    ----------
    tensor : Tensor of shape (N, C, H, W)
        Any device and floating dtype; detached and copied to the CPU.
    layout : {"HW", "HWC", "NHW", "NHWC"}
        Layouts without ``N`` need ``N == 1``; layouts without ``C`` need ``C == 1``.

    Returns
    -------
    ndarray of float32 in ``layout``
        Values are not rescaled (use :func:`cvgeo.denormalize` for normalised images).
    """
    layout = _check_layout(layout, "tensor_to_images")
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor_to_images: tensor must be a torch.Tensor, got {describe(tensor)}")
    if tensor.ndim != 4:
        raise ValueError(f"tensor_to_images: tensor must be (N, C, H, W), got shape "
                         f"{tuple(tensor.shape)}")
    n, c = tensor.shape[:2]
    if "N" not in layout and n != 1:
        raise ValueError(f"tensor_to_images: layout={layout!r} holds one image, got N={n} in "
                         f"shape {tuple(tensor.shape)}")
    if "C" not in layout and c != 1:
        raise ValueError(f"tensor_to_images: layout={layout!r} is grey, got C={c} in shape "
                         f"{tuple(tensor.shape)}")
    x = tensor.detach().to("cpu", torch.float32).permute(0, 2, 3, 1)  # (N, H, W, C)
    out = x.numpy()
    if "C" not in layout:
        out = out[..., 0]  # (N, H, W)
    if "N" not in layout:
        out = out[0]  # (H, W[, C])
    return np.ascontiguousarray(out, dtype=np.float32)


def masks_to_tensor(masks: np.ndarray, *, layout: Literal["HW", "NHW"]) -> torch.Tensor:
    """Convert integer label masks to an int64 tensor ``(N, H, W)`` (no scaling).

    Parameters
    ----------
    masks : ndarray of int or bool
        One mask ``(H, W)`` (``layout="HW"``) or a stack ``(N, H, W)`` (``"NHW"``) of class
        indices or instance ids; values are kept as they are (unlike
        :func:`images_to_tensor`, which scales uint8 by 1/255).
    layout : {"HW", "NHW"}

    Returns
    -------
    Tensor of shape (N, H, W), int64, contiguous, on the CPU

    Raises
    ------
    TypeError
        Not a numpy array, or not integer/bool (float masks must be rounded by the caller).
    ValueError
        Unknown layout or a shape that does not match it.

    Examples
    --------
    >>> import numpy as np
    >>> masks_to_tensor(np.ones((4, 5), np.uint8), layout="HW").shape
    torch.Size([1, 4, 5])
    """
    if layout not in ("HW", "NHW"):
        raise ValueError(f"masks_to_tensor: layout must be 'HW' or 'NHW', got {describe(layout)}")
    if not isinstance(masks, np.ndarray):
        raise TypeError(f"masks_to_tensor: masks must be a numpy array, got {describe(masks)}")
    if masks.dtype.kind not in "iub":
        raise TypeError(f"masks_to_tensor: masks must hold integer labels, got dtype "
                        f"{masks.dtype}")
    if masks.ndim != _LAYOUT_NDIM[layout] or 0 in masks.shape:
        raise ValueError(f"masks_to_tensor: masks must be non-empty with {_LAYOUT_NDIM[layout]} "
                         f"dimensions for layout={layout!r}, got shape {masks.shape}")
    x = masks if layout == "NHW" else masks[None]  # (N, H, W)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64))


# -------------------------------------------------------------------- datasets
class ArrayDataset(torch.utils.data.Dataset):
    """Labelled numpy images served as ``(tensor (C, H, W), label)`` pairs.

    Parameters
    ----------
    images : ndarray of shape (N, H, W) or (N, H, W, C)
        Float images in [0, 1] (converted to float32 once, here).
    labels : ndarray of shape (N,)
        Integer class indices in ``[0, len(class_names))``.
    class_names : sequence of str
    transform : callable, optional
        Applied to each ``(H, W)`` / ``(H, W, C)`` float32 image before conversion
        (augmentation, normalisation); see :class:`Compose`.

    Notes
    -----
    Random transforms own their generator: with ``DataLoader(num_workers > 0)`` each
    worker would copy it, so keep ``num_workers=0`` (the default) for reproducible runs.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, *, class_names: Sequence[str],
                 transform: Callable[[np.ndarray], np.ndarray] | None = None):
        if not isinstance(images, np.ndarray) or images.ndim not in (3, 4):
            raise ValueError(f"ArrayDataset: images must be a numpy array (N, H, W) or "
                             f"(N, H, W, C), got {describe(images)}")
        labels = np.asarray(labels)
        if labels.shape != (images.shape[0],) or labels.dtype.kind not in "iu":
            raise ValueError(f"ArrayDataset: labels must be integers of shape "
                             f"({images.shape[0]},), got {describe(labels)}")
        class_names = tuple(str(c) for c in class_names)
        if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
            raise ValueError(f"ArrayDataset: labels must lie in [0, {len(class_names) - 1}] (one "
                             f"per class name), got range [{labels.min()}, {labels.max()}]")
        if transform is not None and not callable(transform):
            raise TypeError(f"ArrayDataset: transform must be callable or None, got "
                            f"{describe(transform)}")
        self.layout: Layout = "NHWC" if images.ndim == 4 else "NHW"
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        self.labels = labels.astype(np.int64)
        self.class_names = class_names
        self.transform = transform

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index]  # (H, W[, C])
        if self.transform is not None:
            image = self.transform(image)
        layout = "HWC" if image.ndim == 3 else "HW"
        return images_to_tensor(np.asarray(image), layout=layout)[0], int(self.labels[index])

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All images (transformed, if a transform is set) as ``(N, C, H, W)`` plus labels."""
        if self.transform is None:
            return images_to_tensor(self.images, layout=self.layout), torch.from_numpy(
                self.labels)
        xs = [self[i][0] for i in range(len(self))]
        return torch.stack(xs), torch.from_numpy(self.labels)

    def with_transform(self, transform: Callable[[np.ndarray], np.ndarray] | None
                       ) -> ArrayDataset:
        """The same images and labels (shared, not copied) with another transform."""
        return ArrayDataset(self.images, self.labels, class_names=self.class_names,
                            transform=transform)


@dataclass(frozen=True)
class DatasetSplit:
    """A stratified train/test split of one dataset."""

    train: ArrayDataset
    test: ArrayDataset

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.train.class_names


def stratified_split(labels: np.ndarray, *, test_size: float = 0.2, seed=0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified random split: each class keeps its proportion in the test set.

    Parameters
    ----------
    labels : ndarray of shape (N,), integers
    test_size : float in (0, 1)
        Fraction of each class held out (rounded per class, at least one sample per
        class with two or more samples).
    seed : int, numpy.random.Generator or None

    Returns
    -------
    (train_indices, test_indices) : two sorted int64 arrays that partition ``range(N)``
    """
    test_size = check_real(test_size, "stratified_split", "test_size", low=0.0, high=1.0,
                           low_inclusive=False, high_inclusive=False)
    rng = check_seed(seed, "stratified_split")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"stratified_split: labels must be a 1-D integer array, got "
                         f"{describe(labels)}")
    test = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n_test = int(round(test_size * idx.size))
        if idx.size >= 2:
            n_test = min(max(n_test, 1), idx.size - 1)
        test.append(rng.permutation(idx)[:n_test])
    test_idx = np.sort(np.concatenate(test)).astype(np.int64)
    train_idx = np.setdiff1d(np.arange(labels.size), test_idx).astype(np.int64)
    return train_idx, test_idx


def _split(images, labels, class_names, test_size, seed, func) -> DatasetSplit:
    train_idx, test_idx = stratified_split(labels, test_size=test_size,
                                           seed=check_seed(seed, func))
    return DatasetSplit(
        train=ArrayDataset(images[train_idx], labels[train_idx], class_names=class_names),
        test=ArrayDataset(images[test_idx], labels[test_idx], class_names=class_names),
    )


def load_digits(*, test_size: float = 0.2, seed=0) -> DatasetSplit:
    """scikit-learn's 8x8 handwritten digits (1797 images, 10 classes), split stratified.

    The raw values are integers 0–16 (counts of set pixels in 4x4 blocks of the 32x32
    originals); they are divided by 16 to lie in [0, 1].

    Returns
    -------
    DatasetSplit
        ``train`` / ``test`` datasets of ``(8, 8)`` float32 images, labels 0–9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    d = _sk_load_digits()
    images = (d.images / 16.0).astype(np.float32)  # (1797, 8, 8) in [0, 1]
    return _split(images, d.target.astype(np.int64), [str(i) for i in range(10)], test_size,
                  seed, "load_digits")


def load_faces(*, test_size: float = 0.2, seed=0) -> DatasetSplit:
    """scikit-image's ``lfw_subset``: 100 face and 100 non-face 25x25 grey patches.

    Returns
    -------
    DatasetSplit
        Labels: 0 = ``"non-face"``, 1 = ``"face"``; images ``(25, 25)`` float32 in [0, 1].
    """
    import skimage.data

    images = skimage.data.lfw_subset().astype(np.float32)  # (200, 25, 25): faces first
    labels = np.r_[np.ones(100), np.zeros(100)].astype(np.int64)
    return _split(images, labels, ["non-face", "face"], test_size, seed, "load_faces")


SHAPE_NAMES = ("circle", "square", "triangle")


def make_shapes(n_samples: int = 300, *, image_size: int = 32, noise: float = 0.05,
                seed=0) -> ArrayDataset:
    """Generated grey images of one filled circle, square or triangle each.

    Each shape has a random centre, size (25–45 % of the image), rotation (squares and
    triangles) and grey level in [0.5, 1] on a dark background, plus Gaussian noise of
    standard deviation ``noise``, clipped to [0, 1]. Classes are balanced (label =
    ``i % 3`` before shuffling).

    Returns
    -------
    ArrayDataset
        Images ``(image_size, image_size)`` float32, ``class_names = ("circle", "square",
        "triangle")``.
    """
    n_samples = check_int(n_samples, "make_shapes", "n_samples", low=1)
    image_size = check_int(image_size, "make_shapes", "image_size", low=8)
    noise = check_real(noise, "make_shapes", "noise", low=0.0)
    rng = check_seed(seed, "make_shapes")
    s = image_size
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float64)  # pixel centres at integer coordinates
    labels = rng.permutation(np.arange(n_samples) % 3).astype(np.int64)
    images = np.empty((n_samples, s, s), np.float32)
    for i, label in enumerate(labels):
        r = rng.uniform(0.125, 0.225) * s  # circumradius in pixels: 2r is 25-45 % of s
        cx, cy = rng.uniform(r + 1, s - 2 - r, size=2)
        angle = rng.uniform(0, 2 * math.pi)
        u = (xx - cx) * math.cos(angle) + (yy - cy) * math.sin(angle)  # rotated frame
        v = -(xx - cx) * math.sin(angle) + (yy - cy) * math.cos(angle)
        if label == 0:
            inside = u * u + v * v <= r * r
        elif label == 1:
            half = r / math.sqrt(2)
            inside = (np.abs(u) <= half) & (np.abs(v) <= half)
        else:
            # Equilateral triangle with circumradius r: three half-planes, normals at
            # 90°, 210°, 330°, each at distance r/2 from the centre.
            inside = np.ones_like(u, dtype=bool)
            for k in range(3):
                a = math.pi / 2 + 2 * math.pi * k / 3
                inside &= u * math.cos(a) + v * math.sin(a) <= r / 2
        img = np.where(inside, rng.uniform(0.5, 1.0), 0.0) + rng.normal(0, noise, (s, s))
        images[i] = np.clip(img, 0.0, 1.0)
    return ArrayDataset(images, labels, class_names=SHAPE_NAMES)


# ------------------------------------------------------------------ transforms
class Compose:
    """Apply transforms in order: ``Compose([RandomAffine(seed=0), Normalize(0.5, 0.25)])``."""

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]):
        transforms = list(transforms)
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {describe(t)}")
        self.transforms = transforms

    def __call__(self, image: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            image = t(image)
        return image

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Normalize:
    """Per-channel ``(image - mean) / std`` through :func:`cvgeo.normalize`."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return cvgeo.normalize(image, self.mean, self.std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean!r}, std={self.std!r})"


class Resize:
    """Resize to ``output_shape = (H, W)`` through :func:`cvgeo.resize`."""

    def __init__(self, output_shape: tuple[int, int], *, interpolation: str = "auto"):
        self.output_shape = tuple(output_shape)
        self.interpolation = interpolation

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return cvgeo.resize(image, self.output_shape, interpolation=self.interpolation)

    def __repr__(self) -> str:
        return f"Resize({self.output_shape!r}, interpolation={self.interpolation!r})"


def _about_centre(A: np.ndarray, shape: tuple[int, ...], shift=(0.0, 0.0)) -> np.ndarray:
    """``T(c + shift) @ A @ T(-c)`` with ``c`` the image centre in (x, y) pixel coordinates."""
    h, w = shape[:2]
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    to_origin = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    back = np.array([[1.0, 0.0, cx + shift[0]], [0.0, 1.0, cy + shift[1]], [0.0, 0.0, 1.0]])
    return back @ A @ to_origin


class _RandomWarp:
    """Shared plumbing of the random geometric augmentations (warp onto the same canvas)."""

    name = "_RandomWarp"

    def __init__(self, *, interpolation: str, border: str, fill: float, seed):
        self.interpolation = check_choice(interpolation, self.name, "interpolation",
                                          ("nearest", "bilinear", "bicubic"))
        self.border = check_choice(border, self.name, "border", ("constant", "edge", "reflect"))
        self.fill = check_real(fill, self.name, "fill")
        self.rng = check_seed(seed, self.name)

    def sample_matrix(self, shape: tuple[int, ...]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, image: np.ndarray) -> np.ndarray:
        H = self.sample_matrix(image.shape)
        return warp(image, H, output_shape=image.shape[:2], interpolation=self.interpolation,
                    border=self.border, cval=self.fill)


class RandomAffine(_RandomWarp):
    """Random rotation, scale, shear and translation about the image centre (cvgeo's warp).

    Each call draws ``θ ~ U(-max_rotation, max_rotation)``, ``s ~ U(*scale)``,
    ``φ ~ U(-max_shear, max_shear)`` and a shift ``t ~ U(-max_translation,
    max_translation) · (W, H)``, and warps with
    ``H = T(c + t) · R(θ) · Sh(φ) · diag(s, s, 1) · T(-c)`` (``c`` the image centre)
    onto a canvas of the input's size.

    Parameters
    ----------
    max_rotation : float
        Radians (0.2 rad ≈ 11.5°).
    max_translation : float
        Fraction of the image width (x) and height (y).
    scale : (float, float)
        Range of the isotropic scale factor.
    max_shear : float
        Radians; ``Sh(φ) = [[1, tan φ, 0], [0, 1, 0], [0, 0, 1]]``.
    interpolation, border, fill
        Passed to :func:`cvgeo.geometry.warp.warp` (``fill`` in image units: use the
        background value, e.g. 0 for digits before normalisation).
    seed : int, numpy.random.Generator or None

    Notes
    -----
    Calling the transform on an ``(H, W)`` or ``(H, W, C)`` image returns float32 of the
    same shape; :meth:`sample_matrix` exposes the draw (source-to-destination, as
    :func:`cvgeo.geometry.warp.warp` takes it).
    """

    name = "RandomAffine"

    def __init__(self, *, max_rotation: float = 0.2, max_translation: float = 0.1,
                 scale: tuple[float, float] = (0.9, 1.1), max_shear: float = 0.0,
                 interpolation: str = "bilinear", border: str = "constant", fill: float = 0.0,
                 seed=None):
        super().__init__(interpolation=interpolation, border=border, fill=fill, seed=seed)
        self.max_rotation = check_real(max_rotation, self.name, "max_rotation", low=0.0,
                                       high=math.pi)
        self.max_translation = check_real(max_translation, self.name, "max_translation",
                                          low=0.0, high=1.0)
        self.max_shear = check_real(max_shear, self.name, "max_shear", low=0.0,
                                    high=math.pi / 2, high_inclusive=False)
        if (not isinstance(scale, (tuple, list)) or len(scale) != 2):
            raise ValueError(f"RandomAffine: scale must be a pair (low, high), got "
                             f"{describe(scale)}")
        lo = check_real(scale[0], self.name, "scale[0]", low=0.0, low_inclusive=False)
        hi = check_real(scale[1], self.name, "scale[1]", low=lo)
        self.scale = (lo, hi)

    def sample_matrix(self, shape: tuple[int, ...]) -> np.ndarray:
        """Draw one source-to-destination matrix for an image of this shape."""
        h, w = shape[:2]
        theta = self.rng.uniform(-self.max_rotation, self.max_rotation)
        s = self.rng.uniform(*self.scale)
        phi = self.rng.uniform(-self.max_shear, self.max_shear)
        t = self.rng.uniform(-self.max_translation, self.max_translation, size=2) * (w, h)
        c, sn = math.cos(theta), math.sin(theta)
        R = np.array([[c, -sn, 0.0], [sn, c, 0.0], [0.0, 0.0, 1.0]])
        Sh = np.array([[1.0, math.tan(phi), 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        S = np.diag([s, s, 1.0])
        return _about_centre(R @ Sh @ S, shape, shift=t)

    def __repr__(self) -> str:
        return (f"RandomAffine(max_rotation={self.max_rotation}, max_translation="
                f"{self.max_translation}, scale={self.scale}, max_shear={self.max_shear})")


class RandomHomography(_RandomWarp):
    """Random perspective distortion about the image centre (cvgeo's warp).

    Each call draws the projective row ``(g, h)`` with ``|g| · W / 2`` and ``|h| · H / 2``
    up to ``max_perspective`` (the relative change of scale from the centre to the
    image's edge) and warps with
    ``H = T(c) · [[1, 0, 0], [0, 1, 0], [g, h, 1]] · T(-c)``: the centre stays fixed,
    lines stay lines, parallel lines may converge.

    Parameters
    ----------
    max_perspective : float in [0, 0.9]
    interpolation, border, fill, seed
        As :class:`RandomAffine`.
    """

    name = "RandomHomography"

    def __init__(self, *, max_perspective: float = 0.1, interpolation: str = "bilinear",
                 border: str = "constant", fill: float = 0.0, seed=None):
        super().__init__(interpolation=interpolation, border=border, fill=fill, seed=seed)
        self.max_perspective = check_real(max_perspective, self.name, "max_perspective",
                                          low=0.0, high=0.9)

    def sample_matrix(self, shape: tuple[int, ...]) -> np.ndarray:
        """Draw one source-to-destination matrix for an image of this shape."""
        h, w = shape[:2]
        g = self.rng.uniform(-self.max_perspective, self.max_perspective) / max(w / 2, 0.5)
        k = self.rng.uniform(-self.max_perspective, self.max_perspective) / max(h / 2, 0.5)
        P = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [g, k, 1.0]])
        return _about_centre(P, shape)

    def __repr__(self) -> str:
        return f"RandomHomography(max_perspective={self.max_perspective})"
