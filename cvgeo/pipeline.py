"""Pipelines: steps composed over the public functions; saved as and loaded from files.

A :class:`Step` is a parameter holder over one registered operation (see
:mod:`cvgeo.ops`), in the style of scikit-learn estimators: construction only stores
the parameters, ``get_params`` / ``set_params`` read and change them, ``clone`` copies
them, and *the function validates its parameters when the step runs* (a step never
re-validates what the function checks). A :class:`Pipeline` is a named sequence of
steps; nested parameters are addressed as ``"<step>__<param>"``.

A pipeline is saved as JSON or TOML naming registered ops and their parameters. Loading
parses the file (``json`` / ``tomllib``) and checks every op name, parameter name and
parameter type against the registered function's signature before anything runs; a
file is never executed and never unpickled.

Examples
--------
>>> import numpy as np, cvgeo
>>> pipe = make_pipeline(cvgeo.to_gray, Step("resize", output_shape=(4, 4)))
>>> [name for name, _ in pipe.steps]
['to_gray', 'resize']
>>> pipe.set_params("resize__interpolation", "nearest").get_params()["resize__interpolation"]
'nearest'
>>> pipe(np.zeros((8, 8, 3), np.uint8)).shape
(4, 4)

Learned steps
-------------
Any object with ``get_params``/``set_params`` can be a step. If it has ``predict`` the
pipeline calls ``predict(x)``, otherwise ``x = step(x)``; :meth:`Pipeline.fit` calls
``fit(x)`` on every step that has one, feeding each the output of the steps before it
(scikit-learn's order). Fitted state (``centers_``...) is not saved in files: a file
holds parameters only.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
import numbers
import os
import stat
import time
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

from cvgeo._checks import describe
from cvgeo._io import atomic_write
from cvgeo.ops import OPS, adapt_output, op_name_of, resolve_op

__all__ = [
    "Step",
    "Pipeline",
    "make_pipeline",
    "Trace",
    "TraceStep",
    "PipelineFileError",
    "save_pipeline",
    "load_pipeline",
    "op_parameters",
]

FILE_FORMAT = "cvgeo-pipeline"
FILE_VERSION = 1
#: Largest array parameter a pipeline file holds (as nested lists), e.g. a 3x3 matrix.
MAX_FILE_ARRAY_SIZE = 4096
#: The largest pipeline file :func:`load_pipeline` reads (a real one is a few hundred bytes).
MAX_PIPELINE_FILE_BYTES = 1 << 20
#: Most steps a pipeline file holds.
MAX_FILE_STEPS = 1000
#: Deepest nesting of tables/lists in a pipeline file (a 3x3 matrix parameter is depth 6).
MAX_FILE_DEPTH = 16
#: Longest string (value or key) in a pipeline file, in characters.
MAX_FILE_STRING = 1000
#: Integers in a pipeline file lie in ``[-MAX_FILE_INT, MAX_FILE_INT]`` (a uint64 seed fits).
MAX_FILE_INT = 2**64 - 1


class PipelineFileError(ValueError):
    """A pipeline file (or dict) that cannot be loaded: bad syntax, unknown op or
    parameter, or a parameter of the wrong type. Nothing was run."""


# ------------------------------------------------------------------- signatures
def _params_of(obj: Any) -> tuple[list[inspect.Parameter], dict[str, Any]]:
    """Settable parameters of a function (all but its first, the data) or class, + hints."""
    try:
        return _params_cached(obj)
    except TypeError:  # unhashable callable
        return _params_uncached(obj)


def _params_uncached(obj: Any) -> tuple[list[inspect.Parameter], dict[str, Any]]:
    sig = inspect.signature(obj)
    params = [p for p in sig.parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not inspect.isclass(obj) and params:
        params = params[1:]  # the data (image) argument
    params = [p for p in params if p.kind != p.POSITIONAL_ONLY]
    try:
        hints = typing.get_type_hints(obj.__init__ if inspect.isclass(obj) else obj)
    except Exception:  # unresolvable annotation: fall back on defaults only
        hints = {}
    return params, hints


_params_cached = functools.lru_cache(maxsize=512)(_params_uncached)


def op_parameters(name: str) -> dict[str, Any]:
    """Parameters of the registered op ``name``: ``{param: default}``.

    A parameter without a default (required) maps to :data:`inspect.Parameter.empty`.

    Raises
    ------
    KeyError, ImportError
        Unknown op, or its module cannot be imported.
    """
    params, _ = _params_of(resolve_op(name))
    return {p.name: p.default for p in params}


# ------------------------------------------------------------------------- Step
class Step:
    """One pipeline step: a registered operation and its keyword parameters.

    Parameters
    ----------
    op : str or callable
        A name registered in :data:`cvgeo.ops.OPS` (``"canny"``) or a function
        (``cvgeo.to_gray``). A registered function is recorded by its name, so the step
        can be saved; an unregistered callable works in Python but cannot be saved.
    **params
        Keyword arguments for the function. Stored as given: nothing is validated until
        the step runs, and then the function itself validates.

    Examples
    --------
    >>> s = Step("resize", output_shape=(32, 32))
    >>> s.set_params(interpolation="area").get_params()["interpolation"]
    'area'
    """

    def __init__(self, op: str | Callable, **params: Any) -> None:
        self.op = op
        self.params = params

    # -- identity
    @property
    def name(self) -> str:
        """The registered op name (or the function's ``__name__`` if unregistered)."""
        if isinstance(self.op, str):
            return self.op
        return op_name_of(self.op) or getattr(self.op, "__name__", type(self.op).__name__)

    @property
    def op_name(self) -> str | None:
        """The registered op name, or None for an unregistered callable."""
        return self.op if isinstance(self.op, str) else op_name_of(self.op)

    @property
    def function(self) -> Callable:
        """The function this step calls (imported on first use)."""
        if isinstance(self.op, str):
            try:
                return resolve_op(self.op)
            except KeyError as exc:
                raise ValueError(f"Step: {exc.args[0]}") from None
        if not callable(self.op):
            raise TypeError(f"Step: op must be a registered op name or a callable, got "
                            f"{describe(self.op)}")
        return self.op

    # -- sklearn-style parameters
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Effective parameters: the function's defaults updated with those set here.

        Required parameters that were not set are left out.
        """
        out: dict[str, Any] = {}
        params, _ = _params_of(self.function)
        for p in params:  # signature order
            if p.name in self.params:
                out[p.name] = self.params[p.name]
            elif p.default is not p.empty:
                out[p.name] = p.default
        out.update(self.params)
        return out

    def set_params(self, **params: Any) -> Step:
        """Set parameters by keyword; an unknown name is an error naming it. Returns self."""
        known = {p.name for p in _params_of(self.function)[0]}
        for key, value in params.items():
            if key not in known:
                raise ValueError(f"{self.name}: unknown parameter {key!r}; valid parameters: "
                                 f"{', '.join(sorted(known)) or '(none)'}")
            self.params[key] = value
        return self

    def clone(self) -> Step:
        """A new, independent step with deep copies of the parameters."""
        return Step(self.op, **copy.deepcopy(self.params))

    # -- running
    def transform(self, image: Any) -> Any:
        """The function's own result (before any output adaptor)."""
        fn = self.function
        params, _ = _params_of(fn)
        missing = [p.name for p in params if p.default is p.empty and p.name not in self.params]
        if missing:
            raise TypeError(f"{self.name}: step needs parameter(s) {', '.join(missing)} "
                            f"(set them with set_params)")
        return fn(image, **self.params)

    def __call__(self, image: Any) -> Any:
        """Run the step: the function's result, through the op's output adaptor."""
        return adapt_output(self.op_name, self.transform(image), image)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Step({self.name!r}{', ' + args if args else ''})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Step) and self.name == other.name
                and _params_equal(self.params, other.params))

    __hash__ = None  # type: ignore[assignment]  # mutable


