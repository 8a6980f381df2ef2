"""Figures for KAN models: the network diagram, training curves, single edges, predictions,
and the structure tree discovery read off its surrogate (:func:`plot_structure`).

Every function draws with matplotlib's object API and never calls
``plt.show()``.  Pass ``ax=`` to draw into an existing figure; otherwise a
new figure is created with :mod:`matplotlib.pyplot` (so it displays in
notebooks) and the caller owns it -- close it with ``plt.close(fig)`` when
drawing many figures in a script.  :func:`save_figure` writes a file
atomically.

The network diagram is laid out on a :mod:`networkx` graph built by
:func:`network_graph`: one node per KAN node, one extra "factor" node per
input of a multiplication node, and one graph edge per active KAN edge.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import sympy
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox, blended_transform_factory

from kansr._fileio import atomic_write
from kansr._metrics import r2_rmse, r2_score
from kansr._structure_plot import plot_structure
from kansr.nn._model import KAN

__all__ = [
    "network_graph",
    "edge_formula",
    "plot_network",
    "plot_training",
    "plot_edge",
    "plot_predictions",
    "save_figure",
    "plot_structure",
]

NUMERIC_COLOR = "#222222"
SYMBOLIC_COLOR = "#c0392b"
# Layer inputs sampled per input when no data is given (spline domain sweep).
_SWEEP_POINTS = 201
# Points per thumbnail curve: enough for a smooth line, cheap for 100+ insets.
_THUMB_POINTS = 256
# Samples drawn as dots by plot_edge (a random subset of larger data sets).
_SCATTER_POINTS = 2000
_MIN_ALPHA = 0.05
# Extra space (in thumbnail slots) between the thumbnails of different input nodes.
_GROUP_GAP = 0.6


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #
def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def _check_edge(model: KAN, l: int, i: int, j: int) -> None:
    """Raise ValueError unless ``(l, i, j)`` names an edge of ``model``."""
    for name, v in (("l", l), ("i", i), ("j", j)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"edge index {name} must be an integer; got {v!r}")
    if not 0 <= l < len(model.layers):
        raise ValueError(
            f"edge (l={l}, i={i}, j={j}) does not exist: the model has {len(model.layers)} layer(s) "
            f"(l = 0..{len(model.layers) - 1})"
        )
    layer = model.layers[l]
    if not (0 <= i < layer.n_in and 0 <= j < layer.n_out):
        raise ValueError(
            f"edge (l={l}, i={i}, j={j}) does not exist in a layer of shape {layer.n_in}x{layer.n_out}"
        )


def _finite_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _fmt_r2(r2: float) -> str:
    return "n/a" if not math.isfinite(r2) else f"{r2:.4f}"


def _layer_samples(model: KAN, X: Any | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per layer: the inputs it sees (n, n_in) and every edge's output (n, n_in, n_out).

    With ``X`` these come from one forward pass; without, each layer's inputs
    sweep the core of its spline grid (where the learned function lives).
    """
    with torch.no_grad():
        if X is not None:
            _, acts = model(X, return_activations=True)
            ins = [t.double().numpy() for t in acts.inputs]
            edges = [t.double().numpy() for t in acts.edges]
            return ins, edges
        ins, edges = [], []
        for layer in model.layers:
            k = layer.k
            lo, hi = layer.grid[:, k], layer.grid[:, -k - 1]
            t = torch.linspace(0.0, 1.0, _SWEEP_POINTS, dtype=layer.grid.dtype).unsqueeze(1)
            h = lo + (hi - lo) * t
            _, e = layer(h, return_edges=True)
            ins.append(h.double().numpy())
            edges.append(e.double().numpy())
        return ins, edges


