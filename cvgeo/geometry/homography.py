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
    _hartley_stats,
    _homography_sign_kernel,
    _normalizer_kernel,
)
from cvgeo.geometry._homography_refine import (
    _denormalize,
    _finish_kernel,
    _transfer_kernel,
    _transfer_sq,
)
from cvgeo.geometry.ransac import (
    MAX_THRESHOLD_PX,
    MAX_TRIALS,
    RansacResult,
    _warn_low_support,
)

__all__ = ["HomographyEstimator", "HomographyResult", "find_homography"]


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
