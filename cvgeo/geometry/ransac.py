"""One generic robust estimator (RANSAC with MSAC scoring and local optimisation).

Every robust fit in cvgeo (homographies here, fundamental matrices in
:mod:`cvgeo.geometry.epipolar`) goes through :func:`ransac`, which knows nothing about the
model: it asks an *estimator* object for minimal-sample hypotheses, residuals and
least-squares refits.

The estimator protocol
----------------------
``sample_size : int``
    Points in a minimal sample (4 for a homography, 7 for F).
``fit_minimal(*sample) -> list``
    Candidate models from one minimal sample (several for the 7-point F); an empty list
    when the sample is degenerate.
``fit(*data) -> model``
    Least squares on (inlier) data; raises :class:`~cvgeo.DegenerateError` when it cannot.
``residuals(model, *data) -> ndarray of shape (N,), float64``
    Distances in pixels, *not* squared (MSAC uses ``min(r**2, t**2)``); ``inf`` is allowed.
``is_degenerate(*sample) -> bool`` (optional)
    A cheap test run on every minimal sample before ``fit_minimal``.
``fit_minimal_batch(*samples) -> (models, valid)`` and ``residuals_batch(models, *data)``
(optional, both or neither)
    The same two steps for ``B`` samples at once (``samples[k]`` has shape
    ``(B, sample_size, ...)``; ``models`` is indexable by hypothesis, ``valid`` a bool
    ``(B,)``, residuals ``(B, N)``), one model per sample. When present, hypotheses are
    generated and scored in chunks, then replayed in trial order with the same
    stopping and local-optimisation logic as the one-at-a-time loop.

``data`` arrays are numpy arrays sharing their first axis ``N``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvgeo._checks import (
    DegenerateError,
    check_int,
    check_real,
    check_seed,
    describe,
)

__all__ = ["RansacResult", "ransac"]

#: hypotheses drawn and scored together when the estimator has the batch protocol.
_CHUNK = 64


@dataclass(frozen=True)
class RansacResult:
    """Result of :func:`ransac` (and of :func:`~cvgeo.geometry.find_homography`).

    Attributes
    ----------
    model : object
        The estimated model (for a homography a 3x3 float64 ndarray).
    inlier_mask : ndarray of shape (N,), bool
        ``residuals <= threshold_px``, recomputed with the returned ``model``.
    n_trials : int
        Minimal samples drawn (degenerate ones included).
    n_degenerate : int
        Minimal samples skipped as degenerate (by ``is_degenerate`` or an empty
        ``fit_minimal``).
    residuals : ndarray of shape (N,), float64
        Residuals of every datum under ``model``, in pixels.
    """

    model: Any
    inlier_mask: np.ndarray
    n_trials: int
    n_degenerate: int
    residuals: np.ndarray

    @property
    def n_inliers(self) -> int:
        """Number of inliers."""
        return int(self.inlier_mask.sum())


def required_trials(inlier_ratio: float, sample_size: int, confidence: float) -> float:
    """Trials needed to draw one all-inlier sample with probability ``confidence``.

    ``log(1 - confidence) / log(1 - w**s)`` with the logs clamped: ``w**s`` near 1 gives
    0 trials, ``w**s`` near 0 gives ``inf`` (the caller clamps to ``max_trials``).
    """
    p_good = inlier_ratio**sample_size
    if p_good <= 0.0:
        return math.inf
    if p_good >= 1.0 - 1e-15:
        return 0.0
    num = math.log1p(-min(confidence, 1.0 - 1e-15))
    den = math.log1p(-p_good)
    if den >= 0.0:  # p_good underflowed to a denormal
        return math.inf
    return num / den


def _draw_samples(rng: np.random.Generator, n: int, s: int, count: int) -> np.ndarray:
    """``(count, s)`` int64 indices; each row holds ``s`` distinct indices in ``[0, n)``."""
    idx = rng.integers(0, n, size=(count, s))
    if s > 1:
        srt = np.sort(idx, axis=1)
        bad = np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))
        for i in bad:  # rare for n >> s: redraw just those rows
            row = rng.integers(0, n, size=s)
            while np.unique(row).size < s:
                row = rng.integers(0, n, size=s)
            idx[i] = row
    return idx


class _Search:
    """The running state of one RANSAC search (best model, cost and trial budget)."""

    def __init__(self, estimator, data, t, confidence, max_trials, min_trials, lo, lo_iters):
        self.est = estimator
        self.data = data
        self.n = data[0].shape[0]
        self.t = t
        self.t2 = t * t
        self.confidence = confidence
        self.max_trials = max_trials
        self.needed = max_trials
        self.min_trials = min_trials
        self.lo = lo
        self.lo_iters = lo_iters
        self.best_model = None
        self.best_cost = math.inf
        self.best_res: np.ndarray | None = None

    def cost(self, res: np.ndarray) -> float:
        return float(np.minimum(np.square(res), self.t2).sum())

    def _update_budget(self, res: np.ndarray) -> None:
        w = float(np.count_nonzero(res <= self.t)) / self.n
        k = required_trials(w, self.est.sample_size, self.confidence)
        self.needed = int(min(self.max_trials, max(self.min_trials, math.ceil(k))))

    def offer(self, model, res: np.ndarray, cost: float | None = None) -> bool:
        """Keep ``model`` if it beats the best MSAC cost; then optimise it locally."""
        if cost is None:
            cost = self.cost(res)
        if not cost < self.best_cost:
            return False
        self.best_model, self.best_cost, self.best_res = model, cost, res
        if self.lo:
            self.refine(self.lo_iters)
        self._update_budget(self.best_res)
        return True

    def refine(self, iterations: int) -> None:
        """Least-squares refit on the current inliers, repeated while the cost drops."""
        s = self.est.sample_size
        for _ in range(iterations):
            inl = self.best_res <= self.t
            if np.count_nonzero(inl) <= s:
                return
            try:
                model = self.est.fit(*(d[inl] for d in self.data))
            except DegenerateError:
                return
            res = _as_residuals(self.est.residuals(model, *self.data), self.n)
            cost = self.cost(res)
            if not cost < self.best_cost:
                return
            same = np.array_equal(res <= self.t, inl)
            self.best_model, self.best_cost, self.best_res = model, cost, res
            if same:
                return


def _as_residuals(res: Any, n: int) -> np.ndarray:
    res = np.asarray(res, dtype=np.float64)
    if res.shape != (n,):
        raise ValueError(f"ransac: estimator.residuals must return shape ({n},), got shape "
                         f"{res.shape}")
    return np.where(np.isnan(res), np.inf, res)


def ransac(
    estimator: Any,
    *data: np.ndarray,
    threshold_px: float,
    confidence: float = 0.999,
    max_trials: int = 10_000,
    min_trials: int = 0,
    seed: int | np.random.Generator | None = 0,
    local_optimization: bool = True,
    lo_iterations: int = 5,
) -> RansacResult:
    """Robustly fit a model with RANSAC: MSAC scoring, local optimisation, final refit.

    Parameters
    ----------
    estimator : object
        Implements the estimator protocol (see the module docstring): ``sample_size``,
        ``fit_minimal``, ``fit``, ``residuals`` and optionally ``is_degenerate``.
    *data : ndarray of shape (N, ...)
        The data, as numpy arrays sharing their first axis (for a homography ``src`` and
        ``dst``, both ``(N, 2)``).
    threshold_px : float
        Inlier threshold on the residual, in pixels (> 0).
    confidence : float
        Probability in (0, 1) of having drawn at least one all-inlier sample when the
        adaptive stopping rule ends the search.
    max_trials, min_trials : int
        Bounds on the number of minimal samples drawn.
    seed : int, numpy.random.Generator or None
        The default ``0`` makes every call reproducible; ``None`` draws fresh entropy.
    local_optimization : bool
        Refit on the inliers of each new best hypothesis (LO-RANSAC, iterated while the
        MSAC cost decreases, at most ``lo_iterations`` times).
    lo_iterations : int
        Maximum refits per local optimisation and for the final refit.

    Returns
    -------
    RansacResult
        ``model``, ``inlier_mask`` (bool ``(N,)``), ``n_trials``, ``n_degenerate`` and
        ``residuals`` (float64 ``(N,)``), the mask and residuals recomputed with ``model``.

    Raises
    ------
    DegenerateError
        Fewer than ``sample_size`` data, or every minimal sample drawn was degenerate.
    ValueError, TypeError
        Bad parameters or data (non-finite values, mismatched lengths).

    Notes
    -----
    1. Draw a minimal sample (seeded), skip it if ``is_degenerate`` says so or
       ``fit_minimal`` returns nothing (counted in ``n_degenerate``).
    2. Score each hypothesis with the MSAC cost ``sum(min(r_i**2, t**2))`` (Torr &
       Zisserman), which, unlike the inlier count, also prefers tighter fits.
    3. On a new best hypothesis, refit by least squares on its inliers while the cost
       drops (LO-RANSAC), and shrink the trial budget to
       ``log(1 - confidence) / log(1 - w**s)`` for the best inlier ratio ``w``.
    4. After the search, refit on the final inliers and recompute the inlier mask with
       the returned model.

    References
    ----------
    M. A. Fischler, R. C. Bolles, "Random sample consensus", CACM 24(6), 1981.
    doi:10.1145/358669.358692.
    P. H. S. Torr, A. Zisserman, "MLESAC: a new robust estimator with application to
    estimating image geometry", CVIU 78(1), 2000. doi:10.1006/cviu.1999.0832.
    O. Chum, J. Matas, J. Kittler, "Locally optimized RANSAC", DAGM 2003.
    doi:10.1007/978-3-540-45243-0_31.

    Examples
    --------
    >>> import numpy as np
    >>> from cvgeo.geometry.transforms import Projective
    >>> from cvgeo.geometry.ransac import HomographyEstimator, ransac
    >>> rng = np.random.default_rng(0)
    >>> src = rng.uniform(0, 100, (50, 2))
    >>> dst = src + [5.0, -3.0]
    >>> dst[:10] = rng.uniform(0, 100, (10, 2))  # 20 % outliers
    >>> r = ransac(HomographyEstimator(), src, dst, threshold_px=1.0)
    >>> int(r.inlier_mask.sum())
    40
    """
    func = "ransac"
    for name in ("sample_size", "fit_minimal", "fit", "residuals"):
        if not hasattr(estimator, name):
            raise TypeError(f"{func}: estimator must have a {name!r} attribute (the estimator "
                            f"protocol), got {describe(estimator)}")
    s = check_int(estimator.sample_size, func, "estimator.sample_size", low=1)
    if not data:
        raise ValueError(f"{func}: data must be at least one array, got none")
    arrays = []
    for k, d in enumerate(data):
        if not isinstance(d, np.ndarray):
            raise TypeError(f"{func}: data[{k}] must be a numpy array, got {describe(d)}")
        if d.ndim < 1:
            raise ValueError(f"{func}: data[{k}] must have a first axis N, got shape {d.shape}")
        if d.dtype.kind in "fc" and d.size and not np.isfinite(d).all():
            raise ValueError(f"{func}: data[{k}] must be finite, got "
                             f"{int((~np.isfinite(d)).sum())} NaN or inf value(s)")
        arrays.append(d)
    n = arrays[0].shape[0]
    for k, d in enumerate(arrays[1:], start=1):
        if d.shape[0] != n:
            raise ValueError(f"{func}: data arrays must share their first axis N, got "
                             f"{n} and {d.shape[0]} (data[{k}])")
    t = check_real(threshold_px, func, "threshold_px", low=0.0, low_inclusive=False)
    confidence = check_real(confidence, func, "confidence", low=0.0, high=1.0,
                            low_inclusive=False, high_inclusive=False)
    max_trials = check_int(max_trials, func, "max_trials", low=1)
    min_trials = check_int(min_trials, func, "min_trials", low=0, high=max_trials)
    lo_iterations = check_int(lo_iterations, func, "lo_iterations", low=0)
    rng = check_seed(seed, func)
    if n < s:
        raise DegenerateError(f"{func}: data must hold at least sample_size={s} items, got {n}")

    search = _Search(estimator, arrays, t, confidence, max_trials, min_trials,
                     bool(local_optimization), lo_iterations)
    batched = hasattr(estimator, "fit_minimal_batch") and hasattr(estimator, "residuals_batch")
    is_degenerate = getattr(estimator, "is_degenerate", None)
    n_trials = 0
    n_degenerate = 0
    while n_trials < search.needed:
        count = min(_CHUNK, max_trials - n_trials) if batched else 1
        idx = _draw_samples(rng, n, s, count)
        if batched:
            models, valid = estimator.fit_minimal_batch(*(d[idx] for d in arrays))
            valid = np.asarray(valid, dtype=bool)
            costs = np.full(count, np.inf)
            res_all = None
            if valid.any():
                sel = np.flatnonzero(valid)
                res_all = np.asarray(estimator.residuals_batch(models[sel], *arrays),
                                     dtype=np.float64)
                res_all = np.where(np.isnan(res_all), np.inf, res_all)
                costs[sel] = np.minimum(np.square(res_all), search.t2).sum(axis=1)
                pos = np.full(count, -1)
                pos[sel] = np.arange(sel.size)
            # replay the chunk in trial order: identical to the one-at-a-time loop
            for j in range(count):
                if n_trials >= search.needed:
                    break
                n_trials += 1
                if not valid[j]:
                    n_degenerate += 1
                    continue
                if costs[j] < search.best_cost:
                    search.offer(models[j], res_all[pos[j]], float(costs[j]))
            continue
        n_trials += 1
        sample = tuple(d[idx[0]] for d in arrays)
        if is_degenerate is not None and is_degenerate(*sample):
            n_degenerate += 1
            continue
        candidates = estimator.fit_minimal(*sample)
        if not candidates:
            n_degenerate += 1
            continue
        for model in candidates:
            search.offer(model, _as_residuals(estimator.residuals(model, *arrays), n))

    if search.best_model is None:
        raise DegenerateError(f"{func}: every one of the {n_trials} minimal samples was "
                              f"degenerate (coincident or collinear points); no model found")
    search.refine(max(lo_iterations, 1))  # final refit on the inliers
    res = _as_residuals(estimator.residuals(search.best_model, *arrays), n)
    return RansacResult(model=search.best_model, inlier_mask=res <= t, n_trials=n_trials,
                        n_degenerate=n_degenerate, residuals=res)
