"""Pixel features for clustering-based segmentation: intensity, colour, colour + position.

A clustering segmenter (:func:`~cvgeo.segment.kmeans_segment`,
:func:`~cvgeo.segment.mean_shift`) sees an image only through the feature vector of
each pixel. The choice of that vector *is* the choice of what "similar" means:

* ``space="intensity"`` (1-D): pixels of the same grey level are grouped wherever they
  are; a red and a green of equal luminance are indistinguishable.
* ``space="rgb"`` (3-D): colours are told apart, but Euclidean distance in RGB is not
  perceptual: a step in a dark blue counts as much as the same step in a light yellow.
* ``space="lab"`` (3-D): CIE L*a*b*, where Euclidean distance approximates perceived
  colour difference; clusters follow visible colour regions more closely. Features
  are ``(L, a, b) / 100`` so that L lies in [0, 1] like the other spaces.
* ``spatial_weight > 0`` appends ``spatial_weight * (row, col) / max(H, W)``
  (2 more dimensions): pixels far apart now need a closer colour to share a cluster,
  so clusters become spatially compact and a colour that occurs in two places splits
  into two segments. At ``spatial_weight = 0`` segments are colour classes, scattered
  over the image; as it grows they become blobs and, for large weights, a regular
  grid of cells that ignores colour (the behaviour SLIC superpixels tune between).

Enlarging the feature space therefore never "adds information for free": each added
dimension changes the metric, and its weight sets how strongly it competes with colour.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from cvgeo._checks import check_choice, check_real
from cvgeo.image import GRAY_WEIGHTS, as_float_image

__all__ = ["pixel_features", "rgb_to_lab"]

Space = Literal["auto", "intensity", "rgb", "lab", "channels"]

#: sRGB (D65) to CIE XYZ, the matrix scikit-image and the sRGB standard use.
_XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423],
                          [0.212671, 0.715160, 0.072169],
                          [0.019334, 0.119193, 0.950227]])
#: CIE XYZ of the D65 white point, 2-degree observer.
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def _lab_from_float_rgb(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1], shape (..., 3), float64 -> CIE L*a*b* float64 (no validation)."""
    # 1. undo the sRGB transfer curve (gamma) to get linear light
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    # 2. linear RGB -> XYZ, relative to the D65 white
    xyz = (linear @ _XYZ_FROM_RGB.T) / _D65_WHITE
    # 3. the CIE compression f(t): cube root above (6/29)^3, a line below it
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """Convert an sRGB image to CIE L*a*b* (D65 white, 2-degree observer).

    Parameters
    ----------
    image : ndarray of shape (H, W, 3)
        sRGB, any accepted dtype (converted to [0, 1] first).

    Returns
    -------
    ndarray of shape (H, W, 3), float32
        L in [0, 100], a and b roughly in [-128, 127].

    Raises
    ------
    TypeError, ValueError
        Not an (H, W, 3) image of an accepted dtype, or NaN/inf values.

    Notes
    -----
    The sRGB transfer curve is inverted, linear RGB is mapped to XYZ with the sRGB/D65
    matrix, divided by the white point, and compressed with the CIE function
    ``f(t) = t^(1/3)`` for ``t > 0.008856``, else ``7.787 t + 16/116``;
    ``L = 116 f(Y) - 16``, ``a = 500 (f(X) - f(Y))``, ``b = 200 (f(Y) - f(Z))``.
    The constants are those of scikit-image's ``rgb2lab`` (tested to agree).

    References
    ----------
    .. [1] CIE 15:2004, Colorimetry, 3rd edition.

    Examples
    --------
    >>> import numpy as np
    >>> lab = rgb_to_lab(np.array([[[255, 255, 255]]], dtype=np.uint8))
    >>> bool(np.allclose(lab, [100.0, 0.0, 0.0], atol=0.01))  # white: L = 100, a = b = 0
    True
    """
    x = as_float_image(image, "rgb_to_lab", ndim=(3,), channels=(3,))
    return _lab_from_float_rgb(x.astype(np.float64)).astype(np.float32)


