"""Image captioning: a ViT encoder with a transformer decoder, and Show-and-Tell.

Both models share one interface, which the decoders below use:

* ``encode(images (B, C, H, W)) -> memory`` (tensor whose first dimension is B);
* ``decode(memory, tokens (B, t)) -> logits (B, t, V)``: position ``i`` predicts token
  ``i + 1`` from tokens ``0..i`` (teacher forcing when ``tokens`` is the reference);
* ``forward(images, tokens) = decode(encode(images), tokens)``;
* ``bos_id``, ``eos_id``, ``pad_id``, ``max_len``.

Train with :func:`caption_loss` on ``tokens = <bos> w1 .. wn <eos> <pad> ..``
(:meth:`deep.text.Vocabulary.encode_batch`); caption with :func:`greedy_decode` or
:func:`beam_search`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import check_int, check_real, describe
from deep.layers.decoder import DecoderBlock
from deep.layers.rnn import LSTM
from deep.models.vit import ViT

__all__ = [
    "CaptionTransformer", "Captions", "ShowAndTell", "beam_search", "caption_loss",
    "greedy_decode", "length_penalty",
]


class _Tokens(nn.Module):
    """Shared checks and ids."""

    def _init_ids(self, vocab_size, max_len, pad_id, bos_id, eos_id, name):
        self.vocab_size = check_int(vocab_size, name, "vocab_size", low=3)
        self.max_len = check_int(max_len, name, "max_len", low=2)
        for key, v in (("pad_id", pad_id), ("bos_id", bos_id), ("eos_id", eos_id)):
            check_int(v, name, key, low=0, high=vocab_size - 1)
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self._name = name

    def _check_tokens(self, tokens: torch.Tensor, batch: int) -> None:
        if (not isinstance(tokens, torch.Tensor) or tokens.ndim != 2
                or tokens.dtype != torch.long or tokens.shape[0] != batch):
            raise ValueError(f"{self._name}: tokens must be int64 (B={batch}, t), got "
                             f"{describe(tokens)}")
        if tokens.shape[1] > self.max_len:
            raise ValueError(f"{self._name}: at most max_len={self.max_len} tokens, got "
                             f"{tokens.shape[1]}")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise ValueError(f"{self._name}: token ids must be in [0, {self.vocab_size}), got "
                             f"[{int(tokens.min())}, {int(tokens.max())}]")

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits ``(B, t, V)`` for the next token at every position."""
        return self.decode(self.encode(images), tokens)