def _params_equal(a: dict, b: dict) -> bool:
    import numpy as np

    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not np.array_equal(np.asarray(x), np.asarray(y)):
                return False
        elif x != y:
            return False
    return True


def _step_name(step: Any) -> str:
    if isinstance(step, Step):
        return step.name
    if isinstance(step, Pipeline):
        return "pipeline"
    return op_name_of(type(step)) or type(step).__name__.lower()


def _apply(step: Any, x: Any) -> tuple[Any, Any]:
    """Run one step on ``x``: ``(raw result, output for the next step)``."""
    if isinstance(step, Step):
        raw = step.transform(x)
        return raw, adapt_output(step.op_name, raw, x)
    if hasattr(step, "predict"):
        raw = step.predict(x)
        return raw, adapt_output(op_name_of(type(step)), raw, x)
    if callable(step):
        raw = step(x)
        return raw, raw
    raise TypeError(f"Pipeline: step {describe(step)} is neither callable nor has predict()")


# --------------------------------------------------------------------- Trace
@dataclass(frozen=True)
class TraceStep:
    """One step of :meth:`Pipeline.trace`.

    Attributes
    ----------
    name : str
        The step's name in the pipeline.
    output : object
        What the step handed on (after the op's output adaptor), usually an image.
    raw : object
        The function's own result (e.g. a frozen dataclass); ``raw is output`` when the
        op has no adaptor.
    seconds : float
        Wall-clock time of the step (``time.perf_counter``), adaptor included.
    """

    name: str
    output: Any
    raw: Any
    seconds: float


