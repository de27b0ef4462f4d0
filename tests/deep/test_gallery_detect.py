"""The gallery's detection section (the SSD it shows is trained in ``cvgeo gallery``; here
an untrained one stands in)."""

from __future__ import annotations

import numpy as np
import torch

from cvgeo.gallery import (
    DETECT_HELD_OUT,
    DETECT_SEED,
    DETECT_TILE,
    SECTIONS,
    bundled_image,
    section_detect,
)


def test_montage_holds_the_held_out_scenes():
    from deep.scenes import make_detection_scenes

    montage = bundled_image("detection_scenes")
    assert montage.shape == (2 * DETECT_TILE, 4 * DETECT_TILE) and montage.dtype == np.uint8
    scenes = make_detection_scenes(DETECT_HELD_OUT, image_size=DETECT_TILE, seed=DETECT_SEED)
    t = DETECT_TILE
    np.testing.assert_allclose(montage[t:2 * t, 2 * t:3 * t] / 255.0, scenes.images[6],
                               atol=0.5 / 255 + 1e-6)


def test_section_draws_true_and_predicted_boxes(monkeypatch):
    import deep.gallery_detect as gd
    from deep.models.detection import SSD

    torch.manual_seed(0)
    model = SSD(num_classes=3, image_size=DETECT_TILE, stem_widths=(8, 16),
                level_widths=(8, 8, 8)).eval()
    monkeypatch.setattr(gd, "_cache", {"ssd": model, "map": 0.5, "cpu_s": 1.0, "wall_s": 2.0})
    assert section_detect in SECTIONS
    section = section_detect()
    (fig,) = section.figures
    assert fig.source == "detection_scenes" and "mAP@0.5 0.500" in fig.note
    montage = bundled_image("detection_scenes")
    out = gd.scenes_detected(montage)
    side = 3 * DETECT_TILE
    assert out.shape == (2 * side + 4, 4 * side + 12, 3) and out.dtype == np.float32
    green = (out[..., 1] > 0.8) & (out[..., 0] < 0.2)
    # every panel shows at least one green (true) box
    panels = [green[r * (side + 4):r * (side + 4) + side, c * (side + 4):c * (side + 4) + side]
              for r in range(2) for c in range(4)]
    assert all(p.sum() > 20 for p in panels)
    # an untrained SSD scores nothing >= 0.5: no red outline
    assert not ((out[..., 0] > 0.9) & (out[..., 1] < 0.2)).any()
