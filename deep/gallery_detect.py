"""The gallery's detection section: a tiny SSD trained from scratch on generated scenes.

:func:`cvgeo.gallery.section_detect` imports :func:`section` from here. The input is the
gallery's bundled ``"detection_scenes"`` image: 8 scenes of
:func:`deep.scenes.make_detection_scenes` at 64x64 with seed 2000 (the SSD trains on
seed 0, so they are held out). The figure draws the true boxes in green and the SSD's
detections scoring at least 0.5 in red; the note gives the mAP@0.5 measured on 100
held-out scenes (the first 8 of which are the ones shown).
"""

from __future__ import annotations

import numpy as np
import torch

from cvgeo.gallery import DETECT_HELD_OUT, DETECT_SEED, DETECT_TILE, Figure, Section
from cvgeo.pipeline import make_pipeline
from deep.gallery import montage_tiles, one_thread, timed, train_one_cycle

__all__ = ["scenes_detected", "section", "trained_ssd"]

_STEPS, _BATCH, _N_TRAIN, _N_TEST = 150, 32, 600, 100
_SCALE, _MIN_SCORE = 3, 0.5
_cache: dict[str, object] = {}


def trained_ssd() -> torch.nn.Module:
    """An SSD (stem widths 8, 16; three 32-channel levels) trained on 600 scenes at 64x64
    (seed 0): 150 random batches of 32, multibox loss with 3:1 hard negative mining,
    AdamW with a one-cycle schedule, one thread; cached for the process. Its VOC mAP@0.5
    on 100 held-out scenes (seed 2000) is kept in ``_cache["map"]``, the training's CPU
    and wall seconds in ``_cache["cpu_s"]`` and ``_cache["wall_s"]``."""
    if "ssd" in _cache:
        return _cache["ssd"]
    from deep.models.detection import SSD, SSDLoss, decode_ssd, evaluate_voc
    from deep.scenes import make_detection_scenes
    from deep.train import seed_everything

    train = make_detection_scenes(_N_TRAIN, image_size=DETECT_TILE, seed=0)
    x = train.tensors()  # (n, 1, 64, 64)
    boxes = [torch.from_numpy(b) for b in train.boxes]
    labels = [torch.from_numpy(lab) for lab in train.labels]
    with one_thread():
        with timed(_cache), torch.enable_grad():
            seed_everything(0)
            model = SSD(num_classes=len(train.class_names), image_size=DETECT_TILE,
                        stem_widths=(8, 16), level_widths=(32, 32, 32))
            loss_fn = SSDLoss(model.anchors, num_classes=len(train.class_names))
            gen = torch.Generator().manual_seed(0)

            def loss_of_step(_: int) -> torch.Tensor:
                idx = torch.randint(0, _N_TRAIN, (_BATCH,), generator=gen).tolist()
                return loss_fn(model(x[idx]), [boxes[i] for i in idx], [labels[i] for i in idx])

            train_one_cycle(model, loss_of_step, steps=_STEPS, lr=1e-2, weight_decay=1e-4,
                            pct_start=0.15)
        test = make_detection_scenes(_N_TEST, image_size=DETECT_TILE, seed=DETECT_SEED)
        with torch.no_grad():
            dets = decode_ssd(model(test.tensors()), model.anchors, image_size=DETECT_TILE)
    _cache["map"] = evaluate_voc(dets, test.ground_truths()).map
    _cache["ssd"] = model
    return model


def _tiles(image: np.ndarray) -> np.ndarray:
    """The montage's ``(k, 64, 64)`` float tiles, row-major."""
    return montage_tiles(image, (DETECT_TILE, DETECT_TILE))


def scenes_detected(image: np.ndarray) -> np.ndarray:
    """Each scene of the montage enlarged 3x with its true boxes (green) and the SSD's
    detections scoring >= 0.5 (red), in the montage's layout."""
    from cvgeo.draw import draw_boxes
    from deep.models.detection import decode_ssd
    from deep.scenes import make_detection_scenes

    tiles = _tiles(image)  # (k, 64, 64)
    model = trained_ssd()
    with torch.no_grad():
        out = model(torch.from_numpy(np.ascontiguousarray(tiles))[:, None])
    dets = decode_ssd(out, model.anchors, image_size=DETECT_TILE)
    truth = make_detection_scenes(DETECT_HELD_OUT, image_size=DETECT_TILE,
                                  seed=DETECT_SEED).boxes[:len(tiles)]
    s, t, pad = _SCALE, DETECT_TILE, 4
    cols = image.shape[1] // t
    rows = -(-len(tiles) // cols)
    side = s * t
    out_img = np.ones((rows * (side + pad) - pad, cols * (side + pad) - pad, 3), np.float32)

    def up(b: np.ndarray) -> np.ndarray:  # pixel-edge boxes scale about (-0.5, -0.5)
        return (b + 0.5) * s - 0.5

    for i, (tile, d, g) in enumerate(zip(tiles, dets, truth)):
        big = np.kron(tile, np.ones((s, s), np.float32))
        panel = draw_boxes(big, up(g), color=(0.1, 0.9, 0.2), thickness=2)
        panel = draw_boxes(panel, up(d.boxes[d.scores >= _MIN_SCORE]), color=(1.0, 0.15, 0.1))
        r, c = divmod(i, cols)
        out_img[r * (side + pad):r * (side + pad) + side,
                c * (side + pad):c * (side + pad) + side] = panel
    return np.clip(out_img, 0.0, 1.0)


def section() -> Section:
    """A tiny SSD's detections on held-out scenes; trains it (about 15 s of CPU)."""
    trained_ssd()
    note = (f"SSD trained here from scratch in {_cache['cpu_s']:.1f} s CPU "
            f"({_cache['wall_s']:.1f} s wall, one thread, {_STEPS} batches of {_BATCH}); "
            f"VOC mAP@0.5 {_cache['map']:.3f} on {_N_TEST} held-out scenes")
    return Section("Deep: an SSD detects shapes in generated scenes", (
        Figure("SSD on 8 held-out scenes: true boxes green, detections (score >= 0.5) red",
               "detection_scenes", make_pipeline(scenes_detected), note=note),
    ), text="deep.models.detection.SSD (default boxes on three levels, multibox loss, hard "
            "negative mining) trained on deep.scenes.make_detection_scenes; "
            "examples/train_detector_shapes.py trains larger YOLO-style, SSD, Faster R-CNN "
            "and DETR detectors for minutes (mAP@0.5 0.99-1.0 for the first three).")
