"""Run every ``bench_*.py`` in turn (one process each) and write the results table.

    cd benchmarks && python run_all.py [bench_canny bench_hough ...]
    cd benchmarks && python run_all.py --threads all [...]   # all cores, every library
    cd benchmarks && python run_all.py --table      # only rebuild the table
    cd benchmarks && python run_all.py --readme     # rebuild the table and the README's
    CVGEO_BENCH_CLOCK=cpu python run_all.py   # thread CPU time (a shared machine)

Each benchmark appends rows to ``results/<name>.jsonl`` (``results/all-cores/`` with
``--threads all``); this script clears them first, runs the scripts sequentially
(nothing else should load the machine meanwhile), then writes ``TABLE.md`` there: a
header naming the machine, the peers' versions and every library's thread count, then
one row per comparison, the two medians and ours / peer as the median of the per-repeat
ratios (below 1 means cvgeo is faster). A full run (no names given) also writes that
table into README.md between the ``perf-table`` markers, with the run's duration, so the
README's numbers are always one run's. The whole set took 28 minutes on a 2-core
machine shared with other jobs (bench_segment, bench_general_motion and the deep
training steps dominate); it prints its duration and writes it into the table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
README = HERE.parent / "README.md"
START, END = "<!-- perf-table:start -->", "<!-- perf-table:end -->"


def _merge(dicts: list[dict]) -> str:
    """``{"cv2": 1}, {"cv2": 1, "numba": 1}`` -> ``"cv2 1, numba 1"``; a key whose value
    differs between results shows every value (``cv2 1 / 2``)."""
    merged: dict[str, list[str]] = {}
    for d in dicts:
        for k, v in d.items():
            text = _merge([v]) if isinstance(v, dict) else str(v)
            if text not in merged.setdefault(k, []):
                merged[k].append(text)
    return ", ".join(f"{k} {' / '.join(v)}" if not v[0].count(" ") else f"{k} ({' / '.join(v)})"
                     for k, v in merged.items())


def header(rows: list[dict]) -> list[str]:
    """The table's first lines: machine, peers' versions and thread counts, as the
    results recorded them (a setting that differs between benchmarks shows each value)."""
    from _harness import environment

    rows = [r for r in rows if "versions" in r] or [environment()]
    machines = sorted({r["machine"] for r in rows})
    return [f"Machine: {'; '.join(machines)}. Medians of interleaved repeats.", "",
            f"Versions: {_merge([r['versions'] for r in rows])}.", "",
            f"Threads: {_merge([r['threads'] for r in rows])}.", ""]


def write_table(seconds: float | None = None) -> list[str]:
    """Collect ``results/*.jsonl`` into ``results/TABLE.md``, print it and return its
    lines; ``seconds``, the run's duration, goes into the header."""
    from _harness import RESULTS

    rows = []
    for path in sorted(RESULTS.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    took = [] if seconds is None else [f"`run_all.py` took {seconds / 60:.1f} min.", ""]
    lines = header(rows) + took + [
        "| benchmark | parameters | peer | cvgeo ms | peer ms | cvgeo / peer |",
        "|---|---|---|---:|---:|---:|"]
    by_key: dict[tuple, dict] = {}
    for r in rows:
        by_key.setdefault((r["bench"], r["params"]), {})[r["impl"]] = r
    for (bench, params), impls in by_key.items():
        mine = next((k for k in ("cvgeo", "deep") if k in impls), None)
        if mine is None:
            continue
        ours = impls[mine]
        for label, r in impls.items():
            if label == mine:
                continue
            ratio = r.get("ours_over_it") or ours["median_ms"] / r["median_ms"]
            lines.append(f"| {bench} | {params} | {label} | {ours['median_ms']:.2f} | "
                         f"{r['median_ms']:.2f} | {ratio:.2f} |")
    (RESULTS / "TABLE.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return lines


def write_readme(lines: list[str]) -> None:
    """Replace README.md's text between the ``perf-table`` markers by ``lines``."""
    text = README.read_text()
    if START not in text or END not in text:
        print(f"run_all: README.md has no {START} ... {END} block; left unchanged")
        return
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    README.write_text(head + START + "\n" + "\n".join(lines) + "\n" + END + tail)
    print(f"run_all: README.md performance table rewritten ({len(lines)} lines)")


def main(argv: list[str]) -> int:
    if argv[:2] == ["--threads", "all"]:
        os.environ["CVGEO_BENCH_THREADS"] = "all"  # before _harness is imported
        argv = argv[2:]
    elif argv[:1] == ["--threads"]:
        print("run_all: --threads takes 'all' (the default is one thread everywhere)")
        return 2
    from _harness import RESULTS

    if argv == ["--table"]:  # rebuild the table from the results already there
        write_table()
        return 0
    if argv == ["--readme"]:  # ... and put it into the README
        write_readme(write_table())
        return 0
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    start = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("*.jsonl"):
        old.unlink()
    failed = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, f"{name}.py"], cwd=HERE).returncode
        print(f"=== {name}: exit {rc}, {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(name)
    lines = write_table(time.perf_counter() - start)
    if not argv and not failed:  # a full run: the README's table is this run's
        write_readme(lines)
    print(f"run_all: {len(names)} benchmarks in {(time.perf_counter() - start) / 60:.1f} min")
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
