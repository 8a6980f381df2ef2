"""Command line of the benchmark: ``kansr bench feynman …`` and ``kansr bench summarize DIR``.

The main CLI (:mod:`kansr.cli`) calls :func:`add_bench_parser` on its
sub-parsers and hands ``args.command == "bench"`` to :func:`run_bench`.
``python -m kansr.bench.cli feynman …`` runs the same commands standalone.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from kansr.errors import UsageError

__all__ = ["add_bench_parser", "run_bench", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``feynman``, ``summarize`` and ``recheck`` sub-commands to a ``bench`` parser."""
    sub = parser.add_subparsers(dest="bench_command", metavar="{feynman,summarize,recheck}")
    sub.required = True

    feyn = sub.add_parser(
        "feynman",
        help="run discover() on Feynman equations and check exact recovery",
        description="Run discover() on Feynman equations x noise levels x seeds. Results are appended to "
        "OUT/results.jsonl as tasks finish; rerunning the same command resumes where it stopped.",
    )
    which = feyn.add_mutually_exclusive_group()
    which.add_argument("--equations", metavar="ID,…", help="comma-separated equation ids, e.g. I.12.1,II.3.24")
    which.add_argument("--subset", choices=("srbench", "quick", "all"), help="a predefined set of equations")
    feyn.add_argument("--noise", default="0", metavar="L,…", help="comma-separated noise levels (default: 0)")
    feyn.add_argument("--seeds", default="0", metavar="S,…", help="comma-separated replicate seeds (default: 0)")
    feyn.add_argument("--time-budget", default="120", metavar="SECONDS", help="seconds per task (default: 120)")
    feyn.add_argument("--workers", metavar="N", help="worker processes (default: all CPUs)")
    feyn.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask scheduler (tcp://host:8786)")
    feyn.add_argument("--dask-local", action="store_true", help="run on a local Dask cluster of --workers processes")
    feyn.add_argument("--n-train", default="1000", metavar="N", help="training rows per task (default: 1000)")
    feyn.add_argument("--out", default="bench_out", metavar="DIR", help="output directory (default: bench_out)")
    feyn.add_argument("--units", action="store_true",
                      help="give discover the variables' units (feynman_data/units.json)")
    feyn.add_argument("--retry-errors", action="store_true", help="rerun tasks recorded with an error")
    feyn.add_argument("--no-progress", action="store_true", help="do not show a progress bar")

    summ = sub.add_parser(
        "summarize",
        help="write summary.md and summary.png for a benchmark directory",
        description="Summarise OUT/results.jsonl as summary.md (printed) and summary.png.",
    )
    summ.add_argument("dir", metavar="DIR", help="benchmark output directory")

    rechk = sub.add_parser(
        "recheck",
        help="score the recorded formulas again with the current solution check",
        description="Rebuild each task's test set from its seeds, check the recorded formula again and "
        "rewrite DIR/results.jsonl (the run's verdicts are kept as solved_at_run). Do not run it while "
        "a benchmark writes to DIR.",
    )
    rechk.add_argument("dir", metavar="DIR", help="benchmark output directory")


def add_bench_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``bench`` command on the main CLI's sub-parsers.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The object returned by ``ArgumentParser.add_subparsers()``.

    Returns
    -------
    argparse.ArgumentParser
        The ``bench`` parser.
    """
    parser = subparsers.add_parser(
        "bench",
        help="benchmark formula discovery on the Feynman equations",
        description="Benchmark formula discovery on the AI Feynman equations (SRBench criterion).",
    )
    _configure(parser)
    return parser


# -- argument parsing (one-line errors instead of argparse's usage dump) ------
def _split(text: str, what: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise UsageError(f"{what} must be a comma-separated list without empty items, got {text!r}")
    return items


def _noises(text: str) -> list[float]:
    out = []
    for item in _split(text, "--noise"):
        try:
            value = float(item)
        except ValueError:
            raise UsageError(f"--noise: {item!r} is not a number (use e.g. 0,0.01)") from None
        if not (math.isfinite(value) and value >= 0):
            raise UsageError(f"--noise: levels must be finite and >= 0, got {item}")
        out.append(value)
    return out


def _int(text: str, what: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not an integer") from None
    if value < minimum:
        raise UsageError(f"{what} must be >= {minimum}, got {value}")
    return value


def _float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{what} must be a positive number, got {text}")
    return value


def _output_dir(text: str, what: str) -> str:
    """Create ``text`` as a directory if need be and check that files can be written in it."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {text!r} exists and is not a directory; choose a directory path")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UsageError(f"{what} {text!r} cannot be written: {exc.strerror or exc}") from None
    return text


