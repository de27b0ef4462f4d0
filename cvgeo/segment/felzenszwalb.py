"""Felzenszwalb-Huttenlocher efficient graph-based image segmentation.

Conventions
-----------
The image is the 8-connected grid graph: one vertex per pixel (raster order), an edge
to each right, lower, lower-right and upper-right neighbour, weighted by the colour
difference of the Gaussian-smoothed [0, 1] image. Labels are int32 from 0, numbered by
first appearance in raster order; every segment is 8-connected.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numba import njit

from cvgeo._checks import (
    check_choice,
    check_int,
    check_kernel_radius,
    check_real,
    describe,
    renamed_parameters,
)
from cvgeo.filters import gaussian_filter
from cvgeo.image import as_float_image
from cvgeo.segment._graph import (
    _find,
    _relabel_kernel,
    _union,
    grid_differences,
    grid_edges,
    new_forest,
)

__all__ = ["felzenszwalb"]


@njit(cache=True, inline="always")
def _edge_ends(e, h, w):  # pragma: no cover - numba
    """Endpoints of edge ``e`` of :func:`~cvgeo.segment._graph.grid_edges`, computed
    from its index (no lookup): groups right, down, down-right, up-right."""
    n_right = h * (w - 1)
    if e < n_right:
        r, c = e // (w - 1), e % (w - 1)
        return r * w + c, r * w + c + 1
    e -= n_right
    n_down = (h - 1) * w
    if e < n_down:
        return e, e + w
    e -= n_down
    n_diag = (h - 1) * (w - 1)
    r = (e % n_diag) // (w - 1)
    c = (e % n_diag) % (w - 1)
    if e < n_diag:
        return r * w + c, (r + 1) * w + c + 1
    return (r + 1) * w + c, r * w + c + 1


@njit(cache=True)
def _segment_graph_kernel(order, weights, h, w, k, parent, size):  # pragma: no cover - numba
    """The paper's Algorithm 1 over the grid edges in non-decreasing weight order.

    For each edge ``(p, q)`` of weight ``w`` joining different components ``C1``,
    ``C2``: merge when ``w <= MInt(C1, C2) = min(Int(C1) + k/|C1|, Int(C2) + k/|C2|)``,
    where ``Int(C)`` is the largest weight in ``C``'s minimum spanning tree; since edges
    come sorted, that is the weight of the edge that made the last merge.

    Parameters
    ----------
    order : (m,) int64, edge indices by non-decreasing weight
    weights : (m,) float32, the edge weights in that order
    h, w : int, the image size (edges are those of ``grid_edges(h, w)``)
    k : float, the threshold constant (``scale / 255`` on [0, 1] images)
    parent, size : (h*w,) int64, a forest of singletons (modified in place)
    """
    internal = np.zeros(parent.shape[0])  # Int(C), valid at roots
    for t in range(order.shape[0]):
        p, q = _edge_ends(order[t], h, w)
        ra = _find(parent, p)
        rb = _find(parent, q)
        if ra == rb:
            continue
        we = np.float64(weights[t])
        if we <= internal[ra] + k / size[ra] and we <= internal[rb] + k / size[rb]:
            r = _union(parent, size, ra, rb)
            internal[r] = we


@njit(cache=True)
def _merge_small_grid_kernel(order, h, w, parent, size, min_size):  # pragma: no cover - numba
    """Post-processing: scan the sorted grid edges, joining components while either side
    is smaller than ``min_size`` pixels.

    Parameters
    ----------
    order : (m,) int64, edge indices of ``grid_edges(h, w)`` in scan order
    h, w : int; parent, size : (h*w,) int64, the forest (modified); min_size : int
    """
    for t in range(order.shape[0]):
        p, q = _edge_ends(order[t], h, w)
        ra = _find(parent, p)
        rb = _find(parent, q)
        if ra != rb and (size[ra] < min_size or size[rb] < min_size):
            _union(parent, size, ra, rb)


@njit(cache=True)
def _intersect_kernel(labels, a, b, parent, size):  # pragma: no cover - numba
    """Join the ends of every edge whose pixels share a segment in *every* channel.

    Parameters
    ----------
    labels : (C, n) int32, one segmentation per channel
    a, b : (m,) int64, the grid edges
    parent, size : (n,) int64, a forest of singletons (modified in place)
    """
    nch = labels.shape[0]
    for e in range(a.shape[0]):
        p = a[e]
        q = b[e]
        same = True
        for c in range(nch):
            if labels[c, p] != labels[c, q]:
                same = False
                break
        if same:
            ra = _find(parent, p)
            rb = _find(parent, q)
            if ra != rb:
                _union(parent, size, ra, rb)


@njit(cache=True)
def _radix_argsort_kernel(bits):  # pragma: no cover - numba
    """Stable least-significant-digit radix sort of uint32 keys (3 passes of 11 bits).

    Parameters
    ----------
    bits : (m,) uint32, the keys (not modified)

    Returns
    -------
    (order, sorted_bits) : (m,) int64 and (m,) uint32
        ``order`` lists the indices by increasing key, ties by increasing index.
    """
    n = bits.shape[0]
    keys = bits.copy()
    order = np.arange(n)
    keys2 = np.empty_like(keys)
    order2 = np.empty_like(order)
    counts = np.zeros((3, 2049), dtype=np.int64)
    for i in range(n):  # one histogram pass for all three digits
        k = keys[i]
        counts[0, (k & 0x7FF) + 1] += 1
        counts[1, ((k >> 11) & 0x7FF) + 1] += 1
        counts[2, (k >> 22) + 1] += 1
    for d in range(3):
        shift = 11 * d
        if counts[d, 1] == n:  # every key has digit 0 here: nothing to move
            continue
        for j in range(1, 2049):
            counts[d, j] += counts[d, j - 1]
        for i in range(n):
            digit = (keys[i] >> shift) & 0x7FF
            pos = counts[d, digit]
            counts[d, digit] = pos + 1
            keys2[pos] = keys[i]
            order2[pos] = order[i]
        keys, keys2 = keys2, keys
        order, order2 = order2, order
    return order, keys


def _sorted_edges(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge indices by non-decreasing weight (ties by index) and the sorted weights.

    Non-negative float32 weights order like their bit patterns read as uint32, so an
    integer radix sort replaces a comparison argsort.
    """
    order, bits = _radix_argsort_kernel(np.ascontiguousarray(w, dtype=np.float32).view(np.uint32))
    return order, bits.view(np.float32)


