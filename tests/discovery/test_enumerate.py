"""Exhaustive small-expression search: exact recovery, limits of time and memory, invalid values."""
from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest
import sympy
from scipy.special import ndtr

from kansr.bench.check import compare_symbolic
from kansr.discovery._enumerate import BINARY_OPS, DEFAULT_UNARY, _enumerator, enumerate_expressions, run_enumeration
from kansr.discovery._state import Budget, Search
from kansr.discovery.generators._enumerate import gen_enumerate

a, b, x, y = sympy.symbols("a b x y", real=True)

# name: (variables, truth, sampling range, size of the smallest tree the search finds it as)
TARGETS = {
    "a*b/(a+b)": ((a, b), a * b / (a + b), (0.5, 3.0), 6),  # 1/(1/a + 1/b)
    "sqrt(1-x**2)": ((x,), sympy.sqrt(1 - x**2), (-0.9, 0.9), 5),
    "x/sqrt(1-x**2)": ((x,), x / sympy.sqrt(1 - x**2), (-0.9, 0.9), 7),
    "exp(-x**2/2)": ((x,), sympy.exp(-x**2 / 2), (-2.0, 2.0), 5),  # 1/sqrt(exp(x**2))
    "1/(exp(x)-1)": ((x,), 1 / (sympy.exp(x) - 1), (0.2, 3.0), 5),
    "x*sin(y)": ((x, y), x * sympy.sin(y), (-2.0, 2.0), 4),
    "(a-b)/(a+b)": ((a, b), (a - b) / (a + b), (0.5, 3.0), 5),  # 2*a/(a + b) - 1
    "a/(1+a*b)": ((a, b), a / (1 + a * b), (0.2, 3.0), 5),  # 1/(b + 1/a)
    "sqrt(a**2+b**2)": ((a, b), sympy.sqrt(a**2 + b**2), (-2.0, 2.0), 6),
    "cos(a-b)": ((a, b), sympy.cos(a - b), (-2.0, 2.0), 4),
}
SAMPLINGS = ("uniform", "correlated", "curve")


