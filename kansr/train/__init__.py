"""Training: fitting with sparsification and grid updates, the optimiser, pruning, allocator tuning."""
from __future__ import annotations

from kansr.train._allocator import tune_allocator
from kansr.train._fit import History, fit, fit_with_extension, make_optimizer, regularization
from kansr.train._optim import LeanAdam
from kansr.train._pruning import Scores, dropped_inputs, importance, prune

__all__ = [
    "fit",
    "fit_with_extension",
    "make_optimizer",
    "regularization",
    "History",
    "LeanAdam",
    "prune",
    "importance",
    "dropped_inputs",
    "Scores",
    "tune_allocator",
]
