"""Gradient-descent optimisers from the notes, as ``torch.optim.Optimizer`` subclasses.

Each follows the update equations written out in its docstring, in the same order of
operations as PyTorch's reference (single-tensor) implementation, so that 100 steps
agree with ``torch.optim`` to float32 round-off (``tests/deep/test_optim.py``).

Public names: :class:`SGD`, :class:`RMSprop`, :class:`Adam`, :class:`AdamW`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from cvgeo._checks import describe

__all__ = ["SGD", "Adam", "AdamW", "RMSprop"]


def _check_nonneg(name: str, value, cls: str, *, upper: float | None = None) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value) and value >= 0.0 and (upper is None or value < upper)
    if not ok:
        bound = f"in [0, {upper:g})" if upper is not None else ">= 0"
        raise ValueError(f"{cls}: {name} must be a finite number {bound}, got {describe(value)}")
    return float(value)


def _check_betas(betas, cls: str) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{cls}: betas must be a pair (beta1, beta2) in [0, 1), got "
                         f"{describe(betas)}")
    return (_check_nonneg("betas[0]", betas[0], cls, upper=1.0),
            _check_nonneg("betas[1]", betas[1], cls, upper=1.0))


class _Optimizer(torch.optim.Optimizer):
    """The loop every optimiser here shares: evaluate the closure (if any) with gradients
    on, then update each parameter that has a gradient through :meth:`_update`."""

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, group, self.state[p])
        return loss

    def _update(self, p: torch.Tensor, g: torch.Tensor, group: dict, state: dict) -> None:
        raise NotImplementedError


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and weight decay.

    For each parameter ``θ`` with gradient ``g`` at step ``t``:

    * ``g ← g + λ θ`` (L2 weight decay ``λ = weight_decay``);
    * with momentum ``μ > 0``: ``b ← g`` at ``t = 1``, else ``b ← μ b + (1 − τ) g``
      (dampening ``τ``); the direction is ``g + μ b`` (Nesterov) or ``b``;
    * ``θ ← θ − η · direction``.

    Parameters
    ----------
    params : iterable of Tensor or of dict (parameter groups)
    lr : float
        Learning rate ``η`` (> 0).
    momentum, dampening, weight_decay : float, keyword-only, >= 0
    nesterov : bool
        Needs ``momentum > 0`` and ``dampening = 0``.

    References
    ----------
    I. Sutskever, J. Martens, G. Dahl and G. Hinton, "On the importance of initialization
    and momentum in deep learning", ICML 2013.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, *, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        lr = _check_nonneg("lr", lr, "SGD")
        momentum = _check_nonneg("momentum", momentum, "SGD")
        dampening = _check_nonneg("dampening", dampening, "SGD")
        weight_decay = _check_nonneg("weight_decay", weight_decay, "SGD")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: nesterov needs momentum > 0 and dampening = 0, got "
                             f"momentum={momentum}, dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=bool(nesterov)))

    def _update(self, p: torch.Tensor, g: torch.Tensor, group: dict, state: dict) -> None:
        lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov = group["weight_decay"], group["nesterov"]
        d = g
        if wd != 0:
            d = d.add(p, alpha=wd)
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = torch.clone(d).detach()
                state["momentum_buffer"] = buf
            else:
                buf.mul_(mu).add_(d, alpha=1 - tau)
            d = d.add(buf, alpha=mu) if nesterov else buf
        p.add_(d, alpha=-lr)


class RMSprop(_Optimizer):
    """RMSProp: divide the gradient by a running root-mean-square of recent gradients.

    ``g ← g + λ θ``; ``v ← α v + (1 − α) g²``; with ``centered``, ``m ← α m + (1 − α) g``
    and the denominator is ``√(v − m²) + ε``, else ``√v + ε``; with momentum ``μ > 0``,
    ``b ← μ b + g / denom`` and ``θ ← θ − η b``, else ``θ ← θ − η g / denom``.

    Parameters
    ----------
    params : iterable
    lr : float
    alpha : float in [0, 1)
        Decay of the squared-gradient average (0.99).
    eps, weight_decay, momentum : float, >= 0
    centered : bool
        Normalise by the estimated variance instead of the second moment.

    References
    ----------
    T. Tieleman and G. Hinton, Lecture 6.5 "rmsprop", COURSERA: Neural Networks for
    Machine Learning, 2012. A. Graves, "Generating sequences with recurrent neural
    networks", arXiv:1308.0850 (the centred form).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, *, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False):
        super().__init__(params, dict(
            lr=_check_nonneg("lr", lr, "RMSprop"),
            alpha=_check_nonneg("alpha", alpha, "RMSprop", upper=1.0),
            eps=_check_nonneg("eps", eps, "RMSprop"),
            weight_decay=_check_nonneg("weight_decay", weight_decay, "RMSprop"),
            momentum=_check_nonneg("momentum", momentum, "RMSprop"), centered=bool(centered)))

    def _update(self, p: torch.Tensor, g: torch.Tensor, group: dict, state: dict) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, mu, centered = group["weight_decay"], group["momentum"], group["centered"]
        if not state:
            state["step"] = 0
            state["square_avg"] = torch.zeros_like(p)
            if mu > 0:
                state["momentum_buffer"] = torch.zeros_like(p)
            if centered:
                state["grad_avg"] = torch.zeros_like(p)
        state["step"] += 1
        if wd != 0:
            g = g.add(p, alpha=wd)
        v = state["square_avg"]
        v.mul_(alpha).addcmul_(g, g, value=1 - alpha)  # v ← α v + (1 − α) g²
        if centered:
            m = state["grad_avg"]
            m.lerp_(g, 1 - alpha)  # m ← α m + (1 − α) g
            denom = v.addcmul(m, m, value=-1).sqrt_().add_(eps)
        else:
            denom = v.sqrt().add_(eps)
        if mu > 0:
            buf = state["momentum_buffer"]
            buf.mul_(mu).addcdiv_(g, denom)
            p.add_(buf, alpha=-lr)
        else:
            p.addcdiv_(g, denom, value=-lr)