def _importance(layer_edges: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean |activation| of each edge divided by the layer's largest (0 for pruned edges)."""
    finite = np.isfinite(layer_edges)
    count = finite.sum(0)
    total = np.where(finite, np.abs(layer_edges), 0.0).sum(0)
    score = np.divide(total, count, out=np.zeros_like(total), where=count > 0) * (mask > 0)
    top = score.max() if score.size else 0.0
    if not np.isfinite(top) or top <= 0:
        return np.zeros_like(score)
    return score / top


def _round_number(v: float, digits: int) -> sympy.Expr:
    if not math.isfinite(v):
        return sympy.Float(v)
    r = float(f"{v:.{digits}g}")
    if r == round(r) and abs(r) < 1e4:
        return sympy.Integer(int(round(r)))
    return sympy.Float(r, digits)


def _affine_text(func: Any, name: str, a: float, b: float, c: float, d: float, var: str, digits: int) -> str:
    """``c*f(a*x+b)+d`` as short text: sympy drops unit factors and zero terms."""
    try:
        ra, rb, rc, rd = (_round_number(v, digits) for v in (a, b, c, d))
        return str(rc * func.sympy_fn(ra * sympy.Symbol(var) + rb) + rd)
    except Exception:  # noqa: BLE001 - no usable sympy form: plain text
        return f"{c:.{digits}g}*{name}({a:.{digits}g}*{var}{b:+.{digits}g}){d:+.{digits}g}"


def edge_formula(model: KAN, l: int, i: int, j: int, digits: int = 2) -> str | None:
    """Short text of a symbolic edge, ``c*f(a*x+b)+d`` with rounded constants.

    Parameters
    ----------
    model : KAN
    l, i, j : int
        Layer, input node and output (sub)node of the edge.
    digits : int
        Significant digits of the constants.

    Returns
    -------
    str or None
        None if the edge is numeric (a spline).  The variable is the input
        name for layer 0 and ``x`` otherwise.
    """
    _check_edge(model, l, i, j)
    layer = model.layers[l]
    name = layer.symbolic_names[i][j]
    if name is None or float(layer.symbolic_mask[i, j]) == 0:
        return None
    a, b, c, d = (float(v) for v in layer.affine[i, j].detach())
    var = model.input_names[i] if l == 0 else "x"
    return _affine_text(layer.symbolic_functions.get(name), name, a, b, c, d, var, digits)


def _lookup_function(model: KAN, l: int, name: str) -> Any | None:
    """The library function called ``name`` (the layer's own first), or None."""
    known = getattr(model.layers[l], "symbolic_functions", {}).get(name)
    if known is not None:
        return known
    try:
        from kansr.symbolic._library import get_library

        return get_library([name])[name]
    except Exception:  # noqa: BLE001 - library missing or name unknown
        return None


# --------------------------------------------------------------------------- #
# Network graph and layout
# --------------------------------------------------------------------------- #
def network_graph(model: KAN) -> nx.DiGraph:
    """The layered graph of a KAN, with positions for drawing.

    Graph nodes are ``("node", l, n)`` for node ``n`` of layer ``l``
    (``l = 0`` inputs, ``l = L`` outputs) and ``("factor", l, s)`` for the
    subnode ``s`` of layer ``l`` that feeds a multiplication node.
    Attributes: ``kind`` (``"input"``, ``"sum"``, ``"mult"``, ``"factor"``),
    ``layer``, ``index``, ``pos`` ``(x, y)`` with ``y = l`` and ``x`` in
    ``[0, graph.graph["width"]]``, and ``label`` (inputs and outputs).

    Every active KAN edge (``mask > 0``) of layer ``l`` from input ``i`` to
    output subnode ``j`` is a graph edge with ``kind="edge"``, ``l``, ``i``,
    ``j``, ``symbolic`` and ``slot`` (its place among the layer's active
    edges, used to position its thumbnail).  Factor nodes link to their
    multiplication node with ``kind="factor"`` edges.

    Parameters
    ----------
    model : KAN

    Returns
    -------
    networkx.DiGraph
    """
    g = nx.DiGraph()
    L = len(model.layers)
    active = [
        [(i, j) for i in range(layer.n_in) for j in range(layer.n_out) if float(layer.mask[i, j]) > 0]
        for layer in model.layers
    ]
    counts = [sum(w) for w in model.widths]
    # A layer's thumbnails form one row grouped by input node, with a gap of
    # _GROUP_GAP slots between groups so the fan of each input stays visible.
    row_units = []
    for edges in active:
        n_groups = len({i for i, _ in edges})
        row_units.append(len(edges) + _GROUP_GAP * max(n_groups - 1, 0))
    # Common horizontal extent: one unit per slot of the busiest row, so the
    # densest row of thumbnails (or nodes) fills the width.
    width = float(max([1, *counts, *row_units]))
    g.graph.update(width=width, n_layers=L, slots=[len(a) for a in active], pitch=[])
    for l, (n_sum, n_mult) in enumerate(model.widths):
        n_nodes = n_sum + n_mult
        spacing = width / n_nodes
        for n in range(n_nodes):
            kind = "input" if l == 0 else ("sum" if n < n_sum else "mult")
            label = None
            if l == 0:
                label = model.input_names[n]
            elif l == L:
                label = model.output_names[n]
            g.add_node(("node", l, n), kind=kind, layer=l, index=n, pos=((n + 0.5) * spacing, float(l)), label=label)
        # Factor subnodes sit just below their product node, spread sideways.
        for m in range(n_mult):
            parent = ("node", l, n_sum + m)
            px, _ = g.nodes[parent]["pos"]
            for f in range(model.mult_arity):
                s = n_sum + m * model.mult_arity + f
                dx = (f - (model.mult_arity - 1) / 2) * 0.5 * spacing / model.mult_arity
                g.add_node(("factor", l, s), kind="factor", layer=l, index=s, pos=(px + dx, l - 0.13), label=None)
                g.add_edge(("factor", l, s), parent, kind="factor")
    for l, layer in enumerate(model.layers):
        n_sum = model.widths[l + 1][0]
        pitch = width / row_units[l] if row_units[l] else width
        g.graph["pitch"].append(pitch)
        group, prev_i = -1, None
        for slot, (i, j) in enumerate(active[l]):
            if i != prev_i:
                group, prev_i = group + 1, i
            target = ("node", l + 1, j) if j < n_sum else ("factor", l + 1, j)
            g.add_edge(
                ("node", l, i), target, kind="edge", l=l, i=i, j=j, slot=slot,
                thumb_x=(slot + 0.5 + _GROUP_GAP * group) * pitch,
                symbolic=bool(float(layer.symbolic_mask[i, j]) > 0),
            )
    return g


class _DataBoundsLocator:
    """Place an axes over a rectangle given in another axes' data coordinates.

    Evaluated at every draw, so the thumbnails follow their parent when the
    layout changes (``bbox_inches="tight"``, constrained layout, resizing).
    """

    def __init__(self, parent: Axes, bounds: tuple[float, float, float, float]) -> None:
        self.parent = parent
        self.bounds = bounds

    def __call__(self, ax: Axes, renderer: Any) -> Bbox:
        display = Bbox.from_bounds(*self.bounds).transformed(self.parent.transData)
        return display.transformed(self.parent.figure.transSubfigure.inverted())


def _add_data_axes(parent: Axes, bounds: tuple[float, float, float, float]) -> Axes:
    """A figure-level axes (so it counts in ``fig.axes``) pinned to ``bounds`` in parent data units."""
    locator = _DataBoundsLocator(parent, bounds)
    fig = parent.figure
    child = fig.add_axes(locator(None, None).bounds, axes_locator=locator)
    child.set_zorder(parent.get_zorder() + 1)
    return child


def _axes_inches(ax: Axes) -> tuple[float, float]:
    """Current size of ``ax`` in inches (works inside subfigures too)."""
    dpi = ax.figure.dpi
    return max(ax.bbox.width / dpi, 1e-3), max(ax.bbox.height / dpi, 1e-3)


def plot_network(
    model: KAN,
    X: Any | None = None,
    *,
    ax: Axes | None = None,
    scale_by_importance: bool = True,
    show_symbolic: bool = True,
    names: bool = True,
    beta: float = 3.0,
    thumbnail_size: float | None = None,
) -> Figure:
    """Draw the KAN diagram with every edge's learned function as a thumbnail.

    Nodes are drawn layer by layer (inputs at the bottom, outputs at the
    top); multiplication nodes show a "×" with their factor subnodes just
    below.  Each active edge is a line from its input node through a small
    inset plot of its 1-D function to its output (sub)node; a layer's
    thumbnails sit in a row between the two node rows, grouped by input node.

    Parameters
    ----------
    model : KAN
    X : array-like, shape (n_samples, n_inputs), optional
        Data whose activations are drawn (each edge on the range of its
        inputs).  Without it each edge is drawn on its spline grid's range.
    ax : Axes, optional
        Axes to draw into (its axis is turned off).  The thumbnails are
        added to its figure, pinned to positions in ``ax``'s data coordinates.
    scale_by_importance : bool
        Fade edges by importance: alpha ``tanh(beta * s)`` (at least 0.05),
        ``s`` the edge's mean |activation| over the layer's largest.
    show_symbolic : bool
        Label symbolic edges with their formula (drawn in red either way).
    names : bool
        Label the input and output nodes with the model's variable names.
    beta : float
        Steepness of the importance-to-alpha map.
    thumbnail_size : float, optional
        Largest thumbnail side in inches (default 0.8); thumbnails shrink to
        fit crowded layers.

    Returns
    -------
    Figure
        The figure holding ``ax``; the thumbnails are its extra axes (one per
        active edge, with gid ``"kan-edge-l-i-j"``).
    """
    if not isinstance(model, KAN):
        raise TypeError(f"plot_network needs a KAN model, got {type(model).__name__}")
    if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive number; got {beta!r}")
    if thumbnail_size is not None and not (
        isinstance(thumbnail_size, (int, float)) and math.isfinite(thumbnail_size) and thumbnail_size > 0
    ):
        raise ValueError(f"thumbnail_size must be a positive number of inches; got {thumbnail_size!r}")
    max_side = 0.8 if thumbnail_size is None else float(thumbnail_size)

    g = network_graph(model)
    L = g.graph["n_layers"]
    width = g.graph["width"]
    if ax is None:
        # About one inch per slot, capped so wide models still fit a page.
        fig_w = float(np.clip(0.85 * width + 0.6, 3.5, 16.0))
        fig_h = 1.9 * L + 0.7
        ax = _new_axes(None, (fig_w, fig_h))
        ax.set_position((0.01, 0.01, 0.98, 0.98))
    fig = ax.figure
    ax.set_axis_off()
    y_lo, y_hi = -0.3, L + 0.3
    ax.set_xlim(0.0, width)
    ax.set_ylim(y_lo, y_hi)
    in_w, in_h = _axes_inches(ax)
    ux, uy = in_w / width, in_h / (y_hi - y_lo)  # inches per data unit

    ins, edges = _layer_samples(model, X)
    alphas = []
    for l, layer in enumerate(model.layers):
        mask = layer.mask.detach().double().numpy()
        if scale_by_importance:
            alphas.append(np.clip(np.tanh(beta * _importance(edges[l], mask)), _MIN_ALPHA, 1.0))
        else:
            alphas.append(np.ones_like(mask))

    # Thumbnail geometry per layer: a crowded row is split into staggered
    # rows so each thumbnail can be wider than its slot.
    geometry = []
    for l in range(L):
        n_slots = g.graph["slots"][l]
        if n_slots == 0:
            geometry.append(None)
            continue
        pitch_in = g.graph["pitch"][l] * ux
        rows = 1 if pitch_in >= 0.45 or n_slots < 4 else 2
        side = min(max_side, 0.85 * pitch_in * rows, 0.5 * uy / rows)
        geometry.append((rows, side / ux, side / uy))

    node_spacing_in = min(width / (sum(w) or 1) * ux for w in model.widths)
    node_d = float(np.clip(0.55 * node_spacing_in, 0.06, 0.2))  # node diameter in inches
    marker_area = (node_d * 72) ** 2
    pos = nx.get_node_attributes(g, "pos")

    for u, v, data in g.edges(data=True):
        if data["kind"] == "factor":
            (x0, y0), (x1, y1) = pos[u], pos[v]
            ax.plot([x0, x1], [y0, y1], color="0.45", lw=0.8, zorder=2)
            continue
        l, i, j = data["l"], data["i"], data["j"]
        rows, tw, th = geometry[l]
        cx = data["thumb_x"]
        row = data["slot"] % rows
        cy = l + 0.5 + (row - (rows - 1) / 2) * th * 1.12
        alpha = float(alphas[l][i, j])
        color = SYMBOLIC_COLOR if data["symbolic"] else NUMERIC_COLOR
        (x0, y0), (x1, y1) = pos[u], pos[v]
        ax.plot([x0, cx], [y0, cy - th / 2], color=color, lw=0.9, alpha=alpha, zorder=1)
        ax.plot([cx, x1], [cy + th / 2, y1], color=color, lw=0.9, alpha=alpha, zorder=1)

        thumb = _add_data_axes(ax, (cx - tw / 2, cy - th / 2, tw, th))
        thumb.set_gid(f"kan-edge-{l}-{i}-{j}")
        thumb.margins(0.08, 0.12)
        xs, ys = _finite_xy(ins[l][:, i], edges[l][:, i, j])
        if xs.size:
            order = np.argsort(xs, kind="stable")
            if order.size > _THUMB_POINTS:
                order = order[np.linspace(0, order.size - 1, _THUMB_POINTS).round().astype(int)]
            thumb.plot(xs[order], ys[order], color=color, lw=1.2, alpha=alpha)
            if ys.max() - ys.min() <= 1e-12 * max(1.0, abs(float(ys.max()))):
                # A constant edge: centre the flat line instead of letting
                # matplotlib pick a range around float noise.
                thumb.set_ylim(ys.mean() - 1.0, ys.mean() + 1.0)
        thumb.set_xticks([])
        thumb.set_yticks([])
        thumb.patch.set_facecolor("white")  # opaque: hides lines passing behind
        for spine in thumb.spines.values():
            spine.set_edgecolor(color)
            spine.set_alpha(max(alpha, 0.25))
            spine.set_linewidth(0.8)
        if show_symbolic and data["symbolic"]:
            text = edge_formula(model, l, i, j) or ""
            if len(text) > 32:
                text = model.layers[l].symbolic_names[i][j] or text
            ax.text(
                cx, cy - th / 2 - 0.02, text, ha="center", va="top", fontsize=7, color=SYMBOLIC_COLOR,
                zorder=6, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85),
            )

    for kind in ("input", "sum", "mult", "factor"):
        pts = [pos[n] for n, d in g.nodes(data=True) if d["kind"] == kind]
        if not pts:
            continue
        xy = np.array(pts)
        if kind == "factor":
            ax.scatter(xy[:, 0], xy[:, 1], s=marker_area * 0.2, c="0.3", zorder=3, linewidths=0)
        elif kind == "mult":
            ax.scatter(xy[:, 0], xy[:, 1], s=marker_area * 1.8, c="white", edgecolors="black", zorder=3)
            for x, y in pts:
                ax.text(x, y, "×", ha="center", va="center", fontsize=max(6.0, node_d * 72 * 0.9), zorder=4)
        else:
            ax.scatter(xy[:, 0], xy[:, 1], s=marker_area, c="black", zorder=3, linewidths=0)

    if names:
        gap = node_d / 2 / uy + 0.04
        for _, d in g.nodes(data=True):
            if d["label"] is None:
                continue
            x, y = d["pos"]
            top = d["layer"] == L
            ax.text(
                x, y + gap if top else y - gap, d["label"], ha="center", va="bottom" if top else "top",
                fontsize=10, zorder=6,
            )
    return fig


