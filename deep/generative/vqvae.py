"""VQ-VAE (van den Oord, Vinyals and Kavukcuoglu, 2017) with an EMA codebook.

The encoder's map ``z_e`` ``(B, D, h, w)`` is quantised, position by position, to its
nearest code ``e_k`` of a codebook ``(K, D)``. The gradient skips the non-differentiable
look-up (straight-through: ``z_q = z_e + sg(e_k − z_e)``, so ``∂z_q/∂z_e = I``). The loss is

    ||x − dec(z_q)||² + β ||z_e − sg(e_k)||²

(reconstruction + commitment); instead of the codebook loss ``||sg(z_e) − e_k||²`` the
codes follow exponential moving averages of the encoder outputs assigned to them
(the paper's appendix): ``N_k ← γ N_k + (1 − γ) n_k``, ``m_k ← γ m_k + (1 − γ) Σ_{z→k} z``,
``e_k = m_k / N̂_k`` with Laplace-smoothed counts ``N̂``.

Public names: :class:`VectorQuantizer`, :class:`Quantized`, :class:`VQVAE`,
:func:`codebook_usage` / :class:`CodebookUsage`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import describe

__all__ = ["CodebookUsage", "Quantized", "VQVAE", "VectorQuantizer", "codebook_usage"]


@dataclass(frozen=True)
class Quantized:
    """Output of :class:`VectorQuantizer`.

    Attributes
    ----------
    quantized : Tensor (B, D, h, w)
        ``z_q`` with the straight-through gradient to ``z_e``.
    codes : Tensor (B, h, w), int64
        Index of the nearest code at each position.
    commitment : Tensor (scalar)
        ``mean ||z_e − sg(z_q)||²`` (per element; multiply by β).
    perplexity : Tensor (scalar)
        ``exp(−Σ_k p_k log p_k)`` of the batch's code frequencies ``p_k`` (1: one code;
        K: all codes equally used).
    """

    quantized: torch.Tensor
    codes: torch.Tensor
    commitment: torch.Tensor
    perplexity: torch.Tensor


def _perplexity(codes: torch.Tensor, num_codes: int) -> torch.Tensor:
    p = torch.bincount(codes.flatten(), minlength=num_codes).double()
    p = p / p.sum()
    return torch.exp(-(p[p > 0] * p[p > 0].log()).sum()).float()


class VectorQuantizer(nn.Module):
    """Nearest-code quantisation with an EMA-updated codebook.

    Parameters
    ----------
    num_codes : int
        ``K``.
    code_dim : int
        ``D``.
    decay : float in [0, 1)
        ``γ`` of the moving averages (0.99 in the paper).
    eps : float
        Laplace smoothing of the counts.
    data_init : bool
        On the first training batch, set the codes to randomly chosen encoder outputs
        (k-means-style seeding), so that every code starts where the data is.

    Notes
    -----
    The codebook is a buffer (``codebook``, ``(K, D)``), updated only in training mode,
    inside :meth:`forward`, without autograd.
    """

    def __init__(self, num_codes: int = 64, code_dim: int = 16, *, decay: float = 0.99,
                 eps: float = 1e-5, data_init: bool = True):
        super().__init__()
        for name, v in (("num_codes", num_codes), ("code_dim", code_dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"VectorQuantizer: {name} must be a positive int, got "
                                 f"{describe(v)}")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"VectorQuantizer: decay must be in [0, 1), got {describe(decay)}")
        self.num_codes, self.code_dim = num_codes, code_dim
        self.decay, self.eps, self.data_init = float(decay), float(eps), bool(data_init)
        codebook = torch.randn(num_codes, code_dim)
        self.register_buffer("codebook", codebook)
        self.register_buffer("cluster_size", torch.ones(num_codes))
        self.register_buffer("embed_sum", codebook.clone())
        self.register_buffer("initialised", torch.tensor(not data_init))

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """Index ``(N,)`` of the nearest code to each row of ``flat`` ``(N, D)``."""
        d = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T
             + self.codebook.pow(2).sum(1)[None, :])  # (N, K) squared distances
        return d.argmin(1)

    def forward(self, z: torch.Tensor) -> Quantized:
        if not isinstance(z, torch.Tensor) or z.ndim != 4 or z.shape[1] != self.code_dim:
            raise ValueError(f"VectorQuantizer: z must be (B, {self.code_dim}, h, w), got "
                             f"{describe(z)}")
        b, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)  # (B h w, D)
        if self.training and not bool(self.initialised):
            with torch.no_grad():
                rows = torch.randint(0, flat.shape[0], (self.num_codes,))
                self.codebook.copy_(flat[rows])
                self.embed_sum.copy_(flat[rows])
                self.cluster_size.fill_(1.0)
                self.initialised.fill_(True)
        codes = self.nearest(flat.detach())  # (B h w,)
        if self.training:
            with torch.no_grad():
                onehot = F.one_hot(codes, self.num_codes).type(flat.dtype)  # (N, K)
                self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
                self.embed_sum.mul_(self.decay).add_(onehot.T @ flat.detach(),
                                                     alpha=1 - self.decay)
                n = self.cluster_size.sum()
                smoothed = (self.cluster_size + self.eps) / (n + self.num_codes * self.eps) * n
                self.codebook.copy_(self.embed_sum / smoothed[:, None])
        q = self.codebook[codes].view(b, h, w, d).permute(0, 3, 1, 2)  # (B, D, h, w)
        commitment = F.mse_loss(z, q.detach())
        quantized = z + (q - z).detach()  # straight-through estimator
        return Quantized(quantized=quantized, codes=codes.view(b, h, w),
                         commitment=commitment, perplexity=_perplexity(codes, self.num_codes))


class VQVAE(nn.Module):
    """Convolutional VQ-VAE for small images: ``H x W`` → codes on an ``H/2 x W/2`` grid.

    Parameters
    ----------
    in_chans : int
    hidden : int
        Channels of the convolutions.
    num_codes, code_dim : int
        Codebook size ``K`` and code width ``D``.
    decay : float
        EMA decay of the codebook.

    Notes
    -----
    ``forward(x)`` returns ``(reconstruction (B, C, H, W), Quantized)``; ``encode(x)``
    returns the code indices ``(B, H/2, W/2)`` and ``decode_codes(codes)`` maps them back
    to images.
    """

    def __init__(self, *, in_chans: int = 1, hidden: int = 64, num_codes: int = 64,
                 code_dim: int = 16, decay: float = 0.99):
        super().__init__()
        self.in_chans = int(in_chans)
        self.encoder = nn.Sequential(
            nn.Conv2d(in_chans, hidden // 2, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden // 2, hidden, 4, stride=2, padding=1), nn.ReLU(),  # H/2
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, code_dim, 1))
        self.quantizer = VectorQuantizer(num_codes, code_dim, decay=decay)
        self.decoder = nn.Sequential(
            nn.Conv2d(code_dim, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(hidden, hidden // 2, 4, stride=2, padding=1), nn.ReLU(),  # H
            nn.Conv2d(hidden // 2, in_chans, 3, padding=1))

    def _check(self, x) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.in_chans \
                or x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f"VQVAE: x must be (B, {self.in_chans}, H, W) with even H and W, "
                             f"got {describe(x)}")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Quantized]:
        self._check(x)
        q = self.quantizer(self.encoder(x))  # z_e: (B, D, H/2, W/2)
        return self.decoder(q.quantized), q

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → code indices ``(B, H/2, W/2)`` (no codebook update)."""
        self._check(x)
        z = self.encoder(x)
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        return self.quantizer.nearest(flat).view(z.shape[0], z.shape[2], z.shape[3])

    @torch.no_grad()
    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Code indices ``(B, h, w)`` → images ``(B, C, 2h, 2w)``."""
        q = self.quantizer.codebook[codes].permute(0, 3, 1, 2)  # (B, D, h, w)
        return self.decoder(q)


@dataclass(frozen=True)
class CodebookUsage:
    """How a VQ-VAE uses its codebook on a set of images.

    Attributes
    ----------
    used : int
        Distinct codes chosen at least once.
    perplexity : float
        ``exp`` of the entropy of the code frequencies (1 = collapse to one code).
    counts : Tensor (K,), int64
        How often each code was chosen.
    """

    used: int
    perplexity: float
    counts: torch.Tensor


@torch.no_grad()
def codebook_usage(model: VQVAE, x: torch.Tensor) -> CodebookUsage:
    """Code counts, distinct codes and perplexity over every position of images ``x``."""
    if not isinstance(model, VQVAE):
        raise TypeError(f"codebook_usage: model must be a VQVAE, got {describe(model)}")
    codes = model.encode(x)
    k = model.quantizer.num_codes
    return CodebookUsage(used=int(codes.unique().numel()),
                         perplexity=float(_perplexity(codes, k)),
                         counts=torch.bincount(codes.flatten(), minlength=k))
