"""Synthetic data with known ground truth: two pinhole cameras looking at random 3-D points.

:func:`synthetic_two_view_scene` draws a scene (or re-projects given 3-D points) with noise
and outliers and returns the true ``F``, ``E``, ``R``, ``t`` and intrinsics beside the
matches; tests, examples and benchmarks of :mod:`cvgeo.geometry.epipolar` use it. It is
also importable from :mod:`cvgeo.geometry.camera`, its former home. Camera conventions
are those of :mod:`cvgeo.geometry.camera`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvgeo._checks import (
    DegenerateError,
    check_bool,
    check_int,
    check_matrix,
    check_points,
    check_probability,
    check_real,
    check_seed,
    describe,
    names_errors_as,
)
from cvgeo.geometry.camera import intrinsic_matrix, rotation_from_axis_angle
from cvgeo.geometry.epipolar.fundamental import fundamental_from_pose

__all__ = ["TwoViewScene", "synthetic_two_view_scene"]


@dataclass(frozen=True)
class TwoViewScene:
    """Result of :func:`synthetic_two_view_scene`: a scene and its ground truth.

    Attributes
    ----------
    points3d : ndarray of shape (N, 3), float64
        World points in camera-1 coordinates (all in front of both cameras).
    x1, x2 : ndarray of shape (N, 2), float64
        Observations in image 1 and 2 (noisy, and with outliers in ``x2`` if asked).
    x1_true, x2_true : ndarray of shape (N, 2), float64
        Noise-free projections of ``points3d`` (for outliers: the true projections too).
    inlier_mask : ndarray of shape (N,), bool
        False where ``x2`` was replaced by a random point.
    K1, K2 : ndarray of shape (3, 3)
        Intrinsics.
    R : ndarray of shape (3, 3)
        Rotation camera 1 -> camera 2.
    t : ndarray of shape (3,)
        Translation camera 1 -> camera 2 (``X2 = R X1 + t``), not normalised.
    F : ndarray of shape (3, 3)
        True fundamental matrix, ``x2ᵀ F x1 = 0``, unit Frobenius norm, sign rule of
        :func:`cvgeo.geometry.epipolar.normalize_fundamental`.
    E : ndarray of shape (3, 3)
        True essential matrix ``[t/|t|]x R`` (singular values 1, 1, 0).
    image_size : tuple of int
        ``(H, W)`` of both images.
    """

    points3d: np.ndarray
    x1: np.ndarray
    x2: np.ndarray
    x1_true: np.ndarray
    x2_true: np.ndarray
    inlier_mask: np.ndarray
    K1: np.ndarray
    K2: np.ndarray
    R: np.ndarray
    t: np.ndarray
    F: np.ndarray
    E: np.ndarray
    image_size: tuple[int, int]


#: Most points :func:`synthetic_two_view_scene` draws (about 1 GB of arrays).
MAX_SCENE_POINTS = 10_000_000


def _accepts_rotation_deg(fn):
    """Accept the former ``rotation_deg`` (degrees) for one release, as ``rotation``
    (radians), with a ``DeprecationWarning`` naming the new keyword."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "rotation_deg" in kwargs:
            if "rotation" in kwargs:
                raise TypeError(f"{fn.__name__}: got both 'rotation_deg' and its new name "
                                "'rotation'; pass 'rotation' (radians) only")
            import warnings

            warnings.warn(f"{fn.__name__}: the keyword 'rotation_deg' is deprecated and will "
                          "be removed in the next release; use 'rotation' (radians)",
                          DeprecationWarning, stacklevel=2)
            deg = kwargs.pop("rotation_deg")
            kwargs["rotation"] = np.deg2rad(check_real(deg, fn.__name__, "rotation_deg"))
        return fn(*args, **kwargs)

    return wrapper


@_accepts_rotation_deg
@names_errors_as("fundamental_from_pose", "fundamental_from_essential",
                 "rotation_from_axis_angle", "intrinsic_matrix")
