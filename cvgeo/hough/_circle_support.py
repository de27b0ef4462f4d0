"""The circle support of :func:`cvgeo.hough.hough_circles`: circle samples per radius,
the edge map as angle codes, the support count and the hill-climb that refines each
vote candidate to its best nearby circle (private; ``circles.py`` holds the vote and the
public function)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.typed import Dict

from cvgeo.hough._common import _round_half_away


def _circle_samples(radii: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per radius, the circle sampled every pixel of arc, as integer pixel offsets.

    Returns the tuple ``(off_x, off_y, cos, sin, counts)``: ``off_x, off_y`` (int64,
    ``(n_radii, n_max, 3)``: radius ``r``, ``r - 0.5``, ``r + 0.5`` on each ray, rounded),
    ``cos, sin`` (float64, ``(n_radii, n_max)``) and ``counts`` (int64, ``(n_radii,)``,
    samples per radius).
    """
    counts = np.maximum(8, np.ceil(2 * np.pi * radii)).astype(np.int64)
    n_max = int(counts.max())
    i = np.arange(n_max)
    phi = 2 * np.pi * i[None, :] / counts[:, None]
    c, s = np.cos(phi), np.sin(phi)
    off_x, off_y = _circle_offsets_kernel(radii, c, s)
    return off_x, off_y, c, s, counts


@njit(cache=True)
def _circle_offsets_kernel(radii, c, s):
    """``round(rr * cos)``, ``round(rr * sin)`` (halves away from zero) for the radii
    ``rr = r, r - 0.5, r + 0.5`` of each ray: one pass, no temporaries."""
    n_r, n_max = c.shape
    off_x = np.empty((n_r, n_max, 3), dtype=np.int64)
    off_y = np.empty((n_r, n_max, 3), dtype=np.int64)
    for k in range(n_r):
        for j in range(3):
            rr = radii[k] + (0.0, -0.5, 0.5)[j]
            for i in range(n_max):
                off_x[k, i, j] = _round_half_away(rr * c[k, i])
                off_y[k, i, j] = _round_half_away(rr * s[k, i])
    return off_x, off_y


#: Normal and ray directions are compared as angles modulo pi in this many bins.
_ANGLE_BINS = 254
#: A sample counts when the edge normal is within this angle of the ray, either way.
_NORMAL_TOL = math.pi / 6


@njit(cache=True)
def _normal_codes_kernel(xs, ys, nx, ny, shape, pad):
    """The edge map as one byte per pixel, in a frame ``pad`` pixels wide: 0 where there
    is no edge pixel (or its normal vanishes), else 1 + the bin of its normal's angle
    modulo pi (``_ANGLE_BINS`` bins, rounded). ``xs, ys`` (int64) are the edge pixels,
    ``nx, ny`` their unit normals, ``shape`` the image's ``(H, W)``."""
    code = np.zeros((shape[0] + 2 * pad, shape[1] + 2 * pad), dtype=np.uint8)
    scale = _ANGLE_BINS / math.pi
    for i in range(xs.shape[0]):
        if nx[i] != 0 or ny[i] != 0:
            a = math.atan2(ny[i], nx[i])  # modulo pi, as % gives it, without a division:
            a = a + math.pi if a < 0 else (0.0 if a == math.pi else a)
            code[ys[i] + pad, xs[i] + pad] = 1 + int(a * scale + 0.5) % _ANGLE_BINS
    return code


_TABLES_CACHE: dict[tuple[bytes, int], tuple[np.ndarray, ...]] = {}


