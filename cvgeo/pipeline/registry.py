"""Signatures of registered ops: which parameters a step takes, their defaults and
type hints (what files are checked against)."""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any

from cvgeo._checks import describe
from cvgeo.ops import OPS, resolve_op


# ------------------------------------------------------------------- signatures
def params_of(obj: Any) -> tuple[list[inspect.Parameter], dict[str, Any]]:
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
    ValueError
        ``name`` is not a registered op (the message lists the registered ones).
    ImportError
        The op's module cannot be imported.

    Examples
    --------
    >>> op_parameters("resize")["interpolation"]
    'auto'
    """
    if not isinstance(name, str) or name not in OPS:
        raise ValueError(f"op_parameters: name must be a registered op, got {describe(name)}; "
                         f"registered ops: {', '.join(sorted(OPS))}")
    params, _ = params_of(resolve_op(name))
    return {p.name: p.default for p in params}


def current_name(obj: Any, key: str, where: str) -> str:
    """``key``, or its new name if ``obj`` renamed it (with a ``DeprecationWarning``).

    Functions decorated with :func:`cvgeo._checks.renamed_parameters` accept their old
    keywords for one release; pipelines and pipeline files do too, through this.
    """
    new = getattr(obj, "renamed_parameters", {}).get(key)
    if new is None:
        return key
    import warnings

    warnings.warn(f"{where}: parameter {key!r} is deprecated and will be removed in the next "
                  f"release; use {new!r}", DeprecationWarning, stacklevel=3)
    return new
