"""Benchmark harness: ours and the peers in the same process, interleaved, medians.

Import this module *before* numpy/cv2/numba in a benchmark script: it pins every
library to a single thread (the comparisons in the README are single-threaded). With
``CVGEO_BENCH_THREADS=all`` in the environment it leaves every library its default thread
pool instead and switches cvgeo to its parallel kernels (``cvgeo.set_num_threads``), for
the all-cores against all-cores comparison.

``CVGEO_BENCH_CLOCK=cpu`` (single thread only) times by thread CPU time, steadier than
the wall clock on a machine that other jobs share.

Every row saved under ``results/`` carries the peers' versions and the thread counts
in force (``environment()``), so a faster peer can be told from a slower cvgeo.

Usage::

    from _harness import Bench
    bench = Bench("canny", size="512x512")
    bench.add("cvgeo", lambda: canny(img, sigma=1.0))
    bench.add("skimage", lambda: skimage.feature.canny(img, sigma=1.0))
    bench.run(repeats=9)           # interleaved: A B C A B C ...
    bench.report(ours="cvgeo")     # prints medians and ours/peer ratios
"""

from __future__ import annotations

import json
import os

ALL_CORES = os.environ.get("CVGEO_BENCH_THREADS", "1") == "all"
# "cpu": time each call by the calling thread's CPU time instead of the wall clock. On a
# shared machine a single-threaded call's CPU time barely moves when other jobs take
# the cores; it is not for the all-cores mode (other threads' work would not count).
CPU_CLOCK = os.environ.get("CVGEO_BENCH_CLOCK", "wall") == "cpu" and not ALL_CORES
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
if not ALL_CORES:
    for _var in _THREAD_VARS:
        os.environ.setdefault(_var, "1")

import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

RESULTS = Path(__file__).with_name("results") / ("all-cores" if ALL_CORES else "")


def single_thread() -> None:
    """Pin OpenCV, cvgeo's kernels and torch (when imported) to one thread, or, under
    ``CVGEO_BENCH_THREADS=all``, give each all the cores."""
    cores = os.cpu_count() or 1
    try:
        import cv2

        cv2.setNumThreads(cores if ALL_CORES else 1)
    except ImportError:
        pass
    if "cvgeo" in sys.modules and hasattr(sys.modules["cvgeo"], "set_num_threads"):
        sys.modules["cvgeo"].set_num_threads(None if ALL_CORES else 1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(cores if ALL_CORES else 1)


# distribution names of the libraries whose versions decide a comparison
_PEERS = {"cv2": ("opencv-python-headless", "opencv-python", "opencv-contrib-python",
                  "opencv-contrib-python-headless"),
          "skimage": ("scikit-image",), "sklearn": ("scikit-learn",), "scipy": ("scipy",),
          "numpy": ("numpy",), "numba": ("numba",), "torch": ("torch",),
          "kornia": ("kornia",)}


def versions() -> dict[str, str]:
    """Installed versions of the peers and of the libraries cvgeo runs on (not imported:
    read from the installed distributions' metadata)."""
    out = {}
    for name, dists in _PEERS.items():
        for dist in dists:
            try:
                out[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


def threads() -> dict[str, object]:
    """The thread counts in force: each library that is imported, and the environment."""
    out: dict[str, object] = {"mode": "all cores" if ALL_CORES else "single thread",
                              "clock": "thread CPU time" if CPU_CLOCK else "wall"}
    mods = sys.modules
    if "cv2" in mods:
        out["cv2"] = mods["cv2"].getNumThreads()
    if "cvgeo" in mods and hasattr(mods["cvgeo"], "get_num_threads"):
        out["cvgeo"] = mods["cvgeo"].get_num_threads()
    if "numba" in mods:
        out["numba"] = mods["numba"].config.NUMBA_NUM_THREADS
    if "torch" in mods:
        out["torch"] = mods["torch"].get_num_threads()
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():  # BLAS and OpenMP pools, with OpenBLAS's core type
            arch = f", {info['architecture']}" if info.get("architecture") else ""
            out[f"{info['internal_api']} ({info['prefix']}{arch})"] = info["num_threads"]
    except ImportError:
        pass
    env = {k: os.environ[k] for k in (*_THREAD_VARS, "OPENBLAS_CORETYPE")
           if k in os.environ}
    if env:
        out["env"] = env
    return out


def environment() -> dict[str, object]:
    """What a results row records besides its times: machine, versions, threads."""
    return {"machine": machine(), "versions": versions(), "threads": threads()}


def machine() -> str:
    """The CPU model and core count, for the README table."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


class Bench:
    """One comparison: several callables timed interleaved, reported as medians."""

    def __init__(self, name: str, **params: object) -> None:
        self.name = name
        self.params = params
        self.cases: dict[str, Callable[[], object]] = {}
        self.times: dict[str, list[float]] = {}

    def add(self, label: str, fn: Callable[[], object]) -> None:
        self.cases[label] = fn

    def run(self, repeats: int = 7, number: int = 1, warmup: int = 1) -> dict[str, float]:
        single_thread()
        for fn in self.cases.values():
            for _ in range(warmup):
                fn()
        self.times = {k: [] for k in self.cases}
        clock = time.thread_time if CPU_CLOCK else time.perf_counter
        for _ in range(repeats):
            for label, fn in self.cases.items():
                t0 = clock()
                for _ in range(number):
                    fn()
                self.times[label].append((clock() - t0) / number)
        return self.medians()

    def medians(self) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in self.times.items()}

    def ratio(self, ours: str, other: str) -> float:
        """Median over repeats of ``ours / other`` timed in the same repeat.

        The two runs of a repeat are adjacent in time, so a slow stretch of a shared
        machine slows both; the median of these paired ratios is steadier than the ratio
        of the two medians (which it equals on a quiet machine)."""
        a, b = self.times.get(ours), self.times.get(other)
        if not a or not b:
            return float("nan")
        return statistics.median(x / y for x, y in zip(a, b) if y > 0)

    def report(self, ours: str = "cvgeo") -> list[dict]:
        med = self.medians()
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        print(f"\n## {self.name}" + (f" ({params})" if params else ""))
        print(f"{'implementation':<28}{'median ms':>12}{'ours / it':>12}")
        rows = []
        for label, t in med.items():
            ratio = self.ratio(ours, label)
            mark = "" if label == ours else f"{ratio:>12.2f}"
            print(f"{label:<28}{t * 1e3:>12.3f}{mark}")
            rows.append({"bench": self.name, "params": params, "impl": label,
                         "median_ms": t * 1e3, "ours_over_it": None if label == ours else ratio})
        self.save(rows)
        return rows

    def save(self, rows: list[dict]) -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.jsonl"
        with path.open("a") as fh:
            env = environment()
            for r in rows:
                fh.write(json.dumps({**r, **env}) + "\n")


def compile_times(snippet: str) -> dict[str, float]:
    """Seconds for a first call in a fresh process: cold (empty numba cache) and cached.

    ``snippet`` imports what it needs and makes the first call; it runs twice in new
    interpreters sharing one fresh ``NUMBA_CACHE_DIR``. The difference between the two is
    the compile time that the on-disk cache saves every later process.
    """
    code = ("import time, numpy\n" + "t0 = time.perf_counter()\n" + snippet +
            "\nprint(time.perf_counter() - t0)\n")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        for label in ("cold", "cached"):
            res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, check=True)
            out[label] = float(res.stdout.strip().splitlines()[-1])
    print(f"first call in a new process: cold {out['cold']:.2f} s (numba compiles), "
          f"cached {out['cached']:.2f} s (loaded from the disk cache)")
    return out
