"""deep.data: the numpy ↔ tensor boundary, datasets, and cvgeo-based transforms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import cvgeo
from deep.data import (
    ArrayDataset,
    Compose,
    Normalize,
    RandomAffine,
    RandomHomography,
    Resize,
    images_to_tensor,
    load_digits,
    load_faces,
    make_shapes,
    stratified_split,
    tensor_to_images,
)


# ------------------------------------------------------------------ conversion
@pytest.mark.parametrize("layout,shape,expected", [
    ("HW", (4, 5), (1, 1, 4, 5)),
    ("HWC", (4, 5, 3), (1, 3, 4, 5)),
    ("NHW", (2, 4, 5), (2, 1, 4, 5)),
    ("NHWC", (2, 4, 5, 3), (2, 3, 4, 5)),
])
def test_layouts_round_trip(rng, layout, shape, expected):
    images = rng.random(shape).astype(np.float32)
    t = images_to_tensor(images, layout=layout)
    assert t.shape == expected and t.dtype == torch.float32 and t.is_contiguous()
    np.testing.assert_array_equal(tensor_to_images(t, layout=layout), images)


def test_channel_values_land_in_the_right_place():
    img = np.zeros((2, 3, 3), np.float32)
    img[1, 2, 0], img[0, 1, 2] = 0.5, 0.25  # (row, col, channel)
    t = images_to_tensor(img, layout="HWC")
    assert t[0, 0, 1, 2] == 0.5 and t[0, 2, 0, 1] == 0.25 and t.sum() == 0.75


def test_integer_images_are_scaled_like_cvgeo_to_float(astronaut):
    crop = astronaut[:16, :20]
    t = images_to_tensor(crop, layout="HWC")
    np.testing.assert_array_equal(tensor_to_images(t, layout="HWC"), cvgeo.to_float(crop))
    u16 = (np.arange(6, dtype=np.uint16) * 13107).reshape(1, 2, 3)
    np.testing.assert_allclose(images_to_tensor(u16, layout="NHW").flatten().numpy(),
                               np.arange(6) * 0.2, atol=1e-6)


def test_conversion_errors():
    with pytest.raises(ValueError, match="images_to_tensor: layout must be one of 'HW', 'HWC', "
                                         "'NHW', 'NHWC', got 'CHW'"):
        images_to_tensor(np.zeros((3, 4, 4)), layout="CHW")
    with pytest.raises(ValueError, match=r"images_to_tensor: images must have 4 dimensions for "
                                         r"layout='NHWC', got shape \(4, 4, 3\)"):
        images_to_tensor(np.zeros((4, 4, 3)), layout="NHWC")
    with pytest.raises(TypeError, match="images_to_tensor: images must be a numpy array, got "
                                        "list"):
        images_to_tensor([np.zeros((2, 2))], layout="NHW")
    bad = np.zeros((2, 4, 4), np.float32)
    bad[1, 2, 2] = np.nan
    with pytest.raises(ValueError, match="must be finite, got 1 NaN"):
        images_to_tensor(bad, layout="NHW")
    with pytest.raises(TypeError, match="must have dtype"):
        images_to_tensor(np.zeros((2, 2), np.int32), layout="HW")
    with pytest.raises(ValueError, match="tensor_to_images: layout='HW' holds one image, got N=2"):
        tensor_to_images(torch.zeros(2, 1, 3, 3), layout="HW")
    with pytest.raises(ValueError, match="tensor_to_images: layout='NHW' is grey, got C=3"):
        tensor_to_images(torch.zeros(2, 3, 3, 3), layout="NHW")
    with pytest.raises(ValueError, match=r"tensor_to_images: tensor must be \(N, C, H, W\)"):
        tensor_to_images(torch.zeros(3, 3), layout="HW")


# -------------------------------------------------------------------- datasets
def test_load_digits_scaling_and_split():
    from sklearn.datasets import load_digits as sk

    raw = sk()
    split = load_digits(test_size=0.2, seed=0)
    assert len(split.train) + len(split.test) == 1797
    assert abs(len(split.test) - 0.2 * 1797) <= 10
    assert split.class_names == tuple(str(i) for i in range(10))
    assert split.train.images.shape[1:] == (8, 8) and split.train.images.max() == 1.0
    # Every test image is a raw image / 16 with its label.
    first = split.test.images[0]
    match = np.flatnonzero((np.abs(raw.images / 16.0 - first) < 1e-7).all(axis=(1, 2)))
    assert match.size >= 1 and raw.target[match[0]] == split.test.labels[0]
    # Stratified: every class has 20 % ± 1 in the test set.
    for c in range(10):
        n_c = int((raw.target == c).sum())
        assert abs(int((split.test.labels == c).sum()) - 0.2 * n_c) <= 1
    x, y = split.test[3]
    assert x.shape == (1, 8, 8) and isinstance(y, int)
    again = load_digits(seed=0)
    np.testing.assert_array_equal(again.test.labels, split.test.labels)
    other = load_digits(seed=1)
    assert not np.array_equal(other.test.images, split.test.images)


def test_load_faces():
    split = load_faces(test_size=0.25, seed=0)
    assert split.class_names == ("non-face", "face")
    assert len(split.test) == 50 and (split.test.labels == 1).sum() == 25
    assert split.train.images.shape[1:] == (25, 25)


def test_make_shapes_known_geometry():
    ds = make_shapes(60, image_size=32, noise=0.0, seed=3)
    assert np.bincount(ds.labels).tolist() == [20, 20, 20]
    # Noise-free: each image is a single grey level on black; filled areas follow the
    # shape: circle π r², square 2 r², triangle (3√3/4) r² for circumradius r in
    # [0.125, 0.225] * 32, so area ratios to the circle are 2/π and 3√3/(4π).
    for img, label in zip(ds.images, ds.labels):
        levels = np.unique(img)
        assert levels.size == 2 and levels[0] == 0.0 and 0.5 <= levels[1] <= 1.0
        area = (img > 0).sum()
        factor = (math.pi, 2.0, 3 * math.sqrt(3) / 4)[label]
        lo, hi = factor * (0.125 * 32) ** 2, factor * (0.225 * 32) ** 2
        assert 0.75 * lo <= area <= 1.25 * hi
    np.testing.assert_array_equal(make_shapes(9, seed=3).images, make_shapes(9, seed=3).images)


def test_stratified_split_partitions():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 2)
    tr, te = stratified_split(labels, test_size=0.2, seed=0)
    assert np.intersect1d(tr, te).size == 0 and np.union1d(tr, te).tolist() == list(range(17))
    assert np.bincount(labels[te]).tolist() == [2, 1, 1]
    with pytest.raises(ValueError, match=r"stratified_split: test_size must be in \(0.0, 1.0\)"):
        stratified_split(labels, test_size=1.0)
    with pytest.raises(ValueError, match="stratified_split: seed must be a non-negative int"):
        stratified_split(labels, seed=-1)


def test_array_dataset_errors():
    with pytest.raises(ValueError, match=r"ArrayDataset: labels must lie in \[0, 1\]"):
        ArrayDataset(np.zeros((2, 4, 4)), np.array([0, 2]), class_names=["a", "b"])
    with pytest.raises(ValueError, match=r"ArrayDataset: labels must be integers of shape \(2,\)"):
        ArrayDataset(np.zeros((2, 4, 4)), np.array([0.0, 1.0]), class_names=["a", "b"])
    with pytest.raises(ValueError, match="ArrayDataset: images must be a numpy array"):
        ArrayDataset(np.zeros((4, 4)), np.array([0]), class_names=["a"])


# ------------------------------------------------------------------ transforms
def test_normalize_and_resize_are_cvgeo(rng):
    img = rng.random((12, 10)).astype(np.float32)
    t = Compose([Resize((6, 5)), Normalize(0.5, 0.25)])
    np.testing.assert_array_equal(t(img), cvgeo.normalize(cvgeo.resize(img, (6, 5)), 0.5, 0.25))
    ds = ArrayDataset(img[None], np.array([0]), class_names=["x"], transform=t)
    x, _ = ds[0]
    assert x.shape == (1, 6, 5)
    np.testing.assert_allclose(x[0].numpy(), t(img))


def test_random_affine_known_matrix_and_seed():
    aff = RandomAffine(max_rotation=0.0, max_translation=0.0, scale=(1.0, 1.0), seed=0)
    img = np.random.default_rng(0).random((9, 7)).astype(np.float32)
    np.testing.assert_allclose(aff(img), img, atol=1e-6)  # identity draw
    rot = RandomAffine(max_rotation=0.3, max_translation=0.1, scale=(0.8, 1.2), seed=5)
    H = rot.sample_matrix((9, 7))
    c = np.array([3.0, 4.0, 1.0])  # the centre (x=(7-1)/2, y=(9-1)/2)
    A = H[:2, :2]
    s = math.sqrt(abs(np.linalg.det(A)))
    assert 0.8 <= s <= 1.2 and np.allclose(A @ A.T, s * s * np.eye(2))  # similarity
    shift = (H @ c)[:2] - c[:2]
    assert abs(shift[0]) <= 0.1 * 7 + 1e-9 and abs(shift[1]) <= 0.1 * 9 + 1e-9
    a1 = RandomAffine(seed=7)
    a2 = RandomAffine(seed=7)
    for _ in range(3):
        np.testing.assert_array_equal(a1(img), a2(img))
    assert not np.array_equal(a1(img), a1(img))  # a new draw per call


def test_random_affine_moves_a_dot_where_the_matrix_says():
    img = np.zeros((21, 21), np.float32)
    img[5, 14] = 1.0  # (x=14, y=5)
    aff = RandomAffine(max_rotation=0.5, max_translation=0.1, seed=2,
                       interpolation="bilinear")
    H = aff.sample_matrix(img.shape)
    aff.rng = np.random.default_rng(2)  # replay the same draw
    out = aff(img)
    x, y, w = H @ np.array([14.0, 5.0, 1.0])
    yy, xx = np.mgrid[0:21, 0:21]
    cx, cy = (out * xx).sum() / out.sum(), (out * yy).sum() / out.sum()
    assert abs(cx - x / w) < 0.6 and abs(cy - y / w) < 0.6


def test_random_homography_fixes_the_centre_and_is_projective():
    hom = RandomHomography(max_perspective=0.2, seed=1)
    H = hom.sample_matrix((11, 11))
    c = np.array([5.0, 5.0, 1.0])
    p = H @ c
    np.testing.assert_allclose(p[:2] / p[2], [5.0, 5.0])
    assert abs(H[2, 0]) > 0 or abs(H[2, 1]) > 0
    assert abs(H[2, 0]) * 5.5 <= 0.2 + 1e-12 and abs(H[2, 1]) * 5.5 <= 0.2 + 1e-12
    img = np.ones((11, 11, 3), np.float32)
    out = hom(img)
    assert out.shape == (11, 11, 3) and out.dtype == np.float32
    assert out[5, 5].tolist() == [1.0, 1.0, 1.0]


def test_transform_errors():
    with pytest.raises(ValueError, match="RandomAffine: max_rotation must be in"):
        RandomAffine(max_rotation=-0.1)
    with pytest.raises(ValueError, match="RandomAffine: scale must be a pair"):
        RandomAffine(scale=1.0)
    with pytest.raises(ValueError, match="RandomHomography: border must be one of"):
        RandomHomography(border="wrap")
    with pytest.raises(TypeError, match="Compose: every transform must be callable"):
        Compose([1])


@settings(max_examples=30, deadline=None)
@given(layout=st.sampled_from(["HW", "HWC", "NHW", "NHWC"]),
       n=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 4),
       seed=st.integers(0, 2 ** 16))
def test_round_trip_property(layout, n, h, w, c, seed):
    shape = {"HW": (h, w), "HWC": (h, w, c), "NHW": (n, h, w), "NHWC": (n, h, w, c)}[layout]
    images = np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)
    t = images_to_tensor(images, layout=layout)
    assert t.shape == (n if "N" in layout else 1, c if "C" in layout else 1, h, w)
    back = tensor_to_images(t, layout=layout)
    np.testing.assert_array_equal(np.round(back * 255).astype(np.uint8), images)
    # pixel (row r, col q, channel k) of image i lands at t[i, k, r, q]
    full = images.reshape((t.shape[0], h, w, t.shape[1]))
    assert t[-1, -1, h - 1, 0] == np.float32(full[-1, h - 1, 0, -1]) / np.float32(255)
