"""When kansr's compiled kernels should use the thread pool.

Usage::

    python benchmarks/bench_threads.py [--rounds 20]

``kansr.nn.kernels._jit`` runs a kernel call on the calling thread when the call
is small (samples * inputs * outputs below ``_PARALLEL_WORK``), else on the
pool.  This script times an Adam step for several shapes and sample counts
under three policies, in alternating rounds of one run: kansr's default,
the pool for every call, and one thread for everything; it prints the
medians and each policy's ratio to the default.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kansr.nn import KAN
from kansr.nn.kernels import _jit as spline_jit
from kansr.train import make_optimizer

CASES = (([2, 5, 1], 5, 1000), ([2, 5, 1], 5, 3000), ([3, 3, 1], 5, 3000), ([2, 5, 1], 5, 10000),
         ([4, 8, 8, 1], 10, 1000), ([6, 16, 16, 1], 20, 1000))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=20, help="alternating rounds of 10 timed steps (default 20)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    default = spline_jit._PARALLEL_WORK
    policies = {"default": default, "pool for every call": 0, "one thread": 10**18}
    print(f"kansr Adam step (us), median over {args.rounds * 10} steps per policy, {args.threads} threads")
    print(f"{'shape':14s} {'n':>6s} {'edges x n':>10s} " + " ".join(f"{p:>20s}" for p in policies))
    gen = torch.Generator().manual_seed(0)
    try:
        for width, G, n in CASES:
            x = torch.rand(n, width[0], generator=gen) * 2 - 1
            y = torch.sin(torch.pi * x[:, :1])
            model = KAN(width, grid=G, seed=0)
            opt = make_optimizer("adam", model.parameters(), 1e-3)

            def step(model=model, opt=opt, x=x, y=y):
                opt.zero_grad()
                ((model(x) - y) ** 2).mean().backward()
                opt.step()

            times: dict[str, list[float]] = {p: [] for p in policies}
            for _ in range(args.rounds):
                for name, threshold in policies.items():
                    spline_jit._PARALLEL_WORK = threshold
                    for _ in range(5):  # settle after the switch
                        step()
                    for _ in range(10):
                        t0 = time.perf_counter()
                        step()
                        times[name].append(time.perf_counter() - t0)
            med = {p: statistics.median(t) * 1e6 for p, t in times.items()}
            work = n * sum(a * b for a, b in itertools.pairwise(width))
            cells = " ".join(f"{med[p]:9.0f} ({med[p] / med['default']:4.2f}x)" for p in policies)
            print(f"{width!s:14s} {n:6d} {work:10d} {cells}")
    finally:
        spline_jit._PARALLEL_WORK = default
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