def _ray_tables(radii: np.ndarray, wc: int) -> tuple[np.ndarray, ...]:
    """``(ok, flat_off, ray_bin, counts)`` of :func:`_support_tables` for a byte map
    ``wc`` wide; kept for the last few (radii, width) pairs (read-only arrays)."""
    key = (radii.tobytes(), wc)
    if key not in _TABLES_CACHE:
        off_x, off_y, c, s, counts = _circle_samples(radii)
        flat_off = off_y * wc + off_x
        ray_bin = (np.rint(np.arctan2(s, c) % np.pi * (_ANGLE_BINS / np.pi)).astype(np.int64)
                   % _ANGLE_BINS)
        # ok[b, c]: a pixel of code c faces a ray of angle bin b (code 0: no edge pixel)
        d = np.abs(np.arange(_ANGLE_BINS)[:, None] - np.arange(-1, 255)[None, :]) % _ANGLE_BINS
        ok = np.minimum(d, _ANGLE_BINS - d) <= _NORMAL_TOL * _ANGLE_BINS / np.pi
        ok[:, 0] = False
        ok[:, _ANGLE_BINS + 1:] = False
        out = (ok, flat_off, ray_bin, counts)
        for arr in out:
            arr.flags.writeable = False
        if len(_TABLES_CACHE) >= 4:
            _TABLES_CACHE.pop(next(iter(_TABLES_CACHE)))
        _TABLES_CACHE[key] = out
    return _TABLES_CACHE[key]


def _support_tables(xs: np.ndarray, ys: np.ndarray, nx: np.ndarray, ny: np.ndarray,
                    shape: tuple[int, int], radii: np.ndarray, pad: int) -> tuple:
    """Everything :func:`_circle_support` reads, as one tuple.

    ``(code, ok, flat_off, ray_bin, counts, wc, frame)``: the byte map of
    :func:`_normal_codes_kernel` for the edge pixels ``xs, ys`` (int64) with unit
    normals ``nx, ny``, with a frame wide enough for every sample of a circle centred up
    to ``pad`` pixels outside the image; ``ok[b, c]`` (shape ``(_ANGLE_BINS, 256)``),
    whether a pixel of code ``c`` has its normal within ``_NORMAL_TOL`` of angle bin
    ``b`` modulo pi (never for code 0, no edge pixel); per radius and ray the three
    sample offsets (radius ``r``, ``r - 0.5``, ``r + 0.5``) as flat offsets into the
    byte map and the ray's angle bin; the samples per radius; the byte map's width and
    frame.
    """
    frame = int(math.ceil(radii[-1] + 0.5)) + 1 + pad
    code = _normal_codes_kernel(xs, ys, nx, ny, shape, frame)
    wc = code.shape[1]
    return (code.ravel(), *_ray_tables(radii, wc), wc, frame)


@njit(cache=True)
def _circle_support(tables, x, y, k, beat):
    """Fraction of circle ``(x, y, radii[k])`` on edge pixels whose normal faces the centre.

    A sample (one per pixel of arc) is supported when an edge pixel lies at radius
    ``r``, ``r - 0.5`` or ``r + 0.5`` on its ray and that pixel's normal is within
    ``_NORMAL_TOL`` of the ray, either way (angles compared in ``_ANGLE_BINS`` bins).
    ``tables`` is :func:`_support_tables`' tuple; its frame makes every sample of a
    centre in range a valid index.

    The callers only want supports larger than ``beat``: the count stops as soon as the
    samples left cannot lift it above ``beat``, and then returns a value ``<= beat`` (the
    best it could still have reached) instead of the exact support.
    """
    code, ok, flat_off, ray_bin, counts, wc, frame = tables
    base = (y + frame) * wc + (x + frame)
    n = counts[k]
    # after m misses the support is at most (n - m) / n: the count stops at the first
    # m_stop misses where that no longer beats ``beat`` (n + 1: never)
    m_stop = n + 1
    if beat >= 0:
        m_stop = max(int(math.ceil(n - beat * n)), 0)
        while m_stop > 0 and (n - (m_stop - 1)) / n <= beat:
            m_stop -= 1
        while m_stop <= n and (n - m_stop) / n > beat:
            m_stop += 1
    if m_stop == 0:
        return 1.0
    misses = 0
    for i in range(n):
        b = ray_bin[k, i]
        # the three samples read and or-ed: no branch on the edge map
        hit = (ok[b, code[base + flat_off[k, i, 0]]] | ok[b, code[base + flat_off[k, i, 1]]]
               | ok[b, code[base + flat_off[k, i, 2]]])
        misses += 1 - hit
        if misses >= m_stop:
            return (n - misses) / n
    return (n - misses) / n


