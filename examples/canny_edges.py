"""Canny edges on the images that ship with scikit-image, written as PNGs.

    python examples/canny_edges.py [--out DIR]

For each of camera, coins, text and astronaut (grey, and astronaut in colour, where
each pixel uses its strongest channel) it writes ``<name>.png``: the input on the
left, the edge map (white on black) on the right. Default output folder:
``examples/output/canny_edges/``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import skimage.data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's cvgeo
import cvgeo  # noqa: E402

#: image name -> (sigma, low_threshold, high_threshold), thresholds on the [0, 1] scale
SETTINGS = {
    "camera": (1.0, 0.1, 0.2),
    "coins": (2.0, 0.05, 0.15),
    "text": (1.0, 0.1, 0.25),
    "astronaut": (2.0, 0.05, 0.15),
}


def side_by_side(image: np.ndarray, edges: np.ndarray, gap: int = 6) -> np.ndarray:
    """The input (grey or RGB, float in [0, 1]) and the edge map, separated by a gap."""
    left = cvgeo.to_float(image)
    right = edges.astype(np.float32)
    if left.ndim == 3:
        right = np.repeat(right[..., None], left.shape[2], axis=2)
    spacer = np.ones((left.shape[0], gap) + left.shape[2:], np.float32)
    return np.concatenate([left, spacer, right], axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "output" / "canny_edges")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    jobs = [(name, cvgeo.to_gray(getattr(skimage.data, name)())) for name in SETTINGS]
    jobs.append(("astronaut_colour", skimage.data.astronaut()))
    for name, image in jobs:
        sigma, low, high = SETTINGS[name.removesuffix("_colour")]
        t0 = time.perf_counter()
        edges = cvgeo.canny(image, sigma=sigma, low_threshold=low, high_threshold=high)
        ms = (time.perf_counter() - t0) * 1e3
        path = cvgeo.write_image(args.out / f"{name}.png", side_by_side(image, edges))
        print(f"{name:<17} {image.shape}  sigma={sigma} thresholds=({low}, {high})  "
              f"{int(edges.sum()):>6} edge pixels  {ms:7.1f} ms  -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
