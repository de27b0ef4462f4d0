"""The LLVM-level helpers of the numba kernels (cvgeo/_llvm.py)."""

import numpy as np
from numba import njit

from cvgeo._llvm import _borrowed, _fma


@njit(cache=False)
def _through_borrowed(a):
    b = _borrowed(a)
    b[0] = 7.0  # writes reach the owner's memory
    return b.sum(), b.shape[0], b[1:].size


def test_borrowed_view_is_the_same_array():
    a = np.arange(5, dtype=np.float64)
    total, n, tail = _through_borrowed(a)
    assert (total, n, tail) == (7.0 + 1 + 2 + 3 + 4, 5, 4)
    assert a[0] == 7.0


@njit(cache=False)
def _fma_scalar(a, b, c):
    return _fma(a, b, c)


def test_fma_rounds_once():
    # (1 + 2^-12)^2 - 1 needs the exact product: one rounding gives 2^-11 + 2^-24,
    # a product rounded first to float32 loses the 2^-24
    a = np.float32(1 + 2.0 ** -12)
    got = _fma_scalar(a, a, np.float32(-1.0))
    assert got == np.float32(2.0 ** -11 + 2.0 ** -24)
    assert np.float32(a * a) - np.float32(1.0) == np.float32(2.0 ** -11)
