"""Warp an image by a 3x3 transform, by inverse mapping (numba-compiled)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numba import njit, prange, uint64

from cvgeo._checks import (
    DEFAULT_MAX_PIXELS,
    MAX_IMAGE_MAGNITUDE,
    DegenerateError,
    check_choice,
    check_image_values,
    check_matrix,
    check_max_pixels,
    check_output_pixels,
    check_real,
    check_shape2,
    renamed_parameters,
)
from cvgeo._llvm import _borrowed
from cvgeo.filters import BORDERS, border_index
from cvgeo.geometry._common import _det3
from cvgeo.geometry._warp_gather import (
    _bicubic_gather,
    _bilinear_gather,
    _nearest_gather,
)
from cvgeo.geometry._warp_spans import _band_spans, _clip_span, _column_point
from cvgeo.image import as_float_image
from cvgeo.threads import parallel_threads

__all__ = ["warp"]

_INTERPOLATION = {"nearest": 0, "bilinear": 1, "bicubic": 2}
_BORDER = {name: BORDERS.index(name) for name in ("constant", "edge", "reflect")}


@njit(cache=True, inline="always")
def _cubic_weight(t):
    """Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom), ``|t| < 2``."""
    a = -0.5
    t = abs(t)
    if t < 1.0:
        return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    if t < 2.0:
        return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
    return 0.0


#: The fast kernels work through the output in tiles of ``_BAND_ROWS`` rows by
#: ``_TILE_COLS`` columns: a tile's source points lie in a compact patch of the source,
#: so its reads stay in cache and the hardware prefetchers follow its source rows.
_BAND_ROWS = 16
_TILE_COLS = 64


@njit(cache=True, error_model="numpy")
def _border_pixels(src, dst, xs, ys, offs, n, h, w, c, interpolation, border, cval, wx, wy,
                   jx, iy):
    """Sample the source at the ``n`` points ``(xs[p], ys[p])`` into
    ``dst[offs[p]:offs[p] + c]`` through the border rule: the per-pixel path for points
    with a tap outside the image, and for points from the line at infinity (``x`` or
    ``y`` NaN: ``cval``). ``wx, wy, jx, iy`` are the caller's scratch (four floats, four
    ints each)."""
    row_stride = w * c
    # under the constant border a sample whose taps all lie outside is cval
    reach = 0.5 if interpolation == 0 else (1.0 if interpolation == 1 else 2.0)
    for p in range(n):
        x = xs[p]
        y = ys[p]
        o = offs[p]
        if x != x or y != y or (border == 0 and (
                x < -reach or y < -reach or x >= w - 1.0 + reach or y >= h - 1.0 + reach)):
            for k in range(c):
                dst[o + k] = cval
            continue
        # far-away samples: clamp so int() stays exact; constant and edge borders give
        # the same value, reflect's is arbitrary anyway
        x = min(max(x, -1e9), 1e9)
        y = min(max(y, -1e9), 1e9)
        if interpolation == 0:
            jj = border_index(int(np.floor(x + 0.5)), w, border)
            ii = border_index(int(np.floor(y + 0.5)), h, border)
            for k in range(c):
                dst[o + k] = cval if (ii < 0 or jj < 0) else src[ii * row_stride + jj * c + k]
        elif interpolation == 1:
            x0 = np.floor(x)
            y0 = np.floor(y)
            fx = np.float32(x - x0)
            fy = np.float32(y - y0)
            ja = border_index(int(x0), w, border)
            jb = border_index(int(x0) + 1, w, border)
            ia = border_index(int(y0), h, border)
            ib = border_index(int(y0) + 1, h, border)
            for k in range(c):
                v00 = cval if (ia < 0 or ja < 0) else src[ia * row_stride + ja * c + k]
                v01 = cval if (ia < 0 or jb < 0) else src[ia * row_stride + jb * c + k]
                v10 = cval if (ib < 0 or ja < 0) else src[ib * row_stride + ja * c + k]
                v11 = cval if (ib < 0 or jb < 0) else src[ib * row_stride + jb * c + k]
                dst[o + k] = ((1 - fy) * ((1 - fx) * v00 + fx * v01)
                              + fy * ((1 - fx) * v10 + fx * v11))
        else:
            x0 = np.floor(x)
            y0 = np.floor(y)
            for m in range(4):
                wx[m] = _cubic_weight(x - x0 - (m - 1))
                wy[m] = _cubic_weight(y - y0 - (m - 1))
                jx[m] = border_index(int(x0) + m - 1, w, border)
                iy[m] = border_index(int(y0) + m - 1, h, border)
            for k in range(c):
                acc = np.float32(0.0)
                for a in range(4):
                    row = np.float32(0.0)
                    for b in range(4):
                        if iy[a] < 0 or jx[b] < 0:
                            v = cval
                        else:
                            v = src[iy[a] * row_stride + jx[b] * c + k]
                        row += wx[b] * v
                    acc += wy[a] * row
                dst[o + k] = acc


@njit(cache=True, error_model="numpy")
def _warp_reference_kernel(image, Hinv, out_h, out_w, interpolation, border, cval):
    """Inverse-mapping warp, the reference: plain per-pixel code that the fast kernels
    (``_warp_fast_kernel``, ``_warp_parallel_kernel``) are tested against.

    Parameters
    ----------
    image : float32 (H, W, C), C-contiguous
    Hinv : float64 (3, 3)
        Maps *destination* (x, y, 1) to source homogeneous coordinates.
    out_h, out_w : int
    interpolation : int
        0 nearest, 1 bilinear, 2 bicubic.
    border : int
        0 constant (``cval``), 1 edge, 2 reflect.
    cval : float32

    Returns
    -------
    out : float32 (out_h, out_w, C)

    Notes
    -----
    Each pixel's source point is ``Hinv @ (x, y, 1)`` dehomogenised; samples whose taps
    all lie inside the image are interpolated directly, the others (collected per row)
    by ``_border_pixels``.
    """
    h, w, c = image.shape
    out = np.empty((out_h, out_w, c), dtype=np.float32)
    src = image.reshape(h * w * c)  # flat views: offsets instead of 3-D indexing
    dst = out.reshape(out_h * out_w * c)
    row_stride = w * c
    wx = np.empty(4, dtype=np.float32)
    wy = np.empty(4, dtype=np.float32)
    jx = np.empty(4, dtype=np.int64)
    iy = np.empty(4, dtype=np.int64)
    bxs = np.empty(out_w)  # the row's border pixels: source points, output offsets
    bys = np.empty(out_w)
    boffs = np.empty(out_w, dtype=np.int64)
    for r in range(out_h):
        X0 = Hinv[0, 1] * r + Hinv[0, 2]
        Y0 = Hinv[1, 1] * r + Hinv[1, 2]
        W0 = Hinv[2, 1] * r + Hinv[2, 2]
        n = 0
        for q in range(out_w):
            o = (r * out_w + q) * c
            iw = 1.0 / (W0 + Hinv[2, 0] * q)  # inf on the line at infinity
            x = (X0 + Hinv[0, 0] * q) * iw
            y = (Y0 + Hinv[1, 0] * q) * iw
            if interpolation == 0 and x >= -0.5 and y >= -0.5 and x < w - 0.5 and y < h - 0.5:
                base = int(y + 0.5) * row_stride + int(x + 0.5) * c  # round half up
                for k in range(c):
                    dst[o + k] = src[base + k]
            elif interpolation == 1 and x >= 0.0 and y >= 0.0 and x < w - 1.0 and y < h - 1.0:
                j0 = int(x)
                i0 = int(y)
                fx = np.float32(x - j0)
                fy = np.float32(y - i0)
                gx = np.float32(1.0) - fx
                gy = np.float32(1.0) - fy
                b0 = i0 * row_stride + j0 * c
                b1 = b0 + row_stride
                for k in range(c):
                    dst[o + k] = (gx * gy * src[b0 + k] + fx * gy * src[b0 + c + k]
                                  + gx * fy * src[b1 + k] + fx * fy * src[b1 + c + k])
            elif interpolation == 2 and x >= 1.0 and y >= 1.0 and x < w - 2.0 and y < h - 2.0:
                j0 = int(x)
                i0 = int(y)
                for m in range(4):
                    wx[m] = _cubic_weight(x - j0 - (m - 1))
                    wy[m] = _cubic_weight(y - i0 - (m - 1))
                b = (i0 - 1) * row_stride + (j0 - 1) * c
                for k in range(c):
                    acc = np.float32(0.0)
                    bb = b + k
                    for a in range(4):
                        acc += wy[a] * (wx[0] * src[bb] + wx[1] * src[bb + c]
                                        + wx[2] * src[bb + 2 * c] + wx[3] * src[bb + 3 * c])
                        bb += row_stride
                    dst[o + k] = acc
            else:
                bxs[n] = x
                bys[n] = y
                boffs[n] = o
                n += 1
        _border_pixels(src, dst, bxs, bys, boffs, n, h, w, c, interpolation, border, cval,
                       wx, wy, jx, iy)
    return out


@njit(cache=True, inline="always")
def _cubic_weights(t):
    """Keys' four weights (a = -0.5) for the taps at ``-1, 0, 1, 2`` from ``floor(x)``,
    ``t = x - floor(x)`` in [0, 1): branch-free, the same arithmetic as ``_cubic_weight``
    at ``|t + 1|, |t|, |t - 1|, |t - 2|``."""
    a = -0.5
    u = t + 1.0  # in [1, 2)
    v = 1.0 - t  # in (0, 1]; at 1 both of Keys' pieces give exactly 0
    s = 2.0 - t  # in (1, 2]; at 2 the outer piece gives exactly 0
    w0 = ((a * u - 5.0 * a) * u + 8.0 * a) * u - 4.0 * a
    w1 = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    w2 = ((a + 2.0) * v - (a + 3.0)) * v * v + 1.0
    w3 = ((a * s - 5.0 * a) * s + 8.0 * a) * s - 4.0 * a
    return w0, w1, w2, w3


@njit(cache=True, inline="always")
def _bilinear_weights(wts, i, tx, ty):
    """The four float32 bilinear weights of fractions ``tx, ty`` into ``wts[0:4, i]``
    (taps ``(0, 0), (1, 0), (0, 1), (1, 1)`` as ``(dx, dy)``)."""
    fx = np.float32(tx)
    fy = np.float32(ty)
    gx = np.float32(1.0) - fx
    gy = np.float32(1.0) - fy
    wts[0, i] = gx * gy
    wts[1, i] = fx * gy
    wts[2, i] = gx * fy
    wts[3, i] = fx * fy


@njit(cache=True, inline="always")
def _bicubic_weights(wts, i, tx, ty):
    """Keys' weights of fractions ``tx, ty`` as float32 into ``wts[0:4, i]`` (x) and
    ``wts[4:8, i]`` (y)."""
    a0, a1, a2, a3 = _cubic_weights(tx)
    e0, e1, e2, e3 = _cubic_weights(ty)
    wts[0, i] = np.float32(a0)
    wts[1, i] = np.float32(a1)
    wts[2, i] = np.float32(a2)
    wts[3, i] = np.float32(a3)
    wts[4, i] = np.float32(e0)
    wts[5, i] = np.float32(e1)
    wts[6, i] = np.float32(e2)
    wts[7, i] = np.float32(e3)


@njit(cache=True, error_model="numpy", inline="always")
def _tile_outside(src, dst, idx, o0, q0, q1, qa, qb, pa, pb, X0, Y0, W0, H00, H10, H20, h,
                  w, c, interpolation, border, cval, bxs, bys, boffs, wx, wy, jx, iy):
    """The tile columns outside ``[qa, qb)`` that ``idx`` (indexed from ``q0``) marks
    -1: ``cval`` outside the outer span ``[pa, pb)`` (two runs, filled as such) and for
    every nearest one under the constant border, the others collected into
    ``bxs, bys, boffs`` and sampled by ``_border_pixels``; ``dst[o0:]`` is the tile
    row's first pixel."""
    left = min(max(pa, q0), qa)  # as in _outside_taps
    right = max(min(pb, q1), qb)
    for o in range(o0, o0 + (left - q0) * c):
        dst[o] = cval
    for o in range(o0 + (right - q0) * c, o0 + (q1 - q0) * c):
        dst[o] = cval
    n = 0
    for seg in range(2):
        for q in range(left if seg == 0 else qb, qa if seg == 0 else right):
            if idx[q - q0] >= 0:
                continue
            o = o0 + (q - q0) * c
            if border == 0 and interpolation == 0:  # every nearest -1 is outside
                for k in range(c):
                    dst[o + k] = cval
                continue
            bxs[n], bys[n] = _column_point(X0, Y0, W0, H00, H10, H20, q)
            boffs[n] = o
            n += 1
    if n:
        _border_pixels(src, dst, bxs, bys, boffs, n, h, w, c, interpolation, border, cval,
                       wx, wy, jx, iy)


