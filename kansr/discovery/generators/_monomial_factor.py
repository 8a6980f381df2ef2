"""``power law × F(z)`` for a screened group ``z = prod x_i^(±1)``; or z one input or pair product/ratio (y any sign)."""
from __future__ import annotations

import math

from kansr.discovery._monomials import (
    monomial_values,
    prefactor_exponents,
    screen_monomials,
    screen_pair_factor,
    screen_single_factor,
)
from kansr.discovery._state import Search
from kansr.discovery.generators._regression import monomial_expr
from kansr.symbolic._safe_expr import symbol_for

# Most of the budget left that the generator uses: it runs before the structure generator and
# the KANs, which find what it misses.
_SHARE = 0.5


# Generators of the inner one-input searches: the cheap exact ones for every prefactor first,
# then the KANs (the right split of a group between prefactor and F is often not the first one).
_CHEAP = ("power_law", "nested")
_KANS = ("additive", "multiplicative", "composite")


def gen_monomial_factor(s: Search) -> None:
    start_left = s.budget.left()
    stop_at = -math.inf if math.isinf(start_left) else start_left * (1 - _SHARE)
    jobs = []
    for e, gain in screen_monomials(s.X, s.y):
        z_expr = monomial_expr(s.variables, e)
        s.note(f"monomial_factor: z = {z_expr} (residual / {gain:.3g})")
        z_values = monomial_values(s.X, e)
        # y = prefactor * F(z) is ambiguous along z's own exponents: fix one
        # input of z at exponent 0 (each choice in turn), round the others,
        # and find F on the 1-D data (z, y / prefactor).
        for pivot in [i for i, p in enumerate(e) if p]:
            jobs.append((prefactor_exponents(s.X, s.y, e, pivot), z_values, z_expr))
    # A single input as z: y may change sign there (p*cos(theta)/(epsilon*r**2)).
    for j, powers, share in screen_single_factor(s.X, s.y)[:2]:
        s.note(f"monomial_factor: {monomial_expr(s.variables, powers)} × F({s.names[j]}) "
               f"(spline residual {share:.2g} of the variance)")
        jobs.append((powers, s.X[:, j], s.variables[j]))
    # A product or ratio of two inputs as z, y of any sign (n*kb*T*log(V2/V1)).
    for z_powers, powers, share in screen_pair_factor(s.X, s.y)[:2]:
        z_expr = monomial_expr(s.variables, z_powers)
        s.note(f"monomial_factor: {monomial_expr(s.variables, powers)} × F({z_expr}) "
               f"(spline residual {share:.2g} of the variance)")
        jobs.append((powers, monomial_values(s.X, z_powers), z_expr))
    # pivots of one group often give the same prefactor: each (prefactor, z) is searched once
    unique = {(tuple(powers), z_expr): (powers, z_values, z_expr) for powers, z_values, z_expr in jobs}
    for generators in (_CHEAP, _KANS):
        for powers, z_values, z_expr in unique.values():
            if s.budget.over(reserve=max(5.0, stop_at)) or s.solved():
                return
            _solve_factor(s, powers, z_values, z_expr, stop_at, generators)


def _solve_factor(s: Search, powers, z_values, z_expr, stop_at: float, generators) -> None:
    """Find F on the 1-D data ``(z, y / prefactor)`` by an inner discovery; propose ``prefactor * F(z)``."""
    from kansr.discovery._search import discover  # the inner search is a whole discovery

    prefactor = monomial_expr(s.variables, powers)
    ratio = s.y / monomial_values(s.X, [float(p) for p in powers])
    left = s.budget.left()
    inner = discover(z_values[:, None], ratio, ["z"], seed=s.seed,
                     time_budget=None if math.isinf(left) else max(min((left - stop_at) / 2, 20.0), 2.0),
                     generators=generators)
    z = symbol_for("z")
    for cand in inner.pareto[:4]:
        s.add(prefactor * cand.formula.expr.xreplace({z: z_expr}), "monomial_factor")
    if inner.interrupted:  # the inner search kept its results; this one must stop too
        raise KeyboardInterrupt
