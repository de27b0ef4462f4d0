"""Shared input validation for every public ``cvgeo`` function.

Every message has one shape: ``"{func}: {name} must be {expectation}, got {what}"``,
for example ``canny: image must be (H, W) or (H, W, C), got shape (3,)``. Validation is
called from here, never copied, and never done with ``assert``.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "DegenerateError",
    "DEFAULT_MAX_PIXELS",
    "MAX_IMAGE_MAGNITUDE",
    "MAX_KERNEL_RADIUS",
    "check_array_finite",
    "check_bool",
    "check_choice",
    "check_kernel_radius",
    "check_output_pixels",
    "check_image",
    "check_int",
    "check_mask",
    "check_matrix",
    "check_points",
    "check_points_xp",
    "check_float_array_xp",
    "check_namespace",
    "check_pair",
    "check_points_pair",
    "check_points_pair_xp",
    "check_probability",
    "check_real",
    "check_samples",
    "check_seed",
    "check_shape2",
    "describe",
    "names_errors_as",
    "positional_deprecated",
    "renamed_parameters",
]

#: dtypes an image may arrive in; computation happens in float32 in [0, 1].
IMAGE_DTYPES = (np.uint8, np.uint16, np.bool_, np.float32, np.float64)

# ------------------------------------------------------------------------ limits
# Every size a parameter controls is bounded here, and refused before anything is
# allocated. Each limit is far beyond real use; where a real user could need more, the
# public function takes a keyword (``max_pixels=``) to raise it.

#: Largest image (height x width) a function reads or creates unless told otherwise
#: (``read_image``, ``resize``, ``warp``, ... take ``max_pixels=``): 1e8 pixels, 400 MB
#: per float32 channel.
DEFAULT_MAX_PIXELS = 100_000_000

#: Largest magnitude a float image value may have. Computation is in float32 (largest
#: finite value 3.4e38); 1e10 keeps squares (gradient magnitudes, variances) and sums
#: over 1e8 pixels of such squares finite, so no valid input can come out inf or NaN.
MAX_IMAGE_MAGNITUDE = 1e10

#: Largest radius, in pixels, of a spatial filter kernel (``int(truncate * sigma + 0.5)``
#: for a Gaussian): sigma up to 1024 at the default ``truncate=4``. Wider blurs are
#: better done in the frequency domain (``gaussian_blur(method="fft")``).
MAX_KERNEL_RADIUS = 4096


class DegenerateError(ValueError):
    """A configuration for which the requested geometry is not defined.

    Raised, with the reason in the message, for too few points, coincident points,
    collinear points for a homography, and similar cases. It subclasses
    :class:`ValueError` so callers that already catch bad input catch it too.
    """


#: Largest magnitude an integer parameter may have (counts, sizes, iterations): every
#: int must fit the int64 that numpy and the compiled kernels use.
MAX_INT = 2**63 - 1


def describe(value: Any) -> str:
    """A short description of what arrived, for error messages."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an int of {value.bit_length()} bits"
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # torch and friends
        return f"{type(value).__name__} of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (str, bytes)):
        return repr(value) if len(value) < 60 else f"{type(value).__name__} of length {len(value)}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"{type(value).__name__} of length {len(value)}"
    return repr(value) if isinstance(value, (numbers.Number, list, tuple, type(None))) else (
        type(value).__name__
    )


def _non_finite_message(arr: np.ndarray) -> str:
    n_nan = int(np.isnan(arr).sum())
    n_inf = int(np.isinf(arr).sum())
    parts = []
    if n_nan:
        parts.append(f"{n_nan} NaN")
    if n_inf:
        parts.append(f"{n_inf} inf")
    return " and ".join(parts) + " value(s)"


def check_array_finite(arr: np.ndarray, func: str, name: str) -> None:
    """Raise ``ValueError`` if a floating array holds NaN or inf."""
    if arr.dtype.kind in "fc" and arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{func}: {name} must be finite, got {_non_finite_message(arr)}")


