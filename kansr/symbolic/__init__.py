"""Symbolic layer: function library, batched affine fits, snapping API, formulas, safe parsing."""
from __future__ import annotations

from kansr.symbolic._fitting import Candidate, FitResult, fit_affine
from kansr.symbolic._formula import Formula, model_formula, rationalize_constants, round_constants
from kansr.symbolic._library import (
    DEFAULT_LIBRARY,
    SymbolicFunction,
    get_library,
    register_function,
    resolve_library,
    unregister_function,
)
from kansr.symbolic._safe_expr import parse_formula, symbol_for
from kansr.symbolic._snap import EdgeChoice, auto_symbolic, fix_symbolic, numeric_edges, suggest_symbolic, unfix

__all__ = [
    "Candidate",
    "FitResult",
    "fit_affine",
    "Formula",
    "model_formula",
    "rationalize_constants",
    "round_constants",
    "DEFAULT_LIBRARY",
    "SymbolicFunction",
    "get_library",
    "register_function",
    "resolve_library",
    "unregister_function",
    "parse_formula",
    "symbol_for",
    "EdgeChoice",
    "numeric_edges",
    "auto_symbolic",
    "fix_symbolic",
    "suggest_symbolic",
    "unfix",
]
