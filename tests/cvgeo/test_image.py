"""cvgeo.image: dtype conversion, grey, normalisation, resize, read/write."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.color
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st

import cvgeo
from cvgeo.image import as_float_image


# ------------------------------------------------------------------ to_float / to_uint8
def test_to_float_known_values():
    np.testing.assert_array_equal(cvgeo.to_float(np.array([[0, 51, 255]], np.uint8)),
                                  np.array([[0, 0.2, 1]], np.float32))
    np.testing.assert_allclose(cvgeo.to_float(np.array([[0, 65535]], np.uint16)), [[0, 1]])
    np.testing.assert_array_equal(cvgeo.to_float(np.array([[True, False]])), [[1, 0]])
    f = np.array([[0.25, 2.0]], np.float64)  # floats are taken as they are
    out = cvgeo.to_float(f)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.25, 2.0]])


def test_to_float_minmax_and_none():
    img = np.array([[1000, 2000, 3000]], np.uint16)  # 12-bit data in uint16
    np.testing.assert_allclose(cvgeo.to_float(img, scale="minmax"), [[0, 0.5, 1]])
    np.testing.assert_array_equal(cvgeo.to_float(img, scale=None), [[1000, 2000, 3000]])
    np.testing.assert_array_equal(cvgeo.to_float(np.full((2, 2), 7, np.uint8), "minmax"), 0)


def test_to_float_never_returns_its_input():
    img = np.zeros((3, 3), np.float32)
    out = cvgeo.to_float(img)
    assert out is not img and not np.shares_memory(out, img)


def test_to_uint8_round_trip_and_range_error():
    img = skimage.data.camera()
    np.testing.assert_array_equal(cvgeo.to_uint8(cvgeo.to_float(img)), img)
    np.testing.assert_array_equal(cvgeo.to_uint8(np.array([[0, 65535]], np.uint16)), [[0, 255]])
    with pytest.raises(ValueError, match=r"to_uint8: image must have values in \[0, 1\], got "
                                         r"range \[-0.5, 1\]"):
        cvgeo.to_uint8(np.array([[-0.5, 1.0]], np.float32))


def test_to_float_bad_scale():
    with pytest.raises(ValueError, match="to_float: scale must be one of 'dtype', 'minmax'"):
        cvgeo.to_float(np.zeros((2, 2)), scale="max")


# ---------------------------------------------------------------------------- to_gray
def test_to_gray_matches_skimage_on_astronaut(astronaut):
    ours = cvgeo.to_gray(astronaut)
    ref = skimage.color.rgb2gray(astronaut)
    assert ours.dtype == np.float32 and ours.shape == astronaut.shape[:2]
    np.testing.assert_allclose(ours, ref, atol=2e-6)


def test_to_gray_ignores_alpha_and_accepts_grey():
    rgb = np.random.default_rng(0).random((4, 5, 3)).astype(np.float32)
    rgba = np.concatenate([rgb, np.zeros((4, 5, 1), np.float32)], axis=2)
    np.testing.assert_array_equal(cvgeo.to_gray(rgba), cvgeo.to_gray(rgb))
    np.testing.assert_array_equal(cvgeo.to_gray(rgb[..., 0]), rgb[..., 0])
    with pytest.raises(ValueError, match=r"to_gray: image must have C in \{1, 3, 4\}"):
        cvgeo.to_gray(np.zeros((4, 4, 2)))


# -------------------------------------------------------------- normalize/denormalize
def test_normalize_matches_torchvision_formula():
    img = np.array([[[0, 128, 255]]], np.uint8)
    out = cvgeo.normalize(img, (0.5,) * 3, (0.5,) * 3)
    np.testing.assert_allclose(out, [[[-1.0, 128 / 255 * 2 - 1, 1.0]]], atol=1e-6)
    per_channel = cvgeo.normalize(img, (0.0, 0.5, 1.0), (1.0, 0.5, 0.25))
    np.testing.assert_allclose(per_channel, [[[0.0, (128 / 255 - 0.5) / 0.5, 0.0]]], atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-2, 2), min_size=3, max_size=3),
       st.lists(st.floats(0.05, 3), min_size=3, max_size=3))
def test_normalize_denormalize_round_trip(mean, std):
    img = np.random.default_rng(1).random((6, 7, 3)).astype(np.float32)
    back = cvgeo.denormalize(cvgeo.normalize(img, mean, std), mean, std)
    np.testing.assert_allclose(back, img, atol=1e-5)


@pytest.mark.parametrize("std, msg", [
    (0.0, r"normalize: std must be > 0.0, got 0.0"),
    (-1.0, r"normalize: std must be > 0.0, got -1.0"),
    ((1.0, 1.0), r"normalize: std must be a number or a sequence of 3 numbers"),
])
def test_normalize_bad_std(std, msg):
    with pytest.raises(ValueError, match=msg):
        cvgeo.normalize(np.zeros((2, 2, 3), np.uint8), 0.5, std)


def test_denormalize_needs_float():
    with pytest.raises(TypeError, match="denormalize: image must be a float array"):
        cvgeo.denormalize(np.zeros((2, 2), np.uint8), 0.5, 0.5)


# ----------------------------------------------------------------------------- resize
@pytest.mark.parametrize("shape, ours, theirs", [
    ((128, 171), "area", cv2.INTER_AREA),          # fractional shrink
    ((256, 256), "area", cv2.INTER_AREA),          # integer shrink
    ((700, 1031), "bilinear", cv2.INTER_LINEAR),   # enlarge
])
def test_resize_matches_opencv_on_astronaut(astronaut, shape, ours, theirs):
    img = cvgeo.to_float(astronaut)
    out = cvgeo.resize(astronaut, shape, interpolation=ours)
    ref = cv2.resize(img, (shape[1], shape[0]), interpolation=theirs)
    assert out.shape == shape + (3,) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_resize_nearest_is_centre_sampling(astronaut):
    out = cvgeo.resize(astronaut, (300, 200), interpolation="nearest")
    rows = np.floor((np.arange(300) + 0.5) * 512 / 300).astype(int)
    cols = np.floor((np.arange(200) + 0.5) * 512 / 200).astype(int)
    np.testing.assert_array_equal(out, cvgeo.to_float(astronaut)[rows][:, cols])
    # OpenCV's INTER_NEAREST_EXACT is the same rule in fixed point: ties may round apart
    ref = cv2.resize(cvgeo.to_float(astronaut), (200, 300), interpolation=cv2.INTER_NEAREST_EXACT)
    assert np.mean(np.any(out != ref, axis=2)) < 0.02


def test_resize_bicubic_keys_known_answer():
    # Keys a=-0.5 reproduces quadratics exactly away from the border
    x = np.arange(40, dtype=np.float64)
    ramp = np.tile((x / 40) ** 2, (4, 1)).astype(np.float32)
    out = cvgeo.resize(ramp, (4, 80), interpolation="bicubic")
    xs = (np.arange(80) + 0.5) * 0.5 - 0.5
    np.testing.assert_allclose(out[0, 6:-6], (xs[6:-6] / 40) ** 2, atol=1e-6)


def test_resize_auto_area_preserves_mean_and_identity():
    img = cvgeo.to_float(skimage.data.camera())
    small = cvgeo.resize(img, (128, 128))
    assert abs(float(small.mean()) - float(img.mean())) < 1e-5
    np.testing.assert_array_equal(cvgeo.resize(img, img.shape), img)


def test_resize_errors():
    with pytest.raises(ValueError, match=r"resize: output_shape\[0\] must be an int >= 1, got 0"):
        cvgeo.resize(np.zeros((4, 4)), (0, 3))
    with pytest.raises(ValueError, match="resize: output_shape must be a pair"):
        cvgeo.resize(np.zeros((4, 4)), 3)
    with pytest.raises(ValueError, match="resize: interpolation must be one of"):
        cvgeo.resize(np.zeros((4, 4)), (2, 2), interpolation="lanczos")


# ------------------------------------------------------------------------ read/write
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_write_read_round_trip(tmp_path, dtype, channels):
    rng = np.random.default_rng(2)
    shape = (9, 11) if channels is None else (9, 11, channels)
    img = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    path = cvgeo.write_image(tmp_path / "a.png", img)
    back = cvgeo.read_image(path)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, img)
    assert not list(tmp_path.glob("*.part"))  # the temporary file was renamed


def test_written_file_has_ordinary_permissions(tmp_path):
    import os
    import stat

    path = cvgeo.write_image(tmp_path / "p.png", np.zeros((2, 2), np.uint8))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_read_is_rgb_order(tmp_path):
    img = np.zeros((2, 2, 3), np.uint8)
    img[..., 0] = 255  # pure red
    cv2.imwrite(str(tmp_path / "red.png"), img[..., ::-1])  # OpenCV writes BGR
    np.testing.assert_array_equal(cvgeo.read_image(tmp_path / "red.png"), img)


def test_write_float_and_bool(tmp_path):
    cvgeo.write_image(tmp_path / "f.png", np.array([[0.0, 1.0]], np.float32))
    np.testing.assert_array_equal(cvgeo.read_image(tmp_path / "f.png"), [[0, 255]])
    cvgeo.write_image(tmp_path / "b.png", np.array([[True, False]]))
    np.testing.assert_array_equal(cvgeo.read_image(tmp_path / "b.png"), [[255, 0]])


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="read_image: path must name an existing file"):
        cvgeo.read_image(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"this is not an image")
    with pytest.raises(ValueError, match="read_image: .*junk.png' is not a readable image"):
        cvgeo.read_image(tmp_path / "junk.png")
    good = cvgeo.write_image(tmp_path / "big.png", np.zeros((40, 50), np.uint8))
    with pytest.raises(ValueError, match=r"read_image: image must have at most "
                                         r"max_pixels=1000 pixels, got 40x50 = 2000"):
        cvgeo.read_image(good, max_pixels=1000)
    data = good.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="read_image: .*cut.png'"):
        cvgeo.read_image(tmp_path / "cut.png")


def test_decompression_bomb_refused_before_decoding(tmp_path):
    # A PNG header claiming 100000 x 100000 pixels: refused from the header alone.
    import struct
    import zlib

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) \
        + chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(png)
    with pytest.raises(ValueError, match="read_image: .*bomb.png"):
        cvgeo.read_image(tmp_path / "bomb.png")


def test_write_errors(tmp_path):
    with pytest.raises(ValueError, match="write_image: path must end in an image extension"):
        cvgeo.write_image(tmp_path / "noext", np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"to_uint8: image must have values in \[0, 1\]"):
        cvgeo.write_image(tmp_path / "x.png", np.full((2, 2), 3.0))
    with pytest.raises(ValueError, match=r"write_image: image must have C in \{1, 3, 4\}"):
        cvgeo.write_image(tmp_path / "x.png", np.zeros((2, 2, 2), np.uint8))


# -------------------------------------------------------------------- as_float_image
def test_as_float_image_validation_messages():
    with pytest.raises(ValueError, match=r"^canny: image must be \(H, W\) or \(H, W, C\), "
                                         r"got shape \(3,\)$"):
        as_float_image(np.zeros(3), "canny")
    with pytest.raises(TypeError, match=r"^canny: image must have dtype uint8, uint16, bool, "
                                        r"float32 or float64, got int64$"):
        as_float_image(np.zeros((3, 3), np.int64), "canny")
    with pytest.raises(ValueError, match=r"^canny: image must be non-empty, got shape \(0, 4\)$"):
        as_float_image(np.zeros((0, 4)), "canny")
    bad = np.zeros((3, 3))
    bad[1, 1] = np.nan
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"^canny: image must be finite, got 1 NaN and 1 inf"):
        as_float_image(bad, "canny")
