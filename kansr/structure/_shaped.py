"""A KAN shaped like a structure tree: its widths, multiplication nodes and edge masks set from the tree.

Each node of the tree becomes a node of the network: a sum (``add``, and a
leaf's pair invariant) is a sum node whose incoming edges learn its terms; a
product (``mul``, a monomial group) is a multiplication node whose factors
each receive one edge; a transform of ``y`` (``square``, ``inverse``) is one
edge that learns ``sqrt`` or ``1/x``; a leaf of one input is the input
itself (the edge out of it learns the leaf's function), and a leaf of ``k``
inputs with nothing known about it is a dense ``[k, 2k + 1, 1]`` block.
Values needed deeper than where they are computed ride through single-edge
nodes (which learn the identity).  Every other edge is masked off, so the
trained network has the tree's shape and its diagram shows it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kansr.structure._tree import StructureNode

__all__ = ["ShapedLayout", "shaped_layout"]


@dataclass
class ShapedLayout:
    """Widths, edge masks and multiplication arity of a structure-shaped KAN.

    Attributes
    ----------
    width : list
        As :class:`~kansr.nn.KAN` takes it: ``[n_inputs, [n_sum, n_mult], ..., 1]``.
    masks : list of ndarray
        One ``(n_in, n_out)`` 0/1 array per layer (``n_out`` counts each
        multiplication node's factors).
    mult_arity : int
        Factors per multiplication node (the largest product of the tree;
        a factor with no incoming edge is a trainable constant).
    factor_slots : list of ndarray
        Per layer, the output positions that are factors of a product (their
        bias should start at 1, so that an unused factor multiplies by 1).
    linear : list of (l, i, j)
        Edges that only pass on a value computed below them (a carried value,
        a child's result into its sum or product, the output): they should be
        fixed to the affine ``c*(a*x + b) + d``, not learned, so that snapping
        has nothing to guess there.
    """

    width: list
    masks: list[np.ndarray]
    mult_arity: int
    factor_slots: list[np.ndarray] = field(default_factory=list)
    linear: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def n_edges(self) -> int:
        return int(sum(m.sum() for m in self.masks))


@dataclass
class _Unit:
    kind: str  # "sum" or "mult"
    layer: int  # the layer whose values it is (1 = first hidden)


class _Plan:
    """Nodes per layer and the edges between them, before indices are fixed."""

    def __init__(self, n_inputs: int):
        self.n_inputs = n_inputs
        self.units: list[_Unit] = []
        self.edges: list[tuple[tuple[int, int], int, int]] = []  # (source value, target unit, factor slot)
        self.linear: set[int] = set()  # indices into edges

    def unit(self, kind: str, layer: int) -> int:
        self.units.append(_Unit(kind, layer))
        return len(self.units) - 1

    def edge(self, source: tuple[int, int], target: int, slot: int = 0, linear: bool = False) -> None:
        """``source`` is ``(layer, id)``: an input's column at layer 0, else a unit id."""
        assert source[0] == self.units[target].layer - 1
        if linear:
            self.linear.add(len(self.edges))
        self.edges.append((source, target, slot))

    def carry(self, value: tuple[int, int], layer: int) -> tuple[int, int]:
        """``value`` made available at ``layer`` through single-edge sum nodes."""
        while value[0] < layer:
            u = self.unit("sum", value[0] + 1)
            # an input's first edge may still learn its leaf function; a computed value is passed on
            self.edge(value, u, linear=value[0] > 0)
            value = (value[0] + 1, u)
        return value


def _compile(node: StructureNode, plan: _Plan) -> tuple[int, int]:
    """Add ``node`` to the plan; its value as ``(layer, id)``."""
    if node.kind == "leaf":
        return _compile_leaf(node, plan)
    parts = [_compile(child, plan) for child in node.children]
    top = max(layer for layer, _ in parts) + 1
    if node.kind in ("square", "inverse"):
        (child,) = parts
        u = plan.unit("sum", top)
        plan.edge(child, u)  # learns sqrt or 1/x
        return (top, u)
    u = plan.unit("sum" if node.kind == "add" else "mult", top)
    for slot, part in enumerate(parts):
        source = plan.carry(part, top - 1)
        # from an input the edge learns the leaf's function; a computed (or carried) value enters as it is
        plan.edge(source, u, slot if node.kind == "mul" else 0, linear=source[0] > 0)
    return (top, u)


def _compile_leaf(node: StructureNode, plan: _Plan) -> tuple[int, int]:
    inputs = list(node.inputs)
    if len(inputs) == 1:
        return (0, inputs[0])
    if node.monomial is not None:
        used = [(i, e) for i, e in zip(inputs, node.monomial.exponents) if e != 0]
        front = [(i, a) for i, a in zip(inputs, node.monomial.prefactor) if a != 0]
        group = plan.unit("mult", 1)  # m = prod x_i**e_i: each factor edge learns a power
        for slot, (i, _) in enumerate(used):
            plan.edge((0, i), group, slot)
        inner = plan.unit("sum", 2)  # F(m) as two edges in a row (e.g. exp, then 1/(x - 1))
        plan.edge((1, group), inner)
        outer_f = plan.unit("sum", 3)
        plan.edge((2, inner), outer_f)
        if not front:
            return (3, outer_f)
        product = plan.unit("mult", 4)
        plan.edge((3, outer_f), product, 0, linear=True)
        factor = plan.unit("mult", 1)
        for slot, (i, _) in enumerate(front):
            plan.edge((0, i), factor, slot)
        plan.edge(plan.carry((1, factor), 3), product, 1, linear=True)
        return (4, product)
    values = [(0, i) for i in inputs]
    if node.substitution is not None:
        _, a, b = node.substitution
        u = plan.unit("sum", 1)  # a - b, a + b (linear edges) or log a -+ log b (log edges)
        plan.edge((0, a), u)
        plan.edge((0, b), u)
        rest = [(0, i) for i in inputs if i not in (a, b)]
        if not rest:
            g = plan.unit("sum", 2)  # g(u): the leaf's function of its invariant
            plan.edge((1, u), g)
            return (2, g)
        values = [plan.carry(v, 1) for v in rest] + [(1, u)]
    start = max(layer for layer, _ in values)
    values = [plan.carry(v, start) for v in values]
    hidden = [plan.unit("sum", start + 1) for _ in range(2 * len(values) + 1)]
    for h in hidden:
        for v in values:
            plan.edge(v, h)
    out = plan.unit("sum", start + 2)
    for h in hidden:
        plan.edge((start + 1, h), out)
    return (start + 2, out)


def shaped_layout(tree: StructureNode, n_inputs: int) -> ShapedLayout:
    """The widths and masks of a KAN with the shape of ``tree`` (see the module docstring).

    Parameters
    ----------
    tree : StructureNode
        The root of a structure tree (``DiscoveryResult.structure``).
    n_inputs : int
        Columns of the data (inputs the tree does not use get no edges).

    Returns
    -------
    ShapedLayout
    """
    plan = _Plan(n_inputs)
    root = _compile(tree, plan)
    if root[0] == 0 or plan.units[root[1]].kind == "mult":
        out = plan.unit("sum", root[0] + 1)  # the output is a sum node; a product's offset is its edge's d
        plan.edge(root, out, linear=root[0] > 0)
        root = (root[0] + 1, out)
    depth = root[0]
    arity = max([2] + [slot + 1 for _, t, slot in plan.edges if plan.units[t].kind == "mult"])
    # Position of every unit among its layer's values: sum nodes first, then products.
    position: dict[int, int] = {}
    counts = []
    for layer in range(1, depth + 1):
        sums = [u for u, unit in enumerate(plan.units) if unit.layer == layer and unit.kind == "sum"]
        mults = [u for u, unit in enumerate(plan.units) if unit.layer == layer and unit.kind == "mult"]
        position.update({u: k for k, u in enumerate(sums + mults)})
        counts.append((len(sums), len(mults)))
    width: list = [n_inputs] + [[s, m] if m else s for s, m in counts]
    n_values = [n_inputs] + [s + m for s, m in counts]
    n_outs = [s + arity * m for s, m in counts]
    masks = [np.zeros((n_values[l], n_outs[l])) for l in range(depth)]
    linear = []
    for k, ((layer, source), target, slot) in enumerate(plan.edges):
        src = source if layer == 0 else position[source]
        n_sum = counts[layer][0]
        pos = position[target]
        column = pos if plan.units[target].kind == "sum" else n_sum + (pos - n_sum) * arity + slot
        masks[layer][src, column] = 1.0
        if k in plan.linear:
            linear.append((layer, src, column))
    slots = [np.arange(counts[l][0], n_outs[l]) for l in range(depth)]
    return ShapedLayout(width, masks, arity, slots, linear)
