"""Structure tests: scores in [0, 1] computed from a function's derivatives at sample points.

Every score is ``rms(residual) / (rms of the terms that make it up + floor)``,
where the residual is an expression that vanishes identically exactly when the
structure holds.  A score near 0 says "the structure holds"; scores of
functions without it are of order 0.1-1.  Derivatives are taken in
standardised inputs (see :meth:`Derivatives.standardised`), so no score
depends on the inputs' units; the floor, a fraction of the function's spread,
keeps a surrogate's round-off curvature on a function without any from
looking like structure.  The thresholds that turn scores into decisions are
:data:`THRESHOLDS` (calibrated in ``benchmarks/bench_structure.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from kansr.structure._derivatives import Derivatives

__all__ = [
    "THRESHOLDS",
    "relevance",
    "additive_interaction",
    "multiplicative_interaction",
    "symmetry_scores",
    "SYMMETRIES",
    "composition_score",
    "monomial_group",
    "MonomialGroup",
    "step_interactions",
    "StepScores",
]

#: Decision thresholds: a score at or below the value means the structure holds.
THRESHOLDS: dict[str, float] = {
    "relevance": 1e-3,
    "additive": 0.03,
    "multiplicative": 0.03,
    "symmetry": 0.02,
    "composition": 0.03,
    "monomial": 0.02,
}

# Curvature below this fraction of the function's spread counts as none.
_FLOOR = 0.05


def _rms(a: np.ndarray, axis=0) -> np.ndarray:
    return np.sqrt(np.mean(np.square(a), axis=axis))


def _spread(d: Derivatives) -> float:
    """A scale of f on the points: its standard deviation, or its size if nearly constant."""
    return float(np.std(d.f)) or float(np.max(np.abs(d.f))) or 1.0


def relevance(d: Derivatives) -> np.ndarray:
    """How much each input moves ``f``: ``rms(∂f/∂x_i · s_i) / std(f)``, shape (n,).

    Zero for an input ``f`` does not depend on; about ``w_i s_i / std(f)`` for a
    linear term ``w_i x_i``.
    """
    g, _ = d.standardised()
    return _rms(g) / _spread(d)


def additive_interaction(d: Derivatives) -> np.ndarray:
    """Pairwise non-additivity ``S[a, b]`` (n, n), symmetric, zero diagonal.

    ``f = g(x_a, ...) + h(x_b, ...)`` exactly when ``∂²f/∂a∂b ≡ 0``.  The
    score compares the mixed derivative with the pure ones:
    ``rms(H_ab) / (rms(H_ab) + sqrt(rms(H_aa) rms(H_bb)) + floor)``; for
    ``a*b`` it is about 0.7, for ``exp(a + b)`` 0.5, for ``a + b**2`` 0.
    """
    _, H = d.standardised()
    r = _rms(H)  # (n, n)
    diag = np.sqrt(np.outer(np.diag(r), np.diag(r)))
    S = r / (r + diag + _FLOOR * _spread(d))
    np.fill_diagonal(S, 0.0)
    return S


def multiplicative_interaction(d: Derivatives) -> np.ndarray:
    """Pairwise non-multiplicativity (n, n): ``f = g(x_a, ...) * h(x_b, ...)`` exactly when
    ``f ∂²f/∂a∂b − ∂f/∂a ∂f/∂b ≡ 0`` (no logarithm, so ``f`` may change sign)."""
    g, H = d.standardised()
    fH = d.f[:, None, None] * H
    gg = g[:, :, None] * g[:, None, :]
    S = _rms(fH - gg) / (_rms(fH) + _rms(gg) + _FLOOR * _spread(d) ** 2)
    np.fill_diagonal(S, 0.0)
    return S


#: Invariants of a pair: f depends on (x_a, x_b) only through this combination
#: exactly when the named residual of the raw gradient vanishes.
SYMMETRIES: dict[str, str] = {
    "difference": "∂f/∂a + ∂f/∂b ≡ 0  (x_a - x_b)",
    "sum": "∂f/∂a − ∂f/∂b ≡ 0  (x_a + x_b)",
    "product": "x_a ∂f/∂a − x_b ∂f/∂b ≡ 0  (x_a * x_b)",
    "ratio": "x_a ∂f/∂a + x_b ∂f/∂b ≡ 0  (x_a / x_b)",
}


def symmetry_scores(d: Derivatives, a: int, b: int) -> dict[str, float]:
    """Score of each invariant of :data:`SYMMETRIES` for the pair ``(a, b)``.

    The terms are compared in a common unit: for a difference or sum the
    inputs must share one (their scales are used together), for a product or
    ratio each term is ``x_i ∂f/∂x_i``, which has the unit of ``f``.
    """
    ga, gb = d.grad[:, a], d.grad[:, b]
    xa, xb = d.points[:, a], d.points[:, b]
    floor = 1e-9 * _spread(d)
    out = {}
    for name, (u, v) in {
        "difference": (ga, gb),
        "sum": (ga, -gb),
        "product": (xa * ga, -xb * gb),
        "ratio": (xa * ga, xb * gb),
    }.items():
        scale = 1.0 if name in ("product", "ratio") else float(np.hypot(d.scales[a], d.scales[b]))
        out[name] = float(_rms(u + v) / (_rms(u) + _rms(v) + floor / scale))
    return out


def composition_score(d: Derivatives, group: list[int]) -> float:
    """How much the direction of ``∇_group f`` changes with the other inputs.

    ``f = F(g(x_group), x_rest)`` exactly when the ratios ``∂f/∂a : ∂f/∂a'``
    (``a, a'`` in the group) do not depend on ``x_rest``, i.e. when
    ``∂²f/∂a∂b ∂f/∂a' − ∂f/∂a ∂²f/∂a'∂b ≡ 0`` for every other input ``b``.
    A group of one input, or without other inputs, is trivially composed: 0.
    """
    rest = [b for b in range(d.n_inputs) if b not in group]
    if len(group) < 2 or not rest:
        return 0.0
    g, H = d.standardised()
    diff = terms1 = terms2 = 0.0
    for i, a in enumerate(group):
        for a2 in group[i + 1:]:
            t1 = H[:, a][:, rest] * g[:, a2, None]
            t2 = g[:, a, None] * H[:, a2][:, rest]
            diff += float(np.sum(np.mean(np.square(t1 - t2), axis=0)))
            terms1 += float(np.sum(np.mean(np.square(t1), axis=0)))
            terms2 += float(np.sum(np.mean(np.square(t2), axis=0)))
    return float(np.sqrt(diff) / (np.sqrt(terms1) + np.sqrt(terms2) + _FLOOR * _spread(d) ** 2))


def _near_data(points: np.ndarray, data: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Which points lie within the data's own spacing (a surrogate is only trusted there)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(data / scales)
    spacing, _ = tree.query(data / scales, k=2)
    radius = 3.0 * float(np.median(spacing[:, 1])) + 1e-12
    dist, _ = tree.query(points / scales, k=1)
    return dist <= radius


@dataclass(frozen=True)
class StepScores:
    """Pairwise finite-step scores (see :func:`step_interactions`)."""

    additive: np.ndarray
    multiplicative: np.ndarray
    shifted: np.ndarray
    corners: int
    offset: float

    def __iter__(self):  # unpacks as (additive, multiplicative, corners)
        return iter((self.additive, self.multiplicative, self.corners))


def step_interactions(func, data: np.ndarray, active: list[int], *, trusted: np.ndarray | None = None,
                      n_pairs: int = 400, seed: int = 0, transform=None) -> tuple[np.ndarray, np.ndarray, int]:
    """Pairwise non-additivity and non-multiplicativity from finite steps across the data.

    For a data row ``x`` and steps ``Δa``, ``Δb`` taken from other rows,
    ``f(x) + f(x+Δa+Δb) − f(x+Δa) − f(x+Δb)`` vanishes for every step exactly
    when ``∂²f/∂a∂b ≡ 0``, and ``f(x)·f(x+Δa+Δb) − f(x+Δa)·f(x+Δb)`` when ``f``
    is a product of a function of ``a`` and one of ``b``.  Unlike the Hessian
    these compare values ``O(std f)`` apart, so a surrogate's error ``ε``
    (relative) gives scores of order ``ε`` instead of ``ε`` amplified by the
    curvature of its splines.  Steps whose corners leave the data's
    neighbourhood are not used: with correlated inputs few corners may be
    left, and the count says how far to trust the scores.

    Parameters
    ----------
    func : callable
        ``func(X) -> y`` on arrays (the surrogate).
    data : ndarray, shape (N, n)
        The data rows (steps and base points are drawn from them).
    active : list of int
        Inputs to test (pairs among them).
    trusted : ndarray, optional
        The rows the function is trusted near (default ``data``); corners
        farther from them than three times their own spacing are not used.
    n_pairs : int
        Base points per pair.
    transform : callable, optional
        Test ``transform(f)`` instead of ``f`` (e.g. ``np.square``).

    Returns
    -------
    StepScores
        ``additive`` and ``multiplicative`` scores, shape (len(active),
        len(active)), symmetric, zero diagonal, NaN where too few corners
        are trusted; ``corners``, the fewest corners used for any pair;
        ``offset``, the constant ``C`` for which ``f - C`` is closest to a
        product, and ``shifted``, the multiplicative scores of ``f - C``.
    """
    rng = np.random.default_rng(seed)
    N, n = data.shape
    trusted = data if trusted is None else trusted
    scales = np.std(trusted, axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    m = len(active)
    add, mul, shifted = np.zeros((m, m)), np.zeros((m, m)), np.zeros((m, m))
    n_used = n_pairs
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)]
    if not pairs:
        return StepScores(add, mul, shifted, 0, 0.0)
    base = data[rng.integers(0, N, size=(len(pairs), n_pairs))]  # (P, n_pairs, n)
    da = data[rng.integers(0, N, size=(len(pairs), n_pairs))]
    db = data[rng.integers(0, N, size=(len(pairs), n_pairs))]
    corners = np.repeat(base[None], 4, axis=0)  # x, x+Δa, x+Δb, x+Δa+Δb
    for p, (i, j) in enumerate(pairs):
        a, b = active[i], active[j]
        corners[1, p, :, a] = corners[3, p, :, a] = da[p, :, a]
        corners[2, p, :, b] = corners[3, p, :, b] = db[p, :, b]
    flat = corners.reshape(-1, n)
    values = np.asarray(func(flat), dtype=np.float64)
    if transform is not None:
        with np.errstate(all="ignore"):
            values = transform(values)
    values = values.reshape(4, len(pairs), n_pairs)
    near = _near_data(flat, trusted, scales).reshape(4, len(pairs), n_pairs).all(axis=0)
    near &= np.isfinite(values).all(axis=0)
    f0, fa, fb, fab = values
    # A product plus a constant (a child of a sum is one: the other terms are held fixed) is
    # a product of shifted factors; the residual is linear in the shift, so fit one for all pairs.
    s_add, s_mul = (f0 + fab - fa - fb)[near], (f0 * fab - fa * fb)[near]
    spread = float(np.std(f0[near])) if near.any() else 0.0
    # The shift is only determined where sums are not separable: near-zero s_add (noise) would
    # let a huge spurious shift shrink every score.
    fitted = s_add.size and float(np.sqrt(np.mean(s_add**2))) >= 0.05 * spread > 0
    offset = float(np.sum(s_add * s_mul) / np.sum(s_add**2)) if fitted else 0.0
    g0, ga, gb, gab = values - offset
    size = float(np.sqrt(np.mean(g0[near] ** 2))) if near.any() else 0.0
    size0 = float(np.sqrt(np.mean(f0[near] ** 2))) if near.any() else 0.0
    for p, (i, j) in enumerate(pairs):
        ok = near[p]
        n_used = min(n_used, int(ok.sum()))
        if ok.sum() < 10 or spread == 0.0:
            add[i, j] = mul[i, j] = shifted[i, j] = np.nan  # not enough trustworthy corners to decide
            continue
        r_add = (f0 + fab - fa - fb)[p, ok]
        add[i, j] = np.sqrt(np.mean(r_add**2)) / (2 * spread)
        r_mul = (f0 * fab - fa * fb)[p, ok]
        mul[i, j] = np.sqrt(np.mean(r_mul**2)) / (2 * spread * max(size0, spread))
        r_shifted = (g0 * gab - ga * gb)[p, ok]
        shifted[i, j] = np.sqrt(np.mean(r_shifted**2)) / (2 * spread * max(size, spread))
    return StepScores(add + add.T, mul + mul.T, shifted + shifted.T, n_used, offset)


@dataclass(frozen=True)
class MonomialGroup:
    """``f = prod x_i**prefactor_i * F(prod x_i**exponents_i)`` (see :func:`monomial_group`).

    Attributes
    ----------
    exponents : tuple of Fraction
        The group ``m``'s exponents, one per input tested (the smallest
        nonzero one 1 in size, the first nonzero positive).
    prefactor : tuple of Fraction
        The monomial ``w`` in front (all zero when there is none).
    score : float
        How far the log-gradients are from that form (0: exactly).
    """

    exponents: tuple[Fraction, ...]
    prefactor: tuple[Fraction, ...]
    score: float


def _fractions(v: np.ndarray, tol: float, max_denominator: int = 2) -> tuple[Fraction, ...] | None:
    out = tuple(Fraction(float(x)).limit_denominator(max_denominator) for x in v)
    return out if all(abs(float(q) - float(x)) <= tol for q, x in zip(out, v)) else None


def _group_exponents(e: np.ndarray, tol: float) -> tuple[Fraction, ...] | None:
    """A direction in exponent space as small fractions: scaled by each entry in turn, the first that rounds."""
    big = np.abs(e) >= 0.1 * np.max(np.abs(e))
    for k in np.argsort(np.where(big, np.abs(e), np.inf)):  # smallest significant entry first
        if not big[k]:
            break
        scaled = e / e[k] * np.sign(e[np.flatnonzero(big)[0]] / e[k])
        q = _fractions(np.where(big, scaled, 0.0), tol)
        if q is not None and sum(x != 0 for x in q) >= 2:
            return q
    return None


def _prefactor(mean: np.ndarray, e: tuple[Fraction, ...], tol: float) -> tuple[Fraction, ...] | None:
    """The simplest monomial ``a`` with ``mean = a + s e`` for some s: most zeros, then smallest sizes."""
    ev = np.array([float(x) for x in e])
    shifts = [0.0] + [-mean[i] / ev[i] for i in range(len(ev)) if ev[i] != 0]
    best = None
    for t in shifts:
        q = _fractions(mean + t * ev, tol)
        if q is None:
            continue
        key = (-sum(x == 0 for x in q), sum(abs(x) for x in q))
        if best is None or key < best[0]:
            best = (key, q)
    return None if best is None else best[1]


def monomial_group(d: Derivatives, inputs: list[int], tol: float = 0.1) -> MonomialGroup | None:
    """Whether ``f`` depends on ``inputs`` only through one monomial ``m``, up to a monomial factor.

    For ``f = w(x) F(m(x))`` with ``w = prod x_i**a_i`` and
    ``m = prod x_i**e_i``, the log-gradients ``g_i = x_i ∂f/∂x_i / f`` are
    ``a + s(x) e`` with ``s = m F'(m) / F``: every point's ``g`` lies on one
    line of exponent space.  The score is the RMS distance of the ``g`` from
    their best line (an SVD of the centred ``g``) over their RMS size; the
    line's direction, scaled to small fractions, is ``e``, and the simplest
    fractional point on it ``a``.  ``F(m)`` is then a function of one
    variable (``exp(-m)``, ``1/(exp(m) - 1)``, ...): Boltzmann, Planck and
    Arrhenius factors, and every law whose inputs enter through one
    dimensionless group.  Needs positive inputs and ``f`` away from 0.

    Returns
    -------
    MonomialGroup or None
        None when the test does not apply (signs, fewer than two inputs,
        ``g`` nearly constant: ``f`` is a plain monomial) or the direction
        or the prefactor is not made of small fractions (within ``tol``).
    """
    x = d.points[:, inputs]
    if len(inputs) < 2 or np.any(x <= 0) or not np.all(np.isfinite(d.f)):
        return None
    f = d.f
    if np.min(np.abs(f)) < 1e-6 * np.max(np.abs(f)) or not (np.all(f > 0) or np.all(f < 0)):
        return None
    G = x * d.grad[:, inputs] / f[:, None]
    size = float(np.sqrt(np.mean(np.sum(G**2, axis=1))))
    mean = G.mean(axis=0)
    _, sv, vt = np.linalg.svd(G - mean, full_matrices=False)
    spread = sv / np.sqrt(len(G))
    if size == 0 or spread[0] < 0.05 * size:
        return None  # g hardly moves: a plain monomial (or a constant) -- the power-law search's job
    score = float(np.sqrt(np.sum(spread[1:] ** 2)) / size)
    exponents = _group_exponents(vt[0], tol)
    if exponents is None:
        return None
    prefactor = _prefactor(mean, exponents, tol)
    if prefactor is None:
        return None
    return MonomialGroup(exponents, prefactor, score)
