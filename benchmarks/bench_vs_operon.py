"""Exact recovery, kansr against Operon, on the same data with the same CPU time.

For every task (a Feynman equation or a problem of the non-uniform set, a
noise level, a replicate seed) both tools see the same training rows and are
judged on the same noise-free test rows, drawn exactly as ``kansr bench
feynman`` draws them (:func:`kansr.bench.runner.task_seeds`, then
:func:`feynman_data.sample` or :func:`kansr.bench.nonuniform.sample`):

* kansr runs :func:`kansr.discovery.discover` with ``time_budget`` seconds on
  one thread, as :func:`kansr.bench.runner.run_task` does (for Feynman tasks
  it *is* ``run_task``);
* Operon (``pyoperon.sklearn.SymbolicRegressor``) runs with
  ``max_time * n_threads`` CPU seconds equal to that budget: by default one
  thread and the same seconds; ``--operon-threads 2`` gives it two threads
  and half the seconds (Operon takes whole seconds: ``ceil(budget / threads)``,
  never less than the budget);
* Operon's formula, parsed with :func:`kansr.symbolic.parse_formula`, gets
  kansr's finishing (:func:`kansr.bench.cleanup.clean_formula`: near-simple
  constants made exact, round-off terms dropped), and both formulas face the
  same SRBench check (:func:`kansr.bench.check.check_solution`).

The two tools of one task run one after the other in the same worker
process, never at the same time. Each finished task is one line of
``OUT/results.jsonl`` (flushed and fsync-ed; a rerun with the same ``--out``
skips what is there), and ``OUT/comparison.md`` (per task and totals per set
and tool) is rewritten atomically after every task.

pyoperon is a benchmark-only dependency (``pip install pyoperon``), never a
kansr requirement.

Usage::

    python benchmarks/bench_vs_operon.py --equations I.12.1,II.3.24 --time-budget 5 --out /tmp/vs_operon
    python benchmarks/bench_vs_operon.py --subset srbench --set nonuniform --time-budget 120 --out runs/vs_operon
    python benchmarks/bench_vs_operon.py --set nonuniform --problems weighted_mean --noise 0,0.01 ...
    python benchmarks/bench_vs_operon.py --recheck --out runs/vs_operon   # after a change to the check or clean-up
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import socket
import statistics
import sys
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import feynman_data
from kansr._fileio import atomic_write_json, atomic_write_text
from kansr._version import __version__
from kansr.bench import nonuniform
from kansr.bench.runner import _jsonable

RESULTS_FILE = "results.jsonl"
TABLE_FILE = "comparison.md"
CONFIG_FILE = "config.json"
SETS = ("feynman", "nonuniform")

#: Operon settings (any can be overridden with --operon-params). The shape follows the
#: configuration Operon's authors entered in SRBench (objectives r2 + length, the final model
#: chosen from the Pareto front by minimum description length with a noise estimate); the
#: symbols cover every function in the Feynman truths; generations and evaluations are
#: unbounded so that time is the only limit, as it is for kansr.
OPERON_DEFAULTS: dict[str, Any] = {
    "allowed_symbols": "add,sub,mul,div,square,sqrt,exp,log,sin,cos,tanh,constant,variable",
    "objectives": ["r2", "length"],
    "model_selection_criterion": "minimum_description_length",
    "optimizer": "lm",
    "optimizer_iterations": 10,
    "population_size": 1000,
    "max_length": 50,
    "max_depth": 10,
    "generations": 10**9,
    "max_evaluations": 10**15,
    "offspring_generator": "basic",
    "reinserter": "keep-best",
    "epsilon": 1e-5,
}
# Decimals Operon prints per constant: enough for float32 constants down to ~1e-10.
_MODEL_DECIMALS = 20
# Settings that change what a task computes; a resumed run must use the same ones.
_RESULT_SETTINGS = ("time_budget", "n_train", "n_test", "check_timeout", "operon_threads", "operon_params",
                    "operon_snap")


# -- tasks ---------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One comparison task and its settings (picklable for worker processes)."""

    set_name: str
    problem: str
    noise: float
    seed: int
    time_budget: float
    n_train: int
    n_test: int
    check_timeout: float
    operon_threads: int
    operon_params: dict[str, Any] = field(default_factory=dict)
    operon_snap: bool = False

    @property
    def key(self) -> tuple[str, str, float, int]:
        """``(set, problem, noise, seed)``: the identity used for resuming."""
        return (self.set_name, self.problem, float(self.noise), int(self.seed))


