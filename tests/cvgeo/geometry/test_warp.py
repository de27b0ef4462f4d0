"""Tests for cvgeo.geometry.warp."""

from __future__ import annotations

import importlib

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvgeo import DegenerateError
from cvgeo.geometry.warp import warp

H_PERSP = np.array([[1.05, 0.03, -8.0], [-0.02, 0.97, 5.0], [1e-4, -5e-5, 1.0]])


def _translation(tx, ty):
    return np.array([[1.0, 0, tx], [0, 1.0, ty], [0, 0, 1.0]])


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("border", ["constant", "edge", "reflect"])
def test_identity_returns_input(rng, interpolation, border):
    img = rng.random((23, 31, 3)).astype(np.float32)
    out = warp(img, np.eye(3), output_shape=(23, 31), interpolation=interpolation,
               border=border)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_integer_translation_shifts_exactly(rng, interpolation):
    img = rng.random((20, 30)).astype(np.float32)
    out = warp(img, _translation(3, -2), output_shape=(20, 30), interpolation=interpolation,
               cval=0.25)
    np.testing.assert_array_equal(out[:18, 3:], img[2:, :27])
    assert np.all(out[:, :3] == 0.25) and np.all(out[18:, :] == 0.25)


def test_borders_known_values():
    img = np.array([[0.1, 0.2, 0.3]], dtype=np.float32)
    shift = _translation(2, 0)  # dst x = src x + 2: dst column 0 reads src x = -2
    kw = dict(output_shape=(1, 5), interpolation="nearest")
    np.testing.assert_allclose(warp(img, shift, border="constant", cval=0.9, **kw),
                               [[0.9, 0.9, 0.1, 0.2, 0.3]])
    np.testing.assert_allclose(warp(img, shift, border="edge", **kw),
                               [[0.1, 0.1, 0.1, 0.2, 0.3]])
    # half-sample symmetric: x=-1 -> 0, x=-2 -> 1
    np.testing.assert_allclose(warp(img, shift, border="reflect", **kw),
                               [[0.2, 0.1, 0.1, 0.2, 0.3]])


