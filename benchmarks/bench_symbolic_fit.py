"""Time :func:`kansr.symbolic.fitting.fit_affine` on the edges of a [4, 8, 1] KAN.

40 edges x 1,000 samples, each edge a random library function under a random
affine map (plus 1e-4 relative noise), fitted against the full default library
in one call. Prints wall and CPU time of the best of ``--repeats`` calls and
how many edges were recovered.

Usage: ``python benchmarks/bench_symbolic_fit.py [--threads 2] [--repeats 5]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from kansr.symbolic.fitting import fit_affine
from kansr.symbolic.library import DEFAULT_LIBRARY

# Inner-argument ranges inside each function's domain.
_Z = {"x^2": (-1.5, 2), "x^3": (-1.5, 2), "x^4": (-1.5, 2), "1/x": (0.3, 3), "1/x^2": (0.4, 3),
      "sqrt": (0.05, 4), "1/sqrt(x)": (0.1, 4), "exp": (-2, 2), "log": (0.1, 5), "sin": (-3, 3), "cos": (-3, 3),
      "tan": (-1.3, 1.3), "tanh": (-3, 3), "sigmoid": (-5, 5), "arcsin": (-0.95, 0.95), "arccos": (-0.95, 0.9),
      "arctan": (-4, 4), "arctanh": (-0.95, 0.95), "abs": (-2, 3), "gaussian": (-2.5, 2), "cosh": (-2, 2.5),
      "sinh": (-2.5, 2), "x": (-2, 2), "sign": (-2, 3)}


def make_edges(n_edges: int = 40, n_samples: int = 1000, seed: int = 0):
    """Synthetic edge samples ``(x, y, names)``."""
    rng = np.random.default_rng(seed)
    names = list(_Z)
    xs, ys, truth = [], [], []
    for e in range(n_edges):
        name = names[e % len(names)]
        a, b = rng.uniform(0.5, 3) * rng.choice([-1, 1]), rng.uniform(-2, 2)
        c, d = rng.uniform(0.5, 3) * rng.choice([-1, 1]), rng.uniform(-2, 2)
        lo, hi = sorted(((_Z[name][0] - b) / a, (_Z[name][1] - b) / a))
        x = rng.uniform(lo, hi, n_samples)
        y = c * DEFAULT_LIBRARY[name].numpy_fn(a * x + b) + d
        y = y + 1e-4 * y.std() * rng.normal(size=n_samples)
        xs.append(x)
        ys.append(y)
        truth.append(name)
    return torch.tensor(np.stack(xs)), torch.tensor(np.stack(ys)), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y, truth = make_edges()
    fit_affine(x[:2], y[:2])  # warm-up (lazy initialisation inside torch)
    walls, cpus = [], []
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        res = fit_affine(x, y)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    equivalent = {"cos": {"sin"}, "sigmoid": {"tanh"}, "arccos": {"arcsin"}}
    hits = sum(b.name in {t} | equivalent.get(t, set()) for b, t in zip(res.best(), truth))
    print(f"fit_affine: {x.shape[0]} edges x {x.shape[1]} samples x {len(res.names)} functions, "
          f"{args.threads} threads")
    print(f"  wall best {min(walls):.3f} s  median {sorted(walls)[len(walls) // 2]:.3f} s  "
          f"(cpu best {min(cpus):.3f} s)")
    print(f"  recovered {hits}/{len(truth)} edges")


if __name__ == "__main__":
    main()
