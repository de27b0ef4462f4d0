"""Private helpers shared by the geometry modules (array namespaces, rank and
finiteness checks, the sign rule of F)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cvgeo._checks import (
    DegenerateError,
    check_float_array_xp,
    check_namespace,
)


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

