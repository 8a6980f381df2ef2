"""The structure tree: separations, transforms and invariants read off a surrogate, recursively.

A node stands for a function of some inputs (the others held at a reference
point).  It is split when its inputs fall into groups that do not interact:

``add``
    ``f = f_1(x_G1) + f_2(x_G2) + ...`` (no mixed second differences across groups);
``mul``
    ``f = f_1(x_G1) * f_2(x_G2) * ...``;
``square`` / ``inverse``
    neither, but ``f**2`` (``1/f``) splits: the child is that transform of ``f``.

A node that does not split is a ``leaf``: a small problem for an exact search,
possibly in fewer variables when a pair of its inputs enters only through
``a - b``, ``a + b``, ``a * b`` or ``a / b`` (``substitution``), or in one
variable when all of them enter through one monomial ``m`` up to a monomial
factor, ``w(x) F(m(x))`` (``monomial``; Boltzmann and Planck factors).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from kansr.structure._derivatives import derivatives_of
from kansr.structure._scores import (
    THRESHOLDS,
    MonomialGroup,
    monomial_group,
    relevance,
    step_interactions,
    symmetry_scores,
)

__all__ = ["StructureNode", "find_structure", "held_rows", "choose_reference", "SPLIT_THRESHOLD", "TRANSFORMS"]

#: A pair of inputs is separable when its step score is at most this (or the
#: surrogate's relative validation error, if larger: scores below its error are noise).
SPLIT_THRESHOLD = 0.02

TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"square": np.square, "inverse": lambda f: 1.0 / f}


@dataclass
class StructureNode:
    """One node of the structure tree.

    Attributes
    ----------
    kind : {"add", "mul", "square", "inverse", "leaf"}
    inputs : list of int
        Columns of the data this node's function depends on.
    children : list of StructureNode
    substitution : tuple or None
        For a leaf, ``(kind, a, b)``: inputs ``a`` and ``b`` enter only through
        their difference, sum, product or ratio (see :data:`SYMMETRIES`).
    scores : dict
        The test scores that decided this node (for the report).
    reference : ndarray or None
        On the root: the data row at which inputs outside a node are held.
    offset : float
        For ``mul``: the constant ``C`` with ``f = C + prod_i f_i`` (a product
        inside a sum carries the sum's other terms as a constant).
    monomial : MonomialGroup or None
        For a leaf, ``f = w F(m)`` with monomials ``w`` and ``m`` of its
        inputs (see :func:`~kansr.structure._scores.monomial_group`).
    formula : sympy.Expr or None
        For a leaf, the simplest formula an inner search found for it on the
        surrogate's values (set by the ``structure`` generator; before the
        refit on the data).
    """

    kind: str
    inputs: list[int]
    children: list[StructureNode] = field(default_factory=list)
    substitution: tuple[str, int, int] | None = None
    scores: dict = field(default_factory=dict)
    reference: np.ndarray | None = None
    offset: float = 0.0
    monomial: MonomialGroup | None = None
    formula: Any = None

    def leaves(self) -> list[StructureNode]:
        if self.kind == "leaf":
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]

    def describe(self, names: list[str]) -> str:
        """A one-line form such as ``mul(q, add(Ef, mul(B, v, theta)))``."""
        if self.kind == "leaf":
            label = ", ".join(names[i] for i in self.inputs)
            if self.substitution:
                kind, a, b = self.substitution
                op = {"difference": "-", "sum": "+", "product": "*", "ratio": "/"}[kind]
                label += f" [{names[a]} {op} {names[b]}]"
            if self.monomial is not None:
                return _monomial_text(self.monomial, [names[i] for i in self.inputs])
            return label if len(self.inputs) == 1 else f"f({label})"
        text = f"{self.kind}({', '.join(c.describe(names) for c in self.children)})"
        return text + " + C" if self.offset else text

    @property
    def is_trivial(self) -> bool:
        """A single leaf: the tests found nothing to split."""
        return self.kind == "leaf" and self.substitution is None and self.monomial is None


def _power_text(names: list[str], exponents) -> str:
    num = [n if q == 1 else f"{n}**{q}" for n, q in zip(names, exponents) if q > 0]
    den = [n if q == -1 else f"{n}**{-q}" for n, q in zip(names, exponents) if q < 0]
    text = "*".join(num) or "1"
    return text + (f"/({'*'.join(den)})" if len(den) > 1 else f"/{den[0]}" if den else "")


def _monomial_text(group: MonomialGroup, names: list[str]) -> str:
    """``w*F(m)`` in the inputs' names, e.g. ``h*omega**3*F(h*omega/(kb*T))``."""
    inner = f"F({_power_text(names, group.exponents)})"
    if not any(group.prefactor):
        return inner
    return f"{_power_text(names, group.prefactor)}*{inner}"


