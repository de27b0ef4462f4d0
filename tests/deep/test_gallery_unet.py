"""The gallery's U-Net section: its held-out input, the panels it draws and the measured
note (the training itself runs in ``cvgeo gallery``; here an untrained U-Net stands in)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cvgeo.gallery import (
    SCENES_HELD_OUT,
    SCENES_SEED,
    SCENES_TILE,
    SECTIONS,
    build_gallery,
    bundled_image,
    section_unet,
)


@pytest.fixture
def untrained(monkeypatch):
    import deep.gallery_unet as gu
    from deep.models import create_model

    torch.manual_seed(0)
    model = create_model("unet", num_classes=4, base_width=4, depth=2).eval()
    monkeypatch.setattr(gu, "trained_unet", lambda: model)
    monkeypatch.setitem(gu._cache, "miou", 0.25)
    monkeypatch.setitem(gu._cache, "cpu_s", 1.0)
    monkeypatch.setitem(gu._cache, "wall_s", 2.0)
    return gu, model


def test_scenes_montage_holds_the_held_out_scenes_and_tiles_read_them_back():
    from deep.gallery_unet import _tiles
    from deep.segdata import make_segmentation_scenes

    montage = bundled_image("scenes")
    assert montage.dtype == np.uint8 and montage.shape == (3 * SCENES_TILE, 4 * SCENES_TILE)
    tiles = _tiles(montage)
    scenes = make_segmentation_scenes(SCENES_HELD_OUT, image_size=SCENES_TILE, seed=SCENES_SEED)
    assert tiles.shape == scenes.images.shape
    np.testing.assert_allclose(tiles, scenes.images, atol=0.5 / 255 + 1e-6)  # uint8 rounding
    # held out: the U-Net trains on seed 0, whose scenes differ
    train = make_segmentation_scenes(SCENES_HELD_OUT, image_size=SCENES_TILE, seed=0)
    assert np.abs(train.images - scenes.images).mean() > 0.1


def test_unet_section_panels_are_image_truth_prediction(untrained):
    gu, model = untrained
    from deep.metrics import segmentation_scores
    from deep.segdata import make_segmentation_scenes

    assert section_unet in SECTIONS
    section = section_unet()
    assert [f.source for f in section.figures] == ["scenes"]
    montage = bundled_image("scenes")
    out = gu.scenes_segmented(montage)
    t, pad = SCENES_TILE, 4
    # 6 rows of two scenes, each three panels of t with gaps pad, 3 pad between scenes
    assert out.dtype == np.float32 and out.shape == (6 * (t + pad) - pad, 6 * t + 7 * pad, 3)
    scenes = make_segmentation_scenes(SCENES_HELD_OUT, image_size=SCENES_TILE, seed=SCENES_SEED)
    tiles = gu._tiles(montage)
    with torch.no_grad():
        pred = model(torch.from_numpy(tiles)[:, None]).argmax(1).numpy()
    for i in (0, 5, 11):  # scene i: row i // 2, column block i % 2
        y0, x0 = (i // 2) * (t + pad), (i % 2) * (3 * t + 5 * pad)
        panels = [out[y0:y0 + t, x0 + j * (t + pad):x0 + j * (t + pad) + t] for j in range(3)]
        np.testing.assert_allclose(panels[0], np.repeat(tiles[i][..., None], 3, axis=2))
        np.testing.assert_allclose(panels[1], gu._tint(tiles[i], scenes.labels[i]))
        np.testing.assert_allclose(panels[2], gu._tint(tiles[i], pred[i]))
        fg = scenes.labels[i] > 0  # the truth panel is tinted exactly on the objects
        assert (np.abs(panels[1] - panels[0]).max(axis=2)[fg] > 0.05).all()
        assert np.array_equal(panels[1][~fg], panels[0][~fg])
    expected = segmentation_scores(pred, scenes.labels, num_classes=4).mean_iou
    assert gu._cache["miou_shown"] == pytest.approx(expected)


def test_unet_note_reports_the_measured_scores_on_the_page(untrained, tmp_path):
    res = build_gallery(tmp_path / "g", sections=[section_unet], progress=False)
    assert res.ok
    page = res.index.read_text()
    gu, _ = untrained
    shown = gu._cache["miou_shown"]
    assert (f"mean IoU {shown:.3f} on these 12 held-out scenes, 0.250 on 100" in page)
    assert "in 1.0 s CPU (2.0 s wall)" in page
