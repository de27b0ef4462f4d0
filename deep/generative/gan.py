"""Generative adversarial networks: DCGAN, WGAN (weight clipping), WGAN-GP and a conditional GAN.

Conventions
-----------
Images are float32 tensors ``(N, C, H, W)`` in the models' range **[-1, 1]**, the range
of the generator's ``tanh`` output and of :func:`deep.generative.data.digits_tensors`
(``to_unit`` maps them to [0, 1] for pictures). :func:`train_gan` takes real images in
[-1, 1] and :func:`sample_images` returns images in [-1, 1].

``image_size`` is ``4 * 2**k`` (8, 16, 32, ...): the generator starts from a 4x4 map and
doubles it ``k`` times; the discriminator halves it ``k`` times back to 4x4 and scores it
with one 4x4 convolution.

Labels (conditional models) are int64 tensors ``(N,)`` in ``[0, num_classes)``. The
generator embeds a label into a vector concatenated with the noise; the discriminator
embeds it into an extra ``H x W`` input plane (Mirza and Osindero's conditioning, in
convolutional form).

Objectives (``method`` of :func:`train_gan`), with the papers' optimisers as defaults:

* ``"dcgan"``: discriminator BCE ``softplus(-D(x)) + softplus(D(G(z)))`` on logits,
  generator non-saturating ``softplus(-D(G(z)))``; Adam (lr 2e-4, β = (0.5, 0.999)), one
  discriminator update per generator update.
* ``"wgan"``: critic ``D(G(z)) - D(x)`` with every critic weight clipped to ``[-c, c]``
  after each update (c = 0.01), generator ``-D(G(z))``; RMSProp (lr 5e-5), 5 critic
  updates per generator update.
* ``"wgan-gp"``: critic ``D(G(z)) - D(x) + λ (‖∇D(x̂)‖₂ - 1)²`` on random interpolates
  ``x̂`` (λ = 10), generator ``-D(G(z))``; Adam (lr 1e-4, β = (0, 0.9)), 5 critic updates
  per generator update, no batch norm in the critic.

A conditional GAN is any of these with ``num_classes`` set on both networks.

References
----------
.. [1] I. Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, arXiv:1406.2661.
.. [2] A. Radford, L. Metz and S. Chintala, "Unsupervised Representation Learning with Deep
   Convolutional Generative Adversarial Networks", ICLR 2016, arXiv:1511.06434.
.. [3] M. Arjovsky, S. Chintala and L. Bottou, "Wasserstein GAN", ICML 2017,
   arXiv:1701.07875.
.. [4] I. Gulrajani, F. Ahmed, M. Arjovsky, V. Dumoulin and A. Courville, "Improved Training
   of Wasserstein GANs", NeurIPS 2017, arXiv:1704.00028.
.. [5] M. Mirza and S. Osindero, "Conditional Generative Adversarial Nets",
   arXiv:1411.1784, 2014.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import check_choice, check_int, check_real, check_seed, describe

__all__ = [
    "DCGANDiscriminator", "DCGANGenerator", "GANTraining", "clip_weights", "dcgan_init",
    "discriminator_loss", "generator_loss", "gradient_penalty", "sample_images", "train_gan",
]

Method = Literal["dcgan", "wgan", "wgan-gp"]
Norm = Literal["batch", "layer", "none"]
METHODS = ("dcgan", "wgan", "wgan-gp")


# ------------------------------------------------------------------ helpers
def _num_doublings(image_size, func: str) -> int:
    """``k`` with ``image_size = 4 * 2**k``, ``k >= 1``."""
    image_size = check_int(image_size, func, "image_size", low=8)
    k = int(round(math.log2(image_size / 4)))
    if 4 * 2 ** k != image_size:
        raise ValueError(f"{func}: image_size must be 4 * 2**k with k >= 1 (8, 16, 32, ...), "
                         f"got {image_size}")
    return k


def _check_num_classes(num_classes, func: str) -> int | None:
    if num_classes is None:
        return None
    return check_int(num_classes, func, "num_classes", low=2)


def _torch_generator(seed, func: str) -> torch.Generator:
    """A CPU ``torch.Generator`` from a cvgeo seed (int, numpy Generator or None)."""
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        check_seed(seed, func)  # validates the sign
        value = int(seed)
    else:
        value = int(check_seed(seed, func).integers(2 ** 62))
    return torch.Generator().manual_seed(value)


def _check_labels(labels, n: int, num_classes: int | None, func: str) -> torch.Tensor | None:
    if num_classes is None:
        if labels is not None:
            raise ValueError(f"{func}: labels were given but the model is unconditional "
                             f"(num_classes=None)")
        return None
    if labels is None:
        raise ValueError(f"{func}: the model is conditional (num_classes={num_classes}); "
                         f"labels (N,) are required")
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{func}: labels must be an int64 torch.Tensor (N,), got "
                        f"{describe(labels)}")
    if labels.ndim != 1 or labels.shape[0] != n or labels.dtype not in (torch.int64,
                                                                          torch.int32):
        raise ValueError(f"{func}: labels must be an integer tensor of shape ({n},), got "
                         f"{labels.dtype} of shape {tuple(labels.shape)}")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(f"{func}: labels must lie in [0, {num_classes}), got values in "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    return labels.long()


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # LayerNorm over (C, H, W) of each sample, per-channel affine
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation, in place: conv weights ~ N(0, 0.02), norm scales ~
    N(1, 0.02), biases 0. Apply with ``model.apply(dcgan_init)``."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# ------------------------------------------------------------------ networks
class DCGANGenerator(nn.Module):
    """DCGAN generator: noise (and a label) → image in [-1, 1] by strided transposed convs.

    Parameters
    ----------
    latent_dim : int
        Size of the noise vector ``z``.
    image_size : int
        ``4 * 2**k``: output side.
    out_chans : int
    base_width : int
        Channels of the last ``image_size`` map; each coarser map has twice as many
        (``base_width * 2**k`` at 4x4).
    num_classes : int, optional
        Conditional generator: a label ``y`` is embedded to ``embed_dim`` numbers and
        concatenated with ``z``.
    embed_dim : int
        Size of the label embedding (conditional only).

    Notes
    -----
    Radford et al.'s recipe: a 4x4 transposed convolution projects ``z`` to a 4x4 map,
    ``k`` transposed convolutions (4x4, stride 2, padding 1) double it, each followed by
    batch norm and ReLU; a 3x3 convolution and ``tanh`` give the image (no norm on the
    output). Weights are initialised by :func:`dcgan_init`.

    ``forward(z, labels=None)``: ``z`` of shape ``(B, latent_dim)`` →
    ``(B, out_chans, image_size, image_size)`` in [-1, 1].

    Examples
    --------
    >>> import torch
    >>> g = DCGANGenerator(latent_dim=8, image_size=16, base_width=4)
    >>> g(torch.zeros(2, 8)).shape
    torch.Size([2, 1, 16, 16])
    """

    def __init__(self, *, latent_dim: int = 32, image_size: int = 8, out_chans: int = 1,
                 base_width: int = 64, num_classes: int | None = None, embed_dim: int = 16):
        super().__init__()
        name = "DCGANGenerator"
        k = _num_doublings(image_size, name)
        self.latent_dim = check_int(latent_dim, name, "latent_dim", low=1)
        self.out_chans = check_int(out_chans, name, "out_chans", low=1)
        base_width = check_int(base_width, name, "base_width", low=1)
        self.num_classes = _check_num_classes(num_classes, name)
        self.image_size = int(image_size)
        z_in = self.latent_dim
        if self.num_classes is not None:
            embed_dim = check_int(embed_dim, name, "embed_dim", low=1)
            self.embed = nn.Embedding(self.num_classes, embed_dim)
            z_in += embed_dim
        c = base_width * 2 ** k
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_in, c, 4, 1, 0, bias=False),  # 4x4
                                   nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        for _ in range(k):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),  # doubles H, W
                       nn.BatchNorm2d(c // 2), nn.ReLU(inplace=True)]
            c //= 2
        layers += [nn.Conv2d(c, self.out_chans, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else describe(z)
            raise ValueError(f"DCGANGenerator: z must be a tensor (B, {self.latent_dim}), "
                             f"got {got}")
        labels = _check_labels(labels, z.shape[0], self.num_classes, "DCGANGenerator")
        if labels is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)  # (B, latent + embed)
        return self.net(z[:, :, None, None])  # (B, C_out, S, S)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator (WGAN critic): image (and a label) → one score per image.

    Parameters
    ----------
    in_chans : int
    image_size : int
        ``4 * 2**k``.
    base_width : int
        Channels at full resolution; doubled at each halving.
    norm : {"batch", "layer", "none"}
        Norm after every convolution but the first and the last. Radford et al. use batch
        norm; Gulrajani et al. forbid it in a gradient-penalty critic (the penalty is per
        sample, batch norm mixes samples) and suggest layer norm.
    num_classes : int, optional
        Conditional discriminator: the label is embedded into an extra
        ``image_size x image_size`` plane stacked on the image's channels.

    Notes
    -----
    A 3x3 convolution at full resolution with LeakyReLU(0.2) (no norm), ``k`` strided
    4x4 convolutions (stride 2, padding 1) with norm and LeakyReLU(0.2), and a 4x4
    convolution over the final 4x4 map give the raw score (a logit for ``"dcgan"``, an
    unbounded critic value for the Wasserstein methods). ``forward(x, labels=None)``:
    ``(B, in_chans, S, S)`` → ``(B,)``.
    """

    def __init__(self, *, in_chans: int = 1, image_size: int = 8, base_width: int = 64,
                 norm: Norm = "batch", num_classes: int | None = None):
        super().__init__()
        name = "DCGANDiscriminator"
        k = _num_doublings(image_size, name)
        self.in_chans = check_int(in_chans, name, "in_chans", low=1)
        base_width = check_int(base_width, name, "base_width", low=1)
        self.norm = check_choice(norm, name, "norm", ("batch", "layer", "none"))
        self.num_classes = _check_num_classes(num_classes, name)
        self.image_size = int(image_size)
        c_in = self.in_chans
        if self.num_classes is not None:
            self.embed = nn.Embedding(self.num_classes, self.image_size ** 2)
            c_in += 1
        c = base_width
        layers: list[nn.Module] = [nn.Conv2d(c_in, c, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(k):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=self.norm == "none"),  # halves H, W
                       _norm(self.norm, 2 * c), nn.LeakyReLU(0.2, inplace=True)]
            c *= 2
        layers.append(nn.Conv2d(c, 1, 4, 1, 0))  # 4x4 → 1x1
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        s = self.image_size
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[1:]) != (
                self.in_chans, s, s):
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else describe(x)
            raise ValueError(f"DCGANDiscriminator: input must be a tensor (B, {self.in_chans}, "
                             f"{s}, {s}), got {got}")
        labels = _check_labels(labels, x.shape[0], self.num_classes, "DCGANDiscriminator")
        if labels is not None:
            plane = self.embed(labels).view(-1, 1, s, s)  # (B, 1, S, S)
            x = torch.cat([x, plane], dim=1)
        return self.net(x).flatten()  # (B,)


