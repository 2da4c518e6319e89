"""ONNX (and QONNX) -> :class:`ImportedModel`, by walking the graph node by node.

The graph must be one chain from the input to the output (what MLP and DeepSets taggers
export to): every node reads the previous node's output plus constant parameters. Supported:
Gemm, MatMul (+ Add), Relu, LeakyRelu, Clip (ReLU / ReLU6), Softmax, Sigmoid, BatchNormalization
(folded into the dense before it), Conv1D (a 1-wide kernel: a per-constituent dense; wider
kernels with stride 1 and 'valid' / 'same' zero padding),
ReduceSum / ReduceMean over the constituents (DeepSets pooling), Transpose of the two inner
axes, Reshape of ``[batch, n, feat]`` to rows ``[-1, feat]`` for per-constituent Gemms and
back, shape no-ops (Flatten, Reshape, Squeeze, Identity, Dropout), QONNX ``Quant`` and QCDQ
(``QuantizeLinear`` / ``Clip`` of the codes / ``DequantizeLinear``: :mod:`.onnx_quant`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError, first_line
from trigkit.core.lazy import require
from trigkit.fixedpoint.fixed import FixedType
from trigkit.importers.graph import ImportedModel, InputSpec, Op, append_batchnorm, fold_affines
from trigkit.importers.onnx_quant import QuantNodes
from trigkit.importers.onnx_quant import attrs as _attrs
from trigkit.importers.qcdq import clip_codes_type

SUPPORTED_OPS = (
    "Gemm",
    "MatMul",
    "Add",
    "Relu",
    "LeakyRelu",
    "Clip",
    "Softmax",
    "Sigmoid",
    "BatchNormalization",
    "Conv",
    "ReduceSum",
    "ReduceMean",
    "Transpose",
    "Flatten",
    "Reshape",
    "Squeeze",
    "Identity",
    "Dropout",
    "Quant",
    "QuantizeLinear",
    "DequantizeLinear",
)
CONTROL_FLOW = ("If", "Loop", "Scan")
_NOOPS = ("Flatten", "Reshape", "Squeeze", "Identity", "Dropout")
_ACTS = {"Relu": "relu", "Softmax": "softmax", "Sigmoid": "sigmoid"}


def load_onnx_model(path: Path) -> Any:
    """Parse and check an ONNX file; TrigkitError naming the file when it is unreadable."""
    onnx = require("onnx", "gpu")
    try:
        model = onnx.load_model_from_string(Path(path).read_bytes())
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - DecodeError, ValidationError, ...
        first = first_line(exc)
        raise TrigkitError(f"{path}: corrupt, truncated or invalid ONNX file ({first})") from None
    return model


def import_onnx(
    path: Path,
    shapes: dict[str, tuple[int, ...]] | None = None,
    *,
    fmt: str = "onnx",
    source: Path | None = None,
) -> ImportedModel:
    """Import the ONNX file at ``path``; ``shapes`` fixes free dimensions (batch axis excluded)."""
    model = load_onnx_model(path)
    return import_onnx_proto(model, Path(source or path), shapes or {}, fmt=fmt)


def import_onnx_proto(
    model: Any, source: Path, shapes: dict[str, tuple[int, ...]], *, fmt: str = "onnx"
) -> ImportedModel:
    """Import a parsed ``onnx.ModelProto`` (``source`` names it in errors)."""
    require("onnx", "gpu")
    from onnx import numpy_helper

    g = model.graph
    arrays = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consts = {k: v.astype(np.float64) for k, v in arrays.items()}
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise TrigkitError(
            f"{source}: {len(inputs)} graph inputs ({names}); the layer importer (the fpga "
            "target) takes one (--target gpu compiles the whole graph)"
        )
    spec = input_spec(inputs[0], shapes, source)
    walker = _Walker(source, consts, spec)
    walker.dtypes = {k: str(v.dtype) for k, v in arrays.items()}
    for node in g.node:
        walker.visit(node)
    if g.output[0].name != walker.current:
        raise TrigkitError(
            f"{source}: graph output '{g.output[0].name}' is not the end of the chain"
        )
    fixed = _fix_shapes(model, spec)
    return ImportedModel(
        source=source,
        format=fmt,  # type: ignore[arg-type]
        name=source.stem,
        inputs=(spec,),
        ops=fold_affines(walker.ops, source),
        output_names=tuple(o.name for o in g.output),
        input_t=walker.input_t,
        onnx=fixed.SerializeToString(),
        channels_first=walker.channels_first_input,
    )


def input_spec(inp: Any, shapes: dict[str, tuple[int, ...]], source: Path) -> InputSpec:
    """``inp``'s spec: its inner dimensions from ``shapes`` (``--input-shape``) or the graph,
    where every one is fixed."""
    dims = [
        d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim
    ]
    if inp.name in shapes:
        given = shapes[inp.name]
        if len(given) != len(dims) - 1:
            raise TrigkitError(
                f"--input-shape {inp.name}: {len(given) + 1} dimensions given (batch included), "
                f"the model has {len(dims)}"
            )
        return InputSpec(inp.name, tuple(given))
    if len(dims) < 2 or any(d is None or d <= 0 for d in dims[1:]):
        shown = "x".join("?" if d is None else str(d) for d in dims) or "(none)"
        raise TrigkitError(
            f"{source}: input '{inp.name}' has free dimensions ({shown}); give them with "
            f"--input-shape {inp.name}:1x16 (batch first)"
        )
    return InputSpec(inp.name, tuple(int(d) for d in dims[1:]))


def _fix_shapes(model: Any, spec: InputSpec) -> Any:
    """A copy whose input has a dynamic batch axis and the given fixed inner dimensions."""
    fixed = type(model)()
    fixed.CopyFrom(model)
    for inp in fixed.graph.input:
        if inp.name == spec.name:
            dims = inp.type.tensor_type.shape.dim
            dims[0].dim_param = "batch"
            for d, n in zip(list(dims)[1:], spec.shape, strict=True):
                d.dim_value = n
    return fixed


class _Walker(QuantNodes):
    """Visits the nodes in order, keeping the chain's current tensor and its layout."""

    def __init__(self, source: Path, consts: dict[str, np.ndarray], spec: InputSpec) -> None:
        self.source, self.consts = source, consts
        self.current, self.spec = spec.name, spec
        self.ops: list[Op] = []
        # layout of the current tensor: flat [feat], nf [const, feat], fn [feat, const], rows
        # (constituents as rows of [batch * n, feat]) or "?"
        # (a 3-D input whose layout the first dense / Conv / pooling decides)
        self.layout = "flat" if len(spec.shape) == 1 else "?"
        self.flips = 0  # Transposes seen while the layout is undecided
        self.channels_first_input = False
        self.input_t: FixedType | None = None
        self.pending_bias: str | None = None  # a MatMul waiting for its Add
        self.init_quant()

    def need(self, node: Any, layout: str) -> None:
        """The current tensor must have ``layout``; the first such need fixes the input's."""
        if self.layout == "?":
            first = layout if self.flips % 2 == 0 else {"nf": "fn", "fn": "nf"}[layout]
            self.channels_first_input, self.layout = first == "fn", layout
        if self.layout != layout:
            want = {"flat": "[batch, features]", "nf": "[batch, n, features]"}
            raise TrigkitError(
                f"{self.where(node)}: needs a {want.get(layout, '[batch, features, n]')} tensor"
            )

    def visit(self, node: Any) -> None:
        if node.op_type == "Constant":
            self._constant(node)
            return
        if node.op_type in CONTROL_FLOW:
            raise TrigkitError(
                f"{self.where(node)}: dynamic control flow is not supported; export the model "
                "without data-dependent branches or loops"
            )
        if (
            node.op_type not in SUPPORTED_OPS
            or node.domain not in ("", "ai.onnx")
            and (node.op_type != "Quant")
        ):
            raise TrigkitError(
                f"{self.where(node)}: unsupported op; supported: {', '.join(SUPPORTED_OPS)}"
            )
        if node.op_type == "Quant" and node.input[0] in self.consts:
            self._quant_weight(node)
            return
        if node.op_type == "DequantizeLinear" and node.input[0] in self.consts:
            self._dequant_weight(node)
            return
        if node.op_type in ("QuantizeLinear", "Clip") and node.input[0] in self.consts:
            self._codes_const(node)  # Brevitas: a float weight's QuantizeLinear (and Clip)
            return
        data = [i for i in node.input if i and i not in self.consts]
        if data != [self.current]:
            raise TrigkitError(
                f"{self.where(node)}: reads {data or 'only constants'}, not the chain tensor "
                f"'{self.current}'; only single-chain graphs are supported"
            )
        getattr(self, f"_op_{node.op_type.lower()}")(node)
        self.current = node.output[0]

    # -- parameters -----------------------------------------------------------------------
    def _constant(self, node: Any) -> None:
        from onnx import numpy_helper

        attr = {a.name: a for a in node.attribute}
        if "value" not in attr:
            raise TrigkitError(f"{self.where(node)}: only tensor-valued Constant nodes supported")
        self.consts[node.output[0]] = numpy_helper.to_array(attr["value"].t).astype(np.float64)

    def _wtype(self, name: str) -> FixedType | None:
        return self.weight_types.get(name)

    # -- ops ------------------------------------------------------------------------------
    def _dense(self, node: Any, w: np.ndarray, b: np.ndarray, wt: Any, bt: Any) -> None:
        if self.layout not in ("flat", "rows"):
            self.need(node, "nf")
        per = self.layout != "flat"
        self.ops.append(Op(_name(node), "dense", w, b, per_constituent=per, weight_t=wt, bias_t=bt))

    def _op_gemm(self, node: Any) -> None:
        a = _attrs(node)
        if self.layout != "rows":  # rows: the constituents of [batch * n, features]
            self.need(node, "flat")
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise TrigkitError(f"{self.where(node)}: only Gemm with transA=0, alpha=beta=1")
        w = self.const(node, 1)
        w = w if a.get("transB", 0) else w.T
        b = self.const(node, 2) if len(node.input) > 2 and node.input[2] else np.zeros(len(w))
        b = np.broadcast_to(b, (len(w),)).copy()
        bt = self._wtype(node.input[2]) if len(node.input) > 2 else None
        self._dense(node, w, b, self._wtype(node.input[1]), bt)

    def _op_matmul(self, node: Any) -> None:
        w = self.const(node, 1)
        if w.ndim != 2:
            raise TrigkitError(f"{self.where(node)}: MatMul weight must be 2-D, got {w.shape}")
        self._dense(node, w.T.copy(), np.zeros(w.shape[1]), self._wtype(node.input[1]), None)
        self.pending_bias = node.output[0]

    def _op_add(self, node: Any) -> None:
        last = self.ops[-1] if self.ops else None
        if last is None or last.kind != "dense" or self.pending_bias != self.current:
            raise TrigkitError(f"{self.where(node)}: Add is supported only as a MatMul's bias")
        c = next(i for i in node.input if i in self.consts)
        assert last.bias is not None
        bias = last.bias + np.broadcast_to(self.consts[c], last.bias.shape)
        self.ops[-1] = replace(last, bias=bias, bias_t=self._wtype(c))
        self.pending_bias = None

    def _op_relu(self, node: Any) -> None:
        self._act(node, "relu")

    def _op_sigmoid(self, node: Any) -> None:
        self._act(node, "sigmoid")

    def _op_softmax(self, node: Any) -> None:
        axis = int(_attrs(node).get("axis", -1))
        if axis not in (-1, 1) or (axis == 1 and self.layout != "flat"):
            raise TrigkitError(f"{self.where(node)}: Softmax only over the last (feature) axis")
        self._act(node, "softmax")

    def _op_leakyrelu(self, node: Any) -> None:
        self._act(node, "leaky_relu", alpha=float(_attrs(node).get("alpha", 0.01)))

    def _op_clip(self, node: Any) -> None:
        lo, hi = self._clip_bounds(node)
        if self.codes == self.current:  # QuantizeLinear -> Clip -> DequantizeLinear
            t = self.input_t if not self.ops else self.ops[-1].result_t
            assert t is not None
            low = -np.inf if lo is None else lo
            self._repin(clip_codes_type(t, low, np.inf if hi is None else hi, self.where(node)))
            self.codes = node.output[0]
        elif lo == 0.0 and (hi is None or np.isinf(hi)):
            self._act(node, "relu")
        elif lo == 0.0 and hi == 6.0:
            self._act(node, "relu6")
        else:
            raise TrigkitError(f"{self.where(node)}: Clip({lo}, {hi}); supported: ReLU, ReLU6")

    def _act(self, node: Any, kind: str, alpha: float = 0.0) -> None:
        per = self.layout != "flat"
        op = Op(_name(node), kind, alpha=alpha, per_constituent=per)  # type: ignore[arg-type]
        self.ops.append(op)

    def _op_batchnormalization(self, node: Any) -> None:
        if self.layout not in ("flat", "rows"):  # axis 1: the features of [batch, features, n]
            self.need(node, "fn")
        gamma, beta, mean, var = (self.const(node, i) for i in range(1, 5))
        scale = gamma / np.sqrt(var + float(_attrs(node).get("epsilon", 1e-5)))
        append_batchnorm(self.ops, _name(node), scale, beta - mean * scale)

    def _op_conv(self, node: Any) -> None:
        w = self.const(node, 1)
        a = _attrs(node)
        if w.ndim != 3:
            raise TrigkitError(f"{self.where(node)}: only Conv1D (3-D weights) supported")
        pads = _conv_pads(a, w.shape[2])
        plain = all(int(v) == 1 for v in a.get("dilations", [1]))
        if pads is None or int(a.get("group", 1)) != 1 or not plain or a.get("strides", [1]) != [1]:
            raise TrigkitError(
                f"{self.where(node)}: Conv1D kernel {w.shape[2]}, group {a.get('group', 1)}, "
                f"strides {a.get('strides', [1])}, pads {a.get('pads')}, auto_pad "
                f"{a.get('auto_pad', 'NOTSET')}; supported: stride 1, dilation 1, group 1, "
                "'valid' or 'same' zero padding (each side < kernel)"
            )
        self.need(node, "fn")
        b = self.const(node, 2) if len(node.input) > 2 else np.zeros(w.shape[0])
        wt = self._wtype(node.input[1])
        if w.shape[2] == 1:  # a per-constituent dense
            op = Op(_name(node), "dense", w[:, :, 0].copy(), b.copy(), per_constituent=True)
        else:
            op = Op(_name(node), "conv1d", w.copy(), b.copy(), per_constituent=True, pads=pads)
        self.ops.append(replace(op, weight_t=wt))

    def _op_transpose(self, node: Any) -> None:
        perm = list(_attrs(node).get("perm", []))
        if perm != [0, 2, 1] or self.layout in ("flat", "rows"):
            raise TrigkitError(f"{self.where(node)}: only perm [0, 2, 1] of a 3-D tensor")
        if self.layout == "?":
            self.flips += 1
            return
        self.layout = {"nf": "fn", "fn": "nf"}[self.layout]

    def _reduce(self, node: Any, kind: str) -> None:
        a = _attrs(node)
        axes = a.get("axes")
        if axes is None and len(node.input) > 1:
            axes = [int(v) for v in np.ravel(self.const(node, 1))]
        if self.layout == "?" and axes is not None and len(axes) == 1:
            self.need(node, "nf" if axes[0] in (1, -2) else "fn")
        const_axis = {"nf": (1, -2), "fn": (2, -1)}.get(self.layout, ())
        if axes is None or len(axes) != 1 or axes[0] not in const_axis:
            raise TrigkitError(
                f"{self.where(node)}: reduces axes {axes}; only the constituent axis is supported"
            )
        self.ops.append(Op(_name(node), kind))  # type: ignore[arg-type]
        self.layout = "flat"

    def _op_reducesum(self, node: Any) -> None:
        self._reduce(node, "sum_pool")

    def _op_reducemean(self, node: Any) -> None:
        self._reduce(node, "mean_pool")

    def _noop(self, node: Any) -> None:
        if self.layout not in ("flat", "rows"):
            raise TrigkitError(
                f"{self.where(node)}: reshaping a per-constituent tensor is not supported"
            )

    _op_flatten = _op_squeeze = _op_identity = _op_dropout = _noop

    def _op_reshape(self, node: Any) -> None:
        """A no-op on a flat tensor; ``[batch, n, feat] <-> [batch * n, feat]`` around
        per-constituent Gemms (the constituents as rows)."""
        if self.layout == "flat":
            return
        shape = [int(v) for v in np.ravel(self.const(node, 1))]
        if self.layout in ("nf", "?") and len(shape) == 2 and shape[0] == -1:
            self.need(node, "nf")
            if shape[1] == self.width():
                self.layout = "rows"
                return
        if self.layout == "rows" and len(shape) == 3 and shape[0] == -1:
            n = self.spec.shape[1 if self.channels_first_input else 0]
            if shape[1:] == [n, self.width()]:
                self.layout = "nf"
                return
        raise TrigkitError(
            f"{self.where(node)}: reshape of a per-constituent tensor to {shape}; supported: "
            "[-1, n_feat] (the constituents as rows of a Gemm) and back [-1, n_const, n_feat]"
        )

    def width(self) -> int:
        """Features of the current tensor (the last dense layer's outputs, or the input's)."""
        for op in reversed(self.ops):
            if op.kind in ("dense", "conv1d"):
                return op.n_out
        return self.spec.shape[0 if self.channels_first_input else -1]


def _conv_pads(a: dict[str, Any], k: int) -> tuple[int, int] | None:
    """(left, right) zero padding of a Conv1D, or None when not one trigkit supports."""
    auto = a.get("auto_pad", "NOTSET")
    if auto == "VALID":
        return (0, 0)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        small = (k - 1) // 2
        return (small, k - 1 - small) if auto == "SAME_UPPER" else (k - 1 - small, small)
    pads = [int(v) for v in a.get("pads", [0, 0])]
    if auto != "NOTSET" or len(pads) != 2 or min(pads) < 0 or max(pads) >= k:
        return None
    return (pads[0], pads[1])


def _name(node: Any) -> str:
    return node.name or node.output[0]
