"""Refitting a formula's constants on data, and snapping them to simple values.

A formula's structure comes from the network; its constants are best
re-estimated directly on the data (nonlinear least squares in float64), and
then replaced one by one by nearby simple values (integers, small fractions,
multiples of pi) — each replacement kept only if the error on the data does
not rise.  This is what turns ``0.99987*x0**2.00012`` into ``x0**2``.
"""
from __future__ import annotations

import functools
import math
import threading
import time
import warnings
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import sympy
from scipy.optimize import least_squares
from threadpoolctl import threadpool_limits

from kansr.symbolic._formula import nice_value

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


class _OutOfTime(Exception):
    pass


def _refit(template, params, theta0, variables, X, y, max_nfev: int,
           deadline: float | None = None) -> tuple[np.ndarray, float]:
    """Least-squares values of ``params`` in ``template`` and the RMSE they give.

    With ``deadline`` (a ``time.perf_counter`` value) the search stops there
    and the best parameters evaluated so far are kept.
    """
    evaluate = _compile(template, variables, params)

    def rmse(theta: np.ndarray) -> float:
        pred = evaluate(X, theta)
        return float(np.sqrt(np.mean((pred - y) ** 2))) if np.all(np.isfinite(pred)) else math.inf

    base = rmse(theta0)
    if not params:
        return theta0, base
    best = [base, np.asarray(theta0, dtype=float)]

    def residual(theta: np.ndarray) -> np.ndarray:
        r = evaluate(X, theta) - y
        if np.all(np.isfinite(r)):
            err = float(np.sqrt(np.mean(r ** 2)))
            if err < best[0]:
                best[0], best[1] = err, np.array(theta, dtype=float)
        if deadline is not None and time.perf_counter() > deadline:
            raise _OutOfTime
        return np.where(np.isfinite(r), r, 1e6)

    linear = _affine_solution(evaluate, len(params), X, y)
    if linear is not None:
        new = rmse(linear)
        return (linear, new) if new <= base else (theta0, base)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            method = "lm" if len(y) >= len(params) else "trf"
            sol = least_squares(residual, theta0, method=method, max_nfev=max_nfev * (len(params) + 1))
        candidate = sol.x
    except _OutOfTime:
        candidate = best[1]
    except Exception:  # a degenerate Jacobian etc.: keep what we had
        return theta0, base
    new = rmse(candidate)
    return (candidate, new) if new <= base else (theta0, base)


