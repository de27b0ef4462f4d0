"""Fuzz every public cvgeo callable with hostile input, each group in a watched subprocess.

Generated from ``cvgeo.__all__``: a public name is either probed (it has a base call in
``fuzz_probes.base_calls``) or listed in ``EXEMPT`` with the reason, so a new public
function cannot escape. The probes (see ``fuzz_probes``) are deterministic: fixed data,
no random search. Must hold for every probe: no crash (a worker dying on a signal), no
hang (a probe silent for ``HANG_SECONDS``), no exception but ``ValueError``/``TypeError``
(``DegenerateError`` is a ``ValueError``) naming the public function, no NaN in a result.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import cvgeo
from tests.cvgeo import fuzz_probes

ROOT = Path(__file__).resolve().parents[2]

#: A probe still running after this long is a hang (the slowest real probe takes ~1 s;
#: a cold numba cache adds a one-off compile of a few seconds per kernel).
HANG_SECONDS = 60.0
#: a worker's first line may take longer: it imports cvgeo and loads numba's cache first
STARTUP_SECONDS = 600.0

#: Public names that are not fuzzed here, and why.
EXEMPT = {
    # constants and exception types: nothing to call
    "BORDERS": "a tuple of names",
    "DEFAULT_MAX_PIXELS": "an int constant",
    "DegenerateError": "an exception type",
    "PipelineFileError": "an exception type",
    # result records: built by the functions that return them, which are fuzzed
    **{name: "a frozen result record, returned by a fuzzed function" for name in (
        "CorrectedMatches", "Epipoles", "FrequencyGrid",
        "FundamentalResult", "Gradient", "HoughCircles", "HoughLinePeaks",
        "HoughLines", "KMeansResult", "LaplacianPyramid", "MeanShiftResult",
        "NormalizedPoints", "OpSpec", "Pose", "RansacResult", "HomographyResult", "RecoveredPose",
        "Rectification", "Spectrum", "StereoCorrespondences", "Trace", "TraceStep",
        "TwoViewScene", "EssentialResult", "SoftNMSResult")},
    "BOX_FORMATS": "a tuple of names",
    "FrequencyFilter": "a record made by frequency_filter (fuzzed), which validates it",
    # pipelines, batches and the gallery take files, folders and callables: their hostile
    # inputs (corrupt pipeline files, bad folders, killed runs) are tested in
    # test_pipeline.py and test_cli.py
    "Pipeline": "composes callables; hostile pipeline files are tested in test_pipeline.py",
    "Step": "stores a callable and parameters; validated when run (test_pipeline.py)",
    "make_pipeline": "composes callables (test_pipeline.py)",
    "load_pipeline": "reads pipeline files; hostile files are tested in test_pipeline.py",
    "save_pipeline": "writes a Pipeline object (test_pipeline.py)",
    "register_op": "changes the global op registry (test_pipeline.py)",
    "op_parameters": "looks an op name up in the pipeline registry (test_pipeline.py)",
}

#: Worker processes, each probing a share of the callables (run one after the other).
N_GROUPS = 4


def _targets() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        return sorted(fuzz_probes.base_calls(tmp))


def test_every_public_name_is_fuzzed_or_exempt():
    probed = {t.split(".")[0] for t in _targets()}
    public = set(cvgeo.__all__)
    missing = public - probed - set(EXEMPT)
    assert not missing, f"public names neither fuzzed nor exempt: {sorted(missing)}"
    stale = (set(EXEMPT) - public) | (probed - public)
    assert not stale, f"fuzz lists names that are not public: {sorted(stale)}"
    assert not probed & set(EXEMPT)


def _run_group(names: list[str]) -> list[dict]:
    """Every probe's outcome; a worker that dies or hangs is restarted after that probe."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    outcomes: list[dict] = []
    skip = 0
    for _ in range(50):  # restarts
        proc = subprocess.Popen([sys.executable, "-m", "tests.cvgeo.fuzz_probes", str(skip),
                                 *names], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        started = None
        hung = False
        heard = False
        while True:
            if not sel.select(timeout=HANG_SECONDS if heard else STARTUP_SECONDS):
                hung = True
                proc.kill()
                break
            line = proc.stdout.readline()
            if not line:
                break
            heard = True
            row = json.loads(line)
            if "start" in row:
                started = row
            else:
                outcomes.append(row)
                started = None
        proc.wait()
        stderr = proc.stderr.read()
        sel.close()
        proc.stdout.close()
        proc.stderr.close()
        if started is None and not hung:
            if proc.returncode != 0:
                outcomes.append({"name": ",".join(names), "probe": "worker",
                                 "problem": f"worker exited {proc.returncode}: "
                                            f"{stderr[-500:]}"})
            return outcomes
        what = "hang" if hung else f"crash (exit {proc.returncode})"
        if started is None:  # outside any probe: nothing to name or skip past
            where = "between probes" if heard else "before the first probe"
            outcomes.append({"name": ",".join(names), "probe": "worker",
                             "problem": f"{what} {where}: {stderr[-300:]}"})
            return outcomes
        outcomes.append({"name": started["start"], "probe": started["probe"],
                         "problem": f"{what}: {stderr[-300:]}"})
        skip = started["index"] + 1
    outcomes.append({"name": ",".join(names), "probe": "worker", "problem": "50 restarts"})
    return outcomes


@pytest.fixture(scope="module")
def fuzz_outcomes() -> list[list[dict]]:
    """Every group's outcomes; two workers at a time (the suite's machines have 2 cores)."""
    from concurrent.futures import ThreadPoolExecutor

    targets = _targets()
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(_run_group, [targets[g::N_GROUPS] for g in range(N_GROUPS)]))


@pytest.mark.parametrize("group", range(N_GROUPS))
def test_fuzz_public_callables(group, fuzz_outcomes):
    names = _targets()[group::N_GROUPS]
    outcomes = fuzz_outcomes[group]
    problems = [f"{o['name']}({o['probe']}): {o['problem']}" for o in outcomes
                if "problem" in o]
    assert not problems, f"{len(problems)} of {len(outcomes)} probes failed:\n" + "\n".join(
        problems)
    covered = {o["name"] for o in outcomes}
    assert covered == set(names)  # every callable ran its probes
    assert len(outcomes) > 50 * len(names)  # the probes did run
    # the base calls succeed, so the probes exercise real work and not only rejections
    bases = [o for o in outcomes if o["probe"] == "base"]
    assert all("raised" not in o for o in bases), [o for o in bases if "raised" in o]
