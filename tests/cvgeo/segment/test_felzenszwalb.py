"""Felzenszwalb-Huttenlocher: known answers, a plain-Python reference, scikit-image on
astronaut and coffee, min_size and connectivity properties, "intersect", bad input."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import skimage.segmentation
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

from cvgeo.filters import gaussian_filter
from cvgeo.segment import adjusted_rand_index, felzenszwalb

EIGHT = np.ones((3, 3), dtype=bool)


def _reference(img: np.ndarray, scale: float, min_size: int) -> np.ndarray:
    """Algorithm 1 written out in plain Python on an unsmoothed [0, 1] image."""
    x = img if img.ndim == 3 else img[..., None]
    h, w, _ = x.shape
    edges = []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (-1, 1)):
        for r in range(h):
            for c in range(w):
                r2, c2 = r + dr, c + dc
                if 0 <= r2 < h and 0 <= c2 < w:
                    wt = float(np.float32(np.sqrt(((x[r, c] - x[r2, c2]) ** 2).sum())))
                    edges.append((wt, r * w + c, r2 * w + c2))
    edges.sort(key=lambda e: e[0])  # stable: ties keep grid order
    comp = list(range(h * w))
    members = {i: {i} for i in range(h * w)}
    internal = dict.fromkeys(range(h * w), 0.0)
    k = scale / 255
    for wt, p, q in edges:
        a, b = comp[p], comp[q]
        if a != b and wt <= min(internal[a] + k / len(members[a]),
                                internal[b] + k / len(members[b])):
            for m in members[b]:
                comp[m] = a
            members[a] |= members.pop(b)
            internal[a] = wt
    for _, p, q in edges:
        a, b = comp[p], comp[q]
        if a != b and (len(members[a]) < min_size or len(members[b]) < min_size):
            for m in members[b]:
                comp[m] = a
            members[a] |= members.pop(b)
    return np.array(comp).reshape(h, w)


def test_two_halves_known_answer():
    img = np.zeros((8, 10), dtype=np.uint8)
    img[:, 5:] = 255
    lab = felzenszwalb(img, scale=10, sigma=0, min_size=2)
    assert lab.dtype == np.int32
    expected = np.zeros((8, 10), np.int32)
    expected[:, 5:] = 1
    np.testing.assert_array_equal(lab, expected)


def test_scale_controls_merging_across_a_weak_edge():
    # step of 20 grey levels between halves; a half holds 32 pixels. The halves merge
    # once 20/255 <= k/32 for both sides, i.e. scale >= 640
    img = np.zeros((4, 16), dtype=np.uint8)
    img[:, 8:] = 20
    assert felzenszwalb(img, scale=600, sigma=0, min_size=0).max() == 1
    assert felzenszwalb(img, scale=700, sigma=0, min_size=0).max() == 0


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([(5, 6), (7, 4)]), st.booleans(),
       st.sampled_from([50.0, 300.0]), st.sampled_from([0, 3]))
def test_matches_plain_python_reference(seed, shape, colour, scale, min_size):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 4, size=shape + ((3,) if colour else ())).astype(np.float32) / 3
    ours = felzenszwalb(img, scale=scale, sigma=0, min_size=min_size)
    ref = _reference(img, scale, min_size)
    assert adjusted_rand_index(ours, ref) == 1.0


@pytest.mark.parametrize("name,scale,sigma,min_size", [
    ("astronaut", 100, 0.5, 50), ("astronaut", 1, 0.8, 20),
    ("coffee", 300, 0.8, 10), ("coffee", 100, 0.5, 50),
])
def test_matches_skimage(name, scale, sigma, min_size):
    img = getattr(skimage.data, name)()
    ours = felzenszwalb(img, scale=scale, sigma=sigma, min_size=min_size)
    ref = skimage.segmentation.felzenszwalb(img, scale=scale, sigma=sigma, min_size=min_size)
    assert adjusted_rand_index(ours, ref) >= 0.99
    assert np.bincount(ours.ravel()).min() >= min_size


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 12), st.sampled_from([1.0, 30.0, 500.0]))
def test_every_segment_at_least_min_size_and_connected(seed, min_size, scale):
    rng = np.random.default_rng(seed)
    img = gaussian_filter(rng.random((20, 24, 3)).astype(np.float32), 1.0)
    lab = felzenszwalb(img, scale=scale, sigma=0.5, min_size=min_size)
    n = lab.max() + 1
    assert lab[0, 0] == 0 and set(np.unique(lab)) == set(range(n))
    assert np.bincount(lab.ravel()).min() >= min(min_size, lab.size)
    for i in range(n):
        assert ndi.label(lab == i, structure=EIGHT)[1] == 1


def _intersect_reference(per_channel: list[np.ndarray]) -> np.ndarray:
    """Connected pieces (8-neighbours) of the pixels sharing every channel's label."""
    key = np.zeros(per_channel[0].shape, np.int64)
    for lab in per_channel:
        key = key * (lab.max() + 1) + lab
    out = np.zeros(key.shape, np.int64)
    nxt = 0
    for v in np.unique(key):
        pieces, m = ndi.label(key == v, structure=EIGHT)
        out[pieces > 0] = pieces[pieces > 0] + nxt
        nxt += m
    return out


