"""deep.layers norms against torch's built-ins: same parameters, same outputs (1e-6 in
float32), same gradients (1e-10 in float64), in train and eval mode."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deep.layers import (
    BatchNorm2d,
    GroupNorm,
    LayerNorm,
    LayerNorm2d,
    LocalResponseNorm,
    weight_norm,
)


def _rand(*shape, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * 2 + 0.5).to(dtype)


def _randomise(module: nn.Module, seed: int = 1) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) + 0.5)


def _compare(ours, theirs, x, *, train: bool, atol: float):
    ours.train(train)
    theirs.train(train)
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    ya, yb = ours(xa), theirs(xb)
    torch.testing.assert_close(ya, yb, atol=atol, rtol=0)
    if x.dtype == torch.float64:
        g = _rand(*ya.shape, dtype=x.dtype, seed=7)
        ya.backward(g)
        yb.backward(g)
        torch.testing.assert_close(xa.grad, xb.grad, atol=1e-10, rtol=0)
        for (na, pa), (nb, pb) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert na == nb
            torch.testing.assert_close(pa.grad, pb.grad, atol=1e-10, rtol=0)
        ours.zero_grad()
        theirs.zero_grad()


# ------------------------------------------------------------------- BatchNorm
@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_matches_torch_in_train_and_eval(dtype, atol, momentum):
    ours = BatchNorm2d(5, momentum=momentum).to(dtype)
    theirs = nn.BatchNorm2d(5, momentum=momentum).to(dtype)
    _randomise(ours)
    theirs.load_state_dict(ours.state_dict())  # same keys, so the same parameters
    for step in range(4):  # running statistics over several batches of different shapes
        x = _rand(3 + step, 5, 6, 7 - step, dtype=dtype, seed=step)
        _compare(ours, theirs, x, train=True, atol=atol)
        for name in ("running_mean", "running_var"):
            torch.testing.assert_close(getattr(ours, name), getattr(theirs, name), atol=atol,
                                       rtol=0)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == step + 1
    # eval: the running statistics normalise, and they stop changing
    before = ours.running_mean.clone()
    _compare(ours, theirs, _rand(2, 5, 4, 4, dtype=dtype, seed=9), train=False, atol=atol)
    assert torch.equal(ours.running_mean, before)


def test_batchnorm_running_statistics_by_hand():
    bn = BatchNorm2d(2, momentum=0.25)
    x = torch.tensor([[[[1.0, 3.0]], [[0.0, 0.0]]], [[[5.0, 7.0]], [[2.0, 2.0]]]])  # (2, 2, 1, 2)
    y = bn(x)
    # channel 0 holds 1, 3, 5, 7: mean 4, biased variance 5, unbiased 20/3
    torch.testing.assert_close(bn.running_mean, torch.tensor([0.25 * 4, 0.25 * 1.0]))
    torch.testing.assert_close(bn.running_var, torch.tensor([0.75 + 0.25 * 20 / 3,
                                                             0.75 + 0.25 * 4 / 3]))
    torch.testing.assert_close(y[:, 0].flatten(), (torch.tensor([1.0, 3, 5, 7]) - 4)
                               / torch.sqrt(torch.tensor(5.0 + 1e-5)))


@pytest.mark.parametrize("kw", [dict(affine=False), dict(track_running_stats=False)])
def test_batchnorm_options_match_torch(kw):
    ours, theirs = BatchNorm2d(3, **kw).double(), nn.BatchNorm2d(3, **kw).double()
    x = _rand(4, 3, 5, 5, dtype=torch.float64)
    _compare(ours, theirs, x, train=True, atol=1e-12)
    _compare(ours, theirs, x, train=False, atol=1e-12)


def test_batchnorm_accepts_1d_and_3d_data():
    for shape in ((6, 4), (6, 4, 5), (2, 4, 3, 3, 3)):
        x = _rand(*shape)
        ours, theirs = BatchNorm2d(4), (nn.BatchNorm1d(4) if len(shape) < 4 else
                                        nn.BatchNorm3d(4))
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-6, rtol=0)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: input must be \(N, C, \*\) with C=3, "
                                         r"got shape \(2, 4, 5, 5\)"):
        BatchNorm2d(3)(torch.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match="BatchNorm2d: training needs more than one value per "
                                         "channel"):
        BatchNorm2d(3)(torch.zeros(1, 3, 1, 1))
    with pytest.raises(ValueError, match="BatchNorm2d: momentum must be"):
        BatchNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match="BatchNorm2d: num_features must be"):
        BatchNorm2d(0)
    with pytest.raises(TypeError, match="BatchNorm2d: input must be a torch.Tensor"):
        BatchNorm2d(3)([1, 2, 3])


# ------------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("train", [True, False])
def test_layernorm_channels_last_matches_torch(dtype, atol, train):
    ours, theirs = LayerNorm(6, eps=1e-6).to(dtype), nn.LayerNorm(6, eps=1e-6).to(dtype)
    _randomise(ours)
    theirs.load_state_dict(ours.state_dict())
    _compare(ours, theirs, _rand(2, 3, 4, 6, dtype=dtype), train=train, atol=atol)


class _TorchChannelsFirst(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("train", [True, False])
def test_layernorm_channels_first_matches_torch_on_permuted_maps(dtype, atol, train):
    ours, theirs = LayerNorm2d(6).to(dtype), _TorchChannelsFirst(6, eps=1e-6).to(dtype)
    _randomise(ours)
    theirs.load_state_dict(ours.state_dict())
    _compare(ours, theirs, _rand(2, 6, 5, 3, dtype=dtype), train=train, atol=atol)
    assert LayerNorm(6, channels_first=True).eps == 1e-5 and LayerNorm2d(6).eps == 1e-6


def test_layernorm_errors():
    with pytest.raises(ValueError, match=r"LayerNorm: input must be \(\.\.\., C\) with C=4"):
        LayerNorm(4)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"LayerNorm2d: input must be \(N, C, \*\) with C=4"):
        LayerNorm2d(4)(torch.zeros(2, 3, 5, 5))
    with pytest.raises(ValueError, match="LayerNorm: eps must be"):
        LayerNorm(4, eps=0)


# ------------------------------------------------------------------- GroupNorm
@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("groups", [1, 2, 6])
@pytest.mark.parametrize("train", [True, False])
def test_groupnorm_matches_torch(dtype, atol, groups, train):
    ours, theirs = GroupNorm(groups, 6).to(dtype), nn.GroupNorm(groups, 6).to(dtype)
    _randomise(ours)
    theirs.load_state_dict(ours.state_dict())
    _compare(ours, theirs, _rand(3, 6, 4, 5, dtype=dtype), train=train, atol=atol)


def test_groupnorm_is_independent_of_the_batch_and_errors():
    gn = GroupNorm(2, 4)
    x = _rand(3, 4, 5, 5)
    torch.testing.assert_close(gn(x)[1:2], gn(x[1:2]))
    with pytest.raises(ValueError, match="GroupNorm: num_groups must divide num_channels=6, "
                                         "got 4"):
        GroupNorm(4, 6)


# ---------------------------------------------------------- local response norm
@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("size", [1, 4, 5])
@pytest.mark.parametrize("train", [True, False])
def test_local_response_norm_matches_torch(dtype, atol, size, train):
    kw = dict(alpha=1e-2, beta=0.75, k=2.0)
    ours, theirs = LocalResponseNorm(size, **kw), nn.LocalResponseNorm(size, **kw)
    _compare(ours, theirs, _rand(2, 7, 4, 5, dtype=dtype), train=train, atol=atol)


def test_local_response_norm_by_hand_and_errors():
    x = torch.tensor([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    y = LocalResponseNorm(3, alpha=3.0, beta=1.0, k=1.0)(x).flatten()
    # channel 0: window {pad, 1, 2} → 1 + 3/3 (1 + 4) = 6; channel 1: 1 + 14 = 15; 2: 1 + 13
    torch.testing.assert_close(y, torch.tensor([1 / 6, 2 / 15, 3 / 14]))
    with pytest.raises(ValueError, match="LocalResponseNorm: input must be \\(N, C, \\*\\)"):
        LocalResponseNorm(3)(torch.zeros(3, 4))


# ----------------------------------------------------------- weight normalisation
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    from torch.nn.utils.parametrizations import weight_norm as torch_weight_norm

    torch.manual_seed(0)
    base = nn.Conv2d(3, 4, 3).double()
    ours = weight_norm(nn.Conv2d(3, 4, 3).double(), dim=dim)
    theirs = torch_weight_norm(nn.Conv2d(3, 4, 3).double(), dim=dim)
    ours.load_state_dict({k: v for k, v in theirs.state_dict().items()})
    with torch.no_grad():  # a direction v and lengths g that differ from the initial weight
        ours.parametrizations.weight.original1.copy_(base.weight)
        theirs.parametrizations.weight.original1.copy_(base.weight)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    x = _rand(2, 3, 6, 6, dtype=torch.float64)
    _compare(ours, theirs, x, train=True, atol=1e-12)
    _compare(ours, theirs, x, train=False, atol=1e-12)
    # the length of each output filter is g: w = g v / ||v||
    w, g = ours.weight, ours.parametrizations.weight.original0
    if dim == 0:
        torch.testing.assert_close(w.flatten(1).norm(dim=1), g.flatten())


def test_weight_norm_errors():
    with pytest.raises(ValueError, match="weight_norm: module must have a tensor parameter "
                                         "'kernel'"):
        weight_norm(nn.Linear(2, 2), name="kernel")
    with pytest.raises(TypeError, match="weight_norm: module must be a torch.nn.Module"):
        weight_norm(3)


@pytest.mark.parametrize("cls,theirs", [(BatchNorm2d, nn.BatchNorm2d),
                                        (lambda c: GroupNorm(4, c), lambda c: nn.GroupNorm(4, c))],
                         ids=["batchnorm", "groupnorm"])
def test_float32_gradients_are_as_accurate_as_torchs_far_from_zero_mean(cls, theirs):
    # The written-out backward passes centre x before summing, so a large mean (100 std)
    # costs no more precision than in torch's kernels; float64 is the reference.
    x = _rand(8, 8, 6, 6) / 2 + 100.0
    g = _rand(8, 8, 6, 6, seed=3)
    grads = {}
    for label, make, dtype in (("ours", cls, torch.float32), ("torch", theirs, torch.float32),
                               ("ref", theirs, torch.float64)):
        m = make(8).to(dtype)
        xi = x.detach().to(dtype).clone().requires_grad_(True)
        m(xi).backward(g.to(dtype))
        grads[label] = (xi.grad.double(), m.weight.grad.double())
    for k in range(2):
        err_ours = (grads["ours"][k] - grads["ref"][k]).abs().max()
        err_torch = (grads["torch"][k] - grads["ref"][k]).abs().max()
        assert err_ours <= 3 * err_torch + 1e-6


@pytest.mark.parametrize("make", [lambda: (BatchNorm2d(4), nn.BatchNorm2d(4)),
                                  lambda: (GroupNorm(2, 4), nn.GroupNorm(2, 4)),
                                  lambda: (LayerNorm2d(4), _TorchChannelsFirst(4, eps=1e-6))],
                         ids=["batchnorm", "groupnorm", "layernorm2d"])
def test_bfloat16_inputs_are_normalised_in_float32(make):
    ours, theirs = make()
    x = (_rand(4, 4, 5, 5) * 3 + 50).to(torch.bfloat16)  # a large mean: bf16 stats would fail
    y = ours(x)
    assert y.dtype == torch.bfloat16
    expected = theirs(x.float())  # the reference: float32 statistics
    # bf16 rounds values below 4 to 2^-6: 0.0078 at most; bf16 statistics err by 0.022
    torch.testing.assert_close(y.float(), expected, atol=1e-2, rtol=0)
