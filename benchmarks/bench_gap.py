"""What other work between training steps costs kansr's next step.

Usage::

    python benchmarks/bench_gap.py [--gap-ms 2] [--steps 300]

A benchmark that alternates kansr and pykan calls in one process puts a
pykan step (about 2 ms on ``[2,5,1]``) before every kansr step.  This script
times kansr's Adam step on ``[2,5,1]`` G=5 with 1,000 samples back to back
(the baseline, measured in the same run) and after each kind of gap, and
prints the ratio to the baseline; then the same with every kernel on the
calling thread, where no thread pool has to wake up after the gap.  A last
case runs the steps back to back next to a busy process on the other core,
to see whether a neighbour on the other core slows the step.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kansr.nn import KAN
from kansr.nn.kernels import _jit as spline_jit
from kansr.train import make_optimizer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gap-ms", type=float, default=2.0, help="length of each gap (default 2 ms, a pykan step)")
    ap.add_argument("--steps", type=int, default=300, help="timed steps per case (default 300)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1000, 2, generator=gen) * 2 - 1
    y = torch.sin(torch.pi * x[:, :1]) + x[:, 1:] ** 2
    model = KAN([2, 5, 1], grid=5, seed=0)
    opt = make_optimizer("adam", model.parameters(), 1e-3)

    def step():
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()

    gap = args.gap_ms / 1e3
    a, b = torch.rand(300, 300), torch.rand(300, 300)

    def torch_work():  # multi-threaded torch work for about the gap
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < gap:
            a @ b

    def python_spin():  # the CPU stays busy on this thread only
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < gap:
            pass

    cases = [("back to back", None), (f"after {args.gap_ms:g} ms asleep", lambda: time.sleep(gap)),
             (f"after {args.gap_ms:g} ms of torch matmuls", torch_work),
             (f"after {args.gap_ms:g} ms of Python busy loop", python_spin)]
    busy_name = "back to back, busy process on another core"
    default = spline_jit._PARALLEL_WORK
    # With every kernel on the calling thread, no thread pool has to wake up.
    policies = {"kernels on the thread pool (default)": default, "every kernel on the calling thread": 10**18}
    print(f"kansr Adam step, [2,5,1] G=5 n=1000, {torch.get_num_threads()} threads, median of {args.steps // 10 * 10}")
    try:
        for policy, threshold in policies.items():
            spline_jit._PARALLEL_WORK = threshold
            for _ in range(50):
                step()
            # Cases take turns in rounds, so that drifts of machine speed hit all alike.
            times: dict[str, list[float]] = {name: [] for name, _ in cases}
            for _ in range(args.steps // 10):
                for name, before in cases:
                    for _ in range(10):
                        if before is not None:
                            before()
                        t0 = time.perf_counter()
                        step()
                        times[name].append(time.perf_counter() - t0)
            # Does a neighbour on the other core slow the step (shared core resources)?
            times[busy_name] = []
            neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                time.sleep(0.3)
                for _ in range(args.steps):
                    t0 = time.perf_counter()
                    step()
                    times[busy_name].append(time.perf_counter() - t0)
            finally:
                neighbour.kill()
                neighbour.wait()
            medians = {name: statistics.median(t) * 1e6 for name, t in times.items()}
            base = medians["back to back"]
            print(f" {policy}:")
            for name, median in medians.items():
                print(f"  {name:44s} {median:7.0f} us   {median / base:5.2f}x back to back")
    finally:
        spline_jit._PARALLEL_WORK = default
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
