"""Detection losses: the focal loss of RetinaNet."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

__all__ = ["sigmoid_focal_loss"]


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, *,
                       alpha: float | None = 0.25, gamma: float = 2.0,
                       reduction: Literal["none", "mean", "sum"] = "none") -> torch.Tensor:
    """Focal loss ``-α_t (1 - p_t)^γ log(p_t)`` on independent sigmoid outputs.

    ``p_t`` is the predicted probability of the true outcome (``p`` for a target of 1,
    ``1 - p`` for 0) and ``α_t = α`` for targets of 1, ``1 - α`` for 0. With ``γ = 0`` and
    ``alpha=None`` it is the binary cross-entropy. ``log(p_t)`` is computed from the
    logits (``binary_cross_entropy_with_logits``), so it stays finite for any logit.

    Parameters
    ----------
    logits : Tensor
        Any shape.
    targets : Tensor
        The same shape, values in [0, 1].
    alpha : float in [0, 1] or None, optional
        None: no class weighting.
    gamma : float, optional
        >= 0; the focusing exponent.
    reduction : {"none", "mean", "sum"}, optional

    Returns
    -------
    Tensor
        Elementwise, or reduced to a scalar.

    References
    ----------
    T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal Loss for Dense Object
    Detection", ICCV 2017. doi:10.1109/ICCV.2017.324

    Examples
    --------
    >>> import torch
    >>> sigmoid_focal_loss(torch.tensor([0.0]), torch.tensor([1.0]), alpha=None, gamma=1.0)
    tensor([0.3466])
    """
    func = "sigmoid_focal_loss"
    if not isinstance(logits, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError(f"{func}: logits and targets must be tensors, got "
                        f"{type(logits).__name__} and {type(targets).__name__}")
    if logits.shape != targets.shape:
        raise ValueError(f"{func}: targets must have the shape of logits {tuple(logits.shape)}, "
                         f"got {tuple(targets.shape)}")
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float))
                              or not 0 <= alpha <= 1):
        raise ValueError(f"{func}: alpha must be in [0, 1] or None, got {alpha!r}")
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma >= 0:
        raise ValueError(f"{func}: gamma must be a number >= 0, got {gamma!r}")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{func}: reduction must be one of 'none', 'mean', 'sum', got "
                         f"{reduction!r}")
    targets = targets.to(logits.dtype)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean() if loss.numel() else loss.sum()
    return loss
