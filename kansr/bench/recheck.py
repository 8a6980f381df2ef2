"""Re-score recorded benchmark formulas with the current solution check.

A benchmark run stores every task's formula.  When the check itself improves
(say, it learns that variables sampled positive are positive), the recorded
formulas can be scored again on the same test sets without repeating the
hours of discovery: :func:`recheck_results` rebuilds each task's test set from
its seeds, runs :func:`kansr.bench.check.check_solution` and rewrites
``results.jsonl`` atomically.  The verdict given during the run is kept as
``solved_at_run`` / ``accuracy_solved_at_run``.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import feynman_data
from kansr._fileio import atomic_write
from kansr.bench.check import check_solution
from kansr.bench.runner import CONFIG_FILE, RESULTS_FILE, _jsonable, read_results, task_seeds
from kansr.symbolic._safe_expr import parse_formula

__all__ = ["recheck_results"]


def recheck_results(out_dir: str | os.PathLike[str], check_timeout: float | None = None) -> dict[str, int]:
    """Score every recorded formula in ``out_dir`` again.

    Do not run this while a benchmark is still writing to ``out_dir``: lines
    appended during the recheck would be lost when the file is replaced.

    Parameters
    ----------
    out_dir : path
        Benchmark directory holding ``results.jsonl`` and ``config.json``.
    check_timeout : float, optional
        Seconds for each symbolic check (default: the run's ``check_timeout``).

    Returns
    -------
    dict
        ``checked`` (records with a formula), ``changed`` (verdict differs
        from the stored one) and ``solved`` (after the recheck).

    Raises
    ------
    FileNotFoundError
        If ``out_dir`` has no ``config.json`` (not a benchmark directory).
    """
    out = Path(out_dir)
    config_path = out / CONFIG_FILE
    if not config_path.exists():
        raise FileNotFoundError(f"{out} has no {CONFIG_FILE}: not a kansr benchmark directory")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    n_test = int(config["n_test"])
    timeout = float(check_timeout if check_timeout is not None else config.get("check_timeout", 10.0))
    records = read_results(out)
    checked = changed = 0
    for record in records:
        if not record.get("formula"):
            continue
        _, test_seed = task_seeds(record["equation"], record["noise"], record["seed"])
        X_test, y_test, names, truth = feynman_data.sample(record["equation"], n_test, 0.0, seed=test_seed)
        start = time.perf_counter()
        verdict = check_solution(parse_formula(record["formula"], names), truth, X_test, y_test, names,
                                 timeout=timeout)
        record.setdefault("solved_at_run", record.get("solved"))
        record.setdefault("accuracy_solved_at_run", record.get("accuracy_solved"))
        changed += bool(verdict["solved"]) != bool(record.get("solved"))
        record.update(
            solved=bool(verdict["solved"]),
            accuracy_solved=bool(verdict["accuracy_solved"]),
            r2=verdict["r2"],
            rmse=verdict["rmse"],
            check_reason=verdict["reason"],
            check_seconds=time.perf_counter() - start,
        )
        checked += 1

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(_jsonable(record), allow_nan=False) + "\n")

    atomic_write(out / RESULTS_FILE, write)
    return {"checked": checked, "changed": changed, "solved": sum(bool(r.get("solved")) for r in records)}

