"""Steps and pipelines: parameter holders over registered ops, run in sequence."""

from __future__ import annotations

import copy
import inspect
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvgeo._checks import describe
from cvgeo.ops import adapt_output, op_name_of, resolve_op
from cvgeo.pipeline.coerce import FILE_FORMAT, FILE_VERSION, plain_value
from cvgeo.pipeline.registry import current_name, op_parameters, params_of


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
        params, _ = params_of(self.function)
        for p in params:  # signature order
            if p.name in self.params:
                out[p.name] = self.params[p.name]
            elif p.default is not p.empty:
                out[p.name] = p.default
        out.update(self.params)
        return out

    def set_params(self, **params: Any) -> Step:
        """Set parameters by keyword; an unknown name is an error naming it. Returns self."""
        fn = self.function
        known = {p.name for p in params_of(fn)[0]}
        for key, value in params.items():
            key = current_name(fn, key, self.name)
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
        params, _ = params_of(fn)
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
                entry[k] = plain_value(v, f"save_pipeline: step {name!r} parameter {k!r}")
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
        from cvgeo.pipeline.files import from_dict  # files builds pipelines: imported late

        return from_dict(data, source)

    def save(self, path: str | os.PathLike) -> Path:
        """Save to ``path`` (``.json`` or ``.toml``); see :func:`save_pipeline`."""
        from cvgeo.pipeline.files import save_pipeline

        return save_pipeline(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Pipeline:
        """Load from ``path``; see :func:`load_pipeline`."""
        from cvgeo.pipeline.files import load_pipeline

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
