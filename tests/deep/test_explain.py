"""deep.explain: saliency, SmoothGrad, integrated gradients, CAM, Grad-CAM(++), attention."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cvgeo
from deep.explain import (
    BoxTarget,
    ClassTarget,
    LayerCapture,
    MaskTarget,
    QuadrantCNN,
    attention_maps,
    attention_rollout,
    cam,
    colorize,
    default_layer,
    grad_cam,
    grad_cam_plus_plus,
    integrated_gradients,
    make_quadrant_blobs,
    overlay,
    pointing_game,
    resolve_layer,
    saliency,
    smooth_grad,
    tokens_to_grid,
    write_overlays,
)
from deep.models import ViT, create_model


def _resnet(seed=0, classes=3):
    torch.manual_seed(seed)
    return create_model("resnet18", in_chans=1, num_classes=classes, small_input=True,
                        width_multiplier=0.125).eval()


def _images(n=4, size=16, seed=1, chans=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, chans, size, size, generator=g)


def _vit(pool="cls", seed=0):
    torch.manual_seed(seed)
    return ViT(image_size=16, patch_size=4, in_chans=1, num_classes=3, dim=32, depth=2,
               num_heads=2, mlp_ratio=2.0, pool=pool).eval()


def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               + len(getattr(m, "_backward_pre_hooks", {})) for m in model.modules())


@pytest.fixture(scope="module")
def quadrant_task():
    """QuadrantCNN trained on make_quadrant_blobs (600 images, 7 epochs: ~3.5 CPU s, one thread)."""
    data = make_quadrant_blobs(800, image_size=32, seed=0)
    x = torch.from_numpy(data.images)[:, None]
    y = torch.from_numpy(data.labels)
    torch.manual_seed(0)
    model = QuadrantCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=7 * 12)
    g = torch.Generator().manual_seed(0)
    for _ in range(7):
        for idx in torch.randperm(600, generator=g).split(50):
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            sched.step()
    model.eval()
    return model, x[600:], y[600:], data.masks[600:]


# ------------------------------------------------------------------ known answers
def test_grad_cam_equals_cam_over_hw_for_gap_linear():
    model = _resnet()
    x = _images()
    c = cam(model, x, 2)
    g = grad_cam(model, x, 2)
    h, w = c.layer_maps.shape[1:]
    # dS/dA_k = w_ck / (h w) everywhere, so Grad-CAM = ReLU(CAM) / (h w): a positive constant.
    assert (c.layer_maps < 0).any() and (c.layer_maps > 0).any()  # the ReLU matters
    torch.testing.assert_close(g.layer_maps, c.layer_maps.clamp(min=0) / (h * w),
                               rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(c.scores, g.scores)


def test_saliency_of_linear_model_is_abs_weight():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 5 * 6, 4))
    x = torch.rand(3, 3, 5, 6, generator=torch.Generator().manual_seed(0))
    s = saliency(model, x, [0, 3, 1])
    w = model[1].weight.detach().view(4, 3, 5, 6)
    for b, c in enumerate([0, 3, 1]):
        torch.testing.assert_close(s.attributions[b], w[c])  # the gradient is w itself
        torch.testing.assert_close(s.maps[b], w[c].abs().amax(dim=0))


def test_grad_cam_plus_plus_closed_form_for_gap_linear():
    # With g = w_ck / (h w) constant over the map and S_k = sum_ij A_k:
    # alpha = 1 / (2 + S_k g), weight_k = h w · ReLU(g) / (2 + S_k g).
    model = _resnet()
    x = _images()
    gpp = grad_cam_plus_plus(model, x, 1)
    with LayerCapture(model, "final") as cap:
        model(x)
    A = cap.activation.detach()  # (B, F, h, w)
    hw = A.shape[2] * A.shape[3]
    g = model.head.weight.detach()[1] / hw  # (F,)
    S = A.sum(dim=(2, 3))  # (B, F)
    weight = hw * g.clamp(min=0) / (2 + S * g)  # (B, F)
    expected = torch.einsum("bf,bfhw->bhw", weight, A).clamp(min=0)
    torch.testing.assert_close(gpp.layer_maps, expected, rtol=1e-4, atol=1e-7)


def test_integrated_gradients_completeness_and_captum():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(),
                          nn.Linear(4 * 8 * 8, 3))
    x = _images(2, 8)
    ig = integrated_gradients(model, x, [2, 0], steps=64)
    with torch.no_grad():
        delta = model(x)[[0, 1], [2, 0]] - model(torch.zeros_like(x))[:, [2, 0]].diagonal()
    torch.testing.assert_close(ig.attributions.sum(dim=(1, 2, 3)), delta, rtol=2e-3,
                               atol=2e-4)
    captum = pytest.importorskip("captum.attr")
    ref = captum.IntegratedGradients(model).attribute(x, target=[2, 0], n_steps=64,
                                                      method="riemann_middle")
    torch.testing.assert_close(ig.attributions, ref, rtol=1e-4, atol=1e-6)


def test_grad_cam_equals_captum_layer_grad_cam():
    captum = pytest.importorskip("captum.attr")
    model = _resnet(seed=3)
    x = _images(5, 16, seed=4)
    for layer in ("stages.2", "final"):
        ours = grad_cam(model, x, [0, 1, 2, 1, 0], layer=layer)
        ref = captum.LayerGradCam(model, resolve_layer(model, layer)).attribute(
            x, target=[0, 1, 2, 1, 0], relu_attributions=True)  # (B, 1, h, w)
        assert ours.layer_maps.abs().max() > 0
        torch.testing.assert_close(ours.layer_maps, ref[:, 0], rtol=1e-4, atol=1e-7)


# ------------------------------------------------------------------ properties
@pytest.mark.parametrize("method", [saliency, grad_cam, grad_cam_plus_plus, cam,
                                    integrated_gradients])
def test_batch_maps_equal_single_image_maps(method):
    model = _resnet()
    x = _images(4)
    batch = method(model, x, None)  # the predicted class of each image
    for i in range(4):
        single = method(model, x[i:i + 1], None)
        torch.testing.assert_close(batch.maps[i:i + 1], single.maps, rtol=1e-4, atol=1e-6)


def test_smooth_grad_is_seeded_and_near_saliency_for_zero_noise():
    model = _resnet()
    x = _images(2)
    a = smooth_grad(model, x, 1, n_samples=4, seed=7)
    b = smooth_grad(model, x, 1, n_samples=4, seed=7, batch_size=3)  # chunked: same noise
    torch.testing.assert_close(a.maps, b.maps)
    c = smooth_grad(model, x, 1, n_samples=4, seed=8)
    assert not torch.allclose(a.maps, c.maps)
    torch.testing.assert_close(smooth_grad(model, x, 1, n_samples=3, noise=0.0).maps,
                               saliency(model, x, 1).maps)


def test_model_is_left_exactly_as_it_was():
    model = _resnet()
    model.train()
    model.stages[1].eval()  # a mixed state must come back mixed
    model.stages[0][0].weight.requires_grad_(False)
    flags = [m.training for m in model.modules()]
    req = [p.requires_grad for p in model.parameters()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = _images(2)
    for run in (lambda: grad_cam(model, x, 0, layer="stages.2"),
                lambda: grad_cam_plus_plus(model, x, 0), lambda: cam(model, x, 0),
                lambda: saliency(model, x, 0), lambda: smooth_grad(model, x, 0, n_samples=2),
                lambda: integrated_gradients(model, x, 0, steps=2)):
        run()
        assert _hooks(model) == 0
        assert [m.training for m in model.modules()] == flags
        assert [p.requires_grad for p in model.parameters()] == req
        assert all(p.grad is None for p in model.parameters())
        for k, v in model.state_dict().items():  # BN running stats untouched (eval inside)
            torch.testing.assert_close(v, state[k])


def test_hooks_released_after_an_error():
    model = _resnet()

    def bad_target(output):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        grad_cam(model, _images(1), bad_target)
    assert _hooks(model) == 0 and not model.training
    vit = _vit()
    attention_maps(vit, _images(1))
    assert _hooks(vit) == 0


def test_inplace_relu_after_the_layer_does_not_change_the_kept_map():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(inplace=True),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)).eval()
    x = _images(1, 8)
    with LayerCapture(model, "0") as cap:
        model(x)
    with torch.no_grad():
        pre = model[0](x)
    assert (pre < 0).any()
    torch.testing.assert_close(cap.activation.detach(), pre)


def test_reinitialising_the_weights_changes_the_map(quadrant_task):
    # Adebayo et al. 2018's model-parameter randomisation test: the trained model's maps
    # must differ from those of the same architecture with fresh weights.
    model, x, y, masks = quadrant_task
    trained = grad_cam(model, x, y, layer="features.8").layer_maps
    torch.manual_seed(123)
    fresh = QuadrantCNN().eval()
    rand = grad_cam(fresh, x, y, layer="features.8").layer_maps

    def rank(a):
        return a.flatten(1).argsort(dim=1).argsort(dim=1).float()

    ra, rb = rank(trained), rank(rand)
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    spearman = (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1))
    assert float(spearman.mean()) < 0.3
    # (A random CNN's map still often peaks on the blob: random filters respond to its
    # edges. examples/explain.py reports the pointing game of re-initialised models.)


def test_pointing_game_cnn(quadrant_task):
    model, x, y, masks = quadrant_task
    acc = float((model(x).argmax(1) == y).float().mean())
    hits = pointing_game(grad_cam(model, x, y, layer="features.8").maps, masks)
    assert acc >= 0.9, acc
    assert hits >= 0.9, hits


# ------------------------------------------------------------------ transformers
def test_tokens_to_grid_drops_prefix_and_is_row_major():
    vit = _vit()
    tokens = torch.arange(17.0).view(1, 17, 1).expand(2, 17, 3)  # class token, 16 patches
    grid = tokens_to_grid(vit, tokens, (16, 16))
    assert grid.shape == (2, 3, 4, 4)
    torch.testing.assert_close(grid[0, 0], torch.arange(1.0, 17.0).view(4, 4))
    with pytest.raises(ValueError, match="tokens_to_grid: 17 tokens"):
        tokens_to_grid(vit, tokens, (20, 16))


def test_vit_grad_cam_layer_choice_under_class_token_pooling():
    vit = _vit("cls")
    x = _images(3)
    assert default_layer(vit) == "blocks.1.norm1"
    good = grad_cam(vit, x, 0)
    assert good.layer_maps.shape == (3, 4, 4) and good.layer_maps.abs().max() > 0
    # The last block's patch tokens reach only the final norm, never the class token.
    assert grad_cam(vit, x, 0, layer="blocks.-1").layer_maps.abs().max() == 0
    assert grad_cam(vit, x, 0, layer="norm", relu=False).layer_maps.abs().max() == 0
    gap = _vit("gap")
    assert default_layer(gap) == "norm"
    assert grad_cam(gap, x, 0, relu=False).layer_maps.abs().max() > 0


def test_attention_maps_through_hooks_equal_explicit_path_and_leave_output():
    vit = _vit()
    x = _images(2)
    with torch.no_grad():
        before = vit(x)
    maps = attention_maps(vit, x)
    ref = vit.attention_maps(x)
    assert len(maps) == 2 and maps[0].shape == (2, 2, 17, 17)
    for a, b in zip(maps, ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(a.sum(-1), torch.ones(2, 2, 17))
    with torch.no_grad():
        torch.testing.assert_close(vit(x), before, rtol=0, atol=0)


def test_attention_rollout_by_hand():
    vit = _vit()
    x = _images(2)
    maps = attention_maps(vit, x)
    r = torch.eye(17).expand(2, 17, 17)
    for w in maps:
        a = 0.5 * w.mean(1) + 0.5 * torch.eye(17)
        r = (a / a.sum(-1, keepdim=True)) @ r
    out = attention_rollout(vit, x)
    torch.testing.assert_close(out.layer_maps, r[:, 0, 1:].reshape(2, 4, 4))
    assert out.maps.shape == (2, 16, 16)



def test_vit_registers_are_prefix_tokens_dropped_from_maps():
    # Registers (Darcet et al.) sit between the class token and the patches; they get no
    # position embedding, reach the output only through attention, and every map drops them.
    torch.manual_seed(0)
    kw = dict(image_size=16, patch_size=4, in_chans=1, num_classes=3, dim=32, depth=2,
              num_heads=2, mlp_ratio=2.0)
    plain = ViT(**kw).eval()
    assert plain.num_registers == 0 and plain.reg_token is None
    assert "reg_token" not in dict(plain.named_parameters())
    x = _images(2)
    for pool, prefix in (("cls", 3), ("gap", 2)):
        torch.manual_seed(0)
        vit = ViT(**kw, pool=pool, num_registers=2).eval()
        assert vit.num_prefix_tokens == prefix and vit.reg_token.shape == (1, 2, 32)
        assert vit.pos_embed.shape == (1, prefix - 2 + 16, 32)  # none for the registers
        with torch.no_grad():
            tokens = vit.forward_features(x)
        assert tokens.shape == (2, prefix + 16, 32)
        # The registers change the prediction (they are attended to) ...
        with torch.no_grad():
            moved = vit.reg_token.clone()
            vit.reg_token.add_(torch.randn(1, 2, 32))  # (a constant shift: LayerNorm drops it)
            assert not torch.allclose(vit(x), vit.forward_head(tokens))
            vit.reg_token.copy_(moved)
        # ... but never appear in a map: the grid is the 16 patches, row-major.
        grid = tokens_to_grid(vit, tokens, (16, 16))
        torch.testing.assert_close(grid, tokens[:, prefix:].reshape(2, 4, 4, 32)
                                   .permute(0, 3, 1, 2))
        g = grad_cam(vit, x, 1, layer="blocks.0.norm1")
        assert g.layer_maps.shape == (2, 4, 4) and g.layer_maps.abs().max() > 0
        maps = attention_maps(vit, x)
        r = torch.eye(prefix + 16).expand(2, -1, -1)
        for w in maps:
            a = 0.5 * w.mean(1) + 0.5 * torch.eye(prefix + 16)
            r = (a / a.sum(-1, keepdim=True)) @ r
        row = r[:, 0] if pool == "cls" else r[:, prefix:].mean(1)  # class token, else patches
        torch.testing.assert_close(attention_rollout(vit, x).layer_maps,
                                   row[:, prefix:].reshape(2, 4, 4))
    with pytest.raises(ValueError, match="ViT: num_registers must be an int >= 0, got -1"):
        ViT(**kw, num_registers=-1)


# ------------------------------------------------------------------ targets
def test_mask_target_for_segmentation():
    torch.manual_seed(0)
    seg = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 1)).eval()
    x = _images(2, 8)
    mask = torch.zeros(8, 8)
    mask[2:5, 3:6] = 1
    target = MaskTarget(1, mask)
    with torch.no_grad():
        expected = (seg(x)[:, 1] * mask).sum(dim=(1, 2))
    res = grad_cam(seg, x, target, layer="1")
    torch.testing.assert_close(res.scores, expected)
    s = saliency(seg, x, target)
    # The saliency is outside the mask only within the receptive field (3x3 then 1x1).
    assert s.maps[:, :1].abs().max() == 0 and s.maps[:, 2:5, 3:6].abs().min() > 0


def test_box_target_for_detection():
    class ToyDetector(nn.Module):
        """Two boxes per image: fixed coordinates, class scores from pooled features."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.cls = nn.Linear(4, 2 * 3)

        def forward(self, x):
            f = self.conv(x).relu()
            scores = self.cls(f.mean(dim=(2, 3))).view(-1, 2, 3)  # (B, N=2, K=3)
            boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [2.0, 2.0, 6.0, 6.0]]).expand(
                x.shape[0], 2, 4)
            return {"boxes": boxes, "scores": scores}

    torch.manual_seed(0)
    det = ToyDetector().eval()
    x = _images(2, 8)
    target = BoxTarget([0.0, 0.0, 4.0, 3.0], 2, iou_threshold=0.5)
    with torch.no_grad():
        out = det(x)
    # IoU with box 0 = 12 / 16 = 0.75 (kept); with box 1 = 2 / 26 (dropped).
    torch.testing.assert_close(target(out), 0.75 * out["scores"][:, 0, 2])
    res = grad_cam(det, x, target, layer="conv")
    torch.testing.assert_close(res.scores, 0.75 * out["scores"][:, 0, 2])


