"""Private helpers shared by the geometry modules, each written once.

* Rank and finiteness checks of matrices (numpy or torch).
* Hartley normalisation: the numba :func:`_hartley_stats` / :func:`_normalizer_kernel`;
  their array-API twin is :func:`cvgeo.geometry.homogeneous.hartley_normalize`.
* The sign rule of a fundamental (or essential) matrix: unit Frobenius norm, the first
  entry of largest magnitude positive — :func:`_unit_sign` (array API) and
  :func:`_unit_sign_kernel` (numba).
* The sign rule of a homography: unit Frobenius norm, ``h33 > 0`` (when ``|h33| <= 1e-6``,
  the first entry beyond 1e-6 in row-major order positive) — :func:`_homography_sign`
  (array API) and :func:`_homography_sign_kernel` (numba).
* :func:`_left_null_cross`: the left null vector of a rank-2 3x3 matrix (the epipole
  ``e2`` of ``F``, ``Fᵀ e2 = 0``) as the largest cross product of two of its columns.
* :func:`_cholesky` / :func:`_cholesky_solve`: the small symmetric positive-definite
  solve (numba) of the Levenberg–Marquardt and least-squares steps.
* :class:`_ConceptModel`: the ``model`` / ``n_inliers`` properties of the robust results
  that name their model by its concept (``F``, ``E``).

The twins are tested against each other in ``tests/cvgeo/geometry/test_geometry_api.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from cvgeo._checks import (
    DegenerateError,
    check_float_array_xp,
    check_namespace,
)


class _ConceptModel:
    """Mixin of a robust result whose model field is named by its concept (the class
    attribute ``_concept``, e.g. ``"F"``): ``model`` reads that field, as
    :class:`~cvgeo.geometry.ransac.RansacResult`'s field of the same name, and
    ``n_inliers`` counts ``inlier_mask``."""

    _concept = "model"

    @property
    def model(self) -> Any:
        """The estimated model, under the name every robust result shares."""
        return getattr(self, self._concept)

    @property
    def n_inliers(self) -> int:
        """Number of inliers."""
        return int(self.inlier_mask.sum())


def _matrix_xp(M: Any, func: str, name: str, shape=(3, 3)):
    xp = check_namespace(M, func=func, names=(name,))
    return check_float_array_xp(M, func, name, shape, xp), xp




def _require_rank(M, xp, func: str, name: str, rank: int, what: str) -> None:
    """Raise :class:`DegenerateError` if a matrix (or one of a batch) is zero or has
    numerical rank below ``rank`` (singular value ``rank`` at most 1e-12 of the largest).
    """
    sv = xp.linalg.svdvals(M)
    top = sv[..., 0]
    if bool(xp.any(top == 0)):
        raise DegenerateError(f"{func}: {name} must not be zero, got an all-zero matrix")
    if rank > 1 and bool(xp.any(sv[..., rank - 1] <= 1e-12 * top)):
        raise DegenerateError(f"{func}: {name} must {what}, got a matrix of rank below {rank}")


def _require_finite(out, xp, func: str, what: str):
    """Refuse a result that overflowed (values too large for float64 arithmetic)."""
    if not bool(xp.all(xp.isfinite(out))):
        raise ValueError(f"{func}: {what} must be small enough for float64 arithmetic, got "
                         "a result that overflows")
    return out


def _unit_sign(F, xp):
    """Scale to unit Frobenius norm; make the entry of largest magnitude positive.

    Ties (within a relative 1e-9, as in a rectified pair's F) go to the first such entry
    in row-major order, so ``F`` and ``-F`` always give the same result.
    """
    if isinstance(F, np.ndarray) and F.ndim == 2:  # the common case, without array-API cost
        flat = F.ravel()
        mag = np.abs(flat)
        first = int(np.argmax(mag >= mag.max() * (1.0 - 1e-9)))
        sign = -1.0 if flat[first] < 0 else 1.0
        return F * (sign / np.sqrt(flat @ flat)) + 0.0
    flat = xp.reshape(F, F.shape[:-2] + (9,))
    norm = xp.sqrt(xp.sum(flat * flat, axis=-1))
    big = xp.max(xp.abs(flat), axis=-1, keepdims=True)
    near = xp.abs(flat) >= big * (1.0 - 1e-9)
    first = xp.argmax(xp.astype(near, xp.int8), axis=-1)  # first True
    pos = xp.arange(9, device=getattr(F, "device", None))
    at_max = xp.sum(xp.where(pos == first[..., None], flat, xp.zeros_like(flat)), axis=-1)
    sign = xp.where(at_max < 0, -xp.ones_like(norm), xp.ones_like(norm))
    return F * (sign / norm)[..., None, None] + 0.0  # + 0.0 turns -0.0 into 0.0



@njit(cache=True)
def _unit_sign_kernel(G, F):
    """:func:`_unit_sign` of the float64 (3, 3) ``G`` written into ``F`` (numba twin)."""
    nrm = 0.0
    big = 0.0
    for r in range(3):
        for c in range(3):
            nrm += G[r, c] * G[r, c]
            big = max(big, abs(G[r, c]))
    sign = 1.0
    for j in range(9):
        if abs(G[j // 3, j % 3]) >= big * (1.0 - 1e-9):
            sign = 1.0 if G[j // 3, j % 3] > 0 else -1.0
            break
    nrm = sign / math.sqrt(nrm)
    for r in range(3):
        for c in range(3):
            F[r, c] = G[r, c] * nrm + 0.0


def _homography_sign(H: Any, xp) -> Any:
    """Scale ``(..., 3, 3)`` to unit Frobenius norm with ``h33 > 0`` (the homography sign
    rule; when ``|h33| <= 1e-6`` the first entry beyond 1e-6 in row-major order is made
    positive)."""
    if isinstance(H, np.ndarray) and H.ndim == 2:  # the common case, same operations
        H = H / np.sqrt(np.sum(H * H, axis=(-2, -1), keepdims=True))
        flat = H.ravel()
        ref = flat[8] if abs(flat[8]) > 1e-6 else next(
            (float(v) for v in flat[:8] if abs(v) > 1e-6), 0.0)
        return H * (-1.0 if ref < 0 else 1.0)
    norm = xp.sqrt(xp.sum(H * H, axis=(-2, -1), keepdims=True))
    H = H / norm
    flat = xp.reshape(H, H.shape[:-2] + (9,))
    ref = xp.zeros_like(flat[..., 0])
    for k in (7, 6, 5, 4, 3, 2, 1, 0, 8):  # h33 first, then row-major order
        ref = xp.where(xp.abs(flat[..., k]) > 1e-6, flat[..., k], ref)
    sign = xp.where(ref < 0, -xp.ones_like(ref), xp.ones_like(ref))
    return H * sign[..., None, None]


@njit(cache=True)
def _homography_sign_kernel(H):
    """:func:`_homography_sign` of the float64 (3, 3) ``H``, in place (numba twin)."""
    norm = np.sqrt(np.sum(H * H))
    H /= norm
    ref = H[2, 2]
    if abs(ref) <= 1e-6:
        for k in range(9):
            if abs(H[k // 3, k % 3]) > 1e-6:
                ref = H[k // 3, k % 3]
                break
    if ref < 0:
        H *= -1.0


@njit(cache=True, inline="always")
def _hartley_stats(p, idx):
    """Hartley normalisation of the float64 (N, 2) points ``p[idx]`` (all of them when
    ``idx`` is None): ``(s, mx, my)`` with the similarity
    ``T = [[s, 0, -s mx], [0, s, -s my], [0, 0, 1]]`` (centroid to 0, mean distance to
    sqrt(2)); ``s`` is 0 when the points coincide."""
    m = p.shape[0] if idx is None else idx.shape[0]
    mx = 0.0
    my = 0.0
    for k in range(m):
        i = k if idx is None else idx[k]
        mx += p[i, 0]
        my += p[i, 1]
    mx /= m
    my /= m
    d = 0.0
    for k in range(m):
        i = k if idx is None else idx[k]
        d += np.sqrt((p[i, 0] - mx) ** 2 + (p[i, 1] - my) ** 2)
    d /= m
    s = np.sqrt(2.0) / d if d > 0.0 else 0.0
    return s, mx, my


@njit(cache=True)
def _normalizer_kernel(p):
    """Hartley normalisation of float64 (N, 2) points: ``(normalised, scale, mx, my)``;
    scale 0 when all points coincide."""
    s, mx, my = _hartley_stats(p, None)
    n = p.shape[0]
    out = np.empty((n, 2))
    for i in range(n):
        out[i, 0] = (p[i, 0] - mx) * s
        out[i, 1] = (p[i, 1] - my) * s
    return out, s, mx, my


@njit(cache=True)
def _det3(M):
    """Determinant of a 3x3 matrix by cofactors along the first row."""
    return (M[0, 0] * (M[1, 1] * M[2, 2] - M[1, 2] * M[2, 1])
            - M[0, 1] * (M[1, 0] * M[2, 2] - M[1, 2] * M[2, 0])
            + M[0, 2] * (M[1, 0] * M[2, 1] - M[1, 1] * M[2, 0]))


@njit(cache=True)
def _cholesky(A, L):
    """``L L^T = A`` into the lower triangle of ``L`` for a symmetric ``A`` (n, n);
    False unless ``A`` is (numerically) positive definite."""
    n = A.shape[0]
    for j in range(n):
        d = A[j, j]
        for k in range(j):
            d -= L[j, k] * L[j, k]
        if not d > 0.0:
            return False
        d = np.sqrt(d)
        L[j, j] = d
        for i in range(j + 1, n):
            v = A[i, j]
            for k in range(j):
                v -= L[i, k] * L[j, k]
            L[i, j] = v / d
    return True


@njit(cache=True)
def _cholesky_solve(L, b, x):
    """``x = (L L^T)^-1 b`` with ``L`` from :func:`_cholesky`."""
    n = L.shape[0]
    for i in range(n):
        v = b[i]
        for k in range(i):
            v -= L[i, k] * x[k]
        x[i] = v / L[i, i]
    for i in range(n - 1, -1, -1):
        v = x[i]
        for k in range(i + 1, n):
            v -= L[k, i] * x[k]
        x[i] = v / L[i, i]


@njit(cache=True)
def _left_null_cross(F):
    """``(e0, e1, e2, n2)``: the vector orthogonal to every column of ``F`` (``Fᵀ e = 0``
    for a rank-2 ``F``: the epipole in the second image), unnormalised, as the largest of
    the cross products of two columns, and its squared norm ``n2`` (0 when ``F`` has rank
    below 2)."""
    best = -1.0
    e0 = 0.0
    e1 = 0.0
    e2 = 0.0
    for a in range(3):
        for b in range(a + 1, 3):
            c0 = F[1, a] * F[2, b] - F[2, a] * F[1, b]
            c1 = F[2, a] * F[0, b] - F[0, a] * F[2, b]
            c2 = F[0, a] * F[1, b] - F[1, a] * F[0, b]
            nn = c0 * c0 + c1 * c1 + c2 * c2
            if nn > best:
                best = nn
                e0, e1, e2 = c0, c1, c2
    return e0, e1, e2, best
