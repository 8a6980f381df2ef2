"""Checks at kansr's front doors: arrays, names, finiteness, budgets, tensor conversion.

The CLI, :class:`~kansr.estimator.KANRegressor` and :func:`kansr.discover`
validate their inputs here (generator names in
:func:`kansr.discovery.get_generators`, libraries in
:func:`kansr.symbolic.resolve_library`), so each problem is refused the same
way, with a :class:`~kansr.errors.DataError` (bad data) or
:class:`~kansr.errors.UsageError` (bad argument) whose one-line message says
what is wrong and how to fix it.  scikit-learn's ``utils/validation.py`` is
the model.

Column names become formula variables by :func:`sanitize_names`:
``"T [K]"`` → ``T_K``, ``"1st"`` → ``c_1st``, ``"lambda"`` → ``lambda_``.
Names that are also sympy names (``E``, ``I``, ``N``, ``S``, ``beta``,
``gamma``) stay as they are: kansr builds plain symbols for them (see
:func:`kansr.symbolic.symbol_for`).
"""
from __future__ import annotations

import keyword
import math
import numbers
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from kansr.errors import DataError, DataWarning, UsageError

__all__ = [
    "Dataset",
    "validate_arrays",
    "coerce_xy",
    "check_finite",
    "as_float_tensor",
    "check_names",
    "check_time_budget",
    "check_seed",
    "check_xy",
    "column_names",
    "sanitize_name",
    "sanitize_names",
    "MIN_ROWS",
]

#: Fewest rows (after dropping incomplete ones) a formula is searched on.
MIN_ROWS = 10
# A column whose magnitudes span more decades than this (max vs. 1st percentile
# of |value|) gets a warning: splines on a linear grid cannot resolve it well.
_WIDE_RANGE_DECADES = 8.0


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

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
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
    from kansr.symbolic._safe_expr import (
        FUNCTIONS,  # here: kansr.nn imports this module, kansr.symbolic imports kansr.nn
    )

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
def check_finite(values, what: str, columns: Sequence[str] | None = None) -> None:
    """Raise a DataError naming the first NaN or infinite cell of ``values``.

    Parameters
    ----------
    values : ndarray or torch.Tensor, 1-D or 2-D (rows are samples)
    what : str
        How the message names the array (``"X"``, ``"y"``, ``"X_val"``).
    columns : sequence of str, optional
        Column names of a 2-D array (default: column numbers).
    """
    if isinstance(values, np.ndarray):
        bad = ~np.isfinite(values)
        if not bad.any():
            return
    else:  # a torch tensor: checked where it lives; only a failing mask is copied
        import torch

        bad_t = ~torch.isfinite(values)
        if not bool(bad_t.any()):
            return
        bad = bad_t.cpu().numpy()
    bad_rows = bad.reshape(bad.shape[0], -1).any(axis=1) if bad.ndim else bad
    first = np.argwhere(bad)[0]
    where = f"row {int(first[0])}"
    if bad.ndim == 2:
        col = int(first[1])
        where += f", column {columns[col]!r}" if columns is not None else f", column {col}"
    raise DataError(
        f"{what} has {int(np.sum(bad))} non-finite value(s) (NaN or infinite) in {int(np.sum(bad_rows))} row(s), "
        f"first at {where}; remove or impute those rows first"
    )


def as_float_tensor(values, dtype, name: str):
    """``values`` as a torch tensor of ``dtype`` (tensors are cast, array-likes converted via float64).

    Raises
    ------
    TypeError
        Values that are not numeric; the message names them by ``name``.
    """
    import torch

    if isinstance(values, torch.Tensor):
        return values.to(dtype)
    try:
        return torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric (array-like of floats): {exc}") from None


