"""Tests for cvgeo.draw: lines, segments and circles rasterised onto images."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvgeo.draw import draw_circles, draw_lines, draw_segments

RED = np.array([1.0, 0.0, 0.0], np.float32)


def painted(out, color=RED):
    return np.all(out == color, axis=2)


def test_grey_becomes_rgb_and_input_untouched():
    img = np.full((20, 30), 0.25, np.float32)
    before = img.copy()
    out = draw_segments(img, np.array([[2, 3, 20, 3]]))
    assert out.shape == (20, 30, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(img, before)
    np.testing.assert_array_equal(out[~painted(out)], 0.25)
    assert painted(out).sum() == 19  # x = 2 .. 20 on row 3


def test_uint8_colour_input():
    img = np.zeros((10, 10, 3), np.uint8)
    img[..., 1] = 255
    out = draw_circles(img, np.array([[5.0, 5.0, 3.0]]), color=(0, 0, 1))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 0], [0, 1, 0])
    assert painted(out, np.array([0, 0, 1], np.float32)).sum() > 12


def test_segment_pixels_lie_on_the_segment():
    seg = np.array([[3.0, 4.0, 41.0, 27.0]])
    out = draw_segments(np.zeros((40, 50)), seg)
    ys, xs = np.nonzero(painted(out))
    (x0, y0, x1, y1), = seg
    dist = np.abs((y1 - y0) * xs - (x1 - x0) * ys + x1 * y0 - y1 * x0) / math.hypot(x1 - x0,
                                                                                 y1 - y0)
    assert dist.max() <= 0.71  # within half a pixel diagonal
    assert xs.min() == 3 and xs.max() == 41 and ys.min() == 4 and ys.max() == 27
    # 8-connected and without holes: one pixel per column along the major axis
    assert np.unique(xs).size == 41 - 3 + 1


def test_lines_cross_the_whole_image():
    img = np.zeros((30, 40))
    theta = math.radians(30)
    rho = 15.0
    line = np.array([[math.cos(theta), math.sin(theta), -rho]])
    out = draw_lines(img, line)
    ys, xs = np.nonzero(painted(out))
    assert np.abs(np.cos(theta) * xs + np.sin(theta) * ys - rho).max() <= 0.71
    assert xs.min() == 0 and ys.min() == 0  # reaches the borders
    # an unnormalised (a, b, c) is the same line
    np.testing.assert_array_equal(draw_lines(img, 3 * line), out)
    # a line entirely outside draws nothing
    assert not painted(draw_lines(img, np.array([[1.0, 0.0, 100.0]]))).any()


def test_circle_pixels_lie_on_the_circle_and_thickness():
    out = draw_circles(np.zeros((60, 60)), np.array([[30.2, 28.7, 17.5]]))
    ys, xs = np.nonzero(painted(out))
    r = np.hypot(xs - 30.2, ys - 28.7)
    assert np.abs(r - 17.5).max() <= 0.71
    thick = draw_circles(np.zeros((60, 60)), np.array([[30.2, 28.7, 17.5]]), thickness=3)
    ys, xs = np.nonzero(painted(thick))
    r = np.hypot(xs - 30.2, ys - 28.7)
    assert np.abs(r - 17.5).max() <= 1.71 and painted(thick).sum() > 2.5 * painted(out).sum()


def test_empty_shapes_return_a_copy():
    img = np.random.default_rng(0).random((8, 9, 3)).astype(np.float32)
    for fn, width in ((draw_lines, 3), (draw_segments, 4), (draw_circles, 3)):
        out = fn(img, np.zeros((0, width)))
        np.testing.assert_array_equal(out, img)
        assert not np.shares_memory(out, img)


@settings(max_examples=25, deadline=None)
@given(x0=st.floats(-20, 60), y0=st.floats(-20, 60), x1=st.floats(-20, 60),
       y1=st.floats(-20, 60))
def test_property_segments_clip_without_error(x0, y0, x1, y1):
    out = draw_segments(np.zeros((40, 40)), np.array([[x0, y0, x1, y1]]))
    ys, xs = np.nonzero(painted(out))
    if xs.size:
        length = math.hypot(x1 - x0, y1 - y0)
        if length > 0:
            d = np.abs((y1 - y0) * xs - (x1 - x0) * ys + x1 * y0 - y1 * x0) / length
            assert d.max() <= 0.71


@pytest.mark.parametrize("fn, width, name", [(draw_lines, 3, "lines"),
                                             (draw_segments, 4, "segments"),
                                             (draw_circles, 3, "circles")])
def test_bad_input(fn, width, name):
    func = fn.__name__
    img = np.zeros((10, 10))
    with pytest.raises(TypeError, match=rf"^{func}: {name} must be a numpy array"):
        fn(img, [[1, 2, 3, 4][:width]])
    with pytest.raises(ValueError, match=rf"^{func}: {name} must have shape \(N, {width}\)"):
        fn(img, np.zeros((2, width + 1)))
    with pytest.raises(ValueError, match=rf"^{func}: {name} must be finite"):
        fn(img, np.full((1, width), np.nan))
    with pytest.raises(ValueError, match=rf"^{func}: color must be an \(r, g, b\) triple"):
        fn(img, np.ones((1, width)), color=(1, 0))
    with pytest.raises(ValueError, match=rf"^{func}: color must be in \[0.0, 1.0\]"):
        fn(img, np.ones((1, width)), color=(2, 0, 0))
    with pytest.raises(ValueError, match=rf"^{func}: thickness must be an int in \[1, 10000\]"):
        fn(img, np.ones((1, width)), thickness=0)
    with pytest.raises(ValueError, match=rf"^{func}: image must have C in"):
        fn(np.zeros((5, 5, 2)), np.ones((1, width)))


def test_degenerate_shapes():
    with pytest.raises(ValueError, match=r"^draw_lines: lines must have \(a, b\) != \(0, 0\)"):
        draw_lines(np.zeros((5, 5)), np.array([[0.0, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="^draw_circles: circles must have radius >= 0"):
        draw_circles(np.zeros((5, 5)), np.array([[2.0, 2.0, -1.0]]))


@pytest.mark.parametrize("thickness", [9, 15, 31])
def test_thick_strokes_by_tree_equal_the_stamped_strokes(monkeypatch, thickness):
    """Thick strokes look up the nearest sample in a k-d tree; the pixels must be exactly
    those the offset-by-offset stamping colours."""
    import cvgeo.draw as draw

    img = np.random.default_rng(0).random((60, 80))
    shapes = [(draw_segments, np.array([[3.0, 4.0, 70.0, 50.0], [-20, 30, 100, -5]])),
              (draw_circles, np.array([[40.0, 30.0, 12.0], [0, 0, 50]])),
              (draw_lines, np.array([[0.6, 0.8, -30.0], [1, -1, 3]]))]
    tree = [fn(img, a, thickness=thickness) for fn, a in shapes]
    monkeypatch.setattr(draw, "_MAX_OFFSETS", 10**9)
    stamped = [fn(img, a, thickness=thickness) for fn, a in shapes]
    for t, s in zip(tree, stamped):
        np.testing.assert_array_equal(t, s)
        assert 0 < (t[..., 1] == 0).mean() < 1  # something drawn, not everything


def test_max_thickness_covers_the_image_quickly():
    img = np.full((24, 24), 0.5)
    for fn, a in ((draw_lines, np.array([[0.6, 0.8, -3.0]])),
                  (draw_segments, np.array([[1.0, 1.0, 5.0, 5.0]])),
                  (draw_circles, np.array([[5.0, 5.0, 3.0]]))):
        out = fn(img, a, thickness=10_000)
        np.testing.assert_array_equal(out[..., 0], 1.0)
        np.testing.assert_array_equal(out[..., 1], 0.0)


def test_huge_coordinates_draw_only_what_reaches_the_image():
    img = np.zeros((60, 80))
    # a circle of radius 1e9 whose bottom passes through row 5: only the visible arc
    # is sampled (the whole circle would be 1.3e10 samples)
    out = draw_circles(img, np.array([[40.0, -1e9, 1e9 + 5]]))[..., 0]
    assert out[5, 40] == 1 and out[5].sum() == 80 and out.sum() <= 3 * 80
    # a segment between far-away points is clipped before it is sampled
    out = draw_segments(img, np.array([[-1e15, 5.0, 1e15, 5.0]]))[..., 0]
    np.testing.assert_array_equal(out[5], 1.0)
    assert out.sum() == 80
    # ends so far apart that their difference overflows: no error, at most a stroke
    out = draw_segments(img, np.array([[-1e308, 5.0, 1e308, 5.0]]))[..., 0]
    assert out.sum() <= 80
    # shapes entirely outside the image draw nothing
    far = draw_circles(img, np.array([[1e300, 1e300, 1e300]]))
    assert draw_segments(img, np.array([[1e300, 1e300, 2e300, 2e300]])).sum() == 0
    assert far.sum() == 0


def test_draw_boxes_frames_the_box():
    from cvgeo.draw import draw_boxes

    img = np.zeros((12, 14))
    img[3:6, 4:9] = 0.5  # pixels rows 3..5, cols 4..8: the box (3.5, 2.5, 8.5, 5.5)
    out = draw_boxes(img, np.array([[3.5, 2.5, 8.5, 5.5]]), color=(0.0, 1.0, 0.0))
    ring = np.zeros((12, 14), bool)
    ring[2:7, 3:10] = True
    ring[3:6, 4:9] = False
    green = (out[..., 1] == 1) & (out[..., 0] == 0)
    np.testing.assert_array_equal(green, ring)
    np.testing.assert_array_equal(out[3:6, 4:9, 0], 0.5)  # the object is not covered
    assert draw_boxes(img, np.zeros((0, 4))).shape == (12, 14, 3)
    with pytest.raises(ValueError, match="draw_boxes: boxes must have x1 <= x2 and y1 <= y2"):
        draw_boxes(img, np.array([[5.0, 0, 1, 1]]))
