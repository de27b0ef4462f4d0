"""Hybrid images (Oliva, Torralba & Schyns): one image's coarse structure plus another's
fine detail, and the shrinking copies that show both.
"""

from __future__ import annotations

import numpy as np

from cvgeo._checks import (
    DEFAULT_MAX_PIXELS,
    check_bool,
    check_choice,
    check_int,
    check_output_pixels,
    check_real,
)
from cvgeo.fourier.frequency_filters import FilterKind, FrequencyFilter, apply_filter
from cvgeo.image import as_float_image
from cvgeo.pyramids import downsample


# -------------------------------------------------------------- hybrid images
def hybrid_image(
    low_image: np.ndarray,
    high_image: np.ndarray,
    *,
    low_cutoff: float,
    high_cutoff: float,
    kind: FilterKind = "gaussian",
    clip: bool = True,
) -> np.ndarray:
    """Hybrid image: the coarse structure of one image plus the fine detail of another.

    Seen from close by (or large), the high frequencies of ``high_image`` dominate; from
    far away (or small), only the low frequencies of ``low_image`` remain visible
    (Oliva, Torralba & Schyns 2006).

    Parameters
    ----------
    low_image, high_image : ndarray of shape (H, W) or (H, W, C)
        The two images, aligned and of the same shape (align and crop them first).
    low_cutoff : float
        Cutoff of the low-pass applied to ``low_image``, in **cycles per pixel** (> 0).
    high_cutoff : float
        Cutoff of the high-pass applied to ``high_image``, cycles/pixel (> 0). Usually
        ``high_cutoff >= low_cutoff``; overlapping bands are allowed (both images then
        contribute between the cutoffs).
    kind : {"ideal", "gaussian", "butterworth"}
        Filter profile, see :func:`frequency_filter` (Gaussian, as in the paper, avoids
        ringing).
    clip : bool
        Clip the sum to [0, 1] (for display and saving). False returns the raw sum.

    Returns
    -------
    ndarray of float32, same shape
        ``lowpass(low_image) + highpass(high_image)``, filtered with
        :func:`apply_filter` (reflect border).

    Raises
    ------
    ValueError
        Images of different shapes, a cutoff that is not a finite number > 0, NaN/inf.

    References
    ----------
    A. Oliva, A. Torralba, P. G. Schyns, "Hybrid images", ACM Transactions on Graphics
    25(3), 527-532, 2006. doi:10.1145/1141911.1141919

    Examples
    --------
    >>> a = np.full((8, 8), 0.25, np.float32); b = np.full((8, 8), 0.75, np.float32)
    >>> float(hybrid_image(a, b, low_cutoff=0.05, high_cutoff=0.1)[0, 0])
    0.25
    """
    func = "hybrid_image"
    low_cutoff = check_real(low_cutoff, func, "low_cutoff", low=0.0, low_inclusive=False)
    high_cutoff = check_real(high_cutoff, func, "high_cutoff", low=0.0, low_inclusive=False)
    check_choice(kind, func, "kind", ("ideal", "gaussian", "butterworth"))
    clip = check_bool(clip, func, "clip")
    a = as_float_image(low_image, func, "low_image")
    b = as_float_image(high_image, func, "high_image")
    if a.shape != b.shape:
        raise ValueError(f"{func}: low_image and high_image must have the same shape (align "
                         f"and crop them first), got {a.shape} and {b.shape}")
    low = apply_filter(a, FrequencyFilter(kind, "lowpass", (low_cutoff,)))
    high = apply_filter(b, FrequencyFilter(kind, "highpass", (high_cutoff,)))
    out = low + high
    return np.clip(out, 0.0, 1.0, out=out) if clip else out


def hybrid_scales(
    image: np.ndarray,
    n: int = 5,
    *,
    gap: int = 4,
    background: float = 1.0,
) -> np.ndarray:
    """Show an image at ``n`` decreasing scales side by side (each half the last).

    The usual way to look at a hybrid image: the large copy shows the high-frequency
    image, the small ones the low-frequency one. Each copy is made from the previous one
    with :func:`downsample` (anti-aliased) and clipped to the input's value range (the
    band-limiting filter overshoots slightly at sharp edges); the copies are
    bottom-aligned on one canvas.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    n : int
        Number of copies (>= 1); copy ``i`` is ``1 / 2**i`` of the size.
    gap : int
        Pixels between copies (>= 0).
    background : float
        Canvas value in [0, 1].

    Returns
    -------
    ndarray of float32, shape (H, W_total) or (H, W_total, C)

    Raises
    ------
    ValueError
        ``n`` < 1 or more halvings than the image allows (the smallest copy must be at
        least 1 pixel), negative ``gap``, ``background`` outside [0, 1], a canvas of
        more than ``DEFAULT_MAX_PIXELS`` (1e8) pixels.
    """
    func = "hybrid_scales"
    x = as_float_image(image, func)
    n = check_int(n, func, "n", low=1)
    gap = check_int(gap, func, "gap", low=0)
    background = check_real(background, func, "background", low=0.0, high=1.0)
    h, w = x.shape[:2]
    most = min(h, w).bit_length()  # 2 ** (most - 1) <= min(h, w) < 2 ** most
    if n > most:
        raise ValueError(f"{func}: n must be at most {most} for an image of shape {x.shape} "
                         f"(each copy halves it), got {n}")
    check_output_pixels((h, 2 * w + gap * (n - 1)), func, DEFAULT_MAX_PIXELS, "the canvas")
    lo, hi = float(x.min()), float(x.max())
    copies = [x]
    for _ in range(n - 1):
        copies.append(np.clip(downsample(copies[-1], 2), lo, hi))
    width = sum(c.shape[1] for c in copies) + gap * (n - 1)
    canvas = np.full((h, width) + x.shape[2:], background, dtype=np.float32)
    col = 0
    for c in copies:
        canvas[h - c.shape[0]:, col:col + c.shape[1]] = c
        col += c.shape[1] + gap
    return canvas
