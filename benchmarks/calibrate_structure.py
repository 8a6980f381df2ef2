"""False positive and false negative rates of the structure tests, on Feynman equations (truth known).

For every equation and noise level: draw training and validation rows as
``kansr bench feynman`` does, fit the surrogate KAN the ``structure``
generator fits (:func:`kansr.structure.fit_surrogate`, ``--surrogate-seconds``
each), and run each structure test on it at the data points with the
threshold :func:`kansr.structure.find_structure` uses
(``max(documented threshold, surrogate's relative validation error)``).
The truth of each verdict comes from the same test on the exact function
(its values by ``lambdify``, its gradient by ``sympy.diff``), where a score
below ``1e-6`` means the structure holds:

* relevance of each input (gradient test);
* additive and multiplicative separability of each pair (finite-step tests);
* the four pair invariants (difference, sum, product, ratio; gradient tests);
* one monomial group for all relevant inputs (log-gradient test).

Equations whose surrogate is worse than the generator's 5 % limit are not
tested (the generator does not use them either); their count is printed.
Each finished task is one line of ``OUT/results.jsonl`` (a rerun resumes),
and ``OUT/calibration.md`` holds the table, rewritten after every task.

Usage::

    python benchmarks/calibrate_structure.py --subset srbench --noise 0,0.01 --workers 2 --out runs/calibration
    python benchmarks/calibrate_structure.py --equations I.12.11,I.41.16 --out /tmp/cal
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

TESTS = ("relevance", "additive", "multiplicative", "difference", "sum", "product", "ratio", "monomial")
_EXACT = 1e-6  # an exact function's score below this: the structure holds
_MAX_SURROGATE_ERROR = 0.05  # as the structure generator


def _exact(truth, names: Sequence[str]):
    """The exact function and its gradient, as numpy callables of a data matrix."""
    import sympy

    from kansr.symbolic._safe_expr import symbol_for

    symbols = [symbol_for(n) for n in names]
    expr = truth.xreplace({s: symbol_for(s.name) for s in truth.free_symbols})
    f = sympy.lambdify(symbols, expr, "numpy")
    grads = [sympy.lambdify(symbols, sympy.diff(expr, s), "numpy") for s in symbols]

    def values(X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(f(*X.T), dtype=float), (len(X),)).copy()

    def gradient(X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.column_stack([np.broadcast_to(np.asarray(g(*X.T), dtype=float), (len(X),)) for g in grads])

    return values, gradient


def _verdicts(func, d, X: np.ndarray, seed: int) -> dict[str, list]:
    """Every test's score on one function: ``{test: [(where, score), ...]}``."""
    from kansr.structure import monomial_group, relevance, step_interactions, symmetry_scores

    n = X.shape[1]
    out: dict[str, list] = {t: [] for t in TESTS}
    rel = relevance(d)
    out["relevance"] = [(str(i), float(rel[i])) for i in range(n)]
    steps = step_interactions(func, X, list(range(n)), seed=seed)
    for i in range(n):
        for j in range(i + 1, n):
            out["additive"].append((f"{i},{j}", float(steps.additive[i, j])))
            out["multiplicative"].append((f"{i},{j}", float(steps.multiplicative[i, j])))
            positive = bool(np.all(X[:, i] > 0) and np.all(X[:, j] > 0))
            for kind, score in symmetry_scores(d, i, j).items():
                if kind in ("product", "ratio") and not positive:
                    continue
                out[kind].append((f"{i},{j}", float(score)))
    group = monomial_group(d, list(range(n)))
    out["monomial"] = [("all", float(group.score) if group is not None else float("inf"))]
    return out


