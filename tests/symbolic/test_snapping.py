import numpy as np
import pytest
import sympy
import torch

from kansr.nn import KAN
from kansr.symbolic import auto_symbolic, fix_symbolic, numeric_edges, suggest_symbolic, unfix
from kansr.symbolic._formula import model_formula, nice_value, rationalize_constants, round_constants
from kansr.train import fit


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (600, 2))
    y = np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2
    model = KAN([2, 1], grid=10, seed=0, dtype=torch.float64, input_names=["u", "v"])
    fit(model, X, y, steps=40, progress=False)
    return model, X, y


def test_suggest_ranks_the_true_function_first(trained):
    model, X, _ = trained
    top = suggest_symbolic(model, 0, 0, 0, X, top=3)
    assert top[0].name == "sin" and top[0].r2 > 0.999
    assert len(top) == 3 and top[0].score >= top[1].score
    assert suggest_symbolic(model, 0, 1, 0, X, top=1)[0].name == "x^2"


def test_fix_unfix_and_formula_matches_forward(trained):
    model, X, y = trained
    m = model.copy()
    cand = fix_symbolic(m, 0, 0, 0, "sin", X)
    assert cand.r2 > 0.999
    assert numeric_edges(m) == [(0, 1, 0)]
    with pytest.raises(ValueError, match="still splines"):
        model_formula(m)
    unfix(m, 0, 0, 0)
    assert len(numeric_edges(m)) == 2
    auto_symbolic(m, X)
    f = model_formula(m)
    # The exported formula evaluates exactly like the network.
    assert np.allclose(f(X), m.predict(X)[:, 0], atol=1e-10)
    assert {s.name for s in f.expr.free_symbols} == {"u", "v"}
    # Training after snapping tunes the affine constants.
    fit(m, X, y, steps=10, update_grid=False, progress=False)
    assert np.sqrt(np.mean((m.predict(X)[:, 0] - y) ** 2)) < 1e-3


def test_symbolic_forward_matches_formula_with_multiplication_nodes():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (300, 2))
    model = KAN([2, [1, 1], 1], grid=5, seed=0, dtype=torch.float64)
    fit(model, X, X[:, 0] * X[:, 1] + X[:, 0], steps=20, progress=False)
    auto_symbolic(model, X)
    f = model_formula(model)
    assert np.allclose(f(X), model.predict(X)[:, 0], atol=1e-10)


@pytest.mark.parametrize("name", ["log", "sqrt", "1/x", "arcsin", "arctanh", "1/sqrt(x)", "tan"])
def test_out_of_domain_samples_never_give_nan(trained, name):
    model, X, _ = trained
    m = model.copy()
    fix_symbolic(m, 0, 0, 0, name, X)  # the edge's inputs span [-1, 1]
    auto_symbolic(m, X)
    assert np.isfinite(m.predict(X)).all()
    assert np.isfinite(model_formula(m)(X)).all()
    # Even far outside the samples the network stays finite.
    assert np.isfinite(m.predict(10 * X)).all()
    # Hand-set parameters that leave the domain: the forward pass is still finite.
    fix_symbolic(m, 0, 0, 0, name, fit_params=False, params=(1.0, -5.0, 1.0, 0.0))
    assert np.isfinite(m.predict(X)).all()


def test_bad_edges_are_named(trained):
    model, X, _ = trained
    with pytest.raises(ValueError, match=r"edge \(l=0, i=5, j=0\) does not exist in a layer of shape 2x1"):
        suggest_symbolic(model, 0, 5, 0, X)
    with pytest.raises(ValueError, match="layer 3 does not exist"):
        fix_symbolic(model, 3, 0, 0, "sin")
    with pytest.raises(ValueError, match="nope"):
        fix_symbolic(model.copy(), 0, 0, 0, "nope", X)
    with pytest.raises(TypeError, match="'X'"):
        suggest_symbolic(model, 0, 0, 0)  # samples are an argument, never remembered from fit
    with pytest.raises(ValueError, match="pass X"):
        fix_symbolic(model.copy(), 0, 0, 0, "sin")  # fitting the affine constants needs samples


def test_constant_tidying():
    x = sympy.Symbol("x")
    assert nice_value(0.50001) == sympy.Rational(1, 2)
    assert nice_value(6.28319) == 2 * sympy.pi
    assert nice_value(1.41421) == sympy.sqrt(2)
    assert nice_value(0.1234567) is None
    expr = sympy.Float(2.99999) * x ** sympy.Float(2.0000001) + sympy.Float(0.123456789)
    assert rationalize_constants(expr) == 3 * x**2 + sympy.Float(0.123456789)
    assert str(round_constants(sympy.Float(0.123456789) * x, 3)) == "0.123*x"


def test_a_float_times_an_exact_irrational_is_folded_so_it_can_be_made_exact():
    from kansr.symbolic._formula import merge_float_factors

    w, c, v = sympy.symbols("omega_0 c v")
    found = sympy.Float(0.37796447300922723) * sympy.sqrt(7) * w * sympy.sqrt((c + v) / (c - v))
    tidy = rationalize_constants(merge_float_factors(found), rel_tol=1e-12, max_denominator=1)
    assert tidy == w * sympy.sqrt((c + v) / (c - v))
    exact = sympy.sqrt(2) * sympy.pi * v  # no float: nothing to fold
    assert merge_float_factors(exact) == exact


def test_abs_of_a_sign_known_expression_is_dropped():
    from kansr.symbolic._formula import drop_sign_known_abs

    a, b, c = sympy.symbols("a b c")
    expr = a * sympy.Abs(b) / b + sympy.Abs(a * c) + sympy.Abs(a - b)
    out = drop_sign_known_abs(expr, {a: 1, b: 1, c: -1})
    assert out == a - a * c + sympy.Abs(a - b)  # a - b may take either sign: kept
    assert drop_sign_known_abs(sympy.Abs(b), {a: 1}) == sympy.Abs(b)  # b's sign unknown
