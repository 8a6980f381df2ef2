"""A library of candidate terms for sparse regression, as named columns with sympy expressions.

Every column is a monomial of degree 0..4 times a simple function of one
input or of the difference or sum of two inputs::

    x0*x1**2,   cos(x2),   x0*x1*cos(x2 - x3),   (x0 - x1)**2,   log(x0 + x1)

so ``beta*(1 + alpha*cos(theta))`` and ``x1*x2*cos(theta1 - theta2)`` are
sparse linear combinations of columns.  The columns come in *families*
(polynomials of one degree, functions of single inputs, monomial × function
products, ...) whose sizes are known from the number of inputs alone, so the
library is counted before it is built: a family that would take the total
over the column or cell (columns × rows) cap is left out, the largest ones
first.  Fifty inputs then give polynomials of degree 2 and functions of
single inputs, not the 300,000 quartic monomials.

Values are built family-wide with numpy: a block of monomials (each the
product of a lower one and one input), a block of function values, and each
column the product of one entry of each.  Columns that are not finite,
constant or numerical duplicates of an earlier (simpler) column are dropped.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from kansr.discovery.generators._regression import monomial_expr

__all__ = ["Family", "FeatureLibrary", "build_library", "plan_families", "standardize"]

# Functions of one argument: numpy form, sympy form, the domain it needs.
_FUNCTIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[sympy.Expr], sympy.Expr], str]] = {
    "sin": (np.sin, sympy.sin, "any"),
    "cos": (np.cos, sympy.cos, "any"),
    "exp": (np.exp, sympy.exp, "any"),
    "exp_neg": (lambda a: np.exp(-a), lambda a: sympy.exp(-a), "any"),
    "log": (np.log, sympy.log, "positive"),
    "sqrt": (np.sqrt, sympy.sqrt, "positive"),
    "inv": (lambda a: 1.0 / a, lambda a: 1 / a, "nonzero"),
    "sq": (np.square, lambda a: a**2, "any"),
}
_SINGLE = ("sin", "cos", "exp", "exp_neg", "log", "sqrt", "inv")  # x**2 is a polynomial already
_PAIR = _SINGLE + ("sq",)  # (x_i - x_j)**2 makes a distance one term, not three
_INV_GAP = 1e-2  # 1/a only where |a| >= this share of max|a| ("away from 0")
_HUGE = 1e100  # columns beyond this are numerically useless (and overflow when squared)
_DUPLICATE = 1e-10  # |correlation| within this of 1: the same column


@dataclass(frozen=True)
class Family:
    """A group of library columns: monomials of one degree times a group of functions.

    Attributes
    ----------
    name : str
    degree : int
        Degree of the monomial factor (0: none).
    functions : str
        ``"one"`` (no function), ``"single"`` (of one input), ``"pair"``
        (of differences and sums of two inputs) or ``"diff"`` (of
        differences only, as a factor of a monomial).
    count : int
        Upper bound of its columns (before domain checks and dropping).
    """

    name: str
    degree: int
    functions: str
    count: int


def plan_families(n_inputs: int, n_rows: int, max_columns: int = 3000, max_cells: int = 3_000_000,
                  max_degree: int = 4) -> tuple[list[Family], list[Family]]:
    """Which families fit the caps, counted from the input count alone (nothing is built).

    Families are considered simplest first; one whose columns would take the
    total over ``min(max_columns, max_cells // n_rows)`` is skipped (later,
    smaller families may still fit).

    Returns
    -------
    included, skipped : list of Family
    """
    d = n_inputs
    n_mono = [math.comb(d + k - 1, k) for k in range(max_degree + 1)]  # monomials of exactly degree k
    pairs = math.comb(d, 2)
    single, pair, diff = len(_SINGLE) * d, 2 * len(_PAIR) * pairs, len(_SINGLE) * pairs
    wanted = [
        Family("poly1", 1, "one", n_mono[1]),
        Family("single", 0, "single", single),
        Family("poly2", 2, "one", n_mono[2] if max_degree >= 2 else 0),
        Family("poly3", 3, "one", n_mono[3] if max_degree >= 3 else 0),
        Family("poly1*single", 1, "single", d * single),
        Family("poly4", 4, "one", n_mono[4] if max_degree >= 4 else 0),
        Family("pair", 0, "pair", pair),
        Family("poly1*diff", 1, "diff", d * diff),
        Family("poly2*single", 2, "single", (n_mono[2] if max_degree >= 2 else 0) * single),
        Family("poly2*diff", 2, "diff", (n_mono[2] if max_degree >= 2 else 0) * diff),
    ]
    cap = min(max_columns, max_cells // max(n_rows, 1))
    included, skipped, total = [], [], 0
    for fam in wanted:
        if fam.count == 0:
            continue
        if total + fam.count <= cap:
            included.append(fam)
            total += fam.count
        else:
            skipped.append(fam)
    return included, skipped


def _monomial_tree(d: int, max_degree: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Monomials up to ``max_degree`` as a tree: each is its parent times one input.

    Built degree by degree (vectorised over monomials): a monomial of degree
    k+1 extends one of degree k by an input index not below its last one,
    so each monomial appears once.

    Returns
    -------
    exponents : (n_mono, d) int
        Row 0 is the empty monomial (1).
    parent, var : (n_mono,) int
        ``value[r] = value[parent[r]] * x[var[r]]`` (-1 for row 0).
    degree : (n_mono,) int
    """
    exps = [np.zeros((1, d), dtype=int)]
    parents, variables, degrees = [np.array([-1])], [np.array([-1])], [np.array([0])]
    last = np.array([0])  # smallest input index a monomial may be extended by
    offset = 0
    for k in range(1, max_degree + 1):
        prev = exps[-1]
        # every (monomial, input >= its last) pair, grouped by monomial
        mono, var = np.nonzero(np.arange(d)[None, :] >= last[:, None])
        new = prev[mono].copy()
        new[np.arange(len(mono)), var] += 1
        exps.append(new)
        parents.append(offset + mono)
        variables.append(var)
        degrees.append(np.full(len(mono), k))
        offset += len(prev)
        last = var
    return np.concatenate(exps), np.concatenate(parents), np.concatenate(variables), np.concatenate(degrees)