def test_intersect_is_the_per_channel_intersection():
    img = skimage.data.coffee()[::4, ::4]
    assert not np.array_equal(img[..., 0], img[..., 2])  # the channels differ
    ours = felzenszwalb(img, scale=200, sigma=0.8, min_size=0, color_mode="intersect")
    per_channel = [felzenszwalb(img[..., c], scale=200, sigma=0.8, min_size=0)
                   for c in range(3)]
    assert adjusted_rand_index(ours, _intersect_reference(per_channel)) == 1.0
    # intersecting splits more than the joint distance does
    joint = felzenszwalb(img, scale=200, sigma=0.8, min_size=0)
    assert ours.max() > joint.max()
    merged = felzenszwalb(img, scale=200, sigma=0.8, min_size=30, color_mode="intersect")
    assert np.bincount(merged.ravel()).min() >= 30


def test_intersect_quadrants_and_grey_equivalence():
    img = np.zeros((10, 10, 3), dtype=np.float32)
    img[:, 5:, 0] = 1.0  # red splits left/right
    img[5:, :, 1] = 1.0  # green splits top/bottom
    lab = felzenszwalb(img, scale=10, sigma=0, min_size=0, color_mode="intersect")
    assert len(np.unique(lab)) == 4
    grey = skimage.data.camera()[::8, ::8]
    np.testing.assert_array_equal(felzenszwalb(grey, color_mode="intersect"), felzenszwalb(grey))


def test_deterministic_and_dtype_independent(astronaut):
    img = astronaut[::4, ::4]
    a = felzenszwalb(img, scale=50)
    np.testing.assert_array_equal(a, felzenszwalb(img, scale=50))
    b = felzenszwalb(img.astype(np.float64) / 255, scale=50)
    assert adjusted_rand_index(a, b) >= 0.999


def test_bad_input():
    img = np.zeros((6, 6))
    with pytest.raises(ValueError, match="felzenszwalb: scale must be >= 0.0, got -1.0"):
        felzenszwalb(img, scale=-1.0)
    with pytest.raises(ValueError, match="felzenszwalb: sigma must be >= 0"):
        felzenszwalb(img, sigma=-0.5)
    with pytest.raises(ValueError, match="felzenszwalb: min_size must be an int >= 0"):
        felzenszwalb(img, min_size=-1)
    with pytest.raises(TypeError, match="felzenszwalb: min_size must be an int"):
        felzenszwalb(img, min_size=2.5)
    with pytest.raises(ValueError, match="felzenszwalb: color_mode must be one of"):
        felzenszwalb(img, color_mode="max")
    with pytest.raises(TypeError, match="felzenszwalb: channel_axis must be an int or None, "
                                        "got 1.0"):
        felzenszwalb(img, channel_axis=1.0)
    rgb = np.zeros((6, 6, 3))
    with pytest.raises(ValueError, match=r"felzenszwalb: channel_axis must be an axis of the "
                                         r"3-D image, in \[-3, 2\], got 3"):
        felzenszwalb(rgb, channel_axis=3)
    with pytest.raises(ValueError, match=r"felzenszwalb: channel_axis=None declares a grey "
                                         r"\(H, W\) image, got a 3-D image of shape"):
        felzenszwalb(rgb, channel_axis=None)
    img[2, 3] = np.nan
    with pytest.raises(ValueError, match="felzenszwalb: image must be finite"):
        felzenszwalb(img)


