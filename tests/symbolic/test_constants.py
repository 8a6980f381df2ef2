"""Constant refitting and snapping on data."""
from __future__ import annotations

import time

import numpy as np
import sympy

from kansr.symbolic import symbol_for
from kansr.symbolic._constants import refit_constants, snap_constants

x, t = symbol_for("x"), symbol_for("t")


def _data(n=400, seed=0):
    X = np.random.default_rng(seed).uniform(0.5, 2.0, (n, 2))
    return X, 3 * X[:, 0] ** 2 + np.sin(X[:, 1])


def test_refit_recovers_the_constants():
    X, y = _data()
    start = sympy.Float(2.5) * x ** sympy.Float(1.8) + sympy.Float(0.7) * sympy.sin(t)
    expr, rmse = refit_constants(start, [x, t], X, y)
    assert rmse < 1e-8
    consts = sorted(float(f) for f in expr.atoms(sympy.Float))
    assert np.allclose(consts, [1.0, 2.0, 3.0], atol=1e-6)


def test_snap_turns_near_values_into_exact_ones():
    X, y = _data()
    near = sympy.Float(2.99987) * x ** sympy.Float(2.00012) + sympy.Float(1.0002) * sympy.sin(t)
    snapped = snap_constants(near, [x, t], X, y)
    assert sympy.simplify(snapped - (3 * x ** 2 + sympy.sin(t))) == 0


def test_refit_stops_at_its_time_limit_and_keeps_the_best_so_far():
    rng = np.random.default_rng(1)
    X = rng.uniform(0.5, 2.0, (200_000, 2))
    y = np.sin(1.3 * X[:, 0]) * np.exp(0.4 * X[:, 1]) + 0.2 * X[:, 0] ** 3
    start = sum(sympy.Float(0.5 + 0.1 * k) * sympy.sin(sympy.Float(1 + 0.2 * k) * x + sympy.Float(0.3 * k) * t)
                for k in range(8))
    before = float(np.sqrt(np.mean((sympy.lambdify([x, t], start)(X[:, 0], X[:, 1]) - y) ** 2)))
    began = time.perf_counter()
    expr, rmse = refit_constants(start, [x, t], X, y, time_limit=0.3)
    assert time.perf_counter() - began < 5.0  # one Jacobian evaluation may run past the limit
    assert rmse <= before


def test_exponents_snap_to_fractions_only():
    # 1.99925 is within 2e-5 of 7*pi/11, a "nice" constant elsewhere; as an exponent
    # only fractions are plausible, so it stays a float (2 does not fit these data).
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (500, 2))
    y = 3.7 * X[:, 0] ** 1.99925 * (1 + 1e-4 * rng.standard_normal(500))
    x0 = sympy.Symbol("x0")
    snapped = snap_constants(sympy.Float(3.7) * x0 ** sympy.Float(1.99925), [x0], X[:, :1], y)
    assert not snapped.has(sympy.pi)
    (power,) = snapped.atoms(sympy.Pow)
    assert abs(float(power.exp) - 1.99925) < 1e-4
    # a plain fraction is still found when the data allow it
    y = X[:, 0] ** 1.5
    assert snap_constants(sympy.Float(1.0001) * x0 ** sympy.Float(1.50004), [x0], X[:, :1], y) == x0 ** sympy.Rational(3, 2)
