"""The units table of the 120 Feynman equations: every formula homogeneous under it."""
import json
from functools import cache
from importlib import resources

import pytest

import feynman_data
from kansr.units import check_dimensions, parse_unit


@cache
def _table():
    return json.loads(resources.files("feynman_data").joinpath("units.json").read_text())["units"]


def test_every_equation_has_units_for_each_variable():
    table = _table()
    assert set(table) == set(feynman_data.list_equations())
    for eq_id in table:
        eq = feynman_data.get(eq_id)
        assert table[eq_id]["output"][0] == eq.output
        assert set(table[eq_id]["inputs"]) == set(eq.variables), eq_id


@pytest.mark.parametrize("eq_id", feynman_data.list_equations())
def test_every_formula_is_dimensionally_homogeneous(eq_id):
    entry = _table()[eq_id]
    eq = feynman_data.get(eq_id)
    dims = {name: parse_unit(unit, column=name).dimension for name, unit in entry["inputs"].items()}
    check = check_dimensions(eq.expr, dims, parse_unit(entry["output"][1]).dimension)
    assert check.strict, f"{eq_id}: {check.reason}"


def test_units_of_one_equation_by_id_or_pmlb_name():
    inputs, output = feynman_data.units("feynman_I_48_2")
    assert inputs == {"m": "kg", "v": "m/s", "c": "m/s"} and output == "J"
    with pytest.raises(ValueError, match="unknown Feynman equation"):
        feynman_data.units("I.99.9")
