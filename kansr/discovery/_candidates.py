"""What discovery produces: candidates, the Pareto front, the choice rule and the result."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import sympy

from kansr.nn._model import KAN
from kansr.structure._tree import StructureNode
from kansr.symbolic._formula import Formula

if TYPE_CHECKING:
    from kansr.discovery._units import UnitsReport

__all__ = ["Candidate", "DiscoveryResult", "pareto_front", "choose", "description_length"]


@dataclass
class Candidate:
    """One formula proposed during discovery.

    Attributes
    ----------
    formula : Formula
    source : str
        Generator that proposed it.
    complexity : int
        Expression-tree node count.
    val_rmse, val_r2 : float
        Error on the validation split.
    train_rmse : float
    dimensions : str or None
        With units given: ``"consistent"``, ``"consistent with N dimensional
        constant(s)"`` or ``"inconsistent"`` (:func:`kansr.units.check_dimensions`).
    """

    formula: Formula
    source: str
    complexity: int
    val_rmse: float
    val_r2: float
    train_rmse: float
    dimensions: str | None = None

    def as_row(self) -> dict:
        row = {
            "complexity": self.complexity,
            "val_rmse": self.val_rmse,
            "val_r2": self.val_r2,
            "formula": str(self.formula.expr),
            "source": self.source,
        }
        if self.dimensions is not None:
            row["dimensions"] = self.dimensions
        return row


@dataclass
class DiscoveryResult:
    """What :func:`discover` found.

    Attributes
    ----------
    formula : Formula
        The chosen formula.
    best : Candidate
    candidates : list of Candidate
        Every distinct proposal, sorted by complexity.
    pareto : list of Candidate
        The non-dominated candidates (complexity vs. validation RMSE).
    dropped_features : list of str
        Inputs the chosen formula does not use.
    model : KAN or None
        The trained network of the ``kan`` generator (for plots), if it ran.
    seconds : float
    interrupted : bool
        True when Ctrl-C cut the search short (the result holds what was found).
    structure : StructureNode or None
        The tree of separations the ``structure`` generator read off its
        surrogate KAN (None when it did not run or the surrogate was too
        inaccurate); ``structure_text`` is its one-line form in the
        variables' names, :func:`kansr.plotting.plot_structure` draws it.
    units : UnitsReport or None
        With units given: the units used, the dimensionless groups and the
        numbers of formulas tried on the groups and on the inputs.
    n_candidates : int
        Formulas proposed to the search in all (before deduplication; with
        units, those of the groups included): what the search cost.
    """

    formula: Formula
    best: Candidate
    candidates: list[Candidate]
    pareto: list[Candidate]
    dropped_features: list[str]
    model: KAN | None = None
    seconds: float = 0.0
    interrupted: bool = False
    log: list[str] = field(default_factory=list)
    structure: StructureNode | None = None
    structure_text: str | None = None
    units: UnitsReport | None = None
    n_candidates: int = 0

    def sympy(self) -> sympy.Expr:
        return self.formula.expr

    def latex(self) -> str:
        return self.formula.latex()

    def predict(self, X) -> np.ndarray:
        return self.formula(X)

    def pareto_table(self) -> list[dict]:
        """The Pareto front as rows (complexity, val_rmse, val_r2, formula, source)."""
        return [c.as_row() for c in self.pareto]

    def __str__(self) -> str:
        return str(self.formula)


def pareto_front(cands: Sequence[Candidate]) -> list[Candidate]:
    """Candidates not beaten in both complexity and validation RMSE, by complexity."""
    front: list[Candidate] = []
    for c in sorted(cands, key=lambda c: (c.complexity, c.val_rmse)):
        if not front or c.val_rmse < front[-1].val_rmse:
            front.append(c)
    return front


# Symbols a formula is written in besides its inputs: + * / ^, a constant, and the
# library's unary functions (sqrt exp log sin cos tan tanh sinh cosh arcsin arccos arctan abs ...).
_N_OPERATORS = 18
# A fitted floating-point constant is stated to about six significant digits (~20 bits).
_FLOAT_MANTISSA_BITS = 20.0


def _constant_bits(number: sympy.Number) -> float:
    """Bits to state one number of a formula: small integers and fractions are cheap, floats dear."""
    if isinstance(number, sympy.Integer):
        return 1.0 + math.log2(1 + abs(int(number)))
    if isinstance(number, sympy.Rational):
        return 1.0 + math.log2(1 + abs(int(number.p))) + math.log2(int(number.q))
    value = abs(float(number))
    exponent = 0 if value == 0 or not math.isfinite(value) else abs(math.floor(math.log10(value)))
    return 1.0 + _FLOAT_MANTISSA_BITS + math.log2(1 + exponent)


def description_length(cand: Candidate, best_rmse: float, n_val: int, n_inputs: int, floor: float) -> float:
    """Bits to state a candidate and what it leaves unexplained (the choice rule's score).

    ``complexity * log2(n_inputs + 18)`` for the expression tree, plus the
    bits of each number in it (an integer ``n``: ``1 + log2(1 + |n|)``; a
    fraction ``p/q``: ``1 + log2(1 + |p|) + log2(q)``; a float: 21 bits plus
    its decimal exponent), plus ``n_val/2 * log2(e^2 / e_best^2)`` for its
    validation error ``e`` against the best ``e_best`` (both at least
    ``floor``, the round-off level, below which errors do not count): the
    extra bits its residuals cost under a Gaussian code.  Like AI Feynman
    2.0's description length, but relative to the best candidate so that
    only differences count.
    """
    structure = cand.complexity * math.log2(n_inputs + _N_OPERATORS)
    numbers = sum(_constant_bits(a) for a in sympy.preorder_traversal(cand.formula.expr)
                  if isinstance(a, sympy.Number))
    residual = n_val * math.log2(max(cand.val_rmse, floor) / max(best_rmse, floor))  # n/2 * log2(e^2/e_best^2)
    return structure + numbers + residual


def choose(
    cands: Sequence[Candidate],
    y_std: float,
    n_val: int = 0,
    n_inputs: int = 1,
    rank: Callable[[Candidate], int] | None = None,
) -> Candidate:
    """The candidate of shortest :func:`description_length` within the noise level.

    Within the noise level means a validation RMSE at most 1.5x the lowest,
    plus a round-off floor of ``1e-6 * y_std``; outside it no formula is
    chosen however short.  Inside, a formula full of floating-point
    constants loses to an exact one unless it fits the ``n_val`` validation
    rows enough better to pay for its constants.  Ties go to the lower error.
    ``rank`` (lower first, e.g. dimensional consistency) orders the
    candidates within the noise level before their description length.
    """
    best_err = min(c.val_rmse for c in cands)
    floor = 1e-6 * y_std
    ok = [c for c in cands if c.val_rmse <= 1.5 * best_err + floor]
    order = rank or (lambda c: 0)
    return min(ok, key=lambda c: (order(c), description_length(c, best_err, n_val, n_inputs, floor), c.val_rmse))
