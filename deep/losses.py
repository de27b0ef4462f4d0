"""Segmentation losses with one explicit ``mode``, and U-Net's border weight map.

Conventions
-----------
Every loss takes raw ``logits`` and a ``target`` and says what they mean with ``mode``:

============ ======================== ==================================================
mode         logits                   target
============ ======================== ==================================================
"binary"     (B, 1, H, W)             (B, H, W) or (B, 1, H, W), values 0 / 1
"multiclass" (B, K, H, W), K >= 2     (B, H, W) integer class indices in [0, K)
"multilabel" (B, K, H, W)             (B, K, H, W), values 0 / 1 per channel
============ ======================== ==================================================

Probabilities are ``sigmoid(logits)`` for "binary" and "multilabel" and
``softmax(logits, dim=1)`` for "multiclass". Target elements equal to ``ignore_index``
(an int, or None for none) contribute nothing to a loss or to its normaliser. Losses
return a scalar tensor: the mean over the elements that are not ignored (pixels, or
pixel-channel pairs for "multilabel"), and 0 (with a gradient of 0) when every element
is ignored.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi

from cvgeo._checks import check_real, describe

__all__ = ["cross_entropy", "dice_loss", "focal_loss", "unet_weight_map"]

Mode = Literal["binary", "multiclass", "multilabel"]


def _prepare(logits, target, mode, ignore_index, func: str):
    """Validate; return ``(logits, target as float/long in the logits' layout, valid mask)``.

    "binary" and "multilabel" give a float target and a mask shaped like the logits;
    "multiclass" gives a long target ``(B, H, W)`` (ignored pixels set to 0) and a mask
    ``(B, H, W)``.
    """
    if mode not in ("binary", "multiclass", "multilabel"):
        raise ValueError(f"{func}: mode must be 'binary', 'multiclass' or 'multilabel', got "
                         f"{describe(mode)}")
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"{func}: logits must be a floating-point torch.Tensor, got "
                        f"{describe(logits)}")
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"{func}: target must be a torch.Tensor, got {describe(target)}; "
                        "convert numpy masks with deep.data.masks_to_tensor")
    if logits.ndim != 4:
        raise ValueError(f"{func}: logits must be (B, K, H, W), got shape {tuple(logits.shape)}")
    if ignore_index is not None and (isinstance(ignore_index, bool)
                                     or not isinstance(ignore_index, int)):
        raise TypeError(f"{func}: ignore_index must be an int or None, got "
                        f"{describe(ignore_index)}")
    B, K, H, W = logits.shape
    if mode == "binary":
        if K != 1:
            raise ValueError(f"{func}: mode='binary' needs logits (B, 1, H, W), got shape "
                             f"{tuple(logits.shape)}")
        if target.ndim == 3:
            target = target[:, None]  # (B, 1, H, W)
    if mode == "multiclass":
        if K < 2:
            raise ValueError(f"{func}: mode='multiclass' needs logits (B, K >= 2, H, W), got "
                             f"shape {tuple(logits.shape)}; use mode='binary' for one channel")
        want = (B, H, W)
    else:
        want = (B, K, H, W)
    if tuple(target.shape) != want:
        raise ValueError(f"{func}: target must have shape {want} for mode={mode!r} and logits "
                         f"{tuple(logits.shape)}, got {tuple(target.shape)}")
    if target.is_floating_point():
        if mode == "multiclass" or not torch.equal(target, target.round()):
            raise TypeError(f"{func}: target must hold integer labels for mode={mode!r}, got "
                            f"non-integer values of dtype {target.dtype}")
    valid = torch.ones_like(target, dtype=torch.bool) if ignore_index is None \
        else target != ignore_index
    t = target[valid]
    high = K - 1 if mode == "multiclass" else 1
    if t.numel() and (t.min() < 0 or t.max() > high):
        extra = "" if ignore_index is None else f" or equal ignore_index={ignore_index}"
        raise ValueError(f"{func}: target values must lie in [0, {high}] for mode={mode!r}"
                         f"{extra}, got range [{t.min().item()}, {t.max().item()}]")
    if mode == "multiclass":
        target = torch.where(valid, target, torch.zeros_like(target)).long()
    else:
        target = torch.where(valid, target, torch.zeros_like(target)).to(logits.dtype)
    return logits, target, valid


def _weighted_mean(loss, valid, pixel_weight, func: str):
    """``sum(w * loss over valid) / count(valid)``; ``loss`` and ``valid`` share a shape."""
    if pixel_weight is not None:
        if not isinstance(pixel_weight, torch.Tensor):
            raise TypeError(f"{func}: pixel_weight must be a torch.Tensor (B, H, W) or None, "
                            f"got {describe(pixel_weight)}")
        w = pixel_weight.to(loss.dtype)
        if w.ndim == 3 and loss.ndim == 4:
            w = w[:, None]  # (B, 1, H, W), broadcast over channels
        try:
            w = torch.broadcast_to(w, loss.shape)
        except RuntimeError:
            raise ValueError(f"{func}: pixel_weight must be (B, H, W) matching the target, got "
                             f"shape {tuple(pixel_weight.shape)} for {tuple(loss.shape)}") from None
        if not torch.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"{func}: pixel_weight must be finite and non-negative")
        loss = loss * w
    n = valid.sum()
    return torch.where(valid, loss, torch.zeros_like(loss)).sum() / n.clamp(min=1)


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, *, mode: Mode,
                  ignore_index: int | None = None, pixel_weight: torch.Tensor | None = None,
                  class_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Pixel-wise cross-entropy (softmax or sigmoid, by ``mode``), optionally weighted.

    Parameters
    ----------
    logits, target, mode, ignore_index
        See the module's table.
    pixel_weight : Tensor of shape (B, H, W), optional
        Non-negative weight per pixel ``w(x)``, e.g. :func:`unet_weight_map`: the loss is
        ``sum_x w(x) l(x) / N`` over the ``N`` pixels not ignored (the paper's energy
        ``E = sum w(x) log p_l(x)(x)``, divided by ``N``).
    class_weight : Tensor of shape (K,), optional
        "multiclass" only: weight of each true class (as ``F.cross_entropy``'s
        ``weight``), multiplied into ``pixel_weight``; the normaliser stays ``N``.

    Returns
    -------
    Tensor, scalar

    Raises
    ------
    TypeError, ValueError
        Bad tensors, shapes or values for ``mode`` (see the module's table).

    Examples
    --------
    >>> import torch
    >>> logits = torch.zeros(1, 3, 2, 2)
    >>> round(cross_entropy(logits, torch.zeros(1, 2, 2, dtype=torch.long),
    ...                     mode="multiclass").item(), 4)  # log 3
    1.0986
    """
    func = "cross_entropy"
    logits, t, valid = _prepare(logits, target, mode, ignore_index, func)
    if mode == "multiclass":
        loss = F.cross_entropy(logits, t, reduction="none")  # (B, H, W)
        if class_weight is not None:
            if (not isinstance(class_weight, torch.Tensor)
                    or class_weight.shape != (logits.shape[1],)):
                raise ValueError(f"{func}: class_weight must be a tensor of shape "
                                 f"({logits.shape[1]},), got {describe(class_weight)}")
            loss = loss * class_weight.to(loss)[t]
    else:
        if class_weight is not None:
            raise ValueError(f"{func}: class_weight is for mode='multiclass'; use pixel_weight "
                             f"for mode={mode!r}")
        loss = F.binary_cross_entropy_with_logits(logits, t, reduction="none")  # (B, K, H, W)
    return _weighted_mean(loss, valid, pixel_weight, func)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, *, mode: Mode, gamma: float = 2.0,
               alpha: float | torch.Tensor | None = None,
               ignore_index: int | None = None) -> torch.Tensor:
    """Focal loss ``-alpha_t (1 - p_t)^gamma log p_t`` (Lin et al., 2017).

    Parameters
    ----------
    logits, target, mode, ignore_index
        See the module's table.
    gamma : float >= 0
        Focusing parameter; 0 gives (alpha-weighted) cross-entropy.
    alpha : float in [0, 1], Tensor of shape (K,), or None
        "binary"/"multilabel": a float, the weight ``alpha`` of positives and
        ``1 - alpha`` of negatives. "multiclass": a tensor of per-class weights.
        None: no weighting.

    Returns
    -------
    Tensor, scalar
        The mean over the elements that are not ignored.

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollár, "Focal Loss for Dense
       Object Detection", ICCV 2017, arXiv:1708.02002.
    """
    func = "focal_loss"
    gamma = check_real(gamma, func, "gamma", low=0.0)
    logits, t, valid = _prepare(logits, target, mode, ignore_index, func)
    if mode == "multiclass":
        logp = F.log_softmax(logits, dim=1).gather(1, t[:, None])[:, 0]  # (B, H, W): log p_t
        weight = None
        if alpha is not None:
            if not isinstance(alpha, torch.Tensor) or alpha.shape != (logits.shape[1],):
                raise ValueError(f"{func}: alpha must be a tensor of shape ({logits.shape[1]},) "
                                 f"for mode='multiclass', got {describe(alpha)}")
            weight = alpha.to(logits)[t]
    else:
        # log p_t = -BCE(logits, t); stable for large |logits|
        logp = -F.binary_cross_entropy_with_logits(logits, t, reduction="none")
        weight = None
        if alpha is not None:
            a = check_real(alpha, func, "alpha", low=0.0, high=1.0) if not isinstance(
                alpha, torch.Tensor) else None
            if a is None:
                raise TypeError(f"{func}: alpha must be a float for mode={mode!r}, got a tensor")
            weight = t * a + (1 - t) * (1 - a)
    loss = -(1 - logp.exp()).pow(gamma) * logp
    if weight is not None:
        loss = loss * weight
    return _weighted_mean(loss, valid, None, func)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, *, mode: Mode,
              ignore_index: int | None = None, smooth: float = 1.0) -> torch.Tensor:
    """Soft Dice loss ``1 - mean_c (2 sum p t + s) / (sum p + sum t + s)``.

    Parameters
    ----------
    logits, target, mode, ignore_index
        See the module's table.
    smooth : float >= 0
        ``s``: added to numerator and denominator. It keeps a class that is absent from
        both the target and the prediction at Dice 1 (loss 0) instead of 0 / 0.

    Returns
    -------
    Tensor, scalar in [0, 1]

    Notes
    -----
    Sums run over the batch and the pixels that are not ignored, per class: "binary"
    scores the foreground channel alone, "multiclass" every class (one-hot target,
    softmax probabilities), "multilabel" every channel. The mean is over classes
    (Milletari et al.'s V-Net loss with a linear, not squared, denominator).

    References
    ----------
    .. [1] F. Milletari, N. Navab and S.-A. Ahmadi, "V-Net: Fully Convolutional Neural
       Networks for Volumetric Medical Image Segmentation", 3DV 2016, arXiv:1606.04797.
    """
    func = "dice_loss"
    smooth = check_real(smooth, func, "smooth", low=0.0)
    logits, t, valid = _prepare(logits, target, mode, ignore_index, func)
    if mode == "multiclass":
        K = logits.shape[1]
        p = logits.softmax(dim=1)  # (B, K, H, W)
        onehot = F.one_hot(t, K).permute(0, 3, 1, 2).to(p.dtype)  # (B, K, H, W)
        m = valid[:, None].to(p.dtype)  # (B, 1, H, W)
    else:
        p = logits.sigmoid()
        onehot = t
        m = valid.to(p.dtype)
    dims = (0, 2, 3)
    inter = (p * onehot * m).sum(dims)  # (K,)
    denom = (p * m).sum(dims) + (onehot * m).sum(dims)
    dice = (2 * inter + smooth) / (denom + smooth).clamp(min=torch.finfo(p.dtype).tiny)
    return 1 - dice.mean()


