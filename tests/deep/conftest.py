"""Shared set-up for tests/deep.

Every test starts from the same torch random state: model weights are drawn by ``nn``
initialisers and many inputs by ``torch.randn`` from the global generator; seeding it
before each test makes each test's tensors the same on every run and independent of
which tests ran before it.

One torch thread: the models are small, and on a shared 2-core machine two OpenMP
threads that wait on each other made a forward/backward pass of a small CNN 25-40x
slower than one thread (measured while other jobs ran).
"""

from __future__ import annotations

import pytest

try:
    import torch
except ImportError:  # the test modules skip themselves
    torch = None
else:
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_torch():
    if torch is not None:
        torch.manual_seed(0)  # the CPU generator, and every CUDA device's
