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
