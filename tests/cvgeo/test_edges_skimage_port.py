"""scikit-image's own Canny tests (skimage/feature/tests/test_canny.py), ported to cvgeo.

Each test keeps skimage's name, data and assertions, with ``skimage.feature.canny(image,
sigma, low, high, mask)`` written as ``cvgeo.canny(image, sigma=..., low_threshold=...,
high_threshold=..., mask=...)``. Where skimage checks a hard-coded array, skimage itself
is run live instead (the hard-coded arrays were made from an older ``data.camera()``).

Deliberate differences, each marked ``DIFFERENCE`` below:

- Thresholds are always in units of the [0, 1]-scaled image (DESIGN's dtype rule), so a
  uint8 image takes the same thresholds as its float copy; skimage reads thresholds on
  integer images in dtype units (``255 * low``) and has ``preserve_range``.
- With ``use_quantiles`` the quantiles are taken over the pixels that may be edges (away
  from the one-pixel frame, inside the eroded mask); skimage takes them over every pixel,
  frame included, which on a 6 x 6 image is 20 of the 36.
- The default border is ``"reflect"``; skimage's default ``mode`` is ``"constant"``
  (pass ``border="constant"`` to reproduce it).
- A 3-D array with more than 4 channels raises (skimage raises for every 3-D array: its
  ``canny`` is grey only; ours takes colour).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data as data
import skimage.feature

import cvgeo


def _circle() -> np.ndarray:
    i, j = np.mgrid[-200:200, -200:200].astype(float) / 200
    return np.abs(np.sqrt(i * i + j * j) - 0.5) < 0.02


def test_00_00_zeros():
    """No edges in a blank field."""
    result = cvgeo.canny(np.zeros((20, 20)), sigma=4, low_threshold=0, high_threshold=0,
                         mask=np.ones((20, 20), bool))
    assert not result.any()


def test_00_01_zeros_mask():
    """No edges in a fully masked image."""
    noise = np.random.default_rng(0).uniform(size=(20, 20))
    result = cvgeo.canny(noise, sigma=4, low_threshold=0, high_threshold=0,
                         mask=np.zeros((20, 20), bool))
    assert not result.any()
    # and the noise does have edges where it is not masked (the mask is what removed them)
    assert cvgeo.canny(noise, sigma=1, low_threshold=0, high_threshold=0).any()


def test_01_01_circle():
    """The outlines of a ring lie within 3 pixels of it; about 2 * 2 * 2 pi 100 pixels."""
    c = _circle()
    result = cvgeo.canny(c.astype(float), sigma=4, low_threshold=0, high_threshold=0,
                         mask=np.ones(c.shape, bool))
    ring = ndi.binary_dilation(c, iterations=3) & ~ndi.binary_erosion(c, iterations=3)
    assert ring[result].all()
    assert 1200 < result.sum() < 1600
    ref = skimage.feature.canny(c.astype(float), 4, 0, 0, np.ones(c.shape, bool))
    assert result.sum() == ref.sum()  # measured: both 1416


def test_01_02_circle_with_noise():
    """The ring's outlines are found in noise (seeded numpy Generator instead of
    ``np.random.seed(0)``: a different but fixed noise draw)."""
    c = _circle()
    cf = c * 0.5 + np.random.default_rng(0).uniform(size=c.shape) * 0.5
    result = cvgeo.canny(cf, sigma=4, low_threshold=0.1, high_threshold=0.2,
                         mask=np.ones(c.shape, bool))
    ring = ndi.binary_dilation(c, iterations=4) & ~ndi.binary_erosion(c, iterations=4)
    assert ring[result].all()
    assert 1200 < result.sum() < 1600
    ref = skimage.feature.canny(cf, 4, 0.1, 0.2, np.ones(c.shape, bool))
    assert (result != ref).sum() <= 4  # measured: 1 pixel (1440 vs 1441 edges)


def test_image_shape():
    """A (20, 20, 20) array raises (DIFFERENCE: up to 4 channels are colour)."""
    with pytest.raises(ValueError, match=r"canny: image must be \(H, W\) or \(H, W, C\) with "
                                         r"C <= 4 channels, got shape \(20, 20, 20\)"):
        cvgeo.canny(np.zeros((20, 20, 20)), sigma=4, low_threshold=0, high_threshold=0)
    with pytest.raises(ValueError):
        skimage.feature.canny(np.zeros((20, 20, 20)), 4, 0, 0)


def test_mask_none():
    result1 = cvgeo.canny(np.zeros((20, 20)), sigma=4, low_threshold=0, high_threshold=0,
                          mask=np.ones((20, 20), bool))
    result2 = cvgeo.canny(np.zeros((20, 20)), sigma=4, low_threshold=0, high_threshold=0)
    np.testing.assert_array_equal(result1, result2)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_full_mask_matches_no_mask(dtype):
    image = data.camera()
    image = image if dtype == np.uint8 else (image / 255.0).astype(dtype)
    full = cvgeo.canny(image, mask=np.ones(image.shape, bool))
    np.testing.assert_array_equal(full, cvgeo.canny(image))
    assert full.sum() > 10_000


def test_use_quantiles():
    """camera[::50, ::50] at quantiles 0.6 / 0.8 equals skimage's result exactly."""
    image = data.camera()[::50, ::50] / 255.0
    result = cvgeo.canny(image, low_threshold=0.6, high_threshold=0.8, use_quantiles=True)
    ref = skimage.feature.canny(image, low_threshold=0.6, high_threshold=0.8,
                                use_quantiles=True)
    np.testing.assert_array_equal(result, ref)
    assert 10 < result.sum() < 30  # not trivially empty or full (measured: 17 of 121)


