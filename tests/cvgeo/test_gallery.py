"""The gallery's two-view figures: what they draw is what they claim."""

from __future__ import annotations

import numpy as np

from cvgeo import gallery
from cvgeo.geometry.epipolar import epipolar_distance, find_fundamental, rectify_uncalibrated
from cvgeo.geometry.transforms import Projective


def test_two_views_matches_and_rectification_rows():
    left = gallery.bundled_image("motorcycle")
    left, right, x1, x2 = gallery._two_views(left)
    assert right.shape == left.shape and x1.shape == x2.shape == (1000, 2)
    r = find_fundamental(x1, x2, threshold_px=1.0)
    assert 0.6 < r.inlier_mask.mean() < 0.72  # 30 % outliers, ~95 % of the rest within 1 px
    assert np.median(epipolar_distance(r.F, x1[r.inlier_mask], x2[r.inlier_mask])) < 0.5
    rect = rectify_uncalibrated(r.F, x1[r.inlier_mask], x2[r.inlier_mask],
                                image_size=left.shape[:2])
    y1 = Projective(rect.H1)(x1[r.inlier_mask])[:, 1]
    y2 = Projective(rect.H2)(x2[r.inlier_mask])[:, 1]
    assert np.median(np.abs(y1 - y2)) < 0.6  # matches share rows (0.5 px noise)


def test_epipolar_figures_are_side_by_side_pictures():
    left = gallery.bundled_image("motorcycle")
    lines = gallery.epipolar_lines_pair(left)
    h, w = left.shape[:2]
    assert lines.shape == (h, 2 * w, 3) and lines.dtype == np.float32
    assert 0.0 <= lines.min() and lines.max() <= 1.0 + 1e-6  # bilinear warp: rounding only
    pair = gallery.rectified_pair(left)
    assert pair.ndim == 3 and pair.shape[1] % 2 == 0 and pair.shape[2] == 3