def _segment(w: np.ndarray, k: float, h: int, width: int):
    """Algorithm 1 on one weighting of the grid: (parent, size, edge order)."""
    parent, size = new_forest(h * width)
    order, weights = _sorted_edges(w)
    _segment_graph_kernel(order, weights, h, width, k, parent, size)
    return parent, size, order


def _channels_last(image, channel_axis, func: str):
    """``image`` with its channel axis last (scikit-image's ``channel_axis``)."""
    if channel_axis is not None and (isinstance(channel_axis, (bool, np.bool_))
                                     or not isinstance(channel_axis, (int, np.integer))):
        raise TypeError(f"{func}: channel_axis must be an int or None, got "
                        f"{describe(channel_axis)}")
    if not isinstance(image, np.ndarray) or image.ndim != 3:
        return image  # 2-D (grey) or invalid: as_float_image says what is wrong
    if channel_axis is None:
        raise ValueError(f"{func}: channel_axis=None declares a grey (H, W) image, got a "
                         f"3-D image of shape {image.shape}; pass the axis of its channels")
    if not -3 <= channel_axis <= 2:
        raise ValueError(f"{func}: channel_axis must be an axis of the 3-D image, in "
                         f"[-3, 2], got {channel_axis}")
    return np.moveaxis(image, channel_axis, -1)


