"""Pinhole cameras: intrinsics, projection matrices, rotations, synthetic two-view scenes.

Conventions
-----------
A camera is ``P = K [R | t]`` (3x4): a world point ``X`` (3-vector) lands at pixel
``x ~ K (R X + t)``. ``K`` is upper triangular with the focal length in pixels on the
diagonal and the principal point ``(cx, cy)`` in its last column; pixel coordinates follow
cvgeo's convention (x is the column, y the row, origin at the centre of the top-left pixel).
In a two-view setting the first camera is ``K1 [I | 0]`` and the second ``K2 [R | t]``, so
a point ``X1`` in camera-1 coordinates is ``X2 = R X1 + t`` in camera-2 coordinates. Camera
coordinates are x right, y down, z forward (depth). Rotation angles are radians.

The linear-algebra functions accept numpy arrays or torch tensors (one implementation
through ``array_api_compat``) and keep autograd; the scene generator returns numpy.
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
    check_points_xp,
    check_probability,
    check_real,
    check_seed,
    describe,
    names_errors_as,
)
from cvgeo.geometry.homogeneous import from_homogeneous

__all__ = [
    "StereoCorrespondences",
    "TwoViewScene",
    "correspondences_from_disparity",
    "depth_from_disparity",
    "intrinsic_matrix",
    "project",
    "projection_matrix",
    "rotation_angle",
    "rotation_from_axis_angle",
    "synthetic_two_view_scene",
]


def _namespace(*arrays: Any, func: str, names: tuple[str, ...]):
    """The array namespace of numpy arrays / torch tensors, with cvgeo's error messages."""
    from array_api_compat import array_namespace, is_numpy_array, is_torch_array

    for a, name in zip(arrays, names):
        if not (is_numpy_array(a) or is_torch_array(a)):
            raise TypeError(f"{func}: {name} must be a numpy array or torch tensor, got "
                            f"{describe(a)}")
    try:
        return array_namespace(*arrays)
    except TypeError:
        raise TypeError(f"{func}: {', '.join(names)} must all be numpy arrays or all torch "
                        f"tensors, got a mix") from None


def _as_float_matrix(M: Any, func: str, name: str, shape: tuple[int, ...], xp) -> Any:
    """Validate a numpy/torch matrix of trailing shape ``shape`` (batch dims allowed)."""
    from array_api_compat import is_numpy_array

    got = tuple(M.shape)
    if len(got) < len(shape) or got[len(got) - len(shape):] != tuple(shape):
        want = "(..., " + ", ".join(str(s) for s in shape) + ")"
        raise ValueError(f"{func}: {name} must have shape {want}, got shape {got}")
    if is_numpy_array(M):
        if M.dtype.kind not in "uif":
            raise TypeError(f"{func}: {name} must be numeric, got dtype {M.dtype}")
        M = M.astype(np.float64, copy=False)
    elif not M.is_floating_point():
        import torch

        if M.is_complex() or M.dtype == torch.bool:
            raise TypeError(f"{func}: {name} must be real-valued, got dtype {M.dtype}")
        M = M.to(torch.float64)
    if not bool(xp.all(xp.isfinite(M))):
        raise ValueError(f"{func}: {name} must be finite, got NaN or inf values")
    return M


