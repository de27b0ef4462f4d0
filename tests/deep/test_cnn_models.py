"""The CNN families and the model registry.

Parameter counts at ImageNet settings equal torchvision's published ones (built on the
meta device: no memory, no forward). Every registered model, shrunk (small widths,
small-image stems), passes the same contract: forward and backward at several input
sizes (odd ones included), a gradient for every parameter, deterministic eval, and a
save/load round trip through deep.train's checkpoints. Classifiers give logits (N, K);
the segmentation models (U-Net, FCN) have their own contract: logits (N, K, H, W) at the
input's size, also for odd sizes and for a registry CNN as encoder.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn

from deep.layers import BatchNorm2d, GroupNorm, LayerNorm2d, weight_norm
from deep.models import (
    BackboneEncoder,
    ConvNet,
    FeatureInfo,
    MobileNetV1,
    ResNet,
    ViT,
    create_model,
    create_vit,
    list_models,
    model_entry,
)
from deep.train import load_checkpoint, save_checkpoint

#: torchvision's published parameter counts (ImageNet, 1000 classes, aux heads off);
#: LeNet-5 with a fully connected C3 (the paper's sparse C3 gives 60,000).
PUBLISHED = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808,
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840, "vgg13_bn": 133_053_736, "vgg16_bn": 138_365_992,
    "vgg19_bn": 143_678_248,
    "mobilenet_v2": 3_504_872, "mobilenet_v3_large": 5_483_032,
    "mobilenet_v3_small": 2_542_856, "squeezenet1_0": 1_248_424, "squeezenet1_1": 1_235_496,
    "googlenet": 6_624_904, "convnext_tiny": 28_589_128, "efficientnet_b0": 5_288_548,
    "lenet5": 61_706, "vit_base_patch16_224": 86_567_656,
}


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_equal_the_published_ones(name):
    with torch.device("meta"):
        model = create_model(name)
    assert _count(model) == PUBLISHED[name]


def test_mobilenet_v1_multipliers():
    with torch.device("meta"):
        full, half = MobileNetV1(), MobileNetV1(width_multiplier=0.5)
    assert _count(full) == 4_231_976  # 4.2 M in Table 8 of the paper
    # α scales the conv weights by about α² (exactly for the pointwise ones); the 1000-way
    # classifier only by α.
    conv_full = sum(m.weight.numel() for m in full.modules() if isinstance(m, nn.Conv2d))
    conv_half = sum(m.weight.numel() for m in half.modules() if isinstance(m, nn.Conv2d))
    assert 0.25 <= conv_half / conv_full < 0.26
    assert MobileNetV1(resolution_multiplier=160 / 224).default_image_size == 160


def test_torch_norms_inject_with_the_same_count():
    with torch.device("meta"):
        ours = create_model("resnet18")
        theirs = create_model("resnet18", norm_layer=nn.BatchNorm2d)
    assert _count(ours) == _count(theirs)
    assert any(isinstance(m, nn.BatchNorm2d) for m in theirs.modules())


# ------------------------------------------------------------------ contract
def _small_kwargs(name: str) -> dict:
    """Overrides that make each registered model small and fast (same code paths)."""
    if name.startswith(("vit_", "deit_")):
        return dict(num_classes=3, image_size=16, patch_size=4, dim=16, depth=1, num_heads=2)
    if name == "lenet5":
        return dict(num_classes=3, in_chans=3)
    kw = dict(num_classes=3, small_input=True, width_multiplier=0.125)
    if name.startswith("vgg"):
        kw.update(hidden_dim=256, pool_size=1)
    if name in ("resnet101", "resnet152"):  # same blocks as resnet50: keep the test fast
        kw.update(layers=(1, 1, 2, 1))
    return kw


def _sizes(name: str) -> list[tuple[int, int]]:
    if name.startswith(("vit_", "deit_")):
        return [(16, 16), (12, 20)]
    if name == "lenet5":
        return [(32, 32), (33, 37)]
    return [(16, 16), (17, 23), (13, 11)]


def _rand(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


CLASSIFIERS = list_models(task="classification")
SEGMENTERS = list_models(task="segmentation")


def test_every_model_has_a_task_and_a_contract():
    assert sorted(CLASSIFIERS + SEGMENTERS) == list_models()
    assert SEGMENTERS == ["fcn16s", "fcn32s", "fcn8s", "unet"]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_model_contract(name, tmp_path):
    torch.manual_seed(0)
    model = create_model(name, **_small_kwargs(name))
    # forward / backward at several sizes; every parameter gets a finite non-zero gradient
    model.train()
    for k, (h, w) in enumerate(_sizes(name)):
        x = _rand(2, 3, h, w, seed=k)
        torch.manual_seed(3)
        out = model(x)
        assert out.shape == (2, 3) and torch.isfinite(out).all()
        (out.square().mean() + out.mean()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    zero = [n for n, p in model.named_parameters() if not p.grad.abs().sum() > 0]
    assert not zero, f"zero gradient for {zero}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    # eval is deterministic
    model.eval()
    x = _rand(2, 3, *_sizes(name)[-1], seed=5)
    with torch.no_grad():
        a, b = model(x), model(x)
    assert torch.equal(a, b)
    # forward = forward_head(forward_features)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_head(model.forward_features(x)), a)
    # checkpoint round trip into a differently initialised model
    path = save_checkpoint(tmp_path / f"{name}.pt", model, metadata={"name": name})
    torch.manual_seed(123)
    other = create_model(name, **_small_kwargs(name)).eval()
    ckpt = load_checkpoint(path, model=other)
    assert ckpt.metadata == {"name": name}
    with torch.no_grad():
        assert torch.equal(other(x), a)


CNNS = [n for n in CLASSIFIERS if not n.startswith(("vit_", "deit_"))]


@pytest.mark.parametrize("name", CNNS)
def test_forward_intermediates_follow_feature_info(name):
    torch.manual_seed(0)
    model = create_model(name, **_small_kwargs(name)).eval()
    assert isinstance(model, ConvNet)
    size = 32 if name != "lenet5" else 36
    x = _rand(1, 3, size, size)
    with torch.no_grad():
        feats = model.forward_intermediates(x)
        last = model.forward_intermediates(x, indices=[-1])
        final = model.forward_features(x)
    assert len(feats) == len(model.feature_info) >= 3
    for f, info in zip(feats, model.feature_info):
        assert isinstance(info, FeatureInfo) and f.shape[1] == info.num_chs
        if name != "lenet5":  # padded convolutions: ceil(size / reduction), up to pooling
            assert abs(f.shape[2] - size / info.reduction) <= 1
    if name == "lenet5":  # valid 5x5 convolutions: 36 → 32 → (16) 12 → (6) 2
        assert [f.shape[2] for f in feats] == [32, 12, 2]
    reductions = [i.reduction for i in model.feature_info]
    assert reductions == sorted(reductions) and reductions[0] <= 2
    torch.testing.assert_close(last[0], feats[-1])
    if isinstance(model.final, nn.Identity):
        torch.testing.assert_close(final, feats[-1])
    assert len(model.forward_intermediates(x, indices=2)) == 2


# ------------------------------------------------------- segmentation contract
#: small segmentation models: the default double-conv encoder (reduction 1 first, no stem to
#: shrink), and a registry ResNet as encoder (whose small_input stem is the option that
#: matters: it keeps the shallowest skip at full resolution).
_SEG_SMALL = {
    "unet": dict(num_classes=3, in_chans=3, base_width=4, depth=3),
    "fcn32s": dict(num_classes=3, in_chans=3, widths=(4, 4, 8, 8, 8, 8)),
    "fcn16s": dict(num_classes=3, in_chans=3, widths=(4, 4, 8, 8, 8, 8)),
    "fcn8s": dict(num_classes=3, in_chans=3, widths=(4, 4, 8, 8, 8, 8)),
}
_RESNET_ENCODER = dict(encoder="resnet18",
                       encoder_kwargs=dict(width_multiplier=0.125, layers=(1, 1, 1, 1)))


@pytest.mark.parametrize("backbone", ["own", "resnet18", "resnet18_small"])
@pytest.mark.parametrize("name", SEGMENTERS)
def test_segmentation_model_contract(name, backbone, tmp_path):
    assert model_entry(name).task == "segmentation"
    kw = dict(_SEG_SMALL[name])
    if backbone != "own":
        kw.pop("base_width", None), kw.pop("depth", None), kw.pop("widths", None)
        kw.update(_RESNET_ENCODER)
        if backbone == "resnet18_small":
            kw["encoder_kwargs"] = {**kw["encoder_kwargs"], "small_input": True}
    torch.manual_seed(0)
    model = create_model(name, **kw)
    reductions = [r for _, r in model.feature_info]
    assert reductions == sorted(set(reductions))
    if backbone == "own":
        assert reductions[0] == 1
    else:  # the stem at stride 2 (ImageNet stem: 2 then max-pool 4) or 1 with small_input
        assert reductions[0] == (1 if backbone == "resnet18_small" else 2)
    model.train()
    for k, (h, w) in enumerate([(32, 32), (37, 45), (33, 35)]):
        x = _rand(2, 3, h, w, seed=k)
        out = model(x)
        assert out.shape == (2, 3, h, w) and torch.isfinite(out).all()
        (out.square().mean() + out.mean()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    zero = [n for n, p in model.named_parameters() if not p.grad.abs().sum() > 0]
    assert not zero, f"zero gradient for {zero}"
    model.eval()
    x = _rand(1, 3, 37, 45, seed=5)
    with torch.no_grad():
        a, b = model(x), model(x)
        feats = model.forward_features(x)
        # FCN's head takes the output size; without it, the first map's size x its reduction
        size = () if backbone == "own" or name == "unet" else (x.shape[-2:],)
        torch.testing.assert_close(model.forward_head(feats, *size), a, rtol=0, atol=0)
    assert torch.equal(a, b)
    path = save_checkpoint(tmp_path / f"{name}.pt", model)
    torch.manual_seed(123)
    other = create_model(name, **kw).eval()
    load_checkpoint(path, model=other)
    with torch.no_grad():
        assert torch.equal(other(x), a)


def test_segmentation_registry_configurations():
    with torch.device("meta"):
        paper = create_model("unet", norm_layer=None)
        fcn8 = create_model("fcn8s")
    assert _count(paper) == 31_030_658  # the paper's U-Net (hand count in deep.models.UNet)
    assert [w for w, _ in paper.feature_info] == [64, 128, 256, 512, 1024]
    assert fcn8.variant == "8s" and len(fcn8.scores) == 3
    assert create_model("fcn32s").variant == "32s" and create_model("fcn16s").variant == "16s"
    valid = create_model("unet", padding="valid", norm_layer=None, base_width=4)
    assert valid(torch.zeros(1, 1, 572, 572)).shape == (1, 2, 388, 388)
    enc = create_model("unet", encoder="resnet18", in_chans=1,
                       encoder_kwargs=dict(width_multiplier=0.125)).encoder
    assert enc.feature_info == [(8, 2), (8, 4), (16, 8), (32, 16), (64, 32)]
    assert list_models(task="segmentation") == ["fcn16s", "fcn32s", "fcn8s", "unet"]


def test_segmentation_registry_errors():
    with pytest.raises(ValueError, match=r"list_models: task must be one of classification, "
                                         r"segmentation or None, got 'detection'"):
        list_models(task="detection")
    with pytest.raises(ValueError, match="unet: encoder must name a CNN of the registry "
                                         r"\(a ConvNet\), got 'vit_tiny_patch16_224'"):
        create_model("unet", encoder="vit_tiny_patch16_224")
    with pytest.raises(ValueError, match="fcn: encoder must name a CNN of the registry"):
        create_model("fcn8s", encoder="unet")
    with pytest.raises(ValueError, match=r"create_model: name must be one of list_models"):
        create_model("unet", encoder="resnet19")
    with pytest.raises(TypeError, match="unet: encoder_kwargs must be a dict or None, got"):
        create_model("unet", encoder="resnet18", encoder_kwargs=[1])
    with pytest.raises(ValueError, match="unet: encoder_kwargs needs encoder given by name"):
        create_model("unet", encoder_kwargs={"small_input": True})
    with pytest.raises(TypeError, match="BackboneEncoder: backbone must be a ConvNet of the "
                                        "registry"):
        BackboneEncoder(nn.Conv2d(1, 1, 3))


def test_small_input_stem_keeps_resolution():
    with torch.device("meta"):
        big, small = create_model("resnet18"), create_model("resnet18", small_input=True)
    assert big.feature_info[-1].reduction == 32 and small.feature_info[-1].reduction == 8
    assert big.stages[0].conv.kernel_size == (7, 7) and small.stages[0].conv.kernel_size == (3, 3)
    with torch.device("meta"):
        for name in ("vgg16", "mobilenet_v2", "squeezenet1_1", "googlenet", "convnext_tiny",
                     "efficientnet_b0", "mobilenet_v3_small"):
            a = create_model(name).feature_info[-1].reduction
            b = create_model(name, small_input=True).feature_info[-1].reduction
            assert b < a, name


@pytest.mark.parametrize("norm_layer", [
    partial(GroupNorm, 2), nn.BatchNorm2d, LayerNorm2d,
], ids=["groupnorm", "torch_batchnorm", "layernorm2d"])
def test_norm_layer_injection_trains(norm_layer):
    torch.manual_seed(0)
    model = create_model("resnet18", num_classes=3, small_input=True, width_multiplier=0.125,
                         norm_layer=norm_layer)
    assert any(isinstance(m, getattr(norm_layer, "func", norm_layer)) for m in model.modules())
    model(_rand(2, 3, 9, 9)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_weight_normalised_lenet_matches_the_plain_one_at_start():
    torch.manual_seed(0)
    plain = create_model("lenet5")
    wn = create_model("lenet5")
    wn.load_state_dict(plain.state_dict())
    for m in wn.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            weight_norm(m)
    x = _rand(2, 1, 32, 32)
    torch.testing.assert_close(wn(x), plain(x), atol=1e-5, rtol=1e-5)
    wn(x).sum().backward()
    g = wn.stages[0][0].parametrizations.weight.original0
    assert g.grad is not None and g.grad.abs().sum() > 0


def test_our_batchnorm_is_the_default():
    with torch.device("meta"):
        model = create_model("resnet18")
    norms = [m for m in model.modules() if isinstance(m, (BatchNorm2d, nn.BatchNorm2d))]
    assert norms and all(isinstance(m, BatchNorm2d) for m in norms)


# ------------------------------------------------------------------- registry
def test_registry_lists_every_family_and_the_vits():
    names = list_models()
    for n in ("lenet5", "vgg11", "vgg19_bn", "resnet18", "resnet152", "mobilenet_v1",
              "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "squeezenet1_0",
              "squeezenet1_1", "googlenet", "convnext_tiny", "efficientnet_b0",
              "vit_base_patch16_224", "deit_tiny_patch16_224"):
        assert n in names
    assert names == sorted(names)
    assert list_models("resnet*") == ["resnet101", "resnet152", "resnet18", "resnet34",
                                      "resnet50"]
    assert model_entry("vgg16_bn").kwargs["batch_norm"] is True


def test_create_vit_and_create_model_agree():
    torch.manual_seed(0)
    a = create_vit("vit_tiny_patch16_224", image_size=32, depth=1)
    torch.manual_seed(0)
    b = create_model("vit_tiny_patch16_224", image_size=32, depth=1)
    assert isinstance(b, ViT)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and torch.equal(pa, pb)


def test_registry_and_model_errors():
    with pytest.raises(ValueError, match=r"create_model: name must be one of list_models\(\) "
                                         r"\(\d+ names\), got 'resnet19' \(did you mean"):
        create_model("resnet19")
    with pytest.raises(TypeError, match="list_models: pattern must be a str or None"):
        list_models(3)
    model = create_model("resnet18", num_classes=2, width_multiplier=0.125)
    with pytest.raises(ValueError, match=r"ResNet: input must be \(B, 3, H, W\), got shape "
                                         r"\(2, 1, 32, 32\)"):
        model(torch.zeros(2, 1, 32, 32))
    with pytest.raises(TypeError, match="ResNet: input must be a torch.Tensor"):
        model([[0.0]])
    with pytest.raises(ValueError, match="GoogLeNet: the input is too small: stage 3 "
                                         "received a 1x1 map"):
        create_model("googlenet", width_multiplier=0.125).eval()(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"forward_intermediates: indices must be ints in "
                                         r"\[-5, 4\], got \[7\]"):
        model.forward_intermediates(torch.zeros(1, 3, 32, 32), indices=[7])
    with pytest.raises(ValueError, match="ResNet: block must be one of 'basic', 'bottleneck'"):
        ResNet(block="wide")
    with pytest.raises(ValueError, match="ResNet: num_classes must be"):
        ResNet(num_classes=-1)
    with pytest.raises(ValueError, match="MobileNetV3: variant must be one of"):
        create_model("mobilenet_v3_large", variant="medium")
    with pytest.raises(ValueError, match="VGG: config must be a non-empty sequence"):
        create_model("vgg11", config=(64, "X"))


def test_num_classes_zero_returns_pooled_features():
    torch.manual_seed(0)
    for name in ("resnet18", "squeezenet1_1", "mobilenet_v3_small", "convnext_tiny"):
        kw = {**_small_kwargs(name), "num_classes": 0}
        model = create_model(name, **kw).eval()
        x = _rand(2, 3, 16, 16)
        with torch.no_grad():
            out = model(x)
            pre = model.forward_head(model.forward_features(x), pre_logits=True)
        assert out.ndim == 2 and torch.equal(out, pre), name
