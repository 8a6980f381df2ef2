"""Shared helpers of the discovery tests."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

from kansr.discovery._state import Budget, Search


@pytest.fixture
def make_search():
    """``make_search(X, names, truth, noise=0, seed=0)``: a Search on ``truth`` at the rows ``X``,
    with Gaussian noise of ``noise`` times the standard deviation of ``y``."""

    def make(X: np.ndarray, names: list[str], truth: sympy.Expr, noise: float = 0.0, seed: int = 0) -> Search:
        syms = [sympy.Symbol(n) for n in names]
        y = np.asarray(sympy.lambdify(syms, truth)(*X.T), dtype=float) * np.ones(len(X))
        if noise:
            y = y + np.random.default_rng(seed + 100).normal(0.0, noise * np.std(y), len(y))
        return Search(X, y, names, seed, None, Budget(30.0), [])

    return make


@pytest.fixture
def assert_chosen_is():
    """``assert_chosen_is(search, truth)``: the formula ``choose`` picks from the pool is ``truth`` (SRBench check)."""
    from kansr.bench.check import compare_symbolic
    from kansr.discovery._candidates import choose

    def check(s: Search, truth: sympy.Expr) -> None:
        assert s.pool, s.log
        best = choose(list(s.pool.values()), s.y_std)
        assert compare_symbolic(best.formula.expr, truth).solved, (best.formula.expr, s.log)

    return check