def intrinsic_matrix(focal_px: float, cx: float, cy: float, *, fy: float | None = None,
                     skew: float = 0.0) -> np.ndarray:
    """The 3x3 intrinsic matrix ``K`` of a pinhole camera.

    Parameters
    ----------
    focal_px : float
        Focal length in pixels along x (``fx``), > 0.
    cx, cy : float
        Principal point in pixels (x = column, y = row).
    fy : float, optional
        Focal length along y; defaults to ``focal_px`` (square pixels).
    skew : float
        The ``K[0, 1]`` entry (0 for every modern sensor).

    Returns
    -------
    K : ndarray of shape (3, 3), float64
        ``[[fx, skew, cx], [0, fy, cy], [0, 0, 1]]``.

    Examples
    --------
    >>> intrinsic_matrix(800.0, 320.0, 240.0)
    array([[800.,   0., 320.],
           [  0., 800., 240.],
           [  0.,   0.,   1.]])
    """
    fx = check_real(focal_px, "intrinsic_matrix", "focal_px", low=0.0, low_inclusive=False)
    fy = fx if fy is None else check_real(fy, "intrinsic_matrix", "fy", low=0.0,
                                          low_inclusive=False)
    cx = check_real(cx, "intrinsic_matrix", "cx")
    cy = check_real(cy, "intrinsic_matrix", "cy")
    skew = check_real(skew, "intrinsic_matrix", "skew")
    return np.array([[fx, skew, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def projection_matrix(K: Any, R: Any, t: Any) -> Any:
    """The 3x4 camera matrix ``P = K [R | t]``.

    Parameters
    ----------
    K : array of shape (..., 3, 3)
        Intrinsics.
    R : array of shape (..., 3, 3)
        Rotation world -> camera.
    t : array of shape (..., 3)
        Translation world -> camera (``X_cam = R X + t``).

    Returns
    -------
    P : array of shape (..., 3, 4)
        Same library (numpy or torch) as the input, float64 for numpy.

    Examples
    --------
    >>> import numpy as np
    >>> P = projection_matrix(np.eye(3), np.eye(3), np.array([1.0, 2.0, 3.0]))
    >>> P[:, 3]
    array([1., 2., 3.])
    """
    func = "projection_matrix"
    xp = _namespace(K, R, t, func=func, names=("K", "R", "t"))
    K = _as_float_matrix(K, func, "K", (3, 3), xp)
    R = _as_float_matrix(R, func, "R", (3, 3), xp)
    t = _as_float_matrix(t, func, "t", (3,), xp)
    try:
        batch = np.broadcast_shapes(tuple(K.shape[:-2]), tuple(R.shape[:-2]),
                                    tuple(t.shape[:-1]))
    except ValueError:
        raise ValueError(f"{func}: K, R and t must have broadcastable batch shapes, got "
                         f"{tuple(K.shape)}, {tuple(R.shape)} and {tuple(t.shape)}") from None
    R = xp.broadcast_to(R, batch + (3, 3))
    t = xp.broadcast_to(t, batch + (3,))
    Rt = xp.concat([R, t[..., :, None]], axis=-1)
    return K @ Rt


def project(points3d: Any, P: Any) -> Any:
    """Project 3-D points with a camera matrix: ``x ~ P [X; 1]``.

    Parameters
    ----------
    points3d : array of shape (..., N, 3)
        World points (numpy or torch).
    P : array of shape (..., 3, 4)
        Camera matrix, for example from :func:`projection_matrix`.

    Returns
    -------
    points : array of shape (..., N, 2)
        Pixel coordinates ``(x, y)``.

    Raises
    ------
    DegenerateError
        A point lies on the camera's principal plane (depth 0): it projects to infinity.

    Notes
    -----
    Points behind the camera (negative depth) still project, as the algebra says; check
    the depth ``(R X + t)_z`` when that matters.

    Examples
    --------
    >>> import numpy as np
    >>> P = projection_matrix(intrinsic_matrix(100.0, 50.0, 40.0), np.eye(3), np.zeros(3))
    >>> project(np.array([[1.0, 2.0, 10.0]]), P)
    array([[60., 60.]])
    """
    func = "project"
    X, xp = check_points_xp(points3d, func, "points3d", dim=3)
    xp2 = _namespace(X, P, func=func, names=("points3d", "P"))
    P = _as_float_matrix(P, func, "P", (3, 4), xp2)
    h = X @ xp.matrix_transpose(P[..., :, :3]) + P[..., None, :, 3]
    try:
        return from_homogeneous(h)
    except DegenerateError as exc:
        raise DegenerateError(
            "project: points3d must not lie on the camera's principal plane (depth 0), "
            f"got {str(exc).split('got ', 1)[1]}"
        ) from None


def rotation_from_axis_angle(rotvec: Any) -> Any:
    """Rotation matrix from an axis-angle vector (Rodrigues' formula).

    Parameters
    ----------
    rotvec : array of shape (..., 3)
        Rotation axis times the angle in radians (numpy or torch).

    Returns
    -------
    R : array of shape (..., 3, 3)
        ``R = I + sin θ [k]x + (1 - cos θ) [k]x²`` with ``k = rotvec / θ``; the identity
        for a zero vector. ``det R = +1``.

    Examples
    --------
    >>> import numpy as np
    >>> R = rotation_from_axis_angle(np.array([0.0, 0.0, np.pi / 2]))
    >>> np.round(R @ np.array([1.0, 0.0, 0.0]), 12)
    array([0., 1., 0.])
    """
    func = "rotation_from_axis_angle"
    xp = _namespace(rotvec, func=func, names=("rotvec",))
    r = _as_float_matrix(rotvec, func, "rotvec", (3,), xp)
    theta = xp.sqrt(xp.sum(r * r, axis=-1))  # (...)
    if not bool(xp.all(xp.isfinite(theta))):
        raise ValueError(f"{func}: rotvec must have a norm float64 can hold, got an angle "
                         "that overflows")
    small = theta < 1e-12
    safe = xp.where(small, xp.ones_like(theta), theta)
    k = r / safe[..., None]
    zero = xp.zeros_like(theta)
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    Kx = xp.stack([xp.stack([zero, -kz, ky], axis=-1),
                   xp.stack([kz, zero, -kx], axis=-1),
                   xp.stack([-ky, kx, zero], axis=-1)], axis=-2)
    s = xp.sin(theta)[..., None, None]
    c = (1.0 - xp.cos(theta))[..., None, None]
    eye = xp.eye(3, dtype=r.dtype, device=getattr(r, "device", None))
    return eye + s * Kx + c * (Kx @ Kx)


def rotation_angle(R: Any) -> Any:
    """The rotation angle of a rotation matrix, in radians in ``[0, π]``.

    Use ``rotation_angle(R_est.T @ R_true)`` for the angular error between two rotations.

    Parameters
    ----------
    R : array of shape (..., 3, 3)

    Returns
    -------
    angle : array of shape (...)
        ``arccos((trace R - 1) / 2)``, computed as ``atan2(|axis|, trace - 1)`` so that
        small angles keep their precision.

    Examples
    --------
    >>> import numpy as np
    >>> float(rotation_angle(rotation_from_axis_angle(np.array([0.3, 0.0, 0.0]))))
    0.3
    """
    func = "rotation_angle"
    xp = _namespace(R, func=func, names=("R",))
    R = _as_float_matrix(R, func, "R", (3, 3), xp)
    tr = R[..., 0, 0] + R[..., 1, 1] + R[..., 2, 2]
    ax = xp.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0],
                   R[..., 1, 0] - R[..., 0, 1]], axis=-1)
    return xp.atan2(xp.sqrt(xp.sum(ax * ax, axis=-1)), tr - 1.0)