def check_image_values(arr: np.ndarray, func: str, name: str = "image") -> None:
    """Raise ``ValueError`` for NaN, inf or magnitudes above :data:`MAX_IMAGE_MAGNITUDE`.

    Two reductions (min and max, which propagate NaN) and no temporary array.
    """
    if arr.dtype.kind != "f" or not arr.size:
        return
    lo, hi = float(arr.min()), float(arr.max())
    if np.isfinite(lo) and np.isfinite(hi):
        if max(-lo, hi) > MAX_IMAGE_MAGNITUDE:
            raise ValueError(
                f"{func}: {name} must have values of magnitude at most "
                f"{MAX_IMAGE_MAGNITUDE:g} (computation is in float32), got range "
                f"[{lo:.4g}, {hi:.4g}]; rescale it, e.g. cvgeo.to_float(image, "
                f"scale='minmax')"
            )
        return
    raise ValueError(f"{func}: {name} must be finite, got {_non_finite_message(arr)}")


def check_image(
    image: Any,
    func: str,
    name: str = "image",
    *,
    ndim: Sequence[int] = (2, 3),
    channels: Sequence[int] | None = None,
    min_size: int = 1,
) -> np.ndarray:
    """Validate an image and return it as a numpy array (never copied needlessly).

    Parameters
    ----------
    image : array_like
        Must be a numpy array of one of uint8, uint16, bool, float32, float64.
    func, name : str
        The calling function's name and the parameter's name, for the message.
    ndim : sequence of int
        Allowed numbers of dimensions: 2 is ``(H, W)``, 3 is ``(H, W, C)``.
    channels : sequence of int, optional
        Allowed ``C`` for 3-D images (for example ``(3,)`` for RGB-only functions).
    min_size : int
        Minimum height and width.

    Raises
    ------
    TypeError
        Not a numpy array, or a dtype outside the accepted set.
    ValueError
        Wrong number of dimensions, empty, too small, NaN/inf values, or values of
        magnitude above :data:`MAX_IMAGE_MAGNITUDE`.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array, got {describe(image)}")
    if image.dtype.type not in IMAGE_DTYPES:
        raise TypeError(
            f"{func}: {name} must have dtype uint8, uint16, bool, float32 or float64, "
            f"got {image.dtype}"
        )
    if image.ndim not in ndim:
        shapes = " or ".join({2: "(H, W)", 3: "(H, W, C)"}.get(n, f"{n}-D") for n in ndim)
        raise ValueError(f"{func}: {name} must be {shapes}, got shape {image.shape}")
    if image.ndim == 3:
        if channels is not None and image.shape[2] not in channels:
            allowed = ", ".join(str(c) for c in channels)
            raise ValueError(
                f"{func}: {name} must have C in {{{allowed}}} channels, got shape {image.shape}"
            )
        if image.shape[2] == 0:
            raise ValueError(f"{func}: {name} must have at least one channel, got shape "
                             f"{image.shape}")
    if image.shape[0] < min_size or image.shape[1] < min_size:
        what = "non-empty" if min_size <= 1 else f"at least {min_size}x{min_size} pixels"
        raise ValueError(f"{func}: {name} must be {what}, got shape {image.shape}")
    check_image_values(image, func, name)
    return image


def check_mask(mask: Any, func: str, shape: tuple[int, ...], name: str = "mask") -> np.ndarray:
    """Validate a boolean mask of a given ``(H, W)`` shape and return it as bool."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array, got {describe(mask)}")
    if mask.shape != tuple(shape):
        raise ValueError(f"{func}: {name} must have shape {tuple(shape)}, got shape {mask.shape}")
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "uif" or not np.isin(mask, (0, 1)).all():
            raise ValueError(
                f"{func}: {name} must be boolean (or 0/1 values), got dtype {mask.dtype}"
            )
        mask = mask.astype(bool)
    return mask


