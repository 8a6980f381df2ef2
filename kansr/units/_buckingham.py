"""Buckingham π: dimensionless groups of the inputs and the monomial that carries the target's unit.

With ``d`` inputs whose dimension matrix has rank ``r``, every homogeneous
formula can be written ``y = P(x) · F(π_1, …, π_(d−r))``: ``P`` a monomial of
the inputs with the target's dimension, each ``π_j`` a dimensionless
monomial.  The groups are chosen as the classic method does — ``r``
*repeating* inputs, and for every other input ``x_j`` the group ``x_j ·
(repeating inputs)^a`` — over every admissible repeating set, keeping the
one with the smallest integer exponents (and an integer-exponent ``P`` when
one exists, so that negative inputs stay usable).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy

from kansr.units._dimension import Dimension, dimension_matrix

# Repeating sets tried at most (C(12, 4) = 495; wider inputs take the first sets in column order).
_MAX_REPEATING_SETS = 5000


def _solve(columns: Sequence[Sequence[Fraction]], rhs: Sequence[Fraction]) -> list[Fraction] | None:
    """Exact solve of ``A a = rhs`` in fractions, for a square or tall full-column-rank ``A``.

    ``columns`` are the columns of ``A``; returns None when ``rhs`` is not in their span.
    """
    n_rows, n_cols = len(rhs), len(columns)
    rows = [[columns[j][i] for j in range(n_cols)] + [rhs[i]] for i in range(n_rows)]
    r = 0
    for c in range(n_cols):
        pivot = next((i for i in range(r, n_rows) if rows[i][c] != 0), None)
        if pivot is None:
            return None  # rank deficient
        rows[r], rows[pivot] = rows[pivot], rows[r]
        lead = rows[r][c]
        rows[r] = [v / lead for v in rows[r]]
        for i in range(n_rows):
            if i != r and rows[i][c] != 0:
                factor = rows[i][c]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r])]
        r += 1
    if any(rows[i][-1] != 0 for i in range(r, n_rows)):
        return None  # inconsistent: rhs outside the span
    return [rows[i][-1] for i in range(n_cols)]


def _rank(matrix: Sequence[Sequence[Fraction]]) -> int:
    if not matrix or not matrix[0]:
        return 0
    return int(sympy.Matrix(matrix).rank())


def _integer_exponents(exponents: Sequence[Fraction]) -> list[int]:
    denominator = math.lcm(*(e.denominator for e in exponents)) if exponents else 1
    return [int(e * denominator) for e in exponents]


def _monomial_values(X: np.ndarray, exponents: Sequence[int | Fraction]) -> np.ndarray:
    """``prod_j X[:, j] ** exponents[j]`` for inputs of any sign (NaN for a fractional power of a negative)."""
    X = np.asarray(X, dtype=np.float64)
    out = np.ones(X.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        for j, e in enumerate(exponents):
            if e:
                out *= np.power(X[:, j], float(e))
    return out


@dataclass(frozen=True)
class DimensionalReduction:
    """``y = prefactor(x) · F(groups(x))``, from the inputs' and the target's dimensions.

    Attributes
    ----------
    names : tuple of str
        The inputs, in column order.
    groups : tuple of tuple of int
        One dimensionless group per row: integer exponents over `names`.
    prefactor : tuple of Fraction
        Exponents over `names` of the monomial with the target's dimension.
    repeating : tuple of str
        The repeating inputs the groups were built from.
    """

    names: tuple[str, ...]
    groups: tuple[tuple[int, ...], ...]
    prefactor: tuple[Fraction, ...]
    repeating: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        """Number of dimensionless groups (inputs of ``F``)."""
        return len(self.groups)

    def group_expressions(self, symbols: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
        """Each group as a sympy monomial of ``symbols`` (one per input)."""
        return [sympy.Mul(*(s ** e for s, e in zip(symbols, group) if e)) for group in self.groups]

    def prefactor_expression(self, symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
        """The prefactor monomial over ``symbols``."""
        return sympy.Mul(*(s ** sympy.Rational(e.numerator, e.denominator)
                           for s, e in zip(symbols, self.prefactor) if e))

    def group_values(self, X: np.ndarray) -> np.ndarray:
        """The groups evaluated on ``X`` (n, d): an (n, n_groups) array."""
        X = np.asarray(X, dtype=np.float64)
        out = np.ones((X.shape[0], self.n_groups))
        for k, group in enumerate(self.groups):
            out[:, k] = _monomial_values(X, group)
        return out

    def prefactor_values(self, X: np.ndarray) -> np.ndarray:
        """The prefactor evaluated on ``X``; NaN where a fractional power meets a negative input."""
        return _monomial_values(X, self.prefactor)

    def describe(self) -> list[str]:
        """``["pi1 = v*t/x", …, "y = m*v**2 * F(pi1, …)"]`` for reports."""
        symbols = [sympy.Symbol(n) for n in self.names]
        lines = [f"pi{k + 1} = {g}" for k, g in enumerate(self.group_expressions(symbols))]
        args = ", ".join(f"pi{k + 1}" for k in range(self.n_groups))
        lines.append(f"y = {self.prefactor_expression(symbols)} * F({args})")
        return lines


def buckingham(
    names: Sequence[str], dimensions: Mapping[str, Dimension] | Sequence[Dimension], target: Dimension
) -> DimensionalReduction | None:
    """Dimensionless groups of the inputs and the prefactor carrying the target's unit.

    Parameters
    ----------
    names : sequence of str
        Input names.
    dimensions : mapping of name to Dimension, or sequence of Dimension
        Each input's dimension.
    target : Dimension
        The output's dimension.

    Returns
    -------
    DimensionalReduction or None
        The reduction with the smallest exponents (the first of
        :func:`reductions`); None when no monomial of the inputs has the
        target's dimension (the formula then needs a dimensional constant the
        data do not carry).

    Examples
    --------
    >>> from kansr.units import parse_unit
    >>> dims = [parse_unit(u).dimension for u in ("kg", "m/s", "m/s")]
    >>> red = buckingham(["m", "v", "c"], dims, parse_unit("J").dimension)
    >>> red.describe()
    ['pi1 = c/v', 'y = m*v**2 * F(pi1)']
    """
    found = reductions(names, dimensions, target, limit=1)
    return found[0] if found else None


def reductions(
    names: Sequence[str],
    dimensions: Mapping[str, Dimension] | Sequence[Dimension],
    target: Dimension,
    limit: int = 3,
) -> list[DimensionalReduction]:
    """The ``limit`` simplest distinct Buckingham reductions, simplest first.

    Different repeating sets give the same groups with different prefactors
    (``m*v**2 * F(c/v)`` or ``m*c**2 * G(v/c)``), and the unknown function is
    much simpler in one of them (``G(u) = 1/sqrt(1 - u**2)`` for the
    relativistic energy), so a search tries several.

    Parameters
    ----------
    names, dimensions, target
        As for :func:`buckingham`.
    limit : int
        Most reductions returned.

    Returns
    -------
    list of DimensionalReduction
        Empty when no monomial of the inputs has the target's dimension.
    """
    names = tuple(names)
    dims = [dimensions[n] for n in names] if isinstance(dimensions, Mapping) else list(dimensions)
    if len(dims) != len(names):
        raise ValueError(f"{len(names)} names but {len(dims)} dimensions")
    bases, matrix = dimension_matrix([*dims, target])
    columns = [[row[j] for row in matrix] for j in range(len(names))]
    target_column = [row[-1] for row in matrix]
    d = len(names)
    rank = _rank([row[:d] for row in matrix]) if bases else 0
    if rank == 0:
        if any(target_column):
            return []
        return [DimensionalReduction(names, tuple(tuple(int(i == j) for i in range(d)) for j in range(d)),
                                     tuple(Fraction(0) for _ in range(d)), ())]
    scored: dict[tuple, tuple[tuple, DimensionalReduction]] = {}
    for tried, repeating in enumerate(itertools.combinations(range(d), rank)):
        if tried >= _MAX_REPEATING_SETS:
            break
        rep_columns = [columns[j] for j in repeating]
        pre = _solve(rep_columns, target_column)
        if pre is None:
            continue
        groups, ok = [], True
        for j in range(d):
            if j in repeating:
                continue
            a = _solve(rep_columns, [-v for v in columns[j]])
            if a is None:
                ok = False
                break
            exps = [Fraction(0)] * d
            exps[j] = Fraction(1)
            for k, idx in enumerate(repeating):
                exps[idx] = a[k]
            groups.append(tuple(_integer_exponents(exps)))
        if not ok:
            continue
        prefactor = [Fraction(0)] * d
        for k, idx in enumerate(repeating):
            prefactor[idx] = pre[k]
        fractional = sum(1 for e in prefactor if e.denominator != 1)
        cost = sum(abs(e) for g in groups for e in g) + sum(abs(e) for e in prefactor)
        size = sum(1 for g in groups for e in g if e)
        key = (fractional, cost, size, repeating)
        # Same prefactor and the same groups up to sign of the exponents: the same reduction.
        identity = (tuple(prefactor), frozenset(max(g, tuple(-e for e in g)) for g in groups))
        if identity not in scored or key < scored[identity][0]:
            scored[identity] = (key, DimensionalReduction(names, tuple(groups), tuple(prefactor),
                                                          tuple(names[j] for j in repeating)))
    return [red for _, red in sorted(scored.values(), key=lambda item: item[0])[:limit]]
