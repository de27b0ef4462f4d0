"""Epipoles, epipolar lines and the epipolar distance of matches.

Conventions are those of :mod:`cvgeo.geometry.epipolar`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvgeo._checks import (
    DegenerateError,
    check_bool,
    check_choice,
    check_float_array_xp,
    check_namespace,
    check_points_pair_xp,
    check_points_xp,
    describe,
)
from cvgeo.geometry._common import (
    _matrix_xp,
    _require_rank,
)

__all__ = ["Epipoles", "epipolar_distance", "epipolar_lines", "epipoles"]


@dataclass(frozen=True)
class Epipoles:
    """Result of :func:`epipoles`: homogeneous epipoles at unit norm.

    Attributes
    ----------
    e1 : array of shape (..., 3)
        Epipole in image 1 (``F e1 = 0``): the image of camera 2's centre.
    e2 : array of shape (..., 3)
        Epipole in image 2 (``Fᵀ e2 = 0``).

    Homogeneous, because an epipole may lie at infinity (``w = 0``, a rectified pair);
    use :func:`~cvgeo.geometry.homogeneous.from_homogeneous` for pixels when it does not.
    The sign makes ``w >= 0``.
    """

    e1: Any
    e2: Any


def epipoles(F: Any) -> Epipoles:
    """Epipoles of a fundamental matrix: its right and left null vectors.

    Parameters
    ----------
    F : array of shape (..., 3, 3)

    Returns
    -------
    Epipoles
        ``e1`` and ``e2``, homogeneous, unit norm, ``w >= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvgeo.geometry.epipolar import fundamental_from_pose
    >>> F = fundamental_from_pose(np.eye(3), np.array([-1.0, 0, 0]), K1=np.eye(3), K2=np.eye(3))
    >>> np.abs(epipoles(F).e1)
    array([1., 0., 0.])
    """
    F, xp = _matrix_xp(F, "epipoles", "F")
    _require_rank(F, xp, "epipoles", "F", 2, "have rank 2 (its null space is the epipole)")
    U, _, Vh = xp.linalg.svd(F)
    e1 = Vh[..., 2, :]
    e2 = U[..., :, 2]

    def fix(e):
        sgn = xp.where(e[..., 2:3] < 0, -xp.ones_like(e[..., 2:3]), xp.ones_like(e[..., 2:3]))
        return e * sgn

    return Epipoles(e1=fix(e1), e2=fix(e2))


def epipolar_lines(F: Any, points: Any, *, image: int = 1) -> Any:
    """Epipolar lines ``(a, b, c)`` with ``a x + b y + c = 0`` and ``a² + b² = 1``.

    Parameters
    ----------
    F : array of shape (..., 3, 3)
        Fundamental matrix, ``x2ᵀ F x1 = 0``.
    points : array of shape (..., N, 2)
        Points in image ``image``.
    image : {1, 2}
        Which image ``points`` lie in. Points of image 1 give lines ``F x1`` in image 2;
        points of image 2 give lines ``Fᵀ x2`` in image 1.

    Returns
    -------
    lines : array of shape (..., N, 3)
        In the *other* image; the signed distance of a point ``(x, y)`` from a line is
        ``a x + b y + c`` pixels.

    Raises
    ------
    DegenerateError
        A point is the epipole itself (its line is undefined).

    Examples
    --------
    >>> import numpy as np
    >>> from cvgeo.geometry.epipolar import fundamental_from_pose
    >>> F = fundamental_from_pose(np.eye(3), np.array([-1.0, 0, 0]), K1=np.eye(3), K2=np.eye(3))
    >>> np.round(epipolar_lines(F, np.array([[5.0, 2.0]])), 12)  # the row y = 2
    array([[ 0.,  1., -2.]])
    """
    func = "epipolar_lines"
    if isinstance(image, (bool, np.bool_)) or not isinstance(image, (int, np.integer)) or \
            image not in (1, 2):
        raise ValueError(f"{func}: image must be 1 or 2, got {describe(image)}")
    p, xp = check_points_xp(points, func, "points")
    F = check_float_array_xp(F, func, "F", (3, 3),
                             check_namespace(F, p, func=func, names=("F", "points")))
    M = F if image == 1 else xp.matrix_transpose(F)
    lines = p @ xp.matrix_transpose(M[..., :, :2]) + M[..., None, :, 2]
    nrm = xp.sqrt(lines[..., 0] ** 2 + lines[..., 1] ** 2)
    fnorm = xp.sqrt(xp.sum(xp.reshape(F * F, F.shape[:-2] + (9,)), axis=-1))[..., None]
    pnorm = xp.sqrt(xp.sum(p * p, axis=-1) + 1.0)
    if bool(xp.any(nrm <= 1e-12 * fnorm * pnorm)):
        raise DegenerateError(f"{func}: points must not be the epipole, got a point whose "
                              "epipolar line is undefined (F x = 0)")
    return lines / nrm[..., None]


def epipolar_distance(F: Any, x1: Any, x2: Any, *, kind: str = "sampson",
                      squared: bool = False) -> Any:
    """Per-match epipolar error of ``F``: Sampson, symmetric or algebraic.

    Parameters
    ----------
    F : array of shape (..., 3, 3)
        Fundamental matrix, ``x2ᵀ F x1 = 0``.
    x1, x2 : array of shape (..., N, 2)
        Matches.
    kind : {"sampson", "symmetric", "algebraic"}
        * ``"sampson"``: the first-order geometric error
          ``r² / ((F x1)₁² + (F x1)₂² + (Fᵀ x2)₁² + (Fᵀ x2)₂²)`` with ``r = x2ᵀ F x1``;
          its square root is (to first order) the distance in pixels that the 4-vector
          ``(x1, x2)`` must move to satisfy ``F`` exactly.
        * ``"symmetric"``: the root mean square of the two point-to-epipolar-line
          distances, ``sqrt((d(x2, F x1)² + d(x1, Fᵀ x2)²) / 2)``, pixels.
        * ``"algebraic"``: ``|x2ᵀ F̂ x1|`` with ``F̂`` at unit Frobenius norm — unitless,
          not pixels; for diagnostics only.
    squared : bool
        Return the square of the distance above (for example the Sampson error
        ``r² / (...)`` itself, in pixels²).

    Returns
    -------
    array of shape (..., N)
        float64 for numpy input. ``inf`` where a denominator is 0 (a point at an epipole).

    Raises
    ------
    DegenerateError
        ``F`` is zero.

    Examples
    --------
    >>> import numpy as np
    >>> from cvgeo.geometry.epipolar import fundamental_from_pose
    >>> F = fundamental_from_pose(np.eye(3), np.array([-1.0, 0, 0]), K1=np.eye(3), K2=np.eye(3))
    >>> x1, x2 = np.array([[5.0, 2.0]]), np.array([[3.0, 2.5]])  # 0.5 px off the row
    >>> epipolar_distance(F, x1, x2, kind="symmetric")
    array([0.5])
    """
    func = "epipolar_distance"
    kind = check_choice(kind, func, "kind", ("sampson", "symmetric", "algebraic"))
    squared = check_bool(squared, func, "squared")
    p1, p2, xp = check_points_pair_xp(x1, x2, func)
    F = check_float_array_xp(F, func, "F", (3, 3),
                             check_namespace(F, p1, func=func, names=("F", "x1")))
    if bool(xp.any(xp.max(xp.abs(F), axis=(-2, -1)) == 0)):
        raise DegenerateError(f"{func}: F must not be zero, got an all-zero matrix (every "
                              "distance would be undefined)")
    if kind == "algebraic":
        F = F / xp.sqrt(xp.sum(xp.reshape(F * F, F.shape[:-2] + (9,)), axis=-1))[..., None, None]
    l2 = p1 @ xp.matrix_transpose(F[..., :, :2]) + F[..., None, :, 2]  # F x1, (..., N, 3)
    Ft = xp.matrix_transpose(F)
    l1 = p2 @ xp.matrix_transpose(Ft[..., :, :2]) + Ft[..., None, :, 2]  # Fᵀ x2
    r = p2[..., 0] * l2[..., 0] + p2[..., 1] * l2[..., 1] + l2[..., 2]
    r2 = r * r
    if kind == "algebraic":
        return r2 if squared else xp.abs(r)
    n2 = l2[..., 0] ** 2 + l2[..., 1] ** 2
    n1 = l1[..., 0] ** 2 + l1[..., 1] ** 2
    inf = xp.full_like(r, math.inf)
    if kind == "sampson":
        den = n1 + n2
        d2 = xp.where(den > 0, r2 / xp.where(den > 0, den, xp.ones_like(den)), inf)
    else:
        ok = (n1 > 0) & (n2 > 0)
        s1 = xp.where(ok, n1, xp.ones_like(n1))
        s2 = xp.where(ok, n2, xp.ones_like(n2))
        d2 = xp.where(ok, 0.5 * (r2 / s1 + r2 / s2), inf)
    if bool(xp.any(xp.isnan(d2))):
        raise ValueError(f"{func}: F, x1 and x2 must be small enough for float64 arithmetic, "
                         "got a distance that overflows")
    return d2 if squared else xp.sqrt(d2)
