"""Train a GAN on scikit-learn's 8x8 digits and score its samples.

``--model`` picks the objective: ``dcgan`` (Radford et al.), ``wgan`` (weight clipping,
RMSProp), ``wgan-gp`` (gradient penalty, λ = 10) or ``cgan`` (DCGAN conditioned on the
digit's label in both networks). Training stops at ``--steps`` generator updates or at
``--max-cpu-seconds`` of process CPU time, whichever comes first.

The samples are scored by :func:`deep.generative.evaluate.sample_scores`: the Fréchet
distance of ``--n-samples`` samples to the 360 held-out digits on the evaluation
classifier's features, beside the same distance for as many real training digits (the
floor at that sample size), and for ``cgan`` the fraction of class-conditional samples
the classifier recognises as the class asked for.

Writes, under ``--out``: ``<model>_samples.png`` (a 10x10 grid; for ``cgan`` row ``k``
is digit ``k``), ``<model>_losses.png`` (the critic's and generator's loss curves) and
``<model>_metrics.json``.

    python examples/train_gan.py --model cgan [--steps N] [--max-cpu-seconds S]
        [--base-width W] [--threads T] [--out DIR]

Measured (AMD EPYC, 2 cores shared with other jobs at a load average of 7-10, torch 2.13
CPU, ``--threads 1``, seed 0, base width 64, batch 64; Fréchet distances of 1000 samples
to the 360 held-out digits, beside 11.54 for 1000 real training digits):

* cgan: 3000 steps, 198 s CPU / 385 s wall; Fréchet 17.39; 97.7 % of the
  class-conditional samples recognised as the class asked for.
* dcgan: 3000 steps, 199 s CPU / 628 s wall; Fréchet 35.59.
* wgan-gp: stopped by ``--max-cpu-seconds 110`` after 306 steps (5 critic updates with a
  double backward each), 110 s CPU / 304 s wall; Fréchet 118.89. With ``--base-width 32``
  and ``--max-cpu-seconds 200``: 1430 steps, 200 s CPU / 300 s wall; Fréchet 59.08.
* wgan: stopped by ``--max-cpu-seconds 110`` after 578 steps (RMSProp at the paper's
  5e-5), 110 s CPU / 268 s wall; Fréchet 107.74.

The two Wasserstein runs were cut to 110 s of CPU to fit the session; at that point they
are far from converged (blurry strokes), and they need the whole 290 s default or more.
The classifier behind the scores trains once per process (about 25 s CPU) and is not
counted in the training time.
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

import cvgeo  # noqa: E402
from deep.generative.data import digits_tensors, to_unit  # noqa: E402
from deep.generative.evaluate import digits_classifier, sample_scores  # noqa: E402
from deep.generative.gan import (  # noqa: E402
    DCGANDiscriminator,
    DCGANGenerator,
    sample_images,
    train_gan,
)
from deep.train import seed_everything  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "output" / "train_gan"
DEFAULT_STEPS = {"dcgan": 3000, "cgan": 3000, "wgan": 2000, "wgan-gp": 1500}


def sample_grid(images: np.ndarray, rows: int, cols: int, scale: int = 4,
                pad: int = 2) -> np.ndarray:
    """``(rows * cols, h, w)`` images in [0, 1] → one uint8 grid, each image enlarged
    ``scale`` times (nearest), white gaps."""
    n, h, w = images.shape
    H, W = h * scale, w * scale
    out = np.full((rows * (H + pad) + pad, cols * (W + pad) + pad), 255, np.uint8)
    for k in range(min(n, rows * cols)):
        r, c = divmod(k, cols)
        big = np.kron(images[k], np.ones((scale, scale)))
        out[pad + r * (H + pad):pad + r * (H + pad) + H,
            pad + c * (W + pad):pad + c * (W + pad) + W] = np.round(big * 255).astype(np.uint8)
    return out


def loss_plot(curves: dict[str, np.ndarray], *, height: int = 160, width: int = 480
              ) -> np.ndarray:
    """Moving averages (window 50) of loss curves drawn as RGB lines, each on its own
    vertical scale (min to max), on white."""
    colours = [(200, 40, 40), (40, 90, 200), (40, 160, 60)]
    out = np.full((height, width, 3), 255, np.uint8)
    for y, colour in zip(curves.values(), colours):
        if y.size < 2:
            continue
        k = min(50, y.size)
        smooth = np.convolve(y, np.ones(k) / k, mode="valid")
        xs = np.linspace(0, width - 1, smooth.size).round().astype(int)
        lo, hi = float(smooth.min()), float(smooth.max())
        ys = (height - 1 - (smooth - lo) / max(hi - lo, 1e-12) * (height - 1)).round().astype(
            int)
        for x0, y0, x1, y1 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:]):
            n = max(abs(x1 - x0), abs(y1 - y0), 1)
            t = np.linspace(0, 1, n + 1)
            out[np.round(y0 + t * (y1 - y0)).astype(int),
                np.round(x0 + t * (x1 - x0)).astype(int)] = colour
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["dcgan", "wgan", "wgan-gp", "cgan"], default="dcgan")
    p.add_argument("--steps", type=int, default=None,
                   help="generator updates (default: 3000 dcgan/cgan, 2000 wgan, 1500 wgan-gp)")
    p.add_argument("--max-cpu-seconds", type=float, default=290.0,
                   help="stop training at this much process CPU time")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--latent-dim", type=int, default=32)
    p.add_argument("--base-width", type=int, default=64)
    p.add_argument("--lr", type=float, default=None, help="default: the paper's")
    p.add_argument("--n-samples", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    conditional = args.model == "cgan"
    method = "dcgan" if conditional else args.model
    steps = args.steps or DEFAULT_STEPS[args.model]

    c0, t0 = time.process_time(), time.perf_counter()
    classifier = digits_classifier()  # trained once per process, for the scores
    clf_cpu, clf_wall = time.process_time() - c0, time.perf_counter() - t0

    data = digits_tensors("train")
    seed_everything(args.seed)
    num_classes = 10 if conditional else None
    G = DCGANGenerator(latent_dim=args.latent_dim, image_size=8, base_width=args.base_width,
                       num_classes=num_classes)
    D = DCGANDiscriminator(image_size=8, base_width=args.base_width,
                           norm="layer" if method == "wgan-gp" else "batch",
                           num_classes=num_classes)

    def progress(step, res):
        if step % 500 == 0:
            print(f"  step {step}: critic {res.d_losses[-100:].mean():+.4f}, generator "
                  f"{res.g_losses[-100:].mean():+.4f}, {res.cpu_seconds:.0f} s CPU, "
                  f"{res.wall_seconds:.0f} s wall", flush=True)

    res = train_gan(G, D, data.images, labels=data.labels if conditional else None,
                    method=method, steps=steps, batch_size=args.batch_size, lr=args.lr,
                    seed=args.seed, max_cpu_seconds=args.max_cpu_seconds, callback=progress)
    print(f"{args.model}: {res.steps} generator steps in {res.cpu_seconds:.1f} s CPU, "
          f"{res.wall_seconds:.1f} s wall ({torch.get_num_threads()} torch thread(s))")

    labels = torch.arange(args.n_samples) % 10 if conditional else None
    samples = sample_images(G, args.n_samples, labels=labels, seed=args.seed + 1)
    scores = sample_scores(samples, labels, classifier=classifier)
    print(f"  Fréchet distance to held-out digits: samples {scores.frechet:.2f}, real "
          f"training digits {scores.frechet_real:.2f} (n = {args.n_samples})")
    if scores.recognition is not None:
        print(f"  class-conditional samples recognised: {100 * scores.recognition:.1f} %")

    if conditional:  # row k: ten samples of digit k
        order = np.argsort(labels.numpy()[:100], kind="stable")
        grid_images = to_unit(samples[:100])[order].reshape(10, 10, 8, 8)
        grid_images = grid_images.reshape(100, 8, 8)
    else:
        grid_images = to_unit(samples[:100])
    paths = [cvgeo.write_image(args.out / f"{args.model}_samples.png",
                               sample_grid(grid_images, 10, 10)),
             cvgeo.write_image(args.out / f"{args.model}_losses.png",
                               loss_plot({"critic": res.d_losses, "generator": res.g_losses}))]
    report = {
        "model": args.model, "args": {k: str(v) if isinstance(v, Path) else v
                                      for k, v in vars(args).items()},
        "steps": res.steps, "train_cpu_seconds": res.cpu_seconds,
        "train_wall_seconds": res.wall_seconds, "torch_threads": torch.get_num_threads(),
        "classifier_cpu_seconds": clf_cpu, "classifier_wall_seconds": clf_wall,
        "frechet": scores.frechet, "frechet_real": scores.frechet_real,
        "recognition": scores.recognition,
    }
    path = args.out / f"{args.model}_metrics.json"
    path.write_text(json.dumps(report, indent=2))
    print("wrote", *[str(q) for q in paths], str(path))
    return report


if __name__ == "__main__":
    main()
