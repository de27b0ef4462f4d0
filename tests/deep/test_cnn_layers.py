"""deep.layers CNN blocks: each against its formula or a known property."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deep.layers import (
    BasicBlock,
    Bottleneck,
    ConvNeXtBlock,
    ConvNormAct,
    DepthwiseSeparableConv,
    Fire,
    Inception,
    InvertedResidual,
    MBConv,
    MobileNetV3Block,
    SqueezeExcite,
    make_divisible,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _x(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _conv_weights(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


# ------------------------------------------------------------ conv, separable, dilated
def test_conv_norm_act_is_conv_then_norm_then_act():
    block = ConvNormAct(3, 4, 3, stride=2, act_layer=nn.ReLU).eval()
    x = _x(2, 3, 9, 9)
    expected = F.relu(block.norm(F.conv2d(x, block.conv.weight, stride=2, padding=1)))
    torch.testing.assert_close(block(x), expected)
    assert block(x).shape == (2, 4, 5, 5)  # ceil(9 / 2)
    assert block.conv.bias is None  # the norm's shift replaces it
    assert ConvNormAct(3, 4, norm_layer=None).conv.bias is not None


@pytest.mark.parametrize("c_in,c_out,k", [(8, 16, 3), (32, 64, 3), (16, 24, 5), (3, 7, 7)])
def test_depthwise_separable_cost_ratio_on_parameter_counts(c_in, c_out, k):
    standard = nn.Conv2d(c_in, c_out, k, bias=False)
    separable = DepthwiseSeparableConv(c_in, c_out, kernel_size=k)
    ratio = Fraction(_conv_weights(separable), _conv_weights(standard))
    assert _conv_weights(separable) == c_in * k * k + c_in * c_out
    assert ratio == Fraction(1, c_out) + Fraction(1, k * k)
    x = _x(2, c_in, 11, 11)
    assert separable(x).shape == (2, c_out, 11, 11)


def test_depthwise_convolution_filters_each_channel_alone():
    dw = ConvNormAct(3, 3, 3, groups=3, norm_layer=None, act_layer=None)
    x = _x(1, 3, 6, 6)
    x2 = x.clone()
    x2[:, 1] += 5.0  # changing channel 1 changes only output channel 1
    d = (dw(x2) - dw(x)).abs().amax(dim=(0, 2, 3))
    assert d[0] == 0 and d[2] == 0 and d[1] > 0


def test_dilated_conv_equals_a_larger_kernel_with_zeros_between_taps():
    dil = ConvNormAct(2, 3, 3, dilation=2, norm_layer=None, act_layer=None)
    big = torch.zeros(3, 2, 5, 5)
    big[:, :, ::2, ::2] = dil.conv.weight  # taps 2 pixels apart
    x = _x(1, 2, 10, 9)
    expected = F.conv2d(x, big, dil.conv.bias, padding=2)
    torch.testing.assert_close(dil(x), expected, atol=1e-5, rtol=1e-5)
    assert dil(x).shape == (1, 3, 10, 9)  # "same" padding: dilation * (k - 1) / 2


def test_conv_norm_act_errors():
    with pytest.raises(ValueError, match="ConvNormAct: groups must divide in_chs=4 and "
                                         "out_chs=6, got 4"):
        ConvNormAct(4, 6, groups=4)
    with pytest.raises(ValueError, match="ConvNormAct: kernel_size must be"):
        ConvNormAct(4, 6, 0)


def test_make_divisible():
    assert [make_divisible(v) for v in (32, 24, 18, 10, 7, 100)] == [32, 24, 24, 16, 8, 104]
    assert make_divisible(3, 1) == 3


# ------------------------------------------------------------------------ SE
def test_squeeze_excite_by_hand():
    se = SqueezeExcite(6, rd_channels=2)
    x = _x(2, 6, 4, 5)
    s = x.mean(dim=(2, 3))  # (2, 6)
    h = F.relu(s @ se.fc1.weight[:, :, 0, 0].T + se.fc1.bias)
    gate = torch.sigmoid(h @ se.fc2.weight[:, :, 0, 0].T + se.fc2.bias)  # (2, 6)
    torch.testing.assert_close(se(x), x * gate[:, :, None, None])
    assert SqueezeExcite(64).fc1.out_channels == 4  # rd_ratio 1/16


# ------------------------------------------------------------------------ Fire
def test_fire_concatenates_the_two_expansions():
    fire = Fire(8, 3, 5, 7)
    x = _x(2, 8, 6, 6)
    s = fire.squeeze(x)
    torch.testing.assert_close(fire(x), torch.cat([fire.expand1x1(s), fire.expand3x3(s)], 1))
    assert fire(x).shape == (2, 12, 6, 6) and fire.out_chs == 12


# --------------------------------------------------------------- mobile blocks
def test_inverted_residual_structure_and_residual():
    blk = InvertedResidual(8, 8, mid_chs=48)
    assert blk.has_residual
    assert blk.dw.conv.groups == 48 and isinstance(blk.dw.act, nn.ReLU6)
    assert isinstance(blk.project.act, nn.Identity)  # linear bottleneck
    nn.init.zeros_(blk.project.norm.weight)  # branch output 0: the block is the identity
    x = _x(2, 8, 5, 5)
    torch.testing.assert_close(blk.eval()(x), x)
    strided = InvertedResidual(8, 16, mid_chs=48, stride=2)
    assert not strided.has_residual and strided(x).shape == (2, 16, 3, 3)
    assert isinstance(InvertedResidual(8, 8, mid_chs=8).expand, nn.Identity)  # t = 1


def test_mobilenet_v3_block_uses_se_and_hard_swish():
    blk = MobileNetV3Block(16, 24, mid_chs=72, kernel_size=5, stride=2, use_se=True,
                           use_hs=True)
    assert isinstance(blk.dw.act, nn.Hardswish) and blk.dw.conv.kernel_size == (5, 5)
    assert isinstance(blk.se, SqueezeExcite) and isinstance(blk.se.gate, nn.Hardsigmoid)
    assert blk.se.fc1.out_channels == make_divisible(72 // 4)
    assert blk(_x(2, 16, 9, 9)).shape == (2, 24, 5, 5)
    plain = MobileNetV3Block(16, 16, mid_chs=64)
    assert isinstance(plain.dw.act, nn.ReLU) and isinstance(plain.se, nn.Identity)


def test_mbconv_stochastic_depth_drops_whole_branches_per_sample():
    blk = MBConv(8, 8, expand_ratio=4, drop_path=0.5)
    assert blk.se.fc1.out_channels == 2  # max(1, int(8 * 0.25))
    assert isinstance(blk.dw.act, nn.SiLU)
    x = _x(64, 8, 4, 4)
    torch.manual_seed(1)
    y = blk.train()(x)
    same = (y - x).flatten(1).abs().amax(dim=1) == 0  # branch dropped: identity
    assert 16 <= int(same.sum()) <= 48  # Binomial(64, 0.5): 4 standard deviations
    with torch.no_grad():
        blk.eval()
        a, b = blk(x), blk(x)
    assert torch.equal(a, b) and not torch.equal(a, x)


# ---------------------------------------------------------------- ResNet blocks
def test_bottleneck_puts_the_stride_on_the_3x3():
    blk = Bottleneck(16, 8, stride=2)
    assert blk.conv1.conv.stride == (1, 1) and blk.conv2.conv.stride == (2, 2)
    assert blk.conv2.conv.kernel_size == (3, 3) and blk.out_chs == 32
    assert blk(_x(2, 16, 9, 9)).shape == (2, 32, 5, 5)
    assert blk.shortcut.conv.stride == (2, 2)


@pytest.mark.parametrize("cls", [BasicBlock, Bottleneck])
def test_zero_init_last_starts_each_block_as_the_identity(cls):
    in_chs = 8 * cls.expansion
    blk = cls(in_chs, 8, zero_init_last=True).eval()
    last = blk.conv2 if cls is BasicBlock else blk.conv3
    assert torch.all(last.norm.weight == 0)
    x = _x(2, in_chs, 6, 6)
    torch.testing.assert_close(blk(x), F.relu(x))
    assert not torch.allclose(cls(in_chs, 8).eval()(x), F.relu(x))


# ------------------------------------------------------------------- Inception
def test_inception_branches_and_channels():
    inc = Inception(12, 4, 3, 5, 2, 6, 7, large_kernel=5)
    assert inc.branch3[1].conv.kernel_size == (5, 5)
    x = _x(2, 12, 7, 7)
    y = inc(x)
    assert y.shape == (2, 4 + 5 + 6 + 7, 7, 7)
    torch.testing.assert_close(y[:, :4], inc.branch1(x))
    torch.testing.assert_close(y[:, -7:], inc.branch4(x))


# --------------------------------------------------------------------- ConvNeXt
def test_convnext_block_structure_and_layer_scale():
    blk = ConvNeXtBlock(8)
    assert blk.dwconv.kernel_size == (7, 7) and blk.dwconv.groups == 8
    assert blk.fc1.out_features == 32 and torch.all(blk.gamma == 1e-6)
    x = _x(2, 8, 9, 9)
    y = blk(x)
    assert (y - x).abs().max() < 1e-4  # layer scale 1e-6: nearly the identity at start
    with torch.no_grad():
        blk.gamma.fill_(1.0)
    z = blk.dwconv(x).permute(0, 2, 3, 1)  # by hand, channels last
    z = blk.fc2(F.gelu(blk.fc1(F.layer_norm(z, (8,), blk.norm.weight, blk.norm.bias, 1e-6))))
    torch.testing.assert_close(blk(x), x + z.permute(0, 3, 1, 2), atol=1e-5, rtol=1e-5)
    assert ConvNeXtBlock(8, layer_scale_init=None).gamma is None
