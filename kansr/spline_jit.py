"""Compiled (numba) kernels for the spline part of a KAN layer.

A layer's spline term is ``y[b, o] = sum_i sum_m B_m(x[b, i]) * C[i, j(b,i)+m, o]``
where only the ``k + 1`` basis functions of the knot interval ``j`` that holds
``x[b, i]`` are non-zero.  Tensor code has to materialise those local values
(and their indices) as ``(batch, n_in, k+1)`` arrays and then gather, multiply
and reduce them in separate passes, each a full trip through memory and a
dispatch through the framework.  Here one loop per sample finds the interval,
evaluates the ``k + 1`` polynomials of :class:`~kansr.spline_kernel.SplineTable`
and accumulates straight into the output, so a layer costs one pass over its
inputs in both directions.

The backward kernel accumulates the coefficient gradient per block of samples
(a fixed number of blocks, independent of the thread count) and the blocks are
summed in order, so results are reproducible on any number of threads.

Everything here is private to :mod:`kansr.spline_kernel`, which falls back to
tensor code when numba is not installed or ``KANSR_NUMBA=0`` is set.
"""
from __future__ import annotations

import math
import os

import numpy as np

try:  # numba is a declared dependency; the guard keeps kansr usable without it
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

__all__ = ["BASE_CODES", "available", "n_blocks", "spline_backward", "spline_forward"]

# Residual functions the kernels evaluate themselves.
BASE_CODES = {"zero": 0, "identity": 1, "silu": 2, "tanh": 3}

# Below this much work per call (samples * inputs * outputs) the serial kernel
# wins: waking the thread pool costs more than it saves.
_PARALLEL_WORK = 20_000
# Samples per block of the backward reduction (and an upper bound on blocks).
_BLOCK = 256
_MAX_BLOCKS = 8
# Fused multiply-add and reassociation (vectorised sums) but no assumption of
# finite values: NaN inputs must still give NaN outputs.
_FASTMATH = {"contract", "reassoc", "arcp"}


def available() -> bool:
    """Whether the compiled kernels can be used in this process."""
    return numba is not None and os.environ.get("KANSR_NUMBA", "1") != "0"


