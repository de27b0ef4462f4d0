"""deep.train: seeding, fit/evaluate, checkpoints (and refusing malicious ones), DDP."""

from __future__ import annotations

import json
import os
import pickle
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from deep.data import ArrayDataset, make_shapes
from deep.layers import MoE
from deep.models import ViT
from deep.train import (
    evaluate,
    fit,
    load_checkpoint,
    save_checkpoint,
    seed_everything,
    select_device,
)


def _tiny_vit(**kw) -> ViT:
    args = dict(image_size=16, patch_size=4, in_chans=1, num_classes=3, dim=16, depth=1,
                num_heads=2, mlp_ratio=2.0)
    return ViT(**{**args, **kw})


@pytest.fixture(scope="module")
def shapes() -> ArrayDataset:
    return make_shapes(48, image_size=16, seed=0)


# --------------------------------------------------------------------- seeding
def test_seed_everything():
    assert seed_everything(5) == 5
    a = torch.randn(3)
    b = np.random.rand()  # noqa: NPY002 - the legacy global generator is what it seeds
    seed_everything(5)
    assert torch.equal(torch.randn(3), a) and np.random.rand() == b  # noqa: NPY002
    s1 = seed_everything(np.random.default_rng(1))
    assert s1 == seed_everything(np.random.default_rng(1))
    assert isinstance(seed_everything(None), int)
    with pytest.raises(TypeError, match="seed_everything: seed must be an int"):
        seed_everything(1.5)


def test_select_device():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="select_device: device must name a torch device"):
        select_device("gpu-please")


# ------------------------------------------------------------------ fit/evaluate
def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_fit_is_reproducible_and_learns(shapes):
    runs = []
    for _ in range(2):
        seed_everything(0)
        model = _tiny_vit(drop_path_rate=0.1)
        res = fit(model, shapes, epochs=3, batch_size=12, lr=3e-3, seed=0, progress=False,
                  eval_data=shapes)
        runs.append((_state(model), res))
    (s1, r1), (s2, r2) = runs
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert [h.train_loss for h in r1.history] == [h.train_loss for h in r2.history]
    assert len(r1.history) == 3 and r1.device == "cpu" and r1.world_size == 1
    assert r1.history[-1].train_loss < r1.history[0].train_loss
    assert r1.final.eval_accuracy is not None and 0.0 <= r1.final.eval_accuracy <= 1.0
    assert r1.history[-1].learning_rate < r1.history[0].learning_rate  # cosine decay
    seed_everything(0)
    other = _tiny_vit(drop_path_rate=0.1)
    fit(other, shapes, epochs=1, batch_size=12, seed=1, progress=False)
    s3 = _state(other)
    assert not all(torch.equal(s1[k], s3[k]) for k in s1)


def test_fit_with_moe_updates_the_router(shapes):
    from functools import partial

    seed_everything(0)
    model = _tiny_vit(pool="gap", mlp_layer=partial(MoE, num_experts=2, top_k=1))
    before = model.blocks[0].mlp.router.weight.detach().clone()
    res = fit(model, shapes, epochs=1, batch_size=16, aux_loss_weight=0.1, progress=False)
    # top_k=1: mixing weights are 1, so only the auxiliary loss trains the router.
    assert not torch.equal(model.blocks[0].mlp.router.weight, before)
    assert np.isfinite(res.final.train_loss)


