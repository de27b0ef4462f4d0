"""The README's Python blocks run as written, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_a_tour():
    assert len(_blocks()) >= 8


def test_readme_blocks_run(capsys):
    pytest.importorskip("torch")
    ns: dict = {"__name__": "readme"}
    for k, block in enumerate(_blocks()):
        try:
            exec(compile(block, f"README.md python block {k}", "exec"), ns)  # noqa: S102
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"README python block {k} failed: {type(exc).__name__}: {exc}\n{block}")
    np = ns["np"]
    # what the tour's comments claim
    assert ns["edges"].dtype == bool and ns["edges"].shape == (512, 512)
    assert ns["found"].circles.shape[1] == 3
    assert ns["fit"].inlier_mask[100:].mean() > 0.95 and ns["fit"].inlier_mask[:100].mean() < 0.05
    assert np.median(ns["cvgeo"].epipolar_distance(ns["r"].F, ns["gt"].x1, ns["gt"].x2)) < 0.15
    pose = ns["pose"]
    assert abs(np.degrees(np.arccos(np.clip((np.trace(pose.R) - 1) / 2, -1, 1)))) < 0.5
    assert pose.t[0] < -0.99
    assert sum(p.numel() for p in ns["vit"].parameters()) == 86_567_656
    assert tuple(ns["logits"].shape) == (4, 10)
    assert sum(p.numel() for p in ns["r50"].parameters()) == 25_557_032
    assert [tuple(f.shape[1:]) for f in ns["feats"]] == [(16, 8, 8), (16, 8, 8), (32, 4, 4),
                                                         (64, 2, 2), (128, 1, 1)]
    assert tuple(ns["expl"].maps.shape) == (16, 32, 32) and 0.0 <= ns["hits"] <= 1.0
    assert tuple(ns["rollout"].maps.shape) == (16, 32, 32)
    assert len(ns["caps"].tokens) == 2
    assert tuple(ns["xt"].shape) == (64, 1, 8, 8) and ns["terms"].loss.ndim == 0
    np.testing.assert_allclose(ns["pyr"].reconstruct(), ns["cvgeo"].to_float(ns["camera"]),
                               atol=1e-5)
