"""Tests for cvgeo.pyramids: anti-aliased downsampling, Gaussian and Laplacian pyramids."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvgeo
import cvgeo.fourier
from cvgeo.pyramids import downsample, gaussian_pyramid, laplacian_pyramid
from tests.cvgeo.test_fourier import dct_cosine


def test_names_stay_reachable_from_fourier_and_top_level():
    for name in ("LaplacianPyramid", "downsample", "gaussian_pyramid", "laplacian_pyramid"):
        obj = getattr(cvgeo.pyramids, name)
        assert getattr(cvgeo.fourier, name) is obj and getattr(cvgeo, name) is obj


# ------------------------------------------------------------------ downsampling
def zone_plate(n: int, factor: int = 1):
    """cos(pi k r^2) zone plate of size n, k chosen so the local frequency k r reaches 0.5
    cycles/pixel at the corners. Returns (image in [0, 1] float32, function giving the
    local frequency at input coordinates (y, x), function giving the pattern there)."""
    c = (n - 1) / 2
    k = 0.5 / np.sqrt(2 * c * c)

    def pattern(y, x):
        return 0.5 + 0.5 * np.cos(np.pi * k * ((y - c) ** 2 + (x - c) ** 2))

    def local_frequency(y, x):
        return k * np.hypot(y - c, x - c)

    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    return pattern(yy, xx).astype(np.float32), local_frequency, pattern


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_zone_plate_aliasing_energy_at_least_10x_lower_than_naive(factor):
    """Aliasing energy, defined. The zone plate's local frequency at input coordinate
    (y, x) is f(y, x) = k r cycles/pixel. An ideally band-limited downsample keeps the
    pattern where f is below the new Nyquist fN = 1 / (2 factor) and is flat grey (0.5)
    where f > fN. So the aliasing energy of a downsampled image is
    sum((out - 0.5)^2) over its pixels whose sample position has f >= 1.1 fN (a 10 %
    margin for the pattern's local bandwidth): any structure there is a false pattern.
    Naive subsampling samples input pixels 0, factor, 2 factor, ...; ours samples block
    centres (i + 0.5) factor - 0.5; each is judged at its own sample positions."""
    n = 256  # divisible by 2 and 4; 3 gives ceil(256 / 3) = 86
    img, local_frequency, pattern = zone_plate(n)
    fn = 0.5 / factor
    naive = img[::factor, ::factor]
    ours = downsample(img, factor)
    assert ours.shape == naive.shape

    i = np.arange(ours.shape[0], dtype=np.float64)
    naive_pos = np.meshgrid(i * factor, i * factor, indexing="ij")
    centre = (i + 0.5) * n / ours.shape[0] - 0.5
    ours_pos = np.meshgrid(centre, centre, indexing="ij")

    def alias_energy(y, pos):
        region = local_frequency(*pos) >= 1.1 * fn
        assert region.mean() > 0.3  # a large part of the image is above the new Nyquist
        return float(((y - 0.5)[region] ** 2).sum()), int(region.sum())

    e_naive, n_naive = alias_energy(naive, naive_pos)
    e_ours, _ = alias_energy(ours, ours_pos)
    assert e_naive > 0.05 * n_naive  # the naive result is full of false rings
    assert e_ours * 10 <= e_naive
    # where the pattern is well below fN it is kept: compare with the pattern itself at
    # the sample positions (the chirp's local bandwidth grows with the filter's length,
    # hence the looser tolerance for larger factors)
    keep = local_frequency(*ours_pos) <= 0.3 * fn
    np.testing.assert_allclose(ours[keep], pattern(*ours_pos)[keep], atol=0.01 * factor)


def test_downsample_keeps_low_and_removes_high_tones():
    # a DCT tone cos(pi k (n + 1/2) / N) sampled at block centres is the same tone on M
    for shape in [(48, 96), (47, 95)]:
        low = dct_cosine(shape, 10)  # f = 10 / (2 N) ~ 0.052, well below 0.25
        np.testing.assert_allclose(downsample(low, 2), dct_cosine((24, 48), 10), atol=1e-6)
    high = dct_cosine((48, 96), 120)  # f = 120 / 192 = 0.3125 > 0.25 = new Nyquist
    np.testing.assert_allclose(downsample(high, 2), 0.5, atol=1e-6)
    edge = dct_cosine((48, 96), 47)  # f = 0.245: just below fN, in the transition band
    assert np.abs(downsample(edge, 2) - 0.5).max() < 0.01


@pytest.mark.parametrize("shape", [(17, 30), (16, 16, 3), (1, 5)])
def test_downsample_shapes(rng, shape):
    x = rng.random(shape).astype(np.float32)
    for factor in (1, 2, 3, 5):
        out = downsample(x, factor)
        assert out.shape == (-(-shape[0] // factor), -(-shape[1] // factor)) + shape[2:]
    np.testing.assert_array_equal(downsample(x, 1), x)


def test_downsample_errors():
    x = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match=r"^downsample: factor must be an int >= 1, got 0"):
        downsample(x, 0)
    with pytest.raises(TypeError, match=r"^downsample: factor must be an int, got 2.5"):
        downsample(x, 2.5)
    with pytest.raises(ValueError, match=r"^downsample: rolloff must be in \(0.0, 1.0\]"):
        downsample(x, 2, rolloff=0.0)


# ----------------------------------------------------------------------- pyramids
def test_gaussian_pyramid_matches_opencv_pyrdown(rng):
    import cv2

    for shape in [(64, 80), (63, 65), (5, 7)]:
        x = rng.random(shape).astype(np.float32)
        levels = gaussian_pyramid(x, levels=3)
        assert [lv.shape for lv in levels][1] == ((shape[0] + 1) // 2, (shape[1] + 1) // 2)
        np.testing.assert_allclose(levels[1], cv2.pyrDown(x), atol=1e-6)
        np.testing.assert_allclose(levels[2], cv2.pyrDown(cv2.pyrDown(x)), atol=1e-6)
        np.testing.assert_array_equal(levels[0], x)


def test_gaussian_pyramid_default_levels_and_constant(astronaut):
    levels = gaussian_pyramid(astronaut)
    assert [lv.shape[:2] for lv in levels] == [(512, 512), (256, 256), (128, 128), (64, 64),
                                                (32, 32), (16, 16), (8, 8)]
    const = gaussian_pyramid(np.full((37, 21), 0.3, np.float32), levels=4)
    for lv in const:
        np.testing.assert_allclose(lv, 0.3, atol=1e-6)


@pytest.mark.parametrize("shape", [(64, 64), (63, 65), (50, 37, 3), (1, 1), (2, 9)])
@pytest.mark.parametrize("a", [0.375, 0.4])
def test_laplacian_pyramid_reconstructs_exactly(rng, shape, a):
    x = rng.random(shape).astype(np.float32)
    levels = None if min(shape[:2]) < 8 else 5
    p = laplacian_pyramid(x, levels=levels, a=a)
    assert np.abs(p.reconstruct() - x).max() <= 1e-6
    assert p.levels[0].shape == x.shape and p.reconstruct().dtype == np.float32


def test_laplacian_pyramid_of_real_image(camera):
    p = laplacian_pyramid(camera[:301, :250], levels=6)
    assert [b.shape for b in p.levels] == [(301, 250), (151, 125), (76, 63), (38, 32),
                                           (19, 16), (10, 8)]
    assert np.abs(p.reconstruct() - camera[:301, :250] / 255.0).max() <= 1e-6
    g = gaussian_pyramid(camera[:301, :250], levels=6)
    np.testing.assert_array_equal(p.levels[-1], g[-1])
    assert abs(float(p.levels[1].mean())) < 0.01  # band-pass levels are centred on 0


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), seed=st.integers(0, 2**16),
       levels=st.integers(1, 4))
def test_laplacian_reconstruction_property(h, w, seed, levels):
    x = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    levels = min(levels, 1 + int(np.ceil(np.log2(max(h, w)))) if max(h, w) > 1 else 1)
    assert np.abs(laplacian_pyramid(x, levels=levels).reconstruct() - x).max() <= 1e-6


def test_pyramid_errors():
    x = np.zeros((16, 16), np.float32)
    with pytest.raises(ValueError, match=r"^gaussian_pyramid: levels must be an int in \[1, 5\]"):
        gaussian_pyramid(x, levels=6)
    with pytest.raises(ValueError, match=r"^laplacian_pyramid: levels must be an int in"):
        laplacian_pyramid(x, levels=0)
    with pytest.raises(ValueError, match=r"^laplacian_pyramid: a must be in \[0.0, 0.5\]"):
        laplacian_pyramid(x, a=0.6)

