"""Segmentation metrics: agreement between a segmentation and a reference.

Conventions
-----------
A segmentation is an integer label array (any shape, usually ``(H, W)``); label values
are names only, so renumbering labels never changes a score. ``labels_true`` is the
reference (ground truth), ``labels_pred`` the segmentation being scored. All counts
are over pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage as ndi

from cvgeo._checks import check_real, describe, renamed_parameters

__all__ = [
    "achievable_segmentation_accuracy",
    "adjusted_rand_index",
    "boundary_recall",
    "undersegmentation_error",
    "variation_of_information",
]


def _check_labels(labels: Any, func: str, name: str) -> np.ndarray:
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array of integer labels, got "
                        f"{describe(labels)}")
    if labels.dtype.kind not in "iub":
        raise TypeError(f"{func}: {name} must hold integer labels, got dtype {labels.dtype}")
    if labels.size == 0:
        raise ValueError(f"{func}: {name} must be non-empty, got shape {labels.shape}")
    return labels


def _check_pair(labels_true: Any, labels_pred: Any, func: str) -> tuple[np.ndarray, np.ndarray]:
    a = _check_labels(labels_true, func, "labels_true")
    b = _check_labels(labels_pred, func, "labels_pred")
    if a.shape != b.shape:
        raise ValueError(f"{func}: labels_pred must have the shape of labels_true "
                         f"{a.shape}, got shape {b.shape}")
    return a.ravel(), b.ravel()


def _contingency(a: np.ndarray, b: np.ndarray):
    """Sparse contingency table of two flat label arrays.

    Returns ``(rows, cols, counts, n_rows, n_cols)``: the non-zero cells ``n_ij`` with
    ``i`` indexing the distinct values of ``a`` and ``j`` those of ``b``.
    """
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    ia = ia.reshape(-1).astype(np.int64)
    ib = ib.reshape(-1).astype(np.int64)
    n_cols = int(ib.max()) + 1
    cells, counts = np.unique(ia * n_cols + ib, return_counts=True)
    return cells // n_cols, cells % n_cols, counts.astype(np.float64), int(ia.max()) + 1, n_cols


def adjusted_rand_index(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Adjusted Rand index: pair-counting agreement, corrected for chance.

    Parameters
    ----------
    labels_true, labels_pred : ndarray of int, same shape

    Returns
    -------
    float
        1 for identical partitions (up to renaming), about 0 for independent ones,
        possibly negative; symmetric in its arguments.

    Raises
    ------
    TypeError, ValueError
        Non-integer, empty or differently shaped label arrays.

    Notes
    -----
    With ``n_ij`` the contingency table, ``a_i`` and ``b_j`` its row and column sums and
    ``C(m) = m (m - 1) / 2`` pairs, ``ARI = (I - E) / (M - E)`` where
    ``I = sum C(n_ij)``, ``M = (sum C(a_i) + sum C(b_j)) / 2`` and
    ``E = sum C(a_i) sum C(b_j) / C(n)``. When both partitions are trivial in the same
    way (``M = E``) the score is 1.

    References
    ----------
    .. [1] L. Hubert and P. Arabie, "Comparing partitions", Journal of Classification
       2(1), 1985. doi:10.1007/BF01908075

    Examples
    --------
    >>> import numpy as np
    >>> adjusted_rand_index(np.array([0, 0, 1, 1]), np.array([5, 5, 3, 3]))
    1.0
    """
    a, b = _check_pair(labels_true, labels_pred, "adjusted_rand_index")
    rows, cols, nij, nr, nc = _contingency(a, b)
    n = float(a.size)
    ai = np.bincount(rows, weights=nij, minlength=nr)
    bj = np.bincount(cols, weights=nij, minlength=nc)
    index = float((nij * (nij - 1)).sum() / 2)
    sa = float((ai * (ai - 1)).sum() / 2)
    sb = float((bj * (bj - 1)).sum() / 2)
    expected = sa * sb / (n * (n - 1) / 2) if n > 1 else 0.0
    maximum = (sa + sb) / 2
    if maximum == expected:
        return 1.0
    return float((index - expected) / (maximum - expected))


