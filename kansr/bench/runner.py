"""Run :func:`kansr.discovery.discover` over Feynman equations, noise levels and seeds.

One *task* is ``(equation, noise, seed)``. Each task samples its own training
data and a noise-free test set, discovers a formula and checks it with the
SRBench criterion (:func:`kansr.bench.check.check_solution`). Every finished
task becomes one JSON line in ``out_dir/results.jsonl``, written and
``fsync``-ed at once, so a killed run loses nothing that finished, and a rerun
with the same ``out_dir`` skips what is already there.

Tasks run on a :class:`concurrent.futures.Executor`: a local process pool by
default, or a Dask cluster (``scheduler=ADDRESS``, or ``use_dask_local=True``).
The per-task seeds depend only on the task, so the results do not depend on
where or in which order the tasks ran.
"""
from __future__ import annotations

import json
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import platform
import socket
import threading
import time
import traceback
import warnings
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import feynman_data
from kansr._fileio import atomic_write_json
from kansr._version import __version__
from kansr.errors import DataError

__all__ = [
    "BenchTask",
    "RESULTS_FILE",
    "CONFIG_FILE",
    "read_results",
    "run_benchmark",
    "run_task",
    "task_key",
    "task_seeds",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

RESULTS_FILE = "results.jsonl"
CONFIG_FILE = "config.json"

# Settings that change what a task computes: a resumed run must use the same ones,
# or results.jsonl would silently mix two experiments.
_RESULT_SETTINGS = ("time_budget", "n_train", "n_test", "check_timeout", "units")

TaskKey = tuple[str, float, int]

_DIED = (
    "worker process died while running this task "
    "(BrokenProcessPool: killed by the OS, out of memory, a segfault or os._exit())"
)


# -- tasks -------------------------------------------------------------------
@dataclass(frozen=True)
class BenchTask:
    """One benchmark task and the settings it runs with (picklable).

    Attributes
    ----------
    equation : str
        Feynman equation id, e.g. ``"I.12.1"``.
    noise : float
        Relative noise level of the training targets.
    seed : int
        Replicate number given by the user (not used as a seed directly).
    time_budget : float
        Seconds for :func:`~kansr.discovery.discover`.
    n_train, n_test : int
        Rows of training (noisy) and test (noise-free) data.
    check_timeout : float
        Seconds allowed for the symbolic check.
    units : bool
        Give discover the variables' units (:func:`feynman_data.units`).
    """

    equation: str
    noise: float
    seed: int
    time_budget: float
    n_train: int
    n_test: int
    check_timeout: float
    units: bool = False

    @property
    def key(self) -> TaskKey:
        """``(equation, noise, seed)``, the identity used for resuming."""
        return (self.equation, self.noise, self.seed)


def task_seeds(equation: str, noise: float, seed: int) -> tuple[int, int]:
    """Derive the training and test seeds of one task.

    Parameters
    ----------
    equation : str
        Equation id.
    noise : float
        Noise level.
    seed : int
        Replicate number (>= 0).

    Returns
    -------
    train_seed, test_seed : int
        Two 32-bit seeds from a :class:`numpy.random.SeedSequence`.

    Notes
    -----
    The entropy is ``(seed, crc32(equation), noise in parts per billion)``.
    Python's ``hash()`` of a string changes between processes, CRC-32 does
    not, so every machine derives the same seeds. The noise *value* (not its
    position in the run's list) is used so that a task's data do not depend on
    which other noise levels a run includes.
    """
    noise_ppb = int(round(float(noise) * 1e9))
    entropy = [int(seed), zlib.crc32(equation.encode("utf-8")), noise_ppb]
    train, test = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int(train), int(test)


def task_key(record: Mapping[str, Any]) -> TaskKey:
    """Return ``(equation, noise, seed)`` of a result record.

    Raises
    ------
    ValueError
        If a field is missing or has the wrong type.
    """
    try:
        return (str(record["equation"]), float(record["noise"]), int(record["seed"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"result record lacks a valid equation/noise/seed: {exc}") from None


def run_task(task: BenchTask) -> dict[str, Any]:
    """Sample data, discover a formula and check it against the truth.

    This is the default ``task_fn`` of :func:`run_benchmark`; it runs in a
    worker process.

    Parameters
    ----------
    task : BenchTask

    Returns
    -------
    dict
        ``formula``, ``solved``, ``accuracy_solved``, ``r2`` and ``rmse`` (on
        the test set), ``complexity``, ``seconds`` (discovery time),
        ``val_rmse``, ``check_seconds``, ``check_reason`` and
        ``stopped_early`` (discovery hit the hard limit of 1.25 × budget + 15 s
        and returned its best formula so far).
    """
    from threadpoolctl import threadpool_limits

    from kansr._resources import torch_threads
    from kansr._timeout import hard_time_limit
    from kansr.bench.check import check_solution
    from kansr.discovery import discover  # heavy (torch): only where tasks run
    from kansr.train import tune_allocator

    train_seed, test_seed = task_seeds(task.equation, task.noise, task.seed)
    X, y, names, truth = feynman_data.sample(task.equation, task.n_train, task.noise, seed=train_seed)
    X_test, y_test, _, _ = feynman_data.sample(task.equation, task.n_test, 0.0, seed=test_seed)
    # discover checks its budget between steps, so one slow step can overrun
    # it; past 1.25 x budget + 15 s it is stopped like Ctrl-C (best formula kept).
    limit = None if task.time_budget is None else 1.25 * task.time_budget + 15.0
    # A task owns its worker: one math thread for torch and BLAS (N workers use
    # N cores), the allocator keeps freed memory for reuse; both are scoped to the task.
    tune_allocator()
    units, y_units = feynman_data.units(task.equation) if task.units else (None, None)
    with hard_time_limit(limit), torch_threads(1), threadpool_limits(1):
        found = discover(X, y, names=names, seed=train_seed, time_budget=task.time_budget,
                         units=units, y_units=y_units)
    start = time.perf_counter()
    check = check_solution(found.formula.expr, truth, X_test, y_test, names, timeout=task.check_timeout)
    return {
        "formula": str(found.formula.expr),
        "solved": bool(check["solved"]),
        "accuracy_solved": bool(check["accuracy_solved"]),
        "r2": check["r2"],
        "rmse": check["rmse"],
        "complexity": int(found.formula.complexity),
        "seconds": float(found.seconds),
        "val_rmse": float(found.best.val_rmse),
        "check_seconds": time.perf_counter() - start,
        "check_reason": check["reason"],
        "stopped_early": bool(found.interrupted),
        "generator": found.best.source,  # which structure generator proposed the chosen formula
        "structure": found.structure_text,  # the separations read off the surrogate KAN, if any
        "units": task.units,
        "dimensions": found.best.dimensions,  # consistent / inconsistent, with units
        "groups": None if found.units is None else found.units.groups,
        "n_candidates": found.n_candidates,
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _base_record(task: BenchTask, host: str | None) -> dict[str, Any]:
    train_seed, _ = task_seeds(task.equation, task.noise, task.seed)
    return {
        "equation": task.equation,
        "noise": task.noise,
        "seed": task.seed,
        "formula": None,
        "solved": False,
        "accuracy_solved": False,
        "r2": None,
        "rmse": None,
        "complexity": None,
        "seconds": None,
        "generator": None,
        "structure": None,
        "error": None,
        "kansr_version": __version__,
        "host": host,
        "task_seed": train_seed,
    }


def _failure_record(task: BenchTask, message: str) -> dict[str, Any]:
    """Record for a task whose worker never reported back (crash, lost worker)."""
    record = _base_record(task, host=None)
    record.update(error=message, finished=_now())
    return _jsonable(record)


def _execute(task_fn: Callable[[BenchTask], Mapping[str, Any]], task: BenchTask) -> dict[str, Any]:
    """Run one task in a worker; exceptions become an ``error`` field, never escape."""
    start = time.perf_counter()
    record = _base_record(task, host=socket.gethostname())
    record["pid"] = os.getpid()
    try:
        out = task_fn(task)
        if not isinstance(out, Mapping):
            raise TypeError(f"task_fn must return a mapping of result fields, got {type(out).__name__}")
        record.update(out)
        # The identity of the line is the runner's, whatever task_fn returned.
        record.update(equation=task.equation, noise=task.noise, seed=task.seed)
    except Exception as exc:  # a failing task is a result, not a crash of the run
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = "".join(traceback.format_exception(exc)[-6:])
    wall = time.perf_counter() - start
    if record.get("seconds") is None:
        record["seconds"] = wall
    record["wall_seconds"] = wall
    record["finished"] = _now()
    return _jsonable(record)


def _jsonable(value: Any) -> Any:
    """Plain JSON types; non-finite floats become None (strict JSON has no inf/nan)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


# -- results file ------------------------------------------------------------
# Fields a record may carry and what they must hold (None allowed unless noted);
# summaries and reruns compute with them, so a hand-edited file is checked on reading.
_NUMBER_FIELDS = ("r2", "rmse", "seconds", "wall_seconds", "val_rmse", "check_seconds")
_BOOL_FIELDS = ("solved", "accuracy_solved", "stopped_early")
_TEXT_FIELDS = ("formula", "error", "check_reason", "generator")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_record(record: Any) -> None:
    """Refuse a result record whose fields have the wrong type.

    Raises
    ------
    ValueError
        Naming the first bad field and its value.
    """
    if not isinstance(record, dict):
        raise ValueError(f"a record must be a JSON object, got {type(record).__name__}")
    if not isinstance(record.get("equation"), str):
        raise ValueError(f"field 'equation' must be a text, got {record.get('equation')!r}")
    noise = record.get("noise")
    if not (_is_number(noise) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"field 'noise' must be a number >= 0, got {noise!r}")
    if not (isinstance(record.get("seed"), int) and not isinstance(record.get("seed"), bool)):
        raise ValueError(f"field 'seed' must be an integer, got {record.get('seed')!r}")
    for fields, ok, what in ((_NUMBER_FIELDS, _is_number, "a number"),
                             (_BOOL_FIELDS, lambda v: isinstance(v, bool), "true or false"),
                             (_TEXT_FIELDS, lambda v: isinstance(v, str), "a text"),
                             (("complexity",), lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")):
        for field in fields:
            value = record.get(field)
            if value is not None and not ok(value):
                raise ValueError(f"field {field!r} must be {what} or null, got {value!r}")


def read_results(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read the records of ``out_dir/results.jsonl``, skipping lines that are not JSON.

    Parameters
    ----------
    out_dir : path
        Benchmark output directory.

    Returns
    -------
    list of dict
        Records in file order; a task recorded twice (rerun with
        ``retry_errors``) appears twice, the later line being the newer.
        Empty if the file does not exist.

    Raises
    ------
    DataError
        A record whose fields have the wrong type (a hand-edited file),
        naming the file and line; or a file that is not UTF-8 text.
        Lines that are not JSON at all (a crash while writing) are skipped
        with a warning instead.
    """
    path = Path(out_dir) / RESULTS_FILE
    if not path.exists():
        return []
    records = []
    try:
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:  # JSONDecodeError is a ValueError
                    logger.warning("%s:%d: skipping a line that is not JSON", path, lineno)
                    continue
                try:
                    check_record(record)
                except ValueError as exc:
                    raise DataError(f"{path}:{lineno}: {exc}; fix or delete that line") from None
                records.append(record)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return records


def _repair_partial_line(path: Path) -> None:
    """Cut off a last line left half-written by a killed run."""
    if not path.exists():
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if not data or data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1  # 0 when the only line is partial
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    warnings.warn(
        f"{path}: removed a truncated last line ({len(data) - keep} bytes, from an interrupted run); "
        "that task will run again",
        RuntimeWarning,
        stacklevel=3,
    )


def _check_config(path: Path, settings: Mapping[str, Any]) -> None:
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return  # unreadable config: nothing to compare with, it is rewritten below
    old.setdefault("units", False)  # runs from before units existed ran without them
    diffs = [
        f"{name}={old[name]!r} there, {settings[name]!r} now"
        for name in _RESULT_SETTINGS
        if name in old and old[name] != settings[name]
    ]
    if diffs:
        raise ValueError(
            f"{path.parent} already holds results made with other settings ({'; '.join(diffs)}); "
            "use another output directory or the same settings to resume"
        )


# -- executors ---------------------------------------------------------------
class _Backend:
    """Creates (and recreates) the executor and knows how many tasks to keep in flight."""

    capacity: int
    recreatable: bool
    description: str

    def executor(self) -> Executor:
        raise NotImplementedError

    def reset(self) -> Executor:
        raise NotImplementedError

    def abort(self) -> None:
        """Stop at once (Ctrl-C): cancel queued work, do not wait."""
        self.close(wait=False)

    def close(self, wait: bool = True) -> None:
        raise NotImplementedError


def _exit_with_parent() -> None:
    """Pool-worker initializer: end the worker as soon as the process that started the pool dies.

    A SIGKILLed (or crashed) parent runs no clean-up, and a worker busy with a
    task would compute for minutes holding its memory, keeping the forkserver
    and the resource tracker alive too.  ``parent_process().sentinel`` (the
    main process under both forkserver and spawn) becomes ready when it dies.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)  # nobody is left to receive a result; skip the interpreter's clean-up

    threading.Thread(target=watch, name="kansr-parent-watch", daemon=True).start()


class _PoolBackend(_Backend):
    recreatable = True

    def __init__(self, workers: int) -> None:
        self.capacity = workers
        # torch plus fork is unsafe (threads, locks); forkserver/spawn start clean workers.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self._context = multiprocessing.get_context(method)
        self.description = f"process pool ({workers} workers, {method})"
        self._pool: ProcessPoolExecutor | None = None

    def executor(self) -> Executor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.capacity, mp_context=self._context, initializer=_exit_with_parent
            )
        return self._pool

    def reset(self) -> Executor:
        self.close(wait=False)
        return self.executor()

    def abort(self) -> None:
        pool = self._pool
        if pool is not None:
            # Running tasks may take minutes; their workers are ours to stop.
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
        self.close(wait=False)

    def close(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None


class _DaskBackend(_Backend):
    recreatable = False

    def __init__(self, scheduler: str | None, workers: int | None, n_tasks: int) -> None:
        try:
            import dask
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise ValueError(
                f"running on Dask needs dask.distributed ({exc}); install it with `pip install kansr[distributed]`"
            ) from None
        self._cluster = None
        if scheduler is None:
            n = workers or os.cpu_count() or 1
            # Non-daemonic workers may start the child process in which the
            # symbolic check enforces its timeout.
            with dask.config.set({"distributed.worker.daemon": False}):
                self._cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
                )
            self.description = f"local Dask cluster ({n} workers)"
            address = self._cluster.scheduler_address
        else:
            address = scheduler
            self.description = f"Dask scheduler {scheduler}"
        try:
            self._client = Client(address, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise ValueError(f"cannot connect to the Dask scheduler at {address!r}: {exc}") from None
        # The scheduler balances the load itself; a lost worker surfaces as an
        # exception (KilledWorker) on its task's future only.
        self.capacity = max(1, n_tasks)
        self._executor = self._client.get_executor(pure=False)

    def executor(self) -> Executor:
        return self._executor

    def reset(self) -> Executor:
        return self._executor

    def close(self, wait: bool = True) -> None:
        try:
            self._executor.shutdown(wait=False)
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None


# -- validation --------------------------------------------------------------
def _resolve_equations(equations: str | Iterable[str]) -> list[str]:
    if isinstance(equations, str):
        subsets = {s for s in feynman_data.SUBSETS}
        equations = feynman_data.list_equations(equations) if equations in subsets else [equations]
    ids: list[str] = []
    for eq in equations:
        if not isinstance(eq, str):
            raise ValueError(f"equation ids must be strings such as 'I.12.1', got {eq!r}")
        canonical = feynman_data.get(eq).id  # ValueError names close matches
        if canonical not in ids:
            ids.append(canonical)
    if not ids:
        raise ValueError("no equations given; pass ids such as ['I.12.1'] or a subset name such as 'quick'")
    return ids


def _resolve_noises(noises: float | Iterable[float]) -> list[float]:
    if isinstance(noises, (int, float, np.number)):
        noises = [noises]
    out: list[float] = []
    for value in noises:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"noise levels must be numbers such as 0.01, got {value!r}")
        value = float(value)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"noise levels must be finite and >= 0, got {value!r}")
        if value not in out:
            out.append(value)
    if not out:
        raise ValueError("no noise levels given; pass e.g. noises=(0.0,)")
    return out


def _resolve_seeds(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = [seeds]
    out: list[int] = []
    for value in seeds:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"seeds must be non-negative integers, got {value!r}")
        if int(value) not in out:
            out.append(int(value))
    if not out:
        raise ValueError("no seeds given; pass e.g. seeds=(0,)")
    return out


def _positive(name: str, value: Any, integer: bool, minimum: float = 0) -> Any:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value) if integer else float(value)


# -- the run -----------------------------------------------------------------
def run_benchmark(
    equations: str | Iterable[str],
    noises: float | Iterable[float] = (0.0,),
    seeds: int | Iterable[int] = (0,),
    *,
    time_budget: float = 120.0,
    n_train: int = 1000,
    n_test: int = 1000,
    workers: int | None = None,
    scheduler: str | None = None,
    use_dask_local: bool = False,
    out_dir: str | os.PathLike[str],
    progress: bool = True,
    check_timeout: float = 10.0,
    retry_errors: bool = False,
    units: bool = False,
    task_fn: Callable[[BenchTask], Mapping[str, Any]] = run_task,
) -> Path:
    """Run equations × noise levels × seeds and record one JSON line per task.

    Parameters
    ----------
    equations : str or iterable of str
        Equation ids (PMLB names such as ``"feynman_I_12_1"`` work too), or
        one subset name of :func:`feynman_data.list_equations` (``"quick"``).
    noises : float or iterable of float, default (0.0,)
        Relative noise levels (SRBench uses 0, 0.001, 0.01, 0.1).
    seeds : int or iterable of int, default (0,)
        Replicate numbers (>= 0); each task derives its own seeds from
        ``(seed, equation, noise)``, see :func:`task_seeds`.
    time_budget : float, default 120.0
        Seconds of discovery per task.
    n_train : int, default 1000
        Training rows (>= 10).
    n_test : int, default 1000
        Noise-free test rows, drawn with a separate seed.
    workers : int, optional
        Worker processes (default: the number of CPUs). With `scheduler`
        it is ignored.
    scheduler : str, optional
        Address of a Dask scheduler (``"tcp://host:8786"``); tasks then run on
        that cluster through ``Client(address).get_executor()``.
    use_dask_local : bool, default False
        Start a local Dask cluster of `workers` single-threaded processes
        instead of a process pool.
    out_dir : path
        Output directory; created if needed. Holds ``results.jsonl`` and
        ``config.json``.
    progress : bool, default True
        Show a progress bar (tasks done, solved so far).
    check_timeout : float, default 10.0
        Seconds allowed for the symbolic check of each task.
    retry_errors : bool, default False
        Also rerun tasks whose recorded line has an error (the new line is
        appended; readers keep the last line per task).
    units : bool, default False
        Give discover each variable's unit (:func:`feynman_data.units`);
        recorded in ``config.json`` and in every row, so a directory never
        mixes runs with and without units.
    task_fn : callable, default :func:`run_task`
        ``task_fn(task) -> dict`` of result fields, run in the workers; must
        be picklable (a module-level function). For tests and experiments.

    Returns
    -------
    Path
        The path of ``results.jsonl``.

    Raises
    ------
    ValueError
        For invalid arguments, an unknown equation id, an `out_dir` holding
        results made with other settings, or an unreachable scheduler.

    Notes
    -----
    Each record has ``equation, noise, seed, formula, solved,
    accuracy_solved, r2, rmse, complexity, seconds, error, kansr_version,
    host`` and a few extra fields (``task_seed``, ``val_rmse``,
    ``check_reason``, ``finished`` ...). Lines are appended, flushed and
    fsync-ed one by one. On start, tasks already in ``results.jsonl`` are
    skipped and a half-written last line is removed.

    A task that raises is recorded with its error. A worker process that dies
    (``os._exit``, out of memory, segfault) breaks a process pool: the pool is
    recreated, and the tasks that were running are rerun one at a time until
    the one that kills its worker is found and recorded as an error. On Dask,
    a lost worker shows up as an exception of that task's future (after
    Dask's own retries) and is recorded the same way.
    """
    eq_ids = _resolve_equations(equations)
    noise_list = _resolve_noises(noises)
    seed_list = _resolve_seeds(seeds)
    time_budget = _positive("time_budget", time_budget, integer=False)
    n_train = _positive("n_train", n_train, integer=True, minimum=10)
    n_test = _positive("n_test", n_test, integer=True)
    check_timeout = _positive("check_timeout", check_timeout, integer=False)
    if workers is not None:
        workers = _positive("workers", workers, integer=True)
    if scheduler is not None and use_dask_local:
        raise ValueError("give either scheduler (an existing Dask cluster) or use_dask_local, not both")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ValueError(f"scheduler must be an address such as 'tcp://127.0.0.1:8786', got {scheduler!r}")
    if not callable(task_fn):
        raise ValueError(f"task_fn must be callable, got {task_fn!r}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / RESULTS_FILE
    settings = {"time_budget": time_budget, "n_train": n_train, "n_test": n_test, "check_timeout": check_timeout,
                "units": bool(units)}
    _check_config(out / CONFIG_FILE, settings)

    tasks = [
        BenchTask(eq, noise, seed, time_budget, n_train, n_test, check_timeout, bool(units))
        for eq in eq_ids
        for noise in noise_list
        for seed in seed_list
    ]
    _repair_partial_line(results_path)
    latest: dict[TaskKey, dict[str, Any]] = {}
    for record in read_results(out):
        latest[task_key(record)] = record
    wanted = {t.key for t in tasks}
    done = {k for k, r in latest.items() if k in wanted and not (retry_errors and r.get("error"))}
    todo = [t for t in tasks if t.key not in done]
    solved = sum(bool(latest[k].get("solved")) for k in done)
    errors = sum(bool(latest[k].get("error")) for k in done)

    n_workers = workers or os.cpu_count() or 1
    backend: _Backend | None = None
    if todo:  # before writing anything: a missing dask or a wrong address fails here
        if scheduler is not None or use_dask_local:
            backend = _DaskBackend(scheduler, workers, len(todo))
        else:
            backend = _PoolBackend(min(n_workers, len(todo)))
    config = {
        **settings,
        "equations": eq_ids,
        "noises": noise_list,
        "seeds": seed_list,
        "workers": n_workers if scheduler is None else workers,
        "scheduler": scheduler,
        "use_dask_local": bool(use_dask_local),
        "task_fn": f"{getattr(task_fn, '__module__', '?')}.{getattr(task_fn, '__qualname__', repr(task_fn))}",
        "n_tasks": len(tasks),
        "n_skipped": len(done),
        "kansr_version": __version__,
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "started": _now(),
        "finished": None,
    }
    try:
        atomic_write_json(out / CONFIG_FILE, config)
    except BaseException:
        if backend is not None:
            backend.abort()  # e.g. a local Dask cluster already started
        raise
    logger.info("%d tasks, %d already recorded in %s", len(tasks), len(done), results_path)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), initial=len(done), disable=not progress, desc="bench", unit="task", dynamic_ncols=True)
    bar.set_postfix_str(f"solved {solved}/{len(done)}", refresh=False)
    if backend is not None:
        logger.info("running %d tasks on %s", len(todo), backend.description)
        counts = {"done": len(done), "solved": solved, "errors": errors}
        finished_ok = False
        try:
            with open(results_path, "a", encoding="utf-8") as sink:

                def record(rec: dict[str, Any]) -> None:
                    sink.write(json.dumps(rec, allow_nan=False) + "\n")
                    sink.flush()
                    os.fsync(sink.fileno())  # a kill after this line keeps the task
                    counts["done"] += 1
                    counts["solved"] += bool(rec.get("solved"))
                    counts["errors"] += bool(rec.get("error"))
                    errs = f", errors {counts['errors']}" if counts["errors"] else ""
                    bar.set_postfix_str(f"solved {counts['solved']}/{counts['done']}{errs}", refresh=False)
                    bar.update(1)

                _schedule(backend, task_fn, todo, record)
            finished_ok = True
        finally:
            if finished_ok:
                backend.close()
            else:  # Ctrl-C or an unexpected error: do not wait for running tasks
                backend.abort()
            bar.close()
    else:
        bar.close()
    config["finished"] = _now()
    atomic_write_json(out / CONFIG_FILE, config)
    return results_path


def _schedule(
    backend: _Backend,
    task_fn: Callable[[BenchTask], Mapping[str, Any]],
    tasks: Sequence[BenchTask],
    record: Callable[[dict[str, Any]], None],
) -> None:
    """Keep up to ``backend.capacity`` tasks in flight and record each outcome.

    After a broken pool the tasks that were in flight are *suspects*: they
    rerun alone, one at a time, so the one that kills its worker is
    identified (and recorded as an error) without blaming its neighbours.
    """
    order = {task: i for i, task in enumerate(tasks)}
    pending: deque[BenchTask] = deque(tasks)
    suspects: deque[BenchTask] = deque()
    in_flight: dict[Future, BenchTask] = {}
    executor = backend.executor()

    def submit(task: BenchTask) -> bool:
        nonlocal executor
        try:
            in_flight[executor.submit(_execute, task_fn, task)] = task
            return True
        except BrokenExecutor:
            # Broken between two waits: start over with a fresh pool.
            if not backend.recreatable:
                record(_failure_record(task, "executor is broken; task not run"))
                return False
            executor = backend.reset()
            in_flight[executor.submit(_execute, task_fn, task)] = task
            return True

    while pending or suspects or in_flight:
        if suspects:
            if not in_flight:
                submit(suspects.popleft())
        else:
            while pending and len(in_flight) < backend.capacity:
                submit(pending.popleft())
        if not in_flight:
            continue
        finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
        broken = [f for f in finished if _is_broken(f)]
        if broken:
            # One dead worker fails every future of the pool: collect them all.
            wait(list(in_flight))
            finished = set(in_flight)
        lost: list[BenchTask] = []
        for fut in finished:
            task = in_flight.pop(fut)
            if _is_broken(fut):
                lost.append(task)
            elif fut.cancelled():
                record(_failure_record(task, "task was cancelled by the executor"))
            elif fut.exception() is not None:
                # e.g. Dask KilledWorker: the worker died (repeatedly) running this task.
                exc = fut.exception()
                record(_failure_record(task, f"worker failed: {type(exc).__name__}: {exc}"))
            else:
                record(fut.result())
        if not lost:
            continue
        lost.sort(key=order.__getitem__)  # deterministic order of reruns
        if len(lost) == 1 or not backend.recreatable:
            for task in lost:
                record(_failure_record(task, _DIED))
            # A culprit is known: the other suspects go back to normal, parallel running.
            pending.extendleft(reversed(suspects))
            suspects.clear()
        else:
            suspects.extendleft(reversed(lost))
            logger.warning("a worker process died; rerunning %d tasks one at a time to find which", len(lost))
        executor = backend.reset()


def _is_broken(fut: Future) -> bool:
    return not fut.cancelled() and isinstance(fut.exception(), BrokenExecutor)