def check_points(
    points: Any,
    func: str,
    name: str = "points",
    *,
    dim: int = 2,
    min_count: int = 0,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Validate an ``(N, dim)`` numpy point array and return it as ``dtype`` (float64).

    The numpy-only form of :func:`check_points_xp` (same checks, same messages, one
    implementation). Too few points raise :class:`DegenerateError`, since that is a
    geometric rather than a typing problem.
    """
    out, _ = _check_points(points, func, name, dim=dim, min_count=min_count, batched=False,
                           torch_ok=False)
    return out.astype(dtype, copy=False)


def check_samples(X: Any, func: str, name: str = "X") -> np.ndarray:
    """Validate a feature matrix ``(n_samples, n_features)`` (both > 0, numeric, finite)
    and return it as C-contiguous float64 (the samples of k-means and mean shift)."""
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array of shape (n_samples, "
                        f"n_features), got {describe(X)}")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{func}: {name} must have shape (n_samples, n_features) with both "
                         f"> 0, got shape {X.shape}")
    if X.dtype.kind not in "buif":
        raise TypeError(f"{func}: {name} must be numeric, got dtype {X.dtype}")
    out = np.ascontiguousarray(X, dtype=np.float64)
    check_array_finite(out, func, name)
    return out


def check_pair(src: np.ndarray, dst: np.ndarray, func: str,
               names: tuple[str, str] = ("src", "dst")) -> None:
    """Raise if two validated point arrays do not have the same number of points."""
    if src.shape[0] != dst.shape[0]:
        raise ValueError(
            f"{func}: {names[0]} and {names[1]} must have the same number of points, got "
            f"{src.shape[0]} and {dst.shape[0]}"
        )


def check_matrix(M: Any, func: str, name: str = "H", shape: tuple[int, int] = (3, 3)
                 ) -> np.ndarray:
    """Validate a finite matrix of a fixed shape and return it as float64."""
    if not isinstance(M, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array of shape {shape}, got "
                        f"{describe(M)}")
    if M.shape != tuple(shape):
        raise ValueError(f"{func}: {name} must have shape {tuple(shape)}, got shape {M.shape}")
    if M.dtype.kind not in "uif":
        raise TypeError(f"{func}: {name} must be numeric, got dtype {M.dtype}")
    out = M.astype(np.float64, copy=False)
    check_array_finite(out, func, name)
    return out


def _range_text(low, high, low_inclusive, high_inclusive) -> str:
    if low is not None and high is not None:
        return f"in {'[' if low_inclusive else '('}{low}, {high}{']' if high_inclusive else ')'}"
    if low is not None:
        return f"{'>=' if low_inclusive else '>'} {low}"
    if high is not None:
        return f"{'<=' if high_inclusive else '<'} {high}"
    return ""


def check_real(
    value: Any,
    func: str,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Validate a finite real number, optionally in a range, and return it as float."""
    if type(value) is float:  # the common case first: skips the ABC checks
        v = value
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: {name} must be a real number, got {describe(value)}")
    else:
        try:
            v = float(value)
        except OverflowError:  # an int beyond float64's range
            v = float("inf") if value > 0 else float("-inf")
    bad_low = low is not None and (v < low if low_inclusive else v <= low)
    bad_high = high is not None and (v > high if high_inclusive else v >= high)
    if not math.isfinite(v) or bad_low or bad_high:
        rng = _range_text(low, high, low_inclusive, high_inclusive)
        if not math.isfinite(v):
            raise ValueError(f"{func}: {name} must be a finite number"
                             f"{' ' + rng if rng else ''}, got {describe(value)}")
        raise ValueError(f"{func}: {name} must be {rng}, got {describe(value)}")
    return v


def check_int(
    value: Any,
    func: str,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """Validate an integer (bool refused), optionally in ``[low, high]``, and return it."""
    if type(value) is int:  # the common case first: skips the ABC checks (bool is not int)
        v = value
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{func}: {name} must be an int, got {describe(value)}")
    else:
        v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{func}: {name} must be an int {_range_text(low, high, True, True)}, "
                         f"got {describe(v)}")
    if abs(v) > MAX_INT:
        raise ValueError(f"{func}: {name} must be an int that fits int64 (magnitude below "
                         f"2**63), got {describe(v)}")
    return v


def check_int_pair(value: Any, func: str, name: str, *, low: int = 1) -> tuple[int, int]:
    """Validate an int or a pair of ints, each ``>= low`` (bools refused), and return the
    pair (an int ``n`` is ``(n, n)``)."""
    pair = value
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        pair = (value, value)
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral)
                   or v < low for v in pair)):
        raise ValueError(f"{func}: {name} must be an int >= {low} or a pair of them, got "
                         f"{describe(value)}")
    return int(pair[0]), int(pair[1])


