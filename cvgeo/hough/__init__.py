"""Hough transforms: straight lines, line peaks, probabilistic segments, circles.

Conventions
-----------
Images and edge maps are ``(H, W)`` arrays indexed ``[row, col]``. Points are ``(x, y)``
with x the column and y the row, origin at the centre of the top-left pixel. A Hough
line is ``(rho, theta)`` with ``x cos(theta) + y sin(theta) = rho``, ``theta`` in
radians in ``[0, pi)`` and ``rho`` in pixels (it may be negative); the same line as
``(a, b, c)`` satisfies ``a x + b y + c = 0`` with ``a = cos(theta)``,
``b = sin(theta)``, ``c = -rho`` (so ``a**2 + b**2 = 1``). Line accumulators are
``(n_rho, n_theta)``: row ``i`` is ``rhos[i]``, column ``j`` is ``thetas[j]``. Circles
are ``(x, y, r)`` in pixels.

The voting and search loops are compiled with numba; each kernel sits beside the public
function that calls it. ``hough_lines``' voting runs on several threads after
``cvgeo.set_num_threads(n)``, ``n > 1`` (same accumulator); the rest is serial.
"""

from cvgeo.hough.circles import MAX_CIRCLE_SAMPLES as MAX_CIRCLE_SAMPLES
from cvgeo.hough.circles import HoughCircles, hough_circles
from cvgeo.hough.lines import HoughLines, hough_lines
from cvgeo.hough.peaks import HoughLinePeaks, hough_line_peaks
from cvgeo.hough.segments import hough_segments

__all__ = [
    "HoughCircles",
    "HoughLinePeaks",
    "HoughLines",
    "hough_circles",
    "hough_line_peaks",
    "hough_lines",
    "hough_segments",
]
