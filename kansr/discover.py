"""One call from data to a formula: :func:`discover`.

Several *structure generators* each propose formulas; every proposal has its
constants refitted on the training split and snapped to simple values, and
is then scored on the validation split.  The proposals form a Pareto front of
complexity against validation error, from which one formula is chosen.

Generators (cheapest first; each is skipped when it does not apply):

``linear``
    Least squares ``y = sum_i w_i x_i + c``.
``power_law``
    ``y = C * prod_i x_i^p_i`` fitted as a linear model of ``log|y|`` on
    ``log x_i`` (positive inputs, single-signed target).
``monomial_sum``
    Sparse sums of up to four monomials with exponents in ``{-2, -1, 1, 2}``
    (:func:`kansr.monomials.sparse_monomial_sum`): ``G*m1*m2*(1/r2 - 1/r1)``.
``nested``
    One input only: ``y = c*f(a*g(x) + b) + d`` for every library function
    ``f`` and a dozen simple inner functions ``g`` (``x**2``, ``1/x``,
    ``sqrt(x)``, ``exp(x)``, ...), fitted by :func:`~kansr.symbolic.fitting.fit_affine`.
``additive``
    A ``[n, 1]`` KAN: ``y = sum_i g_i(x_i)``, every edge snapped.
``multiplicative``
    A ``[n, 1]`` KAN on ``log|y|``: ``y = ±exp(sum_i g_i(x_i))``.
``separable_product``
    A KAN with one multiplication node of ``n`` factors, factor ``i`` fed by
    ``x_i`` only: ``y = prod_i g_i(x_i)``, signs allowed.
``monomial_factor``
    Screens groups ``z = prod x_i^(±1)`` of two to four inputs for the form
    ``power law × F(z)`` (:mod:`kansr.monomials`) and runs the separable
    product on the inputs plus the best ``z`` (and ``z**2``):
    ``m0/sqrt(1 - v**2/c**2)``, ``exp(-(theta/sigma)**2/2)/sigma``.
``composite``
    A ``[n, 1, 1]`` KAN: ``y = F(sum_i g_i(x_i))``, and the same on ``log|y|``.
``product``
    ``[n, [0, 1], 1]`` and ``[n, [1, 1], 1]`` KANs whose multiplication node
    multiplies two learned sums (``x*y``, ``(x+1)*sin(y)``), sparsified and pruned.
``kan``
    A sparsified ``[n, [h, m], 1]`` KAN with sum and multiplication nodes,
    pruned, snapped edge by edge.

Choice rule (documented for users): among the candidates whose validation
RMSE is at most ``1.5 ×`` the lowest validation RMSE plus a round-off floor
(``1e-6 × std(y)``), take the least complex; ties go to fewer floating-point
constants, then to the lower error.
"""
from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import sympy
import torch

from .model import KAN
from .safe_expr import symbol_for
from .symbolic.constants import refit_constants, snap_constants
from .symbolic.formula import Formula, complexity, model_formula, n_floats, rationalize_constants, simplify_with_timeout
from .symbolic.snap import auto_symbolic, fix_symbolic
from .timeout import time_limit_reached
from .training import fit