# ------------------------------------------------------------------ overlays
def test_colormaps_match_matplotlib():
    matplotlib = pytest.importorskip("matplotlib")
    v = np.linspace(0, 1, 501, dtype=np.float32)[None]
    for name in ("viridis", "inferno"):
        ours = colorize(v, colormap=name)[0]
        ref = matplotlib.colormaps[name](v[0])[:, :3]
        # 33 samples, linear interpolation: within 0.017 (4/255) of the 256-entry table.
        assert np.abs(ours - ref).max() < 0.017


def test_overlay_and_grid_written_through_cvgeo(tmp_path):
    img = np.zeros((8, 8), np.uint8)
    hm = torch.zeros(4, 4)
    hm[0, 0] = 1.0
    out = overlay(img, hm, alpha=1.0, colormap="inferno")
    assert out.shape == (8, 8, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[7, 7], [0.0015, 0.0005, 0.0139], atol=1e-4)  # inferno(0)
    assert out[0, 0].sum() > out[7, 7].sum()
    path = write_overlays(tmp_path / "grid.png", [img] * 3, hm.expand(3, 4, 4), columns=2,
                          scale=2, pad=1)
    back = cvgeo.read_image(path)
    assert back.shape == (2 * 17 + 1, 2 * 17 + 1, 3)


