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
``thickness`` is the width of the stroke in pixels, at most ``MAX_THICKNESS``. Only the
parts of a shape that can reach the image are sampled, so the work is bounded by the
image size whatever the coordinates, radii or thickness.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cvgeo._checks import check_int, check_points, check_real, describe, names_errors_as
from cvgeo.image import as_float_image

__all__ = ["draw_boxes", "draw_circles", "draw_lines", "draw_segments"]

Color = Sequence[float]

#: Largest stroke width in pixels (a stroke wider than an image's diagonal covers it).
MAX_THICKNESS = 10_000

#: Up to this many stamp offsets (thickness 7) the stroke is stamped offset by offset;
#: beyond, each pixel looks up its nearest sample in a k-d tree (cost independent of
#: the thickness).
_MAX_OFFSETS = 50


def _thickness(value: object, func: str) -> int:
    return check_int(value, func, "thickness", low=1, high=MAX_THICKNESS)


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
    """``(N, width)`` rows of numbers (segments, lines, circles, boxes) as float64."""
    return check_points(arr, func, name, dim=width)


def _prepare(image: np.ndarray, shapes: object, func: str, name: str, width: int,
             color: object, thickness: object
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The validated inputs of a draw function: (canvas, ``(N, width)`` shapes, colour,
    thickness)."""
    canvas = _canvas(image, func)
    rows = _shapes(shapes, func, name, width)
    return canvas, rows, _color(color, func), _thickness(thickness, func)


def _stamp(canvas: np.ndarray, xs: np.ndarray, ys: np.ndarray, color: np.ndarray,
           thickness: int) -> np.ndarray:
    """Colour the pixels within ``thickness / 2`` of the sample points ``(xs, ys)``."""
    h, w = canvas.shape[:2]
    r = (thickness - 1) / 2.0
    k = int(np.ceil(r))
    # samples farther than k from the image colour nothing; dropping them first also
    # keeps rint() away from values int64 cannot hold
    near = (xs >= -k - 1) & (xs <= w + k) & (ys >= -k - 1) & (ys <= h + k)
    cx = np.rint(xs[near]).astype(np.int64)
    cy = np.rint(ys[near]).astype(np.int64)
    if cx.size == 0:
        return canvas
    if (2 * k + 1) ** 2 > _MAX_OFFSETS:
        from scipy.spatial import cKDTree

        centres = np.unique(np.stack([cx, cy], axis=1), axis=0)
        x0, x1 = max(int(cx.min()) - k, 0), min(int(cx.max()) + k, w - 1)
        y0, y1 = max(int(cy.min()) - k, 0), min(int(cy.max()) + k, h - 1)
        if x0 > x1 or y0 > y1:
            return canvas
        py, px = np.mgrid[y0:y1 + 1, x0:x1 + 1]
        pix = np.stack([px.ravel(), py.ravel()], axis=1)
        dist, _ = cKDTree(centres).query(pix, k=1)
        hit = dist * dist <= r * r + 0.25 + 1e-9
        canvas[py.ravel()[hit], px.ravel()[hit]] = color
        return canvas
    offs = [(dx, dy) for dy in range(-k, k + 1) for dx in range(-k, k + 1)
            if dx * dx + dy * dy <= r * r + 0.25]
    for dx, dy in offs:
        px, py = cx + dx, cy + dy
        inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        canvas[py[inside], px[inside]] = color
    return canvas


def _clip_segment(x0: float, y0: float, x1: float, y1: float,
                  box: tuple[float, float, float, float]):
    """Liang-Barsky: the part of a segment inside ``box = (xmin, ymin, xmax, ymax)``.

    Worked on halved coordinates, so no difference of finite values can overflow.
    """
    x0, y0, x1, y1 = 0.5 * x0, 0.5 * y0, 0.5 * x1, 0.5 * y1
    box = tuple(0.5 * b for b in box)
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]),
                 (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    # the clipped ends lie in the box: clamping removes the rounding of t * d, which is
    # large when the ends were far away
    def clamp(v: float, lo: float, hi: float) -> float:
        return 2 * min(max(v, lo), hi)

    return (clamp(x0 + t0 * dx, box[0], box[2]), clamp(y0 + t0 * dy, box[1], box[3]),
            clamp(x0 + t1 * dx, box[0], box[2]), clamp(y0 + t1 * dy, box[1], box[3]))


def _segment_samples(segs: np.ndarray, box: tuple[float, float, float, float]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Samples every half pixel along the parts of the segments inside ``box``."""
    xs, ys = [np.empty(0)], [np.empty(0)]
    for seg in segs:
        clipped = _clip_segment(*(float(v) for v in seg), box)
        if clipped is None or not np.isfinite(clipped).all():
            continue
        x0, y0, x1, y1 = clipped
        n = int(np.ceil(2 * np.hypot(x1 - x0, y1 - y0))) + 1
        t = np.linspace(0.0, 1.0, n)
        xs.append(x0 + t * (x1 - x0))
        ys.append(y0 + t * (y1 - y0))
    return np.concatenate(xs), np.concatenate(ys)


def _box(canvas: np.ndarray, thickness: int) -> tuple[float, float, float, float]:
    """The image rectangle grown by the stroke radius and a pixel: shapes outside it
    colour nothing."""
    h, w = canvas.shape[:2]
    m = (thickness - 1) / 2.0 + 1.0
    return (-m, -m, w - 1 + m, h - 1 + m)


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
        Stroke width in pixels, in ``[1, MAX_THICKNESS]`` (10000).

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
    canvas, segs, col, thickness = _prepare(image, segments, "draw_segments", "segments", 4, color,
                                           thickness)
    xs, ys = _segment_samples(segs, _box(canvas, thickness))
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
    canvas, ln, col, thickness = _prepare(image, lines, "draw_lines", "lines", 3, color,
                                           thickness)
    norm = np.hypot(ln[:, 0], ln[:, 1])
    if np.any(norm == 0):
        raise ValueError(f"draw_lines: lines must have (a, b) != (0, 0), got "
                         f"{int(np.sum(norm == 0))} line(s) at infinity")
    a, b, c = (ln / norm[:, None]).T
    h, w = canvas.shape[:2]
    # the foot of the perpendicular from the image centre, then +-half the diagonal
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    d = a * cx + b * cy + c
    fx, fy = cx - d * a, cy - d * b
    half = np.hypot(h, w) / 2.0 + thickness + 1.0
    segs = np.stack([fx + half * b, fy - half * a, fx - half * b, fy + half * a], axis=1)
    xs, ys = _segment_samples(segs, _box(canvas, thickness))
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
    canvas, circ, col, thickness = _prepare(image, circles, "draw_circles", "circles", 3, color,
                                            thickness)
    if np.any(circ[:, 2] < 0):
        raise ValueError(f"draw_circles: circles must have radius >= 0, got min "
                         f"{circ[:, 2].min():g}")
    box = _box(canvas, thickness)
    xs, ys = [np.empty(0)], [np.empty(0)]
    for x, y, r in circ:
        t = _arc_angles(float(x), float(y), float(r), box)
        xs.append(x + r * np.cos(t))
        ys.append(y + r * np.sin(t))
    return _stamp(canvas, np.concatenate(xs), np.concatenate(ys), col, thickness)


def _arc_angles(x: float, y: float, r: float, box: tuple[float, float, float, float]
                ) -> np.ndarray:
    """Angles sampling, every half pixel, the part of a circle that can meet ``box``.

    A circle small enough (``r`` at most twice the box's diagonal) is sampled whole, as
    ``max(8, ceil(4 pi r))`` equal steps; a larger one only over the angles under which
    its centre, necessarily outside the box, sees the box.
    """
    xmin, ymin, xmax, ymax = box
    diag = float(np.hypot(xmax - xmin, ymax - ymin))
    nx, ny = min(max(x, xmin), xmax), min(max(y, ymin), ymax)  # nearest box point
    near = float(np.hypot(nx - x, ny - y))
    far = max(float(np.hypot(cx - x, cy - y)) for cx in (xmin, xmax) for cy in (ymin, ymax))
    if not (near <= r <= far):  # the circle passes entirely outside or around the box
        return np.empty(0)
    if r <= 2.0 * diag:
        n = max(8, int(np.ceil(4 * np.pi * r)))  # a sample every half pixel
        return np.arange(n) * (2 * np.pi / n)
    # the centre is at least r - diag > diag away: the box subtends less than a half-turn
    mid = float(np.arctan2((ymin + ymax) / 2 - y, (xmin + xmax) / 2 - x))
    rel = [(float(np.arctan2(cy - y, cx - x)) - mid + np.pi) % (2 * np.pi) - np.pi
           for cx in (xmin, xmax) for cy in (ymin, ymax)]
    lo, hi = mid + min(rel), mid + max(rel)
    n = max(2, int(np.ceil(2 * r * (hi - lo))) + 1)
    return np.linspace(lo, hi, n)


@names_errors_as("draw_segments")
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
