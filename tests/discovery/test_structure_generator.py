"""The structure generator end to end: the tree read off a surrogate KAN gives the exact formula."""
from __future__ import annotations

import numpy as np
import sympy

from kansr import discover
from kansr.bench.check import compare_symbolic


def test_a_product_with_a_sum_inside_is_recovered_through_its_tree():
    rng = np.random.default_rng(5)
    X = rng.uniform(1, 3, size=(600, 3))
    a, b, c = sympy.symbols("a b c")
    y = X[:, 0] * (1 + X[:, 1] * np.cos(X[:, 2]))
    result = discover(X, y, ["a", "b", "c"], seed=0, time_budget=None, generators=["structure"])  # no budget: deterministic
    assert result.structure_text == "mul(a, mul(b, c) + C)"  # a * (C + b * g(c))
    assert result.best.source == "structure"
    assert compare_symbolic(result.formula.expr, a * (1 + b * sympy.cos(c))).solved, result.formula
