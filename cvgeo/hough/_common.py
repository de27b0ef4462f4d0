"""Shared pieces of the Hough transforms: edge-map validation, the (theta, rho) grid, C
rounding and the edge-pixel scan."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cvgeo._checks import DEFAULT_MAX_PIXELS, IMAGE_DTYPES, check_image, check_real, describe


# --------------------------------------------------------------------------- helpers
def _check_edges(edges: object, func: str) -> np.ndarray:
    """Validate a binary ``(H, W)`` edge map and return it as a C-contiguous bool array.

    Any integer dtype is taken (an int64 0/1 map from numpy arithmetic or skimage.draw is
    an edge map too), besides the image dtypes.
    """
    if (isinstance(edges, np.ndarray) and edges.dtype.kind in "iu"
            and edges.dtype.type not in IMAGE_DTYPES):
        # validate the shape as an image would be, then the values as below
        check_image(np.broadcast_to(np.zeros((), bool), edges.shape), func, "edges", ndim=(2,))
    else:
        edges = check_image(edges, func, "edges", ndim=(2,))
    if edges.dtype != np.bool_:
        if not np.isin(edges, (0, 1)).all():
            lo, hi = edges.min(), edges.max()
            raise ValueError(
                f"{func}: edges must be a binary edge map (bool, or only 0 and 1 values), got "
                f"dtype {edges.dtype} with values in [{lo}, {hi}]; threshold it first, e.g. "
                f"with cvgeo.edges.canny"
            )
        edges = edges != 0
    return np.ascontiguousarray(edges)


def _theta_rho_grid(
    shape: tuple[int, int], theta_step: float, rho_step: float, func: str,
    thetas: object = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate the steps and build ``thetas`` (n_theta,), ``rhos`` (2 n_off + 1,), ``n_off``.

    ``n_theta = round(pi / theta_step)`` so the angular step divides pi exactly; the rho
    grid is symmetric about 0 (``rhos[n_off] == 0``) and covers every pixel centre. An
    explicit ``thetas`` (radians, any finite values) replaces the angle grid: sorted,
    duplicates removed.
    """
    if thetas is None:
        theta_step = check_real(theta_step, func, "theta_step", low=0.0, high=math.pi / 2,
                                low_inclusive=False)
        n_theta_f = math.pi / theta_step + 1
    else:
        thetas = _check_thetas(thetas, func)
        n_theta_f = thetas.size
    diag = math.hypot(shape[0] - 1, shape[1] - 1)
    rho_step = check_real(rho_step, func, "rho_step", low=0.0, high=max(1.0, diag),
                          low_inclusive=False)
    cells = n_theta_f * (2 * diag / rho_step + 3)
    if cells > DEFAULT_MAX_PIXELS:
        what = "theta_step" if thetas is None else "thetas"
        raise ValueError(f"{func}: {what} and rho_step must give an accumulator of at most "
                         f"{DEFAULT_MAX_PIXELS} cells, got about {cells:.3g} ({what}="
                         f"{theta_step if thetas is None else describe(thetas)!r}, "
                         f"rho_step={rho_step!r})")
    if thetas is None:
        n_theta = max(2, int(round(math.pi / theta_step)))
        thetas = np.arange(n_theta, dtype=np.float64) * (math.pi / n_theta)
    n_off = int(math.ceil(diag / rho_step))
    rhos = (np.arange(2 * n_off + 1, dtype=np.float64) - n_off) * rho_step
    return thetas, rhos, n_off


def _check_reals_1d(values: object, func: str, name: str, what: str) -> np.ndarray:
    """A non-empty 1-D array of finite real numbers, as float64 (a scalar is one value).

    ``what`` completes "``name`` must be a 1-D array of ..." in the type error.
    """
    if isinstance(values, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{func}: {name} must be a 1-D array of {what}, got {describe(values)}")
    arr = np.asarray(values)
    if arr.dtype.kind not in "uif":
        raise TypeError(f"{func}: {name} must be a 1-D array of {what}, got {describe(values)}")
    arr = np.atleast_1d(arr.astype(np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{func}: {name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{func}: {name} must be finite, got {describe(values)}")
    return arr


def _check_thetas(thetas: object, func: str) -> np.ndarray:
    """A non-empty 1-D array of finite angles (radians): sorted float64, no duplicates."""
    return np.unique(_check_reals_1d(thetas, func, "thetas", "angles in radians"))


def _default_thetas(thetas: np.ndarray) -> bool:
    """Whether ``thetas`` is the uniform grid ``j pi / n`` (whose theta axis wraps)."""
    n = thetas.size
    return n >= 2 and bool(np.array_equal(thetas, np.arange(n, dtype=np.float64) * (math.pi / n)))


@njit(cache=True, inline="always")
def _room_for(out, n):
    """``out`` (rows, cols), or a copy of it twice as long when row ``n`` would not fit:
    an appendable array for the kernels that collect an unknown number of rows."""
    if n < out.shape[0]:
        return out
    grown = np.empty((2 * n, out.shape[1]), dtype=out.dtype)
    grown[:n] = out
    return grown


@njit(cache=True, inline="always")
def _round_half_away(v: float) -> int:
    """C ``round``: nearest integer, halves away from zero (odd-symmetric)."""
    return int(v + math.copysign(0.5, v))



@njit(cache=True)
def _edge_indices_kernel(edges):
    """Flat indices (int64, ascending) of the True pixels of a C-contiguous bool map.

    Like ``np.flatnonzero`` but several times faster on sparse maps: it skips eight zero
    bytes at a time.
    """
    flat = edges.ravel().view(np.uint8)
    n8 = flat.size // 8
    words = flat[: 8 * n8].view(np.uint64)
    count = 0
    for w in range(n8):
        if words[w] != 0:
            for b in range(8 * w, 8 * w + 8):
                count += flat[b] != 0
    for b in range(8 * n8, flat.size):
        count += flat[b] != 0
    out = np.empty(count, dtype=np.int64)
    k = 0
    for w in range(n8 + 1):
        if w < n8 and words[w] == 0:
            continue
        for b in range(8 * w, min(8 * w + 8, flat.size)):
            if flat[b] != 0:
                out[k] = b
                k += 1
    return out


@njit(cache=True)
def _edge_points_kernel(edges):
    """Columns and rows of the True pixels of a C-contiguous bool ``(H, W)`` map.

    Returns ``xs, ys`` (float64, shape (N,)) in row-major order, like ``np.nonzero``
    (see :func:`_edge_indices_kernel`).
    """
    W = edges.shape[1]
    idx = _edge_indices_kernel(edges)
    xs = np.empty(idx.size, dtype=np.float64)
    ys = np.empty(idx.size, dtype=np.float64)
    for k in range(idx.size):
        y = idx[k] // W
        xs[k] = idx[k] - y * W
        ys[k] = y
    return xs, ys
