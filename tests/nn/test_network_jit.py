"""The whole-model kernel path (kansr.nn.kernels._network) against the per-layer path."""
import numpy as np
import pytest
import torch

from kansr.nn import KAN
from kansr.nn.kernels import _jit as spline_jit
from kansr.nn.kernels._network import network_forward
from kansr.symbolic import fix_symbolic

pytestmark = pytest.mark.skipif(not spline_jit.enabled(), reason="KANSR_NUMBA=0 switches the compiled kernels off")


def _layer_by_layer(model, x):
    """The per-layer path: each layer's own compiled kernels, one autograd node per layer."""
    h = x
    for layer in model.layers:
        h = layer(h)
    return h


def _outputs_and_grads(model, x, run):
    for p in model.parameters():
        p.grad = None
    out = run(model, x)
    (out * torch.linspace(-1, 2, out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
    return out.detach().clone(), [p.grad.clone() for p in model.parameters() if p.grad is not None], x.grad.clone()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("width", [[2, 5, 1], [3, 4, 2], [4, 8, 8, 1]])
def test_one_node_is_bit_identical_to_layer_by_layer(width, dtype):
    model = KAN(width, grid=6, seed=1, dtype=dtype)
    x = (torch.rand(300, width[0], generator=torch.Generator().manual_seed(0), dtype=dtype) * 2.4 - 1.2)
    x.requires_grad_()
    fused = _outputs_and_grads(model, x, network_forward)
    x.grad = None
    layered = _outputs_and_grads(model, x, _layer_by_layer)
    assert torch.equal(fused[0], layered[0])
    assert len(fused[1]) == len(layered[1]) == 4 * len(model.layers)
    assert all(torch.equal(a, b) for a, b in zip(fused[1], layered[1]))
    assert torch.equal(fused[2], layered[2])
    assert model(x).grad_fn is not None and "JitNetwork" in type(model(x).grad_fn).__name__


def test_changes_to_the_model_are_seen(rng):
    model = KAN([2, 4, 1], grid=5, seed=0, dtype=torch.float64)
    X = rng.uniform(-1, 1, (200, 2))
    x = torch.as_tensor(X)

    def agree():
        with torch.no_grad():
            return torch.equal(network_forward(model, x), _layer_by_layer(model, x))

    assert agree()
    model.update_grid(X * 1.5, tolerance=None)  # new grids and coefficients
    assert agree()
    model.refine(8, X)  # new coefficient Parameters of another shape
    assert agree()
    with torch.no_grad():
        model.layers[0].mask[1, 2] = 0.0  # pruning edits the mask in place
        model.layers[1].coef.mul_(0.5)  # optimisers edit parameters in place
    assert agree()
    state = {k: v.clone() * 1.1 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert agree()


def test_models_the_kernels_cannot_run_take_the_layer_path(rng):
    X = rng.uniform(-1, 1, (50, 2))
    model = KAN([2, 3, 1], seed=0, dtype=torch.float64)
    assert network_forward(model, torch.as_tensor(X)) is not None
    fix_symbolic(model, 0, 0, 1, "sin", X=X)
    assert network_forward(model, torch.as_tensor(X)) is None  # a symbolic edge
    assert np.isfinite(model.predict(X)).all()
    assert network_forward(KAN([2, [1, 1], 1], seed=0), torch.zeros(3, 2)) is None  # a multiplication node
    assert network_forward(KAN([2, 3, 1], k=2, seed=0), torch.zeros(3, 2)) is None  # not cubic
    assert network_forward(KAN([2, 3, 1], seed=0), torch.zeros(3, 2, dtype=torch.float64)) is None  # dtypes differ


def test_editing_a_parameter_between_forward_and_backward_is_reported():
    model = KAN([2, 3, 1], seed=0)
    out = model(torch.rand(10, 2))
    with torch.no_grad():
        model.layers[0].coef.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_kernel_state_is_reused_until_the_layer_changes(rng):
    model = KAN([2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    layer = model.layers[0]
    state = layer.kernel_state()
    assert layer.kernel_state() is state
    assert state.coef is layer.coef and state.mask is layer.mask and not state.symbolic
    with torch.no_grad():
        layer.coef.mul_(0.5)  # values edited in place: the state holds the tensor itself
    assert layer.kernel_state() is state
    model.update_grid(rng.uniform(-1, 1, (100, 2)), tolerance=None)
    assert layer.kernel_state() is not state and layer.kernel_state().table is not state.table
    fix_symbolic(model, 0, 0, 1, "sin", X=rng.uniform(-1, 1, (100, 2)))
    assert layer.kernel_state().symbolic
