"""The table of registered pipeline operations: name -> ``"module:function"``.

A pipeline (in Python or in a JSON/TOML file) names its steps by the keys of
:data:`OPS`. Registering an operation is **one line** in that table. Targets are
resolved lazily, by import, the first time a step runs or its parameters are read,
so a module that cannot be imported (an optional dependency absent) gives a clear
error naming the op and the module, never an import-time crash of ``cvgeo``.

An entry may carry an *output adaptor*, for functions whose result is not an image
(a frozen dataclass, a label image). The adaptor says how the result becomes the image
handed to the next step (and saved by ``cvgeo run``):

* a field or property name of the result, e.g. ``OpSpec("cvgeo.filters:sobel",
  output="magnitude")``;
* or ``"module:function"``: a function ``f(result, image) -> ndarray`` that also sees
  the step's input image (to draw an overlay, or to colour segments by their mean);
* or several of those chained with ``"|"``, applied left to right, e.g.
  ``"accumulator|cvgeo.display:stretch"`` (take the field, then stretch it to [0, 1]).

Adaptors provided in :mod:`cvgeo.display` (and importable from here): ``stretch`` (any
numeric array to float32 in [0, 1]), ``label_colours`` (labels to fixed colours),
``label_mean_colour`` (labels to the mean colour of the input over each segment).

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

from cvgeo._checks import describe
from cvgeo.display import (  # noqa: F401  (re-exported: "cvgeo.display:<adaptor>" targets resolve)
    label_colours,
    label_mean_colour,
    overlay_circles,
    overlay_line_peaks,
    overlay_segments,
    stretch,
    to_display,
)

__all__ = ["OpSpec", "register_op"]


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
    # cvgeo.image
    "to_gray": OpSpec("cvgeo.image:to_gray"),
    "to_float": OpSpec("cvgeo.image:to_float"),
    "to_uint8": OpSpec("cvgeo.image:to_uint8"),
    "normalize": OpSpec("cvgeo.image:normalize"),
    "denormalize": OpSpec("cvgeo.image:denormalize"),
    "resize": OpSpec("cvgeo.image:resize"),
    # cvgeo.filters, cvgeo.edges
    "gaussian_filter": OpSpec("cvgeo.filters:gaussian_filter"),
    "sobel": OpSpec("cvgeo.filters:sobel", output="magnitude"),
    "gaussian_gradient": OpSpec("cvgeo.filters:gaussian_gradient", output="magnitude"),
    "canny": OpSpec("cvgeo.edges:canny"),
    # segment (image -> int32 labels; shown painted with each segment's mean colour)
    "kmeans_segment": OpSpec("cvgeo.segment.kmeans:kmeans_segment",
                             output="cvgeo.display:label_mean_colour"),
    "kmeans_segmenter": OpSpec("cvgeo.segment.kmeans:KMeansSegmenter",
                               output="cvgeo.display:label_mean_colour"),
    "mean_shift_segment": OpSpec("cvgeo.segment.meanshift:mean_shift_segment",
                                 output="cvgeo.display:label_mean_colour"),
    "felzenszwalb": OpSpec("cvgeo.segment.felzenszwalb:felzenszwalb",
                           output="cvgeo.display:label_mean_colour"),
    # fourier, pyramids
    "gaussian_blur": OpSpec("cvgeo.filters:gaussian_blur"),
    "downsample": OpSpec("cvgeo.pyramids:downsample"),
    "spectrum": OpSpec("cvgeo.fourier:spectrum", output="log_magnitude|cvgeo.display:stretch"),
    # geometry
    "warp": OpSpec("cvgeo.geometry.warp:warp"),
    # hough (shown as what was found drawn over the step's input)
    "hough_lines": OpSpec("cvgeo.hough:hough_lines", output="cvgeo.display:overlay_line_peaks"),
    "hough_segments": OpSpec("cvgeo.hough:hough_segments", output="cvgeo.display:overlay_segments"),
    "hough_circles": OpSpec("cvgeo.hough:hough_circles", output="cvgeo.display:overlay_circles"),
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


def signature_of(name: str) -> inspect.Signature:
    """The signature of the registered op ``name`` (for a class, of its ``__init__``)."""
    obj = resolve_op(name)
    return inspect.signature(obj)