class Adam(_Optimizer):
    """Adam: bias-corrected running averages of the gradient and its square.

    ``g ← g + λ θ`` (L2 decay, coupled with the gradient); ``m ← β₁ m + (1 − β₁) g``;
    ``v ← β₂ v + (1 − β₂) g²`` (with ``amsgrad``, ``v̂ ← max(v̂, v)`` is used in place of
    ``v``); ``θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)``.

    Parameters
    ----------
    params : iterable
    lr : float
    betas : (float, float) in [0, 1)
    eps, weight_decay : float, >= 0
    amsgrad : bool

    References
    ----------
    D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
    arXiv:1412.6980. S. J. Reddi, S. Kale and S. Kumar, "On the Convergence of Adam and
    Beyond", ICLR 2018 (AMSGrad).
    """

    _decoupled = False

    def __init__(self, params: Iterable, lr: float = 1e-3, *,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        name = type(self).__name__
        super().__init__(params, dict(
            lr=_check_nonneg("lr", lr, name), betas=_check_betas(betas, name),
            eps=_check_nonneg("eps", eps, name),
            weight_decay=_check_nonneg("weight_decay", weight_decay, name),
            amsgrad=bool(amsgrad)))

    def _update(self, p: torch.Tensor, g: torch.Tensor, group: dict, state: dict) -> None:
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad = group["weight_decay"], group["amsgrad"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
            if amsgrad:
                state["max_exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            if self._decoupled:
                p.mul_(1 - lr * wd)  # θ ← θ (1 − η λ), outside the moments
            else:
                g = g.add(p, alpha=wd)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - b1)  # m ← β₁ m + (1 − β₁) g
        v.mul_(b2).addcmul_(g, g, value=1 - b2)  # v ← β₂ v + (1 − β₂) g²
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        step_size = lr / bc1
        if amsgrad:
            vmax = state["max_exp_avg_sq"]
            torch.maximum(vmax, v, out=vmax)
            v = vmax
        denom = (v.sqrt() / math.sqrt(bc2)).add_(eps)
        p.addcdiv_(m, denom, value=-step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``θ ← θ (1 − η λ)`` before the Adam step, and the
    gradient is left alone (Loshchilov & Hutter). Same parameters as :class:`Adam`;
    ``weight_decay`` defaults to 0.01.

    References
    ----------
    I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019,
    arXiv:1711.05101.
    """

    _decoupled = True

    def __init__(self, params: Iterable, lr: float = 1e-3, *,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