def synthetic_two_view_scene(
    n_points: int = 100,
    *,
    seed: Any = 0,
    noise_px: float = 0.0,
    outlier_fraction: float = 0.0,
    planar: bool = False,
    image_size: tuple[int, int] = (480, 640),
    focal_px: float = 800.0,
    rotation: float = math.radians(10.0),
    baseline: float = 1.0,
    depth_range: tuple[float, float] = (4.0, 12.0),
    points3d: np.ndarray | None = None,
    R: np.ndarray | None = None,
    t: np.ndarray | None = None,
    K1: np.ndarray | None = None,
    K2: np.ndarray | None = None,
) -> TwoViewScene:
    """Two pinhole cameras looking at random 3-D points, with noise and outliers.

    By default the points fill camera 1's view frustum between ``depth_range``, camera 2
    sits ``baseline`` away in a random direction and is rotated by ``rotation`` about a
    random axis; the points are not clipped to image 2. Any of ``points3d``, ``R``, ``t``,
    ``K1``, ``K2`` may be given instead, which turns the generator into a re-projector
    for real 3-D points (semi-synthetic data).

    Parameters
    ----------
    n_points : int
        Number of points (ignored when ``points3d`` is given), at most
        ``MAX_SCENE_POINTS`` (1e7).
    seed : int, Generator or None
        Random source; the same seed gives the same scene.
    noise_px : float
        Standard deviation of the Gaussian noise added to both images' points, in pixels.
    outlier_fraction : float in [0, 1]
        Fraction of the matches whose ``x2`` is replaced by a uniform random pixel.
    planar : bool
        Put all points on one plane (a degenerate configuration for F).
    image_size : (H, W)
        Image size; points are drawn so camera 1 sees them inside it.
    focal_px : float
        Focal length of both default cameras, in pixels; principal point at the centre.
    rotation : float
        Angle of the random rotation between the cameras, in radians (default 10
        degrees). Formerly ``rotation_deg`` in degrees; that keyword still works for one
        release, with a ``DeprecationWarning``.
    baseline : float
        Distance between the camera centres.
    depth_range : (float, float)
        Depth range of the random points in camera 1.
    points3d : ndarray of shape (N, 3), optional
        Use these camera-1 coordinates instead of random points.
    R, t, K1, K2 : ndarray, optional
        Use this relative pose / these intrinsics instead of the random ones.

    Returns
    -------
    TwoViewScene

    Examples
    --------
    >>> s = synthetic_two_view_scene(20, seed=1)
    >>> s.x1.shape, s.F.shape
    ((20, 2), (3, 3))
    """
    func = "synthetic_two_view_scene"
    rng = check_seed(seed, func)
    noise = check_real(noise_px, func, "noise_px", low=0.0)
    out_frac = check_probability(outlier_fraction, func, "outlier_fraction")
    if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
        raise ValueError(f"{func}: image_size must be a pair (H, W), got {describe(image_size)}")
    h = check_int(image_size[0], func, "image_size[0]", low=1)
    w = check_int(image_size[1], func, "image_size[1]", low=1)
    f = check_real(focal_px, func, "focal_px", low=0.0, low_inclusive=False)
    angle = check_real(rotation, func, "rotation")
    base = check_real(baseline, func, "baseline", low=0.0)
    planar = check_bool(planar, func, "planar")
    if not isinstance(depth_range, (tuple, list, np.ndarray)) or len(depth_range) != 2:
        raise ValueError(f"{func}: depth_range must be a pair (near, far), got "
                         f"{describe(depth_range)}")
    zmin = check_real(depth_range[0], func, "depth_range[0]", low=0.0, low_inclusive=False)
    zmax = check_real(depth_range[1], func, "depth_range[1]", low=zmin)

    K1 = intrinsic_matrix(f, (w - 1) / 2, (h - 1) / 2) if K1 is None else check_matrix(
        K1, func, "K1")
    K2 = K1.copy() if K2 is None else check_matrix(K2, func, "K2")
    for K, name in ((K1, "K1"), (K2, "K2")):
        sv = np.linalg.svd(K, compute_uv=False)
        if not sv[2] > 1e-12 * sv[0]:
            raise DegenerateError(f"{func}: {name} must be invertible, got a singular matrix")
    if points3d is None:
        n = check_int(n_points, func, "n_points", low=1, high=MAX_SCENE_POINTS)
        px = rng.uniform([0.0, 0.0], [w - 1.0, h - 1.0], size=(n, 2))
        if planar:
            # a plane tilted w.r.t. the image: z = z0 + a x + b y in camera coordinates
            z0 = 0.5 * (zmin + zmax)
            rays = np.linalg.solve(K1, np.c_[px, np.ones(n)].T).T  # (n, 3), z = 1
            normal = np.array([0.2, -0.3, 1.0])
            depth = z0 / (rays @ normal)
            X = rays * depth[:, None]
        else:
            depth = rng.uniform(zmin, zmax, size=n)
            rays = np.linalg.solve(K1, np.c_[px, np.ones(n)].T).T
            X = rays * depth[:, None]
    else:
        X = check_points(points3d, func, "points3d", dim=3, min_count=1)
        n = X.shape[0]
    if R is None:
        axis = rng.normal(size=3)
        R = rotation_from_axis_angle(axis / np.linalg.norm(axis) * angle)
    else:
        R = check_matrix(R, func, "R")
    if t is None:
        c2 = rng.normal(size=3)
        c2[2] *= 0.3  # mostly sideways, like a real stereo or moving camera
        c2 *= base / np.linalg.norm(c2)
        t = -R @ c2  # camera 2's centre is c2 in camera-1 coordinates
    else:
        if not isinstance(t, np.ndarray):
            raise TypeError(f"{func}: t must be a numpy array of shape (3,), got "
                            f"{describe(t)}")
        t = check_matrix(t.reshape(1, -1), func, "t", (1, 3))[0]
    X2 = X @ R.T + t
    if np.any(X[:, 2] <= 0) or np.any(X2[:, 2] <= 0):
        raise DegenerateError(f"{func}: points3d must lie in front of both cameras, got "
                              f"{int(np.sum((X[:, 2] <= 0) | (X2[:, 2] <= 0)))} behind")
    x1_true = (X @ K1.T)[:, :2] / X[:, 2:3]
    x2_true = (X2 @ K2.T)[:, :2] / X2[:, 2:3]
    x1 = x1_true + rng.normal(scale=noise, size=x1_true.shape) if noise > 0 else x1_true.copy()
    x2 = x2_true + rng.normal(scale=noise, size=x2_true.shape) if noise > 0 else x2_true.copy()
    inliers = np.ones(n, dtype=bool)
    n_out = int(round(out_frac * n))
    if n_out:
        idx = rng.choice(n, n_out, replace=False)
        inliers[idx] = False
        x2[idx] = rng.uniform([0.0, 0.0], [w - 1.0, h - 1.0], size=(n_out, 2))
    if not all(np.isfinite(a).all() for a in (x1_true, x2_true, x1, x2)):
        raise ValueError(f"{func}: focal_px, depth_range, baseline, points3d, R, t, K1 and "
                         "K2 must be small enough for float64 arithmetic, got image points "
                         "that overflow")
    F = fundamental_from_pose(R, t, K1=K1, K2=K2)
    tn = t / np.linalg.norm(t) if np.linalg.norm(t) > 0 else t
    tx = np.array([[0.0, -tn[2], tn[1]], [tn[2], 0.0, -tn[0]], [-tn[1], tn[0], 0.0]])
    return TwoViewScene(points3d=X, x1=x1, x2=x2, x1_true=x1_true, x2_true=x2_true,
                        inlier_mask=inliers, K1=K1, K2=K2, R=R, t=t, F=F, E=tx @ R,
                        image_size=(h, w))
