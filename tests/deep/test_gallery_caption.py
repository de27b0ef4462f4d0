"""The gallery's captioning section: its held-out input, the captions it draws and the
measured note (the training itself runs in ``cvgeo gallery``; an untrained captioner stands
in here, so its captions are wrong and drawn red)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cvgeo.gallery import (
    SECTIONS,
    STRINGS_HELD_OUT,
    STRINGS_SEED,
    STRINGS_SHAPE,
    build_gallery,
    bundled_image,
    section_captioning,
)


@pytest.fixture
def untrained(monkeypatch):
    import deep.gallery_caption as gc
    from deep.models.captioning import CaptionTransformer

    torch.manual_seed(0)
    model = CaptionTransformer(vocab_size=len(gc._vocab()), image_size=STRINGS_SHAPE,
                               patch_size=4, dim=16, encoder_depth=1, decoder_depth=1,
                               num_heads=2, mlp_ratio=2.0, max_len=8).eval()
    monkeypatch.setattr(gc, "trained_captioner", lambda: model)
    monkeypatch.setitem(gc._cache, "exact", 0.5)
    monkeypatch.setitem(gc._cache, "cpu_s", 1.0)
    monkeypatch.setitem(gc._cache, "wall_s", 2.0)
    return gc, model


def test_digit_strings_montage_holds_held_out_strings():
    from deep.gallery_caption import _tiles
    from deep.text import make_digit_strings

    montage = bundled_image("digit_strings")
    h, w = STRINGS_SHAPE
    assert montage.dtype == np.uint8 and montage.shape == (8 * h, 2 * w)
    data = make_digit_strings(STRINGS_HELD_OUT, length=3, split="test", seed=STRINGS_SEED)
    np.testing.assert_allclose(_tiles(montage), data.images, atol=0.5 / 255 + 1e-6)


def test_captioning_section_draws_each_string_under_its_caption(untrained):
    gc, model = untrained
    from deep.models.captioning import greedy_decode
    from deep.text import make_digit_strings

    assert section_captioning in SECTIONS
    assert [f.source for f in section_captioning().figures] == ["digit_strings"]
    montage = bundled_image("digit_strings")
    out = gc.digit_strings_captioned(montage)
    tiles = gc._tiles(montage)
    ph, pw, pad = 18 + 8 * 4, 28 * 4, 6
    assert out.dtype == np.float32 and out.shape == (4 * (ph + pad) + pad, 4 * (pw + pad) + pad,
                                                     3)
    hyps = [gc._vocab().decode(t) for t in greedy_decode(model, torch.from_numpy(tiles)[:, None]
                                                         ).tokens]
    truth = make_digit_strings(STRINGS_HELD_OUT, length=3, split="test",
                               seed=STRINGS_SEED).captions
    right = [h == t for h, t in zip(hyps, truth)]
    assert gc._cache["exact_shown"] == pytest.approx(np.mean(right))
    for i in (0, 7, 15):
        r, c = divmod(i, 4)
        y0, x0 = pad + r * (ph + pad), pad + c * (pw + pad)
        panel = out[y0:y0 + ph, x0:x0 + pw]
        np.testing.assert_allclose(panel, gc._captioned(tiles[i], hyps[i], right[i]))
        # the string, enlarged 4x, under the band
        np.testing.assert_allclose(panel[18::4, ::4, 0], tiles[i])
        band = panel[:18]
        ink = band[(band < 0.9).any(axis=2)]  # text pixels: red when wrong, green when right
        if hyps[i]:
            assert len(ink) > 0
            channel = 1 if right[i] else 0
            assert (ink[:, channel] >= ink.max(axis=1) - 1e-6).mean() > 0.9


def test_captioning_note_reports_the_measured_rates_on_the_page(untrained, tmp_path):
    gc, _ = untrained
    res = build_gallery(tmp_path / "g", sections=[section_captioning], progress=False)
    assert res.ok
    page = res.index.read_text()
    shown = gc._cache["exact_shown"]
    assert f"exact match {shown:.3f} on these 16 held-out strings, 0.500 on 1000" in page
    assert "in 1.0 s CPU (2.0 s wall)" in page
