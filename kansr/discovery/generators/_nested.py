"""One input: ``y = c*f(a*g(x) + b) + d`` (or ``1/y`` so) for every library function f and simple inner functions g."""
from __future__ import annotations

import numpy as np
import sympy

from kansr.discovery._state import Search
from kansr.symbolic._fitting import fit_affine
from kansr.symbolic._library import resolve_library


def _inner_transforms(z: np.ndarray, var: sympy.Symbol) -> list[tuple[np.ndarray, sympy.Expr]]:
    """Simple inner functions g(z) for nested fits ``c*f(a*g(z) + b) + d``."""
    out = [(z, var), (z ** 2, var ** 2), (z ** 3, var ** 3)]
    if np.all(z != 0):
        out += [(1 / z, 1 / var), (z ** -2.0, var ** -2)]
    if np.all(z > 0):
        out += [(np.sqrt(z), sympy.sqrt(var)), (np.log(z), sympy.log(var))]
    if np.max(np.abs(z)) < 30:
        out += [(np.exp(z), sympy.exp(var)), (np.exp(-z), sympy.exp(-var)), (np.sin(z), sympy.sin(var)),
                (np.cos(z), sympy.cos(var))]
    return [(g, e) for g, e in out if np.all(np.isfinite(g)) and np.ptp(g) > 0]


def gen_nested(s: Search) -> None:
    """One input: ``y = c*f(a*g(x) + b) + d`` for library f and a simple g (``1/sqrt(1 - x**2)``).

    Where ``y`` keeps one sign, away from zero, ``1/y`` is fitted the same way
    (``1/(exp(x) - 1)``, ``1/(2*cosh(x))``) in the same batch.
    """
    if len(s.names) != 1:
        return
    library = resolve_library(s.library)
    transforms = _inner_transforms(s.X[:, 0], s.variables[0])
    rows = np.stack([g for g, _ in transforms])
    targets = [(s.y, False)]
    ay = np.abs(s.y)
    # 1/y over six decades stays well conditioned (Bose-Einstein's 1/(exp(z) - 1) spans three)
    if (np.all(s.y > 0) or np.all(s.y < 0)) and np.min(ay) > 1e-6 * np.max(ay):
        targets.append((1.0 / s.y, True))
    result = fit_affine(np.concatenate([rows] * len(targets)),
                        np.concatenate([np.tile(t, (len(rows), 1)) for t, _ in targets]), library=library)
    fits = [(cand, g_expr, inverted) for k, (_, inverted) in enumerate(targets)
            for edge, (_, g_expr) in enumerate(transforms) for cand in result.ranked(k * len(rows) + edge)[:2]]
    # R² of y and of 1/y side by side: an exact fit of either comes first
    fits.sort(key=lambda item: -item[0].score)
    for cand, g_expr, inverted in fits[:6]:  # each proposal costs a constant refit and snap
        if s.budget.over(reserve=2.0) or s.solved():
            return
        f = library[cand.name]
        inner = sympy.Float(cand.a, 17) * g_expr + sympy.Float(cand.b, 17)
        fitted = sympy.Float(cand.c, 17) * f.sympy_fn(inner) + sympy.Float(cand.d, 17)
        s.add(1 / fitted if inverted else fitted, "nested")
