"""Convolution written out as a matrix, and the output-size formulas of (transposed) convolution.

Conventions
-----------
A 2-D convolution in the deep-learning sense (cross-correlation, as ``F.conv2d``) is a
linear map from the flattened input ``x`` of shape ``(C_in, H, W)`` to the flattened
output ``y`` of shape ``(C_out, H_out, W_out)``; both are flattened in C (row-major)
order, channel first. :func:`conv_matrix` builds that map's matrix ``C``, so
``C @ x.ravel() == F.conv2d(x, kernel, stride, padding).ravel()``. The transposed
convolution (``F.conv_transpose2d``, the "up-convolution" of U-Net and the learned
upsampling of FCN) is, by definition, the map ``y -> C.T @ y``: the gradient of the
convolution with respect to its input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from cvgeo._checks import check_int_pair, describe

__all__ = ["conv_matrix", "conv_output_size", "conv_transpose_output_size"]


def _conv_params(func: str, size, kernel_size, stride, padding, dilation
                 ) -> tuple[int, int, int, int, int]:
    """The validated lengths of one axis' convolution arithmetic (each may be given as a
    pair; the first is used): ``size, kernel_size, stride, dilation >= 1``,
    ``padding >= 0``."""
    return (check_int_pair(size, func, "size", low=1)[0],
            check_int_pair(kernel_size, func, "kernel_size", low=1)[0],
            check_int_pair(stride, func, "stride", low=1)[0],
            check_int_pair(padding, func, "padding", low=0)[0],
            check_int_pair(dilation, func, "dilation", low=1)[0])


def conv_output_size(size: int, *, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Length of a convolution's output along one axis.

    ``floor((size + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1``, the
    formula of ``torch.nn.Conv2d`` (and of Dumoulin and Visin's guide, relationship 6).

    Parameters
    ----------
    size : int >= 1
        Input length (rows or columns).
    kernel_size, stride, dilation : int >= 1
    padding : int >= 0
        Zeros added at both ends.

    Returns
    -------
    int
        The output length, >= 1.

    Raises
    ------
    ValueError
        A parameter out of range, or a kernel larger than the padded input.

    References
    ----------
    .. [1] V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep
       learning", arXiv:1603.07285, 2016.

    Examples
    --------
    >>> conv_output_size(572, kernel_size=3), conv_output_size(7, kernel_size=3, stride=2,
    ...                                                        padding=1)
    (570, 4)
    """
    func = "conv_output_size"
    size, k, s, p, d = _conv_params(func, size, kernel_size, stride, padding, dilation)
    span = d * (k - 1) + 1
    if size + 2 * p < span:
        raise ValueError(f"{func}: the dilated kernel ({span} px) must fit in the padded input "
                         f"(size {size} + 2*padding {p} = {size + 2 * p}), got a larger kernel")
    return (size + 2 * p - span) // s + 1


def conv_transpose_output_size(size: int, *, kernel_size: int, stride: int = 1,
                               padding: int = 0, output_padding: int = 0,
                               dilation: int = 1) -> int:
    """Length of a transposed convolution's output along one axis.

    ``(size - 1) stride - 2 padding + dilation (kernel_size - 1) + output_padding + 1``,
    the formula of ``torch.nn.ConvTranspose2d``. A convolution maps several input
    lengths to the same output length when ``stride > 1``; ``output_padding`` in
    ``[0, stride)`` picks which of them the transposed convolution returns.

    Parameters
    ----------
    size : int >= 1
    kernel_size, stride, dilation : int >= 1
    padding : int >= 0
    output_padding : int in [0, max(stride, dilation))

    Returns
    -------
    int

    Raises
    ------
    ValueError
        A parameter out of range, or an output length below 1.

    Examples
    --------
    >>> conv_transpose_output_size(4, kernel_size=2, stride=2)  # U-Net's up-convolution
    8
    """
    func = "conv_transpose_output_size"
    size, k, s, p, d = _conv_params(func, size, kernel_size, stride, padding, dilation)
    op = check_int_pair(output_padding, func, "output_padding", low=0)[0]
    if op >= max(s, d):
        raise ValueError(f"{func}: output_padding must be smaller than stride or dilation "
                         f"(max {max(s, d)}), got {op}")
    out = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise ValueError(f"{func}: the output would have length {out}; reduce padding={p}")
    return out