# --- pass 1: source offsets and weights of a tile row ----------------------------------

@njit(cache=True, inline="always")
def _tap_offset(interpolation, x, y, wts, i, row_stride, c):
    """Flat offset of the first tap of the source point ``(x, y)`` (its taps all inside,
    ``x, y`` not below the interpolation's reach), writing its float32 weights into
    ``wts[:, i]``: nearest rounds half up; bilinear's first tap is ``floor``; bicubic's
    is one before ``floor`` in x and in y."""
    if interpolation == 0:
        return int(y + 0.5) * row_stride + int(x + 0.5) * c
    j0 = int(x)  # floor: x >= 0
    i0 = int(y)
    if interpolation == 1:
        _bilinear_weights(wts, i, x - j0, y - i0)
        return i0 * row_stride + j0 * c
    _bicubic_weights(wts, i, x - j0, y - i0)
    return (i0 - 1) * row_stride + (j0 - 1) * c


@njit(cache=True, error_model="numpy", inline="always")
def _outside_taps(interpolation, X0, Y0, W0, H00, H10, H20, q0, q1, qa, qb, pa, pb, h, w,
                  c, idx, wts):
    """The columns of the tile row ``[q0, q1)`` outside its span ``[qa, qb)``: -1
    outside the outer span ``[pa, pb)`` (no tap inside); within it, the tap offset and
    weights where every tap is inside, else -1. Returns the count of -1s.

    A point is inside for ``lo <= x < w - hi`` (and the same in y): nearest reads the
    rounded point, bilinear ``floor(x) + {0, 1}``, bicubic ``floor(x) + {-1, .., 2}``.
    The point is clamped first so that ``int()`` stays defined (NaN and far points)."""
    lo = -0.5 if interpolation == 0 else (0.0 if interpolation == 1 else 1.0)
    hi = 0.5 if interpolation == 0 else (1.0 if interpolation == 1 else 2.0)
    top = 1.0 if interpolation < 2 else 2.0  # the clamp: floor(x) + {0, 1} stays defined
    row_stride = w * c
    left = min(max(pa, q0), qa)  # [q0, left) and [right, q1): beyond the outer span
    right = max(min(pb, q1), qb)
    for q in range(q0, left):
        idx[q - q0] = -1
    for q in range(right, q1):
        idx[q - q0] = -1
    n_out = (left - q0) + (q1 - right)
    for seg in range(2):
        for q in range(left if seg == 0 else qb, qa if seg == 0 else right):
            i = uint64(q - q0)
            x, y = _column_point(X0, Y0, W0, H00, H10, H20, q)
            inside = x >= lo and y >= lo and x < w - hi and y < h - hi
            t = _tap_offset(interpolation, min(max(x, lo), w - top),
                            min(max(y, lo), h - top), wts, i, row_stride, c)
            idx[i] = t if inside else -1
            n_out += 0 if inside else 1
    return n_out


