"""``y = P(x) * (1 ± z**2)**(±1/2)``: a sum of monomials times the radical of ``z = x_i/x_j`` or ``z = x_i``.

Lorentz factors (``(x - u*t)/sqrt(1 - u**2/c**2)``), norms written through a
ratio (``a*sqrt(1 + (b/a)**2)``) and cosines from sines
(``sqrt(1 - (h/l)**2)``) multiply a simple polynomial by such a radical.
Neither a sum of monomials nor a power law sees it, but ``y`` times the
inverse radical *is* a sum of monomials.  Every candidate radical ``h``
(both signs inside, both powers; ``1 - z**2`` only where ``|z| < 1`` on every
row) gives a target ``y*h``; one batched forward beam search over the
monomial library (:func:`kansr.discovery.generators._sparse.beam_supports`)
screens all of them at once, and the best few supports are proposed as
``P/h``.
"""
from __future__ import annotations

import itertools

import numpy as np
import sympy

from kansr.discovery._features import standardize
from kansr.discovery._monomials import monomial_columns, monomial_library
from kansr.discovery._state import Search
from kansr.discovery.generators._regression import monomial_expr
from kansr.discovery.generators._sparse import beam_supports

__all__ = ["radical_factors", "gen_radical"]

_MAX_TERMS = 4  # monomials of P (a constant comes free)
_BEAM = 4
_MAX_ROWS = 1000  # a few terms are pinned down by far fewer rows
_MAX_FEATURES = 2000  # monomial library size (the order is lowered to stay below)
_MAX_PROPOSALS = 4
_USEFUL = 1e-2  # largest residual share of the variance of y*h worth a proposal
_EXACT = 1e-20  # a fit to round-off: smaller supports first among these
_MARGIN = 0.999  # |z| below this on every row for 1 - z**2 (a radical vanishing on the data is a pole)


def radical_factors(X: np.ndarray) -> list[tuple[int, int, int, sympy.Rational]]:
    """Candidate radicals ``(1 + sign*(x_i/x_j)**2)**power`` as ``(i, j, sign, power)``.

    ``1 + z**2`` is the same up to a monomial for ``z`` and ``1/z``, so one
    ordering of each pair is kept; ``1 - z**2`` needs ``|z| < 1`` on the data.
    Inputs that reach zero are left out as denominators.  ``j = -1`` stands
    for ``z = x_i`` itself: an input that is already a ratio, such as a
    dimensionless group ``v/c``; ``j = -2`` for ``z = 1/x_i`` in ``1 - z**2``
    where ``|x_i| > 1`` (the group ``c/v``: ``1 + 1/x**2`` is ``1 + x**2`` up
    to a monomial, so it is not repeated).
    """
    X = np.asarray(X, dtype=float)
    d = X.shape[1]
    absx = np.abs(X)
    nonzero = np.min(absx, axis=0) > 0
    half = sympy.Rational(1, 2)
    out = []
    for i in range(d):
        if np.max(absx[:, i]) < _MARGIN:
            out += [(i, -1, -1, half), (i, -1, -1, -half)]
        elif np.min(absx[:, i]) * _MARGIN > 1:
            out += [(i, -2, -1, half), (i, -2, -1, -half)]
        out += [(i, -1, 1, half), (i, -1, 1, -half)]
    for i, j in itertools.permutations(range(d), 2):
        if not nonzero[j]:
            continue
        if np.max(absx[:, i] / absx[:, j]) < _MARGIN:
            out += [(i, j, -1, half), (i, j, -1, -half)]
        if i < j or not nonzero[i]:
            out += [(i, j, 1, half), (i, j, 1, -half)]
    return out


def _radical_values(X: np.ndarray, factor: tuple[int, int, int, sympy.Rational]) -> np.ndarray:
    i, j, sign, power = factor
    z = X[:, i] if j == -1 else 1.0 / X[:, i] if j == -2 else X[:, i] / X[:, j]
    return (1.0 + sign * z ** 2) ** float(power)


