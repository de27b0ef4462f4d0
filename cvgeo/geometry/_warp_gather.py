"""The sampling pass of :func:`cvgeo.geometry.warp.warp`: four-lane float32 primitives
(LLVM intrinsics) and the nearest / bilinear / bicubic gathers of a tile row from the
taps ``warp.py`` computes — private."""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types, uint64
from numba.core import cgutils
from numba.extending import intrinsic

from cvgeo._llvm import _fma

# --- four-lane float32 primitives -------------------------------------------------------
# numba leaves LLVM's SLP vectoriser off, so the per-pixel loads of a colour pixel would
# be scalar; these intrinsics emit the <4 x float> loads, fused multiply-adds and store
# themselves. Each reads ``array[offset:offset + 4]`` (unaligned) and writes
# ``dst[u:u + 4]``: with three channels the fourth lane is the next pixel's first
# channel, read from the source row and overwritten in the output by the next pixel.

_F4 = ir.VectorType(ir.FloatType(), 4)


def _load4(context, builder, array_type, array, offset):
    """The ``<4 x float>`` at ``array[offset:offset + 4]``."""
    data = context.make_array(array_type)(context, builder, array).data
    pointer = builder.bitcast(builder.gep(data, [offset]), _F4.as_pointer())
    return builder.load(pointer, align=4)


def _store4(context, builder, array_type, array, offset, value):
    """Store the ``<4 x float>`` ``value`` at ``array[offset:offset + 4]``."""
    data = context.make_array(array_type)(context, builder, array).data
    pointer = builder.bitcast(builder.gep(data, [offset]), _F4.as_pointer())
    builder.store(value, pointer, align=4)


def _weighted_sum4(builder, vectors, weights):
    """``sum_k weights[k] * vectors[k]`` (float32 scalars times vectors): a product, then
    one fused multiply-add per further term, left to right; the scalar paths do the same
    operations with ``_fma``, so a pixel's value does not depend on the path it takes."""
    fma = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(_F4, [_F4, _F4, _F4]), "llvm.fma.v4f32")
    lane0 = ir.Constant(ir.IntType(32), 0)
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), 4), [0, 0, 0, 0])
    acc = None
    for v, wt in zip(vectors, weights):
        s = builder.shuffle_vector(
            builder.insert_element(ir.Constant(_F4, ir.Undefined), wt, lane0),
            ir.Constant(_F4, ir.Undefined), zeros)
        acc = builder.fmul(s, v) if acc is None else builder.call(fma, [s, v, acc])
    return acc


@intrinsic
def _copy4(typingctx, dst, u, src, b):
    """``dst[u:u + 4] = src[b:b + 4]``."""
    def codegen(context, builder, sig, args):
        v = _load4(context, builder, sig.args[2], args[2], args[3])
        _store4(context, builder, sig.args[0], args[0], args[1], v)
        return context.get_dummy_value()

    return types.void(dst, u, src, b), codegen


@intrinsic
def _bilinear4(typingctx, dst, u, src, b0, b1, c, w00, w01, w10, w11):
    """``dst[u:u + 4] = w00 src[b0:] + w01 src[b0 + c:] + w10 src[b1:] + w11 src[b1 + c:]``
    (four lanes each)."""
    def codegen(context, builder, sig, args):
        _, _, s, b0_, b1_, c_ = args[:6]
        offsets = (b0_, builder.add(b0_, c_), b1_, builder.add(b1_, c_))
        taps = [_load4(context, builder, sig.args[2], s, o) for o in offsets]
        _store4(context, builder, sig.args[0], args[0], args[1],
                _weighted_sum4(builder, taps, args[6:10]))
        return context.get_dummy_value()

    return types.void(dst, u, src, b0, b1, c, w00, w01, w10, w11), codegen


