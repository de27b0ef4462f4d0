"""GANs: network shapes, losses' known values, WGAN-GP's penalty against finite differences,
weight clipping, a few training steps on a tiny fixed batch, determinism, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from deep.data import load_digits
from deep.generative.gan import (
    DCGANDiscriminator,
    DCGANGenerator,
    clip_weights,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    sample_images,
    train_gan,
)


def _digits(n=32, digit=None):
    ds = load_digits().train
    idx = np.arange(len(ds.labels)) if digit is None else np.flatnonzero(ds.labels == digit)
    idx = idx[:n]
    x = torch.from_numpy(ds.images[idx])[:, None] * 2 - 1  # (n, 1, 8, 8) in [-1, 1]
    return x, torch.from_numpy(ds.labels[idx])


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize("size", [8, 16, 32])
def test_generator_and_discriminator_shapes(size):
    g = DCGANGenerator(latent_dim=6, image_size=size, base_width=4)
    d = DCGANDiscriminator(image_size=size, base_width=4)
    with torch.no_grad():
        x = g(torch.randn(3, 6))
    assert x.shape == (3, 1, size, size)
    assert float(x.abs().max()) <= 1.0  # tanh output
    assert d(x).shape == (3,)
    # 4 * 2**k: one transposed conv per doubling after the 4x4 projection
    n_up = sum(isinstance(m, nn.ConvTranspose2d) for m in g.modules())
    assert n_up == 1 + int(math.log2(size // 4))


def test_conditional_networks_use_the_label():
    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=4, base_width=4, num_classes=10).eval()
    d = DCGANDiscriminator(base_width=4, num_classes=10, norm="none").eval()
    z = torch.randn(1, 4).repeat(2, 1)
    y = torch.tensor([3, 7])
    x = g(z, y)
    assert x.shape == (2, 1, 8, 8)
    assert not torch.allclose(x[0], x[1])  # same noise, different label → different image
    s = d(x[:1].repeat(2, 1, 1, 1), y)
    assert s.shape == (2,) and s[0] != s[1]  # same image, different label → different score


def test_dcgan_init_and_architecture_follow_radford():
    g = DCGANGenerator(latent_dim=8, image_size=16, base_width=8)
    d = DCGANDiscriminator(image_size=16, base_width=8)
    w = torch.cat([m.weight.detach().flatten() for m in g.modules()
                   if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert abs(float(w.std()) - 0.02) < 0.002  # N(0, 0.02), 8,800 weights: se ~ 1.5e-4
    assert isinstance(g.net[-1], nn.Tanh)  # tanh output, no norm before it
    assert not isinstance(g.net[-2], nn.BatchNorm2d)
    # discriminator: LeakyReLU(0.2) everywhere, no norm on its first layer, strided convs
    slopes = {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}
    assert isinstance(d.net[1], nn.LeakyReLU)
    assert [m.stride for m in d.modules() if isinstance(m, nn.Conv2d)] == [
        (1, 1), (2, 2), (2, 2), (1, 1)]
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in d.modules())


# ------------------------------------------------------------------ losses
def test_losses_known_values():
    zero = torch.zeros(5)
    assert float(discriminator_loss(zero, zero)) == pytest.approx(2 * math.log(2), abs=1e-6)
    assert float(generator_loss(zero)) == pytest.approx(math.log(2), abs=1e-6)
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])
    assert float(discriminator_loss(real, fake, method="wgan")) == pytest.approx(-3.0)
    assert float(generator_loss(fake, method="wgan-gp")) == pytest.approx(1.0)
    # a confident, right discriminator has a small loss; the non-saturating G loss is large
    big = torch.full((4,), 8.0)
    assert float(discriminator_loss(big, -big)) < 1e-3
    assert float(generator_loss(-big)) == pytest.approx(8.0, abs=1e-3)


def _critic64():
    torch.manual_seed(1)
    return DCGANDiscriminator(image_size=8, base_width=3, norm="none").double().eval()


def test_gradient_penalty_equals_finite_difference_check():
    critic = _critic64()
    g = torch.Generator().manual_seed(0)
    real = torch.rand(3, 1, 8, 8, generator=g, dtype=torch.float64) * 2 - 1
    fake = torch.rand(3, 1, 8, 8, generator=g, dtype=torch.float64) * 2 - 1
    alpha = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    pen = gradient_penalty(critic, real, fake, alpha=alpha)
    # central differences of D at x̂, pixel by pixel (LeakyReLU is piecewise linear: a
    # 1e-6 step stays on one linear piece except by rare coincidence, so the error is ~eps)
    x_hat = alpha.view(3, 1, 1, 1) * real + (1 - alpha.view(3, 1, 1, 1)) * fake
    eps = 1e-6
    fd = torch.zeros_like(x_hat)
    with torch.no_grad():
        for i in range(x_hat[0].numel()):
            e = torch.zeros(x_hat[0].numel(), dtype=torch.float64)
            e[i] = eps
            e = e.view(1, 1, 8, 8)
            fd.view(3, -1)[:, i] = (critic(x_hat + e) - critic(x_hat - e)) / (2 * eps)
    norms = fd.flatten(1).norm(dim=1)
    expected = 10.0 * ((norms - 1) ** 2).mean()
    assert float(norms.min()) > 0  # a real gradient, not a zero one
    assert pen.item() == pytest.approx(float(expected), rel=1e-6)


def test_gradient_penalty_of_a_linear_critic_is_exact_and_trains_the_critic():
    lin = nn.Linear(64, 1).double()
    with torch.no_grad():
        lin.weight.fill_(0.5)  # ‖∇D‖ = 0.5 * 8 = 4 everywhere
    critic = lambda x: lin(x.flatten(1)).flatten()  # noqa: E731
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    pen = gradient_penalty(critic, x, -x, weight=10.0,
                           generator=torch.Generator().manual_seed(0))
    assert pen.item() == pytest.approx(10.0 * 9.0)
    pen.backward()  # d/dw 10 (‖w‖ - 1)² = 20 (‖w‖ - 1) w / ‖w‖ = 20 * 3 * 0.5 / 4
    assert torch.allclose(lin.weight.grad, torch.full((1, 64), 7.5, dtype=torch.float64))


def test_clip_weights_clamps_every_parameter():
    d = DCGANDiscriminator(base_width=4)
    with torch.no_grad():
        for p in d.parameters():
            p.normal_(0, 0.05)
    before = [p.clone() for p in d.parameters()]
    clip_weights(d, 0.01)
    for b, p in zip(before, d.parameters()):
        assert float(p.detach().abs().max()) <= 0.01
        inside = b.abs() <= 0.01
        assert torch.equal(p[inside], b[inside])
        assert torch.equal(p[~inside], 0.01 * b[~inside].sign())


# ------------------------------------------------------------------ training
def _pair(num_classes=None, norm="batch", seed=0):
    torch.manual_seed(seed)
    g = DCGANGenerator(latent_dim=8, base_width=8, num_classes=num_classes)
    d = DCGANDiscriminator(base_width=8, norm=norm, num_classes=num_classes)
    return g, d


def test_dcgan_moves_samples_toward_a_tiny_fixed_batch():
    x, _ = _digits(16, digit=0)
    g, d = _pair()
    target = x.mean(0)
    gap0 = float((sample_images(g, 64, seed=1).mean(0) - target).abs().mean())
    res = train_gan(g, d, x, steps=60, batch_size=16, seed=0, lr=1e-3)
    gap = float((sample_images(g, 64, seed=1).mean(0) - target).abs().mean())
    assert res.steps == 60 and res.d_losses.shape == (60,)
    assert gap < 0.3 * gap0, (gap0, gap)  # 0.72 → 0.10 at this seed
    assert res.cpu_seconds > 0 and res.wall_seconds > 0


@pytest.mark.parametrize("method,norm", [("wgan", "batch"), ("wgan-gp", "layer")])
def test_wasserstein_critic_learns_to_separate(method, norm):
    x, _ = _digits(16, digit=0)
    g, d = _pair(norm=norm)
    # generator all but frozen (lr 1e-9): the critic alone learns, 5 updates per step
    res = train_gan(g, d, x, method=method, steps=8, batch_size=16, seed=0, lr=1e-9, lr_d=1e-3)
    # its estimate of W(real, fake) grows (wgan: 0.0056 → 0.012; wgan-gp: 0.63 → 6.7)
    assert res.wasserstein[-1] > 1.5 * res.wasserstein[0] > 0
    if method == "wgan":
        assert np.all(np.diff(res.wasserstein) > 0)
        assert max(float(p.detach().abs().max()) for p in d.parameters()) <= 0.01


def test_training_is_deterministic_given_the_seeds():
    x, y = _digits(16)
    runs = []
    for _ in range(2):
        g, d = _pair(num_classes=10)
        res = train_gan(g, d, x, labels=y, steps=5, batch_size=8, seed=3)
        runs.append((res, g, sample_images(g, 4, labels=torch.arange(4), seed=2)))
    (r1, g1, s1), (r2, g2, s2) = runs
    assert np.array_equal(r1.d_losses, r2.d_losses) and np.array_equal(r1.g_losses, r2.g_losses)
    assert all(torch.equal(a, b) for a, b in zip(g1.parameters(), g2.parameters()))
    assert torch.equal(s1, s2)
    g3, d3 = _pair(num_classes=10)
    r3 = train_gan(g3, d3, x, labels=y, steps=5, batch_size=8, seed=4)
    assert not np.array_equal(r1.d_losses, r3.d_losses)
    assert not torch.equal(sample_images(g1, 4, labels=torch.arange(4), seed=2),
                           sample_images(g1, 4, labels=torch.arange(4), seed=5))


def test_wgan_gp_penalty_is_in_the_critic_loss():
    x, _ = _digits(8)
    g, d = _pair(norm="none")
    with_gp = train_gan(g, d, x, method="wgan-gp", steps=1, n_critic=1, batch_size=8, seed=0)
    g, d = _pair(norm="none")
    no_gp = train_gan(g, d, x, method="wgan-gp", steps=1, n_critic=1, batch_size=8, seed=0,
                      gp_weight=0.0)
    # same batch, same critic: the difference is the penalty, positive at initialisation
    # (the critic's gradient norm is far from 1)
    assert with_gp.d_losses[0] > no_gp.d_losses[0] + 1.0


# ------------------------------------------------------------------ errors
def test_errors():
    with pytest.raises(ValueError, match="DCGANGenerator: image_size must be 4"):
        DCGANGenerator(image_size=12)
    with pytest.raises(ValueError, match="DCGANDiscriminator: norm must be one of"):
        DCGANDiscriminator(norm="instance")
    g, d = _pair(num_classes=10)
    with pytest.raises(ValueError, match="DCGANGenerator: the model is conditional"):
        g(torch.zeros(2, 8))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        g(torch.zeros(2, 8), torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="DCGANGenerator: z must be a tensor"):
        g(torch.zeros(2, 7), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="DCGANDiscriminator: input must be a tensor"):
        d(torch.zeros(2, 1, 16, 16), torch.tensor([0, 1]))
    x, y = _digits(8)
    with pytest.raises(ValueError, match="train_gan: images must be finite and lie in"):
        train_gan(g, d, (x + 1) / 2 * 255, labels=y, steps=1)
    with pytest.raises(ValueError, match="train_gan: method must be one of"):
        train_gan(g, d, x, labels=y, method="lsgan")
    with pytest.raises(ValueError, match="train_gan: a gradient-penalty critic must not"):
        train_gan(g, d, x, labels=y, method="wgan-gp", steps=1)
    g2, d2 = _pair()
    with pytest.raises(ValueError, match="train_gan: generator and discriminator must agree"):
        train_gan(g2, d, x, steps=1)
    with pytest.raises(ValueError, match="train_gan: labels were given but"):
        train_gan(g2, d2, x, labels=y, steps=1)
    with pytest.raises(ValueError, match="gradient_penalty: real and fake must have the same"):
        gradient_penalty(d2, x, x[:4])
    with pytest.raises(ValueError, match=r"gradient_penalty: alpha must be a tensor \(8,\)"):
        gradient_penalty(d2, x, x, alpha=torch.full((8,), 2.0))
    with pytest.raises(ValueError, match="clip_weights: clip must be > 0"):
        clip_weights(d2, 0.0)
    with pytest.raises(TypeError, match="sample_images: seed must be"):
        sample_images(g2, 2, seed="a")
