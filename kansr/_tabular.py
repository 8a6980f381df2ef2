"""Reading a CSV file into a validated :class:`~kansr._validation.Dataset`.

:func:`load_csv` reads the file with pandas: float64 arrays, the original
column names and the variable (symbol) names used in formulas.  Every problem
raises a :class:`~kansr.errors.DataError` with a one-line message naming the
file, column or row and saying how to fix it.  Rows are reported by their
*line* in the file (the header is line 1), which is also their row number in
a spreadsheet.

Files exported by spreadsheets are read as they come: UTF-8, or UTF-16/32
with a byte-order mark; the delimiter is guessed quote-aware from the first
rows; decimal commas and thousands separators are read when asked for (and
suggested when a column fails to parse); a blank column with no header, as
left by a trailing delimiter on every line, is dropped.
"""
from __future__ import annotations

import codecs
import csv
import difflib
import io
import itertools
import os
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kansr._validation import MIN_ROWS, Dataset, _constant_columns, _warn_wide_range, sanitize_names
from kansr.errors import DataError, DataWarning, UsageError

__all__ = ["load_csv"]

# Bytes inspected to tell text from binary files.
_SNIFF_BYTES = 8192
# Characters and rows inspected to guess the delimiter.
_SNIFF_CHARS = 65536
_SNIFF_ROWS = 50
_DELIMITERS = (",", ";", "\t", "|")
# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Cells that are numbers written with ',' separators: "3,5" / "1.234,5" (decimal comma), "1,234.5" (thousands).
_DECIMAL_COMMA = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d*),\d+([eE][+-]?\d+)?")
_THOUSANDS_COMMA = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?")


# ----------------------------------------------------------------------------- reading
def _read_text(path: Path) -> str:
    where = str(path)
    if not path.exists():
        raise DataError(f"{where}: file not found; check the path (working directory: {os.getcwd()})")
    if path.is_dir():
        raise DataError(f"{where} is a directory; pass the path of a CSV file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{where}: cannot read the file ({exc.strerror or exc}); check its permissions") from None
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), "utf-8-sig")
    # NULs never occur in text; test the decoded sample so that UTF-16 text passes and binary fails as binary.
    if "\x00" in raw[:_SNIFF_BYTES].decode(encoding, errors="replace"):
        raise DataError(
            f"{where} looks like a binary file, not a CSV; export the data as comma-separated text with a header row"
        )
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        label = encoding.removesuffix("-sig").upper()
        raise DataError(
            f"{where} is not {label} text (invalid byte at offset {exc.start}); save it as a UTF-8 CSV"
        ) from None
    if not text.strip():
        raise DataError(f"{where} is empty; expected a CSV file with a header row and data rows")
    return text


def _delimiter(text: str) -> str:
    """The candidate delimiter that splits the header into most fields, preferring one every sampled row agrees with.

    Fields are split by :mod:`csv`, so delimiters inside quotes (``"Temp, C";y``)
    do not count; ties go to the earlier of ``, ; tab |``.
    """
    sample = text[:_SNIFF_CHARS]

    def score(sep: str) -> tuple[bool, int]:
        try:
            rows = [r for r in itertools.islice(csv.reader(io.StringIO(sample), delimiter=sep, skipinitialspace=True),
                                                _SNIFF_ROWS + 1) if r]
        except csv.Error:
            return False, 0
        if len(text) > len(sample) and len(rows) > 1:
            rows = rows[:-1]  # possibly cut off by the sample
        widths = [len(r) for r in rows] or [0]
        return widths[0] >= 2 and len(set(widths)) == 1, widths[0]

    return max(_DELIMITERS, key=score)


def _header(text: str, sep: str, where: str) -> list[str]:
    try:
        row = next(csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True))
    except (csv.Error, StopIteration) as exc:
        raise DataError(f"{where}: cannot read the header row ({exc}); is this a CSV file?") from None
    names = [c.strip() for c in row]
    dup = [n for n, k in Counter(names).items() if k > 1 and n]  # blank headers get pandas' "Unnamed: k"
    if dup:
        desc = "; ".join(
            f"{n!r} (columns {', '.join(str(p + 1) for p, m in enumerate(names) if m == n)})" for n in dup
        )
        raise DataError(f"{where}: duplicate column name(s) {desc}; give every column a unique header")
    return names


