"""Compiled (numba) forward and backward passes of a numeric KAN layer.

A layer's spline term is ``y[b, o] = sum_i sum_m B_m(x[b, i]) * C[i, j(b,i)+m, o]``
where only the ``k + 1`` basis functions of the knot interval ``j`` that holds
``x[b, i]`` are non-zero.  Tensor code has to materialise those local values
(and their indices) as ``(batch, n_in, k+1)`` arrays and then gather, multiply
and reduce them in separate passes, each a full trip through memory and a
dispatch through the framework.  Here one loop per sample finds the interval,
evaluates the four cubic pieces of the
:class:`~kansr.nn.kernels._tables.SplineTable` (on a uniform grid the closed
form of its cardinal polynomials, elsewhere the row of the interval), adds the residual function
(by its code in :data:`kansr.nn._residuals.RESIDUALS`) and the bias, and
accumulates straight into the output, so a layer costs one pass over its
inputs in each direction.

When a backward pass will follow, the forward kernel also saves, per sample
and input, the interval, the local variable, ``b(x)`` and ``b'(x)``: the
backward kernel then needs no exponential and no interval search (1.05x to
1.3x per layer, forward and backward together).

The backward kernel accumulates the coefficient gradient per block of samples
(a fixed number of blocks, independent of the thread count) and the blocks are
summed in order, so results are reproducible on any number of threads.

Everything here is private to :mod:`kansr.nn.kernels._tables` and
:mod:`kansr.nn.kernels._network`, which take the tensor code instead when
``KANSR_NUMBA=0`` is set (the tests compare the two paths that way).
"""
from __future__ import annotations

import os
import threading

import numpy as np

__all__ = [
    "enabled", "layer_backward", "layer_forward", "n_blocks", "table_arrays", "table_arrays_cached", "threads_for",
]

# Below this much work per call (samples * inputs * outputs) one block on the
# calling thread wins: waking the thread pool costs more than it saves.
_PARALLEL_WORK = 4_000
# Samples per block of the backward reduction (and an upper bound on blocks).
_BLOCK = 128
_MAX_BLOCKS = 8
# The numbers the kernels use, in the data's dtype: 0 and 1, then the
# coefficients of the closed-form uniform cubic pieces (kansr.nn.kernels._numba._cardinal3).
_CONSTANTS = (0.0, 1.0, 1.0 / 6.0, 2.0 / 3.0, 0.5, 1.5, 2.0)
_kernels = None  # the module kansr.nn.kernels._numba, once loaded
_thread_state = threading.local()


def table_arrays(table) -> tuple:
    """A cubic :class:`~kansr.nn.kernels._tables.SplineTable` as the arrays the kernels take."""
    if table.k != 3:
        raise ValueError(f"the compiled kernels serve cubic splines (k=3) only, got k={table.k}")
    rows = table.rows.numpy()
    if table.uniform:
        origin_shift, inv_step = table.origin_shift.numpy(), table.inv_step.numpy()
    else:
        origin_shift = inv_step = np.zeros(1, dtype=rows.dtype)
    consts = np.array(_CONSTANTS, dtype=rows.dtype)  # in the data's dtype (see kansr.nn.kernels._numba)
    return (table.grid.numpy(), table.uniform, origin_shift, inv_step, rows, table.start.numpy(), consts)


def table_arrays_cached(table) -> tuple:
    """:func:`table_arrays`, built once per table and kept on it."""
    arrays = table.jit_arrays
    if arrays is None:
        arrays = table_arrays(table)
        object.__setattr__(table, "jit_arrays", arrays)  # a cache field of a frozen dataclass
    return arrays


def enabled() -> bool:
    """Whether the compiled kernels are used: unless ``KANSR_NUMBA=0`` is set."""
    return os.environ.get("KANSR_NUMBA", "1") != "0"


