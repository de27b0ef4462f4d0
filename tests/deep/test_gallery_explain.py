"""The gallery's explanation section (the LeNet-5 it explains is trained in ``cvgeo
gallery``; here an untrained one stands in)."""

from __future__ import annotations

import numpy as np
import torch

from cvgeo.gallery import DIGITS_TILE, SECTIONS, bundled_image, section_explain


def test_explain_section_overlays_every_digit(monkeypatch):
    import deep.gallery
    from deep.models import create_model

    torch.manual_seed(0)
    monkeypatch.setattr(deep.gallery, "trained_lenet", lambda: create_model("lenet5").eval())
    from deep.gallery_explain import digits_grad_cam

    assert section_explain in SECTIONS
    section = section_explain()
    assert [f.source for f in section.figures] == ["digits"]
    montage = bundled_image("digits")
    out = digits_grad_cam(montage)
    assert out.shape == (*montage.shape, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    t = DIGITS_TILE
    tiles = out.reshape(8, t, 10, t, 3)
    # each tile is coloured (a heat map was blended in), not grey
    assert (np.abs(tiles[..., 0] - tiles[..., 1]).max(axis=(1, 3)) > 0.05).all()
