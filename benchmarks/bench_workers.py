"""Adam steps in parallel worker processes, as ``kansr bench feynman --workers N`` runs them.

Usage::

    python benchmarks/bench_workers.py [--workers 2] [--steps 400]

Each worker owns one core: it trains under ``torch_threads(1)`` (the benchmark
runner does the same).  Before the fix in ``kansr.nn.kernels._jit._load``
(2026-12-03), the first kernel call started numba's OpenMP pool, which reset the OpenMP thread count torch
shares to ``NUMBA_NUM_THREADS``: each worker then ran two threads that spun
against the other worker's.  This script times a ``[4, 9, 1]`` KAN's Adam step
(800 samples, float64, the structure surrogate's shape) in ``N`` concurrent
workers, with kansr as it is and with that reset emulated (the baseline, same
run), and prints the medians and their ratio; one worker alone is the ideal.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _worker(emulate_reset: bool, steps: int, barrier, queue) -> None:
    import numpy as np
    import torch

    from kansr import torch_threads
    from kansr.nn import KAN
    from kansr.train._fit import fit

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (800, 4))
    y = X[:, 1] * np.cos(X[:, 2]) / (X[:, 0] * X[:, 3] ** 2)
    with torch_threads(1):
        model = KAN([4, 9, 1], grid=5, k=3, seed=0, dtype=torch.float64)
        fit(model, X, y, steps=5, optimizer="adam", progress=False)  # compiles / loads the kernels
        if emulate_reset:
            import numba

            torch.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        barrier.wait()
        start = time.perf_counter()
        fit(model, X, y, steps=steps, optimizer="adam", progress=False, update_grid=False)
        queue.put((time.perf_counter() - start) / steps * 1e3)


def _run(workers: int, emulate_reset: bool, steps: int) -> float:
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(emulate_reset, steps, barrier, queue)) for _ in range(workers)]
    for p in procs:
        p.start()
    times = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    alone, fixed, reset = [], [], []
    for _ in range(args.rounds):  # alternating rounds: drift hits all three alike
        alone.append(_run(1, False, args.steps))
        fixed.append(_run(args.workers, False, args.steps))
        reset.append(_run(args.workers, True, args.steps))
    a, f, r = (statistics.median(v) for v in (alone, fixed, reset))
    print(f"Adam step, [4, 9, 1] float64, 800 samples, median of {args.rounds} rounds x {args.steps} steps")
    print(f"  1 worker alone:                        {a:7.2f} ms")
    print(f"  {args.workers} workers, kansr:                    {f:7.2f} ms  ({f / a:.2f}x alone)")
    print(f"  {args.workers} workers, thread count reset (old): {r:7.2f} ms  ({r / a:.2f}x alone)")
    print(f"  old / kansr: {r / f:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
