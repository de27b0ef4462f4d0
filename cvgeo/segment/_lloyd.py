"""Lloyd's algorithm for k-means: k-means++ seeding, Hamerly-accelerated iterations and
the compiled kernels they run on, plus the plain vectorised Lloyd the fast path is tested
against. Validation, restarts and results are :func:`cvgeo.segment.kmeans`'s.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ------------------------------------------------------------------ compiled kernels
_BLOCK = 512  # samples per block: the block's distances stay in the L1 cache


@njit(cache=True)
def _assign_kernel(Xt, centers, labels, sums, counts, dist):  # pragma: no cover - numba
    """Assignment (E) step fused with the accumulation for the update (M) step.

    Samples are processed in blocks; within a block the loops run over samples
    innermost, so the squared distances vectorise (SIMD) whatever ``d`` is.

    Parameters
    ----------
    Xt : (d, n) float64, C-contiguous
        The samples, transposed (feature-major).
    centers : (k, d) float64
    labels : (n,) int32, overwritten with the index of the nearest centre
    sums : (k, d) float64, overwritten with the per-cluster sums of samples
    counts : (k,) float64, overwritten with the cluster sizes
    dist : (n,) float64, overwritten with the squared distance to the nearest centre

    Returns
    -------
    n_changed : int
        How many labels differ from what ``labels`` held on entry.
    """
    d, n = Xt.shape
    k = centers.shape[0]
    sums[:] = 0.0
    counts[:] = 0.0
    n_changed = 0
    acc = np.empty(_BLOCK)
    best_d = np.empty(_BLOCK)
    best = np.empty(_BLOCK, dtype=np.int32)
    for start in range(0, n, _BLOCK):
        m = min(_BLOCK, n - start)
        best_d[:] = np.inf
        best[:] = 0  # a valid index even if every distance were inf or NaN
        for j in range(k):
            acc[:m] = 0.0
            for f in range(d):
                c = centers[j, f]
                for i in range(m):
                    t = Xt[f, start + i] - c
                    acc[i] += t * t
            for i in range(m):
                if acc[i] < best_d[i]:
                    best_d[i] = acc[i]
                    best[i] = j
        for i in range(m):
            b = best[i]
            if labels[start + i] != b:
                n_changed += 1
                labels[start + i] = b
            dist[start + i] = best_d[i]
            counts[b] += 1.0
        for f in range(d):
            for i in range(m):
                sums[best[i], f] += Xt[f, start + i]
    return n_changed


@njit(cache=True)
def _trial_potentials_kernel(Xt, candidates, closest, weights):  # pragma: no cover - numba
    """k-means++ greedy trials: the potential each candidate centre would leave.

    Parameters
    ----------
    Xt : (d, n) float64, the samples transposed
    candidates : (t,) int64, sample indices proposed as the next centre
    closest : (n,) float64, current squared distance of each sample to its nearest centre
    weights : (n,) float64, the sample weights (ones when unweighted)

    Returns
    -------
    (best, new_closest) : (int, (n,) float64)
        The candidate (position in ``candidates``) giving the smallest potential
        ``sum(weight * min(closest, d(x, candidate)^2))``, and that updated ``closest``.
    """
    d, n = Xt.shape
    best = 0
    best_pot = np.inf
    best_closest = closest.copy()
    trial = np.empty(n)
    for t in range(candidates.shape[0]):
        c = candidates[t]
        trial[:] = 0.0
        for f in range(d):
            v = Xt[f, c]
            for i in range(n):
                u = Xt[f, i] - v
                trial[i] += u * u
        pot = 0.0
        for i in range(n):
            trial[i] = min(closest[i], trial[i])
            pot += weights[i] * trial[i]
        if pot < best_pot:
            best_pot = pot
            best = t
            best_closest[:] = trial
    return best, best_closest


@njit(cache=True)
def _closest_two(X, i, centers):  # pragma: no cover - numba
    """Nearest centre of sample ``i`` and the distances (not squared) to the two nearest."""
    k, d = centers.shape
    b1 = 0
    d1 = np.inf
    d2 = np.inf
    for j in range(k):
        s = 0.0
        for f in range(d):
            t = X[i, f] - centers[j, f]
            s += t * t
        if s < d1:
            d2 = d1
            d1 = s
            b1 = j
        elif s < d2:
            d2 = s
    return b1, np.sqrt(d1), np.sqrt(d2)


@njit(cache=True)
def _hamerly_kernel(X, weights, centers, labels, max_iter, tol_abs):  # pragma: no cover
    """Lloyd iterations accelerated with Hamerly's bounds; the same fixed point as Lloyd.

    Each sample keeps an upper bound ``u`` on the distance to its centre and a lower
    bound ``l`` on the distance to every other centre. With ``s(j)`` half the distance
    from centre ``j`` to its nearest other centre, a sample whose ``u <= max(s(a), l)``
    cannot change cluster and is skipped; after the update step the bounds grow/shrink
    by how far the centres moved. Cluster sums are updated incrementally.

    Parameters
    ----------
    X : (n, d) float64, C-contiguous
    weights : (n,) float64, sample weights >= 0 (ones when unweighted); a centre is the
        weighted mean of its samples
    centers : (k, d) float64, the initial centres; overwritten with the final ones
    labels : (n,) int32, overwritten with the labels of the last assignment step
    max_iter : int
    tol_abs : float
        Stop when the summed squared centre movement is at most this.

    Returns
    -------
    n_iter : int
    """
    n, d = X.shape
    k = centers.shape[0]
    upper = np.empty(n)
    lower = np.empty(n)
    sums = np.zeros((k, d))
    counts = np.zeros(k)  # summed weight of each cluster
    members = np.zeros(k)  # number of samples of each cluster
    for i in range(n):  # iteration 1, assignment step: exact
        a, d1, d2 = _closest_two(X, i, centers)
        labels[i] = a
        upper[i] = d1
        lower[i] = d2
        counts[a] += weights[i]
        members[a] += 1.0
        for f in range(d):
            sums[a, f] += weights[i] * X[i, f]
    n_changed = n
    new = np.empty((k, d))
    move = np.empty(k)
    half = np.empty(k)
    it = 0
    while True:
        it += 1
        # update step: centres to the means; an empty cluster takes the farthest sample
        reset = False
        for j in range(k):
            if members[j] == 0:
                far = -1
                far_d = -1.0
                for i in range(n):
                    if members[labels[i]] > 1:
                        s = 0.0
                        for f in range(d):
                            t = X[i, f] - centers[labels[i], f]
                            s += t * t
                        if s > far_d:
                            far_d = s
                            far = i
                if far >= 0:
                    old = labels[far]
                    counts[old] -= weights[far]
                    members[old] -= 1.0
                    for f in range(d):
                        sums[old, f] -= weights[far] * X[far, f]
                        sums[j, f] += weights[far] * X[far, f]
                    counts[j] = weights[far]
                    members[j] = 1.0
                    labels[far] = j
                    reset = True
        shift = 0.0
        for j in range(k):
            m2 = 0.0
            for f in range(d):
                v = sums[j, f] / counts[j] if counts[j] > 0 else centers[j, f]
                t = v - centers[j, f]
                m2 += t * t
                new[j, f] = v
            move[j] = np.sqrt(m2)
            shift += m2
        centers[:] = new
        if n_changed == 0 and not reset:
            break
        if shift <= tol_abs or it >= max_iter:
            break
        # bounds follow the centres
        j1 = 0
        for j in range(1, k):
            if move[j] > move[j1]:
                j1 = j
        m_second = 0.0
        for j in range(k):
            if j != j1 and move[j] > m_second:
                m_second = move[j]
        for i in range(n):
            if reset:
                upper[i] = np.inf
                lower[i] = 0.0
            else:
                a = labels[i]
                upper[i] += move[a]
                lower[i] -= m_second if a == j1 else move[j1]
        for j in range(k):
            h = np.inf
            for jj in range(k):
                if jj != j:
                    s = 0.0
                    for f in range(d):
                        t = centers[j, f] - centers[jj, f]
                        s += t * t
                    h = min(h, s)
            half[j] = 0.5 * np.sqrt(h)
        # assignment step, skipping samples the bounds prove cannot move
        n_changed = 0
        for i in range(n):
            a = labels[i]
            m = max(half[a], lower[i])
            if upper[i] <= m:
                continue
            s = 0.0
            for f in range(d):
                t = X[i, f] - centers[a, f]
                s += t * t
            upper[i] = np.sqrt(s)
            if upper[i] <= m:
                continue
            b, d1, d2 = _closest_two(X, i, centers)
            upper[i] = d1
            lower[i] = d2
            if b != a:
                n_changed += 1
                labels[i] = b
                counts[a] -= weights[i]
                counts[b] += weights[i]
                members[a] -= 1.0
                members[b] += 1.0
                for f in range(d):
                    sums[a, f] -= weights[i] * X[i, f]
                    sums[b, f] += weights[i] * X[i, f]
    return it


# ------------------------------------------------------------------ the algorithm
def _kmeans_plusplus(X: np.ndarray, Xt: np.ndarray, k: int, rng: np.random.Generator,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """Greedy k-means++ (Arthur & Vassilvitskii 2007, 2 + log k trials like sklearn).

    Samples are drawn with probability proportional to ``weight * D(x)^2`` (the first
    with probability proportional to its weight), as scikit-learn does. No ``weights``
    is all ones, drawn the same way, so unit weights give the very same centres.
    """
    n = X.shape[0]
    n_trials = 2 + int(np.log(k))
    centers = np.empty((k, X.shape[1]))
    w = np.ones(n) if weights is None else weights
    cw = np.cumsum(w)
    first = min(int(np.searchsorted(cw, rng.random() * cw[-1], side="right")), n - 1)
    centers[0] = X[first]
    closest = ((X - X[first]) ** 2).sum(axis=1)
    for c in range(1, k):
        cum = np.cumsum(closest * w)
        pot = cum[-1]
        if pot <= 0:  # fewer distinct points than k: any sample is as good as another
            centers[c] = X[int(rng.integers(n))]
            continue
        candidates = np.searchsorted(cum, rng.random(n_trials) * pot, side="left")
        candidates = np.minimum(candidates, n - 1).astype(np.int64)
        best, closest = _trial_potentials_kernel(Xt, candidates, closest, w)
        centers[c] = X[candidates[best]]
    return centers


def _lloyd(X: np.ndarray, Xt: np.ndarray, centers: np.ndarray, max_iter: int,
           tol_abs: float, weights: np.ndarray | None = None):
    """One k-means run from given centres: (labels, centers, inertia, n_iter).

    Hamerly-accelerated Lloyd iterations, then one exact assignment pass so that the
    labels are those of the final centres and the inertia (weighted, with ``weights``)
    is exact.
    """
    n, d = X.shape
    k = centers.shape[0]
    centers = np.ascontiguousarray(centers, dtype=np.float64).copy()
    labels = np.empty(n, dtype=np.int32)
    w = np.ones(n) if weights is None else weights
    n_iter = _hamerly_kernel(X, w, centers, labels, max_iter, tol_abs)
    dist = np.empty(n)
    _assign_kernel(Xt, centers, labels, np.empty((k, d)), np.empty(k), dist)
    inertia = float(dist.sum()) if weights is None else float(dist @ weights)
    return labels, centers, inertia, int(n_iter)


def _lloyd_reference(X: np.ndarray, centers: np.ndarray, max_iter: int, tol_abs: float):
    """Plain vectorised Lloyd (BLAS distances), the reference the fast path is tested on.

    Same stopping rule as :func:`_lloyd`; no empty-cluster handling (tests avoid it).
    """
    centers = centers.copy()
    labels_old = np.full(X.shape[0], -1)
    x2 = (X * X).sum(axis=1)[:, None]
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (returned)
        d2 = x2 - 2.0 * X @ centers.T + (centers * centers).sum(axis=1)[None, :]
        labels = d2.argmin(axis=1)
        new = np.stack([X[labels == j].mean(axis=0) for j in range(centers.shape[0])])
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if np.array_equal(labels, labels_old) or shift <= tol_abs:
            break
        labels_old = labels
    d2 = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
    labels = d2.argmin(axis=1)
    return labels.astype(np.int32), centers, float(d2.min(axis=1).sum()), it
