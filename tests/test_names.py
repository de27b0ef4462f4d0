"""One name per concept: every public signature of cvgeo is checked against the glossary
(docs/glossary.md). A forbidden spelling fails unless it is in PENDING with its reason."""

from __future__ import annotations

import inspect
import re

import pytest

import cvgeo

#: parameter name -> the name the glossary uses instead
FORBIDDEN = {
    "k": "n_clusters",
    "max_iterations": "max_iter",
    "max_iters": "max_iter",
    "n_iterations": "n_iter",
    "fill": "cval",
    "fill_value": "cval",
    "random_state": "seed",
    "rng": "seed",
    "tolerance": "tol, or a unit-bearing name (tolerance_px)",
    "threshold": "a name with its unit (threshold_px, min_votes, ...)",
    "min_length": "min_length_px",
    "max_gap": "max_gap_px",
    "min_distance": "min_distance_px",
}
#: (pattern, what to use): checked against every parameter name
FORBIDDEN_PATTERNS = [
    (re.compile(r"colour"), "color (American spelling throughout)"),
    (re.compile(r"_deg$|^deg_|degrees"), "radians (angles are radians everywhere)"),
    (re.compile(r"_bw$"), "_bandwidth (with _px where it is a length)"),
]

#: (public callable, parameter) -> why it is still allowed. Shrinks, never grows.
PENDING: dict[tuple[str, str], str] = {}


def _public_signatures():
    """(qualified name, parameter names) for every public callable, classes' __init__ and
    public methods included."""
    out = []
    for name in sorted(cvgeo.__all__):
        obj = getattr(cvgeo, name)
        targets = []
        if inspect.isclass(obj):
            targets.append((name, obj))
            targets += [(f"{name}.{m}", f) for m, f in vars(obj).items()
                        if callable(f) and not m.startswith("_")]
        elif callable(obj):
            targets.append((name, obj))
        for qual, fn in targets:
            try:
                sig = inspect.signature(fn)
            except (TypeError, ValueError):  # builtins without a signature
                continue
            out.append((qual, [p for p in sig.parameters if p not in ("self", "cls")]))
    return out


def _violations():
    found = {}
    for qual, params in _public_signatures():
        for p in params:
            if p in FORBIDDEN:
                found[(qual, p)] = FORBIDDEN[p]
            for pattern, use in FORBIDDEN_PATTERNS:
                if pattern.search(p):
                    found[(qual, p)] = use
    return found


def test_signatures_are_scanned():
    sigs = dict(_public_signatures())
    assert len(sigs) > 150  # every public callable, not a handful
    assert "n_clusters" in sigs["kmeans"] and "color" in sigs["draw_lines"]


def test_no_forbidden_parameter_names_outside_the_pending_list():
    bad = {key: use for key, use in _violations().items() if key not in PENDING}
    assert not bad, "\n".join(f"{q}({p}=...): use {use}" for (q, p), use in sorted(bad.items()))


def test_pending_list_has_no_stale_entries():
    """An entry whose name was fixed must leave the list, so it only shrinks."""
    stale = set(PENDING) - set(_violations())
    assert not stale, f"fixed, remove from PENDING: {sorted(stale)}"


@pytest.mark.parametrize("param", ["k", "colour_mode", "angle_deg", "fill", "range_bw"])
def test_the_scan_catches_each_kind_of_spelling(monkeypatch, param):
    """The scan itself can fail: a public function with a forbidden name is reported."""
    def probe(image, **kwargs):  # signature set below
        """A probe."""

    probe.__signature__ = inspect.Signature(
        [inspect.Parameter("image", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, default=1)])
    monkeypatch.setattr(cvgeo, "probe_fn", probe, raising=False)
    monkeypatch.setattr(cvgeo, "__all__", [*cvgeo.__all__, "probe_fn"])
    assert ("probe_fn", param) in _violations()
