"""Oscillations: ``y = m(x) * (A*cos(w*u) + B*sin(w*u) + C)`` with ``w`` from a periodogram scan.

An oscillation of many periods defeats both a KAN (its grid cannot follow it;
SRBench's ``2*U*(1 - cos(k*d))`` and ``sin(E*t/hbar)**2`` reach test R² ≈ 0)
and the affine grid search of :func:`kansr.symbolic.fit_affine`, whose box
for the inner slope is a few periods wide and whose loss surface in the
frequency is a comb of narrow peaks.  A least-squares periodogram finds the
frequency directly: for every candidate argument ``u`` (an input, a pair
difference, a monomial group ``prod x_i^(±1)``), every candidate prefactor
``m`` (one, a single input or its inverse, the rounded power law of the
inputs ``u`` leaves out) and every frequency ``w`` of a grid fine enough not
to step over a peak, ``y/m`` is fitted by ``[1, cos(w*u), sin(w*u)]`` in one
batched 3×3 solve.  The best peaks are refined by a bounded scalar search and
proposed; the constant refit and snapping of :meth:`Search.add` finish them
(``4*pi`` from ``12.566...``).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import sympy
from scipy.optimize import minimize_scalar

from kansr.discovery._monomials import candidate_exponents, monomial_values
from kansr.discovery._state import Search
from kansr.discovery.generators._regression import monomial_expr

__all__ = ["gen_periodic", "periodogram", "scan_oscillations"]

_MAX_INPUTS = 5  # arguments and prefactors grow like d**3
_SCAN_ROWS = 400  # rows the scan uses (evenly strided); the refinement uses all
_STEPS_PER_LOBE = 6  # frequency steps per main-lobe width 2*pi/range(u)
# Fewer periods than this over range(u) are the nested generator's: a part of one period fits
# many smooth monotone functions to R² 0.99, which is accurate nonsense.
_MIN_PERIODS = 1.5
_MAX_PERIODS = 60  # highest frequency scanned: this many periods over range(u) ...
_ROWS_PER_PERIOD = 6  # ... and at least this many rows per period
_MAX_FREQUENCIES = 4000  # bounds the scan's cost when u has a heavy tail
_MIN_R2 = 0.99  # a refined peak is proposed only if it explains this much of y/m
# A grid frequency can sit up to 1/12 of a lobe off the peak, which over many periods leaves a
# few per cent unexplained even for an exact oscillation: peaks this good are refined first.
_MIN_SCAN_R2 = 0.9
_PROPOSALS = 3


def periodogram(u: np.ndarray, T: np.ndarray, omegas: np.ndarray) -> np.ndarray:
    """Unexplained-variance share of each column of ``T`` fitted by ``[1, cos(w*u), sin(w*u)]``, per ``w``.

    Parameters
    ----------
    u : ndarray, shape (n,)
        The argument.
    T : ndarray, shape (n, k)
        Targets (one per candidate prefactor).
    omegas : ndarray, shape (f,)
        Frequencies.

    Returns
    -------
    ndarray, shape (f, k)
        ``RSS / TSS`` of the three-column least-squares fit (1 where a
        target has no variance or the fit is singular).
    """
    n = len(u)
    phase = np.outer(omegas, u)  # (f, n)
    c, s = np.cos(phase), np.sin(phase)
    # Normal equations of [1, c, s] per frequency, for every target at once.
    G = np.empty((len(omegas), 3, 3))
    G[:, 0, 0] = n
    G[:, 0, 1] = G[:, 1, 0] = c.sum(axis=1)
    G[:, 0, 2] = G[:, 2, 0] = s.sum(axis=1)
    G[:, 1, 1] = np.einsum("fn,fn->f", c, c)
    G[:, 2, 2] = np.einsum("fn,fn->f", s, s)
    G[:, 1, 2] = G[:, 2, 1] = np.einsum("fn,fn->f", c, s)
    rhs = np.stack([np.broadcast_to(T.sum(axis=0), (len(omegas), T.shape[1])), c @ T, s @ T], axis=1)  # (f, 3, k)
    centred = T - T.mean(axis=0)
    tss = np.einsum("nk,nk->k", centred, centred)
    tt = np.einsum("nk,nk->k", T, T)
    # a frequency whose columns are (nearly) collinear with the constant explains nothing new
    cond_ok = np.linalg.cond(G) < 1e10
    G[~cond_ok] = np.eye(3)
    coef = np.linalg.solve(G, rhs)
    explained = np.einsum("fik,fik->fk", coef, rhs)  # coef . rhs = fitted sum of squares
    share = (tt[None, :] - explained) / np.maximum(tss[None, :], 1e-300)
    share[~cond_ok] = 1.0
    share[:, tss <= 1e-300] = 1.0
    return np.clip(share, 0.0, 1.0)


def _frequency_grid(u: np.ndarray) -> np.ndarray:
    """Frequencies from ``_MIN_PERIODS`` periods over ``range(u)`` up to ``_MAX_PERIODS`` over its bulk.

    The step is a fraction of the main lobe ``2*pi/range(u)``, so no peak is
    stepped over; the highest frequency counts periods over the central 90 %
    of ``u`` (a heavy tail must not lower it) and keeps ``_ROWS_PER_PERIOD``
    rows per period.
    """
    span = float(np.ptp(u))
    bulk = float(np.subtract(*np.quantile(u, [0.95, 0.05]))) or span
    lobe = 2 * math.pi / span
    periods = min(_MAX_PERIODS, len(u) / _ROWS_PER_PERIOD) * span / bulk
    omegas = np.arange(_MIN_PERIODS, periods, 1.0 / _STEPS_PER_LOBE) * lobe
    return omegas[:_MAX_FREQUENCIES]


def _arguments(X: np.ndarray, variables) -> list[tuple[np.ndarray, sympy.Expr, frozenset[int]]]:
    """Candidate arguments ``u``: inputs, pair differences, monomial groups of positive inputs."""
    d = X.shape[1]
    out = [(X[:, j], variables[j], frozenset([j])) for j in range(d)]
    for i, j in itertools.combinations(range(d), 2):
        out.append((X[:, i] - X[:, j], variables[i] - variables[j], frozenset([i, j])))
    if np.all(X > 0):
        L = np.log(X)
        for e in candidate_exponents(d, 3):
            used = frozenset(i for i, p in enumerate(e) if p)
            out.append((np.exp(L @ np.asarray(e, dtype=float)), monomial_expr(variables, e), used))
    return [(u, expr, used) for u, expr, used in out if np.all(np.isfinite(u)) and np.ptp(u) > 0]


def _prefactors(X: np.ndarray, y: np.ndarray, used: frozenset[int]) -> list[tuple[int, ...]]:
    """Exponent vectors of candidate prefactors ``m`` for an argument on the inputs ``used``."""
    d = X.shape[1]
    out = [(0,) * d]
    if not np.all(X > 0):
        return out
    others = [i for i in range(d) if i not in used]
    for i in others:
        for p in (1, -1):
            e = [0] * d
            e[i] = p
            out.append(tuple(e))
    if others and np.all(y != 0):
        # the power law of log|y| in the inputs u leaves out, rounded (zeros of y bias it; rounding absorbs that)
        L = np.log(X[:, others])
        coef = np.linalg.lstsq(np.column_stack([L, np.ones(len(y))]), np.log(np.abs(y)), rcond=None)[0][:-1]
        e = [0] * d
        for i, a in zip(others, coef):
            e[i] = int(round(a))
        out.append(tuple(e))
    return list(dict.fromkeys(out))


def _refine(u: np.ndarray, t: np.ndarray, omega: float, step: float) -> tuple[float, np.ndarray, float]:
    """Frequency, coefficients ``[C, A, B]`` and unexplained share of the best fit near ``omega``."""
    def share(w: float) -> float:
        return float(periodogram(u, t[:, None], np.array([w]))[0, 0])

    found = minimize_scalar(share, bounds=(omega - step, omega + step), method="bounded",
                            options={"xatol": 1e-10 * omega})
    w = float(found.x)
    A = np.column_stack([np.ones_like(u), np.cos(w * u), np.sin(w * u)])
    coef = np.linalg.lstsq(A, t, rcond=None)[0]
    return w, coef, share(w)


def scan_oscillations(X: np.ndarray, y: np.ndarray, variables, top: int = _PROPOSALS):
    """Best ``(share, argument expr, prefactor exponents, omega, step)`` peaks over all arguments and prefactors.

    Returns at most ``top`` entries, lowest unexplained share first, each the
    best frequency of one (argument, prefactor) pair.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    stride = max(1, len(y) // _SCAN_ROWS)
    Xs, ys = X[::stride], y[::stride]
    peaks = []
    for u, u_expr, used in _arguments(Xs, variables):
        prefactors = _prefactors(Xs, ys, used)
        # prefactors other than 1 exist only for positive inputs
        M = np.column_stack([monomial_values(Xs, e) for e in prefactors]) if np.all(Xs > 0) else np.ones((len(ys), 1))
        with np.errstate(all="ignore"):
            T = ys[:, None] / M
        ok = np.all(np.isfinite(T), axis=0)
        omegas = _frequency_grid(u)
        if not ok.any() or len(omegas) == 0:
            continue
        share = periodogram(u, T[:, ok], omegas)
        kept = [p for p, good in zip(prefactors, ok) if good]
        f, k = np.unravel_index(int(np.argmin(share)), share.shape)
        step = float(omegas[1] - omegas[0]) if len(omegas) > 1 else float(omegas[0])
        peaks.append((float(share[f, k]), u_expr, kept[k], float(omegas[f]), step))
    peaks.sort(key=lambda p: p[0])
    return peaks[:top]


def gen_periodic(s: Search) -> None:
    """``y = m(x) * (A*cos(w*u) + B*sin(w*u) + C)``, u and m screened, w from a periodogram (module docstring)."""
    d = len(s.names)
    if d > _MAX_INPUTS or len(s.y) < 30:
        return
    for share, u_expr, powers, omega, step in scan_oscillations(s.X, s.y, s.variables):
        if share > 1 - _MIN_SCAN_R2 or s.budget.over(reserve=2.0) or s.solved():
            return
        m_expr = monomial_expr(s.variables, powers)
        u = np.asarray(sympy.lambdify(s.variables, u_expr, "numpy")(*s.X.T), dtype=float)
        m = monomial_values(s.X, [float(p) for p in powers]) if any(powers) else np.ones_like(u)
        w, (c0, a, b), refined = _refine(u, s.y / m, omega, step)
        if refined > 1 - _MIN_R2:
            continue
        s.note(f"periodic: {m_expr} * F({u_expr}), w = {w:.6g}, unexplained {refined:.3g}")
        W = sympy.Float(w, 17)
        amp, phi = math.hypot(a, b), math.atan2(b, a)
        C = sympy.Float(c0, 17)
        forms = [sympy.Float(amp, 17) * sympy.cos(W * u_expr - sympy.Float(phi, 17)) + C]
        if abs(b) < 1e-3 * amp:
            forms.append(sympy.Float(a, 17) * sympy.cos(W * u_expr) + C)
        if abs(a) < 1e-3 * amp:
            forms.append(sympy.Float(b, 17) * sympy.sin(W * u_expr) + C)
        for form in forms:
            s.add(m_expr * form, "periodic")