@renamed_parameters(colour="color_mode")
def felzenszwalb(
    image: np.ndarray,
    *,
    scale: float = 1.0,
    sigma: float = 0.8,
    min_size: int = 20,
    color_mode: Literal["distance", "intersect"] = "distance",
    channel_axis: int | None = -1,
) -> np.ndarray:
    """Efficient graph-based segmentation (Felzenszwalb & Huttenlocher 2004).

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        Any accepted dtype; computed on the [0, 1]-scaled image.
    scale : float >= 0
        The paper's ``k``, in the paper's (and scikit-image's) units of 0-255
        intensities: the threshold constant is ``scale / 255`` on the [0, 1] image.
        Larger values favour larger segments (``k/|C|`` is the evidence a component of
        ``|C|`` pixels needs before it accepts a stronger boundary). ``0`` merges only
        across edges of zero weight (as scikit-image allows).
    sigma : float >= 0
        Standard deviation, in pixels, of the Gaussian pre-smoothing (0: none).
    min_size : int >= 0
        Post-processing: components smaller than this many pixels are merged along
        the weakest edges until none is left (unless the whole image is smaller).
    color_mode : {"distance", "intersect"}
        ``"distance"``: one segmentation with edge weights the Euclidean colour
        distance (the authors' code and scikit-image). ``"intersect"``: segment each
        channel separately (weights ``|difference|``) and keep two neighbours together
        only when they share a component in every channel, as the paper describes.
        Identical for grey images. (Formerly ``colour``; the old keyword still works
        for one release, with a ``DeprecationWarning``.)
    channel_axis : int or None
        Which axis of a 3-D ``image`` holds the channels, as scikit-image's
        ``channel_axis``: ``-1`` (default, channel-last), ``0`` for ``(C, H, W)``, and so
        on. ``None`` declares a grey image: a 3-D image is then refused. Ignored for 2-D
        images. The channel axis may hold any number of channels (the colour distance is
        Euclidean over them); unlike scikit-image, more than 3 draw no warning.

    Returns
    -------
    ndarray of shape (H, W), int32
        Segment labels from 0, numbered by first appearance in raster order.

    Raises
    ------
    TypeError, ValueError
        Bad image, NaN/inf, ``scale < 0``, ``sigma < 0``, ``min_size < 0``, unknown
        ``color_mode``, ``channel_axis`` not an axis of a 3-D image (or ``None`` with
        one).

    Notes
    -----
    1. Smooth with a Gaussian of ``sigma`` (reflecting borders), build the 8-connected
       grid graph with weights ``||I(p) - I(q)||``, and sort the edges by weight (a
       stable radix sort of the float32 bit patterns; ties keep grid order).
    2. Start from singletons and scan the edges in order: an edge joining components
       ``C1`` and ``C2`` merges them when its weight is at most
       ``min(Int(C1) + k/|C1|, Int(C2) + k/|C2|)``, ``Int`` being the largest edge of a
       component's minimum spanning tree. Union-find with path halving and union by
       size runs in a compiled kernel.
    3. Scan the edges again in the same order, joining any two components of which
       one is smaller than ``min_size``.

    Scale handling, weights, smoothing and image range follow scikit-image's
    ``felzenszwalb``, so both give the same segments for the same parameters (ARI
    >= 0.99 on the test images; edge ties and float32 rounding account for the rest).
    One difference: the merge test is the paper's ``w <= MInt``, where scikit-image
    uses ``<``; they differ only on exact equality.
    For ``"intersect"`` the ``min_size`` pass uses the colour-distance edge order.

    References
    ----------
    .. [1] P. F. Felzenszwalb and D. P. Huttenlocher, "Efficient graph-based image
       segmentation", IJCV 59(2), 2004. doi:10.1023/B:VISI.0000022288.19776.77

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((8, 8), dtype=np.uint8); img[:, 4:] = 255
    >>> felzenszwalb(img, scale=10, sigma=0, min_size=2)[0].tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
    """
    func = "felzenszwalb"
    image = _channels_last(image, channel_axis, func)
    x = as_float_image(image, func)
    scale = check_real(scale, func, "scale", low=0.0)
    sigma = check_real(sigma, func, "sigma", low=0.0)
    check_kernel_radius(sigma, 4.0, func, names="sigma")
    min_size = check_int(min_size, func, "min_size", low=0)
    colour = check_choice(color_mode, func, "color_mode", ("distance", "intersect"))
    smooth = gaussian_filter(x, sigma) if sigma > 0 else x
    img = smooth if smooth.ndim == 3 else smooth[..., None]
    h, w, nch = img.shape
    n = h * w
    k = scale / 255.0
    dist = grid_differences(img)
    if colour == "distance" or nch == 1:
        parent, size, order = _segment(dist, k, h, w)
    else:
        a, b = grid_edges(h, w)
        per_channel = np.empty((nch, n), dtype=np.int32)
        for c in range(nch):
            wc = grid_differences(np.ascontiguousarray(img[..., c:c + 1]))
            p_c, _, _ = _segment(wc, k, h, w)
            per_channel[c] = _relabel_kernel(p_c)
        parent, size = new_forest(n)
        _intersect_kernel(per_channel, a, b, parent, size)
        order = None
    if min_size > 1:
        order = _sorted_edges(dist)[0] if order is None else order
        _merge_small_grid_kernel(order, h, w, parent, size, min_size)
    return _relabel_kernel(parent).reshape(h, w)
