"""A KAN's forward pass in plain torch operations, differentiable to any order.

The fast paths (:meth:`KAN.forward`) fuse each layer into custom autograd
Functions whose backward passes are ``once_differentiable``: they give exact
gradients but refuse a second derivative.  Structure tests need Hessians of a
trained network at the data points, and physics-informed losses need second
derivatives in the inputs; :func:`smooth_forward` serves both.  It evaluates
the same functions (the basis from :func:`~kansr.nn._splines.local_basis_values`,
the definition every table is built from), so its values equal the fast
path's to round-off, at several times its cost.
"""
from __future__ import annotations

import torch

from kansr.nn._layer import KANLayer
from kansr.nn._model import KAN
from kansr.nn._splines import local_basis_values

__all__ = ["smooth_forward", "smooth_layer"]


def smooth_layer(layer: KANLayer, x: torch.Tensor) -> torch.Tensor:
    """One layer's node sums ``(batch, n_out)`` by differentiable tensor operations.

    Parameters
    ----------
    layer : KANLayer
    x : Tensor, shape (batch, n_in)

    Returns
    -------
    Tensor, shape (batch, n_out)
    """
    index, values = local_basis_values(x, layer.grid, layer.k)  # (batch, in, k+1)
    n_basis = layer.coef.shape[1]
    dense = x.new_zeros(x.shape[0], layer.n_in, n_basis).scatter_add(2, index, values)
    keep = layer.numeric_mask()
    coef = layer.coef * (layer.scale_sp * keep).unsqueeze(1)  # (in, K, out)
    edges = layer.base_fun(x).unsqueeze(-1) * (layer.scale_base * keep)
    edges = edges + torch.einsum("bik,iko->bio", dense, coef)
    symbolic = layer._symbolic_edges(x)
    if symbolic is not None:
        edges = edges + symbolic
    return edges.sum(1) + layer.bias


def smooth_forward(model: KAN, x: torch.Tensor) -> torch.Tensor:
    """``model(x)`` computed so that autograd can differentiate it any number of times.

    Parameters
    ----------
    model : KAN
    x : Tensor, shape (batch, n_inputs)
        In the model's dtype; pass ``requires_grad=True`` to differentiate
        in the inputs.

    Returns
    -------
    Tensor, shape (batch, n_outputs)
        Equal to ``model(x)`` up to round-off.

    Notes
    -----
    The splines are piecewise polynomials of order ``k``: their ``k``-th
    derivative jumps at the knots and higher ones vanish; second
    derivatives of a cubic (``k = 3``) network are continuous.
    """
    h = (model.as_tensor(x) - model.input_shift) / model.input_scale
    for l, layer in enumerate(model.layers):
        h = model._combine(l, smooth_layer(layer, h))
    return h * model.output_scale + model.output_shift
