"""Convolution as a matrix: C @ x is F.conv2d, C.T @ y is F.conv_transpose2d."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deep.functional import conv_matrix, conv_output_size, conv_transpose_output_size


def test_3x3_kernel_on_4x4_input_is_the_guides_4x16_matrix():
    # Dumoulin & Visin, section 4.1: row r holds the kernel rows at input offsets
    # 0, 4, 8 (one image row apart) shifted by the output position.
    k = torch.arange(1.0, 10.0).reshape(3, 3)  # w00..w22 = 1..9
    C = conv_matrix(k, (4, 4))
    z = 0.0
    expected = torch.tensor([
        [1, 2, 3, z, 4, 5, 6, z, 7, 8, 9, z, z, z, z, z],
        [z, 1, 2, 3, z, 4, 5, 6, z, 7, 8, 9, z, z, z, z],
        [z, z, z, z, 1, 2, 3, z, 4, 5, 6, z, 7, 8, 9, z],
        [z, z, z, z, z, 1, 2, 3, z, 4, 5, 6, z, 7, 8, 9],
    ])
    assert C.shape == (4, 16)
    torch.testing.assert_close(C, expected, rtol=0, atol=0)


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("size", [(7, 9), (5, 5), (8, 11)])
def test_matrix_matches_conv2d_and_its_transpose_matches_conv_transpose2d(stride, padding, size):
    g = torch.Generator().manual_seed(stride * 100 + padding * 10 + size[0])
    c_in, c_out = 2, 3
    kernel = torch.randn(c_out, c_in, 3, 2, generator=g, dtype=torch.float64)
    x = torch.randn(c_in, *size, generator=g, dtype=torch.float64)
    C = conv_matrix(kernel, (c_in, *size), stride=stride, padding=padding)
    y = F.conv2d(x[None], kernel, stride=stride, padding=padding)  # (1, C_out, Ho, Wo)
    assert C.shape == (y.numel(), x.numel())
    # float64 sums of at most 12 products of unit normals: agreement to 1e-12
    torch.testing.assert_close(C @ x.ravel(), y.ravel(), rtol=0, atol=1e-12)

    z = torch.randn(y.shape, generator=g, dtype=torch.float64)
    op = (size[0] - conv_transpose_output_size(y.shape[2], kernel_size=3, stride=stride,
                                               padding=padding),
          size[1] - conv_transpose_output_size(y.shape[3], kernel_size=2, stride=stride,
                                               padding=padding))
    assert all(0 <= o < stride for o in op)  # output_padding restores what stride collapsed
    t = F.conv_transpose2d(z, kernel, stride=stride, padding=padding, output_padding=op)
    assert t.shape == (1, c_in, *size)
    torch.testing.assert_close(C.T @ z.ravel(), t.ravel(), rtol=0, atol=1e-12)


def test_transpose_is_the_adjoint_of_the_convolution():
    # <C x, y> == <x, C^T y> with torch's own operators: the defining property.
    g = torch.Generator().manual_seed(4)
    k = torch.randn(1, 1, 4, 4, generator=g, dtype=torch.float64)
    x = torch.randn(1, 1, 9, 9, generator=g, dtype=torch.float64)
    y = torch.randn(1, 1, 3, 3, generator=g, dtype=torch.float64)
    lhs = (F.conv2d(x, k, stride=2) * y).sum()
    rhs = (x * F.conv_transpose2d(y, k, stride=2, output_padding=1)).sum()
    torch.testing.assert_close(lhs, rhs)
    C = conv_matrix(k, (1, 9, 9), stride=2)
    torch.testing.assert_close(y.ravel() @ (C @ x.ravel()), lhs)


def test_matrix_is_differentiable_in_the_kernel():
    g = torch.Generator().manual_seed(5)
    k1 = torch.randn(3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    k2 = k1.detach().clone().requires_grad_(True)
    x = torch.randn(6, 7, generator=g, dtype=torch.float64)
    (conv_matrix(k1, (6, 7), stride=2, padding=1) @ x.ravel()).square().sum().backward()
    F.conv2d(x[None, None], k2[None, None], stride=2, padding=1).square().sum().backward()
    torch.testing.assert_close(k1.grad, k2.grad)


def test_numpy_kernel_gives_a_float64_tensor():
    C = conv_matrix(np.eye(2), (3, 3))
    assert C.dtype == torch.float64 and C.shape == (4, 9)


@pytest.mark.parametrize("size", [1, 4, 7, 67, 93, 572])
@pytest.mark.parametrize("k,s,p,d", [(3, 1, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1), (3, 2, 1, 1),
                                     (5, 3, 2, 1), (3, 1, 2, 2), (1, 1, 0, 1)])
def test_output_size_formulas_match_torch(size, k, s, p, d):
    x = torch.zeros(1, 1, size, 1)
    if size + 2 * p < d * (k - 1) + 1:
        with pytest.raises(ValueError, match="conv_output_size: the dilated kernel"):
            conv_output_size(size, kernel_size=k, stride=s, padding=p, dilation=d)
        return
    out = F.conv2d(x, torch.zeros(1, 1, k, 1), stride=(s, 1), padding=(p, 0),
                   dilation=(d, 1)).shape[2]
    assert conv_output_size(size, kernel_size=k, stride=s, padding=p, dilation=d) == out
    for op in range(max(s, d)):
        expect = conv_transpose_output_size(size, kernel_size=k, stride=s, padding=p,
                                            output_padding=op, dilation=d) \
            if (size - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1 else None
        if expect is None:
            continue
        t = F.conv_transpose2d(x, torch.zeros(1, 1, k, 1), stride=(s, 1), padding=(p, 0),
                               output_padding=(op, 0), dilation=(d, 1)).shape[2]
        assert expect == t


def test_output_size_known_answers():
    # the U-Net paper: 572 -> 570 -> 568 by two unpadded 3x3 convolutions; 2x2 up-conv doubles
    assert conv_output_size(572, kernel_size=3) == 570
    assert conv_output_size(570, kernel_size=3) == 568
    assert conv_transpose_output_size(28, kernel_size=2, stride=2) == 56
    # stride 2 maps 7 and 8 to 4 with a 3x3 kernel and padding 1: output_padding restores 8
    assert conv_output_size(7, kernel_size=3, stride=2, padding=1) == 4
    assert conv_output_size(8, kernel_size=3, stride=2, padding=1) == 4
    assert conv_transpose_output_size(4, kernel_size=3, stride=2, padding=1) == 7
    assert conv_transpose_output_size(4, kernel_size=3, stride=2, padding=1, output_padding=1) == 8


def test_errors():
    with pytest.raises(TypeError, match="conv_matrix: kernel must be a torch.Tensor"):
        conv_matrix([[1.0]], (3, 3))
    with pytest.raises(TypeError, match="conv_matrix: kernel must be floating point"):
        conv_matrix(torch.ones(3, 3, dtype=torch.long), (3, 3))
    with pytest.raises(ValueError, match=r"conv_matrix: kernel must be \(kh, kw\)"):
        conv_matrix(torch.ones(3), (3, 3))
    with pytest.raises(ValueError, match="conv_matrix: kernel must be finite"):
        conv_matrix(torch.tensor([[float("nan")]]), (3, 3))
    with pytest.raises(ValueError, match="conv_matrix: input_shape must be"):
        conv_matrix(torch.ones(3, 3), (3,))
    with pytest.raises(ValueError, match="input_shape has 2 channels but the kernel expects"):
        conv_matrix(torch.ones(1, 3, 3, 3), (2, 5, 5))
    with pytest.raises(ValueError, match="conv_matrix: the kernel height 3 must fit"):
        conv_matrix(torch.ones(3, 3), (2, 5))
    with pytest.raises(ValueError, match="conv_matrix: stride must be an int >= 1"):
        conv_matrix(torch.ones(3, 3), (5, 5), stride=0)
    with pytest.raises(ValueError, match="conv_matrix: padding must be an int >= 0"):
        conv_matrix(torch.ones(3, 3), (5, 5), padding=-1)
    with pytest.raises(ValueError, match="output_padding must be smaller than stride"):
        conv_transpose_output_size(4, kernel_size=2, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="conv_transpose_output_size: the output would have"):
        conv_transpose_output_size(1, kernel_size=1, padding=1)
    with pytest.raises(ValueError, match="conv_output_size: size must be an int >= 1"):
        conv_output_size(0, kernel_size=1)
