"""VAE, VQ-VAE and diffusion mechanisms (no full training: that is examples/generative.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
# the tests read values (float(...)) of losses that keep their graph for a backward later
pytestmark = pytest.mark.filterwarnings(
    "ignore:Converting a tensor with requires_grad=True to a scalar:UserWarning")
from torch import nn  # noqa: E402

from deep.generative import digits_tensors, image_grid  # noqa: E402
from deep.generative.diffusion import (  # noqa: E402
    Denoiser,
    ddim_sample,
    ddpm_sample,
    diffusion_loss,
    noise_schedule,
    q_sample,
)
from deep.generative.vae import VAE, elbo, vae_loss  # noqa: E402
from deep.generative.vqvae import VQVAE, VectorQuantizer, codebook_usage  # noqa: E402
from deep.models.unet import UNet, sinusoidal_embedding  # noqa: E402


# ----------------------------------------------------------------------- schedules
def test_linear_schedule_endpoints_and_cosine_shape():
    lin = noise_schedule("linear", steps=1000)
    assert float(lin.betas[0]) == pytest.approx(1e-4)
    assert float(lin.betas[-1]) == pytest.approx(0.02)
    torch.testing.assert_close(lin.alpha_bars, torch.cumprod(1 - lin.betas, 0))
    cos = noise_schedule("cosine", steps=200)
    s = 0.008
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    assert float(cos.alpha_bars[99]) == pytest.approx(f(100 / 200) / f(0), rel=1e-9)
    assert bool((cos.alpha_bars[1:] < cos.alpha_bars[:-1]).all())
    assert float(cos.betas.max()) <= 0.999 and cos.steps == 200


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_forward_process_matches_closed_form_statistically(kind):
    """20,000 draws per pixel: q_sample and the step-by-step Markov chain
    x_t = √(1−β_t) x_{t−1} + √β_t z both have mean √ᾱ_t x_0 and variance 1 − ᾱ_t.
    Tolerances: 5 standard errors (mean: √(v/n); variance: v √(2/(n−1)))."""
    sched = noise_schedule(kind, steps=50)
    g = torch.Generator().manual_seed(0)
    x0 = digits_tensors("test").images[:1].double()  # (1, 1, 8, 8)
    n = 20000
    x = x0.expand(n, -1, -1, -1).clone()  # the chain, advanced one step at a time
    for t in range(50):
        b = float(sched.betas[t])
        x = math.sqrt(1 - b) * x + math.sqrt(b) * torch.randn(x.shape, generator=g,
                                                              dtype=x.dtype)
        if t not in (0, 10, 49):
            continue
        ab = float(sched.alpha_bars[t])
        mean, var = math.sqrt(ab) * x0[0], 1 - ab
        closed = q_sample(sched, x0.expand(n, -1, -1, -1), torch.full((n,), t),
                          generator=g)
        for sample in (closed, x):
            se_mean = math.sqrt(var / n)
            assert float((sample.mean(0) - mean).abs().max()) < 5 * se_mean
            se_var = var * math.sqrt(2 / (n - 1))
            assert float((sample.var(0) - var).abs().max()) < 5 * se_var


class _Oracle(nn.Module):
    """The exact ε-predictor when the data is one image x*: ε = (x_t − √ᾱ_t x*)/√(1−ᾱ_t)."""

    num_labels = 10

    def __init__(self, schedule, target):
        super().__init__()
        self.abar, self.target = schedule.alpha_bars, target

    def forward(self, x, t, labels=None):
        ab = self.abar[t].float().view(-1, 1, 1, 1)
        return (x - ab.sqrt() * self.target) / (1 - ab).sqrt()


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_samplers_recover_the_single_data_point_with_the_exact_denoiser(kind):
    sched = noise_schedule(kind, steps=100)
    target = digits_tensors("test").images[:1]
    oracle = _Oracle(sched, target)
    g = torch.Generator().manual_seed(1)
    for res in (ddpm_sample(oracle, sched, 6, keep_every=25, generator=g),
                ddim_sample(oracle, sched, 6, steps=10, generator=g),
                ddim_sample(oracle, sched, 6, steps=10, eta=1.0, generator=g),
                ddim_sample(oracle, sched, 6, steps=10, labels=torch.arange(6),
                            guidance=2.0, generator=g)):
        torch.testing.assert_close(res.images, target.expand(6, -1, -1, -1), atol=1e-4,
                                   rtol=0)
    traj = ddpm_sample(oracle, sched, 2, keep_every=25, generator=g)
    assert traj.trajectory.shape == (5, 2, 1, 8, 8) and traj.timesteps == (99, 74, 49, 24, -1)
    # the first kept state is pure noise: unit variance, far from the target
    assert float(traj.trajectory[0].std()) > 0.7


def test_ddim_is_deterministic_given_the_start_and_uses_fewer_steps():
    sched = noise_schedule("linear", steps=100)
    calls = []

    class Counting(_Oracle):
        def forward(self, x, t, labels=None):
            calls.append(int(t[0]))
            return torch.zeros_like(x)

    m = Counting(sched, torch.zeros(1, 1, 8, 8))
    a = ddim_sample(m, sched, 3, steps=10, generator=torch.Generator().manual_seed(0))
    assert len(calls) == 10 and calls[0] == 99 and calls[-1] == 0
    b = ddim_sample(m, sched, 3, steps=10, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a.images, b.images)


def test_denoiser_conditioning_and_loss_decreases():
    torch.manual_seed(0)
    model = Denoiser(widths=(8, 16), num_labels=10, embed_dim=16, groups=4)
    x = torch.randn(4, 1, 8, 8)
    t = torch.tensor([0, 5, 50, 99])
    assert float(model(x, t).detach().abs().max()) == 0.0  # zero-initialised head: ε̂ = 0 at start
    nn.init.normal_(model.unet.head.weight)
    out_a = model(x, t, torch.tensor([1, 2, 3, 4]))
    out_b = model(x, t, torch.tensor([5, 6, 7, 8]))
    out_c = model(x, t + 1, torch.tensor([1, 2, 3, 4]))
    assert float((out_a - out_b).detach().abs().max()) > 1e-4
    assert float((out_a - out_c).detach().abs().max()) > 1e-4
    sched = noise_schedule("cosine", steps=100)
    data = digits_tensors("train")
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = diffusion_loss(model, sched, data.images[:32], data.labels[:32],
                              drop_label=0.2, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:5])


def test_sinusoidal_embedding_values():
    e = sinusoidal_embedding(torch.tensor([0.0, 1.0, 3.0]), 8, max_period=10000.0)
    assert e.shape == (3, 8)
    torch.testing.assert_close(e[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    freqs = 10000.0 ** (-torch.arange(4) / 4)
    torch.testing.assert_close(e[2], torch.cat([torch.sin(3 * freqs), torch.cos(3 * freqs)]))


def test_unet_cond_dim_changes_output_only_through_cond():
    torch.manual_seed(0)
    net = UNet(in_chans=1, num_classes=2, widths=(4, 8, 16), cond_dim=6, norm_layer=None)
    x = torch.randn(2, 1, 12, 12)
    c = torch.randn(2, 6)
    y = net(x, c)
    assert y.shape == (2, 2, 12, 12)
    for lin in [*net.enc_cond, *net.dec_cond]:  # zero projections: the plain U-Net
        nn.init.zeros_(lin.weight)
        nn.init.zeros_(lin.bias)
    plain = UNet(in_chans=1, num_classes=2, widths=(4, 8, 16), norm_layer=None)
    plain.load_state_dict({k: v for k, v in net.state_dict().items()
                           if not k.startswith(("enc_cond", "dec_cond"))})
    torch.testing.assert_close(net(x, c), plain(x))
    with pytest.raises(ValueError, match="UNet: cond must be a \\(2, 6\\) tensor"):
        net(x)
    with pytest.raises(ValueError, match="UNet: cond given to a model built without cond_dim"):
        plain(x, c)
    with pytest.raises(ValueError, match="UNet: cond_dim must be a positive int"):
        UNet(widths=(4, 8), cond_dim=0)


# ------------------------------------------------------------------------------ VAE
def test_vae_terms_known_answers():
    torch.manual_seed(0)
    vae = VAE(latent_dim=3, hidden=16)
    x = digits_tensors("test").images[:5]
    for p in vae.encoder[-1].parameters():  # q(z|x) = N(0, I): KL = 0
        nn.init.zeros_(p)
    with torch.no_grad():  # values only
        terms = vae_loss(vae, x, generator=torch.Generator().manual_seed(0))
    assert float(terms.kl) == pytest.approx(0.0, abs=1e-7)
    # log-likelihood equals torch.distributions.Normal's log-density at the same z
    with torch.no_grad():
        z = VAE.reparameterize(*vae.encode(x), generator=torch.Generator().manual_seed(0))
        ref = torch.distributions.Normal(vae.decode(z), vae.scale).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(terms.log_likelihood, ref.mean())
    torch.testing.assert_close(terms.elbo, terms.log_likelihood - terms.kl)
    # closed-form KL against a Monte-Carlo estimate for a non-trivial posterior
    mu, logvar = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[0.2, -0.5, 0.1]])
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    kl_ref = torch.distributions.kl_divergence(q, p).sum()
    assert float(0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum()) == pytest.approx(
        float(kl_ref), rel=1e-6)


def test_reparameterisation_passes_gradients_and_beta_weights_kl():
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.zeros(4, 2, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    z = VAE.reparameterize(mu, logvar, generator=g)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones(4, 2))  # ∂z/∂μ = 1
    eps = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(logvar.grad, 0.5 * eps)  # ∂z/∂logσ² = ε σ / 2
    torch.manual_seed(0)
    vae = VAE(latent_dim=2, hidden=8)
    x = digits_tensors("test").images[:8]
    t1 = vae_loss(vae, x, beta=1.0, generator=torch.Generator().manual_seed(3))
    t3 = vae_loss(vae, x, beta=3.0, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(t3.loss - t1.loss, 2.0 * t1.kl)
    assert elbo(vae, x, samples=4).elbo.shape == ()


# --------------------------------------------------------------------------- VQ-VAE
def test_straight_through_gradient_and_commitment():
    vq = VectorQuantizer(4, 2, data_init=False)
    vq.codebook.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    vq.eval()  # no codebook update
    z = torch.tensor([[[[0.1, 0.9]], [[0.2, 0.8]]]], requires_grad=True)  # (1, 2, 1, 2)
    out = vq(z)
    assert out.codes.tolist() == [[[0, 3]]]
    torch.testing.assert_close(out.quantized.detach(),
                               torch.tensor([[[[0.0, 1.0]], [[0.0, 1.0]]]]))
    w = torch.randn(1, 2, 1, 2)
    (out.quantized * w).sum().backward()
    torch.testing.assert_close(z.grad, w)  # ∂z_q/∂z_e = I
    assert float(out.commitment) == pytest.approx((0.01 + 0.04 + 0.01 + 0.04) / 4)
    assert float(out.perplexity) == pytest.approx(2.0)


def test_ema_update_moves_codes_to_cluster_means():
    vq = VectorQuantizer(2, 1, decay=0.0, eps=1e-12, data_init=False)
    vq.codebook.copy_(torch.tensor([[0.0], [10.0]]))
    vq.train()
    z = torch.tensor([1.0, 2.0, 9.0, 13.0, 11.0]).view(1, 1, 1, 5)
    vq(z)
    torch.testing.assert_close(vq.codebook, torch.tensor([[1.5], [11.0]]))
    vq2 = VectorQuantizer(2, 1, decay=0.5, eps=1e-12, data_init=False)
    vq2.codebook.copy_(torch.tensor([[0.0], [10.0]]))
    vq2.embed_sum.copy_(vq2.codebook)
    vq2.cluster_size.fill_(1.0)
    vq2.train()
    vq2(z)  # N = 0.5·1 + 0.5·(2, 3); m = 0.5·(0, 10) + 0.5·(3, 33)
    torch.testing.assert_close(vq2.codebook, torch.tensor([[1.5 / 1.5], [21.5 / 2.0]]))


def test_vqvae_data_init_uses_many_codes_and_trains():
    torch.manual_seed(0)
    model = VQVAE(hidden=16, num_codes=32, code_dim=4)
    x = digits_tensors("train").images[:64]
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    first = None
    for _ in range(30):
        recon, q = model(x)
        loss = (recon - x).pow(2).mean() + 0.25 * q.commitment
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.8 * first
    model.eval()
    usage = codebook_usage(model, x)
    assert usage.used >= 4 and usage.perplexity > 2.0 and int(usage.counts.sum()) == 64 * 16
    assert model.decode_codes(model.encode(x[:2])).shape == (2, 1, 8, 8)


def test_errors():
    sched = noise_schedule("linear", steps=10)
    with pytest.raises(ValueError, match="noise_schedule: kind must be"):
        noise_schedule("quadratic")
    with pytest.raises(ValueError, match="noise_schedule: steps must be an int >= 2"):
        noise_schedule("linear", steps=1)
    with pytest.raises(ValueError, match="q_sample: t must be \\(2,\\) ints in \\[0, 10\\)"):
        q_sample(sched, torch.zeros(2, 1, 8, 8), torch.tensor([0, 10]))
    with pytest.raises(TypeError, match="q_sample: schedule must be a NoiseSchedule"):
        q_sample(None, torch.zeros(2, 1, 8, 8), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="ddim_sample: steps must be an int in \\[1, 10\\]"):
        ddim_sample(_Oracle(sched, torch.zeros(1)), sched, 2, steps=11)
    with pytest.raises(ValueError, match="ddpm_sample: labels must be \\(2,\\) ints"):
        ddpm_sample(_Oracle(sched, torch.zeros(1)), sched, 2, labels=[1, 2, 3])
    with pytest.raises(ValueError, match="ddpm_sample: n must be a positive int"):
        ddpm_sample(_Oracle(sched, torch.zeros(1)), sched, 0)
    with pytest.raises(ValueError, match="Denoiser: labels given to an unconditional"):
        Denoiser(widths=(8, 16), num_labels=0, embed_dim=8, groups=4)(
            torch.zeros(1, 1, 8, 8), torch.zeros(1, dtype=torch.long), torch.zeros(1))
    with pytest.raises(ValueError, match="sinusoidal_embedding: dim must be an even int"):
        sinusoidal_embedding(torch.zeros(2), 5)
    with pytest.raises(ValueError, match="VAE: x must be \\(B, 1, 8, 8\\)"):
        VAE().encode(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match="vae_loss: beta must be a finite number >= 0"):
        vae_loss(VAE(), torch.zeros(2, 1, 8, 8), beta=-1.0)
    with pytest.raises(ValueError, match="VectorQuantizer: decay must be in \\[0, 1\\)"):
        VectorQuantizer(4, 2, decay=1.0)
    with pytest.raises(ValueError, match="VQVAE: x must be \\(B, 1, H, W\\) with even H"):
        VQVAE()(torch.zeros(1, 1, 7, 7))
    with pytest.raises(ValueError, match="image_grid: ncols must be a positive int"):
        image_grid(np.zeros((2, 8, 8)), ncols=0)