# --------------------------------------------------------------------------- stereo data


@dataclass(frozen=True)
class StereoCorrespondences:
    """Result of :func:`correspondences_from_disparity`.

    Attributes
    ----------
    x1 : ndarray of shape (N, 2), float64
        Pixel centres ``(x, y)`` in the left image with a finite disparity.
    x2 : ndarray of shape (N, 2), float64
        Their matches in the right image: ``(x - d, y)``.
    disparity : ndarray of shape (N,), float64
        The disparity ``d`` of each match, in pixels.
    """

    x1: np.ndarray
    x2: np.ndarray
    disparity: np.ndarray


def correspondences_from_disparity(disparity: np.ndarray, *, n_points: int | None = None,
                                   seed: Any = 0) -> StereoCorrespondences:
    """Ground-truth matches of a rectified pair from the left image's disparity map.

    Parameters
    ----------
    disparity : ndarray of shape (H, W)
        Disparity of each left-image pixel, in pixels; NaN or inf marks pixels without
        ground truth (Middlebury's convention), and they are skipped.
    n_points : int, optional
        Draw this many matches at random (without replacement); all of them by default.
    seed : int, Generator or None
        Random source for the draw.

    Returns
    -------
    StereoCorrespondences
        ``x1 = (x, y)`` and ``x2 = (x - d, y)``: the right image sees a point ``d`` pixels
        to the left on the same row.

    Raises
    ------
    DegenerateError
        Fewer valid pixels than ``n_points``.

    Examples
    --------
    >>> import numpy as np
    >>> c = correspondences_from_disparity(np.array([[np.inf, 2.0]]))
    >>> c.x1, c.x2
    (array([[1., 0.]]), array([[-1.,  0.]]))
    """
    func = "correspondences_from_disparity"
    if not isinstance(disparity, np.ndarray):
        raise TypeError(f"{func}: disparity must be a numpy array of shape (H, W), got "
                        f"{describe(disparity)}")
    if disparity.ndim != 2:
        raise ValueError(f"{func}: disparity must have shape (H, W), got shape "
                         f"{disparity.shape}")
    if disparity.dtype.kind not in "uif":
        raise TypeError(f"{func}: disparity must be numeric, got dtype {disparity.dtype}")
    rows, cols = np.nonzero(np.isfinite(disparity))
    if n_points is not None:
        n_points = check_int(n_points, func, "n_points", low=1)
        if n_points > rows.size:
            raise DegenerateError(f"{func}: disparity must have at least n_points={n_points} "
                                  f"finite values, got {rows.size}")
        pick = np.sort(check_seed(seed, func).choice(rows.size, n_points, replace=False))
        rows, cols = rows[pick], cols[pick]
    d = disparity[rows, cols].astype(np.float64)
    x1 = np.stack([cols, rows], axis=1).astype(np.float64)
    x2 = x1.copy()
    x2[:, 0] -= d
    return StereoCorrespondences(x1=x1, x2=x2, disparity=d)


