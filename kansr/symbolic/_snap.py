"""Snapping KAN edges to symbolic functions: suggest, fix, auto-fix, unfix.

An edge's samples are its inputs and outputs on the model inputs ``X`` the
caller passes (typically the training inputs; nothing is remembered from
:func:`kansr.fit`).  All edges are fitted in one batched call of
:func:`~kansr.symbolic._fitting.fit_affine`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from kansr.nn._model import KAN
from kansr.symbolic._fitting import Candidate, fit_affine
from kansr.symbolic._library import SymbolicFunction, resolve_function, resolve_library

__all__ = ["EdgeChoice", "suggest_symbolic", "fix_symbolic", "auto_symbolic", "unfix", "symbolic_edges", "numeric_edges"]


@dataclass(frozen=True)
class EdgeChoice:
    """The function chosen for one edge by :func:`auto_symbolic`.

    Attributes
    ----------
    layer, i, j : int
        The edge.
    candidate : Candidate
        Its best fit (``name, a, b, c, d, r2, complexity, score``).
    snapped : bool
        Whether the edge was made symbolic (its R² reached the threshold).
    """

    layer: int
    i: int
    j: int
    candidate: Candidate
    snapped: bool

    @property
    def name(self) -> str:
        return self.candidate.name

    @property
    def r2(self) -> float:
        return self.candidate.r2


def _samples(model: KAN, X) -> torch.Tensor:
    if X is None:
        raise ValueError("no samples to fit edges on: pass X, the inputs the edges are fitted on (e.g. the training inputs)")
    return model.as_tensor(X)


def _check_edge(model: KAN, l: int, i: int, j: int) -> None:
    if not 0 <= l < len(model.layers):
        raise ValueError(f"edge (l={l}, i={i}, j={j}): layer {l} does not exist (the model has {len(model.layers)})")
    layer = model.layers[l]
    if not (0 <= i < layer.n_in and 0 <= j < layer.n_out):
        raise ValueError(
            f"edge (l={l}, i={i}, j={j}) does not exist in a layer of shape {layer.n_in}x{layer.n_out}"
        )
    if layer.mask[i, j] == 0:
        raise ValueError(f"edge (l={l}, i={i}, j={j}) was pruned away")


@torch.no_grad()
def _edge_data(model: KAN, X, edges: list[tuple[int, int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and outputs of the given edges, each (n_edges, n_samples), float64."""
    _, acts = model(_samples(model, X), return_activations=True)
    xs = torch.stack([acts.inputs[l][:, i] for l, i, _ in edges]).double()
    ys = torch.stack([acts.edges[l][:, i, j] for l, i, j in edges]).double()
    return xs, ys


def numeric_edges(model: KAN) -> list[tuple[int, int, int]]:
    """Active edges still evaluated by their spline, as (layer, i, j)."""
    out = []
    for l, layer in enumerate(model.layers):
        keep = layer.numeric_mask()
        out += [(l, int(i), int(j)) for i, j in torch.nonzero(keep > 0).tolist()]
    return out


def symbolic_edges(model: KAN) -> list[tuple[int, int, int]]:
    """Active symbolic edges as (layer, i, j)."""
    out = []
    for l, layer in enumerate(model.layers):
        both = layer.mask * layer.symbolic_mask
        out += [(l, int(i), int(j)) for i, j in torch.nonzero(both > 0).tolist()]
    return out


def suggest_symbolic(
    model: KAN,
    l: int,
    i: int,
    j: int,
    X,
    top: int = 5,
    library=None,
    weight_simple: float = 0.5,
) -> list[Candidate]:
    """Ranked candidate functions ``c*f(a*x+b)+d`` for edge ``(l, i, j)``.

    Parameters
    ----------
    model : KAN
    l, i, j : int
        Layer, input node, output (sub)node.
    X : array-like
        Model inputs on which to sample the edge (e.g. the training inputs).
    top : int
        Number of candidates to return.
    library : mapping or iterable of names / SymbolicFunction, optional
        Functions to try (default: the whole library).
    weight_simple : float
        Preference for simple functions (see :func:`fit_affine`).

    Returns
    -------
    list of Candidate
        Best first, each with ``name, a, b, c, d, r2, complexity, score``.
    """
    _check_edge(model, l, i, j)
    xs, ys = _edge_data(model, X, [(l, i, j)])
    result = fit_affine(xs, ys, resolve_library(library), weight_simple=weight_simple)
    return result.ranked(0)[:top]


