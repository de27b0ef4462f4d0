"""Seeing what a model looks at: gradients, class activation maps, attention.

Every method takes a model, a batch of images ``(B, C, H, W)`` and a *target*, and returns
an :class:`Explanation` whose ``maps`` are ``(B, H, W)`` at the input's resolution.

Targets
-------
A target turns the model's output into one score per image, the quantity explained:

* :class:`ClassTarget` — a classifier's logit ``output[b, c]`` (an int, one int per image,
  or None for the predicted class);
* :class:`MaskTarget` — a segmentation model's logits of class ``c`` summed over a mask;
* :class:`BoxTarget` — a detector's score of class ``c`` over its boxes that overlap a
  given box (each weighted by its IoU with it).

An int, a sequence of ints or None given where a target is expected means a
:class:`ClassTarget`. Any callable ``output -> Tensor (B,)`` is a target too.

Model state
-----------
The whole batch goes through one forward and one ``torch.autograd.grad`` call (the
score is summed over the batch; in eval mode samples do not interact, so each image's
map is the one it would get alone). Inside, the model is put in eval mode and a forward
hook is held on the explained layer; both are undone on leaving, even after an error:
each module's ``training`` flag is restored, the hooks are removed, and because the
gradients are taken with ``torch.autograd.grad`` on an input copy that requires grad,
neither the parameters' ``requires_grad`` flags nor their ``.grad`` are touched.

Vision Transformers
-------------------
A layer that outputs tokens ``(B, T, D)`` is read as a feature map: the model's
``num_prefix_tokens`` (the class token, then any register tokens) are dropped and the
rest are reshaped row-major to the patch grid ``(H / patch_size, W / patch_size)`` read
from the model (:class:`deep.models.ViT`), giving ``(B, D, H / p, W / p)``. Under
class-token pooling only the class token of the last block reaches the head, so the
patch tokens of the last block's output (and of the final norm) receive **zero**
gradient; Grad-CAM there is empty. The default layer is therefore ``blocks[-1].norm1``:
the input of the last attention, whose patch tokens reach the class token through that
attention. With average pooling (``pool="gap"``) every patch token reaches the head and
the default is the final ``norm``.

Grad-CAM does not point at the evidence in a ViT
------------------------------------------------
Measured with ``examples/explain.py`` (``--vit-probes`` reproduces the registers,
average-pooling, one-block and conv-stem numbers; the other variants used the same data
and training loop) on :func:`make_quadrant_blobs` (32x32, 3000 training and 400 held-out
images; patch 8, so a quadrant is 2x2 tokens): a small CNN's Grad-CAM puts its maximum
in the blob's quadrant (the pointing game) for 100 % of the held-out images; no ViT's
Grad-CAM reaches 0.90, at any layer of any variant tried below. Grad-CAM
localises in the CNN because its last conv layer meets two conditions at once: its units
are **local** (a 12-pixel receptive field) and the score reads every position **the same
way** (global average pooling then a linear head), so the token-averaged gradient
``alpha`` is every position's gradient and ``alpha · A[i, j]`` is what position
``(i, j)`` contributes. In a ViT no layer meets both:

* **after the first attention every token holds the decision.** In an average-pooled ViT
  (3 blocks, 96 % accurate) any single token of the final norm, put through the head
  alone, classifies the image: 94 % right for the blob's tokens, 95 % for the others.
  Grad-CAM at that norm is exactly CAM, each token's share of the logit, and points at
  the blob's quadrant for 14 % of the images — below chance (25 %): the blob's tokens
  carry the local detail too and, every token being normalised to the same size, keep a
  little less of the class direction. The other layers after an attention — every later
  ``norm1`` input and output, the block outputs (the residual stream before its
  LayerNorm), the attention and MLP outputs, the MLP's hidden activations — score
  0.14–0.62 under class-token or average pooling. So do the usual remedies: 4 register
  tokens (Darcet et al., 2024; 0.11–0.67 — they hold global state in large ViTs, but
  here the patch tokens keep it too), dropout and stochastic depth 0.1 (0.20–0.62), a
  fixed 2-D sin-cos position embedding (0.20–0.49), rotation and flip augmentation with
  60 epochs (99.8 % accurate; 0.25–0.55), 100 epochs (0.565), 1 or 2 blocks, patch 4
  with 2 blocks (84–93 % accurate; 0.19–0.70), and the score taken as the logit minus the
  mean logit or as the log-probability (0.10–0.62).
* **before the first attention the tokens are local, but the score reads them through
  softmax attention.** Averaged over the tokens, the gradient that reaches them through
  one attention is the class direction of the values (the part through the keys sums to
  zero over all tokens, the class token included), so ``alpha · A_i`` is what token
  ``i`` *would* give the class token if attended, without the attention weight that
  decides what it *does* give — and the values of tokens the attention ignores are never
  constrained by training. In the 3-block ViTs above, the patch embedding and
  ``blocks[0].norm1`` score 0.31–0.67. A one-block ViT (96 % accurate) isolates the
  effect: Grad-CAM at ``blocks[0].norm1`` scores 0.24, while the class token's attention
  in that same block points at the blob's quadrant for 96 % of the images. A
  convolutional stem (Xiao et al., 2021: three stride-2 conv-BN-ReLU before the
  transformer) gives local ReLU maps ahead of the attention; Grad-CAM there reaches
  0.81–0.83 with average pooling (100 % accurate), 0.71–0.89 with a fourth (stride-1)
  conv in the stem, and 0.38–0.68 with a class token: local ReLU maps help, but the
  gradient still reaches them through the attention.

Methods that keep the attention weight or the per-token gradient do point for the same
ViT: attention rollout 0.963, the per-token gradient norm at ``blocks[1].norm1`` 0.94,
integrated gradients 0.932, SmoothGrad 0.910. A ViT's Grad-CAM map shows where the
decision is stored, not where its evidence lies; for a ViT use those methods. Neither
sign nor emptiness explains the misses (ReLU empties at most 6 % of the maps and the
signed maps score the same), nor does the position embedding (subtracting a blank image's
activation does not help); gradient x activation per token (HiResCAM) scores 0.1–0.8,
Grad-CAM over the attention probabilities (heads as channels) 0.44–0.83, and Chefer et
al.'s gradient-weighted attention (2021) 0.62–0.88. These are
small ViTs trained from scratch on 16 tokens; large pretrained ViTs, whose patch tokens
keep more of their own content through the residual stream, are not measured here.

References: T. Darcet, M. Oquab, J. Mairal, P. Bojanowski, "Vision Transformers Need
Registers", ICLR 2024; T. Xiao et al., "Early Convolutions Help Transformers See
Better", NeurIPS 2021.
"""

from deep.explain.attention import attention_maps, attention_rollout
from deep.explain.cam import cam, grad_cam, grad_cam_plus_plus
from deep.explain.display import colorize, overlay, write_overlays
from deep.explain.gradients import integrated_gradients, saliency, smooth_grad
from deep.explain.hooks import (
    LayerCapture,
    default_layer,
    eval_mode,
    resolve_layer,
    tokens_to_grid,
)
from deep.explain.quadrants import (
    QuadrantBlobs,
    QuadrantCNN,
    make_quadrant_blobs,
    pointing_game,
)
from deep.explain.targets import BoxTarget, ClassTarget, Explanation, MaskTarget

__all__ = [
    "BoxTarget", "ClassTarget", "Explanation", "LayerCapture", "MaskTarget", "QuadrantBlobs",
    "QuadrantCNN", "attention_maps", "attention_rollout", "cam", "colorize", "default_layer",
    "eval_mode", "grad_cam", "grad_cam_plus_plus", "integrated_gradients",
    "make_quadrant_blobs", "overlay", "pointing_game", "resolve_layer", "saliency",
    "smooth_grad", "tokens_to_grid", "write_overlays",
]