def operon_max_time(time_budget: float, threads: int) -> int:
    """Whole seconds for Operon so that ``max_time * threads`` is at least ``time_budget``.

    Operon accepts only integer seconds; rounding up never gives it less CPU
    time than kansr, so a kansr lead cannot come from a shorter Operon run.
    """
    return max(1, math.ceil(time_budget / threads - 1e-9))


def _sample(task: Task) -> dict[str, Any]:
    from kansr.bench.runner import task_seeds

    train_seed, test_seed = task_seeds(task.problem, task.noise, task.seed)
    draw = feynman_data.sample if task.set_name == "feynman" else nonuniform.sample
    X, y, names, truth = draw(task.problem, task.n_train, task.noise, seed=train_seed)
    X_test, y_test, _, _ = draw(task.problem, task.n_test, 0.0, seed=test_seed)
    return {"X": X, "y": y, "names": names, "truth": truth, "X_test": X_test, "y_test": y_test,
            "train_seed": train_seed, "test_seed": test_seed}


# -- the two tools ---------------------------------------------------------------
def _run_kansr(task: Task, data: Mapping[str, Any]) -> dict[str, Any]:
    """kansr on the task's data: ``run_task`` itself for Feynman, its twin for other sets."""
    from kansr.bench.runner import BenchTask, run_task

    if task.set_name == "feynman":  # the very code of `kansr bench feynman`
        return run_task(BenchTask(task.problem, task.noise, task.seed, task.time_budget, task.n_train,
                                  task.n_test, task.check_timeout))

    # The body of run_task on the non-uniform draw (run_task samples Feynman only).
    from threadpoolctl import threadpool_limits

    from kansr._resources import torch_threads
    from kansr._timeout import hard_time_limit
    from kansr.bench.check import check_solution
    from kansr.discovery import discover
    from kansr.train import tune_allocator

    limit = 1.25 * task.time_budget + 15.0
    tune_allocator()
    with hard_time_limit(limit), torch_threads(1), threadpool_limits(1):
        found = discover(data["X"], data["y"], names=data["names"], seed=data["train_seed"],
                         time_budget=task.time_budget)
    start = time.perf_counter()
    check = check_solution(found.formula.expr, data["truth"], data["X_test"], data["y_test"], data["names"],
                           timeout=task.check_timeout)
    return {
        "formula": str(found.formula.expr),
        "solved": bool(check["solved"]),
        "accuracy_solved": bool(check["accuracy_solved"]),
        "r2": check["r2"],
        "rmse": check["rmse"],
        "complexity": int(found.formula.complexity),
        "seconds": float(found.seconds),
        "check_seconds": time.perf_counter() - start,
        "check_reason": check["reason"],
        "stopped_early": bool(found.interrupted),
        "generator": found.best.source,
    }


def _noise_scale(X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Residual scale of a random forest on the training data: Operon's MDL needs a noise estimate."""
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=50, n_jobs=1, random_state=seed % 2**32).fit(X, y)
    sigma = float(np.sqrt(np.mean((forest.predict(X) - y) ** 2)))
    return max(sigma, 1e-12 * (float(np.std(y)) or 1.0))


def _pyoperon_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("pyoperon")  # the module has no __version__
    except metadata.PackageNotFoundError:
        return None


