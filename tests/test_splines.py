import pytest
import torch

from kansr.splines import (
    basis_with_derivative,
    bspline_basis,
    bspline_basis_reference,
    curve_to_coef,
    extend_grid,
    make_grid,
)


def _grids(k, dtype):
    gen = torch.Generator().manual_seed(1)
    core = torch.sort(torch.rand(3, 8, generator=gen, dtype=dtype) * 2 - 1, dim=1).values
    return [make_grid(3, 7, k, dtype=dtype), extend_grid(core, k)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_local_basis_matches_cox_de_boor(k, dtype):
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(400, 3, generator=gen, dtype=dtype) * 3 - 1.5)  # also outside the grid
    for grid in _grids(k, dtype):
        fast = bspline_basis(x, grid, k)
        ref = bspline_basis_reference(x, grid, k)
        assert fast.dtype == dtype and fast.shape == (400, 3, grid.shape[1] - k - 1)
        tol = 1e-6 if dtype == torch.float32 else 1e-13
        assert torch.allclose(fast, ref, atol=tol)


def test_partition_of_unity_inside_domain():
    grid = make_grid(2, 6, 3, (-2.0, 3.0), dtype=torch.float64)
    x = torch.linspace(-2, 2.999, 101, dtype=torch.float64).unsqueeze(1).repeat(1, 2)
    assert torch.allclose(bspline_basis(x, grid, 3).sum(-1), torch.ones(101, 2, dtype=torch.float64))


@pytest.mark.parametrize("k", [2, 3])
def test_gradient_is_analytic_derivative(k):
    grid = _grids(k, torch.float64)[1]
    x = (torch.rand(300, 3, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    w = torch.randn(300, 3, grid.shape[1] - k - 1, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda t: (bspline_basis(t, grid, k) * w[:20]).sum(), (x[:20].detach().requires_grad_(),)
    )
    h = 1e-6
    xd = x.detach()
    fd = (bspline_basis(xd + h, grid, k) - bspline_basis(xd - h, grid, k)) / (2 * h)
    _, deriv = basis_with_derivative(xd, grid, k)
    assert torch.allclose(fd, deriv, atol=1e-5)


def test_curve_to_coef_reproduces_a_spline():
    k, grid = 3, make_grid(2, 10, 3, dtype=torch.float64)
    coef = torch.randn(2, 13, 4, dtype=torch.float64)
    x = torch.rand(500, 2, dtype=torch.float64) * 2 - 1
    curve = torch.einsum("bik,iko->bio", bspline_basis(x, grid, k), coef)
    back = curve_to_coef(x, curve, grid, k)
    assert back.shape == coef.shape
    assert torch.allclose(back, coef, atol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: make_grid(2, 0, 3), "grid size G"),
        (lambda: make_grid(2, 5, 0), "spline order k"),
        (lambda: make_grid(2, 5, 3, (1.0, 1.0)), "low < high"),
        (lambda: bspline_basis(torch.zeros(5), make_grid(1, 5, 3), 3), "shape"),
        (lambda: bspline_basis(torch.zeros(5, 2), make_grid(1, 5, 3), 3), "n_in=2"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
