"""U-Net and FCN: sizes in both padding modes, the encoder seam, gradients, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deep.models.unet import FCN, StagesEncoder, UNet, UNetEncoder, center_crop, fcn, unet


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread is as fast and immune to a busy machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _x(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("upsample", ["transpose", "bilinear", "nearest"])
@pytest.mark.parametrize("size", [(67, 93), (64, 64), (9, 31), (8, 8)])
def test_padded_mode_returns_the_input_size_for_any_size(upsample, size):
    torch.manual_seed(0)
    net = UNet(in_chans=2, num_classes=3, widths=(4, 8, 8, 8), upsample=upsample).eval()
    out = net(_x(2, 2, *size))
    assert out.shape == (2, 3, *size)
    assert torch.isfinite(out).all()


def test_transpose_upsampling_reaches_odd_skip_sizes_exactly():
    # 67 -> 33 -> 16 by pooling; the 2x2 up-convolutions must return 33 and 67, not 32 and 66
    torch.manual_seed(0)
    net = UNet(in_chans=1, num_classes=1, widths=(2, 2, 2)).eval()
    sizes = []
    net.ups[0].register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[-2:])))
    net.ups[1].register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[-2:])))
    net(_x(1, 1, 67, 93))
    assert sizes == [(33, 46), (67, 93)]


def test_unpadded_mode_gives_388_from_572():
    torch.manual_seed(0)
    net = UNet(in_chans=1, num_classes=2, widths=(2, 2, 2, 2, 2), padding="valid",
               norm_layer=None).eval()
    assert net.output_size(572) == 388
    with torch.no_grad():
        out = net(_x(1, 1, 572, 572))
    assert out.shape == (1, 2, 388, 388)


def test_unpadded_size_arithmetic():
    net = UNet(widths=(2, 2, 2, 2, 2), padding="valid", norm_layer=None)
    # the paper's valid tiles for 4 poolings are 16 k + 124 (572 = 16 * 28 + 124); the
    # smallest has a 4x4 bottleneck: 4 -> 8, 16, 40, 88, 184 (+ 4) = 188 up the contracting
    # path, and 16 * 4 - 60 = 4 pixels out
    valid = [s for s in range(100, 600) if _accepts(net, s)]
    assert valid == list(range(188, 600, 16))
    assert net.valid_input_size(500) == 508
    assert net.output_size(508) == 324  # 508 - 184
    # every accepted side loses 184 pixels, as 572 -> 388
    assert all(net.output_size(s) == s - 184 for s in valid)
    with pytest.raises(ValueError, match="odd map"):
        net.output_size(573)


def _accepts(net, s):
    try:
        net.output_size(s)
        return True
    except ValueError:
        return False


def test_unpadded_mode_rejects_odd_pooling_inputs():
    net = UNet(in_chans=1, widths=(2, 2), padding="valid", norm_layer=None)
    with pytest.raises(ValueError, match="even height and width"):
        net(_x(1, 1, 21, 20))  # 21 - 4 = 17 is odd at the pool
    assert net(_x(1, 1, 20, 20)).shape == (1, 2, net.output_size(20), net.output_size(20))


def test_unpadded_skips_are_centre_cropped():
    x = torch.arange(36.0).reshape(1, 1, 6, 6)
    torch.testing.assert_close(center_crop(x, (2, 4)), x[..., 2:4, 1:5])
    torch.testing.assert_close(center_crop(x, (3, 3)), x[..., 1:4, 1:4])  # floor of 3/2
    with pytest.raises(ValueError, match="center_crop: size must lie within"):
        center_crop(x, (7, 2))


def test_paper_configuration_parameter_count():
    # hand count: 18,842,048 (contracting) + 12,188,610 (expanding and head)
    with torch.device("meta"):
        net = unet(in_chans=1, num_classes=2, norm_layer=None)
        enc = sum(p.numel() for p in net.encoder.parameters())
        total = sum(p.numel() for p in net.parameters())
    assert (enc, total) == (18_842_048, 31_030_658)


def test_features_and_head_compose_to_forward():
    torch.manual_seed(1)
    net = UNet(in_chans=1, num_classes=4, widths=(4, 8, 16)).eval()
    x = _x(2, 1, 20, 24)
    feats = net.forward_features(x)
    assert feats.shape == (2, 4, 20, 24)
    torch.testing.assert_close(net.forward_head(feats), net(x))


@pytest.mark.parametrize("build", [
    lambda: UNet(in_chans=1, num_classes=3, widths=(4, 8, 8)),
    lambda: UNet(in_chans=1, num_classes=3, widths=(4, 8, 8), upsample="bilinear",
                 decoder_widths=(3, 5)),
    lambda: UNet(in_chans=1, num_classes=2, widths=(4, 8, 8), padding="valid", norm_layer=None),
    lambda: FCN(in_chans=1, num_classes=3, variant="8s", widths=(4, 4, 4, 8, 8, 8)),
    lambda: FCN(in_chans=1, num_classes=3, variant="32s", widths=(4, 4, 4, 8, 8, 8)),
], ids=["unet", "unet_bilinear_decoder", "unet_valid", "fcn8s", "fcn32s"])
def test_every_parameter_gets_a_gradient_and_eval_is_deterministic(build):
    torch.manual_seed(0)
    net = build()
    x = _x(2, 1, 60, 60)  # valid mode: 60 -> 20 x 20 logits
    out = net(x)
    (out.square().mean() + out.mean()).backward()
    zero = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    if isinstance(net, FCN):
        # the skip score layers start at zero (the paper); the coarsest layer then carries
        # all of the gradient to the encoder, and the zero layers' weights still get one
        zero = [n for n in zero if not n.startswith("scores.")]
    assert not zero, f"no gradient for {zero}"
    net.eval()
    torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)


@pytest.mark.parametrize("variant", ["32s", "16s", "8s"])
def test_fcn_variants_give_input_size_logits(variant):
    torch.manual_seed(0)
    net = FCN(in_chans=1, num_classes=5, variant=variant).eval()
    assert net(_x(1, 1, 67, 93)).shape == (1, 5, 67, 93)
    assert len(net.scores) == {"32s": 1, "16s": 2, "8s": 3}[variant]
    assert [r for _, r in net.feature_info][-1] == 32


def test_fcn_upsampling_starts_as_bilinear_interpolation():
    net = fcn(variant="16s", num_classes=1)
    w = net.ups[0].weight[0, 0]
    f = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(w, f[:, None] * f[None, :])
    # a constant map stays constant inside (the borders see the zero padding)
    y = net.ups[0](torch.ones(1, 1, 5, 5))
    assert y.shape == (1, 1, 10, 10)
    torch.testing.assert_close(y[..., 1:-1, 1:-1], torch.ones(1, 1, 8, 8))


class _TinyResNetLike(nn.Module):
    """Stride-2 stem then two stride-2 stages: maps at reductions 2, 4, 8."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU())
        self.layer1 = nn.Sequential(nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU())


