"""Synthetic homography scenes shared by the homography tests (the scene of
``benchmarks/bench_homography.py``)."""

from __future__ import annotations

import cv2
import numpy as np


def apply_h(H, pts):
    q = np.c_[pts, np.ones(len(pts))] @ H.T
    return q[:, :2] / q[:, 2:]


def random_h(rng, w=640, h=480, frac=0.12):
    c = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    moved = (c + rng.uniform(-frac * w, frac * w, (4, 2))).astype(np.float32)
    return cv2.getPerspectiveTransform(c, moved).astype(np.float64)


def corner_error(H_est, H, w=640, h=480):
    c = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)
    return np.linalg.norm(apply_h(H_est, c) - apply_h(H, c), axis=1).mean()


def synthetic(rng, n=1000, noise=1.0, outliers=0.5):
    """``(H, src, dst, inlier mask)``: uniform matches in 640x480 under a random
    homography, Gaussian noise on both sides, a fraction replaced by uniform outliers."""
    H = random_h(rng)
    src = rng.uniform(0, [640, 480], (n, 2))
    dst = apply_h(H, src)
    src = src + rng.normal(0, noise, src.shape)
    dst = dst + rng.normal(0, noise, dst.shape)
    out = rng.random(n) < outliers
    dst[out] = rng.uniform(0, [640, 480], (int(out.sum()), 2))
    return H, src, dst, ~out
