"""The homography model for :func:`~cvgeo.geometry.ransac.ransac`: closed-form 4-point
hypotheses, numba MSAC scoring, the normalised DLT, the Sampson-error refinement, and
:func:`find_homography` (whose robust search is compiled in
:mod:`cvgeo.geometry._homography_ransac`).

Conventions: points are ``(N, 2)`` ``(x, y)`` pixel coordinates; ``H`` maps ``src`` to
``dst`` (``dst ~ H @ (x, y, 1)``), has unit Frobenius norm and ``h33 > 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from cvgeo._checks import (
    DegenerateError,
    check_bool,
    check_int,
    check_pair,
    check_points,
    check_real,
    check_seed,
    names_errors_as,
)
from cvgeo.geometry._common import (
    _cholesky,
    _cholesky_solve,
    _hartley_stats,
    _homography_sign_kernel,
    _normalizer_kernel,
)
from cvgeo.geometry.ransac import (
    MAX_THRESHOLD_PX,
    MAX_TRIALS,
    RansacResult,
    _warn_low_support,
)

__all__ = ["HomographyEstimator", "HomographyResult", "find_homography"]

#: the final refinement uses residuals up to this many noise sigmas (see find_homography).
_REFINE_SIGMAS = 4.0


@dataclass(frozen=True)
class HomographyResult(RansacResult):
    """Result of :func:`find_homography`: a :class:`~cvgeo.geometry.ransac.RansacResult`
    whose ``model`` is the 3x3 float64 homography, also named ``H``.

    Attributes
    ----------
    model : ndarray of shape (3, 3)
        ``dst ~ H src``, unit Frobenius norm, ``h33 > 0``.
    inlier_mask, n_trials, n_degenerate, residuals
        As in :class:`~cvgeo.geometry.ransac.RansacResult` (residuals are forward
        transfer distances in ``dst`` pixels).
    """

    @property
    def H(self) -> np.ndarray:
        """The homography (``model``), under its concept name."""
        return self.model


@njit(cache=True, inline="always")
def _area2(ax, ay, bx, by, cx, cy):
    """Twice the signed area of the triangle (a, b, c)."""
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@njit(cache=True)
def _minimal_one(src, dst, H, M):
    """The closed-form homography of one 4-point sample, with its degeneracy checks.

    Parameters
    ----------
    src, dst : float64 (4, 2)
    H : float64 (3, 3)
        Output: the homography, unit Frobenius norm (left as is when invalid).
    M : float64 (2, 3, 3)
        Work space.

    Returns
    -------
    bool
        False when three points of the sample are (nearly) collinear in either image
        (|area| <= 1e-6 of the squared extent) or when the four triangles do not all
        keep, or all flip, their orientation (a homography between two views of points
        in front of both cameras does one or the other for every triangle).

    Notes
    -----
    With the points centred, ``M = [p0 p1 p2] diag(l)`` with ``l = [p0 p1 p2]^-1 p3``
    (Cramer's rule: ratios of triangle areas) maps the projective basis ``e1, e2, e3,
    (1, 1, 1)`` to the points; ``H = M_dst adj(M_src)`` (Hartley & Zisserman, ex. 2.7).
    """
    sign = 0.0
    ext_s = 0.0
    ext_d = 0.0
    for i in range(4):
        for j in range(i + 1, 4):
            ext_s = max(ext_s, abs(src[i, 0] - src[j, 0]), abs(src[i, 1] - src[j, 1]))
            ext_d = max(ext_d, abs(dst[i, 0] - dst[j, 0]), abs(dst[i, 1] - dst[j, 1]))
    tol_s = 1e-6 * ext_s * ext_s
    tol_d = 1e-6 * ext_d * ext_d
    for a, c, d in ((0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)):
        s_ = _area2(src[a, 0], src[a, 1], src[c, 0], src[c, 1], src[d, 0], src[d, 1])
        d_ = _area2(dst[a, 0], dst[a, 1], dst[c, 0], dst[c, 1], dst[d, 0], dst[d, 1])
        if not (abs(s_) > tol_s and abs(d_) > tol_d):
            return False
        o = 1.0 if s_ * d_ > 0 else -1.0
        if sign == 0.0:
            sign = o
        elif o != sign:
            return False
    csx = 0.25 * (src[0, 0] + src[1, 0] + src[2, 0] + src[3, 0])
    csy = 0.25 * (src[0, 1] + src[1, 1] + src[2, 1] + src[3, 1])
    cdx = 0.25 * (dst[0, 0] + dst[1, 0] + dst[2, 0] + dst[3, 0])
    cdy = 0.25 * (dst[0, 1] + dst[1, 1] + dst[2, 1] + dst[3, 1])
    for m in range(2):
        pts = src if m == 0 else dst
        cx = csx if m == 0 else cdx
        cy = csy if m == 0 else cdy
        x0, y0 = pts[0, 0] - cx, pts[0, 1] - cy
        x1, y1 = pts[1, 0] - cx, pts[1, 1] - cy
        x2, y2 = pts[2, 0] - cx, pts[2, 1] - cy
        x3, y3 = pts[3, 0] - cx, pts[3, 1] - cy
        det = _area2(x0, y0, x1, y1, x2, y2)
        l0 = _area2(x3, y3, x1, y1, x2, y2) / det
        l1 = _area2(x0, y0, x3, y3, x2, y2) / det
        l2 = _area2(x0, y0, x1, y1, x3, y3) / det
        M[m, 0, 0], M[m, 0, 1], M[m, 0, 2] = x0 * l0, x1 * l1, x2 * l2
        M[m, 1, 0], M[m, 1, 1], M[m, 1, 2] = y0 * l0, y1 * l1, y2 * l2
        M[m, 2, 0], M[m, 2, 1], M[m, 2, 2] = l0, l1, l2
    Ms = M[0]
    Md = M[1]
    # Hc = Md adj(Ms), then undo the centring: H = T(cd) Hc T(-cs)
    a00 = Ms[1, 1] * Ms[2, 2] - Ms[1, 2] * Ms[2, 1]
    a01 = Ms[0, 2] * Ms[2, 1] - Ms[0, 1] * Ms[2, 2]
    a02 = Ms[0, 1] * Ms[1, 2] - Ms[0, 2] * Ms[1, 1]
    a10 = Ms[1, 2] * Ms[2, 0] - Ms[1, 0] * Ms[2, 2]
    a11 = Ms[0, 0] * Ms[2, 2] - Ms[0, 2] * Ms[2, 0]
    a12 = Ms[0, 2] * Ms[1, 0] - Ms[0, 0] * Ms[1, 2]
    a20 = Ms[1, 0] * Ms[2, 1] - Ms[1, 1] * Ms[2, 0]
    a21 = Ms[0, 1] * Ms[2, 0] - Ms[0, 0] * Ms[2, 1]
    a22 = Ms[0, 0] * Ms[1, 1] - Ms[0, 1] * Ms[1, 0]
    for i in range(3):
        h0 = Md[i, 0] * a00 + Md[i, 1] * a10 + Md[i, 2] * a20
        h1 = Md[i, 0] * a01 + Md[i, 1] * a11 + Md[i, 2] * a21
        h2 = Md[i, 0] * a02 + Md[i, 1] * a12 + Md[i, 2] * a22
        H[i, 0] = h0
        H[i, 1] = h1
        H[i, 2] = h2 - h0 * csx - h1 * csy
    for j in range(3):
        H[0, j] += cdx * H[2, j]
        H[1, j] += cdy * H[2, j]
    norm = 0.0
    for i in range(3):
        for j in range(3):
            norm += H[i, j] * H[i, j]
    norm = np.sqrt(norm)
    if not (norm > 0.0 and np.isfinite(norm)):
        return False
    for i in range(3):
        for j in range(3):
            H[i, j] /= norm
    return True


@njit(cache=True)
def _homography_minimal_kernel(src, dst):
    """Closed-form homographies from ``B`` 4-point samples, with degeneracy checks.

    Parameters
    ----------
    src, dst : float64 (B, 4, 2)

    Returns
    -------
    H : float64 (B, 3, 3)
        Unit Frobenius norm (zeros where invalid).
    valid : bool (B,)
        See :func:`_minimal_one`.
    """
    B = src.shape[0]
    H = np.zeros((B, 3, 3))
    valid = np.zeros(B, dtype=np.bool_)
    M = np.empty((2, 3, 3))
    h = np.empty((3, 3))
    for b in range(B):
        if _minimal_one(src[b], dst[b], h, M):
            H[b] = h
            valid[b] = True
    return H, valid


@njit(cache=True)
def _transfer_sq(h, src, dst, i):
    """``|pi(h src_i) - dst_i|^2``, the squared transfer error of match ``i``; ``inf``
    where ``h`` maps ``src_i`` to infinity (w = 0). The one point-transfer error of the
    compiled homography code."""
    x = src[i, 0]
    y = src[i, 1]
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    if w == 0.0:
        return np.inf
    du = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w - dst[i, 0]
    dv = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w - dst[i, 1]
    return du * du + dv * dv


@njit(cache=True)
def _transfer_cost(h, src, dst, i, t2):
    """``min(|pi(h src_i) - dst_i|^2, t2)``; NaN/inf (w = 0) count as ``t2``."""
    e = _transfer_sq(h, src, dst, i)
    return e if e < t2 else t2


@njit(cache=True)
def _msac_one(h, src, dst, t2, bound):
    """MSAC cost ``sum_i min(|pi(h src_i) - dst_i|^2, t2)`` of one homography, or ``inf``
    when it cannot beat ``bound``.

    A hypothesis that cannot beat ``bound`` gets ``inf``: one whose partial sum reaches it
    (Capel's bail-out) or one that fails the preliminary test.

    Notes
    -----
    The preliminary test (in the spirit of Matas & Chum's T(d, d)) sums the cost over
    an evenly spread subset of m = 64 correspondences first. Each costs between 0 and
    t2, so the subset sum deviates from its expectation by a standard deviation of at
    most ``t2 sqrt(m) / 2``; a hypothesis more than 4 of those above the bound scaled to
    m correspondences is rejected (one that would beat the bound fails it with
    probability below 1e-4).
    """
    n = src.shape[0]
    m = min(n, 64)
    if bound < np.inf and m < n:
        pre = 0.0
        for k in range(m):
            pre += _transfer_cost(h, src, dst, (k * n) // m, t2)
        if pre > bound * (m / n) + 4.0 * 0.5 * t2 * np.sqrt(m):
            return np.inf
    c = 0.0
    for i in range(n):
        c += _transfer_cost(h, src, dst, i, t2)
        if c >= bound:
            return np.inf
    return c


@njit(cache=True)
def _msac_kernel(H, src, dst, t2, bound):
    """MSAC costs (:func:`_msac_one`) of ``B`` homographies.

    Parameters
    ----------
    H : float64 (B, 3, 3)
    src, dst : float64 (N, 2)
    t2 : float
        Squared threshold.
    bound : float
        The best cost so far. A hypothesis that cannot beat it gets ``inf``, and so does
        one no better than an earlier hypothesis of the batch (the bound tightens as the
        batch goes; the trial-order replay would keep the earlier one).

    Returns
    -------
    costs : float64 (B,)
    """
    B = H.shape[0]
    costs = np.empty(B)
    for b in range(B):
        c = _msac_one(H[b], src, dst, t2, bound)
        costs[b] = c
        if c < bound:
            bound = c
    return costs


def _normalizer(p: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Hartley normalisation of ``(N, 2)`` numpy points: ``(normalised, scale, T)``."""
    out, s, mx, my = _normalizer_kernel(np.ascontiguousarray(p, dtype=np.float64))
    if not s > 0:
        raise DegenerateError("find_homography: points must not all coincide, got all points "
                              "at one location")
    T = np.array([[s, 0.0, -s * mx], [0.0, s, -s * my], [0.0, 0.0, 1.0]])
    return out, s, T


@njit(cache=True)
def _dlt_normal_kernel(src, dst):
    """Hartley-normalise both point sets and accumulate the DLT normal matrix.

    Parameters
    ----------
    src, dst : float64 (N, 2)

    Returns
    -------
    M : float64 (9, 9)
        ``A^T A`` for the ``2N x 9`` DLT system of the normalised points (rows
        ``[-x, -y, -1, 0, 0, 0, u x, u y, u]`` and ``[0, 0, 0, -x, -y, -1, v x, v y, v]``).
    T1, T2 : float64 (3, 3)
        The normalising similarities of src and dst (scale 0 when the points coincide).
    """
    n = src.shape[0]
    T = np.zeros((2, 3, 3))
    for m in range(2):
        sc, mx, my = _hartley_stats(src if m == 0 else dst, None)
        T[m, 0, 0] = sc
        T[m, 1, 1] = sc
        T[m, 0, 2] = -sc * mx
        T[m, 1, 2] = -sc * my
        T[m, 2, 2] = 1.0
    M = np.zeros((9, 9))
    r = np.empty(9)
    for i in range(n):
        x = T[0, 0, 0] * src[i, 0] + T[0, 0, 2]
        y = T[0, 1, 1] * src[i, 1] + T[0, 1, 2]
        u = T[1, 0, 0] * dst[i, 0] + T[1, 0, 2]
        v = T[1, 1, 1] * dst[i, 1] + T[1, 1, 2]
        for k in range(2):
            w = u if k == 0 else v
            for j in range(9):
                r[j] = 0.0
            r[3 * k], r[3 * k + 1], r[3 * k + 2] = -x, -y, -1.0
            r[6], r[7], r[8] = w * x, w * y, w
            for a in range(9):
                if r[a] != 0.0:
                    for b in range(a, 9):
                        M[a, b] += r[a] * r[b]
    for a in range(9):
        for b in range(a):
            M[a, b] = M[b, a]
    return M, T[0], T[1]


@njit(cache=True)
def _dlt_kernel(src, dst):
    """Normalised DLT: the homography minimising the algebraic error, float64 (3, 3).

    Returns ``(H, status)``: status 0 ok (``H`` with unit Frobenius norm and the sign
    rule), 1 the points of one set all coincide, 2 the normal matrix has a null space of
    dimension > 1 (degenerate configuration, e.g. collinear points).
    """
    M, T1, T2 = _dlt_normal_kernel(src, dst)
    H = np.zeros((3, 3))
    if T1[0, 0] == 0.0 or T2[0, 0] == 0.0:
        return H, 1
    w, V = np.linalg.eigh(M)
    if not w[1] > 1e-20 * w[8]:
        return H, 2
    Hn = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            Hn[i, j] = V[3 * i + j, 0]
    _denormalize(Hn, T1[0, 0], T1[0, 2], T1[1, 2], T2[0, 0], T2[0, 2], T2[1, 2], H)
    _homography_sign_kernel(H)
    return H, 0


@njit(cache=True)
def _denormalize(Hn, s1, a1, b1, s2, a2, b2, H):
    """``H = T2^-1 Hn T1`` into ``H``, with ``T = [[s, 0, a], [0, s, b], [0, 0, 1]]``."""
    for i in range(3):
        H[i, 0] = Hn[i, 0] * s1
        H[i, 1] = Hn[i, 1] * s1
        H[i, 2] = Hn[i, 0] * a1 + Hn[i, 1] * b1 + Hn[i, 2]
    for j in range(3):
        H[0, j] = (H[0, j] - a2 * H[2, j]) / s2
        H[1, j] = (H[1, j] - b2 * H[2, j]) / s2


def _dlt_lsq(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Normalised DLT for N >= 4 numpy points (numba fast path of Projective.estimate)."""
    H, status = _dlt_kernel(np.ascontiguousarray(src), np.ascontiguousarray(dst))
    if status == 1:
        raise DegenerateError("find_homography: points must not all coincide, got all points "
                              "at one location")
    if status == 2:
        raise DegenerateError("find_homography: the homography is not determined by these "
                              "points, got a degenerate (e.g. collinear) configuration")
    return H


@njit(cache=True)
def _transfer_kernel(H, src, dst):
    """Forward transfer distances ``|pi(H src_i) - dst_i|``: float64 (N,); inf if w = 0."""
    n = src.shape[0]
    out = np.empty(n)
    for i in range(n):
        x = src[i, 0]
        y = src[i, 1]
        w = H[2, 0] * x + H[2, 1] * y + H[2, 2]
        if w == 0.0:
            out[i] = np.inf
            continue
        du = (H[0, 0] * x + H[0, 1] * y + H[0, 2]) / w - dst[i, 0]
        dv = (H[1, 0] * x + H[1, 1] * y + H[1, 2]) / w - dst[i, 1]
        e = np.sqrt(du * du + dv * dv)
        out[i] = e if e == e else np.inf
    return out


def _transfer(H: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Forward transfer distances ``|pi(H src) - dst|`` in pixels, float64 (N,)."""
    return _transfer_kernel(np.ascontiguousarray(H, dtype=np.float64),
                            np.ascontiguousarray(src), np.ascontiguousarray(dst))


class HomographyEstimator:
    """The homography model for :func:`ransac` (the estimator protocol).

    Minimal samples of 4 correspondences are solved in closed form in a numba kernel
    (the homography is the product of the two maps from the projective basis to the
    sample points); samples with three collinear points or inconsistent triangle
    orientation are rejected before solving (``valid`` False). Batches are scored by a
    numba MSAC kernel that stops summing once a hypothesis cannot win. ``fit`` is the
    normalised DLT (numba); residuals are forward transfer distances
    ``|pi(H src) - dst|`` in destination pixels.
    """

    sample_size = 4

    def fit_minimal(self, src: np.ndarray, dst: np.ndarray) -> list[np.ndarray]:
        models, valid = self.fit_minimal_batch(src[None], dst[None])
        return [models[0]] if valid[0] else []

    def fit_minimal_batch(self, src: np.ndarray, dst: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
        return _homography_minimal_kernel(np.ascontiguousarray(src, dtype=np.float64),
                                          np.ascontiguousarray(dst, dtype=np.float64))

    def fit(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        if src.shape[0] < 4:
            raise DegenerateError(f"find_homography: fit needs at least 4 points, got "
                                  f"{src.shape[0]}")
        return _dlt_lsq(src, dst)

    def residuals(self, H: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        return _transfer(H, src, dst)

    def score_batch(self, H: np.ndarray, src: np.ndarray, dst: np.ndarray, *,
                    threshold_px: float, bound: float) -> np.ndarray:
        return _msac_kernel(np.ascontiguousarray(H), np.ascontiguousarray(src),
                            np.ascontiguousarray(dst), threshold_px * threshold_px, bound)


@njit(cache=True)
def _sampson_point(Hn, X0, X1, u, v, s1, s2, dr, jac):
    """One correspondence of :func:`_sampson_kernel`: its two whitened residuals
    ``(r1, r2, ok)``, and (if ``jac``) their derivatives w.r.t. the 9 entries of ``Hn``
    into the rows of ``dr`` (2, 9).

    With ``Jx``'s rows ``(p0, p1, c / s2, 0)`` and ``(q0, q1, 0, c / s2)`` the whitening
    ``S = [[A, B], [B, C]]`` has ``A = p0² + p1² + (c/s2)²``, ``B = p0 q0 + p1 q1``,
    ``C = q0² + q1² + (c/s2)²``; each entry ``h_jk`` moves only a few of ``p, q, c`` and
    of ``e``, so the derivatives are written out entry by entry.
    """
    a = Hn[0, 0] * X0 + Hn[0, 1] * X1 + Hn[0, 2]
    b = Hn[1, 0] * X0 + Hn[1, 1] * X1 + Hn[1, 2]
    c = Hn[2, 0] * X0 + Hn[2, 1] * X1 + Hn[2, 2]
    e1 = u * c - a
    e2 = v * c - b
    i1 = 1.0 / s1
    i2 = 1.0 / s2
    # Jx scaled by the noise scales of each coordinate
    p0 = (u * Hn[2, 0] - Hn[0, 0]) * i1
    p1 = (u * Hn[2, 1] - Hn[0, 1]) * i1
    q0 = (v * Hn[2, 0] - Hn[1, 0]) * i1
    q1 = (v * Hn[2, 1] - Hn[1, 1]) * i1
    cc = c * i2
    A = p0 * p0 + p1 * p1 + cc * cc
    B = p0 * q0 + p1 * q1
    C = q0 * q0 + q1 * q1 + cc * cc
    if not A > 0.0:
        return 0.0, 0.0, False
    l11 = np.sqrt(A)
    l21 = B / l11
    d22 = C - l21 * l21
    if not d22 > 0.0:
        return 0.0, 0.0, False
    l22 = np.sqrt(d22)
    r1 = e1 / l11
    r2 = (e2 - l21 * r1) / l22
    if not jac:
        return r1, r2, True
    il11 = 1.0 / l11
    il22 = 1.0 / l22
    for k in range(9):
        # dA, dB, dC and de1, de2 for H_jk (index 3 j + k)
        if k == 0 or k == 1:  # h00, h01: p moves by -1/s1 per X
            pk = p0 if k == 0 else p1
            qk = q0 if k == 0 else q1
            dA, dB, dC = -2.0 * pk * i1, -qk * i1, 0.0
            d1, d2 = -(X0 if k == 0 else X1), 0.0
        elif k == 2:
            dA, dB, dC = 0.0, 0.0, 0.0
            d1, d2 = -1.0, 0.0
        elif k == 3 or k == 4:  # h10, h11: q moves
            pk = p0 if k == 3 else p1
            qk = q0 if k == 3 else q1
            dA, dB, dC = 0.0, -pk * i1, -2.0 * qk * i1
            d1, d2 = 0.0, -(X0 if k == 3 else X1)
        elif k == 5:
            dA, dB, dC = 0.0, 0.0, 0.0
            d1, d2 = 0.0, -1.0
        elif k == 6 or k == 7:  # h20, h21: p, q and c move
            xk = X0 if k == 6 else X1
            pk = p0 if k == 6 else p1
            qk = q0 if k == 6 else q1
            dc = 2.0 * cc * xk * i2
            dA = 2.0 * pk * u * i1 + dc
            dB = (u * qk + v * pk) * i1
            dC = 2.0 * qk * v * i1 + dc
            d1, d2 = u * xk, v * xk
        else:  # h22: c moves
            dc = 2.0 * cc * i2
            dA, dB, dC = dc, 0.0, dc
            d1, d2 = u, v
        dl11 = 0.5 * dA * il11
        dl21 = (dB - l21 * dl11) * il11
        dl22 = 0.5 * (dC - 2.0 * l21 * dl21) * il22
        dr1 = (d1 - dl11 * r1) * il11
        dr[0, k] = dr1
        dr[1, k] = (d2 - dl21 * r1 - l21 * dr1 - dl22 * r2) * il22
    return r1, r2, True


@njit(cache=True)
def _sampson_kernel(Hn, xs, xd, s1, s2):
    """Whitened Sampson residuals of a homography and their Jacobian w.r.t. ``Hn``.

    For each correspondence the two DLT equations ``e = (u c - a, v c - b)`` (with
    ``(a, b, c) = Hn (x, y, 1)``) are whitened by their first-order covariance
    ``S = Jx D Jx^T`` (``Jx`` = de/d(x, y, u, v), ``D = diag(s1, s1, s2, s2)^2`` the
    noise scale of normalised coordinates): ``r = L^-1 e`` with ``L L^T = S``, so
    ``|r|^2`` is the Sampson error in pixels^2, the first-order approximation of the
    gold-standard (maximum-likelihood) reprojection error. The Jacobian is exact,
    including the dependence of ``L`` on ``Hn``: ``dr = L^-1 (de - dL r)``.

    Parameters
    ----------
    Hn : float64 (3, 3)
    xs, xd : float64 (N, 2)
        Hartley-normalised src and dst points, with scales ``s1`` and ``s2``.

    Returns
    -------
    r : float64 (2N,)
    J : float64 (2N, 9)
    ok : bool
        False for a degenerate whitening (``S`` singular).
    """
    n = xs.shape[0]
    r = np.empty(2 * n)
    J = np.zeros((2 * n, 9))
    dr = np.empty((2, 9))
    for i in range(n):
        r1, r2, ok = _sampson_point(Hn, xs[i, 0], xs[i, 1], xd[i, 0], xd[i, 1], s1, s2,
                                    dr, True)
        if not ok:
            return r, J, False
        r[2 * i] = r1
        r[2 * i + 1] = r2
        for k in range(9):
            J[2 * i, k] = dr[0, k]
            J[2 * i + 1, k] = dr[1, k]
    return r, J, True


@njit(cache=True)
def _sampson_normal_kernel(Hn, xs, xd, s1, s2, JtJ, g, jac):
    """The Gauss-Newton normal equations of :func:`_sampson_kernel`'s residuals.

    Writes ``J^T J`` (9, 9) into ``JtJ`` and ``J^T r`` (9,) into ``g`` without forming
    ``J`` (if ``jac``; else leaves them); returns the cost ``|r|^2`` (pixels^2), ``inf``
    for a degenerate whitening.
    """
    n = xs.shape[0]
    dr = np.empty((2, 9))
    if jac:
        JtJ[:, :] = 0.0
        g[:] = 0.0
    cost = 0.0
    for i in range(n):
        r1, r2, ok = _sampson_point(Hn, xs[i, 0], xs[i, 1], xd[i, 0], xd[i, 1], s1, s2,
                                    dr, jac)
        if not ok:
            return np.inf
        cost += r1 * r1 + r2 * r2
        if not jac:
            continue
        for a in range(9):
            d0 = dr[0, a]
            d1 = dr[1, a]
            g[a] += d0 * r1 + d1 * r2
            for b in range(a, 9):
                JtJ[a, b] += d0 * dr[0, b] + d1 * dr[1, b]
    if jac:
        for a in range(9):
            for b in range(a):
                JtJ[a, b] = JtJ[b, a]
    return cost if np.isfinite(cost) else np.inf


@njit(cache=True)
def _lm_kernel(Hn, xs, xd, s1, s2, iterations):
    """Levenberg-Marquardt on the Sampson error (see :func:`_refine_homography`).

    Returns ``(H, ok)``: the refined normalised homography (unit Frobenius norm; ``Hn``
    itself when nothing lowered the cost) and False when the start is degenerate.

    Trial steps are costed without the Jacobian, which is computed only at the start
    and at each accepted point the iteration goes on from (one call site for both
    kinds of pass keeps the compiled code small).
    """
    JtJ = np.empty((9, 9))
    g = np.empty(9)
    A = np.empty((9, 9))
    L = np.empty((9, 9))
    step = np.empty(9)
    H = Hn.copy()
    trial = Hn.copy()
    cost = np.inf
    lam = 1e-4
    jac = True  # the next pass: the Jacobian at H (True) or the cost of a trial step
    iteration = 0
    tries = 0
    while True:
        c = _sampson_normal_kernel(trial, xs, xd, s1, s2, JtJ, g, jac)
        if jac:
            if not c < np.inf:
                return H, False
            cost = c
            iteration += 1
            tries = 0
        elif c < cost:  # accepted
            converged = cost - c <= 1e-8 * cost
            H[:, :] = trial
            cost = c
            lam = max(lam / 10.0, 1e-12)
            if converged or iteration >= iterations:
                break
            jac = True
            continue
        else:
            lam *= 10.0
            tries += 1
            if tries >= 8:
                break
        jac = False
        # the next trial step from H: (J^T J + lam diag(J^T J)) step = -J^T r
        ok = False
        while not ok and tries < 8:
            for a in range(9):
                for b in range(9):
                    A[a, b] = JtJ[a, b]
                A[a, a] += lam * (JtJ[a, a] + 1e-12)
            ok = _cholesky(A, L)
            if not ok:
                lam *= 10.0
                tries += 1
        if not ok:
            break
        _cholesky_solve(L, g, step)
        norm = 0.0
        for i in range(3):
            for j in range(3):
                v = H[i, j] - step[3 * i + j]
                trial[i, j] = v
                norm += v * v
        trial /= np.sqrt(norm)
    return H, True


@njit(cache=True)
def _refine_kernel(H, src, dst, ids, iterations):
    """:func:`_refine_homography` on the matches ``ids`` (int64): ``(H, ok)``, ``ok``
    False (and ``H`` unchanged) when the matches of one image coincide or the Sampson
    whitening is degenerate."""
    m = ids.shape[0]
    s1, mx1, my1 = _hartley_stats(src, ids)
    s2, mx2, my2 = _hartley_stats(dst, ids)
    if not (s1 > 0.0 and s2 > 0.0):
        return H, False
    xs = np.empty((m, 2))
    xd = np.empty((m, 2))
    for k in range(m):
        i = ids[k]
        xs[k, 0] = (src[i, 0] - mx1) * s1
        xs[k, 1] = (src[i, 1] - my1) * s1
        xd[k, 0] = (dst[i, 0] - mx2) * s2
        xd[k, 1] = (dst[i, 1] - my2) * s2
    # Hn = T2 H T1^-1
    G = np.empty((3, 3))
    for j in range(3):
        G[0, j] = s2 * (H[0, j] - mx2 * H[2, j])
        G[1, j] = s2 * (H[1, j] - my2 * H[2, j])
        G[2, j] = H[2, j]
    Hn = np.empty((3, 3))
    for i in range(3):
        Hn[i, 0] = G[i, 0] / s1
        Hn[i, 1] = G[i, 1] / s1
        Hn[i, 2] = G[i, 2] + (G[i, 0] * mx1 + G[i, 1] * my1)
    Hn /= np.sqrt(np.sum(Hn * Hn))
    Hr, ok = _lm_kernel(Hn, xs, xd, s1, s2, iterations)
    if not ok:
        return H, False
    out = np.empty((3, 3))
    _denormalize(Hr, s1, -s1 * mx1, -s1 * my1, s2, -s2 * mx2, -s2 * my2, out)
    _homography_sign_kernel(out)
    return out, True


def _refine_homography(H: np.ndarray, src: np.ndarray, dst: np.ndarray,
                       iterations: int = 10) -> np.ndarray:
    """Levenberg-Marquardt on the Sampson error over ``src``/``dst`` (the inliers).

    Works on the 9 entries of the homography in Hartley-normalised coordinates (the
    scale direction is left to the damping and removed by renormalising each step);
    stops when a step lowers the cost by less than 1e-8 of it. Returns the refined ``H``
    (unit Frobenius norm, sign rule), never a worse one.
    """
    src = np.ascontiguousarray(src, dtype=np.float64)
    out, _ = _refine_kernel(np.ascontiguousarray(H, dtype=np.float64), src,
                            np.ascontiguousarray(dst, dtype=np.float64),
                            np.arange(src.shape[0]), iterations)
    return out


@njit(cache=True)
def _finish_kernel(H, src, dst, t, refine):
    """The last steps of :func:`find_homography`: ``(H, residuals)``.

    ``H`` gets the sign rule; with ``refine`` (and at least 5 inliers) it is refined by
    :func:`_refine_kernel` on the matches with residuals up to ``max(t, 4 sigma)``,
    ``sigma`` estimated from the median inlier residual; the residuals (forward transfer
    distances, ``inf`` where undefined) are those of the returned ``H``.
    """
    H = H.copy()
    _homography_sign_kernel(H)
    res = _transfer_kernel(H, src, dst)
    if not refine:
        return H, res
    n = src.shape[0]
    m = 0
    for i in range(n):
        if res[i] <= t:
            m += 1
    if m < 5:
        return H, res
    within = np.empty(m)
    m = 0
    for i in range(n):
        if res[i] <= t:
            within[m] = res[i]
            m += 1
    # residuals of true inliers are ~Rayleigh(sigma), median 1.1774 sigma
    lim = max(t, _REFINE_SIGMAS * np.median(within) / 1.1774)
    ids = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if res[i] <= lim:
            ids[m] = i
            m += 1
    Hr, ok = _refine_kernel(H, src, dst, ids[:m], 10)
    if not ok:  # the refinement set collapsed: keep the RANSAC model
        return H, res
    return Hr, _transfer_kernel(Hr, src, dst)


@njit(cache=True)
def _extent_kernel(p):
    """Width and height of the bounding box of float64 (N, 2) points (``np.ptp`` over
    axis 0, without its strided reductions)."""
    x0 = x1 = p[0, 0]
    y0 = y1 = p[0, 1]
    for i in range(1, p.shape[0]):
        x0 = min(x0, p[i, 0])
        x1 = max(x1, p[i, 0])
        y0 = min(y0, p[i, 1])
        y1 = max(y1, p[i, 1])
    return x1 - x0, y1 - y0


@names_errors_as("ransac")
def find_homography(
    src: np.ndarray,
    dst: np.ndarray,
    *,
    threshold_px: float = 3.0,
    confidence: float = 0.999,
    max_trials: int = 10_000,
    seed: int | np.random.Generator | None = 0,
    refine: bool = True,
) -> HomographyResult:
    """Robustly estimate the homography mapping ``src`` to ``dst``.

    The robust search of :func:`ransac` with the model of :class:`HomographyEstimator`
    (4-point closed-form hypotheses with collinearity and orientation checks, MSAC
    scoring, local optimisation by normalised DLT refits, adaptive stopping, degenerate
    samples outside the budget), compiled as one loop with SPRT verification; then a
    Levenberg-Marquardt refinement of the Sampson error on the inliers (the first-order
    approximation of the maximum-likelihood reprojection error with noise in both
    images, as opposed to the algebraic error the DLT minimises); the inlier mask and
    residuals are recomputed with the returned matrix.

    Conventions: points are ``(N, 2)`` ``(x, y)`` pixel coordinates; ``H`` maps ``src``
    to ``dst`` (``dst ~ H @ (x, y, 1)``), has unit Frobenius norm and ``h33 > 0`` (it is
    never divided by ``h33``); residuals are forward transfer distances in ``dst`` pixels.

    Parameters
    ----------
    src, dst : ndarray of shape (N, 2)
        Corresponding points, N >= 4; finite.
    threshold_px : float
        Inlier threshold on the transfer distance, in pixels, at most 1e12.
    confidence : float
        See :func:`ransac`.
    max_trials : int
        Upper bound on minimal samples.
    seed : int, numpy.random.Generator or None
        The default ``0`` makes every call reproducible. An int below ``2**64`` seeds
        the search's own generator directly; a Generator (or None: fresh entropy) gives
        it one draw.
    refine : bool
        Run the final geometric (LM) refinement.

    Returns
    -------
    HomographyResult
        A :class:`~cvgeo.geometry.ransac.RansacResult` whose ``model`` (also ``H``) is the
        3x3 float64 homography.

    Raises
    ------
    DegenerateError
        Fewer than 4 points, fewer than 4 distinct points, all points collinear, (for 4
        points) three of them collinear, or no non-degenerate sample found.
    ValueError, TypeError
        Non-finite or badly shaped points, bad parameters.

    Warns
    -----
    RuntimeWarning
        Low support: the inliers are no more than random matches would give (the 4 of
        the sample plus the count of matches landing within ``threshold_px`` of their
        prediction by chance, uniform over the bounding box of ``dst``, that the best of
        the hypotheses tried exceeds with probability below 1e-3): the model is likely
        wrong.

    References
    ----------
    R. Hartley, A. Zisserman, *Multiple View Geometry in Computer Vision*, 2nd ed.,
    2004, sections 4.2 (DLT), 4.2.6 (Sampson error) and 4.7 (robust
    estimation). doi:10.1017/CBO9780511811685

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> H = np.array([[1.1, 0.05, 4.0], [-0.03, 0.95, -2.0], [1e-4, 2e-4, 1.0]])
    >>> src = rng.uniform(0, 400, (200, 2))
    >>> h = np.c_[src, np.ones(200)] @ H.T
    >>> dst = h[:, :2] / h[:, 2:]
    >>> dst[:50] += rng.uniform(-80, 80, (50, 2))  # 25 % outliers
    >>> r = find_homography(src, dst, threshold_px=2.0)
    >>> bool(np.allclose(r.model, H / np.linalg.norm(H), atol=1e-9))
    True
    >>> int(r.inlier_mask[50:].sum())
    150
    """
    from cvgeo.geometry._homography_ransac import homography_ransac
    from cvgeo.geometry.transforms import Projective, _check_correspondences

    func = "find_homography"
    src = check_points(src, func, "src", min_count=4)
    dst = check_points(dst, func, "dst", min_count=4)
    check_pair(src, dst, func)
    t = check_real(threshold_px, func, "threshold_px", low=0.0, high=MAX_THRESHOLD_PX,
                   low_inclusive=False)
    refine = check_bool(refine, func, "refine")
    confidence = check_real(confidence, func, "confidence", low=0.0, high=1.0,
                            low_inclusive=False, high_inclusive=False)
    max_trials = check_int(max_trials, func, "max_trials", low=1, high=MAX_TRIALS)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)) \
            and 0 <= seed < 2**64:
        key = int(seed)  # seeds the compiled generator directly
    else:  # a Generator, None (fresh entropy) or an error from check_seed
        key = int(check_seed(seed, func).integers(0, 2**63))
    if src.shape[0] <= 16:  # few points: say precisely why a configuration is degenerate
        _check_correspondences(Projective, src, dst, func)
    src = np.ascontiguousarray(src, dtype=np.float64)
    dst = np.ascontiguousarray(dst, dtype=np.float64)
    # chance: a random dst within t of its prediction, over the bounding box of dst
    w, h = _extent_kernel(dst)
    p_chance = min(1.0, math.pi * t * t / (max(w, 2.0 * t) * max(h, 2.0 * t)))
    try:
        H, n_trials, n_degenerate = homography_ransac(src, dst, threshold_px=t,
                                                      confidence=confidence,
                                                      max_trials=max_trials, key=key,
                                                      delta0=p_chance)
    except DegenerateError as exc:
        _check_correspondences(Projective, src, dst, func)  # the precise reason, if any
        raise DegenerateError(str(exc).replace("ransac:", f"{func}:", 1)) from None
    # The refinement set is wider than the threshold when the noise allows: residuals of
    # true inliers are ~Rayleigh(sigma); cutting them at threshold_px drops (and biases)
    # the tail, so the refinement uses r <= max(t, 4 sigma) (0.03 % of the tail lost).
    H, res = _finish_kernel(H, src, dst, t, refine)
    inl = res <= t
    _warn_low_support(func, int(inl.sum()), len(src), 4, p_chance, n_trials - n_degenerate)
    return HomographyResult(model=H, inlier_mask=inl, n_trials=n_trials,
                            n_degenerate=n_degenerate, residuals=res)