@intrinsic
def _bicubic4(typingctx, dst, u, src, b, stride, c, x0, x1, x2, x3, y0, y1, y2, y3):
    """``dst[u:u + 4] = sum_a y_a sum_m x_m src[b + a stride + m c:]`` (four lanes each):
    the x sums of the four source rows, then their y sum."""
    def codegen(context, builder, sig, args):
        _, _, s, b_, stride_, c_ = args[:6]
        rows = []
        for a in range(4):
            start = builder.add(b_, builder.mul(stride_, ir.Constant(stride_.type, a)))
            taps = [_load4(context, builder, sig.args[2], s,
                           builder.add(start, builder.mul(c_, ir.Constant(c_.type, m))))
                    for m in range(4)]
            rows.append(_weighted_sum4(builder, taps, args[6:10]))
        _store4(context, builder, sig.args[0], args[0], args[1],
                _weighted_sum4(builder, rows, args[10:14]))
        return context.get_dummy_value()

    return types.void(dst, u, src, b, stride, c, x0, x1, x2, x3, y0, y1, y2, y3), codegen


# --- pass 2: interpolation of a tile row ------------------------------------------------

@njit(cache=True, inline="always")
def _lane_pixels(n, c, safe):
    """How many of the ``n`` pixels of a tile row, from the first, are done as one
    four-lane operation each: with four channels all, with three all but the last (its
    store would pass the row's end), else none; none either when the source is too small
    for one pixel's four-lane reads (``safe``, the largest first tap they allow, < 0)."""
    if safe < 0:
        return 0
    return n if c == 4 else (n - 1 if c == 3 else 0)


@njit(cache=True, inline="always")
def _nearest_pixel(src, dst, u, t, c):
    """One pixel of ``_nearest_gather``, channel by channel."""
    for k in range(c):
        dst[u + uint64(k)] = src[uint64(t + k)]


@njit(cache=True, inline="always")
def _bilinear_pixel(src, dst, u, t, row_stride, c, wts, q):
    """One pixel of ``_bilinear_gather``, channel by channel: ``_bilinear4``'s
    arithmetic."""
    for k in range(c):
        b0 = uint64(t + k)
        b1 = b0 + uint64(row_stride)
        acc = _fma(wts[1, q], src[b0 + uint64(c)], wts[0, q] * src[b0])
        acc = _fma(wts[2, q], src[b1], acc)
        dst[u + uint64(k)] = _fma(wts[3, q], src[b1 + uint64(c)], acc)


@njit(cache=True, inline="always")
def _bicubic_pixel(src, dst, u, t, row_stride, c, wts, q):
    """One pixel of ``_bicubic_gather``, channel by channel: ``_bicubic4``'s
    arithmetic."""
    for k in range(c):
        acc = np.float32(0.0)
        for a in range(4):
            b = uint64(t + k + a * row_stride)
            row = _fma(wts[1, q], src[b + uint64(c)], wts[0, q] * src[b])
            row = _fma(wts[2, q], src[b + uint64(2 * c)], row)
            row = _fma(wts[3, q], src[b + uint64(3 * c)], row)
            acc = wts[4, q] * row if a == 0 else _fma(wts[4 + a, q], row, acc)
        dst[u + uint64(k)] = acc


@njit(cache=True, inline="always")
def _set_aside(idx, m, safe):
    """On a row that may read the source's last pixel: the four-lane pixels (the first
    ``m``) whose reads would pass the source's end (first tap beyond ``safe``), set
    aside for the channel loop, their offset ``t`` stored as ``-2 - t`` (negative: the
    four-lane loop reads the first source pixel instead). Returns whether any was."""
    aside = False
    for q in range(m):
        t = idx[q]
        if t > safe:
            idx[q] = -2 - t
            aside = True
    return aside


@njit(cache=True, inline="always")
def _channel_pixel(idx, q, m):
    """The first tap of pixel ``q`` for the channel-by-channel loop, or -1: the pixels
    after the four-lane ones (``q >= m``) and those set aside (their offset restored in
    ``idx`` for ``warp._tile_outside``)."""
    t = idx[q]
    if t <= -2:
        t = -2 - t
        idx[q] = t
        return t
    return t if q >= m else -1


