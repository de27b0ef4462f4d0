"""Models built from :mod:`deep.layers`."""

from deep.models.configs import VIT_CONFIGS, ViTConfig, create_vit, list_vit_configs
from deep.models.vit import ViT, resample_pos_embed

__all__ = ["VIT_CONFIGS", "ViT", "ViTConfig", "create_vit", "list_vit_configs",
           "resample_pos_embed"]

# detection (helper "detect")
from deep.models import detection as _detection  # noqa: E402
from deep.models.detection import *  # noqa: E402, F403

__all__ += _detection.__all__