@dataclass(frozen=True)
class Trace:
    """Every intermediate of a pipeline run, in order, with timings.

    Attributes
    ----------
    input : object
        The pipeline's input.
    steps : tuple of TraceStep
    """

    input: Any
    steps: tuple[TraceStep, ...]

    @property
    def output(self) -> Any:
        """The final output (``input`` for an empty pipeline)."""
        return self.steps[-1].output if self.steps else self.input

    @property
    def seconds(self) -> float:
        """Total time over the steps."""
        return float(sum(s.seconds for s in self.steps))

    def __getitem__(self, key: int | str) -> TraceStep:
        if isinstance(key, str):
            for s in self.steps:
                if s.name == key:
                    return s
            raise KeyError(f"Trace: no step named {key!r}; steps: "
                           f"{', '.join(s.name for s in self.steps)}")
        return self.steps[key]


# ------------------------------------------------------------------ Pipeline
class Pipeline:
    """A named sequence of steps: ``pipe(image)`` runs them in order.

    Parameters
    ----------
    steps : list of (name, step)
        ``step`` is a :class:`Step`, a nested :class:`Pipeline`, or a learned step
        (an object with ``get_params``/``set_params`` and ``predict``). Names must be
        unique and must not contain ``"__"`` (the nesting separator). Stored as given;
        checked when used.

    See Also
    --------
    make_pipeline : build one with names taken from the functions.
    load_pipeline : read one from a JSON or TOML file.
    """

    def __init__(self, steps: Sequence[tuple[str, Any]]) -> None:
        self.steps = steps

    # -- structure
    def _checked_steps(self) -> list[tuple[str, Any]]:
        steps = self.steps
        if not isinstance(steps, (list, tuple)):
            raise TypeError(f"Pipeline: steps must be a list of (name, step) pairs, got "
                            f"{describe(steps)}")
        seen = set()
        for i, item in enumerate(steps):
            if not (isinstance(item, (list, tuple)) and len(item) == 2
                    and isinstance(item[0], str)):
                raise TypeError(f"Pipeline: steps[{i}] must be a (name, step) pair, got "
                                f"{describe(item)}")
            name = item[0]
            if not name or "__" in name or name == "steps":
                raise ValueError(f"Pipeline: step names must be non-empty, without '__', and "
                                 f"not 'steps', got {name!r}")
            if name in seen:
                raise ValueError(f"Pipeline: step names must be unique, got {name!r} twice")
            seen.add(name)
        return list(steps)

    @property
    def named_steps(self) -> dict[str, Any]:
        """``{name: step}``."""
        return dict(self._checked_steps())

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, key: int | str | slice) -> Any:
        """A step by index or name; a slice gives a sub-pipeline (sharing the steps)."""
        if isinstance(key, slice):
            return Pipeline(self._checked_steps()[key])
        if isinstance(key, str):
            named = self.named_steps
            if key not in named:
                raise KeyError(f"Pipeline: no step named {key!r}; steps: {', '.join(named)}")
            return named[key]
        return self._checked_steps()[key][1]

    # -- parameters
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """``{"steps": ..., name: step, "name__param": value, ...}`` (nested with deep)."""
        steps = self._checked_steps()
        out: dict[str, Any] = {"steps": steps}
        for name, step in steps:
            out[name] = step
            if deep and hasattr(step, "get_params"):
                for k, v in step.get_params(deep=True).items():
                    out[f"{name}__{k}"] = v
        return out

    def set_params(self, *args: Any, **params: Any) -> Pipeline:
        """Set parameters, addressed ``"step__param"`` (nested: ``"a__b__param"``).

        Either keywords, ``set_params(canny__sigma=2.0)``, or one key and a value,
        ``set_params("canny__sigma", 2.0)``. A bare step name replaces the whole step.
        Returns self.
        """
        if args:
            if len(args) != 2 or not isinstance(args[0], str):
                raise TypeError(f"Pipeline.set_params: positional form is "
                                f"set_params('step__param', value), got {len(args)} arguments")
            params = {args[0]: args[1], **params}
        steps = self._checked_steps()
        index = {name: i for i, (name, _) in enumerate(steps)}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            head, sep, rest = key.partition("__")
            if head not in index:
                raise ValueError(f"Pipeline.set_params: unknown step {head!r} in {key!r}; "
                                 f"steps: {', '.join(index)}")
            if not sep:
                if key == "steps":
                    raise ValueError("Pipeline.set_params: set 'steps' by assignment")
                steps[index[head]] = (head, value)
            else:
                nested.setdefault(head, {})[rest] = value
        self.steps = steps
        named = dict(steps)
        for head, sub in nested.items():
            named[head].set_params(**sub)
        return self

    def clone(self) -> Pipeline:
        """A new pipeline with cloned steps (parameters copied, no fitted state)."""
        out = []
        for name, step in self._checked_steps():
            if hasattr(step, "clone"):
                out.append((name, step.clone()))
            elif hasattr(step, "get_params"):
                out.append((name, type(step)(**copy.deepcopy(step.get_params(deep=False)))))
            else:
                out.append((name, copy.deepcopy(step)))
        return Pipeline(out)

    # -- running
    def __call__(self, image: Any) -> Any:
        """Run every step in order and return the final output."""
        x = image
        for _, step in self._checked_steps():
            x = _apply(step, x)[1]
        return x

    def predict(self, image: Any) -> Any:
        """Same as calling the pipeline (so a pipeline can be a learned step)."""
        return self(image)

    def trace(self, image: Any) -> Trace:
        """Run every step and keep each intermediate with its wall-clock time.

        Returns
        -------
        Trace
            ``trace.steps[i]`` holds step ``i``'s output, raw result and seconds;
            ``trace.output`` equals ``pipe(image)``.
        """
        x = image
        done = []
        for name, step in self._checked_steps():
            t0 = time.perf_counter()
            raw, x = _apply(step, x)
            done.append(TraceStep(name, x, raw, time.perf_counter() - t0))
        return Trace(image, tuple(done))

    def fit(self, image: Any) -> Pipeline:
        """Fit each learned step (one with ``fit``) on the output of the steps before it."""
        x = image
        for _, step in self._checked_steps():
            if hasattr(step, "fit"):
                step.fit(x)
            x = _apply(step, x)[1]
        return self

    # -- files
    def to_dict(self) -> dict[str, Any]:
        """The file representation: ``{"format", "version", "steps": [{name, op, params}]}``.

        Every parameter is written with its effective value (defaults included), except
        ``None`` defaults. Raises ``ValueError`` naming the step and parameter for
        anything a file cannot hold (an unregistered function, an array parameter).
        """
        out = []
        for name, step in self._checked_steps():
            if isinstance(step, Pipeline):
                raise ValueError(f"save_pipeline: step {name!r} is a nested pipeline; files "
                                 f"hold a flat list of steps: flatten it to save it")
            if isinstance(step, Step):
                op = step.op_name
                what = f"function {step.name!r}"
            else:
                op = op_name_of(type(step))
                what = f"class {type(step).__name__}"
            if op is None:
                raise ValueError(f"save_pipeline: step {name!r} uses the unregistered {what}; "
                                 f"register it with cvgeo.ops.register_op to save it")
            if not hasattr(step, "get_params"):
                raise ValueError(f"save_pipeline: step {name!r} has no get_params()")
            params = step.get_params(deep=False)
            defaults = op_parameters(op)
            missing = [k for k, d in defaults.items() if d is inspect.Parameter.empty
                       and k not in params]
            if missing:
                raise ValueError(f"save_pipeline: step {name!r} needs parameter(s) "
                                 f"{', '.join(missing)} before it can be saved")
            entry = {}
            for k, v in params.items():
                if v is None and defaults.get(k, inspect.Parameter.empty) is None:
                    continue
                entry[k] = _plain(v, f"save_pipeline: step {name!r} parameter {k!r}")
            out.append({"name": name, "op": op, "params": entry})
        return {"format": FILE_FORMAT, "version": FILE_VERSION, "steps": out}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> Pipeline:
        """Build a pipeline from its file representation, checking names and types.

        Raises
        ------
        PipelineFileError
            Unknown keys, unknown op, unknown parameter, wrong parameter type, a missing
            required parameter; the message names the source, the step and the parameter.
        """
        return _from_dict(data, source)

    def save(self, path: str | os.PathLike) -> Path:
        """Save to ``path`` (``.json`` or ``.toml``); see :func:`save_pipeline`."""
        return save_pipeline(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Pipeline:
        """Load from ``path``; see :func:`load_pipeline`."""
        return load_pipeline(path)

    def __repr__(self) -> str:
        inner = ",\n    ".join(f"({n!r}, {s!r})" for n, s in self.steps)
        return f"Pipeline([\n    {inner},\n])" if self.steps else "Pipeline([])"


def make_pipeline(*steps: Any) -> Pipeline:
    """Build a :class:`Pipeline`, naming each step after its op.

    Parameters
    ----------
    *steps : str, callable, Step, Pipeline or learned step
        A registered op name (``"to_gray"``), a function (``cvgeo.to_gray``), a
        :class:`Step` with parameters, or any step object. Repeated names get suffixes
        ``-1``, ``-2``, ... (as scikit-learn's ``make_pipeline``).

    Returns
    -------
    Pipeline

    Examples
    --------
    >>> import cvgeo
    >>> p = make_pipeline(cvgeo.to_gray, Step("resize", output_shape=(8, 8)), "resize")
    >>> [n for n, _ in p.steps]
    ['to_gray', 'resize-1', 'resize-2']
    """
    objs = [s if isinstance(s, (Step, Pipeline)) or hasattr(s, "get_params")
            else Step(s) for s in steps]
    names = [_step_name(s) for s in objs]
    counts = {n: names.count(n) for n in names}
    seen: dict[str, int] = {}
    final = []
    for n in names:
        if counts[n] > 1:
            seen[n] = seen.get(n, 0) + 1
            final.append(f"{n}-{seen[n]}")
        else:
            final.append(n)
    return Pipeline(list(zip(final, objs)))


# ------------------------------------------------------------- plain values
def _plain(value: Any, where: str) -> Any:
    """A parameter value as plain JSON/TOML data (numpy scalars unwrapped, tuples -> lists)."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if (isinstance(value, np.ndarray) and value.dtype.kind in "biuf"
            and value.size <= MAX_FILE_ARRAY_SIZE):
        return value.tolist()  # a small numeric array (a 3x3 matrix) as nested lists
    raise ValueError(f"{where} is {describe(value)}; a pipeline file holds numbers, strings, "
                     f"booleans, lists, null, and numeric arrays of at most "
                     f"{MAX_FILE_ARRAY_SIZE} elements only")


# ------------------------------------------------------------ type checking
class _Mismatch(Exception):
    pass


def _hint_text(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is type(None) or hint is None:
        return "null"
    if origin in (Union, types.UnionType):
        return " or ".join(_hint_text(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if _is_array_hint(hint):
        return "a numeric (nested) list"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_hint_text(args[0])}"
        return "a list [" + ", ".join(_hint_text(a) for a in args) + "]" if args else "a list"
    if origin in (list, Sequence, typing.Sequence):
        return f"a list of {_hint_text(args[0])}" if args else "a list"
    return getattr(hint, "__name__", str(hint))


def _is_array_hint(hint: Any) -> bool:
    import numpy as np

    h = typing.get_origin(hint) or hint
    return h is np.ndarray or getattr(h, "__name__", "") in ("_SupportsArray", "NDArray")


def _as_array(value: Any) -> Any:
    """A nested list of numbers/booleans from a file as a numpy array, or raise _Mismatch."""
    import numpy as np

    if not isinstance(value, list):
        raise _Mismatch

    def flat(v):
        for x in v:
            if isinstance(x, list):
                yield from flat(x)
            elif isinstance(x, (bool, int, float)):
                yield x
            else:
                raise _Mismatch

    items = list(flat(value))
    try:
        arr = np.array(value)
    except ValueError:  # ragged
        raise _Mismatch from None
    if arr.dtype.kind not in "biuf" or arr.size != len(items) or arr.size > MAX_FILE_ARRAY_SIZE:
        raise _Mismatch
    return arr


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` (from a parsed file) as the type ``hint`` asks for, or raise _Mismatch."""
    if _is_array_hint(hint):
        return _as_array(value)
    if hint is Any:
        return _plain_or_mismatch(value)
    if hint is type(None) or hint is None:
        if value is None:
            return None
        raise _Mismatch
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        for a in args:
            try:
                return _coerce(value, a)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is Literal:
        for a in args:
            if type(value) is type(a) and value == a:
                return value
            if isinstance(a, float) and type(value) is int and value == a:
                return a
        raise _Mismatch
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is float or hint is numbers.Real or hint is numbers.Number:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value) if hint is float else value
        raise _Mismatch
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if origin is tuple or hint is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        if not args:
            return tuple(_plain_or_mismatch(v) for v in value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0]) for v in value)
        if len(value) != len(args):
            raise _Mismatch
        return tuple(_coerce(v, a) for v, a in zip(value, args))
    if origin in (list, Sequence) or hint in (list, Sequence):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        items = [_coerce(v, args[0]) if args else _plain_or_mismatch(v) for v in value]
        return items if origin is list or hint is list else tuple(items)
    raise _Mismatch  # arrays, generators, callables...: not from a file


