"""From a fully symbolic KAN to a sympy formula, and tidying formulas.

:func:`model_formula` composes the network layer by layer (a node is the sum
of its incoming edge expressions; a multiplication node the product of its
factors) in the user's variable names.  :class:`Formula` wraps the result:
complexity, LaTeX, a numpy callable.  The tidying helpers round constants,
rationalise near-simple values and simplify with a time limit.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import sympy

from kansr._timeout import TimedOut, call_with_timeout
from kansr.symbolic._safe_expr import symbol_for

__all__ = [
    "drop_sign_known_abs",
    "Formula",
    "model_formula",
    "complexity",
    "round_constants",
    "rationalize_constants",
    "nice_value",
    "simplify_with_timeout",
    "drop_small_terms",
]


def complexity(expr: sympy.Expr) -> int:
    """Number of nodes of the expression tree (symbols, numbers, operations).

    A constant subexpression counts as one node, and so do all the constant
    terms of a sum or factors of a product together: ``x/(4*pi)`` is as
    complex as ``0.0796*x``, so exact constants are not penalised.
    """
    if not expr.free_symbols:
        return 1
    if not expr.args:
        return 1
    if isinstance(expr, (sympy.Add, sympy.Mul)):
        variable = [a for a in expr.args if a.free_symbols]
        has_const = len(variable) < len(expr.args)
        return 1 + int(has_const) + sum(complexity(a) for a in variable)
    return 1 + sum(complexity(a) for a in expr.args)


def n_floats(expr: sympy.Expr) -> int:
    """Number of inexact (floating-point) constants in ``expr``."""
    return len(expr.atoms(sympy.Float))


def round_constants(expr: sympy.Expr, digits: int = 4) -> sympy.Expr:
    """Round every floating-point constant to ``digits`` significant digits."""
    reps = {}
    for f in expr.atoms(sympy.Float):
        v = float(f)
        if v == 0 or not math.isfinite(v):
            continue
        reps[f] = sympy.Float(float(f"{v:.{digits}g}"), digits + 2)
    return expr.xreplace(reps)


def nice_value(v: float, rel_tol: float = 1e-3, max_denominator: int = 12, max_size: int | None = None) -> sympy.Expr | None:
    """A simple exact number within ``rel_tol`` of ``v``, or None.

    Candidates are fractions with denominators up to ``max_denominator``,
    alone or times ``pi``, ``1/pi``, ``sqrt(2)``, ``sqrt(3)`` (the constants
    of physics formulas).  The closest match wins, compared in decades of
    the tolerance, and the simplest within the same decade: 6.28319 is
    ``2*pi`` rather than ``44/7``.  ``max_size`` bounds the digits of
    numerator and denominator plus a cost per factor (plain 0, ``pi`` 1,
    others 2-3), so that a loose tolerance admits only simple values.
    """
    if not math.isfinite(v):
        return None
    if abs(v) < 1e-12:
        return sympy.Integer(0)
    best: tuple[tuple[int, int], sympy.Expr] | None = None
    factors = ((1.0, sympy.Integer(1), 0), (math.pi, sympy.pi, 1), (1 / math.pi, 1 / sympy.pi, 2),
               (math.sqrt(2), sympy.sqrt(2), 2), (math.sqrt(3), sympy.sqrt(3), 2),
               (math.pi**2, sympy.pi**2, 2), (1 / math.pi**2, 1 / sympy.pi**2, 3))
    for factor, sym, cost in factors:
        frac = Fraction(v / factor).limit_denominator(max_denominator)
        if frac.numerator == 0 or abs(frac.numerator) > 1000:
            continue
        err = abs(float(frac) * factor - v) / abs(v)
        if err > rel_tol:
            continue
        decade = 0 if err <= rel_tol / 100 else (1 if err <= rel_tol / 10 else 2)
        size = len(str(abs(frac.numerator))) + len(str(frac.denominator)) + cost
        if max_size is not None and size > max_size:
            continue
        key = (decade, size)
        if best is None or key < best[0]:
            best = (key, sympy.Rational(frac.numerator, frac.denominator) * sym)
    return best[1] if best else None


def merge_float_factors(expr: sympy.Expr) -> sympy.Expr:
    """Fold the constant factors of each product that holds a float into one float.

    ``0.37796447*sqrt(7)*x`` becomes ``1.0*x``: sympy keeps a float times an
    exact irrational apart, which hides that the product is a simple number.
    """
    def fold(e: sympy.Basic) -> sympy.Basic:
        if not isinstance(e, sympy.Mul):
            return e
        const = [a for a in e.args if not a.free_symbols]
        if len(const) < 2 or not any(a.has(sympy.Float) for a in const):
            return e
        value = complex(sympy.Mul(*const).evalf(17))
        if value.imag != 0 or not math.isfinite(value.real):
            return e
        return sympy.Mul(sympy.Float(value.real, 17), *[a for a in e.args if a.free_symbols])

    return sympy.bottom_up(expr, fold)


def drop_sign_known_abs(expr: sympy.Expr, signs: dict[sympy.Symbol, int]) -> sympy.Expr:
    """Replace ``Abs(e)`` by ``±e`` where the signs of the variables fix the sign of ``e``.

    ``sqrt(1 + a**2/b**2)`` simplifies to ``sqrt(a**2 + b**2)/Abs(b)``; when
    ``b`` is positive on every row the ``Abs`` only hides the formula.
    ``signs`` maps a variable to +1 or -1 (variables that change sign are
    left out, and so is every ``Abs`` that holds one of them).
    """
    reps = {}
    for node in expr.atoms(sympy.Abs):
        arg = node.args[0]
        if not arg.free_symbols or not arg.free_symbols <= set(signs):
            continue
        positive = {v: signs[v] * sympy.Dummy(positive=True) for v in arg.free_symbols}
        sign = sympy.sign(arg.xreplace(positive))
        if sign in (1, -1):
            reps[node] = sign * arg
    return expr.xreplace(reps) if reps else expr


def rationalize_constants(expr: sympy.Expr, rel_tol: float = 1e-3, max_denominator: int = 12) -> sympy.Expr:
    """Replace floats that are within ``rel_tol`` of a simple exact value (see :func:`nice_value`)."""
    reps = {}
    for f in expr.atoms(sympy.Float):
        nice = nice_value(float(f), rel_tol, max_denominator)
        if nice is not None:
            reps[f] = nice
    return expr.xreplace(reps)


def _simplify(expr: sympy.Expr) -> sympy.Expr:
    return sympy.simplify(expr)


def simplify_with_timeout(expr: sympy.Expr, timeout: float = 5.0) -> sympy.Expr:
    """``sympy.simplify`` in a child process; the input itself if it takes longer than ``timeout``.

    The simpler (by :func:`complexity`) of the input and the result is returned.
    """
    try:
        out = call_with_timeout(_simplify, (expr,), timeout)
    except (TimedOut, RuntimeError) as exc:
        warnings.warn(f"simplification skipped ({exc}); keeping the unsimplified formula", RuntimeWarning, stacklevel=2)
        return expr
    return out if complexity(out) <= complexity(expr) else expr


def drop_small_terms(
    expr: sympy.Expr, variables: Sequence[sympy.Symbol], X: np.ndarray, threshold: float = 1e-4
) -> sympy.Expr:
    """Remove additive terms whose largest value on ``X`` is below ``threshold`` × the spread of ``expr``."""
    expr = sympy.expand(expr, deep=False) if isinstance(expr, sympy.Add) else expr
    if not isinstance(expr, sympy.Add):
        return expr
    total = _evaluate(expr, variables, X)
    spread = float(np.std(total)) if np.std(total) > 0 else float(np.max(np.abs(total)) or 1.0)
    kept = [t for t in expr.args if float(np.max(np.abs(_evaluate(t, variables, X)))) >= threshold * spread]
    return sympy.Add(*kept) if kept else sympy.Integer(0)


def _evaluate(expr: sympy.Expr, variables: Sequence[sympy.Symbol], X: np.ndarray) -> np.ndarray:
    fn = sympy.lambdify(list(variables), expr, modules="numpy")
    with np.errstate(all="ignore"):
        out = fn(*[X[:, k] for k in range(X.shape[1])])
    return np.broadcast_to(np.asarray(out, dtype=float), (X.shape[0],)).copy()


@dataclass
class Formula:
    """A closed-form formula in named variables.

    Attributes
    ----------
    expr : sympy.Expr
    variables : list of sympy.Symbol
        The inputs, in column order (also those the formula does not use).
    """

    expr: sympy.Expr
    variables: list[sympy.Symbol]
    _fn: Callable | None = field(default=None, repr=False, compare=False)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.variables]

    @property
    def complexity(self) -> int:
        return complexity(self.expr)

    @property
    def used_variables(self) -> list[str]:
        """Names of the variables the formula depends on."""
        free = self.expr.free_symbols
        return [s.name for s in self.variables if s in free]

    def latex(self) -> str:
        """The formula as a LaTeX string."""
        return sympy.latex(self.expr)

    def __str__(self) -> str:
        return str(self.expr)

    def __call__(self, X) -> np.ndarray:
        """Evaluate on an (n_samples, n_variables) array; returns (n_samples,)."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1 and len(self.variables) == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != len(self.variables):
            raise ValueError(f"X must have shape (n_samples, {len(self.variables)}); got {X.shape}")
        if self._fn is None:
            self._fn = sympy.lambdify(self.variables, self.expr, modules="numpy")
        with np.errstate(all="ignore"):
            out = self._fn(*[X[:, k] for k in range(X.shape[1])])
        return np.broadcast_to(np.asarray(out, dtype=float), (X.shape[0],)).copy()

    def __getstate__(self) -> dict:
        # The lambdified function does not pickle; it is rebuilt on first use.
        return {"expr": self.expr, "variables": self.variables, "_fn": None}

    def with_expr(self, expr: sympy.Expr) -> Formula:
        return Formula(expr, self.variables)


