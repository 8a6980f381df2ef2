"""Structure first: read a tree of separations off a surrogate KAN, solve its leaves, recombine.

The surrogate (:func:`kansr.structure.fit_surrogate`) is a KAN fitted closely
to the data; :func:`kansr.structure.find_structure` splits the inputs into
groups that enter by a sum or a product (possibly of ``y**2`` or ``1/y``).
Each leaf is a problem in fewer variables, with data from the surrogate at
the training rows (the inputs of other groups held at a reference row); it
is solved by an inner discovery with the cheap exact generators.  The best
few formulas of every leaf are recombined along the tree and every
combination is refitted on the original data by ``Search.add``: the tree is
a hypothesis, the data decides.
"""
from __future__ import annotations

import itertools
import math
import time

import numpy as np
import sympy

from kansr.discovery._state import Search
from kansr.structure._surrogate import fit_surrogate
from kansr.structure._tree import TRANSFORMS, StructureNode, find_structure, held_rows
from kansr.symbolic._safe_expr import symbol_for

#: Generators an inner (leaf) search runs, if registered: exact and cheap, no structure recursion.
LEAF_GENERATORS_CHEAP = ("linear", "power_law", "monomial_sum", "sparse", "nested", "enumerate")
LEAF_GENERATORS = ("additive", "multiplicative", "separable_product")

# Surrogates worse than this (relative validation RMSE) make step scores noise.
_MAX_SURROGATE_ERROR = 0.05
_PER_LEAF = 3  # formulas kept per leaf
_MAX_COMBINATIONS = 12
_SHARE = 0.6  # most of the budget left that the generator uses (surrogate, leaves, recombination)

_OPS = {"difference": lambda a, b: a - b, "sum": lambda a, b: a + b,
        "product": lambda a, b: a * b, "ratio": lambda a, b: a / b}


def gen_structure(s: Search) -> None:
    n = s.X.shape[1]
    if n < 2:
        s.note("structure: skipped (one input)")
        return
    left = s.budget.left()
    limit = 20.0 if math.isinf(left) else max(min(0.25 * left, 20.0), 3.0)
    sur = fit_surrogate(s.X, s.y, s.Xv, s.yv, seed=s.seed, time_limit=limit)
    s.note(f"structure: surrogate {sur.model.width} on {'log|y|' if sur.log_target else 'y'}, "
           f"relative validation error {sur.val_error:.2g}, {sur.seconds:.1f} s")
    if not sur.val_error <= _MAX_SURROGATE_ERROR:
        s.note("structure: surrogate too inaccurate to test structure on")
        return
    tree = find_structure(sur, sur.torch_function, s.X, error=sur.val_error, seed=s.seed)
    s.structure = tree
    s.note(f"structure: {tree.describe(s.names)}")
    if tree.is_trivial and not tree.scores.get("dropped"):
        return
    leaves = tree.leaves()
    # The generators after this one found many formulas it misses (I.32.17, test_5 lost their
    # exact answers when it took the whole budget): it stops with _SHARE of the budget it had left.
    stop_at = -math.inf if math.isinf(left) else left * (1 - _SHARE)
    share = None if math.isinf(left) else max(0.5 * (s.budget.left() - stop_at) / len(leaves), 2.0)
    reference = tree.reference
    assert reference is not None
    options = _solve(tree, sur, s, reference, share, sur.val_error)
    for expr in options[:_MAX_COMBINATIONS]:
        if s.budget.over(reserve=max(1.0, stop_at)) or s.solved():
            break
        s.add(expr, "structure")


