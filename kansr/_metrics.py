"""Goodness of fit, computed the same way everywhere (discovery, CLI, plots, benchmark).

Both metrics are scale-safe: values are divided by their largest magnitude
before squaring (R² by the target's, RMSE by the target's and the
prediction's), so a target around 1e-300 or 1e300 neither underflows to a
perfect score nor overflows to inf.  A constant target scores R² = 1 when it
is predicted exactly and 0 otherwise (scikit-learn's convention).
"""
from __future__ import annotations

import numpy as np

__all__ = ["r2_score", "rmse", "r2_rmse"]


def _max_abs(values: np.ndarray) -> float:
    scale = float(np.max(np.abs(values), initial=0.0))
    return scale if np.isfinite(scale) and scale > 0.0 else 1.0


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
    y = np.asarray(y, dtype=np.float64).ravel()
    pred = np.asarray(pred, dtype=np.float64).ravel()
    if y.shape != pred.shape:
        raise ValueError(f"y has {y.size} values but the prediction has {pred.size}")
    if y.size == 0:
        raise ValueError("cannot score an empty prediction")
    if not np.all(np.isfinite(pred)):
        return float("-inf"), float("inf")
    # R²: both sums on y's scale (a wild prediction makes the residual huge, not y's spread zero).
    s_y = _max_abs(y)
    with np.errstate(over="ignore"):
        residual = float(np.sum(((y - pred) / s_y) ** 2))
    total = float(np.sum(((y - y.mean()) / s_y) ** 2))
    # RMSE: on the joint scale, so neither tiny nor huge values under- or overflow.
    s = max(s_y, _max_abs(pred))
    error = float(np.sqrt(np.mean(((y - pred) / s) ** 2))) * s
    if total == 0.0:
        return (1.0 if residual == 0.0 else 0.0), error
    return 1.0 - residual / total, error


def r2_score(y, pred) -> float:
    """Coefficient of determination (see :func:`r2_rmse`)."""
    return r2_rmse(y, pred)[0]


def rmse(y, pred) -> float:
    """Root-mean-square error (see :func:`r2_rmse`)."""
    return r2_rmse(y, pred)[1]
