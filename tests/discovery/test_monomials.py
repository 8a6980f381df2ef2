"""Screening for a dimensionless group, and the generators that use it."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

from kansr.discovery import discover
from kansr.discovery._monomials import (
    candidate_exponents,
    count_candidate_exponents,
    monomial_library,
    prefactor_exponents,
    screen_monomials,
    sparse_monomial_sum,
)
from kansr.symbolic import symbol_for


def _lorentz(n=800, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(1, 5, n), rng.uniform(1, 2, n), rng.uniform(3, 10, n)])  # m0, v, c
    return X, X[:, 0] / np.sqrt(1 - (X[:, 1] / X[:, 2]) ** 2)


def test_candidates_are_unique_up_to_inversion():
    cands = candidate_exponents(3, max_support=3)
    assert len(cands) == len(set(cands)) == 3 * 2 + 4
    assert all(next(p for p in e if p) == 1 for e in cands)


@pytest.mark.parametrize("d, support", [(2, 2), (3, 3), (5, 4), (7, 3)])
def test_candidate_count_matches_the_list(d, support):
    assert count_candidate_exponents(d, support) == len(candidate_exponents(d, support))


def test_many_columns_keep_memory_bounded():
    """50 columns: the libraries are counted before they are built (this once took 24 GB)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (40, 50))
    y = 2 * X[:, 0] + X[:, 1]
    tracemalloc.start()
    try:
        lib = monomial_library(X)
        screen_monomials(X, np.exp(X[:, 0] - X[:, 1]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0 < len(lib) <= 4000 and len(set(lib)) == len(lib)
    assert peak < 200e6
    # Order 1 is what fits the bound here, and it holds the answer.
    terms = {e for fit in sparse_monomial_sum(X, y, max_terms=2) for e in fit[0]}
    assert tuple(int(i == 0) for i in range(50)) in terms


def test_screen_finds_the_velocity_ratio():
    X, y = _lorentz()
    groups = screen_monomials(X, y)
    assert groups and groups[0][0] == (0, 1, -1) and groups[0][1] > 1000
    # m0 is the prefactor once v carries exponent 0.
    assert prefactor_exponents(X, y, groups[0][0], pivot=1) == [1, 0, 0]


@pytest.mark.parametrize(
    "X, y",
    [
        (np.random.default_rng(1).uniform(1, 2, (200, 3)), None),  # exact power law: nothing to gain
        (np.random.default_rng(1).uniform(-1, 1, (200, 3)), np.ones(200)),  # non-positive inputs
    ],
)
def test_screen_declines_when_the_form_does_not_apply(X, y):
    if y is None:
        y = 3 * X[:, 0] ** 2 / X[:, 1]
    assert screen_monomials(X, y) == []


def test_nested_recovers_a_composition_of_one_input():
    x = np.random.default_rng(0).uniform(0.1, 0.7, 600)
    found = discover(x[:, None], 1 / np.sqrt(1 - x ** 2), ["x"], time_budget=None, generators=("nested",))
    assert sympy.simplify(found.formula.expr - 1 / sympy.sqrt(1 - symbol_for("x") ** 2)) == 0


@pytest.mark.parametrize("truth", ["exp(-x)", "3*exp(-sqrt(x)/2)"])
def test_nested_recovers_an_exponential_over_many_decades(truth):
    """exp(-x) over 0 < x < 125 spans 55 decades (I.40.1's factor): the polish finds a slope far outside the search box."""
    from kansr.symbolic import parse_formula

    x = np.random.default_rng(2).uniform(0.04, 125.0, 600)
    expr = parse_formula(truth, ["x"])
    y = sympy.lambdify(symbol_for("x"), expr)(x)
    found = discover(x[:, None], y, ["x"], time_budget=None, generators=("nested",))
    assert sympy.simplify(found.formula.expr - expr) == 0, found.formula.expr


@pytest.mark.parametrize("truth", ["1/(exp(x/3) - 1)", "1/(2*cosh(1/x))"])
def test_nested_recovers_a_reciprocal_with_a_rate_inside(truth):
    """Fitted as 1/y: exp(x/3) - 1 and 2*cosh(1/x) are c*f(a*g(x) + b) + d (Bose-Einstein, sech)."""
    from kansr.symbolic import parse_formula

    x = np.random.default_rng(1).lognormal(0.5, 0.6, 800)  # skewed, not a uniform box
    expr = parse_formula(truth, ["x"])
    y = sympy.lambdify(symbol_for("x"), expr)(x)
    found = discover(x[:, None], y, ["x"], time_budget=None, generators=("nested",))
    assert sympy.simplify(found.formula.expr - expr) == 0, found.formula.expr


@pytest.mark.slow
def test_discover_recovers_the_lorentz_factor():
    X, y = _lorentz()
    found = discover(X, y, ["m_0", "v", "c"], time_budget=None,
                     generators=("linear", "power_law", "monomial_factor"))
    m0, v, c = (symbol_for(n) for n in ("m_0", "v", "c"))
    assert sympy.simplify(found.formula.expr - m0 / sympy.sqrt(1 - v ** 2 / c ** 2)) == 0


def test_sparse_monomial_sum_finds_a_difference_of_power_laws():
    from kansr.discovery._monomials import sparse_monomial_sum

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, (600, 5))  # m1, m2, r1, r2, G
    y = X[:, 4] * X[:, 0] * X[:, 1] * (1 / X[:, 3] - 1 / X[:, 2])
    fits = sparse_monomial_sum(X, y)
    exponents, coef, rmse = fits[-1]
    assert rmse < 1e-10 * np.std(y)
    terms = {e: c for e, c in zip(exponents, coef[1:]) if abs(c) > 1e-9}
    assert terms.keys() == {(1, 1, -1, 0, 1), (1, 1, 0, -1, 1)}
    assert np.allclose(sorted(terms.values()), [-1, 1])


def test_discover_recovers_a_sum_of_monomials():
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 5, (500, 4))  # m, omega, omega_0, x
    y = X[:, 0] * X[:, 3] ** 2 * (X[:, 1] ** 2 + X[:, 2] ** 2) / 4
    found = discover(X, y, ["m", "omega", "omega_0", "x"], time_budget=None,
                     generators=("linear", "power_law", "monomial_sum"))
    m, w, w0, x = (symbol_for(n) for n in ("m", "omega", "omega_0", "x"))
    assert sympy.simplify(found.formula.expr - m * x ** 2 * (w ** 2 + w0 ** 2) / 4) == 0


