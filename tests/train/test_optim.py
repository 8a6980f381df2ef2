import pytest
import torch

from kansr.nn import KAN
from kansr.train import make_optimizer
from kansr.train._optim import LeanAdam, lean_adam_supported

pytestmark = pytest.mark.skipif(
    not lean_adam_supported([torch.zeros(1)]), reason="this torch has no fused CPU Adam kernel"
)


def _grads(params, step, rng):
    """Gradients for ``step``: tensor 1 only from step 3 on, tensor 2 only before step 6."""
    for i, p in enumerate(params):
        skip = (i == 1 and step < 3) or (i == 2 and step >= 6)
        p.grad = None if skip else torch.randn(p.shape, generator=rng, dtype=p.dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lean_adam_matches_torch_fused_adam_bit_for_bit(dtype):
    shapes = [(3, 4), (5,), (2, 2, 2), ()]
    init = [torch.randn(s, generator=torch.Generator().manual_seed(i), dtype=dtype) for i, s in enumerate(shapes)]
    ours = [t.clone().requires_grad_() for t in init]
    ref = [t.clone().requires_grad_() for t in init]
    lean, torch_adam = LeanAdam(ours, lr=0.05), torch.optim.Adam(ref, lr=0.05, fused=True)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(lean, gamma=0.9)
    ref_scheduler = torch.optim.lr_scheduler.ExponentialLR(torch_adam, gamma=0.9)
    for step in range(10):
        for params, opt, sched in ((ours, lean, scheduler), (ref, torch_adam, ref_scheduler)):
            _grads(params, step, torch.Generator().manual_seed(step))
            opt.step()
            sched.step()
    assert all(torch.equal(a, b) for a, b in zip(ours, ref))
    counts = [float(lean.state[p]["step"]) for p in ours]
    assert counts == [10.0, 7.0, 6.0, 10.0]


def test_lean_adam_state_round_trips():
    params = [torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)]
    opt = LeanAdam(params, lr=0.1)
    for _ in range(3):
        for p in params:
            p.grad = torch.ones_like(p)
        opt.step()
    clone = [p.detach().clone().requires_grad_() for p in params]
    other = LeanAdam(clone, lr=0.1)
    other.load_state_dict(opt.state_dict())
    for group in (params, clone):
        for p in group:
            p.grad = torch.ones_like(p)
    opt.step()
    other.step()
    assert all(torch.equal(a, b) for a, b in zip(params, clone))


def test_fit_uses_lean_adam_on_cpu():
    model = KAN([2, 3, 1], seed=0)
    assert isinstance(make_optimizer("adam", model.parameters(), 1e-2), LeanAdam)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_lean_adam_zero_grad(set_to_none):
    params = [torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)]
    opt = LeanAdam(params, lr=0.1)
    (params[0].sum() * 2).backward()
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert params[0].grad is None
    else:
        assert torch.equal(params[0].grad, torch.zeros(3))
    assert params[1].grad is None


def test_lean_adam_refuses_a_second_parameter_group():
    opt = LeanAdam([torch.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="one parameter group"):
        opt.add_param_group({"params": [torch.zeros(3, requires_grad=True)]})
