"""Discovery does not depend on the units a column is in: rescaling by 10**k gives the same formula."""
from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from kansr.discovery import discover
from kansr.discovery._scaling import DecimalScaling
from kansr.nn import KAN
from kansr.symbolic import symbol_for

GENERATORS = ["linear", "power_law", "monomial_sum", "nested"]
K = [-30, -15, 15, 30]


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 3, (n, 2))
    return X, 2 * X[:, 0] * X[:, 1] ** 2 + 3 / X[:, 0]


@pytest.fixture(scope="module")
def base():
    X, y = _data()
    return discover(X, y, ["a", "b"], generators=GENERATORS, time_budget=None)


@pytest.mark.parametrize("k", K)
def test_rescaled_target_gives_the_formula_times_the_factor(base, k):
    X, y = _data()
    found = discover(X, y * 10.0**k, ["a", "b"], generators=GENERATORS, time_budget=None)
    assert sympy.simplify(base.formula.expr - 2 * symbol_for("a") * symbol_for("b") ** 2 - 3 / symbol_for("a")) == 0
    assert found.best.complexity == base.best.complexity
    np.testing.assert_allclose(found.formula(X), 10.0**k * base.formula(X), rtol=1e-9)
    assert found.best.val_rmse <= 1e-9 * 10.0**k * np.std(y)


@pytest.mark.parametrize("column", [0, 1])
@pytest.mark.parametrize("k", K)
def test_rescaled_column_gives_the_formula_in_that_column(base, k, column):
    X, y = _data()
    Xk = X.copy()
    Xk[:, column] *= 10.0**k
    found = discover(Xk, y, ["a", "b"], generators=GENERATORS, time_budget=None)
    assert found.best.complexity == base.best.complexity
    np.testing.assert_allclose(found.formula(Xk), base.formula(X), rtol=1e-9)
    # Undo the change of units symbolically: the constants are those of the base formula.
    v = symbol_for(["a", "b"][column])
    back = sympy.nsimplify(found.formula.expr.xreplace({v: v * sympy.Float(f"1e{k}", 17)}), rational=True,
                           tolerance=1e-12)
    assert sympy.simplify(back - base.formula.expr) == 0


def test_tiny_and_huge_targets_are_scored_on_their_own_scale():
    X, _ = _data()
    for k in (-300, 300):
        y = (2 * X[:, 0] + 3 * X[:, 1]) * 10.0**k
        found = discover(X, y, ["a", "b"], generators=["linear"], time_budget=None)
        assert found.best.val_r2 > 0.999999
        assert 0 <= found.best.val_rmse < 1e-9 * abs(10.0**k)
        np.testing.assert_allclose(found.formula(X), y, rtol=1e-12)


def test_ordinary_magnitudes_are_not_rescaled():
    X, y = _data()
    assert DecimalScaling.of(X * 1e5, y * 1e-5).is_identity
    s = DecimalScaling.of(X * 1e6, y * 1e-7)  # y reaches 5.4e-6
    assert s.x_exponents == (6, 6) and s.y_exponent == -6


def test_unscaled_model_takes_data_units():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (50, 2)) * np.array([1e-20, 1.0])
    y = rng.uniform(1, 2, 50) * 1e12
    scaling = DecimalScaling.of(X, y)
    model = KAN([2, 3, 1], seed=0, dtype=torch.float64)
    model.set_normalization(scaling.scale_X(X), scaling.scale_y(y))
    searched = model(torch.as_tensor(scaling.scale_X(X))).detach().numpy().ravel()
    scaling.unscale_model(model)
    in_units = model(torch.as_tensor(X)).detach().numpy().ravel()
    np.testing.assert_allclose(in_units, searched * 10.0**scaling.y_exponent, rtol=1e-12)


def test_subnormal_target_does_not_break_the_search():
    """5e-324 has decimal exponent -324, and 10.0**-324 is 0: the factor must stay a normal float."""
    X = np.zeros((12, 1))
    y = np.full(12, 5e-324)
    result = discover(X, y, seed=0, time_budget=3, generators=("linear", "power_law"))
    assert np.all(np.isfinite(result.formula(X)))
