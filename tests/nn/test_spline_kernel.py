"""The tables, the fused spline kernel and the compiled kernels agree with the
basis definition (kansr.nn._splines, itself checked against Cox--de Boor in
test_splines) and with autograd."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import kansr.nn.kernels._tables as kernel
from kansr.nn._residuals import RESIDUALS
from kansr.nn._splines import extend_grid, local_basis_values, make_grid
from kansr.nn.kernels._tables import build_table, dense_basis, fused_layer, local_basis


def _definition(x: torch.Tensor, grid: torch.Tensor, k: int) -> torch.Tensor:
    """The dense basis straight from the definition (de Boor), not through a table."""
    index, values = local_basis_values(x, grid, k)
    return values.new_zeros(*x.shape, grid.shape[1] - k - 1).scatter_add_(2, index, values)


def _grid(n_in: int, G: int, k: int, uniform: bool, seed: int = 0) -> torch.Tensor:
    if uniform:
        return make_grid(n_in, G, k, (-1.0, 1.0), torch.float64)
    gen = torch.Generator().manual_seed(seed)
    core = torch.sort(torch.rand(n_in, G + 1, generator=gen, dtype=torch.float64) * 2 - 1, dim=1).values
    return extend_grid(core, k)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("uniform", [True, False])
def test_table_basis_and_derivative_match_the_definition(k, uniform):
    grid = _grid(3, 7, k, uniform)
    table = build_table(grid, k)
    assert table.uniform == uniform
    # Points well outside the extended grid too: the basis is zero there.
    x = torch.rand(400, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 4 - 2
    basis, deriv = dense_basis(table, x, with_derivative=True)
    assert torch.allclose(basis, _definition(x, grid, k), atol=1e-12)
    h = 1e-6
    fd = (_definition(x + h, grid, k) - _definition(x - h, grid, k)) / (2 * h)
    near_knot = (x.unsqueeze(-1) - grid.unsqueeze(0)).abs().min(-1).values < 1e-5
    assert torch.allclose(deriv[~near_knot], fd[~near_knot], atol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_small_and_large_batch_paths_agree(k, monkeypatch):
    table = build_table(_grid(3, 6, k, uniform=True), k)
    x = torch.rand(6000, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 2.2 - 1.1
    assert x.numel() > kernel._SMALL_BATCH  # the default call takes the large-batch path
    large = local_basis(table, x, with_derivative=True)
    monkeypatch.setattr(kernel, "_SMALL_BATCH", 10**9)
    small = local_basis(table, x, with_derivative=True)
    assert torch.equal(large[0], small[0])
    assert torch.allclose(large[1], small[1], atol=1e-14) and torch.allclose(large[2], small[2], atol=1e-12)


@pytest.fixture(params=["compiled", "tensor"])
def backend(request, monkeypatch):
    """Run a test on the numba kernels and on the tensor path (``KANSR_NUMBA=0``)."""
    monkeypatch.setenv("KANSR_NUMBA", "1" if request.param == "compiled" else "0")
    return request.param


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("base", ["silu", "tanh", "identity"])
@pytest.mark.parametrize("k", [3, 2])  # k=2 takes the tensor path on either backend
def test_fused_layer_values_and_gradients(n_out, uniform, base, k, backend):
    n_in, G = 3, 7
    grid = _grid(n_in, G, k, uniform, seed=3)
    table = build_table(grid, k)
    gen = torch.Generator().manual_seed(4)
    x = (torch.rand(40, n_in, dtype=torch.float64, generator=gen) * 2.4 - 1.2).requires_grad_()
    coef = torch.randn(n_in, G + k, n_out, dtype=torch.float64, generator=gen).requires_grad_()
    w_s = torch.randn(n_in, n_out, dtype=torch.float64, generator=gen).requires_grad_()
    w_b = torch.randn(n_in, n_out, dtype=torch.float64, generator=gen).requires_grad_()
    bias = torch.randn(n_out, dtype=torch.float64, generator=gen).requires_grad_()
    keep = (torch.rand(n_in, n_out, generator=gen) > 0.3).double()

    def layer(x, coef, w_s, w_b, bias):
        return fused_layer(x, coef, w_s, w_b, bias, keep, table, base)

    base_fn = RESIDUALS[base].value
    expected = (
        bias
        + base_fn(x) @ (w_b * keep)
        + _definition(x, grid, k).reshape(40, -1) @ (coef * (w_s * keep).unsqueeze(1)).reshape(-1, n_out)
    )
    assert torch.allclose(layer(x, coef, w_s, w_b, bias), expected, atol=1e-12)
    assert torch.autograd.gradcheck(layer, (x, coef, w_s, w_b, bias))


@pytest.mark.parametrize("k", [3, 2])
def test_second_derivatives_are_refused_not_silently_wrong(k, backend):
    """The layers' backward passes compute derivatives without a graph: a Hessian through them
    would miss the splines' curvature (measured: off by 2.6 on a [2, 3, 1] network), so it must raise."""
    from kansr.nn import KAN

    model = KAN([2, 3, 1], grid=5, k=k, seed=0, dtype=torch.float64)
    x = torch.rand(7, 2, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(grad[:, 0].sum(), x)


@pytest.mark.parametrize("n_out", [1, 3])
def test_non_finite_input_gives_non_finite_output_not_an_error(backend, n_out):
    table = build_table(make_grid(2, 5, 3), 3)
    x = torch.tensor([[0.1, float("nan")], [float("inf"), 0.2], [0.3, -0.4]], requires_grad=True)
    coef = torch.ones(2, 8, n_out, requires_grad=True)
    ones = torch.ones(2, n_out)
    y = fused_layer(x, coef, ones, ones, torch.zeros(n_out), ones, table, "silu")
    assert y.shape == (3, n_out)
    assert torch.isnan(y[0]).all()  # NaN propagates
    assert not torch.isfinite(y[1]).any()
    y[2].sum().backward()  # the finite sample's own gradient stays finite
    assert torch.isfinite(x.grad[2]).all()


_THREAD_CHECK = """
import sys, torch
from kansr.nn.kernels._tables import build_table, fused_layer
from kansr.nn._splines import extend_grid, make_grid

def run(threads, backend_env):
    import os
    os.environ["KANSR_NUMBA"] = backend_env
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(6)
    n_in, n_out, G, k = 4, 5, 6, 3
    if sys.argv[1] == "uniform":
        grid = make_grid(n_in, G, k, (-1.0, 1.0), torch.float64)
    else:
        core = torch.sort(torch.rand(n_in, G + 1, generator=gen, dtype=torch.float64) * 2 - 1, dim=1).values
        grid = extend_grid(core, k)
    table = build_table(grid, k)
    x = (torch.rand(5000, n_in, dtype=torch.float64, generator=gen) * 2.4 - 1.2).requires_grad_()
    ps = [torch.randn(*shape, dtype=torch.float64, generator=gen).requires_grad_()
          for shape in ((n_in, G + k, n_out), (n_in, n_out), (n_in, n_out), (n_out,))]
    keep = torch.ones(n_in, n_out, dtype=torch.float64)
    weight = torch.randn(5000, n_out, dtype=torch.float64, generator=gen)
    y = fused_layer(x, *ps[:3], ps[3], keep, table, "silu")
    return [y.detach(), *torch.autograd.grad((y * weight).sum(), [x, *ps])]

two, one, tensor = run(2, "1"), run(1, "1"), run(2, "0")
for a, b, c in zip(tensor, one, two):
    assert torch.allclose(a, b, rtol=1e-10, atol=1e-10), (a - b).abs().max()
    assert torch.equal(b, c)
print("ok")
"""


@pytest.mark.parametrize("grid", ["uniform", "non-uniform"])
def test_compiled_kernels_match_tensor_code_and_ignore_thread_count(grid):
    """Large batches (the parallel path) give the tensor path's values and
    gradients, and bit-identical results on one thread and on two.  Run in a
    fresh process: numba's pool is sized once per process (see kansr.nn.kernels._jit._load)."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, "-c", _THREAD_CHECK, grid], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.parametrize("uniform", [True, False])
def test_layer_is_exact_at_the_knots_and_ends_of_the_grid(uniform, backend):
    """Samples on every knot, just inside and just outside the extended grid."""
    n_in, G, k, n_out = 2, 5, 3, 2
    grid = _grid(n_in, G, k, uniform, seed=7)
    table = build_table(grid, k)
    tiny = 1e-9
    cols = [torch.cat([g, g + tiny, g - tiny]) for g in grid]
    x = torch.stack(cols, dim=1)
    gen = torch.Generator().manual_seed(8)
    coef = torch.randn(n_in, G + k, n_out, dtype=torch.float64, generator=gen)
    ones = torch.ones(n_in, n_out, dtype=torch.float64)
    y = fused_layer(x, coef, ones, ones * 0, torch.zeros(n_out, dtype=torch.float64), ones, table, "silu")
    expected = _definition(x, grid, k).reshape(len(x), -1) @ coef.reshape(-1, n_out)
    assert torch.allclose(y, expected, atol=1e-7)


def test_closed_form_uniform_pieces_match_the_table():
    """The compiled kernels' closed-form uniform cubic pieces are the table's cardinal polynomials."""
    import numpy as np

    from kansr.nn.kernels import _jit, _numba

    table = build_table(make_grid(1, 7, 3, (-1.0, 1.0), torch.float64), 3)
    assert table.uniform
    consts = np.array(_jit._CONSTANTS)
    for s in np.linspace(0.0, 1.0, 41, endpoint=False):
        values = [sum(c * s**p for p, c in enumerate(slot)) for slot in table.uniform_poly]
        slopes = [sum(c * s**p for p, c in enumerate(slot)) for slot in table.uniform_dpoly]
        np.testing.assert_allclose(_numba._cardinal3(s, consts), values, rtol=0, atol=1e-14)
        np.testing.assert_allclose(_numba._cardinal3_ds(s, consts), slopes, rtol=0, atol=1e-13)