def _unit_sample(kind: str, d: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Points in [0, 1]^d: uniform, or far from it (correlated / skewed; along a curve / clustered)."""
    if kind == "uniform":
        return rng.uniform(size=(n, d))
    if kind == "correlated":
        if d == 1:
            return rng.beta(0.6, 2.0, size=(n, 1))
        z = rng.standard_normal((n, 2))
        z[:, 1] = 0.85 * z[:, 0] + np.sqrt(1 - 0.85**2) * z[:, 1]
        return ndtr(z)
    if d == 1:  # two clusters
        u = np.concatenate([rng.normal(0.2, 0.05, n // 2), rng.normal(0.75, 0.08, n - n // 2)])
        return np.clip(u, 0, 1)[:, None]
    t = rng.uniform(size=n)  # a curve through the square: b is a function of a
    return np.column_stack([t, 0.5 + 0.45 * np.sin(2 * np.pi * 1.3 * t + 0.4)])


def _data(name: str, kind: str = "uniform", noise: float = 0.0, n: int = 300, seed: int = 0):
    variables, truth, (lo, hi), _ = TARGETS[name]
    rng = np.random.default_rng(seed)
    X = lo + (hi - lo) * _unit_sample(kind, len(variables), n, rng)
    f = sympy.lambdify(variables, truth, "numpy")
    target = np.broadcast_to(f(*X.T), (n,)).astype(float)
    target = target + noise * np.std(target) * rng.standard_normal(n)
    return X, target, list(variables), truth


def _solved(found: sympy.Expr, truth: sympy.Expr, X: np.ndarray, variables) -> bool:
    return compare_symbolic(found, truth, X=X, symbols=variables).solved


@pytest.mark.parametrize("noise", [0.0, 0.01])
@pytest.mark.parametrize("kind", SAMPLINGS)
@pytest.mark.parametrize("name", list(TARGETS))
def test_recovers_target_exactly(name, kind, noise):
    """The top-ranked expression of all trees up to the target's size is the target."""
    X, target, variables, truth = _data(name, kind, noise)
    size = TARGETS[name][3]
    found = enumerate_expressions(X, target, variables, max_size=size)
    expr, rmse = found[0]
    assert _solved(expr, truth, X, variables), f"found {expr} (rmse {rmse:.3g}), truth {truth}"
    # Exact constants: no float survives snapping (c = 1 or 2, d = 0 or -1 here).
    assert not expr.atoms(sympy.Float), expr
    assert rmse <= max(2 * noise, 1e-12) * np.std(target)


@pytest.mark.parametrize(("name", "noise"), [("a/(1+a*b)", 0.01), ("exp(-x**2/2)", 0.01), ("sqrt(a**2+b**2)", 0.0)])
def test_larger_trees_do_not_outrank_the_target(name, noise):
    """At the default size (7), none of the million larger trees is ranked above the truth."""
    X, target, variables, truth = _data(name, "uniform", noise, seed=1)
    report = run_enumeration(X, target, variables)
    assert report.sizes_done == 7 and not report.timed_out
    best = report.found[0]
    assert _solved(best.expr, truth, X, variables), f"found {best.expr}, truth {truth}"
    assert best.size == TARGETS[name][3]


def test_time_limit_is_honoured():
    rng = np.random.default_rng(2)
    X = rng.uniform(0.5, 2.0, (1000, 3))
    target = X[:, 0] * X[:, 1] + np.sin(X[:, 2])
    t0 = time.perf_counter()
    report = run_enumeration(X, target, [a, b, x], max_size=9, time_limit=1.0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.5, elapsed
    assert report.timed_out and report.sizes_done < 9
    assert report.found and report.found[0].rmse < np.std(target)


def test_memory_stays_under_the_cap():
    """Size level 5 of three variables needs more than the cap allows: it is cut, the peak stays below."""
    rng = np.random.default_rng(3)
    X = rng.uniform(0.5, 2.0, (2000, 3))
    target = X[:, 0] / (X[:, 1] + X[:, 2])
    cap = 20e6
    tracemalloc.start()
    try:
        report = run_enumeration(X, target, [a, b, x], max_size=7, time_limit=1.5, max_bytes=cap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.truncated
    assert peak < cap, f"peak {peak / 1e6:.1f} MB"
    assert _solved(report.found[0].expr, a / (b + x), X, [a, b, x])


def test_non_finite_values_never_reach_the_result():
    """log, sqrt and 1/x of data with zeros and negatives are dropped, also when only unsampled rows fail."""
    rng = np.random.default_rng(4)
    X = np.r_[rng.uniform(0.5, 2.0, 9999), -1.0][:, None]  # one bad row: rarely among the 200 evaluated
    target = np.r_[np.log(X[:-1, 0]), 0.0]
    X0 = np.r_[np.linspace(-2.0, 2.0, 101)][:, None]  # includes 0 exactly
    for data, values in ((X, target), (X0, X0[:, 0] ** 2 + np.cos(X0[:, 0]))):
        found = enumerate_expressions(data, values, [x], max_size=5, n_points=200)
        assert found
        for expr, rmse in found:
            f = sympy.lambdify([x], expr, "numpy")
            with np.errstate(all="ignore"):
                out = np.broadcast_to(f(data[:, 0]), (len(data),))
            assert np.all(np.isfinite(out)) and np.isfinite(rmse), expr


def test_duplicates_are_removed():
    """Each function is kept once, as its smallest tree; none returned twice up to c*e + d."""
    t = np.linspace(0.5, 2.0, 40)
    counts = run_enumeration(t, np.sin(t), [x], max_size=3).distinct_by_size
    # Size 2: eight functions of x and the constant -1 (inv(1), sqrt(1), 1**2 are the leaf 1 again).
    assert counts[1] == 2 and counts[2] == 9
    X, target, variables, _ = _data("cos(a-b)", noise=0.01)
    report = run_enumeration(X, target, variables, max_size=5, top=20)
    assert report.n_distinct < report.n_tried
    values = np.array([sympy.lambdify(variables, f.body, "numpy")(*X.T) * np.ones(len(X)) for f in report.found])
    corr = np.corrcoef(values)
    off_diagonal = np.abs(corr[~np.eye(len(corr), dtype=bool)])
    assert off_diagonal.max() < 1 - 1e-9


@pytest.mark.parametrize("positive", [True, False])
def test_stored_expressions_are_distinct_functions(positive):
    """Every stored expression (sizes 1-4 here) has values of its own on the data and probe points."""
    t = np.linspace(0.5, 2.0, 40) if positive else np.linspace(-2.0, 2.0, 41)
    enum = _enumerator(t[:, None], np.sin(t), [(1.0, sympy.Integer(1))], unary=DEFAULT_UNARY,
                       binary=tuple(BINARY_OPS), max_size=6, max_const_size=3, n_points=200, max_bytes=50e6,
                       keep=50, deadline=np.inf, seed=0)
    enum.run()
    values = np.vstack([level.values for level in enum.levels.values()])
    assert len(values) > 150
    mantissa, exponent = np.frexp(np.nan_to_num(values, nan=7.0, posinf=8.0, neginf=9.0))
    rounded = np.ldexp(np.round(mantissa, 7), exponent)  # seven digits: equal up to round-off
    assert len(np.unique(rounded, axis=0)) == len(values)


def test_same_seed_same_result():
    """The row subset and the probe points come from the seed (a small subset: they matter here)."""
    X, target, variables, _ = _data("sqrt(a**2+b**2)", "correlated", 0.05)
    first, second = (run_enumeration(X, target, variables, max_size=5, n_points=60, top=30, seed=7) for _ in range(2))
    assert (first.n_tried, first.n_distinct) == (second.n_tried, second.n_distinct)
    assert [(str(f.expr), f.rmse) for f in first.found] == [(str(f.expr), f.rmse) for f in second.found]


def test_plain_arrays_and_bad_input():
    t = np.linspace(0.1, 2.0, 50)
    found = enumerate_expressions(t, 3 * np.exp(t) + 1, [x], max_size=2)  # 1-D X is one column
    assert found[0][0] == 3 * sympy.exp(x) + 1
    with pytest.raises(ValueError, match="variables"):
        enumerate_expressions(np.c_[t, t], t, [x])
    with pytest.raises(ValueError, match="finite"):
        enumerate_expressions(np.r_[t[:-1], np.nan], t, [x])
    with pytest.raises(ValueError, match="operator"):
        enumerate_expressions(t, t, [x], unary=("erf",))


def _search(X, target, names, seconds=30.0):
    return Search(X, target, names, seed=0, library=None, budget=Budget(seconds), log=[])


def test_generator_proposes_the_exact_formula():
    X, target, _, _ = _data("a/(1+a*b)", n=400)
    s = _search(X, target, ["a", "b"])
    gen_enumerate(s)
    enumerate_cands = [c for c in s.pool.values() if c.source == "enumerate"]
    assert any(_solved(c.formula.expr, a / (1 + a * b), X, [a, b]) for c in enumerate_cands)
    assert any(m.startswith("enumerate:") and "expressions tried" in m for m in s.log)


def test_generator_refuses_four_variables():
    rng = np.random.default_rng(5)
    X = rng.uniform(0.5, 2.0, (200, 4))
    s = _search(X, X.sum(axis=1), ["p", "q", "r", "t"])
    gen_enumerate(s)
    assert not s.pool
    assert any("skipped" in m and "4 variables" in m for m in s.log)
