"""kansr: discover closed-form formulas from data with Kolmogorov-Arnold Networks.

The layers, each a package with a curated public face:

* :mod:`kansr.nn` — the spline basis, KAN layers and models, saving and loading;
* :mod:`kansr.train` — ``fit``, the optimiser, pruning;
* :mod:`kansr.symbolic` — the function library, edge snapping, formulas;
* :mod:`kansr.discovery` — structure generators, Pareto front, choice;
* front doors: :mod:`kansr.cli`, :mod:`kansr.estimator`, :mod:`kansr.notebook`,
  :mod:`kansr.plotting`; and :mod:`kansr.bench`, the Feynman benchmark.
"""
from __future__ import annotations

import logging

from kansr._resources import torch_threads
from kansr._tabular import load_csv
from kansr._version import __version__
from kansr.discovery import DiscoveryResult, discover
from kansr.nn import KAN
from kansr.train import fit, fit_with_extension, prune, tune_allocator

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "KAN",
    "fit",
    "fit_with_extension",
    "prune",
    "discover",
    "DiscoveryResult",
    "load_csv",
    "torch_threads",
    "tune_allocator",
    "KANRegressor",
]


def __getattr__(name: str):
    # The estimator pulls in scikit-learn: import it only when asked for.
    if name == "KANRegressor":
        from kansr.estimator import KANRegressor

        return KANRegressor
    raise AttributeError(f"module 'kansr' has no attribute {name!r}")
