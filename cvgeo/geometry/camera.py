"""Pinhole cameras: intrinsics, projection matrices, rotations, stereo disparity.

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
through ``array_api_compat``) and keep autograd. The synthetic two-view scene generator
is :func:`cvgeo.datasets.synthetic_two_view_scene`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cvgeo._checks import (
    DegenerateError,
    check_float_array_xp,
    check_int,
    check_namespace,
    check_points_xp,
    check_real,
    check_seed,
    describe,
)
from cvgeo.geometry.homogeneous import from_homogeneous

__all__ = [
    "StereoCorrespondences",
    "correspondences_from_disparity",
    "depth_from_disparity",
    "intrinsic_matrix",
    "project",
    "projection_matrix",
    "rotation_angle",
    "rotation_from_axis_angle",
]






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
    xp = check_namespace(K, R, t, func=func, names=("K", "R", "t"))
    K = check_float_array_xp(K, func, "K", (3, 3), xp)
    R = check_float_array_xp(R, func, "R", (3, 3), xp)
    t = check_float_array_xp(t, func, "t", (3,), xp)
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
    xp2 = check_namespace(X, P, func=func, names=("points3d", "P"))
    P = check_float_array_xp(P, func, "P", (3, 4), xp2)
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
    xp = check_namespace(rotvec, func=func, names=("rotvec",))
    r = check_float_array_xp(rotvec, func, "rotvec", (3,), xp)
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
    xp = check_namespace(R, func=func, names=("R",))
    R = check_float_array_xp(R, func, "R", (3, 3), xp)
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


#: names that moved to :mod:`cvgeo.datasets` and stay importable from here
_MOVED = ("MAX_SCENE_POINTS", "TwoViewScene", "synthetic_two_view_scene")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from cvgeo import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
