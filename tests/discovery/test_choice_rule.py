"""The choice rule: an exact structure beats accurate fits full of constants, within noise."""
import numpy as np
import pytest
import sympy
from scipy.optimize import curve_fit

from kansr.discovery import Candidate, choose
from kansr.symbolic import Formula
from kansr.symbolic._formula import complexity

a, b = sympy.symbols("a b")


def _candidate(expr, X, y, val, source):
    f = Formula(expr, [a, b])
    pred = f(X)
    rmse = lambda s: float(np.sqrt(np.mean((y[s] - pred[s]) ** 2)))  # noqa: E731
    return Candidate(f, source, complexity(expr), rmse(val), 0.0, rmse(~val))


def _fitted(template, params, X, y, train):
    """``template`` with its constants fitted by least squares on the training rows."""
    fn = sympy.lambdify([a, b, *params], template, "numpy")
    p, _ = curve_fit(lambda X, *p: fn(X[:, 0], X[:, 1], *p), X[train], y[train], p0=np.full(len(params), 0.5))
    return template.subs(dict(zip(params, map(float, p))))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_structure_beats_shorter_and_more_accurate_fits_within_noise(seed):
    # a*b/(a + b) on a narrow box with 1 % noise: a power law of *fewer* nodes fits within
    # 1.1x of it and a bilinear polynomial fits as well or better; both are wrong.
    rng = np.random.default_rng(seed)
    X = rng.uniform(2, 2.5, (1000, 2))
    truth = a * b / (a + b)
    y = X[:, 0] * X[:, 1] / X.sum(axis=1)
    y = y + rng.normal(0, 0.01 * np.sqrt(np.mean(y**2)), y.shape)
    val = np.zeros(len(y), bool)
    val[:200] = True
    c, d, e, g = sympy.symbols("c d e g")
    power = _fitted(c * (a * b) ** d, [c, d], X, y, ~val)
    bilinear = _fitted(c * a + d * b + e * a * b + g, [c, d, e, g], X, y, ~val)
    cands = [_candidate(truth, X, y, val, "exact"), _candidate(power, X, y, val, "power"),
             _candidate(bilinear, X, y, val, "bilinear")]
    exact, power_c, _ = cands
    assert power_c.complexity < exact.complexity and power_c.val_rmse < 1.5 * exact.val_rmse  # the trap is real
    assert choose(cands, y_std=float(np.std(y)), n_val=200, n_inputs=2).source == "exact"


def test_a_clearly_better_fit_wins_over_a_short_wrong_formula():
    # Description length still pays for accuracy: 2 % lower error on 5000 rows is worth
    # more than a few constants, so the complex fit is chosen.
    x = sympy.Symbol("x")
    mk = lambda expr, err: Candidate(Formula(expr, [x]), str(expr), complexity(expr), err, 0.0, err)  # noqa: E731
    short, fitted = mk(x**2, 1.0), mk(sympy.Float(1.0123) * x**2 + sympy.Float(0.2345) * x, 0.9)
    assert choose([short, fitted], y_std=10.0, n_val=5000).formula is fitted.formula
    assert choose([short, fitted], y_std=10.0, n_val=20).formula is short.formula
