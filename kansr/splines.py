"""B-spline grids, a fast local basis, and least-squares curve transfer.

Conventions
-----------
A grid for ``G`` intervals and order ``k`` holds ``G + 2k + 1`` knots per input:
the ``G + 1`` knots of the domain plus ``k`` knots on each side.  It yields
``G + k`` basis functions.  Grids have shape ``(n_in, G + 2k + 1)`` so every
input of a layer has its own grid.  Outside the extended grid the basis is zero.

The basis is evaluated *locally*: for each sample only the ``k + 1`` non-zero
values are computed (de Boor's triangular recursion after a ``searchsorted``
for the knot interval) and scattered into a dense tensor.  This touches
``O(k^2)`` numbers per sample instead of ``O(k (G + 2k))`` for the textbook
Cox--de Boor recursion over the whole grid, which is what makes the KAN
forward pass fast.
"""
from __future__ import annotations

import torch

__all__ = [
    "make_grid",
    "extend_grid",
    "bspline_basis",
    "bspline_basis_reference",
    "basis_with_derivative",
    "curve_to_coef",
]


def _check_order(k: int) -> None:
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"spline order k must be an integer >= 1, got {k!r}")


def extend_grid(core: torch.Tensor, k: int) -> torch.Tensor:
    """Extend core knots ``(n_in, G+1)`` by ``k`` knots on each side.

    The added knots continue the spacing of the first and last interval.

    Parameters
    ----------
    core : Tensor, shape (n_in, G + 1)
        Increasing knots of the spline domain, one row per input.
    k : int
        Spline order.

    Returns
    -------
    Tensor, shape (n_in, G + 2k + 1)
    """
    _check_order(k)
    steps = torch.arange(1, k + 1, dtype=core.dtype, device=core.device)
    h_lo = (core[:, 1] - core[:, 0]).unsqueeze(1)
    h_hi = (core[:, -1] - core[:, -2]).unsqueeze(1)
    left = core[:, :1] - h_lo * steps.flip(0)
    right = core[:, -1:] + h_hi * steps
    return torch.cat([left, core, right], dim=1)


