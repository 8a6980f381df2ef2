"""Network numerics: the spline basis, KAN layers and models, initialisation, saving and loading."""
from __future__ import annotations

from kansr.nn._init import INIT_SCHEMES, initialize_layer
from kansr.nn._io import FORMAT_VERSION, save_model
from kansr.nn._layer import BASE_FUNCTIONS, KANLayer, KernelState
from kansr.nn._model import KAN, Activations, GridUpdate, load_model, parse_width

__all__ = [
    "KAN",
    "KANLayer",
    "KernelState",
    "Activations",
    "GridUpdate",
    "parse_width",
    "BASE_FUNCTIONS",
    "INIT_SCHEMES",
    "initialize_layer",
    "save_model",
    "load_model",
    "FORMAT_VERSION",
]