def _run_operon(task: Task, data: Mapping[str, Any]) -> dict[str, Any]:
    """Operon on the task's data with the CPU time of kansr's budget, checked like kansr."""
    from pyoperon.sklearn import SymbolicRegressor
    from threadpoolctl import threadpool_limits

    from kansr.bench.check import check_solution
    from kansr.bench.cleanup import clean_formula

    X, y, names = data["X"], data["y"], data["names"]
    max_time = operon_max_time(task.time_budget, task.operon_threads)
    params = {**OPERON_DEFAULTS, **task.operon_params}
    params.update(n_threads=task.operon_threads, max_time=max_time, random_state=data["train_seed"])
    start = time.perf_counter()
    with threadpool_limits(1):  # the forest and BLAS stay on one core; Operon has its own threads
        if "uncertainty" not in params:
            params["uncertainty"] = [_noise_scale(X, y, data["train_seed"])]
        reg = SymbolicRegressor(**params).fit(X, y)
    seconds = time.perf_counter() - start
    raw = reg.get_model_string(reg.model_, _MODEL_DECIMALS, list(names))
    expr = parse_operon_model(raw, names)
    # The parsed formula must reproduce Operon's own predictions, or the comparison is void.
    parse_error = _relative_gap(reg.predict(data["X_test"]), expr, names, data["X_test"], data["y_test"])
    clean_start = time.perf_counter()
    cleaned = clean_formula(expr, names, X)
    if task.operon_snap:  # optional: kansr's data-driven constant snapping, outside Operon's time
        from kansr.symbolic._constants import snap_constants
        from kansr.symbolic._safe_expr import symbol_for

        symbols = [symbol_for(n) for n in names]
        cleaned = clean_formula(snap_constants(cleaned, symbols, X, y, time_limit=5.0), names, X)
    clean_seconds = time.perf_counter() - clean_start
    start_check = time.perf_counter()
    check = check_solution(cleaned, data["truth"], data["X_test"], data["y_test"], names,
                           timeout=task.check_timeout)
    return {
        "model_string": raw,
        "formula": str(cleaned),
        "formula_uncleaned": str(expr),
        "solved": bool(check["solved"]),
        "accuracy_solved": bool(check["accuracy_solved"]),
        "r2": check["r2"],
        "rmse": check["rmse"],
        "seconds": seconds,
        "max_time": max_time,
        "n_threads": task.operon_threads,
        "cpu_seconds_allowed": max_time * task.operon_threads,
        "clean_seconds": clean_seconds,
        "check_seconds": time.perf_counter() - start_check,
        "check_reason": check["reason"],
        "parse_error": parse_error,
        "pyoperon_version": _pyoperon_version(),
        "generations": int(reg.stats_.get("generations", 0)),
    }


def parse_operon_model(text: str, names: Sequence[str]) -> Any:
    """Operon's infix model string as a sympy expression, without evaluating code.

    Operon writes powers (and ``square``) as ``a ^ b``; everything else it prints
    (fully parenthesised ``+ - * /``, ``exp``, ``log``, ``sqrt``, ``sin`` ...) is
    what :func:`kansr.symbolic.parse_formula` accepts.
    """
    from kansr.symbolic import parse_formula

    return parse_formula(text.replace("^", "**"), list(names))


def _relative_gap(pred: np.ndarray, expr: Any, names: Sequence[str], X: np.ndarray, y: np.ndarray) -> float:
    """Largest |Operon's prediction - parsed formula| on X, relative to std(y)."""
    import sympy

    from kansr.symbolic._safe_expr import symbol_for

    fn = sympy.lambdify([symbol_for(n) for n in names], expr, modules="numpy")
    with np.errstate(all="ignore"):
        mine = np.broadcast_to(np.asarray(fn(*X.T), dtype=np.float64), (len(X),))
    gap = np.abs(np.asarray(pred, dtype=np.float64).reshape(-1) - mine)
    return float(np.nanmax(gap) / (float(np.std(y)) or 1.0)) if np.isfinite(gap).any() else float("nan")


def _tool(run: Any, task: Task, data: Mapping[str, Any]) -> dict[str, Any]:
    """Run one tool; its failure is recorded, and never stops the other tool or the run."""
    start = time.perf_counter()
    try:
        out = dict(run(task, data))
        out.setdefault("error", None)
    except Exception as exc:  # a failing tool is a result of the comparison
        out = {"formula": None, "solved": False, "accuracy_solved": False, "r2": None, "seconds": None,
               "error": f"{type(exc).__name__}: {exc}", "traceback": "".join(traceback.format_exception(exc)[-6:])}
    out["wall_seconds"] = time.perf_counter() - start
    return out


def run_one(task: Task) -> dict[str, Any]:
    """Both tools on one task, kansr first, then Operon (a worker-process entry point)."""
    record: dict[str, Any] = {"set": task.set_name, "problem": task.problem, "noise": task.noise, "seed": task.seed}
    try:
        data = _sample(task)
    except Exception as exc:  # e.g. an unknown id in a hand-written results file
        record.update(error=f"{type(exc).__name__}: {exc}", finished=_now())
        return _jsonable(record)
    record.update(truth=str(data["truth"]), variables=list(data["names"]), train_seed=data["train_seed"],
                  test_seed=data["test_seed"], time_budget=task.time_budget, n_train=task.n_train)
    record["kansr"] = _tool(_run_kansr, task, data)
    record["operon"] = _tool(_run_operon, task, data)
    record.update(error=None, kansr_version=__version__, host=socket.gethostname(), pid=os.getpid(),
                  finished=_now())
    return _jsonable(record)


