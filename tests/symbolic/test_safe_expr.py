from __future__ import annotations

import time

import numpy as np
import pytest
import sympy

from kansr.errors import FormulaError
from kansr.symbolic._safe_expr import MAX_DEPTH, MAX_DIGITS, MAX_LENGTH, MAX_ROOT_DIGITS, parse_formula, symbol_for


def sym(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ("x*y", ["x", "y"], sym("x") * sym("y")),
        ("1/2*m*v**2", ["m", "v"], sympy.Rational(1, 2) * sym("m") * sym("v") ** 2),
        ("a - b - c + d", list("abcd"), sym("a") - sym("b") - sym("c") + sym("d")),
        ("a/b/c*d", list("abcd"), sym("a") * sym("d") / (sym("b") * sym("c"))),
        ("-x**2", ["x"], -(sym("x") ** 2)),
        ("+x", ["x"], sym("x")),
        ("2.5*x", ["x"], sympy.Float(2.5) * sym("x")),
        ("exp(-theta**2/2)/sqrt(2*pi)", ["theta"], sympy.exp(-sym("theta") ** 2 / 2) / sympy.sqrt(2 * sympy.pi)),
        ("ln(x) + log(x, 2)", ["x"], sympy.log(sym("x")) + sympy.log(sym("x"), 2)),
        ("arcsin(x) + arccos(x) + arctan(x) + arctanh(x)", ["x"],
         sympy.asin(sym("x")) + sympy.acos(sym("x")) + sympy.atan(sym("x")) + sympy.atanh(sym("x"))),
        ("abs(x) + Abs(x) + sign(x)", ["x"], 2 * sympy.Abs(sym("x")) + sympy.sign(sym("x"))),
        ("sinh(x)*cosh(x)*tanh(x)*tan(x)", ["x"],
         sympy.sinh(sym("x")) * sympy.cosh(sym("x")) * sympy.tanh(sym("x")) * sympy.tan(sym("x"))),
        ("E*x", ["x"], sympy.E * sym("x")),
        ("  x \n", ["x"], sym("x")),
    ],
)
def test_parses_whitelisted_syntax(text, names, expected):
    assert parse_formula(text, names) == expected


@pytest.mark.parametrize("name", ["gamma", "beta", "I", "E", "N", "S", "Q", "O", "lambd", "pi", "zeta"])
def test_clashing_names_are_plain_real_symbols(name):
    expr = parse_formula(f"2*{name} + 1", [name])
    assert expr == 2 * sym(name) + 1
    assert expr.free_symbols == {sym(name)}
    assert list(expr.free_symbols)[0].is_real


def test_feynman_clash_rows_evaluate_to_real_numbers():
    expr = parse_formula("1/(4*pi*epsilon*c**2)*2*I/r", ["epsilon", "c", "I", "r"])
    assert not expr.has(sympy.I)
    value = expr.subs({sym("epsilon"): 1, sym("c"): 1, sym("I"): 2, sym("r"): 1})
    assert value.is_real and float(value) == pytest.approx(1 / np.pi)
    gamma = parse_formula("1/(gamma-1)*pr*V", ["gamma", "pr", "V"])
    assert not gamma.has(sympy.gamma)
    assert float(gamma.subs({sym("gamma"): 2, sym("pr"): 3, sym("V"): 4})) == 12.0


def test_symbol_for_matches_parser():
    assert symbol_for("theta") == parse_formula("theta", ["theta"])
    assert symbol_for("x").is_real
    with pytest.raises(TypeError):
        symbol_for(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        symbol_for("")


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("__import__('os').system('x')", "__import__('os').system"),
        ("__import__('os')", "__import__"),
        ("().__class__", "().__class__"),
        ("x.real", "x.real"),
        ("lambda: 1", "lambda"),
        ("f'{x}'", "f'{x}'"),
        ("'x'", "'x'"),
        ("x[0]", "x[0]"),
        ("[x]", "[x]"),
        ("x if x else 1", "x if x else 1"),
        ("x < 1", "x < 1"),
        ("x and 1", "x and 1"),
        ("x^2", "x^2"),
        ("x // 2", "x // 2"),
        ("x % 2", "x % 2"),
        ("~x", "~x"),
        ("not x", "not x"),
        ("foo(x)", "foo"),
        ("y + 1", "y"),
        ("sin", "sin"),
        ("x(2)", "x"),
        ("sin(x=1)", "x=1"),
        ("sin(*x)", "*x"),
        ("log(x, 2, 3)", "log(x, 2, 3)"),
        ("True", "True"),
        ("1j", "1j"),
        ("(x := 2)", "x := 2"),
        ("9**9**9**9", "9**9**9"),
    ],
)
def test_rejects_everything_else_with_token_and_position(text, token):
    with pytest.raises(ValueError) as info:
        parse_formula(text, ["x"])
    message = str(info.value)
    assert repr(token) in message or token in message
    assert "position" in message


def test_error_position_points_at_token():
    with pytest.raises(ValueError, match="'x.real' at position 4"):
        parse_formula("1 + x.real", ["x"])
    with pytest.raises(ValueError, match="did you mean 'theta'"):
        parse_formula("2*thetaa", ["theta"])


