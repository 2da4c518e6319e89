"""numba kernels: one hls4ml io_parallel layer each, parallel over the rows of a batch.

All arrays hold int64 fixed-point codes (see :mod:`trigkit.fixedpoint.fixed`); a type is passed as
``(width, frac, signed, rounding, overflow)``. The loops follow hls4ml's C++ templates statement
by statement so that saturation happens at the same points.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from trigkit.fixedpoint.fixed import overflow_code, quantize_float, requantize, round_shift


@njit(cache=True, parallel=True)
def quantize_rows(x: np.ndarray, width: int, frac: int, signed: bool, q: int, o: int) -> np.ndarray:
    """float64 ``[n, m]`` -> codes, as ``ap_fixed(double)`` (NaN/Inf included)."""
    out = np.empty(x.shape, dtype=np.int64)
    for r in prange(x.shape[0]):
        for c in range(x.shape[1]):
            out[r, c] = quantize_float(x[r, c], width, frac, signed, q, o)
    return out


@njit(cache=True, parallel=True)
def dense(
    x: np.ndarray,
    fx: int,
    w: np.ndarray,
    fw: int,
    b: np.ndarray,
    fb: int,
    acc_w: int,
    acc_f: int,
    acc_s: bool,
    acc_q: int,
    acc_o: int,
    res_w: int,
    res_f: int,
    res_s: bool,
    res_q: int,
    res_o: int,
) -> np.ndarray:
    """``nnet::dense_latency``: bias cast to accum_t, then ``acc += accum_t(x_i * w_ji)``
    in order."""
    n, n_in = x.shape
    n_out = w.shape[0]
    out = np.empty((n, n_out), dtype=np.int64)
    fp = fx + fw
    for r in prange(n):
        for j in range(n_out):
            acc = requantize(b[j], fb, acc_w, acc_f, acc_s, acc_q, acc_o)
            for i in range(n_in):
                p = requantize(x[r, i] * w[j, i], fp, acc_w, acc_f, acc_s, acc_q, acc_o)
                acc = overflow_code(acc + p, acc_w, acc_s, acc_o)
            out[r, j] = requantize(acc, acc_f, res_w, res_f, res_s, res_q, res_o)
    return out


@njit(cache=True, parallel=True)
def dense_exact(
    x: np.ndarray,
    wt: np.ndarray,
    b_acc: np.ndarray,
    shift: int,
    acc_q: int,
    acc_w: int,
    acc_s: bool,
    acc_o: int,
    acc_f: int,
    res_w: int,
    res_f: int,
    res_s: bool,
    res_q: int,
    res_o: int,
    relu_on: bool = False,
    rl_w: int = 2,
    rl_f: int = 0,
    rl_s: bool = True,
    rl_q: int = 0,
    rl_o: int = 0,
) -> np.ndarray:
    """Fast path of :func:`dense` when it is provably identical: no partial sum can overflow or
    the accumulator wraps (then one wrap of the exact total equals wrapping every step).
    ``shift = acc_f - fx - fw``: products are shifted left (``>= 0``) or rounded one by one.
    ``wt`` is the transposed weight ``(n_in, n_out)``; ``b_acc`` the bias already in accum_t.
    With ``relu_on`` the following ReLU layer (result type ``rl_*``) is applied in the same pass.
    """
    n, n_in = x.shape
    n_out = wt.shape[1]
    out = np.empty((n, n_out), dtype=np.int64)
    d = -shift if shift < 0 else 0
    up = shift if shift > 0 else 0
    for r in prange(n):
        acc = np.zeros(n_out, dtype=np.int64)
        for i in range(n_in):
            xi = x[r, i]
            if xi != 0:
                if d == 0:
                    for j in range(n_out):
                        acc[j] += xi * wt[i, j]
                else:
                    for j in range(n_out):
                        acc[j] += round_shift(xi * wt[i, j], d, acc_q)
        for j in range(n_out):
            a = overflow_code(b_acc[j] + (acc[j] << up), acc_w, acc_s, acc_o)
            v = requantize(a, acc_f, res_w, res_f, res_s, res_q, res_o)
            if relu_on:
                v = requantize(v if v > 0 else 0, res_f, rl_w, rl_f, rl_s, rl_q, rl_o)
            out[r, j] = v
    return out


@njit(cache=True, parallel=True)
def relu(
    x: np.ndarray, fx: int, res_w: int, res_f: int, res_s: bool, res_q: int, res_o: int
) -> np.ndarray:
    out = np.empty(x.shape, dtype=np.int64)
    for r in prange(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[r, c]
            out[r, c] = requantize(v if v > 0 else 0, fx, res_w, res_f, res_s, res_q, res_o)
    return out


@njit(cache=True, parallel=True)
def cast(
    x: np.ndarray, fx: int, res_w: int, res_f: int, res_s: bool, res_q: int, res_o: int
) -> np.ndarray:
    """``nnet::linear``: ``res = result_t(x)``."""
    out = np.empty(x.shape, dtype=np.int64)
    for r in prange(x.shape[0]):
        for c in range(x.shape[1]):
            out[r, c] = requantize(x[r, c], fx, res_w, res_f, res_s, res_q, res_o)
    return out


@njit(cache=True, inline="always")
def _top_bits(code: int, width: int, n_bits: int) -> int:
    """``x(x.width - 1, x.width - N)``: the top ``n_bits`` of the raw ``width``-bit pattern."""
    raw = code & ((1 << width) - 1)
    return (raw >> (width - n_bits)) & ((1 << n_bits) - 1)


@njit(cache=True, parallel=True)
def softmax(
    x: np.ndarray,
    in_w: int,
    stable: bool,
    norm_w: int,
    exp_table: np.ndarray,
    exp_bits: int,
    f_exp: int,
    inv_table: np.ndarray,
    inv_bits: int,
    f_inv: int,
    plan: np.ndarray,
    acc_w: int,
    acc_f: int,
    acc_s: bool,
    acc_q: int,
    acc_o: int,
    ii_w: int,
    ii_f: int,
    ii_s: bool,
    ii_q: int,
    ii_o: int,
    res_w: int,
    res_f: int,
    res_s: bool,
    res_q: int,
    res_o: int,
) -> np.ndarray:
    """``nnet::softmax_stable`` / ``softmax_latency`` with hls4ml's exp and 1/x lookup tables.

    ``plan`` is the balanced adder tree of ``nnet::reduce`` as rows ``(dst, a, b)`` over a
    scratch buffer whose first ``n`` slots hold the exponentials.
    """
    n, m = x.shape
    out = np.empty((n, m), dtype=np.int64)
    for r in prange(n):
        scratch = np.empty(m + plan.shape[0], dtype=np.int64)
        xmax = x[r, 0]
        for c in range(1, m):
            if x[r, c] > xmax:
                xmax = x[r, c]
        for c in range(m):
            if stable:
                d = (xmax - x[r, c]) & ((1 << norm_w) - 1)  # ap_ufixed<W-1, I-1> wraps
                idx = _top_bits(d, norm_w, exp_bits)
            else:
                idx = _top_bits(x[r, c], in_w, exp_bits)
            scratch[c] = requantize(exp_table[idx], f_exp, acc_w, acc_f, acc_s, acc_q, acc_o)
        for k in range(plan.shape[0]):
            scratch[plan[k, 0]] = overflow_code(
                scratch[plan[k, 1]] + scratch[plan[k, 2]], acc_w, acc_s, acc_o
            )
        total = scratch[plan[plan.shape[0] - 1, 0]] if plan.shape[0] > 0 else scratch[0]
        s = requantize(total, acc_f, ii_w, ii_f, ii_s, ii_q, ii_o)
        inv = inv_table[_top_bits(s, ii_w, inv_bits)]
        for c in range(m):
            out[r, c] = requantize(
                scratch[c] * inv, acc_f + f_inv, res_w, res_f, res_s, res_q, res_o
            )
    return out


@njit(cache=True, inline="always")
def _trunc_div(a: int, b: int) -> int:
    """C integer division (towards zero) for ``b > 0``."""
    return a // b if a >= 0 else -((-a) // b)


@njit(cache=True, parallel=True)
def sigmoid(
    x: np.ndarray,
    fx: int,
    table: np.ndarray,
    f_table: int,
    res_w: int,
    res_f: int,
    res_s: bool,
    res_q: int,
    res_o: int,
) -> np.ndarray:
    """``nnet::sigmoid``: ``index = int(x * N / 16) + N / 2`` clamped, ``res = table[index]``.

    ``x * N / 16`` is an exact ap_fixed product divided (towards zero) by 16; its conversion
    to ``int`` truncates towards zero as C does.
    """
    n_table = table.shape[0]
    out = np.empty(x.shape, dtype=np.int64)
    for r in prange(x.shape[0]):
        for c in range(x.shape[1]):
            q1 = _trunc_div(x[r, c] * n_table, 16)  # code of the quotient, fx fraction bits
            if fx > 0:
                data_round = _trunc_div(q1, 1 << fx)
            else:
                data_round = q1 << (-fx)
            index = data_round + (8 * n_table) // 16
            if index < 0:
                index = 0
            if index > n_table - 1:
                index = n_table - 1
            out[r, c] = requantize(table[index], f_table, res_w, res_f, res_s, res_q, res_o)
    return out


def reduce_plan(n: int) -> np.ndarray:
    """The adder tree of ``nnet::reduce<T, N, Op_add>`` as ``(dst, a, b)`` rows over a scratch
    buffer (inputs in slots ``0..n-1``, results from slot ``n`` on)."""
    rows: list[tuple[int, int, int]] = []

    def rec(start: int, count: int) -> int:
        if count == 1:
            return start
        if count == 2:
            dst = n + len(rows)
            rows.append((dst, start, start + 1))
            return dst
        left = 1 << ((count - 1).bit_length() - 1)  # pow2(floorlog2(N - 1))
        a = rec(start, left)
        b = rec(start + left, count - left)
        dst = n + len(rows)
        rows.append((dst, a, b))
        return dst

    rec(0, n)
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)