@njit(cache=True, error_model="numpy", inline="always")
def _nearest_taps(X0, Y0, W0, H00, H10, H20, q0, qa, qb, h, w, c, idx):
    """The span ``[qa, qb)`` of a nearest tile row, where every tap is inside: each
    pixel's flat source offset (round half up) into ``idx[q - q0]``, without tests
    (LLVM vectorises the loop)."""
    row_stride = w * c
    max_off = max((h - 1) * row_stride + (w - 1) * c, 0)
    for q in range(qa, qb):
        i = uint64(q - q0)  # unsigned: numba skips its wraparound test
        x, y = _column_point(X0, Y0, W0, H00, H10, H20, q)
        # floor = int() here (x + 0.5 >= 0); the offset in float64 is exact (< 2^53)
        t = int(np.floor(y + 0.5) * row_stride + np.floor(x + 0.5) * c)
        idx[i] = min(max(t, 0), max_off)  # a no-op that keeps the reads safe


@njit(cache=True, error_model="numpy", inline="always")
def _bilinear_taps(X0, Y0, W0, H00, H10, H20, q0, qa, qb, h, w, c, idx, wts):
    """``_nearest_taps`` for bilinear: the offset of each pixel's first tap, and its four
    float32 weights into ``wts[:, q - q0]``."""
    row_stride = w * c
    max_off = max((h - 2) * row_stride + (w - 2) * c, 0)
    for q in range(qa, qb):
        i = uint64(q - q0)
        x, y = _column_point(X0, Y0, W0, H00, H10, H20, q)
        fx = np.floor(x)  # x >= 0
        fy = np.floor(y)
        _bilinear_weights(wts, i, x - fx, y - fy)
        idx[i] = min(max(int(fy * row_stride + fx * c), 0), max_off)


