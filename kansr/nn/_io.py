"""The model file format: a JSON document plus tensors, written atomically.

This module knows the file, not the model: :func:`save_model` asks the model
for :meth:`~kansr.nn.KAN.get_config` and its state dict, and
:func:`read_model_file` hands both back for :meth:`~kansr.nn.KAN.from_config`
(``KAN.load`` does both), so it imports nothing from the network code.

A model file is a ``torch.save`` archive holding only plain data: the JSON
text of the architecture (width, grids sizes, names, symbolic choices,
format version) and a state dict of tensors.  It is loaded with
``weights_only=True``, so a file cannot run code on load.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from kansr._fileio import atomic_write
from kansr._version import __version__
from kansr.errors import ModelFileError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_model", "read_model_file"]

FORMAT_NAME = "kansr.KAN"
FORMAT_VERSION = 1


def save_model(model, path: str | os.PathLike) -> None:
    """Save a :class:`~kansr.nn.KAN` to ``path`` (atomic: temp file + rename).

    Parameters
    ----------
    model : KAN
    path : str or Path
        Destination file (conventionally ``*.kan``).
    """
    config = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "kansr_version": __version__,
              **model.get_config()}
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config_json": json.dumps(config),
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp), parents=True)


def read_model_file(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The architecture description and the tensors of a model file, checked to be a kansr model.

    The file is read with ``weights_only=True``: it cannot run code.  Checking
    the description against the tensors (every field, every shape, before
    anything is allocated) and building the model from them is
    :meth:`kansr.nn.KAN.from_config`'s job.

    Raises
    ------
    ModelFileError
        Missing, truncated or corrupt file; a file that is not a kansr model;
        a file that tries to run code on load; a newer format version.
    """
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
        config = json.loads(payload["config_json"])
        state = payload["state"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{str(path)!r} has an invalid model description: {exc}") from None
    if not isinstance(config, dict) or not isinstance(state, dict):
        raise ModelFileError(f"{str(path)!r} has an invalid model description")
    return config, state
