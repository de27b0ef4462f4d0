"""cvgeo._io: the one atomic-write helper behind write_image, save_pipeline,
save_checkpoint, the gallery and batch outputs."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cvgeo
from cvgeo._io import _host_tag, atomic_write, file_kind, remove_stale_parts

ROOT = Path(__file__).resolve().parents[2]


def _dead_pid() -> int:
    r = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                       capture_output=True, text=True, timeout=60)
    return int(r.stdout)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_every_writer_gives_umask_permissions(tmp_path, mask):
    old = os.umask(mask)
    try:
        written = [
            atomic_write(tmp_path / "raw.bin", b"abc"),
            cvgeo.write_image(tmp_path / "a.png", np.zeros((2, 2), np.uint8)),
            cvgeo.save_pipeline(cvgeo.make_pipeline("to_gray"), tmp_path / "p.toml"),
        ]
    finally:
        os.umask(old)
    for p in written:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask, p
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "p.toml", "raw.bin"]


def test_bytes_or_writer_replace_the_file_whole(tmp_path):
    p = atomic_write(tmp_path / "sub" / "f.bin", b"first")  # parents created
    assert p.read_bytes() == b"first"
    atomic_write(p, lambda fh: fh.write(b"second"))
    assert p.read_bytes() == b"second"

    def fails(fh):
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_write(p, fails)
    assert p.read_bytes() == b"second"  # the old file stands, the temporary file is gone
    assert [q.name for q in p.parent.iterdir()] == ["f.bin"]


def test_temporary_name_records_its_writer(tmp_path):
    seen = []
    atomic_write(tmp_path / "x.png", lambda fh: seen.extend(p.name for p in tmp_path.iterdir()))
    assert len(seen) == 1, seen
    prefix, rand, suffix = seen[0].rsplit(".", 2)
    assert prefix == f".x.png.{_host_tag()}-{os.getpid()}" and suffix == "part" and rand


def test_remove_stale_parts_removes_only_dead_writers_files(tmp_path):
    host, dead = _host_tag(), _dead_pid()
    files = {
        "dead": f".a.png.{host}-{dead}.abcdefgh.part",
        "dead_other_name": f".b.png.{host}-{dead}.abcdefgh.part",
        "alive": f".a.png.{host}-{os.getpid()}.abcdefgh.part",
        "other_host": f".a.png.0badf00d-{dead}.abcdefgh.part",
        "foreign": ".a.png.part",
        "output": "a.png",
    }
    for name in files.values():
        (tmp_path / name).write_bytes(b"x")
    os.mkdir(tmp_path / f".c.png.{host}-{dead}.dirdirdi.part")  # not a file: left alone
    assert remove_stale_parts(tmp_path, ["a.png"]) == [tmp_path / files["dead"]]
    assert remove_stale_parts(tmp_path) == [tmp_path / files["dead_other_name"]]
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {files[k] for k in ("alive", "other_host", "foreign", "output")} | {
        f".c.png.{host}-{dead}.dirdirdi.part"}
    assert remove_stale_parts(tmp_path / "missing") == []


def test_a_writer_killed_mid_write_leaves_only_its_part_which_the_next_save_removes(tmp_path):
    target = tmp_path / "p.json"
    cvgeo.save_pipeline(cvgeo.make_pipeline("to_gray"), target)
    before = target.read_bytes()
    r = subprocess.run(
        [sys.executable, "-c", "import os, signal; from cvgeo._io import atomic_write; "
         "atomic_write(os.environ['DST'], lambda fh: (fh.write(b'{\"ste'), fh.flush(), "
         "os.kill(os.getpid(), signal.SIGKILL)))"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "DST": str(target)}, timeout=60)
    assert r.returncode == -signal.SIGKILL
    assert target.read_bytes() == before  # readers never saw the half-written file
    assert len(list(tmp_path.glob(".p.json.*.part"))) == 1
    cvgeo.save_pipeline(cvgeo.make_pipeline("to_gray", "to_float"), target)
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_no_writer_keeps_its_own_copy_of_the_logic():
    """One helper: nothing else in cvgeo or deep makes temporary files or renames them."""
    for pkg in ("cvgeo", "deep"):
        for path in (ROOT / pkg).rglob("*.py"):
            if path.name == "_io.py":
                continue
            text = path.read_text()
            for needle in ("mkstemp", "os.replace(", ".part\"", "os.rename("):
                assert needle not in text, (path, needle)


def test_file_kind_names_each_kind_with_its_article(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert file_kind(os.stat(tmp_path).st_mode) == "a folder"
    assert file_kind(os.stat(fifo).st_mode) == "a FIFO"
    assert file_kind(stat.S_IFSOCK) == "a socket"
    assert file_kind(stat.S_IFCHR) == "a character device"
    assert file_kind(stat.S_IFBLK) == "a block device"
    assert file_kind(0) == "a special file"