@njit(cache=True, error_model="numpy", inline="always")
def _bicubic_taps(X0, Y0, W0, H00, H10, H20, q0, qa, qb, h, w, c, idx, wts):
    """``_nearest_taps`` for bicubic: the offset of each pixel's first of sixteen taps,
    and its eight float32 Keys weights (four in x, four in y) into ``wts[:, q - q0]``."""
    row_stride = w * c
    max_off = max((h - 4) * row_stride + (w - 4) * c, 0)
    for q in range(qa, qb):
        i = uint64(q - q0)
        x, y = _column_point(X0, Y0, W0, H00, H10, H20, q)
        j0 = int(x)
        i0 = int(y)
        _bicubic_weights(wts, i, x - j0, y - i0)
        idx[i] = min(max((i0 - 1) * row_stride + (j0 - 1) * c, 0), max_off)


@njit(cache=True, error_model="numpy", inline="always")
def _all_within(src, lo, hi, bound):
    """Whether every value of ``src[lo:hi]`` has magnitude at most ``bound`` (NaN has
    none): one vectorised pass."""
    ok = True
    for i in range(lo, hi):
        ok &= abs(src[uint64(i)]) <= bound
    return ok


@njit(cache=True, error_model="numpy")
def _warp_rows(src, dst, h, w, c, Hinv, r0, r1, out_h, out_w, interpolation, border, cval,
               check):
    """Output rows ``r0:r1`` into the flat ``dst``, tile by tile; returns how many
    bands of source rows hold a value that fails the image value check (with ``check``;
    else 0).

    Per band of rows, ``_band_spans`` finds each row's inner span (every tap inside) and,
    under the constant border, its outer span (some tap inside). For each row of a tile,
    pass 1 maps the columns through ``Hinv`` and keeps each pixel's flat source offset
    and weights: in the inner span without tests (``_*_taps``, vectorised by LLVM),
    elsewhere in the outer span with them (``_outside_taps``: -1 where a tap falls
    outside), beyond it not at all (-1); pass 2 (``_*_gather``) interpolates; pixels
    marked -1 go to ``_tile_outside`` (``cval``, or ``_border_pixels``). The value check
    goes band by band too: output rows ``[b0, b1)`` check the source rows
    ``[b0 h / out_h, b1 h / out_h)`` (the bands' rows partition the source), a piece
    before each tile row, so that its loads overlap the warping (and a near-identity
    map then reads those rows from cache).
    """
    n_wts = 1 if interpolation == 0 else (4 if interpolation == 1 else 8)
    return _warp_tiles(src, dst, h, w, c, Hinv, r0, r1, out_h, out_w, interpolation,
                       border, cval, check, np.empty(_TILE_COLS, dtype=np.int64),
                       np.empty((n_wts, _TILE_COLS), dtype=np.float32),
                       np.empty((_BAND_ROWS, 5), dtype=np.int64),
                       np.empty(_TILE_COLS), np.empty(_TILE_COLS),
                       np.empty(_TILE_COLS, dtype=np.int64),
                       np.empty(4, dtype=np.float32), np.empty(4, dtype=np.float32),
                       np.empty(4, dtype=np.int64), np.empty(4, dtype=np.int64))


