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

import importlib
import logging

from kansr._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

# Exported name -> the module that defines it.  Imported on first use, so that
# `import kansr` (and the `kansr` command's start-up, --help, Ctrl-C) does not
# wait for torch, sympy and numba.
_EXPORTS = {
    "KAN": "kansr.nn",
    "fit": "kansr.train",
    "fit_with_extension": "kansr.train",
    "prune": "kansr.train",
    "tune_allocator": "kansr.train",
    "discover": "kansr.discovery",
    "DiscoveryResult": "kansr.discovery",
    "load_csv": "kansr._tabular",
    "sanitize_names": "kansr._validation",
    "torch_threads": "kansr._resources",
    "KANRegressor": "kansr.estimator",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kansr' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
