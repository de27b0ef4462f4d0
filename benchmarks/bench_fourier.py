"""cvgeo.fourier against OpenCV, SciPy and scikit-image, single-threaded.

Run: ``cd benchmarks && python bench_fourier.py [--quick]``.

1. Gaussian blur of a 2048x2048 float32 image at sigma 2, 8, 32 (reflect border, kernel cut
   at 4 sigma for everyone: cv2 picks ksize = 8 sigma + 1 for float images): cvgeo's
   ``gaussian_blur`` (auto, and each method) vs ``cv2.GaussianBlur`` and
   ``scipy.ndimage.gaussian_filter``; max |difference| from scipy is printed too.
2. The auto crossover: spatial vs fft over sigma, at 512^2 and 2048^2.
3. ``fft_convolve`` vs ``scipy.signal.fftconvolve`` and ``cv2.filter2D``.
4. ``downsample`` x2 and the pyramids vs cv2 / skimage.

cvgeo.fourier has no numba kernels, so there is no compile time to report.
"""

# ruff: noqa: I001  (_harness must be imported first: it pins every library to one thread)
from __future__ import annotations

import _harness
from _harness import Bench, machine

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's cvgeo

import cv2
import numpy as np
import scipy.ndimage as ndi
import scipy.signal as ss
import skimage.transform as skt

from cvgeo.fourier import fft_convolve, gaussian_blur
from cvgeo.pyramids import downsample, gaussian_pyramid, laplacian_pyramid

QUICK = "--quick" in sys.argv
REPEATS = 3 if QUICK else 7


def bench_gaussian() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((2048, 2048), dtype=np.float32)
    for sigma in (2, 8, 32):
        bench = Bench("gaussian_blur", size="2048x2048 float32", sigma=sigma)
        bench.add("cvgeo", lambda s=sigma: gaussian_blur(img, s, method="auto"))
        bench.add("cvgeo fft", lambda s=sigma: gaussian_blur(img, s, method="fft"))
        bench.add("cvgeo spatial", lambda s=sigma: gaussian_blur(img, s, method="spatial"))
        bench.add("cv2.GaussianBlur", lambda s=sigma: cv2.GaussianBlur(
            img, (0, 0), s, borderType=cv2.BORDER_REFLECT))
        bench.add("scipy gaussian_filter", lambda s=sigma: ndi.gaussian_filter(img, s))
        bench.run(repeats=REPEATS)
        bench.report(ours="cvgeo")
        ref = ndi.gaussian_filter(img.astype(np.float64), sigma)
        for method in ("auto", "fft", "spatial"):
            err = np.abs(gaussian_blur(img, sigma, method=method) - ref).max()
            print(f"  max |{method} - scipy(float64)| = {err:.2e}")
        err = np.abs(cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
                     - ref).max()
        print(f"  max |cv2 - scipy(float64)| = {err:.2e}")


def bench_crossover() -> None:
    rng = np.random.default_rng(1)
    for n in (512, 2048):
        img = rng.random((n, n), dtype=np.float32)
        print(f"\n## crossover spatial vs fft, {n}x{n} float32 (median ms)")
        for sigma in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            bench = Bench("gaussian_crossover", size=f"{n}x{n}", sigma=sigma)
            bench.add("spatial", lambda s=sigma, x=img: gaussian_blur(x, s, method="spatial"))
            bench.add("fft", lambda s=sigma, x=img: gaussian_blur(x, s, method="fft"))
            med = bench.run(repeats=REPEATS)
            radius = int(4 * sigma + 0.5)
            print(f"  sigma={sigma:<4} radius={radius:<3} spatial {med['spatial'] * 1e3:8.2f}"
                  f"   fft {med['fft'] * 1e3:8.2f}")


def bench_convolve() -> None:
    rng = np.random.default_rng(2)
    img = rng.random((1024, 1024), dtype=np.float32)
    for k in (15, 63):
        kernel = rng.random((k, k)).astype(np.float32)
        kernel /= kernel.sum()
        bench = Bench("fft_convolve", size="1024x1024 float32", kernel=f"{k}x{k}")
        bench.add("cvgeo", lambda kk=kernel: fft_convolve(img, kk, mode="same",
                                                           border="constant"))
        bench.add("scipy fftconvolve", lambda kk=kernel: ss.fftconvolve(img, kk, mode="same"))
        bench.add("cv2.filter2D", lambda kk=kernel: cv2.filter2D(
            img, -1, kk[::-1, ::-1], borderType=cv2.BORDER_CONSTANT))
        bench.run(repeats=REPEATS)
        bench.report(ours="cvgeo")
        err = np.abs(fft_convolve(img, kernel, border="constant")
                     - ss.convolve(img.astype(np.float64), kernel.astype(np.float64),
                                   mode="same")).max()
        print(f"  max |cvgeo - scipy.signal.convolve(float64)| = {err:.2e}")


def _cv2_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    out = [img]
    for _ in range(levels - 1):
        out.append(cv2.pyrDown(out[-1]))
    return out


def bench_resampling() -> None:
    rng = np.random.default_rng(3)
    img = rng.random((2048, 2048), dtype=np.float32)
    bench = Bench("downsample", size="2048x2048 float32", factor=2)
    bench.add("cvgeo", lambda: downsample(img, 2))
    bench.add("cv2.resize INTER_AREA", lambda: cv2.resize(img, (1024, 1024),
                                                          interpolation=cv2.INTER_AREA))
    bench.add("skimage rescale(anti_aliasing)", lambda: skt.rescale(img, 0.5, anti_aliasing=True))
    bench.run(repeats=REPEATS)
    bench.report(ours="cvgeo")

    small = img[:1024, :1024]
    bench = Bench("gaussian_pyramid", size="1024x1024 float32", levels=6)
    bench.add("cvgeo", lambda: gaussian_pyramid(small, levels=6))
    bench.add("cv2.pyrDown x5", lambda: _cv2_pyramid(small, 6))
    bench.add("skimage pyramid_gaussian", lambda: list(skt.pyramid_gaussian(small,
                                                                             max_layer=5)))
    bench.run(repeats=REPEATS)
    bench.report(ours="cvgeo")

    bench = Bench("laplacian_pyramid", size="1024x1024 float32", levels=6)
    bench.add("cvgeo", lambda: laplacian_pyramid(small, levels=6))
    bench.add("skimage pyramid_laplacian", lambda: list(skt.pyramid_laplacian(small,
                                                                               max_layer=5)))
    bench.run(repeats=REPEATS)
    bench.report(ours="cvgeo")


if __name__ == "__main__":
    print(machine())
    assert _harness  # imported first for its side effect
    bench_gaussian()
    bench_crossover()
    bench_convolve()
    bench_resampling()
