"""Tests for cvgeo.filters: known answers, agreement with scipy.ndimage, properties, errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

import cvgeo
from cvgeo.filters import BORDERS, SCIPY_MODES, Gradient


def _scipy_sigma(img, sigma):
    return (sigma, sigma, 0) if img.ndim == 3 else sigma


# ------------------------------------------------------------------- known answers
def test_gaussian_kernel_matches_formula():
    k = cvgeo.gaussian_kernel(1.0, truncate=2.0)
    x = np.arange(-2, 3)
    expected = np.exp(-x**2 / 2) / np.exp(-x**2 / 2).sum()
    np.testing.assert_allclose(k, expected, rtol=1e-12)
    assert k.dtype == np.float64
    np.testing.assert_array_equal(cvgeo.gaussian_kernel(0.0), [1.0])
    assert cvgeo.gaussian_kernel(2.0).size == 2 * int(4.0 * 2.0 + 0.5) + 1
    assert cvgeo.gaussian_kernel(2.4, truncate=3.0).size == 2 * int(3.0 * 2.4 + 0.5) + 1


def test_separable_convolve_is_convolution_not_correlation():
    img = np.zeros((5, 7), np.float32)
    img[2, 3] = 1
    out = cvgeo.separable_convolve(img, np.array([1.0, 2.0, 3.0]), np.array([10.0, 0, -1]))
    expected = np.zeros((5, 7))
    expected[1:4, 2:5] = np.outer([10, 0, -1], [1, 2, 3])  # impulse response = the kernel
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert out.dtype == np.float32


def test_sobel_of_ramp_and_step():
    ramp = np.tile(np.arange(9, dtype=np.float32), (6, 1)) / 8
    g = cvgeo.sobel(ramp)
    np.testing.assert_allclose(g.gx[:, 1:-1], 1.0, atol=1e-6)  # 8 * slope 1/8
    np.testing.assert_allclose(g.gy, 0.0, atol=1e-7)
    step = np.zeros((6, 8), np.float32)
    step[:, 4:] = 1
    g = cvgeo.sobel(step)
    np.testing.assert_allclose(g.gx[2], [0, 0, 0, 4, 4, 0, 0, 0])
    np.testing.assert_allclose(g.magnitude[2], [0, 0, 0, 4, 4, 0, 0, 0])
    np.testing.assert_allclose(g.orientation[2, 3:5], 0.0)
    gt = cvgeo.sobel(step.T.copy())  # a horizontal step: gradient along +y, angle pi/2
    np.testing.assert_allclose(gt.orientation[3:5, 2], np.pi / 2)


def test_gaussian_gradient_of_ramp_is_slope():
    ramp = (np.tile(np.arange(64, dtype=np.float32), (16, 1)) * 0.01).astype(np.float32)
    g = cvgeo.gaussian_gradient(ramp, 2.0)
    # the sampled, truncated derivative kernel has first moment 1 - 3.5e-4 at sigma 2
    np.testing.assert_allclose(g.gx[:, 12:-12], 0.01, rtol=1e-3)
    np.testing.assert_allclose(g.gy, 0.0, atol=1e-6)


def test_gaussian_filter_sigma_zero_is_a_copy():
    img = np.arange(12, dtype=np.float32).reshape(3, 4) / 12
    out = cvgeo.gaussian_filter(img, 0.0)
    np.testing.assert_array_equal(out, img)
    assert not np.shares_memory(out, img)


def test_gaussian_filter_preserves_constant_exactly():
    img = np.full((20, 30), 0.3, np.float32)
    for border in ("edge", "reflect", "mirror", "wrap"):
        out = cvgeo.gaussian_filter(img, 2.5, border=border)
        assert np.ptp(out) == 0.0, border


# ------------------------------------------------------------- peer agreement
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape", [(37, 53), (5, 3), (1, 7), (24, 30, 3)])
def test_gaussian_filter_matches_scipy(border, shape, rng):
    img = rng.random(shape).astype(np.float32)
    for sigma in (0.6, 1.0, 2.0, 5.0):
        ours = cvgeo.gaussian_filter(img, sigma, border=border)
        ref = ndi.gaussian_filter(img.astype(np.float64), _scipy_sigma(img, sigma),
                                  mode=SCIPY_MODES[border])
        assert ours.dtype == np.float32 and ours.shape == img.shape
        np.testing.assert_allclose(ours, ref, atol=2e-6)


def test_gaussian_filter_matches_scipy_on_camera(camera):
    for sigma in (1.0, 2.0, 8.0):
        ours = cvgeo.gaussian_filter(camera, sigma)
        ref = ndi.gaussian_filter(camera / 255.0, sigma, mode="reflect")
        np.testing.assert_allclose(ours, ref, atol=1e-5)
    ours = cvgeo.gaussian_filter(camera, 1.5, truncate=2.0)
    ref = ndi.gaussian_filter(camera / 255.0, 1.5, truncate=2.0, mode="reflect")
    np.testing.assert_allclose(ours, ref, atol=1e-5)


@pytest.mark.parametrize("border", BORDERS)
def test_separable_convolve_matches_2d_convolution(border, rng):
    for shape in ((19, 23), (4, 6, 2), (2, 9)):
        img = rng.random(shape).astype(np.float32)
        rk, ck = rng.standard_normal(5), rng.standard_normal(3)
        k2 = np.outer(ck, rk)
        if img.ndim == 3:
            k2 = k2[:, :, None]
        ours = cvgeo.separable_convolve(img, rk, ck, border=border, cval=0.3)
        ref = ndi.convolve(img.astype(np.float64), k2, mode=SCIPY_MODES[border], cval=0.3)
        np.testing.assert_allclose(ours, ref, atol=1e-5)


@pytest.mark.parametrize("border", BORDERS)
def test_sobel_matches_scipy(border, astronaut):
    img = astronaut[:60, :70].astype(np.float64) / 255
    g = cvgeo.sobel(astronaut[:60, :70], border=border)
    for c in range(3):
        np.testing.assert_allclose(g.gx[..., c], ndi.sobel(img[..., c], axis=1,
                                   mode=SCIPY_MODES[border]), atol=1e-5)
        np.testing.assert_allclose(g.gy[..., c], ndi.sobel(img[..., c], axis=0,
                                   mode=SCIPY_MODES[border]), atol=1e-5)


@pytest.mark.parametrize("border", ["reflect", "mirror", "constant"])
def test_gaussian_gradient_matches_scipy(border, coins):
    img = coins[:80, :90].astype(np.float64) / 255
    for sigma in (0.8, 2.0):
        g = cvgeo.gaussian_gradient(coins[:80, :90], sigma, border=border)
        mode = SCIPY_MODES[border]
        np.testing.assert_allclose(g.gx, ndi.gaussian_filter(img, sigma, order=(0, 1),
                                                             mode=mode), atol=1e-6)
        np.testing.assert_allclose(g.gy, ndi.gaussian_filter(img, sigma, order=(1, 0),
                                                             mode=mode), atol=1e-6)


def test_gaussian_filter_matches_opencv(camera):
    import cv2

    img = camera.astype(np.float32) / 255
    ours = cvgeo.gaussian_filter(img, 2.0, border="mirror", truncate=3.0)
    ref = cv2.GaussianBlur(img, (13, 13), 2.0, borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


# ----------------------------------------------------------------------- properties
@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), sigma=st.floats(0.3, 4.0),
       border=st.sampled_from(BORDERS), seed=st.integers(0, 2**16))
def test_gaussian_filter_any_size_matches_scipy(h, w, sigma, border, seed):
    img = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    ref = ndi.gaussian_filter(img.astype(np.float64), sigma, mode=SCIPY_MODES[border])
    np.testing.assert_allclose(cvgeo.gaussian_filter(img, sigma, border=border), ref,
                               atol=2e-6)


def test_colour_is_per_channel_and_channels_differ(astronaut):
    out = cvgeo.gaussian_filter(astronaut, 1.7)
    assert not np.allclose(out[..., 0], out[..., 2])
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], cvgeo.gaussian_filter(astronaut[..., c], 1.7))


def test_gradient_is_frozen_dataclass():
    g = cvgeo.sobel(np.zeros((4, 4)))
    assert isinstance(g, Gradient)
    with pytest.raises(AttributeError):
        g.gx = None


# --------------------------------------------------- one Gaussian blur, two names
@pytest.mark.parametrize("border", ["constant", "edge", "reflect", "mirror", "wrap"])
def test_gaussian_blur_is_gaussian_filter_under_another_name(astronaut, border):
    """cvgeo.gaussian_blur (also cvgeo.fourier.gaussian_blur) is a documented alias: the
    same parameters give bit-identical results for every method, on both sides of the
    auto crossover (radius 8 spatial, radius 28 fft)."""
    import cvgeo.fourier

    assert cvgeo.fourier.gaussian_blur is cvgeo.gaussian_blur
    assert (inspect.signature(cvgeo.gaussian_blur).parameters.keys()
            == inspect.signature(cvgeo.gaussian_filter).parameters.keys())
    img = astronaut[:64, :80]
    for sigma in (2.0, 7.0):
        for method in ("auto", "spatial", "fft"):
            a = cvgeo.gaussian_filter(img, sigma, method=method, border=border, truncate=4.0)
            b = cvgeo.gaussian_blur(img, sigma, method=method, border=border, truncate=4.0)
            np.testing.assert_array_equal(a, b)
    auto = cvgeo.gaussian_filter(img, 7.0, border=border)
    np.testing.assert_array_equal(auto, cvgeo.gaussian_filter(img, 7.0, method="fft",
                                                              border=border))
    ref = ndi.gaussian_filter(img / 255.0, (7.0, 7.0, 0), mode=SCIPY_MODES[border])
    assert np.abs(auto - ref).max() <= 1e-5
    with pytest.raises(ValueError, match="^gaussian_blur: sigma must be >= 0.0, got -1"):
        cvgeo.gaussian_blur(img, -1.0)


# ------------------------------------------------------------------------- errors
def test_errors():
    img = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match="gaussian_filter: sigma must be >= 0.0, got -1"):
        cvgeo.gaussian_filter(img, -1.0)
    with pytest.raises(ValueError, match="gaussian_filter: sigma must be a finite number"):
        cvgeo.gaussian_filter(img, float("nan"))
    with pytest.raises(ValueError, match="gaussian_filter: border must be one of"):
        cvgeo.gaussian_filter(img, 1.0, border="nearest")
    with pytest.raises(ValueError, match="gaussian_filter: truncate must be > 0.0"):
        cvgeo.gaussian_filter(img, 1.0, truncate=0.0)
    with pytest.raises(ValueError, match="^gaussian_filter: method must be one of"):
        cvgeo.gaussian_filter(img, 1.0, method="iir")
    with pytest.raises(ValueError, match="gaussian_kernel: sigma must be >= 0.0"):
        cvgeo.gaussian_kernel(-0.5)
    with pytest.raises(ValueError, match="separable_convolve: row_kernel must be a 1-D array "
                                         "of odd length, got shape"):
        cvgeo.separable_convolve(img, np.ones(4), np.ones(3))
    with pytest.raises(ValueError, match="separable_convolve: col_kernel must be a 1-D array"):
        cvgeo.separable_convolve(img, np.ones(3), np.ones((3, 3)))
    with pytest.raises(ValueError, match="separable_convolve: row_kernel must be finite"):
        cvgeo.separable_convolve(img, np.array([1.0, np.nan, 1.0]), np.ones(3))
    with pytest.raises(TypeError, match="separable_convolve: col_kernel must be a 1-D numpy"):
        cvgeo.separable_convolve(img, np.ones(3), [1, 2, 1])
    with pytest.raises(ValueError, match="sobel: border must be one of"):
        cvgeo.sobel(img, border="zero")
    with pytest.raises(ValueError, match="gaussian_gradient: sigma must be > 0.0, got 0"):
        cvgeo.gaussian_gradient(img, 0.0)
    with pytest.raises(ValueError, match="gaussian_filter: image must be non-empty"):
        cvgeo.gaussian_filter(np.zeros((0, 5), np.float32), 1.0)
