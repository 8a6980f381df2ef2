"""Units: parsing, headers, homogeneity of formulas, Buckingham groups."""
from fractions import Fraction

import numpy as np
import pytest
import sympy

from kansr.errors import DataError, UnitsError
from kansr.units import Dimension, buckingham, check_dimensions, parse_unit, split_header


def dim(text):
    return parse_unit(text).dimension


@pytest.mark.parametrize("text, expected, scale", [
    ("J", {"[mass]": 1, "[length]": 2, "[time]": -2}, 1.0),
    ("kg*m**2/s**2", {"[mass]": 1, "[length]": 2, "[time]": -2}, 1.0),
    ("m s^-1", {"[length]": 1, "[time]": -1}, 1.0),
    ("km/h", {"[length]": 1, "[time]": -1}, 1000 / 3600),
    ("1", {}, 1.0),
    ("rad", {}, 1.0),
    ("percent", {}, 0.01),
    ("K", {"[temperature]": 1}, 1.0),
    ("V", {"[mass]": 1, "[length]": 2, "[time]": -3, "[current]": -1}, 1.0),
])
def test_units_parse_to_their_dimension_and_size(text, expected, scale):
    unit = parse_unit(text)
    assert unit.dimension == Dimension.from_mapping(expected)
    assert unit.scale == pytest.approx(scale)


@pytest.mark.parametrize("text, message", [
    ("furlongz", "column 'd': unknown unit 'furlongz'"),
    ("degC", "offset unit"),
    ("m**40", "exponent beyond"),
    ("", "non-empty"),
])
def test_bad_units_name_the_column(text, message):
    with pytest.raises(UnitsError, match=message) as info:
        parse_unit(text, column="d")
    assert isinstance(info.value, DataError)  # the CLI's exit code 2
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("header, expected", [
    ("E [J]", ("E", "J", True)),
    ("T (K)", ("T", "K", True)),
    ("v (m/s)", ("v", "m/s", True)),
    ("speed in m/s", ("speed", "m/s", False)),
    ("v / (m/s)", ("v", "m/s", False)),
    ("mass", ("mass", None, False)),
    ("x_1", ("x_1", None, False)),
])
def test_headers_give_name_and_unit(header, expected):
    assert split_header(header) == expected


DIMS = {"m": dim("kg"), "v": dim("m/s"), "c": dim("m/s"), "t": dim("s"), "x": dim("m"), "T": dim("K")}
ENERGY = dim("J")


@pytest.mark.parametrize("text, target, label", [
    ("m*v**2/2", "J", "consistent"),
    ("m*c**2/sqrt(1 - v**2/c**2)", "J", "consistent"),
    ("x*exp(-v*t/x)", "m", "consistent"),
    ("4.905*t**2", "m", "consistent with 1 dimensional constant"),  # the constant is g/2
    ("x*sin(0.3*t)", "m", "consistent with 1 dimensional constant"),  # 0.3 is a frequency
    ("m + v", "J", "inconsistent"),
    ("m*v**2 + m", "J", "inconsistent"),
    ("x*sin(t)", "m", "inconsistent"),
    ("4436*(0.81*T + 0.5)**1.18", "J", "inconsistent"),  # a fractional power of a temperature
    ("m*v", "J", "inconsistent"),  # homogeneous, but a momentum
])
def test_formulas_are_judged_for_homogeneity(text, target, label):
    expr = sympy.sympify(text, locals={n: sympy.Symbol(n) for n in DIMS})
    assert check_dimensions(expr, DIMS, dim(target)).label == label


def test_buckingham_groups_are_dimensionless_and_the_prefactor_carries_the_unit():
    names = ["m", "v", "c"]
    red = buckingham(names, DIMS, ENERGY)
    assert red.n_groups == 1
    symbols = sympy.symbols(names)
    group_dims = {n: DIMS[n] for n in names}
    for g in red.group_expressions(symbols):
        assert check_dimensions(g, group_dims, Dimension.dimensionless()).strict
    assert check_dimensions(red.prefactor_expression(symbols), group_dims, ENERGY).strict


def test_buckingham_on_a_pendulum():
    # T = 2*pi*sqrt(L/g), the mass a distractor: no dimensionless group is left, P = sqrt(L/g).
    dims = {"L": dim("m"), "g": dim("m/s**2"), "m": dim("kg")}
    red = buckingham(["L", "g", "m"], dims, dim("s"))
    assert red.n_groups == 0  # the period is the prefactor alone, up to a constant
    assert red.prefactor == (Fraction(1, 2), Fraction(-1, 2), Fraction(0))


def test_buckingham_values_match_the_expressions():
    names = ["x", "v", "t"]
    red = buckingham(names, DIMS, dim("m"))
    X = np.random.default_rng(0).uniform(0.5, 2.0, (20, 3))
    syms = sympy.symbols(names)
    for k, g in enumerate(red.group_expressions(syms)):
        assert np.allclose(red.group_values(X)[:, k], sympy.lambdify(syms, g)(*X.T))
    assert np.allclose(red.prefactor_values(X), sympy.lambdify(syms, red.prefactor_expression(syms))(*X.T))


def test_no_reduction_when_the_target_unit_cannot_be_formed():
    assert buckingham(["x", "t"], DIMS, dim("kg")) is None


def test_dimensionless_inputs_are_their_own_groups():
    dims = {"a": dim("1"), "b": dim("rad")}
    red = buckingham(["a", "b"], dims, dim("1"))
    assert red.groups == ((1, 0), (0, 1)) and red.prefactor == (0, 0)


def test_formula_strings_are_refused_not_parsed():
    with pytest.raises(sympy.SympifyError):
        check_dimensions("m*v**2/2", DIMS, ENERGY)


# -- units of a table's columns ------------------------------------------------
def test_column_units_by_header_name_part_or_variable_name():
    from kansr.units import parse_unit_pairs, resolve_column_units

    got = resolve_column_units(["m", "speed (m/s)"], ["m", "speed_m_s"], "E", given=parse_unit_pairs("m=g"),
                               target_unit="mJ")
    assert got.units == {"m": "g", "speed_m_s": "m/s"} and got.y_units == "mJ"
    assert got.read == {"speed (m/s)": "m/s"}
    agree = resolve_column_units(["v [m/s]"], ["v_m_s"], "x [m]", given={"v": "m*s**-1"})
    assert agree.units == {"v_m_s": "m*s**-1"}  # the same unit written another way is no conflict


def test_units_of_a_dropped_constant_column_are_ignored_with_a_note():
    from kansr.units import resolve_column_units

    got = resolve_column_units(["a [m]"], ["a_m"], "y [m]", given={"a": "m", "c": "s"}, dropped=["c"])
    assert got.units == {"a_m": "m"}
    assert "'c' is ignored" in got.notes[0]


def test_a_name_that_merely_says_in_is_not_a_unit():
    from kansr.units import resolve_column_units

    got = resolve_column_units(["time in lab", "x [m]"], ["time_in_lab", "x_m"], "y [m]")
    assert got.units is None and got.read == {"x [m]": "m", "y [m]": "m"}
    assert "not for 'time in lab'" in got.notes[0]