def _plain_or_mismatch(value: Any) -> Any:
    try:
        return _plain(value, "")
    except ValueError:
        raise _Mismatch from None


def _check_value(value: Any, p: inspect.Parameter, hints: dict[str, Any]) -> Any:
    """Check a file value for parameter ``p``; returns the (coerced) value."""
    if p.name in hints:
        return _coerce(value, hints[p.name])
    d = p.default
    if d is p.empty or d is None:
        return _plain_or_mismatch(value)  # unannotated: the function validates
    if isinstance(d, bool):
        return _coerce(value, bool)
    if isinstance(d, (int, float)):
        return _coerce(value, numbers.Real)
    if isinstance(d, str):
        return _coerce(value, str)
    if isinstance(d, (tuple, list)):
        return _coerce(value, type(d))
    raise _Mismatch


def _expected_text(p: inspect.Parameter, hints: dict[str, Any]) -> str:
    if p.name in hints:
        return _hint_text(hints[p.name])
    d = p.default
    if d is p.empty or d is None:
        return "plain data"
    return {bool: "bool", int: "a number", float: "a number", str: "str"}.get(type(d), "a list")


# ------------------------------------------------------------------ loading
def _fail(source: str, message: str) -> PipelineFileError:
    """The loader's error: one line (a terminal shows it whole), of bounded length."""
    text = f"load_pipeline: {source}: {message}"
    text = " ".join(text.split("\n"))
    if len(text) > 600:
        text = text[:560] + f"... ({len(text)} characters)"
    return PipelineFileError(text)


