"""The class activation map family: CAM, Grad-CAM and Grad-CAM++ at one layer.
"""

from __future__ import annotations

import torch
from torch import nn

from cvgeo._checks import describe
from deep.explain.hooks import (
    LayerCapture,
    _as_map,
    _check_images,
    _upsample,
    default_layer,
    eval_mode,
    resolve_layer,
)
from deep.explain.targets import ClassTarget, Explanation, _as_target, _scores


def _layer_forward(model, images, target, layer, func):
    """One forward with a hook on ``layer`` and one gradient of the summed scores.

    Returns the layer's map ``(B, C, h, w)``, its gradient, and the scores ``(B,)``.
    """
    images = _check_images(images, func)
    target = _as_target(target, func)
    layer = default_layer(model) if layer is None else layer
    x = images.detach().clone().requires_grad_(True)
    with eval_mode(model), LayerCapture(model, layer) as cap, torch.enable_grad():
        output = model(x)
        scores = _scores(target, output, x.shape[0], func)
        act = cap.activation
        (grad,) = torch.autograd.grad(scores.sum(), act, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(act)
    size = tuple(images.shape[-2:])
    return (_as_map(model, act.detach(), size, func), _as_map(model, grad, size, func),
            scores.detach())


def _cam_result(weighted: torch.Tensor, size, scores, relu: bool) -> Explanation:
    layer_maps = weighted.clamp(min=0) if relu else weighted  # (B, h, w)
    layer_maps = layer_maps.detach().float()
    return Explanation(maps=_upsample(layer_maps, size), scores=scores, layer_maps=layer_maps)


# ------------------------------------------------------------ the CAM family
def cam(model: nn.Module, images: torch.Tensor, target=None, *, layer=None,
        fc: nn.Linear | str | None = None) -> Explanation:
    """Class activation map (Zhou et al., 2016) of a network ending in GAP → linear.

    ``CAM_c = sum_k w_ck A_k``: the last feature maps ``A_k`` weighted by the linear
    head's row for class ``c``. No gradient is needed; the map is signed (no ReLU).

    Parameters
    ----------
    model : nn.Module
        Its logits must be ``fc(mean_{ij} A[:, :, i, j])`` (global average pooling of the
        ``layer`` output then the linear ``fc``); other architectures need Grad-CAM.
    images : Tensor (B, C, H, W)
    target : ClassTarget, int, sequence of ints or None
        The class per image (None: the predicted class).
    layer : nn.Module or str, optional
        The map the head pools (default :func:`default_layer`).
    fc : nn.Linear or str, optional
        The linear head (default ``model.head``).

    Returns
    -------
    Explanation
        ``layer_maps`` ``(B, h, w)`` and their upsampling ``maps``; ``scores`` the logits.

    References
    ----------
    B. Zhou, A. Khosla, A. Lapedriza, A. Oliva, A. Torralba, "Learning Deep Features for
    Discriminative Localization", CVPR 2016, arXiv:1512.04150.
    """
    images = _check_images(images, "cam")
    target = _as_target(target, "cam")
    if not isinstance(target, ClassTarget):
        raise TypeError(f"cam: target must be a class (ClassTarget, int, ints or None), got "
                        f"{describe(target)}; use grad_cam for masks and boxes")
    fc = resolve_layer(model, "head" if fc is None else fc)
    if not isinstance(fc, nn.Linear):
        raise TypeError(f"cam: fc must be an nn.Linear head, got {type(fc).__name__}")
    layer = default_layer(model) if layer is None else layer
    with eval_mode(model), LayerCapture(model, layer) as cap, torch.no_grad():
        output = model(images)
        target = target.fixed(output)
        scores = _scores(target, output, images.shape[0], "cam")
        A = _as_map(model, cap.activation, tuple(images.shape[-2:]), "cam")  # (B, F, h, w)
    if A.shape[1] != fc.in_features:
        raise ValueError(f"cam: the layer has {A.shape[1]} channels but fc takes "
                         f"{fc.in_features} features; the layer must be the one the head pools")
    idx = target.index
    idx = torch.full((A.shape[0],), idx) if isinstance(idx, int) else idx
    w = fc.weight.detach()[idx.to(fc.weight.device)]  # (B, F)
    weighted = torch.einsum("bf,bfhw->bhw", w.to(A.dtype), A)  # (B, h, w)
    return _cam_result(weighted, tuple(images.shape[-2:]), scores, relu=False)


def grad_cam(model: nn.Module, images: torch.Tensor, target=None, *,
             layer: nn.Module | str | None = None, relu: bool = True) -> Explanation:
    """Grad-CAM (Selvaraju et al., 2017) of any layer with a spatial (or token) output.

    ``alpha_k = mean_{ij} dS/dA_k[i, j]``, ``map = ReLU(sum_k alpha_k A_k)``, where ``S``
    is the target's score and ``A`` the layer's output.

    Parameters
    ----------
    model : nn.Module
    images : Tensor (B, C, H, W)
    target : target, int, sequence of ints or None
        See the module's notes (None: each image's predicted class).
    layer : nn.Module or str, optional
        A module or dotted name (``"stages.3"``, ``"blocks.-1.norm1"``); default
        :func:`default_layer`. Token outputs ``(B, T, D)`` are reshaped to the patch grid
        (:func:`tokens_to_grid`).
    relu : bool
        Keep only the positive evidence (the paper); False returns the signed map.

    Returns
    -------
    Explanation
        ``layer_maps (B, h, w)``, ``maps (B, H, W)`` and ``scores (B,)``.

    Notes
    -----
    For a network whose logits are ``fc(GAP(A))`` and ``layer`` the map ``A``,
    ``dS/dA_k[i, j] = w_ck / (h w)``, so Grad-CAM is ``ReLU(CAM) / (h w)``.

    References
    ----------
    R. R. Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization", ICCV 2017, arXiv:1610.02391.
    """
    A, G, scores = _layer_forward(model, images, target, layer, "grad_cam")
    alpha = G.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    weighted = (alpha * A).sum(dim=1)  # (B, h, w)
    return _cam_result(weighted, tuple(images.shape[-2:]), scores, relu)


def grad_cam_plus_plus(model: nn.Module, images: torch.Tensor, target=None, *,
                       layer: nn.Module | str | None = None) -> Explanation:
    """Grad-CAM++ (Chattopadhyay et al., 2018): pixel-weighted gradients.

    ``alpha_k[i, j] = g² / (2 g² + sum_{ab} A_k[a, b] · g³)`` with ``g = dS/dA_k[i, j]``
    (the closed form for an exponential of the score, as in the paper's eq. 19),
    ``w_k = sum_{ij} alpha_k[i, j] · ReLU(g)``, ``map = ReLU(sum_k w_k A_k)``. Where
    ``g = 0`` the ratio is taken as 0. Parameters and result as :func:`grad_cam`.

    References
    ----------
    A. Chattopadhyay, A. Sarkar, P. Howlader, V. N. Balasubramanian, "Grad-CAM++:
    Generalized Gradient-based Visual Explanations for Deep Convolutional Networks",
    WACV 2018, arXiv:1710.11063.
    """
    A, G, scores = _layer_forward(model, images, target, layer, "grad_cam_plus_plus")
    g2, g3 = G * G, G * G * G
    denom = 2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g3  # (B, C, h, w)
    alpha = torch.where(G != 0, g2 / torch.where(denom != 0, denom, torch.ones_like(denom)),
                        torch.zeros_like(G))
    w = (alpha * G.clamp(min=0)).sum(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    weighted = (w * A).sum(dim=1)  # (B, h, w)
    return _cam_result(weighted, tuple(images.shape[-2:]), scores, relu=True)