#: Largest ``spatial_weight``: at 1e6 position already outweighs any colour difference
#: a float32 feature can resolve, so larger weights change nothing but overflow risk.
MAX_SPATIAL_WEIGHT = 1e6


def check_spatial_weight(value, func: str) -> float:
    """Validate ``spatial_weight``: a finite number in ``[0, MAX_SPATIAL_WEIGHT]``."""
    return check_real(value, func, "spatial_weight", low=0.0, high=MAX_SPATIAL_WEIGHT)


def _resolve_space(space: str, image: np.ndarray, func: str) -> str:
    space = check_choice(space, func, "space", ("auto", "intensity", "rgb", "lab", "channels"))
    n_ch = 1 if image.ndim == 2 else image.shape[2]
    if space == "auto":
        return "intensity" if n_ch == 1 else "rgb" if n_ch == 3 else "channels"
    if space in ("rgb", "lab") and n_ch != 3:
        raise ValueError(f"{func}: space={space!r} needs an (H, W, 3) image, got shape "
                         f"{image.shape}")
    if space == "intensity" and n_ch not in (1, 3, 4):
        raise ValueError(f"{func}: space='intensity' needs a grey, RGB or RGBA image, got "
                         f"shape {image.shape}")
    return space


def _features_from_float(x: np.ndarray, space: str, spatial_weight: float) -> np.ndarray:
    """Features of a validated float32 image (no validation); (H*W, D) float32."""
    h, w = x.shape[:2]
    if space == "intensity":
        if x.ndim == 2:
            cols = [x.reshape(-1, 1)]
        elif x.shape[2] == 1:
            cols = [x[..., 0].reshape(-1, 1)]
        else:
            cols = [(x[..., :3] @ GRAY_WEIGHTS).reshape(-1, 1)]
    elif space == "lab":
        cols = [(_lab_from_float_rgb(x.astype(np.float64)) / 100.0).reshape(-1, 3)]
    else:  # rgb or channels
        cols = [x.reshape(h * w, -1)]
    if spatial_weight > 0:
        rows, colsx = np.indices((h, w), dtype=np.float32)
        s = np.float32(spatial_weight / max(h, w))
        cols += [(rows * s).reshape(-1, 1), (colsx * s).reshape(-1, 1)]
    return np.ascontiguousarray(np.concatenate(cols, axis=1), dtype=np.float32)


def pixel_features(
    image: np.ndarray,
    *,
    space: Space = "auto",
    spatial_weight: float = 0.0,
) -> np.ndarray:
    """Stack one feature vector per pixel, in raster order, for clustering.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        Any accepted dtype; converted to float32 in [0, 1].
    space : {"auto", "intensity", "rgb", "lab", "channels"}
        ``"intensity"``: grey level (Rec. 709 luma for colour), 1 column.
        ``"rgb"``: the three channels in [0, 1]. ``"lab"``: CIE L*a*b* / 100 (see
        :func:`rgb_to_lab`). ``"channels"``: every channel as it is. ``"auto"`` picks
        intensity for grey, rgb for 3 channels and channels otherwise.
    spatial_weight : float, in [0, 1e6]
        When positive, two columns ``spatial_weight * (row, col) / max(H, W)`` are
        appended: a weight of 1 makes crossing the whole image as costly as the full
        intensity range. See the module notes for how this changes segments. At most
        ``MAX_SPATIAL_WEIGHT = 1e6``, where position already outweighs any colour.

    Returns
    -------
    ndarray of shape (H * W, D), float32
        Row ``r * W + c`` holds pixel ``[r, c]``. ``D`` is 1 or 3 (or C), plus 2 with
        a spatial weight.

    Raises
    ------
    TypeError, ValueError
        Bad image, NaN/inf, unknown ``space``, a colour space for a grey image, or a
        ``spatial_weight`` outside ``[0, 1e6]``.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((2, 3, 3), dtype=np.uint8)
    >>> pixel_features(img, spatial_weight=3.0).shape
    (6, 5)
    """
    func = "pixel_features"
    x = as_float_image(image, func)
    space = _resolve_space(space, x, func)
    spatial_weight = check_spatial_weight(spatial_weight, func)
    return _features_from_float(x, space, spatial_weight)
