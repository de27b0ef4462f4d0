"""Robust estimation of the fundamental matrix: RANSAC with 7-point hypotheses, MSAC
scoring, local optimisation, DEGENSAC's plane-and-parallax completion and a Sampson
polish.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from cvgeo._checks import (
    DegenerateError,
    check_bool,
    check_choice,
    check_int,
    check_points_pair,
    check_real,
    check_seed,
    names_errors_as,
)
from cvgeo.geometry._common import (
    _ConceptModel,
    _unit_sign,
)
from cvgeo.geometry._degensac import dominant_plane
from cvgeo.geometry.degeneracy import (
    _SAMPLE_FACTOR,
    complete_dominant_plane,
    planar_support,
    plane_and_parallax,
    sample_plane,
)
from cvgeo.geometry.epipolar.fundamental import (
    fundamental_7point,
    fundamental_8point,
)
from cvgeo.geometry.epipolar.kernels import (
    _eight_point_gram_kernel,
    _msac_cost_kernel,
    _sampson_kernel,
    _score_batch_kernel,
    _seven_point_batch_kernel,
    _seven_point_kernel,
    _soa,
)
from cvgeo.geometry.epipolar.lines import epipolar_distance
from cvgeo.geometry.epipolar.refinement import (
    _refine_fundamental_np,
    refine_fundamental,
)
from cvgeo.geometry.homography import _transfer
from cvgeo.geometry.ransac import (
    MAX_THRESHOLD_PX,
    MAX_TRIALS,
    _draw_samples,
    _epipolar_chance,
    _warn_low_support,
)

__all__ = ["FundamentalResult", "find_fundamental"]


def _eight_point_fit(x1, x2, few: str, degenerate: str) -> np.ndarray:
    """The 8-point F (pixels) of all the matches, for the estimators' ``fit``; raises
    DegenerateError with ``few`` (under 8 matches) or ``degenerate`` (no unique F) and
    what arrived."""
    if len(x1) < 8:
        raise DegenerateError(f"{few}, got {len(x1)}")
    F = np.empty((3, 3))
    if not _eight_point_gram_kernel(np.ascontiguousarray(x1), np.ascontiguousarray(x2),
                                    np.arange(len(x1)), F):
        raise DegenerateError(f"{degenerate}, got a degenerate configuration")
    return F


class _FundamentalEstimator:
    """The ransac estimator protocol for F: 7-point hypotheses, √Sampson residuals.

    ``fit_minimal_batch`` solves B samples at once in numba and, since the protocol
    carries one model per sample, keeps each sample's best 7-point root by its MSAC cost
    on a fixed, evenly spread subset of at most 32 matches (held by the estimator);
    the chosen root is then scored by ``score_batch``: a preliminary test on an evenly
    spread subset of at most 64 matches, then all data with Capel's bail-out once the
    cost reaches the best so far. ``fit`` is the normalised 8-point algorithm through
    the normal matrix (LO's refits).

    References
    ----------
    D. Capel, "An effective bail-out test for RANSAC consensus scoring", BMVC 2005.
    J. Matas, O. Chum, "Randomized RANSAC with T(d,d) test", Image and Vision Computing
    22(10), 2004.
    """

    sample_size = 7

    def __init__(self, x1: np.ndarray, x2: np.ndarray) -> None:
        pick = np.unique(np.linspace(0, len(x1) - 1, min(len(x1), 64)).astype(np.int64))
        self.sub = _soa(x1[pick], x2[pick])  # the preliminary test of score_batch
        self.rank = np.ascontiguousarray(self.sub[:, ::2])  # ranks a sample's 7-point roots
        self.t2 = 1.0
        self.n_plane_samples = 0  # new best samples found H-degenerate (DEGENSAC)

    def fit_minimal(self, x1, x2):
        out = np.empty((3, 3, 3))
        k = _seven_point_kernel(np.ascontiguousarray(x1), np.ascontiguousarray(x2), out)
        return [out[i] for i in range(k)]

    def fit_minimal_batch(self, s1, s2):
        models = np.zeros((s1.shape[0], 3, 3))
        valid = np.zeros(s1.shape[0], dtype=bool)
        _seven_point_batch_kernel(np.ascontiguousarray(s1), np.ascontiguousarray(s2),
                                  self.rank, self.t2, models, valid)
        return models, valid

    def score_batch(self, Fs, x1, x2, *, threshold_px, bound):
        self.t2 = float(threshold_px) ** 2  # also ranks the 7-point roots from now on
        return _score_batch_kernel(np.ascontiguousarray(Fs), _soa(x1, x2), self.sub, self.t2,
                                   float(bound), np.empty(len(Fs)))

    def fit(self, x1, x2):
        return _eight_point_fit(x1, x2, "fundamental_8point: x1 must hold at least 8 points",
                                "fundamental_8point: the matches must determine F")

    def residuals(self, F, x1, x2):
        return _sampson_kernel(F, np.ascontiguousarray(x1), np.ascontiguousarray(x2),
                               np.empty(len(x1)))

    def complete_degenerate(self, F, sample, x1, x2, *, threshold_px, rng):
        """DEGENSAC: when >= 5 of the 7 sample points lie on a homography compatible with
        ``F``, complete that plane with two off-plane matches (plane and parallax)."""
        H = sample_plane(F, x1[sample], x2[sample], threshold_px)
        if H is None:
            return []
        # a completion is for a model whose support is the plane: when the sample's plane
        # holds less than half of F's inliers (five of seven points on some homography
        # happen by chance), F is not that model and the completion is skipped
        inl = self.residuals(F, x1, x2) <= threshold_px
        on = _transfer(H, x1[inl], x2[inl]) <= _SAMPLE_FACTOR * threshold_px
        if not 2 * np.count_nonzero(on) >= np.count_nonzero(inl):
            return []
        self.n_plane_samples += 1
        Fp = plane_and_parallax(H, x1, x2, float(threshold_px), rng)[0]
        return [] if Fp is None else [Fp]


@dataclass(frozen=True)
class FundamentalResult(_ConceptModel):
    """Result of :func:`find_fundamental`.

    Attributes
    ----------
    F : ndarray of shape (3, 3)
        ``x2ᵀ F x1 = 0``, rank 2, unit Frobenius norm, sign rule.
    inlier_mask : ndarray of shape (N,), bool
        Matches whose √Sampson distance under ``F`` is ``<= threshold_px`` (all True for
        the non-robust method).
    residuals : ndarray of shape (N,), float64
        √Sampson distance of every match under ``F``, pixels.
    n_trials : int
        Minimal samples drawn (0 for the non-robust method).
    n_degenerate : int
        Minimal samples skipped as degenerate.

    Every robust result names its model ``model`` (as :class:`~cvgeo.geometry.ransac.
    RansacResult` does) and by its concept: here ``model`` is ``F``.
    """

    F: np.ndarray
    inlier_mask: np.ndarray
    residuals: np.ndarray
    n_trials: int
    n_degenerate: int

    _concept = "F"


@njit(cache=True)
def _inner_lo_kernel(F, x1, x2, X, t, picks, out):
    """The inner RANSAC of :func:`_inner_lo` on pre-drawn samples ``picks`` (S, k).

    Writes the best model (``F`` unless beaten) into ``out``; returns its MSAC cost.
    The refits from a given inlier set are deterministic, and samples of the same
    consensus often reach the same set after a refit or two: a sample whose set at some
    step is one that an earlier sample had at that step (same size and index sums) would
    repeat that sample's remaining refits, and stops there.
    """
    t2 = t * t
    best = _msac_cost_kernel(F, X, t2, np.inf)
    out[:, :] = F
    buf = np.empty(x1.shape[0])
    G = np.empty((3, 3))
    S = picks.shape[0]
    steps = (3.0, 2.0, 1.5, 1.0)
    seen = np.full((S, len(steps), 3), -1, dtype=np.int64)  # size, Σ i, Σ i² per step
    for s in range(S):
        ok = _eight_point_gram_kernel(x1, x2, picks[s], G)
        for j in range(len(steps)):
            if not ok:
                break
            _sampson_kernel(G, x1, x2, buf)
            sel = np.flatnonzero(buf <= steps[j] * t)
            h1 = 0
            h2 = 0
            for i in sel:
                h1 += i
                h2 += i * i
            for q in range(s):
                if (seen[q, j, 0] == sel.size and seen[q, j, 1] == h1
                        and seen[q, j, 2] == h2):
                    ok = False
                    break
            seen[s, j, 0] = sel.size
            seen[s, j, 1] = h1
            seen[s, j, 2] = h2
            ok = ok and sel.size >= 8 and _eight_point_gram_kernel(x1, x2, sel, G)
        if not ok:
            continue
        cost = _msac_cost_kernel(G, X, t2, best)
        if cost < best:
            best = cost
            out[:, :] = G
    return best


def _inner_lo(F, x1, x2, t, rng, n_samples, sample_size=14, spread=2.0):
    """LO-RANSAC's inner RANSAC around ``F`` (Chum, Matas & Kittler 2003, step 2).

    Draws ``n_samples`` non-minimal samples of ``sample_size`` matches among those within
    ``spread * t`` of ``F``, fits each by the 8-point algorithm, iterates least squares
    on all matches within a shrinking threshold (3, 2, 1.5, 1 times ``t``), and keeps
    the model of lowest MSAC cost (``F`` itself unless beaten).
    """
    x1 = np.ascontiguousarray(x1)
    x2 = np.ascontiguousarray(x2)
    pool = np.flatnonzero(_sampson_kernel(F, x1, x2, np.empty(len(x1))) <= spread * t)
    if pool.size < sample_size:
        return F
    picks = pool[_draw_samples(rng, pool.size, sample_size, n_samples)]
    out = np.empty((3, 3))
    _inner_lo_kernel(F, x1, x2, _soa(x1, x2), float(t), picks, out)
    return out


@names_errors_as("ransac", "fundamental_7point", "fundamental_8point", "refine_fundamental",
                 "epipolar_distance", "normalize_fundamental")
def find_fundamental(
    x1: np.ndarray,
    x2: np.ndarray,
    *,
    method: str = "ransac",
    threshold_px: float = 1.0,
    confidence: float = 0.999,
    max_trials: int = 10_000,
    seed: Any = 0,
    inner_samples: int = 10,
    refine: bool = True,
    check_planar: bool = True,
) -> FundamentalResult:
    """Fundamental matrix from matches, robustly (RANSAC) or by least squares.

    Parameters
    ----------
    x1, x2 : ndarray of shape (N, 2)
        Matches in pixels (``N >= 7`` for RANSAC, ``N >= 8`` for least squares). With
        only 7 inliers the 7-point solution is returned unrefined; when the 7-point cubic
        has three real roots, all of which fit those 7 exactly, the roots are ranked by
        their support among the other matches and a ``RuntimeWarning`` says the choice
        among equals was arbitrary if no other match decides it.
    method : {"ransac", "8point"}
        ``"ransac"``: the generic :func:`~cvgeo.geometry.ransac.ransac` with the 7-point
        minimal solver, √Sampson residuals, MSAC scoring and local optimisation.
        ``"8point"``: the normalised 8-point algorithm on all matches (no outliers).
    threshold_px : float
        Inlier threshold on the √Sampson distance, pixels, in (0, 1e12]. Around 1.5–3 σ
        of the point noise.
    confidence : float
        RANSAC stopping confidence in (0, 1).
    max_trials : int
        Cap on the RANSAC minimal samples.
    seed : int, Generator or None
        RANSAC random source; the default makes the call reproducible.
    inner_samples : int
        Non-minimal samples (14 matches each) of LO-RANSAC's inner RANSAC, drawn among
        the final model's near-inliers (``<= 2 threshold_px``) and iterated by least
        squares at a shrinking threshold; it pulls the search out of the local minima
        that a noisy 7-point hypothesis leads the refits into. 0 disables it; at most
        10000.
    refine : bool
        Finish with :func:`refine_fundamental` (Sampson error over rank-2 matrices) on the
        inliers at 1.5 and then 1 times ``threshold_px``, recomputing them in between
        (the shrinking threshold of LO+ lets missed inliers back in).
    check_planar : bool
        Raise :class:`DegenerateError` when the inliers are a plane plus chance: a
        homography fitted robustly to them holds at least half, and the inliers off it
        are no more than random matches give (see Notes). A plane-dominated scene with
        enough matches off the plane is completed instead (DEGENSAC).

    Returns
    -------
    FundamentalResult
        ``F``, ``inlier_mask``, ``residuals`` (√Sampson, pixels), ``n_trials``,
        ``n_degenerate``.

    Raises
    ------
    DegenerateError
        Too few matches; every sample degenerate; fewer than 7 inliers; the inliers lie
        on one plane / are related by a homography.
    ValueError, TypeError
        Bad shapes, NaN or inf, bad options.

    Warns
    -----
    RuntimeWarning
        Low support (RANSAC): the inliers are no more than random matches would give
        (the 7 of the sample plus the count of matches falling within ``threshold_px``
        of an epipolar line by chance that the best of the hypotheses tried exceeds with
        probability below 1e-3).

    Notes
    -----
    RANSAC draws 7 matches, solves the cubic for up to three ``F`` (Hartley & Zisserman
    11.1.2), scores with the truncated quadratic MSAC cost on √Sampson distances,
    re-fits by the normalised 8-point algorithm on the inliers of each new best model
    (LO-RANSAC), runs LO-RANSAC's inner RANSAC around the result (``inner_samples``),
    and the final model is polished by minimising the Sampson error
    (a first-order Gold-standard estimate) on inliers at a shrinking threshold
    (Lebeda, Matas & Chum, "Fixing the locally optimized RANSAC", BMVC 2012).

    Dominant planes (DEGENSAC, Chum, Werner & Matas, CVPR 2005): the 7-point sample of
    each new best model is tested for five or more points on a homography compatible
    with its ``F`` (holding at least half of its inliers); when found, and again for the
    final model when a homography holds at least half of its inliers, ``F = [e2]x H`` is
    completed from the plane and pairs of matches off it (plane and parallax, pairs drawn
    to 0.999 confidence, at most 10 000, the epipole then refitted to all off-plane
    inliers). The final completion and ``F`` are compared by their MSAC cost on the
    matches off the plane only: every ``[e2]x H`` fits the plane's matches, whose
    summed cost still moves with the epipole by noise (about ``σ² √n_plane``), enough
    to outweigh a few dozen inliers off the plane. With a dominant plane the inner
    RANSAC is skipped when the completion wins (its 8-point refits are ill-posed on a
    dominant plane), and the polish below is kept only if the matches off the plane fit
    it better. A scene whose off-plane support is within chance
    (:mod:`cvgeo.geometry.degeneracy`) raises :class:`DegenerateError`, whatever the
    outliers.

    References
    ----------
    R. Hartley, A. Zisserman, "Multiple View Geometry in Computer Vision", 2nd ed., 2004,
    chapter 11. O. Chum, J. Matas, J. Kittler, "Locally optimized RANSAC", DAGM 2003.

    Examples
    --------
    >>> from cvgeo.datasets import synthetic_two_view_scene
    >>> s = synthetic_two_view_scene(200, seed=0, noise_px=0.5, outlier_fraction=0.3)
    >>> r = find_fundamental(s.x1, s.x2, threshold_px=1.5)
    >>> bool((r.inlier_mask == s.inlier_mask).mean() > 0.95)
    True
    """
    func = "find_fundamental"
    method = check_choice(method, func, "method", ("ransac", "8point"))
    refine = check_bool(refine, func, "refine")
    check_planar = check_bool(check_planar, func, "check_planar")
    p1, p2 = check_points_pair(x1, x2, func, min_count=7 if method == "ransac" else 8)
    t = check_real(threshold_px, func, "threshold_px", low=0.0, high=MAX_THRESHOLD_PX,
                   low_inclusive=False)
    if method == "8point":
        F = fundamental_8point(p1, p2)
        if refine:
            F = refine_fundamental(F, p1, p2)
        res = epipolar_distance(F, p1, p2)
        return FundamentalResult(F=F, inlier_mask=np.ones(len(p1), dtype=bool),
                                 residuals=res, n_trials=0, n_degenerate=0)

    inner = check_int(inner_samples, func, "inner_samples", low=0, high=10_000)
    rng = check_seed(seed, func)
    confidence = check_real(confidence, func, "confidence", low=0.0, high=1.0,
                            low_inclusive=False, high_inclusive=False)
    max_trials = check_int(max_trials, func, "max_trials", low=1, high=MAX_TRIALS)
    from cvgeo.geometry._twoview_ransac import two_view_ransac  # imports this module

    est = _FundamentalEstimator(p1, p2)
    est.t2 = t * t

    def complete(F, sample):
        return est.complete_degenerate(F, sample, p1, p2, threshold_px=t, rng=rng)

    r, n_models = two_view_ransac(est, p1, p2, threshold_px=t, confidence=confidence,
                                  max_trials=max_trials, rng=rng,
                                  delta0=_epipolar_chance(p2, t),
                                  complete=complete)
    F = r.model
    inl = r.inlier_mask
    if inl.sum() < 7:
        raise DegenerateError(f"{func}: the matches must have at least 7 inliers, got "
                              f"{int(inl.sum())} within {t:g} px")
    if inl.sum() == 7 and len(fundamental_7point(p1[inl], p2[inl])) > 1:
        warnings.warn(f"{func}: only 7 inliers, and the 7-point algorithm gives several "
                      "fundamental matrices that fit them all; the one returned is the first "
                      "(fundamental_7point lists them all)", RuntimeWarning, stacklevel=2)
    H_plane = dominant_plane(p1, p2, r.inlier_mask, t, rng)
    plane = False
    off_score = None
    if H_plane is not None:
        F, plane, off_score = complete_dominant_plane(F, H_plane, p1, p2, t, rng)
    F_plane = F
    if inner and not plane:  # LO's 8-point refits are ill-posed on a dominant plane
        F = _inner_lo(F, p1, p2, t, rng, inner)
    if refine:  # LO+-style polish: Sampson refits on inliers at a shrinking threshold
        for k, iters in ((1.5, 3), (1.0, 10)):
            sel = est.residuals(F, p1, p2) <= k * t
            if sel.sum() < 8:
                break
            F = _refine_fundamental_np(F, p1[sel], p2[sel], iters)
    if off_score is not None and F is not F_plane:
        # on a dominant plane the least squares above weigh hundreds of plane matches,
        # whose cost varies with the epipole by noise, against a few dozen off it: keep
        # their result only if the matches off the plane agree with it as well
        if off_score(np.stack([F_plane, F]), np.inf)[1] == np.inf:
            F = F_plane
    F = _unit_sign(F, np)
    res = est.residuals(F, p1, p2)
    inl = res <= t
    if check_planar:
        planar_support(func, p1, p2, inl, dominant_plane(p1, p2, inl, t, rng), t)
    _warn_low_support(func, int(inl.sum()), len(p1), 7, _epipolar_chance(p2, t),
                      n_models)
    return FundamentalResult(F=F, inlier_mask=inl, residuals=res, n_trials=r.n_trials,
                             n_degenerate=r.n_degenerate)
