"""The quantization nodes of an ONNX graph (QONNX ``Quant``, ``QuantizeLinear`` / ``Clip`` /
``DequantizeLinear``) for the graph walker of :mod:`trigkit.importers.onnx_import`.

A quantizer on a constant (a weight or a bias) puts the constant on its grid and records its
exact type; one on the chain tensor pins the type of the op before it (the input's when it
comes first). The types are those of :mod:`trigkit.importers.quant` and
:mod:`trigkit.importers.qcdq`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import FixedType
from trigkit.importers.graph import Op
from trigkit.importers.qcdq import code_bits, quantize_linear
from trigkit.importers.quant import (
    QDQ_WIDTHS,
    dequantize_codes,
    qdq_type,
    qdq_weight_type,
    qonnx_type,
    quantize_values,
)


class QuantNodes:
    """The walker's quantization state and the handlers of its quantization nodes."""

    source: Path
    consts: dict[str, np.ndarray]
    ops: list[Op]
    input_t: FixedType | None

    def init_quant(self) -> None:
        self.dtypes: dict[str, str] = {}  # initializer dtypes (QDQ zero points, int weights)
        self.weight_types: dict[str, FixedType] = {}  # quantized constants -> their type
        self.code_widths: dict[str, int] = {}  # clipped constant codes -> their width
        self.codes: str | None = None  # the chain tensor while it holds QuantizeLinear codes

    def where(self, node: Any) -> str:
        return f"{self.source}: node '{node.name or node.output[0]}' ({node.op_type})"

    def const(self, node: Any, index: int) -> np.ndarray:
        if len(node.input) <= index or node.input[index] not in self.consts:
            raise TrigkitError(f"{self.where(node)}: input {index} must be a constant")
        return self.consts[node.input[index]]

    def _quant_weight(self, node: Any) -> None:
        x, scale, zp, bw = (self.consts[i] for i in node.input[:4])
        t = qonnx_type(scale, zp, bw, attrs(node), self.where(node))
        self.consts[node.output[0]] = quantize_values(x, t)
        self.weight_types[node.output[0]] = t

    def _qdq_type(self, node: Any) -> FixedType:
        zp = node.input[2] if len(node.input) > 2 and node.input[2] else None
        dtype = self.dtypes.get(zp, "uint8") if zp else "uint8"
        if node.op_type == "DequantizeLinear" and zp is None:
            dtype = self.dtypes.get(node.input[0], "uint8")
        zero = self.consts[zp] if zp else None
        return qdq_type(self.const(node, 1), zero, dtype, self.where(node))

    def _dequant_weight(self, node: Any) -> None:
        """A quantized constant: exact values, per-tensor or per-channel power-of-two scales."""
        zp = node.input[2] if len(node.input) > 2 and node.input[2] else None
        dtype = self.dtypes.get(zp or node.input[0], "uint8")
        zero = self.consts[zp] if zp else None
        scale, where = self.const(node, 1), self.where(node)
        t = qdq_weight_type(scale, zero, dtype, where, self.code_widths.get(node.input[0]))
        axis = int(attrs(node).get("axis", 1))
        values = dequantize_codes(self.consts[node.input[0]], scale, axis, where)
        self.consts[node.output[0]] = values
        self.weight_types[node.output[0]] = t

    def _codes_const(self, node: Any) -> None:
        """A constant's QuantizeLinear codes, or a Clip of them (its range sets their width)."""
        where, out = self.where(node), node.output[0]
        if node.op_type == "QuantizeLinear":
            zp = node.input[2] if len(node.input) > 2 and node.input[2] else None
            dtype = self.dtypes.get(zp, "uint8") if zp else "uint8"
            axis = int(attrs(node).get("axis", 1))
            zero = self.consts[zp] if zp else None
            codes = quantize_linear(
                self.consts[node.input[0]], self.const(node, 1), zero, dtype, axis, where
            )
            self.consts[out], self.dtypes[out] = codes, dtype
            return
        lo, hi = self._clip_bounds(node)
        dtype = self.dtypes.get(node.input[0], "float32")
        if dtype not in QDQ_WIDTHS or lo is None or hi is None:
            raise TrigkitError(f"{where}: a Clip of a constant must clip QuantizeLinear codes")
        self.consts[out] = np.clip(self.consts[node.input[0]], lo, hi)
        self.dtypes[out] = dtype
        self.code_widths[out] = code_bits(lo, hi, not dtype.startswith("u"))

    def _clip_bounds(self, node: Any) -> tuple[float | None, float | None]:
        a = attrs(node)
        lo = float(self.const(node, 1)) if len(node.input) > 1 and node.input[1] else a.get("min")
        hi = float(self.const(node, 2)) if len(node.input) > 2 and node.input[2] else a.get("max")
        return lo, hi

    def _op_quant(self, node: Any) -> None:
        scale, zp, bw = (self.const(node, i) for i in (1, 2, 3))
        self._pin_result(node, qonnx_type(scale, zp, bw, attrs(node), self.where(node)))

    def _op_quantizelinear(self, node: Any) -> None:
        self._pin_result(node, self._qdq_type(node))
        self.codes = node.output[0]

    def _op_dequantizelinear(self, node: Any) -> None:
        """Back to float: the QuantizeLinear (and Clip) before it has set the type."""
        self.codes = None

    def _repin(self, t: FixedType) -> None:
        if not self.ops:
            self.input_t = t
        else:
            self.ops[-1] = replace(self.ops[-1], result_t=t)

    def _pin_result(self, node: Any, t: FixedType) -> None:
        if not self.ops:
            self.input_t = t
            return
        last = self.ops[-1]
        if last.result_t is not None:
            raise TrigkitError(f"{self.where(node)}: two Quant nodes in a row")
        self.ops[-1] = replace(last, result_t=t)


def attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute} | {
        k: v.decode()
        for a in node.attribute
        for k, v in [(a.name, helper.get_attribute_value(a))]
        if isinstance(v, bytes)
    }