def test_pointing_game_known_answer():
    maps = np.zeros((3, 4, 4))
    maps[0, 0, 0] = 1  # hit
    maps[1, 3, 3] = 1  # miss
    masks = np.zeros((3, 4, 4), bool)
    masks[:, :2, :2] = True
    assert pointing_game(maps, masks) == pytest.approx(1 / 3)  # the constant map misses


# ------------------------------------------------------------------ errors
def test_errors():
    model = _resnet()
    x = _images(2)
    with pytest.raises(ValueError, match="resolve_layer: model has no layer 'stages.9'"):
        grad_cam(model, x, 0, layer="stages.9")
    with pytest.raises(ValueError, match="resolve_layer: layer Linear is not a submodule"):
        grad_cam(model, x, 0, layer=nn.Linear(2, 2))
    with pytest.raises(TypeError, match="grad_cam: images must be a torch.Tensor"):
        grad_cam(model, x.numpy(), 0)
    with pytest.raises(ValueError, match=r"saliency: images must be \(B, C, H, W\)"):
        saliency(model, x[0], 0)
    with pytest.raises(ValueError, match="saliency: images must be finite"):
        saliency(model, x * float("nan"), 0)
    with pytest.raises(ValueError, match="ClassTarget: index must be < K=3"):
        grad_cam(model, x, 5)
    with pytest.raises(ValueError, match="ClassTarget: index holds 3 classes"):
        grad_cam(model, x, [0, 1, 2])
    with pytest.raises(TypeError, match="grad_cam: target must be"):
        grad_cam(model, x, "cat")
    with pytest.raises(TypeError, match="cam: target must be a class"):
        cam(model, x, MaskTarget(0))
    with pytest.raises(ValueError, match="MaskTarget: the model's output must be"):
        grad_cam(model, x, MaskTarget(0))
    with pytest.raises(ValueError, match="BoxTarget: box must be finite"):
        BoxTarget([4, 0, 2, 3], 0)
    with pytest.raises(ValueError, match="the layer must be the one the head pools"):
        cam(model, x, 0, layer="stages.1")
    shared = nn.Conv2d(1, 1, 3, padding=1)
    twice = nn.Sequential(shared, shared, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with pytest.raises(ValueError, match="ran 2 times"):
        grad_cam(twice, x, 0, layer="0")
    with pytest.raises(ValueError, match="colorize: colormap must be one of"):
        colorize(np.zeros((2, 2)), colormap="jet")
    with pytest.raises(ValueError, match="pointing_game: maps and masks"):
        pointing_game(np.zeros((2, 4, 4)), np.zeros((2, 4, 5), bool))
    with pytest.raises(ValueError, match="attention_maps: LeNet5 has no"):
        attention_maps(create_model("lenet5"), torch.zeros(1, 1, 32, 32))
    assert repr(ClassTarget([1, 2])) == "ClassTarget([1, 2])"


def test_quadrant_cnn_shapes_and_errors():
    torch.manual_seed(0)
    model = QuadrantCNN(num_classes=4, in_chans=2).eval()
    assert model(torch.zeros(3, 2, 16, 16)).shape == (3, 4)
    assert resolve_layer(model, "features.8") is model.features[8]
    with pytest.raises(ValueError, match=r"QuadrantCNN: num_classes must be"):
        QuadrantCNN(num_classes=0)
    with pytest.raises(TypeError, match=r"QuadrantCNN: in_chans must be"):
        QuadrantCNN(in_chans=1.5)