def _equations(args: argparse.Namespace) -> list[str]:
    import feynman_data

    if args.equations is None and args.subset is None:
        raise UsageError("choose the equations with --equations ID,… or --subset srbench|quick|all")
    if args.subset is not None:
        return feynman_data.list_equations(args.subset)
    ids = []
    for item in _split(args.equations, "--equations"):
        try:
            ids.append(feynman_data.get(item).id)
        except ValueError as exc:
            raise UsageError(f"--equations: {exc}") from None
    return ids


def _run_feynman(args: argparse.Namespace) -> int:
    equations = _equations(args)
    noises = _noises(args.noise)
    seeds = [_int(item, "--seeds", 0) for item in _split(args.seeds, "--seeds")]
    time_budget = _float(args.time_budget, "--time-budget")
    n_train = _int(args.n_train, "--n-train", 10)
    workers = None if args.workers is None else _int(args.workers, "--workers", 1)
    if args.scheduler is not None and args.dask_local:
        raise UsageError("--scheduler and --dask-local exclude each other")
    _output_dir(args.out, "--out")

    from kansr.bench.runner import read_results, run_benchmark
    from kansr.bench.summary import summarize

    n_tasks = len(equations) * len(set(noises)) * len(set(seeds))
    print(f"kansr bench: {n_tasks} tasks, results in {args.out}/results.jsonl", file=sys.stderr)
    try:
        run_benchmark(
            equations,
            noises,
            seeds,
            time_budget=time_budget,
            n_train=n_train,
            workers=workers,
            scheduler=args.scheduler,
            use_dask_local=args.dask_local,
            out_dir=args.out,
            progress=not args.no_progress,
            retry_errors=args.retry_errors,
            units=args.units,
        )
    except KeyboardInterrupt:
        print("kansr bench: interrupted; finished tasks are saved, rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    summarize(args.out)
    wanted = {(eq, float(nz), int(sd)) for eq in equations for nz in noises for sd in seeds}
    latest = {(r["equation"], float(r["noise"]), int(r["seed"])): r for r in read_results(args.out)}
    mine = [r for k, r in latest.items() if k in wanted]
    solved = sum(bool(r.get("solved")) for r in mine)
    errors = sum(bool(r.get("error")) for r in mine)
    print(f"solved {solved} of {len(mine)} tasks" + (f" ({errors} errors)" if errors else ""))
    print(f"summary: {args.out}/summary.md, {args.out}/summary.png")
    return EXIT_OK


def _run_summarize(args: argparse.Namespace) -> int:
    from kansr.bench.summary import summarize

    print(summarize(args.dir))
    return EXIT_OK


def _run_recheck(args: argparse.Namespace) -> int:
    from kansr.bench.recheck import recheck_results
    from kansr.bench.summary import summarize

    try:
        counts = recheck_results(args.dir)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    print(f"rechecked {counts['checked']} formulas: {counts['changed']} verdicts changed, "
          f"{counts['solved']} solved")
    print(summarize(args.dir))
    return EXIT_OK


def run_bench(args: argparse.Namespace) -> int:
    """Run a parsed ``bench`` command.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments from the parser built by :func:`add_bench_parser`.

    Returns
    -------
    int
        Exit code: 0 on success, 2 for bad arguments (a one-line message on
        stderr), 130 when interrupted (finished tasks are kept).
    """
    handlers = {"feynman": _run_feynman, "summarize": _run_summarize, "recheck": _run_recheck}
    command = getattr(args, "bench_command", None)
    if command not in handlers:
        print(f"kansr bench: error: choose a sub-command: {', '.join(handlers)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return handlers[command](args)
    except ValueError as exc:  # UsageError, DataError (a bad results file) and the library's argument checks
        print(f"kansr bench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # e.g. summarize into a folder that cannot be written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"kansr bench: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m kansr.bench.cli feynman …``."""
    parser = argparse.ArgumentParser(
        prog="kansr bench", description="Benchmark formula discovery on the Feynman equations."
    )
    _configure(parser)
    return run_bench(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
