"""An ONNX graph from an :class:`ImportedModel`'s ops (for sources that are not ONNX: Keras).

Dense -> Gemm (MatMul + Add per constituent), ReLU / LeakyReLU / ReLU6 (Clip) / Softmax /
Sigmoid, pooling -> ReduceSum / ReduceMean over the constituent axis; dynamic batch axis. A type
the source pins (QKeras / QONNX) becomes a fake-quantizer in float: ``Mul(2**f)``, its rounding
(``Round`` is half to even; ``Floor``), ``Clip`` to the codes, ``Mul(2**-f)``.
"""

from __future__ import annotations

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.fixedpoint.fixed import FixedType
from trigkit.importers.graph import ImportedModel, Op

OPSET = 17
OUTPUT = "output"


def build_onnx(model: ImportedModel) -> bytes:
    onnx = require("onnx", "gpu")
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    cur = model.input.name
    if model.channels_first:
        nodes.append(helper.make_node("Transpose", [cur], ["nf"], perm=[0, 2, 1]))
        cur = "nf"
    if model.input_t is not None:
        nodes += _fake_quant(helper, numpy_helper, model.input_t, cur, "xq", "in", inits)
        cur = "xq"
    for i, op in enumerate(model.ops):
        out = OUTPUT if i == len(model.ops) - 1 and op.result_t is None else f"t{i}"
        nodes += _nodes(helper, numpy_helper, op, cur, out, f"op{i}", inits)
        cur = out
        if op.result_t is not None:
            out = OUTPUT if i == len(model.ops) - 1 else f"t{i}q"
            nodes += _fake_quant(helper, numpy_helper, op.result_t, cur, out, f"q{i}", inits)
            cur = out
    dims = ["batch", *model.input.shape]
    graph = helper.make_graph(
        nodes,
        model.name,
        [helper.make_tensor_value_info(model.input.name, TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", model.n_outputs])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def _fake_quant(  # type: ignore[no-untyped-def]
    helper, numpy_helper, t: FixedType, x: str, y: str, p: str, inits: list
) -> list:
    if t.overflow != "AP_SAT":
        raise TrigkitError(f"{t.hls()}: only saturating pinned types become ONNX fake-quantizers")

    def const(name: str, v: float) -> str:
        inits.append(numpy_helper.from_array(np.array(v, dtype=np.float32), f"{p}_{name}"))
        return f"{p}_{name}"

    up, down = const("up", 2.0**t.frac), const("down", 2.0**-t.frac)
    nodes = [helper.make_node("Mul", [x, up], [f"{p}_s"])]
    if t.rounding == "AP_RND_CONV":
        nodes.append(helper.make_node("Round", [f"{p}_s"], [f"{p}_r"]))
    else:
        half = const("half", 0.5 if t.rounding == "AP_RND" else 0.0)
        nodes += [
            helper.make_node("Add", [f"{p}_s", half], [f"{p}_h"]),
            helper.make_node("Floor", [f"{p}_h"], [f"{p}_r"]),
        ]
    lo, hi = const("lo", float(t.min_code)), const("hi", float(t.max_code))
    return [
        *nodes,
        helper.make_node("Clip", [f"{p}_r", lo, hi], [f"{p}_c"]),
        helper.make_node("Mul", [f"{p}_c", down], [y]),
    ]


def _nodes(  # type: ignore[no-untyped-def]
    helper, numpy_helper, op: Op, x: str, y: str, p: str, inits: list
) -> list:
    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(arr, f"{p}_{name}"))
        return f"{p}_{name}"

    if op.kind == "dense":
        w = np.asarray(op.weight, dtype=np.float32)
        b = np.asarray(op.bias, dtype=np.float32)
        if not op.per_constituent:
            return [helper.make_node("Gemm", [x, const("W", w), const("b", b)], [y], transB=1)]
        mm = f"{p}_mm"
        return [
            helper.make_node("MatMul", [x, const("W", w.T.copy())], [mm]),
            helper.make_node("Add", [mm, const("b", b)], [y]),
        ]
    if op.kind == "conv1d":  # ONNX Conv reads [batch, n_in, n_const]
        w = np.asarray(op.weight, dtype=np.float32)
        b = np.asarray(op.bias, dtype=np.float32)
        t_in, t_out = f"{p}_fn", f"{p}_conv"
        return [
            helper.make_node("Transpose", [x], [t_in], perm=[0, 2, 1]),
            helper.make_node(
                "Conv", [t_in, const("W", w), const("b", b)], [t_out], pads=list(op.pads)
            ),
            helper.make_node("Transpose", [t_out], [y], perm=[0, 2, 1]),
        ]
    if op.kind in ("sum_pool", "mean_pool"):
        if op.kind == "sum_pool":
            axes = const("axes", np.array([1], dtype=np.int64))
            return [helper.make_node("ReduceSum", [x, axes], [y], keepdims=0)]
        return [helper.make_node("ReduceMean", [x], [y], axes=[1], keepdims=0)]
    if op.kind == "leaky_relu":
        return [helper.make_node("LeakyRelu", [x], [y], alpha=op.alpha)]
    if op.kind == "relu6":
        lo, hi = const("lo", np.array(0, np.float32)), const("hi", np.array(6, np.float32))
        return [helper.make_node("Clip", [x, lo, hi], [y])]
    kind = {"relu": "Relu", "softmax": "Softmax", "sigmoid": "Sigmoid", "linear": "Identity"}
    kw = {"axis": -1} if op.kind == "softmax" else {}
    return [helper.make_node(kind[op.kind], [x], [y], **kw)]
