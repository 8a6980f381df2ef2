"""Regenerate ``example.csv``, the bundled demo data (seeded, so the file is reproducible).

Kinetic energy ``E [J] = m [kg] * v [m/s]**2 / 2`` of 400 objects, plus an
irrelevant column ``noise_col`` that a good discovery drops.  Inputs have 3
decimals and the energy is written exactly (decimal arithmetic, at most 10
decimals), so the file holds the formula to float precision and
``kansr discover`` can stop early once a candidate fits to round-off.

Run from the repository root::

    python kansr/datasets/make_example.py            # writes kansr/datasets/example.csv
"""
from __future__ import annotations

import argparse
import csv
import io
from decimal import Decimal
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def make_rows(n: int = 400, seed: int = 0) -> list[tuple[str, str, str, str]]:
    """The CSV rows (as formatted strings) for ``n`` samples drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    m = [f"{x:.3f}" for x in rng.uniform(0.5, 5.0, n)]
    v = [f"{x:.3f}" for x in rng.uniform(1.0, 10.0, n)]
    noise = [f"{x:.3f}" for x in rng.uniform(-1.0, 1.0, n)]
    # Decimal arithmetic: the energy of the written (rounded) inputs, exactly.
    energy = [Decimal(a) * Decimal(b) ** 2 / 2 for a, b in zip(m, v)]
    return [(a, b, c, format(e.normalize(), "f")) for a, b, c, e in zip(m, v, noise, energy)]


def render(n: int = 400, seed: int = 0) -> str:
    """The full CSV text, header included."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["m [kg]", "v [m/s]", "noise_col", "E [J]"])
    writer.writerows(make_rows(n, seed))
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "example.csv", help="destination CSV")
    parser.add_argument("--n", type=int, default=400, help="number of rows")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    args.out.write_text(render(args.n, args.seed), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
