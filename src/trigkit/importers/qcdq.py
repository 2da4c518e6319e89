"""The integer side of ONNX QCDQ (``QuantizeLinear -> Clip -> DequantizeLinear``), as Brevitas
exports it.

Brevitas writes a quantizer narrower than its 8- or 32-bit integer type as a ``Clip`` of the
codes between the ``QuantizeLinear`` and the ``DequantizeLinear``, and may leave a weight as a
float constant quantized by a ``QuantizeLinear`` in the graph. Here:

- :func:`quantize_linear`: ``QuantizeLinear`` of a constant (round half to even, saturate to
  the integer type), per tensor or per ``axis`` channel;
- :func:`clip_codes_type`: an activation type after a ``Clip`` of its codes: a ``b``-bit range
  ``[-2**(b-1), 2**(b-1) - 1]`` or ``[0, 2**b - 1]`` is ``b`` wide; a narrow or asymmetric
  range has no ``ap_fixed`` equivalent and is refused naming the node;
- :func:`code_bits`: the width that holds a clipped constant's codes (any range: weights are
  exact values, so their type only has to hold them).
"""

from __future__ import annotations

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import FixedType
from trigkit.importers.quant import QDQ_WIDTHS, channel_shaped

_INT = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16}
_INT |= {"int32": np.int32, "uint32": np.uint32}


def quantize_linear(
    values: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray | None,
    dtype: str,
    axis: int,
    where: str,
) -> np.ndarray:
    """The integer codes (as float64) ``QuantizeLinear`` gives a constant."""
    if dtype not in _INT:
        raise TrigkitError(f"{where}: {dtype} quantization; valid: {', '.join(QDQ_WIDTHS)}")
    v = np.asarray(values, dtype=np.float64)
    s = channel_shaped(np.asarray(scale, dtype=np.float64), v.shape, axis, where)
    z = np.zeros(1) if zero_point is None else np.ravel(np.asarray(zero_point, dtype=np.float64))
    z = z.reshape(s.shape) if s.size > 1 and z.size == s.size else z
    info = np.iinfo(_INT[dtype])
    return np.clip(np.rint(v / s) + z, info.min, info.max)


def clip_codes_type(t: FixedType, lo: float, hi: float, where: str) -> FixedType:
    """``t`` (the type of a QuantizeLinear's codes) after ``Clip(lo, hi)`` of the codes."""
    if lo <= t.min_code and hi >= t.max_code:
        return t  # clips nothing
    for signed in (True, False):
        for bits in range(2 if signed else 1, t.width + 1):
            f = FixedType(bits, bits - t.frac, signed, t.rounding, t.overflow)
            if (lo, hi) == (f.min_code, f.max_code):
                return f
    raise TrigkitError(
        f"{where}: Clip({lo:g}, {hi:g}) of {t.width}-bit codes has no ap_fixed equivalent (a "
        "narrow or asymmetric range); valid: [-2**(b-1), 2**(b-1) - 1] or [0, 2**b - 1]"
    )


def code_bits(lo: float, hi: float, signed: bool) -> int:
    """The width of an integer type (signed or not) holding every code in ``[lo, hi]``."""
    lo, hi = int(lo), int(hi)
    if not signed:
        return max(hi.bit_length(), 1)
    return max((-lo - 1).bit_length() if lo < 0 else 0, hi.bit_length() if hi > 0 else 0) + 1
