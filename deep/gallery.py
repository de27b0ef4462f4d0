"""The gallery's deep section: LeNet-5 trained on scikit-learn's digits in seconds.

:func:`cvgeo.gallery.section_deep` imports :func:`section` from here, so a
``cvgeo gallery`` without torch shows the section as unavailable instead of failing.
The input is the gallery's bundled ``"digits"`` image: the last 80 of sklearn's 1797
digits (never used for training), each upscaled to 32x32, in a 8 x 10 montage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from cvgeo.gallery import DIGITS_HELD_OUT, DIGITS_TILE, Figure, Section
from cvgeo.image import resize, to_float
from cvgeo.pipeline import make_pipeline
from deep.train import one_thread

__all__ = ["digit_filters", "digits_classified", "montage_tiles", "one_thread", "section",
           "timed", "train_one_cycle", "trained_lenet"]  # one_thread: re-exported from deep.train

_EPOCHS = 8
_cache: dict[str, torch.nn.Module] = {}


def trained_lenet() -> torch.nn.Module:
    """LeNet-5 trained (AdamW, one-cycle schedule, batch 64, seed 0, one thread) on all
    digits but the last 80, resized to 32x32 and standardised; cached for the process."""
    if "lenet" in _cache:
        return _cache["lenet"]
    from sklearn.datasets import load_digits

    from deep.models import create_model
    from deep.train import seed_everything

    d = load_digits()
    n = len(d.images) - DIGITS_HELD_OUT
    images = np.stack([resize((im / 16.0).astype(np.float32), (DIGITS_TILE, DIGITS_TILE))
                       for im in d.images[:n]])  # (n, 32, 32) in [0, 1]
    x = torch.from_numpy(_standardise(images))[:, None]  # (n, 1, 32, 32)
    y = torch.from_numpy(d.target[:n].astype(np.int64))
    with one_thread(), torch.enable_grad():
        seed_everything(0)
        model = create_model("lenet5", in_chans=1, num_classes=10)
        gen = torch.Generator().manual_seed(0)
        batches = [idx for _ in range(_EPOCHS)
                   for idx in torch.randperm(n, generator=gen).split(64)]
        train_one_cycle(model, lambda i: F.cross_entropy(model(x[batches[i]]), y[batches[i]]),
                        steps=len(batches), lr=3e-3, weight_decay=0.01, pct_start=0.3)
    _cache["lenet"] = model
    return _cache["lenet"]


def _standardise(images: np.ndarray) -> np.ndarray:
    return ((images - 0.2) / 0.33).astype(np.float32)  # about the digits' mean and std


def _tiles(image: np.ndarray) -> np.ndarray:
    """The montage's ``(k, 32, 32)`` float tiles, row-major."""
    return montage_tiles(image, (DIGITS_TILE, DIGITS_TILE))


