"""Quantized DeepSets taggers as ONNX files: QONNX ``Quant`` nodes or Brevitas-style QCDQ.

``write_quant_deepsets`` builds ``x [B, n_const, 4] -> per-constituent MatMul + Add -> Relu ->
ReduceMean / ReduceSum over the constituents -> Gemm -> Relu -> Gemm`` with every tensor the
firmware sees quantized by power-of-two scales, in the two ways quantized ONNX arrives:

- ``"qonnx"``: QONNX ``Quant(x, scale, zero_point, bitwidth)`` on the input, the weights, the
  biases and the activations (what QKeras / Brevitas -> QONNX converters write);
- ``"qcdq"``: ``QuantizeLinear`` / ``DequantizeLinear`` pairs on the activations and integer
  weight codes behind ``DequantizeLinear`` (what Brevitas' QCDQ export writes), which
  onnxruntime runs as written; with ``clip``, Brevitas' form of quantizers narrower than their
  integer type: ``QuantizeLinear -> Clip -> DequantizeLinear`` on the activations and float
  weights quantized in the graph the same way.

:func:`reference` evaluates such a file again in float64 numpy from the ONNX nodes (QONNX
``Quant`` and ONNX Q/DQ as their specifications define them), independently of trigkit's
importer; qonnx's own executor is used instead where qonnx is installed.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

N_FEAT, HIDDEN, N_OUT = 4, 16, 3
QONNX_DOMAIN = "qonnx.custom_op.general"


@dataclass(frozen=True)
class QuantSpec:
    """Scales are ``2**exp``; ``w1_scale`` overrides the first weights' scale (a bad one)."""

    style: str = "qonnx"  # "qonnx" | "qcdq"
    n_const: int = 8
    pool: str = "mean"  # "mean" | "sum"
    quant_pool: bool = False  # a quantizer right after the pooling
    w1_scale: float | None = None
    seed: int = 0
    clip: bool = False  # qcdq: sub-8-bit quantizers as a Clip of the codes (Brevitas)
    rows: bool = False  # phi as a Gemm on the constituents as rows: Reshape -> Gemm -> Reshape


