"""Models built from :mod:`deep.layers`."""

from deep.models.configs import VIT_CONFIGS, ViTConfig, create_vit, list_vit_configs
from deep.models.unet import FCN, StagesEncoder, UNet, UNetEncoder, center_crop, fcn, unet
from deep.models.vit import ViT, resample_pos_embed

__all__ = ["VIT_CONFIGS", "ViT", "ViTConfig", "create_vit", "list_vit_configs",
           "resample_pos_embed",
           "FCN", "StagesEncoder", "UNet", "UNetEncoder", "center_crop", "fcn", "unet"]
