"""Quantizers of other tools -> exact :class:`FixedType` s.

- QKeras ``quantized_bits(bits, integer, keep_negative, alpha=1)``: ``bits`` wide with
  ``integer`` integer bits *excluding* the sign, so ``ap_fixed<bits, integer + 1>`` (signed)
  or ``ap_ufixed<bits, integer>``; values are rounded to nearest and clipped (AP_RND_CONV,
  AP_SAT). ``quantized_relu(bits, integer)`` is ``ap_ufixed<bits, integer>``.
- QONNX ``Quant(x, scale, zero_point, bitwidth)``: a power-of-two per-tensor ``scale = 2**-f``,
  zero point 0 and not narrow: ``ap_fixed<bitwidth, bitwidth - f>``.
- ONNX QCDQ (``QuantizeLinear`` / ``DequantizeLinear``, as Brevitas exports): power-of-two
  scales, zero point 0. Weights may have one scale per channel ``2**-f_c``: their values
  ``code * 2**-f_c`` are then all exact in one type with ``max f_c`` fractional bits and
  ``width - min f_c`` integer bits (``width + max f_c - min f_c`` wide).

Anything else (an alpha other than 1, a non-power-of-two scale, a narrow range) has no
``ap_fixed`` equivalent and is refused naming the layer.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import FixedType

QKERAS_QUANTIZERS = ("quantized_bits", "quantized_relu")
_CALL = re.compile(r"^\s*(\w+)\s*\((.*)\)\s*$")


def pow2_exponent(scale: float, where: str) -> int:
    """``e`` with ``scale == 2**e`` exactly; TrigkitError otherwise."""
    s = float(scale)
    if not math.isfinite(s) or s <= 0:
        raise TrigkitError(f"{where}: quantizer scale {s} must be a positive power of two")
    mant, exp = math.frexp(s)
    if mant != 0.5:
        raise TrigkitError(
            f"{where}: quantizer scale {s:g} is not a power of two; ap_fixed types need "
            "scale = 2**-k (retrain with power-of-two scales, e.g. QKeras alpha=1 or "
            "Brevitas scaling_impl_type='po2')"
        )
    return exp - 1


def qonnx_type(
    scale: np.ndarray,
    zero_point: np.ndarray,
    bitwidth: np.ndarray,
    attrs: dict[str, Any],
    where: str,
) -> FixedType:
    """The ap_fixed type of a QONNX ``Quant`` node."""
    if np.size(scale) != 1 or np.size(zero_point) != 1 or np.size(bitwidth) != 1:
        raise TrigkitError(f"{where}: per-channel Quant parameters; only per-tensor is supported")
    if float(np.ravel(zero_point)[0]) != 0.0:
        raise TrigkitError(f"{where}: Quant zero_point must be 0 for an ap_fixed type")
    bits = float(np.ravel(bitwidth)[0])
    if bits != int(bits) or not 2 <= bits <= 32:
        raise TrigkitError(f"{where}: Quant bitwidth {bits:g}; valid: integers 2..32")
    if int(attrs.get("narrow", 0)):
        raise TrigkitError(f"{where}: narrow-range Quant has no ap_fixed equivalent; use narrow=0")
    rounding = str(attrs.get("rounding_mode", "ROUND")).upper()
    modes = {"ROUND": "AP_RND_CONV", "FLOOR": "AP_TRN"}
    if rounding not in modes:
        raise TrigkitError(f"{where}: Quant rounding_mode '{rounding}'; valid: ROUND, FLOOR")
    frac = -pow2_exponent(float(np.ravel(scale)[0]), where)
    signed = bool(int(attrs.get("signed", 1)))
    width = int(bits)
    mode = modes[rounding]
    return FixedType(width, width - frac, signed, mode, "AP_SAT")  # type: ignore[arg-type]


QDQ_WIDTHS = {"int8": 8, "uint8": 8, "int16": 16, "uint16": 16, "int32": 32, "uint32": 32}


def qdq_type(scale: np.ndarray, zero_point: np.ndarray | None, dtype: str, where: str) -> FixedType:
    """The ap_fixed type of an ONNX QuantizeLinear / DequantizeLinear pair (QCDQ, Brevitas).

    ``dtype``: the zero point's integer type (uint8 when absent). Per-tensor power-of-two
    scale, zero point 0; rounding half to even and saturation, as QuantizeLinear does.
    """
    if dtype not in QDQ_WIDTHS:
        raise TrigkitError(f"{where}: {dtype} quantization; valid: {', '.join(QDQ_WIDTHS)}")
    if np.size(scale) != 1:
        raise TrigkitError(
            f"{where}: per-channel scales on an activation; one ap_fixed type needs one scale "
            "(per-channel scales are supported on weights and biases)"
        )
    return qdq_weight_type(scale, zero_point, dtype, where)


def qdq_weight_type(
    scale: np.ndarray,
    zero_point: np.ndarray | None,
    dtype: str,
    where: str,
    code_width: int | None = None,
) -> FixedType:
    """The ap_fixed type holding every value of a DequantizeLinear'd constant exactly.

    ``scale``: one per tensor or one per channel, each a power of two (the offending channel
    and scale are named otherwise). ``code_width``: the codes' width when a ``Clip`` narrowed
    them (:mod:`trigkit.importers.qcdq`), else the integer type's.
    """
    if dtype not in QDQ_WIDTHS:
        raise TrigkitError(f"{where}: {dtype} quantization; valid: {', '.join(QDQ_WIDTHS)}")
    if zero_point is not None and np.any(np.asarray(zero_point) != 0):
        raise TrigkitError(f"{where}: zero point must be 0 for an ap_fixed type")
    scales = np.ravel(np.asarray(scale, dtype=np.float64))
    if scales.size == 0:
        raise TrigkitError(f"{where}: empty scale tensor")
    per_channel = scales.size > 1
    exps = [
        pow2_exponent(float(s), f"{where}: channel {c}" if per_channel else where)
        for c, s in enumerate(scales)
    ]
    width, lo, hi = code_width or QDQ_WIDTHS[dtype], -max(exps), -min(exps)  # frac bits
    signed = not dtype.startswith("u")
    return FixedType(width + hi - lo, width - lo, signed, "AP_RND_CONV", "AP_SAT")


def dequantize_codes(codes: np.ndarray, scale: np.ndarray, axis: int, where: str) -> np.ndarray:
    """``codes * scale`` (DequantizeLinear, zero point 0), per tensor or per ``axis`` channel."""
    c = np.asarray(codes, dtype=np.float64)
    return c * channel_shaped(np.asarray(scale, dtype=np.float64), c.shape, axis, where)


def channel_shaped(v: np.ndarray, shape: tuple[int, ...], axis: int, where: str) -> np.ndarray:
    """A QDQ scale or zero point ``v`` shaped to broadcast over a tensor of ``shape``: one value
    as is (flat), one per channel along ``axis``, or a one-line error naming ``where``."""
    v = np.ravel(v)
    if v.size == 1:
        return v
    ax = axis if axis >= 0 else axis + len(shape)
    if not 0 <= ax < len(shape) or shape[ax] != v.size:
        raise TrigkitError(
            f"{where}: {v.size} per-channel scales do not match axis {axis} of a tensor of "
            f"shape {shape}"
        )
    out = [1] * len(shape)
    out[ax] = v.size
    return v.reshape(out)


def qkeras_type(spec: Any, where: str) -> FixedType | None:
    """The ap_fixed type of a QKeras quantizer (string or serialized dict); None if absent."""
    if spec is None or spec == "" or spec == "None":
        return None
    name, kw = _parse_quantizer(spec, where)
    if name not in QKERAS_QUANTIZERS:
        raise TrigkitError(
            f"{where}: QKeras quantizer '{name}' unsupported; valid: {', '.join(QKERAS_QUANTIZERS)}"
        )
    bits, integer = int(kw.get("bits", 8)), int(kw.get("integer", 0))
    alpha = kw.get("alpha", 1 if name == "quantized_bits" else None)
    if alpha not in (None, 1, 1.0, "1"):
        raise TrigkitError(
            f"{where}: {name}(alpha={alpha}) scales by a learned factor; only alpha=1 maps to an "
            "exact ap_fixed type"
        )
    if kw.get("use_stochastic_rounding"):
        raise TrigkitError(f"{where}: {name}(use_stochastic_rounding=True) is not deterministic")
    if int(kw.get("symmetric", 0)) and name == "quantized_bits":
        raise TrigkitError(
            f"{where}: quantized_bits(symmetric=1) clips to [-max, max], which no ap_fixed type "
            "does; use symmetric=0"
        )
    if name == "quantized_relu":
        for key, plain in (("negative_slope", 0), ("use_sigmoid", 0), ("relu_upper_bound", None)):
            if kw.get(key, plain) != plain:
                raise TrigkitError(
                    f"{where}: quantized_relu({key}={kw[key]}) has no ap_ufixed equivalent; "
                    f"use {key}={plain}"
                )
        return FixedType(bits, integer, False, "AP_RND_CONV", "AP_SAT")
    signed = bool(int(kw.get("keep_negative", 1)))
    return FixedType(bits, integer + int(signed), signed, "AP_RND_CONV", "AP_SAT")


def _parse_quantizer(spec: Any, where: str) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, dict):
        cfg = dict(spec.get("config", {}))
        return str(spec.get("class_name", "")), cfg
    m = _CALL.match(str(spec))
    if not m:
        raise TrigkitError(f"{where}: cannot read the quantizer '{spec}'")
    name, args = m.group(1), [a.strip() for a in m.group(2).split(",") if a.strip()]
    order = ("bits", "integer", "symmetric", "keep_negative")
    kw: dict[str, Any] = {}
    for i, arg in enumerate(args):
        key, _, val = arg.partition("=") if "=" in arg else (order[min(i, 3)], "", arg)
        kw[key.strip()] = _literal(val.strip())
    return name, kw


def _literal(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text.strip("'\"")


def quantize_values(values: np.ndarray, t: FixedType) -> np.ndarray:
    """``values`` cast to ``t`` (float64 on its grid): its rounding, then saturation or wrap.

    Plain float64 numpy, independent of the numba kernels (NaN is left NaN).
    """
    s = np.ldexp(np.asarray(values, dtype=np.float64), t.frac)
    if t.rounding == "AP_TRN":
        codes = np.floor(s)
    elif t.rounding == "AP_RND":
        codes = np.floor(s + 0.5)
    else:
        codes = np.rint(s)
    if t.overflow == "AP_SAT":
        codes = np.clip(codes, t.min_code, t.max_code)
    else:
        span = float(t.max_code - t.min_code + 1)
        codes = np.mod(codes - t.min_code, span) + t.min_code
    return np.ldexp(codes, -t.frac)
