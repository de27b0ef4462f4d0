"""Segmentation losses: known answers, agreement with torch's losses, U-Net's weight map."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deep.losses import cross_entropy, dice_loss, focal_loss, unet_weight_map


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _randint(high, *shape, seed=0):
    return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------- cross-entropy
def test_multiclass_cross_entropy_matches_torch_with_ignore_index():
    logits = _randn(2, 4, 5, 6)
    target = _randint(4, 2, 5, 6, seed=1)
    target[0, :2] = 255
    ours = cross_entropy(logits, target, mode="multiclass", ignore_index=255)
    ref = F.cross_entropy(logits, target, ignore_index=255)
    torch.testing.assert_close(ours, ref)
    w = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    ours_w = cross_entropy(logits, target, mode="multiclass", ignore_index=255, class_weight=w)
    # torch's weighted mean divides by the summed weights; ours by the pixel count
    ref_sum = F.cross_entropy(logits, target, ignore_index=255, weight=w, reduction="sum")
    torch.testing.assert_close(ours_w, ref_sum / (target != 255).sum())


def test_binary_cross_entropy_known_answer_and_ignore():
    # logits 0 -> p = 1/2 -> loss log 2 everywhere; logit 2 with target 1 -> log(1 + e^-2)
    logits = torch.zeros(1, 1, 2, 2)
    logits[0, 0, 0, 0] = 2.0
    target = torch.tensor([[[1, 0], [1, 7]]])
    loss = cross_entropy(logits, target, mode="binary", ignore_index=7)
    expected = (math.log1p(math.exp(-2.0)) + 2 * math.log(2.0)) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_pixel_weight_is_a_weighted_sum_over_the_unignored_count():
    logits = _randn(1, 3, 2, 3, seed=2)
    target = torch.tensor([[[0, 1, 2], [2, 255, 0]]])
    w = torch.tensor([[[1.0, 2.0, 0.0], [4.0, 100.0, 1.0]]], dtype=torch.float64)
    per_pixel = F.cross_entropy(logits, torch.where(target == 255, 0, target), reduction="none")
    keep = target != 255
    expected = (per_pixel * w)[keep].sum() / keep.sum()
    ours = cross_entropy(logits, target, mode="multiclass", ignore_index=255, pixel_weight=w)
    torch.testing.assert_close(ours, expected)
    # uniform weight 2 doubles the plain loss
    torch.testing.assert_close(
        cross_entropy(logits, target, mode="multiclass", ignore_index=255,
                      pixel_weight=torch.full((1, 2, 3), 2.0, dtype=torch.float64)),
        2 * cross_entropy(logits, target, mode="multiclass", ignore_index=255))


def test_multilabel_cross_entropy_is_per_channel_bce():
    logits = _randn(2, 3, 4, 4, seed=3)
    target = _randint(2, 2, 3, 4, 4, seed=4)
    torch.testing.assert_close(
        cross_entropy(logits, target, mode="multilabel"),
        F.binary_cross_entropy_with_logits(logits, target.double()))


def test_all_ignored_gives_zero_and_zero_gradient():
    logits = _randn(1, 3, 2, 2).requires_grad_(True)
    target = torch.full((1, 2, 2), -1)
    for loss in (cross_entropy(logits, target, mode="multiclass", ignore_index=-1),
                 focal_loss(logits, target, mode="multiclass", ignore_index=-1)):
        assert loss.item() == 0.0
        (g,) = torch.autograd.grad(loss, logits)
        assert torch.count_nonzero(g) == 0


# ----------------------------------------------------------------------- focal
def test_focal_with_gamma_zero_is_cross_entropy():
    logits = _randn(2, 4, 3, 3, seed=5)
    target = _randint(4, 2, 3, 3, seed=6)
    torch.testing.assert_close(focal_loss(logits, target, mode="multiclass", gamma=0.0),
                               cross_entropy(logits, target, mode="multiclass"))
    b = _randn(2, 1, 3, 3, seed=7)
    bt = _randint(2, 2, 3, 3, seed=8)
    torch.testing.assert_close(focal_loss(b, bt, mode="binary", gamma=0.0),
                               cross_entropy(b, bt, mode="binary"))


def test_focal_known_answer():
    # binary, one pixel: logit log 3 -> p = 3/4; target 1: p_t = 3/4, gamma 2, alpha 0.25
    logits = torch.full((1, 1, 1, 1), math.log(3.0), dtype=torch.float64)
    one = torch.ones(1, 1, 1, dtype=torch.long)
    expected = -0.25 * (1 - 0.75) ** 2 * math.log(0.75)
    assert focal_loss(logits, one, mode="binary", alpha=0.25).item() == pytest.approx(expected)
    # target 0: p_t = 1/4, weight 1 - alpha
    expected0 = -0.75 * 0.75 ** 2 * math.log(0.25)
    assert focal_loss(logits, 0 * one, mode="binary", alpha=0.25).item() == pytest.approx(
        expected0)
    # multiclass: logits (0, log 3) -> p = (1/4, 3/4); alpha per class
    mc = torch.tensor([0.0, math.log(3.0)], dtype=torch.float64).view(1, 2, 1, 1)
    a = torch.tensor([0.5, 2.0], dtype=torch.float64)
    expected_mc = -2.0 * 0.25 ** 2 * math.log(0.75)
    assert focal_loss(mc, one, mode="multiclass", alpha=a).item() == pytest.approx(expected_mc)


def test_focal_down_weights_easy_pixels():
    logits = torch.tensor([4.0, 0.2]).view(1, 1, 1, 2)  # an easy and a hard positive
    t = torch.ones(1, 1, 2, dtype=torch.long)
    ce = F.binary_cross_entropy_with_logits(logits, t[:, None].float(), reduction="none")
    p = torch.sigmoid(logits)
    fl = -(1 - p) ** 2 * torch.log(p)
    torch.testing.assert_close(focal_loss(logits, t, mode="binary"), fl.mean())
    assert (fl / ce)[0, 0, 0, 0] < 0.001 < (fl / ce)[0, 0, 0, 1]


# ------------------------------------------------------------------------ dice
def test_dice_known_answers_with_saturated_logits():
    # logits of +-30: probabilities are 0/1 to 1e-13, so soft Dice is the hard Dice
    pred = torch.tensor([[1, 1, 0], [0, 1, 0]])
    target = torch.tensor([[1, 0, 0], [0, 1, 1]])
    logits = (pred * 60.0 - 30.0).view(1, 1, 2, 3).double()
    # TP = 2, |P| = 3, |T| = 3 -> Dice 4/6
    loss = dice_loss(logits, target[None], mode="binary", smooth=0.0)
    assert loss.item() == pytest.approx(1 - 4 / 6, abs=1e-9)
    # ignore the pixel (1, 2): |T| = 2 -> Dice 4/5
    t_ign = target.clone()
    t_ign[1, 2] = 9
    loss = dice_loss(logits, t_ign[None], mode="binary", smooth=0.0, ignore_index=9)
    assert loss.item() == pytest.approx(1 - 4 / 5, abs=1e-9)


def test_multiclass_dice_with_an_empty_class():
    # classes 0, 1 present; class 2 absent from target and prediction
    target = torch.tensor([[[0, 0, 1, 1]]])
    pred = torch.tensor([[[0, 1, 1, 1]]])
    logits = F.one_hot(pred, 3).permute(0, 3, 1, 2).double() * 60.0 - 30.0  # (1, 3, 1, 4)
    d0, d1 = 2 * 1 / (1 + 2), 2 * 2 / (3 + 2)
    # smooth = 1: class 2 has Dice (0 + 1) / (0 + 1) = 1; the others shift slightly
    s0, s1 = (2 * 1 + 1) / (1 + 2 + 1), (2 * 2 + 1) / (3 + 2 + 1)
    assert dice_loss(logits, target, mode="multiclass").item() == pytest.approx(
        1 - (s0 + s1 + 1) / 3, abs=1e-9)
    # smooth = 0: the empty class is 0 / 0 -> 0 here (clamped denominator), so the loss
    # counts it as a miss; hence smooth > 0 by default
    assert dice_loss(logits, target, mode="multiclass", smooth=0.0).item() == pytest.approx(
        1 - (d0 + d1 + 0) / 3, abs=1e-9)


def test_dice_multilabel_equals_binary_per_channel():
    logits = _randn(2, 2, 4, 5, seed=9)
    target = _randint(2, 2, 2, 4, 5, seed=10)
    per_channel = [dice_loss(logits[:, c:c + 1], target[:, c], mode="binary")
                   for c in range(2)]
    torch.testing.assert_close(dice_loss(logits, target, mode="multilabel"),
                               torch.stack(per_channel).mean())


def test_losses_give_gradients():
    logits = _randn(2, 3, 6, 6, seed=11).requires_grad_(True)
    target = _randint(3, 2, 6, 6, seed=12)
    for fn in (cross_entropy, dice_loss, focal_loss):
        (g,) = torch.autograd.grad(fn(logits, target, mode="multiclass"), logits)
        assert torch.isfinite(g).all() and g.abs().sum() > 0


def test_loss_errors():
    logits = torch.zeros(1, 3, 2, 2)
    target = torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="cross_entropy: mode must be"):
        cross_entropy(logits, target, mode="softmax")
    with pytest.raises(TypeError, match="dice_loss: logits must be a floating-point"):
        dice_loss(target, target, mode="multiclass")
    with pytest.raises(TypeError, match="focal_loss: target must be a torch.Tensor"):
        focal_loss(logits, np.zeros((1, 2, 2)), mode="multiclass")
    with pytest.raises(ValueError, match=r"mode='binary' needs logits \(B, 1, H, W\)"):
        cross_entropy(logits, target, mode="binary")
    with pytest.raises(ValueError, match="mode='multiclass' needs logits"):
        cross_entropy(torch.zeros(1, 1, 2, 2), target, mode="multiclass")
    with pytest.raises(ValueError, match=r"target must have shape \(1, 2, 2\)"):
        cross_entropy(logits, torch.zeros(1, 3, 2, 2, dtype=torch.long), mode="multiclass")
    with pytest.raises(ValueError, match=r"target values must lie in \[0, 2\]"):
        cross_entropy(logits, target + 3, mode="multiclass")
    with pytest.raises(ValueError, match=r"lie in \[0, 1\] for mode='multilabel'"):
        cross_entropy(logits, torch.full((1, 3, 2, 2), 2), mode="multilabel")
    with pytest.raises(TypeError, match="must hold integer labels"):
        cross_entropy(logits[:, :1], torch.full((1, 2, 2), 0.5), mode="binary")
    with pytest.raises(TypeError, match="ignore_index must be an int or None"):
        cross_entropy(logits, target, mode="multiclass", ignore_index=1.5)
    with pytest.raises(ValueError, match="pixel_weight must be finite and non-negative"):
        cross_entropy(logits, target, mode="multiclass", pixel_weight=-torch.ones(1, 2, 2))
    with pytest.raises(ValueError, match=r"pixel_weight must be \(B, H, W\)"):
        cross_entropy(logits, target, mode="multiclass", pixel_weight=torch.ones(1, 3, 3))
    with pytest.raises(ValueError, match="class_weight is for mode='multiclass'"):
        cross_entropy(logits[:, :1], target, mode="binary", class_weight=torch.ones(1))
    with pytest.raises(ValueError, match="focal_loss: gamma must be"):
        focal_loss(logits, target, mode="multiclass", gamma=-1)
    with pytest.raises(ValueError, match=r"alpha must be a tensor of shape \(3,\)"):
        focal_loss(logits, target, mode="multiclass", alpha=0.25)


# ------------------------------------------------------------------ weight map
def test_weight_map_two_objects_in_a_row_by_hand():
    # objects at columns 0-1 and 5-6; N = 7, background 3 pixels, foreground 4
    inst = np.array([[1, 1, 0, 0, 0, 2, 2]])
    w = unet_weight_map(inst, w0=10.0, sigma=5.0)
    wc_bg, wc_fg = 7 / (2 * 3), 7 / (2 * 4)
    # between the objects d1 + d2 = 4 (column 3: 2 + 2; column 2: 1 + 3); inside an
    # object next to the gap, d1 = 0 and d2 = 4 as well; column 0: d2 = 5
    bump4, bump5 = 10 * math.exp(-16 / 50), 10 * math.exp(-25 / 50)
    expected = [wc_fg + bump5, wc_fg + bump4, wc_bg + bump4, wc_bg + bump4, wc_bg + bump4,
                wc_fg + bump4, wc_fg + bump5]
    np.testing.assert_allclose(w[0], expected, rtol=1e-6)
    assert w.dtype == np.float32


def test_weight_map_two_squares_by_hand():
    # 2x2 squares at rows 1-2, columns 1-2 and columns 6-7 of a 4 x 9 image
    inst = np.zeros((4, 9), np.int32)
    inst[1:3, 1:3] = 1
    inst[1:3, 6:8] = 2
    w = unet_weight_map(inst, w0=10.0, sigma=5.0, class_balance=False)
    # pixel (0, 4): nearest pixel of object 1 is (1, 2): sqrt(1 + 4); of object 2 is (1, 6)
    d = math.sqrt(5.0)
    assert w[0, 4] == pytest.approx(1 + 10 * math.exp(-(2 * d) ** 2 / 50), rel=1e-6)
    # pixel (3, 0): object 1 at (2, 1): sqrt 2; object 2 at (2, 6): sqrt 37
    assert w[3, 0] == pytest.approx(1 + 10 * math.exp(-(math.sqrt(2) + math.sqrt(37)) ** 2 / 50),
                                    rel=1e-6)
    # background_only: no bump on the objects, the same in the gaps
    wb = unet_weight_map(inst, w0=10.0, sigma=5.0, class_balance=False, background_only=True)
    assert wb[1, 1] == 1.0 and wb[0, 4] == w[0, 4]
    # the gap between the objects outweighs the open background far away
    assert w[1, 4] > w[3, 0] > 1.0


def test_weight_map_single_object_is_the_class_balance_only():
    inst = np.zeros((3, 4), np.int64)
    inst[0, 0] = 5
    w = unet_weight_map(inst)
    np.testing.assert_allclose(w[0, 0], 12 / 2)
    np.testing.assert_allclose(w[1, 1], 12 / (2 * 11))
    # with labels of three classes the balance term gives each class total weight N / 3
    labels = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [2, 0, 0, 0]])
    w = unet_weight_map(inst, labels=labels)
    for c in range(3):
        assert w[labels == c].sum() == pytest.approx(12 / 3)


def test_weight_map_errors():
    with pytest.raises(TypeError, match="unet_weight_map: instances must be a numpy array"):
        unet_weight_map(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"unet_weight_map: instances must be \(H, W\)"):
        unet_weight_map(np.zeros(3, int))
    with pytest.raises(ValueError, match="labels must have the shape of instances"):
        unet_weight_map(np.zeros((3, 3), int), labels=np.zeros((2, 3), int))
    with pytest.raises(ValueError, match="unet_weight_map: sigma must be"):
        unet_weight_map(np.zeros((3, 3), int), sigma=0)
