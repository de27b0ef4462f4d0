"""Sub-pixel refinement of circles: Kasa's algebraic least-squares fit to the edge pixels
along each circle, for :func:`cvgeo.hough.hough_circles`."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cvgeo.hough._common import _round_half_away


@njit(cache=True)
def _det3(a, b, c, d, e, f, g, h, i):
    """Determinant of the 3x3 matrix with rows (a, b, c), (d, e, f), (g, h, i)."""
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


@njit(cache=True)
def _circle_fit_kernel(edges, nx_map, ny_map, circles, n_iter):
    """Sub-pixel refinement: least-squares circles through each circle's edge pixels.

    Parameters
    ----------
    edges : ndarray of bool, shape (H, W)
    nx_map, ny_map : ndarray of float32, shape (H, W)
        Unit normals, read at edge pixels only.
    circles : ndarray of float64, shape (N, 3)
        ``(x, y, r)`` to refine; updated in place.
    n_iter : int

    Notes
    -----
    Per iteration: along each ray (one per pixel of arc) take the edge pixel nearest
    to the circle within 1.5 pixels whose normal is within 30 degrees of the ray; fit
    ``x**2 + y**2 = D x + E y + F`` to them by least squares (Kasa's algebraic fit:
    centre ``(D/2, E/2)``, radius ``sqrt(F + (D/2)**2 + (E/2)**2)``). A fit with fewer
    than eight pixels, a singular system or a jump of more than 2 pixels is not taken.
    """
    H, W = edges.shape
    cos_tol = math.cos(math.pi / 6)
    drs = np.array([0.0, -0.5, 0.5, -1.0, 1.0, -1.5, 1.5])
    for m in range(circles.shape[0]):
        for _ in range(n_iter):
            cx, cy, r = circles[m, 0], circles[m, 1], circles[m, 2]
            n = max(8, int(math.ceil(2.0 * math.pi * r)))
            # the normal equations' sums, a = sum [x y 1]^T [x y 1], b = sum [x y 1]^T q
            sxx = sxy = sx = syy = sy = s1 = 0.0
            bx = by = b1 = 0.0
            used = 0
            last_x = -1
            last_y = -1
            # the rays' directions by rotation, one step of 2 pi / n at a time
            dc = math.cos(2.0 * math.pi / n)
            ds = math.sin(2.0 * math.pi / n)
            c, s = 1.0, 0.0
            for i in range(n):
                if i > 0:
                    c, s = c * dc - s * ds, s * dc + c * ds
                for dr in drs:
                    px = _round_half_away(cx + (r + dr) * c)
                    py = _round_half_away(cy + (r + dr) * s)
                    if (0 <= px < W and 0 <= py < H and edges[py, px]
                            and abs(nx_map[py, px] * c + ny_map[py, px] * s) >= cos_tol):
                        if px != last_x or py != last_y:  # neighbouring rays, same pixel
                            fx = float(px)
                            fy = float(py)
                            q = fx * fx + fy * fy
                            sxx += fx * fx
                            sxy += fx * fy
                            sx += fx
                            syy += fy * fy
                            sy += fy
                            s1 += 1.0
                            bx += fx * q
                            by += fy * q
                            b1 += q
                            used += 1
                            last_x, last_y = px, py
                        break
            if used < 8:
                break
            det = _det3(sxx, sxy, sx, sxy, syy, sy, sx, sy, s1)
            if abs(det) < 1e-9:
                break
            # Cramer's rule for the 3x3 normal equations a @ (D, E, F) = b
            d_ = _det3(bx, sxy, sx, by, syy, sy, b1, sy, s1) / det
            e_ = _det3(sxx, bx, sx, sxy, by, sy, sx, b1, s1) / det
            f_ = _det3(sxx, sxy, bx, sxy, syy, by, sx, sy, b1) / det
            nx_c = 0.5 * d_
            ny_c = 0.5 * e_
            r2 = f_ + nx_c * nx_c + ny_c * ny_c
            if r2 <= 0:
                break
            nr = math.sqrt(r2)
            if math.hypot(nx_c - cx, ny_c - cy) > 2.0 or abs(nr - r) > 2.0:
                break
            circles[m, 0] = nx_c
            circles[m, 1] = ny_c
            circles[m, 2] = nr
