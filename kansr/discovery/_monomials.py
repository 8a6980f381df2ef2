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
from collections.abc import Callable, Sequence

import numpy as np
import sympy
import torch

from kansr.nn._splines import extend_grid
from kansr.nn.kernels._tables import bspline_basis

__all__ = [
    "candidate_exponents", "screen_monomials", "monomial_values", "prefactor_exponents", "monomial_library",
    "sparse_monomial_sum", "screen_single_factor", "screen_pair_factor", "monomial_columns",
]


def _count_supported(choices: Sequence[int], max_size: int) -> list[int]:
    """How many vectors have exactly ``k`` non-zero entries, ``k = 0..max_size``.

    Entry ``i`` can take ``choices[i]`` non-zero values, so the count of size
    ``k`` is the ``k``-th elementary symmetric polynomial of ``choices``,
    computed by dynamic programming instead of by enumeration.
    """
    counts = [1] + [0] * max_size
    for c in choices:
        for k in range(max_size, 0, -1):
            counts[k] += counts[k - 1] * c
    return counts


def _largest_order(choices: Sequence[int], max_order: int, max_count: int) -> int:
    """The largest order ``<= max_order`` (at least 1) whose vectors of sizes ``1..order`` number at most ``max_count``."""
    counts = _count_supported(choices, max_order)
    order = max_order
    while order > 1 and sum(counts[1:order + 1]) > max_count:
        order -= 1
    return order


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


