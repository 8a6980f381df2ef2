"""Before/after benchmark of two commits: the Adam step and snapping, timed in one run.

A refactor must not slow the hot paths.  This script exports two commits
(``git archive``, so edits made while it runs cannot leak in) and times both,
each in its own child process, in alternating rounds (base, head, head, base,
...) so that a slow phase of the machine hits both alike:

* **Adam step** — each tree's own ``benchmarks/bench_training.py --no-pykan
  --ops adam`` (median of its repeats, per shape);
* **snapping** — ``auto_symbolic(model, X)`` on a trained ``[4, 8, 1]`` KAN
  (40 edges) with the default library, best of five calls, through the
  public API both trees share (``kansr.KAN``, ``kansr.fit``,
  ``kansr.symbolic.auto_symbolic``).

It prints, per case, the median over rounds of each tree's figure and the
ratio head / base (below 1: head is faster).

Usage::

    .venv/bin/python benchmarks/bench_commits.py --base ba7efbf [--head HEAD] [--rounds 3] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SHAPES_FULL = "2-5-1:5,4-8-8-1:10,6-16-16-1:20"
SHAPES_QUICK = "2-5-1:5,4-8-8-1:10"

SNAP_SNIPPET = r"""
import json, sys, time
import numpy as np
import torch
torch.set_num_threads(2)
from kansr import KAN, fit
from kansr.symbolic import auto_symbolic
try:  # the allocator as bench_training.py sets it (older trees tuned it inside fit)
    from kansr import tune_allocator
except ImportError:
    from kansr.allocator import tune_allocator
tune_allocator()
rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, (1000, 4))
y = np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2 + 0.5 * X[:, 3]
model = KAN([4, 8, 1], grid=5, seed=0)
fit(model, X, y, steps=5, progress=False)
times = []
for _ in range(6):
    m = model.copy()
    t = time.perf_counter()
    auto_symbolic(m, X)
    times.append(time.perf_counter() - t)
print(json.dumps({"snap_40_edges_ms": 1000 * min(times[1:])}))
"""


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}


def _adam(tree: Path, shapes: str, samples: str, repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, str(tree / "benchmarks" / "bench_training.py"), "--no-pykan", "--ops", "adam",
               "--shapes", shapes, "--samples", samples, "--repeats", str(repeats), "--json", str(out)]
        subprocess.run(cmd, cwd=tree, env=_env(tree), check=True, stdout=subprocess.DEVNULL)
        rows = json.loads(out.read_text())["rows"]
    return {f"adam {'-'.join(map(str, r['width']))} G={r['G']} n={r['n']} ms": r["kansr"]["median_ms"] for r in rows}


def _snap(tree: Path) -> dict[str, float]:
    res = subprocess.run([sys.executable, "-c", SNAP_SNIPPET], cwd=tree, env=_env(tree), check=True,
                         capture_output=True, text=True)
    return {"auto_symbolic 40 edges ms": json.loads(res.stdout.strip().splitlines()[-1])["snap_40_edges_ms"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the commit to compare against (e.g. the one before a refactor)")
    ap.add_argument("--head", default="HEAD", help="the commit to measure (default HEAD)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--quick", action="store_true", help="two small shapes, 1,000 samples, fewer repeats")
    args = ap.parse_args(argv)
    shapes = SHAPES_QUICK if args.quick else SHAPES_FULL
    samples = "1000" if args.quick else "1000,10000"
    repeats = 10 if args.quick else 20
    revs = {side: subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, check=True,
                                 capture_output=True, text=True).stdout.strip()
            for side, rev in (("base", args.base), ("head", args.head))}
    with tempfile.TemporaryDirectory(prefix="kansr_commits_") as tmp:
        trees = {}
        for side, rev in revs.items():
            trees[side] = Path(tmp) / side
            trees[side].mkdir()
            archive = subprocess.run(["git", "archive", rev], cwd=REPO, check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(trees[side])], input=archive, check=True)
        print(f"base {revs['base']} vs head {revs['head']}; warming up (numba compiles each tree's kernels once) ...",
              flush=True)
        for tree in trees.values():  # first runs compile and cache the kernels: not timed
            _adam(tree, SHAPES_QUICK.split(",")[0], "1000", 2)
            _snap(tree)
        results: dict[str, dict[str, list[float]]] = {"base": {}, "head": {}}
        for r in range(args.rounds):
            order = ("base", "head") if r % 2 == 0 else ("head", "base")
            for side in order:
                for case, value in {**_adam(trees[side], shapes, samples, repeats), **_snap(trees[side])}.items():
                    results[side].setdefault(case, []).append(value)
            print(f"round {r + 1}/{args.rounds} done", flush=True)
    print(f"\n{'case':<38} {'base ' + revs['base']:>14} {'head ' + revs['head']:>14} {'head/base':>10}")
    worst = 0.0
    for case in results["base"]:
        b = statistics.median(results["base"][case])
        c = statistics.median(results["head"][case])
        worst = max(worst, c / b)
        print(f"{case:<38} {b:>14.3f} {c:>14.3f} {c / b:>10.2f}")
    print(f"\nslowest case: head/base = {worst:.2f} (medians over {args.rounds} alternating rounds; "
          f"cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
