"""One KAN layer: a learnable 1-D function on every edge, nodes sum.

Edge ``(i, o)`` computes ``phi(x_i) = w_b[i,o] * b(x_i) + w_s[i,o] * spline_{i,o}(x_i)``
unless it is *symbolic*, in which case it computes ``c * f(a * x_i + b) + d``
with trainable ``(a, b, c, d)``.  The forward pass is a handful of tensor ops
for all edges at once: one basis evaluation per input, one matrix product
(:mod:`kansr.nn.kernels._tables` fuses them into a single autograd node).

Every evaluation of a spline here, the forward pass and the grid updates
alike, goes through a basis table built by
:func:`~kansr.nn.kernels._tables.build_table` from the one basis definition in
:mod:`kansr.nn._splines` (grid updates build theirs in float64 for the
least-squares refit): grid updates refit the functions training computes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from kansr.nn._residuals import RESIDUALS
from kansr.nn._splines import extend_grid, make_grid
from kansr.nn.kernels._tables import (
    SplineTable,
    bspline_basis,
    build_table,
    curve_to_coef,
    dense_basis_autograd,
    fused_layer,
)

__all__ = ["KANLayer", "KernelState", "BASE_FUNCTIONS"]

#: Residual functions ``b(x)`` by name (see :data:`kansr.nn._residuals.RESIDUALS`).
BASE_FUNCTIONS: Mapping[str, Callable[[torch.Tensor], torch.Tensor]] = {
    name: residual.value for name, residual in RESIDUALS.items()
}


def _spline_curves(x: torch.Tensor, grid: torch.Tensor, coef: torch.Tensor, k: int) -> torch.Tensor:
    """Every edge's spline ``sum_m B_m(x_i) * coef[i, m, o]`` at the samples, (batch, n_in, n_out)."""
    return torch.einsum("bik,iko->bio", bspline_basis(x, grid, k), coef)


@dataclass(frozen=True, eq=False)
class KernelState:
    """What a compiled kernel needs of a layer's numeric part (see :meth:`KANLayer.kernel_state`).

    The tensors are the layer's own (not copies): in-place edits of their
    values are seen, replacing one gives a new state.

    Attributes
    ----------
    table : SplineTable
        The basis table of ``grid``.
    grid : Tensor, shape (n_in, G + 2k + 1)
    coef : Tensor, shape (n_in, G + k, n_out)
    scale_sp, scale_base, mask : Tensor, shape (n_in, n_out)
    bias : Tensor, shape (n_out,)
    residual_code : int
        The residual function's :attr:`~kansr.nn._residuals.Residual.code`.
    symbolic : bool
        Whether some kept edge is symbolic (then the state does not describe
        the whole layer and the kernels cannot run it).
    version : tuple
        Changes whenever anything above would: the identities and storage of
        the tensors, in-place edits of grid and mask, symbolic edges.
    """

    table: SplineTable
    grid: torch.Tensor
    coef: torch.Tensor
    scale_sp: torch.Tensor
    scale_base: torch.Tensor
    mask: torch.Tensor
    bias: torch.Tensor
    residual_code: int
    symbolic: bool
    version: tuple


