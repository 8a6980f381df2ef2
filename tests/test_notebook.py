"""Tests of kansr.notebook: the snapping session and its widget, driven headlessly."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import sympy
import torch

from kansr.nn import KAN
from kansr.notebook import SnappingSession, snapping_widget
from kansr.symbolic import symbol_for
from kansr.train import fit


@pytest.fixture(scope="module")
def trained():
    """A [2, 1] KAN trained on sin(2a) + b**2 (kept small: the session tests copy it)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    model = KAN([2, 1], grid=5, k=3, seed=0, dtype=torch.float64, input_names=["a", "b"])
    fit(model, X, y, steps=20, progress=False)
    return model, X, y


@pytest.fixture
def session(trained):
    model, X, y = trained
    return SnappingSession(model.copy(), X, y, library=["x", "x^2", "sin", "exp", "tanh"])


def test_edges_and_labels(session):
    assert session.edges() == [(0, 0, 0), (0, 1, 0)]
    assert session.numeric_edges() == [(0, 0, 0), (0, 1, 0)]
    assert session.describe_edge(0, 1, 0) == "L0: b → 0  [spline]"
    assert session.edge_function(0, 0, 0) is None


def test_split_sizes(session):
    assert len(session.X_train) == 160 and len(session.X_val) == 40


def test_suggest_snap_formula(session):
    names = [c.name for c in session.suggest(0, 0, 0, top=3)]
    assert names[0] == "sin" and len(names) == 3
    assert session.formula() is None and session.latex() is None
    fitted = session.snap(0, 0, 0, "sin")
    assert fitted.r2 > 0.999
    assert session.edge_function(0, 0, 0) == "sin"
    assert "[sin]" in session.describe_edge(0, 0, 0)
    session.snap(0, 1, 0, "x^2")
    expr = session.formula()
    a, b = symbol_for("a"), symbol_for("b")
    assert expr.free_symbols == {a, b}
    # the formula evaluates like the model
    f = sympy.lambdify([a, b], expr)
    np.testing.assert_allclose(f(session.X_val[:, 0], session.X_val[:, 1]),
                               session.model.predict(session.X_val)[:, 0], rtol=1e-9, atol=1e-9)
    assert "\\sin" in session.latex()
    rmse_before = session.validation_rmse()
    session.retrain(steps=5)
    assert session.validation_rmse() <= rmse_before * 1.01 + 1e-9
    assert session.validation_rmse() < 0.05


def test_unsnap_and_auto(session):
    session.snap(0, 0, 0, "sin")
    session.unsnap(0, 0, 0)
    assert session.numeric_edges() == [(0, 0, 0), (0, 1, 0)]
    choices = session.auto_snap_rest()
    assert {(c.layer, c.i, c.j) for c in choices} == {(0, 0, 0), (0, 1, 0)}
    assert session.formula() is not None


def test_session_input_checks(trained):
    model, X, y = trained
    with pytest.raises(ValueError, match="y must have shape"):
        SnappingSession(model.copy(), X, y[:-1])
    with pytest.raises(ValueError, match="must have shape"):
        SnappingSession(model.copy(), X[:, :1], y)
    with pytest.raises(TypeError, match="KAN"):
        SnappingSession("model", X, y)
    with pytest.raises(ValueError, match="names"):
        SnappingSession(model.copy(), X, y, names=["a"])


def test_snap_unknown_function(session):
    with pytest.raises(ValueError, match="unknown library function"):
        session.snap(0, 0, 0, "sinc")


# ----------------------------------------------------------------------------- widget
def test_widget_headless(session):
    w = snapping_widget(session, top=4)
    assert [v for _, v in w.edge_dropdown.options] == [(0, 0, 0), (0, 1, 0)]
    assert w.edge_dropdown.value == (0, 0, 0)
    assert len(w.candidate_select.options) == 4
    assert w.candidate_select.options[0][0].startswith("sin")
    assert w.plot.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "still splines" in w.formula_html.value
    assert w.rmse_label.value.startswith("validation RMSE:")

    first_plot = w.plot.value
    w.candidate_select.value = 1
    assert w.plot.value != first_plot  # redrawn with the other overlay

    w.candidate_select.value = 0
    w.snap_button.click()
    assert "snapped to sin" in w.status.value
    assert "[sin]" in w.edge_dropdown.options[0][0]
    assert w.edge_dropdown.value == (0, 0, 0)

    w.edge_dropdown.value = (0, 1, 0)
    labels = [label for label, _ in w.candidate_select.options]
    w.candidate_select.value = next(k for k, label in enumerate(labels) if label.startswith("x^2"))
    w.snap_button.click()
    assert w.formula_html.value.startswith("$$") and "\\sin" in w.formula_html.value
    assert session.formula() is not None

    w.steps.value = 3
    w.retrain_button.click()
    assert w.status.value.startswith("retrained for 3 steps")

    w.unsnap_button.click()
    assert "spline again" in w.status.value and "still splines" in w.formula_html.value
    w.auto_button.click()
    assert w.status.value.startswith("snapped 1 edge(s)")
    assert w.formula_html.value.startswith("$$")


def test_widget_reports_errors_in_status(session, monkeypatch):
    w = snapping_widget(session)

    def broken(*args, **kwargs):
        raise RuntimeError("fit failed")

    monkeypatch.setattr(session, "snap", broken)
    w.snap_button.click()
    assert w.status.value == "error: fit failed"


def test_widget_needs_session():
    with pytest.raises(TypeError, match="SnappingSession"):
        snapping_widget("not a session")


def test_missing_ipywidgets_message(session, monkeypatch):
    import kansr.notebook as nb

    monkeypatch.setattr(nb, "_WIDGET_CLASS", None)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    with pytest.raises(ImportError, match=r"kansr\[notebook\]"):
        snapping_widget(session)
