"""The gallery's U-Net section: a tiny U-Net trained from scratch on generated scenes.

:func:`cvgeo.gallery.section_unet` imports :func:`section` from here. The input is the
gallery's bundled ``"scenes"`` image: 12 scenes of :func:`deep.segdata.
make_segmentation_scenes` at 48x48 with seed 1000 (the U-Net trains on seed 0, so they
are held out). The figure shows each scene, its true classes and the U-Net's, tinted
per class; its note gives the mean IoU measured on those scenes and on 100 held-out ones.
"""

from __future__ import annotations

import numpy as np
import torch

from cvgeo.gallery import SCENES_HELD_OUT, SCENES_SEED, SCENES_TILE, Figure, Section
from cvgeo.pipeline import make_pipeline
from deep.gallery import montage_tiles, one_thread, timed, train_one_cycle

__all__ = ["scenes_segmented", "section", "trained_unet"]

_WIDTHS = (8, 16, 32)
_STEPS, _BATCH, _N_TRAIN, _N_TEST = 250, 16, 400, 100
#: Per-class tints (background untinted): circle red, square green, triangle blue.
CLASS_COLOURS = np.array([[0, 0, 0], [0.9, 0.24, 0.2], [0.24, 0.78, 0.27], [0.24, 0.47, 0.94]],
                         np.float32)
_cache: dict[str, object] = {}


def trained_unet() -> torch.nn.Module:
    """A U-Net (widths 8-16-32, 29,508 parameters) trained on 400 scenes at 48x48 (seed 0):
    250 batches of 16 with random quarter turns and flips, cross-entropy + soft Dice,
    AdamW with a one-cycle schedule, one thread; cached for the process. Its mean IoU on
    100 held-out scenes (seed 1000) is kept in ``_cache["miou"]``, the training's CPU
    and wall seconds in ``_cache["cpu_s"]`` and ``_cache["wall_s"]``."""
    if "unet" in _cache:
        return _cache["unet"]
    from deep.losses import cross_entropy, dice_loss
    from deep.metrics import segmentation_scores
    from deep.models import create_model
    from deep.segdata import SCENE_CLASSES, make_segmentation_scenes
    from deep.train import seed_everything

    k = len(SCENE_CLASSES)
    train = make_segmentation_scenes(_N_TRAIN, image_size=SCENES_TILE, seed=0)
    x = torch.from_numpy(train.images)[:, None]  # (n, 1, 48, 48)
    y = torch.from_numpy(train.labels)  # (n, 48, 48)
    with one_thread():
        with timed(_cache), torch.enable_grad():
            seed_everything(0)
            model = create_model("unet", in_chans=1, num_classes=k, base_width=_WIDTHS[0],
                                 depth=len(_WIDTHS))
            gen = torch.Generator().manual_seed(0)

            def loss_of_step(_: int) -> torch.Tensor:
                idx = torch.randint(0, _N_TRAIN, (_BATCH,), generator=gen)
                xb, yb = x[idx], y[idx]  # (B, 1, 48, 48), (B, 48, 48)
                turns = int(torch.randint(0, 4, (1,), generator=gen))
                xb, yb = torch.rot90(xb, turns, (2, 3)), torch.rot90(yb, turns, (1, 2))
                if bool(torch.rand(1, generator=gen) < 0.5):
                    xb, yb = xb.flip(3), yb.flip(2)
                logits = model(xb)  # (B, K, 48, 48)
                return (cross_entropy(logits, yb, mode="multiclass")
                        + dice_loss(logits, yb, mode="multiclass"))

            train_one_cycle(model, loss_of_step, steps=_STEPS, lr=1e-2, weight_decay=1e-4,
                            pct_start=0.15)
        test = make_segmentation_scenes(_N_TEST, image_size=SCENES_TILE, seed=SCENES_SEED)
        with torch.no_grad():
            pred = model(torch.from_numpy(test.images)[:, None]).argmax(1).numpy()
    _cache["miou"] = segmentation_scores(pred, test.labels, num_classes=k).mean_iou
    _cache["unet"] = model
    return model


def _tiles(image: np.ndarray) -> np.ndarray:
    """The montage's ``(k, 48, 48)`` float tiles, row-major."""
    return montage_tiles(image, (SCENES_TILE, SCENES_TILE))


def _tint(grey: np.ndarray, labels: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Grey ``(H, W)`` in [0, 1] with each non-background class tinted: ``(H, W, 3)``."""
    rgb = np.repeat(grey[..., None], 3, axis=2)
    tint = CLASS_COLOURS[labels]
    return np.where(labels[..., None] > 0, (1 - alpha) * rgb + alpha * tint, rgb)


def scenes_segmented(image: np.ndarray) -> np.ndarray:
    """Each scene of the montage as image | truth | U-Net prediction, two scenes a row;
    the mean IoU over these scenes is kept in ``_cache["miou_shown"]``."""
    from deep.metrics import segmentation_scores
    from deep.segdata import SCENE_CLASSES, make_segmentation_scenes

    tiles = _tiles(image)  # (k, 48, 48)
    model = trained_unet()
    with torch.no_grad():
        pred = model(torch.from_numpy(np.ascontiguousarray(tiles))[:, None]).argmax(1).numpy()
    truth = make_segmentation_scenes(SCENES_HELD_OUT, image_size=SCENES_TILE,
                                     seed=SCENES_SEED).labels[:len(tiles)]
    _cache["miou_shown"] = segmentation_scores(pred, truth,
                                               num_classes=len(SCENE_CLASSES)).mean_iou
    t, pad, per_row = SCENES_TILE, 4, 2
    rows = -(-len(tiles) // per_row)
    width = per_row * (3 * t + 2 * pad) + (per_row - 1) * 3 * pad
    out = np.ones((rows * (t + pad) - pad, width, 3), np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, per_row)
        y0, x0 = r * (t + pad), c * (3 * t + 2 * pad + 3 * pad)
        for j, panel in enumerate((np.repeat(tile[..., None], 3, axis=2),
                                   _tint(tile, truth[i]), _tint(tile, pred[i]))):
            out[y0:y0 + t, x0 + j * (t + pad):x0 + j * (t + pad) + t] = panel
    return np.clip(out, 0.0, 1.0)


def _note() -> str:
    return (f"mean IoU {_cache['miou_shown']:.3f} on these {SCENES_HELD_OUT} held-out scenes, "
            f"{_cache['miou']:.3f} on {_N_TEST} (background, circle, square, triangle); "
            f"trained here from scratch in {_cache['cpu_s']:.1f} s CPU ({_cache['wall_s']:.1f} s "
            f"wall), one thread, {_STEPS} batches of {_BATCH}")


def section() -> Section:
    """A tiny U-Net's segmentation of held-out scenes."""
    return Section("Deep: a U-Net segments generated scenes", (
        Figure("U-Net on 12 held-out scenes: image | truth | prediction (red circle, green "
               "square, blue triangle)", "scenes", make_pipeline(scenes_segmented),
               note=_note),
    ), text="deep.create_model('unet', base_width=8, depth=3) trained on "
            "deep.segdata.make_segmentation_scenes; examples/train_unet_shapes.py trains a "
            "larger one for minutes (mIoU 0.94), an FCN-8s baseline and the border-weighted "
            "loss on touching objects.")