class CaptionTransformer(_Tokens):
    """A ViT encoder and a pre-norm transformer decoder (causal self-attention, then
    cross-attention to the encoder's patch tokens, then an MLP, per block).

    Parameters
    ----------
    vocab_size : int
    image_size : int or (int, int)
    patch_size, in_chans : int
    dim : int
        Token width of encoder and decoder.
    encoder_depth, decoder_depth, num_heads : int
    mlp_ratio : float
    max_len : int
        Longest token sequence (with ``<bos>`` and ``<eos>``); learned positions.
    drop_rate : float
    pad_id, bos_id, eos_id : int
        :class:`deep.text.Vocabulary`'s by default.

    Notes
    -----
    The encoder is a :class:`~deep.models.ViT` without a head and without a class token
    (``pool="gap"``): its normalised patch tokens ``(B, N, dim)`` are the memory. The
    decoder's output is normalised and projected to the vocabulary.

    References
    ----------
    A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017; A. Dosovitskiy et al.,
    ICLR 2021.
    """

    def __init__(self, *, vocab_size: int, image_size: int | tuple[int, int], patch_size: int,
                 in_chans: int = 1, dim: int = 128, encoder_depth: int = 2,
                 decoder_depth: int = 2, num_heads: int = 4, mlp_ratio: float = 2.0,
                 max_len: int = 16, drop_rate: float = 0.0, pad_id: int = 0, bos_id: int = 1,
                 eos_id: int = 2, norm_layer: Callable[[int], nn.Module] | None = None):
        super().__init__()
        self._init_ids(vocab_size, max_len, pad_id, bos_id, eos_id, "CaptionTransformer")
        norm_layer = norm_layer if norm_layer is not None else partial(nn.LayerNorm, eps=1e-6)
        self.encoder = ViT(image_size=image_size, patch_size=patch_size, in_chans=in_chans,
                           num_classes=0, dim=dim, depth=encoder_depth, num_heads=num_heads,
                           mlp_ratio=mlp_ratio, pool="gap", drop_rate=drop_rate,
                           norm_layer=norm_layer)
        self.tok_embed = nn.Embedding(vocab_size, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, max_len, dim))
        self.drop = nn.Dropout(drop_rate)
        self.blocks = nn.ModuleList(
            DecoderBlock(dim, num_heads=num_heads, mlp_ratio=mlp_ratio, drop=drop_rate,
                         norm_layer=norm_layer) for _ in range(decoder_depth))
        self.norm = norm_layer(dim)
        self.head = nn.Linear(dim, vocab_size)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.tok_embed.weight, std=0.02)
        for m in [*self.blocks.modules(), self.head]:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → patch tokens ``(B, N, dim)``."""
        return self.encoder.forward_features(images)

    def decode(self, memory: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """``memory (B, N, dim)``, ``tokens (B, t)`` → next-token logits ``(B, t, V)``."""
        self._check_tokens(tokens, memory.shape[0])
        t = tokens.shape[1]
        x = self.drop(self.tok_embed(tokens) + self.pos_embed[:, :t])  # (B, t, dim)
        for block in self.blocks:
            x = block(x, memory)
        return self.head(self.norm(x))  # (B, t, V)


class ShowAndTell(_Tokens):
    """Show and Tell (Vinyals et al., 2015): a CNN's image embedding is the LSTM's first
    input, then the caption's words.

    Parameters
    ----------
    encoder : nn.Module
        A CNN with ``forward_features`` and ``forward_head(x, pre_logits=True)`` (every
        :class:`~deep.models.ConvNet`) giving ``(B, F)``; ``F`` is read from a forward
        pass on ``sample_input`` or from ``encoder.num_features``.
    vocab_size : int
    embed_dim : int
        Width of the word embeddings and of the projected image embedding.
    hidden_size, num_layers : int
        Of the :class:`deep.layers.LSTM` (our cells).
    max_len : int
    drop_rate : float
    pad_id, bos_id, eos_id : int

    Notes
    -----
    The LSTM reads ``[W_I · CNN(I), E(<bos>), E(w1), ...]``; the output after ``E(w_i)``
    predicts ``w_{i+1}``. The decoder re-reads the whole prefix at every generation step
    (captions are short).

    References
    ----------
    O. Vinyals, A. Toshev, S. Bengio, D. Erhan, "Show and Tell: A Neural Image Caption
    Generator", CVPR 2015, arXiv:1411.4555.
    """

    def __init__(self, *, encoder: nn.Module, vocab_size: int, embed_dim: int = 64,
                 hidden_size: int = 128, num_layers: int = 1, max_len: int = 16,
                 drop_rate: float = 0.0, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2):
        super().__init__()
        self._init_ids(vocab_size, max_len, pad_id, bos_id, eos_id, "ShowAndTell")
        if not hasattr(encoder, "forward_features") or not hasattr(encoder, "forward_head"):
            raise TypeError(f"ShowAndTell: encoder must have forward_features and forward_head "
                            f"(a deep.models.ConvNet), got {type(encoder).__name__}")
        features = getattr(encoder, "num_features", None)
        if not isinstance(features, int):
            raise ValueError("ShowAndTell: encoder must expose num_features (the width of "
                             "forward_head(..., pre_logits=True))")
        self.encoder = encoder
        self.img_proj = nn.Linear(features, embed_dim)
        self.word_embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = LSTM(embed_dim, hidden_size, num_layers=num_layers, dropout=drop_rate)
        self.drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(hidden_size, vocab_size)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images → the image embedding ``(B, embed_dim)``."""
        f = self.encoder.forward_head(self.encoder.forward_features(images), pre_logits=True)
        return self.img_proj(f)

    def decode(self, memory: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """``memory (B, embed_dim)``, ``tokens (B, t)`` → next-token logits ``(B, t, V)``."""
        self._check_tokens(tokens, memory.shape[0])
        seq = torch.cat([memory[:, None], self.word_embed(tokens)], dim=1)  # (B, 1 + t, E)
        out, _ = self.lstm(self.drop(seq))  # (B, 1 + t, n)
        return self.head(self.drop(out[:, 1:]))  # (B, t, V)


def caption_loss(model: nn.Module, images: torch.Tensor, tokens: torch.Tensor, *,
                 label_smoothing: float = 0.0) -> torch.Tensor:
    """Teacher-forced cross-entropy: predict ``tokens[:, 1:]`` from ``tokens[:, :-1]``,
    ignoring ``<pad>`` targets (mean over real tokens)."""
    logits = model(images, tokens[:, :-1])  # (B, t - 1, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1),
                           ignore_index=model.pad_id, label_smoothing=label_smoothing)


