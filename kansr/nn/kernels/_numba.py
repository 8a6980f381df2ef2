"""The numba kernels behind :mod:`kansr.nn.kernels._jit` (imported on first use).

Kept apart so that importing kansr does not import numba (it is imported,
and the kernels compiled or loaded from numba's cache, on first use).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from kansr.nn._residuals import IDENTITY, SILU, TANH

# Fused multiply-add and reassociation (vectorised sums) but no assumption of
# finite values: NaN inputs must still give NaN outputs.
_FASTMATH = {"contract", "reassoc", "arcp"}


@njit(inline="always", cache=True)
def _interval(xv, i, knots, n_int):
    """Knot interval of ``xv`` on input ``i``'s (non-uniform) grid, -1 outside (or NaN)."""
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


# ``consts`` (``K`` in the helpers) holds the numbers the kernels need in the
# data's dtype, so that float32 data is computed in float32 (a Python float
# literal promotes every expression it touches to float64): 0 and 1, then the
# coefficients of _cardinal3 (``kansr.nn.kernels._jit._CONSTANTS``).
@njit(inline="always", cache=True)
def _base_and_grad(xv, code, K):
    """Residual function ``b(x)`` and ``b'(x)`` by its code in
    :data:`kansr.nn._residuals.RESIDUALS` (one exponential for SiLU).  The
    forward kernel uses ``b`` only; the unused derivative is dead code there
    once inlined."""
    if code == SILU:
        sig = K[1] / (K[1] + np.exp(-xv))
        return xv * sig, sig * (K[1] + xv * (K[1] - sig))
    if code == IDENTITY:
        return xv, K[1]
    if code == TANH:
        t = math.tanh(xv)
        return t, K[1] - t * t
    return K[0] * xv, K[0]  # ZERO


# The kernels serve cubic splines (k = 3, the default) only and evaluate the
# basis polynomials of a SplineTable: row r of the table holds, from column 2,
# the coefficients of the four pieces power-major, then those of their
# derivatives (a uniform grid's pieces, the same in every interval, come in
# closed form from _cardinal3).  With the order known when compiling, the values stay in
# registers.  A loop over a run-time k with a scratch array measured 3x slower.
@njit(inline="always", cache=True)
def _value_coefs(rows, r):
    """Coefficients of the four cubic pieces in row ``r``: ``c[4p + m]`` multiplies ``s^p`` in slot m."""
    return (rows[r, 2], rows[r, 3], rows[r, 4], rows[r, 5], rows[r, 6], rows[r, 7], rows[r, 8], rows[r, 9],
            rows[r, 10], rows[r, 11], rows[r, 12], rows[r, 13], rows[r, 14], rows[r, 15], rows[r, 16], rows[r, 17])


@njit(inline="always", cache=True)
def _slope_coefs(rows, r):
    """Coefficients of the derivatives of the four pieces in row ``r`` (same layout, degree 2)."""
    return (rows[r, 18], rows[r, 19], rows[r, 20], rows[r, 21], rows[r, 22], rows[r, 23],
            rows[r, 24], rows[r, 25], rows[r, 26], rows[r, 27], rows[r, 28], rows[r, 29])


@njit(inline="always", cache=True)
def _values3(c, s):
    """The four cubic pieces at ``s`` from :func:`_value_coefs`."""
    v0 = ((c[12] * s + c[8]) * s + c[4]) * s + c[0]
    v1 = ((c[13] * s + c[9]) * s + c[5]) * s + c[1]
    v2 = ((c[14] * s + c[10]) * s + c[6]) * s + c[2]
    v3 = ((c[15] * s + c[11]) * s + c[7]) * s + c[3]
    return v0, v1, v2, v3


