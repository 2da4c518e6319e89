"""RTL of the set layers and extra activations (:mod:`trigkit.fixedpoint.set_layers`), fully
parallel and bit-exact with their numba kernels (:mod:`trigkit.fixedpoint.set_kernels`).

- ``pointwise`` / ``conv1d``: the dense arithmetic once per output position (constituent, or
  im2col window), each an adder graph of its own over the same constants
  (:func:`positions`, :func:`per_position`). A conv1d window's zero pads are dropped with their
  weight columns (a zero input adds nothing), so an edge window is a narrower dense.
- ``mean_pool``: per feature, the sum over the constituents as one constant matrix-vector product
  of ones (an adder tree) cast once to ``accum_t`` - exact when ``accum_t`` keeps every fraction
  bit and wraps or cannot overflow (a wrapping add chain is the wrapped sum); otherwise the
  ``acc = accum_t(acc + x)`` chain literally. Then hls4ml's ``acc /= n_const`` (the code divided,
  truncated towards zero): a shift for a power of two, else a multiplication by
  ``m / 2**k`` (``m = ceil(2**k / n)``, ``k`` large enough that the floor is exact on the whole
  accumulator range: ``A * (m n - 2**k) < 2**k``); a negative sum divides its magnitude (a sign
  mux), then ``result_t``.
- ``leaky_relu``: ``x < 0 ? result_t(alpha * x) : result_t(x)`` (the constant product exact, a
  sign mux); at ``x == 0`` both are 0.
- ``relu6``: ``result_t(min(max(x, 0), 6))``, which is the kernel's ``x < 0 ? 0 : x > 6 ?
  result_t(6) : result_t(x)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer
from trigkit.fixedpoint.set_layers import im2col_index

__all__ = [
    "ROUND",
    "cast",
    "leaky_relu",
    "mean_pool",
    "per_position",
    "positions",
    "relu6",
    "trunc_div",
]

ROUND = {"AP_TRN": "TRN", "AP_RND": "RND"}
_OVERFLOW = {"AP_WRAP": "WRAP", "AP_SAT": "SAT"}
_WIDE = 64  # integer bits of a truncation that must not wrap

Dense = Callable[[Any, FirmwareLayer], Any]  # (da4ml array of one position's inputs, dense layer)


def cast(x: Any, t: FixedType, where: str) -> Any:  # noqa: ANN401 - da4ml array/variable
    """``t(x)`` with ``t``'s rounding and overflow (da4ml has TRN/RND and WRAP/SAT)."""
    if t.rounding not in ROUND:
        raise TrigkitError(
            f"{where}: rounding {t.rounding} of {t.hls()} has no da4ml equivalent; "
            "valid for RTL: AP_TRN, AP_RND"
        )
    k, i, f = t.kif
    return x.quantize(k, i, f, _OVERFLOW[t.overflow], ROUND[t.rounding])


def _array(values: list[Any], like: Any) -> Any:  # noqa: ANN401 - da4ml arrays
    trace = require("da4ml.trace", "fpga")
    return trace.FixedVariableArray(
        np.array(values, dtype=object), like.solver_options, hwconf=like.hwconf
    )


# -- pointwise / conv1d ----------------------------------------------------------------------