def check_bool(value: Any, func: str, name: str) -> bool:
    """Validate a flag: ``True``/``False`` (or numpy's bools) only, never ``"no"`` or 0."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}: {name} must be a bool (True or False), got {describe(value)}")
    return bool(value)


def check_kernel_radius(sigma: float, truncate: float, func: str,
                        *, limit: int = MAX_KERNEL_RADIUS, names: str = "sigma and truncate"
                        ) -> int:
    """The radius ``int(truncate * sigma + 0.5)`` of a Gaussian kernel, refused above ``limit``.

    ``sigma`` and ``truncate`` must already be validated finite numbers; the product is
    formed in floating point, so a huge ``sigma`` gives a ``ValueError`` and never an
    ``OverflowError`` or a giant allocation.
    """
    r = truncate * sigma + 0.5
    if not r <= limit + 0.5:
        raise ValueError(
            f"{func}: {names} must give a kernel radius int(truncate * sigma + 0.5) of at "
            f"most {limit} pixels, got sigma={sigma!r}, truncate={truncate!r} "
            f"(radius {r:.4g})"
        )
    return int(r)


def check_output_pixels(shape: Sequence[int], func: str, max_pixels: int,
                        name: str = "output_shape") -> None:
    """Refuse an output of more than ``max_pixels`` pixels (height x width), before allocating."""
    n = 1
    for s in shape[:2]:
        n *= int(s)
    if n > max_pixels:
        dims = "x".join(str(int(s)) for s in shape[:2])
        raise ValueError(
            f"{func}: {name} must have at most max_pixels={max_pixels} pixels, got {dims} = "
            f"{n}; pass a larger max_pixels= if you mean it"
        )


def check_max_pixels(value: Any, func: str) -> int:
    """Validate a ``max_pixels=`` keyword (a positive int)."""
    return check_int(value, func, "max_pixels", low=1)


def check_probability(value: Any, func: str, name: str) -> float:
    """Validate a number in ``[0, 1]``."""
    return check_real(value, func, name, low=0.0, high=1.0)


def check_choice(value: Any, func: str, name: str, choices: Iterable[str]) -> str:
    """Validate that ``value`` is one of ``choices`` (strings)."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{func}: {name} must be one of {listed}, got {describe(value)}")
    return value


def check_shape2(value: Any, func: str, name: str = "output_shape") -> tuple[int, int]:
    """Validate an ``(H, W)`` pair of positive ints."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{func}: {name} must be a pair (H, W) of positive ints, got "
                         f"{describe(value)}")
    h = check_int(value[0], func, f"{name}[0]", low=1)
    w = check_int(value[1], func, f"{name}[1]", low=1)
    return h, w


def check_seed(seed: Any, func: str) -> np.random.Generator:
    """Turn ``seed`` (int, Generator or None) into a ``numpy.random.Generator``.

    ``None`` means fresh OS entropy; callers that promise reproducibility by default use
    ``seed=0`` as their default instead of ``None``.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{func}: seed must be an int, a numpy.random.Generator or None, got "
                        f"{describe(seed)}")
    if int(seed) < 0:
        raise ValueError(f"{func}: seed must be a non-negative int, got {int(seed)}")
    return np.random.default_rng(int(seed))


def check_points_xp(
    points: Any,
    func: str,
    name: str = "points",
    *,
    dim: int = 2,
    min_count: int = 0,
    batched: bool = True,
):
    """Validate ``(..., N, dim)`` points given as a numpy array or a torch tensor.

    Returns ``(points, xp)``: the points as a floating array of the same library
    (numpy: float64; torch: its own floating dtype, integer tensors become float64) and
    the array-API namespace to compute with. Gradients are kept.
    """
    return _check_points(points, func, name, dim=dim, min_count=min_count, batched=batched,
                         torch_ok=True)