def variation_of_information(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Variation of information ``H(true | pred) + H(pred | true)``, in bits.

    Parameters
    ----------
    labels_true, labels_pred : ndarray of int, same shape

    Returns
    -------
    float
        0 for identical partitions, larger is worse; a metric on partitions.
        ``H(true | pred)`` measures under-segmentation (false merges) and
        ``H(pred | true)`` over-segmentation (false splits).

    Raises
    ------
    TypeError, ValueError
        Non-integer, empty or differently shaped label arrays.

    References
    ----------
    .. [1] M. Meila, "Comparing clusterings - an information based distance",
       Journal of Multivariate Analysis 98(5), 2007. doi:10.1016/j.jmva.2006.11.013

    Examples
    --------
    >>> import numpy as np
    >>> variation_of_information(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]))
    1.0
    """
    a, b = _check_pair(labels_true, labels_pred, "variation_of_information")
    rows, cols, nij, nr, nc = _contingency(a, b)
    p = nij / a.size
    pa = np.bincount(rows, weights=p, minlength=nr)
    pb = np.bincount(cols, weights=p, minlength=nc)
    h_true_given_pred = -float((p * np.log2(p / pb[cols])).sum())
    h_pred_given_true = -float((p * np.log2(p / pa[rows])).sum())
    return max(0.0, h_true_given_pred) + max(0.0, h_pred_given_true)


def _boundaries(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower 4-neighbour has another label (one-sided, thin)."""
    out = np.zeros(labels.shape, dtype=bool)
    out[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    out[:-1, :] |= labels[1:, :] != labels[:-1, :]
    return out


@renamed_parameters(tolerance="tolerance_px")
def boundary_recall(
    labels_true: np.ndarray, labels_pred: np.ndarray, *, tolerance_px: float = 2.0
) -> float:
    """Fraction of reference boundary pixels with a predicted boundary within
    ``tolerance_px`` pixels.

    Parameters
    ----------
    labels_true, labels_pred : ndarray of int, shape (H, W)
    tolerance_px : float, >= 0
        Euclidean distance in pixels within which a predicted boundary pixel counts
        as recalling a reference one (2 is common for superpixel benchmarks). Formerly
        ``tolerance``; that keyword works for one release, with a ``DeprecationWarning``.

    Returns
    -------
    float in [0, 1]
        1 when the reference has no boundary at all.

    Raises
    ------
    TypeError, ValueError
        Non-integer, non-2-D or differently shaped label arrays; negative tolerance.

    Notes
    -----
    A boundary pixel is one whose right or lower 4-neighbour carries another label.
    Recall ignores how many boundaries the segmentation draws: combine it with
    :func:`undersegmentation_error` or a compactness measure.

    References
    ----------
    .. [1] D. Martin, C. Fowlkes and J. Malik, "Learning to detect natural image
       boundaries using local brightness, color, and texture cues", IEEE TPAMI 26(5),
       2004. doi:10.1109/TPAMI.2004.1273918

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((4, 6), dtype=int); gt[:, 3:] = 1
    >>> pred = np.zeros((4, 6), dtype=int); pred[:, 4:] = 1
    >>> boundary_recall(gt, pred, tolerance_px=1), boundary_recall(gt, pred, tolerance_px=0)
    (1.0, 0.0)
    """
    func = "boundary_recall"
    a = _check_labels(labels_true, func, "labels_true")
    b = _check_labels(labels_pred, func, "labels_pred")
    if a.ndim != 2:
        raise ValueError(f"{func}: labels_true must be (H, W), got shape {a.shape}")
    if a.shape != b.shape:
        raise ValueError(f"{func}: labels_pred must have the shape of labels_true "
                         f"{a.shape}, got shape {b.shape}")
    tolerance = check_real(tolerance_px, func, "tolerance_px", low=0.0)
    gt = _boundaries(a)
    n_gt = int(gt.sum())
    if n_gt == 0:
        return 1.0
    pred = _boundaries(b)
    if not pred.any():
        return 0.0
    dist = ndi.distance_transform_edt(~pred)
    return float((dist[gt] <= tolerance).sum() / n_gt)


def undersegmentation_error(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Undersegmentation error: how much segments leak across reference regions.

    Parameters
    ----------
    labels_true, labels_pred : ndarray of int, same shape

    Returns
    -------
    float in [0, 1]
        ``(1/N) sum_G sum_{S meets G} min(|S ∩ G|, |S \\ G|)``: each predicted segment
        ``S`` overlapping a reference region ``G`` is charged the smaller of its part
        inside and its part outside. 0 when every segment lies inside one region.

    Raises
    ------
    TypeError, ValueError
        Non-integer, empty or differently shaped label arrays.

    References
    ----------
    .. [1] P. Neubert and P. Protzel, "Superpixel benchmark and comparison",
       Forum Bildverarbeitung 2012 (the symmetric "corrected" form used here).

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.array([0, 0, 0, 1, 1, 1])
    >>> undersegmentation_error(gt, np.array([0, 0, 0, 0, 1, 1]))
    0.3333333333333333
    """
    a, b = _check_pair(labels_true, labels_pred, "undersegmentation_error")
    _, cols, nij, _, nc = _contingency(a, b)
    size_pred = np.bincount(cols, weights=nij, minlength=nc)
    return float(np.minimum(nij, size_pred[cols] - nij).sum() / a.size)


def achievable_segmentation_accuracy(labels_true: np.ndarray, labels_pred: np.ndarray
                                     ) -> float:
    """Achievable segmentation accuracy: the best accuracy if each segment took one label.

    Parameters
    ----------
    labels_true, labels_pred : ndarray of int, same shape

    Returns
    -------
    float in (0, 1]
        ``(1/N) sum_S max_G |S ∩ G|``: label each predicted segment with the reference
        region it overlaps most and count the pixels that come out right. 1 when every
        segment lies inside one region (any over-segmentation of the reference).

    Raises
    ------
    TypeError, ValueError
        Non-integer, empty or differently shaped label arrays.

    References
    ----------
    .. [1] M.-Y. Liu, O. Tuzel, S. Ramalingam and R. Chellappa, "Entropy rate
       superpixel segmentation", CVPR 2011. doi:10.1109/CVPR.2011.5995323

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.array([0, 0, 0, 1, 1, 1])
    >>> achievable_segmentation_accuracy(gt, np.array([0, 0, 0, 0, 1, 1]))
    0.8333333333333334
    """
    a, b = _check_pair(labels_true, labels_pred, "achievable_segmentation_accuracy")
    _, cols, nij, _, nc = _contingency(a, b)
    best = np.zeros(nc)
    np.maximum.at(best, cols, nij)
    return float(best.sum() / a.size)
