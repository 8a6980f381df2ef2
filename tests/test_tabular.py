"""Tests of kansr._tabular.load_csv on files as spreadsheets export them: quoting, separators, encodings, trailing commas."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from kansr import load_csv
from kansr.errors import DataError, UsageError

N = 20


def _values() -> np.ndarray:
    """(N, 3) rows a, b, y with b in the thousands, rounded so every format below round-trips exactly."""
    rng = np.random.default_rng(0)
    a = np.round(rng.uniform(1, 2, N), 2)
    b = np.round(rng.uniform(1000, 5000, N), 1)
    return np.column_stack([a, b, np.round(a * b, 3)])


def _write(tmp_path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / "data.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def _lines(header: str, fmt, sep: str = ",", end: str = "") -> str:
    """A file: ``header`` then one line per row, each cell formatted by ``fmt``, joined by ``sep``, plus ``end``."""
    return header + "\n" + "".join(sep.join(fmt(v) for v in row) + end + "\n" for row in _values())


def _load(path: Path, target: str = "y", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these files deserves a warning
        return load_csv(path, target, **kw)


def _error(path: Path, target: str = "y", **kw) -> str:
    with pytest.raises(DataError) as info:
        load_csv(path, target, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def _assert_values(ds, columns=("a", "b")) -> None:
    assert ds.columns == list(columns)
    np.testing.assert_array_equal(ds.X, _values()[:, :2])
    np.testing.assert_array_equal(ds.y, _values()[:, 2])


def _plain(v: float) -> str:
    return repr(float(v))


def _decimal_comma(v: float) -> str:
    return repr(float(v)).replace(".", ",")


def _thousands_comma(v: float) -> str:
    return f"{v:,}"


# ----------------------------------------------------------------------------- delimiter
@pytest.mark.parametrize(
    "header, sep",
    [
        ('"Temp, C";"Druck, bar";y', ";"),
        ('"Temp, C"\t"Druck, bar"\ty', "\t"),
        ('"Temp, C","Druck, bar",y', ","),
        ('"Temp, C"|"Druck, bar"|y', "|"),
    ],
    ids=["semicolon", "tab", "comma", "pipe"],
)
def test_quoted_header_containing_commas(tmp_path, header, sep):
    ds = _load(_write(tmp_path, _lines(header, _plain, sep)))
    _assert_values(ds, ["Temp, C", "Druck, bar"])
    assert ds.names == ["Temp_C", "Druck_bar"]


def test_quoted_header_containing_semicolons_comma_separated(tmp_path):
    ds = _load(_write(tmp_path, _lines('"a; x","b; z",y', _plain)))
    _assert_values(ds, ["a; x", "b; z"])


# ----------------------------------------------------------------------------- decimal and thousands separators
def test_decimal_comma_refused_with_hint(tmp_path):
    msg = _error(_write(tmp_path, _lines("a;b;y", _decimal_comma, ";")))
    assert "target column 'y' is not numeric" in msg
    assert "decimal comma" in msg and "--decimal ','" in msg and "decimal=','" in msg


def test_decimal_comma_read_with_decimal_option(tmp_path):
    _assert_values(_load(_write(tmp_path, _lines("a;b;y", _decimal_comma, ";")), decimal=","))


def test_decimal_comma_quoted_in_comma_separated_file(tmp_path):
    path = _write(tmp_path, _lines("a,b,y", lambda v: f'"{_decimal_comma(v)}"'))
    _assert_values(_load(path, decimal=","))


@pytest.mark.parametrize(
    "sep, fmt",
    [(",", lambda v: f'"{_thousands_comma(v)}"'), (";", _thousands_comma)],
    ids=["quoted-comma-separated", "semicolon-separated"],
)
def test_thousands_separator(tmp_path, sep, fmt):
    path = _write(tmp_path, _lines(sep.join("aby"), fmt, sep))
    msg = _error(path)
    assert "target column 'y' is not numeric (e.g. '1,825.812' on line 2)" in msg
    assert "between thousands" in msg and "--thousands ','" in msg and "thousands=','" in msg
    assert "choose a numeric target" not in msg  # the column is numeric once read right
    _assert_values(_load(path, thousands=","))


def test_dot_thousands_with_decimal_comma(tmp_path):
    def german(v: float) -> str:
        return _thousands_comma(v).replace(",", "_").replace(".", ",").replace("_", ".")

    path = _write(tmp_path, _lines("a;b;y", german, ";"))
    msg = _error(path)
    assert "--decimal ',' --thousands '.'" in msg  # b ("1.113,3") needs both, although y ("1,637") alone would not
    _assert_values(_load(path, decimal=",", thousands="."))


def test_ambiguous_comma_suggests_both(tmp_path):
    path = _write(tmp_path, "a;b;y\n" + "".join(f"{k};{k + 1},{k:03d};{k * 2}\n" for k in range(N)))
    msg = _error(path)
    assert "--thousands ','" in msg and "--decimal ','" in msg


def test_text_column_next_to_decimal_commas_keeps_features_advice(tmp_path):
    text = "city;a;y\n" + "".join(f"c{k};{k},5;{k * 2}\n" for k in range(N))
    msg = _error(_write(tmp_path, text))
    assert "'city' (e.g. 'c0' on line 2)" in msg and "'a' (e.g. '0,5' on line 2)" in msg
    assert "--decimal ','" in msg and "otherwise choose numeric feature columns with --features" in msg


def test_plain_text_column_gets_no_separator_hint(tmp_path):
    text = "city,a,y\n" + "".join(f"c{k},{k},{k * 2}\n" for k in range(N))
    msg = _error(_write(tmp_path, text))
    assert "--decimal" not in msg and "--thousands" not in msg and "--features 'a'" in msg


@pytest.mark.parametrize(
    "kw",
    [{"decimal": ""}, {"decimal": ".."}, {"decimal": "1"}, {"thousands": ""}, {"thousands": "."}, {"thousands": "x"},
     {"decimal": ",", "thousands": ","}],
)
def test_bad_separator_options(tmp_path, kw):
    path = _write(tmp_path, _lines("a,b,y", _plain))
    with pytest.raises(UsageError, match="decimal|thousands"):
        load_csv(path, "y", **kw)


# ----------------------------------------------------------------------------- encodings
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le", "utf-32", "utf-8-sig"])
def test_unicode_with_byte_order_mark(tmp_path, encoding):
    text = _lines("a,b,y", _plain).replace("\n", "\r\n")  # as Excel and PowerShell write it
    bom = "" if encoding in ("utf-16", "utf-32", "utf-8-sig") else "\ufeff"  # these codecs write their own
    ds = _load(_write(tmp_path, bom + text, encoding))
    _assert_values(ds)


def test_utf16_non_ascii_header(tmp_path):
    ds = _load(_write(tmp_path, _lines("θ [°];Δp;y", _plain, ";"), "utf-16"))
    _assert_values(ds, ["θ [°]", "Δp"])


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)),
        b"\xff\xfe" + "a,b\x00\x01y".encode("utf-16-le"),
    ],
    ids=["png", "zip", "utf16-bom-with-nul"],
)
def test_binary_still_refused(tmp_path, content):
    assert "looks like a binary file" in _error(_write(tmp_path, content))


def test_bad_utf16_is_named(tmp_path):
    path = _write(tmp_path, "a,b,y\n1,2,3\n".encode("utf-16") + b"\x00\xd8")  # a lone surrogate
    assert "is not UTF-16 text" in _error(path)


# ----------------------------------------------------------------------------- trailing delimiters
@pytest.mark.parametrize("sep, end", [(",", ","), (",", ",,"), (";", ";"), (",", ", ")])
def test_trailing_delimiter_on_every_line_is_dropped(tmp_path, sep, end):
    text = _lines(sep.join("aby") + end, _plain, sep, end)
    ds = _load(_write(tmp_path, text))
    _assert_values(ds)
    assert ds.dropped == {}


def test_trailing_comma_on_data_rows_only_does_not_shift_columns(tmp_path):
    # pandas would take the first column as the index and move every value one column left.
    _assert_values(_load(_write(tmp_path, _lines("a,b,y", _plain, end=","))))


def test_extra_values_beyond_the_header_refused(tmp_path):
    msg = _error(_write(tmp_path, _lines("a,b,y", _plain, end=",7")))
    assert "more fields than the header's 3" in msg


def test_blank_header_over_values_is_kept(tmp_path):
    ds = _load(_write(tmp_path, _lines("a,,y", _plain)))
    assert ds.columns == ["a", "Unnamed: 1"]
    np.testing.assert_array_equal(ds.X, _values()[:, :2])
