"""Train CNNs from scratch on data that ships with scikit-learn and scikit-image.

Tasks (``--task``, default ``all``):

* ``lenet``  — LeNet-5 on sklearn's 8x8 digits resized to 32x32 (held-out 20 %, stratified);
* ``resnet`` — a small ResNet-18 (``small_input=True``, a quarter of the widths) on the
  8x8 digits directly;
* ``faces``  — the same small ResNet on skimage's ``lfw_subset`` faces / non-faces (25x25);
* ``stn``    — digits under random homographies (and rotations, scalings, shifts), train and
  test: a small CNN with and without a projective spatial transformer in front.

Each task writes into ``--out``: ``<task>_confusion.png`` (rows: true class), and for
lenet/resnet ``<task>_filters.png`` (the learned first-layer filters, each scaled to its
own range: blue negative, red positive) and ``<task>_feature_maps.png`` (the first layer's
activations for one test digit); for stn ``stn_rectified.png`` (test inputs above, what the
transformer made of them below); and ``metrics.json`` with accuracies and times.

    python examples/train_cnn.py [--task all|lenet|resnet|faces|stn] [--out DIR]
                                 [--threads T] [--epochs-scale S]

Measured (Intel Xeon, 2 cores shared with four other jobs, load average 5-9; torch 2.13
CPU, one thread, seed 0, ``--task all``), test accuracy on the held-out 20 %:

============================== ============ ============ ============= ============
task                            accuracy     correct      CPU seconds   wall seconds
============================== ============ ============ ============= ============
lenet (61,706 parameters)       0.9972       358 / 359    76.5          348.2
resnet (701,178 parameters)     0.9861       354 / 359    43.5          217.7
faces (700,146 parameters)      1.0000        40 / 40     48.6          211.8
stn: classifier alone           0.9582       344 / 359    65.9          165.2
stn: projective STN + same      0.9805       352 / 359    74.1          348.1
============================== ============ ============ ============= ============

The wall times are the shared machine's (the process got a fifth to a half of a core);
the CPU times are what each run costs, all under three minutes of one core.

Wall times depend on the machine's load; CPU times (all threads) are printed too.
One torch thread by default: these models are small, and on a loaded 2-core machine two
OpenMP threads made a LeNet step 10-30x slower than one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the drawing helpers

from train_vit_digits import draw_confusion  # noqa: E402

import cvgeo  # noqa: E402
from deep.data import (  # noqa: E402
    Compose,
    Normalize,
    RandomAffine,
    RandomHomography,
    Resize,
    load_digits,
    load_faces,
)
from deep.models import SpatialTransformer, STNClassifier, create_model  # noqa: E402
from deep.train import evaluate, fit, seed_everything  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "output" / "train_cnn"


# ---------------------------------------------------------------- drawing (numpy + cvgeo)
def diverging(values: np.ndarray) -> np.ndarray:
    """Map values in [-1, 1] to RGB: blue (-1) → white (0) → red (+1), float32 (..., 3)."""
    v = np.clip(values, -1, 1)[..., None]
    white, blue, red = (np.array(c, np.float32) for c in ((1, 1, 1), (0.1, 0.3, 0.8),
                                                          (0.8, 0.1, 0.1)))
    return np.where(v < 0, white + (blue - white) * -v, white + (red - white) * v)


def tile(images: list[np.ndarray], *, cols: int, pad: int = 2) -> np.ndarray:
    """Equal-size RGB tiles on a white grid."""
    h, w = images[0].shape[:2]
    rows = -(-len(images) // cols)
    canvas = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), np.float32)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h,
               pad + c * (w + pad):pad + c * (w + pad) + w] = im
    return canvas


def draw_filters(weight: torch.Tensor, *, scale: int = 12) -> np.ndarray:
    """First-layer kernels ``(O, I, k, k)`` (input channel 0), each over its own range."""
    out = []
    for f in weight.detach()[:, 0].numpy():
        f = f / max(np.abs(f).max(), 1e-12)
        out.append(np.kron(diverging(f), np.ones((scale, scale, 1), np.float32)))
    return tile(out, cols=min(8, len(out)))


def draw_feature_maps(image: np.ndarray, maps: torch.Tensor, *, size: int = 64) -> np.ndarray:
    """The input then each channel of ``maps`` ``(C, h, w)``, min-max scaled, grey."""
    tiles = [np.repeat(cvgeo.resize(image, (size, size), interpolation="nearest")[..., None],
                       3, axis=2)]
    for m in maps.detach().numpy():
        m = (m - m.min()) / max(m.max() - m.min(), 1e-12)
        up = cvgeo.resize(m.astype(np.float32), (size, size), interpolation="nearest")
        tiles.append(np.repeat(up[..., None], 3, axis=2))
    return tile(tiles, cols=min(9, len(tiles)))


def draw_rectified(inputs: torch.Tensor, outputs: torch.Tensor, *, size: int = 64) -> np.ndarray:
    """Two rows: STN inputs ``(B, 1, H, W)`` and outputs, each min-max scaled."""
    def grey(t):
        t = t[0].detach().numpy()
        t = (t - t.min()) / max(t.max() - t.min(), 1e-12)
        return np.repeat(cvgeo.resize(t.astype(np.float32), (size, size))[..., None], 3, axis=2)
    return tile([grey(t) for t in inputs] + [grey(t) for t in outputs], cols=len(inputs))


# ----------------------------------------------------------------------------- tasks
def _normalised(split, extra_train=(), extra_test=(), seed=0):
    mean, std = float(split.train.images.mean()), float(split.train.images.std())
    train = split.train.with_transform(Compose([*extra_train, Normalize(mean, std)]))
    test = split.test.with_transform(Compose([*extra_test, Normalize(mean, std)]))
    return train, test


def _frozen(dataset):
    """Apply a dataset's (random) transform once, so every evaluation sees the same images."""
    from deep.data import ArrayDataset

    x, y = dataset.tensors()  # (N, 1, H, W)
    return ArrayDataset(x[:, 0].numpy(), y.numpy(), class_names=dataset.class_names)


