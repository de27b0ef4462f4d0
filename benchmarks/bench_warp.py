"""warp: cvgeo (numba, inverse mapping) vs cv2.warpPerspective vs skimage.transform.warp.

512x512 RGB float32 astronaut and the same resized to 2048x2048, a perspective H (scaled
with the image), nearest / bilinear / bicubic, constant border. Also prints the interior
agreement with cv2 and the largest difference from the plain reference kernel (the fast
kernels must be within 1e-6 of it).

Run: ``cd benchmarks && python bench_warp.py``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import _harness  # noqa: F401  (first: pins threads)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
import skimage.transform  # noqa: E402
from _harness import Bench, compile_times  # noqa: E402

from cvgeo import warp  # noqa: E402

H = np.array([[1.05, 0.03, -8.0], [-0.02, 0.97, 5.0], [1e-4, -5e-5, 1.0]])


def print_minima(bench: Bench, ours: str = "cvgeo") -> None:
    """Fastest run of each, and the ratio: less sensitive than medians to a loaded machine."""
    mins = {k: min(v) for k, v in bench.times.items()}
    print("fastest run (ms): " + ", ".join(
        f"{k} {t * 1e3:.3f}" + ("" if k == ours else f" (ours / it {mins[ours] / t:.2f})")
        for k, t in mins.items()))


def main() -> None:
    img = skimage.data.astronaut().astype(np.float32) / 255
    h, w = img.shape[:2]
    ours = warp(img, H, output_shape=(h, w))
    ref = cv2.warpPerspective(img, H, (w, h), flags=cv2.INTER_LINEAR)
    diff = np.abs(ours - ref)[8:-8, 8:-8].max()
    print(f"bilinear interior max |cvgeo - cv2| = {diff:.2e}")
    inv = skimage.transform.ProjectiveTransform(np.linalg.inv(H))
    flags = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR,
             "bicubic": cv2.INTER_CUBIC}
    orders = {"nearest": 0, "bilinear": 1, "bicubic": 3}
    warp_module = importlib.import_module("cvgeo.geometry.warp")
    summary = []
    for size in (512, 2048):
        s = size / 512
        Hs = np.diag([s, s, 1.0]) @ H @ np.diag([1 / s, 1 / s, 1.0])
        im = img if size == 512 else cv2.resize(img, (size, size),
                                                interpolation=cv2.INTER_LINEAR)
        for interp in ("bilinear", "nearest", "bicubic"):
            Hinv = np.linalg.inv(Hs / np.abs(Hs).max())
            reference = warp_module._warp_reference_kernel(
                im, Hinv, size, size, {"nearest": 0, "bilinear": 1, "bicubic": 2}[interp], 0,
                np.float32(0))
            fast = warp(im, Hs, output_shape=(size, size), interpolation=interp)
            err = float(np.abs(fast - reference).max())
            print(f"\n{interp} {size}: max |fast - reference kernel| = {err:.1e}")
            bench = Bench(f"warp_{interp}", size=f"{size}x{size}x3", dtype="float32")
            bench.add("cvgeo", lambda i=interp, im=im, Hs=Hs, n=size: warp(
                im, Hs, output_shape=(n, n), interpolation=i))
            bench.add("cv2", lambda i=interp, im=im, Hs=Hs, n=size: cv2.warpPerspective(
                im, Hs, (n, n), flags=flags[i]))
            bench.run(repeats=41 if size == 512 else 11)
            bench.report(ours="cvgeo")
            print_minima(bench)
            med = {k: float(np.median(v)) for k, v in bench.times.items()}
            low = {k: min(v) for k, v in bench.times.items()}
            summary.append((interp, size, med["cvgeo"], med["cv2"], low["cvgeo"] / low["cv2"],
                            err))
    print("\n## summary: cvgeo.warp / cv2.warpPerspective (single thread)")
    print("row                 cvgeo ms   cv2 ms   median ratio   fastest ratio   "
          "max |fast - ref|")
    for interp, size, ours, peer, fastest, err in summary:
        print(f"{interp:8s} {size:4d}^2x3 {ours * 1e3:10.3f} {peer * 1e3:8.3f} "
              f"{ours / peer:14.2f} {fastest:15.2f} {err:18.1e}")
    # skimage separately: its large temporaries, interleaved, slow the others' allocations
    slow = Bench("warp_bilinear_vs_skimage", size="512x512x3", dtype="float32")
    slow.add("cvgeo", lambda: warp(img, H, output_shape=(h, w)))
    slow.add("skimage", lambda: skimage.transform.warp(img, inv, order=orders["bilinear"],
                                                       preserve_range=True))
    slow.run(repeats=7)
    slow.report(ours="cvgeo")
    compile_times("from cvgeo import warp\n"
                  "warp(numpy.zeros((8, 8, 3), numpy.float32), numpy.eye(3), "
                  "output_shape=(8, 8))")


if __name__ == "__main__":
    main()
