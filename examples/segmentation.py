"""Segment bundled images with k-means, mean shift and Felzenszwalb-Huttenlocher.

    python examples/segmentation.py [--out DIR]

Writes, for astronaut and coffee (from scikit-image's bundled data), one PNG per
method with the segment boundaries drawn over the image, plus a k-means feature-space
comparison (colour only, Lab, colour + position) that shows how adding position to
the features turns scattered colour classes into compact regions. Prints the number of
segments and, for each method, how well its segments could reproduce the others
(achievable segmentation accuracy) as a rough consistency check.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import skimage.data
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cvgeo  # noqa: E402
from cvgeo.segment import (  # noqa: E402
    achievable_segmentation_accuracy,
    felzenszwalb,
    kmeans_segment,
    mean_shift_segment,
)

BOUNDARY_COLOUR = np.array([1.0, 0.85, 0.0], dtype=np.float32)  # yellow


def boundary_overlay(image: np.ndarray, labels: np.ndarray,
                     colour: np.ndarray = BOUNDARY_COLOUR) -> np.ndarray:
    """Paint the pixels where the label changes (to the right or below) in ``colour``.

    ``image`` is (H, W, 3) or (H, W), any accepted dtype; returns (H, W, 3) float32.
    """
    rgb = cvgeo.to_float(image)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
    out = rgb.copy()
    out[edge] = colour
    return out


def mean_colour(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each segment filled with its mean colour (float32), to show what a label means."""
    rgb = cvgeo.to_float(image).reshape(-1, 3)
    flat = labels.ravel()
    counts = np.bincount(flat).astype(np.float32)
    means = np.stack([np.bincount(flat, weights=rgb[:, c]) for c in range(3)], 1) / counts[:, None]
    return means[flat].reshape(image.shape).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "output" / "segmentation")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    images = {
        "astronaut": skimage.data.astronaut()[::2, ::2],  # 256x256
        "coffee": skimage.data.coffee()[::2, ::2],        # 200x300
    }
    for name, img in images.items():
        print(f"{name} {img.shape[1]}x{img.shape[0]}")
        results = {}
        methods = {
            "kmeans": lambda im: kmeans_segment(im, 6, spatial_weight=0.0, seed=0),
            "meanshift": lambda im: mean_shift_segment(im, spatial_bandwidth_px=6,
                                                       range_bandwidth=0.08, min_size=40),
            "felzenszwalb": lambda im: felzenszwalb(im, scale=200, sigma=0.8, min_size=50),
        }
        for method, run in methods.items():
            t0 = time.perf_counter()
            labels = run(img)
            dt = time.perf_counter() - t0
            results[method] = labels
            path = cvgeo.write_image(args.out / f"{name}_{method}.png",
                                     boundary_overlay(img, labels))
            print(f"  {method:<13}{labels.max() + 1:>5} segments  {dt:6.2f} s  -> {path}")
        # how well each method's segments can reproduce Felzenszwalb's regions
        for method in ("kmeans", "meanshift"):
            asa = achievable_segmentation_accuracy(results["felzenszwalb"], results[method])
            print(f"  ASA of {method} w.r.t. felzenszwalb: {asa:.3f}")

        # the k-means feature space: colour only, perceptual colour, colour + position
        panels = []
        for space, weight in (("rgb", 0.0), ("lab", 0.0), ("rgb", 1.0)):
            labels = kmeans_segment(img, 6, space=space, spatial_weight=weight, seed=0)
            n_pieces = sum(
                int(ndi.label(labels == i)[1])
                for i in range(labels.max() + 1))
            print(f"  k-means space={space} spatial_weight={weight}: 6 clusters in "
                  f"{n_pieces} connected pieces")
            panels.append(mean_colour(img, labels))
        gap = np.ones((img.shape[0], 4, 3), dtype=np.float32)
        strip = np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)
        path = cvgeo.write_image(args.out / f"{name}_kmeans_features.png", strip)
        print(f"  k-means feature spaces (rgb | lab | rgb + position) -> {path}")


if __name__ == "__main__":
    main()
