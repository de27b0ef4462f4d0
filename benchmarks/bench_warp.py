"""warp: cvgeo (numba, inverse mapping) vs cv2.warpPerspective vs skimage.transform.warp.

512x512 RGB float32 astronaut and the same resized to 2048x2048, a perspective H (scaled
with the image), nearest / bilinear / bicubic, constant border. Also prints the interior
agreement with cv2 and the largest difference from the plain reference kernel (the fast
kernels must be within 1e-6 of it); OpenCV's own bilinear kernel (IPP off) as a second peer
at 512^2; one-channel rows; and each library's distance from the exact float64 map.

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


def _without_ipp(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with OpenCV's IPP dispatch switched off."""
    cv2.ipp.setUseIPP(False)
    try:
        return fn(*args, **kwargs)
    finally:
        cv2.ipp.setUseIPP(True)


def precision(img: np.ndarray) -> None:
    """How far each warp is from the exact map on a noise image (every neighbour
    differs, so any coordinate error shows): nearest, the share of pixels that take
    another source pixel than ``floor(x + 0.5)`` of the float64 map; bilinear, the
    largest error against float64 interpolation at the float64 point."""
    rng = np.random.default_rng(0)
    noise = rng.random(img.shape, dtype=np.float32)
    n = noise.shape[0]
    Hinv = np.linalg.inv(H)
    q, r = np.meshgrid(np.arange(n), np.arange(n))
    P = Hinv @ np.stack([q.ravel(), r.ravel(), np.ones(n * n)])
    x, y = P[0] / P[2], P[1] / P[2]
    inner = (x >= 1) & (y >= 1) & (x < n - 2) & (y < n - 2)
    j = np.floor(x + 0.5).astype(int)[inner]
    i = np.floor(y + 0.5).astype(int)[inner]
    exact = noise[i, j]
    j0 = np.floor(x).astype(int)[inner]
    i0 = np.floor(y).astype(int)[inner]
    fx = (x[inner] - j0)[:, None]
    fy = (y[inner] - i0)[:, None]
    src = noise.astype(np.float64)
    exact_lin = ((1 - fy) * ((1 - fx) * src[i0, j0] + fx * src[i0, j0 + 1])
                 + fy * ((1 - fx) * src[i0 + 1, j0] + fx * src[i0 + 1, j0 + 1]))
    print("\n## precision against the float64 map (512x512x3 noise, interior)")
    for name, fn in (("cvgeo", lambda f: warp(noise, H, output_shape=(n, n),
                                              interpolation=f)),
                     ("cv2", lambda f: cv2.warpPerspective(noise, H, (n, n), flags={
                         "nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR}[f]))):
        near = fn("nearest").reshape(-1, 3)[inner]
        lin = fn("bilinear").reshape(-1, 3)[inner]
        wrong = np.mean(np.any(near != exact, axis=1))
        print(f"{name:6s} nearest: {wrong:.2e} of pixels take another source pixel; "
              f"bilinear: max error {np.abs(lin - exact_lin).max():.1e}")


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
            if interp == "bilinear" and size == 512:
                # cv2's bilinear float32 warp is Intel IPP's (bundled in the wheel);
                # OpenCV's own kernel, with IPP switched off, as a second peer
                bench.add("cv2 without IPP", lambda im=im, Hs=Hs, n=size: _without_ipp(
                    cv2.warpPerspective, im, Hs, (n, n), flags=cv2.INTER_LINEAR))
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
    # one channel (grey images), 512^2
    grey = np.ascontiguousarray(img[..., 1])
    for interp in ("nearest", "bilinear"):
        bench = Bench(f"warp_{interp}", size="512x512x1", dtype="float32")
        bench.add("cvgeo", lambda i=interp: warp(grey, H, output_shape=(h, w), interpolation=i))
        bench.add("cv2", lambda i=interp: cv2.warpPerspective(grey, H, (w, h), flags=flags[i]))
        bench.run(repeats=41)
        bench.report(ours="cvgeo")
    precision(img)
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