def _components(scores: np.ndarray, threshold: float) -> list[list[int]]:
    """Groups of positions linked by a score above ``threshold`` (undecidable pairs link too)."""
    m = scores.shape[0]
    graph = nx.Graph()
    graph.add_nodes_from(range(m))
    linked = ~(scores <= threshold)  # NaN (too few trusted corners) counts as linked
    graph.add_edges_from((i, j) for i in range(m) for j in range(i + 1, m) if linked[i, j])
    return sorted(sorted(c) for c in nx.connected_components(graph))


def find_structure(func: Callable[[np.ndarray], np.ndarray], grad_func, data: np.ndarray, *,
                   error: float = 0.0, seed: int = 0, max_depth: int = 6) -> StructureNode:
    """Read the structure tree of ``func`` off its values (and gradients) near ``data``.

    Parameters
    ----------
    func : callable
        ``func(X) -> y`` for arrays of full rows (the surrogate).
    grad_func : callable or None
        A twice-differentiable torch function for the symmetry tests (see
        :func:`derivatives_of`); None skips them.
    data : ndarray, shape (N, n)
        The rows the surrogate was trained on.
    error : float
        The surrogate's relative validation error: no score below it is
        trusted, so thresholds rise to it.
    seed : int
    max_depth : int

    Returns
    -------
    StructureNode
        The root; its ``inputs`` are the relevant inputs.
    """
    n = data.shape[1]
    threshold = max(SPLIT_THRESHOLD, error)
    dropped: list[int] = []
    if grad_func is not None:
        d = derivatives_of(grad_func, data[: min(len(data), 500)])
        rel = relevance(d)
        dropped = [i for i in range(n) if rel[i] < max(THRESHOLDS["relevance"], 0.1 * error)]
    inputs = [i for i in range(n) if i not in dropped] or list(range(n))
    reference = choose_reference(func, data)
    root = _node(func, grad_func, data, inputs, reference, threshold, seed, max_depth, allow_transform=True)
    root.scores["dropped"] = dropped
    root.reference = reference
    return root


