"""Structure of an unknown function read off a trained surrogate KAN.

:func:`fit_surrogate` fits a float64 KAN closely to the data; its values,
gradients and Hessians (through :func:`kansr.nn._smooth.smooth_forward`, the
twice-differentiable evaluation path) feed the structure tests of
:mod:`kansr.structure._scores`, and :func:`find_structure` turns their
verdicts into a tree of sub-problems (:class:`StructureNode`).
"""
from __future__ import annotations

from kansr.structure._derivatives import Derivatives, derivatives_of
from kansr.structure._scores import (
    SYMMETRIES,
    THRESHOLDS,
    MonomialGroup,
    additive_interaction,
    composition_score,
    monomial_group,
    multiplicative_interaction,
    relevance,
    step_interactions,
    symmetry_scores,
)
from kansr.structure._surrogate import Surrogate, fit_surrogate
from kansr.structure._tree import SPLIT_THRESHOLD, StructureNode, find_structure

__all__ = [
    "Derivatives",
    "derivatives_of",
    "Surrogate",
    "fit_surrogate",
    "StructureNode",
    "find_structure",
    "relevance",
    "additive_interaction",
    "multiplicative_interaction",
    "symmetry_scores",
    "composition_score",
    "monomial_group",
    "MonomialGroup",
    "step_interactions",
    "SYMMETRIES",
    "THRESHOLDS",
    "SPLIT_THRESHOLD",
]
