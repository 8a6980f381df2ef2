"""Wall time of `kansr discover` with default settings (the CSV front door's speed bar).

Times the README demo (bundled CSV) and a 3-variable, 1,000-row CSV, both with
defaults, and prints each against the 60 s bar of the project.  There is no
pykan equivalent of this command, so the baseline is the bar itself.

Usage: python benchmarks/bench_cli.py
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kansr.datasets import example_path


def _time(args: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kansr.cli", *args, "--no-progress"], capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"kansr discover failed: {done.stderr.strip()}")
    formula = next((line for line in done.stdout.splitlines() if line.startswith("formula:")), "?")
    return elapsed, formula


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(2)
        X = rng.uniform(0.5, 2.0, (1000, 3))
        three = Path(tmp) / "three.csv"
        y = 3 * X[:, 0] + X[:, 1] ** 2 + np.sin(X[:, 2])
        pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "y": y}).to_csv(three, index=False)
        runs = {
            "demo (bundled CSV)": ["discover", str(example_path()), "--target", "E [J]", "--units", "noise_col=1",
                                   "--out", str(Path(tmp) / "o")],
            "3 variables x 1,000 rows": ["discover", str(three), "--target", "y"],
        }
        for name, args in runs.items():
            seconds, formula = _time(args)
            verdict = "PASS" if seconds < 60 else "FAIL"
            print(f"{name:28s} {seconds:6.1f} s  (bar < 60 s: {verdict})  {formula}")


if __name__ == "__main__":
    main()
