"""Shallow RTL for a dense layer and the ReLU after it, bit-exact with the generic casts.

Traced literally, hls4ml's ``dense -> result_t -> relu -> relu result_t`` is a chain of carry
chains after the adder tree: the bias (a constant add), the rounding half-LSB (a second constant
add), a comparison and mux for each saturation bound, the ReLU, then the ReLU type's own
saturation - about as deep as the adder tree itself (measured on the L1 tagger: 3.5 ns of its
~6 ns per layer). Three exact identities remove most of it:

1. **One constant add.** ``RND(a) = TRN(a + half_lsb)`` and the accumulator cannot overflow
   (checked from the weights and the input range), so ``x @ W + (b + half_lsb)`` followed by a
   truncation (wires only) is the rounded sum.
2. **ReLU first, one bound.** ``relu(clamp(t, lo, hi)) = min(relu(t), hi)`` for ``lo <= 0``, and
   rounding commutes with ReLU (``floor(max(a, 0) + h) = max(floor(a + h), 0)``), so only the
   upper bound of the tighter of the two types is left.
3. **A bit test, not a comparator.** For ``r >= 0`` on the grid of a type whose maximum is
   ``2**I - lsb``, ``r > max`` exactly when a bit of weight ``>= 2**I`` is set: an OR of those
   bits selects the all-ones code (LUTs, no carry chain).

Where a layer does not meet the conditions (two roundings that do not compose, wrapping
overflow, an accumulator that can overflow) :func:`dense_block` returns ``None`` and the caller
traces the generic casts. The result is checked against
:class:`~trigkit.firmware.emulate.FirmwareEmulator` by da4ml's interpreter and by Verilator (tests).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from trigkit.core.lazy import require
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer

__all__ = ["dense_block", "dense_last", "sum_range"]

_WIDE = 64  # integer bits of a truncation that must not wrap


def sum_range(layer: FirmwareLayer, in_t: FixedType) -> tuple[float, float]:
    """Exact bounds of ``x @ W.T + b`` over all inputs of type ``in_t`` (dyadic, float64-exact)."""
    assert layer.weight is not None and layer.bias is not None
    w = layer.weight.astype(np.float64)
    lo = layer.bias + np.minimum(w * in_t.min, w * in_t.max).sum(axis=1)
    hi = layer.bias + np.maximum(w * in_t.min, w * in_t.max).sum(axis=1)
    return float(lo.min()), float(hi.max())


def _rounding_of(src_frac: int, t: FixedType) -> float | None:
    """The constant that makes ``t``'s rounding a truncation (0 for none), None if unsupported."""
    if t.frac >= src_frac:
        return 0.0
    if t.rounding == "AP_TRN":
        return 0.0
    if t.rounding == "AP_RND":
        return 2.0 ** -(t.frac + 1)
    return None


def _covers(t: FixedType, lo: float, hi: float) -> bool:
    return t.min <= lo and hi <= t.max


def _exact_sum(dense: FirmwareLayer, in_t: FixedType) -> tuple[float, float, int] | None:
    """``(lo, hi, fraction bits)`` of the exact sum ``x @ W.T + b``; None when the accumulator
    would round or wrap it (then hls4ml's literal casts are traced)."""
    acc = dense.accum_t
    assert acc is not None and dense.weight_t is not None
    lo, hi = sum_range(dense, in_t)
    acc_frac = in_t.frac + dense.weight_t.frac
    if dense.bias_t is not None:
        acc_frac = max(acc_frac, dense.bias_t.frac)
    if not _covers(acc, lo, hi) or acc.frac < acc_frac:
        return None
    return lo, hi, acc_frac


def _plan(
    dense: FirmwareLayer, relu: FirmwareLayer, in_t: FixedType
) -> tuple[float, int, FixedType | None] | None:
    """(constant added to the sum, fraction bits kept, type whose maximum caps the output)."""
    res, act = dense.result_t, relu.result_t
    exact = _exact_sum(dense, in_t)
    if exact is None:
        return None
    lo, hi, acc_frac = exact
    res_rounds = res.frac < acc_frac
    act_rounds = act.frac < (res.frac if res_rounds else acc_frac)
    res_sat = res.overflow == "AP_SAT"
    if res_rounds and act_rounds:
        return None  # two roundings in a row do not compose into one
    if not res_sat and not _covers(res, lo, hi + 1.0):
        return None  # the dense output can wrap
    if act_rounds and res_sat and res.max < hi:
        return None  # saturate, then round: not one rounding and one cap
    if act.overflow != "AP_SAT" and act.max < min(res.max, hi + 1.0):
        return None  # the ReLU output can wrap
    if res_rounds:
        half, frac = _rounding_of(acc_frac, res), res.frac
    elif act_rounds:
        half, frac = _rounding_of(acc_frac, act), act.frac
    else:
        half, frac = 0.0, acc_frac
    if half is None:
        return None
    # when the ReLU type rounds, the dense type never saturates (checked above): only its cap counts
    candidates = (
        ((act, act.overflow == "AP_SAT"),)
        if act_rounds
        else ((res, res_sat), (act, act.overflow == "AP_SAT"))
    )
    caps = [t for t, sat in candidates if sat]
    cap = min(caps, key=lambda t: t.max) if caps else None
    if cap is not None and cap.frac < frac:
        return None  # the cap's maximum is not on the output grid
    return half, frac, cap