def test_external_encoder_through_stages_adapter():
    torch.manual_seed(0)
    r = _TinyResNetLike()
    enc = StagesEncoder([r.stem, r.layer1, r.layer2], in_chans=3)
    assert enc.feature_info == [(4, 2), (6, 4), (8, 8)]
    net = UNet(num_classes=2, encoder=enc).eval()
    assert net.in_chans == 3
    x = _x(2, 3, 67, 93)
    out = net(x)
    assert out.shape == (2, 2, 67, 93)
    # the encoder's parameters are the model's: training the U-Net trains the backbone
    assert any(p is r.stem[0].weight for p in net.parameters())
    fcn_net = FCN(num_classes=2, variant="8s", encoder=enc).eval()
    assert fcn_net(x).shape == (2, 2, 67, 93)


def test_encoder_protocol_feature_info_matches_the_maps():
    enc = UNetEncoder(in_chans=1, widths=(3, 5, 7))
    feats = enc(_x(1, 1, 16, 20))
    assert enc.feature_info == [(3, 1), (5, 2), (7, 4)]
    assert [(f.shape[1], 16 // f.shape[2]) for f in feats] == enc.feature_info


def test_errors():
    with pytest.raises(ValueError, match="UNet: padding must be 'same' or 'valid'"):
        UNet(padding="full")
    with pytest.raises(ValueError, match="UNet: upsample must be 'transpose', 'bilinear' or"):
        UNet(upsample="bicubic")
    with pytest.raises(ValueError, match="UNet: num_classes must be an int >= 1"):
        UNet(num_classes=0)
    with pytest.raises(ValueError, match="UNet: widths must be a sequence of at least 2"):
        UNet(widths=(8,))
    with pytest.raises(TypeError, match="UNet: encoder must be an nn.Module"):
        UNet(encoder="resnet18")
    with pytest.raises(ValueError, match="UNet: encoder must have feature_info"):
        UNet(encoder=nn.Identity())
    enc = StagesEncoder([nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1)],
                        in_chans=1)
    with pytest.raises(ValueError, match="reductions must increase strictly"):
        UNet(encoder=enc)
    with pytest.raises(ValueError, match="an external encoder needs padding='same'"):
        UNet(encoder=UNetEncoder(widths=(2, 4)), padding="valid")
    with pytest.raises(ValueError, match="decoder_widths must have one entry per skip"):
        UNet(widths=(2, 4, 8), decoder_widths=(2, 4, 8))
    net = UNet(in_chans=1, widths=(2, 2, 2, 2))
    with pytest.raises(TypeError, match="UNet: input must be a torch.Tensor"):
        net([[0.0]])
    with pytest.raises(ValueError, match=r"UNet: input must be \(B, 1, H, W\)"):
        net(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="must be at least 8 pixels on each side"):
        net(torch.zeros(1, 1, 7, 16))
    with pytest.raises(ValueError, match="FCN: variant must be"):
        FCN(variant="4s")
    with pytest.raises(ValueError, match="FCN: variant '8s' scores 3 encoder maps"):
        FCN(variant="8s", encoder=UNetEncoder(widths=(2, 4)))
    with pytest.raises(ValueError, match="unet: depth must be an int >= 2"):
        unet(depth=1)
    with pytest.raises(TypeError, match="StagesEncoder: stages must be a non-empty sequence"):
        StagesEncoder([])
