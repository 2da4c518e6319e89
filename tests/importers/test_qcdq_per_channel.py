"""Brevitas-style QCDQ with one power-of-two scale per output channel keeps its exact semantics.

The graph is run by onnxruntime from the original file (the independent reference); the
imported firmware network must give the same numbers bit for bit (float32 is exact here: every
sum holds fewer than 24 significant bits).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.importers import writers
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.fixed import FixedType
from trigkit.importers import forward, import_model
from trigkit.importers.firmware import to_firmware_network

W1_EXP = (-3, -5, -7, -4)  # one scale 2**e per output channel of the MatMul (axis 1)
W2_EXP = (-4, -8, -6)  # per output channel of the Gemm (transB: axis 0)


def _per_channel(tmp_path: Path, w1_scales: np.ndarray | None = None) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(11)
    s1 = np.ldexp(1.0, np.array(W1_EXP)) if w1_scales is None else w1_scales
    s2 = np.ldexp(1.0, np.array(W2_EXP))

    def c(name: str, v: object, dtype: type = np.float32) -> onnx.TensorProto:
        return numpy_helper.from_array(np.asarray(v, dtype=dtype), name)

    inits = [
        c("s_in", 2.0**-4),
        c("zp8", 0, np.int8),
        c("s_w1", s1),
        c("zp_w1", np.zeros(4), np.int8),
        c("W1c", rng.integers(-120, 120, (6, 4)), np.int8),
        c("b1", rng.integers(-40, 40, 4) * 2.0**-4),
        c("s_a", 2.0**-3),
        c("zpu8", 0, np.uint8),
        c("s_w2", s2),
        c("zp_w2", np.zeros(3), np.int8),
        c("W2c", rng.integers(-120, 120, (3, 4)), np.int8),
        c("s_b2", s2 * 2.0**-3),  # Brevitas: bias scale = input scale x weight scale
        c("zp_b2", np.zeros(3), np.int32),
        c("b2c", rng.integers(-900, 900, 3), np.int32),
    ]
    dq = "DequantizeLinear"
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s_in", "zp8"], ["xq"]),
        helper.make_node(dq, ["xq", "s_in", "zp8"], ["xd"]),
        helper.make_node(dq, ["W1c", "s_w1", "zp_w1"], ["W1"], name="dq_w1", axis=1),
        helper.make_node("MatMul", ["xd", "W1"], ["m"]),
        helper.make_node("Add", ["m", "b1"], ["z"]),
        helper.make_node("Relu", ["z"], ["r"]),
        helper.make_node("QuantizeLinear", ["r", "s_a", "zpu8"], ["rq"]),
        helper.make_node(dq, ["rq", "s_a", "zpu8"], ["rd"]),
        helper.make_node(dq, ["W2c", "s_w2", "zp_w2"], ["W2"], axis=0),
        helper.make_node(dq, ["b2c", "s_b2", "zp_b2"], ["b2"], axis=0),
        helper.make_node("Gemm", ["rd", "W2", "b2"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "qcdq_per_channel",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "qcdq_pc.onnx"
    onnx.save(model, str(path))
    return path


def test_per_channel_weight_types_hold_every_channel_exactly(tmp_path: Path) -> None:
    model = import_model(_per_channel(tmp_path))
    # 8-bit codes, fractional bits 3..7: 7 fractional + (8 - 3) integer bits = 12 wide
    assert model.ops[0].weight_t == FixedType(12, 5, True, "AP_RND_CONV", "AP_SAT")
    assert model.ops[2].weight_t == FixedType(12, 4, True, "AP_RND_CONV", "AP_SAT")
    assert model.ops[2].bias_t == FixedType(36, 25, True, "AP_RND_CONV", "AP_SAT")


def test_per_channel_qcdq_is_bit_exact_with_onnxruntime(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = _per_channel(tmp_path)
    x = np.random.default_rng(5).normal(scale=3.0, size=(2000, 6)).astype(np.float32)
    want = writers.ort(path, x)
    model = import_model(path)
    x64 = x.astype(np.float64)
    assert np.array_equal(forward(model, x64), want)
    got = FirmwareEmulator(to_firmware_network(model, x64)).predict(x64)
    assert np.array_equal(got, want)
    assert len(np.unique(want)) > 1000  # the outputs are not trivially equal


def test_per_channel_scale_not_power_of_two_names_node_and_scale(tmp_path: Path) -> None:
    bad = np.ldexp(1.0, np.array(W1_EXP))
    bad[2] = 0.03
    with pytest.raises(TrigkitError) as info:
        import_model(_per_channel(tmp_path, bad))
    msg = str(info.value)
    assert "\n" not in msg
    assert "node 'dq_w1' (DequantizeLinear): channel 2: quantizer scale 0.03 is not a" in msg