def _short(value: Any) -> str:
    """:func:`describe`, cut to a length an error line can hold."""
    text = describe(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({type(value).__name__})"


def _check_tree(data: Any, source: str) -> None:
    """Refuse what no pipeline needs and later code should not meet: nesting deeper than
    :data:`MAX_FILE_DEPTH`, integers beyond :data:`MAX_FILE_INT`, NaN or infinite floats,
    strings (and keys) longer than :data:`MAX_FILE_STRING` or holding unpaired
    surrogates, lists longer than :data:`MAX_FILE_ARRAY_SIZE`. Walks iteratively, so no
    nesting can exhaust the stack."""
    stack: list[tuple[Any, Any, Any, int]] = [(data, None, None, 0)]
    while stack:
        value, parent, key, depth = stack.pop()
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (dict, list, tuple)) and depth >= MAX_FILE_DEPTH:
            raise _fail(source, f"nesting deeper than {MAX_FILE_DEPTH} levels at "
                                f"{_where(parent, key)}; a pipeline file holds steps with "
                                f"flat parameters")
        if isinstance(value, int):
            if not -MAX_FILE_INT <= value <= MAX_FILE_INT:
                raise _fail(source, f"{_where(parent, key)}: an integer of "
                                    f"{len(str(abs(value)))} digits; integers must lie within "
                                    f"+-{MAX_FILE_INT}")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _fail(source, f"{_where(parent, key)}: {value!r} is not a finite number")
        elif isinstance(value, str):
            _check_text(value, _where, (parent, key), source)
        elif isinstance(value, dict):
            here = (parent, key)
            for k, v in value.items():
                if isinstance(k, str):
                    _check_text(k, lambda *h: f"a key in {_where(*h)}", here, source)
                stack.append((v, here, k, depth + 1))
        elif isinstance(value, (list, tuple)):
            if len(value) > MAX_FILE_ARRAY_SIZE:
                raise _fail(source, f"{_where(parent, key)}: a list of {len(value)} items; lists "
                                    f"hold at most {MAX_FILE_ARRAY_SIZE}")
            here = (parent, key)
            stack.extend((v, here, i, depth + 1) for i, v in enumerate(value))


