"""One generic robust estimator (RANSAC with MSAC scoring and local optimisation).

:func:`ransac` knows nothing about the model: it asks an *estimator* object for
minimal-sample hypotheses, residuals and least-squares refits. It is the engine for user
models and the reference for cvgeo's own robust fits, which run the same search compiled
for their model (``find_homography`` in :mod:`cvgeo.geometry._homography_ransac`, F and E
in :mod:`cvgeo.geometry._twoview_ransac`).

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
``fit_minimal_batch(*samples) -> (models, valid)`` and
``score_batch(models, *data, threshold_px, bound) -> costs`` (optional, both or neither)
    A fast path. ``samples[k]`` has shape ``(B, sample_size, ...)``; ``models`` is
    indexable by hypothesis (one per sample) and ``valid`` a bool ``(B,)`` (False:
    degenerate). ``score_batch`` returns the MSAC cost ``sum(min(r**2, t**2))`` of each
    model, ``(B,)`` float64, and may return ``inf`` for a model that cannot be kept: a
    cost ``>= bound`` (so it can stop summing early), a cost ``>=`` that of an earlier
    model of the batch, or a model that a preliminary test on a subset of the data
    finds very unlikely to beat ``bound``. Hypotheses are then generated and scored in
    chunks and replayed in trial order with the same stopping and local-optimisation
    logic as the one-at-a-time loop; ``residuals`` is called only for a new best hypothesis.

``complete_degenerate(model, sample, *data, threshold_px, rng) -> list`` (optional)
    Called for each new best model with the indices ``sample`` (int64 ``(sample_size,)``)
    of the minimal sample it came from; returns further models to offer (DEGENSAC's
    plane-and-parallax completion for F when the sample is dominated by a plane).

``data`` arrays are numpy arrays sharing their first axis ``N``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from cvgeo._checks import (
    DegenerateError,
    check_bool,
    check_int,
    check_real,
    check_seed,
    describe,
)

__all__ = ["RansacResult", "ransac"]

#: Largest ``threshold_px`` (pixels): far beyond any image, and its square stays finite.
MAX_THRESHOLD_PX = 1e12

#: Largest ``max_trials``: minutes of work even when every sample is degenerate.
MAX_TRIALS = 10_000_000

#: hypotheses drawn and scored together when the estimator has the batch protocol.
_CHUNK = 128
#: default cap on degenerate samples, in multiples of max_trials (see ransac).
_DEGENERATE_CAP = 10


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
        ``fit_minimal``); they do not count against ``max_trials``.
    residuals : ndarray of shape (N,), float64
        Residuals of every datum under ``model``, in pixels.

    Field scheme of every robust result in cvgeo: the model is ``model``, and the results
    of the model-specific estimators also name it by its concept —
    :class:`~cvgeo.geometry.homography.HomographyResult` ``.H``,
    :class:`~cvgeo.geometry.epipolar.FundamentalResult` ``.F``,
    :class:`~cvgeo.geometry.essential.EssentialResult` ``.E`` (the same array). All have
    ``inlier_mask``, ``residuals``, ``n_trials``, ``n_degenerate`` and ``n_inliers``.
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


@njit(cache=True)
def _rows_with_repeats(idx):
    """bool (B,): True where row ``b`` of the int64 (B, s) ``idx`` holds an index twice."""
    out = np.zeros(idx.shape[0], dtype=np.bool_)
    s = idx.shape[1]
    for r in range(idx.shape[0]):
        for a in range(s - 1):
            for b in range(a + 1, s):
                if idx[r, a] == idx[r, b]:
                    out[r] = True
    return out


def _chance_support(n: int, sample_size: int, p_chance: float, n_models: int = 1) -> float:
    """An inlier count that random matches reach with probability below 1e-3.

    A model fitted to a minimal sample supports its ``sample_size`` matches whatever
    they are; each other match lands within the threshold by chance with probability
    ``p_chance``, so the chance hits are about Poisson with mean ``(n - s) p_chance``.
    The bound is the sample plus the smallest count that the best of ``n_models``
    independent random models exceeds with probability below 1e-3 (the Poisson tail at
    ``1e-3 / n_models``).
    """
    mean = max(n - sample_size, 0) * p_chance
    alpha = 1e-3 / max(n_models, 1)
    # smallest k with P(X > k) < alpha, summing the Poisson pmf in log space
    k = 0
    log_pmf = -mean
    cdf = math.exp(log_pmf)
    while 1.0 - cdf >= alpha and k < n:
        k += 1
        log_pmf += math.log(mean) - math.log(k) if mean > 0 else -math.inf
        cdf += math.exp(log_pmf)
    return float(sample_size + k)


def _warn_low_support(func: str, n_inliers: int, n: int, sample_size: int,
                      p_chance: float, n_models: int = 1) -> None:
    """Warn (RuntimeWarning) when ``n_inliers`` is within what chance alone gives."""
    bound = _chance_support(n, sample_size, p_chance, n_models)
    if n_inliers <= bound:
        warnings.warn(f"{func}: low support: {n_inliers} of {n} matches are inliers, no more "
                      f"than the best of {n_models} models on random matches reaches "
                      f"({bound:.0f} with a minimal sample of {sample_size} and a "
                      f"{100 * p_chance:.2g} % chance per match); the model is likely wrong",
                      RuntimeWarning, stacklevel=3)


def _epipolar_chance(points: np.ndarray, t: float) -> float:
    """Chance that a random match lies within ``t`` of an epipolar line across ``points``.

    A band of width ``2 t`` along a line no longer than the diagonal of the bounding box
    of ``points``, over the box's area (an upper bound for lines crossing the box).
    """
    w, h = np.maximum(np.ptp(points, axis=0), 2.0 * t)
    return float(min(1.0, 2.0 * t * math.hypot(w, h) / (w * h)))


def _draw_samples(rng: np.random.Generator, n: int, s: int, count: int) -> np.ndarray:
    """``(count, s)`` int64 indices; each row holds ``s`` distinct indices in ``[0, n)``.

    Rows are drawn uniformly with replacement and those holding an index twice are
    dropped (rejection sampling: the kept rows are uniform over the s-subsets, in
    random order); a few spare rows are drawn up front for the expected rejections.
    When most rows would repeat (``n`` close to ``s``), each row is the start of a
    random permutation instead.
    """
    if s == 1:
        return rng.integers(0, n, size=(count, 1))
    p_repeat = 1.0 - math.prod(1.0 - k / n for k in range(s))
    if p_repeat > 0.5:  # n close to s: the first s of a random permutation per row
        return np.argsort(rng.random((count, n)), axis=1)[:, :s].astype(np.int64)
    out = np.empty((count, s), dtype=np.int64)
    filled = 0
    while filled < count:
        need = count - filled
        extra = math.ceil(need * p_repeat / (1.0 - p_repeat) * 1.5) + 2
        idx = rng.integers(0, n, size=(need + extra, s))
        good = idx[~_rows_with_repeats(idx)][:need]
        out[filled:filled + len(good)] = good
        filled += len(good)
    return out


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
        k = self.max_trials if not k < self.max_trials else math.ceil(k)  # inf: clamp
        self.needed = int(max(self.min_trials, k))

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
            except (DegenerateError, np.linalg.LinAlgError):
                return
            res = _as_residuals(self.est.residuals(model, *self.data), self.n)
            cost = self.cost(res)
            if not cost < self.best_cost:
                return
            same = np.array_equal(res <= self.t, inl)
            self.best_model, self.best_cost, self.best_res = model, cost, res
            if same:
                return


def _complete(search, complete, model, sample, arrays, t, rng) -> None:
    """Offer the models ``complete`` derives from a new best model and its sample."""
    for c in complete(model, sample, *arrays, threshold_px=t, rng=rng) or ():
        search.offer(c, _as_residuals(search.est.residuals(c, *arrays), search.n))


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
    max_degenerate: int | None = None,
) -> RansacResult:
    """Robustly fit a model with RANSAC: MSAC scoring, local optimisation, final refit.

    Parameters
    ----------
    estimator : object
        Implements the estimator protocol (see the module docstring): ``sample_size``,
        ``fit_minimal``, ``fit``, ``residuals`` and optionally ``is_degenerate``.
    *data : ndarray of shape (N, ...)
        The data, as real-valued numpy arrays sharing their first axis (for a homography
        ``src`` and ``dst``, both ``(N, 2)``); the estimator receives them as
        C-contiguous float64 (any input dtype or byte order).
    threshold_px : float
        Inlier threshold on the residual, in pixels, in ``(0, MAX_THRESHOLD_PX]`` (1e12).
    confidence : float
        Probability in (0, 1) of having drawn at least one all-inlier sample when the
        adaptive stopping rule ends the search.
    max_trials, min_trials : int
        Bounds on the number of non-degenerate minimal samples (those that gave a
        model); degenerate samples are drawn again without counting against them;
        ``max_trials`` at most ``MAX_TRIALS`` (1e7).
    seed : int, numpy.random.Generator or None
        The default ``0`` makes every call reproducible; ``None`` draws fresh entropy.
    local_optimization : bool
        Refit on the inliers of each new best hypothesis (LO-RANSAC, iterated while the
        MSAC cost decreases, at most ``lo_iterations`` times).
    lo_iterations : int
        Maximum refits per local optimisation and for the final refit.
    max_degenerate : int or None
        Cap on the degenerate samples (default ``10 * max_trials``): the search stops
        there even if the budget of non-degenerate samples is not spent, so data on which
        nearly every sample is degenerate cannot loop for ever.

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
       ``fit_minimal`` returns nothing (counted in ``n_degenerate``, not against
       ``max_trials`` nor the adaptive budget: with many outliers most samples of a
       homography are rejected by its orientation test, and counting them would end the
       search after a fraction of the intended hypotheses).
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
    >>> from cvgeo.geometry.homography import HomographyEstimator
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
        if d.dtype.kind not in "buif":
            raise TypeError(f"{func}: data[{k}] must be real numbers, got dtype {d.dtype}")
        d = np.ascontiguousarray(d, dtype=np.float64)  # native order, what kernels take
        if d.size and not np.isfinite(d).all():
            raise ValueError(f"{func}: data[{k}] must be finite, got "
                             f"{int((~np.isfinite(d)).sum())} NaN or inf value(s)")
        arrays.append(d)
    n = arrays[0].shape[0]
    for k, d in enumerate(arrays[1:], start=1):
        if d.shape[0] != n:
            raise ValueError(f"{func}: data arrays must share their first axis N, got "
                             f"{n} and {d.shape[0]} (data[{k}])")
    t = check_real(threshold_px, func, "threshold_px", low=0.0, high=MAX_THRESHOLD_PX,
                   low_inclusive=False)
    confidence = check_real(confidence, func, "confidence", low=0.0, high=1.0,
                            low_inclusive=False, high_inclusive=False)
    max_trials = check_int(max_trials, func, "max_trials", low=1, high=MAX_TRIALS)
    min_trials = check_int(min_trials, func, "min_trials", low=0, high=max_trials)
    lo_iterations = check_int(lo_iterations, func, "lo_iterations", low=0)
    local_optimization = check_bool(local_optimization, func, "local_optimization")
    if max_degenerate is not None:
        max_degenerate = check_int(max_degenerate, func, "max_degenerate", low=0)
    rng = check_seed(seed, func)
    if n < s:
        raise DegenerateError(f"{func}: data must hold at least sample_size={s} items, got {n}")

    search = _Search(estimator, arrays, t, confidence, max_trials, min_trials,
                     bool(local_optimization), lo_iterations)
    batched = hasattr(estimator, "fit_minimal_batch") and hasattr(estimator, "score_batch")
    is_degenerate = getattr(estimator, "is_degenerate", None)
    complete = getattr(estimator, "complete_degenerate", None)
    cap = _DEGENERATE_CAP * max_trials if max_degenerate is None else max_degenerate
    n_trials = 0
    n_degenerate = 0
    drawn = drawn_valid = 0  # samples drawn in chunks, and how many of them gave a model
    # degenerate samples do not count against the budget (search.needed); their own cap
    # ends a search in which (almost) every sample is degenerate
    while n_trials - n_degenerate < search.needed and n_degenerate < cap:
        remaining = search.needed - (n_trials - n_degenerate)
        count = 1
        if batched:  # enough samples for the remaining budget at the valid rate seen so far
            rate = max(drawn_valid / drawn, 0.05) if drawn else 1.0
            count = min(_CHUNK, math.ceil(remaining / rate))
        idx = _draw_samples(rng, n, s, count)
        if batched:
            models, valid = estimator.fit_minimal_batch(*(d[idx] for d in arrays))
            valid = np.asarray(valid, dtype=bool)
            drawn += count
            drawn_valid += int(np.count_nonzero(valid))
            costs = np.full(count, np.inf)
            sel = np.flatnonzero(valid)
            if sel.size:
                costs[sel] = estimator.score_batch(models[sel], *arrays, threshold_px=t,
                                                   bound=search.best_cost)
            # replay the chunk in trial order, as the one-at-a-time loop would: jump to
            # the next hypothesis that beats the best so far (the budget may shrink there)
            j = 0
            while j < count and n_degenerate < cap:
                remaining = search.needed - (n_trials - n_degenerate)
                if remaining <= 0:
                    break
                # the chunk ends at the sample that uses up the budget of valid samples
                k = int(np.searchsorted(np.cumsum(valid[j:]), remaining))
                stop = min(count, j + k + 1)
                better = np.flatnonzero(costs[j:stop] < search.best_cost)
                end = stop if better.size == 0 else j + int(better[0]) + 1
                n_trials += end - j
                n_degenerate += int(np.count_nonzero(~valid[j:end]))
                if better.size:
                    m = models[end - 1]
                    res = _as_residuals(estimator.residuals(m, *arrays), n)
                    if search.offer(m, res, search.cost(res)) and complete is not None:
                        _complete(search, complete, m, idx[end - 1], arrays, t, rng)
                j = end
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
            res = _as_residuals(estimator.residuals(model, *arrays), n)
            if search.offer(model, res) and complete is not None:
                _complete(search, complete, model, idx[0], arrays, t, rng)

    if search.best_model is None:
        raise DegenerateError(f"{func}: every one of the {n_trials} minimal samples was "
                              f"degenerate (coincident or collinear points, or rejected by "
                              f"the estimator's checks); no model found")
    search.refine(max(lo_iterations, 1))  # final refit on the inliers
    res = _as_residuals(estimator.residuals(search.best_model, *arrays), n)
    return RansacResult(model=search.best_model, inlier_mask=res <= t, n_trials=n_trials,
                        n_degenerate=n_degenerate, residuals=res)


def __getattr__(name: str) -> Any:
    """The homography model moved to :mod:`cvgeo.geometry.homography`; its public names
    stay importable from here."""
    if name in ("HomographyEstimator", "find_homography"):
        from cvgeo.geometry import homography

        return getattr(homography, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