def _solve(node: StructureNode, func, s: Search, reference: np.ndarray, share, error: float) -> list[sympy.Expr]:
    """Formulas for ``node``'s function (of the data's variables), best guesses first."""
    if node.kind == "leaf":
        return _solve_leaf(node, func, s, reference, share, error)
    if node.kind in TRANSFORMS:
        transform = TRANSFORMS[node.kind]

        def child_func(X: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return transform(func(X))

        inner = _solve(node.children[0], child_func, s, reference, share, error)
        sign = 1.0 if np.mean(s.y) >= 0 else -1.0
        if node.kind == "square":
            return [sign * sympy.sqrt(e) for e in inner]
        return [1 / e for e in inner]
    parts = [_solve(child, func, s, reference, share, error) for child in node.children]
    if any(not p for p in parts):
        return []
    f_ref = float(func(reference[None])[0])
    k = len(parts)
    out = []
    # Best first: combinations ordered by the sum of the parts' ranks.
    combos = sorted(itertools.product(*[range(len(p)) for p in parts]), key=sum)[:_MAX_COMBINATIONS]
    for combo in combos:
        chosen = [parts[i][j] for i, j in enumerate(combo)]
        if node.kind == "add":  # f = sum_i f(x_Gi, ref) - (k - 1) f(ref)
            out.append(sympy.Add(*chosen) + sympy.Float(-(k - 1) * f_ref, 17))
        else:  # f = C + prod_i (f(x_Gi, ref) - C) / (f(ref) - C)**(k - 1)
            C = node.offset
            scale = 1.0 / (f_ref - C) ** (k - 1) if f_ref != C else 1.0
            factors = [e - sympy.Float(C, 17) for e in chosen] if C else chosen
            out.append(sympy.Float(scale, 17) * sympy.Mul(*factors) + (sympy.Float(C, 17) if C else 0))
    return out


def _monomial(s: Search, inputs: list[int], exponents) -> tuple[np.ndarray, sympy.Expr]:
    """Values on the training rows and expression of ``prod x_i**q_i`` over ``inputs``."""
    values = np.prod([s.X[:, i] ** float(q) for i, q in zip(inputs, exponents)], axis=0)
    expr = sympy.Mul(*[s.variables[i] ** sympy.Rational(q.numerator, q.denominator)
                       for i, q in zip(inputs, exponents)])
    return values, expr


def _solve_monomial_leaf(node: StructureNode, target: np.ndarray, s: Search, share, error: float) -> list[sympy.Expr]:
    """``w F(m)`` for a leaf with a monomial group: ``F`` by a one-variable search on ``(m, target / w)``."""
    from kansr.discovery._registry import GENERATORS
    from kansr.discovery._search import discover

    group = node.monomial
    assert group is not None
    m, m_expr = _monomial(s, node.inputs, group.exponents)
    w, w_expr = _monomial(s, node.inputs, group.prefactor)
    with np.errstate(all="ignore"):
        inner_target = target / w
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(inner_target))):
        return []
    u = symbol_for("m_group")
    inner = discover(m[:, None], inner_target, [u.name], seed=s.seed, time_budget=share,
                     generators=[g for g in LEAF_GENERATORS_CHEAP if g in GENERATORS])
    if inner.interrupted:
        raise KeyboardInterrupt
    picks = _simplest_within(inner.pareto, max(10 * inner.best.val_rmse, 3 * error * float(np.std(inner_target))))
    s.note(f"structure: leaf {node.describe(s.names)}: F = {picks[0].formula.expr if picks else 'none found'}")
    return [w_expr * c.formula.expr.xreplace({u: m_expr}) for c in picks[:_PER_LEAF]]