def _load():
    """Import the compiled kernels (numba compiles or loads them from its cache on first use).

    numba's thread pool is numba's: its size comes from ``NUMBA_NUM_THREADS``
    (default: one per core) and kansr never changes it.  Each kernel call
    uses at most torch's intra-op thread count of the calling thread (see
    :func:`threads_for`), so a process that runs torch on one thread does not
    compete with other processes for the cores.
    """
    global _kernels
    if _kernels is None:
        import numba
        import torch

        from kansr.nn.kernels import _numba as _numba_layer

        # Starting numba's OpenMP pool sets the OpenMP thread count, which torch shares
        # (one libgomp per process), to NUMBA_NUM_THREADS: a caller's
        # torch.set_num_threads(1) was silently undone, and two benchmark workers ran
        # two threads each, spinning against each other (4-30x slower steps, measured).
        threads = torch.get_num_threads()
        numba.get_num_threads()  # starts the pool now rather than inside a kernel call
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        _kernels = _numba_layer
    return _kernels


def n_blocks(batch: int) -> int:
    """Number of sample blocks of the backward reduction: a power of two (an
    even load on two or four threads) that depends on the batch size only."""
    blocks = 1
    while blocks < _MAX_BLOCKS and 2 * blocks * _BLOCK <= batch:
        blocks *= 2
    return blocks


def threads_for(work: int, threads: int) -> int:
    """Threads for a kernel call of ``work`` (samples * inputs * outputs), at most ``threads``."""
    if work < _PARALLEL_WORK:
        return 1
    _load()
    import numba

    return max(1, min(threads, numba.config.NUMBA_NUM_THREADS))


def _set_threads(threads: int) -> None:
    """Make numba's next parallel region use ``threads`` threads."""
    import numba

    # numba's setting is per calling thread; skip the call when it would not change it.
    if getattr(_thread_state, "threads", None) != threads:
        numba.set_num_threads(threads)
        _thread_state.threads = threads


def layer_forward(table, x, coef, scale_sp, scale_base, keep, bias, code, threads, save=False):
    """A whole numeric layer, ``(batch, n_out)``; arrays are numpy, ``table`` from :func:`table_arrays`.

    ``bias + b(x) @ (scale_base*keep) + basis(x) @ (coef * scale_sp*keep)``
    with ``coef`` of shape ``(n_in, n_basis, n_out)`` and ``code`` selecting
    ``b`` (:attr:`kansr.nn._residuals.Residual.code`).

    ``threads`` is the count to run on, from :func:`threads_for`.
    Returns ``(out, saved)``: with ``save``, ``saved`` holds per sample and
    input the interval slot, table row, local variable, ``b(x)`` and
    ``b'(x)`` for :func:`layer_backward`; otherwise it is None.
    """
    batch, n_in = x.shape
    dtype = coef.dtype
    out = np.empty((batch, coef.shape[2]), dtype=dtype)
    shape = (batch, n_in) if save else (0, 0)
    saved = (np.empty(shape, np.int32), np.empty(shape, np.int32), np.empty(shape, dtype),
             np.empty(shape, dtype), np.empty(shape, dtype))
    kernels = _load()
    _set_threads(threads)
    blocks = 1 if threads == 1 else max(1, min(threads, batch // 64))
    kernel = kernels.forward1_kernel if coef.shape[2] == 1 else kernels.forward_kernel
    kernel(x, *table, coef, scale_sp, scale_base, keep, bias, code, out, blocks, save, *saved)
    return out, (saved if save else None)


def layer_backward(table, x, saved, coef, scale_sp, scale_base, keep, grad_y, need_x, threads):
    """Gradients of :func:`layer_forward` with respect to
    ``x`` (None unless ``need_x``), ``coef``, ``scale_sp``, ``scale_base`` and ``bias``;
    ``saved`` is what the forward pass saved for these inputs."""
    batch, n_in = x.shape
    dtype = coef.dtype
    grads = (
        np.empty((batch, n_in) if need_x else (0, 0), dtype=dtype),
        np.empty_like(coef),
        np.empty_like(scale_sp),
        np.empty_like(scale_base),
        np.empty(coef.shape[2], dtype=dtype),
    )
    kernels = _load()
    _set_threads(threads)
    _knots, _uniform, _origin, inv_step, rows, _start, consts = table
    kernel = kernels.backward1_kernel if coef.shape[2] == 1 else kernels.backward_kernel
    kernel(x, *saved, inv_step, rows, consts, coef, scale_sp, scale_base, keep, grad_y, need_x,
           n_blocks(batch), *grads)
    return (grads[0] if need_x else None,) + grads[1:]
