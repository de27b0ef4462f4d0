"""Named Vision Transformer configurations from the ViT and DeiT papers.

``create_vit("vit_base_patch16_224")`` builds ViT-B/16; any keyword overrides the
configuration (``num_classes=10``, ``image_size=384``, ``pool="gap"`` ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from deep.models.vit import ViT

__all__ = ["ViTConfig", "VIT_CONFIGS", "create_vit", "list_vit_configs"]

_VIT = "Dosovitskiy et al., ICLR 2021, Table 1"
_DEIT = "Touvron et al., ICML 2021 (DeiT), Table 1"


@dataclass(frozen=True)
class ViTConfig:
    """Architecture hyper-parameters of one named model (keyword arguments of :class:`ViT`)."""

    patch_size: int
    dim: int
    depth: int
    num_heads: int
    mlp_ratio: float = 4.0
    image_size: int = 224
    drop_path_rate: float = 0.0
    reference: str = _VIT

    def kwargs(self) -> dict:
        """The configuration as :class:`ViT` keyword arguments (without ``reference``)."""
        d = asdict(self)
        d.pop("reference")
        return d


#: The named configurations. "Ti" and "S" come from DeiT; B, L and H from the ViT paper.
VIT_CONFIGS: dict[str, ViTConfig] = {
    "vit_tiny_patch16_224": ViTConfig(16, 192, 12, 3, reference=_DEIT),
    "vit_small_patch16_224": ViTConfig(16, 384, 12, 6, reference=_DEIT),
    "vit_small_patch32_224": ViTConfig(32, 384, 12, 6, reference=_DEIT),
    "vit_base_patch16_224": ViTConfig(16, 768, 12, 12),
    "vit_base_patch32_224": ViTConfig(32, 768, 12, 12),
    "vit_large_patch16_224": ViTConfig(16, 1024, 24, 16),
    "vit_large_patch32_224": ViTConfig(32, 1024, 24, 16),
    "vit_huge_patch14_224": ViTConfig(14, 1280, 32, 16),
    "deit_tiny_patch16_224": ViTConfig(16, 192, 12, 3, drop_path_rate=0.1, reference=_DEIT),
    "deit_small_patch16_224": ViTConfig(16, 384, 12, 6, drop_path_rate=0.1, reference=_DEIT),
    "deit_base_patch16_224": ViTConfig(16, 768, 12, 12, drop_path_rate=0.1, reference=_DEIT),
}


def list_vit_configs() -> list[str]:
    """Sorted names accepted by :func:`create_vit`."""
    return sorted(VIT_CONFIGS)


def create_vit(name: str, **overrides) -> ViT:
    """Build a named configuration, with keyword overrides.

    Parameters
    ----------
    name : str
        One of :func:`list_vit_configs`, e.g. ``"vit_base_patch16_224"`` (ViT-B/16).
    **overrides
        Any :class:`ViT` keyword (``num_classes``, ``image_size``, ``in_chans``, ...).

    Returns
    -------
    ViT
        Freshly initialised (no pretrained weights: nothing downloads).

    Examples
    --------
    >>> import torch
    >>> with torch.device("meta"):
    ...     model = create_vit("vit_base_patch16_224")
    >>> sum(p.numel() for p in model.parameters())
    86567656
    """
    if name not in VIT_CONFIGS:
        raise ValueError(f"create_vit: name must be one of {', '.join(list_vit_configs())}, "
                         f"got {name!r}")
    return ViT(**{**VIT_CONFIGS[name].kwargs(), **overrides})
