from __future__ import annotations

import dataclasses
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import sympy

import feynman_data
from kansr.symbolic import symbol_for

REPO = Path(__file__).resolve().parents[2]
# The AI Feynman tables live in the folder ``shared/feynman`` next to the repository checkout
# (``<repo>/../shared/feynman``); set KANSR_FEYNMAN_TABLES to look elsewhere.
TABLES_ENV = "KANSR_FEYNMAN_TABLES"
TABLES = Path(os.environ.get(TABLES_ENV) or Path(__file__).resolve().parents[3] / "shared" / "feynman")


def test_counts_and_subsets():
    ids = feynman_data.list_equations()
    assert len(ids) == 120 and len(set(ids)) == 120
    assert feynman_data.list_equations("all") == ids
    assert ids[0] == "I.6.2a" and ids[99] == "III.21.20" and ids[-1] == "test_20"
    assert len(feynman_data.list_equations("feynman")) == 100
    assert feynman_data.list_equations("bonus") == [f"test_{i}" for i in range(1, 21)]
    srbench = feynman_data.list_equations("srbench")
    assert len(srbench) == 116
    assert set(ids) - set(srbench) == {"II.11.17", "I.26.2", "I.30.5", "test_10"}
    quick = feynman_data.list_equations("quick")
    assert 8 <= len(quick) <= 12 and set(quick) <= set(srbench)
    assert all(1 <= feynman_data.get(i).n_variables <= 3 for i in quick)
    with pytest.raises(ValueError, match="srbench"):
        feynman_data.list_equations("fast")


@pytest.mark.parametrize(
    ("eq_id", "names"),
    [
        ("I.18.12", ["r", "F", "theta"]),  # table count says 2
        ("I.18.14", ["m", "r", "v", "theta"]),
        ("II.37.1", ["mom", "B", "chi"]),  # table count says 6
        ("III.19.51", ["m", "q", "h", "n", "epsilon"]),
        ("test_19", ["G", "k_f", "r", "H_G", "alpha", "c"]),  # table count says 5
    ],
)
def test_variables_come_from_name_cells(eq_id, names):
    eq = feynman_data.get(eq_id)
    assert list(eq.variables) == names
    assert len(eq.ranges) == len(names) == len(eq.symbols)
    assert {s.name for s in eq.expr.free_symbols} == set(names)


def test_equation_record():
    eq = feynman_data.get("I.26.2")
    assert eq.formula == "asin(n*sin(theta2))"
    assert eq.expr == sympy.asin(symbol_for("n") * sympy.sin(symbol_for("theta2")))
    assert eq.source == "feynman" and eq.number == 26 and eq.output == "theta1"
    assert not eq.in_srbench and eq.has_data_file
    assert eq.ranges == ((0.0, 1.0), (1.0, 5.0))
    assert feynman_data.get("test_10").formula.startswith("acos(")
    assert not feynman_data.get("II.11.17").has_data_file
    assert sum(not feynman_data.get(i).has_data_file for i in feynman_data.list_equations()) == 1
    assert feynman_data.get("test_3").source == "bonus"
    with pytest.raises(dataclasses.FrozenInstanceError):
        eq.formula = "x"  # type: ignore[misc]
    assert feynman_data.get("feynman_I_26_2") == eq  # PMLB name


def test_unknown_id_suggests_close_matches():
    with pytest.raises(ValueError, match="I.6.2a"):
        feynman_data.get("I.6.2c")
    with pytest.raises(TypeError):
        feynman_data.get(3)  # type: ignore[arg-type]


def test_every_equation_samples_finite_values():
    for eq_id in feynman_data.list_equations():
        X, y, names, truth = feynman_data.sample(eq_id, 200)
        eq = feynman_data.get(eq_id)
        assert X.shape == (200, len(names)) and X.dtype == np.float64
        assert y.shape == (200,) and y.dtype == np.float64
        assert np.all(np.isfinite(y)), eq_id
        low, high = np.array(eq.ranges).T
        assert np.all(X >= low) and np.all(X <= high), eq_id
        assert truth == eq.expr and names == list(eq.variables)


@pytest.mark.parametrize(("eq_id", "name"), [("I.39.11", "gamma"), ("II.13.17", "I"), ("III.17.37", "beta")])
def test_clash_names_give_real_outputs(eq_id, name):
    eq = feynman_data.get(eq_id)
    assert symbol_for(name) in eq.symbols
    assert not eq.expr.has(sympy.I, sympy.gamma, sympy.beta)
    X, y, _, _ = feynman_data.sample(eq_id, 50, seed=3)
    assert np.all(np.isfinite(y))
    point = dict(zip(eq.symbols, X[0]))
    assert float(eq.expr.subs(point)) == pytest.approx(y[0])


def test_lambdify_checks_shape():
    f = feynman_data.get("I.12.1").lambdify()
    assert np.allclose(f(np.array([[2.0, 3.0], [1.0, 5.0]])), [6.0, 5.0])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        f(np.ones((3, 3)))


def test_sampling_is_deterministic_per_seed():
    a = feynman_data.sample("I.9.18", 100, noise=0.1, seed=7)
    b = feynman_data.sample("I.9.18", 100, noise=0.1, seed=7)
    c = feynman_data.sample("I.9.18", 100, noise=0.1, seed=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    clean = feynman_data.sample("I.9.18", 100, seed=7)
    assert np.array_equal(clean[0], a[0])  # X does not depend on the noise level


def test_noise_level_matches_srbench_definition():
    n, level = 20_000, 0.1
    X, y_clean, _, _ = feynman_data.sample("I.12.11", n, seed=11)
    _, y_noisy, _, _ = feynman_data.sample("I.12.11", n, noise=level, seed=11)
    rms = np.sqrt(np.mean(y_clean**2))
    residual = (y_noisy - y_clean) / (level * rms)
    # std of n standard normals is within ~4/sqrt(2n) of 1
    assert abs(residual.std() - 1.0) < 4 / np.sqrt(2 * n)
    assert abs(residual.mean()) < 4 / np.sqrt(n)


@pytest.mark.parametrize(("kwargs", "match"), [({"n": 0}, "positive"), ({"n": 5, "noise": -0.1}, "noise"),
                                                ({"n": 5, "noise": float("nan")}, "noise")])
def test_sample_validates_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        feynman_data.sample("I.12.1", **kwargs)


@pytest.mark.skipif(
    not (TABLES / "FeynmanEquations.csv").is_file(),
    reason=f"AI Feynman tables not found: no {TABLES / 'FeynmanEquations.csv'} "
    f"(set {TABLES_ENV} to the folder holding FeynmanEquations.csv and BonusEquations.csv)",
)
def test_committed_json_matches_tables():
    spec = importlib.util.spec_from_file_location("build_feynman_data", REPO / "benchmarks" / "build_feynman_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.dumps(module.build(TABLES))
    committed = (REPO / "feynman_data" / "equations.json").read_text(encoding="utf-8")
    assert committed == expected