def _failure(task: Task, message: str) -> dict[str, Any]:
    """Record of a task whose worker never reported back."""
    return _jsonable({"set": task.set_name, "problem": task.problem, "noise": task.noise, "seed": task.seed,
                      "error": message, "finished": _now()})


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- results file and table -------------------------------------------------------
def _key(record: Mapping[str, Any]) -> tuple[str, str, float, int]:
    return (str(record["set"]), str(record["problem"]), float(record["noise"]), int(record["seed"]))


def read_records(out: Path) -> list[dict[str, Any]]:
    """Records of ``out/results.jsonl``; a half-written last line (a killed run) is skipped."""
    path = out / RESULTS_FILE
    if not path.exists():
        return []
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            _key(record)
        except (ValueError, KeyError, TypeError):
            print(f"{path}:{lineno}: skipping a line that is not a result record", file=sys.stderr)
            continue
        records.append(record)
    return records


def _has_error(record: Mapping[str, Any]) -> bool:
    return bool(record.get("error") or (record.get("kansr") or {}).get("error")
                or (record.get("operon") or {}).get("error"))


def _cell(text: Any, limit: int = 70) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _num(value: Any, fmt: str) -> str:
    return "–" if value is None else format(float(value), fmt)


def _tool_cells(result: Mapping[str, Any] | None) -> str:
    if not result:
        return "– | – | – | –"
    if result.get("error"):
        return f"error: {_cell(result['error'], 50)} | no | – | {_num(result.get('wall_seconds'), '.1f')}"
    solved = "**yes**" if result.get("solved") else "no"
    return (f"`{_cell(result.get('formula') or '')}` | {solved} | {_num(result.get('r2'), '.4f')} | "
            f"{_num(result.get('seconds'), '.1f')}")


def _median(values: Iterable[Any]) -> str:
    vals = [float(v) for v in values if v is not None]
    return f"{statistics.median(vals):.1f}" if vals else "–"


def render_table(records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> str:
    """The Markdown report: settings, totals per set and noise level, then one row per task."""
    order = {s: i for i, s in enumerate(SETS)}
    feyn = {eq: i for i, eq in enumerate(feynman_data.list_equations())}
    nonu = {p: i for i, p in enumerate(nonuniform.list_problems())}

    def position(r: Mapping[str, Any]) -> tuple:
        rank = (feyn if r["set"] == "feynman" else nonu).get(r["problem"], 10**6)
        return (order.get(r["set"], 9), rank, r["problem"], float(r["noise"]), int(r["seed"]))

    rows = sorted(records, key=position)
    threads = config.get("operon_threads", 1)
    lines = [
        "# kansr vs Operon: exact recovery on the same data and CPU time",
        "",
        f"kansr {config.get('kansr_version')} (`discover`, {config.get('time_budget'):g} s on 1 thread) against "
        f"pyoperon {config.get('pyoperon_version')} ({operon_max_time(config.get('time_budget', 1), threads)} s "
        f"on {threads} thread{'s' if threads > 1 else ''}); {config.get('n_train')} training rows, "
        f"{config.get('n_test')} noise-free test rows; solved = SRBench symbolic solution (test R² > 0.5 and "
        "difference or ratio to the truth a constant). Operon's formulas get kansr's clean-up before the check"
        + (" plus kansr's data-driven constant snapping" if config.get("operon_snap") else "") + ".",
        "",
        "## Totals",
        "",
        "| set | noise | tasks | kansr solved | kansr rate | Operon solved | Operon rate | both | only kansr | "
        "only Operon | kansr median s | Operon median s | errors (kansr/Operon) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for set_name in sorted({r["set"] for r in rows}, key=lambda s: order.get(s, 9)):
        for noise in sorted({float(r["noise"]) for r in rows if r["set"] == set_name}):
            group = [r for r in rows if r["set"] == set_name and float(r["noise"]) == noise]
            k = [bool((r.get("kansr") or {}).get("solved")) for r in group]
            o = [bool((r.get("operon") or {}).get("solved")) for r in group]
            n = len(group)
            lines.append(
                f"| {set_name} | {noise:g} | {n} | {sum(k)} | {100 * sum(k) / n:.1f} % | {sum(o)} | "
                f"{100 * sum(o) / n:.1f} % | {sum(a and b for a, b in zip(k, o))} | "
                f"{sum(a and not b for a, b in zip(k, o))} | {sum(b and not a for a, b in zip(k, o))} | "
                f"{_median((r.get('kansr') or {}).get('seconds') for r in group)} | "
                f"{_median((r.get('operon') or {}).get('seconds') for r in group)} | "
                f"{sum(bool((r.get('kansr') or {}).get('error')) for r in group)}/"
                f"{sum(bool((r.get('operon') or {}).get('error')) for r in group)} |"
            )
    lines += [
        "",
        "## Tasks",
        "",
        "| set | task | noise | seed | truth | kansr formula | solved | R² | s | Operon formula | solved | R² | s |",
        "|---|---|---:|---:|---|---|:---:|---:|---:|---|:---:|---:|---:|",
    ]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['set']} | {r['problem']} | {float(r['noise']):g} | {r['seed']} | "
                         f"error: {_cell(r['error'])} | – | – | – | – | – | – | – | – |")
            continue
        lines.append(f"| {r['set']} | {r['problem']} | {float(r['noise']):g} | {r['seed']} | "
                     f"`{_cell(r.get('truth', ''), 50)}` | {_tool_cells(r.get('kansr'))} | "
                     f"{_tool_cells(r.get('operon'))} |")
    return "\n".join(lines) + "\n"


