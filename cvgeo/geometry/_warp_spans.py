"""The spans of :func:`cvgeo.geometry.warp.warp`: per output row, in closed form, the
columns whose source points have every interpolation tap inside the source, and those
with any tap inside — private."""

from __future__ import annotations

import numpy as np
from numba import njit

#: Margin (pixels) by which ``_inside_span`` keeps the source points of its span inside
#: the region where every tap is inside; the coordinates' rounding is ~1e-12 pixels.
_SPAN_MARGIN = 1e-3


@njit(cache=True, inline="always")
def _column_point(X0, Y0, W0, H00, H10, H20, q):
    """The source point ``(x, y)`` of output column ``q`` on the row whose homogeneous
    image under ``H^-1`` is ``(X0 + H00 q, Y0 + H10 q, W0 + H20 q)`` (inf on the line at
    infinity)."""
    iw = 1.0 / (W0 + H20 * q)
    return (X0 + H00 * q) * iw, (Y0 + H10 * q) * iw


@njit(cache=True, inline="always")
def _half_line(alpha, beta, lo, hi):
    """``[lo, hi]`` intersected with ``{q : alpha + beta q >= 0}`` (empty: ``lo > hi``)."""
    if beta > 0.0:
        lo = max(lo, -alpha / beta)
    elif beta < 0.0:
        hi = min(hi, -alpha / beta)
    elif alpha < 0.0:
        hi = lo - 1.0
    return lo, hi


@njit(cache=True, error_model="numpy")
def _span_solve(Hinv, r, out_w, xlo, xhi, ylo, yhi):
    """The columns ``[qa, qb)`` of output row ``r`` whose source points satisfy
    ``xlo <= x <= xhi, ylo <= y <= yhi`` in closed form, and whether the row could be
    solved (False: the line at infinity crosses it).

    Along a row the source point is a ratio of linear functions of the column ``q``,
    ``x = (X0 + H00 q) / (W0 + H20 q)``; where the denominator keeps one sign each bound
    is a linear inequality in ``q``, and the columns that satisfy all four are one
    interval.
    """
    H00 = Hinv[0, 0]
    H10 = Hinv[1, 0]
    H20 = Hinv[2, 0]
    X0 = Hinv[0, 1] * r + Hinv[0, 2]
    Y0 = Hinv[1, 1] * r + Hinv[1, 2]
    W0 = Hinv[2, 1] * r + Hinv[2, 2]
    d0 = W0
    d1 = W0 + H20 * (out_w - 1)
    if d0 > 0.0 and d1 > 0.0:
        s = 1.0
    elif d0 < 0.0 and d1 < 0.0:
        s = -1.0
    else:  # the line at infinity crosses the row
        return 0, 0, False
    lo = 0.0
    hi = out_w - 1.0
    # x >= xlo  <=>  s (X0 + H00 q - xlo (W0 + H20 q)) >= 0, and so on
    lo, hi = _half_line(s * (X0 - xlo * W0), s * (H00 - xlo * H20), lo, hi)
    lo, hi = _half_line(s * (xhi * W0 - X0), s * (xhi * H20 - H00), lo, hi)
    lo, hi = _half_line(s * (Y0 - ylo * W0), s * (H10 - ylo * H20), lo, hi)
    lo, hi = _half_line(s * (yhi * W0 - Y0), s * (yhi * H20 - H10), lo, hi)
    if not lo <= hi:
        return 0, 0, True
    qa = int(np.ceil(lo))
    qb = int(np.floor(hi)) + 1
    return qa, max(qa, qb), True


@njit(cache=True, inline="always")
def _point_within(Hinv, r, q, xlo, xhi, ylo, yhi):
    """Whether the source point of output pixel ``(r, q)`` lies in the rectangle."""
    x, y = _column_point(Hinv[0, 1] * r + Hinv[0, 2], Hinv[1, 1] * r + Hinv[1, 2],
                         Hinv[2, 1] * r + Hinv[2, 2], Hinv[0, 0], Hinv[1, 0], Hinv[2, 0], q)
    return x >= xlo and x <= xhi and y >= ylo and y <= yhi