def positions(layer: FirmwareLayer) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(input indices, weight columns)`` of every output position, in output order."""
    if layer.kind == "pointwise":
        n_chan = layer.n_in // layer.n_const
        cols = np.arange(n_chan)
        return [(c * n_chan + cols, cols) for c in range(layer.n_const)]
    if layer.kind == "conv1d":
        out = []
        for row in im2col_index(layer):
            (cols,) = np.nonzero(row >= 0)
            out.append((row[cols], cols))
        return out
    return [(np.arange(layer.n_in), np.arange(layer.n_in))]


def position_layer(layer: FirmwareLayer, cols: np.ndarray) -> FirmwareLayer:
    """The per-jet dense layer one output position of ``layer`` computes."""
    if layer.kind == "dense":
        return layer
    assert layer.weight is not None
    w = np.ascontiguousarray(layer.weight[:, cols])
    return dataclasses.replace(
        layer,
        kind="dense",
        n_in=w.shape[1],
        n_out=w.shape[0],
        weight=w,
        n_const=1,
        filt_width=1,
        pad=(0, 0),
    )


def per_position(x: Any, layer: FirmwareLayer, dense: Dense) -> Any:  # noqa: ANN401
    """``dense`` on every output position of a pointwise / conv1d (or dense) layer, the
    outputs position-major (hls4ml's channels-last order)."""
    parts = [dense(x[idx], position_layer(layer, cols)) for idx, cols in positions(layer)]
    if len(parts) == 1:
        return parts[0]
    return _array([v for p in parts for v in p._vars.ravel()], x)


# -- mean_pool -------------------------------------------------------------------------------


def _pool_sum_exact(layer: FirmwareLayer, in_t: FixedType) -> bool:
    acc = layer.accum_t
    assert acc is not None
    if acc.frac < in_t.frac:
        return False  # every addition rounds: the literal chain
    n = layer.n_const
    return acc.overflow == "AP_WRAP" or (acc.min <= n * in_t.min and n * in_t.max <= acc.max)


def mean_pool(x: Any, layer: FirmwareLayer, in_t: FixedType) -> Any:  # noqa: ANN401
    """hls4ml's ``GlobalAveragePooling1D``: the sum, ``/ n_const`` truncated, ``result_t``."""
    acc_t = layer.accum_t
    assert acc_t is not None
    where = f"layer '{layer.name}'"
    n, n_feat = layer.n_const, layer.n_out
    if _pool_sum_exact(layer, in_t):
        ones = np.zeros((layer.n_in, n_feat))
        ones[np.arange(layer.n_in), np.arange(layer.n_in) % n_feat] = 1.0
        sums = list(cast(x @ ones, acc_t, where)._vars.ravel())
    else:
        sums = []
        for f in range(n_feat):
            acc = cast(x._vars[f], acc_t, where)
            for c in range(1, n):
                acc = cast(acc + x._vars[c * n_feat + f], acc_t, where)
            sums.append(acc)
    means = [trunc_div(s, n, acc_t.frac) for s in sums]
    return cast(_array(means, x), layer.result_t, where)


def _floor_div(v: Any, n: int, frac: int) -> Any:  # noqa: ANN401 - da4ml variable
    """``floor(A / n)`` of the code ``A >= 0`` of ``v`` on the grid ``2**-frac``."""
    if n & (n - 1) == 0:
        scaled = v * (1.0 / n)
    else:
        top = round(max(abs(float(v.low)), abs(float(v.high))) * 2.0**frac)  # largest |A|
        k = n.bit_length()
        while top * (-(2**k) % n) >= 2**k:  # m n - 2**k, m = ceil(2**k / n)
            k += 1
        scaled = v * (-(-(2**k) // n) / 2.0**k)
    return scaled.quantize(1, _WIDE, frac, "WRAP", "TRN")


def trunc_div(v: Any, n: int, frac: int) -> Any:  # noqa: ANN401 - da4ml variable
    """The code of ``v`` (grid ``2**-frac``) divided by ``n``, truncated towards zero (C ``/``)."""
    if n == 1:
        return v
    if float(v.low) >= 0:
        return _floor_div(v, n, frac)
    neg = -_floor_div(-v, n, frac)
    if float(v.high) <= 0:
        return neg
    return v.msb_mux(neg, _floor_div(v, n, frac))


# -- activations -----------------------------------------------------------------------------


def leaky_relu(x: Any, layer: FirmwareLayer) -> Any:  # noqa: ANN401 - da4ml arrays
    """``x < 0 ? result_t(alpha * x) : result_t(x)``."""
    assert layer.alpha is not None
    where, res = f"layer '{layer.name}'", layer.result_t
    out = []
    for v in x._vars.ravel():
        pos = cast(v, res, where)
        if float(v.low) >= 0:
            out.append(pos)
            continue
        neg = cast(v * layer.alpha, res, where)
        out.append(neg if float(v.high) <= 0 else v.msb_mux(neg, pos))
    return _array(out, x)


def relu6(x: Any, layer: FirmwareLayer) -> Any:  # noqa: ANN401 - da4ml arrays
    """``result_t(min(max(x, 0), 6))``."""
    where = f"layer '{layer.name}'"
    out = [cast(v.relu().min_of(6.0), layer.result_t, where) for v in x._vars.ravel()]
    return _array(out, x)
