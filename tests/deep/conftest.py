"""Every test in tests/deep starts from the same torch random state.

Model weights are drawn by ``nn`` initialisers and many inputs by ``torch.randn`` from the
global generator; seeding it before each test makes each test's tensors the same on
every run and independent of which tests ran before it.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _seed_torch():
    try:
        import torch
    except ImportError:  # the test modules skip themselves
        return
    torch.manual_seed(0)  # the CPU generator, and every CUDA device's