def _train(name, model, train, test, *, epochs, lr, args, batch_size=64, weight_decay=0.05):
    seed_everything(args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    t0, c0 = time.perf_counter(), time.process_time()
    fit(model, train, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
        warmup_epochs=1, label_smoothing=0.05, seed=args.seed, progress=not args.no_progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ev = evaluate(model.eval(), test)
    n_ok = int(round(ev.accuracy * len(test)))
    print(f"[{name}] {n_params:,} parameters, {epochs} epochs: test accuracy {ev.accuracy:.4f} "
          f"({n_ok}/{len(test)}); training {wall:.1f} s wall, {cpu:.1f} s CPU")
    return ev, dict(test_accuracy=ev.accuracy, correct=n_ok, test_size=len(test),
                    epochs=epochs, parameters=n_params, train_wall_seconds=wall,
                    train_cpu_seconds=cpu)


def _pictures(name, model, first_conv, ev, split, test, out):
    cvgeo.write_image(out / f"{name}_confusion.png", draw_confusion(ev.confusion,
                                                                    split.class_names))
    cvgeo.write_image(out / f"{name}_filters.png", draw_filters(first_conv.weight))
    x, _ = test[0]
    with torch.no_grad():
        maps = model.forward_intermediates(x[None], indices=[0])[0][0]  # (C, h, w)
    cvgeo.write_image(out / f"{name}_feature_maps.png",
                      draw_feature_maps(split.test.images[0], maps[:16]))


def task_lenet(args, out):
    split = load_digits(test_size=0.2, seed=args.seed)
    up = Resize((32, 32), interpolation="bilinear")
    train, test = _normalised(split, [up, RandomAffine(max_rotation=0.15, max_translation=0.08,
                                                       seed=args.seed)], [up])
    model = create_model("lenet5", in_chans=1, num_classes=10)
    ev, m = _train("lenet", model, train, test, epochs=round(40 * args.epochs_scale), lr=3e-3,
                   args=args)
    _pictures("lenet", model, model.stages[0][0], ev, split, test, out)
    return m


def _small_resnet(num_classes):
    return create_model("resnet18", in_chans=1, num_classes=num_classes, small_input=True,
                        width_multiplier=0.25)


def task_resnet(args, out):
    split = load_digits(test_size=0.2, seed=args.seed)
    train, test = _normalised(split, [RandomAffine(max_rotation=0.15, max_translation=0.08,
                                                   seed=args.seed)])
    model = _small_resnet(10)
    ev, m = _train("resnet", model, train, test, epochs=round(30 * args.epochs_scale), lr=3e-3,
                   args=args)
    _pictures("resnet", model, model.stages[0].conv, ev, split, test, out)
    return m


def task_faces(args, out):
    split = load_faces(test_size=0.2, seed=args.seed)
    train, test = _normalised(split, [RandomAffine(max_rotation=0.1, max_translation=0.06,
                                                   scale=(0.95, 1.05), seed=args.seed)])
    model = _small_resnet(2)
    ev, m = _train("faces", model, train, test, epochs=round(60 * args.epochs_scale), lr=2e-3,
                   args=args, batch_size=32)
    cvgeo.write_image(out / "faces_confusion.png", draw_confusion(ev.confusion,
                                                                  ["0", "1"]))
    return m


def _digit_cnn():
    """The classifier of the STN comparison: three conv-BN-ReLU layers on 32x32."""
    return create_model("resnet18", in_chans=1, num_classes=10, small_input=False,
                        width_multiplier=0.25, layers=(1, 1, 1, 1))


def task_stn(args, out):
    split = load_digits(test_size=0.2, seed=args.seed)
    up = Resize((32, 32), interpolation="bilinear")

    def distort(seed):
        return [up, RandomAffine(max_rotation=0.6, max_translation=0.15, scale=(0.75, 1.15),
                                 seed=seed),
                RandomHomography(max_perspective=0.35, seed=seed + 1)]

    train, test = _normalised(split, distort(args.seed), distort(args.seed + 100))
    test = _frozen(test)  # one fixed distorted test set, the same for both models
    epochs = round(30 * args.epochs_scale)
    seed_everything(args.seed)
    plain = _digit_cnn()
    ev_plain, m_plain = _train("stn: classifier alone", plain, train, test, epochs=epochs,
                               lr=3e-3, args=args)
    train.transform.transforms[1].rng = np.random.default_rng(args.seed)  # same augmentations
    train.transform.transforms[2].rng = np.random.default_rng(args.seed + 1)
    seed_everything(args.seed)
    stn_model = STNClassifier(SpatialTransformer(in_chans=1, transform="projective",
                                                 output_size=(32, 32)), _digit_cnn())
    ev_stn, m_stn = _train("stn: projective STN + classifier", stn_model, train, test,
                           epochs=epochs, lr=3e-3, args=args)
    cvgeo.write_image(out / "stn_confusion.png", draw_confusion(ev_stn.confusion,
                                                                split.class_names))
    x = torch.stack([test[i][0] for i in range(10)])
    with torch.no_grad():
        y = stn_model.stn(x)
    cvgeo.write_image(out / "stn_rectified.png", draw_rectified(x, y))
    return {"without_stn": m_plain, "with_stn": m_stn}


TASKS = {"lenet": task_lenet, "resnet": task_resnet, "faces": task_faces, "stn": task_stn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["all", *TASKS], default="all")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (0: torch's default); 1 is fastest on a shared "
                             "machine, where OpenMP threads wait on each other")
    parser.add_argument("--epochs-scale", type=float, default=1.0,
                        help="multiply every task's epochs (quick look: 0.2)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    metrics_path = args.out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    for name in TASKS if args.task == "all" else [args.task]:
        metrics[name] = TASKS[name](args, args.out)
        metrics[name] = {"torch_threads": torch.get_num_threads(), "result": metrics[name]}
        metrics_path.write_text(json.dumps(metrics, indent=1))
    print(f"wrote PNGs and {metrics_path}")


if __name__ == "__main__":
    main()
