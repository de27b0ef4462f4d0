"""deep.layers: each layer against its formula on small hand-built inputs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deep.layers import (
    Attention,
    Block,
    DropPath,
    Mlp,
    MoE,
    PatchEmbed,
    RMSNorm,
    SwiGLU,
    moe_aux_loss,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ------------------------------------------------------------------ PatchEmbed
def test_patch_embed_is_a_linear_map_of_each_flattened_patch():
    pe = PatchEmbed(patch_size=4, in_chans=2, dim=5)
    x = torch.randn(3, 2, 8, 12)
    out = pe(x)
    assert out.shape == (3, 6, 5)  # (8/4) * (12/4) = 6 tokens
    W = pe.proj.weight.reshape(5, -1)  # (D, C*p*p), flattened as (C, p, p)
    for b in range(3):
        for i in range(2):
            for j in range(3):
                patch = x[b, :, 4 * i:4 * i + 4, 4 * j:4 * j + 4].reshape(-1)
                expected = W @ patch + pe.proj.bias
                torch.testing.assert_close(out[b, i * 3 + j], expected, atol=1e-5, rtol=1e-5)


def test_patch_embed_errors():
    pe = PatchEmbed(patch_size=4, in_chans=3, dim=8)
    with pytest.raises(ValueError, match=r"PatchEmbed: input height and width must be "
                                         r"multiples of patch_size=4, got 10x8"):
        pe(torch.zeros(1, 3, 10, 8))
    with pytest.raises(ValueError, match=r"PatchEmbed: input must have in_chans=3 channels"):
        pe(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"PatchEmbed: input must be \(B, C, H, W\)"):
        pe(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="PatchEmbed: patch_size must be a positive int"):
        PatchEmbed(patch_size=0)


# ------------------------------------------------------------------- Attention
def _attention_by_hand(attn: Attention, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-head loops over the formula softmax(Q Kᵀ / sqrt(d)) V, then the projection."""
    B, N, D = x.shape
    h, d = attn.num_heads, attn.head_dim
    Wqkv, bqkv = attn.qkv.weight, attn.qkv.bias
    outs, weights = [], []
    for b in range(B):
        heads, ws = [], []
        for k in range(h):
            Q = x[b] @ Wqkv[k * d:(k + 1) * d].T + bqkv[k * d:(k + 1) * d]
            K = x[b] @ Wqkv[D + k * d:D + (k + 1) * d].T + bqkv[D + k * d:D + (k + 1) * d]
            V = x[b] @ Wqkv[2 * D + k * d:2 * D + (k + 1) * d].T + bqkv[2 * D + k * d:
                                                                        2 * D + (k + 1) * d]
            A = torch.softmax(Q @ K.T / math.sqrt(d), dim=-1)
            heads.append(A @ V)
            ws.append(A)
        outs.append(torch.cat(heads, dim=-1) @ attn.proj.weight.T + attn.proj.bias)
        weights.append(torch.stack(ws))
    return torch.stack(outs), torch.stack(weights)


def test_attention_fused_and_explicit_paths_agree_to_1e5():
    attn = Attention(32, num_heads=4).eval()
    # Large, varied logits make the softmax peaked and far from uniform: the test would
    # catch a wrong scale, a transposed head split or a missing softmax.
    x = 3.0 * torch.randn(2, 11, 32)
    with torch.no_grad():
        attn.qkv.weight.mul_(5.0)
        fused = attn(x)
        explicit = attn.forward_explicit(x)
    assert explicit.weights.shape == (2, 4, 11, 11)
    assert explicit.weights.max() > 0.9  # peaked attention, not near-uniform
    assert (fused - explicit.output).abs().max() < 1e-5
    torch.testing.assert_close(explicit.weights.sum(-1), torch.ones(2, 4, 11))