@njit(inline="always", cache=True)
def _derivs3(c, s):
    """Their derivatives at ``s`` from :func:`_slope_coefs`."""
    d0 = (c[8] * s + c[4]) * s + c[0]
    d1 = (c[9] * s + c[5]) * s + c[1]
    d2 = (c[10] * s + c[6]) * s + c[2]
    d3 = (c[11] * s + c[7]) * s + c[3]
    return d0, d1, d2, d3


# Coefficient arrays carry _PAD zero rows on both sides of the basis axis, so
# that slot m of interval j is row j + m on a uniform grid (no clamping at the
# ends of the grid: bases that do not exist read zeros).
_PAD = 3
# Interval slot the forward pass saves for a NaN input (-1 means outside the grid).
_NAN_SLOT = -2


@njit(inline="always", cache=True)
def _edge_weights(coef, scale_sp, scale_base, keep):
    """Padded spline coefficients and residual weights, edge weights and mask folded in."""
    n_in, n_basis, n_out = coef.shape
    coef_eff = np.zeros((n_in, n_basis + 2 * _PAD, n_out), dtype=coef.dtype)
    w_b = np.empty((n_in, n_out), dtype=coef.dtype)
    for i in range(n_in):
        for o in range(n_out):
            w_s = scale_sp[i, o] * keep[i, o]
            w_b[i, o] = scale_base[i, o] * keep[i, o]
            for q in range(n_basis):
                coef_eff[i, q + _PAD, o] = coef[i, q, o] * w_s
    return coef_eff, w_b


@njit(inline="always", cache=True)
def _locate(xv, i, knots, uniform, origin_shift, inv_step, rows, start, n_int, K):
    """Padded row of slot 0 and the local variable for ``xv`` on input ``i``.

    Returns ``(q, s, r)``: ``q`` < 0 outside the grid; on a uniform grid ``s``
    is the cardinal variable and ``r`` is -1, otherwise ``r`` is the table row.
    Uniform grids need no table row: every interval carries the same cubic
    pieces (read once per call), which saves the 16 coefficient loads per
    sample and input.
    """
    if uniform:
        u = xv * inv_step[i] + origin_shift[i]
        if not (u >= 0.0 and u < n_int):
            return -1, u, -1
        jf = np.floor(u)
        j = int(jf)
        if j >= n_int:  # rounding at the last knot
            return n_int - 1, u - jf + K[1], -1
        return j, u - jf, -1
    j = _interval(xv, i, knots, n_int)
    if j < 0:
        return -1, xv, -1
    r = i * (n_int + 1) + j
    return start[r] + _PAD, xv * rows[r, 1] + rows[r, 0], r


@njit(inline="always", cache=True)
def _reduce_blocks(part_coef, part_base, part_bias, coef, scale_sp, keep, grad_coef, grad_sp, grad_base, grad_bias):
    """Sum the per-block partials in block order, then apply the chain rule
    through the folded edge weights (serial, parameter-sized)."""
    blocks = part_coef.shape[0]
    n_in, n_basis, n_out = coef.shape
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
                    t += part_coef[blk, i, q + _PAD, o]
                grad_coef[i, q, o] = t * w_s
                t_sp += t * coef[i, q, o]
            grad_sp[i, o] = t_sp * keep[i, o]


@njit(inline="always", cache=True)
def _cardinal3(s, K):
    """The four uniform cubic B-spline pieces at ``s`` in [0, 1), slot 0 first.

    The closed form of the cardinal polynomials a uniform grid's table holds
    (every interval shares them), with the partition of unity for the third:
    fewer operations than Horner on the table's 16 coefficients, and constants
    the compiler keeps in registers.  ``tests/nn/test_spline_kernel.py`` checks
    it against the table built from :func:`kansr.nn._splines.local_basis_values`.
    """
    t = K[1] - s
    v0 = t * t * t * K[2]
    v3 = s * s * s * K[2]
    v1 = (K[4] * s - K[1]) * s * s + K[3]
    return v0, v1, K[1] - v0 - v1 - v3, v3


