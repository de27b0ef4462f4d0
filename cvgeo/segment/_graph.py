"""Private helpers shared by the graph-based segmenters: the pixel grid graph and
union-find (disjoint-set forest) kernels compiled with numba.

Conventions
-----------
Pixels are numbered in raster order, ``p = r * W + c``. Edges are pairs of int64
pixel indices. A forest is an int64 ``parent`` array plus a ``size`` array (valid at
roots); :func:`_relabel_kernel` turns it into int32 labels numbered by first
appearance in raster order.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def grid_edges(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The 8-connected grid graph of an ``h x w`` image, each edge once.

    Returns
    -------
    (a, b) : two ndarrays of int64, same length
        Edge endpoints, in the order right, down, down-right, up-right (scikit-image's
        order), each group in raster order of its first pixel.
    """
    idx = np.arange(h * w, dtype=np.int64).reshape(h, w)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel(), idx[:-1, :-1].ravel(),
                        idx[1:, :-1].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel(), idx[1:, 1:].ravel(),
                        idx[:-1, 1:].ravel()])
    return a, b


def grid_differences(x: np.ndarray) -> np.ndarray:
    """Euclidean colour distance along each edge of :func:`grid_edges`, float32.

    ``x`` is ``(H, W, C)`` float32; the result has one weight per edge, same order.
    """
    def dist(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        d = p - q
        return np.sqrt(np.einsum("ijc,ijc->ij", d, d)).ravel()

    return np.concatenate([dist(x[:, 1:], x[:, :-1]), dist(x[1:, :], x[:-1, :]),
                           dist(x[1:, 1:], x[:-1, :-1]), dist(x[:-1, 1:], x[1:, :-1])])


@njit(cache=True)
def _find(parent, x):  # pragma: no cover - numba
    """Root of ``x``, halving the path on the way (every node points to its grandparent)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True)
def _union(parent, size, ra, rb):  # pragma: no cover - numba
    """Join two roots by size; return the new root (``size`` updated)."""
    if size[ra] < size[rb]:
        ra, rb = rb, ra
    parent[rb] = ra
    size[ra] += size[rb]
    return ra


@njit(cache=True)
def _merge_small_kernel(parent, size, a, b, order, min_size):  # pragma: no cover - numba
    """Post-processing: join the two sides of each edge, in the given order, while
    either side is smaller than ``min_size`` pixels.

    Parameters
    ----------
    parent, size : (n,) int64, the forest (modified in place)
    a, b : (m,) int64, edge endpoints
    order : (m,) int64, the order in which edges are considered
    min_size : int
    """
    for t in range(order.shape[0]):
        e = order[t]
        ra = _find(parent, a[e])
        rb = _find(parent, b[e])
        if ra != rb and (size[ra] < min_size or size[rb] < min_size):
            _union(parent, size, ra, rb)


@njit(cache=True)
def _relabel_kernel(parent):  # pragma: no cover - numba
    """Labels ``0 .. n_segments - 1`` of a forest, numbered by first appearance.

    Parameters
    ----------
    parent : (n,) int64, the forest (paths are compressed as a side effect)

    Returns
    -------
    (n,) int32
    """
    n = parent.shape[0]
    label_of_root = np.full(n, -1, dtype=np.int32)
    out = np.empty(n, dtype=np.int32)
    nxt = 0
    for p in range(n):
        r = _find(parent, p)
        if label_of_root[r] < 0:
            label_of_root[r] = nxt
            nxt += 1
        out[p] = label_of_root[r]
    return out


def new_forest(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` singleton sets: ``(parent, size)`` int64 arrays."""
    return np.arange(n, dtype=np.int64), np.ones(n, dtype=np.int64)