@njit(cache=True, error_model="numpy")
def _inside_span(Hinv, r, out_w, xlo, xhi, ylo, yhi):
    """The columns ``[qa, qb)`` of output row ``r`` whose source points lie in
    ``[xlo, xhi] x [ylo, yhi]`` shrunk by ``_SPAN_MARGIN``: where every tap is inside,
    so the fast loops need neither bounds tests nor clamps (``qa == qb``: none).

    ``_span_solve``'s interval; its two ends are checked in floating point with half the
    margin; x and y are monotone along the row, so the columns between lie inside too.
    """
    m = _SPAN_MARGIN
    qa, qb, solved = _span_solve(Hinv, r, out_w, xlo + m, xhi - m, ylo + m, yhi - m)
    if not solved or qb <= qa:
        return 0, 0
    h = 0.5 * m
    if not (_point_within(Hinv, r, qa, xlo + h, xhi - h, ylo + h, yhi - h)
            and _point_within(Hinv, r, qb - 1, xlo + h, xhi - h, ylo + h, yhi - h)):
        return 0, 0
    return qa, qb


@njit(cache=True, error_model="numpy")
def _reach_span(Hinv, r, out_w, xlo, xhi, ylo, yhi):
    """Columns ``[pa, pb)`` of output row ``r`` outside which every source point lies
    outside ``[xlo, xhi] x [ylo, yhi]`` grown by ``_SPAN_MARGIN`` (under the constant
    border: no tap inside, the pixel is ``cval``); ``[0, out_w)`` where that is not
    certain (the line at infinity crosses the row, or a check fails).

    ``_span_solve``'s interval for the rectangle grown by twice the margin; the columns
    next to it (or, for an empty one, the row's ends) are checked to lie outside the
    rectangle grown by the margin."""
    m = 2.0 * _SPAN_MARGIN
    pa, pb, solved = _span_solve(Hinv, r, out_w, xlo - m, xhi + m, ylo - m, yhi + m)
    if not solved:
        return 0, out_w
    left = pa - 1 if pb > pa else 0
    right = pb if pb > pa else out_w - 1
    h = 0.5 * m
    for q in (left, right):
        if 0 <= q < out_w and _point_within(Hinv, r, q, xlo - h, xhi + h, ylo - h, yhi + h):
            return 0, out_w
    return pa, pb


@njit(cache=True, error_model="numpy")
def _band_spans(Hinv, b0, b1, out_w, interpolation, border, h, w, spans):
    """For the rows ``b0:b1``, ``spans[r - b0] = (qa, qb, pa, pb, end)``: the columns
    where every tap is inside (``_inside_span``); under the constant border, those
    outside which none is (``_reach_span``; else the whole row); and whether a pixel of
    the row may read the source's last pixel (``end``: the gathers' four-lane reads
    could pass the source's end there). ``end`` is 0 where the inner span's source
    points (monotone along the row) stay two rows clear of the last tap row."""
    # every tap inside: nearest rounds, bilinear reads x0 + 1, bicubic x0 - 1..x0 + 2
    lo = -0.5 if interpolation == 0 else (0.0 if interpolation == 1 else 1.0)
    hi = 0.5 if interpolation == 0 else (1.0 if interpolation == 1 else 2.0)
    # some tap inside (_border_pixels' test for cval)
    reach = 0.5 if interpolation == 0 else (1.0 if interpolation == 1 else 2.0)
    for r in range(b0, b1):
        qa, qb = _inside_span(Hinv, r, out_w, lo, w - hi, lo, h - hi)
        pa, pb = 0, out_w
        if border == 0:
            pa, pb = _reach_span(Hinv, r, out_w, -reach, w - 1.0 + reach, -reach,
                                 h - 1.0 + reach)
            pa = min(pa, qa)  # the inner span lies in the outer one
            pb = max(pb, qb)
        end = 1
        if qb > qa:
            end = 0
            for q in (qa, qb - 1):
                if not _point_within(Hinv, r, q, -np.inf, np.inf, -np.inf, h - hi - 2.0):
                    end = 1
        spans[r - b0, 0] = qa
        spans[r - b0, 1] = qb
        spans[r - b0, 2] = pa
        spans[r - b0, 3] = pb
        spans[r - b0, 4] = end


@njit(cache=True, inline="always")
def _clip_span(spans, i, q0, q1):
    """Row ``i``'s spans cut to the tile columns ``[q0, q1)``: ``q0 <= qa <= qb <= q1``;
    the tile's other columns are ``[q0, qa)`` and ``[qb, q1)``; ``pa, pb``: the outer
    span, not cut; and the row's ``end`` flag."""
    qa = min(max(spans[i, 0], q0), q1)
    qb = min(max(spans[i, 1], qa), q1)
    return qa, qb, spans[i, 2], spans[i, 3], spans[i, 4] != 0