def _monomial_values(X: np.ndarray, parent: np.ndarray, var: np.ndarray, degree: np.ndarray) -> np.ndarray:
    M = np.empty((X.shape[0], len(parent)))
    M[:, 0] = 1.0
    for k in range(1, int(degree.max(initial=0)) + 1):  # parents have lower degree: computed already
        rows = np.flatnonzero(degree == k)
        M[:, rows] = M[:, parent[rows]] * X[:, var[rows]]
    return M


def _arguments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arguments of the functions: inputs, pair differences (oriented positive if possible), pair sums.

    Returns
    -------
    kind : (n_args,) int
        0 single input, 1 difference ``x_i - x_j``, 2 sum.
    i, j : (n_args,) int
    A : (n, n_args) ndarray
        Their values on ``X``.
    """
    d = X.shape[1]
    I, J = np.triu_indices(d, 1)
    D = X[:, I] - X[:, J]
    flip = np.max(D, axis=0, initial=-np.inf) < 0  # x_j - x_i > 0 everywhere: log and sqrt apply
    I, J = np.where(flip, J, I), np.where(flip, I, J)
    kind = np.concatenate([np.zeros(d, int), np.ones(len(I), int), np.full(len(I), 2)])
    i = np.concatenate([np.arange(d), I, np.minimum(I, J)])
    j = np.concatenate([np.full(d, -1), J, np.maximum(I, J)])
    return kind, i, j, _argument_values(X, kind, i, j)


def _argument_values(X: np.ndarray, kind: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    other = np.where(kind == 2, 1.0, -1.0) * X[:, np.maximum(j, 0)] * (kind > 0)
    return X[:, i] + other


def _domain_ok(A: np.ndarray, domain: str) -> np.ndarray:
    if domain == "positive":
        return np.min(A, axis=0, initial=np.inf) > 0
    if domain == "nonzero":
        absA = np.abs(A)
        return np.min(absA, axis=0, initial=np.inf) >= _INV_GAP * np.max(absA, axis=0, initial=0.0)
    return np.ones(A.shape[1], dtype=bool)


def standardize(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre the columns of ``A`` and scale them to unit Euclidean norm.

    Returns
    -------
    Z, mean, norm
        ``A = Z * norm + mean``; a constant column has ``norm`` 0 and ``Z`` 0.
    """
    mean = A.mean(axis=0)
    C = A - mean
    big = np.max(np.abs(C), axis=0, initial=0.0)  # pre-scaled: squares of large columns would overflow
    big = np.where(big > 0, big, 1.0)
    norm = np.linalg.norm(C / big, axis=0) * big
    safe = np.where(norm > 0, norm, 1.0)
    return np.where(norm > 0, C / safe, 0.0), mean, norm


