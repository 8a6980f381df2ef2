"""Symbolic snapping: function library, batched affine fits, snapping API, formulas."""
from __future__ import annotations

from .fitting import Candidate, FitResult, fit_affine
from .formula import Formula, model_formula
from .library import DEFAULT_LIBRARY, SymbolicFunction, get_library, register_function, unregister_function
from .snap import auto_symbolic, fix_symbolic, suggest_symbolic, unfix

__all__ = [
    "Candidate",
    "FitResult",
    "fit_affine",
    "Formula",
    "model_formula",
    "DEFAULT_LIBRARY",
    "SymbolicFunction",
    "get_library",
    "register_function",
    "unregister_function",
    "auto_symbolic",
    "fix_symbolic",
    "suggest_symbolic",
    "unfix",
]