def _radical_expr(variables, factor: tuple[int, int, int, sympy.Rational]) -> sympy.Expr:
    i, j, sign, power = factor
    z2 = variables[i] ** 2 if j == -1 else variables[i] ** -2 if j == -2 else variables[i] ** 2 / variables[j] ** 2
    return (1 + sign * z2) ** power


def gen_radical(s: Search) -> None:
    """Propose ``P(x) / h`` where ``y*h`` is a sparse sum of monomials for a radical ``h`` of a ratio."""
    X, y = s.X[:_MAX_ROWS], s.y[:_MAX_ROWS]  # Search's rows are a random permutation: a random subset
    if len(y) < 20 or np.ptp(y) == 0:
        return
    factors = radical_factors(X)
    if not factors:
        return
    library, F = monomial_columns(X, monomial_library(X, max_features=_MAX_FEATURES))
    with np.errstate(all="ignore"):
        H = np.stack([_radical_values(X, f) for f in factors], axis=1)
        T = y[:, None] * H
    good = np.all(np.isfinite(T), axis=0)
    factors, T, H = [f for f, keep in zip(factors, good) if keep], T[:, good], H[:, good]
    if not factors or not library:
        return
    ones = np.ones(len(y))
    var_y = float(np.var(y))
    found = []
    # y = c/h itself (1/sqrt(1 - v**2/c**2)): y*h is constant up to noise, which the beam search
    # below cannot see (a flat target has no variance to explain), so it is scored directly.
    for k in range(len(factors)):
        c = float(np.mean(T[:, k]))
        with np.errstate(all="ignore"):
            err = float(np.mean((c / H[:, k] - y) ** 2)) / var_y
        if np.isfinite(err) and err <= _USEFUL:
            found.append((err, k, (), np.array([c])))
    varies = np.ptp(T, axis=0) > 1e-12 * np.max(np.abs(T), axis=0)
    supports, rss = [], []
    if varies.any():
        Z, _, _ = standardize(F)
        Tu, _, _ = standardize(T[:, varies])
        supports, rss = beam_supports(Z, Tu, max_terms=min(_MAX_TERMS, len(library)), width=_BEAM)
    # Targets y*h of different spread take the same noise to different shares of their variance:
    # every useful support is refitted and scored in the units of y.
    for b, k in enumerate(np.flatnonzero(varies)):
        for sup, r in dict(zip(map(tuple, map(sorted, supports[b])), rss[b])).items():
            if r > _USEFUL:
                continue
            A = np.column_stack([ones, F[:, list(sup)]])
            coef, *_ = np.linalg.lstsq(A, T[:, k], rcond=None)
            with np.errstate(all="ignore"):
                err = float(np.mean((A @ coef / H[:, k] - y) ** 2)) / var_y
            if np.isfinite(err):
                found.append((err, k, sup, coef))
    # Exact fits by size (the simplest exact one first), then the rest by a BIC-like score: with
    # noise every extra monomial lowers the residual a little, by far less than log(n) per term.
    n = len(y)

    def rank(item: tuple) -> tuple:
        r, _, sup, _ = item
        return (0, len(sup), r) if r <= _EXACT else (1, n * np.log(r) + 2 * len(sup) * np.log(n), r)

    found.sort(key=rank)
    s.note(f"radical: {len(factors)} radicals screened over {len(library)} monomials, {len(found)} fits useful")
    for count, (_, k, sup, coef) in enumerate(found):
        if count >= _MAX_PROPOSALS or s.solved() or s.budget.over(reserve=2.0):
            return
        poly = sympy.Float(coef[0], 17) + sympy.Add(
            *[sympy.Float(c, 17) * monomial_expr(s.variables, library[j]) for c, j in zip(coef[1:], sup)])
        s.add(poly / _radical_expr(s.variables, factors[k]), "radical")