def n_blocks(batch: int) -> int:
    """Number of sample blocks of the backward reduction (thread-independent)."""
    return max(1, min(_MAX_BLOCKS, batch // _BLOCK))


if numba is not None:

    @njit(inline="always", cache=True)
    def _interval(xv, i, knots, uniform, origin_shift, inv_step, n_int):
        """Knot interval of ``xv`` on input ``i``'s grid, -1 outside (or NaN)."""
        if uniform:
            u = xv * inv_step[i] + origin_shift[i]
            if not (u >= 0.0 and u < n_int):
                return -1
            j = int(u)  # u >= 0: truncation is the floor
            return j if j < n_int else n_int - 1
        if not (xv >= knots[i, 0] and xv < knots[i, n_int]):
            return -1
        lo = 0
        hi = n_int  # knots[lo] <= xv < knots[hi]
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if knots[i, mid] <= xv:
                lo = mid
            else:
                hi = mid
        return lo

    @njit(inline="always", cache=True)
    def _base(xv, code):
        """Residual function ``b(x)`` (codes in ``BASE_CODES``)."""
        if code == 2:
            return xv / (1.0 + math.exp(-xv))
        if code == 1:
            return xv
        if code == 3:
            return math.tanh(xv)
        return 0.0 * xv

    @njit(inline="always", cache=True)
    def _base_and_grad(xv, code):
        """``b(x)`` and ``b'(x)`` (one exponential for SiLU)."""
        if code == 2:
            sig = 1.0 / (1.0 + math.exp(-xv))
            return xv * sig, sig * (1.0 + xv * (1.0 - sig))
        if code == 1:
            return xv, 1.0
        if code == 3:
            t = math.tanh(xv)
            return t, 1.0 - t * t
        return 0.0 * xv, 0.0

    # The kernels serve cubic splines (k = 3, the default) only, with the four
    # basis polynomials written out: with the order known when compiling, the
    # values stay in registers.  A loop over a run-time k with a scratch array
    # measured 3x slower.
    @njit(inline="always", cache=True)
    def _values3(rows, r, s):
        v0 = ((rows[r, 14] * s + rows[r, 10]) * s + rows[r, 6]) * s + rows[r, 2]
        v1 = ((rows[r, 15] * s + rows[r, 11]) * s + rows[r, 7]) * s + rows[r, 3]
        v2 = ((rows[r, 16] * s + rows[r, 12]) * s + rows[r, 8]) * s + rows[r, 4]
        v3 = ((rows[r, 17] * s + rows[r, 13]) * s + rows[r, 9]) * s + rows[r, 5]
        return v0, v1, v2, v3

    @njit(inline="always", cache=True)
    def _derivs3(rows, r, s):
        d0 = (rows[r, 26] * s + rows[r, 22]) * s + rows[r, 18]
        d1 = (rows[r, 27] * s + rows[r, 23]) * s + rows[r, 19]
        d2 = (rows[r, 28] * s + rows[r, 24]) * s + rows[r, 20]
        d3 = (rows[r, 29] * s + rows[r, 25]) * s + rows[r, 21]
        return d0, d1, d2, d3

    def _forward_impl(x, knots, uniform, origin_shift, inv_step, rows, start, k, coef, w_b, bias, code, out, blocks):
        batch, n_in = x.shape
        n_out = coef.shape[2]
        n_int = knots.shape[1] - 1
        step = (batch + blocks - 1) // blocks
        for blk in prange(blocks):
            for b in range(blk * step, min(batch, (blk + 1) * step)):
                for o in range(n_out):
                    out[b, o] = bias[o]
                for i in range(n_in):
                    xv = x[b, i]
                    if math.isnan(xv):
                        for o in range(n_out):
                            out[b, o] = xv
                        continue
                    bv = _base(xv, code)
                    for o in range(n_out):
                        out[b, o] += bv * w_b[i, o]
                    j = _interval(xv, i, knots, uniform, origin_shift, inv_step, n_int)
                    if j < 0:
                        continue
                    r = i * (n_int + 1) + j
                    v0, v1, v2, v3 = _values3(rows, r, xv * rows[r, 1] + rows[r, 0])
                    st = start[r]
                    for o in range(n_out):
                        out[b, o] += (
                            v0 * coef[i, st, o] + v1 * coef[i, st + 1, o]
                            + v2 * coef[i, st + 2, o] + v3 * coef[i, st + 3, o]
                        )

    def _backward_impl(
        x, knots, uniform, origin_shift, inv_step, rows, start, k, coef, w_b, code, grad_y, need_x, grad_x,
        part_coef, part_wb, part_bias,
    ):
        batch, n_in = x.shape
        n_out = coef.shape[2]
        n_int = knots.shape[1] - 1
        blocks = part_coef.shape[0]
        step = (batch + blocks - 1) // blocks
        for blk in prange(blocks):
            acc = part_coef[blk]
            acc_wb = part_wb[blk]
            acc_bias = part_bias[blk]
            for b in range(blk * step, min(batch, (blk + 1) * step)):
                for o in range(n_out):
                    acc_bias[o] += grad_y[b, o]
                for i in range(n_in):
                    xv = x[b, i]
                    if math.isnan(xv):
                        if need_x:
                            grad_x[b, i] = xv
                        continue
                    bv, bd = _base_and_grad(xv, code)
                    gx = 0.0
                    for o in range(n_out):
                        acc_wb[i, o] += bv * grad_y[b, o]
                        gx += w_b[i, o] * grad_y[b, o]
                    gx *= bd
                    j = _interval(xv, i, knots, uniform, origin_shift, inv_step, n_int)
                    if j >= 0:
                        r = i * (n_int + 1) + j
                        s = xv * rows[r, 1] + rows[r, 0]
                        v0, v1, v2, v3 = _values3(rows, r, s)
                        st = start[r]
                        if need_x:
                            d0, d1, d2, d3 = _derivs3(rows, r, s)
                            for o in range(n_out):
                                g = grad_y[b, o]
                                acc[i, st, o] += v0 * g
                                acc[i, st + 1, o] += v1 * g
                                acc[i, st + 2, o] += v2 * g
                                acc[i, st + 3, o] += v3 * g
                                gx += g * (
                                    d0 * coef[i, st, o] + d1 * coef[i, st + 1, o]
                                    + d2 * coef[i, st + 2, o] + d3 * coef[i, st + 3, o]
                                )
                        else:
                            for o in range(n_out):
                                g = grad_y[b, o]
                                acc[i, st, o] += v0 * g
                                acc[i, st + 1, o] += v1 * g
                                acc[i, st + 2, o] += v2 * g
                                acc[i, st + 3, o] += v3 * g
                    if need_x:
                        grad_x[b, i] = gx

    # numba optimises the outlined body of a parallel loop much better than the
    # same loop compiled serially (2.4x on one thread, measured), so there is
    # only a parallel entry point; one block means one thread.
    _forward_kernel = njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)(_forward_impl)
    _backward_kernel = njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)(_backward_impl)