# --------------------------------------------------------------------------- #
# Training curves
# --------------------------------------------------------------------------- #
def plot_training(history: Any, *, ax: Axes | None = None, log: bool = True) -> Axes:
    """Plot the losses of a :class:`~kansr.train._fit.History` against the step.

    Draws the training loss, the validation loss (if recorded) and the
    regularisation (if ever non-zero); dashed vertical lines mark grid
    extensions (labelled ``G=...``) and light dotted lines grid updates.

    Parameters
    ----------
    history : History
    ax : Axes, optional
    log : bool
        Logarithmic loss axis (falls back to linear if no value is positive).

    Returns
    -------
    Axes
    """
    if not hasattr(history, "records") or not hasattr(history, "events"):
        raise TypeError(f"plot_training needs a History (with records and events), got {type(history).__name__}")
    ax = _new_axes(ax, (6.0, 3.8))
    records = list(history.records)
    steps = np.array([r.get("step", k) for k, r in enumerate(records)], dtype=float)

    def column(key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) is None else r[key] for r in records], dtype=float)

    series = [("train loss", column("train_loss"), "C0", "-")]
    val = column("val_loss")
    if np.isfinite(val).any():
        series.append(("validation loss", val, "C1", "-"))
    reg = column("reg")
    if (np.isfinite(reg) & (reg != 0)).any():
        series.append(("regularisation", reg, "C2", "--"))
    for label, values, color, ls in series:
        # A single record would be an invisible zero-length line: mark it.
        ax.plot(steps, values, color=color, ls=ls, lw=1.5, label=label, marker="o" if len(steps) == 1 else None)

    best = getattr(history, "best_step", None)
    if best is not None and len(series) > 1 and series[1][0] == "validation loss":
        hit = np.nonzero(steps == best)[0]
        if hit.size and np.isfinite(val[hit[0]]):
            ax.plot([best], [val[hit[0]]], marker="*", ms=10, color="C1", ls="none", label="best validation")

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    first_update = True
    for event in history.events:
        kind, step = event.get("kind"), event.get("step")
        if step is None:
            continue
        if kind == "grid_update":
            ax.axvline(step, color="0.6", ls=":", lw=0.8, zorder=0, label="grid update" if first_update else None)
            first_update = False
        elif kind == "grid_extension":
            ax.axvline(step, color="0.25", ls="--", lw=1.0, zorder=0)
            grid = event.get("grid")
            ax.text(step, 0.98, f" G={grid}" if grid is not None else " G↑", transform=trans, ha="left",
                    va="top", fontsize=8, color="0.25")
        elif kind in ("early_stopping", "interrupted"):
            ax.axvline(step, color="C3", ls="-.", lw=1.0, zorder=0, label=kind.replace("_", " "))

    positive = np.concatenate([v[np.isfinite(v) & (v > 0)] for _, v, _, _ in series]) if series else np.array([])
    if log and positive.size:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss (MSE)")
    if not records:
        ax.text(0.5, 0.5, "no training steps recorded", transform=ax.transAxes, ha="center", va="center")
    else:
        ax.legend(fontsize=8, loc="upper right")
    ax.grid(True, which="major", alpha=0.3)
    return ax


