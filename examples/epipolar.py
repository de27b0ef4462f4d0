"""Epipolar geometry on the Middlebury motorcycle pair: robust F, epipolar lines, rectification.

The pair ships rectified, so to make rectification do some work the right image is first
turned by a known camera rotation (a homography ``K R K⁻¹``, warped with
:func:`cvgeo.warp`): the result is what a second, slightly rotated camera would see.
Then, as on any uncalibrated pair:

1. ORB matches (OpenCV: plumbing for this example) between left and rotated right;
2. robust F (:func:`cvgeo.find_fundamental`), checked against the ground truth from the
   shipped disparity map;
3. epipolar lines of a few inliers drawn on both images (``epipolar_lines.png``);
4. the relative pose from E with the known intrinsics (should be the applied rotation);
5. Hartley's uncalibrated rectification (``rectified.png``): matched points must land on
   the same row.

Run: ``python examples/epipolar.py [--out DIR]`` (default ``examples/output/epipolar/``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's cvgeo

from cvgeo import (  # noqa: E402
    correspondences_from_disparity,
    epipolar_distance,
    epipolar_lines,
    essential_from_fundamental,
    find_fundamental,
    intrinsic_matrix,
    recover_pose,
    rectify_uncalibrated,
    rotation_angle,
    rotation_from_axis_angle,
    to_gray,
    to_uint8,
    warp,
    write_image,
)

# skimage.data.stereo_motorcycle's docstring (Middlebury 2014, down-sampled 4x)
F_PX, CX, CY, DOFFS = 994.978, 311.193, 254.877, 31.086
K1 = intrinsic_matrix(F_PX, CX, CY)
K2 = intrinsic_matrix(F_PX, CX + DOFFS, CY)
TURN = rotation_from_axis_angle(np.radians([1.5, -4.0, 3.0]))  # the right camera's extra turn


def orb_matches(img1: np.ndarray, img2: np.ndarray, n_features: int = 4000):
    """ORB keypoints, Hamming brute force with cross-check and Lowe's ratio (0.8)."""
    orb = cv2.ORB_create(n_features)
    k1, d1 = orb.detectAndCompute(to_uint8(to_gray(img1)), None)
    k2, d2 = orb.detectAndCompute(to_uint8(to_gray(img2)), None)
    knn = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(d1, d2, k=2)
    good = [m for m, n in (p for p in knn if len(p) == 2) if m.distance < 0.8 * n.distance]
    x1 = np.array([k1[m.queryIdx].pt for m in good], dtype=np.float64)
    x2 = np.array([k2[m.trainIdx].pt for m in good], dtype=np.float64)
    return x1, x2


def draw_lines(image: np.ndarray, lines: np.ndarray, points: np.ndarray, colors) -> np.ndarray:
    out = np.ascontiguousarray(image.copy())
    w = image.shape[1]
    for (a, b, c), (x, y), col in zip(lines, points, colors):
        if abs(b) > 1e-9:  # y = -(a x + c) / b at both borders
            p0 = (0, int(round(-c / b)))
            p1 = (w - 1, int(round(-(a * (w - 1) + c) / b)))
            cv2.line(out, p0, p1, col, 1, cv2.LINE_AA)
        cv2.circle(out, (int(round(x)), int(round(y))), 4, col, 2, cv2.LINE_AA)
    return out


def to_h(x):
    return np.c_[x, np.ones(len(x))]


def apply(H, x):
    q = to_h(x) @ H.T
    return q[:, :2] / q[:, 2:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "output" / "epipolar")
    args = ap.parse_args()
    t_start = time.perf_counter()

    left, right, disp = skimage.data.stereo_motorcycle()
    h, w = disp.shape
    H_turn = K2 @ TURN @ np.linalg.inv(K2)  # what the rotated right camera sees
    right_turned = to_uint8(warp(right, H_turn, output_shape=(h, w)))
    print(f"1. right image turned by {np.degrees(float(rotation_angle(TURN))):.2f} degrees")

    x1, x2 = orb_matches(left, right_turned)
    print(f"2. ORB: {len(x1)} matches after the ratio test")
    t0 = time.perf_counter()
    r = find_fundamental(x1, x2, threshold_px=1.0)
    dt = (time.perf_counter() - t0) * 1e3
    print(f"   find_fundamental: {r.n_inliers} inliers ({100 * r.n_inliers / len(x1):.0f} %), "
          f"{r.n_trials} samples, {dt:.0f} ms")
    gt = correspondences_from_disparity(disp, n_points=5000, seed=0)
    gt2 = apply(H_turn, gt.x2)
    inside = (gt2 >= 0).all(axis=1) & (gt2[:, 0] < w) & (gt2[:, 1] < h)
    g1, g2 = gt.x1[inside], gt2[inside]
    err = epipolar_distance(r.F, g1, g2)
    print(f"   ground truth ({len(g1)} disparity matches): median √Sampson {np.median(err):.3f} "
          f"px, 90th percentile {np.percentile(err, 90):.3f} px")

    rng = np.random.default_rng(1)
    pick = rng.choice(np.flatnonzero(r.inlier_mask), size=min(16, r.n_inliers), replace=False)
    colors = [tuple(int(c) for c in rng.integers(40, 256, 3)) for _ in pick]
    lines_in_2 = epipolar_lines(r.F, x1[pick], image=1)
    lines_in_1 = epipolar_lines(r.F, x2[pick], image=2)
    panel = np.hstack([draw_lines(left, lines_in_1, x1[pick], colors),
                       draw_lines(right_turned, lines_in_2, x2[pick], colors)])
    path = write_image(args.out / "epipolar_lines.png", panel)
    print(f"3. wrote {path}")

    E = essential_from_fundamental(r.F, K1=K1, K2=K2)
    pose = recover_pose(E, x1[r.inlier_mask], x2[r.inlier_mask], K1=K1, K2=K2, refine=True)
    rot_err = np.degrees(float(rotation_angle(pose.R.T @ TURN)))
    t_true = TURN @ np.array([-1.0, 0.0, 0.0])
    t_err = np.degrees(np.arccos(np.clip(pose.t @ t_true, -1, 1)))
    print(f"4. pose from E: rotation error {rot_err:.2f} deg, translation direction error "
          f"{t_err:.2f} deg ({pose.in_front.mean() * 100:.0f} % of inliers in front)")

    rect = rectify_uncalibrated(r.F, x1[r.inlier_mask], x2[r.inlier_mask], image_size=(h, w))
    out_shape = rect.output_shape
    left_r = warp(left, rect.H1, output_shape=out_shape)
    right_r = warp(right_turned, rect.H2, output_shape=out_shape)
    dy_orb = np.abs(apply(rect.H1, x1[r.inlier_mask])[:, 1]
                    - apply(rect.H2, x2[r.inlier_mask])[:, 1])
    dy_gt = np.abs(apply(rect.H1, g1)[:, 1] - apply(rect.H2, g2)[:, 1])
    print(f"5. rectified: |Δy| of ORB inliers median {np.median(dy_orb):.3f} px, ground truth "
          f"median {np.median(dy_gt):.3f} px, 90th percentile {np.percentile(dy_gt, 90):.3f} px")
    pair = to_uint8(np.hstack([left_r, right_r]))
    pair = np.ascontiguousarray(pair)
    for y in range(20, out_shape[0], 40):  # guide rows: matches should sit on them together
        cv2.line(pair, (0, y), (pair.shape[1] - 1, y), (0, 255, 0), 1)
    path = write_image(args.out / "rectified.png", pair)
    print(f"   wrote {path}")
    print(f"done in {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
