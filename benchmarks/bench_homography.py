"""Homography estimation: cvgeo.find_homography vs cv2 (USAC_MAGSAC, RANSAC) and skimage.

Two measurements, both printed and saved to ``benchmarks/results/``:

1. Synthetic: 1000 correspondences in a 640x480 frame, the true H moves the corners by up
   to 12 % of the width, 1 px Gaussian noise on *both* src and dst, 50 % of dst replaced
   by uniform outliers. Accuracy is the mean corner error (px) of the estimate against the
   true H, over 50 problems; time is the median of interleaved runs on one problem, then
   the spread of the per-problem ratio over 10 problems, and where cvgeo's time goes.
2. Real: skimage.data.astronaut (grey) and a second view warped by a known random H
   (corners moved by +-12 % of the width), ORB matches (cv2, plumbing); median corner error
   over 10 pairs.

Run: ``cd benchmarks && python bench_homography.py``.
"""

from __future__ import annotations

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import _harness  # noqa: F401  (first: pins threads)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
import skimage.measure  # noqa: E402
import skimage.transform  # noqa: E402
from _harness import Bench, compile_times  # noqa: E402

from cvgeo import find_homography, to_gray, warp  # noqa: E402


def apply_h(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    q = np.c_[pts, np.ones(len(pts))] @ H.T
    return q[:, :2] / q[:, 2:]


def corner_error(H_est: np.ndarray, H_true: np.ndarray, w: int, h: int) -> float:
    """Mean distance (px) between the image corners mapped by the estimate and the truth."""
    c = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)
    return float(np.linalg.norm(apply_h(H_est, c) - apply_h(H_true, c), axis=1).mean())


def random_homography(rng: np.random.Generator, w: int, h: int, frac: float = 0.12):
    """The H that moves each image corner by up to ``frac * w`` in x and y."""
    c = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    moved = (c + rng.uniform(-frac * w, frac * w, (4, 2))).astype(np.float32)
    return cv2.getPerspectiveTransform(c, moved).astype(np.float64)


def synthetic(rng: np.random.Generator, n: int = 1000, w: int = 640, h: int = 480,
              noise: float = 1.0, outliers: float = 0.5):
    H = random_homography(rng, w, h)
    src = rng.uniform(0, [w, h], (n, 2))
    dst = apply_h(H, src)
    src = src + rng.normal(0, noise, src.shape)
    dst = dst + rng.normal(0, noise, dst.shape)
    out = rng.random(n) < outliers
    dst[out] = rng.uniform(0, [w, h], (int(out.sum()), 2))
    return H, src, dst


