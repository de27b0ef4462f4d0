"""The table of registered pipeline operations: name -> ``"module:function"``.

A pipeline (in Python or in a JSON/TOML file) names its steps by the keys of
:data:`OPS`. Registering an operation is **one line** in that table. Targets are
resolved lazily, by import, the first time a step runs or its parameters are read,
so a module that is missing (not merged yet, optional dependency absent) gives a clear
error naming the op and the module, never an import-time crash of ``cvgeo``.

An entry may carry an *output adaptor*, for functions whose result is not an image
(a frozen dataclass, a label image). The adaptor says how the result becomes the image
handed to the next step (and saved by ``cvgeo run``):

* a field or property name of the result, e.g. ``OpSpec("cvgeo.filters:sobel",
  output="magnitude")``;
* or ``"module:function"``: a function ``f(result, image) -> ndarray`` that also sees
  the step's input image (to draw an overlay, or to colour segments by their mean);
* or several of those chained with ``"|"``, applied left to right, e.g.
  ``"accumulator|cvgeo.ops:stretch"`` (take the field, then stretch it to [0, 1]).

Adaptors provided here: :func:`stretch` (any numeric array to float32 in [0, 1]),
:func:`label_colours` (labels to fixed colours), :func:`label_mean_colour` (labels to the
mean colour of the input over each segment).

A target may also be a class with ``fit``/``predict`` (a learned step such as a k-means
segmenter): the pipeline then builds it with the parameters and calls ``predict``.

Conventions
-----------
The function's first parameter is the data (the image); every other parameter is a
step parameter. Only parameters whose values a file can hold (numbers, strings, bools,
lists of those, ``None`` in JSON, and small numeric arrays such as a 3x3 matrix or a
mask, written as nested lists) can be set from a pipeline file; the types are checked
against the function's annotations and defaults when a file is loaded.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvgeo._checks import describe

__all__ = ["OpSpec", "register_op", "to_display"]


@dataclass(frozen=True)
class OpSpec:
    """One registered operation.

    Attributes
    ----------
    target : str
        ``"package.module:function"`` (or ``:Class`` for a learned step with
        ``fit``/``predict``). Imported lazily.
    output : str or None
        Output adaptor: ``None`` (the result is the image), a field/property name of the
        result, or ``"module:function"`` called as ``f(result, image)``; several may be
        chained with ``"|"``.
    """

    target: str
    output: str | None = None


# ============================================================================ the table
# One line per operation. Keys are the names used in pipeline files and by
# ``make_pipeline``; keep them equal to the function's own name where possible.
OPS: dict[str, OpSpec] = {
    # -- cvgeo.image (on main)
    "to_gray": OpSpec("cvgeo.image:to_gray"),
    "to_float": OpSpec("cvgeo.image:to_float"),
    "to_uint8": OpSpec("cvgeo.image:to_uint8"),
    "normalize": OpSpec("cvgeo.image:normalize"),
    "denormalize": OpSpec("cvgeo.image:denormalize"),
    "resize": OpSpec("cvgeo.image:resize"),
    # -- cvgeo.filters / cvgeo.edges (branch "canny")
    "gaussian_filter": OpSpec("cvgeo.filters:gaussian_filter"),
    "sobel": OpSpec("cvgeo.filters:sobel", output="magnitude"),
    "gaussian_gradient": OpSpec("cvgeo.filters:gaussian_gradient", output="magnitude"),
    "canny": OpSpec("cvgeo.edges:canny"),
    # segment (image -> int32 labels; shown painted with each segment's mean colour)
    "kmeans_segment": OpSpec("cvgeo.segment.kmeans:kmeans_segment",
                             output="cvgeo.ops:label_mean_colour"),
    "kmeans_segmenter": OpSpec("cvgeo.segment.kmeans:KMeansSegmenter",
                               output="cvgeo.ops:label_mean_colour"),
    "mean_shift_segment": OpSpec("cvgeo.segment.meanshift:mean_shift_segment",
                                 output="cvgeo.ops:label_mean_colour"),
    "felzenszwalb": OpSpec("cvgeo.segment.felzenszwalb:felzenszwalb",
                           output="cvgeo.ops:label_mean_colour"),
    # fourier
    "gaussian_blur": OpSpec("cvgeo.fourier:gaussian_blur"),
    "downsample": OpSpec("cvgeo.fourier:downsample"),
    "spectrum": OpSpec("cvgeo.fourier:spectrum", output="log_magnitude|cvgeo.ops:stretch"),
    # geometry
    "warp": OpSpec("cvgeo.geometry.warp:warp"),
    # hough (shown as what was found drawn over the step's input)
    "hough_lines": OpSpec("cvgeo.hough:hough_lines", output="cvgeo.ops:overlay_line_peaks"),
    "hough_segments": OpSpec("cvgeo.hough:hough_segments", output="cvgeo.ops:overlay_segments"),
    "hough_circles": OpSpec("cvgeo.hough:hough_circles", output="cvgeo.ops:overlay_circles"),
    # -- To register another public function, add one line here:
    # --     "name": OpSpec("module:function", output=<adaptor or None>),
}
# ==================================================================== end of the table


def register_op(name: str, target: str | Callable, *, output: str | None = None,
                replace: bool = False) -> OpSpec:
    """Register an operation at run time (for your own functions; cvgeo's are in :data:`OPS`).

    Parameters
    ----------
    name : str
        The step name used in pipelines and files. Must not contain ``"__"``.
    target : str or callable
        ``"module:function"``, or an importable function/class (its module and
        qualified name are recorded, never the object itself).
    output : str or None
        Output adaptor, as in :class:`OpSpec`.
    replace : bool
        Allow overwriting an existing entry.

    Returns
    -------
    OpSpec
    """
    if not isinstance(name, str) or not name or "__" in name or ":" in name:
        raise ValueError(f"register_op: name must be a non-empty str without '__' or ':', "
                         f"got {describe(name)}")
    if callable(target):
        target = f"{target.__module__}:{target.__qualname__}"
    if not isinstance(target, str) or target.count(":") != 1:
        raise ValueError(f"register_op: target must be 'module:function' or a function, "
                         f"got {describe(target)}")
    if name in OPS and not replace and OPS[name].target != target:
        raise ValueError(f"register_op: name {name!r} is already registered for "
                         f"{OPS[name].target!r}; pass replace=True to overwrite it")
    spec = OpSpec(target, output)
    OPS[name] = spec
    return spec


def _import_target(target: str, what: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"{what} needs module {module_name!r}, which cannot be imported "
                          f"({exc})") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(f"{what}: module {module_name!r} has no {attr!r}") from None
    return obj


def resolve_op(name: str) -> Any:
    """Import and return the function (or class) registered as ``name``.

    Raises
    ------
    KeyError
        ``name`` is not registered (the message lists the registered names).
    ImportError
        The op's module cannot be imported or lacks the function.
    """
    spec = OPS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise KeyError(f"unknown op {name!r}; registered ops: {', '.join(sorted(OPS))}")
    return _import_target(spec.target, f"op {name!r}")


def op_name_of(func: Any) -> str | None:
    """The registered name whose target is ``func`` (found without importing), or None."""
    target = f"{getattr(func, '__module__', '')}:{getattr(func, '__qualname__', '')}"
    for name, spec in OPS.items():
        if spec.target == target:
            return name
    return None


def adapt_output(name: str | None, result: Any, image: Any) -> Any:
    """Apply the output adaptor of op ``name`` to ``result`` (``image`` is the step input)."""
    spec = OPS.get(name) if name is not None else None
    if spec is None or spec.output is None:
        return result
    for part in spec.output.split("|"):
        part = part.strip()
        if ":" in part:
            result = _import_target(part, f"output adaptor of op {name!r}")(result, image)
        else:
            try:
                result = getattr(result, part)
            except AttributeError:
                raise TypeError(f"output adaptor of op {name!r}: the result "
                                f"({describe(result)}) has no field {part!r}") from None
    return result


# ------------------------------------------------------------------------- display
def _label_palette(n: int) -> np.ndarray:
    """``(n, 3)`` uint8 colours, fixed (golden-angle hues), label 0 first."""
    h = (np.arange(n) * 0.618033988749895) % 1.0
    s, v = 0.65, 0.95
    k = (np.array([5.0, 3.0, 1.0])[None, :] + 6.0 * h[:, None]) % 6.0  # HSV -> R, G, B
    rgb = v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return np.round(rgb * 255).astype(np.uint8)


def stretch(values: Any, image: Any = None) -> np.ndarray:
    """Any finite numeric array as float32 stretched to [0, 1] by its min and max.

    An output adaptor (``image`` is ignored), e.g. for a vote accumulator whose integer
    dtype would otherwise be taken for labels. A constant array becomes 0.
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf" or arr.ndim not in (2, 3):
        raise ValueError(f"stretch: values must be a numeric (H, W) or (H, W, C) array, got "
                         f"{describe(values)}")
    x = arr.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError("stretch: values must be finite, got NaN or inf")
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.zeros(arr.shape, np.float32)
    return ((x - lo) / (hi - lo)).astype(np.float32)


def label_colours(labels: Any, image: Any = None) -> np.ndarray:
    """Colour an integer label image with a fixed palette: ``(H, W, 3)`` uint8."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.dtype.kind not in "iu":
        raise ValueError(f"label_colours: labels must be an integer (H, W) array, got "
                         f"{describe(labels)}")
    uniq, inv = np.unique(labels, return_inverse=True)
    return _label_palette(len(uniq))[inv.reshape(labels.shape)]


def label_mean_colour(labels: Any, image: Any) -> np.ndarray:
    """Paint each segment with the mean colour of ``image`` over it: float32 in [0, 1].

    An output adaptor for segmentation ops (``f(result, image)``); ``labels`` may be the
    label array or a result with a ``labels`` field.
    """
    from cvgeo.image import as_float_image

    labels = np.asarray(getattr(labels, "labels", labels))
    x = as_float_image(image, "label_mean_colour")
    if labels.shape != x.shape[:2] or labels.dtype.kind not in "iu":
        raise ValueError(f"label_mean_colour: labels must be integer of shape {x.shape[:2]}, "
                         f"got {describe(labels)}")
    uniq, inv = np.unique(labels, return_inverse=True)
    inv = inv.ravel()  # numpy 2 returns it in the labels' shape
    flat = x.reshape(inv.size, -1)
    counts = np.bincount(inv, minlength=len(uniq))[:, None]
    sums = np.stack([np.bincount(inv, weights=flat[:, c], minlength=len(uniq))
                     for c in range(flat.shape[1])], axis=1)
    return (sums / counts)[inv].reshape(x.shape).astype(np.float32)


def overlay_line_peaks(result: Any, image: Any) -> np.ndarray:
    """Draw the strongest lines of a :class:`~cvgeo.hough.HoughLines` over ``image``."""
    from cvgeo.draw import draw_lines
    from cvgeo.hough import hough_line_peaks

    return draw_lines(image, hough_line_peaks(result).lines)


def overlay_segments(segments: Any, image: Any) -> np.ndarray:
    """Draw ``(N, 4)`` segments ``(x0, y0, x1, y1)`` over ``image``."""
    from cvgeo.draw import draw_segments

    return draw_segments(image, segments)


def overlay_circles(result: Any, image: Any) -> np.ndarray:
    """Draw the circles of a :class:`~cvgeo.hough.HoughCircles` over ``image``."""
    from cvgeo.draw import draw_circles

    return draw_circles(image, result.circles)


def to_display(output: Any) -> np.ndarray:
    """Turn a step's output into an image :func:`cvgeo.write_image` can save.

    bool -> 0/255 uint8; uint8/uint16 unchanged; other integers (label images) -> fixed
    colours per label; floats in [0, 1] unchanged; other floats stretched to [0, 1] by
    their own min and max (e.g. a normalised image or a gradient magnitude).

    Raises
    ------
    TypeError
        The output is not an array (a result that needs an output adaptor).
    ValueError
        Wrong shape, or non-finite values.
    """
    if not isinstance(output, np.ndarray):
        raise TypeError(f"to_display: a step output must be an image array to be saved, got "
                        f"{describe(output)}; register an output adaptor for its op")
    if output.ndim not in (2, 3) or (output.ndim == 3 and output.shape[2] not in (1, 3, 4)):
        raise ValueError(f"to_display: output must be (H, W) or (H, W, 1|3|4), got shape "
                         f"{output.shape}")
    if output.size == 0:
        raise ValueError(f"to_display: output must be non-empty, got shape {output.shape}")
    if output.ndim == 3 and output.shape[2] == 1:
        output = output[..., 0]
    kind = output.dtype.kind
    if output.dtype == np.bool_:
        return output.astype(np.uint8) * 255
    if output.dtype in (np.uint8, np.uint16):
        return output
    if kind in "iu":
        if output.ndim != 2:
            raise ValueError(f"to_display: an integer (label) output must be (H, W), got "
                             f"shape {output.shape}")
        return label_colours(output)
    if kind != "f":
        raise TypeError(f"to_display: output dtype {output.dtype} cannot be saved")
    if not np.isfinite(output).all():
        raise ValueError("to_display: output must be finite, got NaN or inf values")
    lo, hi = float(output.min()), float(output.max())
    if lo >= 0.0 and hi <= 1.0:
        return output.astype(np.float32, copy=False)
    if hi > lo:
        s = max(abs(lo), abs(hi))  # scaled first: hi - lo may overflow float64
        x = output.astype(np.float64) / s
        return ((x - lo / s) / (hi / s - lo / s)).astype(np.float32)
    return np.zeros(output.shape, np.float32)


def signature_of(name: str) -> inspect.Signature:
    """The signature of the registered op ``name`` (for a class, of its ``__init__``)."""
    obj = resolve_op(name)
    return inspect.signature(obj)
