"""Tests of kansr._validation: CSV loading, validation messages, variable names."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from kansr import load_csv
from kansr._validation import (
    MIN_ROWS,
    Dataset,
    sanitize_name,
    sanitize_names,
    validate_arrays,
)
from kansr.datasets import example_path
from kansr.errors import DataError, DataWarning
from kansr.symbolic import parse_formula, symbol_for


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def _good_rows(n: int = 20) -> list[list[object]]:
    rng = np.random.default_rng(0)
    return [[round(a, 4), round(b, 4), round(a * b, 6)] for a, b in rng.uniform(1, 2, (n, 2))]


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    "column, expected",
    [
        ("T [K]", "T_K"),
        ("1st", "c_1st"),
        ("lambda", "lambda_"),
        ("class", "class_"),
        ("E", "E"),
        ("I", "I"),
        ("N", "N"),
        ("S", "S"),
        ("beta", "beta"),
        ("gamma", "gamma"),
        ("sin", "sin_"),
        ("v [m/s]", "v_m_s"),
        ("x²", "x2"),
        ("θ", "θ"),
        ("  a  b ", "a_b"),
        ("%", "col0"),
        ("", "col0"),
    ],
)
def test_sanitize_name(column, expected):
    name = sanitize_name(column)
    assert name == expected
    assert name.isidentifier()


def test_sanitize_names_deduplicates_without_clashing():
    names = sanitize_names(["T [K]", "T(K)", "T_K_2", "x", "x "])
    assert names == ["T_K", "T_K_3", "T_K_2", "x", "x_2"]
    assert len(set(names)) == len(names)


def test_sanitized_names_parse_back():
    names = sanitize_names(["lambda", "E", "gamma", "I", "m [kg]"])
    expr = parse_formula("lambda_*E + gamma/I + m_kg", names)
    assert expr.free_symbols == {symbol_for(n) for n in names}


# ----------------------------------------------------------------------------- load_csv
def test_load_csv_basic(tmp_path):
    path = _csv(tmp_path, _table(["m [kg]", "1st", "E [J]"], _good_rows()))
    ds = load_csv(path, "E [J]")
    assert isinstance(ds, Dataset)
    assert ds.X.dtype == np.float64 and ds.X.shape == (20, 2)
    assert ds.y.shape == (20,)
    assert ds.columns == ["m [kg]", "1st"]
    assert ds.names == ["m_kg", "c_1st"]
    assert ds.mapping == {"m_kg": "m [kg]", "c_1st": "1st"}
    assert ds.target == "E [J]" and ds.target_name == "E_J"
    assert ds.dropped == {} and ds.n_dropped_rows == 0


def test_target_and_features_by_variable_name(tmp_path):
    path = _csv(tmp_path, _table(["m [kg]", "1st", "E [J]"], _good_rows()))
    ds = load_csv(path, "E_J", features=["c_1st"])
    assert ds.target == "E [J]"
    assert ds.columns == ["1st"]


def test_semicolon_separated(tmp_path):
    text = _table(["a", "b", "y"], _good_rows()).replace(",", ";")
    ds = load_csv(_csv(tmp_path, text), "y")
    assert ds.columns == ["a", "b"]


def test_bom_and_spaces_after_commas(tmp_path):
    text = "\ufeff" + _table(["a", " b", " y"], _good_rows()).replace(",", ", ")
    ds = load_csv(_csv(tmp_path, text), "y")
    assert ds.columns == ["a", "b"]


def _error(tmp_path, text, target="y", **kw) -> str:
    path = _csv(tmp_path, text) if isinstance(text, str) else text
    with pytest.raises(DataError) as info:
        load_csv(path, target, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_missing_file(tmp_path):
    msg = _error(tmp_path, tmp_path / "nope.csv")
    assert "nope.csv" in msg and "not found" in msg


def test_directory(tmp_path):
    assert "directory" in _error(tmp_path, tmp_path)


@pytest.mark.parametrize("text", ["", "   \n\n"])
def test_empty_file(tmp_path, text):
    assert "empty" in _error(tmp_path, text)


def test_binary_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "binary" in _error(tmp_path, path)


def test_not_utf8(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes("a,b,y\n1,2,3\n\xe9\xff,2,3\n".encode("latin-1"))
    assert "UTF-8" in _error(tmp_path, path)


def test_ragged_rows(tmp_path):
    text = "a,b,y\n1,2,3\n1,2,3,4,5\n" + "1,2,3\n" * 12
    msg = _error(tmp_path, text)
    assert "not a valid CSV" in msg


def test_header_only(tmp_path):
    assert "no data rows" in _error(tmp_path, "a,b,y\n")


def test_single_column(tmp_path):
    assert "only one column" in _error(tmp_path, "y\n" + "1\n" * 20)


def test_missing_target_lists_columns_and_suggests(tmp_path):
    msg = _error(tmp_path, _table(["mass", "speed", "energy"], _good_rows()), target="enrgy")
    assert "'enrgy'" in msg
    assert "available columns: 'mass', 'speed', 'energy'" in msg
    assert "did you mean 'energy'" in msg


def test_unknown_feature(tmp_path):
    msg = _error(tmp_path, _table(["mass", "speed", "y"], _good_rows()), features=["mas"])
    assert "feature" in msg and "'mass'" in msg


def test_target_in_features(tmp_path):
    assert "is the target" in _error(tmp_path, _table(["a", "b", "y"], _good_rows()), features=["a", "y"])


def test_duplicate_columns(tmp_path):
    msg = _error(tmp_path, _table(["a", "a", "y"], _good_rows()))
    assert "duplicate" in msg and "'a'" in msg and "columns 1, 2" in msg


def test_non_numeric_columns_are_named(tmp_path):
    rows = [[f"city{k}", k, f"d{k}", k * 2.0] for k in range(20)]
    msg = _error(tmp_path, _table(["city", "x", "day", "y"], rows))
    assert "'city'" in msg and "'day'" in msg and "'x'" not in msg.split("--features")[0].split("non-numeric")[1][:40]
    assert "--features" in msg and "'city0'" in msg and "line 2" in msg


def test_non_numeric_target(tmp_path):
    rows = [[k, f"label{k}"] for k in range(20)]
    assert "target column 'y' is not numeric" in _error(tmp_path, _table(["x", "y"], rows))


def test_missing_values_dropped_with_warning(tmp_path):
    rows = _good_rows(20)
    rows[3][0] = ""
    rows[7][2] = "nan"
    rows[9][1] = "inf"
    path = _csv(tmp_path, _table(["a", "b", "y"], rows))
    with pytest.warns(DataWarning, match=r"dropped 3 of 20 rows"):
        ds = load_csv(path, "y")
    assert ds.n_samples == 17 and ds.n_dropped_rows == 3
    assert np.isfinite(ds.X).all() and np.isfinite(ds.y).all()


def test_missing_values_error(tmp_path):
    rows = _good_rows(20)
    rows[3][0] = ""
    msg = _error(tmp_path, _table(["a", "b", "y"], rows), on_missing="error")
    assert "1 of 20 rows" in msg and "line 5" in msg and "'a'" in msg and "--on-missing drop" in msg


def test_on_missing_value_checked(tmp_path):
    assert "on_missing" in _error(tmp_path, _table(["a", "b", "y"], _good_rows()), on_missing="ignore")


def test_empty_column(tmp_path):
    rows = [[r[0], "", r[2]] for r in _good_rows()]
    assert "'b' have no values" in _error(tmp_path, _table(["a", "b", "y"], rows))


def test_constant_feature_dropped(tmp_path):
    rows = [[r[0], 7, r[2]] for r in _good_rows()]
    ds = load_csv(_csv(tmp_path, _table(["a", "c", "y"], rows)), "y")
    assert ds.columns == ["a"] and ds.names == ["a"]
    assert "c" in ds.dropped and "constant" in ds.dropped["c"]


def test_all_features_constant(tmp_path):
    rows = [[1, 2, k] for k in range(20)]
    assert "every feature column is constant" in _error(tmp_path, _table(["a", "b", "y"], rows))


def test_constant_target(tmp_path):
    rows = [[k, k * 2, 5] for k in range(20)]
    assert "'y' is constant" in _error(tmp_path, _table(["a", "b", "y"], rows))


def test_too_few_rows(tmp_path):
    msg = _error(tmp_path, _table(["a", "b", "y"], _good_rows(MIN_ROWS - 1)))
    assert f"only {MIN_ROWS - 1} usable rows" in msg and str(MIN_ROWS) in msg


def test_too_few_rows_after_dropping(tmp_path):
    rows = _good_rows(12)
    for r in rows[:5]:
        r[0] = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert "after dropping 5" in _error(tmp_path, _table(["a", "b", "y"], rows))


def test_wide_range_warns(tmp_path):
    rows = [[10.0 ** (k - 10), k, k + 1] for k in range(21)]
    with pytest.warns(DataWarning, match=r"'a' spans about \d+ orders of magnitude"):
        load_csv(_csv(tmp_path, _table(["a", "b", "y"], rows)), "y")


def test_split_is_seeded_and_disjoint(tmp_path):
    ds = load_csv(_csv(tmp_path, _table(["a", "b", "y"], _good_rows(50))), "y")
    tr, te = ds.split(0.2, seed=3)
    tr2, te2 = ds.split(0.2, seed=3)
    assert te.n_samples == 10 and tr.n_samples == 40
    np.testing.assert_array_equal(te.X, te2.X)
    rows = {tuple(r) for r in np.column_stack([ds.X, ds.y])}
    assert {tuple(r) for r in np.column_stack([tr.X, tr.y])} | {tuple(r) for r in np.column_stack([te.X, te.y])} == rows


def test_example_csv():
    ds = load_csv(example_path(), "E [J]")
    assert ds.columns == ["m [kg]", "v [m/s]", "noise_col"]
    assert ds.names == ["m_kg", "v_m_s", "noise_col"]
    assert ds.n_samples == 400
    np.testing.assert_allclose(ds.y, 0.5 * ds.X[:, 0] * ds.X[:, 1] ** 2, rtol=1e-12)


def test_example_csv_is_reproducible():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_example", example_path().parent / "make_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == example_path().read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- arrays
def test_validate_arrays_names_and_constants():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=20), np.ones(20), rng.normal(size=20)])
    ds = validate_arrays(X, X[:, 0], ["T [K]", "lambda", "gamma"])
    assert ds.names == ["T_K", "gamma"] and ds.columns == ["T [K]", "gamma"]
    assert list(ds.dropped) == ["lambda"]
    assert ds.X.shape == (20, 2)


def test_validate_arrays_default_names_and_1d():
    ds = validate_arrays(np.arange(12.0), np.arange(12.0) ** 2)
    assert ds.names == ["x0"] and ds.X.shape == (12, 1)


@pytest.mark.parametrize(
    "X, y, names, match",
    [
        (np.ones((12, 2)) * np.arange(12)[:, None], np.arange(11.0), None, "12 rows but y has 11"),
        (np.c_[np.arange(12.0), np.r_[np.nan, np.ones(11)]], np.arange(12.0), None, "NaN or infinite.*column 'x1'"),
        (np.arange(12.0)[:, None], np.r_[np.inf, np.ones(11)], None, "y has 1 non-finite.*in 1 row"),
        (np.arange(3.0)[:, None], np.arange(3.0), None, "at least 10 samples.*; got 3 samples"),
        (np.arange(1.0)[:, None], np.arange(1.0), None, "got 1 sample$"),
        (np.c_[np.arange(12.0), np.arange(12.0)], np.arange(12.0), ["a", "a"], "duplicate feature name"),
        (np.arange(12.0)[:, None], np.ones(12), None, "y is constant"),
        (np.ones((12, 2)), np.arange(12.0), None, "every feature is constant"),
        (np.array([["a"] * 2] * 12), np.arange(12.0), None, "X must be numeric"),
        (np.arange(12.0)[:, None], np.ones((12, 2)), None, "y must be 1-D"),
    ],
)
def test_validate_arrays_errors(X, y, names, match):
    with pytest.raises(DataError, match=match):
        validate_arrays(X, y, names)


def test_validate_arrays_allows_constant_target():
    ds = validate_arrays(np.arange(12.0)[:, None], np.ones(12), allow_constant_target=True)
    assert ds.n_samples == 12


def test_data_error_is_value_error():
    assert issubclass(DataError, ValueError)


def test_names_with_leading_or_trailing_underscores_are_accepted():
    # Feynman's g_ (II.34.11): a valid, unambiguous name, though sanitize_name would strip it
    from kansr._validation import check_xy

    X, y, names = check_xy(np.ones((12, 2)) * np.arange(12)[:, None], np.arange(12.0), ["g_", "_t"])
    assert names == ["g_", "_t"]
