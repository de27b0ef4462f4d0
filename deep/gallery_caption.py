"""The gallery's captioning section: a ViT + transformer decoder trained here on digit strings.

:func:`cvgeo.gallery.section_captioning` imports :func:`section` from here. The input is
the gallery's bundled ``"digit_strings"`` image: 16 strings of three of sklearn's digits
(:func:`deep.text.make_digit_strings`, split ``"test"``: digit images never used in
training), 8x28 each. Each string is shown 4x enlarged under its greedy caption, green
when it equals the truth and red when not; the figure's note gives the exact-match rate
on these 16 and on 1000 held-out strings.
"""

from __future__ import annotations

import numpy as np
import torch

from cvgeo.gallery import STRINGS_HELD_OUT, STRINGS_SEED, STRINGS_SHAPE, Figure, Section
from cvgeo.pipeline import make_pipeline
from deep.gallery import montage_tiles, one_thread, timed, train_one_cycle

__all__ = ["digit_strings_captioned", "section", "trained_captioner"]

_N_TRAIN, _EPOCHS, _BATCH, _N_TEST = 12000, 3, 64, 1000
_cache: dict[str, object] = {}


def _vocab():
    from deep.text import Vocabulary

    return Vocabulary(str(d) for d in range(10))


def trained_captioner() -> torch.nn.Module:
    """A :class:`~deep.models.CaptionTransformer` (ViT encoder with patch 4, dim 64, 2
    encoder and 2 decoder blocks) trained with teacher forcing on 12,000 training strings
    for 3 epochs (AdamW, one-cycle, batch 64, seed 0, one thread); cached for the process.
    Its greedy exact-match rate on 1000 held-out strings (seed 2) is kept in
    ``_cache["exact"]``, the training's CPU and wall seconds in ``_cache["cpu_s"]`` and
    ``_cache["wall_s"]``."""
    if "model" in _cache:
        return _cache["model"]
    from deep.models.captioning import CaptionTransformer, caption_loss, greedy_decode
    from deep.text import make_digit_strings
    from deep.train import seed_everything

    vocab = _vocab()
    train = make_digit_strings(_N_TRAIN, length=3, split="train", seed=0)
    x = torch.from_numpy(train.images)[:, None]  # (N, 1, 8, 28)
    y = vocab.encode_batch(train.captions)  # (N, 5): <bos> d d d <eos>
    with one_thread():
        with timed(_cache), torch.enable_grad():
            seed_everything(0)
            model = CaptionTransformer(vocab_size=len(vocab), image_size=STRINGS_SHAPE,
                                       patch_size=4, dim=64, encoder_depth=2, decoder_depth=2,
                                       num_heads=4, mlp_ratio=2.0, max_len=8)
            gen = torch.Generator().manual_seed(0)
            batches = [idx for _ in range(_EPOCHS)
                       for idx in torch.randperm(_N_TRAIN, generator=gen).split(_BATCH)
                       if len(idx) == _BATCH]
            train_one_cycle(model, lambda i: caption_loss(model, x[batches[i]], y[batches[i]]),
                            steps=len(batches), lr=2e-3, weight_decay=0.01, pct_start=0.15,
                            clip_norm=1.0)
        test = make_digit_strings(_N_TEST, length=3, split="test", seed=STRINGS_SEED + 1)
        hyps = [vocab.decode(t) for t in
                greedy_decode(model, torch.from_numpy(test.images)[:, None]).tokens]
    _cache["exact"] = float(np.mean([h == c for h, c in zip(hyps, test.captions)]))
    _cache["model"] = model
    return model


def _tiles(image: np.ndarray) -> np.ndarray:
    """The montage's ``(k, 8, 28)`` float strings, row-major."""
    return montage_tiles(image, STRINGS_SHAPE)


def _captioned(tile: np.ndarray, caption: str, right: bool, *, scale: int = 4,
               band: int = 18) -> np.ndarray:
    """``tile`` enlarged ``scale`` times under a white band with ``caption`` written in
    green (right) or red (wrong): ``(band + 8 scale, 28 scale, 3)`` float32."""
    import cv2  # text rendering only (plumbing)

    big = np.kron(tile, np.ones((scale, scale), np.float32))  # (8 s, 28 s)
    top = np.full((band, big.shape[1], 3), 255, np.uint8)
    colour = (25, 140, 40) if right else (205, 25, 25)  # RGB
    cv2.putText(top, caption, (4, band - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1,
                cv2.LINE_AA)
    return np.concatenate([top.astype(np.float32) / 255.0,
                           np.repeat(big[..., None], 3, axis=2)], axis=0)


def digit_strings_captioned(image: np.ndarray) -> np.ndarray:
    """Each string of the montage under its greedy caption, four a row; the exact-match
    rate over these strings is kept in ``_cache["exact_shown"]``."""
    from deep.models.captioning import greedy_decode
    from deep.text import make_digit_strings

    tiles = _tiles(image)  # (k, 8, 28)
    model = trained_captioner()
    vocab = _vocab()
    hyps = [vocab.decode(t) for t in
            greedy_decode(model, torch.from_numpy(np.ascontiguousarray(tiles))[:, None]).tokens]
    truth = make_digit_strings(STRINGS_HELD_OUT, length=3, split="test",
                               seed=STRINGS_SEED).captions[:len(tiles)]
    right = [h == t for h, t in zip(hyps, truth)]
    _cache["exact_shown"] = float(np.mean(right))
    panels = [_captioned(t, h, r) for t, h, r in zip(tiles, hyps, right)]
    ph, pw = panels[0].shape[:2]
    pad, cols = 6, 4
    rows = -(-len(panels) // cols)
    out = np.ones((rows * (ph + pad) + pad, cols * (pw + pad) + pad, 3), np.float32)
    for i, p in enumerate(panels):
        r, c = divmod(i, cols)
        y0, x0 = pad + r * (ph + pad), pad + c * (pw + pad)
        out[y0:y0 + ph, x0:x0 + pw] = p
    return np.clip(out, 0.0, 1.0)


def _note() -> str:
    return (f"greedy captions: exact match {_cache['exact_shown']:.3f} on these "
            f"{STRINGS_HELD_OUT} held-out strings, {_cache['exact']:.3f} on {_N_TEST}; trained "
            f"here from scratch in {_cache['cpu_s']:.1f} s CPU ({_cache['wall_s']:.1f} s wall), "
            f"one thread, {_EPOCHS} epochs of {_N_TRAIN:,} strings")


def section() -> Section:
    """Greedy captions of a small captioner on held-out digit strings."""
    return Section("Deep: captioning digit strings", (
        Figure("CaptionTransformer's greedy captions of 16 held-out digit strings (green "
               "right, red wrong)", "digit_strings", make_pipeline(digit_strings_captioned),
               note=_note),
    ), text="deep.models.CaptionTransformer (ViT encoder, pre-norm transformer decoder with "
            "cross-attention) trained on deep.text.make_digit_strings; "
            "examples/train_captioning.py trains it longer (exact match 0.948) and captions "
            "shape scenes with it and with Show-and-Tell (our LSTM).")
