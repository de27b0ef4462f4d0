"""Building blocks of the models: patch embedding, attention, feed-forward layers, norms,
RoI pooling."""

from deep.layers.attention import Attention, AttentionOutput
from deep.layers.block import Block, BlockOutput, DropPath
from deep.layers.mlp import Mlp, MoE, Routing, SwiGLU, moe_aux_loss
from deep.layers.norm import RMSNorm
from deep.layers.patch_embed import PatchEmbed
from deep.layers.roi import RoIAlign, RoIPool, roi_align, roi_pool

__all__ = [
    "Attention", "AttentionOutput", "Block", "BlockOutput", "DropPath", "MoE", "Mlp",
    "PatchEmbed", "RMSNorm", "Routing", "SwiGLU", "moe_aux_loss",
    "RoIAlign", "RoIPool", "roi_align", "roi_pool",
]
