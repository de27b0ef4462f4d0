"""The straight-line Hough transform: every edge pixel votes for every line through it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from cvgeo.hough._common import _check_edges, _edge_points_kernel, _theta_rho_grid
from cvgeo.threads import parallel_threads

__all__ = ["HoughLines", "hough_lines"]


# --------------------------------------------------------------------------- lines
@dataclass(frozen=True)
class HoughLines:
    """The straight-line Hough transform of an edge map.

    Attributes
    ----------
    accumulator : ndarray of int32, shape (n_rho, n_theta)
        Votes; ``accumulator[i, j]`` counts edge pixels on the line
        ``(rhos[i], thetas[j])`` (to within half a rho step).
    thetas : ndarray of float64, shape (n_theta,)
        ``j * pi / n_theta``, radians in [0, pi); or the explicit angles asked for,
        ascending.
    rhos : ndarray of float64, shape (n_rho,)
        ``(i - n_rho // 2) * rho_step``, pixels, symmetric about 0.
    theta_step, rho_step : float
        The steps actually used (``theta_step = pi / n_theta``; for explicit ``thetas``
        their median spacing, 0 for a single angle).
    shape : tuple of int
        ``(H, W)`` of the edge map.
    """

    accumulator: np.ndarray
    thetas: np.ndarray
    rhos: np.ndarray
    theta_step: float
    rho_step: float
    shape: tuple[int, int]

@njit(cache=True)
def _hough_lines_kernel(xs, ys, cos_t, sin_t, inv_rho_step, n_off, acc_t):
    """Vote every edge point for every angle.

    Parameters
    ----------
    xs, ys : ndarray of float64, shape (N,)
        Columns and rows of the edge pixels.
    cos_t, sin_t : ndarray of float64, shape (n_theta,)
        ``cos(thetas)``, ``sin(thetas)``.
    inv_rho_step : float
        ``1 / rho_step``.
    n_off : int
        Row of ``rho = 0``.
    acc_t : ndarray of int32, shape (n_theta, n_rho)
        Accumulator, transposed (one row per angle keeps the writes local); updated.

    Notes
    -----
    For each angle ``theta_j`` and each point ``(x, y)``: ``rho = x cos + y sin``,
    ``acc_t[j, round(rho / rho_step) + n_off] += 1`` with C's ``round`` (halves away
    from zero), written ``trunc(v + copysign(0.5, v))`` so that it compiles without a
    branch. The bins are computed for all points first (a loop the compiler
    vectorises), then counted.
    """
    n = xs.shape[0]
    idx = np.empty(n, dtype=np.int64)
    for j in range(cos_t.shape[0]):
        c = cos_t[j]
        s = sin_t[j]
        for k in range(n):
            v = (c * xs[k] + s * ys[k]) * inv_rho_step
            idx[k] = int(v + math.copysign(0.5, v))
        row = acc_t[j]
        for k in range(n):
            row[idx[k] + n_off] += 1


@njit(cache=True, parallel=True)
def _hough_lines_parallel_kernel(xs, ys, cos_t, sin_t, inv_rho_step, n_off, acc_t, n_chunks):
    """``_hough_lines_kernel`` with the angles split into ``n_chunks`` bands on numba's
    threads: each angle's row of ``acc_t`` is written by one thread only, with the same
    votes as the serial kernel."""
    n_t = cos_t.shape[0]
    for c in prange(n_chunks):
        j0 = c * n_t // n_chunks
        j1 = (c + 1) * n_t // n_chunks
        _hough_lines_kernel(xs, ys, cos_t[j0:j1], sin_t[j0:j1], inv_rho_step, n_off,
                            acc_t[j0:j1])


def hough_lines(
    edges: np.ndarray,
    *,
    theta_step: float = math.pi / 180,
    rho_step: float = 1.0,
    thetas: Sequence[float] | np.ndarray | None = None,
) -> HoughLines:
    """Straight-line Hough transform: every edge pixel votes for every line through it.

    Parameters
    ----------
    edges : ndarray of shape (H, W)
        Binary edge map: bool, or a numeric array (any integer dtype, float32, float64)
        holding only 0 and 1.
    theta_step : float, optional
        Angular step in radians, in (0, pi/2]. Rounded so that it divides pi:
        ``n_theta = round(pi / theta_step)`` angles ``j pi / n_theta``.
    rho_step : float, optional
        Distance step in pixels, > 0.
    thetas : array_like of float, optional
        Explicit angles in radians (any finite values, sorted and deduplicated), instead
        of ``theta_step``'s grid over [0, pi): a range is ``numpy.arange(lo, hi, step)``,
        scikit-image's ``theta``. Angles a multiple of pi apart are the same lines with
        rho negated.

    Returns
    -------
    HoughLines
        ``accumulator`` (int32, ``(n_rho, n_theta)``), ``thetas``, ``rhos`` and the steps.

    Raises
    ------
    TypeError
        ``edges`` is not a numpy array of an image dtype; a step is not a number.
    ValueError
        ``edges`` is not 2-D, is empty, is not binary or holds NaN; a step is not
        positive, not finite, or too large.

    Notes
    -----
    Conventions: ``x cos(theta) + y sin(theta) = rho`` with x the column and y the row
    of a pixel centre, origin at the top-left pixel's centre; theta in [0, pi) so a line
    has exactly one ``(rho, theta)`` (rho may be negative). Each edge pixel adds one
    vote to ``round(rho / rho_step)`` in every column: the accumulator equals
    scikit-image's ``hough_line`` for the same angles and ``rho_step = 1`` (whose theta
    range is [-pi/2, pi/2): a column at ``theta - pi`` there is this column with rho
    negated).

    References
    ----------
    .. [1] R. O. Duda and P. E. Hart, "Use of the Hough transformation to detect lines and
       curves in pictures", Comm. ACM 15(1), 1972. :doi:`10.1145/361237.361242`

    Examples
    --------
    >>> import numpy as np
    >>> edges = np.zeros((50, 60), dtype=bool)
    >>> edges[:, 20] = True                      # the line x = 20
    >>> res = hough_lines(edges)
    >>> i, j = np.unravel_index(res.accumulator.argmax(), res.accumulator.shape)
    >>> float(res.rhos[i]), float(res.thetas[j]), int(res.accumulator[i, j])
    (20.0, 0.0, 50)
    """
    func = "hough_lines"
    edges = _check_edges(edges, func)
    explicit = thetas is not None
    thetas, rhos, n_off = _theta_rho_grid(edges.shape, theta_step, rho_step, func, thetas)
    xs, ys = _edge_points_kernel(edges)
    acc_t = np.zeros((thetas.size, rhos.size), dtype=np.int32)
    rho_step_used = float(rhos[1] - rhos[0]) if rhos.size > 1 else float(rho_step)
    args = (xs, ys, np.cos(thetas), np.sin(thetas), 1.0 / float(rho_step), n_off, acc_t)
    threads = parallel_threads()
    if threads:
        _hough_lines_parallel_kernel(*args, min(thetas.size, 4 * threads))
    else:
        _hough_lines_kernel(*args)
    return HoughLines(accumulator=acc_t.T, thetas=thetas, rhos=rhos,
                      theta_step=(float(np.median(np.diff(thetas))) if thetas.size > 1 else 0.0)
                      if explicit else math.pi / thetas.size,
                      rho_step=rho_step_used,
                      shape=(int(edges.shape[0]), int(edges.shape[1])))