def _resolve(wanted: str, columns: list[str], names: list[str], what: str, where: str) -> str:
    """The column meant by ``wanted``: its exact name, or its variable name."""
    key = str(wanted).strip()
    if key in columns:
        return key
    if key in names:
        return columns[names.index(key)]
    lowered = [c for c in columns if c.lower() == key.lower()]
    if len(lowered) == 1:
        return lowered[0]
    close = difflib.get_close_matches(key, columns, n=3, cutoff=0.5)
    close += [columns[names.index(n)] for n in difflib.get_close_matches(key, names, n=3, cutoff=0.5)]
    close = list(dict.fromkeys(close))
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    shown = ", ".join(map(repr, columns[:30])) + (", ..." if len(columns) > 30 else "")
    raise DataError(f"{where}: no {what} column named {key!r}; available columns: {shown}{hint}")


def _numeric_problem(series: pd.Series) -> tuple[int, object] | None:
    """(row position, value) of the first non-numeric cell, or None if the column is numeric."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return None
    coerced = pd.to_numeric(series, errors="coerce")
    bad = coerced.isna().to_numpy() & series.notna().to_numpy()
    if not bad.any():
        return None
    pos = int(np.argmax(bad))
    return pos, series.iloc[pos]


def _comma_numbers(series: pd.Series) -> pd.Series:
    """The cells of ``series`` that do not parse as numbers, if every one is a number written with ',' separators."""
    cells = series.dropna().astype(str).str.strip()
    cells = cells[pd.to_numeric(cells, errors="coerce").isna()]
    looks = cells.str.fullmatch(_DECIMAL_COMMA) | cells.str.fullmatch(_THOUSANDS_COMMA)
    return cells if looks.all() else cells.iloc[:0]


def _separator_hint(cells: pd.Series) -> str:
    """Advice on ``decimal=``/``thousands=`` for reading ``cells`` (numbers written with ','), or ``""`` if none."""
    if cells.empty:
        return ""
    decimal = bool(cells.str.fullmatch(_DECIMAL_COMMA).all())
    thousands = bool(cells.str.fullmatch(_THOUSANDS_COMMA).all())
    if decimal and not thousands:
        if cells.str.contains(".", regex=False).any():
            return ("the numbers look like '1.234,5' (decimal comma, '.' between thousands); "
                    "pass --decimal ',' --thousands '.' (decimal=',', thousands='.' in Python)")
        return "the numbers look like they use a decimal comma; pass --decimal ',' (decimal=',' in Python)"
    if thousands and not decimal:
        return "the numbers look like they use ',' between thousands; pass --thousands ',' (thousands=',' in Python)"
    return ("if ',' separates thousands pass --thousands ',' (thousands=',' in Python); "  # "1,234": either reading
            "if it is the decimal mark pass --decimal ',' (decimal=',' in Python)")


def load_csv(
    path: str | os.PathLike,
    target: str,
    features: Sequence[str] | None = None,
    on_missing: str = "drop",
    *,
    decimal: str = ".",
    thousands: str | None = None,
) -> Dataset:
    """Read and validate a CSV file for formula discovery.

    Parameters
    ----------
    path : str or path-like
        A CSV file with a header row: UTF-8, or UTF-16/UTF-32 with a
        byte-order mark.  The delimiter (``,``, ``;``, tab or ``|``) is
        guessed from the first rows, ignoring delimiters inside quotes.  A
        column with a blank header and no values (a trailing delimiter on
        every line) is dropped.
    target : str
        The column to explain: its exact header, or its variable name
        (``"E [J]"`` or ``"E_J"``).
    features : sequence of str, optional
        Input columns (headers or variable names).  Default: every column
        except the target.
    on_missing : {"drop", "error"}
        Rows with an empty, NaN or infinite cell in a used column are dropped
        with a :class:`~kansr.errors.DataWarning` (``"drop"``) or make the
        load fail (``"error"``).
    decimal : str
        The decimal mark, ``","`` for numbers written ``3,5``.
    thousands : str, optional
        The thousands separator, e.g. ``","`` for ``1,234.5`` or ``"."`` with
        ``decimal=","`` for ``1.234,5``.  Values that contain the delimiter
        must be quoted.

    Returns
    -------
    Dataset
        Constant feature columns are removed and listed in ``dropped``.

    Raises
    ------
    DataError
        Missing, empty, binary or unparseable file; data rows with more
        fields than the header; duplicate headers; an
        unknown target or feature column; non-numeric used columns; missing
        values with ``on_missing="error"``; fewer than :data:`MIN_ROWS`
        usable rows; a constant target; no varying feature.  When a column
        fails to parse because of ``,`` separators, the message suggests
        ``decimal`` or ``thousands``.
    UsageError
        ``on_missing``, ``decimal`` or ``thousands`` is not a valid choice.

    Warns
    -----
    DataWarning
        Rows dropped for missing values; a column spanning many orders of
        magnitude.
    """
    if on_missing not in ("drop", "error"):
        raise DataError(f"on_missing must be 'drop' or 'error'; got {on_missing!r}")
    if not isinstance(decimal, str) or len(decimal) != 1 or decimal.isalnum():
        raise UsageError(f"decimal must be one character such as '.' or ','; got {decimal!r}")
    if thousands is not None and (
        not isinstance(thousands, str) or len(thousands) != 1 or thousands.isalnum() or thousands == decimal
    ):
        raise UsageError(
            f"thousands must be None or one character other than the decimal mark {decimal!r}, such as ',' or '.'; "
            f"got {thousands!r}"
        )
    path = Path(path)
    where = str(path)
    text = _read_text(path)
    sep = _delimiter(text.lstrip())
    header = _header(text.lstrip(), sep, where)
    try:
        with warnings.catch_warnings():
            # index_col=False: rows with one field more than the header would otherwise shift every column
            # onto the index; pandas then drops extra fields and warns only if they held data -- refuse that.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True, index_col=False,
                             decimal=decimal, thousands=thousands)
    except pd.errors.ParserWarning:
        raise DataError(
            f"{where}: some data rows have more fields than the header's {len(header)}; name every column in the "
            f"header or remove the extra values (quote values that contain {sep!r})"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{where} is not a valid CSV file: {msg}; every row needs the header's number of fields "
            f"(quote values that contain {sep!r})"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    # A trailing delimiter on every line (spreadsheet exports) makes a column with no header and no values.
    df = df.drop(columns=[c for c, h in zip(df.columns, header) if not h and df[c].isna().all()])
    if list(df.columns) != header:  # pandas renames blank headers ("Unnamed: 3"); follow it
        header = list(df.columns)
    if df.shape[0] == 0:
        raise DataError(f"{where} has a header row but no data rows")
    if df.shape[1] < 2:
        raise DataError(
            f"{where} has only one column ({header[0]!r}); need a target and at least one feature column "
            "(is the file comma-separated?)"
        )
    names_all = sanitize_names(header)
    target_col = _resolve(target, header, names_all, "target", where)
    if features is None:
        feat_cols = [c for c in header if c != target_col]
    else:
        if isinstance(features, str):
            features = [features]
        feat_cols = [_resolve(f, header, names_all, "feature", where) for f in features]
        if not feat_cols:
            raise DataError(f"{where}: the feature list is empty; name at least one input column")
        dup = [c for c, k in Counter(feat_cols).items() if k > 1]
        if dup:
            raise DataError(f"{where}: feature column(s) {', '.join(map(repr, dup))} listed twice")
        if target_col in feat_cols:
            raise DataError(f"{where}: column {target_col!r} is the target; remove it from the features")

    # Non-numeric columns: name every one, with an example cell.  Columns of numbers written with ','
    # share one hint (a file may mix "3,5" and "1.234,5"), given only if the user set neither option.
    problems = {c: p for c in [target_col, *feat_cols] if (p := _numeric_problem(df[c])) is not None}
    comma_cells = {c: _comma_numbers(df[c]) for c in problems} if decimal == "." and thousands is None else {}
    comma_cols = {c for c, cells in comma_cells.items() if not cells.empty}
    hint = _separator_hint(pd.concat([comma_cells[c] for c in comma_cols])) if comma_cols else ""
    if target_col in problems:
        pos, value = problems.pop(target_col)
        raise DataError(
            f"{where}: target column {target_col!r} is not numeric (e.g. {value!r} on line {pos + 2}); "
            + (hint if target_col in comma_cols else "choose a numeric target")
        )
    if problems:
        desc = "; ".join(f"{c!r} (e.g. {value!r} on line {pos + 2})" for c, (pos, value) in problems.items())
        numeric = [c for c in feat_cols if c not in problems]
        example = ",".join(numeric[:5]) if numeric else "col1,col2"
        advice = f"choose numeric feature columns with --features (features= in Python), e.g. --features {example!r}"
        n_comma = len(comma_cols & problems.keys())
        raise DataError(
            f"{where}: non-numeric column(s) {desc}; "
            + (hint if n_comma == len(problems) else f"{hint}; otherwise {advice}" if n_comma else advice)
        )

    used = feat_cols + [target_col]
    empty = [c for c in used if df[c].isna().all()]
    if empty:
        raise DataError(
            f"{where}: column(s) {', '.join(map(repr, empty))} have no values; fill them in or leave them out "
            "with --features (features= in Python)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas may warn while coercing object columns
        block = np.column_stack([
            pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan) for c in used
        ])
    finite = np.isfinite(block)
    bad_rows = ~finite.all(axis=1)
    n_total = block.shape[0]
    n_bad = int(bad_rows.sum())
    if n_bad:
        first = int(np.argmax(bad_rows))
        first_col = used[int(np.argmax(~finite[first]))]
        per_col = ", ".join(
            f"{c!r} ({int((~finite[:, k]).sum())})" for k, c in enumerate(used) if (~finite[:, k]).any()
        )
        if on_missing == "error":
            raise DataError(
                f"{where}: {n_bad} of {n_total} rows have missing or infinite values (first on line {first + 2}, "
                f"column {first_col!r}; per column: {per_col}); fill them in, or drop those rows with "
                "--on-missing drop (on_missing='drop' in Python)"
            )
        warnings.warn(
            f"{where}: dropped {n_bad} of {n_total} rows with missing or infinite values "
            f"(per column: {per_col}; first on line {first + 2})",
            DataWarning,
            stacklevel=2,
        )
        block = block[~bad_rows]
    n = block.shape[0]
    if n < MIN_ROWS:
        after = f" after dropping {n_bad} incomplete rows" if n_bad else ""
        raise DataError(f"{where}: only {n} usable rows{after}; need at least {MIN_ROWS} to discover a formula")

    X_all, y = block[:, :-1], block[:, -1]
    if np.ptp(y) == 0:
        raise DataError(
            f"{where}: target column {target_col!r} is constant (every row is {y[0]:g}); there is nothing to explain"
        )
    name_of = dict(zip(header, names_all))
    keep, dropped = _constant_columns(X_all, feat_cols)
    if not keep:
        raise DataError(
            f"{where}: every feature column is constant ({', '.join(map(repr, feat_cols))}); "
            "need at least one varying feature"
        )
    columns = [feat_cols[k] for k in keep]
    names = [name_of[c] for c in columns]
    for col, values in [(c, X_all[:, feat_cols.index(c)]) for c in columns] + [(target_col, y)]:
        _warn_wide_range(values, f"{where}: column {col!r}")
    return Dataset(
        X=np.ascontiguousarray(X_all[:, keep]),
        y=np.ascontiguousarray(y),
        columns=columns,
        names=names,
        target=target_col,
        target_name=name_of[target_col],
        mapping=dict(zip(names, columns)),
        dropped=dropped,
        n_dropped_rows=n_bad,
        source=where,
    )
