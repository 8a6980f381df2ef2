"""Closed-form regressions: a linear model, a power law, sparse sums of monomials."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import sympy

from kansr.discovery._monomials import sparse_monomial_sum
from kansr.discovery._state import Search


def gen_linear(s: Search) -> None:
    A = np.column_stack([s.X, np.ones(len(s.y))])
    coef, *_ = np.linalg.lstsq(A, s.y, rcond=None)
    expr = sum(sympy.Float(w, 17) * v for w, v in zip(coef[:-1], s.variables)) + sympy.Float(coef[-1], 17)
    s.add(expr, "linear", refit=False)


def gen_power_law(s: Search) -> None:
    if np.any(s.X <= 0) or not (np.all(s.y > 0) or np.all(s.y < 0)):
        return
    sign = 1.0 if s.y[0] > 0 else -1.0
    A = np.column_stack([np.log(s.X), np.ones(len(s.y))])
    if A.shape[1] >= len(s.y):  # as many constants as rows interpolate any data: no law to find (and slow to snap)
        s.note(f"power_law: skipped ({A.shape[1]} constants for {len(s.y)} rows)")
        return
    coef, *_ = np.linalg.lstsq(A, np.log(np.abs(s.y)), rcond=None)
    expr = sign * sympy.Float(math.exp(coef[-1]), 17)
    for p, v in zip(coef[:-1], s.variables):
        expr = expr * v ** sympy.Float(p, 17)
    s.add(expr, "power_law")


def monomial_expr(variables: Sequence[sympy.Symbol], exponents: Sequence) -> sympy.Expr:
    """``prod_i variables[i] ** exponents[i]`` (zero exponents left out)."""
    return sympy.Mul(*[v ** p for v, p in zip(variables, exponents) if p])


def gen_monomial_sum(s: Search) -> None:
    for exponents, coef, _ in sparse_monomial_sum(s.X, s.y, should_stop=s.budget.over):
        terms = [sympy.Float(c, 17) * monomial_expr(s.variables, e) for c, e in zip(coef[1:], exponents)]
        s.add(sympy.Float(coef[0], 17) + sympy.Add(*terms), "monomial_sum")
        if s.solved() or s.budget.over(reserve=2.0):
            return