def fix_symbolic(
    model: KAN,
    l: int,
    i: int,
    j: int,
    function: str | SymbolicFunction,
    X=None,
    fit_params: bool = True,
    params: tuple[float, float, float, float] | None = None,
) -> Candidate | None:
    """Make edge ``(l, i, j)`` compute ``c*f(a*x+b)+d`` for a chosen ``f``.

    Parameters
    ----------
    model : KAN
    l, i, j : int
    function : str or SymbolicFunction
        A library name (e.g. ``"sin"``) or a user function.
    X : array-like, optional
        Samples for fitting ``(a, b, c, d)`` (e.g. the training inputs); required
        when ``fit_params`` is true.
    fit_params : bool
        Fit ``(a, b, c, d)`` to the edge's current shape; otherwise use
        ``params`` (default ``(1, 0, 1, 0)``).
    params : tuple, optional

    Returns
    -------
    Candidate or None
        The fitted candidate (with its R²) when ``fit_params`` is true.
    """
    _check_edge(model, l, i, j)
    fn = resolve_function(function)
    cand = None
    if fit_params:
        xs, ys = _edge_data(model, X, [(l, i, j)])
        cand = fit_affine(xs, ys, {fn.name: fn}).ranked(0)[0]
        affine = (cand.a, cand.b, cand.c, cand.d)
    else:
        affine = tuple(float(v) for v in (params or (1.0, 0.0, 1.0, 0.0)))  # type: ignore[assignment]
        if len(affine) != 4:
            raise ValueError(f"params must be (a, b, c, d); got {params!r}")
    model.layers[l].set_symbolic(i, j, fn, affine)  # type: ignore[arg-type]
    return cand


def unfix(model: KAN, l: int, i: int, j: int) -> None:
    """Return edge ``(l, i, j)`` to its learned spline."""
    _check_edge(model, l, i, j)
    model.layers[l].unset_symbolic(i, j)


def auto_symbolic(
    model: KAN,
    X,
    library=None,
    r2_threshold: float = 0.0,
    weight_simple: float = 0.5,
    edges: Iterable[tuple[int, int, int]] | None = None,
    loss_floor: float = 1e-8,
) -> list[EdgeChoice]:
    """Snap every numeric edge to its best candidate, all edges fitted at once.

    Parameters
    ----------
    model : KAN
    X : array-like
        Model inputs on which to sample the edges (e.g. the training inputs).
    library : optional
        Functions to try (default: the whole library).
    r2_threshold : float
        Edges whose best R² is below this stay numeric (splines).
    weight_simple : float
        Preference for simple functions.
    edges : iterable of (l, i, j), optional
        Restrict to these edges (default: all numeric edges).
    loss_floor : float
        Unexplained-variance fraction ``1 - R²`` below which fits count as
        perfect, so the simplest of them wins.  Raise it (e.g. to 1e-4) when
        the splines are only that accurate, so that a lucky fit of their
        errors does not beat the simple truth.

    Returns
    -------
    list of EdgeChoice
        One per considered edge, with ``snapped`` telling whether it was fixed.
    """
    todo = list(edges) if edges is not None else numeric_edges(model)
    if not todo:
        return []
    for l, i, j in todo:
        _check_edge(model, l, i, j)
    lib = resolve_library(library)
    xs, ys = _edge_data(model, X, todo)
    result = fit_affine(xs, ys, lib, weight_simple=weight_simple, loss_floor=loss_floor)
    choices = []
    for e, (l, i, j) in enumerate(todo):
        best = result.ranked(e)[0]
        ok = best.r2 >= r2_threshold
        if ok:
            model.layers[l].set_symbolic(i, j, lib[best.name], (best.a, best.b, best.c, best.d))
        choices.append(EdgeChoice(l, i, j, best, ok))
    return choices
