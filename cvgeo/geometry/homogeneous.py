"""Homogeneous coordinates and Hartley normalisation.

Conventions
-----------
Points are ``(..., N, 2)`` arrays of ``(x, y)``: x is the column, y the row, origin at the
centre of the top-left pixel. Homogeneous points are ``(..., N, 3)``. Every function here
accepts numpy arrays or torch tensors (one implementation, written against the array
API through ``array_api_compat``), with any leading batch dimensions, and keeps autograd.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cvgeo._checks import DegenerateError, check_points_xp, check_real

__all__ = [
    "NormalizedPoints",
    "from_homogeneous",
    "hartley_normalize",
    "is_at_infinity",
    "to_homogeneous",
]


def to_homogeneous(points: Any) -> Any:
    """Append a coordinate of 1: ``(..., N, 2) -> (..., N, 3)``.

    Examples
    --------
    >>> import numpy as np
    >>> to_homogeneous(np.array([[2.0, 3.0]]))
    array([[2., 3., 1.]])
    """
    x, xp = check_points_xp(points, "to_homogeneous", dim=2)
    ones = xp.ones(x.shape[:-1] + (1,), dtype=x.dtype, device=getattr(x, "device", None))
    return xp.concat([x, ones], axis=-1)


def is_at_infinity(points: Any, *, eps: float = 1e-12) -> Any:
    """Boolean ``(..., N)``: homogeneous points whose last coordinate is (near) zero.

    A point counts as at infinity when ``|w| <= eps * max(|x|, |y|, |w|)``: the test is
    relative, so it does not depend on the overall scale of the homogeneous vector.
    """
    x, xp = check_points_xp(points, "is_at_infinity", dim=3)
    eps = check_real(eps, "is_at_infinity", "eps", low=0.0)
    scale = xp.max(xp.abs(x), axis=-1)
    return xp.abs(x[..., 2]) <= eps * scale


def from_homogeneous(points: Any, *, eps: float = 1e-12) -> Any:
    """Divide by the last coordinate: ``(..., N, 3) -> (..., N, 2)``.

    Points at infinity (see :func:`is_at_infinity`) have no Euclidean position; rather
    than return inf or NaN they raise. Filter them first with :func:`is_at_infinity` when
    they are expected.

    Raises
    ------
    DegenerateError
        Some points lie at infinity; the message says how many and the first index.

    Examples
    --------
    >>> import numpy as np
    >>> from_homogeneous(np.array([[4.0, 6.0, 2.0]]))
    array([[2., 3.]])
    """
    x, xp = check_points_xp(points, "from_homogeneous", dim=3)
    check_real(eps, "from_homogeneous", "eps", low=0.0)
    inf = is_at_infinity(x, eps=eps)
    if bool(xp.any(inf)):
        flat = xp.reshape(inf, (-1,))
        n_bad = int(xp.sum(xp.astype(flat, xp.int64)))
        first = int(xp.argmax(xp.astype(flat, xp.int64)))
        raise DegenerateError(
            f"from_homogeneous: points must not lie at infinity (w = 0), got {n_bad} such "
            f"point(s), the first at flat index {first}"
        )
    return x[..., :2] / x[..., 2:3]


@dataclass(frozen=True)
class NormalizedPoints:
    """Result of :func:`hartley_normalize`.

    Attributes
    ----------
    points : array of shape (..., N, 2)
        The normalised points: centroid at the origin, mean distance from it sqrt(2).
    T : array of shape (..., 3, 3)
        The similarity that did it: ``to_homogeneous(points) = (T @ to_homogeneous(x).T).T``.
    """

    points: Any
    T: Any


def hartley_normalize(points: Any) -> NormalizedPoints:
    """Hartley's normalisation: translate the centroid to 0, scale mean distance to sqrt(2).

    Conditioning the points this way before a DLT makes the linear system's columns
    comparable in size; without it, the 8-point algorithm and the homography DLT lose
    several digits (Hartley 1997).

    Parameters
    ----------
    points : array of shape (..., N, 2)
        numpy array or torch tensor.

    Returns
    -------
    NormalizedPoints
        ``points`` normalised and the 3x3 similarity ``T`` (per batch element).

    Raises
    ------
    DegenerateError
        Fewer than 2 points, or all points coincide (no scale can be defined).

    References
    ----------
    R. Hartley, "In defense of the eight-point algorithm", IEEE TPAMI 19(6), 1997.
    doi:10.1109/34.601246

    Examples
    --------
    >>> import numpy as np
    >>> r = hartley_normalize(np.array([[0.0, 0.0], [2.0, 0.0]]))
    >>> r.points
    array([[-1.41421356,  0.        ],
           [ 1.41421356,  0.        ]])
    """
    x, xp = check_points_xp(points, "hartley_normalize", dim=2, min_count=2)
    centroid = xp.mean(x, axis=-2, keepdims=True)  # (..., 1, 2)
    centred = x - centroid
    mean_dist = xp.mean(xp.sqrt(xp.sum(centred * centred, axis=-1)), axis=-1)  # (...)
    scale_ref = xp.max(xp.abs(x))
    scale_ref = scale_ref.detach() if hasattr(scale_ref, "detach") else scale_ref
    tiny = 1e-12 * max(float(scale_ref), 1.0)
    if bool(xp.any(mean_dist <= tiny)):
        raise DegenerateError(
            "hartley_normalize: points must not all coincide, got all points at the same "
            "location (mean distance from the centroid is 0)"
        )
    s = (2.0**0.5) / mean_dist  # (...)
    normed = centred * s[..., None, None]
    zeros = xp.zeros_like(s)
    ones = xp.ones_like(s)
    cx, cy = centroid[..., 0, 0], centroid[..., 0, 1]
    rows = [
        xp.stack([s, zeros, -s * cx], axis=-1),
        xp.stack([zeros, s, -s * cy], axis=-1),
        xp.stack([zeros, zeros, ones], axis=-1),
    ]
    T = xp.stack(rows, axis=-2)
    return NormalizedPoints(points=normed, T=T)
