"""Initialisation schemes for KAN layers, selectable by name.

Every edge computes ``phi(x) = w_b * b(x) + w_s * sum_m c_m B_m(x)``.  A scheme
sets the residual weights ``w_b`` (``scale_base``), the spline weights ``w_s``
(``scale_sp``) and the spline coefficients ``c``.  Below ``n_in`` / ``n_out``
are the layer's fan-in / fan-out, ``G`` the number of grid intervals and ``k``
the spline order, so ``G + k + 1`` counts the spline's degrees of freedom plus
the residual.

=============  ======================================  ===================================
scheme          residual weights ``w_b``                spline: ``w_s`` and ``c``
=============  ======================================  ===================================
``default``    Xavier uniform,                          ``w_s = 1``, ``c ~ N(0, sigma^2)``
(KAN paper)    ``U(-a, a)``, ``a = sqrt(6/(n_in+n_out))``  with ``sigma = 0.1``
``lecun``      ``N(0, 1/n_in)``                         ``w_s = 1``,
                                                        ``c ~ N(0, 1/(n_in (G+k+1)))``
``glorot``     ``N(0, 2/(n_in+n_out))``                 ``w_s = 1``,
                                                        ``c ~ N(0, 2/((n_in+n_out)(G+k+1)))``
``kaiming``    ``N(0, 2/n_in)`` (He normal)             ``w_s = 1``,
                                                        ``c ~ N(0, 2/(n_in (G+k+1)))``
``power_law``  ``N(0, sigma_b^2)``,                     ``w_s = 1``, ``c ~ N(0, sigma_s^2)``,
               ``sigma_b = (n_in (G+k+1))^(-alpha)``    ``sigma_s = (n_in (G+k+1))^(-beta)``
=============  ======================================  ===================================

The power-law family takes ``alpha`` (default 0.25) and ``beta`` (default
1.0), the values reported best for function fitting.  LeCun and Glorot keep
the variance of a node's sum roughly constant from layer to layer, splitting
the budget over the ``G + k + 1`` terms of each edge.
"""
from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["INIT_SCHEMES", "initialize_layer"]

INIT_SCHEMES = ("default", "lecun", "glorot", "kaiming", "power_law")


def _normal(shape: tuple[int, ...], std: float, gen: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(shape, generator=gen, dtype=torch.float64).mul_(std).to(dtype)


def initialize_layer(
    layer: Any,
    scheme: str = "default",
    generator: torch.Generator | None = None,
    **params: float,
) -> None:
    """Set a layer's ``scale_base``, ``scale_sp`` and ``coef`` in place.

    Parameters
    ----------
    layer : KANLayer
        Layer with attributes ``n_in``, ``n_out``, ``G``, ``k``.
    scheme : str
        One of :data:`INIT_SCHEMES`.
    generator : torch.Generator, optional
        Source of randomness (determinism).
    **params
        ``sigma`` for ``default``; ``alpha`` and ``beta`` for ``power_law``.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")
    allowed = {"default": {"sigma"}, "power_law": {"alpha", "beta"}}.get(scheme, set())
    unknown = set(params) - allowed
    if unknown:
        raise ValueError(f"init scheme {scheme!r} takes no parameter(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    n_in, n_out, G, k = layer.n_in, layer.n_out, layer.G, layer.k
    dof = G + k + 1
    dtype = layer.coef.dtype
    coef_shape = tuple(layer.coef.shape)
    w_shape = (n_in, n_out)

    if scheme == "default":
        a = math.sqrt(6.0 / (n_in + n_out))
        w_b = (torch.rand(w_shape, generator=gen, dtype=torch.float64) * 2 - 1).mul_(a).to(dtype)
        coef = _normal(coef_shape, params.get("sigma", 0.1), gen, dtype)
    elif scheme == "lecun":
        w_b = _normal(w_shape, math.sqrt(1.0 / n_in), gen, dtype)
        coef = _normal(coef_shape, math.sqrt(1.0 / (n_in * dof)), gen, dtype)
    elif scheme == "glorot":
        w_b = _normal(w_shape, math.sqrt(2.0 / (n_in + n_out)), gen, dtype)
        coef = _normal(coef_shape, math.sqrt(2.0 / ((n_in + n_out) * dof)), gen, dtype)
    elif scheme == "kaiming":
        w_b = _normal(w_shape, math.sqrt(2.0 / n_in), gen, dtype)
        coef = _normal(coef_shape, math.sqrt(2.0 / (n_in * dof)), gen, dtype)
    else:  # power_law
        alpha = float(params.get("alpha", 0.25))
        beta = float(params.get("beta", 1.0))
        w_b = _normal(w_shape, (n_in * dof) ** (-alpha), gen, dtype)
        coef = _normal(coef_shape, (n_in * dof) ** (-beta), gen, dtype)

    with torch.no_grad():
        layer.scale_base.copy_(w_b)
        layer.scale_sp.fill_(1.0)
        layer.coef.copy_(coef)
