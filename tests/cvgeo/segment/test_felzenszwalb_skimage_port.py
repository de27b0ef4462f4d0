"""scikit-image's own Felzenszwalb tests (skimage/segmentation/tests/test_felzenszwalb.py),
ported to cvgeo.

Each test keeps skimage's name, data and assertions; ``skimage.segmentation.felzenszwalb``
becomes ``cvgeo.felzenszwalb`` with the same keywords (``scale``, ``sigma``, ``min_size``,
``channel_axis``). skimage itself is also run on the same input where that adds a check.

Deliberate difference, marked ``DIFFERENCE`` below: a 3-D image whose channel axis holds
more than 3 channels is segmented without skimage's ``RuntimeWarning`` ("this image will
be interpreted as a multichannel 2d image"). cvgeo's colour distance is defined for any
number of channels and ``channel_axis`` says where they are; cvgeo's test configuration
turns a ``RuntimeWarning`` from cvgeo into an error, so a warning on valid input would be
a failure for every caller that runs with warnings as errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import skimage.data as data
import skimage.segmentation

from cvgeo.segment import adjusted_rand_index, felzenszwalb


def test_grey():
    img = np.zeros((20, 21))
    img[:10, 10:] = 0.2
    img[10:, :10] = 0.4
    img[10:, 10:] = 0.6
    seg = felzenszwalb(img, sigma=0)
    # we expect 4 segments that mostly respect the 4 regions
    assert len(np.unique(seg)) == 4
    for i in range(4):
        hist = np.histogram(img[seg == i], bins=[0, 0.1, 0.3, 0.5, 1])[0]
        assert hist[i] > 40
    np.testing.assert_array_equal(seg, skimage.segmentation.felzenszwalb(img, sigma=0))


@pytest.mark.parametrize("channel_axis", [0, -1])
def test_minsize(channel_axis):
    # single channel
    img = data.coins()[20:168, 0:128]
    for min_size in np.arange(10, 100, 10):
        segments = felzenszwalb(img, min_size=min_size, sigma=3)
        counts = np.bincount(segments.ravel())
        assert counts.min() >= min_size
    # multi-channel
    coffee = np.moveaxis(data.coffee()[::4, ::4], -1, channel_axis)
    for min_size in np.arange(10, 100, 10):
        segments = felzenszwalb(coffee, min_size=min_size, sigma=3, channel_axis=channel_axis)
        counts = np.bincount(segments.ravel())
        assert counts.min() >= min_size
        if min_size == 50:  # and the segments are skimage's
            ref = skimage.segmentation.felzenszwalb(coffee, min_size=min_size, sigma=3,
                                                    channel_axis=channel_axis)
            assert adjusted_rand_index(segments, ref) > 0.99


@pytest.mark.parametrize("channel_axis", [0, -1])
def test_3D(channel_axis):
    grey_img = np.zeros((10, 10))
    rgb_img = np.moveaxis(np.zeros((10, 10, 3)), -1, channel_axis)
    three_d_img = np.zeros((10, 10, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        felzenszwalb(grey_img, channel_axis=-1)
        felzenszwalb(grey_img, channel_axis=None)
        felzenszwalb(rgb_img, channel_axis=channel_axis)
        # DIFFERENCE: skimage warns (RuntimeWarning) for 10 channels; cvgeo segments them
        seg = felzenszwalb(three_d_img, channel_axis=channel_axis)
    assert seg.shape == (10, 10) and (seg == 0).all()
    with pytest.raises(ValueError, match="felzenszwalb: channel_axis=None declares a grey"):
        felzenszwalb(rgb_img, channel_axis=None)
    with pytest.raises(ValueError, match="felzenszwalb: channel_axis=None declares a grey"):
        felzenszwalb(three_d_img, channel_axis=None)


@pytest.mark.parametrize("channel_axis", [0, -1])
def test_color(channel_axis):
    img = np.zeros((20, 21, 3))
    img[:10, :10, 0] = 1
    img[10:, :10, 1] = 1
    img[10:, 10:, 2] = 1
    img = np.moveaxis(img, -1, channel_axis)
    seg = felzenszwalb(img, sigma=0, channel_axis=channel_axis)
    # we expect 4 segments
    assert len(np.unique(seg)) == 4
    np.testing.assert_array_equal(seg[:10, :10], 0)
    np.testing.assert_array_equal(seg[10:, :10], 2)
    np.testing.assert_array_equal(seg[:10, 10:], 1)
    np.testing.assert_array_equal(seg[10:, 10:], 3)


def test_merging():
    # region merging in the post-processing step
    img = np.array([[0, 0.3], [0.7, 1]])
    # with scale=0, only the post-processing is performed
    seg = felzenszwalb(img, scale=0, sigma=0, min_size=2)
    # we expect 2 segments
    assert len(np.unique(seg)) == 2
    np.testing.assert_array_equal(seg[0, :], 0)
    np.testing.assert_array_equal(seg[1, :], 1)
