"""The B-spline basis: knot conventions and the one definition of its values.

Conventions
-----------
A grid for ``G`` intervals and order ``k`` holds ``G + 2k + 1`` knots per input:
the ``G + 1`` knots of the domain plus ``k`` knots on each side.  It yields
``G + k`` basis functions.  Grids have shape ``(n_in, G + 2k + 1)`` so every
input of a layer has its own grid.  A sample ``x`` lies in knot interval ``j``
when ``t[j] <= x < t[j+1]`` (:func:`find_interval`); outside the extended grid
(and at its last knot) the basis is zero.

Definition
----------
:func:`local_basis_values` is the definition every evaluation of a spline in
kansr derives from: for each sample the ``k + 1`` basis functions that are
non-zero on its interval, by de Boor's triangular recursion.  The fast forms
are built from it, not written again: :func:`kansr.nn.kernels._tables.build_table`
evaluates it on every interval to get the per-interval polynomials that the
tensor path and the compiled kernels evaluate, and that every consumer of a
basis (layer forward, grid update, curve fitting, monomial screening) reads
through :func:`kansr.nn.kernels._tables.bspline_basis` or a layer's table.
"""
from __future__ import annotations

import torch

__all__ = ["make_grid", "extend_grid", "check_basis_args", "find_interval", "local_basis_values"]


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


def check_basis_args(x: torch.Tensor, grid: torch.Tensor, k: int) -> None:
    """Raise ValueError unless ``x`` (batch, n_in) and ``grid`` (n_in, >= 2k+2) fit order ``k``."""
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


def find_interval(grid: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Knot interval ``j`` with ``grid[i, j] <= x[b, i] < grid[i, j+1]``, shape (batch, n_in).

    ``-1`` before the first knot, ``n_knots - 1`` at or after the last one (and for NaN).
    """
    return torch.searchsorted(grid, x.t().contiguous(), right=True).t() - 1


def local_basis_values(x: torch.Tensor, grid: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k + 1`` non-zero basis values per sample and input, and where they go.

    De Boor's triangular recursion on the interval :func:`find_interval` finds:
    on interval ``j`` the basis functions ``j-k .. j`` are non-zero.

    Parameters
    ----------
    x : Tensor, shape (batch, n_in)
    grid : Tensor, shape (n_in, n_knots)
        Increasing extended knots, one row per input, in ``x.dtype``.
    k : int
        Spline order.

    Returns
    -------
    index : Tensor (batch, n_in, k+1), long
        Basis function of each value, clamped into ``[0, n_knots - k - 1)``.
    values : Tensor (batch, n_in, k+1)
        Basis values; zero outside the grid and where the clamped index is not
        a real basis function (so a scatter-add of ``values`` at ``index``
        gives the dense basis).
    """
    n_in = x.shape[1]
    n_knots = grid.shape[1]
    n_basis = n_knots - k - 1
    j = find_interval(grid, x)
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

    values: list[torch.Tensor] = [inside.to(x.dtype)]
    for d in range(1, k + 1):
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
    return index.clamp(0, n_basis - 1), torch.stack(values, dim=-1) * valid