def run_one(equation: str, noise: float, n_train: int, seconds: float, seed: int) -> dict:
    """Fit the surrogate of one task and score every test on it and on the exact function."""
    import torch

    import feynman_data
    from kansr.bench.runner import task_seeds
    from kansr.structure import SPLIT_THRESHOLD, THRESHOLDS, Derivatives, fit_surrogate

    torch.set_num_threads(1)  # a worker process of its own: one core each
    train_seed, _ = task_seeds(equation, noise, seed)
    X, y, names, truth = feynman_data.sample(equation, n_train, noise, seed=train_seed)
    Xv, yv, _, _ = feynman_data.sample(equation, max(n_train // 4, 50), noise, seed=train_seed + 1)
    start = time.perf_counter()
    sur = fit_surrogate(X, y, Xv, yv, seed=train_seed, time_limit=seconds)
    record = {"equation": equation, "noise": noise, "seed": seed, "surrogate_error": float(sur.val_error),
              "surrogate_seconds": time.perf_counter() - start, "n_inputs": X.shape[1]}
    if not sur.val_error <= _MAX_SURROGATE_ERROR:
        record["skipped"] = "surrogate too inaccurate"
        return record
    points = X[:500]
    f_exact, g_exact = _exact(truth, names)
    d_sur = sur.derivatives(points)
    exact = Derivatives(points, f_exact(points), g_exact(points), np.zeros(d_sur.hess.shape), d_sur.scales)
    err = float(sur.val_error)
    symmetry = max(THRESHOLDS["symmetry"], err)
    threshold = {"relevance": max(THRESHOLDS["relevance"], 0.1 * err), "additive": max(SPLIT_THRESHOLD, err),
                 "multiplicative": max(SPLIT_THRESHOLD, err), "monomial": max(THRESHOLDS["monomial"], err),
                 "difference": symmetry, "sum": symmetry, "product": symmetry, "ratio": symmetry}
    found = _verdicts(sur, d_sur, X, train_seed)
    true = _verdicts(f_exact, exact, X, train_seed)
    rows = {}
    for test in TESTS:
        pairs = []
        truth_of = dict(true[test])
        for where, score in found[test]:
            if where not in truth_of:
                continue
            # a small score means the structure holds (for relevance: the input is irrelevant)
            pairs.append((where, bool(score <= threshold[test]), bool(truth_of[where] <= _EXACT)))
        rows[test] = pairs
    record["verdicts"] = rows
    return record


def _counts(records: list[dict]) -> dict[tuple[float, str], list[int]]:
    """``(noise, test) -> [true pos, false pos, true neg, false neg]``."""
    out: dict[tuple[float, str], list[int]] = {}
    for r in records:
        for test, pairs in r.get("verdicts", {}).items():
            c = out.setdefault((r["noise"], test), [0, 0, 0, 0])
            for _, said, holds in pairs:
                c[0 if said and holds else 1 if said else 3 if holds else 2] += 1
    return out


def _table(records: list[dict], commit: str) -> str:
    lines = ["# Structure tests: false positives and false negatives on Feynman equations", "",
             f"Commit `{commit}`, {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}. "
             "A positive is a test saying the structure holds (an input is irrelevant, a pair separates, "
             "a pair enters by one invariant, all inputs by one monomial group). "
             "FP rate = FP / (FP + TN): structure claimed where there is none; "
             "FN rate = FN / (FN + TP): structure missed.", ""]
    for noise in sorted({r["noise"] for r in records}):
        group = [r for r in records if r["noise"] == noise]
        skipped = sum("skipped" in r for r in group)
        lines += [f"## noise {noise:g}: {len(group)} equations, {skipped} with a surrogate worse than 5 % (not tested)",
                  "", "| test | holds (truth) | does not hold | TP | FP | TN | FN | FP rate | FN rate |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        counts = _counts(group)
        for test in TESTS:
            tp, fp, tn, fn = counts.get((noise, test), [0, 0, 0, 0])
            fpr = f"{100 * fp / (fp + tn):.1f} %" if fp + tn else "–"
            fnr = f"{100 * fn / (fn + tp):.1f} %" if fn + tp else "–"
            lines.append(f"| {test} | {tp + fn} | {fp + tn} | {tp} | {fp} | {tn} | {fn} | {fpr} | {fnr} |")
        errors = sorted(r["surrogate_error"] for r in group)
        if errors:
            lines += ["", f"Surrogate relative validation error: median {np.median(errors):.2g}, "
                          f"90th percentile {np.percentile(errors, 90):.2g}."]
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    import feynman_data
    from kansr._fileio import atomic_write_text

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subset", default="srbench", help="feynman_data subset (default srbench)")
    ap.add_argument("--equations", help="comma-separated ids (instead of --subset)")
    ap.add_argument("--noise", default="0,0.01", help="comma-separated noise levels")
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--surrogate-seconds", type=float, default=20.0, help="as the structure generator's cap")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    equations = args.equations.split(",") if args.equations else feynman_data.list_equations(args.subset)
    noises = [float(v) for v in args.noise.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    done = {(r["equation"], r["noise"]) for r in records}
    todo = [(e, nz) for nz in noises for e in equations if (e, nz) not in done]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip() or "unknown"
    print(f"{len(todo)} tasks to run, {len(records)} done", file=sys.stderr)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(run_one, e, nz, args.n_train, args.surrogate_seconds, args.seed): (e, nz)
                   for e, nz in todo}
        for fut in as_completed(futures):
            record = fut.result()
            records.append(record)
            atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))
            atomic_write_text(out / "calibration.md", _table(records, commit))
            print(f"{record['equation']} noise {record['noise']:g}: surrogate error {record['surrogate_error']:.2g}",
                  file=sys.stderr)
    print(_table(records, commit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
