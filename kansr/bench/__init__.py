"""Benchmark utilities: the SRBench solution criterion, a resumable runner and its summary."""
from __future__ import annotations

from kansr.bench.check import (
    SymbolicVerdict,
    check_solution,
    compare_symbolic,
    is_symbolic_solution,
    round_floats,
)
from kansr.bench.runner import BenchTask, read_results, run_benchmark, run_task, task_seeds
from kansr.bench.summary import PUBLISHED_ANCHORS, summarize

__all__ = [
    "SymbolicVerdict",
    "check_solution",
    "compare_symbolic",
    "is_symbolic_solution",
    "round_floats",
    "BenchTask",
    "PUBLISHED_ANCHORS",
    "read_results",
    "run_benchmark",
    "run_task",
    "summarize",
    "task_seeds",
]
