"""Screening for a hidden dimensionless group: ``y = C * prod_i x_i^a_i * F(z)``.

Physical laws often depend on their inputs through one monomial ``z`` (a ratio
such as ``v/c`` or ``theta/sigma``) besides a power-law prefactor:
``m0/sqrt(1 - v**2/c**2)``, ``exp(-(theta/sigma)**2/2)/sigma``.  Neither an
additive nor a separable model sees ``z``.  Taking logs turns the form into a
linear model plus one smooth function::

    log|y| = log C + sum_i a_i log x_i + g(log z)

so every candidate ``z = prod_i x_i^e_i`` (small integer exponents on two or
three inputs) can be scored by one linear least-squares fit with a cubic
spline basis for ``g``.  :func:`screen_monomials` ranks the candidates by how
much they lower the residual of the pure power law; the discovery pipeline
then hands the best ``z`` to a network as an extra input.
"""
from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
import sympy
import torch

from .splines import bspline_basis, extend_grid

__all__ = ["candidate_exponents", "screen_monomials", "monomial_values", "prefactor_exponents"]


def candidate_exponents(n_inputs: int, max_support: int = 3) -> list[tuple[int, ...]]:
    """Exponent vectors in ``{-1, 0, 1}`` on 2..``max_support`` inputs, up to inversion.

    ``z`` and ``1/z`` carry the same information, so only vectors whose first
    non-zero exponent is +1 are returned.
    """
    out = []
    for size in range(2, min(max_support, n_inputs) + 1):
        for support in itertools.combinations(range(n_inputs), size):
            for signs in itertools.product((1, -1), repeat=size - 1):
                e = [0] * n_inputs
                e[support[0]] = 1
                for idx, sign in zip(support[1:], signs):
                    e[idx] = sign
                out.append(tuple(e))
    return out


def _spline_design(w: np.ndarray, n_intervals: int = 8, k: int = 3) -> np.ndarray:
    """Cubic B-spline basis of ``w`` on quantile knots (columns span constants)."""
    qs = np.quantile(w, np.linspace(0, 1, n_intervals + 1))
    qs = np.maximum.accumulate(qs + np.arange(n_intervals + 1) * 1e-9 * (abs(qs[-1] - qs[0]) + 1e-300))
    grid = extend_grid(torch.as_tensor(qs, dtype=torch.float64).unsqueeze(0), k)
    return bspline_basis(torch.as_tensor(w, dtype=torch.float64).unsqueeze(1), grid, k)[:, 0, :].numpy()


def _rss(A: np.ndarray, t: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(A, t, rcond=None)
    r = A @ coef - t
    return float(r @ r)


def screen_monomials(
    X: np.ndarray,
    y: np.ndarray,
    max_support: int = 4,
    top: int = 2,
    min_gain: float = 100.0,
    max_candidates: int = 400,
) -> list[tuple[tuple[int, ...], float]]:
    """Rank candidate groups ``z`` by how well ``power law × F(z)`` fits ``y``.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_inputs)
        Strictly positive inputs.
    y : ndarray, shape (n_samples,)
        Single-signed, non-zero target.
    max_support : int
        Largest number of inputs in one group (lowered until at most
        ``max_candidates`` groups remain).
    top : int
        How many groups to return.
    min_gain : float
        A group is kept only if it divides the power law's residual sum of
        squares (on ``log|y|``) by at least this factor.

    Returns
    -------
    list of (exponents, gain)
        Best first; empty when the inputs are not all positive, ``y`` changes
        sign, there are fewer than two inputs or no group helps.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = X.shape
    if d < 2 or n < 20 or np.any(X <= 0) or not (np.all(y > 0) or np.all(y < 0)):
        return []
    L = np.log(X)
    t = np.log(np.abs(y))
    base = _rss(np.column_stack([L, np.ones(n)]), t)
    floor = 1e-24 * n * (1.0 + float(np.var(t)))
    if base <= floor:  # already an exact power law
        return []
    candidates = candidate_exponents(d, max_support)
    while len(candidates) > max_candidates and max_support > 2:
        max_support -= 1
        candidates = candidate_exponents(d, max_support)
    scored = []
    for e in candidates:
        logz = L @ np.asarray(e, dtype=float)
        if np.ptp(logz) < 1e-9:
            continue
        rss = _rss(np.column_stack([L, _spline_design(logz)]), t)
        scored.append((base / max(rss, floor), e))
    scored.sort(key=lambda item: -item[0])
    return [(e, gain) for gain, e in scored[:top] if gain >= min_gain]


def monomial_values(X: np.ndarray, exponents: Sequence[int]) -> np.ndarray:
    """``prod_i X[:, i] ** exponents[i]`` for positive ``X``."""
    return np.exp(np.log(X) @ np.asarray(exponents, dtype=float))


def prefactor_exponents(
    X: np.ndarray, y: np.ndarray, exponents: Sequence[int], pivot: int, denominator: int = 2
) -> list[sympy.Rational]:
    """Exponents ``a`` of the power-law prefactor in ``y = C prod x_i^a_i F(z)``.

    The split between prefactor and ``F`` is fixed by giving input ``pivot``
    (one of the inputs of ``z``) exponent 0; the least-squares exponents of
    the others are rounded to multiples of ``1/denominator``.
    """
    X = np.asarray(X, dtype=float)
    L = np.log(X)
    logz = L @ np.asarray(exponents, dtype=float)
    keep = [i for i in range(X.shape[1]) if i != pivot]
    A = np.column_stack([L[:, keep], _spline_design(logz)])
    coef, *_ = np.linalg.lstsq(A, np.log(np.abs(np.asarray(y, dtype=float))), rcond=None)
    powers = [sympy.Integer(0)] * X.shape[1]
    for i, a in zip(keep, coef[: len(keep)]):
        powers[i] = sympy.Rational(round(a * denominator), denominator)
    return powers