def _solve_leaf(node: StructureNode, func, s: Search, reference: np.ndarray, share, error: float) -> list[sympy.Expr]:
    from kansr.discovery._registry import GENERATORS
    from kansr.discovery._search import discover  # a leaf is a whole (smaller) discovery

    rows = held_rows(s.X, node.inputs, reference)
    with np.errstate(all="ignore"):
        target = func(rows)
    if not np.all(np.isfinite(target)):
        return []
    if node.monomial is not None:
        t0 = time.perf_counter()
        out = _solve_monomial_leaf(node, target, s, share, error)
        if out:
            node.formula = out[0]
            return out
        if share is not None:
            share = max(share - (time.perf_counter() - t0), 1.0)
    columns = [s.X[:, i] for i in node.inputs]
    names = [s.names[i] for i in node.inputs]
    symbols = [s.variables[i] for i in node.inputs]
    replace: dict[sympy.Symbol, sympy.Expr] = {}
    if node.substitution is not None:
        kind, a, b = node.substitution
        ia, ib = node.inputs.index(a), node.inputs.index(b)
        u = symbol_for("u_" + "_".join(names))
        columns = [c for i, c in enumerate(columns) if i not in (ia, ib)] + [_OPS[kind](s.X[:, a], s.X[:, b])]
        names = [nm for i, nm in enumerate(names) if i not in (ia, ib)] + [u.name]
        replace[u] = _OPS[kind](s.variables[a], s.variables[b])
    if len(node.inputs) == 1 and node.substitution is None:
        line = _affine(columns[0], target)
        if line is not None:
            node.formula = sympy.Float(line[0], 17) * symbols[0] + sympy.Float(line[1], 17)
            return [node.formula]
    X_leaf = np.column_stack(columns)
    # Cheap exact generators first; the KAN-based ones only when nothing fits to the surrogate's error.
    found = []
    scale = float(np.std(target)) or 1.0
    for gens in (LEAF_GENERATORS_CHEAP, LEAF_GENERATORS):
        t0 = time.perf_counter()
        inner = discover(X_leaf, target, names, seed=s.seed, time_budget=share,
                         generators=[g for g in gens if g in GENERATORS])
        if inner.interrupted:
            raise KeyboardInterrupt
        found += inner.pareto
        if share is not None:
            share = max(share - (time.perf_counter() - t0), 1.0)
        if inner.best.val_rmse <= max(1e-6 * scale, 3 * error * s.y_std):
            break  # as exact as the surrogate's values can tell (the picks below use the same bound)
    # The leaf's data is the surrogate's, exact only to its error: every formula of the
    # fronts within that error is a fair guess, simplest first (the refit on the data decides).
    # The surrogate's error is relative to the spread of y, not of this leaf's values.
    picks = _simplest_within(found, max(10 * min(c.val_rmse for c in found), 3 * error * s.y_std))
    out = [c.formula.expr.xreplace(replace) for c in picks[:_PER_LEAF]]
    node.formula = out[0] if out else None
    return out


def _simplest_within(found, tolerance: float) -> list:
    """The non-constant candidates within ``tolerance`` of validation RMSE, simplest first."""
    return sorted((c for c in found if c.val_rmse <= tolerance and c.formula.expr.free_symbols),
                  key=lambda c: (c.complexity, c.val_rmse))


def _affine(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """``(c, d)`` when ``y = c*x + d`` to within a surrogate's accuracy (no inner search needed)."""
    A = np.column_stack([x, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    if float(np.std(y - A @ coef)) <= 1e-3 * (float(np.std(y)) or 1.0):
        return float(coef[0]), float(coef[1])
    return None


def gen_structure_kan(s: Search) -> None:
    """Train a KAN shaped like the structure tree (:func:`kansr.structure.shaped_layout`) and snap it.

    Runs after ``structure`` has read a tree: its sums, products and
    transforms become the network's nodes, so each edge learns one piece
    (a leaf's function, a factor, ``sqrt``) and snaps on its own; the
    trained network is the result's ``model``, whose diagram shows the tree.
    """
    from kansr.discovery.generators._kan import kan_formulas
    from kansr.structure._shaped import shaped_layout

    tree = s.structure
    if tree is None or tree.is_trivial:
        s.note("structure_kan: skipped (no structure read)")
        return
    layout = shaped_layout(tree, s.X.shape[1])
    s.note(f"structure_kan: a {layout.width} KAN (arity {layout.mult_arity}) with {layout.n_edges} edges")
    exprs, model = kan_formulas(s, layout.width, s.y, steps=80, seed=s.seed, layout=layout)
    s.model = model
    for expr in exprs:
        s.add(expr, "structure_kan")
