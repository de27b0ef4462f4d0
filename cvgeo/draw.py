"""Drawing helpers: lines, segments and circles onto an image, for showing results.

Conventions
-----------
Points are ``(x, y)`` with x the column and y the row, origin at the centre of the
top-left pixel. Lines are ``(a, b, c)`` with ``a x + b y + c = 0`` (as in
:class:`cvgeo.hough.HoughLinePeaks`), segments ``(x0, y0, x1, y1)``, circles
``(x, y, r)``, boxes ``(x1, y1, x2, y2)`` (edges, as in :mod:`cvgeo.geometry.boxes`).
Every function returns a new float32 RGB image ``(H, W, 3)`` in [0, 1]
(a grey input is repeated into three channels) and never writes into its input. Shapes
are rasterised by sampling them every half pixel and colouring the nearest pixels;
``thickness`` is the width of the stroke in pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cvgeo._checks import check_array_finite, check_int, check_real, describe
from cvgeo.image import as_float_image

__all__ = ["draw_boxes", "draw_circles", "draw_lines", "draw_segments"]

Color = Sequence[float]


def _canvas(image: np.ndarray, func: str) -> np.ndarray:
    img = as_float_image(image, func, channels=(1, 3))
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    if img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    return img.copy()


def _color(color: object, func: str) -> np.ndarray:
    if not isinstance(color, (tuple, list, np.ndarray)) or len(color) != 3:
        raise ValueError(f"{func}: color must be an (r, g, b) triple in [0, 1], got "
                         f"{describe(color)}")
    return np.array([check_real(c, func, "color", low=0.0, high=1.0) for c in color],
                    dtype=np.float32)


def _shapes(arr: object, func: str, name: str, width: int) -> np.ndarray:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array of shape (N, {width}), got "
                        f"{describe(arr)}")
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{func}: {name} must have shape (N, {width}), got shape {arr.shape}")
    if arr.dtype.kind not in "uif":
        raise TypeError(f"{func}: {name} must be numeric, got dtype {arr.dtype}")
    out = arr.astype(np.float64)
    check_array_finite(out, func, name)
    return out


def _stamp(canvas: np.ndarray, xs: np.ndarray, ys: np.ndarray, color: np.ndarray,
           thickness: int) -> np.ndarray:
    """Colour the pixels within ``thickness / 2`` of the sample points ``(xs, ys)``."""
    h, w = canvas.shape[:2]
    r = (thickness - 1) / 2.0
    k = int(np.ceil(r))
    offs = [(dx, dy) for dy in range(-k, k + 1) for dx in range(-k, k + 1)
            if dx * dx + dy * dy <= r * r + 0.25]
    cx = np.rint(xs).astype(np.int64)
    cy = np.rint(ys).astype(np.int64)
    for dx, dy in offs:
        px, py = cx + dx, cy + dy
        inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        canvas[py[inside], px[inside]] = color
    return canvas


def _segment_samples(segs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if segs.shape[0] == 0:
        return np.empty(0), np.empty(0)
    xs, ys = [], []
    for x0, y0, x1, y1 in segs:
        n = int(np.ceil(2 * np.hypot(x1 - x0, y1 - y0))) + 1
        t = np.linspace(0.0, 1.0, n)
        xs.append(x0 + t * (x1 - x0))
        ys.append(y0 + t * (y1 - y0))
    return np.concatenate(xs), np.concatenate(ys)


def draw_segments(
    image: np.ndarray,
    segments: np.ndarray,
    *,
    color: Color = (1.0, 0.0, 0.0),
    thickness: int = 1,
) -> np.ndarray:
    """Draw line segments ``(x0, y0, x1, y1)`` onto a copy of an image.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, 3)
        Any cvgeo image dtype.
    segments : ndarray of shape (N, 4)
        ``(x0, y0, x1, y1)`` in pixels; parts outside the image are clipped.
    color : (r, g, b) in [0, 1], optional
    thickness : int, optional
        Stroke width in pixels, >= 1.

    Returns
    -------
    ndarray of float32, shape (H, W, 3)

    Raises
    ------
    TypeError, ValueError
        A bad image, a segment array of the wrong shape or with NaN, a bad colour or
        thickness.

    Examples
    --------
    >>> import numpy as np
    >>> out = draw_segments(np.zeros((5, 5)), np.array([[0, 2, 4, 2]]), color=(1, 1, 1))
    >>> out[..., 0].astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0],
           [1, 1, 1, 1, 1],
           [0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0]])
    """
    func = "draw_segments"
    canvas = _canvas(image, func)
    segs = _shapes(segments, func, "segments", 4)
    col = _color(color, func)
    thickness = check_int(thickness, func, "thickness", low=1)
    xs, ys = _segment_samples(segs)
    return _stamp(canvas, xs, ys, col, thickness)


def draw_lines(
    image: np.ndarray,
    lines: np.ndarray,
    *,
    color: Color = (1.0, 0.0, 0.0),
    thickness: int = 1,
) -> np.ndarray:
    """Draw infinite lines ``(a, b, c)`` (``a x + b y + c = 0``) across a copy of an image.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, 3)
    lines : ndarray of shape (N, 3)
        ``(a, b, c)``, for example :attr:`cvgeo.hough.HoughLinePeaks.lines`; they need
        not be normalised, but ``(a, b)`` must not be zero.
    color : (r, g, b) in [0, 1], optional
    thickness : int, optional

    Returns
    -------
    ndarray of float32, shape (H, W, 3)

    Raises
    ------
    TypeError, ValueError
        As :func:`draw_segments`; a line with ``a = b = 0`` (the line at infinity).

    Examples
    --------
    >>> import numpy as np
    >>> out = draw_lines(np.zeros((4, 4)), np.array([[1.0, 0.0, -2.0]]))  # x = 2
    >>> out[..., 0].astype(int)
    array([[0, 0, 1, 0],
           [0, 0, 1, 0],
           [0, 0, 1, 0],
           [0, 0, 1, 0]])
    """
    func = "draw_lines"
    canvas = _canvas(image, func)
    ln = _shapes(lines, func, "lines", 3)
    col = _color(color, func)
    thickness = check_int(thickness, func, "thickness", low=1)
    norm = np.hypot(ln[:, 0], ln[:, 1])
    if np.any(norm == 0):
        raise ValueError(f"{func}: lines must have (a, b) != (0, 0), got "
                         f"{int(np.sum(norm == 0))} line(s) at infinity")
    a, b, c = (ln / norm[:, None]).T
    h, w = canvas.shape[:2]
    # the foot of the perpendicular from the image centre, then +-half the diagonal
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    d = a * cx + b * cy + c
    fx, fy = cx - d * a, cy - d * b
    half = np.hypot(h, w) / 2.0 + 1.0
    segs = np.stack([fx + half * b, fy - half * a, fx - half * b, fy + half * a], axis=1)
    xs, ys = _segment_samples(segs)
    return _stamp(canvas, xs, ys, col, thickness)


def draw_circles(
    image: np.ndarray,
    circles: np.ndarray,
    *,
    color: Color = (1.0, 0.0, 0.0),
    thickness: int = 1,
) -> np.ndarray:
    """Draw circle outlines ``(x, y, r)`` onto a copy of an image.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, 3)
    circles : ndarray of shape (N, 3)
        Centre ``(x, y)`` and radius ``r >= 0`` in pixels, for example
        :attr:`cvgeo.hough.HoughCircles.circles`.
    color : (r, g, b) in [0, 1], optional
    thickness : int, optional

    Returns
    -------
    ndarray of float32, shape (H, W, 3)

    Raises
    ------
    TypeError, ValueError
        As :func:`draw_segments`; a negative radius.

    Examples
    --------
    >>> import numpy as np
    >>> out = draw_circles(np.zeros((7, 7)), np.array([[3.0, 3.0, 2.0]]))
    >>> out[..., 0].astype(int)
    array([[0, 0, 0, 0, 0, 0, 0],
           [0, 0, 1, 1, 1, 0, 0],
           [0, 1, 1, 0, 1, 1, 0],
           [0, 1, 0, 0, 0, 1, 0],
           [0, 1, 1, 0, 1, 1, 0],
           [0, 0, 1, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0, 0]])
    """
    func = "draw_circles"
    canvas = _canvas(image, func)
    circ = _shapes(circles, func, "circles", 3)
    if np.any(circ[:, 2] < 0):
        raise ValueError(f"{func}: circles must have radius >= 0, got min "
                         f"{circ[:, 2].min():g}")
    col = _color(color, func)
    thickness = check_int(thickness, func, "thickness", low=1)
    xs, ys = [np.empty(0)], [np.empty(0)]
    for x, y, r in circ:
        n = max(8, int(np.ceil(4 * np.pi * r)))  # a sample every half pixel
        t = np.arange(n) * (2 * np.pi / n)
        xs.append(x + r * np.cos(t))
        ys.append(y + r * np.sin(t))
    return _stamp(canvas, np.concatenate(xs), np.concatenate(ys), col, thickness)


def draw_boxes(
    image: np.ndarray,
    boxes: np.ndarray,
    *,
    color: Color = (1.0, 0.0, 0.0),
    thickness: int = 1,
) -> np.ndarray:
    """Draw box outlines ``(x1, y1, x2, y2)`` onto a copy of an image.

    A box's values are its edges (pixel ``(r, c)`` spans ``[c - 0.5, c + 0.5]``); the
    outline runs through the centres of the pixels just outside those edges, so a tight
    box frames its object without covering it.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, 3)
    boxes : ndarray of shape (N, 4)
        xyxy with ``x1 <= x2`` and ``y1 <= y2``, in pixels.
    color : (r, g, b) in [0, 1], optional
    thickness : int, optional

    Returns
    -------
    ndarray of float32, shape (H, W, 3)

    Raises
    ------
    TypeError, ValueError
        As :func:`draw_segments`; a box with ``x2 < x1`` or ``y2 < y1``.

    Examples
    --------
    >>> import numpy as np
    >>> out = draw_boxes(np.zeros((5, 6)), np.array([[1.5, 1.5, 3.5, 2.5]]))
    >>> out[..., 0].astype(int)
    array([[0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 1, 0, 0, 1, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    func = "draw_boxes"
    b = _shapes(boxes, func, "boxes", 4)
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if bad.any():
        raise ValueError(f"{func}: boxes must have x1 <= x2 and y1 <= y2, got {int(bad.sum())} "
                         f"box(es) with x2 < x1 or y2 < y1, the first at index "
                         f"{int(np.argmax(bad))}")
    x1, y1, x2, y2 = b[:, 0] - 0.5, b[:, 1] - 0.5, b[:, 2] + 0.5, b[:, 3] + 0.5
    segs = np.concatenate([np.stack(s, axis=1) for s in (
        (x1, y1, x2, y1), (x2, y1, x2, y2), (x2, y2, x1, y2), (x1, y2, x1, y1))])
    return draw_segments(image, segs.reshape(-1, 4), color=color, thickness=thickness)
