"""deep.models.captioning and deep.layers.decoder: causality, decoding, Show-and-Tell."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deep.layers.decoder import DecoderBlock, MultiHeadAttention
from deep.models import create_model
from deep.models.captioning import (
    CaptionTransformer,
    ShowAndTell,
    beam_search,
    caption_loss,
    greedy_decode,
    length_penalty,
)


def _transformer(seed=0, **kw):
    torch.manual_seed(seed)
    args = dict(vocab_size=13, image_size=(8, 16), patch_size=4, dim=32, encoder_depth=1,
                decoder_depth=2, num_heads=4, mlp_ratio=2.0, max_len=8)
    args.update(kw)
    return CaptionTransformer(**args).eval()


def _show_and_tell(seed=0):
    torch.manual_seed(seed)
    cnn = create_model("resnet18", in_chans=1, num_classes=0, small_input=True,
                       width_multiplier=0.125)
    return ShowAndTell(encoder=cnn, vocab_size=13, embed_dim=16, hidden_size=24,
                       max_len=8).eval()


def _tokens(B=3, T=7, seed=1):
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(3, 13, (B, T), generator=g)
    t[:, 0] = 1
    return t


@pytest.mark.parametrize("fused", [True, False])
def test_causal_self_attention_ignores_the_future(fused):
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, num_heads=2, causal=True, fused=fused).eval()
    x = torch.randn(2, 6, 16)
    y = x.clone()
    y[:, 4:] = torch.randn(2, 2, 16) * 10  # perturb positions after t = 3
    out_x, out_y = attn(x), attn(y)
    torch.testing.assert_close(out_x[:, :4], out_y[:, :4], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(out_x[:, 4:], out_y[:, 4:])


@pytest.mark.parametrize("make", [_transformer, _show_and_tell])
def test_captioner_logits_up_to_t_ignore_later_tokens(make):
    model = make()
    images = torch.rand(3, 1, 8, 16, generator=torch.Generator().manual_seed(2))
    tokens = _tokens()
    for t in range(1, 6):
        other = tokens.clone()
        other[:, t + 1:] = (other[:, t + 1:] + 5) % 10 + 3  # change every token after t
        with torch.no_grad():
            a, b = model(images, tokens), model(images, other)
        torch.testing.assert_close(a[:, :t + 1], b[:, :t + 1], rtol=1e-5, atol=1e-6)
        assert not torch.allclose(a[:, t + 1:], b[:, t + 1:])


def test_fused_and_explicit_attention_agree_with_weights():
    torch.manual_seed(0)
    fused = MultiHeadAttention(16, num_heads=4, causal=True)
    x, mem = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    out = fused.forward_explicit(x)
    torch.testing.assert_close(fused(x), out.output, rtol=1e-5, atol=1e-6)
    assert out.weights.triu(1).abs().max() == 0  # no weight on the future
    torch.testing.assert_close(out.weights.sum(-1), torch.ones(2, 4, 5))
    cross = MultiHeadAttention(16, num_heads=4)
    torch.testing.assert_close(cross(x, mem), cross.forward_explicit(x, mem).output,
                               rtol=1e-5, atol=1e-6)
    assert cross.forward_explicit(x, mem).weights.shape == (2, 4, 5, 7)


def test_decoder_block_is_pre_norm():
    torch.manual_seed(0)
    block = DecoderBlock(16, num_heads=2).eval()
    x, mem = torch.randn(1, 4, 16), torch.randn(1, 3, 16)
    with torch.no_grad():
        h = x + block.self_attn(block.norm1(x))
        h = h + block.cross_attn(block.norm2(h), mem)
        h = h + block.mlp(block.norm3(h))
        torch.testing.assert_close(block(x, mem), h)


def test_teacher_forcing_loss_ignores_padding_and_trains():
    model = _transformer().train()
    images = torch.rand(4, 1, 8, 16, generator=torch.Generator().manual_seed(0))
    tokens = torch.tensor([[1, 5, 6, 7, 2, 0, 0], [1, 8, 2, 0, 0, 0, 0],
                           [1, 9, 9, 9, 9, 2, 0], [1, 4, 2, 0, 0, 0, 0]])
    logits = model(images, tokens[:, :-1])
    mask = tokens[:, 1:] != 0
    manual = nn.functional.cross_entropy(logits[mask], tokens[:, 1:][mask])
    torch.testing.assert_close(caption_loss(model, images, tokens), manual)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(80):
        opt.zero_grad()
        loss = caption_loss(model, images, tokens)
        loss.backward()
        opt.step()
        if step == 0:
            first = float(loss.detach())
        if step == 20:  # half-trained: beam search finds more probable captions than greedy
            model.eval()
            g = greedy_decode(model, images)
            b = beam_search(model, images, beam_size=3, length_penalty_alpha=0.0)
            assert (b.log_probs >= g.log_probs - 1e-5).all()
            model.train()
    assert float(loss.detach()) < 0.1 * first
    model.eval()
    got = greedy_decode(model, images).tokens
    assert got == [[5, 6, 7], [8], [9, 9, 9, 9], [4]]
    assert beam_search(model, images, beam_size=3).tokens == got


class _TableModel(nn.Module):
    """A fake captioner whose next-token log-probabilities depend only on the prefix."""

    pad_id, bos_id, eos_id, max_len = 0, 1, 2, 6

    def __init__(self, table):
        super().__init__()
        self.table = table  # prefix tuple (without <bos>) -> {token: prob}

    def encode(self, images):
        return images.new_zeros(images.shape[0], 1)

    def decode(self, memory, tokens):
        B, t = tokens.shape
        out = torch.full((B, t, 5), -30.0)
        for b in range(B):
            probs = self.table.get(tuple(tokens[b, 1:].tolist()), {2: 1.0})
            for tok, p in probs.items():
                out[b, -1, tok] = math.log(p)
        return out


def test_beam_search_beats_greedy_and_length_penalty_matters():
    # Greedy takes 3 (0.6) then must spread over 3 words; 4 (0.4) leads to a sure <eos>.
    table = {(): {3: 0.6, 4: 0.4}, (3,): {2: 0.3, 4: 0.36, 3: 0.34}, (4,): {2: 1.0},
             (3, 4): {2: 1.0}, (3, 3): {2: 1.0}}
    model = _TableModel(table)
    x = torch.zeros(1, 1)
    assert greedy_decode(model, x).tokens == [[3, 4]]  # P = 0.6 * 0.36 = 0.216
    best = beam_search(model, x, beam_size=3, length_penalty_alpha=0.0)
    assert best.tokens == [[4]] and best.finished.tolist() == [True]  # P = 0.4
    torch.testing.assert_close(best.log_probs, torch.tensor([math.log(0.4)]))
    # A strong length penalty favours the longer [3, 4, <eos>] (0.216)
    # over [4, <eos>] (0.4): log(0.21) / lp(3) > log(0.4) / lp(2) for alpha = 4.
    assert math.log(0.216) / length_penalty(3, 4.0) > math.log(0.4) / length_penalty(2, 4.0)
    long = beam_search(model, x, beam_size=3, length_penalty_alpha=4.0)
    assert long.tokens == [[3, 4]]
    assert beam_search(model, x, beam_size=1).tokens == greedy_decode(model, x).tokens


def test_unfinished_captions_are_reported():
    table = {(): {3: 1.0}, (3,): {3: 1.0}, (3, 3): {3: 1.0}, (3, 3, 3): {3: 1.0},
             (3, 3, 3, 3): {3: 1.0}}
    model = _TableModel(table)
    g = greedy_decode(model, torch.zeros(2, 1), max_len=3)
    assert g.tokens == [[3, 3, 3]] * 2 and g.finished.tolist() == [False, False]
    b = beam_search(model, torch.zeros(2, 1), beam_size=2, max_len=3)
    assert b.tokens == [[3, 3, 3]] * 2 and b.finished.tolist() == [False, False]


def test_show_and_tell_uses_our_lstm_and_the_image():
    model = _show_and_tell()
    from deep.layers.rnn import LSTM

    assert isinstance(model.lstm, LSTM)
    images = torch.rand(2, 1, 8, 16, generator=torch.Generator().manual_seed(0))
    tokens = _tokens(2)
    logits = model(images, tokens)
    assert logits.shape == (2, 7, 13)
    other = model(images.flip(0), tokens)
    assert not torch.allclose(logits, other)
    loss = caption_loss(model.train(), images, tokens)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_errors():
    model = _transformer()
    images = torch.zeros(2, 1, 8, 16)
    with pytest.raises(ValueError, match=r"CaptionTransformer: tokens must be int64 \(B=2"):
        model(images, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="CaptionTransformer: at most max_len=8 tokens"):
        model(images, torch.ones(2, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"token ids must be in \[0, 13\)"):
        model(images, torch.full((2, 3), 13))
    with pytest.raises(ValueError, match="MultiHeadAttention: a causal mask needs"):
        MultiHeadAttention(8, num_heads=2, causal=True)(torch.zeros(1, 3, 8),
                                                        torch.zeros(1, 4, 8))
    with pytest.raises(TypeError, match="ShowAndTell: encoder must have forward_features"):
        ShowAndTell(encoder=nn.Linear(2, 2), vocab_size=5)
    with pytest.raises(ValueError, match="beam_search: beam_size must be an int >= 1"):
        beam_search(model, images, beam_size=0)
