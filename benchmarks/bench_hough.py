"""Hough transforms against OpenCV and scikit-image, single thread.

Lines: ``hough_lines`` + ``hough_line_peaks`` against ``cv2.HoughLines`` (which also
returns its peaks) and skimage's ``hough_line`` + ``hough_line_peaks``, on the same
edge map (``cv2.Canny`` of ``skimage.data.camera`` resized to 512² and 2048², and tiled
4x4 to 2048² for a dense edge map; made once, outside the timing), 1-pixel / 1-degree
grids and the same vote threshold.

Segments: ``hough_segments`` against ``cv2.HoughLinesP`` (and skimage's
``probabilistic_hough_line`` on the smallest) on the Canny edges of ``camera``, of camera
resized to 2048² and of camera tiled 4x4 to 2048², same parameters.

Circles: ``hough_circles`` on ``skimage.data.coins`` against ``cv2.HoughCircles``
(HOUGH_GRADIENT, Canny inside) and skimage's ``canny`` + ``hough_circle`` +
``hough_circle_peaks``, each from the grey image and with the same radius range.

Run: ``cd benchmarks && python bench_hough.py``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import _harness  # first of the third-party imports: pins every library to one thread
import cv2
import numpy as np
import skimage.data
import skimage.feature
import skimage.transform
from _harness import Bench, compile_times

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cvgeo.hough import (  # noqa: E402
    hough_circles,
    hough_line_peaks,
    hough_lines,
    hough_segments,
)

assert _harness


def bench_lines(size: int, scene: str) -> None:
    camera = skimage.data.camera()
    if scene == "resized":
        img = cv2.resize(camera, (size, size), interpolation=cv2.INTER_LINEAR)
    else:  # "tiled": dense edges, as many per pixel as the 512x512 original
        img = np.tile(camera, (size // 512, size // 512))
    edges8 = cv2.Canny(img, 100, 200)
    edges = edges8 > 0
    threshold = size // 4 if scene == "resized" else size // 8
    theta = np.arange(180) * (math.pi / 180)

    def ours():
        return hough_line_peaks(hough_lines(edges), min_votes=threshold)

    def ours_all():  # every local maximum above the threshold, like cv2
        return hough_line_peaks(hough_lines(edges), min_votes=threshold, min_distance_px=0,
                                min_angle_rad=0)

    def opencv():
        return cv2.HoughLines(edges8, 1, math.pi / 180, threshold)

    def skimage_():
        h, t, d = skimage.transform.hough_line(edges, theta=theta)
        return skimage.transform.hough_line_peaks(h, t, d, threshold=threshold)

    n_ours, n_all, n_cv = len(ours().rhos), len(ours_all().rhos), len(opencv())
    print(f"\nlines {size}x{size} ({scene}): {int(edges.sum())} edge pixels; lines found: cvgeo "
          f"{n_ours} (default suppression), cvgeo {n_all} (no suppression), cv2 {n_cv}")
    bench = Bench("hough_lines", size=f"{size}x{size}", scene=scene, threshold=threshold)
    bench.add("cvgeo", ours)
    bench.add("cvgeo (no suppression)", ours_all)
    bench.add("cv2.HoughLines", opencv)
    if size <= 512:
        bench.add("skimage hough_line+peaks", skimage_)
    bench.run(repeats=9 if size <= 512 else 5)
    bench.report(ours="cvgeo")


def bench_segments(scene: str) -> None:
    camera = skimage.data.camera()
    if scene == "camera":
        img = camera
    elif scene == "resized":  # 2048x2048, camera's edges at four times the scale
        img = cv2.resize(camera, (2048, 2048), interpolation=cv2.INTER_LINEAR)
    else:  # "tiled" 2048x2048: sixteen cameras, dense edges
        img = np.tile(camera, (4, 4))
    edges8 = cv2.Canny(img, 100, 200)
    edges = edges8 > 0
    size = f"{img.shape[0]}x{img.shape[1]}"

    def ours():
        return hough_segments(edges, min_votes=30, min_length_px=30, max_gap_px=3, seed=0)

    def opencv():
        return cv2.HoughLinesP(edges8, 1, math.pi / 180, 30, minLineLength=30, maxLineGap=3)

    def skimage_():
        return skimage.transform.probabilistic_hough_line(edges, threshold=30, line_length=30,
                                                          line_gap=3, rng=0)

    n_sk = len(skimage_()) if scene == "camera" else None
    print(f"\nsegments on {scene} {size} ({int(edges.sum())} edge pixels): found cvgeo "
          f"{len(ours())}, cv2 {len(opencv())}" + (f", skimage {n_sk}" if n_sk else ""))
    label = "camera 512x512" if scene == "camera" else f"camera {scene} {size}"
    bench = Bench("hough_segments", image=label)
    bench.add("cvgeo", ours)
    bench.add("cv2.HoughLinesP", opencv)
    if scene == "camera":
        bench.add("skimage probabilistic_hough_line", skimage_)
    bench.run(repeats=7 if scene != "tiled" else 3)
    bench.report(ours="cvgeo")


def bench_circles() -> None:
    coins = skimage.data.coins()
    radii = np.arange(14, 41)

    def ours():
        return hough_circles(coins, radii=radii, sigma=3.0, min_votes_fraction=0.5)

    def opencv():
        return cv2.HoughCircles(coins, cv2.HOUGH_GRADIENT, dp=1, minDist=20, param1=150,
                                param2=30, minRadius=14, maxRadius=40)

    def skimage_():
        edges = skimage.feature.canny(coins, sigma=3, low_threshold=10, high_threshold=50)
        h = skimage.transform.hough_circle(edges, radii)
        return skimage.transform.hough_circle_peaks(h, radii, min_xdistance=15,
                                                    min_ydistance=15, total_num_peaks=24)

    print(f"\ncircles on coins {coins.shape}: found cvgeo {len(ours().circles)}, "
          f"cv2 {len(opencv()[0])}, skimage {len(skimage_()[0])} "
          "(accuracy against the reference: tests/cvgeo/test_hough.py)")
    bench = Bench("hough_circles", image="coins 303x384", radii="14..40")
    bench.add("cvgeo", ours)
    bench.add("cv2.HoughCircles", opencv)
    bench.add("skimage canny+hough_circle+peaks", skimage_)
    bench.run(repeats=7)
    bench.report(ours="cvgeo")


def main() -> None:
    for size, scene in ((512, "resized"), (2048, "resized"), (2048, "tiled")):
        bench_lines(size, scene)
    for scene in ("camera", "resized", "tiled"):
        bench_segments(scene)
    bench_circles()
    print("\nhough_lines + hough_line_peaks, 256x256:")
    compile_times("from cvgeo.hough import hough_lines, hough_line_peaks\n"
                  "e = numpy.zeros((256, 256), bool); e[:, 50] = True\n"
                  "hough_line_peaks(hough_lines(e))")
    print("hough_circles, 128x128:")
    compile_times("from cvgeo.hough import hough_circles\n"
                  "yy, xx = numpy.mgrid[:128, :128]\n"
                  "hough_circles(((xx - 64) ** 2 + (yy - 64) ** 2 < 900).astype(float), "
                  "radii=numpy.arange(25, 36))")


if __name__ == "__main__":
    main()
