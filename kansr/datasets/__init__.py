"""Data files bundled with kansr."""
from __future__ import annotations

from pathlib import Path

__all__ = ["example_path"]


def example_path() -> Path:
    """Path of the bundled example CSV (``m [kg]``, ``v [m/s]``, ``noise_col`` → ``E [J]``)."""
    return Path(__file__).resolve().parent / "example.csv"
