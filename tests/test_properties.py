"""Property-based tests (hypothesis): no NaN/inf leaks out of training, discovery, snapping or plotting.

Inputs are random finite floats in [-1e3, 1e3], deliberately mixed with tiny
(subnormal) and extreme magnitudes, repeated values and constant columns.
"""
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import kansr  # noqa: E402
from kansr.errors import NumericalWarning  # noqa: E402
from kansr.nn import KAN  # noqa: E402
from kansr.plotting import plot_network  # noqa: E402
from kansr.symbolic import (  # noqa: E402
    auto_symbolic,
    fix_symbolic,
    model_formula,  # noqa: E402
)
from kansr.train import fit  # noqa: E402

torch.set_num_threads(1)

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Finite values in [-1e3, 1e3], with the edges of that range and tiny magnitudes over-represented.
_EDGE_VALUES = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, -1e-300, 1e-30, 1e-8, -1e-8,
                1.0, -1.0, 999.9999999999999, 1e3, -1e3]
finite = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    st.sampled_from(_EDGE_VALUES),
)


@st.composite
def xy(draw, n_min=12, n_max=60, d_max=3):
    n = draw(st.integers(n_min, n_max))
    d = draw(st.integers(1, d_max))
    X = draw(hnp.arrays(np.float64, (n, d), elements=finite))
    y = draw(hnp.arrays(np.float64, (n,), elements=finite))
    return X, y


def _finite(a) -> bool:
    return bool(np.all(np.isfinite(np.asarray(a, dtype=float))))


# ----------------------------------------------------------------------------- 1. training
# Regressions found by these properties: constant inputs collapsed the knots of
# update_grid (NaN basis), the NaN guard kept unchecked post-step parameters, and
# LBFGS's line search raised IndexError on a NaN loss.
_ZEROS_2D = (np.zeros((12, 2)), np.zeros(12))
_ZEROS_1D = (np.zeros((12, 1)), np.zeros(12))


@pytest.mark.parametrize("optimizer,steps", [("adam", 3), ("lbfgs", 2)])
@settings(max_examples=25, **SETTINGS)
@given(data=xy())
@example(data=_ZEROS_2D)  # minimal for adam (NaN predictions after fit)
@example(data=_ZEROS_1D)  # minimal for lbfgs (IndexError escapes fit)
def test_fit_never_yields_non_finite_predictions(optimizer, steps, data):
    X, y = data
    d = X.shape[1]
    model = KAN([d, 3, 1], grid=3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)  # the NaN guard may fire: that is allowed
        fit(model, X, y, steps=steps, optimizer=optimizer, progress=False)
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
    pred = model.predict(X)
    assert pred.shape == (X.shape[0], 1)
    assert _finite(pred), pred


def test_update_grid_on_constant_input_keeps_predictions_finite():
    model = KAN([1, 1], grid=3, seed=0)  # float32
    X = np.full((12, 1), 3.0)
    with torch.no_grad():
        model.update_grid(torch.as_tensor(X, dtype=torch.float32))
    assert _finite(model.predict(X))


def test_fit_one_step_never_returns_nan_model_silently():
    X, y = _ZEROS_2D
    model = KAN([2, 3, 1], grid=3, seed=0)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        hist = fit(model, X, y, steps=1, optimizer="adam", progress=False)
    warned = any(issubclass(x.category, NumericalWarning) for x in w)
    assert _finite(model.predict(X)) or (warned and hist.stopped_reason == "non_finite")


def test_fit_lbfgs_does_not_raise_on_nan_line_search():
    X, y = _ZEROS_1D
    model = KAN([1, 3, 1], grid=3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)
        fit(model, X, y, steps=2, optimizer="lbfgs", progress=False)


# ----------------------------------------------------------------------------- 2. discover
@settings(max_examples=5, **SETTINGS)
@given(data=xy(n_min=12, n_max=30, d_max=2), constant_y=st.booleans())
def test_discover_never_raises_and_is_finite(data, constant_y):
    X, y = data
    if constant_y:
        y = np.full_like(y, y[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = kansr.discover(X, y, seed=0, time_budget=3, generators=("linear", "power_law", "additive"))
    assert _finite(result.formula(X))
    assert _finite(result.predict(X))
    text = str(result.formula.expr)
    for bad in ("nan", "zoo", "oo"):
        assert bad not in text, text


# ----------------------------------------------------------------------------- 3. snapping
def _trained_1x1(X, y) -> KAN:
    model = KAN([1, 1], grid=3, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)
        fit(model, X, y, steps=3, optimizer="adam", progress=False)
    return model


edge_x = hnp.arrays(np.float64, st.integers(12, 40).map(lambda n: (n, 1)),
                    elements=st.one_of(st.floats(-50, 50, allow_nan=False),
                                       st.sampled_from([0.0, 5e-324, -5e-324, 1e-300, 50.0, -50.0, 1.0, -1.0])))
edge_y = hnp.arrays(np.float64, 40, elements=finite)


@settings(max_examples=15, **SETTINGS)
@given(X=edge_x, y=edge_y)
def test_auto_symbolic_never_produces_nan(X, y):
    y = y[: len(X)]
    model = _trained_1x1(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto_symbolic(model, X)
    assert _finite(model.predict(X))
    assert _finite(model_formula(model)(X))


SAFE_NAMES = ["log", "sqrt", "1/x", "arcsin", "arctanh", "tan", "exp", "1/x^2", "1/sqrt(x)"]
param = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@settings(max_examples=10, **SETTINGS)
@given(X=edge_x, y=edge_y, params=st.tuples(param, param, param, param))
def test_fix_symbolic_forward_is_finite(X, y, params):
    y = y[: len(X)]
    model = _trained_1x1(X, y)
    for name in SAFE_NAMES:
        fix_symbolic(model, 0, 0, 0, name, fit_params=False, params=params)
        pred = model.predict(X)
        assert _finite(pred), (name, params, pred)


# ----------------------------------------------------------------------------- 4. plotting
def _artist_data_finite(fig) -> list[str]:
    bad = []
    for k, ax in enumerate(fig.axes):
        for m, line in enumerate(ax.lines):
            for what, arr in (("x", line.get_xdata()), ("y", line.get_ydata())):
                a = np.asarray(arr, dtype=float)
                if np.isnan(a).any():
                    bad.append(f"axes[{k}].lines[{m}] {what}data")
        for m, im in enumerate(ax.images):
            a = np.ma.filled(np.ma.asarray(im.get_array(), dtype=float), 0.0)
            if np.isnan(a).any():
                bad.append(f"axes[{k}].images[{m}]")
    return bad


@settings(max_examples=6, **SETTINGS)
@given(X=edge_x, y=edge_y, snap=st.booleans())
def test_plot_network_has_no_nan_data(X, y, snap):
    y = y[: len(X)]
    model = _trained_1x1(X, y)
    if snap:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auto_symbolic(model, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = plot_network(model, X)
    try:
        assert _artist_data_finite(fig) == []
    finally:
        plt.close(fig)
