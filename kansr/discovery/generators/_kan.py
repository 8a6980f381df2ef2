"""Generators that train a KAN of a given shape and snap its edges to formulas."""
from __future__ import annotations

import warnings

import numpy as np
import sympy
import torch

from kansr.discovery._state import Search
from kansr.nn._model import KAN
from kansr.structure._shaped import ShapedLayout
from kansr.symbolic._formula import model_formula
from kansr.symbolic._snap import auto_symbolic, fix_symbolic
from kansr.train._fit import fit
from kansr.train._pruning import prune


def kan_formulas(s: Search, width, target: np.ndarray, steps: int, lamb: float = 0.0,
                  prune_model: bool = False, seed: int = 0, mult_arity: int = 2,
                  first_mask: np.ndarray | None = None, linear_output: bool = False,
                  layout: ShapedLayout | None = None) -> tuple[list[sympy.Expr], KAN]:
    """Train a KAN of ``width`` on (X, target) and snap it in several ways.

    Edge fits are only as exact as the splines, so each snapping strictness
    (how much better a complex function must fit to beat a simple one) gives
    its own formula; the constant refit on the data arbitrates later.  With
    ``layout`` (a structure-shaped KAN) its widths, arity and edge masks are
    used instead of ``width`` and ``mult_arity``.
    """
    if layout is not None:
        width, mult_arity = layout.width, layout.mult_arity
    model = KAN(width, grid=5, k=3, seed=seed, dtype=torch.float64, input_names=s.names, mult_arity=mult_arity)
    model.set_normalization(s.X, target)
    if first_mask is not None:
        with torch.no_grad():
            model.layers[0].mask.copy_(torch.as_tensor(first_mask))
    if layout is not None:
        with torch.no_grad():
            for layer, mask, slots in zip(model.layers, layout.masks, layout.factor_slots):
                layer.mask.copy_(torch.as_tensor(mask))
                layer.bias[torch.as_tensor(slots, dtype=torch.long)] = 1.0  # a product's factors start near 1
        for l, i, j in layout.linear:
            fix_symbolic(model, l, i, j, "x", fit_params=False)
    if linear_output:  # the last layer is an affine map of its input: trainable c*(a*x+b)+d
        for j in range(model.layers[-1].n_in):
            fix_symbolic(model, len(model.layers) - 1, j, 0, "x", fit_params=False)
    if isinstance(width[1], list) and width[1][1] > 0:
        # Factors start near 1, so a product of several has useful gradients.
        with torch.no_grad():
            model.layers[0].bias[width[1][0]:] = 1.0
    limit = s.budget.time_limit(reserve=2.0, floor=0.5)
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
        # Snapping takes seconds on a busy machine: the stricter pass is a refinement
        # the budget may not afford (the first always runs, so training is not wasted).
        if exprs and s.budget.over(reserve=2.0):
            break
        snapped = model.copy()
        auto_symbolic(snapped, s.X, library=s.library, loss_floor=loss_floor)
        with warnings.catch_warnings():  # retrain the affine constants of the snapped edges
            warnings.simplefilter("ignore")
            # Cut by the budget, the retrain keeps its last step: the constant refit
            # of every proposal (Search.add) finishes the job.
            if fit(snapped, s.X, target, steps=10, progress=False, update_grid=False, seed=seed,
                   time_limit=s.budget.time_limit(reserve=1.0, floor=0.2)).interrupted:
                raise KeyboardInterrupt
        expr = model_formula(snapped, s.names).expr
        if all(expr != e for e in exprs):
            exprs.append(expr)
    return exprs, model


def gen_additive(s: Search) -> None:
    for expr in kan_formulas(s, [len(s.names), 1], s.y, steps=30, seed=s.seed)[0]:
        s.add(expr, "additive")


def log_target(s: Search) -> tuple[np.ndarray, float] | None:
    if np.all(s.y > 0):
        return np.log(s.y), 1.0
    if np.all(s.y < 0):
        return np.log(-s.y), -1.0
    return None


def gen_multiplicative(s: Search) -> None:
    lt = log_target(s)
    if lt is None:
        return
    target, sign = lt
    for expr in kan_formulas(s, [len(s.names), 1], target, steps=30, seed=s.seed)[0]:
        s.add(sign * sympy.exp(expr), "multiplicative")


def gen_separable_product(s: Search) -> None:
    """``y = prod_i g_i(x_i)`` in the original space, so factors may change sign (``p*cos(theta)/r**2``)."""
    n = len(s.names)
    if n < 2:
        return
    for expr in kan_formulas(s, [n, [0, 1], 1], s.y, steps=40, seed=s.seed, mult_arity=n, first_mask=np.eye(n),
                              linear_output=True)[0]:
        s.add(expr, "separable_product")


def gen_composite(s: Search) -> None:
    for expr in kan_formulas(s, [len(s.names), 1, 1], s.y, steps=40, seed=s.seed)[0]:
        s.add(expr, "composite")
    lt = log_target(s)
    if lt is not None and not s.budget.over(reserve=5.0):
        target, sign = lt
        for expr in kan_formulas(s, [len(s.names), 1, 1], target, steps=40, seed=s.seed)[0]:
            s.add(sign * sympy.exp(expr), "composite_log")


def gen_product(s: Search) -> None:
    n = len(s.names)
    if n < 2:
        return
    for width in ([n, [0, 1], 1], [n, [1, 1], 1]):
        if s.budget.over(reserve=5.0) or s.solved():
            return
        for expr in kan_formulas(s, width, s.y, steps=40, lamb=1e-3, prune_model=True, seed=s.seed)[0]:
            s.add(expr, "product")


def gen_kan(s: Search) -> None:
    n = len(s.names)
    lt = log_target(s)
    # On log|y| a product of groups (m*(u**2+v**2)) becomes a sum of groups.
    runs = [(s.y, 1.0, [n, [2, 2], 1])]
    if lt is not None:
        runs.append((lt[0], lt[1], [n, [2, 2], 1]))
    runs.append((s.y, 1.0, [n, [4, 2], 1]))
    for target, sign, width in runs:
        if s.budget.over(reserve=5.0) or s.solved():
            return
        exprs, model = kan_formulas(s, width, target, steps=50, lamb=1e-3, prune_model=True, seed=s.seed)
        if target is s.y:
            s.model = model
        for expr in exprs:
            s.add(expr if target is s.y else sign * sympy.exp(expr), "kan" if target is s.y else "kan_log")
