"""Auto-snapping speed: kansr's batched fit against pykan 0.2.8's ``auto_symbolic``.

For 10, 40 and 160 edges (KANs ``[2,5]``, ``[4,8,1]``, ``[8,16,2]``) a pykan
model is trained briefly; both libraries then snap every edge with their full
default library:

* pykan: ``model.auto_symbolic()`` (its own edge samples, its own loop);
* kansr: :func:`kansr.symbolic._fitting.fit_affine` on *the same* edge samples
  (pykan's cached inputs and spline outputs of every edge), one batched call,
  and :func:`kansr.symbolic._snap.auto_symbolic` end to end on a kansr model of
  the same shape.

Both are timed in the same run; the ratio pykan / kansr is printed.

Usage::

    python benchmarks/bench_symbolic.py            # all sizes
    python benchmarks/bench_symbolic.py --quick    # 10 and 40 edges only
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time

import numpy as np
import torch

from kansr.nn import KAN
from kansr.symbolic import auto_symbolic, fit_affine
from kansr.train import fit

SHAPES = {10: [2, 5], 40: [4, 8, 1], 160: [8, 16, 2]}


def _data(n_in: int, n_out: int, n: int = 1000, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, n_in))
    cols = [np.sin(np.pi * X[:, 0]) + X[:, (1 % n_in)] ** 2 + 0.5 * X[:, -1] * k for k in range(1, n_out + 1)]
    return X, np.stack(cols, 1)


def _kansr(width, X, y):
    model = KAN(width, grid=5, seed=0)
    fit(model, X, y, steps=5, progress=False)
    t = time.perf_counter()
    auto_symbolic(model, X)
    return time.perf_counter() - t


def _pykan(width, X, y):
    from kan import KAN as PyKAN

    quiet = io.StringIO()  # pykan prints progress bars and messages
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            model = PyKAN(width=list(width), grid=5, k=3, seed=0, auto_save=False)  # pykan edits the list
            ds = {
                "train_input": torch.tensor(X, dtype=torch.float32),
                "train_label": torch.tensor(y, dtype=torch.float32),
                "test_input": torch.tensor(X, dtype=torch.float32),
                "test_label": torch.tensor(y, dtype=torch.float32),
            }
            model.fit(ds, opt="LBFGS", steps=5, update_grid=False)
            model(ds["train_input"])  # cache the edge samples
            xs, ys = [], []
            for l in range(len(width) - 1):
                for i in range(width[l]):
                    for j in range(width[l + 1]):
                        xs.append(model.acts[l][:, i].detach().double())
                        ys.append(model.spline_postacts[l][:, j, i].detach().double())
            t = time.perf_counter()
            model.auto_symbolic(verbose=0)
            t_pykan = time.perf_counter() - t
        finally:
            os.chdir(cwd)
    xs, ys = torch.stack(xs), torch.stack(ys)
    t = time.perf_counter()
    fit_affine(xs, ys)
    return t_pykan, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="only 10 and 40 edges")
    ap.add_argument("--edges", default=None, help="comma-separated sizes to run, e.g. 40 (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        import kan  # noqa: F401

        have_pykan = True
    except ImportError:
        have_pykan = False
        print("pykan not installed: timing kansr only (pip install pykan==0.2.8 for the comparison)")
    sizes = [10, 40] if args.quick else [10, 40, 160]
    if args.edges:
        sizes = [int(v) for v in args.edges.split(",")]
        unknown = [v for v in sizes if v not in SHAPES]
        if unknown:
            ap.error(f"--edges takes sizes among {sorted(SHAPES)}; got {unknown}")
    print(f"{'edges':>5} {'kansr auto_symbolic s':>22} {'kansr fit on pykan samples s':>29} "
          f"{'pykan auto_symbolic s':>22} {'ratio':>7}")
    for n_edges in sizes:
        width = SHAPES[n_edges]
        X, y = _data(width[0], width[-1])
        t_k = _kansr(width, X, y)
        if have_pykan:
            t_p, t_same = _pykan(width, X, y)
            print(f"{n_edges:>5} {t_k:>22.3f} {t_same:>29.3f} {t_p:>22.2f} {t_p / t_same:>6.0f}x")
            if n_edges == 40:
                verdict = "PASS" if t_p / t_same >= 50 and t_same < 1.0 else "FAIL"
                print(f"      bar: >= 50x faster than pykan and < 1 s on 40 edges: {verdict}")
        else:
            print(f"{n_edges:>5} {t_k:>22.3f} {'-':>29} {'-':>22} {'-':>7}")


if __name__ == "__main__":
    main()
