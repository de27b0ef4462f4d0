"""Pipeline files: loading JSON/TOML (parsed, checked against signatures, never
executed) and saving them atomically."""

from __future__ import annotations

import inspect
import json
import math
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cvgeo._checks import describe
from cvgeo._io import atomic_write, file_kind
from cvgeo.ops import OPS, resolve_op
from cvgeo.pipeline.coerce import (
    FILE_FORMAT,
    FILE_VERSION,
    MAX_FILE_ARRAY_SIZE,
    MAX_FILE_DEPTH,
    MAX_FILE_INT,
    MAX_FILE_STEPS,
    MAX_FILE_STRING,
    MAX_PIPELINE_FILE_BYTES,
    Mismatch,
    PipelineFileError,
    check_value,
    expected_text,
)
from cvgeo.pipeline.core import Pipeline, Step
from cvgeo.pipeline.registry import current_name, params_of


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


def from_dict(data: Any, source: str) -> Pipeline:
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
        params, hints = params_of(target)
        by_name = {p.name: p for p in params}
        values = {}
        for key, value in given.items():
            key = current_name(target, key, f"load_pipeline: {source}: {where} ({op})")
            if key not in by_name:
                raise _fail(source, f"{where} ({op}): unknown parameter {key!r}; valid "
                                    f"parameters: {', '.join(by_name) or '(none)'}")
            try:
                values[key] = check_value(value, by_name[key], hints)
            except Mismatch:
                raise _fail(source, f"{where} ({op}): parameter {key!r} must be "
                                    f"{expected_text(by_name[key], hints)}, got "
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
        raise _fail(source, f"not a regular file ({file_kind(st.st_mode)})")
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
    return from_dict(data, source)


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
