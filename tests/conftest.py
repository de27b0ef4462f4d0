"""Shared fixtures: real images that ship with installed packages, and seeded RNGs.

Hypothesis profiles
-------------------
``ci`` (loaded when the environment variable ``CI`` is set, as CI runs do): derandomized,
so a run tests the same examples every time and a submission never fails on a new random
example; no deadline (shared CI machines are slow and uneven); no example database; a
failure prints the blob that reproduces it. ``dev`` (the default elsewhere): random
examples, for exploring; a failure it finds is reproduced with the printed blob or
``@example``. ``HYPOTHESIS_PROFILE=ci|dev`` overrides the choice.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, database=None,
                          print_blob=True)
settings.register_profile("dev", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") else "dev"))


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
