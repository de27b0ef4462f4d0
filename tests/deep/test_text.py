"""deep.text: vocabulary, corpus BLEU (against sacrebleu), generated caption data."""

from __future__ import annotations

import numpy as np
import pytest

from deep.text import Vocabulary, corpus_bleu, make_digit_strings, make_shape_scenes


def _corpus(seed=0, n=40):
    rng = np.random.default_rng(seed)
    words = "a the cat dog sat on mat red blue one two three".split()
    hyps, refs = [], []
    for _ in range(n):
        ref = list(rng.choice(words, rng.integers(3, 9)))
        hyp = [w if rng.random() < 0.7 else str(rng.choice(words)) for w in ref]
        if rng.random() < 0.3:
            hyp = hyp[: max(1, len(hyp) - 2)]
        alt = list(rng.choice(words, rng.integers(3, 9)))
        hyps.append(" ".join(hyp))
        refs.append([" ".join(ref), " ".join(alt)])
    return hyps, refs


@pytest.mark.parametrize("smooth", ["exp", "none", "floor"])
@pytest.mark.parametrize("seed", [0, 1])
def test_bleu_equals_sacrebleu(smooth, seed):
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps, refs = _corpus(seed)
    ours = corpus_bleu(hyps, refs, smooth=smooth)
    ref = sacrebleu.corpus_bleu(hyps, [list(r) for r in zip(*refs)], tokenize="none",
                                smooth_method=smooth)
    assert ours.score == pytest.approx(ref.score, rel=1e-9, abs=1e-9)
    assert ours.precisions == pytest.approx(ref.precisions, rel=1e-9)
    assert ours.brevity_penalty == pytest.approx(ref.bp, rel=1e-9)
    assert (ours.hyp_len, ours.ref_len) == (ref.sys_len, ref.ref_len)


def test_bleu_with_a_missing_order_equals_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps, refs = ["3 7 1", "2 2 9"], [["3 7 1"], ["2 9 9"]]  # no 4-grams at all
    for smooth in ("exp", "none", "floor"):
        ours = corpus_bleu(hyps, refs, smooth=smooth).score
        ref = sacrebleu.corpus_bleu(hyps, [[r[0] for r in refs]], tokenize="none",
                                    smooth_method=smooth).score
        assert ours == pytest.approx(ref, abs=1e-9)


def test_bleu_known_answers():
    assert corpus_bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]).score == 100.0
    # Papineni et al.'s clipping: "the the the the" against "the cat": p1 = 1/4 ... p4 = 0
    s = corpus_bleu(["the the the the"], [["the cat the"]], smooth="none")
    assert s.precisions[0] == pytest.approx(50.0) and s.score == 0.0
    # brevity penalty exp(1 - r / c) for c = 2, r = 4
    s = corpus_bleu(["a b"], [["a b c d"]], max_n=2)
    assert s.brevity_penalty == pytest.approx(np.exp(1 - 4 / 2))
    assert s.score == pytest.approx(100 * np.exp(1 - 2))


def test_vocabulary_round_trip():
    v = Vocabulary.from_texts(["a circle left of a square", "a square above a circle"])
    assert v.itos[:5] == ["<pad>", "<bos>", "<eos>", "<unk>", "a"]  # most frequent first
    ids = v.encode_batch(["a circle above a square", "a square"])
    assert ids.shape == (2, 7) and ids[1, 4:].tolist() == [0, 0, 0]
    assert v.decode(ids[0].tolist()) == "a circle above a square"
    assert v.decode(v.encode("a hexagon")) == "a <unk>"
    with pytest.raises(ValueError, match="Vocabulary.encode_batch: a text needs 7 ids"):
        v.encode_batch(["a circle above a square"], max_len=5)
    with pytest.raises(ValueError, match="Vocabulary: words must be non-empty"):
        Vocabulary(["two words"])


def test_digit_strings_use_held_out_digit_images():
    from deep.data import load_digits

    train = make_digit_strings(50, split="train", seed=0)
    test = make_digit_strings(50, split="test", seed=0)
    assert train.images.shape == (50, 8, 28) and test.images.shape == (50, 8, 28)
    split = load_digits(test_size=0.2, seed=0)
    test_pool = split.test.tensors()[0][:, 0].numpy().reshape(-1, 64)
    train_pool = split.train.tensors()[0][:, 0].numpy().reshape(-1, 64)
    first = test.images[:, :, :8].reshape(50, 64)
    d_test = np.abs(first[:, None] - test_pool[None]).sum(-1).min(1)
    d_train = np.abs(first[:, None] - train_pool[None]).sum(-1).min(1)
    assert (d_test == 0).all() and (d_train > 0).mean() > 0.9  # a few digits repeat exactly
    labels = np.array([int(c.split()[0]) for c in test.captions])
    test_labels = split.test.tensors()[1].numpy()
    match = np.abs(first[:, None] - test_pool[None]).sum(-1).argmin(1)
    assert (test_labels[match] == labels).all()


def test_shape_scenes_relations_hold():
    data = make_shape_scenes(40, image_size=32, noise=0.0, seed=3)
    from scipy import ndimage

    for img, cap, refs in zip(data.images, data.captions, data.references):
        words = cap.split()
        assert len(refs) == 2 and refs[0] == cap and len(words) in (5, 6)
        labels, n = ndimage.label(img > 0.3)
        assert n == 2
        (y0, x0), (y1, x1) = ndimage.center_of_mass(img > 0.3, labels, [1, 2])
        if "left of" in cap:  # side by side: far apart in x, close in y
            assert abs(x1 - x0) > 0.35 * 32 and abs(y1 - y0) < 0.2 * 32
            assert refs[1].split()[2:4] == ["right", "of"]
        else:
            assert words[2] == "above"
            assert abs(y1 - y0) > 0.35 * 32 and abs(x1 - x0) < 0.2 * 32
            assert refs[1].split()[2] == "below"
    with pytest.raises(ValueError, match="make_shape_scenes: image_size must be an int >= 16"):
        make_shape_scenes(2, image_size=8)


def test_errors():
    with pytest.raises(ValueError, match="corpus_bleu: hypotheses and references"):
        corpus_bleu(["a"], [["a"], ["b"]])
    with pytest.raises(ValueError, match="corpus_bleu: each entry of references"):
        corpus_bleu(["a"], ["a"])
    with pytest.raises(ValueError, match="corpus_bleu: smooth must be one of"):
        corpus_bleu(["a"], [["a"]], smooth="add-k")
    with pytest.raises(ValueError, match="make_digit_strings: split must be one of"):
        make_digit_strings(2, split="val")