def choose_reference(func, data: np.ndarray) -> np.ndarray:
    """The row at which inputs outside a node are held: central, and where ``|f|`` is large.

    A product's factors are seen through the others' values at the reference:
    where one of them is near zero, every other factor's data would be the
    surrogate's error.  Among the fifth of the rows nearest the median, the
    one with the largest ``|f|`` is taken.
    """
    z = (data - np.median(data, 0)) / (np.std(data, 0) + 1e-300)
    central = np.argsort(np.sum(z**2, 1))[: max(1, len(data) // 5)]
    with np.errstate(all="ignore"):
        size = np.abs(func(data[central]))
    size = np.where(np.isfinite(size), size, -1.0)
    return data[central[int(np.argmax(size))]].copy()


def held_rows(data: np.ndarray, inputs: list[int], reference: np.ndarray) -> np.ndarray:
    """The data rows with every input outside ``inputs`` held at the reference point."""
    rows = np.repeat(reference[None], len(data), axis=0)
    rows[:, inputs] = data[:, inputs]
    return rows


def _node(func, grad_func, data, inputs, reference, threshold, seed, depth, allow_transform,
          value_transform: str | None = None) -> StructureNode:
    if len(inputs) == 1 or depth == 0:
        return _leaf(grad_func, data, inputs, reference, threshold, value_transform)
    rows = held_rows(data, inputs, reference)
    for kind, transform in (("split", None), *(TRANSFORMS.items() if allow_transform else ())):
        if kind == "inverse":
            with np.errstate(all="ignore"):
                f = func(rows)
            if not (np.all(f > 0) or np.all(f < 0)) or np.min(np.abs(f)) < 1e-6 * np.max(np.abs(f)):
                continue
        steps = step_interactions(func, rows, inputs, trusted=data, seed=seed, transform=transform)
        tests = [("add", steps.additive, 0.0), ("mul", steps.multiplicative, 0.0)]
        if steps.offset:
            tests.append(("mul", steps.shifted, steps.offset))  # a product plus a constant
        for op, scores, offset in tests:
            if kind != "split" and op == "mul":
                continue  # a product of a transform is a product of the function itself
            groups = _components(scores, threshold)
            if len(groups) < 2:
                continue
            if kind == "split":
                child_func = func
            else:
                child_func = _composed(transform, func)
            children = [_node(child_func, grad_func, data, [inputs[i] for i in g], reference, threshold, seed,
                              depth - 1, allow_transform=False,
                              value_transform=value_transform if kind == "split" else kind) for g in groups]
            node = StructureNode(op, list(inputs), children, scores={"max_within": _max_within(scores, groups),
                                                                      "min_across": _min_across(scores, groups),
                                                                      "corners": steps.corners})
            node.offset = offset
            if kind == "split":
                return node
            return StructureNode(kind, list(inputs), [node])
    return _leaf(grad_func, data, inputs, reference, threshold, value_transform)


def _composed(transform, func):
    def composed(X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return transform(func(X))
    return composed


def _max_within(scores: np.ndarray, groups: list[list[int]]) -> float:
    vals = [scores[i, j] for g in groups for i in g for j in g if i < j]
    return float(np.nanmax(vals)) if vals else 0.0


def _min_across(scores: np.ndarray, groups: list[list[int]]) -> float:
    vals = [scores[i, j] for a, g in enumerate(groups) for h in groups[a + 1:] for i in g for j in h]
    return float(np.nanmin(vals)) if vals else 0.0


def _leaf(grad_func, data, inputs, reference, threshold, value_transform: str | None = None) -> StructureNode:
    """A leaf, with its monomial group and the best pair invariant when they hold (gradient tests).

    ``value_transform`` names the transform of ``f`` the leaf's function is
    (under a ``square`` or ``inverse`` node), so that the monomial factor
    is that of the function the leaf's search fits.
    """
    leaf = StructureNode("leaf", list(inputs))
    if grad_func is None or len(inputs) < 2:
        return leaf
    rows = held_rows(data[: min(len(data), 500)], inputs, reference)
    d = derivatives_of(grad_func, rows)
    value = d if value_transform is None else d.transformed(value_transform)
    group = None if value is None else monomial_group(value, inputs)
    if group is not None and group.score <= max(THRESHOLDS["monomial"], threshold):
        leaf.monomial = group
        leaf.scores["monomial"] = group.score
    best = None
    for i, a in enumerate(inputs):
        for b in inputs[i + 1:]:
            for kind, score in symmetry_scores(d, a, b).items():
                if kind in ("product", "ratio") and (np.any(d.points[:, a] <= 0) or np.any(d.points[:, b] <= 0)):
                    continue
                if best is None or score < best[0]:
                    best = (score, kind, a, b)
    if best is not None and best[0] <= max(THRESHOLDS["symmetry"], threshold):
        leaf.substitution = (best[1], best[2], best[3])
        leaf.scores["symmetry"] = best[0]
    return leaf
