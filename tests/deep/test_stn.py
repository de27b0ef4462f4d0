"""Spatial transformer: identity at start, known transforms resample as the formula
says (against cvgeo's warp on a real image), and gradients reach the localisation net."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cvgeo.geometry.warp import warp
from deep.models import SpatialTransformer, STNClassifier, create_model


def _digits(n=4):
    from sklearn.datasets import load_digits

    images = load_digits().images[:n].astype(np.float32) / 16.0  # (n, 8, 8)
    return torch.from_numpy(images)[:, None]  # (n, 1, 8, 8)


@pytest.mark.parametrize("transform", ["affine", "projective"])
def test_starts_as_the_identity(transform):
    torch.manual_seed(0)
    stn = SpatialTransformer(in_chans=1, transform=transform)
    x = _digits()
    M = stn.matrices(x)
    torch.testing.assert_close(M, torch.eye(3).expand(4, 3, 3))
    torch.testing.assert_close(stn(x), x, atol=1e-6, rtol=0)


def _pixel_to_normalised(h: int, w: int) -> np.ndarray:
    """Pixel (x, y) with centres at integers → normalised [-1, 1] edge to edge."""
    return np.array([[2.0 / w, 0, 1.0 / w - 1], [0, 2.0 / h, 1.0 / h - 1], [0, 0, 1]])


@pytest.mark.parametrize("H_pix", [
    np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),  # shift one pixel right
    np.array([[0.9, -0.2, 3.0], [0.15, 1.1, -2.0], [0.0, 0.0, 1.0]]),  # affine
    np.array([[1.0, 0.1, 1.0], [0.05, 0.95, 0.5], [0.004, -0.003, 1.0]]),  # projective
])
def test_sampling_matches_cvgeo_warp_on_a_real_image(H_pix, camera):
    img = camera[200:264:2, 200:264:2].astype(np.float32) / 255  # (32, 32) real image
    h, w = img.shape
    # cvgeo's warp takes H mapping source → destination; the STN's M maps output → input
    expected = warp(img, H_pix, output_shape=(h, w), interpolation="bilinear",
                    border="constant", cval=0.0)
    N = _pixel_to_normalised(h, w)
    M = N @ np.linalg.inv(H_pix) @ np.linalg.inv(N)  # output (normalised) → input
    kind = "affine" if np.allclose(H_pix[2], [0, 0, 1]) else "projective"
    stn = SpatialTransformer(in_chans=1, transform=kind)
    got = stn.sample(torch.from_numpy(img)[None, None], torch.from_numpy(M)[None].float())
    got = got[0, 0].numpy()
    inner = (slice(3, -3), slice(3, -3))  # the borders differ in how they blend the fill
    np.testing.assert_allclose(got[inner], expected[inner], atol=2e-5)


@pytest.mark.parametrize("transform", ["affine", "projective"])
def test_gradients_reach_the_localisation_network(transform):
    torch.manual_seed(0)
    model = STNClassifier(SpatialTransformer(in_chans=1, transform=transform),
                          create_model("lenet5", num_classes=10))
    x = torch.nn.functional.interpolate(_digits(), size=(32, 32), mode="bilinear")
    loss = torch.nn.functional.cross_entropy(model(x), torch.arange(4))
    loss.backward()
    fc = model.stn.fc
    assert fc.weight.grad.abs().sum() > 0 and fc.bias.grad.abs().sum() > 0
    if transform == "projective":
        assert fc.bias.grad[6:].abs().sum() > 0  # the perspective row learns too
    # the localisation net's own layers learn once the last layer is non-zero
    torch.nn.init.normal_(fc.weight, std=1e-3)
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), torch.arange(4)).backward()
    first = model.stn.localization[0].weight
    assert first.grad is not None and first.grad.abs().sum() > 0


def test_output_size_and_errors():
    stn = SpatialTransformer(in_chans=1, output_size=(5, 7))
    assert stn(_digits()).shape == (4, 1, 5, 7)
    with pytest.raises(ValueError, match=r"SpatialTransformer: input must be \(B, 1, H, W\)"):
        stn(torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match="SpatialTransformer: transform must be one of"):
        SpatialTransformer(transform="similarity")
    with pytest.raises(ValueError, match="SpatialTransformer: output_size must be a pair"):
        SpatialTransformer(output_size=(0, 3))
    with pytest.raises(ValueError, match="SpatialTransformer: loc_features must give"):
        SpatialTransformer(localization=torch.nn.Flatten())
    with pytest.raises(TypeError, match="STNClassifier: stn must be a SpatialTransformer"):
        STNClassifier(torch.nn.Identity(), torch.nn.Identity())