def _where(parent: Any, key: Any) -> str:
    """``steps[0]['params']['sigma']`` for the chain of (parent, key) links."""
    keys = []
    while parent is not None:
        keys.append(key)
        parent, key = parent
    if not keys:
        return "the top level"
    keys.reverse()
    return str(keys[0]) + "".join(f"[{k}]" if isinstance(k, int) else f"[{_short(k)}]"
                                  for k in keys[1:])


def _check_text(text: str, where: Callable[..., str], link: tuple, source: str) -> None:
    if len(text) > MAX_FILE_STRING:
        raise _fail(source, f"{where(*link)}: a string of {len(text)} characters; strings are "
                            f"at most {MAX_FILE_STRING}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(source, f"{where(*link)}: {_short(text)} holds an unpaired surrogate, "
                            f"which is not text") from None


def _from_dict(data: Any, source: str) -> Pipeline:
    _check_tree(data, source)
    if not isinstance(data, dict):
        raise _fail(source, f"the top level must be a table/object with 'steps', got "
                            f"{_short(data)}")
    extra = set(data) - {"format", "version", "steps"}
    if extra:
        raise _fail(source, f"unknown top-level key(s) {sorted(extra)}; expected 'format', "
                            f"'version', 'steps'")
    if "format" in data and data["format"] != FILE_FORMAT:
        raise _fail(source, f"format must be {FILE_FORMAT!r}, got {_short(data['format'])}")
    if "version" in data and (type(data["version"]) is not int
                              or data["version"] != FILE_VERSION):
        raise _fail(source, f"version must be {FILE_VERSION}, got {_short(data['version'])}")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise _fail(source, f"'steps' must be a non-empty list, got {_short(steps)}")
    if len(steps) > MAX_FILE_STEPS:
        raise _fail(source, f"'steps' holds {len(steps)} steps; a pipeline file holds at most "
                            f"{MAX_FILE_STEPS}")
    built: list[tuple[str, Any]] = []
    names: set[str] = set()
    for i, entry in enumerate(steps):
        where = f"steps[{i}]"
        if not isinstance(entry, dict):
            raise _fail(source, f"{where} must be a table/object with 'op', got "
                                f"{_short(entry)}")
        extra = set(entry) - {"name", "op", "params"}
        if extra:
            raise _fail(source, f"{where}: unknown key(s) {sorted(extra)}; expected 'name', "
                                f"'op', 'params'")
        op = entry.get("op")
        if not isinstance(op, str):
            raise _fail(source, f"{where}: 'op' must be a string naming a registered op, got "
                                f"{_short(op)}")
        if op not in OPS:
            raise _fail(source, f"{where}: unknown op {op!r}; registered ops: "
                                f"{', '.join(sorted(OPS))}")
        name = entry.get("name", op)
        if not isinstance(name, str) or not name or "__" in name:
            raise _fail(source, f"{where}: 'name' must be a non-empty string without '__', "
                                f"got {_short(name)}")
        if name in names:
            raise _fail(source, f"{where}: step name {name!r} is used twice")
        names.add(name)
        given = entry.get("params", {})
        if not isinstance(given, dict):
            raise _fail(source, f"{where} ({op}): 'params' must be a table/object, got "
                                f"{_short(given)}")
        try:
            target = resolve_op(op)
        except ImportError as exc:
            raise _fail(source, f"{where}: {exc}") from None
        params, hints = _params_of(target)
        by_name = {p.name: p for p in params}
        values = {}
        for key, value in given.items():
            if key not in by_name:
                raise _fail(source, f"{where} ({op}): unknown parameter {key!r}; valid "
                                    f"parameters: {', '.join(by_name) or '(none)'}")
            try:
                values[key] = _check_value(value, by_name[key], hints)
            except _Mismatch:
                raise _fail(source, f"{where} ({op}): parameter {key!r} must be "
                                    f"{_expected_text(by_name[key], hints)}, got "
                                    f"{_short(value)}") from None
        missing = [p.name for p in params if p.default is p.empty and p.name not in values]
        if missing:
            raise _fail(source, f"{where} ({op}): missing required parameter(s) "
                                f"{', '.join(missing)}")
        step = target(**values) if inspect.isclass(target) else Step(op, **values)
        built.append((name, step))
    return Pipeline(built)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def load_pipeline(path: str | os.PathLike) -> Pipeline:
    """Load a pipeline from a ``.json`` or ``.toml`` file.

    The file is parsed as data (``json`` or ``tomllib``), never executed or unpickled;
    every op must be registered in :data:`cvgeo.ops.OPS`, and every parameter must be
    one the op's function takes, with a value of the type its signature declares.

    File format (JSON shown; TOML has the same structure, ``[[steps]]`` tables)::

        {"format": "cvgeo-pipeline", "version": 1,
         "steps": [{"op": "to_gray"},
                   {"name": "edges", "op": "canny", "params": {"sigma": 2.0}}]}

    ``name`` defaults to ``op``; ``format`` and ``version`` are optional. A parameter
    annotated as an array (``np.ndarray``) takes a nested list of numbers or booleans of
    at most :data:`MAX_FILE_ARRAY_SIZE` elements (a 3x3 matrix, a small mask).

    Raises
    ------
    FileNotFoundError
        No such file.
    PipelineFileError
        Not valid JSON/TOML (for example Python code), not UTF-8 (or UTF-8 with a
        byte-order mark), an unsupported extension, not a regular file or unreadable, a
        file over :data:`MAX_PIPELINE_FILE_BYTES`, an unknown op or parameter, a wrong
        parameter type; or beyond what a pipeline needs: more than
        :data:`MAX_FILE_STEPS` steps, nesting deeper than :data:`MAX_FILE_DEPTH`, an
        integer beyond :data:`MAX_FILE_INT`, NaN or an infinite number, a string longer
        than :data:`MAX_FILE_STRING` or not text (an unpaired surrogate), a list longer than
        :data:`MAX_FILE_ARRAY_SIZE`, duplicate keys. The message is one line naming the
        file, the step and the parameter.
    """
    p = Path(path)
    source = repr(str(p))
    ext = p.suffix.lower()
    if ext not in (".json", ".toml"):
        raise _fail(source, f"a pipeline file must end in .json or .toml, got {ext or 'none'!r}")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileNotFoundError(f"load_pipeline: no such file {str(p)!r}") from None
    except OSError as exc:  # a symlink loop, a name too long, a folder we may not enter
        raise _fail(source, f"cannot open it: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _fail(source, f"not a regular file (a {_file_kind(st.st_mode)})")
    if st.st_size > MAX_PIPELINE_FILE_BYTES:
        raise _fail(source, f"a pipeline file must be at most {MAX_PIPELINE_FILE_BYTES} bytes, "
                            f"got {st.st_size} bytes (refused unread)")
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_PIPELINE_FILE_BYTES + 1)  # the file may have grown since stat
    except OSError as exc:
        raise _fail(source, f"cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_PIPELINE_FILE_BYTES:
        raise _fail(source, f"a pipeline file must be at most {MAX_PIPELINE_FILE_BYTES} bytes")
    kind = "JSON" if ext == ".json" else "TOML"
    if raw.startswith(b"\xef\xbb\xbf"):
        raise _fail(source, f"not valid {kind}: the file starts with a UTF-8 byte-order mark; "
                            f"save it as UTF-8 without one")
    try:
        text = raw.decode("utf-8")
        if ext == ".json":
            data = json.loads(text, object_pairs_hook=_no_duplicates,
                              parse_constant=_refuse_constant, parse_int=_bounded_int,
                              parse_float=_finite_float)
        else:
            import tomllib

            data = tomllib.loads(text, parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise _fail(source, f"not valid {kind}: it is not UTF-8 text ({exc.reason} at byte "
                            f"{exc.start})") from None
    except RecursionError:
        raise _fail(source, f"not valid {kind}: nested too deeply (a pipeline file nests at "
                            f"most {MAX_FILE_DEPTH} levels)") from None
    except ValueError as exc:  # JSONDecodeError, TOMLDecodeError, and ours from the hooks
        raise _fail(source, f"not valid {kind} ({exc}); a pipeline file is data, "
                            f"never code") from None
    return _from_dict(data, source)


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a pipeline file may hold; numbers must be finite")


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > len(str(MAX_FILE_INT)):
        raise ValueError(f"an integer of {digits} digits; integers must lie within "
                         f"+-{MAX_FILE_INT}")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is not a finite float; numbers must be finite")
    return value


def _toml_string(s: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    out = []
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ValueError(f"cannot write {describe(v)} in TOML")


def save_pipeline(pipeline: Pipeline, path: str | os.PathLike) -> Path:
    """Save ``pipeline`` to a ``.json`` or ``.toml`` file (atomically).

    Only registered op names and plain parameter values are written; see
    :meth:`Pipeline.to_dict`. ``None`` cannot be written in TOML (use JSON for a
    parameter explicitly set to ``None`` where its default is not).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in (".json", ".toml"):
        raise ValueError(f"save_pipeline: path must end in .json or .toml, got {str(p)!r}")
    data = pipeline.to_dict()
    if ext == ".json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        lines = ["# cvgeo pipeline: load with cvgeo.load_pipeline or `cvgeo run`",
                 f'format = "{FILE_FORMAT}"', f"version = {FILE_VERSION}"]
        for step in data["steps"]:
            for k, v in step["params"].items():
                if v is None:
                    raise ValueError(f"save_pipeline: step {step['name']!r} parameter {k!r} "
                                     f"is None, which TOML cannot hold; save as .json")
            params = ", ".join(f"{k} = {_toml_value(v)}" for k, v in step["params"].items())
            lines += ["", "[[steps]]", f"name = {_toml_string(step['name'])}",
                      f"op = {_toml_string(step['op'])}", f"params = {{ {params} }}"
                      if params else "params = {}"]
        text = "\n".join(lines) + "\n"
    atomic_write(p, text.encode("utf-8"), clean_stale=True)
    return p
