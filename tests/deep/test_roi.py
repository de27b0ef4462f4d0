"""RoI Align and RoI pooling against brute-force loops, exact cases and gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deep.layers import RoIAlign, RoIPool, roi_align, roi_pool


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def brute_bilinear(f, y, x):
    """One bilinear sample of a (H, W) numpy map, with RoI Align's border rule."""
    h, w = f.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(math.floor(y)), int(math.floor(x))
    if y0 >= h - 1:
        y0 = y1 = h - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= w - 1:
        x0 = x1 = w - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return ((1 - ly) * (1 - lx) * f[y0, x0] + (1 - ly) * lx * f[y0, x1]
            + ly * (1 - lx) * f[y1, x0] + ly * lx * f[y1, x1])


def brute_roi_align(feat, rois, out_h, out_w, scale, ratio, aligned):
    feat = feat.numpy()
    out = np.zeros((len(rois), feat.shape[1], out_h, out_w))
    off = 0.5 * scale - 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        sx, sy = x1 * scale + off, y1 * scale + off
        rw, rh = (x2 - x1) * scale, (y2 - y1) * scale
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bw, bh = rw / out_w, rh / out_h
        gh = ratio if ratio > 0 else max(math.ceil(rh / out_h), 1)
        gw = ratio if ratio > 0 else max(math.ceil(rw / out_w), 1)
        for c in range(feat.shape[1]):
            for i in range(out_h):
                for j in range(out_w):
                    acc = 0.0
                    for iy in range(gh):
                        y = sy + i * bh + (iy + 0.5) * bh / gh
                        for ix in range(gw):
                            x = sx + j * bw + (ix + 0.5) * bw / gw
                            acc += brute_bilinear(feat[int(b), c], y, x)
                    out[k, c, i, j] = acc / (gh * gw)
    return out


def brute_roi_pool(feat, rois, out_h, out_w, scale):
    feat = feat.numpy()
    h, w = feat.shape[2:]
    out = np.zeros((len(rois), feat.shape[1], out_h, out_w))
    for k, (b, *box) in enumerate(rois.tolist()):
        u = [(v + 0.5) * scale - 0.5 for v in box]
        sx, sy = math.floor(u[0] + 0.5), math.floor(u[1] + 0.5)
        nx = max(math.ceil(u[2] - 0.5) - sx + 1, 1)
        ny = max(math.ceil(u[3] - 0.5) - sy + 1, 1)
        for i in range(out_h):
            r0 = min(max(sy + math.floor(i * ny / out_h), 0), h)
            r1 = min(max(sy + math.ceil((i + 1) * ny / out_h), 0), h)
            for j in range(out_w):
                c0 = min(max(sx + math.floor(j * nx / out_w), 0), w)
                c1 = min(max(sx + math.ceil((j + 1) * nx / out_w), 0), w)
                if r1 > r0 and c1 > c0:
                    out[k, :, i, j] = feat[int(b), :, r0:r1, c0:c1].max(axis=(1, 2))
    return out


def random_rois(n_img, k, h_img, w_img, gen):
    x = torch.rand(k, 2, generator=gen, dtype=torch.float64) * (w_img + 4) - 3
    y = torch.rand(k, 2, generator=gen, dtype=torch.float64) * (h_img + 4) - 3
    b = torch.randint(0, n_img, (k, 1), generator=gen).double()
    return torch.cat([b, x.min(1, keepdim=True).values, y.min(1, keepdim=True).values,
                      x.max(1, keepdim=True).values, y.max(1, keepdim=True).values], dim=1)


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("ratio", [2, 0])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_roi_align_equals_brute_force(aligned, ratio, scale):
    gen = torch.Generator().manual_seed(1)
    feat = torch.randn(2, 3, 7, 9, generator=gen, dtype=torch.float64)
    rois = random_rois(2, 6, 7 / scale, 9 / scale, gen)
    rois[0] = torch.tensor([1.0, 2.0, 2.0, 2.0, 2.0], dtype=torch.float64)  # a point RoI
    out = roi_align(feat, rois, output_size=(3, 2), spatial_scale=scale, sampling_ratio=ratio,
                    aligned=aligned)
    ref = brute_roi_align(feat, rois, 3, 2, scale, ratio, aligned)
    np.testing.assert_allclose(out.numpy(), ref, rtol=0, atol=1e-12)
    assert np.abs(ref).sum() > 0


def test_roi_align_is_exact_on_a_linear_ramp():
    # bilinear interpolation reproduces a linear function: each bin's value is the
    # feature coordinate u = (x + 0.5) s - 0.5 of its centre (aligned mapping)
    s = 0.25
    ramp = torch.arange(10.0, dtype=torch.float64).repeat(6, 1)[None, None]  # f[y, x] = x
    box = torch.tensor([[0.0, 6.3, 4.0, 30.1, 14.0]], dtype=torch.float64)
    out = roi_align(ramp, box, output_size=(2, 4), spatial_scale=s, sampling_ratio=3)
    u1, u2 = (6.3 + 0.5) * s - 0.5, (30.1 + 0.5) * s - 0.5
    expected = u1 + (np.arange(4) + 0.5) * (u2 - u1) / 4
    np.testing.assert_allclose(out[0, 0].numpy(), np.tile(expected, (2, 1)), atol=1e-12)
    # the whole image at stride 1: 2x2 bins of a 4x4 map are the 2x2 block means
    f = torch.arange(16.0).reshape(1, 1, 4, 4)
    whole = torch.tensor([[0.0, -0.5, -0.5, 3.5, 3.5]])
    torch.testing.assert_close(roi_align(f, whole, output_size=2),
                               torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))


