"""Tests of the non-uniform problem set, the clean-up of foreign formulas and the Operon script's helpers."""
from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from kansr.bench import nonuniform
from kansr.bench.cleanup import clean_formula
from kansr.symbolic import parse_formula, symbol_for

ROOT = Path(__file__).resolve().parents[2]
IDS = nonuniform.list_problems()
N = 4000


def _lambdified(problem: nonuniform.Problem):
    return sympy.lambdify([symbol_for(v) for v in problem.variables], problem.truth, modules="numpy")


def test_the_set_is_large_and_well_formed():
    assert len(IDS) >= 14 and len(set(IDS)) == len(IDS)
    assert list(nonuniform.PROBLEMS) == IDS
    for pid, problem in nonuniform.PROBLEMS.items():
        assert problem.id == pid
        assert problem.kinds and set(problem.kinds) <= set(nonuniform.KINDS), pid
        assert len(problem.description) > 20, pid
        # Built from exact numbers and kansr's symbols: no floats, no unknown variables.
        assert not problem.truth.atoms(sympy.Float), pid
        assert problem.truth.free_symbols == {symbol_for(v) for v in problem.variables}, pid
    # every way of being non-uniform is represented
    assert {k for p in nonuniform.PROBLEMS.values() for k in p.kinds} == set(nonuniform.KINDS)


@pytest.mark.parametrize("pid", IDS)
def test_samples_are_finite_and_match_the_truth(pid):
    problem = nonuniform.get(pid)
    for seed in (0, 1, 2):
        X, y, names, truth = nonuniform.sample(pid, N, 0.0, seed=seed)
        assert X.shape == (N, problem.n_variables) and y.shape == (N,)
        assert X.dtype == np.float64 and y.dtype == np.float64
        assert names == list(problem.variables) and truth == problem.truth
        assert np.all(np.isfinite(X)) and np.all(np.isfinite(y)), f"{pid} seed {seed}"
        # the numpy targets and the sympy truth are written independently: they must agree
        expected = np.broadcast_to(_lambdified(problem)(*X.T), y.shape)
        np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12 * float(np.abs(y).max()))
        assert np.std(y) > 0


@pytest.mark.parametrize("pid", IDS)
def test_same_seed_same_data_and_inputs_do_not_depend_on_noise(pid):
    X1, y1, _, _ = nonuniform.sample(pid, 200, 0.05, seed=7)
    X2, y2, _, _ = nonuniform.sample(pid, 200, 0.05, seed=7)
    X3, y3, _, _ = nonuniform.sample(pid, 200, 0.05, seed=8)
    X0, _, _, _ = nonuniform.sample(pid, 200, 0.0, seed=7)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(X1, X0)
    assert not np.allclose(X1, X3) and not np.allclose(y1, y3)


@pytest.mark.parametrize("pid", IDS)
@pytest.mark.parametrize("noise", [0.01, 0.1])
def test_noise_has_the_requested_size(pid, noise):
    _, clean, _, _ = nonuniform.sample(pid, N, 0.0, seed=3)
    _, noisy, _, _ = nonuniform.sample(pid, N, noise, seed=3)
    residual = noisy - clean
    assert abs(float(np.mean(residual))) < 4 * noise * np.std(clean) / np.sqrt(N)
    assert float(np.std(residual)) == pytest.approx(noise * float(np.std(clean)), rel=0.06)


def _spearman_max(X: np.ndarray) -> float:
    ranks = np.argsort(np.argsort(X, axis=0), axis=0).astype(float)
    corr = np.corrcoef(ranks.T)
    np.fill_diagonal(corr, 0.0)
    return float(np.abs(corr).max())


