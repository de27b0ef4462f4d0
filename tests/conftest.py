"""Shared fixtures: real images that ship with installed packages, and seeded RNGs."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    import skimage.data

    return skimage.data.camera()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def coins() -> np.ndarray:
    import skimage.data

    return skimage.data.coins()