def _check_points(points: Any, func: str, name: str, *, dim: int, min_count: int,
                  batched: bool, torch_ok: bool):
    """The one points validator behind :func:`check_points` and :func:`check_points_xp`."""
    kinds = "a numpy array or torch tensor" if torch_ok else "a numpy array"
    if isinstance(points, (list, tuple)):
        raise TypeError(f"{func}: {name} must be {kinds} of shape (N, {dim}), got "
                        f"{type(points).__name__}; wrap it with numpy.asarray")
    if torch_ok:
        from array_api_compat import is_torch_array

        is_torch = is_torch_array(points)
    else:
        is_torch = False
    if not (isinstance(points, np.ndarray) or is_torch):
        raise TypeError(f"{func}: {name} must be {kinds} of shape (N, {dim}), got "
                        f"{describe(points)}")
    shape = tuple(points.shape)
    if len(shape) < 2 or shape[-1] != dim or (not batched and len(shape) != 2):
        want = f"(..., N, {dim})" if batched else f"(N, {dim})"
        raise ValueError(f"{func}: {name} must have shape {want}, got shape {shape}")
    if is_torch:
        import torch

        if not points.is_floating_point():
            if points.is_complex() or points.dtype == torch.bool:
                raise TypeError(f"{func}: {name} must be real-valued, got dtype "
                                f"{points.dtype}")
            points = points.to(torch.float64)
        if not bool(torch.isfinite(points).all()):
            n_nan, n_inf = int(torch.isnan(points).sum()), int(torch.isinf(points).sum())
            parts = [f"{n} {what}" for n, what in ((n_nan, "NaN"), (n_inf, "inf")) if n]
            raise ValueError(f"{func}: {name} must be finite, got {' and '.join(parts)} "
                             f"value(s)")
    else:
        if points.dtype.kind not in "uif":
            raise TypeError(f"{func}: {name} must be numeric, got dtype {points.dtype}")
        points = points.astype(np.float64, copy=False)
        check_array_finite(points, func, name)
    if shape[-2] < min_count:
        raise DegenerateError(
            f"{func}: {name} must hold at least {min_count} points, got {shape[-2]}"
        )
    if not torch_ok:
        return points, None
    from array_api_compat import array_namespace

    return points, array_namespace(points)


def check_namespace(*arrays: Any, func: str, names: tuple[str, ...]):
    """The array namespace of numpy arrays / torch tensors, with cvgeo's error messages."""
    from array_api_compat import array_namespace, is_numpy_array, is_torch_array

    for a, name in zip(arrays, names):
        if not (is_numpy_array(a) or is_torch_array(a)):
            raise TypeError(f"{func}: {name} must be a numpy array or torch tensor, got "
                            f"{describe(a)}")
    try:
        return array_namespace(*arrays)
    except TypeError:
        raise TypeError(f"{func}: {', '.join(names)} must all be numpy arrays or all torch "
                        f"tensors, got a mix") from None


def check_float_array_xp(M: Any, func: str, name: str, shape: tuple[int, ...], xp) -> Any:
    """Validate a numpy/torch matrix of trailing shape ``shape`` (batch dims allowed)."""
    from array_api_compat import is_numpy_array

    got = tuple(M.shape)
    if len(got) < len(shape) or got[len(got) - len(shape):] != tuple(shape):
        want = "(..., " + ", ".join(str(s) for s in shape) + ")"
        raise ValueError(f"{func}: {name} must have shape {want}, got shape {got}")
    if is_numpy_array(M):
        if M.dtype.kind not in "uif":
            raise TypeError(f"{func}: {name} must be numeric, got dtype {M.dtype}")
        M = M.astype(np.float64, copy=False)
    elif not M.is_floating_point():
        import torch

        if M.is_complex() or M.dtype == torch.bool:
            raise TypeError(f"{func}: {name} must be real-valued, got dtype {M.dtype}")
        M = M.to(torch.float64)
    if not bool(xp.all(xp.isfinite(M))):
        raise ValueError(f"{func}: {name} must be finite, got NaN or inf values")
    return M


def check_points_pair(x1: Any, x2: Any, func: str, min_count: int = 0):
    """Validate two ``(N, 2)`` numpy point arrays of matches ``x1``, ``x2``.

    Returns them as float64; too few matches (fewer than ``min_count``) raise
    :class:`DegenerateError`. The array-API form is :func:`check_points_pair_xp`.
    """
    p1 = check_points(x1, func, "x1")
    p2 = check_points(x2, func, "x2")
    check_pair(p1, p2, func, ("x1", "x2"))
    if p1.shape[0] < min_count:
        raise DegenerateError(f"{func}: x1 and x2 must hold at least {min_count} matches, got "
                              f"{p1.shape[0]}")
    return p1, p2