@njit(cache=True, error_model="numpy")
def _warp_tiles(src, dst, h, w, c, Hinv, r0, r1, out_h, out_w, interpolation, border,
                cval, check, idx, wts, spans, bxs, bys, boffs, wx, wy, jx, iy):
    """The loops of :func:`_warp_rows`, given its scratch (``bxs, bys, boffs``:
    ``_tile_outside``'s and ``_border_pixels``'), on borrowed views of every array
    argument (alive for the call): no reference counting in the loops, where numba's
    atomic increments and decrements were 14-30 % of a 512x512x3 warp."""
    src, dst, Hinv, idx, wts, spans = (_borrowed(src), _borrowed(dst), _borrowed(Hinv),
                                       _borrowed(idx), _borrowed(wts), _borrowed(spans))
    bxs, bys, boffs = _borrowed(bxs), _borrowed(bys), _borrowed(boffs)
    wx, wy, jx, iy = _borrowed(wx), _borrowed(wy), _borrowed(jx), _borrowed(iy)
    row_stride = w * c
    H00 = Hinv[0, 0]
    H10 = Hinv[1, 0]
    H20 = Hinv[2, 0]
    bound = np.float32(MAX_IMAGE_MAGNITUDE)
    bad = 0
    n_tiles = (out_w + _TILE_COLS - 1) // _TILE_COLS
    for b0 in range(r0, r1, _BAND_ROWS):
        b1 = min(b0 + _BAND_ROWS, r1)
        # the band's share of the value check, in one piece per tile row: its loads
        # overlap the warping instead of preceding it
        lo = b0 * h // out_h * row_stride
        hi = b1 * h // out_h * row_stride
        piece = (hi - lo) // (n_tiles * (b1 - b0)) + 1
        _band_spans(Hinv, b0, b1, out_w, interpolation, border, h, w, spans)
        for q0 in range(0, out_w, _TILE_COLS):
            q1 = min(q0 + _TILE_COLS, out_w)
            for r in range(b0, b1):
                if check and lo < hi:
                    if not _all_within(src, lo, min(lo + piece, hi), bound):
                        bad += 1
                    lo += piece
                X0 = Hinv[0, 1] * r + Hinv[0, 2]
                Y0 = Hinv[1, 1] * r + Hinv[1, 2]
                W0 = Hinv[2, 1] * r + Hinv[2, 2]
                qa, qb, pa, pb, end = _clip_span(spans, r - b0, q0, q1)
                o0 = (r * out_w + q0) * c
                n_out = 0
                if qa > q0 or qb < q1:
                    n_out = _outside_taps(interpolation, X0, Y0, W0, H00, H10, H20, q0, q1,
                                          qa, qb, pa, pb, h, w, c, idx, wts)
                if n_out < q1 - q0:  # some pixel with every tap inside
                    if interpolation == 0:
                        _nearest_taps(X0, Y0, W0, H00, H10, H20, q0, qa, qb, h, w, c, idx)
                        _nearest_gather(src, dst, o0, idx, q1 - q0, c, end)
                    elif interpolation == 1:
                        _bilinear_taps(X0, Y0, W0, H00, H10, H20, q0, qa, qb, h, w, c, idx,
                                       wts)
                        _bilinear_gather(src, dst, o0, idx, wts, q1 - q0, row_stride, c,
                                         end)
                    else:
                        _bicubic_taps(X0, Y0, W0, H00, H10, H20, q0, qa, qb, h, w, c, idx,
                                      wts)
                        _bicubic_gather(src, dst, o0, idx, wts, q1 - q0, row_stride, c,
                                        end)
                if n_out:
                    _tile_outside(src, dst, idx, o0, q0, q1, qa, qb, pa, pb, X0, Y0, W0, H00,
                                  H10, H20, h, w, c, interpolation, border, cval, bxs, bys,
                                  boffs, wx, wy, jx, iy)
    return bad


