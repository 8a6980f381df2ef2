"""Sparse regression on a feature library (the SINDy idea), with rational forms and target transforms.

The target, or a transform of it, is a sparse linear combination of library
columns (:mod:`kansr.discovery._features`)::

    y           = c0 + sum_k a_k f_k(x)        cubic polynomials, beta*(1 + alpha*cos(theta))
    y**2        = c0 + sum_k a_k f_k(x)        sqrt((x2 - x1)**2 + (y2 - y1)**2)
    1/y         = c0 + sum_k a_k f_k(x)        1/(1 + x**2)
    y * q_0(x)  = c0 + sum_k a_k f_k(x) - y * sum_j b_j q_j(x)

The last is a rational ``p/q`` linearised: one least-squares problem whose
unknowns are the coefficients of numerator and denominator together.  Its
denominator is normalised by one of its own terms ``q_0``: the constant 1,
or a term such as ``m1`` when, as in ``(m1*r1 + m2*r2)/(m1 + m2)``, the
denominator has none.

Supports come from three routes:

* a forward beam search by exact least-squares gain (orthogonal least
  squares), batched over targets: the transforms of ``y``, and every simple
  library column as the normaliser ``q_0`` of a rational form;
* sequentially thresholded least squares (STLSQ) over a path of thresholds
  on standardised columns;
* for rational forms on a small library, the homogeneous problem
  ``[P, -y Q] c = 0``: the smallest right singular vector, thresholded the
  way STLSQ thresholds.  A greedy search is easily led astray there (on
  clustered inputs ``y*m1`` is nearly ``y*log(m1)``: a denominator that
  vanishes on the data), while the exact relation is the only null vector.

Each support gives a candidate, scored on the validation split in the units
of ``y``; the best few of each size are proposed to the search, which refits
and snaps their constants.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import sympy

from kansr.discovery._features import FeatureLibrary, build_library, standardize
from kansr.discovery._state import Search

__all__ = ["gen_sparse", "beam_supports", "stlsq_supports", "null_supports", "sparse_fits"]

MAX_TERMS = 8  # terms of one candidate (numerator and denominator together)
_MAX_ROWS = 1000  # rows a support search uses: a few terms are pinned down by far fewer
_MAX_DENOMINATOR_TERMS = 200  # simple library columns a rational denominator may use
_MAX_PROPOSALS = 40  # Search.add calls (each refits and snaps: 10 ms to 3 s with many terms on 4000 rows)
_MAX_INEXACT = 8  # of them not fitting to round-off (approximations, or fits of noisy data)
_PER_SIZE = 2  # candidates kept per support size
_GAIN = 0.9  # a larger support is proposed only if it lowers the validation error of all smaller ones this much
_EXACT = 1e-6  # relative validation error of a fit to round-off: proposed first
_USEFUL = 0.9  # larger relative validation error (vs. predicting the mean): not proposed
_THRESHOLDS = np.geomspace(1e-6, 0.5, 30)  # STLSQ path, on unit-norm columns and target
_MAX_DENSE = 600  # most columns of one SVD (and at most half the rows)
_STLSQ_COLUMNS = 300  # most columns of STLSQ's first least squares (and at most a third of the rows)
_BEAM = 40  # beam width for the few transforms of y
_NORMALISERS_PER_SIZE = 25  # rational supports fitted per size (of one per normaliser)
_CHANCE = 4.0  # see _Problem.score
_ROWS_PER_TERM = 8  # fewer training rows per term: an interpolation, not a law (and slow to snap)
_RESERVE = 2.0  # seconds of the budget left to the proposals' refits
# Most of the budget left that the generator uses: its refits of many-term proposals can take
# all of it (I.15.1, II.13.23 lost their exact answers to the generators after it that way).
_SHARE = 0.4


def beam_supports(Z: np.ndarray, T: np.ndarray, max_terms: int = MAX_TERMS, width: int = 1,
                  exclude: np.ndarray | None = None) -> tuple[list[list[tuple[int, ...]]], list[list[float]]]:
    """Forward beam search for sparse supports, for several targets at once (orthogonal least squares).

    A state is a target and a set of columns.  Each step extends every state
    by each of its ``width`` best columns, ranked by the exact drop of the
    residual sum of squares, ``(r . z_j)**2 / |z_j projected off the set|**2``,
    and keeps the ``width`` best distinct sets per target.  The projections'
    norms are updated incrementally: a step costs two products of ``Z`` with
    a (states, n) matrix.  ``width=1`` is plain greedy selection.

    Parameters
    ----------
    Z : ndarray, shape (n, m)
        Centred columns of unit norm.
    T : ndarray, shape (n, K)
        Centred targets of unit norm.
    max_terms, width : int
    exclude : ndarray of int, shape (K,), optional
        A column target ``k`` may not use (-1: none), e.g. the target itself.

    Returns
    -------
    supports : list of list of tuple of int
        For each target, the supports that were in its beam (best of each
        size first), sizes 1..``max_terms``; a set that fits to round-off is
        not extended.
    rss : list of list of float
        Their residual sums of squares (of the unit-norm target).
    """
    n, m = Z.shape
    K = T.shape[1]
    owner = np.arange(K)
    R = np.ascontiguousarray(T.T)  # residuals of the states, (S, n)
    basis = np.zeros((K, 0, n))  # orthonormal basis of each state's columns
    proj2 = np.zeros((K, m))  # squared norms of the columns' projections on that basis
    taken = np.zeros((K, m), dtype=bool)
    if exclude is not None:
        has = exclude >= 0
        taken[np.flatnonzero(has), exclude[has]] = True
    sets: list[tuple[int, ...]] = [()] * K
    out: list[list[tuple[int, ...]]] = [[] for _ in range(K)]
    res: list[list[float]] = [[] for _ in range(K)]
    for _ in range(max_terms):
        rss = np.einsum("sn,sn->s", R, R)
        live = rss > 1e-24  # fitted to round-off: more terms would fit noise
        rest = 1.0 - proj2
        gain = np.where(taken | (rest <= 1e-10) | ~live[:, None], -1.0, (R @ Z) ** 2 / np.maximum(rest, 1e-300))
        b = min(width, m)
        top = np.argpartition(-gain, b - 1, axis=1)[:, :b]
        g = np.take_along_axis(gain, top, axis=1)
        parent, col = np.nonzero(g > 0)
        col = top[parent, col]
        if len(parent) == 0:
            break
        after = rss[parent] - gain[parent, col]
        keep, seen, count = [], set(), np.zeros(K, dtype=int)
        for i in np.lexsort((after, owner[parent])):  # by target, then by the residual left
            k = owner[parent[i]]
            key = (k, frozenset(sets[parent[i]]) | {int(col[i])})
            if count[k] < width and key not in seen:
                seen.add(key)
                keep.append(i)
                count[k] += 1
        parent, col, after = parent[keep], col[keep], after[keep]
        a = Z[:, col].T.copy()
        B = basis[parent]
        for _ in range(2):  # Gram-Schmidt twice: once loses orthogonality on near-collinear columns
            a -= np.einsum("ksn,ks->kn", B, np.einsum("ksn,kn->ks", B, a))
        q = a / np.linalg.norm(a, axis=1, keepdims=True)
        R = R[parent] - q * np.einsum("kn,kn->k", q, R[parent])[:, None]
        basis = np.concatenate([B, q[:, None, :]], axis=1)
        proj2 = proj2[parent] + (q @ Z) ** 2
        taken = taken[parent]
        taken[np.arange(len(col)), col] = True
        owner = owner[parent]
        sets = [sets[s] + (int(j),) for s, j in zip(parent, col)]
        for k, cols, r in zip(owner, sets, after):
            out[k].append(cols)
            res[k].append(float(r))
    return out, res


def stlsq_supports(Z: np.ndarray, t: np.ndarray, thresholds: np.ndarray = _THRESHOLDS,
                   max_terms: int = MAX_TERMS, max_iter: int = 20) -> list[tuple[int, ...]]:
    """Supports of sequentially thresholded least squares along a path of thresholds.

    At each threshold (increasing), coefficients smaller in magnitude are
    zeroed and the rest refitted until the support stops changing; the next
    threshold starts from the last support.

    Parameters
    ----------
    Z : ndarray, shape (n, m)
        Centred unit-norm columns (coefficients are then comparable), ``m < n``.
    t : ndarray, shape (n,)
        Centred unit-norm target.

    Returns
    -------
    list of tuple of int
        Distinct supports of 1..``max_terms`` columns.
    """
    support = np.arange(Z.shape[1])
    return _threshold_path(support, _lstsq(Z, t), lambda S: _lstsq(Z[:, S], t), thresholds, max_terms, max_iter)


def _lstsq(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    # QR with column pivoting: rank-revealing like the SVD solver, twice as fast
    return scipy.linalg.lstsq(A, b, lapack_driver="gelsy", check_finite=False)[0]


def null_supports(D: np.ndarray, thresholds: np.ndarray = _THRESHOLDS, max_terms: int = MAX_TERMS + 1,
                  max_iter: int = 20) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """Sparse approximate null vectors of ``D``: its smallest right singular vector, thresholded.

    The thresholds are relative to the vector's largest entry (its scale is
    arbitrary); the singular vector of the columns left is recomputed until
    the support stops changing.

    Parameters
    ----------
    D : ndarray, shape (n, m)
        Columns of unit norm (not centred: the equation is homogeneous), ``m < n``.

    Returns
    -------
    list of (support, vector)
    """

    def smallest(S: np.ndarray) -> np.ndarray:
        v = np.linalg.svd(D[:, S], full_matrices=False)[2][-1]
        return v / np.max(np.abs(v))

    support = np.arange(D.shape[1])
    out = []
    for S in _threshold_path(support, smallest(support), smallest, thresholds, max_terms, max_iter):
        out.append((S, smallest(np.array(S))))
    return out


def _threshold_path(support: np.ndarray, w: np.ndarray, refit, thresholds: np.ndarray,
                    max_terms: int, max_iter: int, max_refits: int = 60) -> list[tuple[int, ...]]:
    """Supports along the threshold path; ``max_refits`` bounds the work on data that is not sparse."""
    out: dict[tuple[int, ...], None] = {}
    refits = 0
    for lam in np.sort(thresholds):
        for _ in range(max_iter):
            keep = np.abs(w) >= lam
            if keep.all() or not keep.any() or refits >= max_refits:
                break
            support = support[keep]
            w = refit(support)
            refits += 1
        if not keep.any():
            break
        if len(support) <= max_terms:
            out[tuple(int(c) for c in support)] = None
    return list(out)


@dataclass(frozen=True)
class _Fit:
    """One candidate: a support, its least-squares coefficients and its validation error.

    ``transform`` is ``"y"``, ``"y**2"``, ``"1/y"`` (linear in the library
    after transforming ``y``) or ``"rational"``: numerator ``intercept +
    coef . F[terms]`` over denominator ``F[normaliser] + den_coef . F[den_terms]``.
    Library column -1 is the constant 1.
    """

    transform: str
    terms: tuple[int, ...]
    coef: np.ndarray
    intercept: float
    val_err: float
    normaliser: int = -1
    den_terms: tuple[int, ...] = ()
    den_coef: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(self.terms) + len(self.den_terms)

    @property
    def key(self) -> tuple:
        return self.transform, self.normaliser, tuple(sorted(self.terms)), tuple(sorted(self.den_terms))


class _Problem:
    """The data of one run: library values on training and validation rows, the targets, the simple columns."""

    def __init__(self, lib: FeatureLibrary, y: np.ndarray, Xv: np.ndarray, yv: np.ndarray):
        self.lib, self.y, self.yv = lib, y, yv
        self.F, self.Fv = lib.values, lib.evaluate(Xv)
        self.base = float(np.sqrt(np.mean((yv - np.mean(y)) ** 2))) or 1.0  # error of predicting the mean
        self.sign = 1.0 if np.all(y >= 0) else (-1.0 if np.all(y <= 0) else 0.0)
        self.Z, _, _ = standardize(self.F)
        # (x_i - x_j)**2: a distance's term (squares of sums are rarer: left to the full library)
        self.is_sq = (lib.function_name() == "sq") & (lib.argument_kind() == 1)

    def simple(self, families: tuple[str, ...], limit: int, squares: bool = True) -> np.ndarray:
        """The constant (-1), the columns of ``families`` and (``squares``) the ``(x_i - x_j)**2``, simplest first."""
        cols = np.flatnonzero(np.isin(self.lib.family, families) | (self.is_sq & squares))
        return np.concatenate([[-1], cols])[:limit]

    def column(self, c: np.ndarray, validation: bool = False) -> np.ndarray:
        """Library columns ``c`` (-1: the constant 1) on training or validation rows."""
        F = self.Fv if validation else self.F
        c = np.asarray(c, dtype=int)
        return np.where(c < 0, 1.0, F[:, np.maximum(c, 0)])

    def transforms(self) -> dict[str, np.ndarray]:
        """Transforms of y that may be linear in the library: y, y**2 (single-signed y), 1/y (away from 0)."""
        out = {"y": self.y}
        if self.sign != 0:
            out["y**2"] = self.y ** 2
        ay = np.abs(self.y)
        if np.min(ay) >= 1e-3 * np.max(ay):
            out["1/y"] = 1.0 / self.y
        return out

    def score(self, pred: np.ndarray, fitted: np.ndarray, size: int, searched: int) -> float:
        """Validation RMSE relative to the mean's; inf if not finite, or if the training fit is what chance gives.

        Picking ``size`` of ``searched`` columns explains about
        ``2 size ln(searched) / n`` of pure noise's variance on the training
        rows (each pick takes the largest of ``searched`` chi-square gains),
        and the best of hundreds of such fits looks good on a small
        validation split too; a fit must explain ``_CHANCE / 2`` times more.
        """
        if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(fitted))):
            return np.inf
        r2 = 1.0 - float(np.mean((self.y - fitted) ** 2)) / (float(np.var(self.y)) or 1.0)
        if r2 < min(0.9, _CHANCE * size * np.log(max(searched, 2)) / len(self.y)):
            return np.inf
        return float(np.sqrt(np.mean((self.yv - pred) ** 2))) / self.base


def _solve(D: np.ndarray, u: np.ndarray) -> tuple[float, np.ndarray]:
    """Intercept and coefficients of ``u ≈ c0 + D @ coef`` (solved on standardised columns)."""
    Z, mean, norm = standardize(D)
    w = np.linalg.lstsq(Z, u - u.mean(), rcond=None)[0]
    coef = np.where(norm > 0, w / np.where(norm > 0, norm, 1.0), 0.0)
    return float(u.mean() - mean @ coef), coef


def _unit(U: np.ndarray) -> np.ndarray:
    C = U - U.mean(axis=0)
    n = np.linalg.norm(C, axis=0)
    return C / np.where(n > 0, n, 1.0)


def _linear_fit(p: _Problem, name: str, u: np.ndarray, support: tuple[int, ...]) -> _Fit:
    S = np.array(support)
    c0, coef = _solve(p.F[:, S], u)
    pred, fitted = (_untransform(name, c0 + F[:, S] @ coef, p.sign) for F in (p.Fv, p.F))
    return _Fit(name, support, coef, c0, p.score(pred, fitted, len(S), p.F.shape[1]))


def _untransform(name: str, inner: np.ndarray, sign: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        if name == "y**2":
            return sign * np.sqrt(np.maximum(inner, 0.0))
        return 1.0 / inner if name == "1/y" else inner


def _rational_fit(p: _Problem, num: np.ndarray, normaliser: int, den: np.ndarray, searched: int) -> _Fit:
    """Least squares of ``y*q0 = c0 + F[num] a - y * F[den] b``, scored as ``p/q`` in y (of ``searched`` columns)."""
    num = num[num >= 0]  # the constant is the intercept
    u = p.y * p.column(normaliser)
    c0, coef = _solve(np.column_stack([p.F[:, num], -p.y[:, None] * p.column(den)]), u)
    a, b = coef[: len(num)], coef[len(num):]
    # The linearised problem is also solved by p ≈ 0 over a denominator that nearly vanishes on the
    # data; scored in y (on the training rows too), such a fit blows up and is rejected.
    with np.errstate(all="ignore"):
        fitted, pred = ((c0 + F[:, num] @ a) / (p.column(normaliser, v) + p.column(den, v) @ b)
                        for F, v in ((p.F, False), (p.Fv, True)))
    err = p.score(pred, fitted, len(num) + len(den) + 1, searched)
    return _Fit("rational", tuple(int(c) for c in num), a, c0, err, int(normaliser), tuple(int(c) for c in den), b)


def _linear_fits(p: _Problem) -> list[_Fit]:
    """Fits of ``g(y) = c0 + a . F`` for every transform ``g``, by beam search and STLSQ."""
    targets = p.transforms()
    T = _unit(np.column_stack(list(targets.values())))
    beams, _ = beam_supports(p.Z, T, width=_BEAM)
    n, m = p.Z.shape
    cap = min(_STLSQ_COLUMNS, n // 3)
    fits = []
    for k, (name, u) in enumerate(targets.items()):
        supports = beams[k]
        work = np.arange(m)
        if m > cap:  # a working set: the beam's columns, then those most correlated with the target
            first = np.unique([c for s in supports for c in s]).astype(int)
            order = np.argsort(-np.abs(T[:, k] @ p.Z), kind="stable")
            work = np.concatenate([first, order[~np.isin(order, first)]])[:cap]
        supports = supports + [tuple(work[list(s)]) for s in stlsq_supports(p.Z[:, work], T[:, k])]
        fits += [_linear_fit(p, name, u, s) for s in dict.fromkeys(tuple(sorted(s)) for s in supports)]
    return fits


def _rational_beam_fits(p: _Problem) -> list[_Fit]:
    """Greedy supports of ``y*q_k = c0 + a . F - y * b . Q`` for every normaliser ``q_k`` at once."""
    qcols = p.simple(("poly1", "poly2", "single"), _MAX_DENOMINATOR_TERMS)
    m, K = p.F.shape[1], len(qcols)
    Q = p.column(qcols)
    Z, _, _ = standardize(np.column_stack([p.F, -p.y[:, None] * Q]))
    T = _unit(p.y[:, None] * Q)
    beams, rss = beam_supports(Z, T, exclude=m + np.arange(K))  # y*q_k may not explain itself
    # Targets are of unit norm, so residuals compare across normalisers: only the best are fitted.
    paths = [(r, k, s) for k in range(K) for s, r in zip(beams[k], rss[k])]
    best: dict[int, int] = {}
    fits = []
    for _, k, support in sorted(paths, key=lambda item: item[0]):
        if best.get(len(support), 0) < _NORMALISERS_PER_SIZE:
            best[len(support)] = best.get(len(support), 0) + 1
            S = np.array(support)
            fits.append(_rational_fit(p, S[S < m], int(qcols[k]), qcols[S[S >= m] - m], m + K))
    return fits


def _rational_null_fits(p: _Problem) -> list[_Fit]:
    """Supports of ``[P, -y Q] c = 0`` on small libraries where the exact relation is the only null vector.

    A relation ``y q = p`` times an input is another one if ``x*p`` and
    ``x*q`` are in the library too; so quadratic denominators come with
    numerators of degree <= 2, cubic numerators with denominators of degree <= 1.
    Cubic numerators over quadratic denominators (``(u + v)/(1 + u*v/c**2)``
    is ``c**2 (u + v) / (c**2 + u*v)``) are tried last: there a relation of
    lower degrees has multiples, but the first two libraries find those.
    """
    cap = min(_MAX_DENSE, len(p.y) // 2)  # an SVD needs more rows than columns
    fits = []
    for num_fams, den_fams in ((("poly1", "poly2", "single"), ("poly1", "poly2", "single")),
                               (("poly1", "poly2", "single", "poly3"), ("poly1", "single")),
                               (("poly1", "poly2", "single", "poly3"), ("poly1", "poly2", "single"))):
        for drop in ((), ("single",)):  # functions of single inputs go first when it is too large
            num = tuple(f for f in num_fams if f not in drop)
            den = tuple(f for f in den_fams if f not in drop)
            # (x_i - x_j)**2 are combinations of the quadratics: only where those are absent (else a null vector)
            P, Q = p.simple(num, _MAX_DENSE, "poly2" not in num), p.simple(den, _MAX_DENSE, "poly2" not in den)
            if len(P) + len(Q) <= cap:
                fits += _null_fits(p, P, Q)
                break
    return fits


def _null_fits(p: _Problem, P: np.ndarray, Q: np.ndarray) -> list[_Fit]:
    D = np.column_stack([p.column(P), -p.y[:, None] * p.column(Q)])
    norm = np.linalg.norm(D, axis=0)
    if np.any(norm == 0):
        return []
    fits = []
    for support, v in null_supports(D / norm):
        S = np.array(support)
        den = S >= len(P)
        if not den.any():
            continue
        k = S[den][np.argmax(np.abs(v[den]))]  # the largest denominator entry normalises it
        rest = S[den & (S != k)] - len(P)
        fits.append(_rational_fit(p, P[S[~den]], int(Q[k - len(P)]), Q[rest], len(P) + len(Q)))
    return fits


def sparse_fits(lib: FeatureLibrary, y: np.ndarray, Xv: np.ndarray, yv: np.ndarray,
                rational: bool = True) -> list[_Fit]:
    """All candidate fits of the linear (transformed) and, optionally, the rational problems.

    Parameters
    ----------
    lib : FeatureLibrary
        Built on the training rows.
    y : ndarray
        Target on the training rows.
    Xv, yv : ndarray
        Validation rows.
    rational : bool
        Also solve the linearised rational problems.

    Returns
    -------
    list
        Fits with their relative validation error (RMSE over that of the
        training mean; inf where a fit is not finite there).
    """
    p = _Problem(lib, y, Xv, yv)
    fits = _linear_fits(p)
    if rational:
        fits += _rational_null_fits(p) + _rational_beam_fits(p)
    return fits


def _shortlist(fits: list[_Fit], done: set, max_size: int = MAX_TERMS) -> list[_Fit]:
    """The useful fits worth a refit: exact ones first (smallest first), then by size.

    A size is represented by its best ``_PER_SIZE`` fits, and only by those
    that beat every smaller fit by ``_GAIN``: with noise, extra terms lower
    the error a little (they fit the noise) and each proposal costs a refit.
    Fits with the same validation error are taken for the same function
    (``p/1`` and ``p``, the same terms found twice).  Fits of more than
    ``max_size`` terms are left out.
    """
    useful = sorted((f for f in fits if f.val_err <= _USEFUL and f.key not in done and f.size <= max_size),
                    key=lambda f: (f.size, f.val_err))
    kept, per_size, seen, best = [], {}, set(), np.inf
    for size in sorted({f.size for f in useful}):
        group = [f for f in useful if f.size == size and f.val_err < _GAIN * best]
        for f in group:
            same = (size, float(f"{f.val_err:.10g}"))
            if per_size.get(size, 0) < _PER_SIZE and same not in seen:
                seen.add(same)
                per_size[size] = per_size.get(size, 0) + 1
                kept.append(f)
        best = min([best] + [f.val_err for f in group])
    return sorted(kept, key=lambda f: (f.val_err > _EXACT, f.size, f.val_err))


def _expression(f: _Fit, p: _Problem, variables) -> sympy.Expr:
    """A fit as a sympy expression with ``Float(c, 17)`` coefficients."""
    def term(c: int) -> sympy.Expr:
        return sympy.Integer(1) if c < 0 else p.lib.expr(c, variables)

    scale = float(np.max(np.abs(p.F[:, list(f.terms)] * f.coef), initial=0.0)) + abs(f.intercept)
    # An intercept at round-off of the other terms is an artefact of centring: left out.
    head = [sympy.Float(f.intercept, 17)] if abs(f.intercept) > 1e-12 * scale else []
    inner = sympy.Add(*head, *[sympy.Float(c, 17) * term(j) for j, c in zip(f.terms, f.coef)])
    if f.transform == "y**2":
        return int(p.sign) * sympy.sqrt(inner)
    if f.transform == "1/y":
        return 1 / inner
    if f.transform == "rational":
        return inner / sympy.Add(term(f.normaliser), *[sympy.Float(c, 17) * term(j) for j, c in zip(f.den_terms, f.den_coef)])
    return inner


def gen_sparse(s: Search) -> None:
    """Propose sparse combinations of library terms: of ``y``, ``y**2``, ``1/y``, and rational forms.

    Parameters
    ----------
    s : Search
        Proposals go to ``s.add(expr, "sparse")``, what was tried to ``s.note``.
    """
    if len(s.y) < 10 or len(s.yv) < 2 or np.ptp(s.y) == 0:
        return
    left = s.budget.left()
    reserve = _RESERVE if np.isinf(left) else max(_RESERVE, (1 - _SHARE) * left)
    X, y = s.X[:_MAX_ROWS], s.y[:_MAX_ROWS]  # Search's rows are a random permutation: a random subset
    lib = build_library(X)
    if len(lib) == 0:
        return
    p = _Problem(lib, y, s.Xv[:_MAX_ROWS], s.yv[:_MAX_ROWS])
    skipped = f", skipped {[f.name for f in lib.skipped]} (size caps)" if lib.skipped else ""
    s.note(f"sparse: library of {len(lib)} columns from {[f.name for f in lib.included]}{skipped}; "
           f"targets {list(p.transforms())}")
    done: set = set()
    fits = _linear_fits(p)
    max_size = max(1, len(y) // _ROWS_PER_TERM)
    exact = [f for f in _shortlist(fits, done, max_size) if f.val_err <= _EXACT]
    if _propose(s, p, exact, done) or s.budget.over(reserve=reserve):
        return
    fits += _rational_null_fits(p)
    if not s.budget.over(reserve=reserve):
        fits += _rational_beam_fits(p)
    s.note("sparse: rational forms y*q = p, normalised by each simple term of q")
    _propose(s, p, _shortlist(fits, done, max_size), done, reserve)
    s.note(f"sparse: {len(done)} proposals from {len(fits)} fits")


def _propose(s: Search, p: _Problem, fits: list[_Fit], done: set, reserve: float = _RESERVE) -> bool:
    """Add fits in order until one solves the search, the budget (down to ``reserve`` seconds) or the
    proposal caps run out; True if solved."""
    inexact = 0
    for f in fits:
        # a fit to round-off is worth proposing with any budget the search has left
        if len(done) >= _MAX_PROPOSALS or s.budget.over(reserve=_RESERVE if f.val_err <= _EXACT else reserve):
            return False
        if f.val_err > _EXACT:
            inexact += 1
            if inexact > _MAX_INEXACT:  # fits come by size: these are the largest, slowest to refit
                return False
        done.add(f.key)
        s.add(_expression(f, p, s.variables), "sparse")
        if s.solved():
            return True
    return False
