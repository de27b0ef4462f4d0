"""Tests for cvgeo.fourier: known answers, peers (scipy, OpenCV), properties, errors.

Downsampling and pyramids are tested in test_pyramids.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

from cvgeo.fourier import (
    FrequencyFilter,
    apply_filter,
    fft_convolve,
    frequency_filter,
    frequency_grid,
    gaussian_blur,
    hybrid_image,
    hybrid_scales,
    spectrum,
)
from cvgeo.pyramids import downsample

# cvgeo border name -> scipy.ndimage mode
NDI_MODE = {"constant": "constant", "edge": "nearest", "reflect": "reflect",
            "mirror": "mirror", "wrap": "wrap"}


def dct_cosine(shape, k, axis=1):
    """0.5 + 0.5 cos(pi k (n + 1/2) / N) along ``axis``: a pure tone of frequency
    k / (2N) cycles/pixel whose symmetric extension is itself a pure tone."""
    n = shape[axis]
    t = np.cos(np.pi * k * (np.arange(n) + 0.5) / n)
    t = t[None, :] if axis == 1 else t[:, None]
    return (0.5 + 0.5 * np.broadcast_to(t, shape)).astype(np.float32)


# ---------------------------------------------------------------- grids, spectra
def test_frequency_grid_matches_fftfreq():
    g = frequency_grid((5, 8))
    np.testing.assert_allclose(g.fx.ravel(), [-0.5, -0.375, -0.25, -0.125, 0, 0.125, 0.25,
                                              0.375])
    np.testing.assert_allclose(g.fy.ravel(), [-0.4, -0.2, 0.0, 0.2, 0.4])
    raw = frequency_grid((5, 8), centered=False)
    np.testing.assert_allclose(raw.fx.ravel(), np.fft.fftfreq(8))
    assert g.radius.shape == (5, 8) and g.radius[2, 4] == 0.0
    np.testing.assert_allclose(g.radius[0, 0], np.hypot(0.4, 0.5))


def test_frequency_grid_errors_and_filter_transfer_layout():
    with pytest.raises(ValueError, match=r"^frequency_grid: shape must be a pair \(H, W\)"):
        frequency_grid((4,))
    with pytest.raises(ValueError, match=r"^frequency_grid: shape\[0\] must be an int >= 1"):
        frequency_grid((0, 4))
    filt = frequency_filter("lowpass", cutoff=0.2, kind="ideal")
    centred, raw = filt.transfer((8, 8)), filt.transfer((8, 8), centered=False)
    np.testing.assert_array_equal(centred, np.fft.fftshift(raw))
    assert centred[4, 4] == 1.0 and centred[0, 0] == 0.0 and raw[0, 0] == 1.0


@pytest.mark.parametrize("shape", [(64, 80), (33, 47)])
@pytest.mark.parametrize("window", ["none", "hann"])
def test_spectrum_parseval(rng, shape, window, camera):
    for x in (rng.random(shape).astype(np.float32), camera[:shape[0], :shape[1]]):
        s = spectrum(x, window=window)
        xf = x.astype(np.float64) / (255 if x.dtype == np.uint8 else 1)
        if window == "hann":
            xf = xf * np.outer(np.hanning(shape[0]), np.hanning(shape[1]))
        energy = float((xf ** 2).sum())
        assert abs(float(s.power.sum()) - energy) <= 1e-6 * energy


def test_spectrum_of_a_cosine_has_two_peaks_at_its_frequency():
    h, w, k = 32, 64, 5  # f = 5/64 cycles/pixel along x
    x = (0.5 + 0.25 * np.cos(2 * np.pi * k * np.arange(w) / w))[None].repeat(h, 0)
    s = spectrum(x)
    mag = s.magnitude
    peaks = np.argwhere(mag > 1e-6)
    assert sorted(map(tuple, peaks)) == [(16, 32 - k), (16, 32), (16, 32 + k)]
    np.testing.assert_allclose(s.grid.fx[0, 32 + k], k / w)
    np.testing.assert_allclose(mag[16, 32], 0.5 * np.sqrt(h * w))  # mean * sqrt(HW)
    np.testing.assert_allclose(mag[16, 32 + k], 0.125 * np.sqrt(h * w))
    assert s.log_magnitude.dtype == np.float32 and s.log_magnitude.max() == 1.0


def test_spectrum_phase_of_shifted_impulse():
    x = np.zeros((16, 16), np.float32)
    x[0, 1] = 1.0  # impulse one pixel right of the origin: phase = -2 pi fx
    s = spectrum(x)
    expected = np.angle(np.exp(-2j * np.pi * s.grid.fx)) * np.ones((16, 1))
    np.testing.assert_allclose(np.exp(1j * s.phase), np.exp(1j * expected), atol=1e-12)
    assert 0.0 <= s.phase_image.min() and s.phase_image.max() <= 1.0


def test_spectrum_rejects_colour_and_bad_window(astronaut):
    with pytest.raises(ValueError, match=r"^spectrum: image must be \(H, W\), got shape"):
        spectrum(astronaut)
    with pytest.raises(ValueError, match="^spectrum: window must be one of"):
        spectrum(astronaut[..., 0], window="hamming")


# ------------------------------------------------------------ frequency filters
def test_filter_profiles_known_values():
    rho = np.array([0.0, 0.1, 0.2, 0.4])
    ideal = frequency_filter("lowpass", cutoff=0.2, kind="ideal")
    np.testing.assert_array_equal(ideal(rho), [1, 1, 1, 0])
    gauss = frequency_filter("lowpass", cutoff=0.2, kind="gaussian")
    np.testing.assert_allclose(gauss(rho), np.exp(-0.5 * (rho / 0.2) ** 2))
    assert gauss(np.array(0.2)) == pytest.approx(np.exp(-0.5))
    for n in (1, 2, 5):
        bw = frequency_filter("lowpass", cutoff=0.2, kind="butterworth", order=n)
        assert bw(np.array(0.2)) == pytest.approx(0.5)  # squared form: 1/2 at cutoff
        np.testing.assert_allclose(bw(rho), 1 / (1 + (rho / 0.2) ** (2 * n)))
    hp = frequency_filter("highpass", cutoff=0.2, kind="butterworth", order=3)
    np.testing.assert_allclose(hp(rho), 1 - 1 / (1 + (rho / 0.2) ** 6))


@pytest.mark.parametrize("kind", ["ideal", "gaussian", "butterworth"])
def test_band_filters_are_products_and_complements(kind):
    rho = np.linspace(0, 0.7, 71)
    lo = frequency_filter("lowpass", cutoff=0.3, kind=kind)
    hi = frequency_filter("highpass", cutoff=0.1, kind=kind)
    bp = frequency_filter("bandpass", cutoff=(0.1, 0.3), kind=kind)
    bs = frequency_filter("bandstop", cutoff=(0.1, 0.3), kind=kind)
    np.testing.assert_allclose(bp(rho), lo(rho) * hi(rho))
    np.testing.assert_allclose(bs(rho), 1 - bp(rho))
    if kind == "ideal":
        np.testing.assert_array_equal(bp(rho) == 1, (rho > 0.1) & (rho <= 0.3))
    t = bp.transfer((32, 32))
    assert t.shape == (32, 32) and t[16, 16] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("kind", ["ideal", "gaussian", "butterworth"])
@pytest.mark.parametrize("band", ["lowpass", "highpass"])
def test_pure_sinusoid_is_kept_or_removed_as_the_cutoff_says(kind, band):
    shape, k = (40, 64), 16  # f0 = 16 / 128 = 0.125 cycles/pixel along x
    f0 = k / 128
    x = dct_cosine(shape, k)
    for cutoff in (0.05, 0.25):
        filt = frequency_filter(band, cutoff=cutoff, kind=kind)
        y = apply_filter(x, filt)
        # the mean (f = 0) goes through H(0); the tone through H(f0), exactly
        expected = 0.5 * filt(np.array(0.0)) + (x - 0.5) * filt(np.array(f0))
        np.testing.assert_allclose(y, expected, atol=2e-6)
        if kind == "ideal":
            kept = (cutoff > f0) == (band == "lowpass")
            tone = np.abs(y - 0.5 * filt(np.array(0.0))).max()
            amplitude = np.abs(x - 0.5).max()
            assert tone == pytest.approx(amplitude, abs=2e-6) if kept else tone <= 2e-6


def test_wrap_border_filters_a_periodic_sinusoid():
    h, w, k = 32, 48, 6  # f0 = 0.125, periodic on the image
    x = (0.5 + 0.5 * np.cos(2 * np.pi * k * np.arange(w) / w))[None].repeat(h, 0)
    y = apply_filter(x.astype(np.float32), frequency_filter("lowpass", cutoff=0.1, kind="ideal"),
                     border="wrap")
    np.testing.assert_allclose(y, 0.5, atol=2e-6)
    y = apply_filter(x.astype(np.float32), frequency_filter("highpass", cutoff=0.1,
                                                           kind="butterworth", order=4),
                     border="wrap")
    np.testing.assert_allclose(y, (x - 0.5) * (1 - 1 / (1 + (0.125 / 0.1) ** 8)), atol=2e-6)


@pytest.mark.parametrize("kind", ["ideal", "gaussian", "butterworth"])
@pytest.mark.parametrize("shape", [(24, 36), (23, 17)])
def test_reflect_equals_explicit_reflect_padding_and_fft(rng, kind, shape):
    """The DCT path is the FFT of the image reflect-padded to 2H x 2W, cropped."""
    x = rng.random(shape).astype(np.float32)
    filt = frequency_filter("bandpass", cutoff=(0.05, 0.2), kind=kind)
    h, w = shape
    padded = np.pad(x.astype(np.float64), ((0, h), (0, w)), mode="symmetric")
    gain = filt(np.hypot(np.fft.fftfreq(2 * h)[:, None], np.fft.fftfreq(2 * w)[None, :]))
    ref = np.real(np.fft.ifft2(np.fft.fft2(padded) * gain))[:h, :w]
    np.testing.assert_allclose(apply_filter(x, filt), ref, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 24), w=st.integers(1, 24), seed=st.integers(0, 2**16),
       kind=st.sampled_from(["ideal", "gaussian", "butterworth"]),
       low=st.floats(0.01, 0.3), width=st.floats(0.01, 0.3),
       border=st.sampled_from(["reflect", "wrap"]))
def test_complementary_filters_sum_to_identity(h, w, seed, kind, low, width, border):
    x = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    pairs = [("lowpass", "highpass", low), ("bandpass", "bandstop", (low, low + width))]
    for a, b, cut in pairs:
        fa = frequency_filter(a, cutoff=cut, kind=kind)
        fb = frequency_filter(b, cutoff=cut, kind=kind)
        total = apply_filter(x, fa, border=border) + apply_filter(x, fb, border=border)
        np.testing.assert_allclose(total, x, atol=1e-5)


def test_reflect_border_has_no_wrap_around():
    x = np.zeros((32, 32), np.float32)
    x[:, :8] = 1.0  # bright band on the left edge only
    filt = frequency_filter("lowpass", cutoff=0.05, kind="gaussian")
    reflect = apply_filter(x, filt)
    wrap = apply_filter(x, filt, border="wrap")
    assert reflect[:, -1].max() < 1e-3  # nothing leaks to the right edge
    assert wrap[:, -1].min() > 0.05  # the periodic FFT does leak


def test_apply_filter_colour_is_per_channel(astronaut):
    img = astronaut[100:164, 180:260]
    filt = frequency_filter("lowpass", cutoff=0.1, kind="butterworth")
    out = apply_filter(img, filt)
    for c in range(3):
        np.testing.assert_allclose(out[..., c], apply_filter(img[..., c], filt), atol=1e-6)
    assert not np.allclose(out[..., 0], out[..., 2], atol=1e-2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"band": "lowpass", "cutoff": 0.0}, r"cutoff must be > 0.0, got 0.0"),
        ({"band": "highpass", "cutoff": -0.1}, r"cutoff must be > 0.0, got -0.1"),
        ({"band": "lowpass", "cutoff": float("nan")}, r"cutoff must be a finite number"),
        ({"band": "bandpass", "cutoff": (0.3, 0.1)},
         r"cutoff must be \(low, high\) with low < high, got low=0.3 >= high=0.1"),
        ({"band": "bandstop", "cutoff": (0.2, 0.2)}, r"cutoff must be \(low, high\) with low"),
        ({"band": "bandpass", "cutoff": (0.0, 0.1)}, r"cutoff\[0\] \(low\) must be > 0.0"),
        ({"band": "bandpass", "cutoff": 0.1}, r"cutoff must be a pair \(low, high\)"),
        ({"band": "lowpass", "cutoff": (0.1, 0.2)}, r"cutoff must be one number"),
        ({"band": "notch", "cutoff": 0.1}, r"band must be one of"),
        ({"band": "lowpass", "cutoff": 0.1, "kind": "box"}, r"kind must be one of"),
        ({"band": "lowpass", "cutoff": 0.1, "order": 0}, r"order must be an int >= 1"),
    ],
)
def test_frequency_filter_errors(kwargs, message):
    band = kwargs.pop("band")
    with pytest.raises(ValueError, match=rf"^frequency_filter: {message}"):
        frequency_filter(band, **kwargs)


def test_apply_filter_errors():
    x = np.zeros((8, 8), np.float32)
    with pytest.raises(TypeError, match="^apply_filter: filt must be a FrequencyFilter"):
        apply_filter(x, lambda r: r)
    filt = frequency_filter("lowpass", cutoff=0.1)
    with pytest.raises(ValueError, match="^apply_filter: border must be one of"):
        apply_filter(x, filt, border="constant")
    assert isinstance(filt, FrequencyFilter)


# -------------------------------------------------------------- FFT convolution
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("kshape", [(5, 5), (4, 6), (1, 7), (9, 2)])
def test_fft_convolve_equals_scipy_signal(rng, mode, kshape):
    x = rng.random((37, 52)).astype(np.float32)
    k = rng.normal(size=kshape)
    k /= np.abs(k).sum()
    ours = fft_convolve(x, k, mode=mode, border="constant" if mode == "same" else None)
    ref = ss.convolve(x.astype(np.float64), k, mode=mode, method="direct")
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("border", ["constant", "edge", "reflect", "mirror", "wrap"])
def test_fft_convolve_borders_equal_ndimage_convolve(rng, border):
    x = rng.random((31, 40)).astype(np.float32)
    k = rng.random((7, 5))
    k /= k.sum()
    ref = ndi.convolve(x.astype(np.float64), k, mode=NDI_MODE[border])
    np.testing.assert_allclose(fft_convolve(x, k, border=border), ref, atol=1e-5, rtol=0)
    # even kernel: centre at index (k - 1) // 2, checked on an explicitly padded image
    k2 = rng.random((4, 6))
    pad = ((2, 1), (3, 2))
    np_mode = {"constant": "constant", "edge": "edge", "reflect": "symmetric",
               "mirror": "reflect", "wrap": "wrap"}[border]
    ref2 = ss.convolve(np.pad(x.astype(np.float64), pad, mode=np_mode), k2, mode="valid")
    np.testing.assert_allclose(fft_convolve(x, k2, border=border), ref2, atol=1e-5 * k2.sum())


def test_fft_convolve_large_kernel_and_colour(rng, astronaut):
    img = astronaut[:70, :90]
    k = rng.random((41, 33))
    k /= k.sum()
    ours = fft_convolve(img, k)
    ref = np.stack([ndi.convolve(img[..., c] / 255.0, k, mode="reflect") for c in range(3)], -1)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 20), w=st.integers(1, 20), kh=st.integers(1, 8), kw=st.integers(1, 8),
       seed=st.integers(0, 2**16))
def test_fft_convolve_full_property(h, w, kh, kw, seed):
    r = np.random.default_rng(seed)
    x = r.random((h, w)).astype(np.float32)
    k = r.normal(size=(kh, kw)) / (kh * kw)
    np.testing.assert_allclose(fft_convolve(x, k, mode="full"),
                               ss.convolve(x.astype(np.float64), k, method="direct"), atol=1e-5)


def test_fft_convolve_errors():
    x = np.zeros((8, 8), np.float32)
    with pytest.raises(TypeError, match="^fft_convolve: kernel must be a 2-D numpy array"):
        fft_convolve(x, [[1.0]])
    with pytest.raises(ValueError, match=r"^fft_convolve: kernel must be a non-empty 2-D"):
        fft_convolve(x, np.ones(3))
    with pytest.raises(ValueError, match="^fft_convolve: kernel must be finite"):
        fft_convolve(x, np.array([[np.nan]]))
    with pytest.raises(ValueError, match="^fft_convolve: border must be 'constant'"):
        fft_convolve(x, np.ones((3, 3)), mode="full", border="reflect")
    with pytest.raises(ValueError, match="^fft_convolve: kernel must fit inside the image"):
        fft_convolve(x, np.ones((9, 3)), mode="valid")
    with pytest.raises(ValueError, match="^fft_convolve: mode must be one of"):
        fft_convolve(x, np.ones((3, 3)), mode="circular")


# --------------------------------------------------------------- Gaussian blur
@pytest.mark.parametrize("border", ["constant", "edge", "reflect", "mirror", "wrap"])
@pytest.mark.parametrize("shape", [(64, 80), (67, 53), (1, 9), (2, 5), (30, 24, 3)])
def test_gaussian_blur_fft_equals_scipy(rng, border, shape):
    x = rng.random(shape).astype(np.float32)
    for sigma in (0.8, 3.0, 20.0):  # 20: radius 80, larger than the image
        ours = gaussian_blur(x, sigma, method="fft", border=border)
        sig = (sigma, sigma, 0) if x.ndim == 3 else sigma
        ref = ndi.gaussian_filter(x.astype(np.float64), sig, mode=NDI_MODE[border])
        assert ours.dtype == np.float32 and ours.shape == x.shape
        np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)


def test_gaussian_blur_fft_on_a_real_image_and_dct_sizes(camera):
    # 512 is a DCT size (pruned transform path); 509 is prime (padded real-FFT path)
    for img in (camera, camera[:509, :509]):
        x = img.astype(np.float64) / 255
        for sigma in (2.0, 8.0, 32.0):
            ours = gaussian_blur(img, sigma, method="fft")
            ref = ndi.gaussian_filter(x, sigma, mode="reflect")
            np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("border", ["constant", "edge", "reflect", "mirror", "wrap"])
def test_gaussian_blur_spatial_and_auto_agree_with_fft_and_scipy(astronaut, border):
    img = astronaut[:96, :128]
    x = img.astype(np.float64) / 255
    for sigma in (1.0, 2.0, 7.0):  # auto: radius 4, 8 spatial; 28 fft
        ref = ndi.gaussian_filter(x, (sigma, sigma, 0), mode=NDI_MODE[border])
        outs = [gaussian_blur(img, sigma, method=m, border=border)
                for m in ("auto", "spatial", "fft")]
        for out in outs:
            assert np.abs(out - ref).max() <= 1e-4  # the documented default accuracy
        np.testing.assert_allclose(outs[1], outs[2], atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 30), w=st.integers(1, 30), seed=st.integers(0, 2**16),
       sigma=st.floats(0.3, 12.0), truncate=st.floats(1.0, 5.0),
       border=st.sampled_from(["constant", "edge", "reflect", "mirror", "wrap"]))
def test_gaussian_blur_fft_matches_spatial_property(h, w, seed, sigma, truncate, border):
    x = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    fft = gaussian_blur(x, sigma, method="fft", border=border, truncate=truncate)
    spatial = gaussian_blur(x, sigma, method="spatial", border=border, truncate=truncate)
    np.testing.assert_allclose(fft, spatial, atol=1e-5)


def test_gaussian_blur_auto_picks_by_radius(monkeypatch, rng):
    import cvgeo.filters as filters
    import cvgeo.fourier as fourier
    import cvgeo.fourier.convolve as convolve

    calls = []
    monkeypatch.setattr(filters, "_correlate",
                        lambda x, *a: calls.append("spatial") or x.copy())
    monkeypatch.setattr(convolve, "gaussian_by_transform",
                        lambda x, *a, **k: calls.append("fft") or x.copy())
    x = rng.random((32, 32)).astype(np.float32)
    below = (filters.AUTO_FFT_RADIUS - 1) / 4  # radius AUTO_FFT_RADIUS - 1
    for blur in (gaussian_blur, filters.gaussian_filter):
        blur(x, below)
        blur(x, filters.AUTO_FFT_RADIUS / 4)
    assert calls == ["spatial", "fft"] * 2
    assert fourier.AUTO_FFT_RADIUS == filters.AUTO_FFT_RADIUS == 24


def test_gaussian_blur_truncate_and_zero_sigma(rng):
    x = rng.random((20, 30)).astype(np.float32)
    ref = ndi.gaussian_filter(x.astype(np.float64), 2.5, truncate=2.0)
    np.testing.assert_allclose(gaussian_blur(x, 2.5, method="fft", truncate=2.0), ref, atol=1e-5)
    out = gaussian_blur(x, 0.0)
    np.testing.assert_array_equal(out, x)
    assert out is not x


def test_gaussian_blur_errors():
    x = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match=r"^gaussian_blur: sigma must be >= 0.0, got -1"):
        gaussian_blur(x, -1)
    with pytest.raises(ValueError, match=r"^gaussian_blur: truncate must be > 0.0, got 0"):
        gaussian_blur(x, 1.0, truncate=0)
    with pytest.raises(ValueError, match="^gaussian_blur: method must be one of"):
        gaussian_blur(x, 1.0, method="iir")
    with pytest.raises(ValueError, match="^gaussian_blur: border must be one of"):
        gaussian_blur(x, 1.0, border="nearest")
    with pytest.raises(TypeError, match="^gaussian_blur: sigma must be a real number"):
        gaussian_blur(x, "2")


# --------------------------------------------------------------- hybrid images
def test_hybrid_image_known_answer():
    shape = (32, 64)
    low = dct_cosine(shape, 3)  # 3/128 cycles/pixel: passes the low-pass
    high = dct_cosine(shape, 50, axis=1)  # 50/128: passes the high-pass
    out = hybrid_image(low, high, low_cutoff=0.1, high_cutoff=0.2, kind="ideal", clip=False)
    # low keeps its mean and tone; high loses its mean (f = 0) and keeps its tone
    np.testing.assert_allclose(out, low + (high - 0.5), atol=2e-6)
    swapped = hybrid_image(high, low, low_cutoff=0.1, high_cutoff=0.2, kind="ideal")
    np.testing.assert_allclose(swapped, 0.5, atol=2e-6)  # both tones filtered out


def test_hybrid_image_is_lowpass_plus_highpass(astronaut, camera):
    a = astronaut[:128, :128, 1]
    b = camera[200:328, 200:328]
    out = hybrid_image(a, b, low_cutoff=0.03, high_cutoff=0.08, clip=False)
    lp = apply_filter(a, frequency_filter("lowpass", cutoff=0.03))
    hp = apply_filter(b, frequency_filter("highpass", cutoff=0.08))
    np.testing.assert_allclose(out, lp + hp, atol=1e-6)
    clipped = hybrid_image(a, b, low_cutoff=0.03, high_cutoff=0.08)
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    np.testing.assert_array_equal(clipped, np.clip(out, 0, 1))


def test_hybrid_image_errors():
    a = np.zeros((16, 16), np.float32)
    with pytest.raises(ValueError, match=r"^hybrid_image: low_image and high_image must have "
                                         r"the same shape .*got \(16, 16\) and \(16, 15\)"):
        hybrid_image(a, a[:, 1:], low_cutoff=0.1, high_cutoff=0.2)
    with pytest.raises(ValueError, match=r"^hybrid_image: low_cutoff must be > 0.0, got 0"):
        hybrid_image(a, a, low_cutoff=0, high_cutoff=0.2)
    with pytest.raises(ValueError, match=r"^hybrid_image: high_cutoff must be > 0.0, got -0.2"):
        hybrid_image(a, a, low_cutoff=0.1, high_cutoff=-0.2)
    with pytest.raises(ValueError, match=r"^hybrid_image: high_image must be finite"):
        hybrid_image(a, np.full((16, 16), np.nan), low_cutoff=0.1, high_cutoff=0.2)


def test_hybrid_scales_layout(astronaut):
    img = astronaut[:64, :96]
    out = hybrid_scales(img, 3, gap=2, background=1.0)
    assert out.shape == (64, 96 + 48 + 24 + 4, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, :96], img / 255.0, atol=1e-6)
    lo, hi = img.min() / 255.0, img.max() / 255.0
    np.testing.assert_allclose(out[32:, 98:146], np.clip(downsample(img, 2), lo, hi),
                               atol=1e-6)
    assert (out[:32, 98:146] == 1.0).all() and (out[:, 96:98] == 1.0).all()
    with pytest.raises(ValueError, match=r"^hybrid_scales: n must be at most 7"):
        hybrid_scales(img, 8)
    with pytest.raises(ValueError, match=r"^hybrid_scales: background must be in"):
        hybrid_scales(img, 2, background=2.0)