def test_use_quantiles_small_image():
    """camera[::100, ::100] (6 x 6). DIFFERENCE: our quantiles skip the 20 frame pixels,
    which can never be edges; skimage's include them. With skimage given the thresholds
    that our rule picks (quantiles of its own magnitude over the inner 4 x 4 pixels), the
    two agree exactly; with its own rule one pixel differs."""
    image = data.camera()[::100, ::100] / 255.0
    result = cvgeo.canny(image, low_threshold=0.6, high_threshold=0.8, use_quantiles=True)
    smooth = ndi.gaussian_filter(image, 1.0, mode="reflect", truncate=4.0)
    magnitude = np.hypot(ndi.sobel(smooth, axis=0), ndi.sobel(smooth, axis=1))
    low, high = np.quantile(magnitude[1:-1, 1:-1], [0.6, 0.8])
    ref = skimage.feature.canny(image, low_threshold=low, high_threshold=high, mode="reflect")
    np.testing.assert_array_equal(result, ref)
    whole = skimage.feature.canny(image, low_threshold=0.6, high_threshold=0.8,
                                  use_quantiles=True, mode="reflect")
    assert (result != whole).sum() == 1


def test_img_all_ones():
    assert not cvgeo.canny(np.ones((10, 10))).any()


def test_invalid_use_quantiles():
    image = data.camera()[::50, ::50] / 255.0
    for low, high in ((0.5, 3.6), (-5, 0.5), (99, 0.9), (0.5, -100)):
        with pytest.raises(ValueError, match="canny: (low|high)_threshold must be"):
            cvgeo.canny(image, use_quantiles=True, low_threshold=low, high_threshold=high)
    # skimage issue #4282: thresholds in grey levels with use_quantiles
    with pytest.raises(ValueError, match=r"canny: low_threshold must be in \[0.0, 1.0\]"):
        cvgeo.canny(data.camera(), use_quantiles=True, low_threshold=50, high_threshold=150)


def test_dtype():
    """The same edges whatever the dtype (DIFFERENCE: the same [0, 1] thresholds too)."""
    image_uint8 = data.camera()
    image_float = image_uint8 / 255.0
    np.testing.assert_array_equal(cvgeo.canny(image_uint8), cvgeo.canny(image_float))
    # skimage: canny(float, 1.0, 0.1, 0.2) == canny(uint8, 1.0, 25.5, 51)
    low, high = 0.1, 0.2
    ours = cvgeo.canny(image_uint8, sigma=1.0, low_threshold=low, high_threshold=high)
    np.testing.assert_array_equal(ours, cvgeo.canny(image_float, sigma=1.0, low_threshold=low,
                                                    high_threshold=high))
    ref = skimage.feature.canny(image_uint8, 1.0, 255 * low, 255 * high, mode="reflect")
    np.testing.assert_array_equal(ours, ref)


def test_preserve_range():
    """skimage: canny(uint8, 1, low, high) == canny(uint8, 1, 255 low, 255 high,
    preserve_range=True). DIFFERENCE: no preserve_range; thresholds are always in [0, 1]
    units, so grey-level thresholds are divided by 255 first."""
    img = data.coins()
    low, high = 0.1, 0.2
    ours = cvgeo.canny(img, sigma=1.0, low_threshold=low, high_threshold=high)
    ref = skimage.feature.canny(img, 1.0, 255 * low, 255 * high, mode="reflect")
    np.testing.assert_array_equal(ours, ref)
