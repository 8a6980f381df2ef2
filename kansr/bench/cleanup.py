"""Tidy a formula found by another tool before it is checked for exact recovery.

kansr snaps its own constants while it searches; a formula from another
symbolic-regression tool (fitted in float32, as Operon does) arrives with
round-off in it: ``1.0000001*theta - 1.3e-7``. :func:`clean_formula` gives such
a formula the same finishing kansr's formulas get, without refitting:
near-integer and near-simple constants become exact, and additive terms too
small to matter on the data are dropped, at every level of the expression
(``sin(theta + 2e-9)`` too). Benchmark comparisons then judge the structure
each tool found, not its last digits.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import sympy

from kansr.symbolic._formula import drop_small_terms, rationalize_constants, round_constants
from kansr.symbolic._safe_expr import symbol_for

__all__ = ["clean_formula"]

_MAX_ROWS = 2000  # rows used to judge term sizes; more only cost time


def clean_formula(
    expr: sympy.Expr,
    names: Sequence[str],
    X: np.ndarray,
    *,
    rel_tol: float = 1e-5,
    small: float = 1e-4,
    digits: int = 8,
) -> sympy.Expr:
    """Make near-exact constants exact and drop round-off terms.

    Parameters
    ----------
    expr : sympy.Expr
        Formula over symbols named as `names` (any assumptions; they are
        replaced by :func:`~kansr.symbolic.symbol_for` symbols).
    names : sequence of str
        Column names of `X`.
    X : ndarray of shape (n, d)
        Inputs on which term sizes are judged (the training inputs).
    rel_tol : float, default 1e-5
        Constants within this relative distance of a simple value (an
        integer, a fraction with denominator <= 12, possibly times pi or
        sqrt(2) ...; see :func:`~kansr.symbolic.nice_value`) become that
        value. float32 fits are good to about 1e-6 relative; 1e-5 leaves
        room for the optimiser's own tolerance.
    small : float, default 1e-4
        An additive term whose largest value on `X` is below ``small`` times
        the spread of its sum is dropped (:func:`~kansr.symbolic._formula.drop_small_terms`,
        applied to every sum in the expression, innermost first).
    digits : int, default 8
        Significant digits kept of the constants left (display only: the
        SRBench check rounds to 3 decimals anyway).

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> import numpy as np, sympy
    >>> from kansr.symbolic import symbol_for
    >>> theta = symbol_for("theta")
    >>> X = np.linspace(0.5, 2.0, 50)[:, None]
    >>> clean_formula(sympy.Float(1.0000000001) * theta - sympy.Float(1.3e-9), ["theta"], X)
    theta
    >>> a, b = sympy.Float(0.64499956), sympy.Float(1.5503886)  # only their product is simple
    >>> clean_formula(a * theta * (b * theta + b), ["theta"], X)
    theta**2 + theta
    """
    names = list(names)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X must have shape (n, {len(names)}) to match names {names}, got {X.shape}")
    if len(X) > _MAX_ROWS:
        X = X[np.linspace(0, len(X) - 1, _MAX_ROWS).astype(int)]
    symbols = [symbol_for(name) for name in names]
    by_name = {s.name: s for s in symbols}
    expr = expr.xreplace({s: by_name[s.name] for s in expr.free_symbols if getattr(s, "name", None) in by_name})
    expr = rationalize_constants(expr, rel_tol=1e-12, max_denominator=1)  # 2.0 -> 2, x**1.0 -> x
    expr = _merge_numeric_factors(expr)
    expr = _drop_everywhere(expr, symbols, X, small)
    expr = rationalize_constants(expr, rel_tol=rel_tol, max_denominator=12)
    # Dropping or snapping can leave new round-off sums (c*x - c*x after snapping): one more pass.
    expr = _drop_everywhere(expr, symbols, X, small)
    return round_constants(expr, digits)


def _count_floats(expr: sympy.Expr) -> int:
    return sum(1 for a in sympy.preorder_traversal(expr) if isinstance(a, sympy.Float))


def _merge_numeric_factors(expr: sympy.Expr, max_ops: int = 300) -> sympy.Expr:
    """Distribute products over sums where that merges constants: ``-0.645*p*(1.5504*p - 1.5504*q*r)`` -> ``-p**2 + p*q*r``.

    A genetic search leaves one constant split over several factors; only
    their product is near-simple.  The expanded form is kept when it holds
    fewer floating-point constants (an exact rewrite: the check judges the
    same function either way).
    """
    if sympy.count_ops(expr) > max_ops:
        return expr
    expanded = sympy.expand_mul(expr)
    return expanded if _count_floats(expanded) < _count_floats(expr) else expr


def _drop_everywhere(expr: sympy.Expr, symbols: list[sympy.Symbol], X: np.ndarray, small: float) -> sympy.Expr:
    """Apply :func:`drop_small_terms` to every sum, innermost first."""
    if not expr.args or not expr.free_symbols:
        return expr
    args = [_drop_everywhere(a, symbols, X, small) for a in expr.args]
    expr = expr.func(*args) if any(a is not b for a, b in zip(args, expr.args)) else expr
    if isinstance(expr, sympy.Add) and _finite_on(expr, symbols, X):
        # drop_small_terms sees NaN spreads as "every term is small": only call it on finite sums.
        expr = drop_small_terms(expr, symbols, X, threshold=small)
    return expr


def _finite_on(expr: sympy.Expr, symbols: list[sympy.Symbol], X: np.ndarray) -> bool:
    try:
        fn = sympy.lambdify(symbols, expr, modules="numpy")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.asarray(fn(*X.T))
    except Exception:  # an expression numpy cannot evaluate is left as it is
        return False
    return bool(np.isrealobj(values) and np.all(np.isfinite(values)))
