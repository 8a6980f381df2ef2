"""A scikit-learn regressor whose fitted model is a closed-form formula.

:class:`KANRegressor` wraps :func:`kansr.discovery.discover` in the
scikit-learn estimator contract: parameters are only stored by
``__init__``, ``fit`` validates its input with
:func:`sklearn.utils.validation.validate_data` and sets attributes ending in
``_``, and ``predict`` evaluates the discovered formula.  It works in
``Pipeline``, ``GridSearchCV`` and with ``pickle``.
"""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import sympy
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from kansr._validation import sanitize_names, validate_arrays
from kansr.errors import DomainWarning, UsageError
from kansr.symbolic._formula import Formula
from kansr.symbolic._safe_expr import symbol_for

__all__ = ["KANRegressor"]

# Columns of ``equations_`` (the Pareto front), in this order.
_TABLE_COLUMNS = ["complexity", "val_rmse", "val_r2", "formula", "source"]


class KANRegressor(RegressorMixin, BaseEstimator):
    """Symbolic regression with Kolmogorov-Arnold Networks, as a scikit-learn estimator.

    ``fit`` searches for a closed-form formula ``y = f(X)`` with
    :func:`kansr.discovery.discover`; ``predict`` evaluates it.

    Parameters
    ----------
    time_budget : float or None, default=60.0
        Seconds the search may spend; structure generators that would start
        later are skipped (a generator already running finishes).  ``None``
        for no limit.  Results are reproducible for a fixed ``random_state``
        as long as the budget does not cut the search short.
    generators : sequence of str or None, default=None
        Structure generators to run (see :data:`kansr.discovery.GENERATORS`);
        ``None`` runs all of them.  ``("linear", "power_law", "additive")``
        is a fast choice.
    library : sequence of str or None, default=None
        Functions for snapping KAN edges (e.g. ``["x", "x^2", "sin"]``);
        ``None`` uses the whole library.
    random_state : int, RandomState instance or None, default=None
        Seed of the internal train/validation split and of every network.
        An int is used as the seed directly (``random_state=0`` matches
        ``discover(..., seed=0)`` and ``kansr discover --seed 0``).
    progress : bool, default=False
        Show a progress bar over the generators.
    units : mapping of str to str or None, default=None
        The unit of every input column, keyed by DataFrame column name (or
        its variable name, ``x0, x1, ...`` for arrays): ``{"m": "kg", "v":
        "m/s"}``, ``"1"`` for pure numbers.  With ``y_units`` the search
        reduces the inputs to dimensionless groups and ranks dimensionally
        consistent formulas first (see :func:`kansr.discovery.discover`).
    y_units : str or None, default=None
        The target's unit; required with ``units``.

    Attributes
    ----------
    formula_ : sympy.Expr
        The chosen formula, in the variable names ``variable_names_``.
    equations_ : pandas.DataFrame
        The Pareto front: ``complexity``, ``val_rmse``, ``val_r2``,
        ``formula`` (sympy expressions), ``source``; simplest first.
    result_ : kansr.discovery.DiscoveryResult
        Everything the search produced (candidates, the trained KAN, log).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    variable_names_ : list of str
        The symbol of each input column: sanitised column names
        (``"T [K]"`` → ``T_K``) or ``x0, x1, ...`` for arrays.
    dropped_features_ : list of str
        Input columns the formula does not use (constant or irrelevant).

    Notes
    -----
    **Predictions outside the formula's domain.**  A formula such as
    ``log(x0)`` or ``1/(x1 - 2)`` is undefined for some inputs.  ``predict``
    returns NaN (or ±inf) exactly there and emits one
    :class:`~kansr.errors.DomainWarning` per call stating how many rows are
    affected; it never substitutes another model's values, so every finite
    prediction is the formula's.  Candidates are only accepted when finite
    on all training and validation rows, so this happens only when
    extrapolating.  Use ``np.nan_to_num`` or a fallback model downstream if a
    pipeline needs finite values everywhere.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(1, 2, size=(200, 2))
    >>> est = KANRegressor(time_budget=10, generators=("linear", "power_law"), random_state=0)
    >>> est.fit(X, 3 * X[:, 0] * X[:, 1] ** 2).sympy()
    3*x0*x1**2
    """

    def __init__(
        self,
        *,
        time_budget: float | None = 60.0,
        generators: Sequence[str] | None = None,
        library: Sequence[str] | None = None,
        random_state: int | np.random.RandomState | None = None,
        progress: bool = False,
        units: Mapping[str, str] | None = None,
        y_units: str | None = None,
    ) -> None:
        self.time_budget = time_budget
        self.generators = generators
        self.library = library
        self.random_state = random_state
        self.progress = progress
        self.units = units
        self.y_units = y_units

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> tuple[float | None, tuple[str, ...]]:
        from kansr._validation import check_time_budget
        from kansr.discovery import GENERATORS, get_generators
        from kansr.symbolic import resolve_library

        budget = check_time_budget(self.time_budget)
        names = GENERATORS if self.generators is None else self.generators
        generators = tuple(g.name for g in get_generators(names))
        if self.library is not None:
            if isinstance(self.library, str):
                raise UsageError(f"library must be a sequence of function names; got the string {self.library!r}")
            resolve_library(self.library)  # raises on unknown names and bad entries
        return budget, generators

    def _seed(self) -> int:
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _column_units(self, ds) -> tuple[dict[str, str] | None, str | None]:
        """``units`` keyed by the kept columns' variable names (units of dropped constant columns ignored)."""
        from kansr.discovery._units import check_unit_arguments
        from kansr.units import resolve_column_units

        if not check_unit_arguments(self.units, self.y_units):
            return None, None
        got = resolve_column_units(ds.columns, ds.names, "(target)", given=dict(self.units or {}),
                                   target_unit=self.y_units, read_headers=False, dropped=list(ds.dropped))
        return got.units, got.y_units

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X, y) -> KANRegressor:
        """Search for a formula ``y = f(X)``.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_samples, n_features)
            At least 10 samples.  DataFrame column names become variable
            names (sanitised, see :func:`kansr._validation.sanitize_names`).
        y : array-like, shape (n_samples,)

        Returns
        -------
        self
        """
        from kansr.discovery import discover

        budget, generators = self._check_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        columns = [str(c) for c in getattr(self, "feature_names_in_", [])] or [f"x{k}" for k in range(X.shape[1])]
        ds = validate_arrays(X, y, columns, allow_constant_target=True)
        units, y_units = self._column_units(ds)
        seed = self._seed()
        with warnings.catch_warnings():
            # Internal tensor-to-float conversions in the symbolic step; not the caller's concern.
            warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad", category=UserWarning)
            result = discover(
                ds.X, ds.y, ds.names, seed=seed, time_budget=budget, generators=generators,
                library=None if self.library is None else list(self.library), progress=bool(self.progress),
                units=units, y_units=y_units,
            )
        self.variable_names_ = sanitize_names(columns)
        self.result_ = result
        self.formula_ = result.formula.expr
        self.equations_ = pd.DataFrame(
            [{**row, "formula": c.formula.expr} for row, c in zip(result.pareto_table(), result.pareto)],
            columns=_TABLE_COLUMNS + (["dimensions"] if result.units is not None else []),
        )
        used = set(result.formula.used_variables)
        self.dropped_features_ = [c for c, n in zip(columns, self.variable_names_) if n not in used]
        self._formula = Formula(self.formula_, [symbol_for(n) for n in self.variable_names_])
        return self

    def predict(self, X) -> np.ndarray:
        """Evaluate the formula.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_samples, n_features_in_)

        Returns
        -------
        ndarray of float64, shape (n_samples,)
            NaN/inf where the formula is undefined (see the class Notes).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        pred = self._formula(X)
        bad = ~np.isfinite(pred)
        if bad.any():
            warnings.warn(
                f"the formula {self.formula_} is undefined or overflows on {int(bad.sum())} of {len(pred)} rows "
                f"(first: row {int(np.argmax(bad))}); those predictions are NaN/inf",
                DomainWarning,
                stacklevel=2,
            )
        return pred

    # ------------------------------------------------------------------ formulas
    def sympy(self, index: int | None = None) -> sympy.Expr:
        """The chosen formula, or row ``index`` of :attr:`equations_` (the Pareto front).

        Parameters
        ----------
        index : int, optional
            Position in the Pareto table (0 = simplest); negative counts from
            the end (``-1`` = most accurate).
        """
        check_is_fitted(self)
        if index is None:
            return self.formula_
        n = len(self.equations_)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not -n <= index < n:
            raise IndexError(f"index must be an integer in [{-n}, {n - 1}] (rows of equations_); got {index!r}")
        return self.equations_["formula"].iloc[int(index)]

    def latex(self, index: int | None = None) -> str:
        """LaTeX of :meth:`sympy` ``(index)``."""
        return sympy.latex(self.sympy(index))

    # ------------------------------------------------------------------ scikit-learn plumbing
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        return tags