class KANLayer(nn.Module):
    """A fully connected KAN layer with ``n_in * n_out`` learnable edges.

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output nodes.
    G : int
        Number of grid intervals.
    k : int
        Spline order.
    base_fun : str
        Residual function name, one of :data:`BASE_FUNCTIONS`.
    grid_range : (float, float)
        Initial spline domain for every input.
    dtype : torch.dtype
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        G: int = 5,
        k: int = 3,
        base_fun: str = "silu",
        grid_range: tuple[float, float] = (-1.0, 1.0),
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if base_fun not in BASE_FUNCTIONS:
            raise ValueError(f"unknown base_fun {base_fun!r}; choose one of {', '.join(BASE_FUNCTIONS)}")
        self.n_in, self.n_out, self.G, self.k = int(n_in), int(n_out), int(G), int(k)
        self.base_fun_name = base_fun
        # Shapes as tensor_shapes() states them (model files are checked against that).
        self.register_buffer("grid", make_grid(n_in, G, k, grid_range, dtype))
        self.coef = nn.Parameter(torch.zeros(n_in, G + k, n_out, dtype=dtype))
        self.scale_base = nn.Parameter(torch.zeros(n_in, n_out, dtype=dtype))
        self.scale_sp = nn.Parameter(torch.ones(n_in, n_out, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(n_out, dtype=dtype))
        self.register_buffer("mask", torch.ones(n_in, n_out, dtype=dtype))
        # Symbolic edges: name per edge (None = numeric) and affine (a, b, c, d).
        self.register_buffer("symbolic_mask", torch.zeros(n_in, n_out, dtype=dtype))
        self.affine = nn.Parameter(torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=dtype).repeat(n_in, n_out, 1))
        self.symbolic_names: list[list[str | None]] = [[None] * n_out for _ in range(n_in)]
        self.symbolic_functions: dict[str, object] = {}
        # Caches rebuilt when their source changes (see _table, _symbolic_plan, kernel_state).
        self._table_cache: tuple | None = None
        self._kernel_state: KernelState | None = None
        self._symbolic_version = 0
        self._plan_cache: tuple | None = None

    @staticmethod
    def tensor_shapes(n_in: int, n_out: int, G: int, k: int) -> dict[str, tuple[int, ...]]:
        """The name and shape of every tensor in a layer's ``state_dict``, computed without building one."""
        return {"grid": (n_in, G + 2 * k + 1), "coef": (n_in, G + k, n_out), "scale_base": (n_in, n_out),
                "scale_sp": (n_in, n_out), "bias": (n_out,), "mask": (n_in, n_out), "symbolic_mask": (n_in, n_out),
                "affine": (n_in, n_out, 4)}

    # ------------------------------------------------------------------ forward
    @property
    def base_fun(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return BASE_FUNCTIONS[self.base_fun_name]

    @property
    def core_grid(self) -> torch.Tensor:
        """The knots that span each input's domain, shape (n_in, G + 1) (a view of ``grid``)."""
        return self.grid[:, self.k : self.k + self.G + 1]

    def _table(self) -> SplineTable:
        """The basis table of the current grid, rebuilt when the grid changes."""
        grid = self.grid
        cached = self._table_cache
        if cached is None or cached[0] is not grid or cached[1] != grid._version:
            self._table_cache = cached = (grid, grid._version, build_table(grid, self.k))
        return cached[2]

    def kernel_state(self) -> KernelState:
        """The numeric part of the layer as compiled kernels take it.

        The same object is returned while nothing it holds has changed (its
        ``version`` is equal), so callers may cache what they derive from it
        by identity.  Parameter values edited in place (an optimiser step) do
        not make a new state: the state holds the tensors themselves.
        """
        # Read without nn.Module attribute lookups: this runs on every forward
        # pass of the whole-network kernel path.
        params, buffers = self._parameters, self._buffers
        tensors = (params["coef"], params["scale_sp"], params["scale_base"], params["bias"], buffers["mask"])
        grid = buffers["grid"]
        version = (
            self._symbolic_version, self.base_fun_name, id(grid), grid._version, tensors[4]._version,
            *(id(t) for t in tensors), *(t.data_ptr() for t in tensors),
        )
        state = self._kernel_state
        if state is None or state.version != version:
            coef, scale_sp, scale_base, bias, mask = tensors
            state = KernelState(
                table=self._table(), grid=grid, coef=coef, scale_sp=scale_sp, scale_base=scale_base, mask=mask,
                bias=bias, residual_code=RESIDUALS[self.base_fun_name].code, symbolic=bool(self._symbolic_plan()),
                version=version,
            )
            self._kernel_state = state
        return state

    def _symbolic_plan(self) -> list[tuple[object, torch.Tensor, torch.Tensor]]:
        """Active symbolic edges grouped by function: ``(function, inputs, outputs)``.

        Cached until an edge is (un)fixed or the mask changes, so the forward
        pass does not walk the edges in Python.
        """
        mask = self.mask
        key = (self._symbolic_version, mask, mask._version)
        cached = self._plan_cache
        if cached is not None and cached[0] == key[0] and cached[1] is mask and cached[2] == key[2]:
            return cached[3]
        by_name: dict[str, list[tuple[int, int]]] = {}
        if any(name is not None for row in self.symbolic_names for name in row):
            kept = (mask > 0).tolist()
            for i, row in enumerate(self.symbolic_names):
                for o, name in enumerate(row):
                    if name is not None and kept[i][o]:
                        by_name.setdefault(name, []).append((i, o))
        plan = [
            (
                self.symbolic_functions[name],
                torch.tensor([e[0] for e in edges], device=mask.device),
                torch.tensor([e[1] for e in edges], device=mask.device),
            )
            for name, edges in by_name.items()
        ]
        self._plan_cache = (key[0], mask, key[2], plan)
        return plan

    def numeric_mask(self) -> torch.Tensor:
        """Mask of edges evaluated by their spline (kept and not symbolic)."""
        if not self._symbolic_plan():
            return self.mask
        return self.mask * (1 - self.symbolic_mask)

    def _symbolic_edges(self, x: torch.Tensor) -> torch.Tensor | None:
        """Symbolic edge values (batch, n_in, n_out), or None if there are none."""
        plan = self._symbolic_plan()
        if not plan:
            return None
        out = x.new_zeros(x.shape[0], self.n_in, self.n_out)
        a, b, c, d = self.affine.unbind(-1)
        rows = torch.arange(x.shape[0], device=x.device).unsqueeze(1)
        for function, ii, oo in plan:
            z = a[ii, oo] * x[:, ii] + b[ii, oo]
            vals = c[ii, oo] * function.torch_fn(z) + d[ii, oo]  # type: ignore[attr-defined]
            out = out.index_put((rows, ii.unsqueeze(0), oo.unsqueeze(0)), vals)
        return out

    def forward(self, x: torch.Tensor, return_edges: bool = False):
        """Evaluate the layer.

        Parameters
        ----------
        x : Tensor, shape (batch, n_in)
        return_edges : bool
            Also return every edge's output, shape (batch, n_in, n_out).

        Returns
        -------
        y : Tensor, shape (batch, n_out)
        edges : Tensor, shape (batch, n_in, n_out)
            Only when ``return_edges`` is true.
        """
        has_symbolic = bool(self._symbolic_plan())
        keep = self.numeric_mask() if has_symbolic else self.mask
        symbolic = self._symbolic_edges(x) if has_symbolic else None
        if return_edges:
            basis = dense_basis_autograd(self._table(), x)  # (batch, in, K)
            coef = self.coef * (self.scale_sp * keep).unsqueeze(1)  # (in, K, out)
            edges = self.base_fun(x).unsqueeze(-1) * (self.scale_base * keep)
            edges = edges + torch.einsum("bik,iko->bio", basis, coef)
            if symbolic is not None:
                edges = edges + symbolic
            return edges.sum(1) + self.bias, edges
        y = fused_layer(
            x, self.coef, self.scale_sp, self.scale_base, self.bias, keep, self._table(), self.base_fun_name
        )
        if symbolic is not None:
            y = y + symbolic.sum(1)
        return y

    def spline_edges(self, x: torch.Tensor) -> torch.Tensor:
        """The spline part ``w_s * spline(x)`` of every edge (batch, n_in, n_out), unmasked."""
        basis = dense_basis_autograd(self._table(), x)
        return torch.einsum("bik,iko->bio", basis, self.coef * self.scale_sp.unsqueeze(1))

    # ------------------------------------------------------------------ grids
    def _set_grid_preserving(self, x: torch.Tensor, new_grid: torch.Tensor) -> None:
        """Replace the grid (possibly of another size) and refit the coefficients
        so that every edge's spline is unchanged on the samples ``x``."""
        with torch.no_grad():
            curve = _spline_curves(x, self.grid, self.coef, self.k)
            new_coef = curve_to_coef(x, curve, new_grid, self.k)
            self.grid = new_grid.to(self.grid.dtype)
            G_new = new_grid.shape[1] - 2 * self.k - 1
            if G_new != self.G:
                self.coef = nn.Parameter(new_coef.to(self.coef.dtype))
                self.G = G_new
            else:
                self.coef.copy_(new_coef)

    def grid_targets(self, x: torch.Tensor, grid_eps: float = 0.02, margin: float = 0.0) -> torch.Tensor:
        """Core knots placed from samples: ``grid_eps`` uniform + ``1-grid_eps`` quantile.

        Parameters
        ----------
        x : Tensor, shape (batch, n_in)
            Inputs this layer sees.
        grid_eps : float
            Weight of the uniform grid (1 = uniform, 0 = pure quantiles).
        margin : float
            Fraction of the data range added on both sides of the domain.

        Returns
        -------
        Tensor, shape (n_in, G + 1)
        """
        xs = torch.sort(x.detach(), dim=0).values  # (batch, in)
        n = xs.shape[0]
        idx = torch.linspace(0, n - 1, self.G + 1).round().long()
        adaptive = xs[idx].t()  # (in, G+1)
        lo, hi = xs[0], xs[-1]
        # A (nearly) constant input still needs a domain the dtype can resolve:
        # widen it to at least 1 % of its magnitude (and of 1).
        min_span = 1e-2 * torch.maximum(torch.maximum(lo.abs(), hi.abs()), torch.ones_like(lo))
        pad = (min_span - (hi - lo)).clamp_min(0) / 2
        lo, hi = lo - pad, hi + pad
        span = hi - lo
        lo, hi = lo - margin * span, hi + margin * span
        steps = torch.linspace(0, 1, self.G + 1, dtype=x.dtype)
        uniform = lo.unsqueeze(1) + (hi - lo).unsqueeze(1) * steps
        adaptive = adaptive.clamp(lo.unsqueeze(1), hi.unsqueeze(1))
        adaptive = torch.cat([uniform[:, :1], adaptive[:, 1:-1], uniform[:, -1:]], dim=1)
        # At least 1 % uniform: knots stay distinct when a column repeats values
        # (discrete or constant inputs), so no interval is empty.
        eps = max(float(grid_eps), 1e-2)
        return eps * uniform + (1 - eps) * adaptive

    def update_grid(
        self,
        x: torch.Tensor,
        grid_eps: float = 0.02,
        margin: float = 0.0,
        tolerance: float | None = None,
        min_step: float = 2.0**-8,
    ) -> torch.Tensor:
        """Move the knots towards :meth:`grid_targets` and refit every spline.

        A spline on the moved knots can only approximate the old one (same
        number of coefficients), so with a ``tolerance`` each input's knots go
        a fraction ``t`` of the way, the first of a decreasing sequence from 1
        (each try shrinks ``t`` by at least half, by the measured overshoot)
        down to ``min_step`` (else 0, the old knots), whose least-squares refit
        changes every edge from that input by at most
        ``tolerance * rms(layer output) / sqrt(n_in)`` (RMS over ``x``).
        Repeated updates keep moving the knots as the functions allow.

        Parameters
        ----------
        x : Tensor, shape (batch, n_in)
            Inputs this layer sees.
        grid_eps, margin : float
            See :meth:`grid_targets`.
        tolerance : float, optional
            Largest relative change allowed; ``None`` moves all knots to their
            targets whatever the refit error.
        min_step : float
            Smallest fraction tried before keeping an input's knots.

        Returns
        -------
        Tensor, shape (n_in,)
            The fraction of the way each input's knots moved.
        """
        x = x.detach()
        k = self.k
        target = self.grid_targets(x, grid_eps, margin).to(self.grid.dtype)
        if tolerance is None:
            self._set_grid_preserving(x, extend_grid(target, k))
            return torch.ones(self.n_in, dtype=torch.float64)
        with torch.no_grad():
            xd = x.double()
            curve = _spline_curves(xd, self.grid.double(), self.coef.double(), k)
            keep = self.numeric_mask()
            weight = (self.scale_sp * keep).double().abs()  # (in, out): what a spline error costs
            out_rms = self(x).double().square().mean().sqrt().clamp_min(1e-300)
            budget = float(tolerance) * out_rms / self.n_in**0.5
            core = self.core_grid
            new_core, new_coef = core.clone(), self.coef.detach().clone()
            moved = torch.zeros(self.n_in, dtype=torch.float64)
            step = torch.ones(self.n_in, dtype=torch.float64)
            pending = torch.ones(self.n_in, dtype=torch.bool)
            while bool(pending.any()):
                rows = pending.nonzero().squeeze(1)
                t = step[rows].to(core.dtype).unsqueeze(1)
                cand = core[rows] + t * (target[rows] - core[rows])
                cand_grid = extend_grid(cand, k)
                coef = curve_to_coef(xd[:, rows], curve[:, rows], cand_grid, k)
                refit = _spline_curves(xd[:, rows], cand_grid.double(), coef, k)
                err = (refit - curve[:, rows]).square().mean(0).sqrt() * weight[rows]  # (rows, out)
                ratio = (err / budget).amax(1)
                ok = ratio <= 1
                done = rows[ok]
                new_core[done] = cand[ok]
                new_coef[done] = coef[ok].to(new_coef.dtype)
                moved[done] = step[done]
                pending[done] = False
                # The refit error grows about linearly with a small knot shift:
                # aim below the budget, at least halving and at most 64-fold less.
                shrink = (0.8 / ratio[~ok]).clamp(1 / 64, 0.5)
                step[rows[~ok]] *= shrink
                pending &= step >= min_step
            self.grid = extend_grid(new_core, k).to(self.grid.dtype)
            self.coef.copy_(new_coef)
        return moved

    def refine(self, G_new: int, x: torch.Tensor | None = None, n_points: int | None = None) -> None:
        """Grid extension: move every edge's spline onto ``G_new`` intervals.

        The new core knots interpolate the current ones (a uniform grid stays
        uniform, so 5 -> 10 -> 20 nests and the transfer is exact).

        Parameters
        ----------
        G_new : int
            New number of intervals (``>= 1``).
        x : Tensor, optional
            Samples the fit must match; default a dense sweep of the domain.
        n_points : int, optional
            Number of sweep points per input when ``x`` is not given.
        """
        if not isinstance(G_new, int) or G_new < 1:
            raise ValueError(f"new grid size must be an integer >= 1, got {G_new!r}")
        k = self.k
        core = self.core_grid
        pos = torch.linspace(0, self.G, G_new + 1, dtype=torch.float64)
        left = pos.floor().long().clamp(max=self.G - 1)
        frac = (pos - left).to(core.dtype)
        new_core = core[:, left] + (core[:, left + 1] - core[:, left]) * frac
        new_grid = extend_grid(new_core, k)
        n = n_points or max(8 * (G_new + k), 200)
        t = torch.linspace(0, 1, n, dtype=core.dtype).unsqueeze(1)
        sweep = core[:, 0] + (core[:, -1] - core[:, 0]) * t  # (n, in)
        pts = sweep if x is None else torch.cat([sweep, x.detach().to(core.dtype)], 0)
        self._set_grid_preserving(pts, new_grid)

    # ------------------------------------------------------------------ symbolic
    def set_symbolic(self, i: int, o: int, function, affine: tuple[float, float, float, float]) -> None:
        """Make edge ``(i, o)`` symbolic: ``c * f(a x + b) + d``."""
        self.symbolic_names[i][o] = function.name
        self.symbolic_functions[function.name] = function
        self._symbolic_version += 1
        with torch.no_grad():
            self.symbolic_mask[i, o] = 1.0
            self.affine[i, o] = torch.tensor(affine, dtype=self.affine.dtype)

    def unset_symbolic(self, i: int, o: int) -> None:
        """Return edge ``(i, o)`` to its spline."""
        self.symbolic_names[i][o] = None
        self._symbolic_version += 1
        with torch.no_grad():
            self.symbolic_mask[i, o] = 0.0

    def subset(self, keep_in: list[int], keep_out: list[int]) -> KANLayer:
        """A new layer with only the given input and output nodes."""
        new = KANLayer(len(keep_in), len(keep_out), self.G, self.k, self.base_fun_name, dtype=self.coef.dtype)
        ii = torch.tensor(keep_in, dtype=torch.long)
        oo = torch.tensor(keep_out, dtype=torch.long)
        with torch.no_grad():
            new.grid = self.grid[ii].clone()
            new.coef = nn.Parameter(self.coef[ii][:, :, oo].clone())
            for name in ("scale_base", "scale_sp", "mask", "symbolic_mask"):
                getattr(new, name).copy_(getattr(self, name)[ii][:, oo])
            new.affine.copy_(self.affine[ii][:, oo])
            new.bias.copy_(self.bias[oo])
        new.symbolic_names = [[self.symbolic_names[i][o] for o in keep_out] for i in keep_in]
        new.symbolic_functions = dict(self.symbolic_functions)
        new._symbolic_version += 1
        return new

    def extra_state_dict(self) -> dict:
        """JSON-serialisable state not held in tensors."""
        return {"symbolic_names": self.symbolic_names, "G": self.G, "base_fun": self.base_fun_name}

    def load_extra_state(self, state: Mapping, library: Mapping[str, object]) -> None:
        names = state["symbolic_names"]
        if len(names) != self.n_in or any(len(r) != self.n_out for r in names):
            raise ValueError("symbolic_names does not match the layer shape")
        missing = sorted({n for r in names for n in r if n is not None and n not in library})
        if missing:
            raise ValueError(
                f"the model uses symbolic function(s) {missing} that are not in the library; "
                "pass library=... with these functions to load it"
            )
        self.symbolic_names = [list(r) for r in names]
        self.symbolic_functions = {n: library[n] for r in names for n in r if n is not None}
        self._symbolic_version += 1
