"""Values in pipeline files: what a file may hold (limits), parameter values as plain
JSON/TOML data, and file values coerced to the types a function's signature asks for."""

from __future__ import annotations

import inspect
import numbers
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal, Union

from cvgeo._checks import describe

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


# ------------------------------------------------------------- plain values
def plain_value(value: Any, where: str) -> Any:
    """A parameter value as plain JSON/TOML data (numpy scalars unwrapped, tuples -> lists)."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain_value(v, where) for v in value]
    if (isinstance(value, np.ndarray) and value.dtype.kind in "biuf"
            and value.size <= MAX_FILE_ARRAY_SIZE):
        return value.tolist()  # a small numeric array (a 3x3 matrix) as nested lists
    raise ValueError(f"{where} is {describe(value)}; a pipeline file holds numbers, strings, "
                     f"booleans, lists, null, and numeric arrays of at most "
                     f"{MAX_FILE_ARRAY_SIZE} elements only")


# ------------------------------------------------------------ type checking
class Mismatch(Exception):
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
    """A nested list of numbers/booleans from a file as a numpy array, or raise Mismatch."""
    import numpy as np

    if not isinstance(value, list):
        raise Mismatch

    def flat(v):
        for x in v:
            if isinstance(x, list):
                yield from flat(x)
            elif isinstance(x, (bool, int, float)):
                yield x
            else:
                raise Mismatch

    items = list(flat(value))
    try:
        arr = np.array(value)
    except ValueError:  # ragged
        raise Mismatch from None
    if arr.dtype.kind not in "biuf" or arr.size != len(items) or arr.size > MAX_FILE_ARRAY_SIZE:
        raise Mismatch
    return arr


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` (from a parsed file) as the type ``hint`` asks for, or raise Mismatch."""
    if _is_array_hint(hint):
        return _as_array(value)
    if hint is Any:
        return _plain_or_mismatch(value)
    if hint is type(None) or hint is None:
        if value is None:
            return None
        raise Mismatch
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        for a in args:
            try:
                return _coerce(value, a)
            except Mismatch:
                continue
        raise Mismatch
    if origin is Literal:
        for a in args:
            if type(value) is type(a) and value == a:
                return value
            if isinstance(a, float) and type(value) is int and value == a:
                return a
        raise Mismatch
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise Mismatch
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise Mismatch
    if hint is float or hint is numbers.Real or hint is numbers.Number:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value) if hint is float else value
        raise Mismatch
    if hint is str:
        if isinstance(value, str):
            return value
        raise Mismatch
    if origin is tuple or hint is tuple:
        if not isinstance(value, (list, tuple)):
            raise Mismatch
        if not args:
            return tuple(_plain_or_mismatch(v) for v in value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0]) for v in value)
        if len(value) != len(args):
            raise Mismatch
        return tuple(_coerce(v, a) for v, a in zip(value, args))
    if origin in (list, Sequence) or hint in (list, Sequence):
        if not isinstance(value, (list, tuple)):
            raise Mismatch
        items = [_coerce(v, args[0]) if args else _plain_or_mismatch(v) for v in value]
        return items if origin is list or hint is list else tuple(items)
    raise Mismatch  # arrays, generators, callables...: not from a file


def _plain_or_mismatch(value: Any) -> Any:
    try:
        return plain_value(value, "")
    except ValueError:
        raise Mismatch from None


def check_value(value: Any, p: inspect.Parameter, hints: dict[str, Any]) -> Any:
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
    raise Mismatch


def expected_text(p: inspect.Parameter, hints: dict[str, Any]) -> str:
    if p.name in hints:
        return _hint_text(hints[p.name])
    d = p.default
    if d is p.empty or d is None:
        return "plain data"
    return {bool: "bool", int: "a number", float: "a number", str: "str"}.get(type(d), "a list")
