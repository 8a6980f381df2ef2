"""Loading and validating tabular data for the front doors (CLI, estimator, notebooks).

:func:`load_csv` reads a CSV file with pandas and returns a :class:`Dataset`:
float64 arrays, the original column names and the variable (symbol) names
used in formulas.  :func:`validate_arrays` applies the same checks to arrays
(the scikit-learn estimator uses it).  Every problem raises a
:class:`~kansr.errors.DataError` (a ``ValueError``) with a one-line message
naming the file, column or row and saying how to fix it.

Column names become formula variables by :func:`sanitize_names`:
``"T [K]"`` → ``T_K``, ``"1st"`` → ``c_1st``, ``"lambda"`` → ``lambda_``.
Names that are also sympy names (``E``, ``I``, ``N``, ``S``, ``beta``,
``gamma``) stay as they are: kansr builds plain symbols for them (see
:func:`kansr.safe_expr.symbol_for`).

Rows are reported by their *line* in the file (the header is line 1), which
is also their row number in a spreadsheet.
"""
from __future__ import annotations

import csv
import difflib
import io
import keyword
import math
import os
import re
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning
from .safe_expr import FUNCTIONS

__all__ = [
    "Dataset",
    "load_csv",
    "validate_arrays",
    "sanitize_name",
    "sanitize_names",
    "example_path",
    "MIN_ROWS",
]

#: Fewest rows (after dropping incomplete ones) a formula is searched on.
MIN_ROWS = 10
# A column whose magnitudes span more decades than this (max vs. 1st percentile
# of |value|) gets a warning: splines on a linear grid cannot resolve it well.
_WIDE_RANGE_DECADES = 8.0
# Bytes inspected to tell text from binary files.
_SNIFF_BYTES = 8192


@dataclass
class Dataset:
    """Validated numeric data with variable names.

    Attributes
    ----------
    X : ndarray of float64, shape (n_samples, n_features)
        The kept feature columns (constant columns are removed).
    y : ndarray of float64, shape (n_samples,)
    columns : list of str
        Original names of the kept feature columns, in ``X`` order.
    names : list of str
        Variable names of those columns (valid, distinct Python identifiers).
    target : str
        Original name of the target column.
    target_name : str
        Variable name of the target.
    mapping : dict
        Variable name → original column name, for the kept features.
    dropped : dict
        Original column name → reason, for feature columns that were removed.
    n_dropped_rows : int
        Rows removed because of missing or infinite values.
    source : str or None
        The file the data came from.
    """

    X: np.ndarray
    y: np.ndarray
    columns: list[str]
    names: list[str]
    target: str = "y"
    target_name: str = "y"
    mapping: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    n_dropped_rows: int = 0
    source: str | None = None

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple["Dataset", "Dataset"]:
        """Random train/test split of the rows.

        Parameters
        ----------
        test_fraction : float
            Share of rows held out, in ``[0, 1)``.
        seed : int
            Seed of the permutation.

        Returns
        -------
        train, test : Dataset
            Same columns and names; ``test`` may have no rows when
            ``test_fraction`` is 0.
        """
        if not 0.0 <= test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1); got {test_fraction!r}")
        perm = np.random.default_rng(seed).permutation(self.n_samples)
        n_test = int(round(test_fraction * self.n_samples))
        test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        return (
            replace(self, X=self.X[train], y=self.y[train]),
            replace(self, X=self.X[test], y=self.y[test]),
        )


# ----------------------------------------------------------------------------- names
def sanitize_name(column: object, position: int = 0) -> str:
    """Turn one column name into a valid variable name.

    Parameters
    ----------
    column : object
        The column name (converted with ``str``).
    position : int
        Column position, used for names with no usable character (``col3``).

    Returns
    -------
    str
        A Python identifier: characters that cannot appear in one become
        ``_`` (runs collapsed, ends stripped); a leading digit gets ``c_``;
        Python keywords and the formula functions (``sin``, ``log``, ...)
        get a trailing ``_``.

    Examples
    --------
    >>> sanitize_name("T [K]"), sanitize_name("1st"), sanitize_name("lambda")
    ('T_K', 'c_1st', 'lambda_')
    """
    # NFKC is how Python itself normalises identifiers (e.g. "x²" -> "x2").
    text = unicodedata.normalize("NFKC", str(column)).strip()
    name = "".join(c if ("_" + c).isidentifier() else "_" for c in text)
    name = re.sub(r"_+", "_", name).strip("_")
    if not name:
        return f"col{position}"
    if name[0].isdigit():
        name = "c_" + name
    # Keywords cannot be parsed back; function names would be read as calls.
    if keyword.iskeyword(name) or name in FUNCTIONS:
        name += "_"
    return name


