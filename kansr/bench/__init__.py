"""Benchmark utilities: the SRBench solution criterion."""
from __future__ import annotations

from kansr.bench.check import (
    SymbolicVerdict,
    check_solution,
    compare_symbolic,
    is_symbolic_solution,
    round_floats,
)

__all__ = ["SymbolicVerdict", "check_solution", "compare_symbolic", "is_symbolic_solution", "round_floats"]