def write_quant_deepsets(path: Path, spec: QuantSpec) -> Path:
    import onnx
    from onnx import TensorProto, helper

    b = _Builder(spec)
    x = b.act_quant("x", "x_q", exp=-4, bits=8, signed=True)
    if spec.rows:
        b.inits.append(_const("rows_shape", [-1, N_FEAT], np.int64))
        x = b.node("Reshape", [x, "rows_shape"], "rows")
    h = b.dense("phi", x, N_FEAT, HIDDEN, matmul=not spec.rows, w_scale=spec.w1_scale)
    h = b.node("Relu", [h], "phi_relu")
    h = b.act_quant(h, "phi_q", exp=-3, bits=6, signed=False)
    if spec.rows:
        b.inits.append(_const("sets_shape", [-1, spec.n_const, HIDDEN], np.int64))
        h = b.node("Reshape", [h, "sets_shape"], "sets")
    red = "ReduceMean" if spec.pool == "mean" else "ReduceSum"
    if red == "ReduceMean":
        h = b.node(red, [h], "pool", axes=[1], keepdims=0)
    else:
        b.inits.append(_const("pool_axes", np.array([1]), np.int64))
        h = b.node(red, [h, "pool_axes"], "pool", keepdims=0)
    if spec.quant_pool:
        mean = spec.pool == "mean"  # the sum: coarser than its input and saturating at times
        h = b.act_quant(h, "pool_q", exp=-5 if mean else -2, bits=10 if mean else 6, signed=False)
    h = b.dense("rho", h, HIDDEN, HIDDEN, matmul=False)
    h = b.node("Relu", [h], "rho_relu")
    h = b.act_quant(h, "rho_q", exp=-3, bits=7, signed=False)
    y = b.dense("out", h, HIDDEN, N_OUT, matmul=False, out="y")
    graph = helper.make_graph(
        b.nodes,
        f"{spec.style}_deepsets",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", spec.n_const, N_FEAT])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["n", N_OUT])],
        b.inits,
    )
    opsets = [helper.make_opsetid("", 13)]
    if spec.style == "qonnx":
        opsets.append(helper.make_opsetid(QONNX_DOMAIN, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _const(name: str, v: object, dtype: Any = np.float32) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(v, dtype=dtype), name)


class _Builder:
    def __init__(self, spec: QuantSpec) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def node(self, op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        from onnx import helper

        domain = QONNX_DOMAIN if op == "Quant" else ""
        if op == "Quant" and self.spec.seed % 2 == 0:  # the QONNX defaults spelled out, or not
            attrs = {"narrow": 0, "rounding_mode": "ROUND"} | attrs
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def act_quant(self, x: str, out: str, exp: int, bits: int, signed: bool) -> str:
        s = f"{out}_scale"
        self.inits.append(_const(s, 2.0**exp))
        if self.spec.style == "qonnx":
            self.inits += [_const(f"{out}_zp", 0.0), _const(f"{out}_bw", float(bits))]
            return self.node("Quant", [x, s, f"{out}_zp", f"{out}_bw"], out, signed=int(signed))
        dtype = np.int8 if signed else np.uint8
        self.inits.append(_const(f"{out}_zp", 0, dtype))
        q = self.node("QuantizeLinear", [x, s, f"{out}_zp"], f"{out}_codes")
        if self.spec.clip and bits < 8:  # Brevitas: the narrower range as a Clip of the codes
            lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
            self.inits += [_const(f"{out}_lo", lo, dtype), _const(f"{out}_hi", hi, dtype)]
            q = self.node("Clip", [q, f"{out}_lo", f"{out}_hi"], f"{out}_clipped")
        return self.node("DequantizeLinear", [q, s, f"{out}_zp"], out)

    def weight(self, name: str, shape: tuple[int, ...], exp: int, bits: int, scale: float | None):
        """A quantized constant: its float values and the tensor name that feeds the op."""
        lim = 2 ** (bits - 1)
        codes = self.rng.integers(-lim + 1, lim, shape)
        s = 2.0**exp if scale is None else scale
        if self.spec.style == "qonnx":
            vals = codes * s + self.rng.uniform(-0.4, 0.4, shape) * s  # rounded by the Quant
            self.inits += [
                _const(f"{name}_f", vals),
                _const(f"{name}_scale", s),
                _const(f"{name}_zp", 0.0),
                _const(f"{name}_bw", float(bits)),
            ]
            ins = [f"{name}_f", f"{name}_scale", f"{name}_zp", f"{name}_bw"]
            return self.node("Quant", ins, name, signed=1)
        dtype = np.int8 if bits <= 8 else np.int32
        self.inits += [_const(f"{name}_scale", s), _const(f"{name}_zp", 0, dtype)]
        if self.spec.clip and bits < 8:  # float weights, quantized and clipped in the graph
            lo, hi = -(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1  # narrow: fine for weights
            vals = codes * s * 1.3 + self.rng.uniform(-0.4, 0.4, shape) * s  # some clip
            self.inits += [
                _const(f"{name}_f", vals),
                _const(f"{name}_lo", lo, dtype),
                _const(f"{name}_hi", hi, dtype),
            ]
            q = self.node(
                "QuantizeLinear", [f"{name}_f", f"{name}_scale", f"{name}_zp"], f"{name}_q"
            )
            c = self.node("Clip", [q, f"{name}_lo", f"{name}_hi"], f"{name}_codes")
            return self.node("DequantizeLinear", [c, f"{name}_scale", f"{name}_zp"], name)
        self.inits.append(_const(f"{name}_codes", codes, dtype))
        ins = [f"{name}_codes", f"{name}_scale", f"{name}_zp"]
        return self.node("DequantizeLinear", ins, name)

    def dense(
        self,
        name: str,
        x: str,
        n_in: int,
        n_out: int,
        matmul: bool,
        w_scale: float | None = None,
        out: str | None = None,
    ) -> str:
        w = self.weight(f"{name}_w", (n_in, n_out), -5, 6, w_scale)  # MatMul layout (in, out)
        bias = self.weight(f"{name}_b", (n_out,), -6, 8 if self.spec.style == "qonnx" else 10, None)
        if matmul:
            m = self.node("MatMul", [x, w], f"{name}_mm")
            return self.node("Add", [m, bias], out or f"{name}_add")
        return self.node("Gemm", [x, w, bias], out or f"{name}_gemm")


def reference(path: Path, x: np.ndarray) -> np.ndarray:
    """The file's function on ``x``: qonnx's executor where installed, else :func:`numpy_run`."""
    if importlib.util.find_spec("qonnx") is not None:
        return qonnx_run(path, x)
    return numpy_run(path, x)


def qonnx_run(path: Path, x: np.ndarray) -> np.ndarray:
    from onnx import helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    model = ModelWrapper(str(path))
    for node in model.graph.node:  # qonnx's executor needs the attributes the spec defaults
        have = {a.name for a in node.attribute}
        for key, value in (("narrow", 0), ("rounding_mode", "ROUND")):
            if node.op_type == "Quant" and key not in have:
                node.attribute.append(helper.make_attribute(key, value))
    model.set_tensor_shape("x", list(np.shape(x)))  # qonnx runs one fixed batch size
    model = model.transform(InferShapes())
    out = execute_onnx(model, {"x": np.asarray(x, dtype=np.float32)})
    return np.asarray(out[model.graph.output[0].name], dtype=np.float64)


def numpy_run(path: Path, x: np.ndarray) -> np.ndarray:
    """Float64 numpy evaluation of the nodes these files use, from their specifications."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    env: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env["x"] = np.asarray(x, dtype=np.float64)
    for node in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[i] for i in node.input]
        env[node.output[0]] = _numpy_node(node.op_type, ins, a)
    return np.asarray(env[model.graph.output[0].name], dtype=np.float64)


def _numpy_node(op: str, ins: list[np.ndarray], a: dict[str, Any]) -> np.ndarray:
    f = [np.asarray(v, dtype=np.float64) for v in ins]
    if op == "Quant":  # QONNX: round half to even, clip to the signed / unsigned code range
        x, s, zp, bw = f[0], float(f[1]), float(f[2]), int(f[3])
        lo, hi = (-(2 ** (bw - 1)), 2 ** (bw - 1) - 1) if a.get("signed", 1) else (0, 2**bw - 1)
        return (np.clip(np.round(x / s + zp), lo, hi) - zp) * s
    if op == "QuantizeLinear":  # codes of the zero point's integer type
        info = np.iinfo(ins[2].dtype)
        return np.clip(np.round(f[0] / float(f[1])) + f[2], info.min, info.max)
    if op == "Clip":
        return np.clip(f[0], f[1], f[2])
    if op == "DequantizeLinear":
        return (f[0] - f[2]) * float(f[1])
    if op == "MatMul":
        return f[0] @ f[1]
    if op in ("Add",):
        return f[0] + f[1]
    if op == "Gemm":
        return f[0] @ f[1] + f[2]
    if op == "Reshape":
        return f[0].reshape([int(v) for v in ins[1]])
    if op == "Relu":
        return np.maximum(f[0], 0.0)
    if op == "ReduceMean":
        return f[0].mean(axis=tuple(a["axes"]))
    if op == "ReduceSum":
        return f[0].sum(axis=tuple(int(v) for v in ins[1]))
    raise AssertionError(op)