@njit(inline="always", cache=True)
def _cardinal3_ds(s, K):
    """Derivatives of :func:`_cardinal3` with respect to ``s``."""
    t = K[1] - s
    d0 = -K[4] * t * t
    d3 = K[4] * s * s
    d1 = (K[5] * s - K[6]) * s
    return d0, d1, -(d0 + d1 + d3), d3


@njit(inline="always", cache=True)
def _pieces(sv, r, rows, K):
    """The four cubic pieces: the cardinal ones on a uniform grid (``r`` < 0), else table row ``r``."""
    if r < 0:
        return _cardinal3(sv, K)
    return _values3(_value_coefs(rows, r), sv)


@njit(inline="always", cache=True)
def _pieces_and_slopes(sv, r, i, rows, inv_step, need_slopes, K):
    """:func:`_pieces` and, if ``need_slopes``, their derivatives with respect to ``x`` (else zeros)."""
    v0, v1, v2, v3 = _pieces(sv, r, rows, K)
    d0 = d1 = d2 = d3 = K[0]
    if need_slopes:
        if r < 0:
            d0, d1, d2, d3 = _cardinal3_ds(sv, K)
            h = inv_step[i]
            d0, d1, d2, d3 = d0 * h, d1 * h, d2 * h, d3 * h
        else:
            d0, d1, d2, d3 = _derivs3(_slope_coefs(rows, r), sv)
    return v0, v1, v2, v3, d0, d1, d2, d3


@njit(inline="always", cache=True)
def _prepare(xv, i, b, knots, uniform, origin_shift, inv_step, rows, start, n_int, code, K, save,
             saved_q, saved_r, saved_s, saved_b, saved_db):
    """``b(x)``, the interval slot ``q`` (< 0 outside the grid), the local
    variable and the table row of one sample and input, saved for the backward
    pass when ``save`` (so that it needs no exponential and no interval search)."""
    bv, bd = _base_and_grad(xv, code, K)
    q, sv, r = _locate(xv, i, knots, uniform, origin_shift, inv_step, rows, start, n_int, K)
    if save:
        saved_q[b, i] = q
        saved_r[b, i] = r
        saved_s[b, i] = sv
        saved_b[b, i] = bv
        saved_db[b, i] = bd
    return bv, q, sv, r


@njit(inline="always", cache=True)
def _forward_setup(x, coef, scale_sp, scale_base, keep, blocks):
    """What a forward kernel reads before its loop: the folded weights
    (:func:`_edge_weights`) and the samples per block."""
    coef_eff, w_b = _edge_weights(coef, scale_sp, scale_base, keep)
    return coef_eff, w_b, (x.shape[0] + blocks - 1) // blocks


@njit(inline="always", cache=True)
def _backward_setup(x, coef, scale_sp, scale_base, keep, blocks):
    """:func:`_forward_setup` and per-block
    partial sums of the coefficient, residual-weight and bias gradients.  The
    partials are added in block order at the end, so the result does not
    depend on how blocks are spread over threads."""
    coef_eff, w_b, step = _forward_setup(x, coef, scale_sp, scale_base, keep, blocks)
    n_in, n_basis, n_out = coef.shape
    part_coef = np.zeros((blocks, n_in, n_basis + 2 * _PAD, n_out), dtype=coef.dtype)
    part_base = np.zeros((blocks, n_in, n_out), dtype=coef.dtype)
    part_bias = np.zeros((blocks, n_out), dtype=coef.dtype)
    return coef_eff, w_b, step, part_coef, part_base, part_bias


