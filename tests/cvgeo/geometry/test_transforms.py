"""Tests for the transform hierarchy (cvgeo.geometry.transforms)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.transform
from hypothesis import given, settings
from hypothesis import strategies as st

from cvgeo import DegenerateError
from cvgeo.geometry.transforms import (
    Affine,
    Euclidean,
    Projective,
    Similarity,
    Translation,
    rotation_shears,
)

CLASSES = [Translation, Euclidean, Similarity, Affine, Projective]


def random_transform(cls, rng):
    if cls is Translation:
        return Translation(translation=rng.uniform(-50, 50, 2))
    if cls is Euclidean:
        return Euclidean(rotation=rng.uniform(-3, 3), translation=rng.uniform(-50, 50, 2))
    if cls is Similarity:
        return Similarity(scale=rng.uniform(0.5, 2), rotation=rng.uniform(-3, 3),
                          translation=rng.uniform(-50, 50, 2))
    M = np.eye(3)
    M[:2, :2] += rng.normal(0, 0.3, (2, 2))
    M[:2, 2] = rng.uniform(-50, 50, 2)
    if cls is Projective:
        M[2, :2] = rng.normal(0, 5e-4, 2)
    return cls(M)


def test_dof_and_min_points():
    assert [c.dof for c in CLASSES] == [2, 3, 4, 6, 8]
    assert [c.min_points for c in CLASSES] == [1, 2, 2, 3, 4]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_minimal_round_trip_1e9(cls, rng):
    for _ in range(10):
        t = random_transform(cls, rng)
        src = rng.uniform(0, 400, (cls.min_points, 2))
        est = cls.estimate(src, t(src))
        assert isinstance(est, cls)
        assert est.matrix.shape == (3, 3) and est.matrix.dtype == np.float64
        np.testing.assert_allclose(est.matrix, t.matrix, atol=1e-9, rtol=0)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_least_squares_exact_and_noisy(cls, rng):
    t = random_transform(cls, rng)
    src = rng.uniform(0, 400, (60, 2))
    np.testing.assert_allclose(cls.estimate(src, t(src)).matrix, t.matrix, atol=1e-9)
    noisy = cls.estimate(src, t(src) + rng.normal(0, 0.5, (60, 2)))
    err = np.linalg.norm(noisy(src) - t(src), axis=1)
    assert err.mean() < 0.5  # LS averages the noise down


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_inverse_inverse_and_composition(cls, rng):
    a, b = random_transform(cls, rng), random_transform(cls, rng)
    np.testing.assert_allclose(a.inverse().inverse().matrix, a.matrix, atol=1e-12)
    np.testing.assert_allclose((a @ a.inverse()).matrix / (a @ a.inverse()).matrix[2, 2],
                               np.eye(3), atol=1e-10)
    ab = a @ b
    assert type(ab) is cls
    M = a.matrix @ b.matrix
    if cls is Projective:  # stored with unit Frobenius norm
        M = M / np.linalg.norm(M) * np.sign(M[2, 2])
    np.testing.assert_allclose(ab.matrix, M, atol=1e-12)
    pts = rng.uniform(0, 100, (7, 2))
    np.testing.assert_allclose(ab(pts), a(b(pts)), atol=1e-9)
    np.testing.assert_allclose(a.inverse()(a(pts)), pts, atol=1e-9)


def test_composition_promotes_to_the_more_general_class(rng):
    t = Translation(translation=(1.0, 2.0))
    e = Euclidean(rotation=0.3)
    a = random_transform(Affine, rng)
    assert type(t @ e) is Euclidean and type(e @ t) is Euclidean
    assert type(e @ Similarity(scale=2.0)) is Similarity
    assert type(a @ e) is Affine
    assert type(Projective() @ t) is Projective


def test_known_values_and_parameters():
    e = Euclidean(rotation=np.pi / 2, translation=(1.0, 0.0))
    # cos(pi/2) evaluates to 6.1e-17, not 0, and each output is a 3-term sum of order 1
    # divided by w = 1: a few ulp of 1.0 at most.
    np.testing.assert_allclose(e(np.array([[1.0, 0.0]])), [[1.0, 1.0]], rtol=0,
                               atol=4 * np.finfo(float).eps)
    s = Similarity(scale=2.0, rotation=0.25, translation=(3.0, 4.0))
    assert float(s.scale) == pytest.approx(2.0)
    assert float(s.rotation) == pytest.approx(0.25)
    np.testing.assert_allclose(s.translation, [3.0, 4.0])
    np.testing.assert_allclose(Translation(translation=(2.0, -1.0)).translation, [2.0, -1.0])


def test_projective_normalisation_never_by_h33():
    H = np.array([[1.0, 0.2, 3.0], [0.1, 1.0, 4.0], [1e-3, 0.0, 0.0]])  # h33 = 0
    P = Projective(H)
    np.testing.assert_allclose(np.linalg.norm(P.matrix), 1.0)
    np.testing.assert_allclose(P.matrix, H / np.linalg.norm(H))
    Q = Projective(-2.0 * np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]))
    assert Q.matrix[2, 2] > 0  # sign rule
    pts = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(P(pts), np.array([[3.4 + 1.0, 0.1 + 2.0 + 4.0]]) / 1e-3)


def test_agrees_with_skimage_estimates(rng):
    src = rng.uniform(0, 300, (40, 2))
    dst = src @ np.array([[1.1, 0.2], [-0.1, 0.9]]).T + [5.0, -3.0]
    dst += rng.normal(0, 1.0, dst.shape)
    # (skimage's affine estimate is a total-least-squares DLT, not ordinary least
    # squares, so ours is checked against numpy's lstsq instead)
    X = np.c_[src, np.ones(len(src))]
    lstsq = np.eye(3)
    lstsq[:2] = np.linalg.lstsq(X, dst, rcond=None)[0].T
    np.testing.assert_allclose(Affine.estimate(src, dst).matrix, lstsq, atol=1e-10)
    pairs = [(Similarity, skimage.transform.SimilarityTransform),
             (Euclidean, skimage.transform.EuclideanTransform)]
    for ours, theirs in pairs:
        ref = theirs.from_estimate(src, dst).params
        np.testing.assert_allclose(ours.estimate(src, dst).matrix, ref, atol=1e-8)
    # the algebraic (DLT) optimum depends on the normalisation used: on noisy points the
    # two agree to a small fraction of a pixel; on exact points to 1e-9
    ref = skimage.transform.ProjectiveTransform.from_estimate(src, dst)
    ours = Projective.estimate(src, dst)
    assert np.abs(ours(src) - ref(src)).max() < 0.01
    exact = ref(src)
    ref = skimage.transform.ProjectiveTransform.from_estimate(src, exact).params
    np.testing.assert_allclose(Projective.estimate(src, exact).matrix,
                               ref / np.linalg.norm(ref) * np.sign(ref[2, 2]), atol=1e-9)


def test_torch_matches_numpy_and_gradients_flow(rng):
    torch = pytest.importorskip("torch")
    for cls in CLASSES:
        t = random_transform(cls, rng)
        src = rng.uniform(0, 300, (12, 2))
        dst = t(src) + rng.normal(0, 0.5, (12, 2))
        ref = cls.estimate(src, dst).matrix
        s = torch.tensor(src, requires_grad=True)
        d = torch.tensor(dst, requires_grad=True)
        est = cls.estimate(s, d)
        assert isinstance(est.matrix, torch.Tensor)
        np.testing.assert_allclose(est.matrix.detach().numpy(), ref, atol=1e-6)
        loss = (est(s) - d).pow(2).sum() + est.matrix.pow(2).sum()
        loss.backward()
        for g in (s.grad, d.grad):
            assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0
    # the DLT's gradient matches finite differences
    src = torch.tensor(rng.uniform(0, 100, (6, 2)), requires_grad=True)
    dst = torch.tensor(rng.uniform(0, 100, (6, 2)))

    def f(s):
        return Projective.estimate(s, dst).matrix[0, 2]

    assert torch.autograd.gradcheck(f, (src,), eps=1e-6, atol=1e-5)


def test_batched_matches_loop(rng):
    src = rng.uniform(0, 300, (3, 9, 2))
    dst = np.stack([random_transform(Projective, rng)(s) for s in src])
    batch = Projective.estimate(src, dst).matrix
    assert batch.shape == (3, 3, 3)
    for b in range(3):
        np.testing.assert_allclose(batch[b], Projective.estimate(src[b], dst[b]).matrix,
                                   atol=1e-12)
    for cls in (Translation, Euclidean, Similarity, Affine):
        m = cls.estimate(src, dst).matrix
        assert m.shape == (3, 3, 3)
        np.testing.assert_allclose(m[1], cls.estimate(src[1], dst[1]).matrix, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(angle=st.floats(-3.0, 3.0), scale=st.floats(0.2, 5.0),
       tx=st.floats(-100, 100), ty=st.floats(-100, 100))
def test_similarity_round_trip_property(angle, scale, tx, ty):
    t = Similarity(scale=scale, rotation=angle, translation=(tx, ty))
    src = np.array([[3.0, 4.0], [50.0, -20.0], [10.0, 30.0]])
    est = Similarity.estimate(src, t(src))
    np.testing.assert_allclose(est.matrix, t.matrix, atol=1e-9)
    np.testing.assert_allclose(float(est.scale), scale, rtol=1e-9)


def test_rotation_shears():
    for angle in (-2.5, -0.3, 0.0, 0.7, 3.0):
        S = rotation_shears(angle)
        assert S.shape == (3, 3, 3)
        np.testing.assert_allclose(S[2] @ S[1] @ S[0], Euclidean(rotation=angle).matrix,
                                   atol=1e-12)
        # each factor is a pure shear: unit diagonal, one off-diagonal entry
        for M, (i, j) in zip(S, [(0, 1), (1, 0), (0, 1)]):
            off = M[:2, :2] - np.eye(2)
            off[i, j] = 0.0
            assert np.all(off == 0)
    with pytest.raises(ValueError, match="rotation_shears: angle must be in"):
        rotation_shears(np.pi)


@pytest.mark.parametrize("cls", [Affine, Projective], ids=lambda c: c.__name__)
def test_degenerate_configurations(cls):
    name = f"{cls.__name__}.estimate"
    n = cls.min_points
    line = np.c_[np.arange(n + 1.0), 2 * np.arange(n + 1.0) + 1]
    with pytest.raises(DegenerateError, match=f"{name}: src points must not all be collinear"):
        cls.estimate(line, line + 1)
    few = np.random.default_rng(0).uniform(0, 10, (n - 1, 2))
    with pytest.raises(DegenerateError, match=f"{name}: src must hold at least {n} points, "
                                               f"got {n - 1}"):
        cls.estimate(few, few)
    dup = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0]])[:n]
    dup[-1] = dup[0]
    with pytest.raises(DegenerateError, match=f"{name}: src must hold at least {n} distinct "
                                               r"points, got coincident points \(only"):
        cls.estimate(dup, dup + 1)


def test_projective_three_collinear_of_four():
    src = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 3.0]])
    with pytest.raises(DegenerateError, match=r"no three of the 4 src points may be collinear,"
                                              r" got points \(0, 1, 2\)"):
        Projective.estimate(src, src)
    with pytest.raises(DegenerateError, match="dst"):
        Projective.estimate(np.array([[0.0, 0], [1, 0], [0, 1], [1, 1]]), src)


def test_similarity_degenerate_and_errors():
    src = np.array([[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(DegenerateError, match="Similarity.estimate: src must hold at least 2 "
                                              "distinct"):
        Similarity.estimate(src, src + 1)
    with pytest.raises(DegenerateError, match="Euclidean.estimate: dst must hold at least 2"):
        Euclidean.estimate(np.array([[0.0, 0], [1, 0]]), np.array([[2.0, 2], [2, 2]]))
    bad = np.array([[0.0, 0.0], [np.nan, 1.0]])
    with pytest.raises(ValueError, match="Similarity.estimate: src must be finite"):
        Similarity.estimate(bad, bad)
    with pytest.raises(TypeError, match="Affine.estimate: src must be a numpy array or torch"):
        Affine.estimate([[0, 0], [1, 0], [0, 1]], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="Affine.estimate: src and dst must have the same shape"):
        Affine.estimate(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="Euclidean: matrix must have a rotation"):
        Euclidean(np.diag([2.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"Affine: matrix must have last row \[0, 0, 1\]"):
        Affine(np.ones((3, 3)))
    with pytest.raises(ValueError, match="Translation: matrix must have the identity"):
        Translation(np.diag([2.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="Projective: matrix must be finite"):
        Projective(np.full((3, 3), np.inf))
    with pytest.raises(DegenerateError, match="Affine.inverse: matrix must be invertible"):
        Affine(np.diag([1.0, 0.0, 1.0])).inverse()
    with pytest.raises(DegenerateError, match="from_homogeneous: points must not lie at"):
        Projective(np.array([[1.0, 0, 0], [0, 1, 0], [1, 0, 0]]))(np.array([[0.0, 5.0]]))