def _check_order(k: int) -> None:
    if k != 3:
        raise ValueError(f"the compiled kernels serve cubic splines (k=3) only, got k={k}")


def _set_threads(threads: int) -> None:
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def spline_forward(x, knots, uniform, origin_shift, inv_step, rows, start, k, coef, w_b, bias, code, threads):
    """A whole numeric layer, ``(batch, n_out)``; all arguments are numpy arrays.

    ``bias + b(x) @ w_b + spline(x)``, where ``coef`` (``n_in, n_basis, n_out``)
    and ``w_b`` (``n_in, n_out``) already carry the edge weights and mask, and
    ``code`` selects ``b`` (see ``BASE_CODES``).
    """
    _check_order(k)
    batch = x.shape[0]
    out = np.empty((batch, coef.shape[2]), dtype=coef.dtype)
    small = batch * x.shape[1] * coef.shape[2] < _PARALLEL_WORK
    blocks = 1 if small or threads <= 1 else max(1, min(threads, batch // 64))
    _set_threads(threads)
    _forward_kernel(x, knots, uniform, origin_shift, inv_step, rows, start, k, coef, w_b, bias, code, out, blocks)
    return out


def spline_backward(x, knots, uniform, origin_shift, inv_step, rows, start, k, coef, w_b, code, grad_y, need_x, threads):
    """Gradients of :func:`spline_forward`.

    Returns
    -------
    d_coef : (n_in, n_basis, n_out)
    d_w_b : (n_in, n_out)
    d_bias : (n_out,)
    d_x : (batch, n_in), or None when ``need_x`` is false
    """
    _check_order(k)
    batch, n_in = x.shape
    blocks = n_blocks(batch)
    part_coef = np.zeros((blocks,) + coef.shape, dtype=coef.dtype)
    part_wb = np.zeros((blocks,) + w_b.shape, dtype=coef.dtype)
    part_bias = np.zeros((blocks, coef.shape[2]), dtype=coef.dtype)
    grad_x = np.empty((batch, n_in), dtype=coef.dtype) if need_x else np.empty((0, 0), dtype=coef.dtype)
    _set_threads(threads)
    _backward_kernel(
        x, knots, uniform, origin_shift, inv_step, rows, start, k, coef, w_b, code, grad_y, need_x, grad_x,
        part_coef, part_wb, part_bias,
    )
    return part_coef.sum(0), part_wb.sum(0), part_bias.sum(0), (grad_x if need_x else None)
