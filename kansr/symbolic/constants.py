"""Refitting a formula's constants on data, and snapping them to simple values.

A formula's structure comes from the network; its constants are best
re-estimated directly on the data (nonlinear least squares in float64), and
then replaced one by one by nearby simple values (integers, small fractions,
multiples of pi) — each replacement kept only if the error on the data does
not rise.  This is what turns ``0.99987*x0**2.00012`` into ``x0**2``.
"""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np
import sympy
from scipy.optimize import least_squares

from .formula import nice_value

__all__ = ["parametrize", "refit_constants", "snap_constants", "rmse_on"]


def parametrize(expr: sympy.Expr) -> tuple[sympy.Expr, list[sympy.Symbol], np.ndarray]:
    """Replace every float constant by a parameter symbol ``_p0, _p1, ...``.

    Returns
    -------
    template : sympy.Expr
    params : list of sympy.Symbol
    values : ndarray
        The constants' current values, in the order of ``params``.
    """
    floats = sorted(expr.atoms(sympy.Float), key=lambda f: (float(f), str(f)))
    params = [sympy.Symbol(f"_p{k}") for k in range(len(floats))]
    return expr.xreplace(dict(zip(floats, params))), params, np.array([float(f) for f in floats])


def _compile(template: sympy.Expr, variables: Sequence[sympy.Symbol], params: Sequence[sympy.Symbol]):
    fn = sympy.lambdify(list(variables) + list(params), template, modules="numpy")

    def evaluate(X: np.ndarray, theta: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = fn(*[X[:, k] for k in range(X.shape[1])], *theta)
        out = np.asarray(out)
        if np.iscomplexobj(out):
            out = np.where(np.abs(out.imag) > 1e-12, np.nan, out.real)
        return np.broadcast_to(out.astype(float), (X.shape[0],))

    return evaluate


def rmse_on(expr: sympy.Expr, variables: Sequence[sympy.Symbol], X: np.ndarray, y: np.ndarray) -> float:
    """Root mean squared error of ``expr`` on (X, y); inf if it is not finite there."""
    pred = _compile(expr, variables, [])(X, np.zeros(0))
    if not np.all(np.isfinite(pred)):
        return math.inf
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def refit_constants(
    expr: sympy.Expr,
    variables: Sequence[sympy.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    max_nfev: int = 200,
) -> tuple[sympy.Expr, float]:
    """Re-estimate every float constant of ``expr`` by least squares on (X, y).

    Returns the refitted expression and its RMSE (the original expression if
    the refit does not improve it).
    """
    base_rmse = rmse_on(expr, variables, X, y)
    template, params, theta0 = parametrize(expr)
    if not params:
        return expr, base_rmse
    evaluate = _compile(template, variables, params)

    def residual(theta: np.ndarray) -> np.ndarray:
        r = evaluate(X, theta) - y
        return np.where(np.isfinite(r), r, 1e6)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            method = "lm" if len(y) >= len(params) else "trf"
            sol = least_squares(residual, theta0, method=method, max_nfev=max_nfev * (len(params) + 1))
    except Exception:  # a degenerate Jacobian etc.: keep what we had
        return expr, base_rmse
    fitted = template.xreplace({p: sympy.Float(float(v), 17) for p, v in zip(params, sol.x)})
    new_rmse = rmse_on(fitted, variables, X, y)
    if new_rmse <= base_rmse:
        return fitted, new_rmse
    return expr, base_rmse


def _candidates(v: float) -> list[sympy.Expr]:
    """Simple values near ``v``, simplest first."""
    out: list[sympy.Expr] = []
    for tol in (1e-6, 1e-3, 1e-2, 5e-2):
        nice = nice_value(v, rel_tol=tol, max_denominator=12 if tol <= 1e-3 else 6)
        if nice is not None and all(nice != o for o in out):
            out.append(nice)
    r = round(v)
    if r != 0 and abs(r - v) <= 0.25 * max(abs(v), 1) and all(sympy.Integer(r) != o for o in out):
        out.append(sympy.Integer(r))
    return out


def snap_constants(
    expr: sympy.Expr,
    variables: Sequence[sympy.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    rel_slack: float = 0.05,
    abs_floor: float | None = None,
    max_constants: int = 20,
) -> sympy.Expr:
    """Replace constants by simple exact values while the fit allows it.

    Constants are tried one at a time (exact-looking ones first).  A
    replacement is kept if, after refitting the remaining constants, the
    RMSE on (X, y) stays within ``(1 + rel_slack)`` of the starting RMSE plus
    ``abs_floor`` (default ``1e-7 * std(y)``, the round-off level).  A
    constant that can be dropped (set to 0) is dropped.

    Returns
    -------
    sympy.Expr
    """
    floor = abs_floor if abs_floor is not None else 1e-7 * float(np.std(y) or 1.0)
    start = rmse_on(expr, variables, X, y)
    if not math.isfinite(start):
        return expr
    limit = start * (1 + rel_slack) + floor
    current = expr
    tried: set[float] = set()
    for _ in range(max_constants):
        floats = [f for f in current.atoms(sympy.Float) if float(f) not in tried]
        if not floats:
            break
        # Closest to a simple value first: those are the likeliest exact constants.
        def distance(f: sympy.Float) -> float:
            c = _candidates(float(f))
            return min((abs(float(v) - float(f)) / max(abs(float(f)), 1e-12) for v in c), default=math.inf)

        f = min(floats, key=distance)
        tried.add(float(f))
        for value in [sympy.Integer(0)] + _candidates(float(f)):
            trial = current.xreplace({f: value})
            if trial.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
                continue
            refit, err = refit_constants(trial, variables, X, y, max_nfev=50)
            if err <= limit:
                current = refit
                break
    return current
