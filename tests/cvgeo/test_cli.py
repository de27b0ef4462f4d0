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


# A run that stops at a known point: the test-only op tests.cvgeo._gate:gate holds every
# image until the test hands it a token, and says when an image reaches it. The command
# runs in a child that registers the op first (a registered op travels to the workers).
_GATED_MAIN = ("import sys, cvgeo; cvgeo.register_op('gate', 'tests.cvgeo._gate:gate'); "
               "from cvgeo.cli import main; sys.exit(main(sys.argv[1:]))")


@pytest.fixture
def gate(tmp_path):
    from cvgeo.ops import OPS
    from tests.cvgeo._gate import Gate

    before = dict(OPS)
    cvgeo.register_op("gate", "tests.cvgeo._gate:gate")
    g = Gate(tmp_path)
    yield g
    g.close()
    OPS.clear()
    OPS.update(before)


def gated_run(*args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", _GATED_MAIN, *map(str, args)], cwd=ROOT,
                            env=env, start_new_session=True, **popen)


def test_kill_midway_then_rerun_does_only_the_rest(tmp_path, gate):
    srcs = make_images(tmp_path / "in", n=20, size=16, corrupt=None)
    pipe = cvgeo.make_pipeline(cvgeo.Step("gate", **gate.params()), "to_gray",
                               cvgeo.Step("resize", output_shape=(12, 12)))
    pipe_file = cvgeo.save_pipeline(pipe, tmp_path / "gated.json")
    out = tmp_path / "out"
    proc = gated_run("run", pipe_file, tmp_path / "in", "-o", out, "--jobs", "2", "-q",
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        gate.give(5)
        gate.wait_arrivals(5 + 2)  # 5 went through; both workers now wait at the gate
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes
    finally:
        proc.wait(timeout=60)
    done = outputs(out)
    assert len(done) == 5  # exactly the images let through, each written in full
    for p in done.values():
        assert cvgeo.read_image(p).shape == (12, 12)
    mtimes = {n: p.stat().st_mtime_ns for n, p in done.items()}

    gate.give(15)
    r = subprocess.run([sys.executable, "-c", _GATED_MAIN, "run", str(pipe_file),
                        str(tmp_path / "in"), "-o", str(out), "-q"], cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "processed 15, skipped 5, failed 0 (20 inputs)" in r.stdout
    assert len(gate.wait_arrivals(15)) == 15  # only the 15 missing images were run
    after = outputs(out)
    assert len(after) == 20
    assert {n: after[n].stat().st_mtime_ns for n in done} == mtimes  # not redone
    plain = cvgeo.make_pipeline("to_gray", cvgeo.Step("resize", output_shape=(12, 12)))
    first_done, first_new = sorted(done)[0], sorted(set(after) - set(done))[0]
    for name in (first_done, first_new):
        src = srcs[int(name[4:7])]
        assert after[name].read_bytes() == expected_png(plain, src, tmp_path)


def test_ctrl_c_exits_130_and_stops_the_workers(tmp_path, gate):
    make_images(tmp_path / "in", n=12, size=16, corrupt=None)
    pipe = cvgeo.make_pipeline(cvgeo.Step("gate", **gate.params()), "to_gray")
    pipe_file = cvgeo.save_pipeline(pipe, tmp_path / "gated.json")
    out = tmp_path / "out"
    proc = gated_run("run", pipe_file, tmp_path / "in", "-o", out, "--jobs", "2", "-q",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        gate.give(3)
        # 3 tokens let at most 4 arrivals come from one worker, so the 5 arrivals hold both
        # workers' ids (the last two need not: a worker that arrived first may be the one
        # still parked when the other has taken all three tokens)
        workers = set(gate.wait_arrivals(3 + 2))
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole group
        gate.close_tokens()  # work already queued to a worker fails at the gate, unwritten
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130
    assert "error: interrupted; finished outputs are complete, re-run to do the rest" in err
    assert len(outputs(out)) == 3 and len(workers) == 2
    for pid in workers:  # the pool was shut down and joined: no worker outlives the run
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


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
    res = cvgeo.batch.run_batch(small_pipeline(), tmp_path / "in", tmp_path / "in" / "out",
                          progress=False)
    assert isinstance(res, cvgeo.batch.BatchResult) and not res.ok and res.total == 5
    assert [Path(p).name for p in res.processed] == ["img_000.png", "img_001.png",
                                                     "img_003.png", "deep.png"]
    assert Path(res.processed[-1]).parent.name == "sub"  # folder layout mirrored
    assert res.failed == (cvgeo.batch.BatchFailure(str(srcs[2]), res.failed[0].error),)
    assert res.failed[0].error.startswith("ValueError: read_image:")
    # the output folder lies inside the input folder: its files are not new inputs
    again = cvgeo.batch.run_batch(small_pipeline(), [tmp_path / "in"], tmp_path / "in" / "out",
                            progress=False)
    assert (len(again.processed), len(again.skipped), len(again.failed)) == (0, 4, 1)
    with pytest.raises(FileNotFoundError, match="run_batch: input .*missing"):
        cvgeo.batch.run_batch(small_pipeline(), tmp_path / "missing", tmp_path / "o")
    found = collect_inputs([srcs[0], srcs[0], srcs[1]], tmp_path / "o")  # one file twice
    assert [src for src, _ in found.pairs] == [srcs[0], srcs[1]] and found.problems == ()
    with pytest.raises(ValueError, match="run_batch: jobs must be"):
        cvgeo.batch.run_batch(small_pipeline(), srcs[0], tmp_path / "o", jobs=0)



# ------------------------------------------------- hostile folders and outputs
def _unreadable_folder(folder: Path, monkeypatch) -> None:
    """``folder`` made unreadable: by its mode, or where that has no effect (root) by
    making os.scandir fail on it exactly as it does for an unprivileged user."""
    folder.chmod(0)
    try:
        os.listdir(folder)
    except PermissionError:
        return
    import cvgeo.batch

    real = os.scandir

    def scandir(path=".", *a):
        if os.path.realpath(path) == os.path.realpath(folder):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *a)

    monkeypatch.setattr(cvgeo.batch.os, "scandir", scandir)


def test_run_over_a_folder_of_every_bad_entry(tmp_path, capsys, monkeypatch):
    """The must-show: one line for each bad entry, the good files processed, exit 1."""
    src = tmp_path / "in"
    good = make_images(src, n=3, corrupt=None)  # img_000..002.png
    bad_image = cvgeo.write_image(src / "corrupt.png", np.zeros((8, 8, 3), np.uint8))
    bad_image.write_bytes(bad_image.read_bytes()[:40])
    for ext in (".jpg", ".png"):  # both would write out/c.png
        cvgeo.write_image(src / f"c{ext}", np.full((8, 8, 3), 9, np.uint8))
    (src / "sub").mkdir()
    good.append(cvgeo.write_image(src / "sub" / "d.png", np.zeros((6, 6), np.uint8)))
    (src / "locked").mkdir()
    cvgeo.write_image(src / "locked" / "e.png", np.zeros((6, 6), np.uint8))
    (src / "dangling.png").symlink_to("nowhere.png")
    (src / "loop").symlink_to("loop")
    (src / "sub" / "up").symlink_to("..")  # a folder loop: walked once, then one line
    os.mkfifo(src / "fifo.png")  # opening it would block: it must never be opened
    _unreadable_folder(src / "locked", monkeypatch)
    out = tmp_path / "out"
    try:
        rc = main(["run", str(cvgeo.save_pipeline(small_pipeline(), tmp_path / "p.json")),
                   str(src), "-o", str(out), "-q"])
    finally:
        (src / "locked").chmod(0o755)
    captured = capsys.readouterr()
    assert rc == 1
    errors = captured.err.splitlines()
    expected = [
        f"error: {src / 'c.jpg'}: inputs {str(src / 'c.jpg')!r} and {str(src / 'c.png')!r} "
        f"would both write {str(out / 'c.png')!r}: none of them processed; rename one",
        f"error: {src / 'corrupt.png'}: ValueError: read_image: ",
        f"error: {src / 'dangling.png'}: a dangling symlink (to 'nowhere.png'): skipped",
        f"error: {src / 'fifo.png'}: not a regular file (a FIFO): skipped",
        f"error: {src / 'locked'}: cannot read this folder (Permission denied): skipped",
        f"error: {src / 'loop'}: a symlink loop: skipped",
        f"error: {src / 'sub' / 'up'}: a symlink to a folder already walked (a loop): skipped",
    ]
    assert len(errors) == len(expected), errors
    for line, start in zip(errors, expected):
        assert line.startswith(start), (line, start)
    assert "processed 4, skipped 0, failed 7 (11 inputs)" in captured.out
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert made == ["img_000.png", "img_001.png", "img_002.png", "sub/d.png"]
    for p in good:
        assert (out / p.relative_to(src)).read_bytes() == expected_png(small_pipeline(), p,
                                                                      tmp_path)


def test_outdir_that_cannot_be_a_folder_is_a_usage_error(tmp_path, capsys):
    make_images(tmp_path / "in", n=1, corrupt=None)
    pipe = str(cvgeo.save_pipeline(small_pipeline(), tmp_path / "p.json"))
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "file").write_text("x")
    cases = {"loop": "cannot be used as a folder: Too many levels of symbolic links",
             "loop/sub": "cannot be used as a folder: Too many levels of symbolic links",
             "dangling": "is a dangling symlink (to 'nowhere'); give a folder",
             "file": "must be a folder, got an existing file",
             "file/sub": "cannot be used as a folder: Not a directory"}
    for name, message in cases.items():
        rc = main(["run", pipe, str(tmp_path / "in"), "-o", str(tmp_path / name), "-q"])
        err = capsys.readouterr().err.splitlines()
        assert rc == 2 and len(err) == 1, (name, err)
        assert err[0] == f"error: run_batch: outdir {str(tmp_path / name)!r} {message}", err
    assert not (tmp_path / "nowhere").exists()


def test_rerun_removes_partial_files_a_killed_write_left(tmp_path, capsys):
    from cvgeo._io import _host_tag

    srcs = make_images(tmp_path / "in", n=3, corrupt=None)
    out = tmp_path / "out"
    # A writer killed in the middle of writing out/img_001.png (SIGKILL: no cleanup runs).
    killed = subprocess.run(
        [sys.executable, "-c", "import os, signal; from cvgeo._io import atomic_write; "
         "atomic_write(os.environ['DST'], lambda fh: (fh.write(b'\\x89PNG half'), fh.flush(), "
         "os.kill(os.getpid(), signal.SIGKILL)))"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "DST": str(out / "img_001.png")},
        timeout=60)
    assert killed.returncode == -signal.SIGKILL
    (stale,) = out.glob(".img_001.png.*.part")
    assert not (out / "img_001.png").exists()
    # Temporary files that are not the dead writer's own stay: a live writer (this test
    # process), another machine, another name.
    live = out / f".img_002.png.{_host_tag()}-{os.getpid()}.abcdefgh.part"
    other_host = out / ".img_002.png.0badf00d-1.abcdefgh.part"
    not_ours = out / ".notes.txt.part"
    for p in (live, other_host, not_ours):
        p.write_bytes(b"x")
    pipe = str(cvgeo.save_pipeline(small_pipeline(), tmp_path / "p.json"))
    assert main(["run", pipe, str(tmp_path / "in"), "-o", str(out), "-q"]) == 0
    assert "processed 3, skipped 0, failed 0 (3 inputs)" in capsys.readouterr().out
    assert not stale.exists() and live.exists() and other_host.exists() and not_ours.exists()
    assert (out / "img_001.png").read_bytes() == expected_png(small_pipeline(), srcs[1],
                                                              tmp_path)
    res = cvgeo.batch.run_batch(small_pipeline(), tmp_path / "in", out, force=True, progress=False)
    assert res.cleaned == () and res.ok


def test_python_api_reports_a_stale_partial_file_it_removed(tmp_path):
    make_images(tmp_path / "in", n=2, corrupt=None)
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, timeout=60)
    from cvgeo._io import _host_tag

    stale = out / f".img_000.png.{_host_tag()}-{int(dead.stdout)}.zzzzzzzz.part"
    out.mkdir()
    stale.write_bytes(b"half")
    res = cvgeo.batch.run_batch(small_pipeline(), tmp_path / "in", out, progress=False)
    assert res.cleaned == (str(stale),) and not stale.exists()
    assert res.summary().endswith("; removed 1 stale partial file(s)")


