"""Does `kansr discover --time-budget T` end on time, and in bounded memory, on any input size?

Runs the command on inputs that once broke the budget or the memory (issue
"Reliability, round two"), one after the other, and prints for each the wall
time of the whole process (start-up, CSV, search, outputs), the search time
kansr reports, the peak resident memory, the bar and whether it passed.  The
baseline is the bar itself: ``1.1 * T + 5 s`` of start-up and writing, with the
issue's own bars where it set one (120,000 rows at 10 s: 15 s; 60 s: 70 s).

Usage: python benchmarks/bench_budget.py [--quick]   (--quick: skips the 60 s cases)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kansr.datasets import example_path

MEMORY_LIMIT = 2 * 1024**3  # the issue's `ulimit -v` of 2 GB, for the many-columns case


def _csv(path: Path, X: np.ndarray, y: np.ndarray) -> Path:
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["y"] = y
    frame.to_csv(path, index=False)
    return path


def _cases(tmp: Path, quick: bool) -> list[tuple[str, list[str], float, float, bool]]:
    """(name, arguments, budget, bar in seconds, under the memory limit)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (120_000, 2))
    big = _csv(tmp / "big.csv", X, 2 * X[:, 0] + 3 * X[:, 1])
    X = rng.uniform(1, 3, (40, 50))
    wide = _csv(tmp / "wide.csv", X, 2 * X[:, 0] + X[:, 1])
    X = rng.uniform(-1, 1, (20_000, 5))
    hard = _csv(tmp / "hard.csv", X, np.tanh(X[:, 0] * X[:, 1]) + np.cos(3 * X[:, 2]) * X[:, 3] + X[:, 4] ** 3)
    cases = [
        ("120,000 rows, y = 2a + 3b", [str(big), "--target", "y", "--time-budget", "10"], 10.0, 15.0, False),
        ("40 rows x 50 columns, 2 GB limit", [str(wide), "--target", "y", "--time-budget", "8"], 8.0, 1.1 * 8 + 5, True),
        ("20,000 rows x 5, no exact answer", [str(hard), "--target", "y", "--time-budget", "20"], 20.0, 1.1 * 20 + 5,
         False),
    ]
    if not quick:
        cases += [
            ("README demo, default 60 s", [str(example_path()), "--target", "E [J]"], 60.0, 70.0, False),
            ("20,000 rows x 5, default 60 s", [str(hard), "--target", "y"], 60.0, 70.0, False),
        ]
    return cases


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run(args: list[str], out: Path, limit_memory: bool) -> tuple[float, float, int, dict]:
    """Wall seconds, the search seconds kansr reports, the child's own peak RSS (KB), result.json."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "kansr.cli", "discover", *args, "--no-progress", "--out", str(out)],
            stdout=stdout, stderr=stderr, text=True, preexec_fn=_limit_memory if limit_memory else None,
        )
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own resource usage
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"kansr discover {' '.join(args)} failed ({proc.returncode}): {stderr.read()[-500:]}")
    summary = json.loads((out / "result.json").read_text())
    return wall, float(summary["seconds"]), int(usage.ru_maxrss), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 60 s cases")
    opts = parser.parse_args()
    print(f"{'case':36s} {'budget':>7s} {'wall':>7s} {'search':>7s} {'peak RSS':>9s} {'bar':>6s}  verdict  formula")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, args, budget, bar, limit_memory) in enumerate(_cases(Path(tmp), opts.quick)):
            wall, search, peak_kb, summary = _run(args, Path(tmp) / f"out{k}", limit_memory)
            ok = wall <= bar
            failed += not ok
            print(f"{name:36s} {budget:6.0f}s {wall:6.1f}s {search:6.1f}s {peak_kb / 1024:7.0f}MB {bar:5.1f}s  "
                  f"{'PASS' if ok else 'FAIL':7s}  {summary['formula'][:60]}", flush=True)
    print(f"(machine: {os.cpu_count()} CPUs; wall = the whole process, search = what kansr reports)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