def test_roi_align_list_input_and_module():
    feat = torch.randn(2, 4, 8, 8)
    b0 = torch.tensor([[1.0, 1.0, 5.0, 6.0]])
    b1 = torch.tensor([[0.0, 2.0, 7.0, 3.0], [2.0, 2.0, 4.0, 4.0]])
    rows = torch.tensor([[0.0, 1, 1, 5, 6], [1.0, 0, 2, 7, 3], [1.0, 2, 2, 4, 4]])
    a = roi_align(feat, [b0, b1], output_size=3, sampling_ratio=2)
    torch.testing.assert_close(a, roi_align(feat, rows, output_size=3, sampling_ratio=2))
    m = RoIAlign(output_size=3, sampling_ratio=2)
    torch.testing.assert_close(m(feat, [b0, b1]), a)
    assert "aligned=True" in repr(m)
    assert roi_align(feat, torch.zeros(0, 5), output_size=3).shape == (0, 4, 3, 3)


def test_roi_align_gradcheck():
    gen = torch.Generator().manual_seed(2)
    feat = torch.randn(2, 2, 5, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    rois = random_rois(2, 4, 5, 6, gen)
    for aligned, ratio in ((True, 2), (False, 0)):
        assert torch.autograd.gradcheck(
            lambda f, a=aligned, r=ratio: roi_align(f, rois, output_size=(2, 3),
                                                    sampling_ratio=r, aligned=a), (feat,))
    # the box coordinates get gradients too (away from cell boundaries)
    coords = rois[:, 1:].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda c: roi_align(feat.detach(), torch.cat([rois[:, :1], c], 1), output_size=2,
                            sampling_ratio=2), (coords,))


@pytest.mark.parametrize("scale", [1.0, 0.5, 1 / 3])
def test_roi_pool_equals_brute_force(scale):
    gen = torch.Generator().manual_seed(3)
    feat = torch.randn(2, 3, 7, 9, generator=gen, dtype=torch.float64)
    rois = random_rois(2, 8, 7 / scale, 9 / scale, gen)
    rois[0] = torch.tensor([0.0, 30.0, 30.0, 40.0, 40.0])  # wholly outside: zeros
    out = roi_pool(feat, rois, output_size=(3, 4), spatial_scale=scale)
    ref = brute_roi_pool(feat, rois, 3, 4, scale)
    np.testing.assert_array_equal(out.numpy(), ref)
    assert (out[0] == 0).all() and (out[1:] != 0).any()


def test_roi_pool_known_values_and_gradient():
    f = torch.arange(16.0).reshape(1, 1, 4, 4)
    whole = torch.tensor([[0.0, -0.5, -0.5, 3.5, 3.5]])
    torch.testing.assert_close(roi_pool(f, whole, output_size=2),
                               torch.tensor([[[[5.0, 7.0], [13.0, 15.0]]]]))
    # a box inside pixel (1, 2) snaps to that one cell
    torch.testing.assert_close(roi_pool(f, torch.tensor([[0.0, 1.8, 0.9, 2.2, 1.3]]),
                                        output_size=1), torch.tensor([[[[6.0]]]]))
    feat = torch.randn(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0.0, 0.2, 0.4, 4.1, 3.7], [0.0, 1.0, 1.0, 5.0, 4.0]],
                        dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: roi_pool(x, rois, output_size=2), (feat,))
    torch.testing.assert_close(RoIPool(output_size=2)(feat, rois),
                               roi_pool(feat, rois, output_size=2))


def test_roi_errors():
    feat = torch.zeros(2, 1, 4, 4)
    with pytest.raises(ValueError, match=r"roi_align: features must be a tensor \(N, C, H, W\)"):
        roi_align(torch.zeros(4, 4), torch.zeros(1, 5), output_size=2)
    with pytest.raises(ValueError, match=r"roi_align: boxes\[:, 0\] must be integer batch "
                                         r"indices in \[0, 2\)"):
        roi_align(feat, torch.tensor([[2.0, 0, 0, 1, 1]]), output_size=2)
    with pytest.raises(ValueError, match="roi_pool: boxes must have x1 <= x2"):
        roi_pool(feat, torch.tensor([[0.0, 3, 0, 1, 1]]), output_size=2)
    with pytest.raises(ValueError, match=r"roi_align: boxes as a list must hold one"):
        roi_align(feat, [torch.zeros(1, 4)], output_size=2)
    with pytest.raises(ValueError,
                       match="roi_align: output_size must be an int >= 1 or a pair of them, got 0"):
        roi_align(feat, torch.zeros(1, 5), output_size=0)
    with pytest.raises(ValueError, match="roi_pool: spatial_scale must be a positive number"):
        roi_pool(feat, torch.zeros(1, 5), output_size=2, spatial_scale=0)
    with pytest.raises(ValueError, match="roi_align: boxes must be finite"):
        roi_align(feat, torch.tensor([[0.0, 0, 0, math.nan, 1]]), output_size=2)
    with pytest.raises(TypeError, match="roi_align: boxes must be a tensor"):
        roi_align(feat, np.zeros((1, 5)), output_size=2)
