"""pix2pix (Isola et al., 2017): a U-Net generator and a PatchGAN discriminator, L1 +
adversarial loss, here turning cvgeo Canny edge maps of digits back into the digits.

Conventions
-----------
Images and edge maps are float32 tensors ``(N, 1, S, S)`` in **[-1, 1]** (the range of
:mod:`deep.generative`): an edge map is -1 off edges and +1 on them. :func:`digit_edges`
makes the pairs: each 8x8 digit is upsampled to ``S x S`` (bicubic, :func:`cvgeo.resize`),
where Canny is meaningful, and :func:`cvgeo.canny` draws its edges. Errors are reported
by :func:`l1_error` on the [0, 1] scale (mean absolute difference per pixel).

The discriminator sees the pair ``(edges, image)`` stacked as two channels, as in the
paper's conditional GAN, and scores every overlapping ``receptive_field``-sized patch.

References
----------
.. [1] P. Isola, J.-Y. Zhu, T. Zhou and A. A. Efros, "Image-to-Image Translation with
   Conditional Adversarial Networks", CVPR 2017, arXiv:1611.07004.
.. [2] O. Ronneberger, P. Fischer and T. Brox, "U-Net: Convolutional Networks for
   Biomedical Image Segmentation", MICCAI 2015, arXiv:1505.04597.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import cvgeo
from cvgeo._checks import check_choice, check_int, check_real, describe
from deep.generative.gan import _norm, _torch_generator, dcgan_init
from deep.models.unet import UNet

__all__ = ["BlurBaseline", "EdgePairs", "PatchGAN", "Pix2PixGenerator", "Pix2PixTraining",
           "digit_edges", "fit_blur_baseline", "l1_error", "train_pix2pix", "translate"]


def _check_pm1(x, func: str, name: str, chans: int | None = 1) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{func}: {name} must be a torch.Tensor (N, C, H, W) in [-1, 1], got "
                        f"{describe(x)}")
    if x.ndim != 4 or (chans is not None and x.shape[1] != chans) or 0 in x.shape:
        c = "C" if chans is None else chans
        raise ValueError(f"{func}: {name} must be a non-empty tensor (N, {c}, H, W), got shape "
                         f"{tuple(x.shape)}")
    if not x.is_floating_point() or not bool(torch.isfinite(x).all()):
        raise ValueError(f"{func}: {name} must be a finite float tensor, got {x.dtype}"
                         f"{' with NaN or inf' if x.is_floating_point() else ''}")
    if float(x.min()) < -1 or float(x.max()) > 1:
        raise ValueError(f"{func}: {name} must lie in [-1, 1], got values in "
                         f"[{float(x.min()):.3g}, {float(x.max()):.3g}]")
    return x


# ------------------------------------------------------------------ data
@dataclass(frozen=True)
class EdgePairs:
    """Edge maps and the images they were drawn from.

    Attributes
    ----------
    edges : Tensor of shape (N, 1, S, S), float32, -1 or +1
        :func:`cvgeo.canny` of each upsampled image (+1 on an edge).
    images : Tensor of shape (N, 1, S, S), float32 in [-1, 1]
        The upsampled images.
    """

    edges: torch.Tensor
    images: torch.Tensor


def digit_edges(images: torch.Tensor, *, size: int = 32, sigma: float = 1.0,
                low_threshold: float = 0.1, high_threshold: float = 0.2) -> EdgePairs:
    """Upsample small grey images and draw their Canny edges with :func:`cvgeo.canny`.

    Parameters
    ----------
    images : Tensor of shape (N, 1, h, w), in [-1, 1]
        E.g. :func:`deep.generative.data.digits_tensors`'s 8x8 digits.
    size : int
        Side ``S`` of the upsampled images (bicubic :func:`cvgeo.resize`, clipped to the
        range); on 8x8 digits Canny has too few pixels to find a contour, at 32x32 it
        draws the stroke outlines.
    sigma, low_threshold, high_threshold : float
        :func:`cvgeo.canny`'s parameters; thresholds in units of the [0, 1]-scaled image.

    Returns
    -------
    EdgePairs
    """
    name = "digit_edges"
    images = _check_pm1(images, name, "images")
    size = check_int(size, name, "size", low=8)
    unit = ((images[:, 0].detach().cpu().double().numpy() + 1) / 2)  # (N, h, w) in [0, 1]
    up = np.empty((unit.shape[0], size, size), np.float32)
    edges = np.empty((unit.shape[0], size, size), bool)
    for i, im in enumerate(unit):
        up[i] = np.clip(cvgeo.resize(im.astype(np.float32), (size, size),
                                     interpolation="bicubic"), 0.0, 1.0)
        edges[i] = cvgeo.canny(up[i], sigma=sigma, low_threshold=low_threshold,
                               high_threshold=high_threshold)
    up_t = torch.from_numpy(up)[:, None] * 2 - 1  # (N, 1, S, S) in [-1, 1]
    edges_t = torch.from_numpy(edges)[:, None].float() * 2 - 1  # (N, 1, S, S), ±1
    return EdgePairs(edges=edges_t, images=up_t)


def l1_error(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean absolute difference per pixel on the [0, 1] scale of two [-1, 1] tensors
    ``(N, C, H, W)`` (half their mean absolute difference)."""
    p = _check_pm1(prediction, "l1_error", "prediction", chans=None)
    t = _check_pm1(target, "l1_error", "target", chans=None)
    if p.shape != t.shape:
        raise ValueError(f"l1_error: prediction and target must have the same shape, got "
                         f"{tuple(p.shape)} and {tuple(t.shape)}")
    return float((p.detach().double() - t.detach().double()).abs().mean() / 2)