def _affine_solution(evaluate, n_params: int, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Least-squares parameters in closed form if the template is affine in them, else None.

    Linear models (``c0 + c1*x0 + ... + c50*x50``) are common proposals; an
    iterative solver with a finite-difference Jacobian costs ``n_params + 1``
    evaluations per iteration for what one ``lstsq`` solves exactly.
    Affinity is checked numerically: the columns ``f(e_i) - f(0)`` must
    reproduce ``f`` at two random parameter vectors.  Most templates are not
    affine and this runs on every refit of the snapping loop, so they are
    first rejected with three evaluations (``f(2t) - f(0) = 2 (f(t) - f(0))``)
    before the ``n_params`` columns are built.
    """
    if n_params < 2:  # nothing to gain
        return None
    rng = np.random.default_rng(0)
    thetas = [rng.normal(size=n_params) for _ in range(2)]
    base = evaluate(X, np.zeros(n_params))
    first = evaluate(X, thetas[0])
    if not (np.all(np.isfinite(base)) and np.all(np.isfinite(first))):
        return None
    step = first - base
    doubled = evaluate(X, 2.0 * thetas[0]) - base
    if not np.all(np.abs(doubled - 2.0 * step) <= 1e-9 * (float(np.max(np.abs(step))) + float(np.max(np.abs(base))) + 1.0)):
        return None
    cols = np.column_stack([evaluate(X, row) for row in np.eye(n_params)]) - base[:, None]
    if not np.all(np.isfinite(cols)):
        return None
    scale = float(np.max(np.abs(cols))) + float(np.max(np.abs(base))) + 1.0
    for theta, pred in zip(thetas, (first, evaluate(X, thetas[1]))):
        if not np.all(np.abs(pred - (base + cols @ theta)) <= 1e-9 * scale * (1.0 + np.abs(theta).sum())):
            return None
    return np.linalg.lstsq(cols, y - base, rcond=None)[0]


_BLAS_LOCK = threading.RLock()  # see _serial_blas


def _serial_blas(func):
    """Run ``func`` with one BLAS thread.

    Multi-threaded BLAS reductions round differently from run to run; on an
    ill-conditioned fit that decides which constants snap, so the same data
    could give different formulas.  These problems are small, so one thread
    also costs nothing.  The limit is process-wide (threadpoolctl), so calls
    from several threads take turns: otherwise one thread's exit would restore
    the BLAS threads while another is still refitting.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _BLAS_LOCK, threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


def _fill(template: sympy.Expr, params: Sequence[sympy.Symbol], theta: np.ndarray) -> sympy.Expr:
    return template.xreplace({p: sympy.Float(float(v), 17) for p, v in zip(params, theta)})


@_serial_blas
def refit_constants(
    expr: sympy.Expr,
    variables: Sequence[sympy.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    max_nfev: int = 200,
    time_limit: float | None = None,
) -> tuple[sympy.Expr, float]:
    """Re-estimate every float constant of ``expr`` by least squares on (X, y).

    Returns the refitted expression and its RMSE (the original expression if
    the refit does not improve it).  With ``time_limit`` (seconds) the
    search stops then, keeping the best constants evaluated so far.
    """
    template, params, theta0 = parametrize(expr)
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    theta, err = _refit(template, params, theta0, variables, X, y, max_nfev, deadline)
    return _fill(template, params, theta), err


def _candidates(v: float) -> list[sympy.Expr]:
    """Simple values near ``v``, simplest first."""
    out: list[sympy.Expr] = []
    for tol, size in ((1e-6, None), (1e-3, 4)):
        nice = nice_value(v, rel_tol=tol, max_denominator=12, max_size=size)
        if nice is not None and all(nice != o for o in out):
            out.append(nice)
    # Far from v only plain fractions are plausible (no pi, sqrt(2) factors).
    frac = Fraction(v).limit_denominator(4)
    if frac.numerator and abs(float(frac) - v) <= 5e-2 * abs(v):
        simple = sympy.Rational(frac.numerator, frac.denominator)
        if all(simple != o for o in out):
            out.append(simple)
    r = round(v)
    if r != 0 and abs(r - v) <= 0.25 * max(abs(v), 1) and all(sympy.Integer(r) != o for o in out):
        out.append(sympy.Integer(r))
    return out


def _exponent_candidates(v: float) -> list[sympy.Expr]:
    """Simple values near an exponent: fractions only (``x**(7*pi/11)`` is no law of nature)."""
    out = [c for c in _candidates(v) if isinstance(c, sympy.Rational)]
    frac = Fraction(v).limit_denominator(6)
    close = sympy.Rational(frac.numerator, frac.denominator)
    if abs(float(frac) - v) <= 1e-3 * max(abs(v), 1) and close not in out:
        out.insert(0, close)
    return out


def _exponent_params(template: sympy.Expr, params: Sequence[sympy.Symbol]) -> set[sympy.Symbol]:
    """The parameters that stand alone as the exponent of a power."""
    chosen = set(params)
    return {a.exp for a in template.atoms(sympy.Pow) if a.exp in chosen}


def _distance_to_nice(v: float) -> float:
    return min((abs(float(c) - v) / max(abs(v), 1e-12) for c in _candidates(v)), default=math.inf)


@_serial_blas
def snap_constants(
    expr: sympy.Expr,
    variables: Sequence[sympy.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    rel_slack: float = 0.05,
    abs_floor: float | None = None,
    max_constants: int = 30,
    time_limit: float | None = None,
) -> sympy.Expr:
    """Replace constants by simple exact values while the fit allows it.

    Every constant is tried once, those closest to a simple value first, with
    0 (drop it), ±1 (absorbed by the others) and then the simple values near it.  A replacement is kept
    if, after refitting the constants still free, the RMSE on (X, y) stays
    within ``(1 + rel_slack)`` of the starting RMSE plus ``abs_floor``
    (default ``1e-7 * std(y)``, the round-off level).  With ``time_limit``
    (seconds), constants not reached by then keep their fitted values.

    Returns
    -------
    sympy.Expr
    """
    floor = abs_floor if abs_floor is not None else 1e-7 * float(np.std(y) or 1.0)
    template, params, theta = parametrize(expr)
    free = list(params)
    # Judge replacements against the best fit with every constant free.
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    theta, start = _refit(template, free, theta, variables, X, y, max_nfev=200, deadline=deadline)
    if not math.isfinite(start):
        return expr
    limit = start * (1 + rel_slack) + floor
    order = sorted(range(len(params)), key=lambda k: _distance_to_nice(theta[k]))[:max_constants]
    values = dict(zip(params, theta))
    exponents = _exponent_params(template, params)
    for k in order:
        if deadline is not None and time.perf_counter() > deadline:
            break
        p = params[k]
        # 0 and ±1 first: a constant that other constants can absorb is then
        # removed instead of being set to a random "nice" value.
        unit = sympy.Integer(1 if values[p] >= 0 else -1)
        near = _exponent_candidates(values[p]) if p in exponents else _candidates(values[p])
        tries = [sympy.Integer(0), unit] + [c for c in near if c != unit]
        for value in tries:
            trial = template.xreplace({p: value})
            if trial.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
                continue
            rest = [q for q in free if q != p]
            theta_rest, err = _refit(trial, rest, np.array([values[q] for q in rest]), variables, X, y, max_nfev=50,
                                     deadline=deadline)
            if err <= limit:
                template, free = trial, rest
                values.update(zip(rest, theta_rest))
                break
    return _fill(template, free, np.array([values[q] for q in free]))
