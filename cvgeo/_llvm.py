"""Small LLVM-level helpers for the numba kernels (private): borrowed array views (the
same data without reference counting) and a float32 fused multiply-add."""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__: list[str] = []


@intrinsic
def _borrowed(typingctx, a):
    """``a`` without its reference count: the same view with a NULL meminfo, so that
    numba's reference counting of it (at every call and inlined call it is passed to)
    costs a null test instead of an atomic increment and decrement. Measured: those
    atomics were 14-30 % of a 512x512x3 warp and ~20 % of a separable filter's time
    (per-row calls). Valid only while ``a`` itself is alive:
    the caller keeps it (an argument, or an array used after the last use of the
    borrowed view)."""
    def codegen(context, builder, sig, args):
        src = context.make_array(sig.args[0])(context, builder, args[0])
        out = context.make_array(sig.return_type)(context, builder)
        for field in ("data", "shape", "strides", "itemsize", "nitems"):
            setattr(out, field, getattr(src, field))
        out.meminfo = ir.Constant(out.meminfo.type, None)
        out.parent = ir.Constant(out.parent.type, None)
        return out._getvalue()

    return a(a), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` with one rounding (float32; vectorised with the loop around it)."""
    def codegen(context, builder, sig, args):
        f = ir.FloatType()
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f, [f, f, f]),
                                             "llvm.fma.f32")
        return builder.call(fma, list(args))

    return types.float32(types.float32, types.float32, types.float32), codegen