def _forward_impl(
    x, knots, uniform, origin_shift, inv_step, rows, start, consts, coef, scale_sp, scale_base, keep, bias,
    code, out, blocks, save, saved_q, saved_r, saved_s, saved_b, saved_db,
):
    batch, n_in = x.shape
    n_out = coef.shape[2]
    n_int = knots.shape[1] - 1
    coef_eff, w_b, step = _forward_setup(x, coef, scale_sp, scale_base, keep, blocks)
    for blk in prange(blocks):
        for b in range(blk * step, min(batch, (blk + 1) * step)):
            for o in range(n_out):
                out[b, o] = bias[o]
            for i in range(n_in):
                xv = x[b, i]
                if math.isnan(xv):  # NaN in, NaN out (the training guard relies on it)
                    for o in range(n_out):
                        out[b, o] = xv
                    if save:
                        saved_q[b, i] = _NAN_SLOT
                    continue
                bv, q, sv, r = _prepare(xv, i, b, knots, uniform, origin_shift, inv_step, rows, start, n_int, code,
                                        consts, save, saved_q, saved_r, saved_s, saved_b, saved_db)
                for o in range(n_out):
                    out[b, o] += bv * w_b[i, o]
                if q < 0:
                    continue
                v0, v1, v2, v3 = _pieces(sv, r, rows, consts)
                for o in range(n_out):
                    out[b, o] += (
                        v0 * coef_eff[i, q, o] + v1 * coef_eff[i, q + 1, o]
                        + v2 * coef_eff[i, q + 2, o] + v3 * coef_eff[i, q + 3, o]
                    )


@njit(inline="always", cache=True)
def _saved_slot(saved_q, x, b, i, need_x, grad_x):
    """The interval slot the forward pass saved; a NaN input (``_NAN_SLOT``)
    passes its NaN on as its gradient."""
    q = saved_q[b, i]
    if q == _NAN_SLOT and need_x:
        grad_x[b, i] = x[b, i]
    return q


def _backward_impl(
    x, saved_q, saved_r, saved_s, saved_b, saved_db, inv_step, rows, consts, coef, scale_sp, scale_base,
    keep, grad_y, need_x, blocks, grad_x, grad_coef, grad_sp, grad_base, grad_bias,
):
    batch, n_in = x.shape
    n_out = coef.shape[2]
    coef_eff, w_b, step, part_coef, part_base, part_bias = _backward_setup(
        x, coef, scale_sp, scale_base, keep, blocks)
    for blk in prange(blocks):
        acc, acc_base, acc_bias = part_coef[blk], part_base[blk], part_bias[blk]
        for b in range(blk * step, min(batch, (blk + 1) * step)):
            for o in range(n_out):
                acc_bias[o] += grad_y[b, o]
            for i in range(n_in):
                q = _saved_slot(saved_q, x, b, i, need_x, grad_x)
                if q == _NAN_SLOT:
                    continue
                bv = saved_b[b, i]
                gx = consts[0]
                for o in range(n_out):
                    acc_base[i, o] += bv * grad_y[b, o]
                    gx += w_b[i, o] * grad_y[b, o]
                gx *= saved_db[b, i]
                if q >= 0:
                    v0, v1, v2, v3, d0, d1, d2, d3 = _pieces_and_slopes(
                        saved_s[b, i], saved_r[b, i], i, rows, inv_step, need_x, consts)
                    for o in range(n_out):
                        g = grad_y[b, o]
                        acc[i, q, o] += v0 * g
                        acc[i, q + 1, o] += v1 * g
                        acc[i, q + 2, o] += v2 * g
                        acc[i, q + 3, o] += v3 * g
                        if need_x:
                            gx += g * (
                                d0 * coef_eff[i, q, o] + d1 * coef_eff[i, q + 1, o]
                                + d2 * coef_eff[i, q + 2, o] + d3 * coef_eff[i, q + 3, o]
                            )
                if need_x:
                    grad_x[b, i] = gx
    _reduce_blocks(part_coef, part_base, part_bias, coef, scale_sp, keep, grad_coef, grad_sp, grad_base, grad_bias)


