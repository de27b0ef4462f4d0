"""Peaks of Hough accumulators: local maxima and greedy suppression of near repeats, for
lines (``hough_line_peaks``) and circles."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from cvgeo._checks import check_int, check_real, describe, renamed_parameters
from cvgeo.hough._common import _default_thetas, _room_for
from cvgeo.hough.lines import HoughLines

__all__ = ["HoughLinePeaks", "hough_line_peaks"]


# --------------------------------------------------------------------------- line peaks
@dataclass(frozen=True)
class HoughLinePeaks:
    """Peaks of a line accumulator, strongest first.

    Attributes
    ----------
    rhos, thetas : ndarray of float64, shape (N,)
        The lines ``x cos(theta) + y sin(theta) = rho`` (pixels; radians in [0, pi)).
    votes : ndarray of int64, shape (N,)
        Accumulator value at each peak, non-increasing.
    lines : ndarray of float64, shape (N, 3)
        The same lines as ``(a, b, c)`` with ``a x + b y + c = 0``, ``a**2 + b**2 = 1``.
    """

    rhos: np.ndarray
    thetas: np.ndarray
    votes: np.ndarray
    lines: np.ndarray


@njit(cache=True)
def _line_candidates_kernel(acc_t, threshold, wraps):
    """Local maxima of a line accumulator at or above ``threshold``.

    Parameters
    ----------
    acc_t : ndarray of int32, shape (n_theta, n_rho)
        Transposed accumulator, ``n_rho`` odd with rho = 0 in the middle.
    threshold : int
        Minimum votes (>= 1).
    wraps : bool
        Whether the theta axis wraps (the uniform grid over [0, pi)).

    Returns
    -------
    ndarray of int64, shape (M, 2)
        ``(j, i)`` (theta column, rho row) of every cell not smaller than its 8
        neighbours. With ``wraps``, the neighbour of column ``n_theta - 1`` beyond it is
        column 0 at the mirrored rho row ``n_rho - 1 - i`` (rho flips sign at pi);
        otherwise the first and last columns have neighbours on one side only.
    """
    n_t, n_r = acc_t.shape
    out = np.empty((64, 2), dtype=np.int64)
    m = 0
    for j in range(n_t):
        for i in range(n_r):
            v = acc_t[j, i]
            if v < threshold:
                continue
            is_max = True
            for dj in (-1, 0, 1):
                jj = j + dj
                flip = False
                if not wraps and (jj < 0 or jj >= n_t):
                    continue
                if jj < 0:
                    jj = n_t - 1
                    flip = True
                elif jj >= n_t:
                    jj = 0
                    flip = True
                for di in (-1, 0, 1):
                    if dj == 0 and di == 0:
                        continue
                    ii = i + di
                    if flip:
                        ii = n_r - 1 - ii
                    if ii < 0 or ii >= n_r:
                        continue
                    if acc_t[jj, ii] > v:
                        is_max = False
                        break
                if not is_max:
                    break
            if is_max:
                out = _room_for(out, m)
                out[m, 0] = j
                out[m, 1] = i
                m += 1
    return out[:m]


@njit(cache=True)
def _line_nms_kernel(rho, theta, num_peaks, min_distance, min_angle):
    """Greedy non-maximum suppression of candidate lines sorted strongest first.

    Parameters
    ----------
    rho, theta : ndarray of float64, shape (M,)
        Candidates, strongest first.
    num_peaks : int
        Stop after this many.
    min_distance, min_angle : float
        A candidate is dropped when a kept line is within ``min_distance`` pixels in rho
        *and* ``min_angle`` radians in theta, measured both directly and across the
        theta = 0 / pi seam (where ``(rho, theta)`` and ``(-rho, theta - pi)`` are the
        same line): for angles ``n pi`` apart plus a rest, rho is compared with sign
        ``(-1)**n``, for both ``n`` next to the difference.

    Returns
    -------
    ndarray of int64, shape (K,)
        Indices of the kept candidates, in order.
    """
    eps = 1e-9
    keep = np.empty(min(num_peaks, rho.shape[0]), dtype=np.int64)
    k = 0
    for m in range(rho.shape[0]):
        if k >= num_peaks:
            break
        ok = True
        for q in range(k):
            p = keep[q]
            dt = theta[m] - theta[p]
            n0 = math.floor(dt / math.pi)
            for n in (n0, n0 + 1):
                sign = 1.0 if n % 2 == 0 else -1.0
                if (abs(dt - n * math.pi) <= min_angle + eps
                        and abs(rho[m] - sign * rho[p]) <= min_distance + eps):
                    ok = False
                    break
            if not ok:
                break
        if ok:
            keep[k] = m
            k += 1
    return keep[:k]


@renamed_parameters(threshold="min_votes")
def hough_line_peaks(
    result: HoughLines,
    *,
    num_peaks: int | None = None,
    min_votes: int | None = None,
    min_distance_px: float = 9.0,
    min_angle_rad: float = math.pi / 18,
) -> HoughLinePeaks:
    """The strongest, well-separated lines of a line accumulator.

    Parameters
    ----------
    result : HoughLines
        From :func:`hough_lines`.
    num_peaks : int, optional
        At most this many lines (default: all that pass).
    min_votes : int, optional
        Minimum votes (edge pixels on the line). Default: half the maximum, at least 1.
        (Formerly ``threshold``; that keyword works for one release, with a
        ``DeprecationWarning``.)
    min_distance_px : float, optional
        Lines closer than this in rho (pixels) *and* ``min_angle_rad`` in theta to a
        stronger kept line are suppressed.
    min_angle_rad : float, optional
        Angular suppression radius, radians in [0, pi/2].

    Returns
    -------
    HoughLinePeaks
        ``rhos``, ``thetas``, ``votes`` and ``lines`` (``(N, 3)`` a, b, c), strongest
        first; ties broken by theta then rho. Empty arrays when nothing passes.

    Raises
    ------
    TypeError
        ``result`` is not a :class:`HoughLines`; a parameter has the wrong type.
    ValueError
        A parameter is out of range.

    Notes
    -----
    1. Candidates: accumulator cells with at least ``min_votes`` votes that are not
       smaller than any of their 8 neighbours. The theta axis of the default grid is
       circular with a twist: the cell after ``(rho, thetas[-1])`` is ``(-rho, 0)``
       (explicit ``thetas`` do not wrap).
    2. Candidates sorted by votes are kept greedily unless a kept line is near in both
       rho and theta -- measured directly and across the 0/pi seam, where the same line
       appears as ``(rho, theta)`` and ``(-rho, theta - pi)``. A line at theta close to
       0 or pi is therefore returned once.

    Examples
    --------
    >>> import numpy as np
    >>> edges = np.zeros((50, 60), dtype=bool)
    >>> edges[:, 20] = True
    >>> edges[30, :] = True
    >>> from cvgeo.hough import hough_lines
    >>> peaks = hough_line_peaks(hough_lines(edges))
    >>> peaks.rhos.tolist(), np.degrees(peaks.thetas).round(6).tolist(), peaks.votes.tolist()
    ([30.0, 20.0], [90.0, 0.0], [60, 50])
    """
    func = "hough_line_peaks"
    if not isinstance(result, HoughLines):
        raise TypeError(f"{func}: result must be a HoughLines from hough_lines, got "
                        f"{describe(result)}")
    acc_t = np.ascontiguousarray(result.accumulator.T)
    if num_peaks is None:
        num_peaks = acc_t.size
    num_peaks = check_int(num_peaks, func, "num_peaks", low=1)
    if min_votes is None:
        min_votes = max(1, int(acc_t.max(initial=0)) // 2)
    min_votes = max(1, check_int(min_votes, func, "min_votes", low=0))
    min_distance_px = check_real(min_distance_px, func, "min_distance_px", low=0.0)
    min_angle_rad = check_real(min_angle_rad, func, "min_angle_rad", low=0.0,
                               high=math.pi / 2)

    cand = _line_candidates_kernel(acc_t, min_votes, _default_thetas(result.thetas))
    jt, ir = cand[:, 0], cand[:, 1]
    votes = acc_t[jt, ir].astype(np.int64)
    order = np.argsort(-votes, kind="stable")  # candidates come in (theta, rho) order
    jt, ir, votes = jt[order], ir[order], votes[order]
    rho, theta = result.rhos[ir], result.thetas[jt]
    keep = _line_nms_kernel(rho, theta, num_peaks, min_distance_px, min_angle_rad)
    rho, theta, votes = rho[keep], theta[keep], votes[keep]
    lines = np.stack([np.cos(theta), np.sin(theta), -rho], axis=1).reshape(-1, 3)
    return HoughLinePeaks(rhos=rho, thetas=theta, votes=votes, lines=lines)


@njit(cache=True)
def _circle_nms_kernel(circles, num_peaks, min_distance, min_radius_diff):
    """Greedy suppression of circles ``(x, y, r)`` sorted strongest first.

    A circle is dropped when a kept one has its centre closer than ``min_distance``
    *and* its radius closer than ``min_radius_diff``: concentric circles of clearly
    different radii both stay.
    """
    keep = np.empty(min(num_peaks, circles.shape[0]), dtype=np.int64)
    k = 0
    for m in range(circles.shape[0]):
        if k >= num_peaks:
            break
        ok = True
        for q in range(k):
            p = keep[q]
            d = math.hypot(circles[m, 0] - circles[p, 0], circles[m, 1] - circles[p, 1])
            if d < min_distance and abs(circles[m, 2] - circles[p, 2]) < min_radius_diff:
                ok = False
                break
        if ok:
            keep[k] = m
            k += 1
    return keep[:k]

