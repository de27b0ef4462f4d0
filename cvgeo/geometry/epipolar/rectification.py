"""Projective rectification of an uncalibrated pair (Hartley 1999).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cvgeo._checks import (
    DegenerateError,
    check_matrix,
    check_points_pair,
    check_shape2,
)
from cvgeo.geometry._common import (
    _require_rank,
)
from cvgeo.geometry.epipolar.fundamental import skew
from cvgeo.geometry.epipolar.lines import epipoles

__all__ = ["Rectification", "rectify_uncalibrated"]


@dataclass(frozen=True)
class Rectification:
    """Result of :func:`rectify_uncalibrated`.

    Attributes
    ----------
    H1, H2 : ndarray of shape (3, 3)
        Homographies for image 1 and 2 (source pixel -> rectified pixel): matches land on
        the same row, ``(H1 x1)_y = (H2 x2)_y``.
    output_shape : tuple of int
        ``(H, W)`` canvas that holds both rectified images (for
        :func:`~cvgeo.geometry.warp.warp`).
    """

    H1: np.ndarray
    H2: np.ndarray
    output_shape: tuple[int, int]


def rectify_uncalibrated(F: np.ndarray, x1: np.ndarray, x2: np.ndarray, *,
                         image_size: tuple[int, int]) -> Rectification:
    """Projective rectification of an uncalibrated pair (Hartley 1999).

    Parameters
    ----------
    F : ndarray of shape (3, 3)
        Fundamental matrix, ``x2ᵀ F x1 = 0``.
    x1, x2 : ndarray of shape (N, 2)
        Inlier matches (used to pick the matching homography), ``N >= 3``.
    image_size : (H, W)
        Size of the images (both the same), rows and columns.

    Returns
    -------
    Rectification
        ``H1``, ``H2`` and the ``output_shape`` (equal to ``image_size``): after
        warping, epipolar lines are image rows and matches share their row.

    Raises
    ------
    DegenerateError
        The epipole of image 2 lies inside the image (no rectification keeps the image
        finite), too few matches, or ``F`` of rank below 2.

    Notes
    -----
    1. ``H2 = G R T``: translate the image centre to the origin, rotate the epipole
       ``e2`` onto the x axis at ``(f, 0, 1)``, and send it to infinity with
       ``G = [[1, 0, 0], [0, 1, 0], [-1/f, 0, 1]]`` — to first order a rigid motion
       near the image centre.
    2. The rows 2 and 3 of ``H1`` are those of ``H2 [e2]x F`` (a matching homography:
       corresponding epipolar lines become the same row).
    3. The first row of ``H1`` is the linear least-squares choice minimising the
       disparity ``Σ ((H1 x1)_x - (H2 x2)_x)²`` over the matches (Hartley's ``H_A``).
    4. One similarity applied to both fits the two images into ``image_size``.

    References
    ----------
    R. Hartley, "Theory and practice of projective rectification", IJCV 35(2), 1999.
    doi:10.1023/A:1008115206617

    Examples
    --------
    >>> from cvgeo.datasets import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(50, seed=2, rotation_deg=5)
    >>> r = rectify_uncalibrated(s.F, s.x1, s.x2, image_size=(480, 640))
    >>> h1 = np.c_[s.x1, np.ones(50)] @ r.H1.T
    >>> h2 = np.c_[s.x2, np.ones(50)] @ r.H2.T
    >>> bool(np.abs(h1[:, 1] / h1[:, 2] - h2[:, 1] / h2[:, 2]).max() < 1e-6)
    True
    """
    func = "rectify_uncalibrated"
    F = check_matrix(F, func, "F")
    p1, p2 = check_points_pair(x1, x2, func, min_count=3)
    h, w = check_shape2(image_size, func, "image_size")
    _require_rank(F, np, func, "F", 2, "have rank 2")
    F = F / np.abs(F).max()
    F = F / np.linalg.norm(F)
    e2 = epipoles(F).e2
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    if abs(e2[2]) > 1e-12 * np.abs(e2).max():
        ex, ey = e2[0] / e2[2], e2[1] / e2[2]
        if -0.5 <= ex <= w - 0.5 and -0.5 <= ey <= h - 0.5:
            raise DegenerateError(f"{func}: the epipole of image 2 must lie outside the "
                                  f"image, got ({ex:.1f}, {ey:.1f}) inside {w}x{h}")
    T = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    e = T @ e2
    if e[0] < 0:  # the same point; keeps the rotation within ±90°
        e = -e
    r = math.hypot(e[0], e[1])
    if r == 0:
        raise DegenerateError(f"{func}: the epipole of image 2 must not be the image centre")
    c, s = e[0] / r, e[1] / r
    Rm = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    G = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-e[2] / r, 0.0, 1.0]])
    H2 = G @ Rm @ T
    M = H2 @ skew(e2) @ F  # rows 2 and 3 map epipolar lines of image 1 to rows
    hom1 = np.c_[p1, np.ones(len(p1))]
    hom2 = np.c_[p2, np.ones(len(p2))] @ H2.T
    # orient rows 2-3 of M so rectified y agrees in sign/scale with image 2's
    w1 = hom1 @ M[2]
    y1 = (hom1 @ M[1]) / w1
    y2 = hom2[:, 1] / hom2[:, 2]
    k = float(np.median(y2 / np.where(y1 == 0, np.nan, y1)))
    if not np.isfinite(k) or k == 0:
        k = 1.0
    row2, row3 = M[1] * (1.0 if k > 0 else -1.0), M[2]
    x2r = hom2[:, 0] / hom2[:, 2]
    a = hom1 / (hom1 @ row3)[:, None]
    first, *_ = np.linalg.lstsq(a, x2r, rcond=None)
    H1 = np.vstack([first, row2, row3])
    H1 = H1 / H1[2].dot([cx, cy, 1.0])
    H2 = H2 / H2[2].dot([cx, cy, 1.0])
    if abs(np.linalg.det(H1 / np.abs(H1).max())) < 1e-14:
        raise DegenerateError(f"{func}: the matches must determine a non-singular H1, got a "
                              "singular one (too few or collinear matches)")
    # one similarity for both images: fit the union of the warped corners into the canvas
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], float)
    pts = []
    for H in (H1, H2):
        q = corners @ H.T
        if np.any(q[:, 2] <= 0):
            raise DegenerateError(f"{func}: the rectifying homographies must keep the image "
                                  "finite, got a corner sent to infinity (epipole too close)")
        pts.append(q[:, :2] / q[:, 2:])
    pts = np.vstack(pts)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = min((w - 1) / max(hi[0] - lo[0], 1e-12), (h - 1) / max(hi[1] - lo[1], 1e-12))
    S = np.array([[scale, 0.0, -scale * lo[0]], [0.0, scale, -scale * lo[1]], [0, 0, 1.0]])
    return Rectification(H1=S @ H1, H2=S @ H2, output_shape=(h, w))