def make_grid(
    n_in: int,
    G: int,
    k: int,
    grid_range: tuple[float, float] = (-1.0, 1.0),
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Uniform extended grid of ``G`` intervals on ``grid_range`` for each input.

    Parameters
    ----------
    n_in : int
        Number of inputs (rows of the grid).
    G : int
        Number of intervals, ``>= 1``.
    k : int
        Spline order, ``>= 1``.
    grid_range : (float, float)
        Domain ``(low, high)`` with ``low < high``.
    dtype : torch.dtype

    Returns
    -------
    Tensor, shape (n_in, G + 2k + 1)
    """
    if not isinstance(G, int) or G < 1:
        raise ValueError(f"grid size G must be an integer >= 1, got {G!r}")
    _check_order(k)
    lo, hi = float(grid_range[0]), float(grid_range[1])
    if not lo < hi:
        raise ValueError(f"grid_range must satisfy low < high, got {grid_range!r}")
    core = torch.linspace(lo, hi, G + 1, dtype=dtype).expand(n_in, G + 1)
    return extend_grid(core.contiguous(), k)


def _local_values(
    x: torch.Tensor, grid: torch.Tensor, k: int, with_derivative: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The k+1 non-zero basis values per sample and where they go.

    Returns
    -------
    index : Tensor (batch, n_in, k+1), long
        Basis function index of each value, clamped into ``[0, G+k)``.
    values : Tensor (batch, n_in, k+1)
        Basis values; zero where the clamped index is not a real basis function.
    deriv : Tensor (batch, n_in, k+1) or None
        Derivatives of the same basis functions with respect to x.
    """
    batch, n_in = x.shape
    n_knots = grid.shape[1]
    n_basis = n_knots - k - 1
    # Interval index j with t[j] <= x < t[j+1]; -1 or n_knots-1 when outside.
    j = torch.searchsorted(grid, x.t().contiguous(), right=True).t() - 1
    inside = (j >= 0) & (j < n_knots - 1)
    j = j.clamp(0, n_knots - 2)

    # Pad the grid by k knots on each side so every gather below is in range;
    # values computed from padded knots belong to basis functions that do not
    # exist and are zeroed before they are used.
    padded = extend_grid(grid, k).reshape(-1)
    row_start = torch.arange(n_in, device=x.device) * (n_knots + 2 * k) + k
    base = j + row_start  # flat position of t[j] in the padded grid

    def knot(offset: int) -> torch.Tensor:
        return torch.take(padded, base + offset)

    left = [x] + [x - knot(1 - d) for d in range(1, k + 1)]  # x - t[j+1-d]
    right = [x] + [knot(d) - x for d in range(1, k + 1)]  # t[j+d] - x

    values = [inside.to(x.dtype)]
    lower: list[torch.Tensor] = values
    for d in range(1, k + 1):
        lower = values
        saved: torch.Tensor | float = 0.0
        new: list[torch.Tensor] = []
        for r in range(d):
            temp = values[r] / (right[r + 1] + left[d - r])
            new.append(right[r + 1] * temp + saved)
            saved = left[d - r] * temp
        new.append(saved)  # type: ignore[arg-type]
        values = new

    index = j.unsqueeze(-1) + torch.arange(-k, 1, device=x.device)  # m = j-k+r
    valid = (index >= 0) & (index < n_basis)
    vals = torch.stack(values, dim=-1) * valid
    index = index.clamp(0, n_basis - 1)

    deriv = None
    if with_derivative:
        # N'_{m,k} = k (N_{m,k-1}/(t[m+k]-t[m]) - N_{m+1,k-1}/(t[m+k+1]-t[m+1]));
        # the order k-1 functions non-zero at x are m = j-k+1 .. j (r = 0..k-1).
        terms = [k * lower[r] / (knot(r + 1) - knot(r + 1 - k)) for r in range(k)]
        zero = torch.zeros_like(x)
        dvals = [(terms[r - 1] if r > 0 else zero) - (terms[r] if r < k else zero) for r in range(k + 1)]
        deriv = torch.stack(dvals, dim=-1) * valid
    return index, vals, deriv


def _densify(index: torch.Tensor, vals: torch.Tensor, n_basis: int) -> torch.Tensor:
    dense = vals.new_zeros(vals.shape[0], vals.shape[1], n_basis)
    # scatter_add: clamped duplicate indices carry zeros, so nothing is overwritten.
    return dense.scatter_add_(2, index, vals)


def _local_basis(
    x: torch.Tensor, grid: torch.Tensor, k: int, with_derivative: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Dense basis (batch, in, G+k) and optionally its dense derivative."""
    n_basis = grid.shape[1] - k - 1
    index, vals, deriv = _local_values(x, grid, k, with_derivative)
    dense_deriv = _densify(index, deriv, n_basis) if deriv is not None else None
    return _densify(index, vals, n_basis), dense_deriv


class _SplineBasis(torch.autograd.Function):
    """Basis as an autograd function: backward uses the analytic derivative,
    touching only the k+1 non-zero entries per sample."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, grid: torch.Tensor, k: int) -> torch.Tensor:  # type: ignore[override]
        n_basis = grid.shape[1] - k - 1
        index, vals, deriv = _local_values(x, grid, k, with_derivative=True)
        ctx.save_for_backward(index, deriv)
        return _densify(index, vals, n_basis)

    @staticmethod
    def backward(ctx, grad_basis: torch.Tensor):  # type: ignore[override]
        index, deriv = ctx.saved_tensors
        grad_x = (torch.gather(grad_basis, 2, index) * deriv).sum(-1)
        return grad_x, None, None


def _validate(x: torch.Tensor, grid: torch.Tensor, k: int) -> None:
    _check_order(k)
    if x.dim() != 2:
        raise ValueError(f"x must have shape (batch, n_in), got {tuple(x.shape)}")
    if grid.dim() != 2 or grid.shape[0] != x.shape[1]:
        raise ValueError(
            f"grid must have shape (n_in={x.shape[1]}, G+2k+1), got {tuple(grid.shape)}"
        )
    if grid.shape[1] < 2 * k + 2:
        raise ValueError(
            f"grid has {grid.shape[1]} knots, fewer than the 2k+2={2 * k + 2} needed for order {k}"
        )


def bspline_basis(x: torch.Tensor, grid: torch.Tensor, k: int) -> torch.Tensor:
    """B-spline basis of order ``k`` for every sample and input.

    Differentiable with respect to ``x`` (the backward pass uses the analytic
    derivative of the basis).

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
    _validate(x, grid, k)
    grid = grid.to(x.dtype)
    if x.requires_grad:
        return _SplineBasis.apply(x, grid, k)
    return _local_basis(x, grid, k, with_derivative=False)[0]


def basis_with_derivative(
    x: torch.Tensor, grid: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Basis and its derivative ``d basis / d x``, both (batch, n_in, G + k)."""
    _validate(x, grid, k)
    basis, deriv = _local_basis(x.detach(), grid.to(x.dtype), k, with_derivative=True)
    assert deriv is not None
    return basis, deriv


def bspline_basis_reference(x: torch.Tensor, grid: torch.Tensor, k: int) -> torch.Tensor:
    """Textbook Cox--de Boor recursion over the whole grid (slow; for tests).

    Same contract as :func:`bspline_basis`.
    """
    _validate(x, grid, k)
    xg = x.unsqueeze(-1)
    t = grid.to(x.dtype).unsqueeze(0)
    basis = ((xg >= t[:, :, :-1]) & (xg < t[:, :, 1:])).to(x.dtype)
    for d in range(1, k + 1):
        left = (xg - t[:, :, : -(d + 1)]) / (t[:, :, d:-1] - t[:, :, : -(d + 1)])
        right = (t[:, :, d + 1 :] - xg) / (t[:, :, d + 1 :] - t[:, :, 1:-d])
        basis = left * basis[:, :, :-1] + right * basis[:, :, 1:]
    return basis


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