def digits_classified(image: np.ndarray) -> np.ndarray:
    """The montage with each digit framed green (LeNet-5 right) or red (wrong)."""
    from sklearn.datasets import load_digits

    tiles = _tiles(image)
    x = torch.from_numpy(_standardise(tiles))[:, None]  # (k, 1, 32, 32)
    model = trained_lenet()
    with torch.no_grad():
        pred = model(x).argmax(dim=1).numpy()
    truth = load_digits().target[-DIGITS_HELD_OUT:][:len(tiles)]
    t, pad = DIGITS_TILE, 3
    cols = to_float(image).shape[1] // t
    out = np.ones((len(tiles) // cols * (t + 2 * pad), cols * (t + 2 * pad), 3), np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        y0, x0 = r * (t + 2 * pad), c * (t + 2 * pad)
        colour = (0.1, 0.7, 0.2) if pred[i] == truth[i] else (0.9, 0.1, 0.1)
        out[y0:y0 + t + 2 * pad, x0:x0 + t + 2 * pad] = colour
        out[y0 + pad:y0 + pad + t, x0 + pad:x0 + pad + t] = tile[..., None]
    return out


def digit_filters(image: np.ndarray) -> np.ndarray:
    """Top: LeNet-5's six learned 5x5 C1 filters (blue negative, red positive). Bottom:
    their responses to the montage's first digit (min-max scaled)."""
    model = trained_lenet()
    w = model.stages[0][0].weight.detach()[:, 0].numpy()  # (6, 5, 5)
    tile = _tiles(image)[0]
    with torch.no_grad():
        maps = model.forward_intermediates(
            torch.from_numpy(_standardise(tile[None]))[:, None], indices=[0])[0][0].numpy()
    size, pad = 60, 4
    row1, row2 = [], []
    for f, m in zip(w, maps):
        f = f / max(float(np.abs(f).max()), 1e-12)
        rgb = np.where(f[..., None] < 0, 1 + (np.array([0.1, 0.3, 0.8]) - 1) * -f[..., None],
                       1 + (np.array([0.8, 0.1, 0.1]) - 1) * f[..., None])
        row1.append(np.kron(rgb, np.ones((12, 12, 1))))  # (60, 60, 3)
        m = (m - m.min()) / max(float(m.max() - m.min()), 1e-12)
        row2.append(np.repeat(resize(m.astype(np.float32), (size, size))[..., None], 3, axis=2))
    canvas = np.ones((2 * size + 3 * pad, 6 * (size + pad) + pad, 3), np.float32)
    for i, (a, b) in enumerate(zip(row1, row2)):
        x0 = pad + i * (size + pad)
        canvas[pad:pad + size, x0:x0 + size] = a
        canvas[2 * pad + size:2 * pad + 2 * size, x0:x0 + size] = b
    return np.clip(canvas, 0, 1)


def section() -> Section:
    """LeNet-5 on digits: predictions on held-out digits, learned filters."""
    return Section("Deep: a CNN trained in seconds", (
        Figure("LeNet-5 on 80 held-out digits: green right, red wrong", "digits",
               make_pipeline(digits_classified),
               note=f"trained from scratch here on sklearn's other 1717 digits, {_EPOCHS} "
                    "epochs, one thread (the first run's time includes the training)"),
        Figure("Its learned first-layer filters (top) and their responses (bottom)", "digits",
               make_pipeline(digit_filters)),
    ), text="deep.create_model('lenet5') trained (AdamW, one-cycle) on sklearn's digits "
            "resized to 32x32 with cvgeo.resize; examples/train_cnn.py trains the other "
            "families for longer.")


def train_one_cycle(model: torch.nn.Module, loss_of_step: Callable[[int], torch.Tensor], *,
                    steps: int, lr: float, weight_decay: float, pct_start: float,
                    clip_norm: float | None = None) -> torch.nn.Module:
    """The gallery's training recipe: AdamW under a one-cycle schedule for ``steps`` steps.

    ``loss_of_step(i)`` draws step ``i``'s batch (from the caller's seeded generator) and
    returns its loss; the gradient norm is clipped to ``clip_norm`` when given. The model is
    in train mode during the steps and returned in eval mode.
    """
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=pct_start)
    model.train()
    for i in range(steps):
        loss = loss_of_step(i)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        opt.step()
        sched.step()
    return model.eval()


@contextmanager
def timed(record: MutableMapping[str, object]) -> Iterator[None]:
    """Time the block: its CPU and wall seconds go to ``record["cpu_s"]`` and
    ``record["wall_s"]`` when it completes (a gallery note quotes them)."""
    c0, t0 = time.process_time(), time.perf_counter()
    yield
    record["cpu_s"], record["wall_s"] = time.process_time() - c0, time.perf_counter() - t0


def montage_tiles(image: np.ndarray, tile: tuple[int, int]) -> np.ndarray:
    """A montage's tiles of shape ``tile = (h, w)``, row-major, as float ``(k, h, w)`` grey
    images in [0, 1] (a colour montage is averaged over its channels; a partial last row
    or column is dropped)."""
    grey = to_float(image)
    grey = grey if grey.ndim == 2 else grey.mean(axis=2)
    h, w = tile
    rows, cols = grey.shape[0] // h, grey.shape[1] // w
    return grey[:rows * h, :cols * w].reshape(rows, h, cols, w).transpose(0, 2, 1, 3).reshape(
        rows * cols, h, w)  # (rows * cols, h, w)