class _Brightness(nn.Module):
    """Predicts class 1 for images brighter than 0.5, class 0 otherwise."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([0.5 - m, m - 0.5], dim=1) * 10 + self.dummy


def test_evaluate_known_confusion():
    images = np.concatenate([np.zeros((3, 4, 4)), np.ones((5, 4, 4))]).astype(np.float32)
    labels = np.array([0, 0, 1, 1, 1, 1, 0, 0])  # 1 error on dark, 2 on bright
    ds = ArrayDataset(images, labels, class_names=["dark", "bright", "other"])
    res = evaluate(_Brightness(), ds, batch_size=3, num_classes=3)
    assert res.confusion.tolist() == [[2, 2, 0], [1, 3, 0], [0, 0, 0]]
    assert res.accuracy == pytest.approx(5 / 8)
    assert res.predictions.tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    logits = _Brightness()(torch.from_numpy(images)[:, None])
    expected = nn.functional.cross_entropy(logits, torch.from_numpy(labels)).item()
    assert res.loss == pytest.approx(expected, rel=1e-6)
    bad = ArrayDataset(images, np.array([0, 0, 0, 0, 0, 0, 0, 2]), class_names="abc")
    with pytest.raises(ValueError, match="evaluate: labels must be < the model's 2 logits, got "
                                         "label 2"):
        evaluate(_Brightness(), bad)


def test_fit_errors(shapes):
    m = _tiny_vit()
    with pytest.raises(ValueError, match=r"fit: epochs must be an int >= 1, got 0"):
        fit(m, shapes, epochs=0)
    with pytest.raises(ValueError, match="fit: lr must be > 0.0"):
        fit(m, shapes, lr=0.0)
    with pytest.raises(ValueError, match="fit: train_data must hold at least one sample"):
        fit(m, ArrayDataset(np.zeros((0, 16, 16)), np.zeros(0, int), class_names=["a"]))
    with pytest.raises(TypeError, match="fit: model must be a torch.nn.Module"):
        fit(lambda x: x, shapes)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="fit: amp=True needs a CUDA device, got device cpu"):
            fit(m, shapes, amp=True)


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_round_trip(tmp_path, shapes):
    seed_everything(0)
    model = _tiny_vit()
    path = tmp_path / "run" / "ckpt.pt"
    res = fit(model, shapes, epochs=2, batch_size=16, progress=False, checkpoint_path=path)
    ck = load_checkpoint(path)
    assert ck.metadata["epoch"] == 2 and ck.metadata["world_size"] == 1
    assert ck.metadata["history"][1]["train_loss"] == res.history[1].train_loss
    assert all(torch.equal(ck.model_state[k], v) for k, v in model.state_dict().items())
    # Restore into a fresh model and optimizer.
    fresh = _tiny_vit()
    opt = torch.optim.AdamW(fresh.parameters())
    opt_groups = [{"params": [p for p in fresh.parameters() if p.ndim >= 2 and p.shape[0] > 1]},
                  {"params": [p for p in fresh.parameters()
                              if not (p.ndim >= 2 and p.shape[0] > 1)]}]
    opt = torch.optim.AdamW(opt_groups)
    load_checkpoint(path, model=fresh, optimizer=opt)
    x = torch.randn(2, 1, 16, 16)
    assert torch.equal(fresh.eval()(x), model.eval()(x))
    assert opt.state_dict()["state"][0]["step"] > 0
    # save_checkpoint directly, with metadata.
    p2 = save_checkpoint(tmp_path / "b.pt", model, metadata={"note": "x", "vals": (1, 2.5)})
    assert load_checkpoint(p2).metadata == {"note": "x", "vals": [1, 2.5]}
    assert not list(tmp_path.glob("**/*.part"))  # atomic writes leave no temporaries


def test_checkpoint_errors(tmp_path):
    model = _tiny_vit()
    with pytest.raises(ValueError, match=r"save_checkpoint: metadata\['bad'\] must hold only "
                                         r"str, int, float, bool, None"):
        save_checkpoint(tmp_path / "a.pt", model, metadata={"bad": object()})
    path = save_checkpoint(tmp_path / "a.pt", model)
    size = path.stat().st_size
    with pytest.raises(ValueError, match=rf"load_checkpoint: the file must be at most "
                                         rf"max_bytes=1000 bytes, got {size} bytes"):
        load_checkpoint(path, max_bytes=1000)
    with pytest.raises(FileNotFoundError, match="load_checkpoint: path must name an existing"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="is not a deep checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00not a checkpoint at all")
    with pytest.raises(ValueError, match="load_checkpoint: "):
        load_checkpoint(tmp_path / "junk.pt")


class _WriteMarker:
    """Unpickling this object calls ``Path.write_text(marker, "pwned")``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("container", ["torch.save", "raw pickle"])
def test_checkpoint_that_runs_code_is_refused(tmp_path, container):
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "evil.pt"
    payload = {"format": "deep-checkpoint-v1", "model": {"w": _WriteMarker(marker)},
               "optimizer": None, "metadata": {}}
    if container == "torch.save":
        torch.save(payload, evil)
    else:
        evil.write_bytes(pickle.dumps(payload))
    # The file really is dangerous: the unsafe unpickler runs the payload.
    if container == "torch.save":
        torch.load(evil, weights_only=False)
    else:
        pickle.loads(evil.read_bytes())  # noqa: S301 - demonstrating the danger
    assert marker.read_text() == "pwned"
    marker.unlink()
    with pytest.raises(ValueError, match="load_checkpoint: refused to load .*could run code"):
        load_checkpoint(evil)
    assert not marker.exists()


# -------------------------------------------------------------- distributed (gloo)
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    seed_everything(0)
    model = _tiny_vit()
    data = make_shapes(32, image_size=16, seed=0)
    res = fit(model, data, epochs=2, batch_size=4, progress=False, device="cpu",
              checkpoint_path=Path(out) / "ckpt.pt")
    torch.save(model.state_dict(), Path(out) / f"rank{rank}.pt")
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(
        {"world_size": res.world_size, "losses": [h.train_loss for h in res.history]}))
    dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_two_processes_gloo(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    s0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    s1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(s0[k], s1[k]) for k in s0)  # gradients were all-reduced
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0 == r1 and r0["world_size"] == 2  # metrics all-reduced too
    ck = load_checkpoint(tmp_path / "ckpt.pt")
    assert ck.metadata["saved_by_rank"] == 0 and ck.metadata["world_size"] == 2
    assert all(torch.equal(ck.model_state[k], s0[k]) for k in s0)
    # Each rank saw half of the 32 samples per epoch: 2 epochs x 4 steps of 4 samples.
    assert ck.optimizer_state["state"][0]["step"] == 8
