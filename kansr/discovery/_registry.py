"""The one registry of structure generators; its order is the order they run in.

Cheapest first: closed-form regressions, then one-input fits, then KANs of
growing size.  A generator is skipped when it does not apply to the data
(it returns without proposing) and, whichever it is, once a candidate already
fits to round-off: a later one could only add cost (at f0a1bbe, the SRBench
equations an exact power law solved at noise 0 took a median 13.9 s, nearly
all of it in the generators that still ran after it).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kansr.discovery._state import Search
from kansr.discovery.generators._enumerate import gen_enumerate
from kansr.discovery.generators._kan import (
    gen_additive,
    gen_composite,
    gen_kan,
    gen_multiplicative,
    gen_product,
    gen_separable_product,
)
from kansr.discovery.generators._monomial_factor import gen_monomial_factor
from kansr.discovery.generators._nested import gen_nested
from kansr.discovery.generators._periodic import gen_periodic
from kansr.discovery.generators._radical import gen_radical
from kansr.discovery.generators._regression import gen_linear, gen_monomial_sum, gen_power_law
from kansr.discovery.generators._sparse import gen_sparse
from kansr.discovery.generators._structure import gen_structure, gen_structure_kan

__all__ = ["Generator", "REGISTRY", "GENERATORS", "get_generators"]


@dataclass(frozen=True)
class Generator:
    """A structure generator: a name, the function that proposes into a Search, and what it finds.

    Attributes
    ----------
    name : str
    run : callable
        ``run(search)`` adds its proposals with ``search.add``.
    finds : str
        The formula shapes it proposes (documentation).
    min_seconds : float
        Not started with less of the budget left: training a KAN and
        snapping its edges cannot be cut shorter than this, so starting it
        later would overrun the budget.
    """

    name: str
    run: Callable[[Search], None]
    finds: str
    min_seconds: float = 0.0


# Measured: the snapping and refits after a KAN's (time-limited) training take 1-3 s.
_KAN_SECONDS = 3.0

REGISTRY: tuple[Generator, ...] = (
    Generator("linear", gen_linear, "least squares y = sum_i w_i x_i + c"),
    Generator("power_law", gen_power_law, "y = C * prod_i x_i^p_i from a linear fit of log|y| on log x_i"),
    Generator("monomial_sum", gen_monomial_sum, "sparse sums of up to four monomials, exponents in {-2, -1, 1, 2}"),
    Generator("radical", gen_radical, "a sum of monomials times (1 ± z**2)**(±1/2) for a ratio z = x_i/x_j"),
    Generator("sparse", gen_sparse, "sparse sums of library terms (polynomials to degree 4, functions of inputs and of "
              "pair differences/sums, monomial × function) for y, y**2, 1/y, and linearised rationals p/q"),
    Generator("nested", gen_nested, "one input: y or 1/y = c*f(a*g(x) + b) + d for library f and simple inner g"),
    Generator("periodic", gen_periodic, "m(x) * (A*cos(w*u) + B*sin(w*u) + C) for an input, pair difference or "
              "monomial group u and a monomial m, w from a least-squares periodogram"),
    Generator("enumerate", gen_enumerate, "every expression tree up to 7-8 nodes over 1-3 inputs, y = c*e + d"),
    Generator("monomial_factor", gen_monomial_factor,
              "power law × F(z) for a screened group z = prod x_i^(±1), a single input or a pair product or ratio",
              min_seconds=_KAN_SECONDS),
    Generator("structure", gen_structure,
              "separations read off a surrogate KAN (sums, products, of y, y**2 or 1/y), leaves solved exactly",
              min_seconds=2 * _KAN_SECONDS),
    Generator("structure_kan", gen_structure_kan,
              "a KAN shaped like the structure tree (its sums, products and transforms as nodes), snapped edge by edge",
              min_seconds=_KAN_SECONDS),
    Generator("additive", gen_additive, "a [n, 1] KAN: y = sum_i g_i(x_i)", min_seconds=_KAN_SECONDS),
    Generator("multiplicative", gen_multiplicative, "a [n, 1] KAN on log|y|: y = ±exp(sum_i g_i(x_i))",
              min_seconds=_KAN_SECONDS),
    Generator("separable_product", gen_separable_product, "one multiplication node: y = prod_i g_i(x_i)",
              min_seconds=_KAN_SECONDS),
    Generator("composite", gen_composite, "a [n, 1, 1] KAN: y = F(sum_i g_i(x_i)), also on log|y|",
              min_seconds=_KAN_SECONDS),
    Generator("product", gen_product, "[n, [0, 1], 1] and [n, [1, 1], 1] KANs: products of learned sums",
              min_seconds=_KAN_SECONDS),
    Generator("kan", gen_kan, "a sparsified, pruned [n, [h, m], 1] KAN with sum and product nodes",
              min_seconds=_KAN_SECONDS),
)

#: Generator names in run order.
GENERATORS: tuple[str, ...] = tuple(g.name for g in REGISTRY)


def get_generators(names) -> tuple[Generator, ...]:
    """The registered generators named in ``names``, in run (registry) order.

    Raises
    ------
    UsageError
        ``names`` is a string, empty, or holds an unknown or repeated name.
    """
    from kansr.errors import UsageError

    if isinstance(names, str) or names is None:
        raise UsageError(f"generators must be a sequence of names (e.g. ['linear', 'kan']); got {names!r}")
    names = list(names)
    if not names:
        raise UsageError(f"generators is empty; choose from {list(GENERATORS)}")
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        raise UsageError(f"unknown generator(s) {unknown}; choose from {list(GENERATORS)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"generator(s) {repeated} given more than once")
    return tuple(g for g in REGISTRY if g.name in names)
