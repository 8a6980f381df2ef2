"""Saving and loading models: a JSON document plus tensors, written atomically.

A model file is a ``torch.save`` archive holding only plain data: the JSON
text of the architecture (width, grids sizes, names, symbolic choices,
format version) and a state dict of tensors.  It is loaded with
``weights_only=True``, so a file cannot run code on load.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from kansr._fileio import atomic_write
from kansr._version import __version__
from kansr.errors import ModelFileError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_model", "load_model", "ModelFileError"]

FORMAT_NAME = "kansr.KAN"
FORMAT_VERSION = 1


def model_config(model) -> dict[str, Any]:
    """The JSON-serialisable description of a model's architecture and symbolic state."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kansr_version": __version__,
        "width": model.width,
        "grid": [layer.G for layer in model.layers],
        "k": model.k,
        "base_fun": model.base_fun,
        "mult_arity": model.mult_arity,
        "init": model.init_scheme,
        "init_params": model.init_params,
        "seed": model.seed,
        "dtype": str(model.dtype).replace("torch.", ""),
        "input_names": model.input_names,
        "output_names": model.output_names,
        "layers": [layer.extra_state_dict() for layer in model.layers],
    }


def save_model(model, path: str | os.PathLike) -> None:
    """Save a :class:`~kansr.nn._model.KAN` to ``path`` (atomic: temp file + rename).

    Parameters
    ----------
    model : KAN
    path : str or Path
        Destination file (conventionally ``*.kan``).
    """
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config_json": json.dumps(model_config(model)),
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp), parents=True)


def load_model(path: str | os.PathLike, library: Mapping[str, Any] | None = None):
    """Load a model written by :func:`save_model`.

    Parameters
    ----------
    path : str or Path
    library : mapping name -> SymbolicFunction, optional
        Needed only for user-defined symbolic functions; the default library
        is always available.

    Returns
    -------
    KAN

    Raises
    ------
    ModelFileError
        Missing, truncated or corrupt file; a file that is not a kansr model;
        a file that tries to run code on load; a newer format version; shapes
        that do not match the architecture.
    """
    from kansr.nn._model import KAN

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad archives
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise ModelFileError(
                f"refusing to load {str(path)!r}: it contains objects other than plain tensors and data "
                "(a file that could run code on load)"
            ) from None
        raise ModelFileError(f"{str(path)!r} is not a readable kansr model file (truncated or corrupt?): {msg}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{str(path)!r} is not a kansr model file")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} has model format version {version!r}, newer than this kansr "
            f"({__version__}) reads (<= {FORMAT_VERSION}); upgrade kansr to load it"
        )
    try:
        cfg = json.loads(payload["config_json"])
        state = payload["state"]
        model = KAN(
            cfg["width"],
            grid=int(cfg["grid"][0]),
            k=int(cfg["k"]),
            base_fun=cfg["base_fun"],
            init=cfg["init"],
            init_params=cfg["init_params"],
            mult_arity=int(cfg["mult_arity"]),
            seed=int(cfg["seed"]),
            dtype=getattr(torch, cfg["dtype"]),
            input_names=cfg["input_names"],
            output_names=cfg["output_names"],
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{str(path)!r} has an invalid model description: {exc}") from None

    from kansr.symbolic._library import DEFAULT_LIBRARY

    lib = dict(DEFAULT_LIBRARY)
    lib.update(library or {})
    for l, (layer, extra) in enumerate(zip(model.layers, cfg["layers"])):
        # Grids may differ per layer after refinement: size parameters first.
        G = int(extra["G"])
        if G != layer.G:
            layer.G = G
            layer.grid = torch.zeros(layer.n_in, G + 2 * layer.k + 1, dtype=layer.coef.dtype)
            layer.coef = torch.nn.Parameter(torch.zeros(layer.n_in, G + layer.k, layer.n_out, dtype=layer.coef.dtype))
        try:
            layer.load_extra_state(extra, lib)
        except ValueError as exc:
            raise ModelFileError(f"{str(path)!r}, layer {l}: {exc}") from None
    expected = model.state_dict()
    if set(state) != set(expected):
        raise ModelFileError(
            f"{str(path)!r} does not match its architecture: missing {sorted(set(expected) - set(state))}, "
            f"unexpected {sorted(set(state) - set(expected))}"
        )
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or tensor.shape != expected[name].shape:
            got = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise ModelFileError(
                f"{str(path)!r}: tensor {name!r} has shape {got}, expected {tuple(expected[name].shape)}"
            )
    model.load_state_dict(state)
    return model