__all__ = ["discover", "DiscoveryResult", "Candidate", "GENERATORS", "choose"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

GENERATORS = ("linear", "power_law", "monomial_sum", "nested", "additive", "multiplicative", "separable_product",
              "monomial_factor", "composite", "product", "kan")


@dataclass
class Candidate:
    """One formula proposed during discovery.

    Attributes
    ----------
    formula : Formula
    source : str
        Generator that proposed it.
    complexity : int
        Expression-tree node count.
    val_rmse, val_r2 : float
        Error on the validation split.
    train_rmse : float
    """

    formula: Formula
    source: str
    complexity: int
    val_rmse: float
    val_r2: float
    train_rmse: float

    def as_row(self) -> dict:
        return {
            "complexity": self.complexity,
            "val_rmse": self.val_rmse,
            "val_r2": self.val_r2,
            "formula": str(self.formula.expr),
            "source": self.source,
        }


@dataclass
class DiscoveryResult:
    """What :func:`discover` found.

    Attributes
    ----------
    formula : Formula
        The chosen formula.
    best : Candidate
    candidates : list of Candidate
        Every distinct proposal, sorted by complexity.
    pareto : list of Candidate
        The non-dominated candidates (complexity vs. validation RMSE).
    dropped_features : list of str
        Inputs the chosen formula does not use.
    model : KAN or None
        The trained network of the ``kan`` generator (for plots), if it ran.
    seconds : float
    interrupted : bool
        True when Ctrl-C cut the search short (the result holds what was found).
    """

    formula: Formula
    best: Candidate
    candidates: list[Candidate]
    pareto: list[Candidate]
    dropped_features: list[str]
    model: KAN | None = None
    seconds: float = 0.0
    interrupted: bool = False
    log: list[str] = field(default_factory=list)

    def sympy(self) -> sympy.Expr:
        return self.formula.expr

    def latex(self) -> str:
        return self.formula.latex()

    def predict(self, X) -> np.ndarray:
        return self.formula(X)

    def pareto_table(self) -> list[dict]:
        """The Pareto front as rows (complexity, val_rmse, val_r2, formula, source)."""
        return [c.as_row() for c in self.pareto]

    def __str__(self) -> str:
        return str(self.formula)


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    ss = float(np.sum((y - np.mean(y)) ** 2))
    res = float(np.sum((y - pred) ** 2))
    return 1.0 - res / ss if ss > 0 else (1.0 if res == 0 else 0.0)


def pareto_front(cands: Sequence[Candidate]) -> list[Candidate]:
    """Candidates not beaten in both complexity and validation RMSE, by complexity."""
    front: list[Candidate] = []
    for c in sorted(cands, key=lambda c: (c.complexity, c.val_rmse)):
        if not front or c.val_rmse < front[-1].val_rmse:
            front.append(c)
    return front


def choose(cands: Sequence[Candidate], y_std: float) -> Candidate:
    """The least complex candidate within 1.5× of the lowest validation RMSE (+ round-off floor).

    Ties go to fewer floating-point constants (exact ones are preferred), then to the lower error.
    """
    best_err = min(c.val_rmse for c in cands)
    ok = [c for c in cands if c.val_rmse <= 1.5 * best_err + 1e-6 * y_std]
    return min(ok, key=lambda c: (c.complexity, n_floats(c.formula.expr), c.val_rmse))


class _Budget:
    def __init__(self, seconds: float | None) -> None:
        self.start = time.perf_counter()
        self.seconds = seconds

    def left(self) -> float:
        if self.seconds is None:
            return math.inf
        return self.seconds - (time.perf_counter() - self.start)

    def over(self, reserve: float = 0.0) -> bool:
        return self.left() <= reserve


class _Search:
    """Shared state of one discovery run: data splits, symbols, the candidate pool."""

    def __init__(self, X, y, names, seed, library, budget, log):
        self.names = list(names)
        self.variables = [symbol_for(n) for n in self.names]
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(y))
        n_val = max(1, int(round(0.2 * len(y)))) if len(y) >= 10 else 0
        val, tr = perm[:n_val], perm[n_val:]
        if n_val == 0:
            val = tr
        self.X, self.y = X[tr], y[tr]
        self.Xv, self.yv = X[val], y[val]
        self.y_std = float(np.std(y)) or 1.0
        self.seed = seed
        self.library = library
        self.budget = budget
        self.pool: dict[str, Candidate] = {}
        self.log = log
        self.model: KAN | None = None

    def note(self, msg: str) -> None:
        logger.info(msg)
        self.log.append(msg)

    def add(self, expr: sympy.Expr, source: str, refit: bool = True) -> Candidate | None:
        """Refit, snap, score and record a proposal (and its unsnapped form)."""
        if expr is None or expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo, sympy.I):
            return None
        out = None
        forms = []
        try:
            if refit:
                left = self.budget.left()
                expr, _ = refit_constants(expr, self.variables, self.X, self.y,
                                          time_limit=None if math.isinf(left) else max(left - 1.0, 0.5))
            forms.append(expr)
            left = self.budget.left()
            snapped = snap_constants(expr, self.variables, self.X, self.y,
                                     time_limit=None if math.isinf(left) else max(left - 1.0, 0.5))
            forms.append(snapped)
            if not self.budget.over(reserve=2.0):
                forms.append(simplify_with_timeout(snapped, timeout=min(5.0, max(self.budget.left() / 10, 0.5))))
        except Exception as exc:  # a proposal that sympy/scipy cannot handle is skipped, not fatal
            self.note(f"{source}: skipped a proposal ({type(exc).__name__}: {exc})")
        for form in forms:
            # Integral floats (x**2.0, 1.0*x) are artefacts of fitting: make them exact.
            cand = self._score(rationalize_constants(form, rel_tol=1e-12, max_denominator=1), source)
            if cand is not None:
                key = str(cand.formula.expr)
                if key not in self.pool or self.pool[key].val_rmse > cand.val_rmse:
                    self.pool[key] = cand
                out = cand
        return out

    def _score(self, expr: sympy.Expr, source: str) -> Candidate | None:
        if not isinstance(expr, sympy.Expr):
            return None
        f = Formula(expr, self.variables)
        pv, pt = f(self.Xv), f(self.X)
        if not (np.all(np.isfinite(pv)) and np.all(np.isfinite(pt))):
            return None
        return Candidate(
            f, source, complexity(expr),
            float(np.sqrt(np.mean((pv - self.yv) ** 2))), _r2(self.yv, pv),
            float(np.sqrt(np.mean((pt - self.y) ** 2))),
        )

    def solved(self) -> bool:
        """A candidate already fits to round-off: further search cannot beat it."""
        return any(c.val_rmse <= 1e-7 * self.y_std for c in self.pool.values())


