"""Gaussian blur: cvgeo vs scipy.ndimage vs OpenCV on 2048 x 2048 float32, single thread.

    cd benchmarks && python bench_filters.py [--repeats N]

Same kernel for all three: radius ``int(4 sigma + 0.5)``, half-sample reflection at the
border (scipy "reflect", OpenCV BORDER_REFLECT). Prints the largest difference from
scipy too.
"""

from __future__ import annotations

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import _harness  # noqa: F401  (first: pins every library to one thread)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import scipy.ndimage as ndi  # noqa: E402
import skimage.data  # noqa: E402
from _harness import Bench, compile_times  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's cvgeo
import cvgeo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()

    compile_times("import cvgeo\ncvgeo.gaussian_filter(numpy.zeros((64, 64), numpy.float32), 2.0)")

    img = cv2.resize(skimage.data.camera(), (2048, 2048), interpolation=cv2.INTER_CUBIC)
    img = img.astype(np.float32) / 255
    for sigma in (1.0, 2.0, 8.0):
        k = 2 * int(4.0 * sigma + 0.5) + 1
        ours = cvgeo.gaussian_filter(img, sigma, method="spatial")
        ref = ndi.gaussian_filter(img, sigma, mode="reflect")
        ocv = cv2.GaussianBlur(img, (k, k), sigma, borderType=cv2.BORDER_REFLECT)
        print(f"\nsigma={sigma}: max |cvgeo - scipy| = {np.abs(ours - ref).max():.2e}, "
              f"max |cvgeo - OpenCV| = {np.abs(ours - ocv).max():.2e}")
        bench = Bench("gaussian_filter", size="2048x2048", dtype="float32", sigma=sigma)
        bench.add("cvgeo", lambda s=sigma: cvgeo.gaussian_filter(img, s, method="spatial"))
        bench.add("scipy.ndimage.gaussian_filter",
                  lambda s=sigma: ndi.gaussian_filter(img, s, mode="reflect"))
        bench.add("cv2.GaussianBlur", lambda s=sigma, k=k: cv2.GaussianBlur(
            img, (k, k), s, borderType=cv2.BORDER_REFLECT))
        bench.run(repeats=args.repeats)
        bench.report(ours="cvgeo")


if __name__ == "__main__":
    main()