@dataclass(frozen=True)
class Captions:
    """Generated captions.

    Attributes
    ----------
    tokens : list of list of int
        Word ids of each caption, without ``<bos>`` and ``<eos>``.
    log_probs : Tensor of shape (B,)
        Sum of the log-probabilities of the chosen tokens (``<eos>`` included when it
        was generated).
    finished : Tensor of shape (B,), bool
        Whether ``<eos>`` was generated within ``max_len``.
    """

    tokens: list[list[int]]
    log_probs: torch.Tensor
    finished: torch.Tensor


def _steps(model, max_len) -> int:
    limit = model.max_len - 1  # <bos> takes one position
    return limit if max_len is None else min(check_int(max_len, "decode", "max_len", low=1),
                                             limit)


def _banned(logp: torch.Tensor, model) -> torch.Tensor:
    logp = logp.clone()
    logp[..., model.pad_id] = float("-inf")
    logp[..., model.bos_id] = float("-inf")
    return logp


@torch.no_grad()
def greedy_decode(model: nn.Module, images: torch.Tensor, *, max_len: int | None = None
                  ) -> Captions:
    """The most probable next token at every step, until ``<eos>`` or ``max_len`` tokens.

    The whole batch is decoded together; ``<pad>`` and ``<bos>`` are never generated.
    """
    was_training = model.training
    model.eval()
    try:
        memory = model.encode(images)
        B = memory.shape[0]
        tokens = torch.full((B, 1), model.bos_id, dtype=torch.long, device=memory.device)
        logp_sum = torch.zeros(B, device=memory.device)
        done = torch.zeros(B, dtype=torch.bool, device=memory.device)
        for _ in range(_steps(model, max_len)):
            logp = _banned(model.decode(memory, tokens)[:, -1].log_softmax(-1), model)
            nxt = logp.argmax(-1)  # (B,)
            logp_sum += torch.where(done, 0.0, logp.gather(1, nxt[:, None])[:, 0])
            nxt = torch.where(done, torch.full_like(nxt, model.pad_id), nxt)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
            done |= nxt == model.eos_id
            if bool(done.all()):
                break
    finally:
        model.train(was_training)
    out = []
    for row in tokens[:, 1:].tolist():
        out.append([t for t in row[:row.index(model.eos_id)] if t != model.pad_id]
                   if model.eos_id in row else [t for t in row if t != model.pad_id])
    return Captions(tokens=out, log_probs=logp_sum.cpu(), finished=done.cpu())


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's ``((5 + length) / 6) ** alpha`` (Wu et al., 2016)."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def beam_search(model: nn.Module, images: torch.Tensor, *, beam_size: int = 4,
                max_len: int | None = None, length_penalty_alpha: float = 0.6) -> Captions:
    """Beam search with GNMT's length penalty.

    Each image keeps the ``beam_size`` best partial captions by summed log-probability;
    a caption that emits ``<eos>`` is set aside with the score
    ``log P / ((5 + |Y|) / 6) ** alpha`` (``|Y|`` counts ``<eos>``). An image stops
    when ``beam_size`` captions are set aside and no live beam can still beat the
    ``beam_size``-th best of them (its ``log P`` only falls and its penalty is at most
    that of ``max_len`` tokens), or after ``max_len`` steps (then its live beams are
    scored the same way); the best score wins.

    Parameters
    ----------
    beam_size : int
        1 gives greedy decoding.
    max_len : int, optional
        Most generated tokens (default the model's ``max_len - 1``).
    length_penalty_alpha : float
        0: no penalty (favours short captions); larger values favour longer ones.

    References
    ----------
    Y. Wu et al., "Google's Neural Machine Translation System", arXiv:1609.08144, 2016
    (section 7).
    """
    K = check_int(beam_size, "beam_search", "beam_size", low=1)
    alpha = check_real(length_penalty_alpha, "beam_search", "length_penalty_alpha", low=0.0)
    was_training = model.training
    model.eval()
    try:
        memory = model.encode(images)
        B = memory.shape[0]
        dev = memory.device
        mem = memory.repeat_interleave(K, dim=0)  # (B K, ...)
        tokens = torch.full((B * K, 1), model.bos_id, dtype=torch.long, device=dev)
        scores = torch.full((B, K), float("-inf"), device=dev)
        scores[:, 0] = 0.0  # one live beam at the start
        finished: list[list[tuple[float, float, list[int], bool]]] = [[] for _ in range(B)]
        alive = [True] * B
        steps = _steps(model, max_len)
        for _ in range(steps):
            logp = _banned(model.decode(mem, tokens)[:, -1].log_softmax(-1), model)
            V = logp.shape[-1]
            cand = (scores[..., None] + logp.view(B, K, V)).view(B, K * V)
            top_s, top_i = cand.topk(min(2 * K, K * V), dim=1)  # enough to keep K non-eos
            new_tokens = tokens.view(B, K, -1).clone()
            next_tok = torch.full((B, K), model.pad_id, dtype=torch.long, device=dev)
            new_scores = torch.full((B, K), float("-inf"), device=dev)
            src = torch.zeros((B, K), dtype=torch.long, device=dev)
            for b in range(B):
                if not alive[b]:
                    continue
                k = 0
                for s, i in zip(top_s[b].tolist(), top_i[b].tolist()):
                    if s == float("-inf"):
                        break
                    beam, tok = divmod(i, V)
                    if tok == model.eos_id:
                        seq = tokens[b * K + beam, 1:].tolist()
                        finished[b].append((s / length_penalty(len(seq) + 1, alpha), s, seq,
                                            True))
                    else:
                        src[b, k], next_tok[b, k], new_scores[b, k] = beam, tok, s
                        k += 1
                        if k == K:  # later candidates score below every live beam
                            break
                # Done when K captions are set aside and no live beam can beat the K-th
                # best of them: its log P only falls, and its penalty is at most lp(steps).
                if len(finished[b]) >= K:
                    kth = sorted((e[0] for e in finished[b]), reverse=True)[K - 1]
                    best_live = float(new_scores[b].max())
                    if best_live == float("-inf") or (
                            best_live / length_penalty(steps, alpha) <= kth):
                        alive[b] = False
            if not any(alive):
                break
            gathered = new_tokens.gather(1, src[..., None].expand(-1, -1, new_tokens.shape[2]))
            tokens = torch.cat([gathered, next_tok[..., None]], dim=2).view(B * K, -1)
            scores = new_scores
        for b in range(B):
            if alive[b] or not finished[b]:
                for k in range(K):
                    s = float(scores[b, k])
                    if s == float("-inf"):
                        continue
                    seq = tokens[b * K + k, 1:].tolist()
                    finished[b].append((s / length_penalty(len(seq), alpha), s, seq, False))
    finally:
        model.train(was_training)
    best = [max(f, key=lambda e: e[0]) for f in finished]
    return Captions(tokens=[e[2] for e in best],
                    log_probs=torch.tensor([e[1] for e in best]),
                    finished=torch.tensor([e[3] for e in best]))
