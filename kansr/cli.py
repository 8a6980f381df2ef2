"""The ``kansr`` command line.

``kansr discover DATA.csv --target COL``
    Find a formula for ``COL`` from the other columns (or ``--features``),
    report it with test-split metrics and the Pareto front, and with
    ``--out DIR`` write ``result.json``, ``equations.csv``, ``model.kan`` (when
    a KAN was trained), ``network.png`` and ``predictions.png``.
``kansr bench ...``
    The benchmark (:mod:`kansr.bench.cli`), when installed.

Exit codes: 0 success, 1 internal error, 2 bad input or usage, 130
interrupted (Ctrl-C), 143 terminated (SIGTERM); interrupted or terminated,
``discover`` still reports and writes what it found, and leaves no temporary
files.  Errors are one line on stderr; ``--debug`` adds the traceback.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kansr._version import __version__
from kansr.errors import KansrError, UsageError

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_INTERNAL", "EXIT_USAGE", "EXIT_INTERRUPTED", "EXIT_TERMINATED"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it

#: Share of rows held out for the reported test metrics.
TEST_FRACTION = 0.2
#: Files ``discover --out`` writes; a rerun replaces all of them.
OUTPUT_FILES = ("result.json", "equations.csv", "model.kan", "network.png", "predictions.png")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and do not exit the process."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


# ----------------------------------------------------------------------------- parser
def _add_discover_parser(sub) -> argparse.ArgumentParser:
    from kansr.discovery import GENERATORS

    p = sub.add_parser(
        "discover",
        help="find a closed-form formula for one column of a CSV file",
        description="Find a closed-form formula TARGET = f(features) in a CSV file. 20%% of the rows "
        "(chosen with --seed) are held out for the reported test R²/RMSE.",
    )
    p.add_argument("data", metavar="DATA.csv", help="CSV file with a header row")
    p.add_argument("--target", required=True, metavar="COL", help="column to explain (header or variable name)")
    p.add_argument(
        "--features", metavar="A,B,...",
        help="comma-separated input columns (default: every column except the target)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the test split and the search (default 0)")
    p.add_argument(
        "--time-budget", type=float, default=60.0, metavar="SECONDS",
        help="seconds for the search; later structure generators are skipped when it runs out (default 60)",
    )
    p.add_argument(
        "--generators", metavar="G1,G2,...",
        help=f"structure generators to run, cheapest first (default: all of {','.join(GENERATORS)})",
    )
    p.add_argument(
        "--library", metavar="F1,F2,...",
        help="functions for snapping KAN edges, e.g. x,x^2,sin,exp (default: the whole library)",
    )
    p.add_argument(
        "--decimal", default=".", metavar="CHAR",
        help="decimal mark of the numbers, e.g. --decimal , for 3,5 (default .)",
    )
    p.add_argument(
        "--thousands", metavar="CHAR",
        help="thousands separator of the numbers, e.g. --thousands , for 1,234.5 (default: none)",
    )
    p.add_argument(
        "--on-missing", choices=("drop", "error"), default="drop",
        help="rows with empty/NaN/inf cells: drop them with a warning (default) or fail",
    )
    p.add_argument(
        "--units", metavar="COL=UNIT,...",
        help="units of the input columns, e.g. \"m=kg,v=m/s\" ('1' for pure numbers; keys: header, variable "
        "name or the header without its unit); with the target's unit the search uses dimensional analysis",
    )
    p.add_argument("--target-units", metavar="UNIT", help="unit of the target column, e.g. J")
    p.add_argument(
        "--no-header-units", action="store_true",
        help="do not read units written in the headers (\"E [J]\", \"T (K)\", \"v in m/s\")",
    )
    p.add_argument(
        "--out", metavar="DIR", type=Path,
        help="write result.json, equations.csv, model.kan, network.png, predictions.png here "
        "(files of an earlier run are replaced only when this run succeeds)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    p.set_defaults(func=_cmd_discover)
    return p


def _add_bench(sub) -> None:
    """Register ``bench`` from :mod:`kansr.bench.cli` if that module is available."""
    try:
        from kansr.bench.cli import add_bench_parser, run_bench
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("kansr.bench"):
            return  # not installed in this version: no bench command
        _add_broken_bench(sub, exc)
        return
    except Exception as exc:  # a broken optional module must not break `kansr discover`
        _add_broken_bench(sub, exc)
        return
    parser = add_bench_parser(sub)
    if isinstance(parser, argparse.ArgumentParser) and parser.get_default("func") is None:
        parser.set_defaults(func=run_bench)


def _add_broken_bench(sub, exc: BaseException) -> None:
    p = sub.add_parser("bench", help="run the benchmark (unavailable: see the error)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def fail(args: argparse.Namespace) -> int:
        raise UsageError(f"the bench command is unavailable: {type(exc).__name__}: {exc}")

    p.set_defaults(func=fail)


def build_parser() -> argparse.ArgumentParser:
    """The ``kansr`` argument parser (subcommands ``discover`` and, if available, ``bench``)."""
    parser = _Parser(prog="kansr", description="Discover closed-form formulas with Kolmogorov-Arnold Networks.")
    parser.add_argument("--version", action="version", version=f"kansr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_discover_parser(sub)
    _add_bench(sub)
    return parser


# ----------------------------------------------------------------------------- entry point
def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kansr`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code (see the module docstring).
    """
    stop = _StopSignals()
    try:
        with stop:
            return _main(argv, stop)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while starting up or finishing
        print(f"kansr: {stop.what}; no outputs written", file=sys.stderr)
        return stop.exit_code


