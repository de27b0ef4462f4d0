"""The gallery's explanation section: Grad-CAM of the gallery's LeNet-5 on held-out digits.

:func:`cvgeo.gallery.section_explain` imports :func:`section` from here. It reuses the
LeNet-5 that :mod:`deep.gallery` trains (cached per process), so it adds no training.
Captioned images need minutes of training: ``examples/train_captioning.py`` writes them.
"""

from __future__ import annotations

import numpy as np
import torch

from cvgeo.gallery import DIGITS_TILE, Figure, Section
from cvgeo.pipeline import make_pipeline

__all__ = ["digits_grad_cam", "section"]


def digits_grad_cam(image: np.ndarray) -> np.ndarray:
    """The digits montage with LeNet-5's Grad-CAM (layer C3, predicted class) over each
    digit, viridis, each map scaled to its own range."""
    from deep.explain import grad_cam, overlay
    from deep.gallery import _standardise, _tiles, trained_lenet

    tiles = _tiles(image)  # (k, 32, 32)
    x = torch.from_numpy(_standardise(tiles))[:, None]  # (k, 1, 32, 32)
    maps = grad_cam(trained_lenet(), x, None, layer="stages.1").maps.numpy()  # (k, 32, 32)
    t = DIGITS_TILE
    cols = image.shape[1] // t
    rows = len(tiles) // cols
    out = np.zeros((rows * t, cols * t, 3), np.float32)
    for i, (tile, m) in enumerate(zip(tiles, maps)):
        r, c = divmod(i, cols)
        out[r * t:(r + 1) * t, c * t:(c + 1) * t] = overlay(tile, m, alpha=0.55)
    return out


def section() -> Section:
    """Grad-CAM of LeNet-5 on the held-out digits."""
    return Section("Deep: where the CNN looks", (
        Figure("Grad-CAM of LeNet-5 (layer C3, the predicted class) on 80 held-out digits",
               "digits", make_pipeline(digits_grad_cam),
               note="deep.explain.grad_cam on the gallery's LeNet-5, overlaid with "
                    "deep.explain.overlay (viridis)"),
    ), text="deep.explain: saliency, SmoothGrad, integrated gradients, CAM, Grad-CAM(++) for "
            "CNN and ViT layers, attention rollout; examples/explain.py plays the pointing "
            "game with a CNN and a ViT, examples/train_captioning.py writes captioned images.")