def check_points_pair_xp(x1: Any, x2: Any, func: str, min_count: int = 0):
    """Validate matches ``x1``, ``x2`` of shape ``(..., N, 2)``, numpy or torch (one
    library for both, the same shape). Returns ``(x1, x2, xp)`` as :func:`check_points_xp`.
    """
    p1, xp = check_points_xp(x1, func, "x1", min_count=min_count)
    p2, _ = check_points_xp(x2, func, "x2", min_count=min_count)
    check_namespace(p1, p2, func=func, names=("x1", "x2"))
    if tuple(p1.shape) != tuple(p2.shape):
        raise ValueError(f"{func}: x1 and x2 must have the same shape, got "
                         f"{tuple(p1.shape)} and {tuple(p2.shape)}")
    return p1, p2, xp


def names_errors_as(*inner: str) -> Callable:
    """Decorator: errors that helpers raise in their own name are re-raised in the caller's.

    A public function that calls other public functions (``find_fundamental`` calls
    ``ransac`` and ``fundamental_8point``) lists their names; a ``ValueError`` or
    ``TypeError`` (``DegenerateError`` included) whose message starts ``"ransac: "`` is
    re-raised, with the same type, starting ``"find_fundamental: "``, so the user reads
    the name of the function they called.
    """
    prefixes = tuple(f"{name}: " for name in inner)

    def decorate(fn: Callable) -> Callable:
        public = fn.__name__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (ValueError, TypeError) as exc:
                msg = str(exc)
                if type(exc) not in (ValueError, TypeError, DegenerateError) or \
                        not msg.startswith(prefixes):
                    raise
                rest = msg.split(": ", 1)[1]
                raise type(exc)(f"{public}: {rest}") from None

        return wrapper

    return decorate


def renamed_parameters(**old_to_new: str) -> Callable:
    """Decorator: accept a parameter's old keyword for one release, with a warning.

    ``@renamed_parameters(colour="color_mode")`` lets ``f(x, colour="intersect")`` run
    as ``f(x, color_mode="intersect")`` and emits a ``DeprecationWarning`` that names
    the function and the new keyword. Passing both names is a ``TypeError``. The
    signature (``inspect.signature``) shows the new names only.
    """

    def decorate(fn: Callable) -> Callable:
        public = fn.__name__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{public}: got both {old!r} and its new name "
                                        f"{new!r}; pass {new!r} only")
                    import warnings

                    warnings.warn(f"{public}: the keyword {old!r} is deprecated and will be "
                                  f"removed in the next release; use {new!r}",
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        wrapper.renamed_parameters = dict(old_to_new)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def positional_deprecated(*names: str) -> Callable:
    """Decorator: keyword-only parameters ``names`` still accepted positionally for one
    release, with a warning.

    ``@positional_deprecated("K1", "K2")`` on ``f(E, *, K1, K2)`` lets ``f(E, K1, K2)`` run
    as ``f(E, K1=K1, K2=K2)`` and emits a ``DeprecationWarning`` that names the function
    and the keywords. More positional arguments than the old signature took, or a
    parameter given both ways, is a ``TypeError``. The signature shows the keyword-only
    form.
    """

    def decorate(fn: Callable) -> Callable:
        import inspect

        public = fn.__name__
        n_pos = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                    for p in inspect.signature(fn).parameters.values())

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if len(args) > n_pos:
                extra = args[n_pos:]
                if len(extra) > len(names):
                    raise TypeError(f"{public}: takes {n_pos} positional arguments, got "
                                    f"{len(args)}")
                given = names[:len(extra)]
                for name, value in zip(given, extra):
                    if name in kwargs:
                        raise TypeError(f"{public}: got {name!r} both by position and by "
                                        "keyword; pass it by keyword only")
                    kwargs[name] = value
                import warnings

                warnings.warn(f"{public}: passing {', '.join(given)} by position is deprecated "
                              "and will be an error in the next release; pass "
                              f"{', '.join(f'{n}=...' for n in given)}",
                              DeprecationWarning, stacklevel=2)
                args = args[:n_pos]
            return fn(*args, **kwargs)

        wrapper.positional_deprecated = names  # type: ignore[attr-defined]
        return wrapper

    return decorate