def depth_from_disparity(disparity: Any, *, focal_px: float, baseline: float,
                         doffs: float = 0.0) -> Any:
    """Depth of a rectified pair: ``Z = focal_px * baseline / (disparity + doffs)``.

    Parameters
    ----------
    disparity : ndarray
        Disparity in pixels, any shape; NaN/inf give NaN/0 as the formula does.
    focal_px : float
        Focal length in pixels (> 0).
    baseline : float
        Distance between the camera centres (> 0); the depth comes out in its unit.
    doffs : float
        Difference of the principal points' x, ``cx2 - cx1`` (Middlebury's ``doffs``).

    Returns
    -------
    depth : ndarray, float64, same shape

    Examples
    --------
    >>> import numpy as np
    >>> depth_from_disparity(np.array([10.0]), focal_px=100.0, baseline=0.5)
    array([5.])
    """
    func = "depth_from_disparity"
    f = check_real(focal_px, func, "focal_px", low=0.0, low_inclusive=False)
    b = check_real(baseline, func, "baseline", low=0.0, low_inclusive=False)
    doffs = check_real(doffs, func, "doffs")
    if not isinstance(disparity, np.ndarray) or disparity.dtype.kind not in "uif":
        raise TypeError(f"{func}: disparity must be a numeric numpy array, got "
                        f"{describe(disparity)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return f * b / (disparity.astype(np.float64) + doffs)


# --------------------------------------------------------------------------- synthetic scene


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
    from cvgeo.geometry.epipolar import fundamental_from_pose  # circular at import time

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
