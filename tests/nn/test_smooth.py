"""The plain-torch forward pass equals the fast one and has correct second derivatives."""
from __future__ import annotations

import pytest
import torch

from kansr.nn import KAN
from kansr.nn._smooth import smooth_forward
from kansr.symbolic._snap import fix_symbolic


def _trained_like(width, k: int = 3, seed: int = 0, mult_arity: int = 2) -> KAN:
    model = KAN(width, grid=5, k=k, seed=seed, dtype=torch.float64, mult_arity=mult_arity)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # non-trivial splines, residual weights, biases and normalisation
        for layer in model.layers:
            layer.coef.normal_(0.0, 0.5, generator=gen)
            layer.scale_base.uniform_(-1.0, 1.0, generator=gen)
            layer.bias.normal_(0.0, 0.3, generator=gen)
        model.input_shift.fill_(0.2)
        model.input_scale.fill_(0.7)
        model.output_shift.fill_(-1.0)
        model.output_scale.fill_(3.0)
    return model


@pytest.mark.parametrize("width", [[2, 3, 1], [3, [2, 2], 1], [4, 5, 2]])
def test_values_equal_the_fast_path(width):
    model = _trained_like(width)
    x = torch.rand(300, model.width_in, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    torch.testing.assert_close(smooth_forward(model, x), model(x), rtol=1e-10, atol=1e-10)


def test_symbolic_edges_are_evaluated_too():
    model = _trained_like([2, 3, 1])
    fix_symbolic(model, 0, 1, 2, "sin", fit_params=False)
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    torch.testing.assert_close(smooth_forward(model, x), model(x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("k", [2, 3])
def test_hessian_matches_finite_differences_of_the_gradient(k):
    """The second derivative the fast path refuses (test_spline_kernel) is right here."""
    model = _trained_like([3, [3, 1], 1], k=k)
    x0 = torch.rand(20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 1.6 - 0.8

    def grad_at(x: torch.Tensor, create_graph: bool) -> torch.Tensor:
        return torch.autograd.grad(smooth_forward(model, x).sum(), x, create_graph=create_graph)[0]

    x = x0.clone().requires_grad_(True)
    g = grad_at(x, create_graph=True)
    hessian = torch.stack([torch.autograd.grad(g[:, j].sum(), x, retain_graph=True)[0] for j in range(3)], dim=2)
    h = 1e-6
    for j in range(3):
        step = torch.zeros(3, dtype=torch.float64)
        step[j] = h
        plus = grad_at((x0 + step).requires_grad_(True), create_graph=False)
        minus = grad_at((x0 - step).requires_grad_(True), create_graph=False)
        # Column j of the Hessian; a spline of order k has a continuous (k-1)-th derivative.
        torch.testing.assert_close(hessian[:, :, j], (plus - minus) / (2 * h), rtol=1e-4, atol=1e-5)
    assert hessian.abs().max() > 0.1  # curvature is there to be measured