def sanitize_names(columns: Sequence[object]) -> list[str]:
    """Distinct variable names for a list of column names.

    Each name is made valid by :func:`sanitize_name`; when several columns
    map to the same name the first keeps it and the others get ``_2``,
    ``_3``, ... (skipping names already taken by other columns).

    Examples
    --------
    >>> sanitize_names(["T [K]", "T(K)", "x"])
    ['T_K', 'T_K_2', 'x']
    """
    base = [sanitize_name(c, k) for k, c in enumerate(columns)]
    taken = set(base)
    seen: set[str] = set()
    out = []
    for name in base:
        if name in seen:
            k = 2
            while f"{name}_{k}" in taken:
                k += 1
            new = f"{name}_{k}"
            taken.add(new)
            out.append(new)
        else:
            seen.add(name)
            out.append(name)
    return out


def example_path() -> Path:
    """Path of the bundled example CSV (``m [kg]``, ``v [m/s]``, ``noise_col`` → ``E [J]``)."""
    return Path(__file__).resolve().parent / "data" / "example.csv"


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
    if not raw.strip():
        raise DataError(f"{where} is empty; expected a CSV file with a header row and data rows")
    if b"\x00" in raw[:_SNIFF_BYTES]:
        raise DataError(
            f"{where} looks like a binary file, not a CSV; export the data as comma-separated text with a header row"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where} is not UTF-8 text (invalid byte at offset {exc.start}); save it as a UTF-8 CSV"
        ) from None


def _delimiter(first_line: str) -> str:
    """Comma, unless the header has none and another common separator instead."""
    if "," in first_line:
        return ","
    for sep in (";", "\t", "|"):
        if sep in first_line:
            return sep
    return ","


def _header(text: str, sep: str, where: str) -> list[str]:
    try:
        row = next(csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True))
    except (csv.Error, StopIteration) as exc:
        raise DataError(f"{where}: cannot read the header row ({exc}); is this a CSV file?") from None
    names = [c.strip() for c in row]
    dup = [n for n, k in Counter(names).items() if k > 1]
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


