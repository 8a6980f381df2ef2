"""kansr: discover closed-form formulas from data with Kolmogorov-Arnold Networks."""
from __future__ import annotations

import logging

from ._version import __version__
from .discover import DiscoveryResult, discover
from .model import KAN
from .pruning import prune
from .training import fit, fit_with_extension

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__", "KAN", "fit", "fit_with_extension", "prune", "discover", "DiscoveryResult"]


def __getattr__(name: str):
    # The estimator pulls in scikit-learn: import it only when asked for.
    if name == "KANRegressor":
        from .estimator import KANRegressor

        return KANRegressor
    raise AttributeError(f"module 'kansr' has no attribute {name!r}")
