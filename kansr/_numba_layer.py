"""The numba kernels behind :mod:`kansr.spline_jit` (imported on first use).

Kept apart so that importing kansr does not import numba, and so that
:mod:`kansr.spline_jit` can size numba's thread pool before numba starts.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# Fused multiply-add and reassociation (vectorised sums) but no assumption of
# finite values: NaN inputs must still give NaN outputs.
_FASTMATH = {"contract", "reassoc", "arcp"}



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

@njit(inline="always", cache=True)
def _edge_weights(coef, scale_sp, scale_base, keep):
    """Spline coefficients and residual weights with the edge weights and mask folded in."""
    n_in, n_basis, n_out = coef.shape
    coef_eff = np.empty_like(coef)
    w_b = np.empty((n_in, n_out), dtype=coef.dtype)
    for i in range(n_in):
        for o in range(n_out):
            w_s = scale_sp[i, o] * keep[i, o]
            w_b[i, o] = scale_base[i, o] * keep[i, o]
            for q in range(n_basis):
                coef_eff[i, q, o] = coef[i, q, o] * w_s
    return coef_eff, w_b

def _forward_impl(
    x, knots, uniform, origin_shift, inv_step, rows, start, coef, scale_sp, scale_base, keep, bias, code, out,
    blocks,
):
    batch, n_in = x.shape
    n_out = coef.shape[2]
    n_int = knots.shape[1] - 1
    coef_eff, w_b = _edge_weights(coef, scale_sp, scale_base, keep)
    step = (batch + blocks - 1) // blocks
    for blk in prange(blocks):
        for b in range(blk * step, min(batch, (blk + 1) * step)):
            for o in range(n_out):
                out[b, o] = bias[o]
            for i in range(n_in):
                xv = x[b, i]
                if math.isnan(xv):  # NaN in, NaN out (the training guard relies on it)
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
                        v0 * coef_eff[i, st, o] + v1 * coef_eff[i, st + 1, o]
                        + v2 * coef_eff[i, st + 2, o] + v3 * coef_eff[i, st + 3, o]
                    )

def _backward_impl(
    x, knots, uniform, origin_shift, inv_step, rows, start, coef, scale_sp, scale_base, keep, code, grad_y,
    need_x, blocks, grad_x, grad_coef, grad_sp, grad_base, grad_bias,
):
    batch, n_in = x.shape
    n_basis, n_out = coef.shape[1], coef.shape[2]
    n_int = knots.shape[1] - 1
    coef_eff, w_b = _edge_weights(coef, scale_sp, scale_base, keep)
    # Per-block partial sums, added in block order below: the result does
    # not depend on how blocks are spread over threads.
    part_coef = np.zeros((blocks, n_in, n_basis, n_out), dtype=coef.dtype)
    part_base = np.zeros((blocks, n_in, n_out), dtype=coef.dtype)
    part_bias = np.zeros((blocks, n_out), dtype=coef.dtype)
    step = (batch + blocks - 1) // blocks
    for blk in prange(blocks):
        acc = part_coef[blk]
        acc_base = part_base[blk]
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
                    acc_base[i, o] += bv * grad_y[b, o]
                    gx += w_b[i, o] * grad_y[b, o]
                gx *= bd
                j = _interval(xv, i, knots, uniform, origin_shift, inv_step, n_int)
                if j >= 0:
                    r = i * (n_int + 1) + j
                    s = xv * rows[r, 1] + rows[r, 0]
                    v0, v1, v2, v3 = _values3(rows, r, s)
                    st = start[r]
                    d0 = d1 = d2 = d3 = 0.0
                    if need_x:
                        d0, d1, d2, d3 = _derivs3(rows, r, s)
                    for o in range(n_out):
                        g = grad_y[b, o]
                        acc[i, st, o] += v0 * g
                        acc[i, st + 1, o] += v1 * g
                        acc[i, st + 2, o] += v2 * g
                        acc[i, st + 3, o] += v3 * g
                        if need_x:
                            gx += g * (
                                d0 * coef_eff[i, st, o] + d1 * coef_eff[i, st + 1, o]
                                + d2 * coef_eff[i, st + 2, o] + d3 * coef_eff[i, st + 3, o]
                            )
                if need_x:
                    grad_x[b, i] = gx
    # Chain rule through the folded weights (serial, parameter-sized).
    for o in range(n_out):
        t = 0.0
        for blk in range(blocks):
            t += part_bias[blk, o]
        grad_bias[o] = t
    for i in range(n_in):
        for o in range(n_out):
            w_s = scale_sp[i, o] * keep[i, o]
            t = 0.0
            for blk in range(blocks):
                t += part_base[blk, i, o]
            grad_base[i, o] = t * keep[i, o]
            t_sp = 0.0
            for q in range(n_basis):
                t = 0.0
                for blk in range(blocks):
                    t += part_coef[blk, i, q, o]
                grad_coef[i, q, o] = t * w_s
                t_sp += t * coef[i, q, o]
            grad_sp[i, o] = t_sp * keep[i, o]

forward_kernel = njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)(_forward_impl)
backward_kernel = njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)(_backward_impl)