def load_csv(
    path: str | os.PathLike,
    target: str,
    features: Sequence[str] | None = None,
    on_missing: str = "drop",
) -> Dataset:
    """Read and validate a CSV file for formula discovery.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 CSV file with a header row.  Comma-separated, or ``;``/tab/``|``
        when the header contains no comma.
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

    Returns
    -------
    Dataset
        Constant feature columns are removed and listed in ``dropped``.

    Raises
    ------
    DataError
        Missing, empty, binary or unparseable file; duplicate headers; an
        unknown target or feature column; non-numeric used columns; missing
        values with ``on_missing="error"``; fewer than :data:`MIN_ROWS`
        usable rows; a constant target; no varying feature.

    Warns
    -----
    DataWarning
        Rows dropped for missing values; a column spanning many orders of
        magnitude.
    """
    if on_missing not in ("drop", "error"):
        raise DataError(f"on_missing must be 'drop' or 'error'; got {on_missing!r}")
    path = Path(path)
    where = str(path)
    text = _read_text(path)
    sep = _delimiter(text.lstrip().splitlines()[0])
    header = _header(text.lstrip(), sep, where)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{where} is not a valid CSV file: {msg}; every row needs the header's number of fields") from None
    df.columns = [str(c).strip() for c in df.columns]
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

    # Non-numeric columns: name every one, with an example cell.
    tgt_problem = _numeric_problem(df[target_col])
    if tgt_problem is not None:
        pos, value = tgt_problem
        raise DataError(
            f"{where}: target column {target_col!r} is not numeric (e.g. {value!r} on line {pos + 2}); "
            "choose a numeric target"
        )
    bad = []
    for col in feat_cols:
        problem = _numeric_problem(df[col])
        if problem is not None:
            bad.append(f"{col!r} (e.g. {problem[1]!r} on line {problem[0] + 2})")
    if bad:
        numeric = [c for c in feat_cols if _numeric_problem(df[c]) is None]
        example = ",".join(numeric[:5]) if numeric else "col1,col2"
        raise DataError(
            f"{where}: non-numeric column(s) {'; '.join(bad)}; choose numeric feature columns with "
            f"--features (features= in Python), e.g. --features {example!r}"
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


def _constant_columns(X: np.ndarray, columns: Sequence[str]) -> tuple[list[int], dict[str, str]]:
    """Indices of varying columns, and the constant ones with their reason."""
    keep, dropped = [], {}
    for k, col in enumerate(columns):
        if X.shape[0] and np.ptp(X[:, k]) == 0:
            dropped[str(col)] = f"constant (every row is {X[0, k]:g})"
        else:
            keep.append(k)
    return keep, dropped


def _warn_wide_range(values: np.ndarray, what: str) -> None:
    mag = np.abs(values[values != 0])
    if mag.size < 2:
        return
    low, high = float(np.quantile(mag, 0.01)), float(mag.max())
    if low > 0 and math.log10(high / low) > _WIDE_RANGE_DECADES:
        warnings.warn(
            f"{what} spans about {math.log10(high / low):.0f} orders of magnitude ({low:.3g} to {high:.3g}); "
            "consider rescaling it or using its logarithm",
            DataWarning,
            stacklevel=3,
        )


# ----------------------------------------------------------------------------- arrays
def coerce_xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    """X as a float64 (n, d) array and y as a float64 (n,) array, or a DataError saying what is wrong."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"X must be numeric (floats or ints): {exc}") from None
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"y must be numeric (floats or ints): {exc}") from None
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise DataError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"y must be 1-D (one target per sample); got shape {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; pass one target value per row")
    return X, y


def validate_arrays(
    X,
    y,
    feature_names: Sequence[object] | None = None,
    *,
    allow_constant_target: bool = False,
    min_rows: int = MIN_ROWS,
) -> Dataset:
    """Check arrays for formula discovery and name their columns.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
        A 1-D array is one feature.
    y : array-like, shape (n_samples,) or (n_samples, 1)
    feature_names : sequence, optional
        Column names (made into variable names by :func:`sanitize_names`);
        default ``x0, x1, ...``.
    allow_constant_target : bool
        Accept a constant ``y`` (its formula is that constant) instead of
        raising.
    min_rows : int
        Fewest samples accepted.

    Returns
    -------
    Dataset
        Constant feature columns are removed from ``X`` and listed in
        ``dropped``; ``names`` are the variable names of the kept columns,
        sanitised over all columns so they do not depend on which are kept.

    Raises
    ------
    DataError
        Non-numeric or non-finite values, mismatched lengths, wrong shapes,
        duplicate names, too few samples, a constant target (unless allowed),
        no varying feature.
    """
    X, y = coerce_xy(X, y)
    if X.shape[1] == 0:
        raise DataError(f"X has 0 feature(s) (shape={X.shape}); need at least one input column")
    if feature_names is None:
        columns = [f"x{k}" for k in range(X.shape[1])]
    else:
        columns = [str(c) for c in feature_names]
        if len(columns) != X.shape[1]:
            raise DataError(f"got {len(columns)} feature names for {X.shape[1]} columns of X")
        dup = [c for c, k in Counter(columns).items() if k > 1]
        if dup:
            raise DataError(f"duplicate feature name(s) {', '.join(map(repr, dup))}; give each column a unique name")
    for what, arr in (("X", X), ("y", y)):
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            col = f", column {columns[int(np.argwhere(bad)[0][1])]!r}" if arr.ndim == 2 else ""
            raise DataError(
                f"{what} has {int(bad.any(axis=-1).sum() if arr.ndim == 2 else bad.sum())} row(s) with NaN or "
                f"infinite values (first at row {row}{col}); remove or impute them first"
            )
    n = X.shape[0]
    if n < min_rows:
        raise DataError(f"need at least {min_rows} samples to discover a formula; got {n} sample{'s' if n != 1 else ''}")
    if not allow_constant_target and np.ptp(y) == 0:
        raise DataError(f"y is constant (every value is {y[0]:g}); there is nothing to explain")
    names_all = sanitize_names(columns)
    keep, dropped = _constant_columns(X, columns)
    if not keep:
        raise DataError(f"every feature is constant ({', '.join(map(repr, columns))}); need at least one varying feature")
    kept_cols = [columns[k] for k in keep]
    kept_names = [names_all[k] for k in keep]
    return Dataset(
        X=np.ascontiguousarray(X[:, keep]),
        y=np.ascontiguousarray(y),
        columns=kept_cols,
        names=kept_names,
        mapping=dict(zip(kept_names, kept_cols)),
        dropped=dropped,
    )
