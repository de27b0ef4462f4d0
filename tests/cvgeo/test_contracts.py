"""Contract tests generated from one registry of public image functions.

Every public function that takes an image is listed in ``CONTRACTS`` with a call that
fixes its other arguments. Each is checked to: reject NaN/inf and a wrong number of
dimensions with its own name in the message; give the same answer for a uint8 image and
its float32 / 255 copy; never mutate its input; give the same answer twice.
Add a line here when you add a public image function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np
import pytest
import skimage.data

import cvgeo


@dataclass(frozen=True)
class Contract:
    name: str                      # the function name the error message must carry
    call: Callable[[np.ndarray], Any]
    colour: bool = True            # accepts (H, W, 3) as well as (H, W)
    atol: float = 1e-5             # uint8-vs-float tolerance for float outputs


CONTRACTS = [
    Contract("to_float", lambda im: cvgeo.to_float(im)),
    Contract("to_gray", lambda im: cvgeo.to_gray(im)),
    Contract("normalize", lambda im: cvgeo.normalize(im, 0.5, 0.25)),
    Contract("resize", lambda im: cvgeo.resize(im, (37, 53))),
    Contract("to_uint8", lambda im: cvgeo.to_uint8(im), atol=0),
    Contract("warp", lambda im: cvgeo.warp(im, np.array([[0.9, 0.1, 3.5], [-0.12, 1.05, -2.0],
                                                         [4e-4, -3e-4, 1.0]]),
                                           output_shape=(50, 70))),
    Contract("gaussian_filter", lambda im: cvgeo.gaussian_filter(im, 1.5)),
    Contract("separable_convolve",
             lambda im: cvgeo.separable_convolve(im, np.array([1.0, 2.0, -1.0]),
                                                 np.array([0.25, 0.5, 0.25]))),
    Contract("sobel", lambda im: cvgeo.sobel(im), atol=1e-4),
    Contract("gaussian_gradient", lambda im: cvgeo.gaussian_gradient(im, 1.0)),
    Contract("canny", lambda im: cvgeo.canny(im, sigma=1.0)),
    # fourier
    Contract("spectrum", lambda im: cvgeo.spectrum(im, window="hann"), colour=False,
             atol=1e-4),
    Contract("apply_filter", lambda im: cvgeo.apply_filter(
        im, cvgeo.frequency_filter("bandpass", cutoff=(0.05, 0.2), kind="butterworth"))),
    Contract("fft_convolve", lambda im: cvgeo.fft_convolve(
        im, np.arange(15.0).reshape(3, 5) / 105.0)),
    Contract("gaussian_blur", lambda im: cvgeo.gaussian_blur(im, 3.0, method="fft")),
    Contract("gaussian_blur", lambda im: cvgeo.gaussian_blur(im, 1.5)),  # auto: spatial
    Contract("hybrid_image", lambda im: cvgeo.hybrid_image(
        im, im[::-1], low_cutoff=0.05, high_cutoff=0.1)),
    Contract("hybrid_scales", lambda im: cvgeo.hybrid_scales(im, 3)),
    Contract("downsample", lambda im: cvgeo.downsample(im, 3)),
    Contract("gaussian_pyramid", lambda im: cvgeo.gaussian_pyramid(im, levels=3)),
    Contract("laplacian_pyramid", lambda im: cvgeo.laplacian_pyramid(im, levels=3)),
    Contract("pixel_features", lambda im: cvgeo.pixel_features(im, spatial_weight=0.5)),
    Contract("kmeans_segment", lambda im: cvgeo.kmeans_segment(im, 5, seed=0)),
    Contract("mean_shift_segment",
             lambda im: cvgeo.mean_shift_segment(im, spatial_bw=4, range_bw=0.1)),
    Contract("felzenszwalb", lambda im: cvgeo.felzenszwalb(im, scale=100, sigma=0.8)),
]

IDS = [c.name for c in CONTRACTS]


def _image(colour: bool) -> np.ndarray:
    img = skimage.data.astronaut()[100:164, 180:260]  # real texture, (64, 80, 3)
    return img if colour else img[..., 1].copy()


def _outputs(result: Any) -> list[np.ndarray]:
    """Every array in a result (an array, or a frozen dataclass of arrays)."""
    if isinstance(result, np.ndarray):
        return [result]
    if is_dataclass(result):
        return [v for f in fields(result) for v in _outputs(getattr(result, f.name))]
    if isinstance(result, (list, tuple)):
        return [v for r in result for v in _outputs(r)]
    return [np.asarray(result)] if np.isscalar(result) else []


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
def test_rejects_nan_and_inf(c: Contract):
    for bad in (np.nan, np.inf):
        img = cvgeo.to_float(_image(False))
        img[5, 7] = bad
        with pytest.raises(ValueError, match=rf"^{c.name}: .*finite"):
            c.call(img)


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
def test_rejects_wrong_ndim(c: Contract):
    for bad in (np.zeros(5, np.float32), np.zeros((2, 4, 4, 3), np.float32)):
        with pytest.raises(ValueError, match=rf"^{c.name}: .*got shape"):
            c.call(bad)


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
def test_rejects_non_array(c: Contract):
    with pytest.raises(TypeError, match=rf"^{c.name}: "):
        c.call([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_uint8_and_float_agree(c: Contract, colour: bool):
    if colour and not c.colour:
        pytest.skip(f"{c.name} takes grey images only")
    img8 = _image(colour)
    a = _outputs(c.call(img8))
    b = _outputs(c.call(img8.astype(np.float32) / np.float32(255)))
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        assert x.shape == y.shape
        if c.name == "to_uint8":  # uint8 in, uint8 out: the identity; float in: rounded
            np.testing.assert_array_equal(x, y)
        elif x.dtype.kind in "biu":
            # discrete outputs (edge maps, labels) may differ where a float32 tie flips
            assert np.mean(x != y) <= 1e-3, f"{c.name}: {np.mean(x != y):.2%} differ"
        else:
            np.testing.assert_allclose(x, y, atol=c.atol, rtol=1e-5)


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
def test_input_not_mutated_and_deterministic(c: Contract):
    for img in (_image(c.colour), cvgeo.to_float(_image(c.colour))):
        before = img.copy()
        first = _outputs(c.call(img))
        np.testing.assert_array_equal(img, before)
        second = _outputs(c.call(img))
        for x, y in zip(first, second):
            np.testing.assert_array_equal(x, y)
