"""Contract tests over every model: finite forward, a gradient for every parameter,
deterministic eval. Add one entry to ``MODELS`` per model (tiny configurations)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pytest
import torch
from torch import nn

from deep.layers import MoE, RMSNorm, SwiGLU, moe_aux_loss
from deep.models import ViT, create_vit


@dataclass(frozen=True)
class ModelCase:
    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple[int, int, int, int]


def _vit(**kw):
    args = dict(image_size=16, patch_size=4, in_chans=3, num_classes=4, dim=16, depth=2,
                num_heads=2, mlp_ratio=2.0)
    return lambda: ViT(**{**args, **kw})


MODELS = [
    ModelCase("vit_cls", _vit(), (2, 3, 16, 16)),
    ModelCase("vit_gap", _vit(pool="gap"), (2, 3, 16, 16)),
    ModelCase("vit_unfused", _vit(fused_attn=False), (2, 3, 16, 16)),
    ModelCase("vit_rmsnorm_swiglu", _vit(norm_layer=RMSNorm, mlp_layer=SwiGLU), (2, 3, 16, 16)),
    # gap pooling: with "cls" only the class token's expert in the last block reaches the
    # logits, and the other experts there rightly get a zero gradient.
    ModelCase("vit_moe", _vit(pool="gap", mlp_layer=partial(MoE, num_experts=3, top_k=2)),
              (4, 3, 16, 16)),
    ModelCase("vit_grey_rect", _vit(in_chans=1, image_size=(8, 12), patch_size=2),
              (2, 1, 8, 12)),
    ModelCase("vit_dropout", _vit(drop_rate=0.1, attn_drop_rate=0.1, drop_path_rate=0.2),
              (2, 3, 16, 16)),
    ModelCase("vit_tiny_patch16_224_shrunk",
              lambda: create_vit("vit_tiny_patch16_224", image_size=32, depth=1,
                                 num_classes=3), (2, 3, 32, 32)),
]
IDS = [c.name for c in MODELS]


def _build(case: ModelCase) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = case.build()
    x = torch.randn(case.input_shape, generator=torch.Generator().manual_seed(1))
    return model, x


@pytest.mark.parametrize("case", MODELS, ids=IDS)
def test_forward_is_finite(case):
    model, x = _build(case)
    out = model.eval()(x)
    assert out.shape[0] == x.shape[0] and out.ndim == 2
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("case", MODELS, ids=IDS)
def test_every_parameter_gets_a_gradient(case):
    model, x = _build(case)
    model.train()
    torch.manual_seed(3)
    out = model(x)
    loss = out.square().mean() + out.mean()
    aux = moe_aux_loss(model)
    if aux is not None:  # the MoE router also learns through the balancing loss
        loss = loss + 0.01 * aux
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    zero = [n for n, p in model.named_parameters() if not p.grad.abs().sum() > 0]
    assert not zero, f"zero gradient for {zero}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("case", MODELS, ids=IDS)
def test_eval_output_is_deterministic(case):
    model, x = _build(case)
    model.eval()
    with torch.no_grad():
        a, b = model(x), model(x)
    assert torch.equal(a, b)
    # and a rebuilt model from the same seed gives the same output
    other, _ = _build(case)
    with torch.no_grad():
        assert torch.equal(other.eval()(x), a)
