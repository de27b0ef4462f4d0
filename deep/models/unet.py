"""U-Net (Ronneberger et al., 2015) and FCN (Long et al., 2015) for semantic segmentation.

The encoder seam
----------------
Both models take an optional ``encoder``: any ``nn.Module`` that follows the small
*feature encoder protocol*:

* ``encoder(x)`` with ``x`` of shape ``(B, C, H, W)`` returns a **list** of feature maps,
  shallowest first, each ``(B, C_i, H_i, W_i)`` with ``H_i = ceil-or-floor(H / r_i)``;
* ``encoder.feature_info`` is a list of ``(C_i, r_i)`` pairs, one per map, with the
  reductions (strides) ``r_i`` strictly increasing (typically 1 or 2 or 4, then doubling);
* ``encoder.in_chans`` is the number of input channels.

:class:`UNetEncoder` (the paper's contracting path) follows it. :class:`StagesEncoder`
turns any sequence of stages into such an encoder by running them one after the other
and returning every stage's output, inferring ``feature_info`` with one dry run, so a
ResNet becomes an encoder with ``StagesEncoder([stem, layer1, layer2, layer3, layer4])``.
:class:`BackboneEncoder` does the same for any CNN of the registry
(:class:`~deep.models.base.ConvNet`), reading the strides from its ``feature_info``;
``unet(encoder="resnet18")`` and ``fcn(encoder="resnet18")`` build one by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import describe
from deep.models.base import check_input_batch

__all__ = ["BackboneEncoder", "FCN", "StagesEncoder", "UNet", "UNetEncoder", "center_crop", "fcn",
           "sinusoidal_embedding", "unet"]

Padding = Literal["same", "valid"]
Upsample = Literal["transpose", "bilinear", "nearest"]


def center_crop(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """The centre ``size = (h, w)`` window of ``x`` of shape ``(..., H, W)``.

    The top-left corner is at ``((H - h) // 2, (W - w) // 2)``; this is how the U-Net
    paper crops a contracting-path map to the size of the expanding path's map.

    Raises
    ------
    ValueError
        ``size`` larger than ``(H, W)``.
    """
    h, w = int(size[0]), int(size[1])
    H, W = x.shape[-2], x.shape[-1]
    if h > H or w > W or h < 1 or w < 1:
        raise ValueError(f"center_crop: size must lie within the input's {H}x{W}, got {h}x{w}")
    top, left = (H - h) // 2, (W - w) // 2
    return x[..., top:top + h, left:left + w]


def sinusoidal_embedding(t: torch.Tensor, dim: int, *, max_period: float = 10000.0
                         ) -> torch.Tensor:
    """Transformer-style sinusoidal embedding of (diffusion) time steps.

    Parameters
    ----------
    t : Tensor of shape (B,)
        Time steps (integers or reals).
    dim : int
        Even embedding width.
    max_period : float
        The longest wavelength, in units of ``t``.

    Returns
    -------
    Tensor of shape (B, dim), float32
        ``[sin(t ω_0), ..., sin(t ω_{d/2-1}), cos(t ω_0), ..., cos(t ω_{d/2-1})]`` with
        ``ω_k = max_period^(-k / (d/2))``.

    References
    ----------
    A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017; J. Ho, A. Jain and
    P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    """
    if not isinstance(t, torch.Tensor) or t.ndim != 1:
        raise ValueError(f"sinusoidal_embedding: t must be a 1-D tensor (B,), got {describe(t)}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2 or dim % 2:
        raise ValueError(f"sinusoidal_embedding: dim must be an even int >= 2, got "
                         f"{describe(dim)}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32,
                                                           device=t.device) / half)  # (d/2,)
    args = t.float()[:, None] * freqs[None, :]  # (B, d/2)
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)  # (B, d)


def _double_conv_with_bias(block: nn.Sequential, x: torch.Tensor,
                           bias: torch.Tensor | None) -> torch.Tensor:
    """Run a :class:`DoubleConv` and add ``bias`` ``(B, C)`` per channel after its first
    convolution unit (conv, norm, ReLU), before the second convolution."""
    if bias is None:
        return block(x)
    n_conv = 0
    for layer in block:
        if isinstance(layer, nn.Conv2d):
            n_conv += 1
            if n_conv == 2:
                x = x + bias[:, :, None, None]  # (B, C, H, W) + (B, C, 1, 1)
        x = layer(x)
    return x


def _check_widths(widths, name: str, min_len: int) -> tuple[int, ...]:
    if (not isinstance(widths, (tuple, list)) or len(widths) < min_len
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in widths)):
        raise ValueError(f"{name}: widths must be a sequence of at least {min_len} positive "
                         f"ints, got {describe(widths)}")
    return tuple(int(v) for v in widths)


def _check_encoder(encoder, name: str) -> list[tuple[int, int]]:
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"{name}: encoder must be an nn.Module following the feature encoder "
                        f"protocol, got {describe(encoder)}")
    info = getattr(encoder, "feature_info", None)
    ok = isinstance(info, (list, tuple)) and len(info) >= 1 and all(
        isinstance(t, (tuple, list)) and len(t) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in t)
        for t in info)
    if not ok or not isinstance(getattr(encoder, "in_chans", None), int):
        raise ValueError(f"{name}: encoder must have feature_info, a list of (channels, "
                         f"reduction) pairs of positive ints, and an int in_chans; got "
                         f"feature_info={describe(info)}")
    reductions = [r for _, r in info]
    if any(b <= a for a, b in zip(reductions, reductions[1:])):
        raise ValueError(f"{name}: encoder.feature_info reductions must increase strictly, got "
                         f"{reductions}")
    return [(int(c), int(r)) for c, r in info]


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by an optional norm and a ReLU (the paper's unit).

    ``padding="valid"`` (the paper) loses 2 pixels per convolution, 4 per unit;
    ``"same"`` pads by 1 and keeps the size.
    """

    def __init__(self, in_chans: int, out_chans: int, *, padding: Padding = "same",
                 norm_layer: Callable[[int], nn.Module] | None = nn.BatchNorm2d):
        p = 1 if padding == "same" else 0
        layers: list[nn.Module] = []
        for c_in in (in_chans, out_chans):
            layers.append(nn.Conv2d(c_in, out_chans, 3, padding=p, bias=norm_layer is None))
            if norm_layer is not None:
                layers.append(norm_layer(out_chans))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class UNetEncoder(nn.Module):
    """The U-Net contracting path: a double conv, then (max-pool 2x2, double conv) repeated.

    Parameters
    ----------
    in_chans : int
    widths : sequence of int
        Channels of each stage; stage ``i`` runs at reduction ``2**i``. The paper uses
        ``(64, 128, 256, 512, 1024)``.
    padding : {"same", "valid"}
    norm_layer : callable or None
        ``norm_layer(channels)`` after each convolution (None: the paper, no norm).

    Notes
    -----
    Follows the feature encoder protocol (module docstring): ``forward`` returns one map
    per stage and ``feature_info = [(widths[i], 2**i)]``. In ``"valid"`` mode a 2x2
    pooling of an odd-sized map raises ``ValueError`` (the paper chooses tile sizes so
    that every pooled map is even; :meth:`UNet.valid_input_size` finds them).
    """

    def __init__(self, *, in_chans: int = 1, widths: Sequence[int] = (64, 128, 256, 512, 1024),
                 padding: Padding = "same",
                 norm_layer: Callable[[int], nn.Module] | None = nn.BatchNorm2d):
        super().__init__()
        widths = _check_widths(widths, "UNetEncoder", 1)
        if padding not in ("same", "valid"):
            raise ValueError(f"UNetEncoder: padding must be 'same' or 'valid', got "
                             f"{describe(padding)}")
        self.in_chans = int(in_chans)
        self.padding = padding
        self.stages = nn.ModuleList()
        c_prev = self.in_chans
        for c in widths:
            self.stages.append(DoubleConv(c_prev, c, padding=padding, norm_layer=norm_layer))
            c_prev = c
        self.feature_info = [(c, 2 ** i) for i, c in enumerate(widths)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i, stage in enumerate(self.stages):
            if i > 0:
                if min(x.shape[-2], x.shape[-1]) < 2:
                    raise ValueError(
                        f"UNetEncoder: a {x.shape[-2]}x{x.shape[-1]} map cannot be max-pooled "
                        f"(pool {i} of {len(self.stages) - 1}); the input must be at least "
                        f"{2 ** (len(self.stages) - 1)} pixels on each side in 'same' mode")
                if self.padding == "valid" and (x.shape[-2] % 2 or x.shape[-1] % 2):
                    raise ValueError(
                        f"UNetEncoder: in 'valid' mode every map that is max-pooled must have "
                        f"even height and width, got {x.shape[-2]}x{x.shape[-1]} before pool "
                        f"{i}; use UNet.valid_input_size to choose the input size")
                x = F.max_pool2d(x, 2)  # (B, C, H/2, W/2), floor for odd sizes
            x = stage(x)  # (B, widths[i], H_i, W_i)
            feats.append(x)
        return feats


class StagesEncoder(nn.Module):
    """Adapter: run ``stages`` in sequence and return every stage's output.

    Parameters
    ----------
    stages : sequence of nn.Module
        Each maps the previous stage's output to the next feature map (the first takes
        the image). For a ResNet: ``[Sequential(conv1, bn1, relu), Sequential(maxpool,
        layer1), layer2, layer3, layer4]``.
    in_chans : int
    probe_size : int
        Side of the zero image used once, at construction, to infer ``feature_info``
        (channels and reduction ``round(probe_size / H_i)`` of each output).

    Notes
    -----
    The result follows the feature encoder protocol of this module, so it plugs into
    ``UNet(encoder=...)`` and ``FCN(encoder=...)``.
    """

    def __init__(self, stages: Sequence[nn.Module], *, in_chans: int = 3, probe_size: int = 64):
        super().__init__()
        stages = list(stages)
        if not stages or not all(isinstance(s, nn.Module) for s in stages):
            raise TypeError(f"StagesEncoder: stages must be a non-empty sequence of nn.Module, "
                            f"got {describe(stages)}")
        self.stages = nn.ModuleList(stages)
        self.in_chans = int(in_chans)
        was_training = self.training
        self.eval()
        with torch.no_grad():
            feats = self.forward(torch.zeros(1, self.in_chans, probe_size, probe_size))
        self.train(was_training)
        self.feature_info = [(int(f.shape[1]), max(1, round(probe_size / f.shape[-2])))
                             for f in feats]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class BackboneEncoder(nn.Module):
    """Adapter: a registry CNN (:class:`~deep.models.base.ConvNet`) as a feature encoder.

    Parameters
    ----------
    backbone : ConvNet
        Its ``stages`` are run in order; for each distinct reduction in its
        ``feature_info`` the deepest stage at that reduction gives a map (a ResNet built
        with ``small_input=True`` has its stem and first stage both at reduction 1: the
        first stage's output is kept). The stages after the deepest map, ``final`` and the
        head are not part of the encoder.

    Notes
    -----
    Follows the feature encoder protocol of this module: ``feature_info`` is the kept
    stages' ``(num_chs, reduction)`` and ``in_chans`` the backbone's.

    Examples
    --------
    >>> from deep.models import create_model
    >>> enc = BackboneEncoder(create_model("resnet18", in_chans=1, num_classes=0,
    ...                                    width_multiplier=0.125))
    >>> enc.feature_info
    [(8, 2), (8, 4), (16, 8), (32, 16), (64, 32)]
    """

    def __init__(self, backbone: nn.Module):
        super().__init__()
        info = getattr(backbone, "feature_info", None)
        stages = getattr(backbone, "stages", None)
        if (not isinstance(backbone, nn.Module) or not isinstance(stages, nn.ModuleList)
                or not isinstance(info, (tuple, list)) or len(info) != len(stages)
                or not all(hasattr(i, "reduction") and hasattr(i, "num_chs") for i in info)):
            raise TypeError(f"BackboneEncoder: backbone must be a ConvNet of the registry "
                            f"(stages and feature_info of FeatureInfo), got {describe(backbone)}")
        keep: dict[int, int] = {}
        for i, fi in enumerate(info):
            keep[int(fi.reduction)] = i  # the deepest stage at each reduction
        self.indices = sorted(keep.values())
        self.stages = nn.ModuleList(stages[:self.indices[-1] + 1])
        self.in_chans = int(backbone.in_chans)
        self.feature_info = [(int(info[i].num_chs), int(info[i].reduction))
                             for i in self.indices]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i, stage in enumerate(self.stages):
            x = stage(x)  # (B, C_i, H / r_i, W / r_i)
            if i in self.indices:
                feats.append(x)
        return feats


def _named_encoder(encoder, encoder_kwargs, in_chans: int, func: str):
    """``encoder`` as given, or a :class:`BackboneEncoder` over ``create_model(encoder)``."""
    if encoder_kwargs is not None and not isinstance(encoder_kwargs, dict):
        raise TypeError(f"{func}: encoder_kwargs must be a dict or None, got "
                        f"{describe(encoder_kwargs)}")
    if not isinstance(encoder, str):
        if encoder_kwargs:
            raise ValueError(f"{func}: encoder_kwargs needs encoder given by name, got "
                             f"{describe(encoder)}")
        return encoder
    from deep.models.base import ConvNet
    from deep.models.registry import create_model, model_entry

    entry = model_entry(encoder)
    if entry.task != "classification" or not (isinstance(entry.cls, type)
                                               and issubclass(entry.cls, ConvNet)):
        raise ValueError(f"{func}: encoder must name a CNN of the registry (a ConvNet), got "
                         f"{encoder!r}")
    kwargs = {"in_chans": in_chans, "num_classes": 0, **(encoder_kwargs or {})}
    return BackboneEncoder(create_model(encoder, **kwargs))


class _Up(nn.Module):
    """Upsample ``x`` to a target size and reduce its channels to ``out_chans``."""

    def __init__(self, in_chans: int, out_chans: int, mode: Upsample):
        super().__init__()
        self.mode = mode
        if mode == "transpose":  # the paper's 2x2 up-convolution
            self.proj = nn.ConvTranspose2d(in_chans, out_chans, 2, stride=2)
        else:  # interpolation, then a 1x1 convolution for the channels
            self.proj = nn.Conv2d(in_chans, out_chans, 1)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if self.mode == "transpose":
            h, w = x.shape[-2], x.shape[-1]
            if all(2 * n <= s <= 2 * n + 1 for n, s in zip((h, w), size)):
                # output_padding 0 or 1 gives the exact size of an odd skip map
                return self.proj(x, output_size=list(size))
            return F.interpolate(self.proj(x), size=size, mode="bilinear", align_corners=False)
        if self.mode == "nearest":
            x = F.interpolate(x, size=size, mode="nearest")
        else:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return self.proj(x)


class UNet(nn.Module):
    """U-Net for semantic segmentation (Ronneberger, Fischer and Brox, 2015).

    Parameters
    ----------
    in_chans : int
    num_classes : int
        Output channels of the 1x1 head: the classes for ``mode="multiclass"`` losses, 1
        for binary segmentation.
    widths : sequence of int
        Channels per level, shallowest first; ``len(widths) - 1`` poolings. The paper's
        ``(64, 128, 256, 512, 1024)``.
    padding : {"same", "valid"}
        ``"same"``: zero-padded 3x3 convolutions; any input ``H x W`` gives logits of
        the same ``H x W`` (each upsampling goes to the exact size of its skip map).
        ``"valid"``: the paper's unpadded convolutions; the output is smaller than the
        input (572 → 388 for the paper's widths) and skip maps are centre-cropped.
    upsample : {"transpose", "bilinear", "nearest"}
        The paper's 2x2 up-convolution, or interpolation followed by a 1x1 convolution.
    norm_layer : callable or None
        Norm after every 3x3 convolution; ``nn.BatchNorm2d`` by default, None for the
        paper's network.
    encoder : nn.Module, optional
        Replaces the contracting path: any module following the feature encoder
        protocol (module docstring). Its deepest map is the bottleneck and the others
        are the skips; when its shallowest reduction is above 1 the logits are
        bilinearly upsampled to the input size. Needs ``padding="same"``; ``in_chans``
        and ``widths`` are then taken from the encoder.
    decoder_widths : sequence of int, optional
        Channels of the expanding path's levels (shallowest first, one per skip); by
        default the skip's channels.
    cond_dim : int, optional
        Width of a conditioning vector (a diffusion model's time / label embedding).
        When set, ``forward(x, cond)`` takes ``cond`` of shape ``(B, cond_dim)``; a linear
        map of it is added, per channel, to every double convolution after its first
        convolution unit (in the contracting and the expanding path). Needs the built-in
        encoder.

    Notes
    -----
    ``forward_features`` maps images ``(B, C, H, W)`` to the last decoder map
    ``(B, decoder_widths[0], H', W')``; ``forward_head`` applies the 1x1 classifier;
    ``forward`` is both. ``(H', W') = (H, W)`` in ``"same"`` mode, and
    :meth:`output_size` in ``"valid"`` mode. With the paper's widths, ``in_chans=1``,
    ``num_classes=2``, no norm and transposed convolutions the model has 31,030,658
    parameters (hand count: 18,842,048 in the contracting path, 12,188,610 in the
    expanding path and head).

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer and T. Brox, "U-Net: Convolutional Networks for
       Biomedical Image Segmentation", MICCAI 2015, arXiv:1505.04597.

    Examples
    --------
    >>> import torch
    >>> net = UNet(in_chans=1, num_classes=3, widths=(4, 8, 16))
    >>> net(torch.zeros(1, 1, 67, 93)).shape
    torch.Size([1, 3, 67, 93])
    """

    def __init__(self, *, in_chans: int = 1, num_classes: int = 2,
                 widths: Sequence[int] = (64, 128, 256, 512, 1024), padding: Padding = "same",
                 upsample: Upsample = "transpose",
                 norm_layer: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
                 encoder: nn.Module | None = None,
                 decoder_widths: Sequence[int] | None = None,
                 cond_dim: int | None = None):
        super().__init__()
        if padding not in ("same", "valid"):
            raise ValueError(f"UNet: padding must be 'same' or 'valid', got {describe(padding)}")
        if cond_dim is not None and (isinstance(cond_dim, bool) or not isinstance(cond_dim, int)
                                     or cond_dim < 1):
            raise ValueError(f"UNet: cond_dim must be a positive int or None, got "
                             f"{describe(cond_dim)}")
        if cond_dim is not None and encoder is not None:
            raise ValueError("UNet: cond_dim needs the built-in encoder (encoder=None)")
        if upsample not in ("transpose", "bilinear", "nearest"):
            raise ValueError(f"UNet: upsample must be 'transpose', 'bilinear' or 'nearest', got "
                             f"{describe(upsample)}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"UNet: num_classes must be an int >= 1, got {describe(num_classes)}")
        if encoder is None:
            widths = _check_widths(widths, "UNet", 2)
            encoder = UNetEncoder(in_chans=in_chans, widths=widths, padding=padding,
                                  norm_layer=norm_layer)
        elif padding != "same":
            raise ValueError("UNet: an external encoder needs padding='same' (the 'valid' "
                             "cropping arithmetic is defined for the paper's own encoder)")
        info = _check_encoder(encoder, "UNet")
        if len(info) < 2:
            raise ValueError(f"UNet: the encoder must give at least 2 feature maps (skips and a "
                             f"bottleneck), got feature_info={info}")
        skips = [c for c, _ in info[:-1]]
        if decoder_widths is None:
            decoder_widths = skips
        decoder_widths = _check_widths(decoder_widths, "UNet", len(skips))
        if len(decoder_widths) != len(skips):
            raise ValueError(f"UNet: decoder_widths must have one entry per skip ({len(skips)}), "
                             f"got {len(decoder_widths)}")
        self.encoder = encoder
        self.in_chans = int(encoder.in_chans)
        self.num_classes = num_classes
        self.padding = padding
        self.upsample = upsample
        self.feature_info = info
        self.decoder_widths = decoder_widths
        self.ups = nn.ModuleList()
        self.blocks = nn.ModuleList()
        c_deep = info[-1][0]
        for level in reversed(range(len(skips))):  # deepest skip first
            c_out = decoder_widths[level]
            self.ups.append(_Up(c_deep, c_out, upsample))
            self.blocks.append(DoubleConv(c_out + skips[level], c_out, padding=padding,
                                          norm_layer=norm_layer))
            c_deep = c_out
        self.head = nn.Conv2d(decoder_widths[0], num_classes, 1)
        self.cond_dim = cond_dim
        if cond_dim is not None:  # one per-channel bias per double convolution
            self.enc_cond = nn.ModuleList(nn.Linear(cond_dim, c) for c, _ in info)
            self.dec_cond = nn.ModuleList(nn.Linear(cond_dim, decoder_widths[level])
                                          for level in reversed(range(len(skips))))

    # ------------------------------------------------------------ size arithmetic
    def output_size(self, size: int) -> int:
        """Output side for an input side ``size`` (``size`` itself in ``"same"`` mode).

        Raises ``ValueError`` in ``"valid"`` mode when a pooled map would be odd or a
        map would shrink below 1 pixel.
        """
        if self.padding == "same":
            return int(size)
        levels = len(self.feature_info)
        s = int(size)
        for i in range(levels):
            if i > 0:
                if s % 2:
                    raise ValueError(f"UNet.output_size: input side {size} gives an odd map "
                                     f"({s}) before pool {i}")
                s //= 2
            s -= 4
            if s < 1:
                raise ValueError(f"UNet.output_size: input side {size} is too small for "
                                 f"{levels} levels of unpadded convolutions")
        for _ in range(levels - 1):
            s = 2 * s - 4
            if s < 1:
                raise ValueError(f"UNet.output_size: input side {size} is too small")
        return s

    def valid_input_size(self, min_size: int) -> int:
        """The smallest input side ``>= min_size`` that the ``"valid"`` network accepts.

        For the paper's five levels the accepted sides are ``16 k + 124`` (572 included).
        """
        s = max(1, int(min_size))
        for candidate in range(s, s + 2 ** len(self.feature_info) + 1):
            try:
                self.output_size(candidate)
                return candidate
            except ValueError:
                continue
        for candidate in range(s, s + 4096):  # very small sides need a larger search
            try:
                self.output_size(candidate)
                return candidate
            except ValueError:
                continue
        raise ValueError(f"UNet.valid_input_size: no valid side found from {min_size}")

    # ------------------------------------------------------------------- forward
    def _conditioned_encoder(self, x: torch.Tensor, cond: torch.Tensor) -> list[torch.Tensor]:
        """The built-in encoder's stages with the conditioning biases added."""
        feats = []
        for i, (stage, proj) in enumerate(zip(self.encoder.stages, self.enc_cond)):
            if i > 0:
                if min(x.shape[-2], x.shape[-1]) < 2:
                    raise ValueError(f"UNet: a {x.shape[-2]}x{x.shape[-1]} map cannot be "
                                     f"max-pooled (pool {i})")
                x = F.max_pool2d(x, 2)  # (B, C, H/2, W/2)
            x = _double_conv_with_bias(stage, x, proj(cond))  # (B, widths[i], H_i, W_i)
            feats.append(x)
        return feats

    def _check_cond(self, cond, batch: int) -> None:
        if self.cond_dim is None:
            if cond is not None:
                raise ValueError("UNet: cond given to a model built without cond_dim")
            return
        if not isinstance(cond, torch.Tensor) or cond.shape != (batch, self.cond_dim):
            raise ValueError(f"UNet: cond must be a ({batch}, {self.cond_dim}) tensor, got "
                             f"{describe(cond)}")

    def forward_features(self, x: torch.Tensor, cond: torch.Tensor | None = None
                         ) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → last decoder map ``(B, decoder_widths[0], H', W')``;
        ``cond`` ``(B, cond_dim)`` is required exactly when the model has a ``cond_dim``."""
        check_input_batch(x, "UNet", self.in_chans)
        self._check_cond(cond, x.shape[0])
        feats = self.encoder(x) if cond is None else self._conditioned_encoder(x, cond)
        if len(feats) != len(self.feature_info):
            raise ValueError(f"UNet: the encoder returned {len(feats)} maps but its "
                             f"feature_info lists {len(self.feature_info)}")
        y = feats[-1]  # (B, C_deep, H/2^L, W/2^L)
        for i, (up, block, skip) in enumerate(zip(self.ups, self.blocks, reversed(feats[:-1]))):
            if self.padding == "same":
                y = up(y, (skip.shape[-2], skip.shape[-1]))  # (B, c, H_skip, W_skip)
            else:
                y = up(y, (2 * y.shape[-2], 2 * y.shape[-1]))  # (B, c, 2h, 2w)
                skip = center_crop(skip, y.shape[-2:])  # the paper's "copy and crop"
            bias = None if cond is None else self.dec_cond[i](cond)  # (B, c)
            y = _double_conv_with_bias(block, torch.cat([skip, y], dim=1), bias)
        if self.padding == "same" and y.shape[-2:] != x.shape[-2:]:
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Decoder map ``(B, decoder_widths[0], H', W')`` → logits ``(B, num_classes, H', W')``."""
        return self.head(features)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_head(self.forward_features(x, cond))


def _bilinear_kernel(channels: int, factor: int) -> torch.Tensor:
    """Weights ``(channels, channels, k, k)`` with ``k = 2 factor - factor % 2`` of bilinear
    upsampling by ``factor`` as a transposed convolution (FCN's initialisation)."""
    k = 2 * factor - factor % 2
    centre = factor - 1 if k % 2 == 1 else factor - 0.5
    og = torch.arange(k, dtype=torch.float32)
    filt = 1 - (og - centre).abs() / factor  # (k,)
    w = torch.zeros(channels, channels, k, k)
    w[range(channels), range(channels)] = filt[:, None] * filt[None, :]
    return w


class FCN(nn.Module):
    """Fully convolutional network with FCN-32s / 16s / 8s skip heads (Long et al., 2015).

    Parameters
    ----------
    in_chans, num_classes : int
    variant : {"32s", "16s", "8s"}
        Which encoder maps are scored and fused: the stride-32 map alone, plus stride
        16, plus stride 8. Scores are fused coarse to fine by learned 2x upsampling
        (transposed convolutions initialised to bilinear interpolation, the paper's
        choice), then bilinearly resized to the input size.
    widths : sequence of int
        Channels of the default encoder (a :class:`UNetEncoder` with
        ``len(widths) - 1`` poolings; 6 widths reach stride 32).
    norm_layer : callable or None
    encoder : nn.Module, optional
        Any feature encoder (module docstring); the deepest ``1, 2 or 3`` maps are scored.

    Notes
    -----
    ``forward_features`` returns the encoder's list of maps and ``forward_head`` fuses the
    scores into logits ``(B, num_classes, H, W)`` for any input size.

    References
    ----------
    .. [1] J. Long, E. Shelhamer and T. Darrell, "Fully Convolutional Networks for
       Semantic Segmentation", CVPR 2015, arXiv:1411.4038.
    """

    def __init__(self, *, in_chans: int = 1, num_classes: int = 2,
                 variant: Literal["32s", "16s", "8s"] = "8s",
                 widths: Sequence[int] = (16, 32, 64, 128, 256, 256),
                 norm_layer: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
                 encoder: nn.Module | None = None):
        super().__init__()
        if variant not in ("32s", "16s", "8s"):
            raise ValueError(f"FCN: variant must be '32s', '16s' or '8s', got {describe(variant)}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"FCN: num_classes must be an int >= 1, got {describe(num_classes)}")
        n_scored = {"32s": 1, "16s": 2, "8s": 3}[variant]
        if encoder is None:
            widths = _check_widths(widths, "FCN", n_scored)
            encoder = UNetEncoder(in_chans=in_chans, widths=widths, norm_layer=norm_layer)
        info = _check_encoder(encoder, "FCN")
        if len(info) < n_scored:
            raise ValueError(f"FCN: variant {variant!r} scores {n_scored} encoder maps, the "
                             f"encoder gives {len(info)}")
        self.encoder = encoder
        self.in_chans = int(encoder.in_chans)
        self.num_classes = num_classes
        self.variant = variant
        self.feature_info = info
        scored = info[-n_scored:]  # finest first
        self.scores = nn.ModuleList(nn.Conv2d(c, num_classes, 1) for c, _ in scored)
        self.ups = nn.ModuleList()
        for (_, r_fine), (_, r_coarse) in zip(scored[:-1], scored[1:]):
            factor = max(1, round(r_coarse / r_fine))
            up = nn.ConvTranspose2d(num_classes, num_classes, 2 * factor - factor % 2,
                                    stride=factor, padding=math.ceil((factor - 1) / 2),
                                    bias=False)
            with torch.no_grad():
                up.weight.copy_(_bilinear_kernel(num_classes, factor))
            self.ups.append(up)
        for s in self.scores:  # the paper zero-initialises the skip score layers
            nn.init.zeros_(s.weight)
            nn.init.zeros_(s.bias)
        nn.init.normal_(self.scores[-1].weight, std=0.01)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Images ``(B, C, H, W)`` → the encoder's maps, shallowest first."""
        check_input_batch(x, "FCN", self.in_chans)
        return self.encoder(x)

    def forward_head(self, feats: list[torch.Tensor],
                     size: tuple[int, int] | None = None) -> torch.Tensor:
        """Encoder maps → logits ``(B, num_classes, *size)``.

        ``size`` None: the shallowest map's size times its reduction (the input size for
        encoders whose first map is at reduction 1, as the default one).
        """
        if size is None:
            r = self.feature_info[0][1]
            size = (feats[0].shape[-2] * r, feats[0].shape[-1] * r)
        scored = feats[-len(self.scores):]  # finest first
        y = self.scores[-1](scored[-1])  # (B, K, H/32, W/32) for 32s
        for i in reversed(range(len(self.scores) - 1)):
            fine = scored[i]
            y = self.ups[i](y)  # learned 2x upsampling
            y = F.interpolate(y, size=fine.shape[-2:], mode="bilinear", align_corners=False) \
                if y.shape[-2:] != fine.shape[-2:] else y
            y = y + self.scores[i](fine)  # (B, K, H_i, W_i)
        return F.interpolate(y, size=tuple(size), mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x), (x.shape[-2], x.shape[-1]))


def unet(*, in_chans: int = 1, num_classes: int = 2, base_width: int = 64, depth: int = 5,
         encoder: str | nn.Module | None = None, encoder_kwargs: dict | None = None,
         **overrides) -> UNet:
    """A :class:`UNet` with widths ``base_width * 2**i`` for ``i < depth`` (registry entry).

    ``unet()`` is the paper's configuration apart from the batch norm (pass
    ``norm_layer=None`` for the original); ``overrides`` go to :class:`UNet`.
    ``encoder`` may name a CNN of the registry (``"resnet18"``): it is built with
    ``in_chans``, ``num_classes=0`` and ``encoder_kwargs`` (``{"small_input": True}``
    keeps the stem at full resolution) and wrapped in a :class:`BackboneEncoder`;
    ``base_width`` and ``depth`` are then unused.

    Examples
    --------
    >>> import torch
    >>> net = unet(num_classes=3, encoder="resnet18",
    ...            encoder_kwargs={"width_multiplier": 0.125, "small_input": True})
    >>> net(torch.zeros(1, 1, 37, 45)).shape
    torch.Size([1, 3, 37, 45])
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2:
        raise ValueError(f"unet: depth must be an int >= 2, got {describe(depth)}")
    if isinstance(base_width, bool) or not isinstance(base_width, int) or base_width < 1:
        raise ValueError(f"unet: base_width must be a positive int, got {describe(base_width)}")
    encoder = _named_encoder(encoder, encoder_kwargs, in_chans, "unet")
    if encoder is not None:
        return UNet(in_chans=in_chans, num_classes=num_classes, encoder=encoder, **overrides)
    widths = tuple(base_width * 2 ** i for i in range(depth))
    return UNet(in_chans=in_chans, num_classes=num_classes, widths=widths, **overrides)


def fcn(*, variant: Literal["32s", "16s", "8s"] = "8s", in_chans: int = 1, num_classes: int = 2,
        encoder: str | nn.Module | None = None, encoder_kwargs: dict | None = None,
        **overrides) -> FCN:
    """An :class:`FCN` (registry entries ``fcn32s``, ``fcn16s``, ``fcn8s``).

    The default double-conv encoder, or a CNN of the registry named by ``encoder`` and
    built with ``encoder_kwargs`` as in :func:`unet` (a ResNet reaches stride 32).
    """
    encoder = _named_encoder(encoder, encoder_kwargs, in_chans, "fcn")
    return FCN(in_chans=in_chans, num_classes=num_classes, variant=variant, encoder=encoder,
               **overrides)