def _duplicates(Z: np.ndarray) -> np.ndarray:
    """Columns of unit-norm ``Z`` that repeat (|correlation| ≈ 1) an earlier column.

    Duplicates have the same projection on a random vector up to sign, so
    sorting the projections puts them side by side in runs; each member of
    a run is compared with the run's earliest (simplest) column, an O(n m)
    check instead of the m × m correlation matrix.
    """
    m = Z.shape[1]
    out = np.zeros(m, dtype=bool)
    if m < 2:
        return out
    g = np.random.default_rng(0).standard_normal(Z.shape[0])
    f = np.abs(g @ Z)
    order = np.argsort(f, kind="stable")
    fs = f[order]
    starts = np.concatenate([[True], np.abs(np.diff(fs)) > 1e-8 * (1.0 + fs[1:])])
    run = np.cumsum(starts) - 1
    first = np.minimum.reduceat(order, np.flatnonzero(starts))[run]  # earliest column of each member's run
    same = np.abs(np.einsum("ij,ij->j", Z[:, order], Z[:, first])) >= 1.0 - _DUPLICATE
    out[order[same & (order != first)]] = True
    return out


@dataclass
class FeatureLibrary:
    """Library columns: ``monomial[mono[c]] * function[func[c]]`` for each column ``c``.

    Attributes
    ----------
    values : ndarray, shape (n_rows, n_columns)
        The columns on the rows the library was built from.
    family : ndarray of str, shape (n_columns,)
    included, skipped : list of Family
        Families built, and those left out by the size caps.
    dropped : int
        Columns dropped as non-finite, constant or duplicate.
    """

    values: np.ndarray
    family: np.ndarray
    included: list[Family]
    skipped: list[Family]
    dropped: int
    _exponents: np.ndarray
    _parent: np.ndarray
    _var: np.ndarray
    _degree: np.ndarray
    _func_name: np.ndarray  # per function column: a key of _FUNCTIONS, or "one"
    _arg: np.ndarray  # per function column: (kind, i, j)
    mono: np.ndarray
    func: np.ndarray

    def __len__(self) -> int:
        return self.values.shape[1]

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """The library's columns on other rows (e.g. the validation split).

        Parameters
        ----------
        X : ndarray, shape (n, n_inputs)

        Returns
        -------
        ndarray, shape (n, n_columns)
            Not necessarily finite: a log column may meet a negative input
            there that the build rows did not hold.
        """
        X = np.asarray(X, dtype=float)
        return self._columns(X, np.arange(len(self)))

    def _columns(self, X: np.ndarray, cols: np.ndarray) -> np.ndarray:
        M = _monomial_values(X, self._parent, self._var, self._degree)
        G = _function_values(X, self._func_name, self._arg)
        with np.errstate(all="ignore"):
            return M[:, self.mono[cols]] * G[:, self.func[cols]]

    def expr(self, c: int, variables: Sequence[sympy.Symbol]) -> sympy.Expr:
        """Column ``c`` as a sympy expression in ``variables``."""
        mono = monomial_expr(variables, [int(p) for p in self._exponents[self.mono[c]]])
        name = self._func_name[self.func[c]]
        if name == "one":
            return mono
        kind, i, j = (int(v) for v in self._arg[self.func[c]])
        arg = variables[i] if kind == 0 else variables[i] + (1 if kind == 2 else -1) * variables[j]
        return mono * _FUNCTIONS[name][1](arg)

    def monomial_degree(self) -> np.ndarray:
        """Degree of each column's monomial factor."""
        return self._degree[self.mono]

    def argument_kind(self) -> np.ndarray:
        """Each column's function argument: 0 one input, 1 a difference, 2 a sum (also for ``"one"``: 0)."""
        return self._arg[self.func, 0]

    def function_name(self) -> np.ndarray:
        """Each column's function (``"one"`` for a plain monomial)."""
        return self._func_name[self.func]