@njit(cache=True)
def _warp_fast_kernel(image, Hinv, out, interpolation, border, cval, check):
    """Inverse-mapping warp, the fast path, into ``out`` (float32 ``(out_h, out_w, C)``,
    C-contiguous): ``_warp_reference_kernel``'s contract. Returns whether the image
    failed the value check (nonzero; with ``check``, else 0): every value of magnitude
    at most ``MAX_IMAGE_MAGNITUDE``, none NaN.

    The caller allocates ``out`` with numpy: its allocator reuses freed blocks and asks
    for huge pages for large arrays, where numba's pays the page faults of fresh memory
    on every call (measured: 0.5 ms of a 512x512x3 warp, 12 ms of a 2048x2048x3 one)."""
    h, w, c = image.shape
    out_h, out_w = out.shape[:2]
    src = image.reshape(h * w * c)
    dst = out.reshape(out_h * out_w * c)
    return _warp_rows(src, dst, h, w, c, Hinv, 0, out_h, out_h, out_w, interpolation,
                      border, cval, check)


@njit(cache=True, parallel=True)
def _warp_parallel_kernel(image, Hinv, out, interpolation, border, cval, check, n_chunks):
    """``_warp_fast_kernel`` with the output rows split into ``n_chunks`` bands run on
    numba's threads; each band is computed exactly as the serial kernel computes it."""
    h, w, c = image.shape
    out_h, out_w = out.shape[:2]
    src = image.reshape(h * w * c)
    dst = out.reshape(out_h * out_w * c)
    bad = np.zeros(n_chunks, dtype=np.int64)
    for k in prange(n_chunks):
        r0 = k * out_h // n_chunks
        r1 = (k + 1) * out_h // n_chunks
        bad[k] = _warp_rows(src, dst, h, w, c, Hinv, r0, r1, out_h, out_w, interpolation,
                            border, cval, check)
    return bad.sum()