@dataclass(frozen=True)
class BlurBaseline:
    """The edges-blurred baseline: ``clip(gain * gaussian_blur(edges01, sigma) + offset)``.

    ``edges01`` is the edge map in {0, 1}; the output is mapped back to [-1, 1]. Fitted by
    :func:`fit_blur_baseline`; :meth:`predict` applies it to edge maps ``(N, 1, S, S)``.
    """

    sigma: float
    gain: float
    offset: float
    train_l1: float

    def predict(self, edges: torch.Tensor) -> torch.Tensor:
        """Edge maps ``(N, 1, S, S)`` (±1) → images ``(N, 1, S, S)`` in [-1, 1]."""
        edges = _check_pm1(edges, "BlurBaseline.predict", "edges")
        blurred = _blur01(edges, self.sigma)
        out = np.clip(self.gain * blurred + self.offset, 0.0, 1.0)
        return torch.from_numpy(out.astype(np.float32))[:, None] * 2 - 1


def _blur01(edges: torch.Tensor, sigma: float) -> np.ndarray:
    """``(N, 1, S, S)`` ±1 → ``(N, S, S)`` float64: each map in {0, 1}, Gaussian-blurred."""
    e01 = (edges[:, 0].detach().cpu().numpy() + 1) / 2
    return np.stack([cvgeo.gaussian_blur(e.astype(np.float32), sigma) for e in e01]
                    ).astype(np.float64)


def fit_blur_baseline(edges: torch.Tensor, images: torch.Tensor, *,
                      sigmas: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
                      ) -> BlurBaseline:
    """Fit the edges-blurred baseline on training pairs: for each ``sigma`` a least-squares
    ``gain`` and ``offset`` from the blurred edge map to the image (both on [0, 1]); the
    ``sigma`` with the lowest clipped L1 error on the training pairs wins.

    Parameters
    ----------
    edges, images : Tensor of shape (N, 1, S, S), in [-1, 1]
    sigmas : sequence of float
        Candidate Gaussian standard deviations, in pixels.

    Returns
    -------
    BlurBaseline
    """
    name = "fit_blur_baseline"
    edges = _check_pm1(edges, name, "edges")
    images = _check_pm1(images, name, "images")
    if edges.shape != images.shape:
        raise ValueError(f"{name}: edges and images must have the same shape, got "
                         f"{tuple(edges.shape)} and {tuple(images.shape)}")
    if not isinstance(sigmas, (list, tuple)) or not sigmas:
        raise ValueError(f"{name}: sigmas must be a non-empty sequence of positive numbers, got "
                         f"{describe(sigmas)}")
    sigmas = [check_real(s, name, "sigmas[i]", low=0.0, low_inclusive=False) for s in sigmas]
    target = ((images[:, 0].detach().cpu().double().numpy() + 1) / 2).ravel()
    best = None
    for sigma in sigmas:
        b = _blur01(edges, sigma).ravel()
        A = np.stack([b, np.ones_like(b)], axis=1)
        (gain, offset), *_ = np.linalg.lstsq(A, target, rcond=None)
        err = float(np.abs(np.clip(gain * b + offset, 0.0, 1.0) - target).mean())
        if best is None or err < best.train_l1:
            best = BlurBaseline(sigma=float(sigma), gain=float(gain), offset=float(offset),
                                train_l1=err)
    return best


