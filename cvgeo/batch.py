"""Batch runs: one pipeline over many image files, locally in processes or on Dask.

Reliability rules (the same for every engine):

* an input that cannot be read, or on which the pipeline fails, is recorded in the
  result (:attr:`BatchResult.failed`) and the batch goes on; so is each folder entry
  that cannot be an input (an unreadable folder, a dangling symlink, a symlink loop, a
  FIFO, socket or device, which is never opened) and each set of inputs that would
  write the same output (``c.jpg`` and ``c.png``: none of them is processed);
* every output is written atomically (:func:`cvgeo.write_image`: temporary file, then
  rename), so an interrupted run never leaves a partial file and loses nothing it
  finished; the temporary files a killed run leaves are removed by the next run;
* an input whose output already exists is skipped (counted in
  :attr:`BatchResult.skipped`) unless ``force=True``: re-running an interrupted batch
  does only the work that is left.

Conventions
-----------
A folder input is walked recursively for image files (extensions in
:data:`IMAGE_EXTENSIONS`, names not starting with ``"."``), following symlinks and
walking each folder once; its outputs mirror the
folder's layout under ``outdir``. A file input writes ``outdir / <stem>.png``. Outputs
are PNG, made displayable with :func:`cvgeo.ops.to_display`. With Dask, inputs and
outputs are *paths*: the workers must see the same filesystem (a ``LocalCluster``
does; a remote cluster needs a shared disk).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvgeo._checks import check_int, describe
from cvgeo._io import file_kind

__all__ = ["BatchResult", "BatchFailure", "run_batch"]

#: File extensions taken from a folder input (case-insensitive).
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp",
                              ".pgm", ".ppm", ".pbm", ".pnm"})


@dataclass(frozen=True)
class BatchFailure:
    """One input that failed: its path and the error message."""

    path: str
    error: str


@dataclass(frozen=True)
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    processed : tuple of str
        Output paths written by this run (sorted).
    skipped : tuple of str
        Output paths that already existed and were left alone (sorted).
    failed : tuple of BatchFailure
        Inputs that could not be processed, with the reason, and entries that could not
        be inputs (see :class:`CollectedInputs`), one each (sorted by path).
    seconds : float
        Wall-clock time of the run.
    cleaned : tuple of str
        Temporary files of this batch's outputs, left by a run that was killed while
        writing, that this run removed.
    """

    processed: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[BatchFailure, ...]
    seconds: float
    cleaned: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no input failed."""
        return not self.failed

    @property
    def total(self) -> int:
        """Number of inputs."""
        return len(self.processed) + len(self.skipped) + len(self.failed)

    def summary(self) -> str:
        """One line: ``processed 49, skipped 0, failed 1 (50 inputs) in 3.2 s``, and
        ``; removed 2 stale partial file(s)`` when :attr:`cleaned` is not empty."""
        line = (f"processed {len(self.processed)}, skipped {len(self.skipped)}, failed "
                f"{len(self.failed)} ({self.total} inputs) in {self.seconds:.1f} s")
        if self.cleaned:
            line += f"; removed {len(self.cleaned)} stale partial file(s)"
        return line


@dataclass(frozen=True)
class CollectedInputs:
    """What :func:`collect_inputs` found.

    Attributes
    ----------
    pairs : tuple of (Path, Path)
        ``(input, output)`` for every image file to process, sorted by input.
    problems : tuple of BatchFailure
        Entries that cannot be inputs, one each: a folder that cannot be read, a
        dangling symlink, a symlink loop, a FIFO / socket / device, two inputs that
        would write the same output (neither is processed).
    """

    pairs: tuple[tuple[Path, Path], ...]
    problems: tuple[BatchFailure, ...]


def _unstatable(path: str, exc: OSError) -> str:
    """Why ``os.stat(path)`` failed, as a summary line's reason."""
    if exc.errno == errno.ELOOP:
        return "a symlink loop: skipped"
    if isinstance(exc, FileNotFoundError) and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"a dangling symlink (to {target!r}): skipped"
    return f"cannot be read ({exc.strerror or exc}): skipped"