# ----------------------------------------------------------------------------- generators
def _gen_linear(s: _Search) -> None:
    A = np.column_stack([s.X, np.ones(len(s.y))])
    coef, *_ = np.linalg.lstsq(A, s.y, rcond=None)
    expr = sum(sympy.Float(w, 17) * v for w, v in zip(coef[:-1], s.variables)) + sympy.Float(coef[-1], 17)
    s.add(expr, "linear", refit=False)


def _gen_power_law(s: _Search) -> None:
    if np.any(s.X <= 0) or not (np.all(s.y > 0) or np.all(s.y < 0)):
        return
    sign = 1.0 if s.y[0] > 0 else -1.0
    A = np.column_stack([np.log(s.X), np.ones(len(s.y))])
    coef, *_ = np.linalg.lstsq(A, np.log(np.abs(s.y)), rcond=None)
    expr = sign * sympy.Float(math.exp(coef[-1]), 17)
    for p, v in zip(coef[:-1], s.variables):
        expr = expr * v ** sympy.Float(p, 17)
    s.add(expr, "power_law")


def _kan_formulas(s: _Search, width, target: np.ndarray, steps: int, lamb: float = 0.0,
                  prune_model: bool = False, seed: int = 0, mult_arity: int = 2,
                  first_mask: np.ndarray | None = None, linear_output: bool = False) -> tuple[list[sympy.Expr], KAN]:
    """Train a KAN of ``width`` on (X, target) and snap it in several ways.

    Edge fits are only as exact as the splines, so each snapping strictness
    (how much better a complex function must fit to beat a simple one) gives
    its own formula; the constant refit on the data arbitrates later.
    """
    from .pruning import prune

    model = KAN(width, grid=5, k=3, seed=seed, dtype=torch.float64, input_names=s.names, mult_arity=mult_arity)
    model.set_normalization(s.X, target)
    if first_mask is not None:
        with torch.no_grad():
            model.layers[0].mask.copy_(torch.as_tensor(first_mask))
    if linear_output:  # the last layer is an affine map of its input: trainable c*(a*x+b)+d
        for j in range(model.layers[-1].n_in):
            fix_symbolic(model, len(model.layers) - 1, j, 0, "x", fit_params=False)
    if isinstance(width[1], list) and width[1][1] > 0:
        # Factors start near 1, so a product of several has useful gradients.
        with torch.no_grad():
            model.layers[0].bias[width[1][0]:] = 1.0
    limit = None if s.budget.seconds is None else max(s.budget.left() - 2.0, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Nothing is learned yet: place every layer's knots on the samples (free),
        # so that the tolerance-bounded updates during training only refine them.
        model.update_grid(s.X, tolerance=None)
        runs = [fit(model, s.X, target, steps=steps, lamb=lamb, progress=False, seed=seed, time_limit=limit)]
        if prune_model and not runs[0].interrupted:
            model = prune(model, s.X, node_threshold=0.03, edge_threshold=0.03)
            runs.append(fit(model, s.X, target, steps=max(steps // 2, 5), progress=False, seed=seed,
                            update_grid=False, time_limit=limit))
    if any(r.interrupted for r in runs):  # fit kept its model; the search itself must stop
        raise KeyboardInterrupt
    exprs = []
    for loss_floor in (1e-3, 1e-5):
        snapped = model.copy()
        auto_symbolic(snapped, s.X, library=s.library, loss_floor=loss_floor)
        with warnings.catch_warnings():  # retrain the affine constants of the snapped edges
            warnings.simplefilter("ignore")
            if fit(snapped, s.X, target, steps=10, progress=False, update_grid=False, seed=seed).interrupted:
                raise KeyboardInterrupt
        expr = model_formula(snapped, s.names).expr
        if all(expr != e for e in exprs):
            exprs.append(expr)
    return exprs, model


def _gen_additive(s: _Search) -> None:
    for expr in _kan_formulas(s, [len(s.names), 1], s.y, steps=30, seed=s.seed)[0]:
        s.add(expr, "additive")


def _log_target(s: _Search) -> tuple[np.ndarray, float] | None:
    if np.all(s.y > 0):
        return np.log(s.y), 1.0
    if np.all(s.y < 0):
        return np.log(-s.y), -1.0
    return None


def _gen_multiplicative(s: _Search) -> None:
    lt = _log_target(s)
    if lt is None:
        return
    target, sign = lt
    for expr in _kan_formulas(s, [len(s.names), 1], target, steps=30, seed=s.seed)[0]:
        s.add(sign * sympy.exp(expr), "multiplicative")


def _gen_separable_product(s: _Search) -> None:
    """``y = prod_i g_i(x_i)`` in the original space, so factors may change sign (``p*cos(theta)/r**2``)."""
    n = len(s.names)
    if n < 2:
        return
    for expr in _kan_formulas(s, [n, [0, 1], 1], s.y, steps=40, seed=s.seed, mult_arity=n, first_mask=np.eye(n),
                              linear_output=True)[0]:
        s.add(expr, "separable_product")


def _monomial_expr(variables: Sequence[sympy.Symbol], exponents: Sequence) -> sympy.Expr:
    """``prod_i variables[i] ** exponents[i]`` (zero exponents left out)."""
    return sympy.Mul(*[v ** p for v, p in zip(variables, exponents) if p])


def _gen_monomial_sum(s: _Search) -> None:
    from .monomials import sparse_monomial_sum

    for exponents, coef, _ in sparse_monomial_sum(s.X, s.y):
        terms = [sympy.Float(c, 17) * _monomial_expr(s.variables, e) for c, e in zip(coef[1:], exponents)]
        s.add(sympy.Float(coef[0], 17) + sympy.Add(*terms), "monomial_sum")
        if s.solved() or s.budget.over(reserve=2.0):
            return


def _inner_transforms(z: np.ndarray, var: sympy.Symbol) -> list[tuple[np.ndarray, sympy.Expr]]:
    """Simple inner functions g(z) for nested fits ``c*f(a*g(z) + b) + d``."""
    out = [(z, var), (z ** 2, var ** 2), (z ** 3, var ** 3)]
    if np.all(z != 0):
        out += [(1 / z, 1 / var), (z ** -2.0, var ** -2)]
    if np.all(z > 0):
        out += [(np.sqrt(z), sympy.sqrt(var)), (np.log(z), sympy.log(var))]
    if np.max(np.abs(z)) < 30:
        out += [(np.exp(z), sympy.exp(var)), (np.exp(-z), sympy.exp(-var)), (np.sin(z), sympy.sin(var)),
                (np.cos(z), sympy.cos(var))]
    return [(g, e) for g, e in out if np.all(np.isfinite(g)) and np.ptp(g) > 0]


def _gen_nested(s: _Search) -> None:
    """One input: ``y = c*f(a*g(x) + b) + d`` for library f and a simple g (``1/sqrt(1 - x**2)``)."""
    if len(s.names) != 1:
        return
    from .symbolic.fitting import fit_affine
    from .symbolic.library import get_library

    library = get_library() if s.library is None else s.library
    library = library if isinstance(library, dict) else {f.name: f for f in library}
    transforms = _inner_transforms(s.X[:, 0], s.variables[0])
    rows = np.stack([g for g, _ in transforms])
    result = fit_affine(rows, np.tile(s.y, (len(rows), 1)), library=library)
    fits = [(cand, g_expr) for edge, (_, g_expr) in enumerate(transforms) for cand in result.ranked(edge)[:2]]
    fits.sort(key=lambda item: -item[0].score)
    for cand, g_expr in fits[:5]:  # each proposal costs a constant refit and snap
        if s.budget.over(reserve=2.0):
            return
        f = library[cand.name]
        inner = sympy.Float(cand.a, 17) * g_expr + sympy.Float(cand.b, 17)
        s.add(sympy.Float(cand.c, 17) * f.sympy_fn(inner) + sympy.Float(cand.d, 17), "nested")


def _gen_monomial_factor(s: _Search) -> None:
    from .monomials import monomial_values, prefactor_exponents, screen_monomials

    groups = screen_monomials(s.X, s.y)
    for e, gain in groups:
        z_expr = _monomial_expr(s.variables, e)
        s.note(f"monomial_factor: z = {z_expr} (residual / {gain:.3g})")
        z_values = monomial_values(s.X, e)
        # y = prefactor * F(z) is ambiguous along z's own exponents: fix one
        # input of z at exponent 0 (each choice in turn), round the others,
        # and find F on the 1-D data (z, y / prefactor).
        for pivot in [i for i, p in enumerate(e) if p]:
            if s.budget.over(reserve=5.0) or s.solved():
                return
            powers = prefactor_exponents(s.X, s.y, e, pivot)
            prefactor = _monomial_expr(s.variables, powers)
            ratio = s.y / monomial_values(s.X, [float(p) for p in powers])
            left = s.budget.left()
            inner = discover(z_values[:, None], ratio, ["z"], seed=s.seed,
                             time_budget=None if math.isinf(left) else max(min(left / 3, 20.0), 2.0),
                             generators=("power_law", "nested", "additive", "multiplicative", "composite"))
            z = symbol_for("z")
            for cand in inner.pareto[:4]:
                s.add(prefactor * cand.formula.expr.xreplace({z: z_expr}), "monomial_factor")
            if inner.interrupted:  # the inner search kept its results; this one must stop too
                raise KeyboardInterrupt


def _gen_composite(s: _Search) -> None:
    for expr in _kan_formulas(s, [len(s.names), 1, 1], s.y, steps=40, seed=s.seed)[0]:
        s.add(expr, "composite")
    lt = _log_target(s)
    if lt is not None and not s.budget.over(reserve=5.0):
        target, sign = lt
        for expr in _kan_formulas(s, [len(s.names), 1, 1], target, steps=40, seed=s.seed)[0]:
            s.add(sign * sympy.exp(expr), "composite_log")


def _gen_product(s: _Search) -> None:
    n = len(s.names)
    if n < 2:
        return
    for width in ([n, [0, 1], 1], [n, [1, 1], 1]):
        if s.budget.over(reserve=5.0) or s.solved():
            return
        for expr in _kan_formulas(s, width, s.y, steps=40, lamb=1e-3, prune_model=True, seed=s.seed)[0]:
            s.add(expr, "product")


def _gen_kan(s: _Search) -> None:
    n = len(s.names)
    lt = _log_target(s)
    # On log|y| a product of groups (m*(u**2+v**2)) becomes a sum of groups.
    runs = [(s.y, 1.0, [n, [2, 2], 1])]
    if lt is not None:
        runs.append((lt[0], lt[1], [n, [2, 2], 1]))
    runs.append((s.y, 1.0, [n, [4, 2], 1]))
    for target, sign, width in runs:
        if s.budget.over(reserve=5.0) or s.solved():
            return
        exprs, model = _kan_formulas(s, width, target, steps=50, lamb=1e-3, prune_model=True, seed=s.seed)
        if target is s.y:
            s.model = model
        for expr in exprs:
            s.add(expr if target is s.y else sign * sympy.exp(expr), "kan" if target is s.y else "kan_log")


_GENERATOR_FUNCS: dict[str, Callable[[_Search], None]] = {
    "linear": _gen_linear,
    "power_law": _gen_power_law,
    "additive": _gen_additive,
    "multiplicative": _gen_multiplicative,
    "separable_product": _gen_separable_product,
    "monomial_factor": _gen_monomial_factor,
    "nested": _gen_nested,
    "monomial_sum": _gen_monomial_sum,
    "composite": _gen_composite,
    "product": _gen_product,
    "kan": _gen_kan,
}


# ----------------------------------------------------------------------------- entry point
def _validate(X, y, names) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from .data import coerce_xy

    X, y = coerce_xy(X, y)
    if len(y) < 10:
        raise ValueError(f"need at least 10 samples to discover a formula; got {len(y)}")
    for what, arr in (("X", X), ("y", y)):
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise ValueError(f"{what} has {int(bad.sum())} non-finite value(s) (NaN/inf); first at row {row}")
    if names is None:
        names = [f"x{i}" for i in range(X.shape[1])]
    names = [str(n) for n in names]
    if len(names) != X.shape[1]:
        raise ValueError(f"got {len(names)} names for {X.shape[1]} columns")
    if len(set(names)) != len(names):
        raise ValueError(f"names must be distinct; got {names}")
    for n in names:
        if not n.isidentifier():
            raise ValueError(f"variable name {n!r} is not a valid identifier (letters, digits, _; not starting with a digit)")
    return X, y, names


def discover(
    X,
    y,
    names: Sequence[str] | None = None,
    *,
    seed: int = 0,
    time_budget: float | None = 60.0,
    generators: Sequence[str] = GENERATORS,
    library=None,
    progress: bool = False,
) -> DiscoveryResult:
    """Discover a closed-form formula ``y ≈ f(X)``.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
    y : array-like, shape (n_samples,)
    names : list of str, optional
        Variable names (valid identifiers; names such as ``E``, ``I``,
        ``gamma`` are plain symbols).  Default ``x0, x1, ...``.
    seed : int
        Seed of the train/validation split and of every network.
    time_budget : float or None
        Seconds to spend; generators that would start after it are skipped.
    generators : sequence of str
        Which structure generators to run (see :data:`GENERATORS`).
    library : optional
        Function library for snapping edges (names or SymbolicFunction).
    progress : bool
        Show a progress bar over the generators.

    Returns
    -------
    DiscoveryResult
        ``formula``, the ``pareto`` front and every candidate.

    Notes
    -----
    Ctrl-C stops the search and returns the best formula found so far
    (``interrupted=True``); it is re-raised only if nothing was found yet.

    Same data and seed give the same result when ``time_budget`` is None.
    With a budget, how far the search gets depends on the machine's speed.
    """
    X, y, names = _validate(X, y, names)
    unknown = [g for g in generators if g not in _GENERATOR_FUNCS]
    if unknown:
        raise ValueError(f"unknown generator(s) {unknown}; choose from {list(GENERATORS)}")
    budget = _Budget(time_budget)
    log: list[str] = []
    s = _Search(X, y, names, seed, library, budget, log)
    interrupted = False
    from tqdm.auto import tqdm

    bar = tqdm(list(generators), disable=not progress, desc="discover", leave=False)
    threads = torch.get_num_threads()
    # The networks here are small: one thread avoids synchronisation costs that
    # dominate small tensor ops (and keeps parallel benchmark workers apart).
    torch.set_num_threads(1)
    try:
        for name in bar:
            bar.set_postfix_str(name)
            if budget.over() or (s.solved() and name in ("composite", "product", "kan")):
                s.note(f"{name}: skipped ({'time budget' if budget.over() else 'already exact'})")
                continue
            t0 = time.perf_counter()
            try:
                _GENERATOR_FUNCS[name](s)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # one generator failing must not lose the others' results
                s.note(f"{name}: failed ({type(exc).__name__}: {exc})")
            s.note(f"{name}: {time.perf_counter() - t0:.2f} s, {len(s.pool)} candidates so far")
            if time_limit_reached():  # a hard limit some inner code caught and absorbed
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
        if not s.pool:
            raise
    finally:
        torch.set_num_threads(threads)
        bar.close()
    if not s.pool:  # everything failed: the mean is still an honest answer
        s.add(sympy.Float(float(np.mean(s.y)), 17), "constant", refit=False)
    cands = sorted(s.pool.values(), key=lambda c: (c.complexity, c.val_rmse))
    best = choose(cands, s.y_std)
    used = best.formula.used_variables
    return DiscoveryResult(
        formula=best.formula,
        best=best,
        candidates=cands,
        pareto=pareto_front(cands),
        dropped_features=[n for n in names if n not in used],
        model=s.model,
        seconds=time.perf_counter() - budget.start,
        interrupted=interrupted,
        log=log,
    )
