"""Fixtures shared by the segmentation tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_blas_thread():
    """One BLAS/OpenMP thread for a module that calls scikit-learn as an oracle: sklearn's
    neighbour searches start OpenMP threads on every call (0.15 s each on a loaded 2-core
    machine, 1.7 s for one 8-point MeanShift fit); one thread makes those calls cheap and
    changes no result."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
