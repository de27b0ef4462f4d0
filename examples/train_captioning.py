"""Train image captioners from scratch on generated data, on the CPU, in minutes.

Tasks (``--task``, default ``digits``):

* ``digits`` — three of sklearn's 8x8 digits side by side (random gaps of 0–2 pixels),
  captioned ``"3 7 1"``; held-out strings are built from digit images never seen in
  training (a fixed stratified 20 % of sklearn's 1797). Model: a ViT encoder (patch 4)
  and a pre-norm transformer decoder (:class:`deep.models.CaptionTransformer`).
* ``shapes`` — two shapes in a spatial relation, captioned ``"a circle left of a
  square"`` (the mirrored sentence is a second reference). Models: the same
  transformer, and Show-and-Tell (a small ResNet and our LSTM).

Reported on the held-out set: exact match (the caption equals a reference), corpus
BLEU (:func:`deep.text.corpus_bleu`; BLEU-3 for the three-word digit captions, which
have no 4-grams, BLEU-4 for the shapes), for greedy decoding and beam search
(beam 4, length penalty 0.6). Writes ``<task>_captions.png`` (held-out images with
the generated caption above each, green right, red wrong) and ``<task>_metrics.json``
into ``--out``.

    python examples/train_captioning.py [--task digits|shapes|all] [--out DIR]
                                        [--threads T] [--budget SECONDS]

Measured (torch 2.13 CPU, ``--task all --threads 1``, seed 0, on a 2-core machine shared
with four other jobs, load average 3-5; 430 s wall, 232 CPU s for the whole run):

=============================== ========== ======= ======= ============ =================
model, task                     parameters epochs  train   train        held-out exact
                                                   CPU s   wall s       match / BLEU
=============================== ========== ======= ======= ============ =================
transformer, 3-digit strings    171,982    8       31      40           0.948 / 96.5 (B3)
transformer, shape scenes       174,923    15      87      128          0.994 / 99.8 (B4)
Show-and-Tell (ResNet + LSTM),  280,707    8 of 10 105     246 (budget) 1.000 / 100 (B4)
shape scenes
=============================== ========== ======= ======= ============ =================

Digits: 1000 held-out strings made of digit images never seen in training; greedy and
beam search (4, alpha 0.6) give the same captions here. Shapes: 500 held-out scenes.
An earlier run with two torch threads on the loaded machine took 162 s for the first
digits epoch (OpenMP threads waiting on each other), hence one thread by default.
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
from deep.models import create_model  # noqa: E402
from deep.models.captioning import (  # noqa: E402
    CaptionTransformer,
    ShowAndTell,
    beam_search,
    caption_loss,
    greedy_decode,
)
from deep.text import Vocabulary, corpus_bleu, make_digit_strings, make_shape_scenes  # noqa: E402
from deep.train import seed_everything  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "output" / "train_captioning"


def train(model, images: torch.Tensor, tokens: torch.Tensor, *, epochs: int, lr: float,
          batch_size: int = 64, budget_s: float = 240.0) -> dict:
    """AdamW, one-cycle schedule, teacher forcing; stops early if the wall budget is hit."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    n = len(images)
    steps = epochs * (n // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.15)
    gen = torch.Generator().manual_seed(0)
    t0, c0 = time.perf_counter(), time.process_time()
    model.train()
    done = 0
    for epoch in range(epochs):
        total = 0.0
        for idx in torch.randperm(n, generator=gen).split(batch_size):
            if len(idx) < batch_size:
                continue
            opt.zero_grad(set_to_none=True)
            loss = caption_loss(model, images[idx], tokens[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach())
            done += 1
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / (n // batch_size):.4f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
        if time.perf_counter() - t0 > budget_s:
            print(f"  wall budget of {budget_s:.0f} s reached after {epoch + 1} epochs")
            break
    model.eval()
    return {"epochs_run": epoch + 1, "steps": done, "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0}


def evaluate(model, images: torch.Tensor, data, vocab: Vocabulary, *, max_n: int) -> dict:
    """Exact match and corpus BLEU-``max_n`` for greedy decoding and beam search."""
    out = {}
    for name, fn in (("greedy", lambda x: greedy_decode(model, x)),
                     ("beam4", lambda x: beam_search(model, x, beam_size=4,
                                                     length_penalty_alpha=0.6))):
        hyps = []
        for chunk in images.split(256):
            hyps += [vocab.decode(t) for t in fn(chunk).tokens]
        exact = float(np.mean([h in refs for h, refs in zip(hyps, data.references)]))
        bleu = corpus_bleu(hyps, data.references, max_n=max_n).score
        out[name] = {"exact_match": exact, f"bleu{max_n}": bleu}
        out[name + "_captions"] = hyps
    return out


# ------------------------------------------------------------- drawing (cvgeo + cv2 text)
def captioned_grid(images: np.ndarray, hyps: list[str], refs: list[list[str]], *,
                   columns: int, scale: int) -> np.ndarray:
    import cv2

    tiles = []
    for img, hyp, ref in zip(images, hyps, refs):
        big = np.kron(img, np.ones((scale, scale), np.float32))
        h, w = big.shape
        band = np.full((18, max(w, 8 * len(hyp) + 4), 3), 255, np.uint8)
        colour = (25, 140, 40) if hyp in ref else (205, 25, 25)  # RGB: green right, red wrong
        cv2.putText(band, hyp, (2, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, colour, 1, cv2.LINE_AA)
        tile = np.ones((h + 18, band.shape[1], 3), np.float32)
        tile[:18] = band / 255.0
        tile[18:, :w] = big[..., None]
        tiles.append(tile)
    th = max(t.shape[0] for t in tiles)
    tw = max(t.shape[1] for t in tiles)
    rows = -(-len(tiles) // columns)
    pad = 6
    canvas = np.ones((rows * (th + pad) + pad, columns * (tw + pad) + pad, 3), np.float32)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        y0, x0 = pad + r * (th + pad), pad + c * (tw + pad)
        canvas[y0:y0 + t.shape[0], x0:x0 + t.shape[1]] = t
    return np.clip(canvas, 0, 1)


def run_digits(out: Path, budget: float) -> dict:
    train_data = make_digit_strings(12000, length=3, split="train", seed=0)
    test_data = make_digit_strings(1000, length=3, split="test", seed=1)
    vocab = Vocabulary(str(d) for d in range(10))
    x = torch.from_numpy(train_data.images)[:, None]  # (N, 1, 8, 28)
    y = vocab.encode_batch(train_data.captions)  # (N, 5)
    xt = torch.from_numpy(test_data.images)[:, None]
    seed_everything(0)
    model = CaptionTransformer(vocab_size=len(vocab), image_size=(8, 28), patch_size=4,
                               dim=64, encoder_depth=2, decoder_depth=2, num_heads=4,
                               mlp_ratio=2.0, max_len=8)
    params = sum(p.numel() for p in model.parameters())
    print(f"digits: CaptionTransformer, {params:,} parameters, {len(x)} training strings")
    stats = train(model, x, y, epochs=8, lr=2e-3, budget_s=budget)
    # Three-word captions have no 4-grams, so BLEU-4 is 0 whatever the output: BLEU-3.
    res = evaluate(model, xt, test_data, vocab, max_n=3)
    grid = captioned_grid(test_data.images[:24], res["beam4_captions"][:24],
                          test_data.references[:24], columns=6, scale=4)
    cvgeo.write_image(out / "digits_captions.png", grid)
    return {"model": "CaptionTransformer", "parameters": params, **stats,
            **{k: v for k, v in res.items() if not k.endswith("_captions")}}


def run_shapes(out: Path, budget: float) -> dict:
    train_data = make_shape_scenes(6000, image_size=32, seed=0)
    test_data = make_shape_scenes(500, image_size=32, seed=1)
    vocab = Vocabulary.from_texts(train_data.captions)
    x = torch.from_numpy(train_data.images)[:, None]
    y = vocab.encode_batch(train_data.captions)
    xt = torch.from_numpy(test_data.images)[:, None]
    results = {}
    for name in ("transformer", "show_and_tell"):
        seed_everything(0)
        if name == "transformer":
            model = CaptionTransformer(vocab_size=len(vocab), image_size=32, patch_size=4,
                                       dim=64, encoder_depth=2, decoder_depth=2, num_heads=4,
                                       mlp_ratio=2.0, max_len=10)
        else:
            cnn = create_model("resnet18", in_chans=1, num_classes=0, small_input=True,
                               width_multiplier=0.125)
            model = ShowAndTell(encoder=cnn, vocab_size=len(vocab), embed_dim=64,
                                hidden_size=128, max_len=10)
        params = sum(p.numel() for p in model.parameters())
        print(f"shapes: {name}, {params:,} parameters")
        stats = train(model, x, y, epochs=15 if name == "transformer" else 10, lr=2e-3,
                      budget_s=budget)
        res = evaluate(model, xt, test_data, vocab, max_n=4)
        grid = captioned_grid(test_data.images[:16], res["beam4_captions"][:16],
                              test_data.references[:16], columns=4, scale=4)
        cvgeo.write_image(out / f"shapes_{name}_captions.png", grid)
        results[name] = {"parameters": params, **stats,
                         **{k: v for k, v in res.items() if not k.endswith("_captions")}}
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="digits", choices=["digits", "shapes", "all"])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--budget", type=float, default=240.0,
                   help="wall seconds of training per model (the run stops after the epoch "
                        "that crosses it)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    metrics = {"threads": args.threads, "torch": torch.__version__}
    t0 = time.perf_counter()
    if args.task in ("digits", "all"):
        metrics["digits"] = run_digits(args.out, args.budget)
        print(json.dumps(metrics["digits"], indent=1))
    if args.task in ("shapes", "all"):
        metrics["shapes"] = run_shapes(args.out, args.budget)
        print(json.dumps(metrics["shapes"], indent=1))
    metrics["total_wall_s"] = time.perf_counter() - t0
    (args.out / f"{args.task}_metrics.json").write_text(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
