"""Models built from :mod:`deep.layers`, and the registry that names them."""

from deep.models.base import ConvNet, FeatureInfo
from deep.models.captioning import (
    Captions,
    CaptionTransformer,
    ShowAndTell,
    beam_search,
    caption_loss,
    greedy_decode,
    length_penalty,
)
from deep.models.configs import VIT_CONFIGS, ViTConfig, create_vit, list_vit_configs
from deep.models.convnext import ConvNeXt
from deep.models.efficientnet import EfficientNet
from deep.models.googlenet import GoogLeNet
from deep.models.lenet import LeNet5
from deep.models.mobilenet import MOBILENET_V3_CONFIGS, MobileNetV1, MobileNetV2, MobileNetV3
from deep.models.registry import ModelEntry, create_model, list_models, model_entry
from deep.models.resnet import RESNET_DEPTHS, ResNet
from deep.models.squeezenet import SQUEEZENET_CONFIGS, SqueezeNet
from deep.models.stn import SpatialTransformer, STNClassifier
from deep.models.unet import (
    FCN,
    BackboneEncoder,
    StagesEncoder,
    UNet,
    UNetEncoder,
    center_crop,
    fcn,
    sinusoidal_embedding,
    unet,
)
from deep.models.vgg import VGG, VGG_CONFIGS
from deep.models.vit import ViT, resample_pos_embed

__all__ = [
    "ConvNeXt", "ConvNet", "EfficientNet", "FeatureInfo", "GoogLeNet", "LeNet5",
    "MOBILENET_V3_CONFIGS", "MobileNetV1", "MobileNetV2", "MobileNetV3", "ModelEntry",
    "RESNET_DEPTHS", "ResNet", "SQUEEZENET_CONFIGS", "STNClassifier", "SpatialTransformer",
    "SqueezeNet", "VGG", "VGG_CONFIGS", "VIT_CONFIGS", "ViT", "ViTConfig", "create_model",
    "create_vit", "list_models", "list_vit_configs", "model_entry", "resample_pos_embed",
    "BackboneEncoder", "FCN", "StagesEncoder", "UNet", "UNetEncoder", "center_crop", "fcn",
    "unet", "sinusoidal_embedding",
    # captioning
    "CaptionTransformer", "Captions", "ShowAndTell", "beam_search", "caption_loss",
    "greedy_decode", "length_penalty",
]


# detection
from deep.models import detection as _detection  # noqa: E402
from deep.models.detection import *  # noqa: E402, F403

__all__ += _detection.__all__
