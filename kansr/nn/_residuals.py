"""The residual functions ``b(x)`` of a KAN edge: the one registry.

Every path that evaluates a layer takes its residual function from here: the
layer and the fused tensor op use :attr:`Residual.value` and
:attr:`Residual.grad`, the compiled kernels (:mod:`kansr.nn.kernels._numba`)
branch on :attr:`Residual.code`, whose values are the module constants below.
Adding a function means adding an entry here and a branch keyed by its code
in ``kansr.nn.kernels._numba._base_and_grad``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["Residual", "RESIDUALS", "ZERO", "IDENTITY", "SILU", "TANH"]

# Codes the compiled kernels branch on.  numba freezes them into its on-disk
# kernel cache, which edits here do not invalidate: never renumber, only add.
ZERO, IDENTITY, SILU, TANH = 0, 1, 2, 3


@dataclass(frozen=True)
class Residual:
    """One residual function: its value, its derivative, and its kernel code."""

    name: str
    value: Callable[[torch.Tensor], torch.Tensor]
    grad: Callable[[torch.Tensor], torch.Tensor]
    code: int


def _silu_grad(x: torch.Tensor) -> torch.Tensor:
    sig = torch.sigmoid(x)
    return sig * (1 + x * (1 - sig))


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _tanh_grad(x: torch.Tensor) -> torch.Tensor:
    return 1 - torch.tanh(x) ** 2


#: Residual functions by name (in the order error messages list them).
RESIDUALS: dict[str, Residual] = {
    r.name: r
    for r in (
        Residual("silu", torch.nn.functional.silu, _silu_grad, SILU),
        Residual("identity", _identity, torch.ones_like, IDENTITY),
        Residual("tanh", torch.tanh, _tanh_grad, TANH),
        Residual("zero", torch.zeros_like, torch.zeros_like, ZERO),
    )
}