# --------------------------------------------------------------------------- #
# One edge
# --------------------------------------------------------------------------- #
def plot_edge(
    model: KAN,
    l: int,
    i: int,
    j: int,
    X: Any | None = None,
    *,
    candidate: Any | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot one edge's learned function, optionally against a symbolic candidate.

    Parameters
    ----------
    model : KAN
    l, i, j : int
        Layer, input node and output (sub)node of the edge.
    X : array-like, shape (n_samples, n_inputs), optional
        Data; the edge's samples are its inputs ``acts.inputs[l][:, i]`` and
        outputs ``acts.edges[l][:, i, j]``.  Without data the edge is swept
        over its spline grid.
    candidate : object, optional
        A fitted formula with attributes ``name, a, b, c, d`` (e.g. a
        :class:`kansr.symbolic._fitting.Candidate`).  ``c*f(a*x+b)+d`` is
        overlaid with its R² on the samples; ``f`` is the candidate's own
        ``numpy_fn`` if it has one, else the library function of that name.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    _check_edge(model, l, i, j)
    ax = _new_axes(ax, (5.0, 3.6))
    layer = model.layers[l]
    ins, edges = _layer_samples(model, X)
    xs, ys = _finite_xy(ins[l][:, i], edges[l][:, i, j])
    symbolic = float(layer.symbolic_mask[i, j]) > 0
    color = SYMBOLIC_COLOR if symbolic else NUMERIC_COLOR
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    if X is None:
        ax.plot(xs, ys, color=color, lw=2, label="edge (grid sweep)")
    else:
        shown = np.arange(xs.size)
        if xs.size > _SCATTER_POINTS:
            shown = np.sort(np.random.default_rng(0).choice(xs.size, _SCATTER_POINTS, replace=False))
        ax.scatter(xs[shown], ys[shown], s=6, color=color, alpha=0.5, linewidths=0, label="edge samples")

    note = None
    if candidate is not None:
        try:
            name = str(candidate.name)
            a, b, c, d = (float(getattr(candidate, p)) for p in ("a", "b", "c", "d"))
        except (AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"candidate must have attributes name, a, b, c, d (numbers): {exc}") from None
        func = _lookup_function(model, l, name)
        fn = getattr(candidate, "numpy_fn", None)
        if not callable(fn):
            fn = getattr(func, "numpy_fn", None)
        if not callable(fn):
            note = f"candidate {name!r}: function not found, no overlay"
        elif xs.size:
            with np.errstate(all="ignore"):
                try:
                    dense = np.linspace(xs[0], xs[-1], 400)
                    curve = c * np.asarray(fn(a * dense + b), dtype=float) + d
                    at_samples = c * np.asarray(fn(a * xs + b), dtype=float) + d
                    curve = np.broadcast_to(curve, dense.shape).astype(float)
                    at_samples = np.broadcast_to(at_samples, xs.shape).astype(float)
                except Exception as exc:  # noqa: BLE001 - a user function may reject arrays
                    note = f"candidate {name!r} could not be evaluated: {exc}"
                else:
                    ok = np.isfinite(at_samples)
                    r2 = r2_score(ys[ok], at_samples[ok]) if ok.any() else float("nan")
                    curve = np.where(np.isfinite(curve), curve, np.nan)
                    text = _affine_text(candidate if callable(getattr(candidate, "sympy_fn", None)) else func,
                                        name, a, b, c, d, model.input_names[i] if l == 0 else "x", 3)
                    label = f"{text}   R² = {_fmt_r2(r2)}"
                    if not ok.all():
                        label += f" ({int((~ok).sum())} samples outside domain)"
                    ax.plot(dense, curve, color="C0", lw=1.8, label=label)

    src = model.input_names[i] if l == 0 else f"node {i} of layer {l}"
    title = f"edge (l={l}, i={i}, j={j})"
    formula = edge_formula(model, l, i, j)
    if formula:
        title += f": {formula}"
    if float(layer.mask[i, j]) == 0:
        title += " (pruned)"
    standardised = l == 0 and not (
        bool((model.input_scale == 1).all()) and bool((model.input_shift == 0).all())
    )
    ax.set_xlabel(f"{src} (standardised)" if standardised else src)
    ax.set_ylabel("edge output")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    if note:
        title += f"\n{note}"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(True, alpha=0.3)
    return ax


# --------------------------------------------------------------------------- #
# Predictions
# --------------------------------------------------------------------------- #
def plot_predictions(y_true: Any, y_pred: Any, *, ax: Axes | None = None) -> Axes:
    """Scatter predicted against true values with the identity line.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,) or (n, n_outputs)
        Same number of values; several outputs are drawn in separate colours.
        Non-finite pairs are left out (and counted in the title).
    ax : Axes, optional

    Returns
    -------
    Axes
        Titled with the R² and RMSE over all finite pairs.
    """
    if isinstance(y_true, torch.Tensor):
        y_true = y_true.detach().cpu().numpy()
    if isinstance(y_pred, torch.Tensor):
        y_pred = y_pred.detach().cpu().numpy()
    try:
        t = np.asarray(y_true, dtype=float)
        p = np.asarray(y_pred, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"y_true and y_pred must be numeric arrays: {exc}") from None
    if t.ndim == 1:
        t = t[:, None]
    if p.ndim == 1:
        p = p[:, None]
    if t.ndim != 2 or t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape (n,) or (n, n_outputs); "
            f"got {np.shape(y_true)} and {np.shape(y_pred)}"
        )
    ok = np.isfinite(t) & np.isfinite(p)
    if not ok.any():
        raise ValueError("y_true and y_pred have no finite pair of values to plot")
    ax = _new_axes(ax, (4.5, 4.5))
    for col in range(t.shape[1]):
        keep = ok[:, col]
        ax.scatter(t[keep, col], p[keep, col], s=8, alpha=0.6, linewidths=0,
                   label=f"output {col}" if t.shape[1] > 1 else None)
    tv, pv = t[ok], p[ok]
    lo, hi = float(min(tv.min(), pv.min())), float(max(tv.max(), pv.max()))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.3", ls="--", lw=1, label="y = x", zorder=0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    r2, error = r2_rmse(tv, pv)
    title = f"R² = {_fmt_r2(r2)}, RMSE = {error:.3g}"
    if not ok.all():
        title += f" ({int((~ok).sum())} non-finite left out)"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, alpha=0.3)
    return ax


# --------------------------------------------------------------------------- #
# Saving
# --------------------------------------------------------------------------- #
def save_figure(fig: Figure | SubFigure | Axes, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write a figure to ``path`` atomically (never leaves a half-written file).

    The image is rendered to a temporary file in the same directory and
    moved into place with :func:`os.replace`.

    Parameters
    ----------
    fig : Figure (or an Axes, whose figure is saved)
    path : str or path-like
        Destination; the format follows the suffix (PNG when there is none).
    dpi : int
        Resolution in dots per inch.

    Returns
    -------
    Path
        The written file.
    """
    if isinstance(fig, Axes):
        fig = fig.figure
    if isinstance(fig, SubFigure):
        fig = fig.figure
    if not isinstance(fig, Figure):
        raise TypeError(f"save_figure needs a matplotlib Figure, got {type(fig).__name__}")
    if not (isinstance(dpi, (int, float)) and math.isfinite(dpi) and dpi > 0):
        raise ValueError(f"dpi must be a positive number; got {dpi!r}")
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(f"cannot save {path}: unknown image format {fmt!r}; use one of {', '.join(sorted(supported))}")
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight"))
    return path
