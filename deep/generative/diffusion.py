"""Denoising diffusion (DDPM, Ho et al. 2020) with DDIM sampling (Song et al. 2021).

The forward process adds Gaussian noise in ``T`` steps with variances ``β_t``; with
``ᾱ_t = Π_{s≤t} (1 − β_s)`` it has the closed form

    q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),

so training draws ``t`` and ``ε`` and regresses ``ε`` from ``x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε``
(the "simple" loss). Time steps are 0-based here: ``t = 0 … T−1`` with ``ᾱ_0 = 1 − β_0``.
The denoiser is the U-Net of :mod:`deep.models.unet` conditioned (``cond_dim``) on a
sinusoidal time embedding plus a label embedding; a "null" label, used for a fraction
of training examples, gives classifier-free guidance at sampling time.

Public names: :class:`NoiseSchedule`, :func:`noise_schedule`, :func:`q_sample`,
:class:`Denoiser`, :func:`diffusion_loss`, :class:`Samples`, :func:`ddpm_sample`,
:func:`ddim_sample`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import describe
from deep.models.unet import UNet, sinusoidal_embedding

__all__ = ["Denoiser", "NoiseSchedule", "Samples", "ddim_sample", "ddpm_sample",
           "diffusion_loss", "noise_schedule", "q_sample"]


@dataclass(frozen=True)
class NoiseSchedule:
    """Variances of a diffusion's forward process, float64, each of shape (T,).

    Attributes
    ----------
    kind : {"linear", "cosine"}
    betas : Tensor
        ``β_t``.
    alpha_bars : Tensor
        ``ᾱ_t = Π_{s≤t} (1 − β_s)``, decreasing from ``1 − β_0`` towards 0.
    """

    kind: str
    betas: torch.Tensor
    alpha_bars: torch.Tensor

    @property
    def steps(self) -> int:
        return int(self.betas.shape[0])


def noise_schedule(kind: Literal["linear", "cosine"] = "linear", *, steps: int = 1000,
                   ) -> NoiseSchedule:
    """The linear (Ho et al.) or cosine (Nichol & Dhariwal) schedule of ``steps`` steps.

    Linear: ``β_t`` evenly from ``1e-4 · 1000/T`` to ``0.02 · 1000/T`` (the paper's
    ``T = 1000`` values, rescaled so that a shorter chain ends as noisy). Cosine:
    ``ᾱ(t) = f(t) / f(0)`` with ``f(t) = cos²(π/2 · (t/T + s)/(1 + s))``, ``s = 0.008``,
    ``β_t = 1 − ᾱ_t / ᾱ_{t−1}`` clipped to at most 0.999.

    References
    ----------
    J. Ho, A. Jain and P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS
    2020, arXiv:2006.11239. A. Nichol and P. Dhariwal, "Improved Denoising Diffusion
    Probabilistic Models", ICML 2021, arXiv:2102.09672.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"noise_schedule: steps must be an int >= 2, got {describe(steps)}")
    if kind == "linear":
        scale = 1000.0 / steps
        betas = torch.linspace(1e-4 * scale, min(0.02 * scale, 0.999), steps,
                               dtype=torch.float64)
    elif kind == "cosine":
        s = 0.008
        u = torch.arange(steps + 1, dtype=torch.float64) / steps
        f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
        abar = f / f[0]  # ᾱ at 0, 1/T, ..., 1
        betas = (1 - abar[1:] / abar[:-1]).clamp(max=0.999)
    else:
        raise ValueError(f"noise_schedule: kind must be 'linear' or 'cosine', got "
                         f"{describe(kind)}")
    return NoiseSchedule(kind=kind, betas=betas, alpha_bars=torch.cumprod(1 - betas, 0))


def _check_schedule(schedule, func: str) -> NoiseSchedule:
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"{func}: schedule must be a NoiseSchedule (see noise_schedule), got "
                        f"{describe(schedule)}")
    return schedule