# ------------------------------------------------------------------ networks
class Pix2PixGenerator(nn.Module):
    """pix2pix's generator: :class:`deep.models.unet.UNet` with one output channel and a
    ``tanh``, mapping ``(B, in_chans, H, W)`` → ``(B, out_chans, H, W)`` in [-1, 1].

    Parameters
    ----------
    in_chans, out_chans : int
    widths : sequence of int
        The U-Net's channels per level (``len(widths) - 1`` poolings).

    Notes
    -----
    The U-Net is the project's (double 3x3 convolutions, batch norm, max-pooling,
    transposed-convolution upsampling, skip concatenation) rather than the paper's
    strided-convolution encoder; what pix2pix needs from it is the skip connections that
    carry the input's edges to the output at full resolution. The paper's dropout noise is
    left out: its authors report the generator learns to ignore it.
    """

    def __init__(self, *, in_chans: int = 1, out_chans: int = 1,
                 widths: Sequence[int] = (32, 64, 128)):
        super().__init__()
        self.unet = UNet(in_chans=in_chans, num_classes=out_chans, widths=tuple(widths))
        self.in_chans = self.unet.in_chans

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.unet(x))  # (B, out_chans, H, W)


class PatchGAN(nn.Module):
    """pix2pix's PatchGAN discriminator: one logit per overlapping input patch.

    Parameters
    ----------
    in_chans : int
        Channels of the stacked (condition, image) pair: 2 for edges → grey image.
    base_width : int
        Channels of the first layer (64 in the paper), doubled per layer up to 8x.
    n_layers : int
        Strided (stride 2) 4x4 convolutions; then one stride-1 4x4 convolution with norm and
        a stride-1 4x4 convolution to one channel. The receptive field of each output is
        16, 34, 70, 142, 286 pixels for ``n_layers`` 1, 2, 3, 4, 5 (the paper's 16x16,
        70x70 and 286x286 PatchGANs are 1, 3 and 5).
    norm : {"batch", "layer", "none"}
        Norm after every convolution but the first and the last (batch in the paper).

    Notes
    -----
    Every convolution is 4x4 with padding 1 and LeakyReLU(0.2) after it (not after the
    last). The receptive field is ``r = 1 + sum_l (k_l - 1) prod_{m<l} s_m`` over the
    layers; :attr:`receptive_field` computes it from the layers themselves. An output map
    of a ``(B, C, H, W)`` input is ``(B, 1, H_o, W_o)``; :meth:`output_size` gives
    ``H_o`` (``H / 2**n_layers - 2``).
    """

    def __init__(self, *, in_chans: int = 2, base_width: int = 64, n_layers: int = 3,
                 norm: str = "batch"):
        super().__init__()
        name = "PatchGAN"
        self.in_chans = check_int(in_chans, name, "in_chans", low=1)
        base_width = check_int(base_width, name, "base_width", low=1)
        self.n_layers = check_int(n_layers, name, "n_layers", low=1, high=8)
        norm = check_choice(norm, name, "norm", ("batch", "layer", "none"))
        bias = norm == "none"
        c = base_width
        layers: list[nn.Module] = [nn.Conv2d(self.in_chans, c, 4, 2, 1),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for i in range(1, self.n_layers):
            c_next = base_width * min(2 ** i, 8)
            layers += [nn.Conv2d(c, c_next, 4, 2, 1, bias=bias), _norm(norm, c_next),
                       nn.LeakyReLU(0.2, inplace=True)]
            c = c_next
        c_next = base_width * min(2 ** self.n_layers, 8)
        layers += [nn.Conv2d(c, c_next, 4, 1, 1, bias=bias), _norm(norm, c_next),
                   nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(c_next, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    @property
    def receptive_field(self) -> int:
        """Side, in input pixels, of the patch that one output logit sees."""
        r, jump = 1, 1
        for m in self.net:
            if isinstance(m, nn.Conv2d):
                r += (m.kernel_size[0] - 1) * jump
                jump *= m.stride[0]
        return r

    def output_size(self, size: int) -> int:
        """Side of the logit map for an input side ``size``."""
        s = check_int(size, "PatchGAN.output_size", "size", low=1)
        for m in self.net:
            if isinstance(m, nn.Conv2d):
                s = (s + 2 * m.padding[0] - m.kernel_size[0]) // m.stride[0] + 1
        if s < 1:
            raise ValueError(f"PatchGAN.output_size: an input side of {size} is too small for "
                             f"n_layers={self.n_layers}")
        return s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.in_chans:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else describe(x)
            raise ValueError(f"PatchGAN: input must be a tensor (B, {self.in_chans}, H, W), "
                             f"got {got}")
        return self.net(x)  # (B, 1, H_o, W_o) logits


# ------------------------------------------------------------------ training
@dataclass(frozen=True)
class Pix2PixTraining:
    """What :func:`train_pix2pix` did: per-step losses, steps and CPU / wall seconds.

    ``d_losses``: the discriminator's halved BCE; ``g_adv``: the generator's non-saturating
    BCE; ``g_l1``: the mean absolute error in [-1, 1] units (before ``l1_weight``).
    """

    d_losses: np.ndarray
    g_adv: np.ndarray
    g_l1: np.ndarray
    steps: int
    cpu_seconds: float
    wall_seconds: float


def train_pix2pix(generator: nn.Module, discriminator: PatchGAN, sources: torch.Tensor,
                  targets: torch.Tensor, *, steps: int = 1000, batch_size: int = 32,
                  l1_weight: float = 100.0, lr: float = 2e-4, seed=0,
                  max_cpu_seconds: float | None = None) -> Pix2PixTraining:
    """Train pix2pix in place: ``G`` maps ``sources`` to ``targets``, ``D`` judges patches.

    Parameters
    ----------
    generator : nn.Module
        ``(B, C_s, H, W)`` → ``(B, C_t, H, W)`` in [-1, 1] (:class:`Pix2PixGenerator`).
    discriminator : PatchGAN
        With ``in_chans = C_s + C_t``.
    sources, targets : Tensor of shape (N, C, H, W), in [-1, 1]
        Paired training data (edge maps and images).
    steps : int
        Updates of each network (one D step, then one G step, as in the paper).
    batch_size : int
    l1_weight : float
        λ of ``L = L_cGAN + λ L1``; 100 in the paper.
    lr : float
        Adam's learning rate for both networks, betas (0.5, 0.999) as in the paper.
    seed : int, numpy.random.Generator or None
        Seeds the batches (initial weights are the caller's: seed torch first).
    max_cpu_seconds : float, optional
        Stop once the loop has used this much process CPU time.

    Returns
    -------
    Pix2PixTraining
        Both networks are left in eval mode.

    Notes
    -----
    ``D``'s objective is halved, as in the paper, to slow it relative to ``G``; the
    generator's adversarial term is the non-saturating ``-log D(x, G(x))`` averaged over
    patches.
    """
    name = "train_pix2pix"
    sources = _check_pm1(sources, name, "sources", chans=None)
    targets = _check_pm1(targets, name, "targets", chans=None)
    if sources.shape[0] != targets.shape[0] or sources.shape[2:] != targets.shape[2:]:
        raise ValueError(f"{name}: sources and targets must pair up (same N, H, W), got "
                         f"{tuple(sources.shape)} and {tuple(targets.shape)}")
    if getattr(discriminator, "in_chans", None) != sources.shape[1] + targets.shape[1]:
        raise ValueError(f"{name}: the discriminator must take {sources.shape[1]} + "
                         f"{targets.shape[1]} channels, got in_chans="
                         f"{getattr(discriminator, 'in_chans', None)}")
    steps = check_int(steps, name, "steps", low=1)
    batch_size = check_int(batch_size, name, "batch_size", low=1)
    l1_weight = check_real(l1_weight, name, "l1_weight", low=0.0)
    lr = check_real(lr, name, "lr", low=0.0, low_inclusive=False)
    if max_cpu_seconds is not None:
        max_cpu_seconds = check_real(max_cpu_seconds, name, "max_cpu_seconds", low=0.0,
                                     low_inclusive=False)
    gen = _torch_generator(seed, name)
    device = next(generator.parameters()).device
    src, tgt = sources.to(device), targets.to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    n = src.shape[0]
    d_hist, adv_hist, l1_hist = [], [], []
    generator.train()
    discriminator.train()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    done = 0
    for step in range(steps):
        idx = torch.randint(0, n, (batch_size,), generator=gen).to(device)
        x, y = src[idx], tgt[idx]
        fake = generator(x)  # (B, C_t, H, W)
        real_s = discriminator(torch.cat([x, y], 1))
        fake_s = discriminator(torch.cat([x, fake.detach()], 1))
        d_loss = 0.5 * (F.softplus(-real_s).mean() + F.softplus(fake_s).mean())
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        adv = F.softplus(-discriminator(torch.cat([x, fake], 1))).mean()
        l1 = (fake - y).abs().mean()
        g_loss = adv + l1_weight * l1
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        d_hist.append(d_loss.item())
        adv_hist.append(adv.item())
        l1_hist.append(l1.item())
        done = step + 1
        if max_cpu_seconds is not None and time.process_time() - cpu0 >= max_cpu_seconds:
            break
    generator.eval()
    discriminator.eval()
    return Pix2PixTraining(np.asarray(d_hist), np.asarray(adv_hist), np.asarray(l1_hist), done,
                           time.process_time() - cpu0, time.perf_counter() - wall0)


@torch.no_grad()
def translate(generator: nn.Module, sources: torch.Tensor, *, batch_size: int = 256
              ) -> torch.Tensor:
    """Run a trained generator (in eval mode) over ``sources`` in batches; CPU output."""
    was = generator.training
    generator.eval()
    out = torch.cat([generator(sources[i:i + batch_size]) for i in
                     range(0, sources.shape[0], batch_size)]).cpu()
    generator.train(was)
    return out
