"""The shared state of one discovery run: data splits, symbols, budget, candidate pool."""
from __future__ import annotations

import logging
import math
import time

import numpy as np
import sympy

from kansr._metrics import r2_score, rmse
from kansr.discovery._candidates import Candidate
from kansr.nn._model import KAN
from kansr.structure._tree import StructureNode
from kansr.symbolic._constants import refit_constants, snap_constants
from kansr.symbolic._formula import (
    Formula,
    complexity,
    drop_sign_known_abs,
    merge_float_factors,
    rationalize_constants,
    simplify_with_timeout,
)
from kansr.symbolic._safe_expr import symbol_for

__all__ = ["Budget", "Search", "MAX_SEARCH_ROWS"]

#: Most training (and validation) rows a search uses: a random subset of larger data.
#: A formula with a handful of constants is pinned down by far fewer rows, and
#: every generator's cost grows with the row count (120,000 rows once took 70 s
#: under a 10 s budget).
MAX_SEARCH_ROWS = 5000

logger = logging.getLogger("kansr.discovery")


class Budget:
    """Seconds left of a run's time budget (``None``: no limit)."""


    def __init__(self, seconds: float | None) -> None:
        self.start = time.perf_counter()
        self.seconds = seconds

    def left(self) -> float:
        if self.seconds is None:
            return math.inf
        return self.seconds - (time.perf_counter() - self.start)

    def over(self, reserve: float = 0.0) -> bool:
        return self.left() <= reserve

    def time_limit(self, reserve: float, floor: float) -> float | None:
        """Seconds a step may take: what is left minus ``reserve``, at least ``floor`` (None: no limit)."""
        return None if self.seconds is None else max(self.left() - reserve, floor)


class Search:
    """Shared state of one discovery run: data splits, symbols, the candidate pool."""

    def __init__(self, X, y, names, seed, library, budget, log):
        self.names = list(names)
        self.variables = [symbol_for(n) for n in self.names]
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(y))
        n_val = max(1, int(round(0.2 * len(y)))) if len(y) >= 10 else 0
        val, tr = perm[:n_val], perm[n_val:]
        if n_val == 0:
            val = tr
        tr, val = tr[:MAX_SEARCH_ROWS], val[:MAX_SEARCH_ROWS]  # perm is random: so are these subsets
        self.X, self.y = X[tr], y[tr]
        self.Xv, self.yv = X[val], y[val]
        self.y_std = float(np.std(y)) or 1.0
        self.seed = seed
        self.library = library
        self.budget = budget
        self.pool: dict[str, Candidate] = {}
        self.n_proposals = 0  # formulas proposed to add(), before deduplication
        self.log = log
        self.model: KAN | None = None
        self.structure: StructureNode | None = None  # the tree the structure generator read off its surrogate
        self._simplified: dict[sympy.Expr, sympy.Expr] = {}  # sympy.simplify costs ~0.5 s a formula
        # variables of one sign on every row: Abs of them (simplify writes sqrt(b**2) as Abs(b)) goes
        both = np.concatenate([self.X, self.Xv]) if len(self.Xv) else self.X
        self._signs = {v: (1 if np.all(both[:, i] > 0) else -1) for i, v in enumerate(self.variables)
                       if np.all(both[:, i] > 0) or np.all(both[:, i] < 0)}

    def note(self, msg: str) -> None:
        logger.info(msg)
        self.log.append(msg)

    def add(self, expr: sympy.Expr, source: str, refit: bool = True) -> Candidate | None:
        """Refit, snap, score and record a proposal (and its unsnapped form)."""
        if expr is None or expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo, sympy.I):
            return None
        self.n_proposals += 1
        out = None
        forms = []
        try:
            if refit:
                expr, _ = refit_constants(expr, self.variables, self.X, self.y,
                                          time_limit=self.budget.time_limit(reserve=1.0, floor=0.5))
            forms.append(expr)
            snapped = snap_constants(expr, self.variables, self.X, self.y,
                                     time_limit=self.budget.time_limit(reserve=1.0, floor=0.5))
            forms.append(snapped)
            if snapped in self._simplified:  # generators often propose the same formula
                forms.append(self._simplified[snapped])
            elif not self.budget.over(reserve=2.0):
                simple = simplify_with_timeout(snapped, timeout=min(5.0, max(self.budget.left() / 10, 0.5)))
                self._simplified[snapped] = simple
                forms.append(simple)
        except Exception as exc:  # a proposal that sympy/scipy cannot handle is skipped, not fatal
            self.note(f"{source}: skipped a proposal ({type(exc).__name__}: {exc})")
        for form in forms:
            # Integral floats (x**2.0, 1.0*x) are artefacts of fitting: make them exact.
            form = drop_sign_known_abs(merge_float_factors(form), self._signs)
            cand = self._score(rationalize_constants(form, rel_tol=1e-12, max_denominator=1), source)
            if cand is not None:
                key = str(cand.formula.expr)
                if key not in self.pool or self.pool[key].val_rmse > cand.val_rmse:
                    self.pool[key] = cand
                out = cand
        return out

    def _score(self, expr: sympy.Expr, source: str) -> Candidate | None:
        if not isinstance(expr, sympy.Expr):
            return None
        f = Formula(expr, self.variables)
        pv, pt = f(self.Xv), f(self.X)
        if not (np.all(np.isfinite(pv)) and np.all(np.isfinite(pt))):
            return None
        return Candidate(
            f, source, complexity(expr),
            rmse(self.yv, pv), r2_score(self.yv, pv), rmse(self.y, pt),
        )

    def solved(self) -> bool:
        """A short formula already fits to round-off: further search cannot beat it.

        Short means at most :data:`EXACT_STOP_FLOATS` floating-point constants
        left after rationalisation: a sparse fit of six fitted terms can match a
        smooth function to 1e-7 on its range (I.6.2a's Gaussian did), and
        stopping there would hide the exact two-constant formula a later
        generator finds.
        """
        return any(c.val_rmse <= 1e-7 * self.y_std and _n_floats(c.formula.expr) <= EXACT_STOP_FLOATS
                   for c in self.pool.values())


#: Floating-point constants an exact-fitting candidate may have for the search to stop at it.
EXACT_STOP_FLOATS = 2


def _n_floats(expr: sympy.Expr) -> int:
    return sum(1 for a in sympy.preorder_traversal(expr) if isinstance(a, sympy.Float))
