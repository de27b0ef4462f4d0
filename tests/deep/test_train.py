"""deep.train: seeding, fit/evaluate, checkpoints (and refusing malicious ones), DDP."""

from __future__ import annotations

import json
import os
import pickle
import re
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



# ------------------------------------------------------- corrupt checkpoints
def _linear_checkpoint(path: Path) -> tuple[nn.Module, torch.optim.Optimizer, bytes]:
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()  # momentum buffers: a non-empty optimizer state
    save_checkpoint(path, model, optimizer=opt, metadata={"epoch": 3, "tags": ["a", 1.5]})
    return model, opt, path.read_bytes()


def _zip_rewrite(raw: bytes, edit) -> bytes:
    """``raw`` (a torch zip) rewritten entry by entry: ``edit(name, data) -> data or None``."""
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(raw))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = edit(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info, data)
    return buf.getvalue()


def _torch_bytes(obj) -> bytes:
    import io

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _payload(**changes):
    model = nn.Linear(3, 2)
    base = {"format": "deep-checkpoint-v1", "model": model.state_dict(), "optimizer": None,
            "metadata": {}}
    return _torch_bytes({**base, **changes})


def _structural_cases(raw: bytes) -> dict[str, tuple[bytes, str]]:
    """Hand-made corruptions, each with what the error must say (a regular expression)."""
    import io
    import zipfile

    def drop(suffix):
        return _zip_rewrite(raw, lambda n, d: None if n.endswith(suffix) else d)

    sd = nn.Linear(3, 2).state_dict()
    cases = {
        "empty": (b"", "is not a readable torch checkpoint"),
        "text": (b"hello, world", "is not a readable torch checkpoint"),
        "truncated_half": (raw[: len(raw) // 2], "is not a readable torch checkpoint"),
        "truncated_eocd": (raw[:-10], "is not a readable torch checkpoint"),
        "no_data_pkl": (drop("data.pkl"), "is not a readable torch checkpoint"),
        "no_tensor_data": (drop("data/0"), "is not a readable torch checkpoint"),
        "no_version": (drop("version"), "is not a readable torch checkpoint"),
        "metadata_list": (_payload(metadata=[1, 2]), r"is corrupt: metadata must be a dict "
                                                     r"with str keys, got \[1, 2\]"),
        "metadata_str": (_payload(metadata="epoch 3"), "metadata must be a dict"),
        "metadata_tensor": (_payload(metadata={"w": torch.zeros(2)}),
                            r"metadata\['w'\] must hold only str, int, float, bool, None"),
        "metadata_int_key": (_payload(metadata={1: 2}), "metadata keys must be str, got 1"),
        "no_model": (_torch_bytes({"format": "deep-checkpoint-v1", "optimizer": None,
                                   "metadata": {}}), "is not a deep checkpoint: keys"),
        "extra_key": (_payload(extra=1), "is not a deep checkpoint: keys"),
        "model_list": (_payload(model=[1]), r"'model' must map str names to tensors, got \[1\]"),
        "model_number": (_payload(model={"weight": 3}), "'model' must map str names to tensors"),
        "model_int_key": (_payload(model={1: torch.zeros(1)}), "'model' must map str names"),
        "optimizer_list": (_payload(optimizer=[1]), "'optimizer' must be None or a dict"),
        "optimizer_no_groups": (_payload(optimizer={"state": {}}), "'optimizer' must be None"),
        "wrong_format": (_torch_bytes({"format": "other", "model": sd}), "is not a deep checkpo"),
        "top_list": (_torch_bytes([1, 2]), "is not a deep checkpoint"),
        "top_tensor": (_torch_bytes(torch.zeros(3)), "is not a deep checkpoint"),
    }
    buf = io.BytesIO()  # every entry deflated, as torch never writes one (a zip bomb could)
    with zipfile.ZipFile(io.BytesIO(raw)) as src, \
            zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    cases["deflated"] = (buf.getvalue(), "is compressed or claims")
    big = bytearray(raw)  # the first central-directory entry claims 4 GiB
    central = big.find(b"PK\x01\x02")
    big[central + 24:central + 28] = (2**32 - 1).to_bytes(4, "little")  # uncompressed size
    cases["absurd_entry_size"] = (bytes(big), "is compressed or claims 4294967295 bytes")
    return cases


def test_corrupt_checkpoints_are_one_value_error(tmp_path):
    """Hand-made corruptions plus a seeded fuzz (flipped bits, overwritten bytes, cuts):
    every load is the saved checkpoint or one ValueError naming load_checkpoint."""
    model, opt, raw = _linear_checkpoint(tmp_path / "good.pt")
    good = load_checkpoint(tmp_path / "good.pt")
    cases = _structural_cases(raw)
    rng = np.random.default_rng(2024)
    for i in range(120):
        b = bytearray(raw)
        if i % 3 == 0:
            pos = int(rng.integers(len(b)))
            b[pos] ^= 1 << int(rng.integers(8))
        elif i % 3 == 1:
            for pos in rng.integers(len(b), size=6):
                b[int(pos)] = int(rng.integers(256))
        else:
            b = b[: int(rng.integers(len(b)))]
        cases[f"fuzz{i}"] = (bytes(b), None)
    kinds = {"loaded": 0, "refused": 0}
    for name, (data, match) in cases.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(data)
        fresh = nn.Linear(3, 2)
        fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
        try:
            ck = load_checkpoint(path, model=fresh, optimizer=fresh_opt)
        except ValueError as exc:
            message = str(exc)
            assert message.startswith("load_checkpoint: "), (name, message)
            assert "\n" not in message, (name, message)
            if match:
                assert re.search(match, message), (name, message)
            kinds["refused"] += 1
            continue
        assert match is None, (name, "loaded")
        # what loads is the checkpoint that was saved: nothing corrupt gets through
        assert ck.metadata == good.metadata and ck.metadata == {"epoch": 3, "tags": ["a", 1.5]}
        assert all(torch.equal(ck.model_state[k], v) for k, v in good.model_state.items())
        assert all(torch.equal(a, b) for a, b in zip(fresh.parameters(), model.parameters()))
        kinds["loaded"] += 1
    assert kinds["refused"] > 100 and kinds["loaded"] > 0  # bits outside the data: harmless


def test_checkpoint_that_does_not_fit_the_model_or_optimizer(tmp_path):
    _, _, raw = _linear_checkpoint(tmp_path / "a.pt")
    with pytest.raises(ValueError, match=r"load_checkpoint: the model does not match .*"
                                         r"size mismatch for weight"):
        load_checkpoint(tmp_path / "a.pt", model=nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"the model does not match .*Missing key"):
        load_checkpoint(tmp_path / "a.pt", model=nn.Sequential(nn.Linear(3, 2)))
    two = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"load_checkpoint: the optimizer does not match .*"
                                         r"ValueError: loaded state dict"):
        load_checkpoint(tmp_path / "a.pt", optimizer=torch.optim.SGD(two.parameters(), lr=1))
    os.mkfifo(tmp_path / "fifo.pt")  # never opened: torch.load would wait on it forever
    with pytest.raises(ValueError, match=r"load_checkpoint: .*fifo.pt' is not a regular file"):
        load_checkpoint(tmp_path / "fifo.pt")
    (tmp_path / "loop.pt").symlink_to("loop.pt")
    with pytest.raises(ValueError, match="load_checkpoint: cannot open .*Too many levels"):
        load_checkpoint(tmp_path / "loop.pt")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_checkpoint_pickle_inside_a_valid_zip_is_refused(tmp_path):
    marker = tmp_path / "marker.txt"
    _, _, raw = _linear_checkpoint(tmp_path / "a.pt")
    evil = pickle.dumps({"format": "deep-checkpoint-v1", "model": _WriteMarker(marker),
                         "optimizer": None, "metadata": {}}, protocol=2)
    path = tmp_path / "evil.pt"
    path.write_bytes(_zip_rewrite(raw, lambda n, d: evil if n.endswith("data.pkl") else d))
    with pytest.raises(ValueError, match="load_checkpoint: refused to load .*could run code"):
        load_checkpoint(path)
    assert not marker.exists()


def test_save_checkpoint_metadata_must_be_a_dict(tmp_path):
    model = nn.Linear(2, 2)
    for bad in ([("epoch", 1)], "epoch", 3, ("a", "b")):
        with pytest.raises(TypeError, match="save_checkpoint: metadata must be a dict with str "
                                            "keys"):
            save_checkpoint(tmp_path / "a.pt", model, metadata=bad)
    deep: dict = {}
    cur = deep
    for _ in range(5000):  # checked without recursion: a clear error, not RecursionError
        cur["a"] = {}
        cur = cur["a"]
    with pytest.raises(ValueError, match="save_checkpoint: metadata nests deeper than 64"):
        save_checkpoint(tmp_path / "a.pt", model, metadata=deep)
    assert not (tmp_path / "a.pt").exists()
    assert load_checkpoint(save_checkpoint(tmp_path / "b.pt", model, metadata=None)
                           ).metadata == {}


def test_checkpoint_file_mode_follows_the_umask_and_stale_parts_go(tmp_path):
    import stat
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    target = tmp_path / "ckpt.pt"
    killed = subprocess.run(  # a save killed half-way leaves its temporary file
        [sys.executable, "-c", "import os, signal; from cvgeo._io import atomic_write; "
         "atomic_write(os.environ['DST'], lambda fh: (fh.write(b'PK half'), fh.flush(), "
         "os.kill(os.getpid(), signal.SIGKILL)))"],
        env={**os.environ, "PYTHONPATH": str(root), "DST": str(target)}, timeout=120)
    assert killed.returncode == -9 and len(list(tmp_path.glob(".ckpt.pt.*.part"))) == 1
    old = os.umask(0o022)
    try:
        p = save_checkpoint(target, nn.Linear(2, 2))
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644  # 0o666 & ~0o022, not mkstemp's 0o600
    assert list(tmp_path.glob("*.part")) == [] and list(tmp_path.glob(".*")) == []


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
