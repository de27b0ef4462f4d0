"""k-means clustering (Lloyd's algorithm, k-means++ seeding) and k-means segmentation.

Conventions
-----------
Samples are rows of a 2-D array ``X`` of shape ``(n_samples, n_features)``; labels are
int32 from 0 to ``k - 1``. Label images are ``(H, W)`` int32, pixel ``[r, c]`` being
sample ``r * W + c`` of :func:`~cvgeo.segment.pixel_features`.

The iterations and their compiled kernels are in :mod:`cvgeo.segment._lloyd`.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cvgeo._checks import (
    check_array_finite,
    check_choice,
    check_int,
    check_real,
    check_samples,
    check_seed,
    describe,
    renamed_parameters,
)
from cvgeo.image import as_float_image
from cvgeo.segment._lloyd import _assign_kernel, _kmeans_plusplus, _lloyd
from cvgeo.segment.features import Space, _features_from_float, _resolve_space, check_spatial_weight

__all__ = ["KMeansResult", "KMeansSegmenter", "kmeans", "kmeans_segment"]


@dataclass(frozen=True)
class KMeansResult:
    """The outcome of :func:`kmeans`.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), int32
        Index of the nearest centre of each sample.
    centers : ndarray of shape (k, n_features), float64
        The cluster means.
    inertia : float
        Sum of squared distances of samples to their centre (the objective).
    n_iter : int
        Lloyd iterations of the best of the ``n_init`` runs.
    """

    labels: np.ndarray
    centers: np.ndarray
    inertia: float
    n_iter: int


#: Most k-means runs one call makes (``n_init``).
MAX_N_INIT = 1000


def _check_n_init(n_init: Any, init: Any, func: str) -> int:
    """Runs to make: ``"auto"`` is 1 for k-means++ and 10 for random or a callable (as
    scikit-learn); an array ``init`` is always one run (every run would be the same)."""
    if isinstance(init, np.ndarray):
        if not isinstance(n_init, str):
            check_int(n_init, func, "n_init", low=1, high=MAX_N_INIT)
        else:
            check_choice(n_init, func, "n_init", ("auto",))
        return 1
    if isinstance(n_init, str):
        check_choice(n_init, func, "n_init", ("auto",))
        return 1 if isinstance(init, str) and init == "k-means++" else 10
    return check_int(n_init, func, "n_init", low=1, high=MAX_N_INIT)


class ConvergenceWarning(UserWarning):
    """k-means found fewer distinct clusters than asked for (scikit-learn's name)."""


Init = Literal["k-means++", "random"] | np.ndarray | Callable[..., np.ndarray]


def _check_init(init: Any, func: str):
    """``init`` as a method name, a (k, d) array or a callable (not yet shape-checked)."""
    if isinstance(init, np.ndarray) or callable(init):
        return init
    return check_choice(init, func, "init", ("k-means++", "random"))


def _check_centers(C: Any, k: int, d: int, func: str, what: str) -> np.ndarray:
    if not isinstance(C, np.ndarray) or C.shape != (k, d) or C.dtype.kind not in "biuf":
        raise ValueError(f"{func}: {what} must be a numeric array of shape (n_clusters, "
                         f"n_features) = ({k}, {d}), got {describe(C)}")
    out = np.asarray(C, dtype=np.float64)
    check_array_finite(out, func, what)
    return out


def _check_sample_weight(w: Any, n: int, func: str) -> np.ndarray | None:
    if w is None:
        return None
    if not isinstance(w, np.ndarray) or w.shape != (n,) or w.dtype.kind not in "biuf":
        raise ValueError(f"{func}: sample_weight must be None or a numeric array of shape "
                         f"(n_samples,) = ({n},), got {describe(w)}")
    out = np.ascontiguousarray(w, dtype=np.float64)
    check_array_finite(out, func, "sample_weight")
    if (out < 0).any() or not out.sum() > 0:
        raise ValueError(f"{func}: sample_weight must be >= 0 with a positive sum, got "
                         f"min {out.min():g}, sum {out.sum():g}")
    return out


def _kmeans_checked(X, k, init, n_init, max_iter, tol, rng, func, weights=None,
                    dtype=np.float64, stacklevel=4) -> KMeansResult:
    """k-means on validated float64 samples (shared by every public entry point).

    The samples are scaled to ``max |X| = 1`` and centred before clustering, so no sum of
    squares in the kernels can overflow whatever finite values arrive; centres and
    inertia are scaled back at the end. ``init`` is a method name, a validated-later
    ``(k, d)`` array (one run) or a callable ``init(X, k, rng)``. ``stacklevel`` points
    the warning at the user's call: 4 through a ``renamed_parameters`` wrapper.
    """
    scale = float(np.abs(X).max())
    if scale == 0.0:
        scale = 1.0
    Xs = X / scale
    # centre the data: squared distances lose less precision near the origin
    mean = Xs.mean(axis=0)
    Xc = np.ascontiguousarray(Xs - mean)
    Xt = np.ascontiguousarray(Xc.T)
    tol_abs = float(np.mean(Xc.var(axis=0))) * tol
    if weights is not None and isinstance(init, str) and init == "random" \
            and np.count_nonzero(weights) < k:
        raise ValueError(f"{func}: sample_weight must have at least n_clusters={k} positive "
                         f"weights for init='random', got {np.count_nonzero(weights)}")
    best = None
    for _ in range(n_init):
        if isinstance(init, np.ndarray):
            centers = _check_centers(init, k, X.shape[1], func, "init") / scale - mean
        elif callable(init):
            given = init(X.copy(), k, rng)
            centers = _check_centers(given, k, X.shape[1], func,
                                     "the array returned by init") / scale - mean
        elif init == "k-means++":
            centers = _kmeans_plusplus(Xc, Xt, k, rng, weights)
        elif weights is None or (weights == weights[0]).all():  # uniform: same draws
            centers = Xc[rng.choice(Xc.shape[0], size=k, replace=False)].copy()
        else:
            pick = rng.choice(Xc.shape[0], size=k, replace=False, p=weights / weights.sum())
            centers = Xc[pick].copy()
        run = _lloyd(Xc, Xt, centers, max_iter, tol_abs, weights)
        if best is None or run[2] < best[2]:
            best = run
    labels, centers, inertia, n_iter = best
    with np.errstate(over="ignore"):
        inertia = inertia * scale * scale
    if not np.isfinite(inertia):
        raise ValueError(f"{func}: X must have a spread whose summed squares float64 can "
                         f"hold, got values up to {scale:.4g} (inertia overflows); rescale X")
    centers = (centers + mean) * scale
    n_distinct = len(np.unique(centers, axis=0))
    if n_distinct < k:
        warnings.warn(f"{func}: found {n_distinct} distinct clusters, fewer than "
                      f"n_clusters={k} (X has fewer distinct points than that); some "
                      f"centres coincide", ConvergenceWarning, stacklevel=stacklevel)
    return KMeansResult(labels=labels, centers=centers.astype(dtype, copy=False),
                        inertia=inertia, n_iter=n_iter)


@renamed_parameters(k="n_clusters")
def kmeans(
    X: np.ndarray,
    n_clusters: int,
    *,
    init: Init = "k-means++",
    n_init: int | Literal["auto"] = "auto",
    max_iter: int = 300,
    tol: float = 1e-4,
    sample_weight: np.ndarray | None = None,
    seed: int | np.random.Generator | None = 0,
) -> KMeansResult:
    """Cluster samples into ``n_clusters`` groups minimising the within-cluster squared
    distance.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Numeric, finite. Computation is in float64; the centres are returned as float32
        when ``X`` is float32 (as scikit-learn), else float64.
    n_clusters : int
        Number of clusters ``k``, in ``[1, n_samples]``. (Formerly ``k``; the old keyword
        works for one release, with a ``DeprecationWarning``.)
    init : {"k-means++", "random"}, ndarray of shape (n_clusters, n_features), or callable
        ``"k-means++"``: greedy k-means++ seeding (each new centre is the best of
        ``2 + ln k`` samples drawn with probability proportional to
        ``sample_weight * D(x)^2``, as scikit-learn does). ``"random"``: ``k`` distinct
        samples (drawn in proportion to ``sample_weight``). An array: the initial
        centres (one run). A callable: ``init(X, n_clusters, rng)`` returning the initial
        centres, called once per run with a copy of ``X`` and the run's
        ``numpy.random.Generator`` (scikit-learn passes its ``random_state``).
    n_init : int or "auto"
        Independent runs, in ``[1, MAX_N_INIT]`` (1000); the one with the lowest inertia
        is returned. ``"auto"`` is 1 for k-means++ and 10 for random initialisation or a
        callable, as scikit-learn; an array ``init`` always makes one run.
    max_iter : int
        Maximum Lloyd iterations per run.
    tol : float, >= 0
        Convergence when the summed squared centre movement is at most
        ``tol * mean(var(X, axis=0))`` (relative to the data's spread, like sklearn).
        A run also stops as soon as no label changes.
    sample_weight : ndarray of shape (n_samples,), optional
        Weights >= 0 (positive sum), as scikit-learn's: each centre is the weighted mean
        of its samples and the inertia is weighted; an integer weight ``w`` acts like
        ``w`` copies of the sample. None: all ones.
    seed : int, numpy.random.Generator or None
        Same seed, same result.

    Returns
    -------
    KMeansResult
        ``labels`` (int32), ``centers`` (float32 for float32 ``X``, else float64),
        ``inertia``, ``n_iter``.

    Raises
    ------
    TypeError, ValueError
        Bad ``X`` (not 2-D, empty, NaN/inf), ``n_clusters`` outside ``[1, n_samples]``,
        unknown ``init`` or an ``init`` array of the wrong shape, bad ``sample_weight``,
        non-positive ``n_init``/``max_iter``, negative ``tol``, bad seed.

    Warns
    -----
    ConvergenceWarning
        Fewer distinct centres than ``n_clusters`` were found (``X`` has fewer distinct
        points than that), as scikit-learn warns.

    Notes
    -----
    Lloyd's algorithm alternates the assignment step (each sample to its nearest
    centre) and the update step (each centre to the mean of its samples); both are fused
    into one compiled pass over the data. An empty cluster is moved onto the sample
    farthest from its centre. The data are centred first for precision.

    References
    ----------
    .. [1] S. Lloyd, "Least squares quantization in PCM", IEEE Trans. Inf. Theory 28(2),
       1982. doi:10.1109/TIT.1982.1056489
    .. [2] D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful
       seeding", SODA 2007.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0]])
    >>> r = kmeans(X, 2, seed=0)
    >>> sorted(r.centers.tolist()), round(r.inertia, 9)
    ([[0.0, 1.0], [10.0, 1.0]], 4.0)
    """
    func = "kmeans"
    dtype = np.float32 if isinstance(X, np.ndarray) and X.dtype == np.float32 else np.float64
    X = check_samples(X, func)
    k = check_int(n_clusters, func, "n_clusters", low=1, high=X.shape[0])
    init = _check_init(init, func)
    n_init = _check_n_init(n_init, init, func)
    max_iter = check_int(max_iter, func, "max_iter", low=1)
    tol = check_real(tol, func, "tol", low=0.0)
    weights = _check_sample_weight(sample_weight, X.shape[0], func)
    rng = check_seed(seed, func)
    return _kmeans_checked(X, k, init, n_init, max_iter, tol, rng, func, weights, dtype)


@renamed_parameters(k="n_clusters")
def kmeans_segment(
    image: np.ndarray,
    n_clusters: int,
    *,
    space: Space = "auto",
    spatial_weight: float = 0.0,
    n_init: int | Literal["auto"] = "auto",
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Segment an image by k-means on per-pixel features.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        Any accepted dtype; features are computed on the [0, 1]-scaled image.
    n_clusters : int
        Number of clusters ``k``, in ``[1, H * W]``. (Formerly ``k``; the old keyword
        works for one release, with a ``DeprecationWarning``.)
    space : {"auto", "intensity", "rgb", "lab", "channels"}
        Feature space, see :func:`~cvgeo.segment.pixel_features`.
    spatial_weight : float, in [0, 1e6]
        Weight of the ``(row, col) / max(H, W)`` position features; 0 clusters colour
        only (segments are colour classes, possibly scattered), larger values give
        compact blobs.
    n_init : int or "auto"
        Runs of k-means; see :func:`kmeans`.
    seed : int, numpy.random.Generator or None
        Same seed, same labels.

    Returns
    -------
    ndarray of shape (H, W), int32
        Cluster index of each pixel, in ``[0, n_clusters)``. Segments are clusters, not
        necessarily connected regions.

    Raises
    ------
    TypeError, ValueError
        Bad image, NaN/inf, ``n_clusters`` larger than the number of pixels, bad options.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((4, 4), dtype=np.uint8); img[:, 2:] = 200
    >>> kmeans_segment(img, 2, seed=0)[0].tolist()
    [0, 0, 1, 1]
    """
    func = "kmeans_segment"
    x = as_float_image(image, func)
    space = _resolve_space(space, x, func)
    spatial_weight = check_spatial_weight(spatial_weight, func)
    h, w = x.shape[:2]
    k = check_int(n_clusters, func, "n_clusters", low=1, high=h * w)
    n_init = _check_n_init(n_init, "k-means++", func)
    rng = check_seed(seed, func)
    X = _features_from_float(x, space, spatial_weight).astype(np.float64)
    res = _kmeans_checked(X, k, "k-means++", n_init, 300, 1e-4, rng, func)
    return _canonical_labels(res.labels).reshape(h, w)


def _canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber labels in order of first appearance (raster order), int32."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int32)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size, dtype=np.int32)
    return rank[inverse.reshape(-1)]


class KMeansSegmenter:
    """A learned k-means segmenter with the scikit-learn estimator interface.

    ``fit(image)`` learns cluster centres from an image's pixel features;
    ``predict(image)`` labels any image by its nearest learned centre (so a palette
    learned on one frame can segment the next). ``__init__`` only stores parameters;
    everything learned ends with an underscore.

    Parameters
    ----------
    n_clusters : int
        Number of clusters ``k``.
    space : {"auto", "intensity", "rgb", "lab", "channels"}
        Feature space, see :func:`~cvgeo.segment.pixel_features`.
    spatial_weight : float
        Weight of position features.
    init, n_init, max_iter, tol, seed
        As in :func:`kmeans`.

    Attributes
    ----------
    centers_ : ndarray of shape (n_clusters, n_features), float64
    inertia_ : float
    n_iter_ : int
    labels_ : ndarray of shape (H, W), int32
        Labels of the image given to ``fit``.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((4, 4), dtype=np.uint8); img[:, 2:] = 200
    >>> seg = KMeansSegmenter(n_clusters=2).fit(img)
    >>> (seg.predict(img) == seg.labels_).all()
    np.True_
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        space: Space = "auto",
        spatial_weight: float = 0.0,
        init: Init = "k-means++",
        n_init: int | Literal["auto"] = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        seed: int | np.random.Generator | None = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.space = space
        self.spatial_weight = spatial_weight
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed

    # -- sklearn-style parameter handling
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, as a dict (``deep`` accepted for sklearn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> KMeansSegmenter:
        """Set constructor parameters; unknown names raise ``ValueError``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"KMeansSegmenter.set_params: parameter must be one of "
                                 f"{', '.join(valid)}, got {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"KMeansSegmenter({args})"

    def _features(self, image: np.ndarray, func: str) -> tuple[np.ndarray, tuple[int, int]]:
        x = as_float_image(image, func)
        space = _resolve_space(self.space, x, func)
        sw = check_spatial_weight(self.spatial_weight, func)
        return _features_from_float(x, space, sw).astype(np.float64), x.shape[:2]

    def fit(self, image: np.ndarray) -> KMeansSegmenter:
        """Learn ``n_clusters`` centres from the pixel features of ``image``."""
        func = "KMeansSegmenter.fit"
        X, (h, w) = self._features(image, func)
        k = check_int(self.n_clusters, func, "n_clusters", low=1, high=h * w)
        init = _check_init(self.init, func)
        n_init = _check_n_init(self.n_init, init, func)
        max_iter = check_int(self.max_iter, func, "max_iter", low=1)
        tol = check_real(self.tol, func, "tol", low=0.0)
        rng = check_seed(self.seed, func)
        res = _kmeans_checked(X, k, init, n_init, max_iter, tol, rng, func, stacklevel=3)
        present, first = np.unique(res.labels, return_index=True)
        present = present[np.argsort(first, kind="stable")]  # in order of first appearance
        rest = np.setdiff1d(np.arange(k), present)
        perm = np.concatenate([present, rest])  # new index i <- old cluster perm[i]
        self.centers_ = res.centers[perm]
        self.inertia_ = res.inertia
        self.n_iter_ = res.n_iter
        self.n_features_in_ = X.shape[1]
        inv = np.empty(k, dtype=np.int32)
        inv[perm] = np.arange(k, dtype=np.int32)
        self.labels_ = inv[res.labels].reshape(h, w)
        return self

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Label each pixel of ``image`` with its nearest learned centre, (H, W) int32."""
        func = "KMeansSegmenter.predict"
        if not hasattr(self, "centers_"):
            raise ValueError(f"{func}: the segmenter must be fitted first, got an unfitted "
                             "KMeansSegmenter; call fit(image)")
        X, (h, w) = self._features(image, func)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"{func}: image must give {self.n_features_in_} features like "
                             f"the fitted image, got {X.shape[1]}")
        k, d = self.centers_.shape
        labels = np.zeros(X.shape[0], dtype=np.int32)
        _assign_kernel(np.ascontiguousarray(X.T), np.ascontiguousarray(self.centers_), labels,
                       np.empty((k, d)),
                       np.empty(k), np.empty(X.shape[0]))
        return labels.reshape(h, w)

    def fit_predict(self, image: np.ndarray) -> np.ndarray:
        """``fit(image)`` and return ``labels_``."""
        return self.fit(image).labels_