def _dipole(n=800, seed=0, noise=0.0):
    # a sign-changing potential on clustered, correlated inputs: not a uniform box
    rng = np.random.default_rng(seed)
    r = np.where(rng.random(n) < 0.5, 1.2, 2.5) + 0.3 * rng.random(n)
    p = r * (1 + 0.5 * rng.random(n))  # correlated with r
    theta = rng.uniform(0.2, 3.0, n)
    X = np.column_stack([p, theta, r])
    y = p * np.cos(theta) / r**3
    return X, y + noise * np.std(y) * rng.normal(size=n)


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_single_factor_screen_finds_a_power_law_times_a_function_of_one_input(noise):
    from kansr.discovery._monomials import screen_single_factor

    X, y = _dipole(noise=noise)
    found = screen_single_factor(X, y)
    assert found and found[0][:2] == (1, (1, 0, -3))


def test_single_factor_screen_declines_a_sum():
    from kansr.discovery._monomials import screen_single_factor

    X, _ = _dipole()
    assert screen_single_factor(X, X[:, 0] + np.cos(X[:, 1]) * X[:, 2]) == []


def _isothermal_work(noise=0.0, n=600):
    # n*kb*T*log(V2/V1): y changes sign where V2 = V1; the volumes move together (one apparatus)
    rng = np.random.default_rng(8)
    V1 = rng.uniform(1, 5, n)
    X = np.column_stack([rng.uniform(1, 5, n), rng.uniform(1, 2, n), rng.uniform(1, 5, n), V1,
                         V1 * np.exp(rng.normal(0, 0.5, n))])
    y = X[:, 0] * X[:, 1] * X[:, 2] * np.log(X[:, 4] / X[:, 3])
    return X, y + noise * np.std(y) * rng.normal(size=n)


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_pair_factor_screen_finds_a_power_law_times_a_function_of_a_ratio(noise):
    from kansr.discovery._monomials import screen_pair_factor

    X, y = _isothermal_work(noise)
    found = screen_pair_factor(X, y)
    assert found and found[0][:2] == ((0, 0, 0, 1, -1), (1, 1, 1, 0, 0)), found


def test_pair_factor_screen_declines_a_sum():
    from kansr.discovery._monomials import screen_pair_factor

    X, _ = _isothermal_work()
    assert screen_pair_factor(X, X[:, 0] + np.log(X[:, 4] / X[:, 3]) * X[:, 2]) == []


def test_discover_recovers_a_power_law_times_the_log_of_a_ratio():
    X, y = _isothermal_work()
    names = ["n", "kb", "T", "V1", "V2"]
    found = discover(X, y, names, time_budget=None, generators=("power_law", "monomial_factor"))
    n_, kb, T, V1, V2 = (symbol_for(v) for v in names)
    assert sympy.simplify(sympy.expand_log(found.formula.expr - n_ * kb * T * sympy.log(V2 / V1), force=True)) == 0, found.formula


def test_discover_recovers_a_sign_changing_product_with_a_function():
    X, y = _dipole()
    found = discover(X, y, ["p", "theta", "r"], time_budget=None, generators=("power_law", "monomial_factor"))
    p, theta, r = (symbol_for(n) for n in ("p", "theta", "r"))
    assert sympy.simplify(found.formula.expr - p * sympy.cos(theta) / r**3) == 0, found.formula.expr