def _float32_image(image: np.ndarray, func: str) -> tuple[np.ndarray, bool]:
    """The image as float32 and whether its values are still to be checked: the common
    C-contiguous float32 image is passed as it is, its value check left to the kernel
    (``_warp_rows``); any other input goes through ``as_float_image``, which converts
    and checks it, or raises."""
    if (isinstance(image, np.ndarray) and image.dtype == np.float32 and image.ndim in (2, 3)
            and image.size and image.flags.c_contiguous):
        return image, True
    return as_float_image(image, func), False


@renamed_parameters(fill="cval")
def warp(
    image: np.ndarray,
    H: np.ndarray,
    *,
    output_shape: tuple[int, int],
    interpolation: Literal["nearest", "bilinear", "bicubic"] = "bilinear",
    border: Literal["constant", "edge", "reflect"] = "constant",
    cval: float = 0.0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Warp ``image`` by the transform ``H`` onto an ``output_shape`` canvas.

    Every output pixel ``(x, y)`` is mapped back through ``H^-1`` into the source image
    and the source is interpolated there (inverse mapping: no holes).

    Convention: ``H`` maps *source* ``(x, y)`` to *destination* ``(x, y)``, acting on
    column vectors ``(x, y, 1)``; x is the column and y the row; pixel centres sit at
    integer coordinates with the origin at the centre of the top-left pixel;
    ``output_shape`` is ``(H, W)`` in rows and columns. This is
    ``cv2.warpPerspective(image, H, (W, H))`` without ``WARP_INVERSE_MAP`` and
    ``skimage.transform.warp(image, inverse_map=ProjectiveTransform(H).inverse)``.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        uint8, uint16, bool, float32 or float64 (converted to float32 in [0, 1]); every
        value finite with magnitude at most ``MAX_IMAGE_MAGNITUDE`` (1e10), whether the
        warp reads it or not.
    H : ndarray of shape (3, 3)
        Source-to-destination transform (any non-singular 3x3; scale does not matter).
    output_shape : (int, int)
        ``(rows, cols)`` of the result.
    interpolation : {"nearest", "bilinear", "bicubic"}
        Bicubic is Keys' cubic convolution with ``a = -0.5`` (it may overshoot [0, 1]
        slightly at edges; it is not clipped).
    border : {"constant", "edge", "reflect"}
        How samples outside the source are read: ``cval``; the nearest edge pixel; or
        mirrored half-sample symmetrically (scipy's ``"reflect"``: ``-1 -> 0``).
    cval : float
        The value for ``border="constant"``, in [0, 1] image units; its magnitude is at
        most ``MAX_IMAGE_MAGNITUDE`` (1e10), like any image value. (The old keyword
        ``fill`` works for one release, with a ``DeprecationWarning``.)
    max_pixels : int
        Largest accepted ``rows * cols`` of the output (default 1e8), refused before
        anything is allocated.

    Returns
    -------
    ndarray of shape output_shape or output_shape + (C,), float32

    Raises
    ------
    ValueError, TypeError
        Bad image (a NaN, inf or magnitude above 1e10 anywhere in it included),
        non-finite ``H``, bad options, an output above ``max_pixels``.
    DegenerateError
        ``H`` is singular (not invertible).

    Notes
    -----
    The output is done in tiles of 16 rows by 64 columns. Along an output row the source
    point is a ratio of linear functions of the column, so the columns whose taps all lie
    inside the source form one span, and (constant border) those with any tap inside a
    wider one, both found per row in closed form; each tile row is mapped through
    ``H^-1`` in one vectorised pass (source coordinates in float64, the interpolation
    weights in float32; no bounds tests inside the span), then sampled, all channels of
    a pixel together (one four-lane float32 operation per pixel for three and four
    channels), with fused multiply-adds for bilinear and bicubic (within 1e-6 of the
    plain sums, and the same for every channel count); pixels with a tap outside the
    source take the border logic, those beyond the wider span are ``cval`` directly.
    Every value of a float32 C-contiguous image is checked (finite, magnitude at most
    1e10) inside the same pass, band by band, and the ``ValueError`` is raised after it;
    other images are checked as they are converted. With ``cvgeo.set_num_threads(n)``,
    ``n > 1``, bands of output rows run on ``n`` threads, with the same result.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.arange(12, dtype=np.float32).reshape(3, 4) / 11
    >>> shift = np.array([[1.0, 0, 1], [0, 1, 0], [0, 0, 1]])  # one column right
    >>> np.round(warp(img, shift, output_shape=(3, 4)) * 11).astype(int)
    array([[ 0,  0,  1,  2],
           [ 0,  4,  5,  6],
           [ 0,  8,  9, 10]])
    """
    func = "warp"
    img, check = _float32_image(image, func)
    M = check_matrix(H, func, "H")
    out_h, out_w = check_shape2(output_shape, func)
    check_output_pixels((out_h, out_w), func, check_max_pixels(max_pixels, func))
    interp = check_choice(interpolation, func, "interpolation", _INTERPOLATION)
    bord = check_choice(border, func, "border", _BORDER)
    cval = check_real(cval, func, "cval", low=-MAX_IMAGE_MAGNITUDE, high=MAX_IMAGE_MAGNITUDE)
    scale = float(np.abs(M).max())
    A = M / scale if scale else M
    if scale == 0 or abs(_det3(A)) < 1e-14:
        raise DegenerateError(f"{func}: H must be invertible, got a singular matrix "
                              f"(|det(H / max|H|)| < 1e-14)")
    Hinv = np.linalg.inv(A)
    src = np.ascontiguousarray(img if img.ndim == 3 else img[:, :, None])
    out = np.empty((out_h, out_w, src.shape[2]), dtype=np.float32)
    args = (src, np.ascontiguousarray(Hinv), out, _INTERPOLATION[interp], _BORDER[bord],
            np.float32(cval), check)
    threads = parallel_threads()
    if threads:
        bad = _warp_parallel_kernel(*args, min(out_h, 4 * threads))
    else:
        bad = _warp_fast_kernel(*args)
    if bad:
        check_image_values(img, func)  # raises: NaN, inf or a magnitude above the limit
    return out if img.ndim == 3 else out[:, :, 0]