def test_rejects_too_long_and_too_deep_input():
    with pytest.raises(ValueError, match="limit"):
        parse_formula("x+" * (MAX_LENGTH // 2) + "x", ["x"])
    with pytest.raises(ValueError, match="nested"):
        parse_formula("-" * (MAX_DEPTH + 5) + "x", ["x"])
    with pytest.raises(ValueError, match="nested"):
        parse_formula("sin(" * (MAX_DEPTH + 5) + "x" + ")" * (MAX_DEPTH + 5), ["x"])
    with pytest.raises(ValueError, match="nested"):
        parse_formula("x+" * 4000 + "x", ["x"])  # Python's own parser gives up
    # a long flat sum below the limits is fine
    assert parse_formula("+".join(["x"] * 500), ["x"]) == 500 * sym("x")


def test_rejects_bad_input_types_and_names():
    with pytest.raises(TypeError):
        parse_formula(b"x", ["x"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sequence of names"):
        parse_formula("x", "x")
    with pytest.raises(ValueError, match="lambd"):
        parse_formula("x", ["lambda"])
    with pytest.raises(ValueError, match="clashes"):
        parse_formula("x", ["sin"])
    with pytest.raises(ValueError, match="twice"):
        parse_formula("x", ["x", "x"])
    with pytest.raises(ValueError, match="empty"):
        parse_formula("  ", ["x"])
    with pytest.raises(ValueError, match="syntax"):
        parse_formula("x +", ["x"])
    with pytest.raises(ValueError):
        parse_formula("x\x00", ["x"])


def test_never_evaluates_code(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("eval-like function called")

    import sympy.parsing.sympy_parser as sympy_parser

    monkeypatch.setattr(sympy, "sympify", boom)
    monkeypatch.setattr(sympy_parser, "parse_expr", boom)
    monkeypatch.setattr("builtins.eval", boom)
    monkeypatch.setattr("builtins.exec", boom)
    assert parse_formula("sqrt(x)*2", ["x"]) == 2 * sympy.sqrt(sym("x"))


def _refused_quickly(text: str, match: str) -> FormulaError:
    start = time.perf_counter()
    with pytest.raises(FormulaError, match=match) as info:
        parse_formula(text, ["x"])
    assert time.perf_counter() - start < 2.0  # a behaviour bound: refused before any big computation
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize(
    "text",
    [
        "*".join(["3**50000"] * 200),  # each power alone was accepted, the product ran for > 20 s
        "x**(10**10000)",  # ended in Python's 'Exceeds the limit (4300 digits)' ValueError
        "9**9**9",
        "(2*x)**100000",  # sympy distributes the power over the coefficient: 2**100000*x**100000
        "(sqrt(3)*x)**100000",
        "*".join(["3**400"] * 30),  # every factor small, the product not
        "1" + "0" * (MAX_DIGITS + 10),
    ],
)
def test_refuses_formulas_whose_exact_numbers_are_too_long(text):
    error = _refused_quickly(text, "exact numbers would hold")
    assert f"limit of {MAX_DIGITS}" in str(error) and "position" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        f"sqrt(10**{MAX_ROOT_DIGITS + 100}+1)",  # sympy searches roots for perfect powers: 15 s at 4000 digits
        "*".join(f"sqrt(10**90+{2 * i + 1})" for i in range(10)),  # merged into one root of a 900-digit number
        f"(10**{MAX_ROOT_DIGITS + 100}+1)**(2/7)",
    ],
)
def test_refuses_roots_of_long_exact_numbers(text):
    _refused_quickly(text, "under roots")


@pytest.mark.parametrize(
    "text",
    ["2.0**(10**3000)", "3**1e300", "E**(10**3000)", "exp(1e300)", "exp(exp(exp(exp(10.0))))", "exp(10**3990) - 1"],
)
def test_refuses_values_beyond_any_physical_scale(text):
    _refused_quickly(text, r"beyond 10\*\*±10000")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x**2", sym("x") ** 2),
        ("2**10*x", 1024 * sym("x")),
        ("1e-23*x", sympy.Float(1e-23) * sym("x")),
        ("6.674e-11*x/2", sympy.Float(6.674e-11) / 2 * sym("x")),
        ("12345678901234567890*x + 0.12345678901234567890",
         12345678901234567890 * sym("x") + sympy.Float(0.12345678901234567890)),
        ("2**(-1000)*x", sympy.Rational(1, 2**1000) * sym("x")),
        ("sqrt(12345678901234567891)*x", sympy.sqrt(12345678901234567891) * sym("x")),
        ("0**(10**1000) + (-1)**(10**1000) + x**(10**100)", 1 + sym("x") ** (10**100)),
        ("exp(-x**2/2)/sqrt(2*pi)", sympy.exp(-sym("x") ** 2 / 2) / sympy.sqrt(2 * sympy.pi)),
    ],
)
def test_ordinary_numbers_are_unaffected(text, expected):
    assert parse_formula(text, ["x"]) == expected


def test_long_discovered_sum_parses_quickly():
    names = [f"x{i}" for i in range(10)]
    terms = [f"{(-1) ** i * (i + 1) * 1.2345678901234567:.15g}*x{i % 10}**{i % 4}*x{(i + 3) % 10}" for i in range(300)]
    text = " + ".join(["3/7"] + terms)
    start = time.perf_counter()
    expr = parse_formula(text, names)
    assert time.perf_counter() - start < 2.0
    assert expr.free_symbols == {sym(n) for n in names}