def _check_config(path: Path, settings: Mapping[str, Any]) -> None:
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return
    diffs = [f"{name}={old[name]!r} there, {settings[name]!r} now" for name in _RESULT_SETTINGS
             if name in old and old[name] != settings[name]]
    if diffs:
        raise SystemExit(f"{path.parent} holds results made with other settings ({'; '.join(diffs)}); "
                         "use another --out or the same settings to resume")


# -- command line -------------------------------------------------------------------
def _ids(args: argparse.Namespace) -> list[tuple[str, str]]:
    tasks: list[tuple[str, str]] = []
    sets = set(args.set or [])
    if args.equations or args.subset:
        sets.add("feynman")
    if not sets:
        raise SystemExit("choose tasks: --equations ID,… or --subset srbench|quick, and/or --set nonuniform")
    if "feynman" in sets:
        if args.equations:
            ids = [feynman_data.get(e.strip()).id for e in args.equations.split(",") if e.strip()]
        else:
            ids = feynman_data.list_equations(args.subset or "srbench")  # the list `kansr bench feynman` uses
        tasks += [("feynman", eq) for eq in ids]
    if "nonuniform" in sets:
        names = [p.strip() for p in args.problems.split(",")] if args.problems else nonuniform.list_problems()
        tasks += [("nonuniform", nonuniform.get(p).id) for p in names if p]
    return tasks


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--equations", metavar="ID,…", help="Feynman equation ids (e.g. I.12.1,II.3.24)")
    parser.add_argument("--subset", choices=("srbench", "quick", "all"),
                        help="Feynman subset (default with --set feynman: srbench, the 116 SRBench problems)")
    parser.add_argument("--set", action="append", choices=SETS, help="problem set(s); repeatable")
    parser.add_argument("--problems", metavar="ID,…", help="non-uniform problem ids (default: all of them)")
    parser.add_argument("--noise", default="0", metavar="L,…", help="noise levels (default: 0)")
    parser.add_argument("--seeds", default="0", metavar="S,…", help="replicate seeds (default: 0)")
    parser.add_argument("--time-budget", type=float, default=120.0, metavar="S",
                        help="kansr's seconds per task on one core; Operon gets the same CPU seconds (default 120)")
    parser.add_argument("--operon-threads", type=int, choices=(1, 2), default=1,
                        help="Operon threads; its max_time is ceil(budget / threads) (default 1)")
    parser.add_argument("--operon-params", default="{}", metavar="JSON",
                        help="overrides of the Operon settings, e.g. '{\"optimizer_iterations\": 1}'")
    parser.add_argument("--operon-snap", action="store_true",
                        help="also apply kansr's data-driven constant snapping to Operon's formula")
    parser.add_argument("--n-train", type=int, default=1000, help="training rows (default 1000)")
    parser.add_argument("--n-test", type=int, default=1000, help="test rows (default 1000)")
    parser.add_argument("--check-timeout", type=float, default=10.0, help="seconds for the symbolic check")
    parser.add_argument("--workers", type=int, default=1, help="tasks run at the same time (default 1)")
    parser.add_argument("--retry-errors", action="store_true", help="rerun tasks recorded with an error")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--recheck", action="store_true",
                        help="re-score the run in --out with the current clean-up and check (no tool reruns)")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.time_budget) and args.time_budget > 0):
        parser.error("--time-budget must be a positive number of seconds")
    if args.workers < 1 or args.n_train < 10 or args.n_test < 1:
        parser.error("--workers >= 1, --n-train >= 10 and --n-test >= 1 are required")
    try:
        args.operon_params = json.loads(args.operon_params)
    except ValueError as exc:
        parser.error(f"--operon-params is not JSON: {exc}")
    if not isinstance(args.operon_params, dict):
        parser.error("--operon-params must be a JSON object")
    reserved = {"n_threads", "max_time", "random_state"} & set(args.operon_params)
    if reserved:
        parser.error(f"--operon-params may not set {sorted(reserved)}: the benchmark sets them")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; returns the exit code."""
    args = _parse(argv)
    if args.recheck:
        return recheck(Path(args.out))
    if _pyoperon_version() is None:
        raise SystemExit("pyoperon is not installed: pip install pyoperon (a benchmark-only dependency)")
    try:
        ids = _ids(args)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    noises = sorted({float(x) for x in args.noise.split(",")})
    seeds = sorted({int(x) for x in args.seeds.split(",")})
    if any(not (math.isfinite(x) and x >= 0) for x in noises) or any(s < 0 for s in seeds):
        raise SystemExit("noise levels must be finite and >= 0, seeds >= 0")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"time_budget": args.time_budget, "n_train": args.n_train, "n_test": args.n_test,
                "check_timeout": args.check_timeout, "operon_threads": args.operon_threads,
                "operon_params": args.operon_params, "operon_snap": args.operon_snap}
    _check_config(out / CONFIG_FILE, settings)
    config = {**settings, "operon_defaults": OPERON_DEFAULTS, "kansr_version": __version__,
              "pyoperon_version": _pyoperon_version(), "python": platform.python_version(),
              "host": socket.gethostname(), "workers": args.workers, "started": _now()}
    atomic_write_json(out / CONFIG_FILE, config)

    tasks = [Task(s, p, nz, sd, args.time_budget, args.n_train, args.n_test, args.check_timeout,
                  args.operon_threads, args.operon_params, args.operon_snap)
             for s, p in ids for nz in noises for sd in seeds]
    path = out / RESULTS_FILE
    _repair_partial_line(path)
    latest = {_key(r): r for r in read_records(out)}
    done = {k for k, r in latest.items() if not (args.retry_errors and _has_error(r))}
    todo = [t for t in tasks if t.key not in done]
    wanted = {t.key for t in tasks}
    print(f"{len(tasks)} tasks, {len(tasks) - len(todo)} already in {path}", file=sys.stderr)
    if args.workers * max(1, args.operon_threads) > (os.cpu_count() or 1):
        print(f"warning: {args.workers} workers x {args.operon_threads} Operon threads exceed "
              f"{os.cpu_count()} CPUs; timings will suffer", file=sys.stderr)

    def write_table() -> None:
        mine = [r for k, r in latest.items() if k in wanted]
        atomic_write_text(out / TABLE_FILE, render_table(mine, config))

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)  # torch and fork do not mix
    pool: ProcessPoolExecutor | None = None
    try:
        with open(path, "a", encoding="utf-8") as sink:

            def record(rec: dict[str, Any]) -> None:
                sink.write(json.dumps(rec, allow_nan=False) + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                latest[_key(rec)] = rec
                write_table()
                k, o = rec.get("kansr") or {}, rec.get("operon") or {}
                print(f"{rec['set']} {rec['problem']} noise={rec['noise']:g} seed={rec['seed']}: "
                      f"kansr {'SOLVED' if k.get('solved') else 'no'} ({_num(k.get('seconds'), '.1f')} s) "
                      f"`{k.get('formula') or k.get('error')}`; Operon {'SOLVED' if o.get('solved') else 'no'} "
                      f"({_num(o.get('seconds'), '.1f')} s) `{o.get('formula') or o.get('error')}`",
                      file=sys.stderr, flush=True)

            pending = list(todo)
            in_flight: dict[Future, Task] = {}
            while pending or in_flight:
                if pool is None:
                    pool = ProcessPoolExecutor(max_workers=args.workers, mp_context=context)
                while pending and len(in_flight) < args.workers:
                    task = pending.pop(0)
                    in_flight[pool.submit(run_one, task)] = task
                finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                lost: list[Task] = []
                for fut in finished:
                    task = in_flight.pop(fut)
                    exc = fut.exception()
                    if isinstance(exc, BrokenProcessPool):
                        lost.append(task)
                    elif exc is not None:  # run_one catches everything; this is e.g. a result that cannot pickle
                        record(_failure(task, f"worker failed: {type(exc).__name__}: {exc}"))
                    else:
                        record(fut.result())
                if lost:
                    # A worker died (a crash in native code, out of memory): every future of the pool fails.
                    # With one worker the culprit is the task recorded; --retry-errors reruns them all.
                    wait(list(in_flight))
                    lost += in_flight.values()
                    in_flight.clear()
                    for task in lost:
                        record(_failure(task, "worker process died (BrokenProcessPool)"))
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
    except KeyboardInterrupt:
        print("interrupted; finished tasks are saved, rerun the same command to resume", file=sys.stderr)
        if pool is not None:  # running tasks take minutes: their workers are ours to stop
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            pool = None
        return 130
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    write_table()
    config["finished"] = _now()
    atomic_write_json(out / CONFIG_FILE, config)
    print(render_table([r for k, r in latest.items() if k in wanted], config).split("## Tasks")[0].rstrip())
    print(f"\nresults: {path}\ntable:   {out / TABLE_FILE}")
    return 0


def recheck(out: Path) -> int:
    """Re-score a finished run with the current clean-up and check, without rerunning either tool.

    Operon's recorded model string is parsed and cleaned again; kansr's
    recorded formula is parsed; both face :func:`kansr.bench.check.check_solution`
    on the task's redrawn test rows (the recorded seeds).  ``results.jsonl``
    and the table are rewritten atomically; each re-scored result gets a
    ``rechecked`` time stamp and keeps its earlier verdict as ``solved_before``.
    """
    from kansr.bench.check import check_solution
    from kansr.bench.cleanup import clean_formula
    from kansr.symbolic import parse_formula

    config = json.loads((out / CONFIG_FILE).read_text(encoding="utf-8"))
    if config.get("operon_snap"):
        raise SystemExit("--recheck does not redo --operon-snap's data-driven snapping; rerun that run instead")
    records = read_records(out)
    for rec in records:
        if rec.get("error"):
            continue
        draw = feynman_data.sample if rec["set"] == "feynman" else nonuniform.sample
        X, _, names, truth = draw(rec["problem"], int(rec["n_train"]), float(rec["noise"]), seed=int(rec["train_seed"]))
        X_test, y_test, _, _ = draw(rec["problem"], int(config["n_test"]), 0.0, seed=int(rec["test_seed"]))
        for tool in ("kansr", "operon"):
            res = rec.get(tool) or {}
            if res.get("error") or not res.get("formula"):
                continue
            if tool == "operon":
                expr = clean_formula(parse_operon_model(res["model_string"], names), names, X)
                res["formula"] = str(expr)
            else:
                expr = parse_formula(res["formula"], names)
            check = check_solution(expr, truth, X_test, y_test, names, timeout=float(config["check_timeout"]))
            res.setdefault("solved_before", res.get("solved"))
            res.update(solved=bool(check["solved"]), accuracy_solved=bool(check["accuracy_solved"]),
                       r2=check["r2"], rmse=check["rmse"], check_reason=check["reason"], rechecked=_now())
        print(f"{rec['set']} {rec['problem']}: kansr {'SOLVED' if (rec.get('kansr') or {}).get('solved') else 'no'}, "
              f"Operon {'SOLVED' if (rec.get('operon') or {}).get('solved') else 'no'} "
              f"`{(rec.get('operon') or {}).get('formula')}`", file=sys.stderr, flush=True)
    lines = "".join(json.dumps(_jsonable(r), allow_nan=False) + "\n" for r in records)
    atomic_write_text(out / RESULTS_FILE, lines)
    table = render_table(list({_key(r): r for r in records}.values()), config)
    atomic_write_text(out / TABLE_FILE, table)
    print(table.split("## Tasks")[0].rstrip())
    return 0


def _repair_partial_line(path: Path) -> None:
    """Cut off a last line left half-written by a killed run (that task then runs again)."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "rb+") as fh:
            fh.truncate(data.rfind(b"\n") + 1)


if __name__ == "__main__":
    sys.exit(main())
