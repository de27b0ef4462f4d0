"""Canny: cvgeo vs scikit-image vs OpenCV (GaussianBlur + Canny on uint8), single thread.

    cd benchmarks && python bench_canny.py [--repeats N]

The same recipe for all three: sigma = 1, thresholds 0.1 / 0.2 on the [0, 1] scale
(x 255 for the uint8 peers), L2 gradient magnitude. Input: ``skimage.data.camera``
resized (bicubic) to 512 x 512 and 2048 x 2048, uint8. Besides the times it prints
the numba compile time (cold vs cached first call in a new process) and the pixel
agreement (F1 away from a 2-pixel frame) of each peer with cvgeo.
"""

from __future__ import annotations

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import _harness  # noqa: F401  (first: pins every library to one thread)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
import skimage.feature  # noqa: E402
from _harness import Bench, compile_times  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's cvgeo
import cvgeo  # noqa: E402

SIGMA, LOW, HIGH = 1.0, 0.1, 0.2


def f1(a: np.ndarray, b: np.ndarray, frame: int = 2) -> float:
    a, b = a[frame:-frame, frame:-frame], b[frame:-frame, frame:-frame]
    return 2 * np.sum(a & b) / max(a.sum() + b.sum(), 1)


def opencv_canny(img: np.ndarray) -> np.ndarray:
    blurred = cv2.GaussianBlur(img, (0, 0), SIGMA)
    return cv2.Canny(blurred, LOW * 255, HIGH * 255, L2gradient=True) > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    compile_times("import cvgeo\ncvgeo.canny(numpy.zeros((64, 64), numpy.uint8))")

    camera = skimage.data.camera()
    for size in (512, 2048):
        img = cv2.resize(camera, (size, size), interpolation=cv2.INTER_CUBIC)
        ours = cvgeo.canny(img, sigma=SIGMA, low_threshold=LOW, high_threshold=HIGH)
        ref = skimage.feature.canny(img, sigma=SIGMA, low_threshold=LOW * 255,
                                    high_threshold=HIGH * 255)
        print(f"\n{size}x{size}: edge pixels cvgeo {ours.sum()}, F1 vs skimage "
              f"{f1(ours, ref):.4f}, F1 vs OpenCV {f1(ours, opencv_canny(img)):.4f}")
        bench = Bench("canny", size=f"{size}x{size}", sigma=SIGMA)
        bench.add("cvgeo", lambda img=img: cvgeo.canny(img, sigma=SIGMA, low_threshold=LOW,
                                                       high_threshold=HIGH))
        bench.add("skimage.feature.canny", lambda img=img: skimage.feature.canny(
            img, sigma=SIGMA, low_threshold=LOW * 255, high_threshold=HIGH * 255))
        bench.add("cv2.GaussianBlur+Canny", lambda img=img: opencv_canny(img))
        bench.run(repeats=args.repeats if size == 512 else max(3, args.repeats // 2))
        bench.report(ours="cvgeo")


if __name__ == "__main__":
    main()
