"""Fourier filtering, hybrid images and aliasing, on images that ship with scikit-image.

Run: ``python examples/fourier.py [--out DIR]`` (default ``examples/output/fourier/``).

Writes
  spectra.png          camera, its log-magnitude spectrum and its phase (Hann window)
  filters.png          ideal / Gaussian / Butterworth low-pass at 0.04 cycles/pixel (top)
                       and their spectra (bottom): the ideal filter rings
  hybrid_inputs.png    the two aligned crops: astronaut face (low), Chelsea the cat (high)
  hybrid.png           the hybrid image (Oliva, Torralba & Schyns 2006)
  hybrid_scales.png    the hybrid at decreasing scales: cat close up, face from afar
  hybrid_spectra.png   log spectra of the low-passed face, high-passed cat, hybrid
  laplacian.png        the hybrid's Laplacian pyramid levels (band-pass, rescaled)
  aliasing.png         zone plate; naive x4 subsampling; cvgeo.downsample x4 (both
                       enlarged x4 with nearest neighbour to show the pixels)
and prints the aliasing energies (definition as in tests/cvgeo/test_fourier.py).
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
from cvgeo.fourier import (
    apply_filter,
    frequency_filter,
    hybrid_image,
    hybrid_scales,
    spectrum,
)
from cvgeo.pyramids import downsample, laplacian_pyramid

HERE = Path(__file__).resolve().parent


def side_by_side(images: list[np.ndarray], gap: int = 6) -> np.ndarray:
    """Grey or colour float images in [0, 1] on one white canvas, top-aligned."""
    images = [np.repeat(im[..., None], 3, 2) if im.ndim == 2 else im for im in images]
    h = max(im.shape[0] for im in images)
    w = sum(im.shape[1] for im in images) + gap * (len(images) - 1)
    canvas = np.ones((h, w, 3), np.float32)
    col = 0
    for im in images:
        canvas[:im.shape[0], col:col + im.shape[1]] = im
        col += im.shape[1] + gap
    return canvas


def stretch(x: np.ndarray) -> np.ndarray:
    """Map a signed band-pass image to [0, 1] for display (0 -> 0.5)."""
    m = float(np.abs(x).max()) or 1.0
    return np.clip(0.5 + 0.5 * x / m, 0, 1).astype(np.float32)


def aligned_faces() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's face and Chelsea the cat, cropped and scaled so the eyes line up.

    Eye centres (x, y) read off the images: astronaut (205, 100) and (247, 100),
    cat (172, 113) and (320, 135). Both crops are scaled to 224 x 320 so that the eye
    midpoints land near (160, 98) with about 120 px between the eyes.
    """
    face = skimage.data.astronaut()[66:144, 170:282]    # rows, cols around the eyes
    cat = skimage.data.chelsea()[4:284, 46:446]
    face = cvgeo.resize(face, (224, 320), interpolation="bicubic")
    cat = cvgeo.resize(cat, (224, 320), interpolation="area")
    return np.clip(face, 0, 1), cat


def zone_plate(n: int) -> tuple[np.ndarray, np.ndarray]:
    """cos(pi k r^2), local frequency k r reaching 0.5 cycles/pixel at the corners."""
    c = (n - 1) / 2
    yy, xx = np.mgrid[0:n, 0:n] - c
    k = 0.5 / np.sqrt(2 * c * c)
    return (0.5 + 0.5 * np.cos(np.pi * k * (xx ** 2 + yy ** 2))).astype(np.float32), k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "output" / "fourier")
    args = parser.parse_args()
    out: Path = args.out
    t0 = time.perf_counter()

    print("spectra of the camera image ...")
    camera = skimage.data.camera()
    s = spectrum(camera, window="hann")
    cvgeo.write_image(out / "spectra.png",
                      side_by_side([cvgeo.to_float(camera), s.log_magnitude, s.phase_image]))

    print("ideal vs Gaussian vs Butterworth low-pass ...")
    row, specs = [], []
    for kind in ("ideal", "gaussian", "butterworth"):
        y = apply_filter(camera, frequency_filter("lowpass", cutoff=0.04, kind=kind))
        row.append(np.clip(y, 0, 1))
        specs.append(spectrum(y, window="hann").log_magnitude)
    cvgeo.write_image(out / "filters.png",
                      np.concatenate([side_by_side(row), side_by_side(specs)], axis=0))

    print("hybrid image: astronaut (low frequencies) + Chelsea (high frequencies) ...")
    face, cat = aligned_faces()
    cvgeo.write_image(out / "hybrid_inputs.png", side_by_side([face, cat]))
    low_cutoff, high_cutoff = 0.025, 0.06  # cycles/pixel
    hybrid = hybrid_image(face, cat, low_cutoff=low_cutoff, high_cutoff=high_cutoff)
    cvgeo.write_image(out / "hybrid.png", hybrid)
    cvgeo.write_image(out / "hybrid_scales.png", hybrid_scales(hybrid, 5))
    low = apply_filter(cvgeo.to_gray(face), frequency_filter("lowpass", cutoff=low_cutoff))
    high = apply_filter(cvgeo.to_gray(cat), frequency_filter("highpass", cutoff=high_cutoff))
    cvgeo.write_image(out / "hybrid_spectra.png", side_by_side(
        [spectrum(x, window="hann").log_magnitude
         for x in (low, high, cvgeo.to_gray(hybrid))]))

    print("Laplacian pyramid of the hybrid ...")
    pyr = laplacian_pyramid(hybrid, levels=5)
    err = float(np.abs(pyr.reconstruct() - hybrid).max())
    print(f"  reconstruction max |error| = {err:.1e}")
    levels = [stretch(b) for b in pyr.levels[:-1]] + [np.clip(pyr.levels[-1], 0, 1)]
    cvgeo.write_image(out / "laplacian.png", side_by_side(levels))

    print("aliasing: zone plate shrunk x4, naive subsampling vs cvgeo.downsample ...")
    factor = 4
    plate, k = zone_plate(512)
    naive = plate[::factor, ::factor]
    ours = downsample(plate, factor)
    fn = 0.5 / factor
    i = np.arange(naive.shape[0], dtype=np.float64)
    c = (512 - 1) / 2
    f_naive = k * np.hypot(*np.meshgrid(i * factor - c, i * factor - c, indexing="ij"))
    centres = (i + 0.5) * factor - 0.5 - c
    f_ours = k * np.hypot(*np.meshgrid(centres, centres, indexing="ij"))
    e_naive = float(((naive - 0.5)[f_naive >= 1.1 * fn] ** 2).sum())
    e_ours = float(((ours - 0.5)[f_ours >= 1.1 * fn] ** 2).sum())
    area = cvgeo.resize(plate, naive.shape, interpolation="area")
    e_area = float(((area - 0.5)[f_ours >= 1.1 * fn] ** 2).sum())
    print(f"  aliasing energy (sum of (y - 0.5)^2 where the local frequency >= 1.1 fN): "
          f"naive {e_naive:.1f}, cvgeo.resize(area) {e_area:.2f}, cvgeo.downsample "
          f"{e_ours:.3f}  ->  naive / ours = {e_naive / e_ours:.0f}x")

    def enlarge(x):
        return np.repeat(np.repeat(x, factor, 0), factor, 1)

    cvgeo.write_image(out / "aliasing.png",
                      side_by_side([plate, enlarge(naive), enlarge(np.clip(ours, 0, 1))]))
    print(f"wrote {len(list(out.glob('*.png')))} images to {out} in "
          f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
