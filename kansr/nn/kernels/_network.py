"""A whole plain KAN as one autograd node on the compiled layer kernels.

A small model's training step is mostly fixed cost: per layer, a Python
call chain, an autograd ``Function``, a dozen tensor-to-array conversions
and a node for the autograd engine.  When every layer is numeric (no
symbolic edge, no multiplication node) with cubic splines on CPU, the model
runs instead as one ``Function`` whose forward and backward call the layer
kernels (:mod:`kansr.nn.kernels._jit`) in a loop, on array views of the
parameters kept between calls.  The arithmetic is the per-layer path's, so
the results are bit-identical to it.  Layers are read through their public
:meth:`~kansr.nn.KANLayer.kernel_state` only.
"""
from __future__ import annotations

import weakref

import torch
from torch.autograd.function import once_differentiable

from kansr.nn.kernels import _jit as spline_jit
from kansr.nn.kernels._tables import _use_jit

__all__ = ["network_forward"]


class _LayerPlan:
    """One layer's kernel inputs: its basis table arrays and array views of its
    tensors, built from the layer's :meth:`~kansr.nn.KANLayer.kernel_state`
    (and rebuilt when the layer returns another state)."""

    __slots__ = ("arrays", "code", "tensors", "views")

    def __init__(self, state) -> None:
        self.arrays = spline_jit.table_arrays_cached(state.table)
        self.code = state.residual_code
        self.tensors = (state.coef, state.scale_sp, state.scale_base, state.mask, state.bias)
        self.views = tuple(t.detach().numpy() for t in self.tensors)


def _eligible(model, states, x: torch.Tensor) -> bool:
    """Whether every layer can run on the kernels for inputs like ``x``: what
    the per-layer path asks of each layer (:func:`~kansr.nn.kernels._tables._use_jit`),
    and no multiplication node, no symbolic edge, contiguous CPU tensors."""
    for l, state in enumerate(states):
        tensors = (state.coef, state.scale_sp, state.scale_base, state.bias, state.mask)
        if (
            not _use_jit(x, state.coef, state.table)
            or model.widths[l + 1][1]
            or any(t.dtype != x.dtype or t.device.type != "cpu" or not t.is_contiguous() for t in tensors)
            or state.symbolic
        ):
            return False
    return True


# model -> (input kind, layer keys, plans or None); weak, so that it never keeps a model alive.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plans(model, x: torch.Tensor) -> tuple[list[_LayerPlan], tuple] | None:
    """The layer plans and the trainable tensors in ``_JitNetwork`` order when
    ``model`` can run as one node on ``x``, else None."""
    if not spline_jit.enabled():
        return None
    kind = (x.dtype, x.device.type, x.dim())  # what _eligible asks of the inputs
    # A layer returns the same state object while nothing the plans depend on
    # has changed (KernelState compares by identity).
    states = tuple(layer.kernel_state() for layer in model.layers._modules.values())
    cached = _CACHE.get(model)
    if cached is not None and cached[0] == kind and cached[1] == states:
        return cached[2]
    plans = None
    if _eligible(model, states, x):
        plans = [_LayerPlan(state) for state in states]
        params = tuple(t for plan in plans for t in (*plan.tensors[:3], plan.tensors[4]))  # coef, sp, base, bias
        plans = (plans, params)
    _CACHE[model] = (kind, states, plans)
    return plans


class _JitNetwork(torch.autograd.Function):
    """Forward and backward of all layers, one kernel call per layer and direction."""

    @staticmethod
    def forward(ctx, x, plans, save, *params):  # type: ignore[override]
        threads = torch.get_num_threads()
        h = x.detach().contiguous().numpy()
        inputs, per_sample, used = [], [], []
        for plan in plans:
            coef, scale_sp, scale_base, keep, bias = plan.views
            n = spline_jit.threads_for(h.shape[0] * coef.shape[0] * coef.shape[2], threads)
            y, saved = spline_jit.layer_forward(
                plan.arrays, h, coef, scale_sp, scale_base, keep, bias, plan.code, n, save
            )
            inputs.append(h)
            per_sample.append(saved)
            used.append(n)
            h = y
        ctx.plans, ctx.inputs, ctx.per_sample, ctx.threads = plans, inputs, per_sample, used
        # Saved so that autograd reports tensors modified in place before the backward pass.
        ctx.save_for_backward(x, *params)
        return torch.from_numpy(h)

    @staticmethod
    @once_differentiable  # its derivatives are computed without a graph: a second backward would be silently wrong
    def backward(ctx, grad_y):  # type: ignore[override]
        ctx.saved_tensors  # noqa: B018 - raises if an input changed since the forward pass
        g = grad_y.detach().contiguous().numpy()
        grads: list = []
        for l in range(len(ctx.plans) - 1, -1, -1):
            coef, scale_sp, scale_base, keep, _bias = ctx.plans[l].views
            need_x = l > 0 or bool(ctx.needs_input_grad[0])
            g_x, *g_params = spline_jit.layer_backward(
                ctx.plans[l].arrays, ctx.inputs[l], ctx.per_sample[l], coef, scale_sp, scale_base, keep,
                g, need_x, ctx.threads[l],
            )
            grads[:0] = [torch.from_numpy(a) for a in g_params]  # coef, scale_sp, scale_base, bias
            g = g_x
        grad_x = torch.from_numpy(g) if ctx.needs_input_grad[0] else None
        return (grad_x, None, None, *grads)


def network_forward(model, x: torch.Tensor) -> torch.Tensor | None:
    """``model``'s layers applied to the normalised inputs ``x`` as one autograd
    node, or None when the model needs the per-layer path (symbolic edges,
    multiplication nodes, another spline order, non-CPU tensors, ``KANSR_NUMBA=0``)."""
    found = _plans(model, x)
    if found is None:
        return None
    plans, params = found
    save = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params))
    return _JitNetwork.apply(x, plans, save, *params)