def _empty_cells(X: np.ndarray, bins: int = 6) -> float:
    """Fraction of the bounding box's grid cells that hold no point."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    cells = np.minimum(((X - lo) / (hi - lo) * bins).astype(int), bins - 1)
    return 1.0 - len({tuple(c) for c in cells}) / bins ** X.shape[1]


@pytest.mark.parametrize("pid", IDS)
def test_inputs_are_non_uniform_as_claimed(pid):
    problem = nonuniform.get(pid)
    X, latent = problem.draw(np.random.default_rng(11), N)
    # Whatever the kind, the points leave much of their bounding box empty, unlike a uniform draw.
    uniform = np.random.default_rng(12).uniform(size=X.shape)
    assert _empty_cells(X) > _empty_cells(uniform) + 0.1, pid
    if "correlated" in problem.kinds:
        assert _spearman_max(X) > 0.5, pid
    if "curve" in problem.kinds:
        # the points lie near a 1-D curve: at least two inputs are smooth functions of t plus small scatter
        t = latent["t"]
        basis = np.vander((t - t.mean()) / t.std(), 6)
        fitted = basis @ np.linalg.lstsq(basis, X, rcond=None)[0]
        r2 = 1 - ((X - fitted) ** 2).sum(axis=0) / ((X - X.mean(axis=0)) ** 2).sum(axis=0)
        assert (r2 > 0.8).sum() >= 2, (pid, r2)
    if "clustered" in problem.kinds:
        # some input is dominated by its cluster's centre: between-cluster variance > 70 % of the total
        labels = latent["cluster"]
        assert len(np.unique(labels)) >= 3
        centres = np.stack([X[labels == k].mean(axis=0) for k in np.unique(labels)])
        between = np.var(centres[np.searchsorted(np.unique(labels), labels)], axis=0)
        assert (between / X.var(axis=0)).max() > 0.7, pid


def test_a_uniform_draw_fails_the_non_uniformity_checks():
    """The checks above can fail: independent uniform inputs pass none of them."""
    X = np.random.default_rng(0).uniform(1, 5, size=(N, 3))
    assert _empty_cells(X) < 0.05 and _spearman_max(X) < 0.1


def test_bad_arguments():
    with pytest.raises(ValueError, match="weighted_mean"):
        nonuniform.sample("weighted_meen", 10)
    with pytest.raises(TypeError):
        nonuniform.get(3)
    for n in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n must"):
            nonuniform.sample("weighted_mean", n)
    for noise in (-0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="noise"):
            nonuniform.sample("weighted_mean", 10, noise)


# -- clean-up of formulas from other tools ----------------------------------------
def test_clean_formula_removes_round_off():
    theta = symbol_for("theta")
    X = np.linspace(0.5, 2.0, 200)[:, None]
    assert clean_formula(sympy.Float(1.0000000001) * theta - sympy.Float(1.3e-9), ["theta"], X) == theta
    # at every depth, and with a symbol of other assumptions
    plain = sympy.Symbol("theta")
    nested = sympy.Float(0.9999999) * sympy.sin(plain + sympy.Float(2e-9)) ** sympy.Float(2.0000001)
    assert clean_formula(nested, ["theta"], X) == sympy.sin(theta) ** 2
    expr = parse_formula("(0.00000203189 + ((-10.12840557) * ((0.1091448069 * mu) * ((-0.9045984149) * Nn))))",
                         ["mu", "Nn"])
    XX = np.random.default_rng(0).uniform(1, 5, (100, 2))
    assert clean_formula(expr, ["mu", "Nn"], XX) == symbol_for("mu") * symbol_for("Nn")


def test_clean_formula_merges_a_constant_split_over_factors():
    # Operon's cubic_clusters answer: only the product of the two constants is simple
    names = ["p", "q", "r"]
    expr = parse_formula("-0.64499956*p*(1.5503886*p - 1.5503886*q*r) + 2*r", names)
    X = np.random.default_rng(0).uniform(0.5, 2.0, (100, 3))
    p, q, r = (symbol_for(n) for n in names)
    assert clean_formula(expr, names, X) == -p**2 + p * q * r + 2 * r
    # a product whose constants do not merge into fewer keeps its factored form
    kept = parse_formula("0.3172*p*(q + 1.7391)", names)
    assert clean_formula(kept, names, X).is_Mul


def test_clean_formula_keeps_what_matters():
    theta = symbol_for("theta")
    X = np.linspace(0.5, 2.0, 200)[:, None]
    kept = sympy.Float(0.3172) * theta + sympy.Float(1.7391) + sympy.Float(0.0123) * theta**2
    result = clean_formula(kept, ["theta"], X)
    assert isinstance(result, sympy.Add) and len(result.args) == 3  # no term dropped, none snapped
    assert sorted(float(f) for f in result.atoms(sympy.Float)) == pytest.approx([0.0123, 0.3172, 1.7391], rel=1e-9)
    # simple values are simple values, not round-off: 0.3 is 3/10, but nothing is dropped
    tidy = clean_formula(sympy.Float(0.3) * theta + sympy.Float(0.01), ["theta"], X)
    assert float(tidy - 3 * theta / 10) == pytest.approx(0.01, rel=1e-9)
    assert float(clean_formula(sympy.Float(3.15) * theta, ["theta"], X) / theta) == pytest.approx(3.15, rel=1e-9)
    assert clean_formula(sympy.Float(3.1415926) * theta, ["theta"], X) == sympy.pi * theta
    # a sum that is not finite everywhere on X is left alone rather than emptied
    odd = sympy.log(theta - 3) + sympy.Float(2.0000001) * theta
    assert clean_formula(odd, ["theta"], X) == sympy.log(theta - 3) + 2 * theta
    with pytest.raises(ValueError, match="shape"):
        clean_formula(theta, ["theta", "x"], X)


# -- helpers of benchmarks/bench_vs_operon.py ----------------------------------------
@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("bench_vs_operon", ROOT / "benchmarks" / "bench_vs_operon.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_operon_gets_at_least_the_cpu_seconds_of_kansr(script):
    for budget, threads in itertools.product((0.5, 1, 4, 5, 120), (1, 2)):
        max_time = script.operon_max_time(budget, threads)
        assert isinstance(max_time, int) and max_time * threads >= budget
        assert (max_time - 1) * threads < max(budget, threads)  # and not a whole second more per thread
    assert script.operon_max_time(5, 1) == 5 and script.operon_max_time(5, 2) == 3


def test_operon_model_strings_parse(script):
    text = "((-0.5) + (2.0 * ((exp((0.38919 * theta)) ^ 2) * sin((1.0 * x)))))"
    expr = script.parse_operon_model(text, ["x", "theta"])
    x, theta = symbol_for("x"), symbol_for("theta")
    expected = -0.5 + 2.0 * sympy.exp(0.38919 * theta) ** 2 * sympy.sin(x)
    values = {x: 0.7, theta: 1.3}
    assert float(expr.subs(values)) == pytest.approx(float(expected.subs(values)), rel=1e-12)
