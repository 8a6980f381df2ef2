"""Goodness of fit, computed the same way everywhere (discovery, CLI, plots, benchmark).

Both metrics are scale-safe: values are divided by their largest magnitude
before squaring, so a target around 1e-300 or 1e300 neither underflows to a
perfect score nor overflows to inf.  A constant target scores R² = 1 when it
is predicted exactly and 0 otherwise (scikit-learn's convention).
"""
from __future__ import annotations

import numpy as np

__all__ = ["r2_score", "rmse", "r2_rmse"]


def _scaled(y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    y = np.asarray(y, dtype=np.float64).ravel()
    pred = np.asarray(pred, dtype=np.float64).ravel()
    if y.shape != pred.shape:
        raise ValueError(f"y has {y.size} values but the prediction has {pred.size}")
    scale = float(max(np.max(np.abs(y), initial=0.0), np.max(np.abs(pred), initial=0.0)))
    if not np.isfinite(scale) or scale == 0.0:
        scale = 1.0
    return y / scale, pred / scale, scale


def r2_rmse(y, pred) -> tuple[float, float]:
    """Coefficient of determination and root-mean-square error of ``pred`` against ``y``.

    Parameters
    ----------
    y, pred : array-like of the same length (at least one value)

    Returns
    -------
    r2, rmse : float
        ``(-inf, inf)`` when a prediction is not finite.
    """
    ys, ps, scale = _scaled(y, pred)
    if ys.size == 0:
        raise ValueError("cannot score an empty prediction")
    if not np.all(np.isfinite(ps)):
        return float("-inf"), float("inf")
    residual = float(np.sum((ys - ps) ** 2))
    total = float(np.sum((ys - ys.mean()) ** 2))
    error = float(np.sqrt(residual / ys.size)) * scale
    if total == 0.0:
        return (1.0 if residual == 0.0 else 0.0), error
    return 1.0 - residual / total, error


def r2_score(y, pred) -> float:
    """Coefficient of determination (see :func:`r2_rmse`)."""
    return r2_rmse(y, pred)[0]


def rmse(y, pred) -> float:
    """Root-mean-square error (see :func:`r2_rmse`)."""
    return r2_rmse(y, pred)[1]
