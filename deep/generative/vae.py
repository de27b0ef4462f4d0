"""Variational auto-encoder (Kingma & Welling, 2014) with a β-weighted ELBO.

Model: ``q_φ(z | x) = N(μ_φ(x), diag σ²_φ(x))``, prior ``p(z) = N(0, I)``, decoder
``p_θ(x | z) = N(m_θ(z), diag s²)`` with a learned per-pixel scale ``s = s_min +
softplus(ρ)``. The floor ``s_min`` (default 1/16, half a grey level of the 8x8 digits in
[-1, 1]) keeps the density of always-background pixels finite. The evidence lower bound

    ELBO(x) = E_q[log p_θ(x | z)] − KL(q_φ(z | x) || p(z)) ≤ log p_θ(x)

is estimated with reparameterised samples ``z = μ + σ ⊙ ε``, ``ε ~ N(0, I)``; training
maximises ``E_q[log p_θ(x | z)] − β KL`` (β = 1 is the ELBO; Higgins et al.'s β-VAE).

Public names: :class:`VAE`, :class:`ELBOTerms`, :func:`vae_loss`, :func:`elbo`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import describe

__all__ = ["ELBOTerms", "VAE", "elbo", "vae_loss"]


class VAE(nn.Module):
    """A fully connected VAE on small images.

    Parameters
    ----------
    image_size : int
        Side ``H = W`` of the inputs (8 for the digits).
    in_chans : int
    latent_dim : int
    hidden : int
        Width of the two hidden layers of the encoder and of the decoder.
    min_scale : float
        ``s_min``, the floor of the decoder's per-pixel standard deviation.

    Notes
    -----
    ``encode(x) → (μ, log σ²)`` each ``(B, latent_dim)``; ``reparameterize(μ, log σ²)``;
    ``decode(z) → m_θ(z)`` ``(B, C, H, W)``; ``scale`` is ``s`` ``(1, C, H, W)``.
    """

    def __init__(self, *, image_size: int = 8, in_chans: int = 1, latent_dim: int = 8,
                 hidden: int = 256, min_scale: float = 1.0 / 16):
        super().__init__()
        for name, v in (("image_size", image_size), ("in_chans", in_chans),
                        ("latent_dim", latent_dim), ("hidden", hidden)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"VAE: {name} must be a positive int, got {describe(v)}")
        if not (isinstance(min_scale, (int, float)) and min_scale > 0):
            raise ValueError(f"VAE: min_scale must be a positive number, got "
                             f"{describe(min_scale)}")
        self.shape = (in_chans, image_size, image_size)
        self.latent_dim = latent_dim
        self.min_scale = float(min_scale)
        d = in_chans * image_size * image_size
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(d, hidden), nn.SiLU(),
                                     nn.Linear(hidden, hidden), nn.SiLU(),
                                     nn.Linear(hidden, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.SiLU(),
                                     nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, d))
        self.raw_scale = nn.Parameter(torch.zeros(1, *self.shape))

    @property
    def scale(self) -> torch.Tensor:
        return self.min_scale + F.softplus(self.raw_scale)  # (1, C, H, W)

    def _check(self, x) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"VAE: x must be (B, {', '.join(map(str, self.shape))}), got "
                             f"{describe(x)}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``(B, C, H, W)`` → ``(μ, log σ²)``, each ``(B, latent_dim)``."""
        self._check(x)
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, *,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """``z = μ + exp(log σ² / 2) ⊙ ε`` with ``ε ~ N(0, I)``: differentiable in μ, σ."""
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(B, latent_dim)`` → decoder means ``(B, C, H, W)``."""
        return self.decoder(z).view(z.shape[0], *self.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction: the decoder mean at the posterior mean, ``(B, C, H, W)``."""
        return self.decode(self.encode(x)[0])

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decoder means of ``n`` prior draws ``z ~ N(0, I)``, ``(n, C, H, W)``."""
        return self.decode(torch.randn((n, self.latent_dim), generator=generator))


@dataclass(frozen=True)
class ELBOTerms:
    """Batch means, in nats per image.

    Attributes
    ----------
    loss : Tensor (scalar)
        ``−(log-likelihood − β KL)``, to minimise.
    log_likelihood : Tensor
        Monte-Carlo ``E_q[log p_θ(x | z)]``.
    kl : Tensor
        ``KL(q_φ(z | x) || N(0, I))`` in closed form.
    elbo : Tensor
        ``log_likelihood − kl`` (β = 1).
    """

    loss: torch.Tensor
    log_likelihood: torch.Tensor
    kl: torch.Tensor
    elbo: torch.Tensor


def vae_loss(model: VAE, x: torch.Tensor, *, beta: float = 1.0, samples: int = 1,
             generator: torch.Generator | None = None) -> ELBOTerms:
    """The negative β-ELBO of a batch and its terms.

    ``KL = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1)``; the log-likelihood of the Gaussian decoder
    ``Σ_i [−(x_i − m_i)² / (2 s_i²) − log s_i − ½ log 2π]`` is averaged over ``samples``
    reparameterised draws of ``z``.
    """
    if not isinstance(model, VAE):
        raise TypeError(f"vae_loss: model must be a VAE, got {describe(model)}")
    if not (isinstance(beta, (int, float)) and beta >= 0 and math.isfinite(beta)):
        raise ValueError(f"vae_loss: beta must be a finite number >= 0, got {describe(beta)}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"vae_loss: samples must be a positive int, got {describe(samples)}")
    mu, logvar = model.encode(x)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)  # (B,)
    s = model.scale
    ll = 0.0
    for _ in range(samples):
        m = model.decode(VAE.reparameterize(mu, logvar, generator=generator))
        ll = ll + (-0.5 * ((x - m) / s).pow(2) - s.log() - 0.5 * math.log(2 * math.pi)
                   ).flatten(1).sum(1)  # (B,)
    ll = ll / samples
    return ELBOTerms(loss=(-(ll - beta * kl)).mean(), log_likelihood=ll.mean(),
                     kl=kl.mean(), elbo=(ll - kl).mean())


@torch.no_grad()
def elbo(model: VAE, x: torch.Tensor, *, samples: int = 16,
         generator: torch.Generator | None = None) -> ELBOTerms:
    """The ELBO (β = 1) of ``x`` under ``model`` in eval mode, ``samples`` draws each."""
    model.eval()
    return vae_loss(model, x, beta=1.0, samples=samples, generator=generator)
