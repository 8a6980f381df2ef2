"""discover(units=, y_units=): search on the Buckingham groups, data in any units, consistency ranked first."""
import numpy as np
import pytest
import sympy

from kansr import discover
from kansr.bench.check import compare_symbolic
from kansr.errors import UnitsError

_BUDGET = 10.0


def _rows(seed: int, n: int = 300) -> np.random.Generator:
    return np.random.default_rng(seed)


def _solved(result, truth: str, names: list[str]) -> bool:
    symbols = {n: sympy.Symbol(n, positive=True) for n in names}
    return compare_symbolic(result.formula.expr, sympy.parse_expr(truth, local_dict=symbols)).solved


def test_pendulum_period_is_the_prefactor_times_a_snapped_constant():
    rng = _rows(0)
    L, g = rng.uniform(0.2, 2.0, 300), rng.uniform(9.0, 10.0, 300)
    T = 2 * np.pi * np.sqrt(L / g)
    r = discover(np.c_[L, g], T, names=["L", "g"], time_budget=_BUDGET, seed=0,
                 units={"L": "m", "g": "m/s**2"}, y_units="s")
    assert _solved(r, "2*pi*sqrt(L/g)", ["L", "g"]), r.formula.expr
    assert r.best.dimensions == "consistent"
    assert r.units.groups == ["y = sqrt(L)/sqrt(g) * F()"]
    assert r.units.units == {"L": "m", "g": "m/s**2", "(target)": "s"}


def test_units_cut_the_candidates_tried():
    rng = _rows(0)
    L, g = rng.uniform(0.2, 2.0, 300), rng.uniform(9.0, 10.0, 300)
    T = 2 * np.pi * np.sqrt(L / g)
    plain = discover(np.c_[L, g], T, names=["L", "g"], time_budget=_BUDGET, seed=0)
    with_units = discover(np.c_[L, g], T, names=["L", "g"], time_budget=_BUDGET, seed=0,
                          units={"L": "m", "g": "m/s**2"}, y_units="s")
    assert plain.units is None and plain.best.dimensions is None  # without units nothing is labelled
    assert 0 < with_units.n_candidates < plain.n_candidates


def test_non_si_units_give_the_exact_conversion_factor():
    # E in kJ from m in kg and v in km/h: E = m*(v/3.6)**2/2/1000 = m*v**2/25920, exactly.
    rng = _rows(1)
    m, v = rng.uniform(1, 5, 300), rng.uniform(10, 100, 300)
    E = 0.5 * m * (v / 3.6) ** 2 / 1000
    r = discover(np.c_[m, v], E, names=["m", "v"], time_budget=_BUDGET, seed=0,
                 units={"m": "kg", "v": "km/h"}, y_units="kJ")
    assert str(r.formula.expr) == "m*v**2/25920"
    assert r.best.dimensions == "consistent"


def test_a_group_function_is_searched_and_lifted_back_to_the_inputs():
    # y = m*c**2/sqrt(1 - v**2/c**2): one group v/c, F(pi) = 1/sqrt(1 - pi**2).
    rng = _rows(3)
    m, v, c = rng.uniform(1, 5, 300), rng.uniform(1, 2, 300), rng.uniform(3, 10, 300)
    y = m * c**2 / np.sqrt(1 - v**2 / c**2)
    r = discover(np.c_[m, v, c], y, names=["m", "v", "c"], time_budget=30.0, seed=0,
                 units={"m": "kg", "v": "m/s", "c": "m/s"}, y_units="J")
    assert _solved(r, "m*c**2/sqrt(1 - v**2/c**2)", ["m", "v", "c"]), (r.formula.expr, r.log)
    assert r.best.dimensions == "consistent"
    assert r.units.group_candidates > 0
    assert r.best.source.startswith("units/")


def test_consistent_formula_beats_an_equally_accurate_inconsistent_one():
    # w is a copy of v with another unit: m*w fits as well as m*v but is not a momentum.
    rng = _rows(4)
    m, v = rng.uniform(1, 5, 300), rng.uniform(1, 9, 300)
    X, p = np.c_[m, v.copy(), v], m * v
    r = discover(X, p, names=["m", "w", "v"], time_budget=_BUDGET, seed=0,
                 units={"m": "kg", "w": "m", "v": "m/s"}, y_units="kg*m/s")
    assert str(r.formula.expr) == "m*v"
    assert r.best.dimensions == "consistent"
    assert all(c.dimensions is not None for c in r.candidates)


def test_noisy_data_in_units_still_snap_the_constant():
    rng = _rows(5)
    m, v = rng.uniform(1, 5, 300), rng.uniform(1, 9, 300)
    E = 0.5 * m * v**2
    E = E + rng.normal(0, 0.01 * E.std(), 300)
    r = discover(np.c_[m, v], E, names=["m", "v"], time_budget=_BUDGET, seed=0,
                 units={"m": "g", "v": "m/s"}, y_units="mJ")
    assert _solved(r, "m*v**2/2", ["m", "v"]), r.formula.expr


@pytest.mark.parametrize(
    "units, y_units, match",
    [
        ({"m": "kg", "v": "parsecz"}, "J", "column 'v'"),
        ({"m": "kg", "v": "m/s"}, None, "y_units is missing"),
        (None, "J", "units is missing"),
        ({"m": "kg"}, "J", "no unit for column 'v'"),
        ({"m": "kg", "v": "m/s", "speed": "m/s"}, "J", "'speed', which is not a column"),
        ({"m": "kg", "v": "m/s"}, "degC", "target"),
        ({"m": "kg", "v": 3}, "J", "column 'v': a unit must be a string"),
    ],
)
def test_bad_units_are_refused_naming_the_column(units, y_units, match):
    rng = _rows(6)
    X = rng.uniform(1, 2, (50, 2))
    with pytest.raises(UnitsError, match=match):
        discover(X, X[:, 0] * X[:, 1] ** 2, names=["m", "v"], time_budget=1.0, units=units, y_units=y_units)
