"""Fit sampled 1-D edge functions to ``c*f(a*x + b) + d`` for a whole library.

Everything is batched over edges, candidate inner maps and samples; the only
Python loops run over library functions (each has its own ``torch_fn``) and
optimiser iterations.

1. **Normalise.** Per edge, ``x`` is mapped affinely onto ``u`` in ``[-1, 1]``
   and ``y`` is standardised. The search runs in these coordinates, so
   ``a_range``/``b_range`` bound the *span of the inner argument over the
   data* (``a*u + b`` covers ``[b - |a|, b + |a|]``) independently of the
   scale of ``x``. Returned parameters refer to the raw ``x`` and ``y``.
2. **Search.** For each candidate inner map the optimal ``(c, d)`` is
   closed-form least squares, so the goodness of fit is
   ``R^2 = cov(f, y)^2 / (var f * var y)``: one matmul and one norm over an
   ``(edges, candidates, samples)`` float32 tensor per function, on at most
   ``max_samples`` samples per edge (evenly spaced in sorted ``x`` order,
   extremes included). Candidates whose inner argument leaves the domain on
   the data, or with a non-finite or numerically constant ``f``, are
   invalid; for interval domains the test uses the segment
   ``[b - |a|, b + |a|]``, so a pole *between* two samples also invalidates.

   * ``inner == "affine"``: a coarse ``(a, b)`` grid; its ``n_starts`` best
     local maxima are refined by ``zoom_iterations`` shrinking local grids.
   * ``inner == "location"`` (homogeneous functions: powers, ``abs``,
     ``log``...): only ``sign(a)`` and the location ``-b/a`` matter, so a
     1-D scan over every gap between search samples (plus geometric
     distances outside the data, for poles) replaces the grid; its
     ``n_starts`` best local maxima are kept.
3. **Polish, stage 1.** Every start is refined by batched
   Levenberg--Marquardt (float64) on the search samples, with ``(c, d)``
   re-solved in closed form at every trial point; the best start per edge
   and function is kept. This removes the grid's resolution limit before
   functions are compared.
4. **Polish, stage 2.** The ``polish_top`` best-scoring functions per edge
   are refined the same way on all samples.
5. **Final pass.** For every edge and function the inner map is put in
   canonical form (see :attr:`SymbolicFunction.canonical`), ``(c, d)`` are
   re-solved in float64 on all samples, and R^2 and validity are computed
   from exactly the returned parameters.

``inner == "identity"`` (``"0"``, ``"x"``) skips steps 2--4 with
``a = 1, b = 0``; ``inner == "breakpoint"`` (``"sign"``) is solved exactly by
scanning all gaps between sorted samples with cumulative sums.

Ranking
-------
With ``loss = 1 - R^2`` (unexplained variance fraction)::

    score = -log10(loss + loss_floor) - weight_simple * complexity

(higher is better). A candidate ``k`` complexity units simpler than another
is preferred unless the other leaves at least ``10**(k * weight_simple)``
times less variance unexplained -- with the default ``weight_simple = 0.5``
a factor ~3.2 per unit. Losses below ``loss_floor`` count as a perfect fit,
so among exact fits the simplest wins. (Much larger weights let ``"0"`` or
``"x"`` beat good but complex fits: ``"0"`` always has ``loss = 1``, so a
complexity-4 fit with ``R^2 = 0.9999`` ties with it at ``weight_simple = 1``.)
Scores are compared after rounding to 0.01 (losses within ~2% tie), then by
complexity, then by library order; numerically equivalent candidates (e.g.
``sin`` and ``cos``, ``tanh`` and ``sigmoid``) therefore rank
deterministically, and degenerate look-alikes (``cos(a*x)`` with ``a -> 0``
mimicking ``x^2`` on noisy data) do not beat the simpler or earlier entry.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from kansr.symbolic._library import Domain, SymbolicFunction, resolve_library

__all__ = ["Candidate", "FitResult", "fit_affine"]

# Elements of the (edges, samples, candidates) float32 search tensor per chunk.
_CHUNK_ELEMENTS = 1 << 21
# A candidate f counts as numerically constant on the data below these
# relative variances var(f) / mean(f^2) (float32 search, float64 refits).
_MIN_REL_VAR_F32 = 1e-4
_MIN_REL_VAR_F64 = 1e-24
# Scores closer than this (decades of unexplained variance, i.e. losses within
# ~2%) are ties, broken by complexity and then library order: e.g. cos(a*x)
# with a -> 0 mimicking a parabola must not beat x^2 by fitting noise.
_SCORE_TIE = 0.01
# Locations per side outside the data scanned for "location" functions.
_N_OUTSIDE = 16


@dataclass(frozen=True)
class Candidate:
    """One fitted formula ``c*f(a*x + b) + d`` for one edge.

    Attributes
    ----------
    name : str
        Library function name.
    a, b, c, d : float
        Parameters (in raw ``x``/``y`` units, canonical inner map).
    r2 : float
        Coefficient of determination on all samples, in ``[0, 1]``.
    complexity : int
        The function's complexity.
    score : float
        Ranking score (higher is better), see :mod:`kansr.symbolic._fitting`.
    """

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float
    complexity: int
    score: float


@dataclass(frozen=True, eq=False)
class FitResult:
    """Fits of every edge to every library function.

    All tensors have shape ``(n_edges, n_functions)``; column ``j``
    corresponds to ``names[j]``. Invalid entries (no inner map keeps the data
    inside the function's domain) have ``valid == False``, ``a = 1``,
    ``b = c = 0``, ``d = mean(y)``, ``r2 = 0`` and ``score = -inf``; they
    never appear in :meth:`ranked` or :meth:`best`.

    Attributes
    ----------
    names : tuple of str
    a, b, c, d, r2, score : torch.Tensor
        float64 tensors.
    complexity : torch.Tensor
        int64 tensor.
    valid : torch.Tensor
        bool tensor.
    library : dict
        ``name -> SymbolicFunction`` used for the fit.
    """

    names: tuple[str, ...]
    a: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    d: torch.Tensor
    r2: torch.Tensor
    complexity: torch.Tensor
    score: torch.Tensor
    valid: torch.Tensor
    library: dict[str, SymbolicFunction]

    @property
    def n_edges(self) -> int:
        """Number of fitted edges."""
        return int(self.a.shape[0])

    @property
    def n_functions(self) -> int:
        """Number of library functions."""
        return len(self.names)

    def _edge(self, edge: int) -> int:
        try:
            if isinstance(edge, bool):
                raise TypeError
            edge = operator.index(edge)
        except TypeError:
            raise TypeError(f"edge must be an int, got {type(edge).__name__}") from None
        if not -self.n_edges <= edge < self.n_edges:
            raise ValueError(f"edge index {edge} out of range for {self.n_edges} edges")
        return edge % self.n_edges

    def ranked(self, edge: int) -> list[Candidate]:
        """Valid candidates of one edge, best first.

        Parameters
        ----------
        edge : int
            Edge index.

        Returns
        -------
        list of Candidate
        """
        e = self._edge(edge)
        rows = [t[e].tolist() for t in (self.a, self.b, self.c, self.d, self.r2, self.score)]
        comp = self.complexity[e].tolist()
        valid = self.valid[e].tolist()
        order = sorted(
            (j for j in range(self.n_functions) if valid[j]),
            key=lambda j: (-round(rows[5][j] / _SCORE_TIE), comp[j], j),
        )
        return [
            Candidate(self.names[j], rows[0][j], rows[1][j], rows[2][j], rows[3][j], rows[4][j], comp[j], rows[5][j])
            for j in order
        ]

    def best(self) -> list[Candidate]:
        """The top-ranked candidate of every edge (``"0"``/``"x"`` are always valid)."""
        return [self.ranked(e)[0] for e in range(self.n_edges)]

    def predict(self, x: torch.Tensor, edge: int, name: str | None = None) -> torch.Tensor:
        """Evaluate ``c*f(a*x + b) + d`` of one edge in float64.

        Parameters
        ----------
        x : array_like
            Inputs (any shape).
        edge : int
            Edge index.
        name : str, optional
            Function name; the edge's best candidate when omitted.

        Returns
        -------
        torch.Tensor
            float64 tensor shaped like ``x`` (uses the safe ``torch_fn``).
        """
        e = self._edge(edge)
        if name is None:
            name = self.ranked(e)[0].name
        if name not in self.names:
            raise ValueError(f"unknown function {name!r}; fitted: {', '.join(self.names)}")
        j = self.names.index(name)
        xt = torch.as_tensor(x, dtype=torch.float64)
        z = self.a[e, j] * xt + self.b[e, j]
        return self.c[e, j] * self.library[name].torch_fn(z) + self.d[e, j]


# --------------------------------------------------------------------------- #
# Input handling
# --------------------------------------------------------------------------- #
def _as_float64(name: str, value) -> torch.Tensor:
    try:
        t = torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be a numeric tensor or array, got {type(value).__name__}") from exc
    if t.is_complex():
        raise TypeError(f"{name} must be real, got dtype {t.dtype}")
    return t.to(device="cpu", dtype=torch.float64)


def _check_inputs(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    xt, yt = _as_float64("x", x), _as_float64("y", y)
    if xt.shape != yt.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(xt.shape)} and {tuple(yt.shape)}")
    if xt.dim() == 1:
        xt, yt = xt[None], yt[None]
    if xt.dim() != 2:
        raise ValueError(f"x and y must have shape (n_edges, n_samples) or (n_samples,), got {tuple(xt.shape)}")
    if xt.shape[0] == 0:
        raise ValueError("x and y contain no edges")
    if xt.shape[1] < 2:
        raise ValueError(f"need at least 2 samples per edge, got {xt.shape[1]}")
    for name, t in (("x", xt), ("y", yt)):
        bad = ~torch.isfinite(t).all(dim=1)
        if bool(bad.any()):
            edges = bad.nonzero().flatten().tolist()
            shown = ", ".join(map(str, edges[:10])) + (", ..." if len(edges) > 10 else "")
            raise ValueError(f"{name} contains NaN or inf on edge index {shown}")
    return xt.contiguous(), yt.contiguous()


def _check_range(name: str, rng) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a pair of numbers, got {rng!r}") from exc
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be finite with lo < hi, got {rng!r}")
    return lo, hi


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


# --------------------------------------------------------------------------- #
# Vectorised building blocks
# --------------------------------------------------------------------------- #
def _segment_ok(domain: Domain, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor | None:
    """Whether ``a*u + b`` stays in an interval domain for all ``u`` in ``[-1, 1]``.

    Returns ``None`` when no check is needed (real line) or possible
    (predicate domains, checked pointwise by the caller). A relative margin
    absorbs the rounding of the later conversion to raw coordinates.
    """
    if domain.is_real_line or not domain.supports_segments:
        return None
    margin = 1e-9 * (a.abs() + b.abs() + 1.0)
    return domain.contains_segment(b - a.abs() - margin, b + a.abs() + margin)


def _grid_r2(func: SymbolicFunction, A: torch.Tensor, B: torch.Tensor, us: torch.Tensor, Wt: torch.Tensor,
             vy: torch.Tensor) -> torch.Tensor:
    """R^2 of the closed-form (c, d) fit for each inner map; -1 where invalid.

    A, B: (E, P) float64 inner maps; us: (E, S) float32 samples; Wt: (E, 2, S)
    float32 with rows ``1/S`` and ``ys/S`` (ys centred), so one batched matmul
    yields mean(f) and cov(f, y); vy: (E,) variance of ys. Returns (E, P)
    float32. Work tensors are laid out (E, S, P): with the candidate axis
    innermost the broadcasts and the matmul are several times faster on CPU
    than with samples innermost.
    """
    E, P = A.shape
    S = us.shape[1]
    seg = _segment_ok(func.domain, A, B)
    pointwise = not func.domain.supports_segments
    out = torch.empty(E, P, dtype=torch.float32)
    step = max(1, _CHUNK_ELEMENTS // (P * S))
    for s in range(0, E, step):  # chunks of edges bound the working memory
        sl = slice(s, s + step)
        a32, b32 = A[sl].to(torch.float32), B[sl].to(torch.float32)
        z = torch.addcmul(b32[:, None, :], us[sl, :, None], a32[:, None, :])
        f = func.torch_fn(z)
        ok = torch.ones(a32.shape, dtype=torch.bool) if seg is None else seg[sl]
        if pointwise:
            ok = ok & func.domain.contains(z).all(1)
        moments = torch.bmm(Wt[sl], f)
        mf, cov = moments[:, 0], moments[:, 1]
        m2 = f.square().sum(1) / S
        vf = m2 - mf.square()
        r2 = cov.square() / (vf * vy[sl, None])
        # var f = E[f^2] - E[f]^2 loses ~eps32 * E[f^2]; requiring a relative
        # std of 1% keeps the R^2 error of the search below ~1e-3 and drops
        # numerically constant candidates (e.g. a ~ 0).
        ok &= torch.isfinite(r2) & torch.isfinite(m2) & (vf > _MIN_REL_VAR_F32 * m2) & (m2 > 1e-30)
        out[sl] = torch.where(ok, r2, torch.full_like(r2, -1.0))
    return out


def _top_peaks(r2: torch.Tensor, pooled: torch.Tensor, k: int):
    """Indices and values of the ``k`` best local maxima per row (-inf if fewer)."""
    peaks = torch.where((r2 >= pooled) & (r2 >= 0), r2, torch.full_like(r2, -math.inf))
    best, idx = peaks.topk(min(k, r2.shape[1]), dim=1)
    return idx, best.to(torch.float64)


def _search_affine(func: SymbolicFunction, us, Wt, vy, a_grid, b_grid, n_starts, zoom_iterations, zoom_points):
    """Grid search + zoom for one function over all edges (normalised coordinates).

    Returns ``(a, b, r2)`` of shape ``(E, n_starts)``: the zoomed local
    maxima of the coarse R^2 map (``r2 = -inf`` for missing starts).
    """
    E = us.shape[0]
    na, nb = a_grid.numel(), b_grid.numel()
    A = a_grid.repeat_interleave(nb).expand(E, -1)
    B = b_grid.repeat(na).expand(E, -1)
    r2 = _grid_r2(func, A, B, us, Wt, vy)
    # Distinct local maxima seed the zoom, so that one broad basin cannot
    # take all starts (matters for periodic fits).
    pooled = F.max_pool2d(r2.view(E, 1, na, nb), 3, stride=1, padding=1).view(E, -1)
    idx, best = _top_peaks(r2, pooled, n_starts)
    a0, b0 = A.gather(1, idx), B.gather(1, idx)
    ha = (a_grid[-1] - a_grid[0]).item() / max(na - 1, 1)
    hb = (b_grid[-1] - b_grid[0]).item() / max(nb - 1, 1)
    lin = torch.linspace(-1.0, 1.0, zoom_points, dtype=torch.float64)
    oa = lin.repeat_interleave(zoom_points)
    ob = lin.repeat(zoom_points)
    k = a0.shape[1]
    for _ in range(zoom_iterations):
        Az = (a0[..., None] + ha * oa).reshape(E, -1)
        Bz = (b0[..., None] + hb * ob).reshape(E, -1)
        r = _grid_r2(func, Az, Bz, us, Wt, vy).view(E, k, -1).to(torch.float64)
        val, arg = r.max(-1)
        better = val > best
        a0 = torch.where(better, Az.view(E, k, -1).gather(-1, arg[..., None]).squeeze(-1), a0)
        b0 = torch.where(better, Bz.view(E, k, -1).gather(-1, arg[..., None]).squeeze(-1), b0)
        best = torch.where(better, val, best)
        shrink = 2.0 / (zoom_points - 1)
        ha, hb = ha * shrink, hb * shrink
    return a0, b0, best


def _search_location(func: SymbolicFunction, us, Wt, vy, n_starts: int):
    """1-D scan over the location t = -b/a for homogeneous functions (normalised coordinates).

    Candidates are ``a = +-1`` with t at every midpoint between consecutive
    (sorted) search samples -- so a kink or vertex is never missed between
    grid points -- and at geometrically spaced distances outside the data,
    where poles and branch points of ``1/x``, ``log``, ``sqrt``... live.
    Returns the ``n_starts`` best local maxima as ``(a, b, r2)``, each
    ``(E, n_starts)``.
    """
    E = us.shape[0]
    us64 = us.to(torch.float64)
    inside = 0.5 * (us64[:, 1:] + us64[:, :-1])
    dist = torch.logspace(-3, 2, _N_OUTSIDE, dtype=torch.float64)
    outside = torch.cat((-1.0 - dist, 1.0 + dist)).expand(E, -1)
    t = torch.cat((inside, outside), dim=1)
    A = torch.cat((torch.ones_like(t), -torch.ones_like(t)), dim=1)
    B = -A * torch.cat((t, t), dim=1)
    r2 = _grid_r2(func, A, B, us, Wt, vy)
    pooled = F.max_pool1d(r2[:, None, :], 3, stride=1, padding=1)[:, 0]
    idx, best = _top_peaks(r2, pooled, n_starts)
    return A.gather(1, idx), B.gather(1, idx), best


def _closed_form(f: torch.Tensor, y: torch.Tensor, y_mean: torch.Tensor):
    """Least-squares (c, d) for y ~ c*f + d along the last axis (float64)."""
    mf = f.mean(-1)
    fc = f - mf[..., None]
    sff = fc.square().sum(-1)
    sfy = (fc * (y - y_mean[..., None])).sum(-1)
    scale = f.square().sum(-1)
    usable = (sff > _MIN_REL_VAR_F64 * scale) & (sff > 1e-300)
    c = torch.where(usable, sfy / torch.where(usable, sff, torch.ones_like(sff)), torch.zeros_like(sff))
    d = y_mean - c * mf
    return c, d


class _DomainCheck:
    """Vectorised segment/pointwise domain checks for rows of mixed functions.

    Row ``i`` belongs to function ``gid[i]``. Functions whose domain is a
    single plain interval (the common case, including the real line) are
    checked with one set of tensor comparisons; unions, periodic and
    predicate domains fall back to one check per function.
    """

    def __init__(self, funcs: list[SymbolicFunction]):
        lo, hi, lo_c, hi_c = [], [], [], []
        self.fallback: list[tuple[int, Domain]] = []
        for k, func in enumerate(funcs):
            dom = func.domain
            plain = dom.predicate is None and dom.period is None and len(dom.intervals) == 1
            iv = dom.intervals[0] if plain else Domain.real().intervals[0]
            lo.append(iv.lo)
            hi.append(iv.hi)
            lo_c.append(iv.lo_closed)
            hi_c.append(iv.hi_closed)
            if not plain:
                self.fallback.append((k, dom))
        self.lo = torch.tensor(lo, dtype=torch.float64)
        self.hi = torch.tensor(hi, dtype=torch.float64)
        self.lo_c = torch.tensor(lo_c, dtype=torch.bool)
        self.hi_c = torch.tensor(hi_c, dtype=torch.bool)

    def __call__(self, gid: torch.Tensor, a: torch.Tensor, b: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        margin = 1e-9 * (a.abs() + b.abs() + 1.0)  # absorbs rounding of the raw-coordinate conversion
        lo = b - a.abs() - margin  # range of a*u + b over u in [-1, 1]
        hi = b + a.abs() + margin
        ok = torch.where(self.lo_c[gid], lo >= self.lo[gid], lo > self.lo[gid])
        ok &= torch.where(self.hi_c[gid], hi <= self.hi[gid], hi < self.hi[gid])
        for k, dom in self.fallback:
            rows = (gid == k).nonzero().flatten()
            if rows.numel() == 0:
                continue
            if dom.supports_segments:
                ok[rows] &= dom.contains_segment(lo[rows], hi[rows])
            else:
                ok[rows] &= dom.contains(z[rows]).all(-1)
        return ok


def _polish(funcs: list[SymbolicFunction], gid: torch.Tensor, U: torch.Tensor, Y: torch.Tensor,
            a: torch.Tensor, b: torch.Tensor, iterations: int,
            precise: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batched Levenberg--Marquardt on (a, b, c, d) in float64, normalised coordinates.

    Row ``i`` fits ``Y[i] ~ c*funcs[gid[i]](a*U[i] + b) + d`` from the start
    ``(a[i], b[i])``; ``gid`` must be sorted. Only the evaluation of ``f``
    and ``f'`` (:attr:`SymbolicFunction.derivative`, else autograd) is per
    function; everything else runs on all rows at once. ``(c, d)`` are
    re-solved in closed form at every trial point (variable projection): a
    step is accepted only if it lowers the optimal-(c, d) cost, and trial
    points leaving the domain or giving non-finite values are rejected like
    any other failed step. Converged rows are dropped from the batch.
    ``precise=False`` takes the cost and gradient from the Gram matrix alone
    (cheaper, relative accuracy ~1e-14): enough to compare candidates.

    Returns
    -------
    a, b, sse : torch.Tensor
        Refined inner maps and their residual sums of squares.
    """
    a_out, b_out = a.clone(), b.clone()
    sse_out = torch.full_like(a, math.inf)
    rows = torch.arange(a.numel())
    Y = Y - Y.mean(-1, keepdim=True)
    syy = Y.square().sum(-1)
    check = _DomainCheck(funcs)
    counts = len(funcs)

    def f_and_slope(z: torch.Tensor, gid_: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sizes = torch.bincount(gid_, minlength=counts).tolist()
        fs, gs = [], []
        for k, zk in enumerate(z.split(sizes)):
            if not sizes[k]:
                continue
            func = funcs[k]
            if func.derivative is not None:  # closed form: much cheaper than autograd
                fk = func.torch_fn(zk)
                gk = func.derivative(zk, fk)
            else:
                with torch.enable_grad():
                    zg = zk.detach().requires_grad_(True)
                    fk = func.torch_fn(zg)
                    gk = torch.autograd.grad(fk, zg, torch.ones_like(fk), allow_unused=True)[0] \
                        if fk.requires_grad else None
                fk = fk.detach()
                gk = torch.zeros_like(fk) if gk is None else gk
            fs.append(fk)
            gs.append(gk)
        return torch.cat(fs), torch.cat(gs)

    def evaluate(a_, b_, U_, Y_, syy_, gid_):
        z = torch.addcmul(b_[:, None], a_[:, None], U_)
        f, g = f_and_slope(z, gid_)
        # Centring f only re-parametrises d (span{f, 1} is unchanged) and
        # keeps the sums below well conditioned.
        f = f - f.mean(-1, keepdim=True)
        # One batched Gram matrix of [f'u, f', f, 1, Y] gives the closed-form
        # (c, d) and the normal equations of J = [c f'u, c f', f, 1].
        K = torch.stack((g * U_, g, f, torch.ones_like(f), Y_), dim=1)
        M = K @ K.transpose(1, 2)
        sff, sfy = M[:, 2, 2], M[:, 2, 4]
        usable = sff > 1e-300
        c = torch.where(usable, sfy / torch.where(usable, sff, torch.ones_like(sff)), torch.zeros_like(sff))
        # With f and Y centred, d = 0 and r = c f - Y.
        scale = torch.stack((c, c, torch.ones_like(c), torch.ones_like(c)), dim=-1)
        JtJ = M[:, :4, :4] * scale[:, :, None] * scale[:, None, :]
        if precise:
            # Explicit residuals: cost and gradient as Gram-matrix differences
            # lose every digit below ~1e-16 of syy, which caps the parameter
            # accuracy of exact fits at ~1e-7.
            r = torch.addcmul(-Y_, c[:, None], f)
            sse = r.square().sum(-1)
            Jtr = torch.bmm(K[:, :4], r[:, :, None]).squeeze(-1) * scale
        else:
            sse = (syy_ - c * sfy).clamp(min=0.0)
            Jtr = (c[:, None] * M[:, :4, 2] - M[:, :4, 4]) * scale
        ok = torch.isfinite(M).flatten(1).all(-1) & check(gid_, a_, b_, z)
        return sse, JtJ, Jtr, ok

    # Below this the fit is exact to rounding.
    exact = (1e-28 if precise else 1e-14) * syy
    sse, JtJ, Jtr, ok = evaluate(a, b, U, Y, syy, gid)
    sse_out = torch.where(ok, sse, sse_out)
    lam = torch.full_like(a, 1e-3)
    keep = ok & (sse > exact)
    for it in range(iterations + 1):
        if not bool(keep.all()):  # drop finished rows (results are already in *_out)
            if not bool(keep.any()):
                break
            idx = keep.nonzero().flatten()
            rows, a, b, U, Y, gid = rows[idx], a[idx], b[idx], U[idx], Y[idx], gid[idx]
            syy, exact, sse, JtJ, Jtr, lam = syy[idx], exact[idx], sse[idx], JtJ[idx], Jtr[idx], lam[idx]
        if it == iterations:
            break
        diag = JtJ.diagonal(dim1=1, dim2=2)
        damp = diag + 1e-12 * diag.amax(-1, keepdim=True) + 1e-300
        step, info = torch.linalg.solve_ex(JtJ + torch.diag_embed(lam[:, None] * damp), -Jtr)
        at, bt = a + step[:, 0], b + step[:, 1]
        sset, JtJt, Jtrt, okt = evaluate(at, bt, U, Y, syy, gid)
        accept = okt & (info == 0) & (sset < sse)
        converged = accept & (sse - sset <= 1e-7 * sse) & (lam <= 1.0)
        a, b = torch.where(accept, at, a), torch.where(accept, bt, b)
        sse = torch.where(accept, sset, sse)
        JtJ = torch.where(accept[:, None, None], JtJt, JtJ)
        Jtr = torch.where(accept[:, None], Jtrt, Jtr)
        lam = torch.where(accept, lam * 0.3, lam * 5.0).clamp(1e-12, 1e12)
        a_out[rows], b_out[rows], sse_out[rows] = a, b, sse
        keep = ~converged & (sse > exact) & (lam < 1e10)
    return a_out, b_out, sse_out


def _breakpoint_search(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Best break point t for a two-level step in x - t, scanning every sample gap.

    For a split after the k smallest samples, the closed-form two-level fit
    explains ``k*(N-k)/N * (mean_left - mean_right)^2`` of the sum of squares.
    """
    E, N = x.shape
    xs, order = torch.sort(x, dim=1, stable=True)
    ys = y.gather(1, order)
    ys = ys - ys.mean(1, keepdim=True)
    k = torch.arange(1, N, dtype=torch.float64)
    left = torch.cumsum(ys, 1)[:, :-1]
    total = ys.sum(1, keepdim=True)
    gain = k * (N - k) / N * (left / k - (total - left) / (N - k)).square()
    gap_ok = xs[:, 1:] > xs[:, :-1]
    gain = torch.where(gap_ok, gain, torch.full_like(gain, -1.0))
    kbest = gain.argmax(1, keepdim=True)
    t = 0.5 * (xs.gather(1, kbest) + xs.gather(1, kbest + 1)).squeeze(1)
    # Constant x: put the break point outside the data (constant f, c = 0).
    return torch.where(gap_ok.any(1), t, xs[:, 0] - 1.0)


def _final_pass(func: SymbolicFunction, a: torch.Tensor, b: torch.Tensor, x: torch.Tensor, x_min: torch.Tensor,
                x_max: torch.Tensor, y: torch.Tensor, y_mean: torch.Tensor, sst: torch.Tensor,
                constant: torch.Tensor):
    """(c, d), R^2 and validity on all samples for raw-coordinate inner maps."""
    if func.canonical is not None:
        a, b = func.canonical(a, b)
    z = torch.addcmul(b[:, None], a[:, None], x)
    f = func.torch_fn(z)
    # A finite sum means finite samples (cheaper than an element-wise test).
    ok = torch.isfinite(f.sum(-1)) & torch.isfinite(a) & torch.isfinite(b)
    dom = func.domain
    if dom.supports_segments and not dom.is_real_line:
        # z is monotone in x (also after rounding), so the values at the
        # extreme samples bound every sample: exact for intervals, and pole
        # crossings between samples are rejected too.
        z1 = a * x_min + b
        z2 = a * x_max + b
        ok &= dom.contains_segment(torch.minimum(z1, z2), torch.maximum(z1, z2))
    elif not dom.is_real_line:
        ok &= dom.contains(z).all(-1)
    if not bool(ok.all()):  # invalid rows -> f = 0 -> c = 0, no NaN downstream
        f = torch.where(ok[:, None], f, torch.zeros_like(f))
    c, d = _closed_form(f, y, y_mean)
    c = torch.where(constant, torch.zeros_like(c), c)
    d = torch.where(constant, y_mean, d)
    sse = (c[:, None] * f + d[:, None] - y).square().sum(-1)
    r2 = (1.0 - sse / torch.where(constant, torch.ones_like(sst), sst)).clamp(0.0, 1.0)
    r2 = torch.where(constant, torch.ones_like(r2), r2)
    ok &= torch.isfinite(r2) & torch.isfinite(c) & torch.isfinite(d)
    one, zero = torch.ones_like(a), torch.zeros_like(a)
    return (
        torch.where(ok, a, one),
        torch.where(ok, b, zero),
        torch.where(ok, c, zero),
        torch.where(ok, d, y_mean),
        torch.where(ok, r2, zero),
        ok,
    )


def _scores(r2: torch.Tensor, complexity: torch.Tensor, valid: torch.Tensor, w: float, floor: float) -> torch.Tensor:
    loss = (1.0 - r2).clamp(min=0.0)
    score = -torch.log10(loss + floor) - w * complexity.to(r2.dtype)
    return torch.where(valid, score, torch.full_like(score, -math.inf))


# --------------------------------------------------------------------------- #
# Public entry point
# --------------------------------------------------------------------------- #
def fit_affine(
    x,
    y,
    library: Mapping[str, SymbolicFunction] | Iterable[str | SymbolicFunction] | None = None,
    *,
    a_range: tuple[float, float] = (-10.0, 10.0),
    b_range: tuple[float, float] = (-10.0, 10.0),
    grid_points: int | tuple[int, int] = (16, 17),
    n_starts: int = 3,
    zoom_iterations: int = 3,
    zoom_points: int = 5,
    polish: bool = True,
    polish_iterations: int = 10,
    polish_top: int | None = 6,
    max_samples: int = 64,
    weight_simple: float = 0.5,
    loss_floor: float = 1e-8,
) -> FitResult:
    """Fit every edge to ``c*f(a*x + b) + d`` for every library function.

    Parameters
    ----------
    x, y : array_like
        Samples of shape ``(n_edges, n_samples)``, or ``(n_samples,)`` for a
        single edge. Must be finite.
    library : mapping, iterable of names/SymbolicFunction, or None
        Functions to try; ``None`` uses :func:`get_library` (all built-in and
        registered functions).
    a_range, b_range : (float, float)
        Search box for the inner map in normalised coordinates (``x``
        mapped onto ``[-1, 1]`` per edge). The argument of ``f`` then spans
        ``[b - |a|, b + |a|]`` over the data. The polish may leave the box.
    grid_points : int or (int, int)
        Coarse grid size for ``a`` and ``b``. The default uses an even
        number of ``a`` values so the degenerate ``a = 0`` is not sampled.
    n_starts : int
        Starts per edge and searched function: local maxima of the coarse
        grid (``"affine"``) or of the location scan (``"location"``).
    zoom_iterations, zoom_points : int
        Refinement rounds and points per axis (odd) of each local grid; the
        local grid half-width starts at one coarse step and shrinks by
        ``2 / (zoom_points - 1)`` per round.
    polish : bool
        Run the Levenberg--Marquardt stages (module docstring, steps 3--4).
        Without it, inner maps come from the search alone.
    polish_iterations : int
        Maximum Levenberg--Marquardt iterations per stage (rows that
        converge earlier leave the batch).
    polish_top : int or None
        Functions polished on all samples per edge, chosen by score after
        stage 1 (``None``: all searched functions).
    max_samples : int
        Samples per edge used by the search and polish stage 1 (evenly
        spaced in sorted ``x`` order, extremes included). Stage 2 and the
        final scores use all samples.
    weight_simple : float
        Non-negative price of one complexity unit, in decades of
        unexplained variance, in the ranking score (see module docstring).
    loss_floor : float
        Unexplained-variance fraction treated as a perfect fit.

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        On mismatched or malformed shapes, non-finite samples (naming the
        edge index), or invalid options.
    TypeError
        On non-numeric inputs or wrongly typed options.

    Notes
    -----
    Deterministic for given inputs and torch thread settings. Edges whose
    ``y`` is constant get ``c = 0``, ``d = y`` and ``R^2 = 1`` for every
    valid function, so ``"0"`` ranks first.
    """
    lib = resolve_library(library)
    xs, ys = _check_inputs(x, y)
    a_lo, a_hi = _check_range("a_range", a_range)
    b_lo, b_hi = _check_range("b_range", b_range)
    if isinstance(grid_points, int) and not isinstance(grid_points, bool):
        grid_points = (grid_points, grid_points)
    try:
        na, nb = grid_points
    except (TypeError, ValueError) as exc:
        raise TypeError(f"grid_points must be an int or a pair of ints, got {grid_points!r}") from exc
    na, nb = _check_int("grid_points[0]", na, 2), _check_int("grid_points[1]", nb, 2)
    n_starts = _check_int("n_starts", n_starts, 1)
    zoom_iterations = _check_int("zoom_iterations", zoom_iterations, 0)
    zoom_points = _check_int("zoom_points", zoom_points, 3)
    if zoom_points % 2 == 0:
        raise ValueError(f"zoom_points must be odd (the centre is kept), got {zoom_points}")
    polish_iterations = _check_int("polish_iterations", polish_iterations, 0)
    if polish_top is not None:
        polish_top = _check_int("polish_top", polish_top, 1)
    max_samples = _check_int("max_samples", max_samples, 2)
    weight_simple = float(weight_simple)
    if not (weight_simple >= 0.0 and math.isfinite(weight_simple)):
        raise ValueError(f"weight_simple must be non-negative and finite, got {weight_simple}")
    loss_floor = float(loss_floor)
    if not (loss_floor > 0.0 and math.isfinite(loss_floor)):
        raise ValueError(f"loss_floor must be positive and finite, got {loss_floor}")

    funcs = list(lib.values())
    names = tuple(lib)
    E, N = xs.shape
    Fn = len(funcs)
    with torch.no_grad():
        # Normalised coordinates: u in [-1, 1], standardised y.
        x_min, x_max = xs.amin(1), xs.amax(1)
        x_mid = 0.5 * (x_min + x_max)
        x_half = 0.5 * (x_max - x_min)
        x_half = torch.where(x_half > 0, x_half, torch.ones_like(x_half))
        u = (xs - x_mid[:, None]) / x_half[:, None]
        y_mean = ys.mean(1)
        yc = ys - y_mean[:, None]
        sst = yc.square().sum(1)
        y_scale = ys.abs().amax(1)
        constant = sst.sqrt() <= 64 * torch.finfo(torch.float64).eps * math.sqrt(N) * y_scale
        y_std = torch.where(constant, torch.ones_like(sst), (sst / N).sqrt())
        yn = yc / y_std[:, None]

        # Search subsample: evenly spaced ranks in sorted-x order.
        order = torch.argsort(u, dim=1, stable=True)
        if N > max_samples:
            ranks = torch.linspace(0, N - 1, max_samples, dtype=torch.float64).round().long()
            order = order[:, ranks]
        us = u.gather(1, order).to(torch.float32)
        ys_sub = yn.gather(1, order)
        ys_sub = (ys_sub - ys_sub.mean(1, keepdim=True)).to(torch.float32)
        vy = ys_sub.square().mean(1).clamp(min=1e-30)
        S = us.shape[1]
        Wt = torch.stack((torch.full_like(ys_sub, 1.0 / S), ys_sub / S), dim=1)  # (E, 2, S)

        a_grid = torch.linspace(a_lo, a_hi, na, dtype=torch.float64)
        b_grid = torch.linspace(b_lo, b_hi, nb, dtype=torch.float64)

        a_n = torch.ones(E, Fn, dtype=torch.float64)
        b_n = torch.zeros(E, Fn, dtype=torch.float64)
        r2_search = torch.full((E, Fn), -1.0, dtype=torch.float64)
        searched = [j for j, f in enumerate(funcs) if f.inner in ("affine", "location")]
        if searched:
            # Starts (a, b, r2) per edge, searched function and start: (E, Fs, n_starts).
            starts = [
                _search_location(funcs[j], us, Wt, vy, n_starts)
                if funcs[j].inner == "location"
                else _search_affine(funcs[j], us, Wt, vy, a_grid, b_grid, n_starts, zoom_iterations, zoom_points)
                for j in searched  # one batched search per function (each has its own torch_fn)
            ]
            k = max(st[0].shape[1] for st in starts)
            A0 = torch.ones(E, len(searched), k, dtype=torch.float64)
            B0 = torch.zeros_like(A0)
            R0 = torch.full_like(A0, -math.inf)
            for col, (a_s, b_s, r_s) in enumerate(starts):
                A0[:, col, : a_s.shape[1]], B0[:, col, : a_s.shape[1]], R0[:, col, : a_s.shape[1]] = a_s, b_s, r_s
            sfuncs = [funcs[j] for j in searched]
            jj_all = torch.tensor(searched)
            if polish and polish_iterations > 0:
                # Stage 1: every start, on the search subsample (cheap, removes the
                # grid's resolution limit before candidates are compared).
                cols, rows, ks = (R0 >= 0).permute(1, 0, 2).nonzero(as_tuple=True)  # sorted by function
                if rows.numel():
                    u_sub = u.gather(1, order)
                    y_sub = yn.gather(1, order)
                    a_p, b_p, sse = _polish(sfuncs, cols, u_sub[rows], y_sub[rows], A0[rows, cols, ks],
                                            B0[rows, cols, ks], polish_iterations, precise=False)
                    sst_sub = (y_sub - y_sub.mean(1, keepdim=True)).square().sum(1).clamp(min=1e-300)
                    A0[rows, cols, ks], B0[rows, cols, ks] = a_p, b_p
                    R0[rows, cols, ks] = torch.where(
                        torch.isfinite(sse), (1.0 - sse / sst_sub[rows]).clamp(0.0, 1.0), -math.inf
                    )
            best_start = R0.argmax(2, keepdim=True)
            a_n[:, jj_all] = A0.gather(2, best_start).squeeze(2)
            b_n[:, jj_all] = B0.gather(2, best_start).squeeze(2)
            r2s = R0.gather(2, best_start).squeeze(2)
            r2_search[:, jj_all] = torch.where(torch.isfinite(r2s), r2s, torch.full_like(r2s, -1.0))
            if polish and polish_iterations > 0:
                # Stage 2: the most promising functions per edge, on all samples.
                comp = torch.tensor([f.complexity for f in sfuncs], dtype=torch.float64)
                r2a = r2_search[:, jj_all]
                prov = _scores(r2a.clamp(0.0, 1.0), comp.expand(E, -1), r2a >= 0, weight_simple, loss_floor)
                m = len(searched) if polish_top is None else min(polish_top, len(searched))
                top = prov.topk(m, dim=1).indices
                chosen = torch.zeros_like(prov, dtype=torch.bool).scatter_(1, top, True) & torch.isfinite(prov)
                cols, rows = chosen.T.nonzero(as_tuple=True)
                if rows.numel():
                    jj = jj_all[cols]
                    a_p, b_p, _ = _polish(sfuncs, cols, u[rows], yn[rows], a_n[rows, jj], b_n[rows, jj],
                                          polish_iterations)
                    a_n[rows, jj], b_n[rows, jj] = a_p, b_p

        # Back to raw coordinates: a*u + b = (a/h)*x + (b - a*m/h).
        a_raw = a_n / x_half[:, None]
        b_raw = b_n - a_n * (x_mid / x_half)[:, None]
        for j, func in enumerate(funcs):
            if func.inner == "identity":
                a_raw[:, j], b_raw[:, j] = 1.0, 0.0
            elif func.inner == "breakpoint":
                a_raw[:, j], b_raw[:, j] = 1.0, -_breakpoint_search(xs, ys)

        out = {key: torch.empty(E, Fn, dtype=torch.float64) for key in ("a", "b", "c", "d", "r2")}
        valid = torch.zeros(E, Fn, dtype=torch.bool)
        for j, func in enumerate(funcs):
            res = _final_pass(func, a_raw[:, j], b_raw[:, j], xs, x_min, x_max, ys, y_mean, sst, constant)
            for key, val in zip(("a", "b", "c", "d", "r2"), res[:5]):
                out[key][:, j] = val
            # Searched functions without any valid inner map stay invalid.
            found = r2_search[:, j] >= 0 if j in searched else torch.ones(E, dtype=torch.bool)
            valid[:, j] = res[5] & found
        for key, fill in (("a", 1.0), ("b", 0.0), ("c", 0.0), ("r2", 0.0)):
            out[key] = torch.where(valid, out[key], torch.full_like(out[key], fill))
        out["d"] = torch.where(valid, out["d"], y_mean[:, None].expand(E, Fn))

        complexity = torch.tensor([f.complexity for f in funcs], dtype=torch.int64).expand(E, -1).clone()
        score = _scores(out["r2"], complexity, valid, weight_simple, loss_floor)
    return FitResult(names, out["a"], out["b"], out["c"], out["d"], out["r2"], complexity, score, valid, dict(lib))
