"""Pixel features: Lab against scikit-image, layouts, spatial weight, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cvgeo.segment import pixel_features, rgb_to_lab


def test_lab_matches_skimage_on_astronaut(astronaut):
    ours = rgb_to_lab(astronaut)
    ref = skimage.color.rgb2lab(astronaut)
    assert ours.dtype == np.float32 and ours.shape == astronaut.shape
    np.testing.assert_allclose(ours, ref, atol=2e-3)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (3, 4, 3), elements=st.floats(0, 1)))
def test_lab_matches_skimage_everywhere_including_dark_branch(rgb):
    np.testing.assert_allclose(rgb_to_lab(rgb), skimage.color.rgb2lab(rgb), atol=2e-3)


def test_lab_known_colours():
    img = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], dtype=np.uint8)
    lab = rgb_to_lab(img)[0]
    np.testing.assert_allclose(lab[0], [0, 0, 0], atol=1e-4)
    np.testing.assert_allclose(lab[1], [100, 0, 0], atol=1e-2)
    # sRGB red: L*a*b* = (53.24, 80.09, 67.20) (CIE D65, 2 degree)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.02)


def test_feature_layouts_and_values():
    img = np.zeros((2, 3, 3), dtype=np.uint8)
    img[1, 2] = (255, 0, 51)
    f = pixel_features(img)
    assert f.shape == (6, 3) and f.dtype == np.float32
    np.testing.assert_allclose(f[5], [1.0, 0.0, 0.2], atol=1e-6)  # row-major: pixel [1, 2]
    g = pixel_features(img, space="intensity")
    np.testing.assert_allclose(g[5, 0], 0.2125 + 0.0721 * 0.2, atol=1e-6)
    lab = pixel_features(img, space="lab")
    np.testing.assert_allclose(lab * 100, rgb_to_lab(img).reshape(-1, 3), atol=1e-3)
    grey = pixel_features(img[..., 0])
    assert grey.shape == (6, 1)


def test_spatial_weight_appends_scaled_positions():
    img = np.zeros((2, 4), dtype=np.uint8)
    f = pixel_features(img, spatial_weight=2.0)
    assert f.shape == (8, 3)
    # pixel [1, 3] is row 7: position (1, 3) * 2 / max(2, 4)
    np.testing.assert_allclose(f[7], [0.0, 0.5, 1.5])


def test_spatial_weight_makes_equal_colours_separable():
    """Two blobs of the same colour are one cluster without position, two with it."""
    from cvgeo.segment import kmeans
    from cvgeo.segment.kmeans import ConvergenceWarning

    img = np.zeros((8, 16), dtype=np.uint8)
    img[:, :4] = 200
    img[:, 12:] = 200
    # colour alone has two distinct values for three clusters: kmeans says so
    with pytest.warns(ConvergenceWarning, match="found 2 distinct clusters"):
        no_pos = kmeans(pixel_features(img), 3, seed=0).labels.reshape(8, 16)
    with_pos = kmeans(pixel_features(img, spatial_weight=5.0), 3, seed=0).labels.reshape(8, 16)
    assert no_pos[0, 0] == no_pos[0, 15]
    assert with_pos[0, 0] != with_pos[0, 15]


def test_bad_input():
    with pytest.raises(ValueError, match="pixel_features: space must be one of"):
        pixel_features(np.zeros((2, 2)), space="hsv")
    with pytest.raises(ValueError, match="pixel_features: space='lab' needs an"):
        pixel_features(np.zeros((2, 2)), space="lab")
    with pytest.raises(ValueError,
                       match=r"pixel_features: spatial_weight must be in \[0.0, 1000000.0\]"):
        pixel_features(np.zeros((2, 2)), spatial_weight=-1)
    with pytest.raises(ValueError, match="pixel_features: image must be finite"):
        pixel_features(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="rgb_to_lab: image must have C in"):
        rgb_to_lab(np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match="rgb_to_lab: image must be"):
        rgb_to_lab(np.zeros((2, 2)))
