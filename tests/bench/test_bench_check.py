from __future__ import annotations

import time

import numpy as np
import pytest
import sympy

import feynman_data
from kansr.bench import check_solution, compare_symbolic, is_symbolic_solution, round_floats
from kansr.symbolic import symbol_for

x, y = symbol_for("x"), symbol_for("y")
px, py = sympy.symbols("x y")  # no assumptions, as some model exporters build them


def test_round_floats():
    expr = sympy.Float(1.23456) * x + sympy.Float(0.00004) * y + sympy.Float(-2.0004)
    assert round_floats(expr) == sympy.Float(1.235) * x + sympy.Float(-2.0)
    assert round_floats(sympy.Float(0.123456) * x, digits=1) == sympy.Float(0.1) * x
    assert round_floats(x + 1) == x + 1


@pytest.mark.parametrize(
    ("model", "truth", "solved"),
    [
        (sympy.Float(1.0002) * px * py, x * y, True),
        (x + y, x * y, False),
        (2 * sympy.sin(x), sympy.sin(x), True),  # ratio is constant
        (x**2 + 3, x**2, True),  # difference is constant
        (sympy.Float(1.3) * x * y, x * y, True),
        (sympy.Integer(0), x, False),  # zero ratio does not count
        (sympy.exp(x), 1 + x + x**2 / 2, False),
        (x**2 + 2 * x + 1, (x + 1) ** 2, True),  # needs the child process
        (sympy.Integer(1), sympy.sin(x) ** 2 + sympy.cos(x) ** 2, True),
        (sympy.sqrt(x**2), x, False),  # |x| != x for real x
    ],
)
def test_is_symbolic_solution(model, truth, solved):
    assert is_symbolic_solution(model, truth) is solved


def test_verdict_explains_itself():
    verdict = compare_symbolic(2 * sympy.sin(px), sympy.sin(x))
    assert verdict.solved and verdict.kind == "ratio" and verdict.constant == 2
    verdict = compare_symbolic(x + y, x * y)
    assert not verdict.solved and "vary" in verdict.reason


def test_timeout_returns_false_quickly():
    # Numerically constant (so the symbolic stage runs) but slow to simplify.
    hard = sympy.sin(x + y) ** 8 * sympy.cos(x - y) ** 6 + sympy.tan(x * y) ** 3
    model = hard + 1 - sympy.sin(x) ** 2 - sympy.cos(x) ** 2
    start = time.perf_counter()
    verdict = compare_symbolic(model, hard, timeout=0.05)
    assert time.perf_counter() - start < 5
    assert not verdict.solved and "timed out" in verdict.reason


def test_check_solution_on_feynman_data():
    X, y_test, names, truth = feynman_data.sample("I.12.4", 300, seed=5)
    q1, epsilon, r = (symbol_for(n) for n in names)
    exact_model = sympy.Float(0.0795775) * sympy.Symbol("q1") / (sympy.Symbol("epsilon") * sympy.Symbol("r") ** 2)
    result = check_solution(exact_model, truth, X, y_test, names)
    assert result["solved"] and result["accuracy_solved"]
    assert result["r2"] > 0.999999 and result["rmse"] < 1e-6

    wrong_model = q1 / (12 * epsilon * r)
    result = check_solution(wrong_model, truth, X, y_test, [q1, epsilon, r])
    assert not result["solved"] and not result["accuracy_solved"] and result["symbolic"] is None
    assert set(result) >= {"solved", "accuracy_solved", "r2", "rmse"}


def test_symbolic_solution_needs_good_fit():
    X, y_test, names, truth = feynman_data.sample("I.12.1", 200, seed=2)
    shifted = truth + 1000  # constant difference: symbolic solution, awful fit
    result = check_solution(shifted, truth, X, y_test, names)
    assert result["r2"] < 0.5 and not result["solved"]


def test_check_solution_validates_inputs():
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match="not columns"):
        check_solution(x * symbol_for("z"), x * y, X, np.ones(4), ["x", "y"])
    with pytest.raises(ValueError, match="shape"):
        check_solution(x, x, np.ones((4, 3)), np.ones(4), ["x", "y"])
    with pytest.raises(ValueError, match="rows"):
        check_solution(x, x, X, np.ones(5), ["x", "y"])
    with pytest.raises(TypeError, match="parse_formula"):
        is_symbolic_solution("x*y", x * y)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        is_symbolic_solution(x, x, timeout=0)


def test_positive_domain_identities_count():
    # I.47.23: c = sqrt(gamma*pr/rho); every variable is sampled positive.
    X, y_test, names, truth = feynman_data.sample("I.47.23", 200, seed=1)
    gamma, pr, rho = (symbol_for(n) for n in names)
    split = sympy.sqrt(gamma) * sympy.sqrt(pr) / sympy.sqrt(rho)
    assert check_solution(split, truth, X, y_test, names)["solved"]
    # Without the domain, sqrt(a)*sqrt(b) and sqrt(a*b) differ for negative a, b.
    assert not compare_symbolic(split, truth).solved


def test_square_roots_sympy_cannot_merge_are_checked_through_the_ratio_squared():
    # I.34.14: omega_0*sqrt((c + v)/(c - v)) is (1 + v/c)/sqrt(1 - v**2/c**2)*omega_0 for c > v > 0,
    # which sympy cannot show directly (the sign of c - v is unknown to it).
    c, v, w = sympy.symbols("c v omega_0")
    truth = (1 + v / c) / sympy.sqrt(1 - v**2 / c**2) * w
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(3, 10, 200), rng.uniform(1, 2, 200), rng.uniform(1, 5, 200)])
    model = w * sympy.sqrt((c + v) / (c - v))
    assert compare_symbolic(model, truth, X=X, symbols=["c", "v", "omega_0"], positive=["c", "v", "omega_0"]).solved
    # a ratio whose square is constant but whose sign flips on the data is no solution
    x = sympy.Symbol("x")
    Xs = np.linspace(-2, 2, 41)[:, None]
    assert not compare_symbolic(sympy.sqrt(x**2) + 0 * x, x, X=Xs, symbols=["x"]).solved