def check_names(names: Sequence[object] | None, n_features: int) -> list[str]:
    """Variable names for ``n_features`` columns: given ones checked, default ``x0, x1, ...``.

    Raises
    ------
    DataError
        Wrong count, duplicates, or a name that is not a Python identifier.
    """
    if names is None:
        return [f"x{i}" for i in range(n_features)]
    if isinstance(names, str):
        raise DataError(f"names must be a sequence of names, one per column; got the string {names!r}")
    checked = [str(n) for n in names]
    if len(checked) != n_features:
        raise DataError(f"got {len(checked)} names for {n_features} columns")
    dup = [n for n, k in Counter(checked).items() if k > 1]
    if dup:
        raise DataError(f"names must be distinct; {', '.join(map(repr, dup))} given more than once")
    from kansr.symbolic._safe_expr import FUNCTIONS  # here: kansr.symbolic imports this module

    for n in checked:
        if not n.isidentifier():
            raise DataError(
                f"variable name {n!r} is not a valid identifier (letters, digits, _; not starting with a digit); "
                f"kansr.sanitize_names would make it {sanitize_name(n)!r}"
            )
        # A keyword or a formula function could not be read back (x_, _t are fine: sanitize_name
        # would strip their underscores, but as names they are unambiguous).
        if keyword.iskeyword(n) or n in FUNCTIONS:
            what = "a Python keyword" if keyword.iskeyword(n) else "the name of a formula function"
            raise DataError(f"variable name {n!r} is {what}; use another name, e.g. {sanitize_name(n)!r}")
    return checked


def column_names(X) -> list[str] | None:
    """Variable names from the columns of a DataFrame-like ``X`` (sanitised), or None for plain arrays."""
    columns = getattr(X, "columns", None)
    return None if columns is None else sanitize_names(list(columns))


def check_time_budget(seconds: float | None) -> float | None:
    """A positive number of seconds, or ``None`` for no limit (``inf`` means the same); else a UsageError."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real):
        raise UsageError(f"time_budget must be a number of seconds or None; got {seconds!r}")
    value = float(seconds)
    if value == math.inf:
        return None
    if not value > 0:  # also refuses NaN
        raise UsageError(f"time_budget must be a positive number of seconds (inf or None: no limit); got {seconds!r}")
    return value


#: Seeds in [0, SEED_RANGE) are used as given; any other integer is reduced into it.
SEED_RANGE = 2**32


def check_seed(seed: object) -> int:
    """An integer seed in ``[0, 2**32)``: any integer is accepted, others are a UsageError.

    Negative or huge integers (``-1``, ``2**64``) are reduced with numpy's
    :class:`~numpy.random.SeedSequence`, so distinct integers give distinct,
    reproducible streams instead of overflowing a generator.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise UsageError(f"seed must be an integer; got {seed!r}")
    value = int(seed)
    if 0 <= value < SEED_RANGE:
        return value
    # SeedSequence takes non-negative integers of any size: fold the sign in (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...).
    folded = 2 * value if value >= 0 else -2 * value - 1
    return int(np.random.SeedSequence(folded).generate_state(1)[0])


def check_xy(X, y, names: Sequence[object] | None = None, *, min_rows: int = MIN_ROWS):
    """Arrays and names for :func:`kansr.discover`: float64 ``(n, d)`` and ``(n,)``, finite, enough rows.

    Returns
    -------
    X, y, names
    """
    if names is None:
        names = column_names(X)
    X, y = coerce_xy(X, y)
    names = check_names(names, X.shape[1])
    if len(y) < min_rows:
        raise DataError(f"need at least {min_rows} samples to discover a formula; got {len(y)}")
    check_finite(X, "X", names)
    check_finite(y, "y")
    return X, y, names


def coerce_xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    """X as a float64 (n, d) array and y as a float64 (n,) array, or a DataError saying what is wrong."""
    for what, values in (("X", X), ("y", y)):
        if _is_complex(values):  # np.asarray(float) would drop the imaginary part with only a warning
            raise DataError(f"{what} is complex; kansr fits real-valued data: pass the real part, the "
                            "magnitude or both parts as separate columns")
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


def _is_complex(values) -> bool:
    dtypes = getattr(values, "dtypes", None)  # a DataFrame: one dtype per column
    if dtypes is not None and not hasattr(dtypes, "__iter__"):  # a Series: one dtype
        dtypes = [dtypes]
    if dtypes is None:
        dtype = getattr(values, "dtype", None)
        dtypes = [np.asarray(values).dtype if dtype is None else dtype]
    # numpy dtypes have kind "c"; torch dtypes say is_complex; pandas extension dtypes neither.
    return any(getattr(d, "kind", None) == "c" or getattr(d, "is_complex", False) is True for d in dtypes)


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
    check_finite(X, "X", columns)
    check_finite(y, "y")
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
