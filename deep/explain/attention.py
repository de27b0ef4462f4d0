"""A Vision Transformer's attention: the weights of every attention layer, and rollout.
"""

from __future__ import annotations

import torch
from torch import nn

from cvgeo._checks import check_choice, check_real
from deep.explain.hooks import _check_images, _upsample, eval_mode, tokens_to_grid
from deep.explain.targets import Explanation


# ------------------------------------------------------------------ attention
def attention_maps(model: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    """Attention weights of every :class:`deep.layers.Attention` in ``model``.

    A forward hook on each attention layer recomputes ``softmax(q kᵀ / sqrt(d))`` from
    the layer's input with the layer's own projections (the explicit path), so the model
    keeps its fused ``scaled_dot_product_attention`` forward and its outputs are
    unchanged. The hooks are removed on return.

    Returns
    -------
    list of Tensor (B, num_heads, T, T)
        One per attention layer, in the order they ran; rows sum to 1.
    """
    from deep.layers.attention import Attention

    images = _check_images(images, "attention_maps")
    layers = [m for m in model.modules() if isinstance(m, Attention)]
    if not layers:
        raise ValueError(f"attention_maps: {type(model).__name__} has no deep.layers.Attention")
    maps: list[torch.Tensor] = []

    def hook(module, inputs, output):
        q, k, _ = module._qkv(inputs[0])  # each (B, h, T, hd)
        maps.append(((q * module.scale) @ k.transpose(-2, -1)).softmax(dim=-1))  # (B, h, T, T)

    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        with eval_mode(model), torch.no_grad():
            model(images)
    finally:
        for h in handles:
            h.remove()
    return maps


def attention_rollout(model: nn.Module, images: torch.Tensor, *,
                      head_fusion: str = "mean", residual: float = 0.5) -> Explanation:
    """Attention rollout (Abnar & Zuidema, 2020) of a Vision Transformer.

    Each layer's heads are fused (mean, max or min) into ``W``, the residual connection
    is added as ``Â = (1 - r) W + r I`` with rows renormalised, and the layers are
    multiplied, last on the left: ``R = Â_L ... Â_1``. The map is the class token's row
    of ``R`` over the patches (with average pooling and no class token: the mean of the
    patches' rows), reshaped to the patch grid; prefix tokens (registers) are dropped.

    Parameters
    ----------
    head_fusion : {"mean", "max", "min"}
    residual : float
        ``r`` in [0, 1]: 0.5 in the paper.

    Returns
    -------
    Explanation
        ``layer_maps (B, H / p, W / p)``, ``maps (B, H, W)``; no scores.

    References
    ----------
    S. Abnar, W. Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020,
    arXiv:2005.00928.
    """
    head_fusion = check_choice(head_fusion, "attention_rollout", "head_fusion",
                               ("mean", "max", "min"))
    r = check_real(residual, "attention_rollout", "residual", low=0.0, high=1.0)
    maps = attention_maps(model, images)
    B, _, T, _ = maps[0].shape
    eye = torch.eye(T, dtype=maps[0].dtype)
    rollout = eye.expand(B, T, T)
    for w in maps:
        fused = {"mean": w.mean(dim=1), "max": w.amax(dim=1), "min": w.amin(dim=1)}[head_fusion]
        a = (1 - r) * fused + r * eye  # (B, T, T)
        a = a / a.sum(dim=-1, keepdim=True)
        rollout = a @ rollout  # (B, T, T)
    prefix = int(getattr(model, "num_prefix_tokens", 0))
    has_cls = prefix > 0 and getattr(model, "cls_token", True) is not None
    row = rollout[:, 0] if has_cls else rollout[:, prefix:].mean(dim=1)  # (B, T)
    grid = tokens_to_grid(model, row[..., None], tuple(images.shape[-2:]))[:, 0]  # (B, gh, gw)
    return Explanation(maps=_upsample(grid.float(), tuple(images.shape[-2:])), layer_maps=grid)