def _main(argv: Sequence[str] | None, stop: _StopSignals) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if getattr(args, "func", None) is None:
        parser.print_usage(sys.stderr)
        print("kansr: error: choose a command, e.g. 'kansr discover data.csv --target y'", file=sys.stderr)
        return EXIT_USAGE
    args.stop = stop
    debug = bool(getattr(args, "debug", False))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # --debug: kansr's own log (e.g. each generator's timing), not every library's.
    logging.getLogger("kansr").setLevel(logging.DEBUG if debug else logging.WARNING)
    try:
        code = args.func(args)
        return int(code) if code is not None else EXIT_OK
    except KeyboardInterrupt:
        print(f"kansr: {stop.what}; no outputs written", file=sys.stderr)
        return stop.exit_code
    except KansrError as exc:  # bad data, options, model files or formulas: the user can fix it
        if debug:
            traceback.print_exc()
        print(f"kansr: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `kansr discover ... | head`: the reader has what it wanted (outputs are written)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush of stdout stays quiet
        return EXIT_OK
    except Exception as exc:  # anything else is a bug: say so, keep it to one line
        if debug:
            traceback.print_exc()
        print(
            f"kansr: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


# ----------------------------------------------------------------------------- discover
def _split_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


class _Staging:
    """Outputs are written to a temporary directory next to ``out`` and moved in at the end.

    Until :meth:`commit`, ``out`` is not touched, so a failed or interrupted
    run leaves an earlier run's files as they were.  Each file is moved with
    :func:`os.replace` (atomic on one file system, which the sibling
    directory guarantees).
    """

    def __init__(self, out: Path) -> None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {str(out)!r} exists and is not a directory; choose a directory path")
        parent = out.resolve().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.kansr-", dir=parent))
        except OSError as exc:
            raise UsageError(f"cannot write next to --out {str(out)!r}: {exc.strerror or exc}") from None
        self.out = out

    def path(self, name: str) -> Path:
        return self.tmp / name

    def commit(self) -> list[Path]:
        """Move the written files into ``out``; remove earlier outputs this run did not produce."""
        self.out.mkdir(parents=True, exist_ok=True)
        written = sorted(p.name for p in self.tmp.iterdir() if p.is_file() and not p.name.startswith("."))
        moved = []
        for name in written:  # written by kansr._fileio: already with the caller's umask mode
            os.replace(self.tmp / name, self.out / name)
            moved.append(self.out / name)
        for name in OUTPUT_FILES:  # e.g. a model.kan from an earlier run that trained a KAN
            if name not in written:
                (self.out / name).unlink(missing_ok=True)
        self.discard()
        return moved

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class _StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM both raise KeyboardInterrupt, and are remembered.

    SIGTERM (``kill``, a batch scheduler, a container stop) would otherwise
    end the process on the spot, leaving the staging folder behind and the
    best formula unreported.  The flag also survives lower layers that catch
    the KeyboardInterrupt to stop cleanly (training keeps its model), so the
    run is still reported as interrupted.  Handlers are installed only in
    the main thread (signals go there) and restored on exit.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def seen(self) -> bool:
        return self.signum is not None

    @property
    def what(self) -> str:
        return "terminated (SIGTERM)" if self.signum == signal.SIGTERM else "interrupted"

    @property
    def exit_code(self) -> int:
        return EXIT_TERMINATED if self.signum == signal.SIGTERM else EXIT_INTERRUPTED

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.signum is None or signum == signal.SIGTERM:
            self.signum = signum
        raise KeyboardInterrupt

    def __exit__(self, *exc_info) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()


def _metrics(y: np.ndarray, pred: np.ndarray) -> tuple[float, float, int]:
    """R², RMSE over finite predictions, and the number of non-finite ones."""
    ok = np.isfinite(pred)
    if not ok.any():
        return math.nan, math.nan, int(pred.size)
    from kansr._metrics import r2_rmse

    r2, error = r2_rmse(y[ok], pred[ok])
    return r2, error, int((~ok).sum())


def _finite_or_none(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _in_columns(expr, names: Sequence[str], columns: Sequence[str], target: str, target_name: str) -> str | None:
    """The formula written with the original column names (None when they equal the variable names)."""
    import sympy

    from kansr.symbolic._safe_expr import symbol_for

    if list(names) == list(columns) and target == target_name:
        return None
    reps = {symbol_for(n): sympy.Symbol(f"`{c}`" if c != n else c) for n, c in zip(names, columns)}
    lhs = f"`{target}`" if target != target_name else target
    return f"{lhs} = {expr.xreplace(reps)}"


def _format_table(rows: list[dict], chosen: str) -> list[str]:
    head = f"  {'complexity':>10}  {'val RMSE':>11}  {'val R²':>9}  formula"
    lines = [head]

    def number(value, spec: str, width: int) -> str:  # JSON has no NaN/inf: they are None here
        return f"{'n/a':>{width}}" if value is None else f"{value:>{width}{spec}}"

    for r in rows:
        mark = "*" if r["formula"] == chosen else " "
        lines.append(f"{mark} {r['complexity']:>10d}  {number(r['val_rmse'], '.4g', 11)}  "
                     f"{number(r['val_r2'], '.6f', 9)}  {r['formula']}")
    return lines


def _cmd_discover(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from kansr._resources import torch_threads
    from kansr._tabular import load_csv
    from kansr._validation import MIN_ROWS, check_seed, check_time_budget
    from kansr.discovery import GENERATORS, discover, get_generators
    from kansr.errors import DataWarning
    from kansr.symbolic import resolve_library
    from kansr.train import tune_allocator

    # Check every option before the (long) search so typos fail fast.
    generators = _split_list(args.generators)
    library = _split_list(args.library)
    for option, given, items in (("--generators", args.generators, generators), ("--library", args.library, library)):
        if given is not None and items is None:
            raise UsageError(f"{option} is empty; give comma-separated names")
    generators = generators or list(GENERATORS)
    for option, check in (("--generators", lambda: get_generators(generators)),
                          ("--library", lambda: library is None or resolve_library(library)),
                          ("--time-budget", lambda: check_time_budget(args.time_budget))):
        try:
            check()
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{option}: {_one_line(exc)}") from None
    features = _split_list(args.features)
    if args.features is not None and not features:
        raise UsageError("--features is empty; give comma-separated column names")
    from kansr.units import parse_unit_pairs, resolve_column_units

    given_units = None if args.units is None else parse_unit_pairs(args.units)

    show_progress = not args.no_progress
    stages = tqdm(total=4, desc="kansr", unit="stage", disable=args.no_progress or not sys.stderr.isatty(),
                  file=sys.stderr, leave=False)
    staging: _Staging | None = None
    try:
        if args.out is not None:  # before the search: an unwritable --out fails fast
            staging = _Staging(args.out)
        stages.set_postfix_str("loading data")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            ds = load_csv(args.data, args.target, features=features, on_missing=args.on_missing,
                          decimal=args.decimal, thousands=args.thousands)
        for w in caught:
            if issubclass(w.category, DataWarning):
                stages.clear()
                print(f"kansr: warning: {w.message}", file=sys.stderr)
        column_units = resolve_column_units(
            ds.columns, ds.names, ds.target, given=given_units, target_unit=args.target_units,
            read_headers=not args.no_header_units, dropped=list(ds.dropped), target_name=ds.target_name)
        for note in column_units.notes:
            stages.clear()
            print(f"kansr: warning: {note}", file=sys.stderr)
        stages.update()

        n_test = min(int(round(TEST_FRACTION * ds.n_samples)), max(ds.n_samples - MIN_ROWS, 0))
        seed = check_seed(args.seed)  # argparse made it an int: any int is reduced to a usable seed
        train, test = ds.split(n_test / ds.n_samples, seed=seed)
        stages.set_postfix_str("discovering")
        # The command owns its process: one torch thread suits discovery's small
        # networks, and the allocator keeps freed memory for the next step.
        tune_allocator()
        with warnings.catch_warnings(record=True) as caught, torch_threads(1):
            warnings.simplefilter("always")
            result = _within_budget(args.time_budget, lambda: discover(
                train.X, train.y, train.names, seed=seed, time_budget=args.time_budget,
                generators=generators, library=library, progress=show_progress and sys.stderr.isatty(),
                units=column_units.units, y_units=column_units.y_units,
            ))
        if args.stop.seen:
            result.interrupted = True
        for w in caught:  # numerical chatter of the search: only worth seeing when debugging
            logger.debug("warning during discovery: %s", w.message)
        stages.update()

        stages.set_postfix_str("evaluating")
        evaluated = test if test.n_samples else train
        pred = result.formula(evaluated.X)
        r2, rmse, n_bad = _metrics(evaluated.y, pred)
        stages.update()

        summary = _summary(args, ds, train, test, result, r2, rmse, column_units)
        if staging is not None:
            stages.set_postfix_str("writing outputs")
            _write_outputs(staging, summary, result, train, evaluated, pred)
            written = staging.commit()
        else:
            written = []
        stages.update()
    except BaseException:
        if staging is not None:
            staging.discard()
        raise
    finally:
        stages.close()

    # Without a signal (a lower layer stopped the search) `what` and `exit_code` say "interrupted".
    _report(summary, result, ds, test, n_bad, written, args.stop.what)
    return args.stop.exit_code if result.interrupted else EXIT_OK


def _hard_limit(time_budget: float | None) -> float | None:
    """Seconds after which the CLI cuts a search that overran its budget."""
    return None if time_budget is None else 1.1 * time_budget + 1.0


def _within_budget(time_budget: float | None, search):
    """Run ``search()`` and cut it at :func:`_hard_limit` of the budget.

    The generators check the budget between their steps, but one step (a
    network's snapping, a sympy simplification) can run for seconds on a
    busy machine.  The command owns its process, so it may arm an alarm:
    when it fires, ``discover`` stops as on Ctrl-C and returns its best
    formula so far.  That is the budget doing its job, not an interruption.
    """
    from kansr._timeout import hard_time_limit, time_limit_reached
    from kansr.errors import TimeLimitReached

    result = None
    try:
        with hard_time_limit(_hard_limit(time_budget)):
            result = search()
            cut = time_limit_reached()
    except TimeLimitReached:
        if result is None:  # nothing found at all (the first generator takes well under a second)
            raise
        cut = True  # the alarm fired between the search's return and its disarming
    if cut:
        result.interrupted = False
        note = f"the search was cut at its hard time limit of {_hard_limit(time_budget):g} s"
        result.log.append(note)
        print(f"kansr: note: {note}", file=sys.stderr)
    return result


def _summary(args, ds, train, test, result, r2: float, rmse: float, column_units) -> dict:
    """The content of ``result.json``."""
    formula = result.formula
    unused = {ds.mapping[n]: "not used by the formula" for n in result.dropped_features}
    reasons = {**ds.dropped, **unused}
    return {
        "formula": str(formula.expr),
        "formula_in_columns": _in_columns(formula.expr, ds.names, ds.columns, ds.target, ds.target_name),
        "latex": formula.latex(),
        "target": ds.target,
        "target_name": ds.target_name,
        "variables": dict(ds.mapping),
        "r2_test": _finite_or_none(r2),
        "rmse_test": _finite_or_none(rmse),
        "test_rows": int(test.n_samples),
        "train_rows": int(train.n_samples),
        "dropped_rows": int(ds.n_dropped_rows),
        "complexity": int(formula.complexity),
        "generator": result.best.source,
        "units": None if result.units is None else {
            "columns": result.units.units,
            "read_from_headers": column_units.read,
            "groups": result.units.groups,
            "dimensions": result.best.dimensions,
            "candidates_on_groups": result.units.group_candidates,
        },
        "units_read_from_headers": column_units.read,
        "n_candidates": int(result.n_candidates),
        "pareto": [{k: _finite_or_none(v) for k, v in row.items()} for row in result.pareto_table()],
        "dropped_features": list(reasons),
        "dropped_reasons": reasons,
        "seconds": round(float(result.seconds), 3),
        "interrupted": bool(result.interrupted),
        "seed": int(args.seed),
        "time_budget": float(args.time_budget),
        "data": str(args.data),
        "kansr_version": __version__,
    }


def _write_outputs(staging: _Staging, summary: dict, result, train, evaluated, pred: np.ndarray) -> None:
    import pandas as pd

    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window from the CLI
    import matplotlib.pyplot as plt

    from kansr._fileio import atomic_write_json, atomic_write_text
    from kansr.plotting import plot_network, plot_predictions, save_figure

    atomic_write_json(staging.path("result.json"), summary)
    columns = ["complexity", "val_rmse", "val_r2", "formula", "source"]
    table = pd.DataFrame(summary["pareto"], columns=columns + (["dimensions"] if summary["units"] else []))
    atomic_write_text(staging.path("equations.csv"), table.to_csv(index=False))
    if result.model is not None:
        result.model.save(staging.path("model.kan"))
        fig = plot_network(result.model, train.X)
        try:
            save_figure(fig, staging.path("network.png"))
        finally:
            plt.close(fig)
    try:
        ax = plot_predictions(evaluated.y, pred)
    except ValueError as exc:  # no finite prediction: nothing to draw
        logger.warning("predictions.png not written: %s", exc)
        return
    try:
        split = "test split" if summary["test_rows"] else "training data (too few rows for a test split)"
        ax.set_title(f"{summary['target']} — {split}\n{ax.get_title()}", fontsize=10)
        save_figure(ax, staging.path("predictions.png"))
    finally:
        plt.close(ax.figure)


def _dropped_text(reasons: dict[str, str], show: int = 8) -> str:
    """Dropped columns grouped by reason; a long group lists its first few and a count."""
    groups: dict[str, list[str]] = {}
    for column, why in reasons.items():
        groups.setdefault(why, []).append(repr(column))
    parts = []
    for why, columns in groups.items():
        listed = ", ".join(columns[:show]) + (f" and {len(columns) - show} more" if len(columns) > show else "")
        parts.append(f"{listed} ({why})")
    return "; ".join(parts)


def _report(summary: dict, result, ds, test, n_bad: int, written: list[Path], stopped: str) -> None:
    """Print the result (stdout: the answer; stderr: notes)."""
    def out(text: str) -> None:
        print(text, file=sys.stdout)

    if result.interrupted:
        print(f"kansr: {stopped}: reporting the best formula found so far", file=sys.stderr)
    out(f"formula:     {ds.target_name} = {summary['formula']}")
    if summary["formula_in_columns"]:
        out(f"in columns:  {summary['formula_in_columns']}")
        used = [n for n in ds.names if n in result.formula.used_variables and n != ds.mapping[n]]
        if used:
            out("variables:   " + ", ".join(f"{n} = {ds.mapping[n]!r}" for n in used))
    where = f"test split, {test.n_samples} rows" if test.n_samples else "training data: too few rows for a test split"
    r2 = "n/a" if summary["r2_test"] is None else f"{summary['r2_test']:.6f}"
    rmse = "n/a" if summary["rmse_test"] is None else f"{summary['rmse_test']:.4g}"
    line = f"R² = {r2}, RMSE = {rmse} ({where})"
    if n_bad:
        line += f"; the formula is undefined (NaN/inf) on {n_bad} row(s), left out"
    out(line)
    out(f"complexity:  {summary['complexity']}")
    units = summary["units"]
    if units is not None:
        read = units["read_from_headers"]
        source = f" ({', '.join(map(repr, read))} from the headers)" if read else ""
        shown = {(ds.target_name if k == "(target)" else k): v for k, v in units["columns"].items()}
        out(f"units:       {', '.join(f'{k} [{v}]' for k, v in shown.items())}{source}; "
            f"the formula is dimensionally {units['dimensions']}")
        if units["groups"]:
            out(f"groups:      {'; '.join(units['groups'])}")
    out("")
    out("Pareto front (complexity vs. validation error; * = chosen):")
    for row in _format_table(summary["pareto"], summary["formula"]):
        out(row)
    out("")
    if summary["dropped_reasons"]:
        out("dropped features: " + _dropped_text(summary["dropped_reasons"]))
    else:
        out("dropped features: none")
    if ds.n_dropped_rows:
        out(f"dropped rows:     {ds.n_dropped_rows} (missing or infinite values)")
    out(f"time:        {summary['seconds']:.1f} s")
    if written:
        out(f"wrote:       {', '.join(str(p) for p in written)}")


if __name__ == "__main__":
    sys.exit(main())