def test_bilinear_half_pixel():
    img = np.array([[0.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    out = warp(img, _translation(-0.5, -0.5), output_shape=(1, 1))
    np.testing.assert_allclose(out, [[0.5]], atol=1e-7)


@pytest.mark.parametrize("colour", [False, True])
def test_agrees_with_cv2_bilinear_interior(rng, colour, astronaut):
    for img in (rng.random((64, 80, 3) if colour else (64, 80)).astype(np.float32),
                (astronaut[::4, ::4] / 255).astype(np.float32)[..., :3 if colour else 1]
                .squeeze()):
        h, w = img.shape[:2]
        H = H_PERSP.copy()
        H[0, 2], H[1, 2] = -3.0, 2.0
        ours = warp(img, H, output_shape=(h, w), interpolation="bilinear")
        ref = cv2.warpPerspective(img, H, (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        # cv2 without WARP_INVERSE_MAP inverts H itself: same convention as ours
        ref = ref.reshape(ours.shape)
        np.testing.assert_allclose(ours[6:-6, 6:-6], ref[6:-6, 6:-6], atol=1e-4)


def test_agrees_with_cv2_nearest_and_reflect(rng):
    img = rng.random((40, 50)).astype(np.float32)
    A = np.array([[0.9, 0.1, 10.3], [-0.1, 0.9, -7.7], [0, 0, 1]])
    ours = warp(img, A, output_shape=(40, 50), interpolation="bilinear", border="reflect")
    ref = cv2.warpPerspective(img, A, (50, 40), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


@pytest.mark.parametrize("interpolation,atol", [("bicubic", 2e-4), ("bilinear", 3e-3)])
def test_interpolates_a_smooth_function(interpolation, atol):
    # the warped image must equal the function evaluated at H^-1 (x, y); the cubic
    # (Keys, third-order accurate) gets much closer than bilinear
    def f(x, y):
        return 0.5 + 0.4 * np.sin(x / 9.0) * np.cos(y / 7.0)

    yy, xx = np.mgrid[0:60, 0:70].astype(np.float64)
    img = f(xx, yy).astype(np.float32)
    ours = warp(img, H_PERSP, output_shape=(60, 70), interpolation=interpolation)
    p = np.linalg.inv(H_PERSP) @ np.stack([xx.ravel(), yy.ravel(), np.ones(xx.size)])
    truth = f(p[0] / p[2], p[1] / p[2]).reshape(60, 70)
    err = np.abs(ours - truth)[10:-10, 10:-10]
    assert err.max() < atol


def test_colour_equals_per_channel(rng):
    img = rng.random((30, 40, 3)).astype(np.float32)
    out = warp(img, H_PERSP, output_shape=(25, 35), interpolation="bicubic", border="reflect")
    for k in range(3):
        np.testing.assert_array_equal(
            out[..., k], warp(img[..., k], H_PERSP, output_shape=(25, 35),
                              interpolation="bicubic", border="reflect"))
    assert not np.array_equal(out[..., 0], out[..., 1])


def test_uint8_input_and_scale_invariance(rng):
    img = (rng.random((20, 20)) * 255).astype(np.uint8)
    a = warp(img, H_PERSP, output_shape=(20, 20))
    b = warp(img.astype(np.float32) / 255, 7.5 * H_PERSP, output_shape=(20, 20))
    np.testing.assert_allclose(a, b, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(tx=st.floats(-5, 5), ty=st.floats(-5, 5), angle=st.floats(-0.3, 0.3))
def test_warp_then_inverse_warp_is_identity_inside(tx, ty, angle):
    yy, xx = np.mgrid[0:40, 0:40].astype(np.float32)
    img = (0.5 + 0.4 * np.sin(xx / 6.0 + yy / 9.0)).astype(np.float32)
    c, s = np.cos(angle), np.sin(angle)
    H = np.array([[c, -s, tx], [s, c, ty], [0, 0, 1.0]])
    there = warp(img, H, output_shape=(40, 40), interpolation="bicubic", border="edge")
    back = warp(there, np.linalg.inv(H), output_shape=(40, 40), interpolation="bicubic",
                border="edge")
    # only the centre survives both trips (the corners rotate out of the canvas)
    np.testing.assert_allclose(back[14:26, 14:26], img[14:26, 14:26], atol=0.02)


def test_errors(rng):
    img = rng.random((10, 10)).astype(np.float32)
    with pytest.raises(DegenerateError, match="warp: H must be invertible"):
        warp(img, np.zeros((3, 3)), output_shape=(5, 5))
    with pytest.raises(ValueError, match="warp: H must be finite"):
        warp(img, np.full((3, 3), np.nan), output_shape=(5, 5))
    with pytest.raises(ValueError, match="warp: H must have shape"):
        warp(img, np.eye(2), output_shape=(5, 5))
    with pytest.raises(ValueError, match="warp: interpolation must be one of"):
        warp(img, np.eye(3), output_shape=(5, 5), interpolation="lanczos")
    with pytest.raises(ValueError, match="warp: border must be one of"):
        warp(img, np.eye(3), output_shape=(5, 5), border="wrap")
    with pytest.raises(ValueError, match="warp: output_shape"):
        warp(img, np.eye(3), output_shape=(0, 5))
    with pytest.raises(TypeError, match="warp: image must be a numpy array"):
        warp(img.tolist(), np.eye(3), output_shape=(5, 5))


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (2, 2)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_tiny_images_against_cv2_edge(rng, shape, interpolation):
    img = rng.random(shape).astype(np.float32)
    np.testing.assert_array_equal(
        warp(img, np.eye(3), output_shape=shape, interpolation=interpolation), img)
    if interpolation == "bilinear":
        H = _translation(0.3, -0.6)
        ours = warp(img, H, output_shape=shape, border="edge")
        ref = cv2.warpPerspective(img, H, shape[::-1], flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
        np.testing.assert_allclose(ours, ref.reshape(shape), atol=1e-4)


def _fast_kernel(warp_module, img, Hinv, out_h, out_w, *options):
    """The fast kernel into a new array (without the value check), as warp() runs it."""
    out = np.empty((out_h, out_w, img.shape[2]), dtype=np.float32)
    assert warp_module._warp_fast_kernel(img, Hinv, out, *options, False) == 0
    return out


def _random_homography(rng):
    H = np.eye(3) + rng.normal(0, 0.2, (3, 3))
    H[2, :2] *= 0.05
    H[:2, 2] = rng.normal(0, 5, 2)
    return H


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("border", ["constant", "edge", "reflect"])
def test_fast_kernel_equals_reference(rng, interpolation, border):
    """The row-pass kernel against the plain per-pixel reference: 1 to 4 channels,
    random homographies (taps inside, across the border and far outside), and a map
    whose line at infinity crosses the canvas (NaN source points)."""
    warp_module = importlib.import_module("cvgeo.geometry.warp")  # the package re-exports warp

    interp = {"nearest": 0, "bilinear": 1, "bicubic": 2}[interpolation]
    bord = {"constant": 0, "edge": 1, "reflect": 2}[border]
    cases = [(_random_homography(rng), (int(rng.integers(1, 30)), int(rng.integers(1, 30)),
                                        int(rng.integers(1, 5)))) for _ in range(12)]
    # H^-1's last row (0.02, 0, -0.5) vanishes on the output column x = 25
    cases.append((np.linalg.inv(np.array([[1.0, 0, 0], [0, 1, 0], [0.02, 0, -0.5]])),
                  (20, 20, 3)))
    for H, shape in cases:
        img = rng.random(shape, dtype=np.float32)
        Hinv = np.linalg.inv(H)
        args = (img, Hinv, 23, 37, interp, bord, np.float32(0.25))
        ref = warp_module._warp_reference_kernel(*args)
        fast = _fast_kernel(warp_module, *args)
        if interpolation == "nearest":  # the same arithmetic: equal
            np.testing.assert_array_equal(fast, ref)
        else:
            # fused multiply-adds: a few float32 roundings apart on values in [0, 1]; except
            # on the line at infinity itself, where whether w rounds to exactly 0 (no source
            # point: fill) or to a tiny number (a point far out: a border value) is rounding
            w = Hinv[2, 0] * np.arange(37)[None, :] + Hinv[2, 1] * np.arange(23)[:, None] \
                + Hinv[2, 2]
            defined = np.abs(w) > 1e-9
            np.testing.assert_allclose(fast[defined], ref[defined], rtol=0, atol=1e-6)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_one_channel_rows_equal_the_reference(rng, interpolation):
    """One channel takes its own gather loop (one load per tap, no tests; the pixels
    with a tap outside read offset 0 there and are redone by the border path): sources
    too thin for a tap block (1 x N, N x 1, 3 x 3: no pixel inside for bicubic) and one
    spanning several tiles, every border, against the per-pixel reference."""
    warp_module = importlib.import_module("cvgeo.geometry.warp")
    interp = {"nearest": 0, "bilinear": 1, "bicubic": 2}[interpolation]
    H = np.array([[1.02, 0.05, -0.7], [-0.03, 0.98, 0.4], [2e-3, -1e-3, 1.0]])
    for shape, out_shape in (((1, 40, 1), (3, 45)), ((40, 1, 1), (45, 3)),
                             ((3, 3, 1), (5, 5)), ((70, 150, 1), (75, 160))):
        img = rng.random(shape, dtype=np.float32)
        for border in (0, 1, 2):
            args = (img, np.linalg.inv(H), *out_shape, interp, border, np.float32(0.5))
            ref = warp_module._warp_reference_kernel(*args)
            fast = _fast_kernel(warp_module, *args)
            if interpolation == "nearest":
                np.testing.assert_array_equal(fast, ref)
            else:
                np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-6)


def test_parallel_equals_serial(astronaut):
    """cvgeo.set_num_threads(2) runs bands of rows on two threads, with the same result."""
    import cvgeo

    img = astronaut[::2, ::2]
    previous = cvgeo.set_num_threads(2)
    try:
        par = {i: warp(img, H_PERSP, output_shape=(250, 270), interpolation=i)
               for i in ("nearest", "bilinear", "bicubic")}
    finally:
        cvgeo.set_num_threads(previous)
    for interp, out in par.items():
        np.testing.assert_array_equal(
            out, warp(img, H_PERSP, output_shape=(250, 270), interpolation=interp))


#: Pixels of the astronaut (float32 / 255) warped by H_PERSP onto 512x512 with the reflect
#: border: recorded values (7 significant digits) that any change to the kernels must
#: keep. The corners take the border path, the others the interior one.
_KNOWN_PIXELS = [(0, 0), (3, 200), (256, 256), (100, 505), (511, 511), (480, 20)]
_KNOWN_VALUES = {
    "nearest": [[0.6588235, 0.6313726, 0.6078432], [0.7921569, 0.7529412, 0.7529412],
                [0.5960785, 0.5686275, 0.5764706], [0.654902, 0.6470588, 0.6509804],
                [0.09803922, 0.07843138, 0.08627451], [0.4470588, 0.04705882, 0.1137255]],
    "bilinear": [[0.6833454, 0.6559095, 0.6323489], [0.7926241, 0.7534989, 0.7507579],
                 [0.5939025, 0.5740387, 0.5790563], [0.6549008, 0.6469976, 0.6515104],
                 [0.1861259, 0.1587373, 0.1735977], [0.4587502, 0.04939478, 0.1080118]],
    "bicubic": [[0.6870621, 0.6598111, 0.6342717], [0.7934202, 0.7544726, 0.752883],
                [0.594979, 0.5733019, 0.5791306], [0.6547838, 0.6469898, 0.6512453],
                [0.1748008, 0.1450971, 0.1627479], [0.4589628, 0.04917112, 0.1089544]],
}


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_known_values_on_a_real_image(astronaut, interpolation):
    img = astronaut.astype(np.float32) / 255
    out = warp(img, H_PERSP, output_shape=(512, 512), interpolation=interpolation,
               border="reflect")
    got = [out[r, c] for r, c in _KNOWN_PIXELS]
    # 1e-6: the values are printed to 7 significant digits
    np.testing.assert_allclose(got, _KNOWN_VALUES[interpolation], rtol=0, atol=1e-6)


@pytest.mark.parametrize("interpolation,flag", [("nearest", cv2.INTER_NEAREST),
                                                ("bilinear", cv2.INTER_LINEAR),
                                                ("bicubic", cv2.INTER_CUBIC)])
def test_agrees_with_cv2_on_a_real_image_every_mode(astronaut, interpolation, flag):
    """Bilinear agrees to float32 rounding; cv2's bicubic quantises the sub-pixel position
    to 1/32 pixel (a median difference ~6e-4 here); nearest differs only on the rare
    pixels whose source point lies within rounding of a half-pixel (cv2 rounds half to
    even, and computes the point differently)."""
    img = astronaut.astype(np.float32) / 255
    ours = warp(img, H_PERSP, output_shape=(512, 512), interpolation=interpolation)
    ref = cv2.warpPerspective(img, H_PERSP, (512, 512), flags=flag)
    inner = (slice(12, -12), slice(12, -12))
    diff = np.abs(ours - ref)[inner]
    if interpolation == "nearest":
        assert np.mean(diff.max(-1) > 1e-6) < 1e-3
    elif interpolation == "bilinear":
        assert diff.max() < 1e-5
    else:
        assert np.percentile(diff, 99) < 0.03 and np.median(diff) < 2e-3


def test_fill_is_the_deprecated_name_of_cval(rng):
    img = rng.random((6, 7)).astype(np.float32)
    shift = _translation(2.5, 0)
    with pytest.warns(DeprecationWarning, match="warp: the keyword 'fill' is deprecated"):
        old = warp(img, shift, output_shape=(6, 7), fill=0.75)
    np.testing.assert_array_equal(old, warp(img, shift, output_shape=(6, 7), cval=0.75))
    assert np.all(old[:, :2] == 0.75)
    with pytest.raises(TypeError, match="warp: got both 'fill' and its new name 'cval'"):
        warp(img, shift, output_shape=(6, 7), fill=0.75, cval=0.5)


def test_image_values_checked_for_every_layout(rng):
    """The float32 fast check and the general one refuse the same images."""
    img = rng.random((12, 10, 3)).astype(np.float32)
    for bad, what in ((np.nan, "finite"), (np.inf, "finite"), (3e10, "magnitude")):
        for layout in (lambda a: a, lambda a: a[:, ::-1], lambda a: a.astype(np.float64)):
            x = img.copy()
            x[7, 3, 1] = bad
            with pytest.raises(ValueError, match=f"^warp: image must .*{what}"):
                warp(layout(x), np.eye(3), output_shape=(4, 4))
    x = img.copy()
    x[0, 0, 0] = 1e10  # the largest accepted magnitude
    assert warp(x, np.eye(3), output_shape=(2, 2))[0, 0, 0] == np.float32(1e10)
    np.testing.assert_array_equal(warp(img[:, ::-1], np.eye(3), output_shape=(12, 10)),
                                  img[:, ::-1])


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_fast_kernel_equals_reference_across_tiles(rng, interpolation):
    """Outputs spanning several 16 x 64 tiles: flips, a quarter turn, a strong shrink and
    a strong perspective (each row's inside span in closed form, both orientations of x
    and y along a row), against the per-pixel reference."""
    warp_module = importlib.import_module("cvgeo.geometry.warp")
    interp = {"nearest": 0, "bilinear": 1, "bicubic": 2}[interpolation]
    img = rng.random((41, 57, 2), dtype=np.float32)
    c, s = np.cos(1.2), np.sin(1.2)
    maps = [np.array([[-1.0, 0, 56], [0, 1, 0], [0, 0, 1]]),  # x flipped
            np.array([[0, -1.0, 40], [1, 0, 0], [0, 0, 1]]),  # quarter turn
            np.array([[0.3, 0, 2], [0, 0.35, 1], [0, 0, 1]]),  # shrink
            np.array([[c, -s, 30], [s, c, -20], [2e-3, -3e-3, 1]]),
            np.array([[2.0, 0.1, -5], [-0.2, 1.5, 3], [-4e-3, 1e-3, 1]])]
    for H in maps:
        for border in (0, 1):
            Hinv = np.linalg.inv(H)
            args = (img, Hinv / np.abs(Hinv).max(), 37, 150, interp, border, np.float32(0.5))
            ref = warp_module._warp_reference_kernel(*args)
            fast = _fast_kernel(warp_module, *args)
            if interpolation == "nearest":
                np.testing.assert_array_equal(fast, ref)
            else:  # fused multiply-adds in the fast kernel: float32 roundings apart
                np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("channels", [3, 4])
def test_four_lane_pixels_at_the_source_end(rng, interpolation, channels):
    """Three and four channels take one four-lane operation per pixel; pixels whose taps
    reach the source's last pixel (reads that would pass its end) and a tile row's last
    pixel take the channel loop. Every pixel equals the one-channel warp of its channel
    (same arithmetic on both paths) and the reference kernel."""
    warp_module = importlib.import_module("cvgeo.geometry.warp")
    interp = {"nearest": 0, "bilinear": 1, "bicubic": 2}[interpolation]
    img = rng.random((9, 70, channels), dtype=np.float32)
    # sub-pixel shifts towards the bottom-right corner: the last rows and columns read
    # the source's last pixels (with the second, nearest reads the very last one from a
    # pixel that is not its tile row's last); 70 columns: a full tile row and a partial one
    for H in (_translation(-0.37, -0.41), _translation(-1.37, -1.41)):
        out = warp(img, H, output_shape=(9, 70), interpolation=interpolation,
                   border="edge")
        for k in range(channels):
            np.testing.assert_array_equal(
                out[..., k], warp(img[..., k], H, output_shape=(9, 70),
                                  interpolation=interpolation, border="edge"))
        ref = warp_module._warp_reference_kernel(img, np.linalg.inv(H), 9, 70, interp, 1,
                                                 np.float32(0))
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6)
        if interpolation == "nearest":
            np.testing.assert_array_equal(out[7, 68], img[8, 69] if H[0, 2] < -1
                                          else img[7, 68])
        if interpolation == "bilinear" and H[0, 2] > -1:
            # the interior pixel (4, 30) by hand: x = 30.37, y = 4.41
            fx, fy = 0.37, 0.41
            want = ((1 - fy) * ((1 - fx) * img[4, 30] + fx * img[4, 31])
                    + fy * ((1 - fx) * img[5, 30] + fx * img[5, 31]))
            np.testing.assert_allclose(out[4, 30], want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_far_columns_are_cval_under_the_constant_border(rng, interpolation):
    """A canvas much larger than the source: most columns have no tap inside (the outer
    span per row), they are cval; the rest equals the reference kernel."""
    warp_module = importlib.import_module("cvgeo.geometry.warp")
    interp = {"nearest": 0, "bilinear": 1, "bicubic": 2}[interpolation]
    img = rng.random((20, 30, 3), dtype=np.float32)
    H = np.array([[2.6, 0.2, 60.0], [-0.1, 2.4, 15.0], [1e-3, 2e-3, 1.0]])
    out = warp(img, H, output_shape=(90, 200), interpolation=interpolation, cval=0.75)
    Hinv = np.linalg.inv(H / np.abs(H).max())
    ref = warp_module._warp_reference_kernel(img, Hinv, 90, 200, interp, 0, np.float32(0.75))
    if interpolation == "nearest":
        np.testing.assert_array_equal(out, ref)
    else:
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6)
    far = np.all(out == np.float32(0.75), axis=-1)
    assert 0.5 < far.mean() < 0.95  # most of the canvas, not all of it


def test_value_check_on_the_parallel_path(rng):
    """With several threads each band checks its own source rows: a NaN anywhere raises,
    also where no output pixel reads it."""
    import cvgeo

    img = rng.random((64, 48, 3)).astype(np.float32)
    previous = cvgeo.set_num_threads(2)
    try:
        for r in (0, 37, 63):
            bad = img.copy()
            bad[r, 47, 2] = np.nan
            with pytest.raises(ValueError, match="^warp: image must be finite"):
                warp(bad, np.eye(3), output_shape=(8, 8))
        ok = warp(img, H_PERSP, output_shape=(64, 48))
    finally:
        cvgeo.set_num_threads(previous)
    np.testing.assert_array_equal(ok, warp(img, H_PERSP, output_shape=(64, 48)))
