"""Our optimisers against torch.optim's, step by step, on a seeded model."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from deep.optim import SGD, Adam, AdamW, RMSprop  # noqa: E402

CASES = [
    (SGD, torch.optim.SGD, dict(lr=0.05)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1e-2)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (RMSprop, torch.optim.RMSprop, dict(lr=1e-3)),
    (RMSprop, torch.optim.RMSprop, dict(lr=1e-3, momentum=0.9, centered=True,
                                        weight_decay=1e-2, alpha=0.9)),
    (Adam, torch.optim.Adam, dict(lr=1e-2)),
    (Adam, torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2,
                                  amsgrad=True)),
    (AdamW, torch.optim.AdamW, dict(lr=1e-2)),
    (AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
]


def _model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


@pytest.mark.parametrize("ours,theirs,kw", CASES, ids=lambda v: str(v)[:40])
def test_equals_torch_for_100_steps(ours, theirs, kw):
    a, b = _model(0), _model(0)
    opt_a = ours(a.parameters(), **kw)
    opt_b = theirs(b.parameters(), foreach=False, **kw)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(100, 16, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (100, 16), generator=g)
    p0 = [p.detach().clone() for p in a.parameters()]
    for t in range(100):
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[t]), y[t]).backward()
            opt.step()
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, rtol=0, atol=1e-6)
    moved = max(float((p.detach() - q).abs().max()) for p, q in zip(a.parameters(), p0))
    assert moved > 1e-2  # the parameters really moved


def test_closure_param_groups_and_none_grad():
    model = _model(0)
    extra = nn.Parameter(torch.ones(3))  # never used: its grad stays None
    opt = Adam([{"params": model.parameters()}, {"params": [extra], "lr": 0.5}], lr=1e-2)
    x = torch.randn(8, 1, 8, 8)

    def closure():
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        return loss

    l0 = float(opt.step(closure))
    for _ in range(20):
        opt.step(closure)
    assert float(closure()) < 0.5 * l0
    assert torch.equal(extra, torch.ones(3))


def test_errors():
    p = [nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="SGD: lr must be a finite number >= 0, got -1"):
        SGD(p, lr=-1)
    with pytest.raises(ValueError, match="SGD: nesterov needs momentum > 0"):
        SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="RMSprop: alpha must be a finite number in \\[0, 1\\)"):
        RMSprop(p, alpha=1.0)
    with pytest.raises(ValueError, match="Adam: betas must be a pair"):
        Adam(p, betas=0.9)
    with pytest.raises(ValueError, match="AdamW: betas\\[1\\] must be"):
        AdamW(p, betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="Adam: eps must be"):
        Adam(p, eps=float("nan"))
