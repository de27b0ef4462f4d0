"""Showing maps: perceptual colormaps, overlays on images, a grid of overlays on disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from cvgeo._checks import check_choice, check_int, check_real, describe

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
