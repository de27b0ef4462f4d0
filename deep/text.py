"""Words for captioning: a vocabulary, corpus BLEU, and two generated caption tasks.

* :class:`Vocabulary` — words ↔ ids with ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``;
* :func:`corpus_bleu` — BLEU-4 (Papineni et al., 2002) over a corpus, as sacrebleu's;
* :func:`make_digit_strings` — sklearn's 8x8 digits side by side, captioned ``"3 7 1"``;
* :func:`make_shape_scenes` — two shapes, captioned ``"a circle left of a square"``.

Both tasks are generated here, offline, from data that ships with scikit-learn.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cvgeo._checks import check_choice, check_int, check_real, check_seed, describe

__all__ = [
    "BleuScore", "CaptionData", "Vocabulary", "corpus_bleu", "make_digit_strings",
    "make_shape_scenes",
]


# ------------------------------------------------------------------ vocabulary
class Vocabulary:
    """Words ↔ ids. Ids 0–3 are ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``; the words
    follow in the order given.

    Parameters
    ----------
    words : iterable of str
        Each word once (duplicates are dropped, keeping the first).
    """

    PAD, BOS, EOS, UNK = 0, 1, 2, 3
    SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")

    def __init__(self, words: Iterable[str]):
        self.itos: list[str] = list(self.SPECIALS)
        for w in words:
            if not isinstance(w, str) or not w or any(c.isspace() for c in w):
                raise ValueError(f"Vocabulary: words must be non-empty strings without spaces, "
                                 f"got {w!r}")
            if w not in self.itos:
                self.itos.append(w)
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocabulary:
        """The words of ``texts`` (split on whitespace), most frequent first, ties
        alphabetical."""
        counts = Counter(w for t in texts for w in t.split())
        return cls(sorted(counts, key=lambda w: (-counts[w], w)))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        """Word ids of ``text`` split on whitespace (unknown words → ``<unk>``)."""
        if not isinstance(text, str):
            raise TypeError(f"Vocabulary.encode: text must be a str, got {describe(text)}")
        return [self.stoi.get(w, self.UNK) for w in text.split()]

    def decode(self, ids: Iterable[int]) -> str:
        """Words of ``ids`` up to the first ``<eos>``, without ``<pad>``/``<bos>``."""
        words = []
        for i in ids:
            i = int(i)
            if i == self.EOS:
                break
            if i in (self.PAD, self.BOS):
                continue
            words.append(self.itos[i] if 0 <= i < len(self.itos) else self.SPECIALS[self.UNK])
        return " ".join(words)

    def encode_batch(self, texts: Sequence[str], *, max_len: int | None = None
                     ) -> torch.Tensor:
        """``(B, L)`` int64: ``<bos> w1 ... wn <eos>`` then ``<pad>``; ``L`` = the longest
        + 2, or ``max_len`` (longer texts are an error)."""
        seqs = [[self.BOS, *self.encode(t), self.EOS] for t in texts]
        L = max(len(s) for s in seqs) if max_len is None else check_int(
            max_len, "Vocabulary.encode_batch", "max_len", low=2)
        if max(len(s) for s in seqs) > L:
            raise ValueError(f"Vocabulary.encode_batch: a text needs {max(len(s) for s in seqs)}"
                             f" ids with <bos> and <eos>, more than max_len={L}")
        out = torch.full((len(seqs), L), self.PAD, dtype=torch.long)
        for i, s in enumerate(seqs):
            out[i, :len(s)] = torch.tensor(s)
        return out

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} ids: {' '.join(self.itos[4:12])}...)"


# ------------------------------------------------------------------------ BLEU
@dataclass(frozen=True)
class BleuScore:
    """Corpus BLEU and its parts.

    Attributes
    ----------
    score : float
        BLEU in [0, 100] (sacrebleu's scale).
    precisions : tuple of float
        Modified n-gram precisions ``p_n`` in [0, 100], n = 1..max_n (after smoothing).
    brevity_penalty : float
        ``min(1, exp(1 - r / c))``.
    hyp_len, ref_len : int
        ``c``: words in the hypotheses; ``r``: the effective reference length (per
        sentence, the reference length closest to the hypothesis', the shorter on ties).
    """

    score: float
    precisions: tuple[float, ...]
    brevity_penalty: float
    hyp_len: int
    ref_len: int


def _ngrams(words: Sequence[str], n: int) -> Counter:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]], *,
                max_n: int = 4, smooth: str = "exp") -> BleuScore:
    """Corpus-level BLEU (Papineni et al., 2002) on whitespace-tokenised text.

    ``BLEU = BP · exp(mean_n log p_n)``, where ``p_n`` is the corpus's clipped n-gram
    precision: each hypothesis n-gram counts at most as often as it appears in any one
    of its references, summed over all sentences before dividing.

    Parameters
    ----------
    hypotheses : sequence of str
        One system output per sentence.
    references : sequence of sequences of str
        For each sentence, one or more references.
    max_n : int
        Highest n-gram order (4 for BLEU-4).
    smooth : {"exp", "none", "floor"}
        What happens when an order has no match: ``"exp"`` (sacrebleu's default, Chen &
        Cherry's method 3): the k-th order with zero matches gets precision
        ``1 / (2^k · total_n)``; ``"floor"``: ``0.1 / total_n``; ``"none"``: BLEU is 0.

    Returns
    -------
    BleuScore

    Notes
    -----
    Equal to ``sacrebleu.corpus_bleu(hypotheses, transposed_references, tokenize="none",
    smooth_method=smooth)`` (tested); text must be tokenised already (words separated by
    spaces).

    References
    ----------
    K. Papineni, S. Roukos, T. Ward, W.-J. Zhu, "BLEU: a Method for Automatic Evaluation of
    Machine Translation", ACL 2002. B. Chen, C. Cherry, "A Systematic Comparison of
    Smoothing Techniques for Sentence-Level BLEU", WMT 2014.
    """
    max_n = check_int(max_n, "corpus_bleu", "max_n", low=1)
    smooth = check_choice(smooth, "corpus_bleu", "smooth", ("exp", "none", "floor"))
    if isinstance(hypotheses, str) or len(hypotheses) != len(references) or not hypotheses:
        raise ValueError(f"corpus_bleu: hypotheses and references must be non-empty sequences "
                         f"of equal length, got {describe(hypotheses)} and "
                         f"{describe(references)}")
    matches = [0] * max_n
    totals = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references):
        if isinstance(refs, str) or not refs:
            raise ValueError(f"corpus_bleu: each entry of references must be a non-empty "
                             f"sequence of strings, got {describe(refs)}")
        h = hyp.split()
        rs = [r.split() for r in refs]
        hyp_len += len(h)
        ref_len += min((abs(len(r) - len(h)), len(r)) for r in rs)[1]
        for n in range(1, max_n + 1):
            hn = _ngrams(h, n)
            best: Counter = Counter()
            for r in rs:
                best |= _ngrams(r, n)  # max count over references
            matches[n - 1] += sum(min(c, best[g]) for g, c in hn.items())
            totals[n - 1] += max(len(h) - n + 1, 0)
    precisions = []
    k = 1
    for m, t in zip(matches, totals):
        if t == 0:
            p = 0.0
        elif m > 0:
            p = 100.0 * m / t
        elif smooth == "exp":
            k *= 2
            p = 100.0 / (k * t)
        elif smooth == "floor":
            p = 100.0 * 0.1 / t
        else:
            p = 0.0
        precisions.append(p)
    bp = 1.0 if hyp_len > ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len else 0.0)
    if min(precisions) <= 0.0:
        score = 0.0
    else:
        score = bp * math.exp(sum(math.log(p / 100.0) for p in precisions) / max_n) * 100.0
    return BleuScore(score=score, precisions=tuple(precisions), brevity_penalty=bp,
                     hyp_len=hyp_len, ref_len=ref_len)


# ------------------------------------------------------------------- data sets
@dataclass(frozen=True)
class CaptionData:
    """Images with captions.

    Attributes
    ----------
    images : ndarray of shape (N, H, W), float32 in [0, 1]
    captions : list of str
        The caption each image is trained on.
    references : list of list of str
        Every correct caption of each image (for BLEU).
    """

    images: np.ndarray
    captions: list[str]
    references: list[list[str]]


def make_digit_strings(n_samples: int = 1000, *, length: int = 3, split: str = "train",
                       max_gap: int = 2, seed=0) -> CaptionData:
    """Strings of sklearn digits placed side by side, captioned with their digits.

    Parameters
    ----------
    n_samples : int
    length : int
        Digits per image.
    split : {"train", "test"}
        Which of sklearn's digit images are used: a fixed stratified 80 / 20 split of
        the 1797 (seed 0, as :func:`deep.data.load_digits`), so test strings are made of
        digit images never seen in training.
    max_gap : int
        Each gap between digits is 0..max_gap pixels (random); the string starts at the
        left edge and the canvas is ``8 x (8 length + max_gap (length - 1))``.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    CaptionData
        Captions such as ``"3 7 1"`` (the digits separated by spaces).
    """
    from deep.data import load_digits

    n = check_int(n_samples, "make_digit_strings", "n_samples", low=1)
    length = check_int(length, "make_digit_strings", "length", low=1)
    split = check_choice(split, "make_digit_strings", "split", ("train", "test"))
    max_gap = check_int(max_gap, "make_digit_strings", "max_gap", low=0)
    rng = check_seed(seed, "make_digit_strings")
    ds = getattr(load_digits(test_size=0.2, seed=0), split)
    pool, labels = ds.tensors()  # (M, 1, 8, 8), (M,)
    pool, labels = pool[:, 0].numpy(), labels.numpy()
    width = 8 * length + max_gap * (length - 1)
    images = np.zeros((n, 8, width), np.float32)
    captions = []
    for i in range(n):
        idx = rng.integers(0, len(pool), length)
        x = 0
        for j, k in enumerate(idx):
            images[i, :, x:x + 8] = pool[k]
            x += 8 + (int(rng.integers(0, max_gap + 1)) if j < length - 1 else 0)
        captions.append(" ".join(str(int(labels[k])) for k in idx))
    return CaptionData(images=images, captions=captions, references=[[c] for c in captions])


_SHAPES = ("circle", "square", "triangle")
_OPPOSITE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def _shape_mask(kind: str, cx: float, cy: float, r: float, yy, xx) -> np.ndarray:
    if kind == "circle":
        return np.hypot(xx - cx, yy - cy) <= r
    if kind == "square":
        half = 0.8 * r
        return (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
    # upright triangle: apex at the top, base at the bottom
    top, bottom = cy - r, cy + 0.8 * r
    t = np.clip((yy - top) / (bottom - top), 0, 1)
    return (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= t * 1.1 * r)


def make_shape_scenes(n_samples: int = 1000, *, image_size: int = 32, noise: float = 0.05,
                      seed=0) -> CaptionData:
    """Two different shapes (circle, square, triangle) in a spatial relation, in words.

    The two shapes are side by side or one above the other, clearly (centres 40–60 % of
    the side apart along that axis, at most 15 % across it). The caption names the left
    (or upper) shape first, so each scene has one training caption, ``"a <left> left of a
    <right>"`` or ``"a <upper> above a <lower>"``; the references hold it and its mirror
    (``"a square right of a circle"`` for ``"a circle left of a square"``).

    Returns
    -------
    CaptionData
        Images ``(image_size, image_size)``, float32 in [0, 1].
    """
    n = check_int(n_samples, "make_shape_scenes", "n_samples", low=1)
    s = check_int(image_size, "make_shape_scenes", "image_size", low=16)
    noise = check_real(noise, "make_shape_scenes", "noise", low=0.0)
    rng = check_seed(seed, "make_shape_scenes")
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float64)
    images = np.empty((n, s, s), np.float32)
    captions, references = [], []
    for i in range(n):
        a, b = rng.choice(len(_SHAPES), 2, replace=False)
        rel = ("left of", "above")[int(rng.integers(0, 2))]  # shape a is left / upper
        r = 0.13 * s
        along = rng.uniform(0.4, 0.6) * s  # centre distance along the relation's axis
        across = rng.uniform(-0.15, 0.15) * s
        mid_along = rng.uniform(r + 1 + along / 2, s - 2 - r - along / 2)
        mid_across = rng.uniform(r + 1 + abs(across) / 2, s - 2 - r - abs(across) / 2)
        sign = -1.0 if rel in ("left of", "above") else 1.0  # first shape before the second
        pa = mid_along + sign * along / 2
        pb = mid_along - sign * along / 2
        qa, qb = mid_across - across / 2, mid_across + across / 2
        if rel in ("left of", "right of"):
            (ax, ay), (bx, by) = (pa, qa), (pb, qb)
        else:
            (ax, ay), (bx, by) = (qa, pa), (qb, pb)
        img = np.zeros((s, s))
        img[_shape_mask(_SHAPES[a], ax, ay, r, yy, xx)] = rng.uniform(0.6, 1.0)
        img[_shape_mask(_SHAPES[b], bx, by, r, yy, xx)] = rng.uniform(0.6, 1.0)
        images[i] = np.clip(img + rng.normal(0, noise, (s, s)), 0, 1)
        cap = f"a {_SHAPES[a]} {rel} a {_SHAPES[b]}"
        captions.append(cap)
        references.append([cap, f"a {_SHAPES[b]} {_OPPOSITE[rel]} a {_SHAPES[a]}"])
    return CaptionData(images=images, captions=captions, references=references)
