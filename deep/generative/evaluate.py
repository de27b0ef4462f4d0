"""One evaluation for generated digits: a Fréchet distance and a recognition rate.

Both use one small classifier, :class:`DigitsClassifier`: LeNet-5 from the model registry
behind a *small-image stem* that bilinearly upsamples the 8x8 digits (range [-1, 1], see
:mod:`deep.generative.data`) to the 32x32 LeNet was built for. It is trained from scratch
on the fixed training split (:func:`digits_classifier`, seeded, kept in memory for the
process, never written to disk). Its 84-dimensional F6 activations (the penultimate
layer) are the features of the Fréchet distance, as Inception's pool features are for
FID (Heusel et al., 2017):

    d² = ||μ_a − μ_b||² + tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}).

The matrix square root is ours (:func:`sqrtm_psd`, by symmetric eigendecomposition), and
the trace of ``(Σ_a Σ_b)^{1/2}`` is computed from the symmetric similar matrix
``Σ_a^{1/2} Σ_b Σ_a^{1/2}``, whose eigenvalues are those of ``Σ_a Σ_b``.

Public names: :func:`sqrtm_psd`, :func:`frechet_distance`, :class:`DigitsClassifier`,
:func:`digits_classifier`, :func:`digit_features`, :func:`recognition_rate`,
:func:`sample_scores` / :class:`SampleScores`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import describe
from deep.generative.data import IMAGE_SIZE, digits_tensors
from deep.train import one_thread

__all__ = ["DigitsClassifier", "SampleScores", "digit_features", "digits_classifier",
           "frechet_distance", "recognition_rate", "sample_scores", "sqrtm_psd"]


def _as_float64(a, func: str, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array or torch tensor, got "
                        f"{describe(a)}")
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{func}: {name} must be finite, got NaN or inf")
    return a


def sqrtm_psd(A) -> np.ndarray:
    """The principal square root of a symmetric positive semi-definite matrix.

    Parameters
    ----------
    A : ndarray of shape (n, n)
        Symmetric (to 1e-8 relative) and positive semi-definite; it is symmetrised as
        ``(A + Aᵀ) / 2`` and eigenvalues below zero (round-off) are clipped to zero.

    Returns
    -------
    ndarray of shape (n, n), float64
        ``S = V diag(√λ) Vᵀ`` with ``A = V diag(λ) Vᵀ``: symmetric, PSD, ``S @ S = A``.

    Raises
    ------
    ValueError
        Not square, not finite, not symmetric, or an eigenvalue below
        ``-1e-8 · max|λ|`` (not PSD).

    Examples
    --------
    >>> sqrtm_psd(np.array([[4.0, 0.0], [0.0, 9.0]]))
    array([[2., 0.],
           [0., 3.]])
    """
    A = _as_float64(A, "sqrtm_psd", "A")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"sqrtm_psd: A must be a square (n, n) matrix, got shape {A.shape}")
    scale = max(float(np.abs(A).max()), 1e-300)
    if np.abs(A - A.T).max() > 1e-8 * scale:
        raise ValueError(f"sqrtm_psd: A must be symmetric, got max |A - A^T| = "
                         f"{np.abs(A - A.T).max():.3g}")
    lam, V = np.linalg.eigh((A + A.T) / 2.0)
    if lam.size and lam.min() < -1e-8 * max(float(np.abs(lam).max()), 1e-300):
        raise ValueError(f"sqrtm_psd: A must be positive semi-definite, got eigenvalue "
                         f"{lam.min():.3g}")
    return (V * np.sqrt(np.clip(lam, 0.0, None))) @ V.T


def _stats(features: np.ndarray, func: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"{func}: {name} must be (N, D) features with N >= 2, got shape "
                         f"{features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(
        features.shape[1], features.shape[1])


def frechet_distance(features_a, features_b) -> float:
    """Fréchet (2-Wasserstein) distance between Gaussians fitted to two feature sets.

    Parameters
    ----------
    features_a, features_b : ndarray or Tensor of shape (N_a, D), (N_b, D)
        Feature vectors (rows); each set needs at least 2 rows. Covariances are the
        unbiased sample covariances.

    Returns
    -------
    float
        ``||μ_a − μ_b||² + tr Σ_a + tr Σ_b − 2 tr (Σ_a Σ_b)^{1/2}`` (a squared distance,
        ≥ 0; the *FID* convention of Heusel et al.).

    Notes
    -----
    ``tr (Σ_a Σ_b)^{1/2} = Σ_i √λ_i`` where ``λ_i`` are the eigenvalues of the symmetric
    PSD matrix ``Σ_a^{1/2} Σ_b Σ_a^{1/2}`` (similar to ``Σ_a Σ_b``), so no
    non-symmetric square root is needed.

    References
    ----------
    M. Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
    Nash Equilibrium", NeurIPS 2017, arXiv:1706.08500.
    D. C. Dowson and B. V. Landau, "The Fréchet distance between multivariate normal
    distributions", J. Multivariate Anal. 12(3), 1982.
    """
    fa = _as_float64(features_a, "frechet_distance", "features_a")
    fb = _as_float64(features_b, "frechet_distance", "features_b")
    mu_a, cov_a = _stats(fa, "frechet_distance", "features_a")
    mu_b, cov_b = _stats(fb, "frechet_distance", "features_b")
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"frechet_distance: features_a and features_b must have the same "
                         f"dimension, got {mu_a.shape[0]} and {mu_b.shape[0]}")
    root_a = sqrtm_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    lam = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    tr_covmean = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    d2 = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b)
               - 2.0 * tr_covmean)
    return max(d2, 0.0)


class DigitsClassifier(nn.Module):
    """LeNet-5 behind a small-image stem, for 8x8 digits in [-1, 1].

    The stem bilinearly upsamples ``(B, 1, 8, 8)`` to ``(B, 1, 32, 32)``; the body is
    ``create_model("lenet5", num_classes=10, act_layer=nn.ReLU, pool="max")``.
    ``features(x)`` gives F6's 84 activations (the penultimate layer); ``forward(x)``
    the 10 logits.
    """

    def __init__(self):
        super().__init__()
        from deep.models.registry import create_model

        self.body = create_model("lenet5", num_classes=10, act_layer=nn.ReLU, pool="max")

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[1:]) != (
                1, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"DigitsClassifier: input must be (B, 1, {IMAGE_SIZE}, "
                             f"{IMAGE_SIZE}) in [-1, 1], got {describe(x)}")
        return F.interpolate(x.float(), size=(32, 32), mode="bilinear",
                             align_corners=False)  # (B, 1, 32, 32)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Digits ``(B, 1, 8, 8)`` → penultimate features ``(B, 84)``."""
        return self.body.forward_head(self.body.forward_features(self._stem(x)),
                                      pre_logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body.head(self.features(x))


def _shift(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Each image moved by an integer offset in {-1, 0, 1}², background (-1) filled in."""
    pad = F.pad(x, (1, 1, 1, 1), value=-1.0)  # (B, 1, 10, 10)
    offs = torch.randint(0, 3, (x.shape[0], 2), generator=g)
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        r, c = int(offs[i, 0]), int(offs[i, 1])
        out[i] = pad[i, :, r:r + IMAGE_SIZE, c:c + IMAGE_SIZE]
    return out


_CLASSIFIERS: dict[int, DigitsClassifier] = {}


def digits_classifier(*, seed: int = 0, epochs: int = 30) -> DigitsClassifier:
    """The evaluation classifier, trained from scratch on the training digits.

    Trained once per ``(seed, epochs)`` and process (kept in memory, never on disk):
    Adam (lr 2e-3), batch 64, ``epochs`` epochs, random ±1 pixel shifts, on one torch
    thread whatever the caller set (so the weights do not depend on it). Returned in
    eval mode with gradients switched off; do not train it further. About 25 s of one
    CPU core for the default 30 epochs; its held-out accuracy is in
    ``tests/deep/test_generative_evaluate.py`` (≥ 97 %).
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"digits_classifier: seed must be an int, got {describe(seed)}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"digits_classifier: epochs must be an int >= 1, got "
                         f"{describe(epochs)}")
    key = (seed, epochs)
    if key in _CLASSIFIERS:
        return _CLASSIFIERS[key]
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitsClassifier()
    data = digits_tensors("train")
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    n = data.images.shape[0]
    with one_thread(), torch.enable_grad():  # the same weights whatever the caller's threads
        for _ in range(epochs):
            perm = torch.randperm(n, generator=g)
            for start in range(0, n, 64):
                idx = perm[start:start + 64]
                x = _shift(data.images[idx], g)
                loss = F.cross_entropy(model(x), data.labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    model.eval()
    model.requires_grad_(False)
    _CLASSIFIERS[key] = model
    return model


def _check_samples(samples, func: str) -> torch.Tensor:
    if not isinstance(samples, torch.Tensor):
        raise TypeError(f"{func}: samples must be a torch.Tensor (N, 1, {IMAGE_SIZE}, "
                        f"{IMAGE_SIZE}), got {describe(samples)}")
    if samples.ndim != 4 or tuple(samples.shape[1:]) != (1, IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"{func}: samples must be (N, 1, {IMAGE_SIZE}, {IMAGE_SIZE}) in "
                         f"[-1, 1], got shape {tuple(samples.shape)}")
    if not torch.isfinite(samples).all():
        raise ValueError(f"{func}: samples must be finite, got NaN or inf")
    return samples.detach().float().cpu()


@torch.no_grad()
def digit_features(samples: torch.Tensor, *, classifier: DigitsClassifier | None = None
                   ) -> np.ndarray:
    """Penultimate features ``(N, 84)`` float64 of digits ``(N, 1, 8, 8)`` in [-1, 1]."""
    x = _check_samples(samples, "digit_features")
    clf = digits_classifier() if classifier is None else classifier
    return torch.cat([clf.features(x[i:i + 512]) for i in range(0, x.shape[0], 512)]
                     ).double().numpy()


@torch.no_grad()
def recognition_rate(samples: torch.Tensor, labels, *,
                     classifier: DigitsClassifier | None = None) -> float:
    """Fraction of ``samples`` that the evaluation classifier labels as ``labels``.

    Parameters
    ----------
    samples : Tensor of shape (N, 1, 8, 8), values in [-1, 1]
    labels : Tensor or ndarray of shape (N,), ints in 0..9
        The class each sample was generated for.
    classifier : DigitsClassifier, optional
        Default :func:`digits_classifier()`.

    Returns
    -------
    float in [0, 1]
    """
    x = _check_samples(samples, "recognition_rate")
    y = torch.as_tensor(np.asarray(labels.cpu() if isinstance(labels, torch.Tensor)
                                   else labels))
    if y.ndim != 1 or y.shape[0] != x.shape[0] or y.dtype.is_floating_point or (
            y.numel() and (int(y.min()) < 0 or int(y.max()) > 9)):
        raise ValueError(f"recognition_rate: labels must be {x.shape[0]} ints in 0..9, got "
                         f"{describe(labels)}")
    clf = digits_classifier() if classifier is None else classifier
    pred = torch.cat([clf(x[i:i + 512]).argmax(1) for i in range(0, x.shape[0], 512)])
    return float((pred == y.long()).float().mean())


@dataclass(frozen=True)
class SampleScores:
    """Scores of a set of generated digits.

    Attributes
    ----------
    frechet : float
        Fréchet distance between the samples' features and the held-out digits'.
    frechet_real : float
        The same distance for as many training digits as there are samples (up to all
        1438, a fixed random subset): the floor that real digits reach at that sample
        size (the estimate is biased upwards for small N, so compare at equal N).
    recognition : float or None
        :func:`recognition_rate` for class-conditional samples, else None.
    """

    frechet: float
    frechet_real: float
    recognition: float | None


def sample_scores(samples: torch.Tensor, labels=None, *,
                  classifier: DigitsClassifier | None = None) -> SampleScores:
    """Fréchet distance of ``samples`` to the held-out digits, beside the real floor, and
    (with ``labels``) the recognition rate."""
    clf = digits_classifier() if classifier is None else classifier
    held = digit_features(digits_tensors("test").images, classifier=clf)
    feats = digit_features(samples, classifier=clf)
    train_images = digits_tensors("train").images
    subset = torch.randperm(train_images.shape[0], generator=torch.Generator().manual_seed(0))
    train = digit_features(train_images[subset[:samples.shape[0]]], classifier=clf)
    rec = None if labels is None else recognition_rate(samples, labels, classifier=clf)
    return SampleScores(frechet=frechet_distance(feats, held),
                        frechet_real=frechet_distance(train, held), recognition=rec)
