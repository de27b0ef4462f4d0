"""The ``cvgeo`` command and batch runs: corrupt inputs, resume after a kill, Dask, gallery.

Subprocess tests run ``python -m cvgeo.cli`` with PYTHONPATH at the repository root (the
package is not installed in development).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import cvgeo
from cvgeo.batch import collect_inputs
from cvgeo.cli import main
from cvgeo.ops import to_display

ROOT = Path(__file__).resolve().parents[2]


def cvgeo_cmd(*args: str, cwd: Path | None = None, timeout: float = 120
              ) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cvgeo.cli", *map(str, args)], cwd=cwd or ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def make_images(folder: Path, n: int = 50, size: int = 24, corrupt: int | None = 17) -> list[Path]:
    """``n`` small random colour PNGs (``img_000.png``...); number ``corrupt`` truncated."""
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = cvgeo.write_image(folder / f"img_{i:03d}.png",
                              rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        if i == corrupt:
            p.write_bytes(p.read_bytes()[:60])  # valid header, truncated data
        paths.append(p)
    return paths


def small_pipeline() -> cvgeo.Pipeline:
    return cvgeo.make_pipeline("to_gray", cvgeo.Step("resize", output_shape=(12, 12)))


def expected_png(pipe, src: Path, tmp: Path) -> bytes:
    """What a batch must write for ``src``: computed in this process."""
    return cvgeo.write_image(tmp / f"expected-{src.name}",
                             to_display(pipe(cvgeo.read_image(src)))).read_bytes()


def outputs(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(folder.glob("*.png"))}


# --------------------------------------------------------------------- ops
def test_ops_lists_steps_with_parameters_and_defaults(capsys):
    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^resize  \[cvgeo\.image:resize\]  Resize an image", out, re.M)
    assert re.search(r"^    output_shape: tuple\[int, int\] \(required\)$", out, re.M)
    assert re.search(r"^    interpolation: Literal\[.*\] = 'auto'$", out, re.M)
    assert re.search(r"^to_gray  \[cvgeo\.image:to_gray\]", out, re.M)


# --------------------------------------------------------------------- run
def test_run_folder_with_one_corrupt_file(tmp_path):
    srcs = make_images(tmp_path / "in")
    pipe_file = cvgeo.save_pipeline(small_pipeline(), tmp_path / "pipe.toml")
    out = tmp_path / "out"
    r = cvgeo_cmd("run", pipe_file, tmp_path / "in", "-o", out, "--jobs", "2")
    assert r.returncode == 1, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "img_017.png" in errors[0] and "corrupt or truncated" in errors[0]
    assert "processed 49, skipped 0, failed 1 (50 inputs)" in r.stdout
    made = outputs(out)
    assert len(made) == 49 and "img_017.png" not in made
    assert not list(out.glob(".*"))  # no temporary files left
    for i in (0, 18, 49):  # outputs equal the same pipeline run in this process
        assert made[f"img_{i:03d}.png"].read_bytes() == expected_png(small_pipeline(), srcs[i],
                                                                     tmp_path)
    mtimes = {n: p.stat().st_mtime_ns for n, p in made.items()}

    again = cvgeo_cmd("run", pipe_file, tmp_path / "in", "-o", out, "-q")
    assert again.returncode == 1
    assert "processed 0, skipped 49, failed 1 (50 inputs)" in again.stdout
    assert {n: p.stat().st_mtime_ns for n, p in outputs(out).items()} == mtimes
    # -q: no progress bar, and nothing on stderr but the one error line
    assert again.stderr.splitlines() == errors

    forced = cvgeo_cmd("run", pipe_file, tmp_path / "in", "-o", out, "-q", "--force")
    assert "processed 49, skipped 0, failed 1 (50 inputs)" in forced.stdout


def test_kill_midway_then_rerun_does_only_the_rest(tmp_path):
    srcs = make_images(tmp_path / "in", n=50, size=32, corrupt=None)
    slow = cvgeo.make_pipeline(cvgeo.Step("resize", output_shape=(1024, 1024),
                                          interpolation="bicubic"),
                               "to_gray", cvgeo.Step("resize", output_shape=(16, 16)))
    pipe_file = cvgeo.save_pipeline(slow, tmp_path / "slow.json")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "cvgeo.cli", "run", str(pipe_file),
                             str(tmp_path / "in"), "-o", str(out), "--jobs", "2", "-q"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while (len(outputs(out)) if out.exists() else 0) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        still_running = proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes
    finally:
        proc.wait(timeout=30)
    assert still_running, "the batch finished before it could be killed"
    done = outputs(out)
    k = len(done)
    assert 5 <= k < 50
    for p in done.values():  # every file that exists is complete
        assert cvgeo.read_image(p).shape == (16, 16)
    mtimes = {n: p.stat().st_mtime_ns for n, p in done.items()}

    r = cvgeo_cmd("run", pipe_file, tmp_path / "in", "-o", out, "-q")
    assert r.returncode == 0, r.stderr
    assert f"processed {50 - k}, skipped {k}, failed 0 (50 inputs)" in r.stdout
    after = outputs(out)
    assert len(after) == 50
    assert {n: after[n].stat().st_mtime_ns for n in done} == mtimes  # not redone
    first_done, first_new = sorted(done)[0], sorted(set(after) - set(done))[0]
    for name in (first_done, first_new):
        src = srcs[int(name[4:7])]
        assert after[name].read_bytes() == expected_png(slow, src, tmp_path)


def test_ctrl_c_exits_130_and_stops_the_workers(tmp_path):
    make_images(tmp_path / "in", n=40, size=32, corrupt=None)
    slow = cvgeo.make_pipeline(cvgeo.Step("resize", output_shape=(1024, 1024),
                                          interpolation="bicubic"), "to_gray")
    pipe_file = cvgeo.save_pipeline(slow, tmp_path / "slow.json")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "cvgeo.cli", "run", str(pipe_file),
                             str(tmp_path / "in"), "-o", str(out), "--jobs", "2", "-q"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while (len(outputs(out)) if out.exists() else 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "error: interrupted; finished outputs are complete, re-run to do the rest" in err
    n = len(outputs(out))
    time.sleep(0.5)
    assert 3 <= n < 40 and len(outputs(out)) == n  # nothing keeps running afterwards


def test_run_usage_errors_exit_2_and_run_nothing(tmp_path, capsys):
    make_images(tmp_path / "in", n=3, corrupt=None)
    marker = tmp_path / "marker"
    bad = {
        "unknown.json": ('{"steps": [{"op": "sharpen_magic"}]}', "unknown op 'sharpen_magic'"),
        "types.toml": ('[[steps]]\nop = "resize"\nparams = { output_shape = "big" }\n',
                       "parameter 'output_shape' must be a list [int, int], got 'big'"),
        "code.json": (f"__import__('os').system('touch {marker}')", "not valid JSON"),
    }
    for name, (text, message) in bad.items():
        (tmp_path / name).write_text(text)
        args = ["run", str(tmp_path / name), str(tmp_path / "in"), "-o", str(tmp_path / "out")]
        if name == "code.json":  # one through the real command
            r = cvgeo_cmd(*args)
            rc, err = r.returncode, r.stderr
        else:
            rc, err = main(args), capsys.readouterr().err
        assert rc == 2, (name, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: load_pipeline: ")
        assert message in lines[0], (name, lines[0])
        assert not (tmp_path / "out").exists() and not marker.exists()
    good = cvgeo.save_pipeline(small_pipeline(), tmp_path / "p.json")
    assert main(["run", str(good), str(tmp_path / "nope"), "-o", str(tmp_path / "o")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["run", str(good), str(tmp_path / "empty"), "-o", str(tmp_path / "o")]) == 2
    assert main(["run", str(good), str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                 "--jobs", "0"]) == 2


def test_run_batch_python_api(tmp_path):
    srcs = make_images(tmp_path / "in", n=4, corrupt=2)
    (tmp_path / "in" / "sub").mkdir()
    cvgeo.write_image(tmp_path / "in" / "sub" / "deep.png", np.zeros((5, 6), np.uint8))
    (tmp_path / "in" / "notes.txt").write_text("not an image, not an input")
    res = cvgeo.run_batch(small_pipeline(), tmp_path / "in", tmp_path / "in" / "out",
                          progress=False)
    assert isinstance(res, cvgeo.BatchResult) and not res.ok and res.total == 5
    assert [Path(p).name for p in res.processed] == ["img_000.png", "img_001.png",
                                                     "img_003.png", "deep.png"]
    assert Path(res.processed[-1]).parent.name == "sub"  # folder layout mirrored
    assert res.failed == (cvgeo.BatchFailure(str(srcs[2]), res.failed[0].error),)
    assert res.failed[0].error.startswith("ValueError: read_image:")
    # the output folder lies inside the input folder: its files are not new inputs
    again = cvgeo.run_batch(small_pipeline(), [tmp_path / "in"], tmp_path / "in" / "out",
                            progress=False)
    assert (len(again.processed), len(again.skipped), len(again.failed)) == (0, 4, 1)
    with pytest.raises(FileNotFoundError, match="run_batch: input .*missing"):
        cvgeo.run_batch(small_pipeline(), tmp_path / "missing", tmp_path / "o")
    with pytest.raises(ValueError, match="would both write"):
        collect_inputs([srcs[0], srcs[0]], tmp_path / "o")
    with pytest.raises(ValueError, match="run_batch: jobs must be"):
        cvgeo.run_batch(small_pipeline(), srcs[0], tmp_path / "o", jobs=0)


# -------------------------------------------------------------------- Dask
def test_dask_local_cluster_gives_byte_identical_outputs(tmp_path):
    distributed = pytest.importorskip("distributed")
    make_images(tmp_path / "in", n=12, corrupt=5)
    pipe = small_pipeline()
    local = cvgeo.run_batch(pipe, tmp_path / "in", tmp_path / "local", jobs=1, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            res = cvgeo.run_batch(pipe, tmp_path / "in", tmp_path / "dask", client=client,
                                  progress=False)
        # and through the command line, connecting to the same scheduler
        pipe_file = cvgeo.save_pipeline(pipe, tmp_path / "p.json")
        r = cvgeo_cmd("run", pipe_file, tmp_path / "in", "-o", tmp_path / "dask_cli",
                      "--dask", cluster.scheduler_address, "-q")
    assert (len(res.processed), len(res.failed)) == (11, 1) and res.failed == local.failed
    assert r.returncode == 1 and "processed 11, skipped 0, failed 1" in r.stdout, r.stderr
    ref = {n: p.read_bytes() for n, p in outputs(tmp_path / "local").items()}
    assert len(ref) == 11
    for other in ("dask", "dask_cli"):
        got = {n: p.read_bytes() for n, p in outputs(tmp_path / other).items()}
        assert got == ref, other


def test_dask_unreachable_address_is_a_usage_error(tmp_path):
    pytest.importorskip("distributed")
    make_images(tmp_path / "in", n=1, corrupt=None)
    good = cvgeo.save_pipeline(small_pipeline(), tmp_path / "p.json")
    r = cvgeo_cmd("run", good, tmp_path / "in", "-o", tmp_path / "o", "--dask",
                  "tcp://127.0.0.1:1", "--dask-timeout", "1")
    assert r.returncode == 2
    assert "error: cannot connect to the Dask scheduler at 'tcp://127.0.0.1:1'" in r.stderr


# ----------------------------------------------------------------- gallery
class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])


def test_gallery_with_no_arguments_writes_page_and_every_image_opens(tmp_path):
    r = cvgeo_cmd("gallery", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    index = tmp_path / "cvgeo-gallery" / "index.html"
    assert f"wrote {index.relative_to(tmp_path)}" in r.stdout
    assert "cvgeo gallery" in r.stderr and "100%" in r.stderr  # progress bar
    page = index.read_text()
    parser = _Images()
    parser.feed(page)
    from cvgeo.gallery import SECTIONS

    n_figures = sum(len(fn().figures) for fn in SECTIONS)  # every section's module exists
    inputs = {"camera", "astronaut", "coins", "astronaut_small"}
    assert n_figures >= 10 and n_figures < len(parser.srcs) <= n_figures + len(inputs)
    for src in parser.srcs:
        img = cvgeo.read_image(index.parent / src)
        assert img.dtype == np.uint8 and min(img.shape[:2]) >= 16, src
    assert "Image basics" in page and "interpolation=&#x27;area&#x27;" in page
    assert re.search(r"time: to_gray \d+\.\d ms", page)
    assert "Filters and Canny edges" in page and re.search(r"canny \d+\.\d ms", page)
    assert "failed" not in page and "unavailable" not in page and "note:" not in r.stderr


def test_gallery_reports_failing_figures_and_unavailable_sections(tmp_path):
    from cvgeo.gallery import Figure, Section, build_gallery

    def section_missing():
        import cvgeo.not_there  # noqa: F401

    def section_mixed():
        return Section("Mixed", (
            Figure("works", "coins", cvgeo.make_pipeline("to_gray")),
            Figure("breaks", "coins", cvgeo.make_pipeline(cvgeo.Step("resize",
                                                                     output_shape=(0, 4)))),
        ))

    res = build_gallery(tmp_path / "g", sections=[section_missing, section_mixed],
                        progress=False)
    assert not res.ok
    assert res.unavailable == ("missing: No module named 'cvgeo.not_there'",)
    assert len(res.failures) == 1 and res.failures[0].startswith(
        "mixed / breaks: ValueError: resize: output_shape[0] must be an int >= 1")
    assert sorted(p.name for p in res.images) == ["input-coins.png", "mixed-00.png"]
    page = res.index.read_text()
    assert "1 figure(s) failed" in page and "unavailable in this install" in page


# ------------------------------------------- ops registered at run time
def invert(image: np.ndarray, *, amount: float = 1.0) -> np.ndarray:
    """Test op registered at run time: ``amount - grey``."""
    return np.clip(amount - cvgeo.to_gray(image), 0.0, 1.0)


@pytest.fixture
def runtime_op():
    from cvgeo.ops import OPS

    before = dict(OPS)
    cvgeo.register_op("test_invert", invert)
    yield
    OPS.clear()
    OPS.update(before)


def test_runtime_registered_op_reaches_spawned_workers(tmp_path, runtime_op):
    srcs = make_images(tmp_path / "in", n=3, corrupt=None)
    pipe = cvgeo.make_pipeline(cvgeo.Step("test_invert", amount=0.8))
    res = cvgeo.run_batch(pipe, tmp_path / "in", tmp_path / "out", jobs=2, progress=False)
    assert res.ok and len(res.processed) == 3
    for src in srcs:
        assert (tmp_path / "out" / src.name).read_bytes() == expected_png(pipe, src, tmp_path)


def test_worker_without_the_registration_gets_it_with_the_task(tmp_path, runtime_op):
    from cvgeo.batch import _ops_used, _process_one
    from cvgeo.ops import OPS

    src = make_images(tmp_path / "in", n=1, corrupt=None)[0]
    pipe = cvgeo.make_pipeline("to_gray", cvgeo.Step("test_invert"))
    ops = _ops_used(pipe)
    assert set(ops) == {"to_gray", "test_invert"}
    del OPS["test_invert"]  # as in a fresh worker process or a Dask worker
    _, _, err = _process_one(str(src), str(tmp_path / "a.png"), pipe)
    assert "unknown op 'test_invert'" in err
    assert _process_one(str(src), str(tmp_path / "b.png"), pipe, ops)[2] is None
    assert (tmp_path / "b.png").read_bytes() == expected_png(pipe, src, tmp_path)
