"""Tests for cvgeo.threads: the one switch for the parallel kernels."""

from __future__ import annotations

import numba
import pytest

import cvgeo


def test_default_is_serial_and_switch_round_trips():
    assert cvgeo.get_num_threads() == 1
    assert cvgeo.set_num_threads(2 if numba.config.NUMBA_NUM_THREADS >= 2 else 1) == 1
    try:
        assert cvgeo.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
        cvgeo.set_num_threads(None)
        assert cvgeo.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    finally:
        cvgeo.set_num_threads(1)
    assert cvgeo.get_num_threads() == 1


def test_errors():
    limit = numba.config.NUMBA_NUM_THREADS
    with pytest.raises(ValueError, match=rf"set_num_threads: n must be an int in \[1, {limit}\]"):
        cvgeo.set_num_threads(limit + 1)
    with pytest.raises(ValueError, match="set_num_threads: n must be an int"):
        cvgeo.set_num_threads(0)
    with pytest.raises(TypeError, match="set_num_threads: n must be an int, got 2.0"):
        cvgeo.set_num_threads(2.0)
    assert cvgeo.get_num_threads() == 1