# Single-output layers (the last layer of a scalar model) get their own
# kernels: without the loops over outputs the per-sample work stays in
# registers, 1.3x faster forward and 1.5-2x faster backward (measured on the
# last layers of [2,5,1], [4,8,8,1] and [6,16,16,1]); results are bit-identical
# to the general kernels, which add in the same order.
def _forward1_impl(
    x, knots, uniform, origin_shift, inv_step, rows, start, consts, coef, scale_sp, scale_base, keep, bias,
    code, out, blocks, save, saved_q, saved_r, saved_s, saved_b, saved_db,
):
    batch, n_in = x.shape
    n_int = knots.shape[1] - 1
    coef_eff, w_b, step = _forward_setup(x, coef, scale_sp, scale_base, keep, blocks)
    for blk in prange(blocks):
        for b in range(blk * step, min(batch, (blk + 1) * step)):
            total = bias[0]
            for i in range(n_in):
                xv = x[b, i]
                if math.isnan(xv):
                    total = xv
                    if save:
                        saved_q[b, i] = _NAN_SLOT
                    continue
                bv, q, sv, r = _prepare(xv, i, b, knots, uniform, origin_shift, inv_step, rows, start, n_int, code,
                                        consts, save, saved_q, saved_r, saved_s, saved_b, saved_db)
                total += bv * w_b[i, 0]
                if q < 0:
                    continue
                v0, v1, v2, v3 = _pieces(sv, r, rows, consts)
                total += (
                    v0 * coef_eff[i, q, 0] + v1 * coef_eff[i, q + 1, 0]
                    + v2 * coef_eff[i, q + 2, 0] + v3 * coef_eff[i, q + 3, 0]
                )
            out[b, 0] = total


def _backward1_impl(
    x, saved_q, saved_r, saved_s, saved_b, saved_db, inv_step, rows, consts, coef, scale_sp, scale_base,
    keep, grad_y, need_x, blocks, grad_x, grad_coef, grad_sp, grad_base, grad_bias,
):
    batch, n_in = x.shape
    coef_eff, w_b, step, part_coef, part_base, part_bias = _backward_setup(
        x, coef, scale_sp, scale_base, keep, blocks)
    for blk in prange(blocks):
        acc, acc_base, acc_bias = part_coef[blk], part_base[blk], part_bias[blk]
        for b in range(blk * step, min(batch, (blk + 1) * step)):
            g = grad_y[b, 0]
            acc_bias[0] += g
            for i in range(n_in):
                q = _saved_slot(saved_q, x, b, i, need_x, grad_x)
                if q == _NAN_SLOT:
                    continue
                acc_base[i, 0] += saved_b[b, i] * g
                gx = w_b[i, 0] * g * saved_db[b, i]
                if q >= 0:
                    v0, v1, v2, v3, d0, d1, d2, d3 = _pieces_and_slopes(
                        saved_s[b, i], saved_r[b, i], i, rows, inv_step, need_x, consts)
                    acc[i, q, 0] += v0 * g
                    acc[i, q + 1, 0] += v1 * g
                    acc[i, q + 2, 0] += v2 * g
                    acc[i, q + 3, 0] += v3 * g
                    if need_x:
                        gx += g * (
                            d0 * coef_eff[i, q, 0] + d1 * coef_eff[i, q + 1, 0]
                            + d2 * coef_eff[i, q + 2, 0] + d3 * coef_eff[i, q + 3, 0]
                        )
                if need_x:
                    grad_x[b, i] = gx
    _reduce_blocks(part_coef, part_base, part_bias, coef, scale_sp, keep, grad_coef, grad_sp, grad_base, grad_bias)


# numba optimises the outlined body of a parallel loop much better than the
# same loop compiled serially (2.4x on one thread, measured), so there is only
# a parallel entry point; one block means one thread.
forward_kernel = njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)(_forward_impl)
backward_kernel = njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)(_backward_impl)
forward1_kernel = njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)(_forward1_impl)
backward1_kernel = njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)(_backward1_impl)
