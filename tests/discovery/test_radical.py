"""The radical generator: ``y = P(x) * (1 ± z**2)**(±1/2)`` for a ratio ``z``, on correlated, clustered inputs."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

from kansr.discovery.generators._radical import gen_radical, radical_factors

N = 600


def _boosted_track(rng):
    # a speed correlated with the time, a signal speed in two clusters: a Lorentz factor times a difference
    t = rng.uniform(0.5, 2.0, N)
    beta = np.clip(0.3 * t + 0.1 * rng.normal(size=N), 0.05, 0.9)
    c = rng.choice([1.0, 2.0], N) * (1 + 0.1 * rng.random(N))
    X = np.column_stack([3 * t + rng.normal(size=N), beta * c, c, t])
    x, u, c_, t_ = sympy.symbols("x u c t")
    return X, ["x", "u", "c", "t"], (x - u * t_) / sympy.sqrt(1 - u**2 / c_**2)


def _hypotenuse_ratio(rng):
    # (a + 2b) over the norm of (a, b) relative to a: (a + 2b)/sqrt(1 + (b/a)**2), on a curve with scatter
    s = rng.uniform(0, 3, N)
    X = np.column_stack([1 + s, np.exp(0.5 * s) + 0.2 * rng.random(N)])
    a, b = sympy.symbols("a b")
    return X, ["a", "b"], (a**2 + 2 * a * b) / sympy.sqrt(a**2 + b**2)


CASES = {"boosted_track": _boosted_track, "hypotenuse_ratio": _hypotenuse_ratio}


@pytest.mark.parametrize("noise", [0.0, 0.01])
@pytest.mark.parametrize("case", list(CASES))
def test_recovers_a_polynomial_times_a_radical_of_a_ratio(case, noise, make_search, assert_chosen_is):
    X, names, truth = CASES[case](np.random.default_rng(0))
    s = make_search(X, names, truth, noise=noise)
    gen_radical(s)
    assert_chosen_is(s, truth)


def test_one_minus_a_square_only_where_the_ratio_stays_below_one():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(0.1, 0.9, 50), np.ones(50), rng.uniform(0.5, 2.0, 50)])
    minus = {(i, j) for i, j, sign, _ in radical_factors(X) if sign < 0}
    assert (0, 1) in minus  # x0 / x1 < 1 everywhere
    assert (2, 1) not in minus and (0, 2) not in minus  # these ratios reach 1 or more
    assert (0, -1) in minus and (2, -1) not in minus  # an input on its own (a ratio already): |x0| < 1 only


def test_gives_nothing_on_a_function_without_a_radical(make_search):
    rng = np.random.default_rng(1)
    X = rng.uniform(0.5, 2.0, (N, 2))
    a, b = sympy.symbols("a b")
    s = make_search(X, ["a", "b"], sympy.exp(a) * sympy.sin(3 * b))
    gen_radical(s)
    assert not any(c.val_rmse < 1e-6 * s.y_std for c in s.pool.values())


@pytest.mark.parametrize("noise", [0.0, 0.01])
@pytest.mark.parametrize(
    "low, high, truth",
    [
        (0.1, 0.66, "1/sqrt(1 - z**2)"),  # a Lorentz factor of the group v/c: y*h is constant
        (1.5, 9.0, "z**2/sqrt(1 - 1/z**2)"),  # the same factor of the group c/v: 1 - 1/z**2
    ],
)
def test_radical_of_a_single_dimensionless_input(low, high, truth, noise, make_search, assert_chosen_is):
    z = sympy.Symbol("z")
    expr = sympy.parse_expr(truth, local_dict={"z": z})
    X = np.random.default_rng(2).uniform(low, high, (N, 1))
    s = make_search(X, ["z"], expr, noise=noise)
    gen_radical(s)
    assert_chosen_is(s, expr)