@pytest.mark.parametrize("channel_axis", [0, 1, -3])
def test_channel_axis_like_skimage(channel_axis):
    """skimage's channel_axis: the channels may sit on any axis. The image with its
    channels moved to ``channel_axis`` segments exactly as the channel-last image does,
    and agrees with skimage given the same array and axis (ARI as test_matches_skimage)."""
    img = skimage.data.coffee()[::3, ::3]
    moved = np.moveaxis(img, -1, channel_axis)
    ours = felzenszwalb(moved, scale=100, sigma=0.5, min_size=20, channel_axis=channel_axis)
    np.testing.assert_array_equal(ours, felzenszwalb(img, scale=100, sigma=0.5, min_size=20))
    ref = skimage.segmentation.felzenszwalb(moved, scale=100, sigma=0.5, min_size=20,
                                            channel_axis=channel_axis)
    assert ref.shape == ours.shape == img.shape[:2]
    assert adjusted_rand_index(ours, ref) >= 0.99
    grey = skimage.data.camera()[::8, ::8]
    np.testing.assert_array_equal(felzenszwalb(grey, channel_axis=None), felzenszwalb(grey))


def test_scale_zero_like_skimage():
    """scale=0 is allowed, as in skimage. With the paper's merge test ``w <= MInt`` only
    zero-weight edges merge, so (with sigma=0) the segments are the 8-connected regions of
    equal value. Deliberate difference: skimage's strict ``w < MInt`` merges nothing at
    scale 0 (every pixel its own segment); that is checked too, so a change on either
    side shows."""
    img = np.zeros((12, 16), np.uint8)
    img[:, 8:] = 200
    img[3:6, 2:5] = 90
    ours = felzenszwalb(img, scale=0, sigma=0, min_size=0)
    regions = np.zeros(img.shape, np.int64)
    for k, v in enumerate(np.unique(img)):
        lab, _ = ndi.label(img == v, structure=np.ones((3, 3)))
        regions[lab > 0] = lab[lab > 0] + 10 * k
    assert ours.max() + 1 == 3 and adjusted_rand_index(ours, regions) == 1.0
    ref = skimage.segmentation.felzenszwalb(img, scale=0, sigma=0, min_size=0)
    assert ref.max() + 1 == img.size


def test_colour_keyword_still_works_with_a_deprecation_warning():
    img = skimage.data.coffee()[::8, ::8]
    new = felzenszwalb(img, scale=10, sigma=0, min_size=0, color_mode="intersect")
    with pytest.warns(DeprecationWarning, match="felzenszwalb: the keyword 'colour' is "
                                                "deprecated .*; use 'color_mode'"):
        old = felzenszwalb(img, scale=10, sigma=0, min_size=0, colour="intersect")
    np.testing.assert_array_equal(old, new)
    with pytest.raises(TypeError, match="felzenszwalb: got both 'colour' and its new name"):
        felzenszwalb(img, colour="intersect", color_mode="distance")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 3000), st.sampled_from([4, 1000, None]))
def test_radix_sort_matches_stable_argsort(seed, n, levels):
    """The edge sort against numpy's stable argsort, with many ties and zeros."""
    from cvgeo.segment.felzenszwalb import _sorted_edges

    rng = np.random.default_rng(seed)
    w = rng.random(n).astype(np.float32) * 3
    if levels is not None:
        w = np.floor(w * levels).astype(np.float32) / levels
    order, sorted_w = _sorted_edges(w)
    np.testing.assert_array_equal(order, np.argsort(w, kind="stable"))
    np.testing.assert_array_equal(sorted_w, np.sort(w))
