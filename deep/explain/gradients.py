"""Input-gradient attributions: saliency, SmoothGrad and integrated gradients.
"""

from __future__ import annotations

import torch
from torch import nn

from cvgeo._checks import check_int, check_real, check_seed
from deep.explain.hooks import _check_images, eval_mode
from deep.explain.targets import (
    BoxTarget,
    ClassTarget,
    Explanation,
    MaskTarget,
    _as_target,
    _expand,
    _fix,
    _scores,
)


# ------------------------------------------------------------ input gradients
def _input_gradients(model, x: torch.Tensor, target, batch_size: int | None,
                     func: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients ``dS/dx`` ``(N, C, H, W)`` and scores ``(N,)``; one backward per chunk."""
    n = x.shape[0]
    step = n if batch_size is None else batch_size
    grads, scores = [], []
    for start in range(0, n, step):
        xi = x[start:start + step].detach().clone().requires_grad_(True)
        ti = target
        if step < n:
            ti = _slice_target(target, start, start + xi.shape[0], func)
        with torch.enable_grad():
            s = _scores(ti, model(xi), xi.shape[0], func)
            (g,) = torch.autograd.grad(s.sum(), xi)
        grads.append(g)
        scores.append(s.detach())
    return torch.cat(grads), torch.cat(scores)


def _slice_target(target, start: int, stop: int, func: str):
    if isinstance(target, ClassTarget) and isinstance(target.index, torch.Tensor):
        return ClassTarget(target.index[start:stop])
    if isinstance(target, MaskTarget) and target.mask is not None and target.mask.ndim == 3:
        return MaskTarget(target.label, target.mask[start:stop])
    if isinstance(target, BoxTarget) and target.box.ndim == 2:
        return BoxTarget(target.box[start:stop], target.label,
                         iou_threshold=target.iou_threshold)
    if isinstance(target, (ClassTarget, MaskTarget, BoxTarget)):
        return target
    raise TypeError(f"{func}: batch_size needs one of the target classes (a callable target "
                    "cannot be split into chunks); leave batch_size=None")


def _fixed_target(model, images, target, func):
    target = _as_target(target, func)
    with torch.no_grad():
        return _fix(target, model(images))


def saliency(model: nn.Module, images: torch.Tensor, target=None) -> Explanation:
    """Vanilla gradient saliency (Simonyan et al., 2014): ``max_c |dS/dx_c|``.

    Returns
    -------
    Explanation
        ``maps (B, H, W)``: the largest absolute gradient over the input's channels;
        ``attributions (B, C, H, W)``: the signed gradient; ``scores (B,)``.

    References
    ----------
    K. Simonyan, A. Vedaldi, A. Zisserman, "Deep Inside Convolutional Networks:
    Visualising Image Classification Models and Saliency Maps", ICLR workshop 2014,
    arXiv:1312.6034.
    """
    images = _check_images(images, "saliency")
    target = _as_target(target, "saliency")
    with eval_mode(model):
        g, scores = _input_gradients(model, images, target, None, "saliency")
    return Explanation(maps=g.abs().amax(dim=1), scores=scores, attributions=g)


def smooth_grad(model: nn.Module, images: torch.Tensor, target=None, *, n_samples: int = 25,
                noise: float = 0.15, seed=0, batch_size: int | None = None) -> Explanation:
    """SmoothGrad (Smilkov et al., 2017): saliency averaged over noisy copies.

    Each image gets ``n_samples`` copies with Gaussian noise of standard deviation
    ``noise · (max(x) - min(x))`` (per image); the explained class is fixed on the clean
    image first.

    Parameters
    ----------
    n_samples : int
    noise : float
        Noise level as a fraction of the image's range (the paper finds 10–20 % best).
    seed : int, numpy.random.Generator or None
    batch_size : int, optional
        Rows per forward/backward; None: all ``B · n_samples`` rows at once (one backward).

    Returns
    -------
    Explanation
        ``maps``: the mean of the noisy saliency maps ``max_c |dS/dx_c|``;
        ``attributions``: the mean noisy gradient; ``scores``: at the clean images.

    References
    ----------
    D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg, "SmoothGrad: removing noise by
    adding noise", arXiv:1706.03825, 2017.
    """
    images = _check_images(images, "smooth_grad")
    n = check_int(n_samples, "smooth_grad", "n_samples", low=1)
    noise = check_real(noise, "smooth_grad", "noise", low=0.0)
    if batch_size is not None:
        batch_size = check_int(batch_size, "smooth_grad", "batch_size", low=1)
    gen = torch.Generator().manual_seed(int(check_seed(seed, "smooth_grad").integers(2**62)))
    B = images.shape[0]
    with eval_mode(model):
        target = _fixed_target(model, images, target, "smooth_grad")
        with torch.no_grad():
            clean = _scores(target, model(images), B, "smooth_grad")
        span = (images.amax(dim=(1, 2, 3)) - images.amin(dim=(1, 2, 3))).view(B, 1, 1, 1)
        eps = torch.randn((B * n, *images.shape[1:]), generator=gen).to(images)
        x = images.repeat_interleave(n, dim=0) + (noise * span).repeat_interleave(n, 0) * eps
        g, _ = _input_gradients(model, x, _expand(target, n, "smooth_grad"), batch_size,
                                "smooth_grad")  # (B * n, C, H, W)
    g = g.view(B, n, *images.shape[1:])  # (B, n, C, H, W)
    maps = g.abs().amax(dim=2).mean(dim=1)  # (B, H, W)
    return Explanation(maps=maps, scores=clean, attributions=g.mean(dim=1))


def integrated_gradients(model: nn.Module, images: torch.Tensor, target=None, *,
                         baseline: torch.Tensor | float = 0.0, steps: int = 32,
                         batch_size: int | None = None) -> Explanation:
    """Integrated gradients (Sundararajan et al., 2017), midpoint Riemann sum.

    ``IG_i(x) = (x_i - x'_i) · (1/m) sum_{k=0}^{m-1} dS/dx_i (x' + (k + ½)/m · (x - x'))``.
    The attributions sum to ``S(x) - S(x')`` up to the quadrature error (completeness).

    Parameters
    ----------
    baseline : Tensor broadcastable to images, or float
        The reference input ``x'`` (default black: 0).
    steps : int
        Points ``m`` on the straight path.
    batch_size : int, optional
        Rows per forward/backward; None: all ``B · steps`` rows at once (one backward).

    Returns
    -------
    Explanation
        ``attributions (B, C, H, W)``; ``maps``: their sum over channels (signed);
        ``scores``: ``S(x)``.

    References
    ----------
    M. Sundararajan, A. Taly, Q. Yan, "Axiomatic Attribution for Deep Networks", ICML 2017,
    arXiv:1703.01365.
    """
    images = _check_images(images, "integrated_gradients")
    m = check_int(steps, "integrated_gradients", "steps", low=1)
    if batch_size is not None:
        batch_size = check_int(batch_size, "integrated_gradients", "batch_size", low=1)
    if isinstance(baseline, torch.Tensor):
        try:
            x0 = torch.broadcast_to(baseline.to(images), images.shape)
        except RuntimeError:
            raise ValueError(f"integrated_gradients: baseline of shape {tuple(baseline.shape)} "
                             f"does not broadcast to images {tuple(images.shape)}") from None
    else:
        x0 = torch.full_like(images, check_real(baseline, "integrated_gradients", "baseline"))
    B = images.shape[0]
    alphas = (torch.arange(m, dtype=images.dtype) + 0.5) / m  # (m,) midpoints
    with eval_mode(model):
        target = _fixed_target(model, images, target, "integrated_gradients")
        with torch.no_grad():
            clean = _scores(target, model(images), B, "integrated_gradients")
        d = images - x0  # (B, C, H, W)
        path = (x0[:, None] + alphas.view(1, m, 1, 1, 1) * d[:, None]).flatten(0, 1)
        g, _ = _input_gradients(model, path, _expand(target, m, "integrated_gradients"),
                                batch_size, "integrated_gradients")  # (B * m, C, H, W)
    attr = d * g.view(B, m, *images.shape[1:]).mean(dim=1)  # (B, C, H, W)
    return Explanation(maps=attr.sum(dim=1), scores=clean, attributions=attr)
