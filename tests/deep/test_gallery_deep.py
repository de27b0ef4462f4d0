"""The gallery's deep section: its input montage and how the figures read it back
(the training itself runs in ``cvgeo gallery``, tested in tests/cvgeo/test_cli.py)."""

from __future__ import annotations

import numpy as np

from cvgeo.gallery import DIGITS_HELD_OUT, DIGITS_TILE, SECTIONS, bundled_image, section_deep
from cvgeo.image import resize


def test_digits_montage_holds_the_last_digits_and_tiles_read_them_back():
    from sklearn.datasets import load_digits

    from deep.gallery import _tiles

    montage = bundled_image("digits")
    assert montage.dtype == np.uint8 and montage.shape == (8 * DIGITS_TILE, 10 * DIGITS_TILE)
    tiles = _tiles(montage)
    assert tiles.shape == (DIGITS_HELD_OUT, DIGITS_TILE, DIGITS_TILE)
    digits = load_digits().images[-DIGITS_HELD_OUT:] / 16.0
    for k in (0, 13, 79):
        expected = np.clip(resize(digits[k].astype(np.float32), (DIGITS_TILE, DIGITS_TILE)),
                           0, 1)
        np.testing.assert_allclose(tiles[k], expected, atol=0.5 / 255 + 1e-6)


def test_deep_section_is_registered_with_two_figures_on_the_digits():
    assert section_deep in SECTIONS
    section = section_deep()
    assert len(section.figures) == 2
    assert {f.source for f in section.figures} == {"digits"}


def test_montage_tiles_reads_non_square_tiles_row_major_and_averages_colour():
    from deep.gallery import montage_tiles

    tiles = np.arange(6 * 2 * 3, dtype=np.float32).reshape(6, 2, 3) / 100  # (k, h, w)
    montage = tiles.reshape(2, 3, 2, 3).transpose(0, 2, 1, 3).reshape(4, 9)  # 2 rows x 3
    np.testing.assert_array_equal(montage_tiles(montage, (2, 3)), tiles)
    rgb = np.stack([montage, montage, montage], axis=2)
    np.testing.assert_allclose(montage_tiles(rgb, (2, 3)), tiles, atol=1e-7)
    # a partial last row / column is dropped
    assert montage_tiles(np.zeros((5, 10), np.float32), (2, 3)).shape == (6, 2, 3)


def test_one_thread_restores_the_thread_count_even_after_an_error_and_timed_records():
    import pytest
    import torch

    from deep.gallery import one_thread, timed

    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), one_thread():
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    record: dict[str, object] = {}
    with timed(record):
        sum(range(10_000))
    assert set(record) == {"cpu_s", "wall_s"}
    assert 0.0 <= record["cpu_s"] < 5.0 and 0.0 <= record["wall_s"] < 5.0