def _gather(values: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``values[t]`` shaped ``(B, 1, 1, 1)`` in ``x``'s dtype and device."""
    return values.to(x.device)[t].to(x.dtype).view(-1, *([1] * (x.ndim - 1)))


def q_sample(schedule: NoiseSchedule, x0: torch.Tensor, t: torch.Tensor,
             noise: torch.Tensor | None = None, *, generator: torch.Generator | None = None
             ) -> torch.Tensor:
    """Draw ``x_t ~ q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I)`` in one step.

    Parameters
    ----------
    schedule : NoiseSchedule
    x0 : Tensor of shape (B, ...)
    t : Tensor of shape (B,), int64 in [0, T)
    noise : Tensor like x0, optional
        ``ε``; drawn from ``generator`` when None.

    Returns
    -------
    Tensor like x0: ``√ᾱ_t x_0 + √(1 − ᾱ_t) ε``.
    """
    schedule = _check_schedule(schedule, "q_sample")
    if not isinstance(x0, torch.Tensor) or x0.ndim < 2:
        raise ValueError(f"q_sample: x0 must be a (B, ...) tensor, got {describe(x0)}")
    if (not isinstance(t, torch.Tensor) or t.shape != (x0.shape[0],)
            or t.dtype.is_floating_point or (t.numel() and (
                int(t.min()) < 0 or int(t.max()) >= schedule.steps))):
        raise ValueError(f"q_sample: t must be ({x0.shape[0]},) ints in [0, "
                         f"{schedule.steps}), got {describe(t)}")
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    elif noise.shape != x0.shape:
        raise ValueError(f"q_sample: noise must have x0's shape {tuple(x0.shape)}, got "
                         f"{describe(noise)}")
    abar = _gather(schedule.alpha_bars, t, x0)
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


class Denoiser(nn.Module):
    """ε-prediction network: a conditional U-Net on (noisy image, time, label).

    Parameters
    ----------
    in_chans : int
    widths : sequence of int
        U-Net widths (``len(widths) - 1`` poolings); ``(32, 64, 128)`` for 8x8 digits.
    num_labels : int
        Classes of the label embedding; 0 for an unconditional model. Label
        ``num_labels`` is the "null" label (no class), used for classifier-free guidance.
    embed_dim : int
        Width of the time and label embeddings (summed, then fed to every double
        convolution of the U-Net).
    groups : int
        Group-norm groups after each convolution.

    Notes
    -----
    ``forward(x_t, t, labels=None)``: ``x_t`` ``(B, C, H, W)``, ``t`` ``(B,)``, ``labels``
    ``(B,)`` in ``0 … num_labels`` (``num_labels`` meaning none; None means all none) →
    predicted noise ``(B, C, H, W)``.
    """

    def __init__(self, *, in_chans: int = 1, widths=(32, 64, 128), num_labels: int = 10,
                 embed_dim: int = 128, groups: int = 8):
        super().__init__()
        if isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 0:
            raise ValueError(f"Denoiser: num_labels must be an int >= 0, got "
                             f"{describe(num_labels)}")
        if isinstance(embed_dim, bool) or not isinstance(embed_dim, int) or embed_dim < 2 \
                or embed_dim % 2:
            raise ValueError(f"Denoiser: embed_dim must be an even int >= 2, got "
                             f"{describe(embed_dim)}")
        self.in_chans = int(in_chans)
        self.num_labels = num_labels
        self.embed_dim = embed_dim
        self.time_mlp = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.SiLU(),
                                      nn.Linear(embed_dim, embed_dim))
        self.label_embed = nn.Embedding(num_labels + 1, embed_dim) if num_labels else None
        self.unet = UNet(in_chans=in_chans, num_classes=in_chans, widths=tuple(widths),
                         norm_layer=lambda c: nn.GroupNorm(min(groups, c), c),
                         upsample="nearest", cond_dim=embed_dim)
        nn.init.zeros_(self.unet.head.weight)
        nn.init.zeros_(self.unet.head.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None
                ) -> torch.Tensor:
        if not isinstance(t, torch.Tensor) or t.ndim != 1 or not isinstance(
                x, torch.Tensor) or t.shape[0] != x.shape[0]:
            raise ValueError(f"Denoiser: t must be a (B,) tensor matching x's batch, got t "
                             f"{describe(t)} for x {describe(x)}")
        cond = self.time_mlp(sinusoidal_embedding(t, self.embed_dim))  # (B, E)
        if self.label_embed is not None:
            if labels is None:
                labels = torch.full_like(t, self.num_labels, dtype=torch.long)
            elif (not isinstance(labels, torch.Tensor) or labels.shape != t.shape
                  or labels.dtype.is_floating_point):
                raise ValueError(f"Denoiser: labels must be ({t.shape[0]},) ints, got "
                                 f"{describe(labels)}")
            cond = cond + self.label_embed(labels.long())  # (B, E)
        elif labels is not None:
            raise ValueError("Denoiser: labels given to an unconditional model (num_labels=0)")
        return self.unet(x, cond)  # (B, C, H, W)