def conv_matrix(kernel, input_shape: Sequence[int], *, stride: int | tuple[int, int] = 1,
                padding: int | tuple[int, int] = 0) -> torch.Tensor:
    """The matrix of a 2-D convolution (cross-correlation, as ``F.conv2d``).

    Parameters
    ----------
    kernel : Tensor or ndarray of shape (kh, kw) or (C_out, C_in, kh, kw)
        Floating point; a 2-D kernel means one input and one output channel.
    input_shape : (H, W) or (C_in, H, W)
        Shape of one input image (no batch dimension).
    stride : int or (int, int)
        Step between output pixels, in input pixels, along (rows, columns).
    padding : int or (int, int)
        Zero padding added on both sides of the rows and of the columns.

    Returns
    -------
    Tensor of shape (C_out * H_out * W_out, C_in * H * W)
        Same dtype as ``kernel`` (float64 for a float64 ndarray) and differentiable with
        respect to it. Row ``(o, i, j)`` holds the kernel of output channel ``o`` placed at
        input position ``(i stride - padding, j stride - padding)``, clipped where it falls
        on the padding. ``H_out``, ``W_out`` follow :func:`conv_output_size`.

    Raises
    ------
    TypeError
        ``kernel`` not a tensor or array, or not floating point.
    ValueError
        Bad shapes, ``C_in`` that does not match ``input_shape``, stride or padding out
        of range, a kernel that does not fit the padded input.

    Notes
    -----
    ``C @ x.ravel()`` equals ``F.conv2d(x[None], kernel, stride=stride,
    padding=padding).ravel()`` and ``C.T @ y.ravel()`` equals
    ``F.conv_transpose2d(y[None], kernel, stride=stride, padding=padding,
    output_padding=op).ravel()`` with ``op = H - conv_transpose_output_size(H_out, ...)``
    per axis (the lengths the convolution collapsed are restored by ``output_padding``).
    Every row has at most ``C_in kh kw`` non-zeros: the matrix is for teaching and
    testing, not for speed.

    References
    ----------
    .. [1] V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep
       learning", arXiv:1603.07285, 2016 (section 4: the 3x3 kernel on a 4x4 input as a
       4x16 matrix).

    Examples
    --------
    >>> import torch
    >>> conv_matrix(torch.ones(3, 3), (4, 4)).shape
    torch.Size([4, 16])
    """
    func = "conv_matrix"
    if isinstance(kernel, np.ndarray):
        kernel = torch.from_numpy(np.array(kernel))
    if not isinstance(kernel, torch.Tensor):
        raise TypeError(f"{func}: kernel must be a torch.Tensor or numpy array, got "
                        f"{describe(kernel)}")
    if not kernel.is_floating_point():
        raise TypeError(f"{func}: kernel must be floating point, got dtype {kernel.dtype}")
    if kernel.ndim == 2:
        kernel = kernel[None, None]  # (1, 1, kh, kw)
    if kernel.ndim != 4 or 0 in kernel.shape:
        raise ValueError(f"{func}: kernel must be (kh, kw) or (C_out, C_in, kh, kw), got shape "
                         f"{tuple(kernel.shape)}")
    if not torch.isfinite(kernel).all():
        raise ValueError(f"{func}: kernel must be finite, got NaN or inf")
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list, torch.Size)) else None
    if shape is None or len(shape) not in (2, 3) or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in shape):
        raise ValueError(f"{func}: input_shape must be (H, W) or (C_in, H, W) of positive ints, "
                         f"got {describe(input_shape)}")
    if len(shape) == 2:
        shape = (1, *shape)
    c_out, c_in, kh, kw = kernel.shape
    if shape[0] != c_in:
        raise ValueError(f"{func}: input_shape has {shape[0]} channels but the kernel expects "
                         f"C_in={c_in} (kernel shape {tuple(kernel.shape)})")
    sh, sw = check_int_pair(stride, func, "stride", low=1)
    ph, pw = check_int_pair(padding, func, "padding", low=0)
    _, h, w = shape
    for name, n, k, p in (("height", h, kh, ph), ("width", w, kw, pw)):
        if n + 2 * p < k:
            raise ValueError(f"{func}: the kernel {name} {k} must fit in the padded input "
                             f"{name} {n} + 2*{p} = {n + 2 * p}")
    ho = conv_output_size(h, kernel_size=kh, stride=sh, padding=ph)
    wo = conv_output_size(w, kernel_size=kw, stride=sw, padding=pw)
    # Index grids, broadcast to (C_out, H_out, W_out, C_in, kh, kw):
    # output (o, i, j) reads input (c, i*sh - ph + u, j*sw - pw + v) with weight k[o, c, u, v].
    o = torch.arange(c_out).view(-1, 1, 1, 1, 1, 1)
    i = torch.arange(ho).view(1, -1, 1, 1, 1, 1)
    j = torch.arange(wo).view(1, 1, -1, 1, 1, 1)
    c = torch.arange(c_in).view(1, 1, 1, -1, 1, 1)
    u = torch.arange(kh).view(1, 1, 1, 1, -1, 1)
    v = torch.arange(kw).view(1, 1, 1, 1, 1, -1)
    full = (c_out, ho, wo, c_in, kh, kw)
    r = (i * sh - ph + u).expand(full)  # input row
    q = (j * sw - pw + v).expand(full)  # input column
    inside = (r >= 0) & (r < h) & (q >= 0) & (q < w)  # taps on the zero padding drop out
    rows = ((o * ho + i) * wo + j).expand(full)[inside]
    cols = ((c * h + r) * w + q)[inside]
    vals = kernel[:, None, None].expand(full)[inside]  # k[o, c, u, v] at every (i, j)
    C = kernel.new_zeros((c_out * ho * wo, c_in * h * w))
    # (rows, cols) pairs are distinct: two taps of one output never read the same input.
    return C.index_put((rows, cols), vals)