# ------------------------------------------------------------------ losses
def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, *,
                       method: Method = "dcgan") -> torch.Tensor:
    """The discriminator's (critic's) loss on scores of real and generated images.

    ``"dcgan"``: binary cross-entropy with real = 1, fake = 0 on logits,
    ``mean(softplus(-D(x))) + mean(softplus(D(G(z))))``. ``"wgan"`` / ``"wgan-gp"``: the
    negated Wasserstein estimate ``mean(D(G(z))) - mean(D(x))`` (the gradient penalty is
    added separately by :func:`gradient_penalty`).
    """
    method = check_choice(method, "discriminator_loss", "method", METHODS)
    if method == "dcgan":
        return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()
    return fake_scores.mean() - real_scores.mean()


def generator_loss(fake_scores: torch.Tensor, *, method: Method = "dcgan") -> torch.Tensor:
    """The generator's loss: non-saturating ``mean(softplus(-D(G(z))))`` for ``"dcgan"``
    (Goodfellow et al.'s ``-log D(G(z))``), ``-mean(D(G(z)))`` for the Wasserstein methods."""
    method = check_choice(method, "generator_loss", "method", METHODS)
    if method == "dcgan":
        return F.softplus(-fake_scores).mean()
    return -fake_scores.mean()


def gradient_penalty(critic: Callable[..., torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, *, labels: torch.Tensor | None = None,
                     alpha: torch.Tensor | None = None, weight: float = 10.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP's penalty ``weight * mean((‖∇_x̂ D(x̂)‖₂ - 1)²)`` on random interpolates.

    Parameters
    ----------
    critic : callable
        ``critic(x)`` (or ``critic(x, labels)``) → scores ``(B,)``.
    real, fake : Tensor of shape (B, C, H, W)
        In the critic's range ([-1, 1] here); ``fake`` is detached.
    labels : Tensor of shape (B,), optional
        Passed to a conditional critic.
    alpha : Tensor of shape (B,), optional
        Interpolation weights ``x̂ = alpha x + (1 - alpha) x̃``; by default drawn
        uniformly from [0, 1] with ``generator``.
    weight : float
        λ; 10 in the paper.

    Returns
    -------
    Tensor, scalar
        Differentiable in the critic's parameters (the gradient is taken with
        ``create_graph=True``, a double backward).

    Raises
    ------
    ValueError
        ``real`` and ``fake`` of different shapes, or ``alpha`` not ``(B,)`` in [0, 1].
    """
    name = "gradient_penalty"
    weight = check_real(weight, name, "weight", low=0.0)
    if not isinstance(real, torch.Tensor) or not isinstance(fake, torch.Tensor):
        raise TypeError(f"{name}: real and fake must be torch tensors, got {describe(real)} and "
                        f"{describe(fake)}")
    if real.shape != fake.shape or real.ndim < 2:
        raise ValueError(f"{name}: real and fake must have the same shape (B, ...), got "
                         f"{tuple(real.shape)} and {tuple(fake.shape)}")
    b = real.shape[0]
    if alpha is None:
        alpha = torch.rand(b, generator=generator, dtype=real.dtype).to(real.device)
    elif (not isinstance(alpha, torch.Tensor) or alpha.shape != (b,)
          or bool((alpha < 0).any() | (alpha > 1).any())):
        raise ValueError(f"{name}: alpha must be a tensor ({b},) in [0, 1], got "
                         f"{describe(alpha)}")
    a = alpha.to(real.dtype).view(b, *([1] * (real.ndim - 1)))  # (B, 1, 1, 1)
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat) if labels is None else critic(x_hat, labels)  # (B,)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)  # (B, C, H, W)
    norms = grad.flatten(1).norm(dim=1)  # (B,)
    return weight * ((norms - 1) ** 2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, clip: float = 0.01) -> None:
    """WGAN's Lipschitz constraint: clamp every parameter of ``module`` to ``[-clip, clip]``,
    in place (Arjovsky et al. clip all of the critic's parameters after each update)."""
    clip = check_real(clip, "clip_weights", "clip", low=0.0, low_inclusive=False)
    for p in module.parameters():
        p.clamp_(-clip, clip)


# ------------------------------------------------------------------ training
@dataclass(frozen=True)
class GANTraining:
    """What :func:`train_gan` did.

    Attributes
    ----------
    method : str
    d_losses : ndarray of shape (steps,)
        The critic's loss (including the penalty for ``"wgan-gp"``) at the last critic
        update of each generator step.
    g_losses : ndarray of shape (steps,)
        The generator's loss at each generator step.
    wasserstein : ndarray of shape (steps,)
        ``mean(D(x)) - mean(D(G(z)))`` at the last critic update of each step (the
        critic's Wasserstein estimate; for ``"dcgan"`` the logit gap).
    steps : int
        Generator updates done (fewer than asked when ``max_cpu_seconds`` ran out).
    cpu_seconds, wall_seconds : float
        Process CPU time and elapsed time spent in the loop.
    """

    method: str
    d_losses: np.ndarray
    g_losses: np.ndarray
    wasserstein: np.ndarray
    steps: int
    cpu_seconds: float
    wall_seconds: float


_DEFAULTS = {  # the papers' optimisers and update ratios
    "dcgan": dict(lr=2e-4, betas=(0.5, 0.999), n_critic=1),
    "wgan": dict(lr=5e-5, betas=None, n_critic=5),
    "wgan-gp": dict(lr=1e-4, betas=(0.0, 0.9), n_critic=5),
}


def _make_optimizer(method: str, params, lr: float, betas) -> torch.optim.Optimizer:
    if method == "wgan":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adam(params, lr=lr, betas=betas)


def train_gan(generator: DCGANGenerator, discriminator: DCGANDiscriminator,
              images: torch.Tensor, *, labels: torch.Tensor | None = None,
              method: Method = "dcgan", steps: int = 1000, batch_size: int = 64,
              n_critic: int | None = None, lr: float | None = None,
              lr_d: float | None = None, clip: float = 0.01, gp_weight: float = 10.0,
              seed=0, max_cpu_seconds: float | None = None,
              callback: Callable[[int, GANTraining], None] | None = None) -> GANTraining:
    """Train a generator against a discriminator (critic) on ``images``, in place.

    Parameters
    ----------
    generator, discriminator : DCGANGenerator, DCGANDiscriminator
        Both conditional (``num_classes`` set) or both not.
    images : Tensor of shape (N, C, H, W), float, in [-1, 1]
        Real images.
    labels : Tensor of shape (N,), int64, optional
        Class labels for conditional models. Generated samples get labels drawn from the
        real batch's labels, so classes are sampled with the data's frequencies.
    method : {"dcgan", "wgan", "wgan-gp"}
        Objective; table in the module docstring.
    steps : int
        Generator updates; each is preceded by ``n_critic`` critic updates.
    batch_size : int
    n_critic : int, optional
        Critic updates per generator update (1 for DCGAN, 5 for the Wasserstein methods).
    lr, lr_d : float, optional
        Learning rate of the generator and of the critic (``lr_d`` defaults to ``lr``,
        which defaults to the paper's).
    clip : float
        WGAN's weight clipping bound ``c``.
    gp_weight : float
        WGAN-GP's λ.
    seed : int, numpy.random.Generator or None
        Seeds the batches, the noise and the interpolation weights (the networks'
        initial weights are the caller's: seed torch before building them).
    max_cpu_seconds : float, optional
        Stop early once the loop has used this much process CPU time.
    callback : callable, optional
        ``callback(step, partial_result)`` every 100 generator steps.

    Returns
    -------
    GANTraining
        Loss curves, steps and CPU / wall seconds. Both networks are left in eval mode.
    """
    name = "train_gan"
    method = check_choice(method, name, "method", METHODS)
    if not isinstance(generator, nn.Module) or not isinstance(discriminator, nn.Module):
        raise TypeError(f"{name}: generator and discriminator must be nn.Module, got "
                        f"{describe(generator)} and {describe(discriminator)}")
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"{name}: images must be a float tensor (N, C, H, W) in [-1, 1], got "
                         f"{describe(images)}")
    if not bool(torch.isfinite(images).all()) or float(images.min()) < -1 or float(
            images.max()) > 1:
        raise ValueError(f"{name}: images must be finite and lie in [-1, 1], got values in "
                         f"[{float(images.min()):.3g}, {float(images.max()):.3g}]")
    n = images.shape[0]
    num_classes = getattr(generator, "num_classes", None)
    if num_classes != getattr(discriminator, "num_classes", None):
        raise ValueError(f"{name}: generator and discriminator must agree on num_classes, got "
                         f"{num_classes} and {getattr(discriminator, 'num_classes', None)}")
    labels = _check_labels(labels, n, num_classes, name)
    steps = check_int(steps, name, "steps", low=1)
    batch_size = check_int(batch_size, name, "batch_size", low=1)
    defaults = _DEFAULTS[method]
    n_critic = defaults["n_critic"] if n_critic is None else check_int(n_critic, name,
                                                                         "n_critic", low=1)
    lr = defaults["lr"] if lr is None else check_real(lr, name, "lr", low=0.0,
                                                       low_inclusive=False)
    lr_d = lr if lr_d is None else check_real(lr_d, name, "lr_d", low=0.0, low_inclusive=False)
    clip = check_real(clip, name, "clip", low=0.0, low_inclusive=False)
    gp_weight = check_real(gp_weight, name, "gp_weight", low=0.0)
    if max_cpu_seconds is not None:
        max_cpu_seconds = check_real(max_cpu_seconds, name, "max_cpu_seconds", low=0.0,
                                     low_inclusive=False)
    if method == "wgan-gp" and any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                                   for m in discriminator.modules()):
        raise ValueError(f"{name}: a gradient-penalty critic must not use batch norm (the "
                         f"penalty is per sample); build it with norm='layer' or 'none'")
    gen = _torch_generator(seed, name)
    device = next(generator.parameters()).device
    data = images.to(device)
    if labels is not None:
        labels = labels.to(device)
    opt_g = _make_optimizer(method, generator.parameters(), lr, defaults["betas"])
    opt_d = _make_optimizer(method, discriminator.parameters(), lr_d, defaults["betas"])
    latent = generator.latent_dim
    d_hist, g_hist, w_hist = [], [], []

    def batch():
        idx = torch.randint(0, n, (batch_size,), generator=gen).to(device)
        y = labels[idx] if labels is not None else None
        z = torch.randn(batch_size, latent, generator=gen).to(device)
        return data[idx], y, z

    def result(done: int) -> GANTraining:
        return GANTraining(method, np.asarray(d_hist, np.float64), np.asarray(g_hist, np.float64),
                           np.asarray(w_hist, np.float64), done, time.process_time() - cpu0,
                           time.perf_counter() - wall0)

    generator.train()
    discriminator.train()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    done = 0
    for step in range(steps):
        for _ in range(n_critic):
            real, y, z = batch()
            with torch.no_grad():
                fake = generator(z, y)
            real_s = discriminator(real, y)
            fake_s = discriminator(fake, y)
            d_loss = discriminator_loss(real_s, fake_s, method=method)
            if method == "wgan-gp":
                d_loss = d_loss + gradient_penalty(discriminator, real, fake, labels=y,
                                                   weight=gp_weight, generator=gen)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            if method == "wgan":
                clip_weights(discriminator, clip)
        _, y, z = batch()
        g_loss = generator_loss(discriminator(generator(z, y), y), method=method)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        d_hist.append(d_loss.item())
        g_hist.append(g_loss.item())
        w_hist.append((real_s.mean() - fake_s.mean()).item())
        done = step + 1
        if callback is not None and done % 100 == 0:
            callback(done, result(done))
        if max_cpu_seconds is not None and time.process_time() - cpu0 >= max_cpu_seconds:
            break
    generator.eval()
    discriminator.eval()
    return result(done)


@torch.no_grad()
def sample_images(generator: DCGANGenerator, n: int, *, labels: torch.Tensor | None = None,
                  seed=0) -> torch.Tensor:
    """``n`` images from ``generator`` (run in eval mode), in [-1, 1].

    Parameters
    ----------
    generator : DCGANGenerator
    n : int
    labels : Tensor of shape (n,), optional
        Required for a conditional generator.
    seed : int, numpy.random.Generator or None
        Seeds the noise.

    Returns
    -------
    Tensor of shape (n, C, S, S), float32 in [-1, 1], on the CPU
    """
    n = check_int(n, "sample_images", "n", low=1)
    gen = _torch_generator(seed, "sample_images")
    device = next(generator.parameters()).device
    z = torch.randn(n, generator.latent_dim, generator=gen).to(device)
    if labels is not None:
        labels = labels.to(device)
    was_training = generator.training
    generator.eval()
    x = generator(z, labels)
    generator.train(was_training)
    return x.cpu()