def test_attention_matches_per_head_formula():
    attn = Attention(12, num_heads=3)
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        ref_out, ref_w = _attention_by_hand(attn, x)
        got = attn.forward_explicit(x)
        fused = attn(x)
    torch.testing.assert_close(got.weights, ref_w, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(got.output, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fused, ref_out, atol=1e-5, rtol=1e-5)


def test_attention_unfused_module_uses_explicit_path():
    a = Attention(16, num_heads=2, fused=False)
    x = torch.randn(1, 4, 16)
    torch.testing.assert_close(a(x), a.forward_explicit(x).output)


def test_attention_errors():
    with pytest.raises(ValueError, match="Attention: dim must be divisible by num_heads, got "
                                         "dim=10 and num_heads=3"):
        Attention(10, num_heads=3)
    with pytest.raises(ValueError, match="Attention: attn_drop must be a probability"):
        Attention(8, num_heads=2, attn_drop=1.0)
    with pytest.raises(ValueError, match=r"Attention: input must be \(B, N, D\) with D=8"):
        Attention(8, num_heads=2)(torch.zeros(1, 3, 6))


# ---------------------------------------------------------------- Mlp / SwiGLU
def test_mlp_formula():
    m = Mlp(4, hidden_features=6, out_features=3)
    x = torch.randn(5, 4)
    expected = F.gelu(x @ m.fc1.weight.T + m.fc1.bias) @ m.fc2.weight.T + m.fc2.bias
    torch.testing.assert_close(m(x), expected)


def test_swiglu_formula_on_hand_built_weights():
    m = SwiGLU(2, hidden_features=2, out_features=1, bias=False)
    with torch.no_grad():
        m.fc1_g.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        m.fc1_x.weight.copy_(torch.tensor([[3.0, 0.0], [1.0, 1.0]]))
        m.fc2.weight.copy_(torch.tensor([[1.0, -1.0]]))
    x = torch.tensor([[1.0, -0.5]])
    # gate = (1, -1); silu(z) = z·sigmoid(z); value = (3, 0.5); out = h0 - h1.
    silu = lambda z: z / (1 + math.exp(-z))  # noqa: E731
    expected = silu(1.0) * 3.0 - silu(-1.0) * 0.5
    assert abs(m(x).item() - expected) < 1e-6


def test_swiglu_formula_random():
    m = SwiGLU(6, hidden_features=10)
    x = torch.randn(3, 4, 6)
    h = F.silu(m.fc1_g(x)) * m.fc1_x(x)
    torch.testing.assert_close(m(x), m.fc2(h))
    assert m(x).shape == (3, 4, 6)


def test_mlp_errors():
    with pytest.raises(ValueError, match="Mlp: hidden_features must be a positive int"):
        Mlp(4, hidden_features=0)
    with pytest.raises(ValueError, match="SwiGLU: drop must be a probability"):
        SwiGLU(4, drop=-0.1)


# --------------------------------------------------------------------- RMSNorm
def test_rmsnorm_hand_computed():
    n = RMSNorm(2, eps=0.0 + 1e-12)
    x = torch.tensor([[3.0, 4.0]])  # rms = sqrt((9 + 16) / 2) = sqrt(12.5)
    expected = torch.tensor([[3.0, 4.0]]) / math.sqrt(12.5)
    torch.testing.assert_close(n(x), expected)
    with torch.no_grad():
        n.weight.copy_(torch.tensor([2.0, -1.0]))
    torch.testing.assert_close(n(x), expected * torch.tensor([2.0, -1.0]))


def test_rmsnorm_matches_torch_peer_and_formula():
    n = RMSNorm(16, eps=1e-5)
    with torch.no_grad():
        n.weight.uniform_(0.5, 1.5)
    x = 4 * torch.randn(3, 7, 16) + 1.0
    formula = x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * n.weight
    torch.testing.assert_close(n(x), formula)
    peer = nn.RMSNorm(16, eps=1e-5)
    with torch.no_grad():
        peer.weight.copy_(n.weight)
    torch.testing.assert_close(n(x), peer(x))
    # Unlike LayerNorm it does not remove the mean.
    assert n(x).mean().abs() > 0.05


def test_rmsnorm_errors():
    with pytest.raises(ValueError, match="RMSNorm: eps must be a positive number"):
        RMSNorm(4, eps=0)
    with pytest.raises(ValueError, match="RMSNorm: input must have last dimension 4"):
        RMSNorm(4)(torch.zeros(2, 3))


# ------------------------------------------------------------------------- MoE
def _moe_with_router(weight: torch.Tensor, *, top_k: int) -> MoE:
    E, D = weight.shape
    moe = MoE(D, hidden_features=4, num_experts=E, top_k=top_k)
    with torch.no_grad():
        moe.router.weight.copy_(weight)
    return moe


def test_moe_routing_hand_built():
    # Router logits are x itself (identity router) for 3 experts and 3-D tokens.
    moe = _moe_with_router(torch.eye(3), top_k=2)
    tokens = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    r = moe.route(tokens)
    assert r.indices.tolist() == [[0, 1], [2, 0]]
    # softmax over the two selected logits only.
    e = 1 / (1 + math.exp(-1.0))  # softmax([2, 1])[0] = sigmoid(1)
    torch.testing.assert_close(r.weights[0], torch.tensor([e, 1 - e]))
    e2 = 1 / (1 + math.exp(-3.0))  # logits 3 vs 0 (tie 0, 0: topk picks index 0)
    torch.testing.assert_close(r.weights[1], torch.tensor([e2, 1 - e2]))
    torch.testing.assert_close(r.weights.sum(-1), torch.ones(2))
    # aux = E · Σ f_i P_i with f = counts / (T k) = (2, 1, 1) / 4
    P = torch.softmax(tokens, dim=-1).mean(0)
    expected = 3 * (torch.tensor([0.5, 0.25, 0.25]) * P).sum()
    torch.testing.assert_close(r.aux_loss, expected)


def test_moe_output_is_weighted_sum_of_selected_experts():
    moe = MoE(6, hidden_features=8, num_experts=4, top_k=2)
    x = torch.randn(2, 5, 6)
    out = moe(x)
    assert out.shape == (2, 5, 6)
    tokens = x.reshape(-1, 6)
    r = moe.route(tokens)
    expected = torch.stack([
        sum(r.weights[t, s] * moe.experts[int(r.indices[t, s])](tokens[t]) for s in range(2))
        for t in range(tokens.shape[0])
    ])
    torch.testing.assert_close(out.reshape(-1, 6), expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(r.weights.sum(-1), torch.ones(10))
    assert moe.aux_loss is not None and moe_aux_loss(moe) == moe.aux_loss


@pytest.mark.parametrize("top_k", [1, 2])
def test_moe_aux_loss_is_one_for_uniform_routing(top_k):
    # A zero router gives equal probabilities (P_i = 1/E); tokens spread so that every
    # expert gets the same share of assignments (f_i = 1/E): the loss is exactly 1.
    E = 4
    moe = _moe_with_router(torch.zeros(E, 4), top_k=top_k)
    r = moe.route(torch.randn(8, 4))
    torch.testing.assert_close(r.probs, torch.full((8, E), 1 / E))
    counts = torch.bincount(r.indices.reshape(-1), minlength=E)
    # topk on ties picks the first experts; the loss is E Σ f_i / E = Σ f_i = 1 anyway.
    assert counts.sum() == 8 * top_k
    assert abs(r.aux_loss.item() - 1.0) < 1e-6
    # Perfectly balanced assignments with uniform probabilities (the formula's minimum
    # configuration) also give 1, and collapsed routing gives more.
    eye_router = _moe_with_router(torch.eye(E), top_k=1)
    balanced = eye_router.route(10.0 * torch.eye(E).repeat(3, 1))  # each expert 3 times
    assert torch.bincount(balanced.indices.reshape(-1), minlength=E).tolist() == [3] * E
    assert abs(balanced.aux_loss.item() - 1.0) < 1e-6


def test_moe_aux_loss_grows_when_routing_collapses():
    E = 4
    router = torch.zeros(E, 4)
    router[0, :] = 5.0  # every positive token prefers expert 0
    moe = _moe_with_router(router, top_k=1)
    r = moe.route(torch.rand(16, 4) + 0.5)
    assert (r.indices == 0).all()
    P0 = r.probs[:, 0].mean()
    torch.testing.assert_close(r.aux_loss, E * P0)  # f = (1, 0, 0, 0)
    assert r.aux_loss > 3.5  # approaches E = 4


def test_moe_errors():
    with pytest.raises(ValueError, match=r"MoE: top_k must be an int in \[1, num_experts=4\], "
                                         r"got 5"):
        MoE(8, num_experts=4, top_k=5)
    with pytest.raises(ValueError, match="MoE: num_experts must be an int >= 2"):
        MoE(8, num_experts=1, top_k=1)
    with pytest.raises(ValueError, match="MoE: input must have last dimension 8"):
        MoE(8)(torch.zeros(2, 3))


# ---------------------------------------------------------------- Block / DropPath
def test_block_is_prenorm_residual():
    blk = Block(8, num_heads=2, mlp_ratio=2.0).eval()
    x = torch.randn(2, 5, 8)
    y = x + blk.attn(blk.norm1(x))
    expected = y + blk.mlp(blk.norm2(y))
    torch.testing.assert_close(blk(x), expected)
    out = blk.forward_explicit(x)
    torch.testing.assert_close(out.output, expected, atol=1e-5, rtol=1e-5)
    assert out.weights.shape == (2, 2, 5, 5)


def test_block_accepts_injected_layers():
    blk = Block(8, num_heads=2, norm_layer=RMSNorm, mlp_layer=SwiGLU)
    assert isinstance(blk.norm1, RMSNorm) and isinstance(blk.mlp, SwiGLU)
    assert blk.mlp.fc1_g.out_features == 32


def test_drop_path_statistics_and_eval_identity():
    dp = DropPath(0.25)
    x = torch.ones(4000, 3)
    y = dp(x)
    kept = (y[:, 0] != 0).float()
    assert abs(kept.mean().item() - 0.75) < 0.03
    assert torch.all((y == 0) | (y == 1 / 0.75))
    assert torch.equal((y != 0).all(1), (y != 0).any(1))  # whole samples dropped
    dp.eval()
    assert torch.equal(dp(x), x)
    with pytest.raises(ValueError, match="DropPath: p must be a probability"):
        DropPath(1.0)
