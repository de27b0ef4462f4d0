"""deep.models: the Vision Transformer, its position embeddings and named configurations."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deep.layers import MoE, RMSNorm, SwiGLU
from deep.models import VIT_CONFIGS, ViT, create_vit, list_vit_configs, resample_pos_embed


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _vit_param_formula(*, image_size, patch_size, in_chans, num_classes, dim, depth,
                       mlp_ratio=4.0, **_) -> int:
    """Closed form for a ViT with qkv bias, class token, final norm and head."""
    n = (image_size // patch_size) ** 2
    hidden = int(dim * mlp_ratio)
    patch = in_chans * patch_size ** 2 * dim + dim
    block = (2 * 2 * dim  # two LayerNorms
             + 3 * dim * dim + 3 * dim + dim * dim + dim  # qkv + proj
             + dim * hidden + hidden + hidden * dim + dim)  # fc1 + fc2
    return patch + dim + (n + 1) * dim + depth * block + 2 * dim + dim * num_classes + num_classes


def test_vit_b16_has_86_567_656_parameters():
    # Allocated for real on the CPU (not on the meta device): the paper's ViT-B/16 and
    # timm's vit_base_patch16_224 (qkv bias, class token, pos embed incl. cls, final
    # LayerNorm, 1000-class head).
    model = ViT(image_size=224, patch_size=16, in_chans=3, num_classes=1000, dim=768, depth=12,
                num_heads=12, mlp_ratio=4.0)
    assert _n_params(model) == 86_567_656
    assert model.pos_embed.shape == (1, 197, 768)


@pytest.mark.parametrize("name", sorted(VIT_CONFIGS))
def test_named_configs_parameter_counts(name):
    # timm's counts for the same architectures (vit_*_224 with 1000 classes).
    known = {
        "vit_tiny_patch16_224": 5_717_416, "vit_small_patch16_224": 22_050_664,
        "vit_small_patch32_224": 22_878_952, "vit_base_patch16_224": 86_567_656,
        "vit_base_patch32_224": 88_224_232, "vit_large_patch16_224": 304_326_632,
        "vit_large_patch32_224": 306_535_400, "vit_huge_patch14_224": 632_045_800,
    }
    with torch.device("meta"):  # shapes only: no memory for ViT-H
        model = create_vit(name)
    cfg = VIT_CONFIGS[name]
    expected = _vit_param_formula(**cfg.kwargs(), in_chans=3, num_classes=1000)
    assert _n_params(model) == expected
    base = name.replace("deit_", "vit_")
    assert _n_params(model) == known[base]


def test_create_vit_overrides_and_errors():
    m = create_vit("vit_tiny_patch16_224", image_size=32, num_classes=7, depth=1)
    assert m.head.out_features == 7 and len(m.blocks) == 1 and m.grid == (2, 2)
    assert "vit_base_patch16_224" in list_vit_configs()
    with pytest.raises(ValueError, match="create_vit: name must be one of"):
        create_vit("vit_gigantic")


def _tiny(**kw) -> ViT:
    args = dict(image_size=16, patch_size=4, in_chans=3, num_classes=5, dim=16, depth=2,
                num_heads=2)
    return ViT(**{**args, **kw})


def test_forward_features_and_head_shapes():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 16, 16)
    cls = _tiny().eval()
    feats = cls.forward_features(x)
    assert feats.shape == (2, 17, 16)  # class token + 4x4 patches
    torch.testing.assert_close(cls.forward_head(feats), cls(x))
    torch.testing.assert_close(cls.forward_head(feats, pre_logits=True), feats[:, 0])
    gap = _tiny(pool="gap").eval()
    feats = gap.forward_features(x)
    assert feats.shape == (2, 16, 16) and gap.cls_token is None
    torch.testing.assert_close(gap.forward_head(feats, pre_logits=True), feats.mean(1))
    headless = _tiny(num_classes=0).eval()
    assert headless(x).shape == (2, 16)


def test_injected_norm_and_mlp_layers_are_used():
    m = _tiny(norm_layer=RMSNorm, mlp_layer=SwiGLU)
    assert isinstance(m.norm, RMSNorm) and all(isinstance(b.mlp, SwiGLU) for b in m.blocks)
    m = _tiny(mlp_layer=MoE)
    assert all(isinstance(b.mlp, MoE) for b in m.blocks)


def test_fused_and_explicit_model_agree_and_attention_maps():
    torch.manual_seed(1)
    fused = _tiny().eval()
    explicit = _tiny(fused_attn=False).eval()
    explicit.load_state_dict(fused.state_dict())
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        assert (fused(x) - explicit(x)).abs().max() < 1e-5
    maps = fused.attention_maps(x)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 17, 17)
    torch.testing.assert_close(maps[1].sum(-1), torch.ones(3, 2, 17))


def test_position_embedding_resampling():
    torch.manual_seed(2)
    m = _tiny().eval()
    # Same grid: unchanged. New grid: class embedding copied, patch grid resampled.
    same = resample_pos_embed(m.pos_embed, old_grid=(4, 4), new_grid=(4, 4))
    assert same is m.pos_embed
    big = resample_pos_embed(m.pos_embed, old_grid=(4, 4), new_grid=(8, 6))
    assert big.shape == (1, 1 + 48, 16)
    torch.testing.assert_close(big[:, 0], m.pos_embed[:, 0])
    # A field that varies along rows only: constant along columns after resampling, and
    # interior values follow the Keys cubic kernel (a = -0.75, torch's bicubic).
    ramp = torch.arange(4.0).reshape(1, 4, 1, 1).expand(1, 4, 4, 2).reshape(1, 16, 2)
    up = resample_pos_embed(ramp, old_grid=(4, 4), new_grid=(8, 8), num_prefix_tokens=0)
    rows = up.reshape(8, 8, 2)[:, 3, 0]
    torch.testing.assert_close(up.reshape(8, 8, 2), rows[:, None, None].expand(8, 8, 2))

    def keys(t, a=-0.75):
        t = abs(t)
        return ((a + 2) * t ** 3 - (a + 3) * t ** 2 + 1) if t <= 1 else (
            a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a)

    for i in (3, 4):  # output row i samples input row (i + 0.5) / 2 - 0.5; taps 0..3
        c = (i + 0.5) / 2 - 0.5
        expected = sum(j * keys(c - j) for j in range(4))
        assert abs(rows[i].item() - expected) < 1e-5
    assert torch.all(rows[1:] >= rows[:-1])  # monotone everywhere
    const = resample_pos_embed(torch.full((1, 1 + 16, 3), 0.7), old_grid=(4, 4),
                               new_grid=(7, 5))
    torch.testing.assert_close(const, torch.full((1, 1 + 35, 3), 0.7))
    # The model runs at other sizes (multiples of the patch) and keeps the gradient.
    x = torch.randn(2, 3, 24, 20, requires_grad=False)
    out = m(x)
    assert out.shape == (2, 5) and torch.isfinite(out).all()
    m.train()
    m(x).sum().backward()
    assert m.pos_embed.grad is not None and m.pos_embed.grad[:, 1:].abs().sum() > 0


def test_vit_errors():
    with pytest.raises(ValueError, match="ViT: image_size must be a multiple of patch_size=16 "
                                         "in both height and width, got 225x224"):
        ViT(image_size=(225, 224), patch_size=16)
    m = _tiny()
    with pytest.raises(ValueError, match=r"ViT: input height and width must be multiples of "
                                         r"patch_size=4, got 18x16 \(the model was built for "
                                         r"16x16\)"):
        m(torch.zeros(1, 3, 18, 16))
    with pytest.raises(ValueError, match=r"ViT: input must be \(B, 3, H, W\), got shape "
                                         r"\(1, 1, 16, 16\)"):
        m(torch.zeros(1, 1, 16, 16))
    with pytest.raises(TypeError, match="ViT: input must be a torch.Tensor"):
        import numpy as np

        m(np.zeros((1, 3, 16, 16), np.float32))
    with pytest.raises(ValueError, match="ViT: pool must be one of 'cls', 'gap', got 'max'"):
        _tiny(pool="max")
    with pytest.raises(ValueError, match="ViT: depth must be an int >= 1"):
        _tiny(depth=0)
    with pytest.raises(ValueError, match=r"ViT.forward_head: tokens must be \(B, T, 16\)"):
        m.forward_head(torch.zeros(2, 16))
    with pytest.raises(ValueError, match="resample_pos_embed: pos_embed must hold 1 \\+ 3\\*3"):
        resample_pos_embed(m.pos_embed, old_grid=(3, 3), new_grid=(4, 4))
