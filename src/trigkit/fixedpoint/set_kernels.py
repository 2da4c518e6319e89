"""numba kernels of the layers in :mod:`trigkit.fixedpoint.set_layers`, over int64 codes.

Each follows its hls4ml template statement by statement (see that module); a type is passed as
``(width, frac, signed, rounding, overflow)``. ``pointwise`` needs no kernel of its own: it is
the ``dense`` kernel run on every constituent (:func:`per_constituent`), and ``conv1d`` the same
kernel on every im2col window (:func:`im2col`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from trigkit.fixedpoint.fixed import requantize


def per_constituent(x: np.ndarray, n_const: int) -> np.ndarray:
    """``[n, n_const * n_chan]`` codes -> ``[n * n_const, n_chan]`` (one row per constituent)."""
    n = x.shape[0]
    return np.ascontiguousarray(x.reshape(n * n_const, x.shape[1] // n_const))


def per_jet(x: np.ndarray, n_const: int) -> np.ndarray:
    """The inverse of :func:`per_constituent`."""
    return np.ascontiguousarray(x.reshape(x.shape[0] // n_const, n_const * x.shape[1]))


def im2col(x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``[n, n_const * n_chan]`` codes -> ``[n * out_width, filt_width * n_chan]`` windows of a
    conv1d (``index`` from ``set_layers.im2col_index``; -1 reads a zero pad)."""
    padded = np.concatenate([x, np.zeros((x.shape[0], 1), dtype=x.dtype)], axis=1)
    windows = padded[:, np.where(index < 0, x.shape[1], index)]  # [n, out_width, k * n_chan]
    return np.ascontiguousarray(windows.reshape(-1, index.shape[1]))


@njit(cache=True, inline="always")
def _trunc_div(a: int, b: int) -> int:
    """C integer division (towards zero) for ``b > 0``: ap_int ``sdiv``."""
    return a // b if a >= 0 else -((-a) // b)


@njit(cache=True, parallel=True)
def mean_pool(
    x: np.ndarray,
    fx: int,
    n_const: int,
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
    """``nnet::global_pooling1d_cl`` with ``Average``: ``acc = accum_t(acc + x)`` in order,
    ``acc /= n_const`` (truncated towards zero), ``res = result_t(acc)``."""
    n, m = x.shape
    n_feat = m // n_const
    f_sum = max(acc_f, fx)
    out = np.empty((n, n_feat), dtype=np.int64)
    for r in prange(n):
        for ff in range(n_feat):
            acc = 0
            for c in range(n_const):
                s = (acc << (f_sum - acc_f)) + (x[r, c * n_feat + ff] << (f_sum - fx))
                acc = requantize(s, f_sum, acc_w, acc_f, acc_s, acc_q, acc_o)
            acc = _trunc_div(acc, n_const)
            out[r, ff] = requantize(acc, acc_f, res_w, res_f, res_s, res_q, res_o)
    return out


@njit(cache=True, parallel=True)
def leaky_relu(
    x: np.ndarray,
    fx: int,
    alpha: int,
    fa: int,
    res_w: int,
    res_f: int,
    res_s: bool,
    res_q: int,
    res_o: int,
) -> np.ndarray:
    """``nnet::leaky_relu``: ``x > 0 ? result_t(x) : result_t(alpha * x)`` (exact product)."""
    out = np.empty(x.shape, dtype=np.int64)
    for r in prange(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[r, c]
            if v > 0:
                out[r, c] = requantize(v, fx, res_w, res_f, res_s, res_q, res_o)
            else:
                out[r, c] = requantize(alpha * v, fx + fa, res_w, res_f, res_s, res_q, res_o)
    return out


@njit(cache=True, parallel=True)
def relu6(
    x: np.ndarray, fx: int, res_w: int, res_f: int, res_s: bool, res_q: int, res_o: int
) -> np.ndarray:
    """``nnet::relu_max<6>``: ``x < 0 ? 0 : x > 6 ? result_t(6) : result_t(x)``."""
    out = np.empty(x.shape, dtype=np.int64)
    six = requantize(6, 0, res_w, res_f, res_s, res_q, res_o)
    for r in prange(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[r, c]
            above = v > (6 << fx) if fx >= 0 else (v << (-fx)) > 6
            if v < 0:
                out[r, c] = 0
            elif above:
                out[r, c] = six
            else:
                out[r, c] = requantize(v, fx, res_w, res_f, res_s, res_q, res_o)
    return out
