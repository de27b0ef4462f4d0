"""Display adaptors: turn a step's output (labels, accumulators, detections, any array)
into an image that can be shown or saved.

Pipelines use these as output adaptors (see :mod:`cvgeo.ops`); ``cvgeo run`` saves every
step's output through :func:`to_display`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cvgeo._checks import describe

__all__ = ["to_display"]


def _label_palette(n: int) -> np.ndarray:
    """``(n, 3)`` uint8 colours, fixed (golden-angle hues), label 0 first."""
    h = (np.arange(n) * 0.618033988749895) % 1.0
    s, v = 0.65, 0.95
    k = (np.array([5.0, 3.0, 1.0])[None, :] + 6.0 * h[:, None]) % 6.0  # HSV -> R, G, B
    rgb = v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return np.round(rgb * 255).astype(np.uint8)


def stretch(values: Any, image: Any = None) -> np.ndarray:
    """Any finite numeric array as float32 stretched to [0, 1] by its min and max.

    An output adaptor (``image`` is ignored), e.g. for a vote accumulator whose integer
    dtype would otherwise be taken for labels. A constant array becomes 0.
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf" or arr.ndim not in (2, 3):
        raise ValueError(f"stretch: values must be a numeric (H, W) or (H, W, C) array, got "
                         f"{describe(values)}")
    x = arr.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError("stretch: values must be finite, got NaN or inf")
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.zeros(arr.shape, np.float32)
    return ((x - lo) / (hi - lo)).astype(np.float32)


def label_colours(labels: Any, image: Any = None) -> np.ndarray:
    """Colour an integer label image with a fixed palette: ``(H, W, 3)`` uint8."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.dtype.kind not in "iu":
        raise ValueError(f"label_colours: labels must be an integer (H, W) array, got "
                         f"{describe(labels)}")
    uniq, inv = np.unique(labels, return_inverse=True)
    return _label_palette(len(uniq))[inv.reshape(labels.shape)]


def label_mean_colour(labels: Any, image: Any) -> np.ndarray:
    """Paint each segment with the mean colour of ``image`` over it: float32 in [0, 1].

    An output adaptor for segmentation ops (``f(result, image)``); ``labels`` may be the
    label array or a result with a ``labels`` field.
    """
    from cvgeo.image import as_float_image

    labels = np.asarray(getattr(labels, "labels", labels))
    x = as_float_image(image, "label_mean_colour")
    if labels.shape != x.shape[:2] or labels.dtype.kind not in "iu":
        raise ValueError(f"label_mean_colour: labels must be integer of shape {x.shape[:2]}, "
                         f"got {describe(labels)}")
    uniq, inv = np.unique(labels, return_inverse=True)
    inv = inv.ravel()  # numpy 2 returns it in the labels' shape
    flat = x.reshape(inv.size, -1)
    counts = np.bincount(inv, minlength=len(uniq))[:, None]
    sums = np.stack([np.bincount(inv, weights=flat[:, c], minlength=len(uniq))
                     for c in range(flat.shape[1])], axis=1)
    return (sums / counts)[inv].reshape(x.shape).astype(np.float32)


def overlay_line_peaks(result: Any, image: Any) -> np.ndarray:
    """Draw the strongest lines of a :class:`~cvgeo.hough.HoughLines` over ``image``."""
    from cvgeo.draw import draw_lines
    from cvgeo.hough import hough_line_peaks

    return draw_lines(image, hough_line_peaks(result).lines)


def overlay_segments(segments: Any, image: Any) -> np.ndarray:
    """Draw ``(N, 4)`` segments ``(x0, y0, x1, y1)`` over ``image``."""
    from cvgeo.draw import draw_segments

    return draw_segments(image, segments)


def overlay_circles(result: Any, image: Any) -> np.ndarray:
    """Draw the circles of a :class:`~cvgeo.hough.HoughCircles` over ``image``."""
    from cvgeo.draw import draw_circles

    return draw_circles(image, result.circles)


def to_display(output: Any) -> np.ndarray:
    """Turn a step's output into an image :func:`cvgeo.write_image` can save.

    bool -> 0/255 uint8; uint8/uint16 unchanged; other integers (label images) -> fixed
    colours per label; floats in [0, 1] unchanged; other floats stretched to [0, 1] by
    their own min and max (e.g. a normalised image or a gradient magnitude).

    Raises
    ------
    TypeError
        The output is not an array (a result that needs an output adaptor).
    ValueError
        Wrong shape, or non-finite values.
    """
    if not isinstance(output, np.ndarray):
        raise TypeError(f"to_display: a step output must be an image array to be saved, got "
                        f"{describe(output)}; register an output adaptor for its op")
    if output.ndim not in (2, 3) or (output.ndim == 3 and output.shape[2] not in (1, 3, 4)):
        raise ValueError(f"to_display: output must be (H, W) or (H, W, 1|3|4), got shape "
                         f"{output.shape}")
    if output.size == 0:
        raise ValueError(f"to_display: output must be non-empty, got shape {output.shape}")
    if output.ndim == 3 and output.shape[2] == 1:
        output = output[..., 0]
    kind = output.dtype.kind
    if output.dtype == np.bool_:
        return output.astype(np.uint8) * 255
    if output.dtype in (np.uint8, np.uint16):
        return output
    if kind in "iu":
        if output.ndim != 2:
            raise ValueError(f"to_display: an integer (label) output must be (H, W), got "
                             f"shape {output.shape}")
        return label_colours(output)
    if kind != "f":
        raise TypeError(f"to_display: output dtype {output.dtype} cannot be saved")
    if not np.isfinite(output).all():
        raise ValueError("to_display: output must be finite, got NaN or inf values")
    lo, hi = float(output.min()), float(output.max())
    if lo >= 0.0 and hi <= 1.0:
        return output.astype(np.float32, copy=False)
    if hi > lo:
        s = max(abs(lo), abs(hi))  # scaled first: hi - lo may overflow float64
        x = output.astype(np.float64) / s
        return ((x - lo / s) / (hi / s - lo / s)).astype(np.float32)
    return np.zeros(output.shape, np.float32)