#: Cells a climb remembers having counted (the most recent ones).
_SEEN = 64


@njit(cache=True)
def _cell_key(k, y, x, bounds):
    """Flat key of cell ``(k, y, x)`` for centres in ``bounds``."""
    y_lo, y_hi, x_lo, x_hi = bounds
    return (k * (y_hi - y_lo) + (y - y_lo)) * (x_hi - x_lo) + (x - x_lo)


@njit(cache=True)
def _seen_before(seen, n_seen, key):
    """Whether ``key`` is among the last ``_SEEN`` keys of the ring ``seen``."""
    for i in range(min(n_seen, _SEEN)):
        if seen[i] == key:
            return True
    return False


@njit(cache=True)
def _climb(tables, k, y, x, best, bounds, path, visited, seen, n_seen):
    """Hill-climb the support of circle ``(x, y, radii[k])``, whose support is ``best``.

    Moves one pixel (same radius) or one radius step (same centre) at a time to the best
    of those 10 neighbours while it beats the current support; centres stay inside
    ``bounds = (y_lo, y_hi, x_lo, x_hi)`` (half-open). The cells passed go to ``path``
    (flat keys); the climb stops early at a cell in ``visited`` (a climb from
    there was made before). Returns ``k, y, x, best, key, n_path`` with ``key`` that
    visited cell, or -1, and ``n_path`` the cells written to ``path`` (room for 200).

    ``seen`` (a ring of ``_SEEN`` keys, ``n_seen`` written so far) holds cells whose
    support is known not to beat ``best``: they are not counted again. Every cell the
    climb counts joins it, as does each cell it passes: what a count returned was either
    the new best or at most the best of its time, and the best only grows.
    """
    n_r = tables[4].shape[0]
    y_lo, y_hi, x_lo, x_hi = bounds
    n_path = 0
    for _ in range(200):
        key = _cell_key(k, y, x, bounds)
        if key in visited:
            return k, y, x, best, key, n_path
        path[n_path] = key
        n_path += 1
        seen[n_seen % _SEEN] = key
        n_seen += 1
        bk, by, bx = k, y, x
        for kk in range(max(k - 1, 0), min(k + 2, n_r)):
            for yy in range(max(y - 1, y_lo), min(y + 2, y_hi)):
                for xx in range(max(x - 1, x_lo), min(x + 2, x_hi)):
                    if (kk == k) == (yy == y and xx == x):
                        continue
                    nkey = _cell_key(kk, yy, xx, bounds)
                    if _seen_before(seen, n_seen, nkey):
                        continue
                    seen[n_seen % _SEEN] = nkey
                    n_seen += 1
                    v = _circle_support(tables, xx, yy, kk, best)
                    if v > best:
                        best = v
                        bk, by, bx = kk, yy, xx
        if bk == k and by == y and bx == x:
            break
        k, y, x = bk, by, bx
    return k, y, x, best, -1, n_path


