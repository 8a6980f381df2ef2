"""Values, gradients and Hessians of a function at sample points, and of simple transforms of it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Derivatives", "derivatives_of", "TRANSFORMS"]


@dataclass(frozen=True)
class Derivatives:
    """``f``, ``∇f`` and ``∇²f`` at ``N`` points of ``n`` inputs (float64 arrays).

    Attributes
    ----------
    points : ndarray, shape (N, n)
    f : ndarray, shape (N,)
    grad : ndarray, shape (N, n)
    hess : ndarray, shape (N, n, n)
    scales : ndarray, shape (n,)
        A typical size of each input (its standard deviation on the data):
        tests compare derivatives in standardised inputs, ``∂f/∂x_i * s_i``,
        so that they do not depend on the inputs' units.
    """

    points: np.ndarray
    f: np.ndarray
    grad: np.ndarray
    hess: np.ndarray
    scales: np.ndarray

    @property
    def n_inputs(self) -> int:
        return self.points.shape[1]

    def standardised(self) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and Hessian in standardised inputs ``x_i / s_i``."""
        s = self.scales
        return self.grad * s, self.hess * s[:, None] * s[None, :]

    def transformed(self, name: str) -> Derivatives | None:
        """The derivatives of ``h(f)`` for a transform of :data:`TRANSFORMS` (None where it is undefined)."""
        h, dh, d2h, ok = TRANSFORMS[name]
        if not ok(self.f):
            return None
        f = self.f
        d1, d2 = dh(f), d2h(f)
        g = d1[:, None] * self.grad
        H = d2[:, None, None] * self.grad[:, :, None] * self.grad[:, None, :] + d1[:, None, None] * self.hess
        return Derivatives(self.points, h(f), g, H, self.scales)

    def restricted(self, keep: list[int]) -> Derivatives:
        """The derivatives in the inputs ``keep`` only (the others held where they are)."""
        k = np.asarray(keep, dtype=int)
        return Derivatives(self.points[:, k], self.f, self.grad[:, k], self.hess[:, k][:, :, k], self.scales[k])


def _single_signed(f: np.ndarray) -> bool:
    return bool(np.all(f > 0) or np.all(f < 0))


def _away_from_zero(f: np.ndarray) -> bool:
    return _single_signed(f) and float(np.min(np.abs(f))) > 1e-3 * float(np.max(np.abs(f)))


#: Transforms of the target under which structure may show: name -> (h, h', h'', where defined).
TRANSFORMS: dict[str, tuple[Callable, Callable, Callable, Callable[[np.ndarray], bool]]] = {
    "square": (np.square, lambda f: 2 * f, lambda f: np.full_like(f, 2.0), lambda f: True),
    "sqrt": (lambda f: np.sqrt(np.abs(f)), lambda f: 0.5 * np.sign(f) / np.sqrt(np.abs(f)),
             lambda f: -0.25 / np.abs(f) ** 1.5, _away_from_zero),
    "log": (lambda f: np.log(np.abs(f)), lambda f: 1 / f, lambda f: -1 / f**2, _away_from_zero),
    "inverse": (lambda f: 1 / f, lambda f: -1 / f**2, lambda f: 2 / f**3, _away_from_zero),
}


def derivatives_of(func: Callable[[torch.Tensor], torch.Tensor], points: np.ndarray,
                   scales: np.ndarray | None = None, chunk: int = 2048) -> Derivatives:
    """Evaluate a twice-differentiable torch function and its first two derivatives at ``points``.

    Parameters
    ----------
    func : callable
        Maps a float64 tensor ``(batch, n)`` to ``(batch,)``, row by row
        (the output of row ``b`` depends on row ``b`` only).
    points : ndarray, shape (N, n)
    scales : ndarray, shape (n,), optional
        Default: the standard deviation of each column of ``points``.
    chunk : int
        Rows per autograd pass (bounds memory).

    Returns
    -------
    Derivatives
    """
    points = np.asarray(points, dtype=np.float64)
    n = points.shape[1]
    fs, gs, hs = [], [], []
    for start in range(0, len(points), chunk):
        x = torch.tensor(points[start:start + chunk], dtype=torch.float64, requires_grad=True)
        out = func(x).reshape(-1)
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        # Rows are independent, so column j of every row's Hessian is one backward pass.
        cols = [torch.autograd.grad(g[:, j].sum(), x, retain_graph=j < n - 1, allow_unused=True)[0]
                if g.requires_grad else None for j in range(n)]  # a linear function has no graph left
        cols = [torch.zeros_like(x) if c is None else c for c in cols]
        fs.append(out.detach().numpy())
        gs.append(g.detach().numpy())
        hs.append(torch.stack(cols, dim=2).detach().numpy())
    if scales is None:
        scales = np.std(points, axis=0)
    scales = np.where(np.asarray(scales, dtype=np.float64) > 0, scales, 1.0)
    hess = np.concatenate(hs)
    hess = 0.5 * (hess + np.swapaxes(hess, 1, 2))
    return Derivatives(points, np.concatenate(fs), np.concatenate(gs), hess, scales)
