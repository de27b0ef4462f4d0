"""One registry of named models: ``create_model(name, **overrides)``, ``list_models()``.

Every CNN family and every Vision Transformer configuration is here under the name
torchvision / timm use for it; any constructor keyword overrides the configuration
(``num_classes=10``, ``in_chans=1``, ``small_input=True``, ``width_multiplier=0.5``,
``norm_layer=...``). Nothing is pretrained and nothing downloads.

Each entry has a ``task``: ``"classification"`` (logits ``(N, num_classes)``) or
``"segmentation"`` (U-Net and FCN: logits ``(N, num_classes, H, W)`` at the input size);
``list_models(task=...)`` filters by it.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from deep.models.configs import VIT_CONFIGS
from deep.models.convnext import ConvNeXt
from deep.models.efficientnet import EfficientNet
from deep.models.googlenet import GoogLeNet
from deep.models.lenet import LeNet5
from deep.models.mobilenet import MobileNetV1, MobileNetV2, MobileNetV3
from deep.models.resnet import RESNET_DEPTHS, ResNet
from deep.models.squeezenet import SqueezeNet
from deep.models.unet import fcn, unet
from deep.models.vgg import VGG, VGG_CONFIGS
from deep.models.vit import ViT

__all__ = ["ModelEntry", "create_model", "list_models", "model_entry"]


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: the class (or factory), its keyword configuration, where it
    comes from, and its task (``"classification"`` or ``"segmentation"``)."""

    name: str
    cls: Callable[..., nn.Module]
    kwargs: dict[str, Any] = field(default_factory=dict)
    reference: str = ""
    task: str = "classification"


_REGISTRY: dict[str, ModelEntry] = {}


TASKS = ("classification", "segmentation")


def _register(name: str, cls, reference: str, *, task: str = "classification",
              **kwargs) -> None:
    _REGISTRY[name] = ModelEntry(name, cls, kwargs, reference, task)


_register("lenet5", LeNet5, "LeCun et al., Proc. IEEE 1998")
for _depth, _bn in ((11, False), (13, False), (16, False), (19, False),
                    (11, True), (13, True), (16, True), (19, True)):
    _register(f"vgg{_depth}" + ("_bn" if _bn else ""), VGG, "Simonyan & Zisserman, ICLR 2015",
              config=VGG_CONFIGS[f"vgg{_depth}"], batch_norm=_bn)
for _depth, (_block, _layers) in RESNET_DEPTHS.items():
    _register(f"resnet{_depth}", ResNet, "He et al., CVPR 2016", block=_block, layers=_layers)
_register("mobilenet_v1", MobileNetV1, "Howard et al., arXiv:1704.04861")
_register("mobilenet_v2", MobileNetV2, "Sandler et al., CVPR 2018")
_register("mobilenet_v3_large", MobileNetV3, "Howard et al., ICCV 2019", variant="large")
_register("mobilenet_v3_small", MobileNetV3, "Howard et al., ICCV 2019", variant="small")
_register("squeezenet1_0", SqueezeNet, "Iandola et al., arXiv:1602.07360", version="1_0")
_register("squeezenet1_1", SqueezeNet, "Iandola et al., arXiv:1602.07360", version="1_1")
_register("googlenet", GoogLeNet, "Szegedy et al., CVPR 2015")
_register("convnext_tiny", ConvNeXt, "Liu et al., CVPR 2022", depths=(3, 3, 9, 3),
          dims=(96, 192, 384, 768), drop_path_rate=0.1)
_register("efficientnet_b0", EfficientNet, "Tan & Le, ICML 2019", width_multiplier=1.0,
          depth_multiplier=1.0)
for _name, _cfg in VIT_CONFIGS.items():
    _register(_name, ViT, _cfg.reference, **_cfg.kwargs())
_register("unet", unet, "Ronneberger et al., MICCAI 2015", task="segmentation")
for _variant in ("32s", "16s", "8s"):
    _register(f"fcn{_variant}", fcn, "Long et al., CVPR 2015", task="segmentation",
              variant=_variant)


def list_models(pattern: str | None = None, *, task: str | None = None) -> list[str]:
    """Sorted registered names, optionally filtered by a shell-style ``pattern``
    (``"resnet*"``, ``"*vit*"``) and by ``task`` (``"classification"`` or
    ``"segmentation"``).

    Examples
    --------
    >>> list_models("resnet*")
    ['resnet101', 'resnet152', 'resnet18', 'resnet34', 'resnet50']
    >>> list_models(task="segmentation")
    ['fcn16s', 'fcn32s', 'fcn8s', 'unet']
    """
    names = sorted(_REGISTRY)
    if task is not None:
        if task not in TASKS:
            raise ValueError(f"list_models: task must be one of {', '.join(TASKS)} or None, "
                             f"got {task!r}")
        names = [n for n in names if _REGISTRY[n].task == task]
    if pattern is None:
        return names
    if not isinstance(pattern, str):
        raise TypeError(f"list_models: pattern must be a str or None, got "
                        f"{type(pattern).__name__}")
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name`` (class, configuration, reference)."""
    if not isinstance(name, str) or name not in _REGISTRY:
        close = (difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.6)
                 if isinstance(name, str) else [])
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"create_model: name must be one of list_models() "
                         f"({len(_REGISTRY)} names), got {name!r}{hint}")
    return _REGISTRY[name]


def create_model(name: str, **overrides) -> nn.Module:
    """Build a registered model, freshly initialised, with keyword overrides.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.
    **overrides
        Keywords of the model's class (they replace the registered configuration).

    Returns
    -------
    nn.Module
        A :class:`~deep.models.base.ConvNet` (``forward_features``, ``forward_head``,
        ``forward_intermediates``, ``feature_info``), a :class:`~deep.models.ViT`, or for
        ``task="segmentation"`` a :class:`~deep.models.UNet` / :class:`~deep.models.FCN`
        (``forward_features``, ``forward_head``, ``feature_info``).

    Examples
    --------
    >>> import torch
    >>> with torch.device("meta"):
    ...     model = create_model("resnet50")
    >>> sum(p.numel() for p in model.parameters())
    25557032
    >>> create_model("resnet18", num_classes=10, in_chans=1, small_input=True).feature_info[-1]
    FeatureInfo(num_chs=512, reduction=8, module='stages.4')
    >>> create_model("unet", num_classes=3, base_width=8, depth=3)(torch.zeros(1, 1, 67, 93)).shape
    torch.Size([1, 3, 67, 93])
    """
    entry = model_entry(name)
    return entry.cls(**{**entry.kwargs, **overrides})