def check_outdir(outdir: str | os.PathLike, func: str = "run_batch") -> Path:
    """``outdir`` as an absolute path with symlinks resolved, or ValueError: it must be a
    folder or not exist yet (never a file, a dangling symlink or a symlink loop)."""
    try:
        st = os.stat(outdir)
    except FileNotFoundError:
        if os.path.islink(outdir):
            raise ValueError(f"{func}: outdir {str(outdir)!r} is a dangling symlink (to "
                             f"{os.readlink(outdir)!r}); give a folder") from None
    except OSError as exc:  # ELOOP, ENAMETOOLONG, EACCES on a parent...
        raise ValueError(f"{func}: outdir {str(outdir)!r} cannot be used as a folder: "
                         f"{exc.strerror or exc}") from None
    else:
        if not stat.S_ISDIR(st.st_mode):
            raise ValueError(f"{func}: outdir {str(outdir)!r} must be a folder, got an existing "
                             f"{'file' if stat.S_ISREG(st.st_mode) else file_kind(st.st_mode)}")
    return Path(os.path.realpath(outdir))


def _inside(path: str, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(root)


def _walk(root: Path, out_root: Path, pairs: list[tuple[Path, Path]],
          problems: list[BatchFailure]) -> None:
    """Image files under ``root`` (symlinks followed, each folder walked once) into
    ``pairs``; entries that cannot be inputs into ``problems``. Hidden names and the
    output folder are left out; so are regular files without an image extension."""
    st = os.stat(root)
    visited = {(st.st_dev, st.st_ino)}
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems.append(BatchFailure(str(folder), f"cannot read this folder "
                                                      f"({exc.strerror or exc}): skipped"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                st = os.stat(entry.path)  # follows symlinks; never opens (a FIFO cannot block)
            except OSError as exc:
                problems.append(BatchFailure(entry.path, _unstatable(entry.path, exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                if _inside(entry.path, out_root):
                    continue  # our own outputs are not new inputs
                key = (st.st_dev, st.st_ino)
                if key in visited:
                    problems.append(BatchFailure(entry.path, "a symlink to a folder already "
                                                             "walked (a loop): skipped"))
                    continue
                visited.add(key)
                stack.append(Path(entry.path))
            elif stat.S_ISREG(st.st_mode):
                path = Path(entry.path)
                if path.suffix.lower() in IMAGE_EXTENSIONS and not (
                        entry.is_symlink() and _inside(entry.path, out_root)):
                    pairs.append((path, out_root / path.relative_to(root).with_suffix(".png")))
            else:
                problems.append(BatchFailure(entry.path, f"not a regular file "
                                                         f"({file_kind(st.st_mode)}): skipped"))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def collect_inputs(inputs: Iterable[str | os.PathLike], outdir: str | os.PathLike
                   ) -> CollectedInputs:
    """Expand files and folders into ``(input, output)`` path pairs, in a stable order.

    Folders are walked recursively, following symlinks (each folder once). Entries that
    cannot be inputs are not errors of the whole batch: each becomes one
    :class:`BatchFailure` in :attr:`CollectedInputs.problems`, and so do two inputs that
    would write the same output (``c.jpg`` and ``c.png``: neither is processed). Opening
    nothing, it cannot block on a FIFO.

    Raises
    ------
    FileNotFoundError
        An input path does not exist.
    ValueError
        ``outdir`` is not a folder (a file, a dangling symlink, a symlink loop).
    """
    out_root = check_outdir(outdir)
    pairs: list[tuple[Path, Path]] = []
    problems: list[BatchFailure] = []
    for item in inputs:
        p = Path(item)
        try:
            st = os.stat(p)
        except FileNotFoundError:
            if not os.path.islink(p):
                raise FileNotFoundError(f"run_batch: input {str(p)!r} is not a file or "
                                        f"folder") from None
            problems.append(BatchFailure(str(p), _unstatable(str(p), FileNotFoundError())))
            continue
        except OSError as exc:
            problems.append(BatchFailure(str(p), _unstatable(str(p), exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk(p, out_root, pairs, problems)
        elif stat.S_ISREG(st.st_mode):
            pairs.append((p, out_root / (p.stem + ".png")))
        else:
            problems.append(BatchFailure(str(p), f"not a regular file "
                                                 f"({file_kind(st.st_mode)}): skipped"))
    by_dst: dict[Path, list[Path]] = {}
    for src, dst in pairs:
        same = by_dst.setdefault(dst, [])
        if not any(_same_file(src, s) for s in same):  # one file named twice: once
            same.append(src)
    kept = []
    for dst, srcs in by_dst.items():
        if len(srcs) == 1:
            kept.append((srcs[0], dst))
        else:
            names = " and ".join(repr(str(s)) for s in sorted(srcs))
            each = "both" if len(srcs) == 2 else "all"
            problems.append(BatchFailure(str(min(srcs)), f"inputs {names} would {each} write "
                                                         f"{str(dst)!r}: none of them processed; "
                                                         f"rename one"))
    return CollectedInputs(tuple(sorted(kept)), tuple(sorted(problems, key=lambda f: f.path)))


def _quiet_decoder() -> None:
    """Silence OpenCV's own decoder warnings: a bad input is reported once, by us."""
    try:
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except (ImportError, AttributeError):  # pragma: no cover  (other OpenCV builds)
        pass


def _ops_used(pipeline: Any) -> dict[str, Any]:
    """The registry entries a pipeline's steps name (nested pipelines included)."""
    from cvgeo.ops import OPS, op_name_of
    from cvgeo.pipeline import Pipeline, Step

    found: dict[str, Any] = {}
    if isinstance(pipeline, Pipeline):
        for _, step in pipeline.steps:
            if isinstance(step, Pipeline):
                found.update(_ops_used(step))
                continue
            name = step.op_name if isinstance(step, Step) else op_name_of(type(step))
            if name in OPS:
                found[name] = OPS[name]
    return found


def _process_one(src: str, dst: str, pipeline: Any, ops: dict[str, Any] | None = None
                 ) -> tuple[str, str, str | None]:
    """Read, run, write one image. Returns ``(src, dst, error or None)``; never raises
    for a bad input (the batch goes on).

    ``ops`` are the registry entries the pipeline uses, installed first: a fresh worker
    process (spawned, or on a Dask cluster) knows only the static table, not ops
    registered at run time with :func:`cvgeo.register_op`.
    """
    from cvgeo.image import read_image, write_image
    from cvgeo.ops import OPS, to_display

    if ops:
        OPS.update(ops)
    _quiet_decoder()
    try:
        if not stat.S_ISREG(os.stat(src).st_mode):  # replaced since the scan: never open it
            raise ValueError(f"read_image: {src!r} is no longer a regular file")
        image = read_image(src)
        write_image(dst, to_display(pipeline(image)))
    except Exception as exc:  # a bad input is reported, not fatal
        return src, dst, f"{type(exc).__name__}: {exc}"
    return src, dst, None


def _as_pipeline(pipeline: Any) -> Any:
    from cvgeo.pipeline import load_pipeline

    if isinstance(pipeline, (str, os.PathLike)):
        return load_pipeline(pipeline)
    if not callable(pipeline):
        raise TypeError(f"run_batch: pipeline must be a Pipeline or a pipeline file, got "
                        f"{describe(pipeline)}")
    return pipeline


def run_batch(
    pipeline: Any,
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    jobs: int = 1,
    force: bool = False,
    client: Any = None,
    progress: bool = True,
) -> BatchResult:
    """Run ``pipeline`` over image files and folders, writing one PNG per input.

    Parameters
    ----------
    pipeline : Pipeline, callable, or path to a .json/.toml pipeline file
        Must be picklable for ``jobs > 1`` or Dask (a :class:`cvgeo.Pipeline` of
        registered ops is).
    inputs : path or sequence of paths
        Image files and folders (walked recursively).
    outdir : path
        Where outputs go (created if needed).
    jobs : int
        Local worker processes (``concurrent.futures.ProcessPoolExecutor``, spawned);
        1 runs in this process. Ignored when ``client`` is given. Ops registered at run
        time with :func:`cvgeo.register_op` travel with the pipeline to every worker
        (their functions must be importable there).
    force : bool
        Recompute inputs whose output already exists (default: skip them).
    client : dask.distributed.Client or None
        Map the batch over this Dask cluster instead (one task per input).
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    BatchResult
        Counts of processed, skipped and failed inputs with the failures' messages.

    Raises
    ------
    FileNotFoundError
        An input path does not exist.
    ValueError, TypeError
        Bad arguments (nothing is run), including an ``outdir`` that is not a folder
        (a file, a dangling symlink, a symlink loop) or cannot be created.
    """
    from tqdm.auto import tqdm

    jobs = check_int(jobs, "run_batch", "jobs", low=1)
    pipe = _as_pipeline(pipeline)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found = collect_inputs(inputs, outdir)
    pairs = found.pairs
    t0 = time.perf_counter()
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"run_batch: cannot create outdir {str(outdir)!r}: "
                         f"{exc.strerror or exc}") from None
    cleaned = _remove_stale_outputs(pairs)
    todo = [(str(s), str(d)) for s, d in pairs if force or not d.exists()]
    skipped = [str(d) for s, d in pairs if not (force or not d.exists())]
    processed: list[str] = []
    failed: list[BatchFailure] = list(found.problems)
    ops = _ops_used(pipe)

    def record(res: tuple[str, str, str | None]) -> None:
        src, dst, err = res
        if err is None:
            processed.append(dst)
        else:
            failed.append(BatchFailure(src, err))
        bar.update(1)

    bar = tqdm(total=len(todo), file=sys.stderr, disable=not progress, unit="img",
               desc="cvgeo run", dynamic_ncols=True)
    try:
        if client is not None:
            from distributed import as_completed as dask_completed

            futures = client.map(_process_one, [s for s, _ in todo], [d for _, d in todo],
                                 pipeline=pipe, ops=ops, pure=False)
            try:
                for fut in dask_completed(futures):
                    record(fut.result())
            except BaseException:  # Ctrl-C: cancel what has not run
                client.cancel(futures)
                raise
        elif jobs == 1 or len(todo) <= 1:
            for src, dst in todo:
                record(_process_one(src, dst, pipe))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # spawn: the same behaviour on every platform, and no fork of a process that
            # runs threads (a Dask client, tqdm's monitor)
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo)),
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                futs = [pool.submit(_process_one, s, d, pipe, ops) for s, d in todo]
                try:
                    for fut in as_completed(futs):
                        record(fut.result())
                except BaseException:  # Ctrl-C: stop queued work; running items finish
                    for fut in futs:
                        fut.cancel()
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    finally:
        bar.close()
    return BatchResult(tuple(sorted(processed)), tuple(sorted(skipped)),
                       tuple(sorted(failed, key=lambda f: f.path)),
                       time.perf_counter() - t0, tuple(str(p) for p in cleaned))


def _remove_stale_outputs(pairs: Sequence[tuple[Path, Path]]) -> list[Path]:
    """Temporary files of this batch's outputs left by writers that were killed (one
    folder listing per output folder; a live writer's files are left alone)."""
    from cvgeo._io import remove_stale_parts

    by_folder: dict[Path, set[str]] = {}
    for _, dst in pairs:
        by_folder.setdefault(dst.parent, set()).add(dst.name)
    removed: list[Path] = []
    for folder, names in sorted(by_folder.items()):
        removed += remove_stale_parts(folder, names)
    return removed
