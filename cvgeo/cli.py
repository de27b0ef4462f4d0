"""The ``cvgeo`` command.

::

    cvgeo ops                                  list registered steps, parameters, defaults
    cvgeo run PIPELINE INPUTS... -o OUTDIR     run a pipeline file over images / folders
              [--jobs N] [--force] [--dask ADDRESS] [--quiet]
    cvgeo gallery [-o DIR] [--quiet]           every algorithm on bundled images -> HTML

Exit status
-----------
0
    Success: every input processed or skipped (``run``), every figure drawn (``gallery``).
1
    Finished, but one or more inputs (``run``) or figures (``gallery``) failed; each is
    reported on stderr as one line starting with ``error:``. For ``run`` that includes
    folder entries that cannot be inputs (unreadable folders, dangling symlinks, symlink
    loops, FIFOs) and inputs that would write the same output.
2
    Usage error, nothing run: bad arguments, an unreadable or invalid pipeline file,
    an input path that does not exist, no image files found, an output folder that is
    not a folder (a file, a dangling symlink, a symlink loop) or cannot be created, a
    Dask address that cannot be reached.
130
    Interrupted (Ctrl-C). Outputs finished so far are complete files; re-running
    skips them.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_FAILED_INPUTS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

__all__ = ["main"]


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _cmd_ops(args: argparse.Namespace) -> int:
    import typing

    from cvgeo.ops import OPS, resolve_op
    from cvgeo.pipeline import params_of

    for name in sorted(OPS):
        spec = OPS[name]
        try:
            fn = resolve_op(name)
        except ImportError as exc:
            print(f"{name}  [{spec.target}]  (unavailable: {exc})")
            continue
        doc = (inspect.getdoc(fn) or "").strip().splitlines()
        params, hints = params_of(fn)
        adaptor = f" -> {spec.output}" if spec.output else ""
        print(f"{name}  [{spec.target}{adaptor}]  {doc[0] if doc else ''}")
        for p in params:
            hint = hints.get(p.name)
            htext = ""
            if hint is not None:
                htext = ": " + (getattr(hint, "__name__", None) if not typing.get_args(hint)
                                else str(hint).replace("typing.", ""))
            default = "(required)" if p.default is p.empty else f"= {p.default!r}"
            print(f"    {p.name}{htext} {default}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from cvgeo.batch import collect_inputs, run_batch
    from cvgeo.pipeline import PipelineFileError, load_pipeline

    if args.jobs < 1:
        _err(f"--jobs must be >= 1, got {args.jobs}")
        return EXIT_USAGE
    try:
        pipe = load_pipeline(args.pipeline)
        found = collect_inputs(args.inputs, args.outdir)
    except (PipelineFileError, FileNotFoundError, ValueError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    if not found.pairs and not found.problems:
        _err(f"no image files found in {', '.join(args.inputs)}")
        return EXIT_USAGE
    client = None
    try:
        if args.dask:
            try:
                from distributed import Client
            except ImportError:
                _err("--dask needs dask.distributed (pip install 'cvgeo[dask]')")
                return EXIT_USAGE
            try:
                client = Client(args.dask, timeout=f"{args.dask_timeout}s")
            except (OSError, TimeoutError, ValueError) as exc:
                _err(f"cannot connect to the Dask scheduler at {args.dask!r}: {exc}")
                return EXIT_USAGE
        result = run_batch(pipe, args.inputs, args.outdir, jobs=args.jobs, force=args.force,
                           client=client, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as exc:  # the outdir cannot be created...
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted; finished outputs are complete, re-run to do the rest")
        return EXIT_INTERRUPTED
    finally:
        if client is not None:
            client.close()
    for failure in result.failed:
        _err(f"{failure.path}: {failure.error}")
    print(result.summary())
    return EXIT_OK if result.ok else EXIT_FAILED_INPUTS


def _cmd_gallery(args: argparse.Namespace) -> int:
    from cvgeo.gallery import build_gallery

    try:
        result = build_gallery(args.outdir, progress=not args.quiet)
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    for line in result.unavailable:
        print(f"note: section {line}", file=sys.stderr)
    for line in result.failures:
        _err(line)
    print(f"wrote {result.index} ({len(result.images)} images, {len(result.failures)} failed) "
          f"in {result.seconds:.1f} s")
    return EXIT_OK if result.ok else EXIT_FAILED_INPUTS


def _parser() -> argparse.ArgumentParser:
    from cvgeo import __version__

    parser = argparse.ArgumentParser(
        prog="cvgeo", description="cvgeo: pipelines, batch runs and the gallery.",
        epilog="Exit status: 0 ok, 1 some inputs/figures failed, 2 usage error, "
               "130 interrupted.")
    parser.add_argument("--version", action="version", version=f"cvgeo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p_ops = sub.add_parser("ops", help="list registered steps with their parameters")
    p_ops.set_defaults(func=_cmd_ops)

    p_run = sub.add_parser("run", help="run a pipeline file over image files and folders")
    p_run.add_argument("pipeline", help="pipeline file (.json or .toml)")
    p_run.add_argument("inputs", nargs="+", help="image files and/or folders")
    p_run.add_argument("-o", "--outdir", required=True, help="output folder")
    p_run.add_argument("-j", "--jobs", type=int, default=1,
                       help="local worker processes (default 1)")
    p_run.add_argument("--force", action="store_true",
                       help="recompute outputs that already exist")
    p_run.add_argument("--dask", metavar="ADDRESS",
                       help="run on this Dask scheduler (e.g. tcp://host:8786)")
    p_run.add_argument("--dask-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="how long to try connecting to the Dask scheduler (default 10)")
    p_run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p_run.set_defaults(func=_cmd_run)

    p_gal = sub.add_parser("gallery", help="run every algorithm on bundled images -> HTML")
    p_gal.add_argument("-o", "--outdir", default="cvgeo-gallery",
                       help="output folder (default ./cvgeo-gallery)")
    p_gal.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p_gal.set_defaults(func=_cmd_gallery)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cvgeo`` command; returns the exit status (see module doc)."""
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
