"""An fp16-typed copy of a float32 ONNX graph, for models that trigkit did not train.

Trigkit's own taggers get their fp16 graph from torch (:mod:`trigkit.compile.fp16`); a foreign
model has only its ONNX graph, so the graph itself is rewritten: every float32 initializer and
``Constant`` becomes float16 (round to nearest even, as numpy casts), ``Cast(to=FLOAT)`` becomes
``Cast(to=FLOAT16)``, and the float32 interface is kept with one ``Cast`` after each float input
and one before each float output. Weights and arithmetic are then float16 in onnxruntime and in
strongly typed TensorRT builders, and bundles, runners and references stay float32 at the edges.

Refused, each with one line naming the tensor or node: a weight beyond float16's range (it would
become inf) and QuantizeLinear / DequantizeLinear nodes (a QCDQ graph already carries its own
exact types; its scales must stay float32).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require

FP16_MAX = float(np.finfo(np.float16).max)  # 65504
_QDQ = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")


def to_fp16_graph(fp32: bytes, where: str) -> bytes:
    """The fp16-typed graph of the float32 ONNX bytes ``fp32`` (``where``: for error lines)."""
    onnx = require("onnx", "gpu")
    proto = onnx.load_model_from_string(fp32)
    g = proto.graph
    for node in g.node:
        if node.op_type in _QDQ:
            raise TrigkitError(
                f"{where}: node '{node.name or node.output[0]}' ({node.op_type}): a QCDQ graph "
                "keeps its own quantized types; --precision fp16 is not offered for it "
                "(use fp32, which runs its exact QDQ arithmetic)"
            )
    for i, init in enumerate(g.initializer):
        if init.data_type == onnx.TensorProto.FLOAT:
            g.initializer[i].CopyFrom(_half_tensor(init, where))
    for node in g.node:
        _retype_node(onnx, node, where)
    _cast_inputs(onnx, g)
    _cast_outputs(onnx, g)
    del g.value_info[:]
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def _half_tensor(tensor: Any, where: str, label: str = "") -> Any:
    """``tensor`` as float16; ``label`` names it in errors (default: its name)."""
    from onnx import numpy_helper

    values = numpy_helper.to_array(tensor)
    finite = values[np.isfinite(values)]
    if finite.size and float(np.max(np.abs(finite))) > FP16_MAX:
        what = label or f"tensor '{tensor.name}'"
        raise TrigkitError(
            f"{where}: {what} holds {float(np.max(np.abs(finite))):.4g}, beyond float16's "
            f"range ({FP16_MAX:g}); use --precision fp32"
        )
    return numpy_helper.from_array(values.astype(np.float16), tensor.name)


def _retype_node(onnx: Any, node: Any, where: str) -> None:
    for attr in node.attribute:
        if node.op_type == "Constant" and attr.name == "value":
            if attr.t.data_type == onnx.TensorProto.FLOAT:
                label = f"Constant node '{node.name or node.output[0]}'"
                attr.t.CopyFrom(_half_tensor(attr.t, where, label))
        elif node.op_type == "Cast" and attr.name == "to" and attr.i == onnx.TensorProto.FLOAT:
            attr.i = onnx.TensorProto.FLOAT16


def _is_float(onnx: Any, value: Any) -> bool:
    return bool(value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT)


def _cast_inputs(onnx: Any, g: Any) -> None:
    from onnx import helper

    casts = []
    for inp in g.input:
        if not _is_float(onnx, inp):
            continue
        half = f"{inp.name}__fp16"
        for node in g.node:
            node.input[:] = [half if i == inp.name else i for i in node.input]
        casts.append(helper.make_node("Cast", [inp.name], [half], to=onnx.TensorProto.FLOAT16))
    nodes = [*casts, *g.node]
    del g.node[:]
    g.node.extend(nodes)


def _cast_outputs(onnx: Any, g: Any) -> None:
    from onnx import helper

    for out in g.output:
        if not _is_float(onnx, out):
            continue
        half = f"{out.name}__fp16"
        for node in g.node:
            node.output[:] = [half if o == out.name else o for o in node.output]
            node.input[:] = [half if i == out.name else i for i in node.input]
        g.node.append(helper.make_node("Cast", [half], [out.name], to=onnx.TensorProto.FLOAT))
