"""Importance scores for edges and nodes, and pruning into a smaller KAN.

Two scores are offered:

``"activation"`` (KAN paper)
    An edge's score is its mean absolute output over the samples.  A node's
    incoming score is the largest score among the edges into it, its outgoing
    score the largest among the edges out of it.
``"attribution"`` (KAN 2.0)
    Importance flows backwards from the output (score 1): an edge receives
    the share of its target node's score given by its standard deviation
    relative to all edges into that node, and a node's score is the sum of
    its outgoing edges' scores.  Edges that only add constants or feed
    unimportant nodes score low even when their values are large.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kansr.nn._model import KAN

__all__ = ["Scores", "importance", "prune", "dropped_inputs"]


@dataclass
class Scores:
    """Importance scores of one model on one sample set.

    Attributes
    ----------
    edges : list of ndarray (n_in, n_out)
        Per layer, one score per edge (0 for masked edges).
    nodes : list of ndarray (n_nodes,)
        Per node layer (inputs first, outputs last), one score per node.
    """

    edges: list[np.ndarray]
    nodes: list[np.ndarray]


def _subnode_owner(model: KAN, l: int) -> np.ndarray:
    """For layer ``l``'s outputs (subnodes), the index of the node they feed."""
    n_sum, n_mult = model.widths[l + 1]
    return np.concatenate([np.arange(n_sum), n_sum + np.repeat(np.arange(n_mult), model.mult_arity)])


@torch.no_grad()
def importance(model: KAN, X, mode: str = "attribution") -> Scores:
    """Edge and node importance of ``model`` on samples ``X``.

    Parameters
    ----------
    model : KAN
    X : array-like, shape (n_samples, n_inputs)
    mode : {"attribution", "activation"}

    Returns
    -------
    Scores
    """
    if mode not in ("attribution", "activation"):
        raise ValueError(f"mode must be 'attribution' or 'activation'; got {mode!r}")
    _, acts = model(model.as_tensor(X), return_activations=True)
    L = len(model.layers)
    if mode == "activation":
        edges = [(e.abs().mean(0) * layer.mask).double().numpy() for e, layer in zip(acts.edges, model.layers)]
        incoming = [np.full(sum(w), np.inf) for w in model.widths]
        outgoing = [np.full(sum(w), np.inf) for w in model.widths]
        for l, e in enumerate(edges):
            outgoing[l] = e.max(1)
            incoming[l + 1] = np.zeros(sum(model.widths[l + 1]))
            np.maximum.at(incoming[l + 1], _subnode_owner(model, l), e.max(0))
        # A node matters only if both its incoming and outgoing edges do.
        nodes = [np.minimum(i, o) for i, o in zip(incoming, outgoing)]
        return Scores(edges, nodes)

    node_score = [np.zeros(sum(w)) for w in model.widths]
    node_score[L] = np.ones(model.width_out)
    edge_score: list[np.ndarray] = [np.zeros(0)] * L
    for l in range(L - 1, -1, -1):
        layer = model.layers[l]
        std = (acts.edges[l].std(0) * layer.mask).double().numpy()  # (in, out)
        share = std / (std.sum(0, keepdims=True) + 1e-30)
        owner = _subnode_owner(model, l)
        edge_score[l] = share * node_score[l + 1][owner][None, :]
        node_score[l] = edge_score[l].sum(1)
    return Scores(edge_score, node_score)


def dropped_inputs(model: KAN) -> list[str]:
    """Names of inputs with no active edge: variables the model ignores."""
    mask = model.layers[0].mask.numpy()
    return [name for name, row in zip(model.input_names, mask) if not row.any()]


def prune(
    model: KAN,
    X,
    node_threshold: float = 1e-2,
    edge_threshold: float = 3e-2,
    mode: str = "attribution",
) -> KAN:
    """A smaller KAN without unimportant hidden nodes and edges.

    Hidden nodes scoring below ``node_threshold`` are removed (with their
    edges); the remaining edges scoring below ``edge_threshold`` are masked.
    Input nodes are kept so the model still takes the same columns, but an
    input whose edges are all pruned is reported by :func:`dropped_inputs`.
    Scores are relative: the largest edge score in each layer is 1.  Kept
    edges keep their functions exactly.

    Parameters
    ----------
    model : KAN
    X : array-like
        Samples that define the scores (usually the training inputs).
    node_threshold, edge_threshold : float
    mode : {"attribution", "activation"}

    Returns
    -------
    KAN
        A new model; ``model`` is not modified.
    """
    scores = importance(model, X, mode)
    L = len(model.layers)
    node_keep: list[list[int]] = [list(range(model.width_in))]
    for l in range(1, L):
        s = scores.nodes[l] / (scores.nodes[l].max() + 1e-30)
        n_sum, _ = model.widths[l]
        keep = [i for i in range(len(s)) if s[i] >= node_threshold]
        if not keep:  # keep the strongest node so the network stays connected
            keep = [int(np.argmax(s))]
        node_keep.append(keep)
    node_keep.append(list(range(model.width_out)))

    new_widths = []
    for l, keep in enumerate(node_keep):
        n_sum = model.widths[l][0]
        new_widths.append([sum(1 for i in keep if i < n_sum), sum(1 for i in keep if i >= n_sum)])
    new = KAN(
        [w[0] if w[1] == 0 else w for w in new_widths],
        grid=model.grid_size, k=model.k, base_fun=model.base_fun, mult_arity=model.mult_arity,
        dtype=model.dtype, input_names=model.input_names, output_names=model.output_names,
    )
    for name in ("input_shift", "input_scale", "output_shift", "output_scale"):
        getattr(new, name).copy_(getattr(model, name))
    for l, layer in enumerate(model.layers):
        owner = _subnode_owner(model, l)
        keep_out = [o for o in range(layer.n_out) if owner[o] in set(node_keep[l + 1])]
        sub = layer.subset(node_keep[l], keep_out)
        e = scores.edges[l] / (scores.edges[l].max() + 1e-30)
        weak = torch.as_tensor(e[np.ix_(node_keep[l], keep_out)] < edge_threshold)
        with torch.no_grad():
            sub.mask[weak] = 0.0
        new.layers[l] = sub
    return new
