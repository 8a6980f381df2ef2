"""Fast evaluation of spline layers: piecewise-polynomial tables and a fused layer op.

On every knot interval each of the ``k + 1`` B-splines that are non-zero there
is a polynomial of degree ``k``.  :func:`build_table` derives those
polynomials once per grid from the basis definition,
:func:`kansr.nn._splines.local_basis_values` (evaluated in float64 at ``k + 1``
points of every interval), in the local variable
``s = (x - t_j) / (t_{j+1} - t_j)``.  Evaluating the basis is then a lookup of
one table row per sample and input followed by a Horner scheme: about ten
tensor operations whatever the grid, instead of a recursion whose every level
gathers knots.  Uniform grids (the state before any grid update) find the
interval with one multiply-and-floor instead of a ``searchsorted``, and share
one set of cardinal polynomials (also in the table).  The compiled kernels
(:mod:`kansr.nn.kernels._jit`) evaluate the same tables.

:func:`bspline_basis` is the dense basis on any grid through a table: grid
updates, curve fitting and monomial screening use it, so they evaluate the
basis that training evaluates.

:class:`_FusedLayer` evaluates a whole numeric layer,
``y = bias + b(x) @ (w_b * keep) + basis(x) @ (coef * w_s * keep)``,
as one autograd node with a hand-written backward: the dense basis is built
once by a scatter of the ``k + 1`` local values, the forward and the
coefficient gradient are single matrix products, and the input gradient uses
the analytic derivative of the local values only.  Fewer, larger operations
are what make a training step fast on a CPU, where per-operation overhead
dominates small layers and memory traffic dominates large ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from kansr.nn._residuals import RESIDUALS
from kansr.nn._splines import check_basis_args, find_interval, local_basis_values
from kansr.nn.kernels import _jit as spline_jit

__all__ = [
    "SplineTable",
    "build_table",
    "local_basis",
    "dense_basis",
    "dense_basis_autograd",
    "bspline_basis",
    "curve_to_coef",
    "fused_layer",
]

# Relative tolerance on the knot spacing under which a grid row counts as uniform.
_UNIFORM_RTOL = 1e-6


@dataclass(frozen=True)
class SplineTable:
    """Per-interval polynomial coefficients of a B-spline basis on one grid.

    Attributes
    ----------
    k : int
        Spline order.
    n_basis : int
        Basis functions per input, ``G + k``.
    n_intervals : int
        Knot intervals per input, ``G + 2k``; row ``n_intervals`` of every
        input is an all-zero row used for samples outside the extended grid.
    rows : Tensor, shape (n_in * (n_intervals + 1), 2 + (k+1)^2 + k(k+1))
        Per interval: ``shift, scale`` (so ``s = x * scale + shift``), the basis
        polynomials (power-major, ``(k+1) x (k+1)``) and their derivatives
        with respect to ``x`` (power-major, ``k x (k+1)``).
    start : Tensor, shape (n_in * (n_intervals + 1),), long
        Index of the basis function in local slot 0; slots are consecutive.
    row_offset : Tensor, shape (n_in,), long
        First row of each input.
    grid : Tensor, shape (n_in, n_intervals + 1)
        The knots (for the ``searchsorted`` path).
    origin, inv_step : Tensor, shape (n_in,) or None
        First knot and inverse spacing when every row of the grid is uniform.
    uniform_poly : tuple of tuples of float, or None
        Uniform grids: per slot, the coefficients of the basis polynomial shared
        by every interval (constant term first).
    uniform_dpoly : tuple of tuples of float, or None
        Uniform grids: per slot, the coefficients of its derivative in ``s``
        (multiply by ``inv_step`` for the derivative in ``x``).
    slot_mask : Tensor, shape (n_intervals + 2, k+1) or None
        Uniform grids: 1 where local slot m of interval ``j`` (row ``j + 1``)
        is a real basis function; row 0 and the last row (outside) are zero.
    slot_offsets : Tensor, shape (k+1,), long
        ``-k .. 0``: basis index of slot m relative to the interval index.
    column_offset : Tensor, shape (n_in, 1), long
        ``i * n_basis``: where input i's basis starts in a flattened
        ``(n_in * n_basis)`` coefficient column.
    uniform_vd : Tensor, shape (k+1, 2(k+1)) or None
        Uniform grids: powers ``s^0..s^k`` times this matrix give the k+1
        values and the k+1 derivatives in ``s`` at once (small batches).
    mask_rows : Tensor, shape (n_in * (n_intervals + 2), 2(k+1)) or None
        Uniform grids: ``slot_mask`` per input, next to it times ``inv_step``
        (turns derivatives in ``s`` into derivatives in ``x``).
    origin_shift : Tensor, shape (n_in,) or None
        ``-origin * inv_step``, so the position is ``x * inv_step + origin_shift``.
    jit_arrays : tuple or None
        The table as numpy arrays for :mod:`kansr.nn.kernels._jit`, filled in on
        first use.
    mask_offset : Tensor, shape (1, n_in), long, or None
        First row of each input in ``mask_rows``.
    """

    k: int
    n_basis: int
    n_intervals: int
    rows: torch.Tensor
    start: torch.Tensor
    row_offset: torch.Tensor
    grid: torch.Tensor
    origin: torch.Tensor | None
    inv_step: torch.Tensor | None
    uniform_poly: tuple[tuple[float, ...], ...] | None = None
    uniform_dpoly: tuple[tuple[float, ...], ...] | None = None
    slot_mask: torch.Tensor | None = None
    jit_arrays: tuple | None = None
    slot_offsets: torch.Tensor | None = None
    column_offset: torch.Tensor | None = None
    uniform_vd: torch.Tensor | None = None
    mask_offset: torch.Tensor | None = None
    mask_rows: torch.Tensor | None = None
    origin_shift: torch.Tensor | None = None

    @property
    def uniform(self) -> bool:
        return self.origin is not None


def build_table(grid: torch.Tensor, k: int, dtype: torch.dtype | None = None) -> SplineTable:
    """Piecewise-polynomial table of the order-``k`` basis on ``grid``.

    Derived from the basis definition: on every interval the ``k + 1``
    polynomials interpolate :func:`kansr.nn._splines.local_basis_values` at
    ``k + 1`` interior points (exact for polynomials of degree ``k``).

    Parameters
    ----------
    grid : Tensor, shape (n_in, G + 2k + 1)
        Increasing extended knots, one row per input.
    k : int
        Spline order.
    dtype : torch.dtype, optional
        Dtype of the table (default: the grid's).

    Returns
    -------
    SplineTable
    """
    dtype = dtype or grid.dtype
    t = grid.detach().to(torch.float64)
    n_in, n_knots = t.shape
    n_int = n_knots - 1
    n_basis = n_knots - k - 1
    h = t[:, 1:] - t[:, :-1]  # (in, n_int)
    # k+1 interior sample points per interval determine each degree-k piece.
    s_pts = (torch.arange(k + 1, dtype=torch.float64) + 0.5) / (k + 1)
    x_pts = t[:, :-1, None] + h[:, :, None] * s_pts  # (in, n_int, k+1)
    index, local = local_basis_values(x_pts.reshape(n_in, -1).t(), t, k)  # (n_int*(k+1), in, k+1)
    dense = _scatter(index, local, n_basis)  # (n_int*(k+1), in, n_basis)
    dense = dense.reshape(n_int, k + 1, n_in, n_basis).permute(2, 0, 1, 3)  # (in, int, pt, basis)
    j = torch.arange(n_int)
    start = (j - k).clamp(0, n_basis - k - 1)  # (n_int,)
    cols = start[:, None] + torch.arange(k + 1)  # (n_int, k+1)
    vals = torch.gather(dense, 3, cols[None, :, None, :].expand(n_in, n_int, k + 1, k + 1))
    # Fit the k+1 values at k+1 points exactly: coefficients of s^0..s^k.
    vander = s_pts[:, None] ** torch.arange(k + 1, dtype=torch.float64)  # (pt, power)
    poly = torch.linalg.solve(vander, vals)  # (in, int, power, slot)
    # Empty intervals (repeated knots) carry no basis mass.
    poly = torch.where((h > 0)[:, :, None, None], poly, torch.zeros_like(poly))
    inv_h = torch.where(h > 0, 1.0 / h.clamp_min(1e-300), torch.zeros_like(h))
    powers = torch.arange(1, k + 1, dtype=torch.float64)[:, None]
    dpoly = poly[:, :, 1:, :] * powers * inv_h[:, :, None, None]  # d/dx, (in, int, k, slot)
    rows = torch.cat(
        [(-t[:, :-1] * inv_h)[..., None], inv_h[..., None], poly.flatten(2), dpoly.flatten(2)], dim=2
    )
    rows = torch.cat([rows, rows.new_zeros(n_in, 1, rows.shape[2])], dim=1)  # zero row
    start_rows = torch.cat([start, start.new_zeros(1)]).repeat(n_in)

    diffs = t[:, 1:] - t[:, :-1]
    mean = diffs.mean(1, keepdim=True)
    uniform = bool(((diffs - mean).abs() <= _UNIFORM_RTOL * mean.abs()).all() and (mean > 0).all())
    extra = {}
    if uniform:
        # Every interval carries the same k+1 cardinal pieces in s; slot m of
        # interval j is basis j-k+m, which exists only for 0 <= j-k+m < n_basis.
        # Interval k has all its slots inside the basis range.
        slot_basis = j[:, None] - k + torch.arange(k + 1)
        exists = ((slot_basis >= 0) & (slot_basis < n_basis)).to(torch.float64)
        outside = torch.zeros(1, k + 1, dtype=torch.float64)
        cardinal = poly[0, k].t()  # (slot, power) in s
        extra = {
            "uniform_poly": tuple(tuple(row) for row in cardinal.tolist()),
            "uniform_dpoly": tuple(tuple(row) for row in (cardinal[:, 1:] * powers[:, 0]).tolist()),
            "uniform_vd": torch.cat(
                [cardinal.t(), torch.cat([(cardinal[:, 1:] * powers[:, 0]).t(), cardinal.new_zeros(1, k + 1)])],
                dim=1,
            ).to(dtype).contiguous(),
            "mask_rows": torch.cat(
                [
                    torch.cat([outside, exists, outside]).expand(n_in, n_int + 2, k + 1),
                    torch.cat([outside, exists, outside]) * (1.0 / mean)[:, :, None],
                ],
                dim=2,
            ).reshape(n_in * (n_int + 2), 2 * (k + 1)).to(dtype).contiguous(),
            "origin_shift": (-t[:, 0] / mean[:, 0]).to(dtype).contiguous(),
            "mask_offset": (torch.arange(n_in) * (n_int + 2)).unsqueeze(0),
            "slot_mask": torch.cat([outside, exists, outside]).to(dtype).contiguous(),
        }
    return SplineTable(
        k=k,
        n_basis=n_basis,
        n_intervals=n_int,
        rows=rows.reshape(n_in * (n_int + 1), -1).to(dtype).contiguous(),
        start=start_rows.contiguous(),
        row_offset=torch.arange(n_in) * (n_int + 1),
        slot_offsets=torch.arange(-k, 1),
        column_offset=(torch.arange(n_in) * n_basis).unsqueeze(-1),
        grid=grid.detach().to(dtype).contiguous(),
        origin=t[:, 0].to(dtype).contiguous() if uniform else None,
        inv_step=(1.0 / mean[:, 0]).to(dtype).contiguous() if uniform else None,
        **extra,
    )


def _rows(table: SplineTable, x: torch.Tensor) -> torch.Tensor:
    """Flat table row of every (sample, input); the zero row outside the grid.

    Only non-uniform grids use table rows (uniform ones take
    :func:`_uniform_local_basis`).
    """
    n_int = table.n_intervals
    j = find_interval(table.grid, x)
    j = torch.where((j >= 0) & (j < n_int), j, n_int)
    return j + table.row_offset


def local_basis(
    table: SplineTable, x: torch.Tensor, with_derivative: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The ``k + 1`` non-zero basis values per sample and input.

    Parameters
    ----------
    table : SplineTable
    x : Tensor, shape (batch, n_in)
    with_derivative : bool
        Also return the derivatives with respect to ``x``.

    Returns
    -------
    index : Tensor (batch, n_in, k+1), long
        Basis function of each local slot (distinct, consecutive).
    values : Tensor (batch, n_in, k+1)
    deriv : Tensor (batch, n_in, k+1) or None
    """
    if table.uniform:
        return _uniform_local_basis(table, x, with_derivative)
    k = table.k
    m = k + 1
    batch, n_in = x.shape
    row = _rows(table, x).reshape(-1)
    rec = table.rows.index_select(0, row).view(batch, n_in, -1)
    s = torch.addcmul(rec[..., 0], x, rec[..., 1]).unsqueeze(-1)
    poly = rec[..., 2 : 2 + m * m].view(batch, n_in, m, m)
    vals = poly[..., k, :]
    for p in range(k - 1, -1, -1):
        vals = torch.addcmul(poly[..., p, :], vals, s)
    deriv = None
    if with_derivative:
        dpoly = rec[..., 2 + m * m :].view(batch, n_in, k, m)
        deriv = dpoly[..., k - 1, :]
        for p in range(k - 2, -1, -1):
            deriv = torch.addcmul(dpoly[..., p, :], deriv, s)
    index = table.start.index_select(0, row).view(batch, n_in, 1) + torch.arange(m, device=x.device)
    return index, vals, deriv


def _polyval_slots(coefs: tuple[tuple[float, ...], ...], s: torch.Tensor) -> torch.Tensor:
    """Evaluate one polynomial per slot at ``s`` (batch, n_in) -> (batch, n_in, slots).

    Coefficients are constant term first.  The result is a view of a
    slot-major buffer: each slot is computed with scalar coefficients in one
    contiguous pass, which on a CPU is several times faster than broadcasting
    a short coefficient vector along the last axis or stacking the slots.
    """
    out = s.new_empty(len(coefs), *s.shape)
    for m, c in enumerate(coefs):
        v = out[m]
        if len(c) == 1:
            v.fill_(c[0])
            continue
        torch.mul(s, c[-1], out=v)
        for a in reversed(c[1:-1]):
            v.add_(a).mul_(s)
        v.add_(c[0])
    return out.permute(1, 2, 0)


# Below this many (sample, input) pairs per-operation overhead dominates: the
# small-batch path gets values and derivatives from one matrix product.
_SMALL_BATCH = 16384


def _uniform_local_basis(table: SplineTable, x: torch.Tensor, with_derivative: bool):
    """:func:`local_basis` on a uniform grid: no table rows to gather."""
    k, n_int = table.k, table.n_intervals
    m = k + 1
    batch, n_in = x.shape
    u = torch.addcmul(table.origin_shift, x, table.inv_step)  # position in knot spacings
    jf = torch.floor(u)
    s = u - jf
    # Positions before the grid go to the first mask row, after it to the last
    # (both zero); NaN becomes some integer there too and stays NaN in s.
    j = jf.clamp_(-1, n_int).to(torch.long).clamp_(-1, n_int)
    index = (j.unsqueeze(-1) + table.slot_offsets).clamp_(0, table.n_basis - 1)
    if batch * n_in <= _SMALL_BATCH:
        row = (j + 1).add_(table.mask_offset).view(-1)
        width = 2 * m if with_derivative else m
        masks = table.mask_rows.index_select(0, row)[:, :width]
        both = (torch.linalg.vander(s.view(-1), N=m) @ table.uniform_vd[:, :width]).mul_(masks)
        both = both.view(batch, n_in, width)
        return index, both[..., :m], (both[..., m:] if with_derivative else None)
    exists = table.slot_mask.index_select(0, (j + 1).view(-1)).view(batch, n_in, m)
    vals = _polyval_slots(table.uniform_poly, s).mul_(exists)
    deriv = None
    if with_derivative:
        deriv = _polyval_slots(table.uniform_dpoly, s).mul_(exists).mul_(table.inv_step.unsqueeze(-1))
    return index, vals, deriv


def _scatter(index: torch.Tensor, vals: torch.Tensor, n_basis: int) -> torch.Tensor:
    """Dense (batch, n_in, n_basis) from local values; entries sharing an index carry zeros but one."""
    return vals.new_zeros(vals.shape[0], vals.shape[1], n_basis).scatter_add_(2, index, vals)


def dense_basis(table: SplineTable, x: torch.Tensor, with_derivative: bool = False):
    """Dense basis (batch, n_in, G+k), and its derivative when asked (else None)."""
    index, vals, deriv = local_basis(table, x, with_derivative)
    dderiv = None if deriv is None else _scatter(index, deriv, table.n_basis)
    return _scatter(index, vals, table.n_basis), dderiv


class _DenseBasis(torch.autograd.Function):
    """Dense basis whose backward touches only the k+1 non-zero entries per sample."""

    @staticmethod
    def forward(ctx, x, table):  # type: ignore[override]
        index, vals, deriv = local_basis(table, x, with_derivative=True)
        ctx.save_for_backward(index, deriv)
        return _scatter(index, vals, table.n_basis)

    @staticmethod
    @once_differentiable  # its derivatives are computed without a graph: a second backward would be silently wrong
    def backward(ctx, grad_basis):  # type: ignore[override]
        index, deriv = ctx.saved_tensors
        return torch.linalg.vecdot(grad_basis.gather(2, index), deriv), None


def dense_basis_autograd(table: SplineTable, x: torch.Tensor) -> torch.Tensor:
    """Dense basis (batch, n_in, G+k), differentiable with respect to ``x``."""
    if x.requires_grad:
        return _DenseBasis.apply(x, table)
    return dense_basis(table, x)[0]


def bspline_basis(x: torch.Tensor, grid: torch.Tensor, k: int) -> torch.Tensor:
    """B-spline basis of order ``k`` on any grid, evaluated as a layer evaluates it.

    Builds the grid's table in ``x.dtype`` and evaluates it: for a layer's grid
    and inputs of the layer's dtype this is bit for bit the basis of the
    layer's tensor-code forward pass (the compiled kernels evaluate the same
    table; on a uniform grid they use the closed form of its cardinal pieces,
    equal to round-off, see :func:`kansr.nn.kernels._numba._cardinal3`).  Differentiable with respect to ``x`` (the backward
    pass uses the analytic derivative of the local values).

    Parameters
    ----------
    x : Tensor, shape (batch, n_in)
    grid : Tensor, shape (n_in, G + 2k + 1)
        Increasing extended knots, one row per input.
    k : int
        Spline order (3 = cubic).

    Returns
    -------
    Tensor, shape (batch, n_in, G + k)
        Zero outside the extended grid; rows sum to 1 inside the core domain.
    """
    check_basis_args(x, grid, k)
    return dense_basis_autograd(build_table(grid, k, dtype=x.dtype), x)


def curve_to_coef(
    x: torch.Tensor,
    y: torch.Tensor,
    grid: torch.Tensor,
    k: int,
    ridge: float = 1e-10,
) -> torch.Tensor:
    """Least-squares spline coefficients that reproduce sampled curves.

    Parameters
    ----------
    x : Tensor, shape (batch, n_in)
        Sample locations per input.
    y : Tensor, shape (batch, n_in, n_out)
        Curve values for every edge (input i, output o).
    grid : Tensor, shape (n_in, G + 2k + 1)
        Target grid.
    k : int
        Spline order.
    ridge : float
        Tiny Tikhonov term (relative to the basis scale) that keeps basis
        functions without samples at zero instead of making the system singular.

    Returns
    -------
    Tensor, shape (n_in, G + k, n_out)
        Coefficients on ``grid``.  Solved in float64, returned in ``y.dtype``.
    """
    basis = bspline_basis(x.detach().double(), grid.double(), k)  # (b, in, K)
    A = basis.permute(1, 0, 2)  # (in, b, K)
    Y = y.detach().double().permute(1, 0, 2)  # (in, b, out)
    AtA = A.transpose(1, 2) @ A
    AtY = A.transpose(1, 2) @ Y
    n_basis = AtA.shape[-1]
    scale = AtA.diagonal(dim1=1, dim2=2).mean(-1).clamp_min(1e-300)
    reg = ridge * scale[:, None, None] * torch.eye(n_basis, dtype=AtA.dtype)
    coef = torch.linalg.solve(AtA + reg, AtY)
    return coef.to(y.dtype).contiguous()


class _FusedLayer(torch.autograd.Function):
    """Numeric part of a KAN layer as one autograd node (see module docstring)."""

    @staticmethod
    def forward(ctx, x, coef, scale_sp, scale_base, bias, keep, table, base_name):  # type: ignore[override]
        batch, n_in = x.shape
        n_out = coef.shape[2]
        need_dx = ctx.needs_input_grad[0]
        index, vals, deriv = local_basis(table, x, with_derivative=need_dx)
        w_s = scale_sp * keep
        w_b = scale_base * keep
        coef_eff = (coef * w_s.unsqueeze(1)).view(-1, n_out)
        residual = RESIDUALS[base_name]
        base = residual.value(x)
        ctx.residual = residual
        ctx.local = n_out == 1
        if ctx.local:
            # One output: pick the k+1 coefficients each sample uses instead of
            # building the dense (batch, n_in*(G+k)) basis for a matrix-vector product.
            flat = index + table.column_offset
            picked = coef_eff.view(-1).take(flat)
            y = torch.linalg.vecdot(picked, vals).sum(1, keepdim=True).add_(bias)
            y.addmm_(base, w_b)
            ctx.save_for_backward(x, coef, w_s, w_b, keep, base, flat, vals, deriv, picked)
            return y
        dense = _scatter(index, vals, table.n_basis).view(batch, -1)
        y = torch.addmm(bias, dense, coef_eff)
        y.addmm_(base, w_b)
        ctx.save_for_backward(x, coef, w_s, w_b, keep, base, dense, index, deriv)
        return y

    @staticmethod
    @once_differentiable  # its derivatives are computed without a graph: a second backward would be silently wrong
    def backward(ctx, grad_y):  # type: ignore[override]
        if ctx.local:
            x, coef, w_s, w_b, keep, base, flat, vals, deriv, picked = ctx.saved_tensors
        else:
            x, coef, w_s, w_b, keep, base, dense, index, deriv = ctx.saved_tensors
        n_in, n_basis, n_out = coef.shape
        need = ctx.needs_input_grad
        grad_x = grad_coef = grad_sp = grad_base = grad_bias = None
        if need[1] or need[2]:
            if ctx.local:
                weighted = (vals * grad_y.unsqueeze(-1)).reshape(-1)
                grad_ceff = weighted.new_zeros(n_in * n_basis).scatter_add_(0, flat.reshape(-1), weighted)
                grad_ceff = grad_ceff.view(n_in, n_basis, 1)
            else:
                grad_ceff = (dense.t() @ grad_y).view(n_in, n_basis, n_out)
            if need[1]:
                grad_coef = grad_ceff * w_s.unsqueeze(1)
            if need[2]:
                grad_sp = (grad_ceff * coef).sum(1) * keep
        if need[3]:
            grad_base = (base.t() @ grad_y) * keep
        if need[4]:
            grad_bias = grad_y.sum(0)
        if need[0]:
            if ctx.local:
                grad_x = torch.linalg.vecdot(picked, deriv) * grad_y
            else:
                coef_eff = (coef * w_s.unsqueeze(1)).view(-1, n_out)
                along = (grad_y @ coef_eff.t()).view(x.shape[0], n_in, n_basis)
                grad_x = torch.linalg.vecdot(along.gather(2, index), deriv)
            grad_x = grad_x + (grad_y @ w_b.t()) * ctx.residual.grad(x)
        return grad_x, grad_coef, grad_sp, grad_base, grad_bias, None, None, None


class _JitLayer(torch.autograd.Function):
    """:class:`_FusedLayer` computed by compiled kernels (:mod:`kansr.nn.kernels._jit`).

    Forward and backward are one kernel call each, including the folding of
    edge weights and mask and the parameter gradients.  Keeping the per-sample
    work out of torch also keeps torch's thread pool idle, so it does not
    compete with the kernels' threads for the cores.
    """

    @staticmethod
    def forward(ctx, x, coef, scale_sp, scale_base, bias, keep, table, base_name, save):  # type: ignore[override]
        arrays = spline_jit.table_arrays_cached(table)
        params = [t.detach().contiguous() for t in (x, coef, scale_sp, scale_base, keep)]
        code = RESIDUALS[base_name].code
        ctx.threads = spline_jit.threads_for(x.shape[0] * coef.shape[0] * coef.shape[2], torch.get_num_threads())
        y, ctx.per_sample = spline_jit.layer_forward(
            arrays, *(t.numpy() for t in params), bias.detach().contiguous().numpy(), code, ctx.threads, save,
        )
        ctx.arrays = arrays
        ctx.save_for_backward(*params)
        return torch.from_numpy(y)

    @staticmethod
    @once_differentiable  # its derivatives are computed without a graph: a second backward would be silently wrong
    def backward(ctx, grad_y):  # type: ignore[override]
        need_x = bool(ctx.needs_input_grad[0])
        x, *params = (t.numpy() for t in ctx.saved_tensors)
        grads = spline_jit.layer_backward(
            ctx.arrays, x, ctx.per_sample, *params,
            grad_y.detach().contiguous().numpy(), need_x, ctx.threads,
        )
        out = [None if g is None else torch.from_numpy(g) for g in grads]
        return (*out, None, None, None, None)


def fused_layer(
    x: torch.Tensor,
    coef: torch.Tensor,
    scale_sp: torch.Tensor,
    scale_base: torch.Tensor,
    bias: torch.Tensor,
    keep: torch.Tensor,
    table: SplineTable,
    base_name: str,
) -> torch.Tensor:
    """``bias + b(x) @ (scale_base*keep) + basis(x) @ (coef*scale_sp*keep)``, shape (batch, n_out).

    Parameters
    ----------
    x : Tensor, shape (batch, n_in)
    coef : Tensor, shape (n_in, G+k, n_out)
    scale_sp, scale_base, keep : Tensor, shape (n_in, n_out)
    bias : Tensor, shape (n_out,)
    table : SplineTable
        Built from the layer's grid by :func:`build_table`.
    base_name : str
        Residual function, a key of :data:`kansr.nn._residuals.RESIDUALS`.
    """
    if _use_jit(x, coef, table):
        # Whether a backward pass will follow: then the forward keeps per-sample values for it.
        save = torch.is_grad_enabled() and any(t.requires_grad for t in (x, coef, scale_sp, scale_base, bias))
        return _JitLayer.apply(x, coef, scale_sp, scale_base, bias, keep, table, base_name, save)
    return _FusedLayer.apply(x, coef, scale_sp, scale_base, bias, keep, table, base_name)


def _use_jit(x: torch.Tensor, coef: torch.Tensor, table: SplineTable) -> bool:
    """Compiled kernels serve cubic splines on CPU float32/float64 inputs unless ``KANSR_NUMBA=0``."""
    return (
        table.k == 3
        and spline_jit.enabled()
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and coef.dtype == x.dtype
        and table.rows.dtype == x.dtype
        and x.dim() == 2
    )
