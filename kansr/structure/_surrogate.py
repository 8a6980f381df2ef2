"""A KAN fitted closely to the data, to be differentiated: the instrument of the structure tests."""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from kansr.nn._model import KAN
from kansr.nn._smooth import smooth_forward
from kansr.structure._derivatives import Derivatives, derivatives_of
from kansr.train._fit import fit

__all__ = ["Surrogate", "fit_surrogate"]


@dataclass
class Surrogate:
    """A trained network standing in for the unknown function.

    Attributes
    ----------
    model : KAN
        Float64, inputs and output standardised inside the model.
    log_target : bool
        The network models ``log|y|`` and the surrogate is ``sign * exp(model)``
        (products and powers are sums there, which a small KAN fits far better).
    sign : float
    val_error : float
        Validation RMSE relative to the standard deviation of ``y``.
    seconds : float
        Training time.
    """

    model: KAN
    log_target: bool
    sign: float
    val_error: float
    seconds: float
    scales: np.ndarray

    def torch_function(self, x: torch.Tensor) -> torch.Tensor:
        """The surrogate as a twice-differentiable torch function ``(batch, n) -> (batch,)``."""
        out = smooth_forward(self.model, x)[:, 0]
        return self.sign * torch.exp(out) if self.log_target else out

    def __call__(self, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = self.model.predict(np.asarray(X, dtype=np.float64))[:, 0]
        return self.sign * np.exp(out) if self.log_target else out

    def derivatives(self, points: np.ndarray) -> Derivatives:
        """Values, gradients and Hessians at ``points`` (inputs in the data's units)."""
        return derivatives_of(self.torch_function, points, self.scales)


def _train(X, target, Xv, width, seed: int, grids, steps: int, deadline: float) -> KAN | None:
    model = KAN(width, grid=grids[0], k=3, seed=seed, dtype=torch.float64)
    model.set_normalization(X, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.update_grid(X, tolerance=None)
        for G in grids:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            if G != model.grid_size:
                model.refine(int(G), np.concatenate([X, Xv]))
            run = fit(model, X, target, steps=steps, progress=False, seed=seed, time_limit=left,
                      update_grid=G == grids[0])
            if run.interrupted:
                raise KeyboardInterrupt
    return model


def fit_surrogate(X: np.ndarray, y: np.ndarray, Xv: np.ndarray, yv: np.ndarray, *, seed: int = 0,
                  time_limit: float = 20.0, hidden: int | None = None) -> Surrogate:
    """Fit a ``[n, h, 1]`` KAN to ``y`` (and to ``log|y|`` when ``y`` keeps one sign), keep the better.

    Parameters
    ----------
    X, y : training data
    Xv, yv : validation data (scores the two fits)
    seed : int
    time_limit : float
        Seconds for both fits together.
    hidden : int, optional
        Hidden width; default ``2n + 1`` (at most 13).

    Returns
    -------
    Surrogate
    """
    start = time.perf_counter()
    n = X.shape[1]
    width = [n, hidden or min(2 * n + 1, 13), 1]
    targets = [False]
    if np.all(y > 0) or np.all(y < 0):
        targets.insert(0, True)  # log first: most laws of nature are products
    y_std = float(np.std(yv)) or float(np.std(y)) or 1.0
    best: Surrogate | None = None
    for i, log_target in enumerate(targets):
        share = (time_limit - (time.perf_counter() - start)) / (len(targets) - i)
        sign = float(np.sign(y[0])) if log_target else 1.0
        target = np.log(np.abs(y)) if log_target else y
        t0 = time.perf_counter()
        model = _train(X, target, Xv, width, seed, (5, 10), steps=60, deadline=t0 + share)
        if model is None:
            continue
        sur = Surrogate(model, log_target, sign, 0.0, 0.0, np.std(X, axis=0))
        err = float(np.sqrt(np.mean((sur(Xv) - yv) ** 2))) / y_std
        sur.val_error = err if np.isfinite(err) else float("inf")
        sur.seconds = time.perf_counter() - t0
        if best is None or sur.val_error < best.val_error:
            best = sur
        if best.val_error < 1e-3:
            break
    assert best is not None
    return best
