"""Hough transforms on real and synthetic images: lines, segments and circles.

Writes, under ``--out`` (default ``examples/output/hough/``):

- ``checkerboard_lines.png``: skimage's checkerboard, its Canny edges' strongest Hough lines;
- ``checkerboard_rotated_lines.png`` / ``..._segments.png``: the same board rotated by 20
  degrees, with lines and with probabilistic-Hough segments;
- ``grid_lines.png``: a synthetic grid at 25 and 115 degrees with noise and gaps, drawn with
  cvgeo's own drawing helpers, and the lines found in it;
- ``grid_accumulator.png``: the line accumulator of the grid (rho down, theta across);
- ``coins_circles.png``: the 24 coins of ``skimage.data.coins`` found by ``hough_circles``.

Run: ``python examples/hough.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cvgeo  # noqa: E402


def checkerboard_lines(out: Path) -> None:
    import skimage.data

    board = skimage.data.checkerboard()
    edges = cvgeo.canny(board, sigma=1.0)
    res = cvgeo.hough_lines(edges)
    # the diagonals through the board's corners collect about half the votes of a
    # square edge: a threshold at 70 % of the strongest keeps the square edges only
    peaks = cvgeo.hough_line_peaks(res, min_votes=int(0.7 * res.accumulator.max()),
                                   min_distance_px=10, min_angle_rad=math.radians(5))
    path = cvgeo.write_image(out / "checkerboard_lines.png",
                             cvgeo.draw_lines(board, peaks.lines, color=(1, 0, 0)))
    degrees = sorted({round(math.degrees(t)) for t in peaks.thetas})
    print(f"checkerboard {board.shape}: {len(peaks.rhos)} lines at {degrees} degrees -> {path}")

    # the same board rotated by 20 degrees (skimage's rotate only builds the input)
    import skimage.transform

    rotated = skimage.transform.rotate(board, 20, resize=True, mode="constant", cval=0.5)
    edges = cvgeo.canny(rotated, sigma=1.5)
    peaks = cvgeo.hough_line_peaks(cvgeo.hough_lines(edges), min_distance_px=10,
                                   min_angle_rad=math.radians(5))
    path = cvgeo.write_image(out / "checkerboard_rotated_lines.png",
                             cvgeo.draw_lines(rotated, peaks.lines, color=(1, 0, 0)))
    degrees = sorted({round(math.degrees(t)) for t in peaks.thetas})
    print(f"rotated checkerboard {rotated.shape}: {len(peaks.rhos)} lines at {degrees} "
          f"degrees -> {path}")
    segments = cvgeo.hough_segments(edges, min_votes=20, min_length_px=20, max_gap_px=3, seed=0)
    path = cvgeo.write_image(out / "checkerboard_rotated_segments.png",
                             cvgeo.draw_segments(rotated, segments, color=(0, 0.8, 0),
                                                 thickness=2))
    print(f"rotated checkerboard: {len(segments)} segments -> {path}")


def grid_lines(out: Path) -> None:
    rng = np.random.default_rng(0)
    shape = (300, 400)
    truth = [(rho, math.radians(25)) for rho in range(40, 400, 60)]
    truth += [(rho, math.radians(115)) for rho in range(-100, 201, 60)]
    lines = np.array([[math.cos(t), math.sin(t), -r] for r, t in truth])
    canvas = cvgeo.draw_lines(np.zeros(shape, np.float32), lines, color=(1, 1, 1))
    edges = canvas[..., 0] > 0.5
    edges &= rng.random(shape) > 0.3          # 30 % of the line pixels lost
    edges |= rng.random(shape) > 0.99         # 1 % salt noise
    res = cvgeo.hough_lines(edges)
    peaks = cvgeo.hough_line_peaks(res, num_peaks=len(truth), min_votes=50, min_distance_px=10,
                                   min_angle_rad=math.radians(5))
    err = []
    for r, t in truth:
        d = [(abs(r - pr), abs(t - pt)) for pr, pt in zip(peaks.rhos, peaks.thetas)]
        err.append(min(d, key=lambda e: e[0] + 100 * e[1]))
    err = np.array(err)
    path = cvgeo.write_image(out / "grid_lines.png",
                             cvgeo.draw_lines(edges, peaks.lines, color=(1, 0.2, 0.2)))
    print(f"synthetic grid {shape}: {len(peaks.rhos)}/{len(truth)} lines, worst error "
          f"{err[:, 0].max():.1f} px, {math.degrees(err[:, 1].max()):.2f} degrees -> {path}")
    acc = res.accumulator.astype(np.float32)
    path = cvgeo.write_image(out / "grid_accumulator.png", np.sqrt(acc / acc.max()))
    print(f"line accumulator {acc.shape} (rho x theta) -> {path}")


def coins_circles(out: Path) -> None:
    import skimage.data

    coins = skimage.data.coins()
    t0 = time.perf_counter()
    res = cvgeo.hough_circles(coins, radii=np.arange(14, 41))
    dt = time.perf_counter() - t0
    picture = cvgeo.draw_circles(coins, res.circles, color=(1, 0, 0))
    c = res.circles[:, :2]
    cross = np.concatenate([np.c_[c - [3, 0], c + [3, 0]], np.c_[c - [0, 3], c + [0, 3]]])
    picture = cvgeo.draw_segments(picture, cross, color=(1, 1, 0))  # a cross at each centre
    path = cvgeo.write_image(out / "coins_circles.png", picture)
    print(f"coins {coins.shape}: {len(res.circles)} circles in {dt * 1e3:.0f} ms, radii "
          f"{res.circles[:, 2].min():.1f}..{res.circles[:, 2].max():.1f} px, support "
          f"{res.scores.min():.2f}..{res.scores.max():.2f} -> {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "output" / "hough")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    checkerboard_lines(out)
    grid_lines(out)
    coins_circles(out)


if __name__ == "__main__":
    main()
