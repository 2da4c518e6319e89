"""Quantized sources keep their exact fixed-point semantics (QKeras quantizers, QONNX Quant)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.importers import writers
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.fixed import FixedType
from trigkit.importers import import_model
from trigkit.importers.firmware import to_firmware_network
from trigkit.importers.quant import qkeras_type

QUANT = {
    "kernel": "quantized_bits(6,0,alpha=1)",
    "bias": "quantized_bits(8,2,alpha=1)",
    "act": "quantized_relu(6,2)",
}


def _q(x: np.ndarray, frac: int, lo: float, hi: float, half_up: bool = False) -> np.ndarray:
    """Independent reference: round to 2**-frac (half to even, or half up), clip to [lo, hi]."""
    s = np.ldexp(np.asarray(x, dtype=np.float64), frac)
    r = np.floor(s + 0.5) if half_up else np.rint(s)
    return np.clip(np.ldexp(r, -frac), lo, hi)


def test_qkeras_quantizer_types() -> None:
    assert qkeras_type("quantized_bits(6,0,alpha=1)", "l") == FixedType(
        6, 1, True, "AP_RND_CONV", "AP_SAT"
    )
    assert qkeras_type("quantized_bits(8, 3, 0, 0, alpha=1)", "l").hls() == (
        "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"
    )
    assert qkeras_type(
        {"class_name": "quantized_relu", "config": {"bits": 4, "integer": 1}}, "l"
    ) == FixedType(4, 1, False, "AP_RND_CONV", "AP_SAT")
    with pytest.raises(TrigkitError, match="l: quantized_bits\\(alpha=auto_po2\\)"):
        qkeras_type("quantized_bits(6,0,alpha=auto_po2)", "l")
    with pytest.raises(TrigkitError, match="symmetric=1"):
        qkeras_type("quantized_bits(6,0,1,alpha=1)", "l")
    with pytest.raises(TrigkitError, match="quantizer 'binary' unsupported"):
        qkeras_type("binary()", "l")


@pytest.mark.parametrize("writer", [writers.write_keras, writers.write_keras_h5])
def test_qkeras_model_is_bit_exact(
    tmp_path: Path, writer: Callable[..., Path], calib: np.ndarray
) -> None:
    torch_mlp = writers.mlp((16, 12, 8, 3), softmax=False, seed=4)
    path = writer(
        torch_mlp, tmp_path / f"q{'.keras' if 'h5' not in writer.__name__ else '.h5'}", 16, QUANT
    )
    model = import_model(path)
    net = to_firmware_network(model, calib)
    dense = [layer for layer in net.layers if layer.kind == "dense"]
    assert {d.weight_t.hls() for d in dense} == {"ap_fixed<6,1,AP_RND_CONV,AP_SAT>"}
    relus = [layer for layer in net.layers if layer.kind == "relu"]
    assert {r.result_t.hls() for r in relus} == {"ap_ufixed<6,2,AP_RND_CONV,AP_SAT>"}
    # independent numpy fixed-point forward pass of the QKeras semantics
    it = net.input_t
    h = _q(calib, it.frac, it.min, it.max, half_up=True)
    lins = [m for m in torch_mlp if hasattr(m, "weight")]
    for i, lin in enumerate(lins):
        w = _q(lin.weight.detach().double().numpy(), 5, -1.0, 1 - 2**-5)
        b = _q(lin.bias.detach().double().numpy(), 5, -4.0, 4 - 2**-5)
        h = h @ w.T + b
        if i < len(lins) - 1:
            h = _q(np.maximum(h, 0), 4, 0.0, 4 - 2**-4)
    got = FirmwareEmulator(net).predict(calib)
    assert np.array_equal(got, h)


def _qonnx(tmp_path: Path, scale: float) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def c(name: str, v: object) -> onnx.TensorProto:
        return numpy_helper.from_array(np.asarray(v, dtype=np.float32), name)

    inits = [
        c("s_in", 2.0**-4),
        c("zp", 0.0),
        c("bw8", 8.0),
        c("s_w", scale),
        c("bw6", 6.0),
        c("W", rng.uniform(-0.9, 0.9, (5, 3))),
        c("b", rng.uniform(-1, 1, 3)),
        c("s_a", 2.0**-3),
        c("W2", rng.uniform(-0.9, 0.9, (3, 2))),
        c("b2", np.zeros(2)),
    ]
    dom = "qonnx.custom_op.general"
    nodes = [
        helper.make_node("Quant", ["x", "s_in", "zp", "bw8"], ["xq"], domain=dom, signed=1),
        helper.make_node("Quant", ["W", "s_w", "zp", "bw6"], ["Wq"], domain=dom, signed=1),
        helper.make_node("MatMul", ["xq", "Wq"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["z"]),
        helper.make_node("Relu", ["z"], ["r"]),
        helper.make_node("Quant", ["r", "s_a", "zp", "bw6"], ["rq"], domain=dom, signed=0),
        helper.make_node("Gemm", ["rq", "W2", "b2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "q",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(dom, 1)]
    )
    path = tmp_path / "q.onnx"
    onnx.save(model, str(path))
    return path


def test_qonnx_quant_nodes_pin_types(tmp_path: Path) -> None:
    model = import_model(_qonnx(tmp_path, 2.0**-5))
    assert model.input_t == FixedType(8, 4, True, "AP_RND_CONV", "AP_SAT")
    dense = model.ops[0]
    assert dense.weight_t == FixedType(6, 1, True, "AP_RND_CONV", "AP_SAT")
    assert np.all(np.ldexp(dense.weight, 5) == np.rint(np.ldexp(dense.weight, 5)))
    assert model.ops[1].kind == "relu"
    assert model.ops[1].result_t == FixedType(6, 3, False, "AP_RND_CONV", "AP_SAT")
    x = np.random.default_rng(1).normal(size=(300, 5))
    net = to_firmware_network(model, x)
    assert net.input_t == model.input_t
    assert net.layers[1].result_t == model.ops[1].result_t


def test_qonnx_scale_not_power_of_two(tmp_path: Path) -> None:
    with pytest.raises(
        TrigkitError,
        match=r"node 'Wq' \(Quant\): quantizer scale 0.03 is not a "
        "power of two",
    ):
        import_model(_qonnx(tmp_path, 0.03))
    assert math.frexp(0.03)[0] != 0.5


def _qcdq(tmp_path: Path, w_scale: float = 2.0**-5) -> Path:
    """A Brevitas-style QCDQ graph (QuantizeLinear/DequantizeLinear) onnxruntime can run."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(4)

    def c(name: str, v: object, dtype: type = np.float32) -> onnx.TensorProto:
        return numpy_helper.from_array(np.asarray(v, dtype=dtype), name)

    inits = [
        c("s_in", 2.0**-4),
        c("zp8", 0, np.int8),
        c("s_w", w_scale),
        c("s_a", 2.0**-3),
        c("zpu8", 0, np.uint8),
        c("W1c", rng.integers(-100, 100, (6, 4)), np.int8),
        c("b1", rng.integers(-40, 40, 4) * 2.0**-4),
        c("s_w2", 2.0**-6),
        c("W2c", rng.integers(-100, 100, (3, 4)), np.int8),
        c("s_b2", 2.0**-9),
        c("zp32", 0, np.int32),
        c("b2c", rng.integers(-900, 900, 3), np.int32),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s_in", "zp8"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s_in", "zp8"], ["xd"]),
        helper.make_node("DequantizeLinear", ["W1c", "s_w", "zp8"], ["W1"]),
        helper.make_node("MatMul", ["xd", "W1"], ["m"]),
        helper.make_node("Add", ["m", "b1"], ["z"]),
        helper.make_node("Relu", ["z"], ["r"]),
        helper.make_node("QuantizeLinear", ["r", "s_a", "zpu8"], ["rq"]),
        helper.make_node("DequantizeLinear", ["rq", "s_a", "zpu8"], ["rd"]),
        helper.make_node("DequantizeLinear", ["W2c", "s_w2", "zp8"], ["W2"]),
        helper.make_node("DequantizeLinear", ["b2c", "s_b2", "zp32"], ["b2"]),
        helper.make_node("Gemm", ["rd", "W2", "b2"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "qcdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "qcdq.onnx"
    onnx.save(model, str(path))
    return path


def test_qcdq_graph_is_bit_exact_with_onnxruntime(tmp_path: Path) -> None:
    path = _qcdq(tmp_path)
    model = import_model(path)
    assert model.input_t == FixedType(8, 4, True, "AP_RND_CONV", "AP_SAT")
    assert model.ops[0].weight_t == FixedType(8, 3, True, "AP_RND_CONV", "AP_SAT")
    assert model.ops[1].result_t == FixedType(8, 5, False, "AP_RND_CONV", "AP_SAT")
    assert model.ops[2].bias_t == FixedType(32, 23, True, "AP_RND_CONV", "AP_SAT")
    x = np.random.default_rng(5).normal(scale=3.0, size=(2000, 6)).astype(np.float32)
    x = x.astype(np.float64)
    net = to_firmware_network(model, x)
    got = FirmwareEmulator(net).predict(x)
    assert np.array_equal(got, writers.ort(path, x))  # float32 onnxruntime is exact here


def test_qcdq_scale_not_power_of_two(tmp_path: Path) -> None:
    with pytest.raises(TrigkitError, match=r"\(DequantizeLinear\): quantizer scale 0.03 is not a"):
        import_model(_qcdq(tmp_path, w_scale=0.03))


def test_reference_applies_pinned_types_like_onnxruntime(tmp_path: Path) -> None:
    path = _qcdq(tmp_path)
    x = np.random.default_rng(6).normal(scale=3.0, size=(500, 6)).astype(np.float32)
    from trigkit.importers import forward

    assert np.array_equal(forward(import_model(path), x.astype(np.float64)), writers.ort(path, x))


@pytest.mark.parametrize("source", ["qonnx", "qkeras"])
def test_quantized_gpu_graph_keeps_the_types(tmp_path: Path, source: str) -> None:
    """The GPU graph of a QONNX / QKeras model (built from the ops with float fake-quantizers,
    since onnxruntime cannot run Quant nodes) computes the source's quantized function."""
    import onnx

    from trigkit.compile.targets.imported import gpu_graph
    from trigkit.importers import forward

    if source == "qonnx":
        path = _qonnx(tmp_path, 2.0**-5)
    else:
        path = writers.write_keras(
            writers.mlp((16, 12, 3), softmax=False, seed=2), tmp_path / "q.keras", 16, QUANT
        )
    model = import_model(path)
    onnx_path = tmp_path / "gpu.onnx"
    onnx_path.write_bytes(gpu_graph(model))
    ops = [n.op_type for n in onnx.load(str(onnx_path)).graph.node]
    assert ops.count("Round") == (2 if source == "qonnx" else 1)  # input + relu / relu
    x = np.random.default_rng(8).normal(size=(400, model.input.shape[0]))
    want = forward(model, x)
    assert np.max(np.abs(writers.ort(onnx_path, x) - want)) < 1e-5
    plain = forward(
        replace(model, input_t=None, ops=tuple(replace(o, result_t=None) for o in model.ops)), x
    )
    assert np.max(np.abs(plain - want)) > 1e-3  # the types do change the function
