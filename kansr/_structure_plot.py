"""The structure tree as a figure: sums, products and transforms down to the leaves' formulas."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import sympy
from matplotlib.axes import Axes

from kansr.structure._tree import StructureNode

__all__ = ["plot_structure"]

_OPERATOR = {"add": "+", "mul": "×", "square": "y²  splits", "inverse": "1/y  splits"}
_SUBSTITUTION = {"difference": "−", "sum": "+", "product": "·", "ratio": "/"}
_NODE_COLOR = {"add": "#dbe9f6", "mul": "#fde2cf", "square": "#e6e0f3", "inverse": "#e6e0f3", "leaf": "#e8f4e2"}


def _label(node: StructureNode, names: Sequence[str], digits: int) -> str:
    if node.kind != "leaf":
        text = _OPERATOR[node.kind]
        return text + (f"\n+ C = {node.offset:.3g}" if node.kind == "mul" and node.offset else "")
    text = ", ".join(names[i] for i in node.inputs)
    if node.substitution is not None:
        kind, a, b = node.substitution
        text += f"\nonly via {names[a]} {_SUBSTITUTION[kind]} {names[b]}"
    if node.formula is not None:
        shown = node.formula.xreplace({f: sympy.Float(f, digits) for f in node.formula.atoms(sympy.Float)})
        formula = str(shown)
        text += "\n≈ " + (formula if len(formula) <= 40 else formula[:39] + "…")
    return text


def _layout(root: StructureNode) -> dict[int, tuple[float, float]]:
    """Leaves left to right in tree order; a parent centred over its children; depth downwards."""
    pos: dict[int, tuple[float, float]] = {}
    next_leaf = [0.0]

    def place(node: StructureNode, depth: int) -> float:
        if not node.children:
            x = next_leaf[0]
            next_leaf[0] += 1.0
        else:
            xs = [place(child, depth + 1) for child in node.children]
            x = sum(xs) / len(xs)
        pos[id(node)] = (x, -float(depth))
        return x

    place(root, 0)
    return pos


def plot_structure(structure: StructureNode, names: Sequence[str], *, ax: Axes | None = None,
                   digits: int = 3) -> Axes:
    """Draw a structure tree (``DiscoveryResult.structure``).

    Parameters
    ----------
    structure : StructureNode
        The root, as found by the ``structure`` generator.
    names : sequence of str
        The input names, in column order (``DiscoveryResult`` callers pass
        the names given to :func:`~kansr.discovery.discover`).
    ax : matplotlib Axes, optional
    digits : int
        Significant digits of the constants in leaf formulas.

    Returns
    -------
    matplotlib.axes.Axes
        Each node is a box: ``+`` and ``×`` for the separations read off the
        surrogate, the transform of ``y`` that split, and at each leaf its
        inputs, the invariant they enter through and the formula found for it.
        Inputs the relevance test dropped are listed in the title.
    """
    if not isinstance(structure, StructureNode):
        raise TypeError(f"plot_structure needs a StructureNode (DiscoveryResult.structure), got {type(structure).__name__}")
    n_needed = max(structure.inputs + [i for leaf in structure.leaves() for i in leaf.inputs], default=-1) + 1
    if len(names) < n_needed:
        raise ValueError(f"the structure uses {n_needed} inputs but {len(names)} names were given")
    pos = _layout(structure)
    width = max(x for x, _ in pos.values()) + 1
    depth = -min(y for _, y in pos.values()) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(max(3.0, 2.6 * width), max(2.0, 1.5 * depth)))

    def draw(node: StructureNode) -> None:
        x, y = pos[id(node)]
        for child in node.children:
            cx, cy = pos[id(child)]
            ax.plot([x, cx], [y, cy], color="#888888", lw=1.0, zorder=1)
            draw(child)
        ax.text(x, y, _label(node, names, digits), ha="center", va="center", fontsize=9, zorder=2,
                bbox=dict(boxstyle="round,pad=0.4", fc=_NODE_COLOR[node.kind], ec="#555555"))

    draw(structure)
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-depth + 0.5, 0.5)
    ax.axis("off")
    dropped = structure.scores.get("dropped") or []
    title = "structure read off the surrogate KAN"
    if dropped:
        title += f" (irrelevant: {', '.join(names[i] for i in dropped)})"
    ax.set_title(title, fontsize=10)
    return ax