@njit(cache=True)
def _circle_refine_kernel(tables, cand, threshold, bounds):
    """Climb every candidate to its best nearby circle; the distinct circles found.

    Parameters
    ----------
    tables : tuple
        The edge map and circle samples, from :func:`_support_tables`.
    cand : ndarray of float64, shape (M, 4)
        ``(k, y, x, vote score)``.
    threshold : float
        Minimum support of a circle returned; candidates whose start is below half of it
        are not climbed.
    bounds : tuple of int
        ``(y_lo, y_hi, x_lo, x_hi)``: the centres allowed (half-open ranges).

    Returns
    -------
    ndarray of float64, shape (K, 4)
        ``(x, y, k, support)`` of the distinct circles reached with support
        >= ``threshold``, in no particular order.

    Notes
    -----
    Each candidate starts from the best of its centre at the radii within two steps of
    its own and of the 8 centres around it at its radius (the 3x3 vote sum cannot place
    a circle closer), and climbs from there. Candidates are taken best start
    first; every cell a climb passes is remembered with the circle it led to, so a later
    climb that meets one stops there: each circle is climbed to once, whatever the
    number of candidates on it, and no candidate is dropped for being near another one.
    A climb does not count again a cell it (or the choice of its start) counted: that
    support cannot beat the current one.
    """
    n_r = tables[4].shape[0]
    m_total = cand.shape[0]
    # each candidate's start: the best of its centre at the radii within two steps and of
    # the 8 centres around at its radius
    y_lo, y_hi, x_lo, x_hi = bounds
    floor = 0.5 * threshold - 1e-12
    own = np.zeros(m_total)
    own_kyx = np.empty((m_total, 3), dtype=np.int64)
    for m in range(m_total):
        k0, y0, x0 = int(cand[m, 0]), int(cand[m, 1]), int(cand[m, 2])
        own_kyx[m, 0], own_kyx[m, 1], own_kyx[m, 2] = k0, y0, x0
        # only supports above half the threshold matter (the others are not climbed):
        # counting stops early below that
        for k in range(max(k0 - 2, 0), min(k0 + 3, n_r)):
            v = _circle_support(tables, x0, y0, k, max(own[m], floor))
            if v > own[m] and v > floor:
                own[m] = v
                own_kyx[m, 0] = k
        for y in range(max(y0 - 1, y_lo), min(y0 + 2, y_hi)):
            for x in range(max(x0 - 1, x_lo), min(x0 + 2, x_hi)):
                if y != y0 or x != x0:
                    v = _circle_support(tables, x, y, k0, max(own[m], floor))
                    if v > own[m] and v > floor:
                        own[m] = v
                        own_kyx[m, 0], own_kyx[m, 1], own_kyx[m, 2] = k0, y, x
    order = np.argsort(-own, kind="mergesort")
    # cell -> the circle its climb led to (-1: none above the threshold)
    visited = Dict.empty(key_type=types.int64, value_type=types.int64)
    found = np.empty((m_total, 4))
    n_found = 0
    seen = np.empty(_SEEN, dtype=np.int64)
    path = np.empty(200, dtype=np.int64)
    for m in order:
        if own[m] < 0.5 * threshold:
            break
        # the cells counted to choose this start: none of them beats it
        k0, y0, x0 = int(cand[m, 0]), int(cand[m, 1]), int(cand[m, 2])
        n_seen = 0
        for k in range(max(k0 - 2, 0), min(k0 + 3, n_r)):
            seen[n_seen] = _cell_key(k, y0, x0, bounds)
            n_seen += 1
        for y in range(max(y0 - 1, y_lo), min(y0 + 2, y_hi)):
            for x in range(max(x0 - 1, x_lo), min(x0 + 2, x_hi)):
                if y != y0 or x != x0:
                    seen[n_seen] = _cell_key(k0, y, x, bounds)
                    n_seen += 1
        k, y, x, best, hit, n_path = _climb(tables, own_kyx[m, 0], own_kyx[m, 1],
                                            own_kyx[m, 2], own[m], bounds, path, visited,
                                            seen, n_seen)
        if hit >= 0:
            result = visited[hit]
        else:
            result = -1
            for q in range(n_found):
                if found[q, 0] == x and found[q, 1] == y and found[q, 2] == k:
                    result = q
            if result < 0 and best >= threshold:
                found[n_found, 0] = x
                found[n_found, 1] = y
                found[n_found, 2] = k
                found[n_found, 3] = best
                result = n_found
                n_found += 1
        for i in range(n_path):
            visited[path[i]] = result
    return found[:n_found]
