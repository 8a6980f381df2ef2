import pytest
import torch

from kansr.nn import KANLayer
from kansr.nn._splines import extend_grid, local_basis_values, make_grid
from kansr.nn.kernels._tables import bspline_basis, build_table, curve_to_coef, dense_basis, local_basis


def cox_de_boor(x: torch.Tensor, grid: torch.Tensor, k: int) -> torch.Tensor:
    """Test oracle: the textbook Cox--de Boor recursion over the whole grid, (batch, n_in, G+k)."""
    xg = x.unsqueeze(-1)
    t = grid.to(x.dtype).unsqueeze(0)
    basis = ((xg >= t[:, :, :-1]) & (xg < t[:, :, 1:])).to(x.dtype)
    for d in range(1, k + 1):
        left = (xg - t[:, :, : -(d + 1)]) / (t[:, :, d:-1] - t[:, :, : -(d + 1)])
        right = (t[:, :, d + 1 :] - xg) / (t[:, :, d + 1 :] - t[:, :, 1:-d])
        basis = left * basis[:, :, :-1] + right * basis[:, :, 1:]
    return basis


def _grids(k, dtype):
    gen = torch.Generator().manual_seed(1)
    core = torch.sort(torch.rand(3, 8, generator=gen, dtype=dtype) * 2 - 1, dim=1).values
    return [make_grid(3, 7, k, dtype=dtype), extend_grid(core, k)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_definition_and_table_basis_match_cox_de_boor(k, dtype):
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(400, 3, generator=gen, dtype=dtype) * 3 - 1.5)  # also outside the grid
    for grid in _grids(k, dtype):
        ref = cox_de_boor(x, grid, k)
        n_basis = grid.shape[1] - k - 1
        index, values = local_basis_values(x, grid, k)
        definition = values.new_zeros(400, 3, n_basis).scatter_add_(2, index, values)
        fast = bspline_basis(x, grid, k)
        assert fast.dtype == dtype and fast.shape == (400, 3, n_basis)
        tol = 1e-6 if dtype == torch.float32 else 1e-13
        assert torch.allclose(definition, ref, atol=tol)
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
    _, deriv = dense_basis(build_table(grid, k), xd, with_derivative=True)
    assert torch.allclose(fd, deriv, atol=1e-5)


def test_curve_to_coef_reproduces_a_spline():
    k, grid = 3, make_grid(2, 10, 3, dtype=torch.float64)
    coef = torch.randn(2, 13, 4, dtype=torch.float64)
    x = torch.rand(500, 2, dtype=torch.float64) * 2 - 1
    curve = torch.einsum("bik,iko->bio", bspline_basis(x, grid, k), coef)
    back = curve_to_coef(x, curve, grid, k)
    assert back.shape == coef.shape
    assert torch.allclose(back, coef, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_grid_updates_and_training_evaluate_the_same_basis(dtype, monkeypatch):
    """The basis the grid update fits with (bspline_basis, as curve_to_coef and
    update_grid call it) is bit for bit the basis of the layer's forward pass,
    on the initial uniform grid and on the non-uniform grid an update leaves."""
    torch.manual_seed(0)
    layer = KANLayer(3, 2, G=6, k=3, dtype=dtype)
    with torch.no_grad():
        layer.coef.normal_()
    x = torch.rand(500, 3, dtype=dtype) * 2.4 - 1.2
    for _ in range(2):
        table = layer.kernel_state().table
        assert torch.equal(bspline_basis(x, layer.grid, layer.k), dense_basis(table, x)[0])
        # The forward's own local values (tensor path) scatter to that basis too.
        index, vals, _ = local_basis(table, x)
        forward = vals.new_zeros(500, 3, table.n_basis).scatter_add_(2, index, vals)
        assert torch.equal(forward, bspline_basis(x, layer.grid, layer.k))
        layer.update_grid(x**3, tolerance=None)
    assert not layer.kernel_state().table.uniform

    # update_grid evaluates the old and the new grid through bspline_basis only.
    import kansr.nn._layer as layer_module

    seen = []

    def spy(x, grid, k):
        seen.append(grid)
        return bspline_basis(x, grid, k)

    monkeypatch.setattr(layer_module, "bspline_basis", spy)
    import kansr.nn.kernels._tables as tables

    monkeypatch.setattr(tables, "bspline_basis", spy)
    layer.update_grid(x, tolerance=0.1)
    assert len(seen) >= 3  # the old curves, the candidate's fit and its check


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
