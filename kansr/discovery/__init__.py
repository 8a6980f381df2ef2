"""Discovery: structure generators propose formulas, the Pareto front and a choice rule pick one.

The generators, in run order (each is skipped when it does not apply):

``linear``
    Least squares ``y = sum_i w_i x_i + c``.
``power_law``
    ``y = C * prod_i x_i^p_i`` fitted as a linear model of ``log|y|`` on
    ``log x_i`` (positive inputs, single-signed target).
``monomial_sum``
    Sparse sums of up to four monomials with exponents in ``{-2, -1, 1, 2}``:
    ``G*m1*m2*(1/r2 - 1/r1)``.
``sparse``
    Sparse regression over a feature library (polynomials to degree 4,
    functions of inputs and of pair differences and sums, monomials times
    functions) on ``y``, ``y**2`` and ``1/y``, and rational forms
    ``p(x)/q(x)`` linearised as ``y*q(x) = p(x)``:
    ``(m1*r1 + m2*r2)/(m1 + m2)``, ``sqrt((x2 - x1)**2 + (y2 - y1)**2)``.
``nested``
    One input only: ``y = c*f(a*g(x) + b) + d`` for every library function
    ``f`` and a dozen simple inner functions ``g`` (``x**2``, ``1/x``,
    ``sqrt(x)``, ``exp(x)``, ...).
``enumerate``
    One to three inputs: every expression tree up to 7-8 nodes, ``y = c*e + d``:
    ``a*b/(a + b)``, ``sqrt(1 - x**2)``, ``1/(exp(x) - 1)``.
``structure``
    Fits a surrogate KAN closely, reads a tree of separations off it
    (:mod:`kansr.structure`: finite-step separability tests for sums and
    products, also of ``y**2`` and ``1/y``; gradient-ratio tests for
    ``a - b``, ``a + b``, ``a*b``, ``a/b``), solves each leaf with the cheap
    exact generators on the surrogate's values, recombines along the tree
    and refits on the data: ``q*(Ef + B*v*sin(theta))`` is found as
    ``mul(q, add(Ef, mul(B, v, theta)))``.  The tree is
    ``DiscoveryResult.structure``.
``additive``
    A ``[n, 1]`` KAN: ``y = sum_i g_i(x_i)``, every edge snapped.
``multiplicative``
    A ``[n, 1]`` KAN on ``log|y|``: ``y = ±exp(sum_i g_i(x_i))``.
``separable_product``
    A KAN with one multiplication node of ``n`` factors, factor ``i`` fed by
    ``x_i`` only: ``y = prod_i g_i(x_i)``, signs allowed.
``monomial_factor``
    Screens groups ``z = prod x_i^(±1)`` of two to four inputs for the form
    ``power law × F(z)`` and searches ``F`` on the 1-D data:
    ``m0/sqrt(1 - v**2/c**2)``, ``exp(-(theta/sigma)**2/2)/sigma``.
``composite``
    A ``[n, 1, 1]`` KAN: ``y = F(sum_i g_i(x_i))``, and the same on ``log|y|``.
``product``
    ``[n, [0, 1], 1]`` and ``[n, [1, 1], 1]`` KANs whose multiplication node
    multiplies two learned sums (``x*y``, ``(x+1)*sin(y)``), sparsified and pruned.
``kan``
    A sparsified ``[n, [h, m], 1]`` KAN with sum and multiplication nodes,
    pruned, snapped edge by edge.

Choice rule (documented for users): among the candidates whose validation
RMSE is at most ``1.5 ×`` the lowest validation RMSE plus a round-off floor
(``1e-6 × std(y)``), take the least complex; ties go to fewer floating-point
constants, then to the lower error.
"""
from __future__ import annotations

from kansr.discovery._candidates import Candidate, DiscoveryResult, choose, pareto_front
from kansr.discovery._registry import GENERATORS, REGISTRY, Generator, get_generators
from kansr.discovery._search import discover

__all__ = [
    "discover",
    "DiscoveryResult",
    "Candidate",
    "choose",
    "pareto_front",
    "GENERATORS",
    "REGISTRY",
    "Generator",
    "get_generators",
]