def _cap(r: Any, cap: FixedType) -> Any:  # noqa: ANN401 - da4ml FixedVariable in and out
    """``min(r, cap.max)`` for ``r >= 0`` by a bit test above ``2**I``."""
    if float(r.high) <= cap.max:
        return r
    top_bits = cap.kif[1]
    return _over(r, top_bits).msb_mux(cap.max, r.quantize(0, top_bits, cap.frac, "WRAP", "TRN"))


def _truncate(v: Any, frac: int) -> Any:  # noqa: ANN401 - da4ml FixedVariable in and out
    """``floor(v)`` on the grid ``2**-frac``. da4ml holds some sums negated (``v = -u``) and would
    negate ``u`` with a carry chain before truncating; ``floor(-u) = ~floor(u - lsb)`` (``lsb``:
    the grid of ``u``, so ``u - lsb`` joins the constant add) needs only a bitwise NOT.

    The NOT is ``-w - lsb`` only on a two's-complement ``w``: da4ml sizes ``w`` by its interval
    and drops the sign bit when ``u - lsb >= 0`` for every input (a sum that is always negative,
    e.g. a pruned row of negative weights on ReLU inputs with a negative bias); its NOT would then
    be ``2**I - lsb - w``, a positive number. Such a sum is truncated the plain way."""
    if v._factor > 0 or float(v.step) >= 2.0**-frac:
        return v.quantize(1, _WIDE, frac, "WRAP", "TRN")
    w = (-v - float(v.step)).quantize(1, _WIDE, frac, "WRAP", "TRN", _force_factor_clear=True)
    if not w.kif[0]:  # unsigned: no sign bit for the NOT to set
        return v.quantize(1, _WIDE, frac, "WRAP", "TRN")
    return ~w


def dense_block(x: Any, dense: FirmwareLayer, relu: FirmwareLayer, in_t: FixedType) -> Any:  # noqa: ANN401
    """``relu(dense(x))`` with hls4ml's casts, traced shallow; None when the identities
    don't hold."""
    plan = _plan(dense, relu, in_t)
    if plan is None:
        return None
    trace = require("da4ml.trace", "fpga")
    half, frac, cap = plan
    assert dense.weight is not None and dense.bias is not None
    s = x @ dense.weight.T.astype(np.float64) + (dense.bias + half)
    r = [_truncate(v, frac).relu() for v in s._vars.ravel()]
    if cap is not None:
        r = [_cap(v, cap) for v in r]
    r = trace.FixedVariableArray(
        np.array(r, dtype=object).reshape(s._vars.shape), s.solver_options, hwconf=s.hwconf
    )
    act = relu.result_t
    return r.quantize(*act.kif, "WRAP", "TRN")  # declares the ReLU type; every value fits it


def _over(r: Any, top_bits: int) -> Any:  # noqa: ANN401 - da4ml FixedVariable in and out
    """1 where ``r >= 2**top_bits`` for ``r >= 0``: an OR of the bits of weight >=
    ``2**top_bits``."""
    fv = require("da4ml.trace.fixed_variable", "fpga")
    top = r.quantize(0, _WIDE, -top_bits, "WRAP", "TRN", _force_factor_clear=True)
    # built directly: da4ml turns a one-bit OR-reduce into a slice whose msb_mux reads the wrong
    # bit of a scaled variable
    return fv.FixedVariable(
        0,
        1,
        1,
        hwconf=top.hwconf,
        opr="bit_unary",
        _data=Decimal(1),
        _from=(top,),
        _factor=abs(top._factor),
    )


def _clamp(t: Any, cap: FixedType) -> Any:  # noqa: ANN401
    """``t`` saturated to ``cap``'s range (``t`` on its grid), both bounds tested in parallel on
    bits: ``t > max`` iff a bit >= ``2**I`` of ``relu(t)`` is set, ``t < min`` iff one of
    ``relu(~t)`` is (``~t = -t - lsb``)."""
    top_bits = cap.kif[1]
    low = t.quantize(int(cap.signed), top_bits, cap.frac, "WRAP", "TRN")
    if float(t.low) < cap.min:
        low = _over((~t).relu(), top_bits).msb_mux(cap.min, low)
    if float(t.high) > cap.max:
        low = _over(t.relu(), top_bits).msb_mux(cap.max, low)
    return low


def dense_last(x: Any, dense: FirmwareLayer, in_t: FixedType) -> Any:  # noqa: ANN401
    """``dense(x)`` with its cast (no ReLU after it), traced shallow; None when identity 1 fails."""
    res = dense.result_t
    assert dense.weight is not None and dense.bias is not None
    exact = _exact_sum(dense, in_t)
    if exact is None or not res.signed:
        return None
    lo, hi, acc_frac = exact
    half = _rounding_of(acc_frac, res)
    if half is None:
        return None
    if res.overflow != "AP_SAT" and not _covers(res, lo, hi + 1.0):
        return None  # the output can wrap
    trace = require("da4ml.trace", "fpga")
    s = x @ dense.weight.T.astype(np.float64) + (dense.bias + half)
    frac = min(res.frac, acc_frac)
    # factor cleared: the bitwise NOT in _clamp must see the value, not a negated representation
    out = [
        _clamp(v.quantize(1, _WIDE, frac, "WRAP", "TRN", _force_factor_clear=True), res)
        for v in s._vars.ravel()
    ]
    y = trace.FixedVariableArray(
        np.array(out, dtype=object).reshape(s._vars.shape), s.solver_options, hwconf=s.hwconf
    )
    return y.quantize(*res.kif, "WRAP", "TRN")
