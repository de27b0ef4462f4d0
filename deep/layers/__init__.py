"""Building blocks of the models: patch embedding, attention, feed-forward layers, norms,
and the convolutional blocks of the CNN families, RoI pooling, recurrent cells and the
transformer decoder."""

from deep.layers.attention import Attention, AttentionOutput
from deep.layers.block import Block, BlockOutput, DropPath
from deep.layers.conv import ConvNormAct, DepthwiseSeparableConv, SqueezeExcite, make_divisible
from deep.layers.convnext import ConvNeXtBlock
from deep.layers.decoder import DecoderBlock, MultiHeadAttention, MultiHeadAttentionOutput
from deep.layers.fire import Fire
from deep.layers.inception import Inception
from deep.layers.mlp import Mlp, MoE, Routing, SwiGLU, moe_aux_loss
from deep.layers.mobile import InvertedResidual, MBConv, MobileNetV3Block
from deep.layers.norm import (
    BatchNorm2d,
    GroupNorm,
    LayerNorm,
    LayerNorm2d,
    LocalResponseNorm,
    RMSNorm,
    WeightNorm,
    weight_norm,
)
from deep.layers.patch_embed import PatchEmbed
from deep.layers.residual import BasicBlock, Bottleneck
from deep.layers.rnn import GRU, LSTM, GRUCell, LSTMCell
from deep.layers.roi import RoIAlign, RoIPool, roi_align, roi_pool

__all__ = [
    "Attention", "AttentionOutput", "BasicBlock", "BatchNorm2d", "Block", "BlockOutput",
    "Bottleneck", "ConvNeXtBlock", "ConvNormAct", "DepthwiseSeparableConv", "DropPath", "Fire",
    "GroupNorm", "Inception", "InvertedResidual", "LayerNorm", "LayerNorm2d",
    "LocalResponseNorm", "MBConv", "MoE", "Mlp", "MobileNetV3Block", "PatchEmbed", "RMSNorm",
    "Routing", "SqueezeExcite", "SwiGLU", "WeightNorm", "make_divisible", "moe_aux_loss",
    "weight_norm",
    "RoIAlign", "RoIPool", "roi_align", "roi_pool",
    # recurrent cells and the transformer decoder (captioning)
    "DecoderBlock", "GRU", "GRUCell", "LSTM", "LSTMCell", "MultiHeadAttention",
    "MultiHeadAttentionOutput",
]