def model_formula(model, names: Sequence[str] | None = None, output: int = 0) -> Formula:
    """Compose the sympy formula of a fully symbolic KAN.

    Parameters
    ----------
    model : KAN
        Every active edge must be symbolic (see ``auto_symbolic``).
    names : list of str, optional
        Variable names (default ``model.input_names``).
    output : int
        Which output node.

    Returns
    -------
    Formula
        Evaluates exactly like ``model`` (same constants, no rounding).
    """
    from kansr.symbolic._snap import numeric_edges

    left = numeric_edges(model)
    if left:
        shown = ", ".join(str(e) for e in left[:5]) + (" ..." if len(left) > 5 else "")
        raise ValueError(
            f"{len(left)} edge(s) are still splines, e.g. (layer, i, j) = {shown}; snap them with "
            "fix_symbolic/auto_symbolic (or prune them) before asking for a formula"
        )
    names = list(names) if names is not None else list(model.input_names)
    if len(names) != model.width_in:
        raise ValueError(f"need {model.width_in} variable names; got {len(names)}")
    variables = [symbol_for(n) for n in names]
    num = lambda t: sympy.Float(float(t.detach() if hasattr(t, 'detach') else t), 17)  # noqa: E731  (full double precision)
    h: list[sympy.Expr] = []
    for k, s in enumerate(variables):
        shift, scale = float(model.input_shift[k]), float(model.input_scale[k])
        h.append(s if (shift == 0 and scale == 1) else (s - num(shift)) / num(scale))
    for l, layer in enumerate(model.layers):
        active = layer.mask * layer.symbolic_mask
        subs = []
        for o in range(layer.n_out):
            bias = float(layer.bias[o].detach())
            terms = [num(bias)] if bias != 0 else []
            for i in range(layer.n_in):
                if active[i, o] > 0:
                    fn = layer.symbolic_functions[layer.symbolic_names[i][o]]
                    a, b, c, d = (float(v) for v in layer.affine[i, o].detach())
                    terms.append(fn.to_sympy(h[i], num(a), num(b), num(c), num(d)))
            subs.append(sympy.Add(*terms) if terms else sympy.Integer(0))
        n_sum, n_mult = model.widths[l + 1]
        ar = model.mult_arity
        h = subs[:n_sum] + [sympy.Mul(*subs[n_sum + m * ar : n_sum + (m + 1) * ar]) for m in range(n_mult)]
    shift, scale = float(model.output_shift[output]), float(model.output_scale[output])
    out = h[output]
    if not (shift == 0 and scale == 1):
        out = out * num(scale) + num(shift)
    return Formula(out, variables)
