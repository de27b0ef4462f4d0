"""pix2pix: PatchGAN receptive fields (the paper's sizes and measured by gradients), the
U-Net generator, Canny edge pairs of digits, the blur baseline, L1 decrease, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cvgeo
from deep.data import load_digits
from deep.generative.pix2pix import (
    BlurBaseline,
    PatchGAN,
    Pix2PixGenerator,
    digit_edges,
    fit_blur_baseline,
    l1_error,
    train_pix2pix,
    translate,
)


def _digits(n=8):
    ds = load_digits().train
    return torch.from_numpy(ds.images[:n])[:, None] * 2 - 1  # (n, 1, 8, 8) in [-1, 1]


# ------------------------------------------------------------------ PatchGAN
@pytest.mark.parametrize("n_layers,rf", [(1, 16), (2, 34), (3, 70), (4, 142), (5, 286)])
def test_patchgan_receptive_field_matches_the_paper(n_layers, rf):
    assert PatchGAN(n_layers=n_layers, base_width=2).receptive_field == rf


@pytest.mark.parametrize("n_layers,size", [(1, 40), (2, 72), (3, 128)])
def test_patchgan_receptive_field_is_the_support_of_an_output_gradient(n_layers, size):
    torch.manual_seed(0)
    d = PatchGAN(in_chans=2, base_width=2, n_layers=n_layers).double().eval()  # no batch mixing
    x = torch.randn(1, 2, size, size, dtype=torch.float64, requires_grad=True)
    out = d(x)  # (1, 1, H_o, W_o)
    assert out.shape[-1] == d.output_size(size)
    i = out.shape[-1] // 2
    out[0, 0, i, i].backward()
    touched = (x.grad.abs().sum(dim=(0, 1)) > 0).numpy()  # (size, size)
    rows, cols = np.flatnonzero(touched.any(1)), np.flatnonzero(touched.any(0))
    assert rows[-1] - rows[0] + 1 == d.receptive_field
    assert cols[-1] - cols[0] + 1 == d.receptive_field
    assert 0 < rows[0] and rows[-1] < size - 1  # the window lies inside: no padding clipped it
    # LeakyReLU keeps every path alive: the whole window is touched, not only its outline
    assert touched[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()
    # the window starts at i * jump - sum_l padding_l * jump_l: n_layers stride-2 convs
    # (jumps 1, 2, ..., 2**(n-1)), then two stride-1 convs at jump 2**n, all padded by 1
    offset = (2 ** n_layers - 1) + 2 * 2 ** n_layers
    assert rows[0] == i * 2 ** n_layers - offset


def test_patchgan_output_size():
    d = PatchGAN(n_layers=1, base_width=2)
    assert d.output_size(32) == 14  # 32 → 16 → 15 → 14
    assert d(torch.zeros(2, 2, 32, 32)).shape == (2, 1, 14, 14)
    with pytest.raises(ValueError, match="PatchGAN.output_size: an input side of 4"):
        PatchGAN(n_layers=3, base_width=2).output_size(4)


# ------------------------------------------------------------------ generator and data
def test_generator_is_a_unet_with_tanh():
    g = Pix2PixGenerator(widths=(4, 8)).eval()
    with torch.no_grad():
        y = g(torch.randn(3, 1, 32, 32) * 10)
    assert y.shape == (3, 1, 32, 32)
    assert float(y.abs().max()) < 1.0 and float(y.abs().max()) > 0.5
    from deep.models.unet import UNet
    assert isinstance(g.unet, UNet) and g.unet.num_classes == 1


def test_digit_edges_are_cvgeo_canny_of_the_upsampled_digits():
    x = _digits(4)
    pairs = digit_edges(x, size=32)
    assert pairs.edges.shape == pairs.images.shape == (4, 1, 32, 32)
    assert set(np.unique(pairs.edges.numpy())) == {-1.0, 1.0}
    # the upsampled image is cvgeo.resize's bicubic of the digit, on [0, 1]
    unit = (x[1, 0].numpy() + 1) / 2
    up = np.clip(cvgeo.resize(unit, (32, 32), interpolation="bicubic"), 0, 1)
    np.testing.assert_allclose((pairs.images[1, 0].numpy() + 1) / 2, up, atol=1e-6)
    assert np.array_equal(pairs.edges[1, 0].numpy() > 0, cvgeo.canny(up))
    # every digit has a contour of tens of pixels; most edge pixels sit where the
    # intensity changes (within one pixel of a half-grey crossing)
    n_edges = (pairs.edges > 0).sum(dim=(1, 2, 3))
    assert bool((n_edges > 30).all()) and bool((n_edges < 250).all())
    # a blank image has no edges
    blank = digit_edges(-torch.ones(1, 1, 8, 8))
    assert bool((blank.edges == -1).all())


def test_l1_error_is_on_the_unit_scale():
    a = -torch.ones(2, 1, 4, 4)
    assert l1_error(a, a) == 0.0
    assert l1_error(a, torch.ones(2, 1, 4, 4)) == pytest.approx(1.0)
    b = a.clone()
    b[0, 0, 0, 0] = 1.0  # one pixel of 32 differs by the full range
    assert l1_error(a, b) == pytest.approx(1 / 32)


def test_blur_baseline_recovers_a_known_blur():
    pairs = digit_edges(_digits(6))
    e01 = (pairs.edges[:, 0].numpy() + 1) / 2
    target = np.stack([np.clip(0.8 * cvgeo.gaussian_blur(e, 1.5) + 0.05, 0, 1) for e in e01])
    images = torch.from_numpy(target.astype(np.float32))[:, None] * 2 - 1
    base = fit_blur_baseline(pairs.edges, images, sigmas=(0.75, 1.5, 3.0))
    assert base.sigma == 1.5
    assert base.gain == pytest.approx(0.8, abs=1e-4) and base.offset == pytest.approx(0.05,
                                                                                     abs=1e-4)
    assert base.train_l1 < 1e-5
    assert l1_error(base.predict(pairs.edges), images) < 1e-5
    assert isinstance(base, BlurBaseline)


# ------------------------------------------------------------------ training
def _p2p(seed=0):
    torch.manual_seed(seed)
    return Pix2PixGenerator(widths=(8, 16)), PatchGAN(base_width=8, n_layers=1)


def test_l1_decreases_on_a_tiny_fixed_batch():
    pairs = digit_edges(_digits(8), size=16)
    g, d = _p2p()
    before = l1_error(translate(g, pairs.edges), pairs.images)
    res = train_pix2pix(g, d, pairs.edges, pairs.images, steps=40, batch_size=8, lr=2e-3,
                        seed=0)
    after = l1_error(translate(g, pairs.edges), pairs.images)
    assert res.steps == 40 and res.g_l1.shape == (40,)
    assert res.g_l1[-5:].mean() < 0.5 * res.g_l1[:5].mean()
    assert after < 0.5 * before, (before, after)


def test_training_is_deterministic_given_the_seeds():
    pairs = digit_edges(_digits(4), size=16)
    outs = []
    for seed in (0, 0, 1):
        g, d = _p2p()
        res = train_pix2pix(g, d, pairs.edges, pairs.images, steps=3, batch_size=2, seed=seed)
        outs.append((res.d_losses, translate(g, pairs.edges)))
    assert np.array_equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    assert not np.array_equal(outs[0][0], outs[2][0])


def test_errors():
    g, d = _p2p()
    e = torch.zeros(2, 1, 16, 16)
    with pytest.raises(ValueError, match="train_pix2pix: sources must lie in"):
        train_pix2pix(g, d, e + 5, e)
    with pytest.raises(ValueError, match="train_pix2pix: sources and targets must pair"):
        train_pix2pix(g, d, e, e[:1])
    with pytest.raises(ValueError, match="train_pix2pix: the discriminator must take 1 \\+ 1"):
        train_pix2pix(g, PatchGAN(in_chans=3, base_width=2), e, e)
    with pytest.raises(TypeError, match="digit_edges: images must be a torch.Tensor"):
        digit_edges(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="digit_edges: images must be a non-empty tensor"):
        digit_edges(torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match="digit_edges: images must be a finite"):
        digit_edges(torch.full((1, 1, 8, 8), float("nan")))
    with pytest.raises(ValueError, match="PatchGAN: n_layers must be an int"):
        PatchGAN(n_layers=0)
    with pytest.raises(ValueError, match="PatchGAN: input must be a tensor"):
        d(torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="l1_error: prediction and target must have"):
        l1_error(e, e[:1])
    with pytest.raises(ValueError, match="fit_blur_baseline: sigmas must be"):
        fit_blur_baseline(e, e, sigmas=())
    with pytest.raises(ValueError, match="fit_blur_baseline: sigmas\\[i\\] must be > 0"):
        fit_blur_baseline(e, e, sigmas=(1.0, -1.0))