# -------------------------------------------------------------------- Dask
def test_dask_local_cluster_gives_byte_identical_outputs(tmp_path):
    distributed = pytest.importorskip("distributed")
    make_images(tmp_path / "in", n=12, corrupt=5)
    pipe = small_pipeline()
    local = cvgeo.batch.run_batch(pipe, tmp_path / "in", tmp_path / "local", jobs=1, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            res = cvgeo.batch.run_batch(pipe, tmp_path / "in", tmp_path / "dask", client=client,
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
    r = cvgeo_cmd("gallery", cwd=tmp_path, timeout=600)  # trains three small models
    assert r.returncode == 0, r.stderr
    index = tmp_path / "cvgeo-gallery" / "index.html"
    assert f"wrote {index.relative_to(tmp_path)}" in r.stdout
    assert "cvgeo gallery" in r.stderr and "100%" in r.stderr  # progress bar
    page = index.read_text()
    parser = _Images()
    parser.feed(page)
    from cvgeo.gallery import SECTIONS

    n_figures = sum(len(fn().figures) for fn in SECTIONS)  # every section's module exists
    from cvgeo.gallery import _BUNDLED

    inputs = set(_BUNDLED)
    assert {"camera", "astronaut", "coins", "checkerboard"} <= inputs
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
    res = cvgeo.batch.run_batch(pipe, tmp_path / "in", tmp_path / "out", jobs=2, progress=False)
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
