"""Batch runs: one pipeline over many image files, locally in processes or on Dask.

Reliability rules (the same for every engine):

* an input that cannot be read, or on which the pipeline fails, is recorded in the
  result (:attr:`BatchResult.failed`) and the batch goes on;
* every output is written atomically (:func:`cvgeo.write_image`: temporary file, then
  rename), so an interrupted run never leaves a partial file and loses nothing it
  finished;
* an input whose output already exists is skipped (counted in
  :attr:`BatchResult.skipped`) unless ``force=True``: re-running an interrupted batch
  does only the work that is left.

Conventions
-----------
A folder input is walked recursively for image files (extensions in
:data:`IMAGE_EXTENSIONS`, names not starting with ``"."``); its outputs mirror the
folder's layout under ``outdir``. A file input writes ``outdir / <stem>.png``. Outputs
are PNG, made displayable with :func:`cvgeo.ops.to_display`. With Dask, inputs and
outputs are *paths*: the workers must see the same filesystem (a ``LocalCluster``
does; a remote cluster needs a shared disk).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvgeo._checks import check_int, describe

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
        Inputs that could not be processed, with the reason (sorted by path).
    seconds : float
        Wall-clock time of the run.
    """

    processed: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[BatchFailure, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        """True when no input failed."""
        return not self.failed

    @property
    def total(self) -> int:
        """Number of inputs."""
        return len(self.processed) + len(self.skipped) + len(self.failed)

    def summary(self) -> str:
        """One line: ``processed 49, skipped 0, failed 1 (50 inputs) in 3.2 s``."""
        return (f"processed {len(self.processed)}, skipped {len(self.skipped)}, failed "
                f"{len(self.failed)} ({self.total} inputs) in {self.seconds:.1f} s")


def collect_inputs(inputs: Iterable[str | os.PathLike], outdir: str | os.PathLike
                   ) -> list[tuple[Path, Path]]:
    """Expand files and folders into ``(input, output)`` path pairs, in a stable order.

    Raises
    ------
    FileNotFoundError
        An input path does not exist.
    ValueError
        Two inputs would write the same output.
    """
    out_root = Path(outdir).resolve()
    pairs: list[tuple[Path, Path]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
                and not f.resolve().is_relative_to(out_root)
            )
            pairs += [(f, out_root / f.relative_to(p).with_suffix(".png")) for f in found]
        elif p.is_file():
            pairs.append((p, out_root / (p.stem + ".png")))
        else:
            raise FileNotFoundError(f"run_batch: input {str(p)!r} is not a file or folder")
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        if dst in seen:
            raise ValueError(f"run_batch: inputs {str(seen[dst])!r} and {str(src)!r} would both "
                             f"write {str(dst)!r}")
        seen[dst] = src
    return pairs


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
        Bad arguments (nothing is run).
    """
    from tqdm.auto import tqdm

    jobs = check_int(jobs, "run_batch", "jobs", low=1)
    pipe = _as_pipeline(pipeline)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    pairs = collect_inputs(inputs, outdir)
    t0 = time.perf_counter()
    todo = [(str(s), str(d)) for s, d in pairs if force or not d.exists()]
    skipped = [str(d) for s, d in pairs if not (force or not d.exists())]
    processed: list[str] = []
    failed: list[BatchFailure] = []
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
                       time.perf_counter() - t0)
