"""What discovery produces: candidates, the Pareto front, the choice rule and the result."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

from kansr.nn._model import KAN
from kansr.structure._tree import StructureNode
from kansr.symbolic._formula import Formula, n_floats

__all__ = ["Candidate", "DiscoveryResult", "pareto_front", "choose"]


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
    """

    formula: Formula
    source: str
    complexity: int
    val_rmse: float
    val_r2: float
    train_rmse: float

    def as_row(self) -> dict:
        return {
            "complexity": self.complexity,
            "val_rmse": self.val_rmse,
            "val_r2": self.val_r2,
            "formula": str(self.formula.expr),
            "source": self.source,
        }


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
        variables' names.
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


def choose(cands: Sequence[Candidate], y_std: float) -> Candidate:
    """The least complex candidate within 1.5× of the lowest validation RMSE (+ round-off floor).

    Ties go to fewer floating-point constants (exact ones are preferred), then to the lower error.
    """
    best_err = min(c.val_rmse for c in cands)
    ok = [c for c in cands if c.val_rmse <= 1.5 * best_err + 1e-6 * y_std]
    return min(ok, key=lambda c: (c.complexity, n_floats(c.formula.expr), c.val_rmse))