@njit(cache=True, error_model="numpy", inline="always")
def _nearest_gather(src, dst, o0, idx, n, c, end):
    """Pass 2 of a nearest tile row: copy the channels of the ``n`` pixels; ``dst[o0:]``
    is the row's first pixel. Pixels marked -1 read the first source pixel, and
    ``warp._tile_outside`` overwrites them; on a row that may read the source's last pixel
    (``end``), ``_set_aside`` keeps the four-lane loop inside the source."""
    if c == 1:  # one load per pixel, no tests: a loop LLVM vectorises (gathers)
        for q in range(n):
            dst[uint64(o0 + q)] = src[uint64(max(idx[q], 0))]
        return
    m = _lane_pixels(n, c, src.size - 4)
    aside = end and _set_aside(idx, m, src.size - 4)
    for q in range(m):  # unsigned offsets: numba skips its wraparound test
        _copy4(dst, uint64(o0 + c * q), src, uint64(max(idx[q], 0)))
    for q in range(0 if aside else m, n):
        t = _channel_pixel(idx, q, m)
        if t >= 0:
            _nearest_pixel(src, dst, uint64(o0 + c * q), t, c)


@njit(cache=True, error_model="numpy", inline="always")
def _bilinear_gather(src, dst, o0, idx, wts, n, row_stride, c, end):
    """Pass 2 of a bilinear tile row: the weighted sums of four taps, all channels of a
    pixel together, as ``_nearest_gather``."""
    if c == 1 and src.size >= row_stride + 2:  # the -1s' taps at 0 are inside too
        for q in range(n):
            b0 = uint64(max(idx[q], 0))
            b1 = b0 + uint64(row_stride)
            acc = _fma(wts[1, q], src[b0 + uint64(1)], wts[0, q] * src[b0])
            acc = _fma(wts[2, q], src[b1], acc)
            dst[uint64(o0 + q)] = _fma(wts[3, q], src[b1 + uint64(1)], acc)
        return
    safe = src.size - 4 - row_stride - c
    m = _lane_pixels(n, c, safe)
    aside = end and _set_aside(idx, m, safe)
    for q in range(m):
        b0 = uint64(max(idx[q], 0))
        _bilinear4(dst, uint64(o0 + c * q), src, b0, b0 + uint64(row_stride), uint64(c),
                   wts[0, q], wts[1, q], wts[2, q], wts[3, q])
    for q in range(0 if aside else m, n):
        t = _channel_pixel(idx, q, m)
        if t >= 0:
            _bilinear_pixel(src, dst, uint64(o0 + c * q), t, row_stride, c, wts, q)


@njit(cache=True, error_model="numpy", inline="always")
def _bicubic_gather(src, dst, o0, idx, wts, n, row_stride, c, end):
    """Pass 2 of a bicubic tile row: the separable sums of sixteen taps (x sums of four
    source rows, then their y sum), as ``_nearest_gather``."""
    if c == 1 and src.size >= 3 * row_stride + 4:  # the -1s' taps at 0 are inside too
        for q in range(n):
            _bicubic_pixel(src, dst, uint64(o0 + q), max(idx[q], 0), row_stride, 1, wts, q)
        return
    safe = src.size - 4 - 3 * (row_stride + c)
    m = _lane_pixels(n, c, safe)
    aside = end and _set_aside(idx, m, safe)
    for q in range(m):
        _bicubic4(dst, uint64(o0 + c * q), src, uint64(max(idx[q], 0)), uint64(row_stride),
                  uint64(c), wts[0, q], wts[1, q], wts[2, q], wts[3, q], wts[4, q],
                  wts[5, q], wts[6, q], wts[7, q])
    for q in range(0 if aside else m, n):
        t = _channel_pixel(idx, q, m)
        if t >= 0:
            _bicubic_pixel(src, dst, uint64(o0 + c * q), t, row_stride, c, wts, q)
