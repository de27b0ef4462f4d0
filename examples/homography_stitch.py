"""Estimate a homography between two views and stitch them.

The second view is skimage.data.astronaut warped by a known random homography (each
corner moved by up to 12 % of the width). ORB matches between the views (OpenCV,
plumbing) go to :func:`cvgeo.find_homography`; the views are then stitched on one canvas
with :func:`cvgeo.warp`, and the corner error of the estimate against the known H is
printed.

Run: ``python examples/homography_stitch.py [--out DIR] [--seed N]``; writes
``views.png`` (the two inputs side by side, inliers drawn) and ``stitched.png``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cvgeo import Projective, Translation, find_homography, to_gray, warp, write_image  # noqa: E402


def random_homography(rng: np.random.Generator, w: int, h: int, frac: float = 0.12):
    """The H moving each image corner by up to ``frac * w`` in x and y."""
    c = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    moved = (c + rng.uniform(-frac * w, frac * w, (4, 2))).astype(np.float32)
    return Projective(cv2.getPerspectiveTransform(c, moved).astype(np.float64))


def orb_matches(a: np.ndarray, b: np.ndarray, n_features: int = 3000):
    """ORB keypoints matched with cross-checked Hamming distance: (src, dst) (N, 2)."""
    orb = cv2.ORB_create(nfeatures=n_features)
    ka, da = orb.detectAndCompute((a * 255).astype(np.uint8), None)
    kb, db = orb.detectAndCompute((b * 255).astype(np.uint8), None)
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    src = np.array([ka[m.queryIdx].pt for m in matches], float)
    dst = np.array([kb[m.trainIdx].pt for m in matches], float)
    return src, dst


def draw_matches(a: np.ndarray, b: np.ndarray, src, dst, inliers) -> np.ndarray:
    """The two views side by side with inlier matches as green lines."""
    h, w = a.shape[:2]
    canvas = np.ascontiguousarray((np.concatenate([a, b], axis=1) * 255).astype(np.uint8))
    for (x0, y0), (x1, y1) in zip(src[inliers][::4], dst[inliers][::4]):
        cv2.line(canvas, (round(x0), round(y0)), (round(x1) + w, round(y1)), (0, 200, 0), 1,
                 cv2.LINE_AA)
    return canvas


def stitch(a: np.ndarray, b: np.ndarray, H: Projective) -> np.ndarray:
    """Both views in the frame of ``a`` (``H`` maps a to b), averaged where they overlap."""
    h, w = a.shape[:2]
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)
    allc = np.concatenate([corners, H.inverse()(corners)])
    lo = np.floor(allc.min(axis=0))
    hi = np.ceil(allc.max(axis=0))
    shape = (int(hi[1] - lo[1]) + 1, int(hi[0] - lo[0]) + 1)
    shift = Translation(translation=-lo)
    to_canvas = [shift.matrix, (shift @ H.inverse()).matrix]
    total = np.zeros(shape + (3,), np.float32)
    weight = np.zeros(shape, np.float32)
    for img, M in zip((a, b), to_canvas):
        total += warp(img, M, output_shape=shape, interpolation="bilinear")
        weight += warp(np.ones((h, w), np.float32), M, output_shape=shape,
                       interpolation="bilinear")
    return np.clip(total / np.maximum(weight, 1e-6)[..., None], 0, 1)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path,
                   default=Path(__file__).resolve().parent / "output" / "homography_stitch")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    a = skimage.data.astronaut().astype(np.float32) / 255
    h, w = a.shape[:2]
    H_true = random_homography(np.random.default_rng(args.seed), w, h)
    b = warp(a, H_true.matrix, output_shape=(h, w), interpolation="bicubic")
    b = np.clip(b, 0, 1)
    print(f"second view: astronaut warped by a random H (seed {args.seed})")

    src, dst = orb_matches(to_gray(a), to_gray(b))
    print(f"ORB: {len(src)} cross-checked matches")
    t1 = time.perf_counter()
    result = find_homography(src, dst, threshold_px=3.0)
    t_est = time.perf_counter() - t1
    H = Projective(result.model)
    print(f"find_homography: {result.n_inliers} inliers of {len(src)}, "
          f"{result.n_trials} trials ({result.n_degenerate} degenerate samples skipped), "
          f"{t_est * 1e3:.1f} ms (first call: includes loading the compiled kernels)")

    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)
    err = np.linalg.norm(H(corners) - H_true(corners), axis=1)
    print("corner error (px): " + ", ".join(f"{e:.3f}" for e in err) +
          f"; mean {err.mean():.3f}")

    write_image(args.out / "views.png", draw_matches(a, b, src, dst, result.inlier_mask))
    write_image(args.out / "stitched.png", stitch(a, b, H))
    print(f"wrote {args.out / 'views.png'} and {args.out / 'stitched.png'} "
          f"in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