def count_candidate_exponents(n_inputs: int, max_support: int) -> int:
    """``len(candidate_exponents(n_inputs, max_support))``, without building the list."""
    # Half of the sign patterns survive the "first non-zero is +1" rule.
    counts = _count_supported([2] * n_inputs, max_support)
    return sum(counts[k] // 2 for k in range(2, min(max_support, n_inputs) + 1))


def _spline_designs(W: np.ndarray, n_intervals: int = 8, k: int = 3) -> np.ndarray:
    """Cubic B-spline bases of every column of ``W`` (n, K) on its quantile knots: shape (n, K, n_basis).

    One batched basis evaluation for all columns: the screens score hundreds
    of candidate groups, and one call per group cost 0.1-0.3 s each.
    """
    W = np.asarray(W, dtype=np.float64)
    qs = np.quantile(W, np.linspace(0, 1, n_intervals + 1), axis=0).T  # (K, n_intervals + 1)
    step = np.arange(n_intervals + 1) * 1e-9 * (np.abs(qs[:, -1:] - qs[:, :1]) + 1e-300)
    qs = np.maximum.accumulate(qs + step, axis=1)
    grid = extend_grid(torch.as_tensor(qs, dtype=torch.float64), k)
    return bspline_basis(torch.as_tensor(W, dtype=torch.float64), grid, k).numpy()


def _spline_design(w: np.ndarray, n_intervals: int = 8, k: int = 3) -> np.ndarray:
    """Cubic B-spline basis of ``w`` on quantile knots (columns span constants)."""
    return _spline_designs(np.asarray(w)[:, None], n_intervals, k)[:, 0, :]


def _rss(A: np.ndarray, t: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(A, t, rcond=None)
    r = A @ coef - t
    return float(r @ r)


def _rss_with_splines(L: np.ndarray, designs: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Residual sum of squares of ``t`` regressed on ``[L, 1, designs[:, c, :]]``, for every candidate c at once.

    ``t`` and the spline columns are first freed of ``[L, 1]``; the bases sum to
    one, so one column of each is dropped (the constant is already there), and
    a batched QR of the rest gives each candidate's explained sum of squares.
    """
    Q0, _ = np.linalg.qr(np.column_stack([L, np.ones(len(t))]))
    t_res = t - Q0 @ (Q0.T @ t)
    B = np.moveaxis(designs[:, :, 1:], 1, 0)  # (K, n, n_basis - 1)
    B = B - Q0 @ np.einsum("nj,knb->kjb", Q0, B)
    Q, _ = np.linalg.qr(B)
    explained = np.einsum("knb,n->kb", Q, t_res)
    return np.maximum(float(t_res @ t_res) - np.einsum("kb,kb->k", explained, explained), 0.0)


def screen_monomials(
    X: np.ndarray,
    y: np.ndarray,
    max_support: int = 5,
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
    # Counted before they are built: the list grows like d**max_support.
    while max_support > 2 and count_candidate_exponents(d, max_support) > max_candidates:
        max_support -= 1
    candidates = [e for e in candidate_exponents(d, max_support) if np.ptp(L @ np.asarray(e, dtype=float)) >= 1e-9]
    if not candidates:
        return []
    designs = _spline_designs(L @ np.asarray(candidates, dtype=float).T)  # (n, K, n_basis)
    scored = [(base / max(rss, floor), e) for rss, e in zip(_rss_with_splines(L, designs, t), candidates)]
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


def monomial_library(X: np.ndarray, powers: Sequence[int] = (-2, -1, 1, 2), max_order: int = 4,
                     max_features: int = 4000) -> list[tuple[int, ...]]:
    """Exponent vectors for :func:`sparse_monomial_sum`: products of up to ``max_order`` inputs.

    Negative powers are left out for inputs that come close to zero; the
    order is lowered until at most ``max_features`` vectors remain.
    """
    X = np.asarray(X, dtype=float)
    d = X.shape[1]
    scale = np.max(np.abs(X), axis=0)
    near_zero = np.min(np.abs(X), axis=0) < 1e-3 * np.where(scale > 0, scale, 1.0)
    allowed = [[p for p in powers if p > 0 or not near_zero[i]] for i in range(d)]
    # Counted before they are built: the list grows like (d * len(powers))**max_order.
    max_order = _largest_order([len(a) for a in allowed], min(max_order, d), max_features)
    out = []
    for size in range(1, max_order + 1):
        for support in itertools.combinations(range(d), size):
            for ps in itertools.product(*[allowed[i] for i in support]):
                e = [0] * d
                for i, p in zip(support, ps):
                    e[i] = p
                out.append(tuple(e))
    return out


def monomial_columns(X: np.ndarray, library: Sequence[tuple[int, ...]]) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """The values of the monomials ``library`` at ``X``, keeping those finite and varying on every row.

    Returns ``(kept exponent vectors, values of shape (n_samples, len(kept)))``.
    """
    with np.errstate(all="ignore"):
        F = np.stack([np.prod(X ** np.asarray(e, dtype=float), axis=1) for e in library], axis=1)
    ok = np.all(np.isfinite(F), axis=0) & (np.ptp(F, axis=0) > 0)
    return [e for e, keep in zip(library, ok) if keep], F[:, ok]


def sparse_monomial_sum(
    X: np.ndarray,
    y: np.ndarray,
    max_terms: int = 4,
    beam: int = 40,
    should_stop: Callable[[], bool] | None = None,
) -> list[tuple[list[tuple[int, ...]], np.ndarray, float]]:
    """Best sums of ``1..max_terms`` monomials (plus a constant), by beam search.

    ``y = c0 + sum_k c_k prod_i x_i^e_ki`` covers polynomials and sums of power
    laws (``G*m1*m2*(1/r2 - 1/r1)``, ``m*(omega**2 + omega_0**2)*x**2/4``).
    Each size keeps the ``beam`` best term sets and extends each by the
    ``beam`` monomials that lower its residual most (exact orthogonal
    least-squares gains over the whole library).  Picking by correlation
    alone fails here: the terms of a difference such as ``T2 - T1`` explain
    little on their own.

    ``should_stop`` (e.g. "the time budget is spent") is asked before each
    extension; the sizes finished so far are returned.

    Returns
    -------
    list of (exponents, coefficients, rmse)
        The best set of each size; ``coefficients[0]`` is the constant.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    library, F = monomial_columns(X, monomial_library(X))
    scale = np.max(np.abs(F), axis=0)
    F = F / scale  # conditioning; coefficients are solved in the original units at the end
    n = len(y)
    ones = np.ones((n, 1))
    tiny = 1e-10 * (float(np.std(y)) + 1e-300)

    def finish(cols: Sequence[int]) -> tuple[list[tuple[int, ...]], np.ndarray, float]:
        A = np.column_stack([ones, F[:, list(cols)] * scale[list(cols)]])
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        return [library[j] for j in cols], coef, float(np.sqrt(np.mean((A @ coef - y) ** 2)))

    results = []
    frontier: list[tuple[int, ...]] = [()]
    for _ in range(max_terms):
        trials: dict[tuple[int, ...], float] = {}
        for cols in frontier:
            if should_stop is not None and should_stop():
                return results
            Q, _ = np.linalg.qr(np.column_stack([ones, F[:, list(cols)]]))
            r = y - Q @ (Q.T @ y)
            Fp = F - Q @ (Q.T @ F)
            fp2 = np.einsum("ij,ij->j", Fp, Fp)
            gain = np.where(fp2 > 1e-20 * n, (r @ Fp) ** 2 / np.maximum(fp2, 1e-300), 0.0)
            gain[list(cols)] = 0.0
            rss = float(r @ r)
            for j in np.argsort(-gain)[:beam]:
                trials.setdefault(tuple(sorted(cols + (int(j),))), rss - float(gain[j]))
        if not trials:
            break
        frontier = [key for key, _ in sorted(trials.items(), key=lambda item: item[1])[:beam]]
        results.append(finish(frontier[0]))
        if results[-1][2] <= tiny:
            break
    return results


def screen_single_factor(
    X: np.ndarray,
    y: np.ndarray,
    max_power: int = 3,
    max_candidates: int = 5000,
    min_gain: float = 100.0,
    max_residual: float = 1e-2,
) -> list[tuple[int, tuple[int, ...], float]]:
    """Find ``y = prod_{i != j} x_i^p_i * F(x_j)``: a power law in all inputs but one, times any function of it.

    For each input ``j``, ``t = y / prod x_i^p_i`` is fitted by a cubic spline
    of ``x_j`` alone (all exponent vectors of one ``j`` in one least-squares
    solve) and scored in the units of ``y``, so ``y`` may change sign
    (``p*cos(theta)/(epsilon*r**2)``).  The exponent vectors: where ``y``
    keeps one sign, the least-squares exponents of ``log|y|`` (with a spline
    in ``x_j``) rounded to integers and to halves, any number of inputs;
    otherwise every vector with entries in ``-max_power..max_power``
    (lowered until at most ``max_candidates`` remain).

    Returns
    -------
    list of (j, exponents, residual)
        At most one per input ``j``, best first: the exponents (0 at ``j``)
        whose spline fit leaves the smallest share of ``t``'s variance, kept
        when that share is below ``max_residual`` and ``min_gain`` times
        below the share without a prefactor.  Empty unless all inputs are positive.
    """
    groups = [(j,) for j in range(np.shape(X)[1])]
    found = _screen_factor(X, y, groups, max_power, max_candidates, min_gain, max_residual)
    return [(z.index(1), powers, share) for z, powers, share in found]


def screen_pair_factor(
    X: np.ndarray,
    y: np.ndarray,
    max_power: int = 3,
    max_candidates: int = 5000,
    min_gain: float = 100.0,
    max_residual: float = 1e-2,
) -> list[tuple[tuple[int, ...], tuple[int, ...], float]]:
    """Find ``y = prod_{i not in z} x_i^p_i * F(z)`` for a pair group ``z = x_i * x_j^(±1)``.

    :func:`screen_single_factor` with ``F`` of a product or ratio of two
    inputs (``n*kb*T*log(V2/V1)``, whose ``y`` changes sign, so the log
    screen of :func:`screen_monomials` cannot see it); same scoring and
    thresholds.

    Returns
    -------
    list of (z exponents, prefactor exponents, residual)
        At most one per pair and sign of ``j``'s exponent, best first.
    """
    d = np.shape(X)[1]
    groups = [(i, j) for i, j in itertools.combinations(range(d), 2)]
    return _screen_factor(X, y, groups, max_power, max_candidates, min_gain, max_residual, signs=(1, -1))


def _screen_factor(
    X: np.ndarray,
    y: np.ndarray,
    groups: Sequence[tuple[int, ...]],
    max_power: int,
    max_candidates: int,
    min_gain: float,
    max_residual: float,
    signs: Sequence[int] = (1,),
) -> list[tuple[tuple[int, ...], tuple[int, ...], float]]:
    """Power law in the inputs outside a group × a spline of the group's monomial, scored in units of ``y``."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = X.shape
    if d < 2 or n < 30 or np.any(X <= 0):
        return []
    L = np.log(X)
    one_sign = bool(np.all(y > 0) or np.all(y < 0))
    out = []
    grids: dict[int, np.ndarray | None] = {}
    for group in groups:
        others = [i for i in range(d) if i not in group]
        k = len(others)
        if k not in grids:  # None: exponents from log|y| (one-signed y); empty: too many to try
            power = max_power
            while power > 1 and (2 * power + 1) ** k > max_candidates:
                power -= 1
            if one_sign:
                grids[k] = None
            elif (2 * power + 1) ** k > max_candidates:
                grids[k] = np.empty((0, k))
            else:
                grids[k] = np.array(list(itertools.product(range(-power, power + 1), repeat=k)),
                                    dtype=float).reshape(-1, k)
        grid = grids[k]
        if grid is not None and len(grid) == 0:
            continue
        for sign in signs[: 1 if len(group) == 1 else None]:
            z = [0] * d
            for pos, i in enumerate(group):
                z[i] = 1 if pos == 0 else sign
            logz = L @ np.asarray(z, dtype=float)
            if np.ptp(logz) <= 1e-12:
                continue
            B = _spline_design(np.exp(logz))
            if grid is None:
                coef = np.linalg.lstsq(np.column_stack([L[:, others], B]), np.log(np.abs(y)), rcond=None)[0][:k]
                P = np.array([np.zeros(k), np.round(coef), np.round(2 * coef) / 2])
            else:
                P = grid
            with np.errstate(all="ignore"):
                T = y[:, None] * np.exp(-(L[:, others] @ P.T))  # (n, K)
            ok = np.all(np.isfinite(T), axis=0)
            if not ok.any():
                continue
            T, P = T[:, ok], P[ok]
            R = T - B @ np.linalg.lstsq(B, T, rcond=None)[0]
            C = T - T.mean(axis=0)
            share = np.einsum("ij,ij->j", R, R) / np.maximum(np.einsum("ij,ij->j", C, C), 1e-300)
            best = int(np.argmin(share))
            none = np.flatnonzero(np.all(P == 0, axis=1))
            base = float(share[none[0]]) if len(none) else 1.0
            # with no input left for a prefactor there is nothing to gain over: the fit alone decides
            if share[best] <= max_residual and (k == 0 or share[best] * min_gain <= base):
                e = [0] * d
                for i, p in zip(others, P[best]):
                    e[i] = sympy.Rational(int(round(2 * p)), 2)
                out.append((tuple(z), tuple(e), float(share[best])))
    return sorted(out, key=lambda item: item[2])
