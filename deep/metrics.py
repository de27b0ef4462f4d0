"""Semantic segmentation scores per class (IoU, Dice, accuracy) and instance-level scores.

Conventions
-----------
``pred`` and ``target`` are integer class maps of the same shape (numpy arrays or torch
tensors; any shape, usually ``(H, W)`` or ``(B, H, W)``): take ``logits.argmax(1)`` of a
multiclass model first. Target pixels equal to ``ignore_index`` are left out of every
count. The confusion matrix has the true class on the rows and the predicted class on
the columns.

A class with no pixel in the target *and* none in the prediction has an undefined IoU and
Dice (0 / 0): it is reported as NaN and left out of the means, so that scoring a batch
without, say, triangles neither rewards nor punishes the model for triangles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage as ndi

from cvgeo._checks import check_int, describe, renamed_parameters
from cvgeo.segment.metrics import (
    adjusted_rand_index,
    boundary_recall,
    variation_of_information,
)

__all__ = ["InstanceScores", "SegmentationScores", "confusion_matrix", "instance_scores",
           "label_instances", "segmentation_scores"]


def _as_labels(x, func: str, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array or torch tensor of integer "
                        f"labels, got {describe(x)}")
    if x.dtype.kind not in "iub":
        raise TypeError(f"{func}: {name} must hold integer labels, got dtype {x.dtype}; take "
                        "logits.argmax(1) first")
    if x.size == 0:
        raise ValueError(f"{func}: {name} must be non-empty, got shape {x.shape}")
    return x.astype(np.int64, copy=False)


def confusion_matrix(pred, target, *, num_classes: int,
                     ignore_index: int | None = None) -> np.ndarray:
    """Counts ``M[i, j]`` of pixels of true class ``i`` predicted as class ``j``.

    Parameters
    ----------
    pred, target : ndarray or Tensor of int, same shape
    num_classes : int >= 1
    ignore_index : int, optional
        Target value of pixels to leave out (may lie outside ``[0, num_classes)``).

    Returns
    -------
    ndarray of int64, shape (num_classes, num_classes)
        Sums over batches by adding matrices.

    Raises
    ------
    TypeError, ValueError
        Non-integer or differently shaped inputs, labels outside ``[0, num_classes)``.

    Examples
    --------
    >>> import numpy as np
    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), num_classes=2)
    array([[1, 1],
           [0, 1]])
    """
    func = "confusion_matrix"
    k = check_int(num_classes, func, "num_classes", low=1)
    p = _as_labels(pred, func, "pred")
    t = _as_labels(target, func, "target")
    if p.shape != t.shape:
        raise ValueError(f"{func}: pred must have the shape of target {t.shape}, got {p.shape}")
    keep = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
    p, t = p[keep], t[keep]
    for name, a in (("pred", p), ("target", t)):
        if a.size and (a.min() < 0 or a.max() >= k):
            extra = "" if name == "pred" or ignore_index is None else \
                f" or equal ignore_index={ignore_index}"
            raise ValueError(f"{func}: {name} labels must lie in [0, {k - 1}]{extra}, got range "
                             f"[{a.min()}, {a.max()}]")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


@dataclass(frozen=True)
class SegmentationScores:
    """Per-class and mean scores of a semantic segmentation.

    Attributes
    ----------
    confusion : ndarray of int64, shape (K, K)
        True class on the rows, predicted class on the columns.
    iou : ndarray of float64, shape (K,)
        ``TP / (TP + FP + FN)`` per class; NaN when the class is absent from both.
    dice : ndarray of float64, shape (K,)
        ``2 TP / (2 TP + FP + FN)`` per class; NaN when absent from both.
    pixel_accuracy : float
        Fraction of counted pixels predicted right (NaN when none was counted).
    class_accuracy : ndarray of float64, shape (K,)
        Recall ``TP / (TP + FN)`` per class; NaN for classes absent from the target.
    mean_iou, mean_dice : float
        Means of ``iou`` and ``dice`` over the classes where they are defined.
    """

    confusion: np.ndarray
    iou: np.ndarray
    dice: np.ndarray
    pixel_accuracy: float
    class_accuracy: np.ndarray
    mean_iou: float
    mean_dice: float

    @classmethod
    def from_confusion(cls, confusion: np.ndarray) -> SegmentationScores:
        """Scores from a (summed) confusion matrix."""
        m = np.asarray(confusion)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.dtype.kind not in "iu" or (m < 0).any():
            raise ValueError(f"SegmentationScores.from_confusion: confusion must be a square "
                             f"matrix of non-negative integer counts, got {describe(confusion)}")
        m = m.astype(np.int64)
        tp = np.diag(m).astype(np.float64)
        fn = m.sum(1) - tp  # true class c, predicted otherwise
        fp = m.sum(0) - tp  # predicted c, truly otherwise
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(tp + fp + fn > 0, tp / (tp + fp + fn), np.nan)
            dice = np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
            class_acc = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        total = m.sum()
        acc = float(tp.sum() / total) if total else float("nan")
        defined = ~np.isnan(iou)
        return cls(confusion=m, iou=iou, dice=dice, pixel_accuracy=acc,
                   class_accuracy=class_acc,
                   mean_iou=float(iou[defined].mean()) if defined.any() else float("nan"),
                   mean_dice=float(dice[defined].mean()) if defined.any() else float("nan"))


def segmentation_scores(pred, target, *, num_classes: int,
                        ignore_index: int | None = None) -> SegmentationScores:
    """IoU, Dice and pixel accuracy per class and their means.

    Parameters
    ----------
    pred, target : ndarray or Tensor of int, same shape
    num_classes : int
    ignore_index : int, optional

    Returns
    -------
    SegmentationScores

    Examples
    --------
    >>> import numpy as np
    >>> s = segmentation_scores(np.array([0, 1, 1, 1]), np.array([0, 0, 1, 1]), num_classes=3)
    >>> s.iou.round(4).tolist(), round(s.mean_iou, 4)  # class 2 absent from both: NaN
    ([0.5, 0.6667, nan], 0.5833)
    """
    return SegmentationScores.from_confusion(
        confusion_matrix(pred, target, num_classes=num_classes, ignore_index=ignore_index))


def label_instances(labels, *, connectivity: int = 1) -> np.ndarray:
    """Connected components of every non-zero class of a ``(H, W)`` class map.

    Parameters
    ----------
    labels : ndarray or Tensor of int, shape (H, W)
        0 is background; a component never joins pixels of different classes.
    connectivity : {1, 2}
        1: 4-neighbours; 2: 8-neighbours.

    Returns
    -------
    ndarray of int32, shape (H, W)
        0 on the background, ``1..n`` on the components (numbered class by class, in
        raster order within a class).
    """
    func = "label_instances"
    lab = _as_labels(labels, func, "labels")
    if lab.ndim != 2:
        raise ValueError(f"{func}: labels must be (H, W), got shape {lab.shape}")
    connectivity = check_int(connectivity, func, "connectivity", low=1, high=2)
    structure = ndi.generate_binary_structure(2, connectivity)
    out = np.zeros(lab.shape, np.int32)
    n = 0
    for c in np.unique(lab):
        if c == 0:
            continue
        comp, k = ndi.label(lab == c, structure=structure)
        out[comp > 0] = comp[comp > 0] + n
        n += k
    return out


@dataclass(frozen=True)
class InstanceScores:
    """Agreement of predicted objects (connected components) with reference instances.

    Attributes
    ----------
    ari : float
        Adjusted Rand index over all pixels (background is one more segment).
    vi : float
        Variation of information in bits (0 is perfect).
    boundary_recall : float
        Fraction of reference boundary pixels with a predicted boundary within
        ``tolerance_px``.
    n_true, n_pred : int
        Reference objects and predicted components.
    instances : ndarray of int32, shape (H, W)
        The predicted components.
    """

    ari: float
    vi: float
    boundary_recall: float
    n_true: int
    n_pred: int
    instances: np.ndarray


@renamed_parameters(tolerance="tolerance_px")
def instance_scores(pred, true_instances, *, connectivity: int = 1,
                    tolerance_px: float = 2.0) -> InstanceScores:
    """Score the objects of a semantic prediction against reference instances.

    The prediction's objects are the connected components of its non-zero classes
    (:func:`label_instances`); they are compared with ``true_instances`` by
    :func:`cvgeo.adjusted_rand_index`, :func:`cvgeo.variation_of_information` and
    :func:`cvgeo.boundary_recall`. Touching objects merged into one component lower
    the ARI and raise the VI; that is what U-Net's border weights are meant to prevent.

    Parameters
    ----------
    pred : ndarray or Tensor of int, shape (H, W)
        Predicted classes, 0 = background.
    true_instances : ndarray or Tensor of int, shape (H, W)
        Reference object ids, 0 = background.
    connectivity : {1, 2}
    tolerance_px : float
        Passed to :func:`cvgeo.boundary_recall` (pixels). The old keyword ``tolerance``
        works for one release with a ``DeprecationWarning``.

    Returns
    -------
    InstanceScores
    """
    func = "instance_scores"
    truth = _as_labels(true_instances, func, "true_instances")
    p = _as_labels(pred, func, "pred")
    if truth.shape != p.shape or truth.ndim != 2:
        raise ValueError(f"{func}: pred and true_instances must be (H, W) of the same shape, "
                         f"got {p.shape} and {truth.shape}")
    inst = label_instances(p, connectivity=connectivity)
    return InstanceScores(
        ari=adjusted_rand_index(truth, inst),
        vi=variation_of_information(truth, inst),
        boundary_recall=boundary_recall(truth, inst, tolerance_px=tolerance_px),
        n_true=int(np.unique(truth[truth != 0]).size),
        n_pred=int(inst.max()),
        instances=inst,
    )