def _function_values(X: np.ndarray, names: np.ndarray, arg: np.ndarray) -> np.ndarray:
    A = _argument_values(X, arg[:, 0], arg[:, 1], arg[:, 2])
    G = np.ones((X.shape[0], len(names)))
    with np.errstate(all="ignore"):
        for name in _FUNCTIONS:  # a loop over the 8 functions, each applied to all its arguments at once
            cols = np.flatnonzero(names == name)
            if len(cols):
                G[:, cols] = _FUNCTIONS[name][0](A[:, cols])
    return G


def _function_table(X: np.ndarray, included: list[Family]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The function columns the included families use, with their domains checked on ``X``.

    Returns
    -------
    name : (n_func,) str
        Row 0 is ``"one"`` (the constant 1).
    arg : (n_func, 3) int
        (kind, i, j) of the argument.
    group : (n_func,) str
        ``"one"``, ``"single"``, ``"pair"`` (also ``sq``) or ``"diff"`` (difference, not ``sq``).
    """
    groups = {fam.functions for fam in included}
    kind, i, j, A = _arguments(X)
    names, args, group = [np.array(["one"])], [np.zeros((1, 3), int)], [np.array(["one"])]
    for name in _PAIR:
        ok = _domain_ok(A, _FUNCTIONS[name][2])
        for g, sel in (("single", kind == 0), ("pair", kind > 0)):
            if g not in groups and not (g == "pair" and "diff" in groups):
                continue
            if g == "single" and name not in _SINGLE:
                continue
            idx = np.flatnonzero(ok & sel)
            names.append(np.full(len(idx), name))
            args.append(np.column_stack([kind[idx], i[idx], j[idx]]))
            # a difference's function (not its square) may also multiply a monomial
            group.append(np.where((kind[idx] == 1) & (name != "sq"), "diff", g) if g == "pair" else np.full(len(idx), g))
    return np.concatenate(names), np.concatenate(args), np.concatenate(group)


def build_library(X: np.ndarray, max_columns: int = 3000, max_cells: int = 3_000_000,
                  max_degree: int = 4) -> FeatureLibrary:
    """Build the feature library on the rows of ``X``.

    Parameters
    ----------
    X : ndarray, shape (n_rows, n_inputs)
    max_columns : int
        Most columns (before dropping).
    max_cells : int
        Most ``columns × rows`` (memory: 8 bytes each, several copies live).
    max_degree : int
        Highest polynomial degree (families of higher degree are left out
        first anyway when the caps bind).

    Returns
    -------
    FeatureLibrary
    """
    X = np.asarray(X, dtype=float)
    n, d = X.shape
    included, skipped = plan_families(d, n, max_columns, max_cells, max_degree)
    need_degree = max((fam.degree for fam in included), default=0)
    exps, parent, var, degree = _monomial_tree(d, need_degree)
    fname, farg, fgroup = _function_table(X, included)
    monos, funcs, fams = [], [], []
    for fam in included:  # a loop over the (at most ten) families
        mono = np.flatnonzero(degree == fam.degree)
        func = np.flatnonzero(fgroup == fam.functions) if fam.functions != "pair" else \
            np.flatnonzero(np.isin(fgroup, ("pair", "diff")))
        mm, ff = np.meshgrid(mono, func, indexing="ij")
        monos.append(mm.ravel())
        funcs.append(ff.ravel())
        fams.append(np.full(mm.size, fam.name))
    mono, func = np.concatenate(monos), np.concatenate(funcs)
    lib = FeatureLibrary(np.empty((n, 0)), np.concatenate(fams), included, skipped, 0,
                         exps, parent, var, degree, fname, farg, mono, func)
    values = lib._columns(X, np.arange(len(mono)))
    finite = np.all(np.isfinite(values) & (np.abs(values) < _HUGE), axis=0)
    Z, _, norm = standardize(np.where(finite, values, 0.0))
    scale = np.max(np.abs(values), axis=0, initial=0.0, where=np.isfinite(values))
    varies = finite & (norm > 1e-10 * np.sqrt(n) * scale)
    keep = np.flatnonzero(varies)
    keep = keep[~_duplicates(Z[:, keep])]
    lib.values, lib.family = values[:, keep], lib.family[keep]
    lib.mono, lib.func = mono[keep], func[keep]
    lib.dropped = len(mono) - len(keep)
    return lib