def diffusion_loss(model: nn.Module, schedule: NoiseSchedule, x0: torch.Tensor,
                   labels: torch.Tensor | None = None, *, drop_label: float = 0.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Ho et al.'s simple loss ``E_{t, ε} ||ε − ε_θ(x_t, t, y)||²`` (mean over elements).

    ``t`` is uniform on ``0 … T−1``; with ``labels`` a fraction ``drop_label`` of them is
    replaced by the null label (``model.num_labels``) so one network learns both the
    conditional and the unconditional model (classifier-free guidance).
    """
    schedule = _check_schedule(schedule, "diffusion_loss")
    if not 0.0 <= drop_label < 1.0:
        raise ValueError(f"diffusion_loss: drop_label must be in [0, 1), got "
                         f"{describe(drop_label)}")
    b = x0.shape[0]
    t = torch.randint(0, schedule.steps, (b,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    xt = q_sample(schedule, x0, t, noise)
    if labels is not None and drop_label > 0:
        drop = torch.rand(b, generator=generator) < drop_label
        labels = torch.where(drop, torch.full_like(labels, model.num_labels), labels)
    return F.mse_loss(model(xt, t, labels), noise)


@dataclass(frozen=True)
class Samples:
    """Generated images and, optionally, the chain that produced them.

    Attributes
    ----------
    images : Tensor of shape (N, C, H, W)
        Final samples, clipped to [-1, 1].
    trajectory : Tensor of shape (S, N, C, H, W) or None
        The chain's states ``x_t`` at ``timesteps`` (noisiest first), then the result.
    timesteps : tuple of int
        The time step of each trajectory entry (``-1`` for the final images).
    """

    images: torch.Tensor
    trajectory: torch.Tensor | None
    timesteps: tuple[int, ...]


def _eps(model, x, t_int: int, labels, guidance: float) -> torch.Tensor:
    t = torch.full((x.shape[0],), t_int, dtype=torch.long)
    if labels is None or guidance == 0.0:
        return model(x, t, labels)
    null = torch.full_like(labels, model.num_labels)
    both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, null]))
    cond, uncond = both.chunk(2)
    return uncond + (1.0 + guidance) * (cond - uncond)  # (1 + w) ε(y) − w ε(∅)


def _start(n, shape, labels, func, generator):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{func}: n must be a positive int, got {describe(n)}")
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.long)
        if labels.shape != (n,):
            raise ValueError(f"{func}: labels must be ({n},) ints, got {describe(labels)}")
    return torch.randn((n, *shape), generator=generator), labels


def _keep(keep_every: int, steps: list[int]) -> set[int]:
    return {s for i, s in enumerate(steps) if keep_every and i % keep_every == 0}


@torch.no_grad()
def ddpm_sample(model: nn.Module, schedule: NoiseSchedule, n: int, *,
                shape: tuple[int, ...] = (1, 8, 8), labels=None, guidance: float = 0.0,
                keep_every: int = 0, generator: torch.Generator | None = None) -> Samples:
    """Ancestral sampling: ``T`` steps of ``p_θ(x_{t−1} | x_t)``, from ``x_T ~ N(0, I)``.

    Each step predicts ``x̂_0 = (x_t − √(1−ᾱ_t) ε_θ) / √ᾱ_t``, clips it to [-1, 1], and draws
    from the true posterior ``q(x_{t−1} | x_t, x̂_0) = N(μ̃_t, β̃_t I)`` with
    ``μ̃_t = √ᾱ_{t−1} β_t / (1−ᾱ_t) x̂_0 + √α_t (1−ᾱ_{t−1}) / (1−ᾱ_t) x_t`` and
    ``β̃_t = (1−ᾱ_{t−1}) / (1−ᾱ_t) β_t`` (no noise at the last step). Without the
    clipping this is Ho et al.'s ``x_{t−1} = (x_t − β_t/√(1−ᾱ_t) ε_θ) / √α_t + σ_t z``.

    Parameters
    ----------
    model : Denoiser
    schedule : NoiseSchedule
    n : int
        Number of samples.
    shape : tuple
        ``(C, H, W)`` of one sample.
    labels : Tensor of shape (n,), optional
        Classes to generate (a conditional model); None for unconditional samples.
    guidance : float
        Classifier-free guidance weight ``w >= 0`` (0: plain conditional sampling).
    keep_every : int
        Keep every ``keep_every``-th state in ``Samples.trajectory`` (0: none).
    generator : torch.Generator, optional
    """
    schedule = _check_schedule(schedule, "ddpm_sample")
    x, labels = _start(n, shape, labels, "ddpm_sample", generator)
    model.eval()
    betas, abar = schedule.betas, schedule.alpha_bars
    steps = list(range(schedule.steps - 1, -1, -1))
    keep, traj, kept = _keep(keep_every, steps), [], []
    for t in steps:
        if t in keep:
            traj.append(x.clone())
            kept.append(t)
        eps = _eps(model, x, t, labels, guidance)
        ab, ab_prev = float(abar[t]), float(abar[t - 1]) if t > 0 else 1.0
        beta = float(betas[t])
        x0 = ((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)).clamp(-1, 1)
        mean = (math.sqrt(ab_prev) * beta / (1 - ab)) * x0 + (
            math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab)) * x
        if t > 0:
            var = (1 - ab_prev) / (1 - ab) * beta
            x = mean + math.sqrt(var) * torch.randn(x.shape, generator=generator)
        else:
            x = mean
    x = x.clamp(-1, 1)
    return Samples(images=x, trajectory=torch.stack(traj + [x]) if keep_every else None,
                   timesteps=tuple(kept + [-1]))


@torch.no_grad()
def ddim_sample(model: nn.Module, schedule: NoiseSchedule, n: int, *, steps: int = 20,
                eta: float = 0.0, shape: tuple[int, ...] = (1, 8, 8), labels=None,
                guidance: float = 0.0, keep_every: int = 0,
                generator: torch.Generator | None = None) -> Samples:
    """DDIM: the same trained model, sampled on ``steps`` evenly spaced time steps.

    With ``τ`` the sub-sequence and ``x̂_0`` as in :func:`ddpm_sample`,
    ``x_{τ_{i−1}} = √ᾱ_{τ_{i−1}} x̂_0 + √(1 − ᾱ_{τ_{i−1}} − σ²) ε̂ + σ z``, where
    ``ε̂ = (x_t − √ᾱ_t x̂_0) / √(1−ᾱ_t)`` and
    ``σ = η √((1−ᾱ_{τ_{i−1}})/(1−ᾱ_{τ_i})) √(1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}})``; ``η = 0`` is the
    deterministic DDIM, ``η = 1`` DDPM-like. Other parameters as :func:`ddpm_sample`.

    References
    ----------
    J. Song, C. Meng and S. Ermon, "Denoising Diffusion Implicit Models", ICLR 2021,
    arXiv:2010.02502.
    """
    schedule = _check_schedule(schedule, "ddim_sample")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= schedule.steps:
        raise ValueError(f"ddim_sample: steps must be an int in [1, {schedule.steps}], got "
                         f"{describe(steps)}")
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"ddim_sample: eta must be in [0, 1], got {describe(eta)}")
    x, labels = _start(n, shape, labels, "ddim_sample", generator)
    model.eval()
    abar = schedule.alpha_bars
    taus = sorted({round(v) for v in torch.linspace(0, schedule.steps - 1, steps).tolist()},
                  reverse=True)
    keep, traj, kept = _keep(keep_every, taus), [], []
    for i, t in enumerate(taus):
        if t in keep:
            traj.append(x.clone())
            kept.append(t)
        eps = _eps(model, x, t, labels, guidance)
        ab = float(abar[t])
        ab_prev = float(abar[taus[i + 1]]) if i + 1 < len(taus) else 1.0
        x0 = ((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)).clamp(-1, 1)
        eps = (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)  # consistent with clipped x̂_0
        sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        x = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * torch.randn(x.shape, generator=generator)
    x = x.clamp(-1, 1)
    return Samples(images=x, trajectory=torch.stack(traj + [x]) if keep_every else None,
                   timesteps=tuple(kept + [-1]))