def unet_weight_map(instances: np.ndarray, *, labels: np.ndarray | None = None,
                    w0: float = 10.0, sigma: float = 5.0, class_balance: bool = True,
                    background_only: bool = False) -> np.ndarray:
    """U-Net's pixel weights: class balance plus a bump in the gaps between objects.

    ``w(x) = w_c(x) + w0 exp(-(d1(x) + d2(x))^2 / (2 sigma^2))`` (the paper's eq. 2),
    where ``d1`` and ``d2`` are the distances to the nearest and second-nearest object.

    Parameters
    ----------
    instances : ndarray of int, shape (H, W)
        Object ids, 0 for background; every other value is one object.
    labels : ndarray of int, shape (H, W), optional
        Class of each pixel for the balance term; by default ``instances > 0``
        (background / foreground).
    w0 : float >= 0
        Height of the border term (10 in the paper).
    sigma : float > 0
        Width of the border term in pixels (about 5 in the paper).
    class_balance : bool
        ``w_c(x) = N / (M n_c)`` for a pixel of class ``c`` with ``n_c`` pixels among
        ``N``, ``M`` classes present (so a class's total weight is ``N / M``); False gives
        ``w_c = 1``.
    background_only : bool
        Add the border term only where ``instances == 0`` (the gaps themselves); the
        paper's formula adds it everywhere (inside an object ``d1 = 0``).

    Returns
    -------
    ndarray of float32, shape (H, W)

    Raises
    ------
    TypeError, ValueError
        Non-integer or non-2-D ``instances``, ``labels`` of another shape, bad numbers.

    Notes
    -----
    ``d_k(x)`` is the Euclidean distance from pixel ``x`` to the nearest pixel of object
    ``k`` (0 on the object), from ``scipy.ndimage.distance_transform_edt`` of the
    object's complement; ``d1 <= d2`` are the two smallest over the objects. With fewer
    than two objects there is no border term.

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer and T. Brox, "U-Net: Convolutional Networks for
       Biomedical Image Segmentation", MICCAI 2015, arXiv:1505.04597, section 3.

    Examples
    --------
    >>> import numpy as np
    >>> inst = np.array([[1, 1, 0, 0, 2, 2]])
    >>> w = unet_weight_map(inst, class_balance=False, w0=10, sigma=5)
    >>> round(float(w[0, 2]), 4)  # d1 = 1, d2 = 2: 1 + 10 exp(-9 / 50)
    9.3527
    """
    func = "unet_weight_map"
    if not isinstance(instances, np.ndarray) or instances.dtype.kind not in "iub":
        raise TypeError(f"unet_weight_map: instances must be a numpy array of integer ids, got "
                        f"{describe(instances)}")
    if instances.ndim != 2 or 0 in instances.shape:
        raise ValueError(f"unet_weight_map: instances must be (H, W), got shape "
                         f"{instances.shape}")
    if labels is None:
        labels = (instances > 0).astype(np.int64)
    elif not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iub":
        raise TypeError(f"unet_weight_map: labels must be a numpy array of integer classes, "
                        f"got {describe(labels)}")
    elif labels.shape != instances.shape:
        raise ValueError(f"unet_weight_map: labels must have the shape of instances "
                         f"{instances.shape}, got {labels.shape}")
    w0 = check_real(w0, func, "w0", low=0.0)
    sigma = check_real(sigma, func, "sigma", low=0.0, low_inclusive=False)
    n = labels.size
    if class_balance:
        classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        wc = (n / (classes.size * counts))[inverse.reshape(labels.shape)]
    else:
        wc = np.ones(labels.shape)
    ids = np.unique(instances)
    ids = ids[ids != 0]
    if ids.size < 2 or w0 == 0:
        return wc.astype(np.float32)
    d1 = np.full(instances.shape, np.inf)
    d2 = np.full(instances.shape, np.inf)
    for k in ids:
        d = ndi.distance_transform_edt(instances != k)  # distance to object k, 0 on it
        d2 = np.minimum(d2, np.maximum(d1, d))  # keep the two smallest so far
        d1 = np.minimum(d1, d)
    border = w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma ** 2))
    if background_only:
        border = np.where(instances == 0, border, 0.0)
    return (wc + border).astype(np.float32)