def orb_pair(image: np.ndarray, seed: int, n_features: int = 3000):
    """A second view by a known random H, and ORB matches between the two views."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    H = random_homography(rng, w, h)
    view = warp(image, H, output_shape=(h, w), interpolation="bicubic")
    a = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    b = (np.clip(view, 0, 1) * 255).astype(np.uint8)
    orb = cv2.ORB_create(nfeatures=n_features)
    ka, da = orb.detectAndCompute(a, None)
    kb, db = orb.detectAndCompute(b, None)
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    src = np.array([ka[m.queryIdx].pt for m in matches], float)
    dst = np.array([kb[m.trainIdx].pt for m in matches], float)
    return H, src, dst


def skimage_ransac(src, dst, t):
    model, _ = skimage.measure.ransac((src, dst), skimage.transform.ProjectiveTransform,
                                      min_samples=4, residual_threshold=t, max_trials=10_000,
                                      stop_probability=0.999, rng=0)
    return model.params


def print_minima(bench: Bench, ours: str = "cvgeo") -> None:
    """Fastest run of each, and the ratio: less sensitive than medians to a loaded machine."""
    mins = {k: min(v) for k, v in bench.times.items()}
    print("fastest run (ms): " + ", ".join(
        f"{k} {t * 1e3:.3f}" + ("" if k == ours else f" (ours / it {mins[ours] / t:.2f})")
        for k, t in mins.items()))


def cost_split(src: np.ndarray, dst: np.ndarray, t: float, repeats: int = 41) -> None:
    """Where one call's time goes: the compiled search, the finishing kernel (the
    Sampson refinement and the residuals), and the rest (validation, the low-support
    test, the result), as medians of interleaved runs."""
    import time

    from cvgeo.geometry._homography_ransac import homography_ransac
    from cvgeo.geometry._homography_refine import _finish_kernel

    src = np.ascontiguousarray(src, dtype=np.float64)
    dst = np.ascontiguousarray(dst, dtype=np.float64)
    H0, _, _ = homography_ransac(src, dst, threshold_px=t, confidence=0.999,
                                 max_trials=10_000, key=0, delta0=1e-4)
    parts = {
        "whole call": lambda: find_homography(src, dst, threshold_px=t),
        "search": lambda: homography_ransac(src, dst, threshold_px=t, confidence=0.999,
                                            max_trials=10_000, key=0, delta0=1e-4),
        "finish (refinement)": lambda: _finish_kernel(H0, src, dst, t, True),
    }
    clock = time.thread_time if _harness.CPU_CLOCK else time.perf_counter
    times = {k: [] for k in parts}
    for _ in range(repeats):
        for k, f in parts.items():
            t0 = clock()
            f()
            times[k].append(clock() - t0)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    med["rest (validation, low-support test, result)"] = (
        med["whole call"] - med["search"] - med["finish (refinement)"])
    print("cost split of one cvgeo call (median ms): " +
          ", ".join(f"{k} {v:.3f}" for k, v in med.items()))


def main() -> None:
    t = 3.0
    peers = {
        "cvgeo": lambda s, d: find_homography(s, d, threshold_px=t).model,
        "cv2 USAC_MAGSAC": lambda s, d: cv2.findHomography(s, d, cv2.USAC_MAGSAC, t)[0],
        "cv2 RANSAC": lambda s, d: cv2.findHomography(s, d, cv2.RANSAC, t)[0],
    }
    # 1. synthetic accuracy over 50 problems
    rng = np.random.default_rng(2024)
    errors = {k: [] for k in peers}
    problems = [synthetic(rng) for _ in range(50)]
    for H, s, d in problems:
        for k, f in peers.items():
            errors[k].append(corner_error(f(s, d), H, 640, 480))
    print("synthetic: 1000 points, 1 px noise on src and dst, 50 % outliers, 50 problems")
    print(f"{'implementation':<20}{'mean corner err':>18}{'median':>10}")
    for k, e in errors.items():
        print(f"{k:<20}{np.mean(e):>18.4f}{np.median(e):>10.4f}")
    sk = [corner_error(skimage_ransac(s, d, t), H, 640, 480) for H, s, d in problems[:3]]
    print(f"{'skimage ransac':<20}{np.mean(sk):>18.4f}  (first 3 problems)")

    H, s, d = problems[0]
    bench = Bench("find_homography", points=1000, outliers="50%", noise_px=1.0)
    for k, f in peers.items():
        bench.add(k, lambda f=f: f(s, d))
    bench.run(repeats=41)
    bench.report(ours="cvgeo")
    print_minima(bench)
    cost_split(s, d, t)
    # the same comparison over the first 10 problems: cv2's time varies from problem to
    # problem (its sample count does); the median over problems of the per-problem ratio
    spread = {k: [] for k in peers if k != "cvgeo"}
    for _, sp, dp in problems[:10]:
        b = Bench("find_homography_problem")
        for k, f in peers.items():
            b.add(k, lambda f=f, sp=sp, dp=dp: f(sp, dp))
        b.run(repeats=11)
        for k in spread:
            spread[k].append(b.ratio("cvgeo", k))
    for k, r in spread.items():
        print(f"cvgeo / {k} over 10 problems: median {np.median(r):.2f}, "
              f"range {min(r):.2f}-{max(r):.2f}")
    slow = Bench("find_homography_vs_skimage", points=1000, outliers="50%")
    slow.add("cvgeo", lambda: find_homography(s, d, threshold_px=t))
    slow.add("skimage ransac", lambda: skimage_ransac(s, d, t))
    slow.run(repeats=3)
    slow.report(ours="cvgeo")

    # 2. ORB on astronaut, 10 pairs
    image = to_gray(skimage.data.astronaut())
    h, w = image.shape
    real = {k: [] for k in ("cvgeo", "cv2 USAC_MAGSAC")}
    for seed in range(10):
        H, s, d = orb_pair(image, seed)
        real["cvgeo"].append(corner_error(peers["cvgeo"](s, d), H, w, h))
        real["cv2 USAC_MAGSAC"].append(corner_error(peers["cv2 USAC_MAGSAC"](s, d), H, w, h))
    print("\nastronaut, ORB matches, 10 pairs: corner error (px)")
    for k, e in real.items():
        print(f"{k:<20} median {np.median(e):.4f}  mean {np.mean(e):.4f}  "
              f"per pair {np.round(e, 3).tolist()}")

    compile_times("from cvgeo import find_homography\n"
                  "r = numpy.random.default_rng(0).uniform(0, 100, (50, 2))\n"
                  "find_homography(r, r * 1.5 + 2)")


if __name__ == "__main__":
    main()
