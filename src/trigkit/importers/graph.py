"""The one object every importer returns: :class:`ImportedModel`, a small layer graph.

An imported model is an ordered tuple of :class:`Op` (the only graph shapes trigger taggers use:
a chain of dense layers and activations, optionally applied per constituent and pooled over
constituents, the DeepSets pattern), its inputs and, for the GPU, an ONNX graph. Every op carries
float64 weights; a quantized source (QKeras quantizers, QONNX ``Quant`` nodes) also pins the
exact fixed-point type of the weights, biases and outputs it quantizes.

:func:`forward` is the float reference: plain numpy, independent of torch, onnxruntime and the
fixed-point code, used for the accuracy cost of quantization and by the tests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import FixedType

OpKind = Literal[
    "dense",
    "conv1d",
    "relu",
    "leaky_relu",
    "relu6",
    "softmax",
    "sigmoid",
    "linear",
    "sum_pool",
    "mean_pool",
    "affine",
]
OP_KINDS: tuple[str, ...] = get_args(OpKind)
Format = Literal["onnx", "torchscript", "torch_export", "keras", "keras_h5"]


@dataclass(frozen=True, eq=False)
class Op:
    """One layer. ``dense``: ``y = x @ weight.T + bias`` (``weight`` is ``(n_out, n_in)``).

    ``affine`` (``x * weight + bias`` per feature, a BatchNormalization) exists only while a
    reader builds the graph: :func:`fold_affines` merges it into a neighbouring dense layer.
    ``per_constituent``: the op runs on each constituent ``[.., n_const, n_feat]`` (a Conv1D with
    kernel 1 or a dense before pooling). ``conv1d``: a Conv1D with a wider kernel, stride 1,
    ``weight`` ``(n_out, n_in, kernel)`` (torch's layout) and ``pads`` zero positions (left,
    right) on the constituent axis. ``*_t``: exact fixed-point types from a quantized source.
    """

    name: str
    kind: OpKind
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    alpha: float = 0.0
    per_constituent: bool = False
    weight_t: FixedType | None = None
    bias_t: FixedType | None = None
    result_t: FixedType | None = None
    pads: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if self.kind not in OP_KINDS:
            raise TrigkitError(
                f"op '{self.name}': kind '{self.kind}'; valid: {', '.join(OP_KINDS)}"
            )
        if self.kind not in ("dense", "conv1d"):
            return
        ndim = 2 if self.kind == "dense" else 3
        if self.weight is None or self.weight.ndim != ndim:
            raise TrigkitError(f"layer '{self.name}': a {self.kind} layer needs a {ndim}-D weight")
        if self.bias is None or self.bias.shape != (self.weight.shape[0],):
            raise TrigkitError(
                f"layer '{self.name}': bias shape {None if self.bias is None else self.bias.shape}"
                f" does not match {self.weight.shape[0]} outputs"
            )
        for what, arr in (("weights", self.weight), ("biases", self.bias)):
            if not np.all(np.isfinite(arr)):
                n = int(np.count_nonzero(~np.isfinite(arr)))
                raise TrigkitError(f"layer '{self.name}': {n} NaN/Inf {what}")

    @property
    def n_in(self) -> int:
        assert self.weight is not None
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        assert self.weight is not None
        return int(self.weight.shape[0])


@dataclass(frozen=True)
class InputSpec:
    """A model input: name, shape without the batch axis, dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"


@dataclass(frozen=True, eq=False)
class ImportedModel:
    """A user's model as trigkit understands it (see the module docstring).

    ``onnx``: a serialized ONNX model computing the same function with a dynamic batch axis (the
    original file for ``.onnx`` sources), or None when it is built on demand from ``ops``.
    ``input_t``: the exact input type when the source quantizes its input.
    """

    source: Path
    format: Format
    name: str
    inputs: tuple[InputSpec, ...]
    ops: tuple[Op, ...]
    output_names: tuple[str, ...] = ()
    input_t: FixedType | None = None
    onnx: bytes | None = None
    channels_first: bool = False
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.ops:
            raise TrigkitError(f"{self.source}: the model has no layers")
        if len(self.inputs) != 1:
            names = ", ".join(i.name for i in self.inputs)
            raise TrigkitError(f"{self.source}: {len(self.inputs)} inputs ({names}); need 1")
        check_chain(self)

    @property
    def input(self) -> InputSpec:
        return self.inputs[0]

    @property
    def is_set_model(self) -> bool:
        return any(op.per_constituent or op.kind.endswith("_pool") for op in self.ops)

    @property
    def n_outputs(self) -> int:
        return [op for op in self.ops if op.kind == "dense"][-1].n_out

    def is_quantized(self) -> bool:
        return self.input_t is not None or any(op.weight_t is not None for op in self.ops)


def check_chain(model: ImportedModel) -> None:
    """Every dense layer's input width must be what the previous ops give."""
    shape = model.input.shape
    if model.channels_first and len(shape) == 2:
        shape = shape[::-1]
    if not shape or any(d <= 0 for d in shape):
        raise TrigkitError(
            f"{model.source}: input '{model.input.name}' has shape {shape}; give its free "
            f"dimensions with --input-shape {model.input.name}:1x16"
        )
    width, pooled = shape[-1], len(shape) == 1
    for op in model.ops:
        if op.kind.endswith("_pool"):
            pooled = True
        elif op.kind in ("dense", "conv1d"):
            if op.n_in != width:
                raise TrigkitError(
                    f"{model.source}: layer '{op.name}' takes {op.n_in} inputs but gets {width}"
                )
            width = op.n_out
    if not pooled:
        raise TrigkitError(
            f"{model.source}: input '{model.input.name}' of shape {shape} is never pooled; "
            "supported: a flat [batch, features] input, or [batch, constituents, features] "
            "followed by ReduceSum/ReduceMean pooling"
        )


def forward(model: ImportedModel, x: np.ndarray) -> np.ndarray:
    """The float64 numpy reference of ``model`` on ``x`` ``[batch, *input.shape]``.

    Types the source pins (quantized inputs and activations) are applied as the source applies
    them, so a QKeras / QONNX model's reference is its own quantized function.
    """
    from trigkit.importers.quant import quantize_values

    h = np.asarray(x, dtype=np.float64)
    if model.channels_first:
        h = np.swapaxes(h, -1, -2)
    if model.input_t is not None:
        h = quantize_values(h, model.input_t)
    for op in model.ops:
        h = _apply(op, h)
        if op.result_t is not None:
            h = quantize_values(h, op.result_t)
    return h


def conv1d_apply(op: Op, h: np.ndarray) -> np.ndarray:
    """``op`` (a conv1d) on ``h`` ``[batch, n_const, n_in]``: zero pads, stride 1."""
    w = np.asarray(op.weight)
    k = w.shape[2]
    left, right = op.pads
    hp = np.pad(h, ((0, 0), (left, right), (0, 0)))
    n_out = hp.shape[1] - k + 1
    out = np.zeros((h.shape[0], n_out, w.shape[0])) + op.bias  # type: ignore[operator]
    for j in range(k):
        out += hp[:, j : j + n_out, :] @ w[:, :, j].T
    return out


def _apply(op: Op, h: np.ndarray) -> np.ndarray:
    if op.kind == "dense":
        return h @ op.weight.T + op.bias  # type: ignore[union-attr]
    if op.kind == "conv1d":
        return conv1d_apply(op, h)
    if op.kind == "relu":
        return np.maximum(h, 0.0)
    if op.kind == "leaky_relu":
        return np.where(h > 0, h, op.alpha * h)
    if op.kind == "relu6":
        return np.clip(h, 0.0, 6.0)
    if op.kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-h))
    if op.kind == "softmax":
        e = np.exp(h - h.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if op.kind == "affine":
        return h * op.weight + op.bias  # type: ignore[operator]
    if op.kind == "sum_pool":
        return h.sum(axis=-2)
    if op.kind == "mean_pool":
        return h.mean(axis=-2)
    return h


def append_batchnorm(ops: list[Op], name: str, scale: np.ndarray, shift: np.ndarray) -> None:
    """``y = x * scale + shift`` (an inference BatchNormalization) after ``ops``: folded into the
    dense layer just before it, else kept as an ``affine`` op for :func:`fold_affines`."""
    last = ops[-1] if ops else None
    if last is not None and last.kind == "dense" and last.result_t is None:
        w = last.weight * scale[:, None]  # type: ignore[index]
        b = last.bias * scale + shift  # type: ignore[operator]
        ops[-1] = replace(last, weight=w, bias=b, weight_t=None, bias_t=None)
    else:
        ops.append(Op(name, "affine", weight=np.asarray(scale), bias=np.asarray(shift)))


def fold_affines(ops: list[Op], source: Path) -> tuple[Op, ...]:
    """Merge each ``affine`` op into the next dense layer (``W' = W * scale``, ``b' = b + W @
    shift``), through activations' neighbours only when exact: a mean pool commutes with it."""
    out: list[Op] = []
    pending: Op | None = None
    for op in ops:
        if op.kind == "affine":
            if pending is not None:
                raise TrigkitError(f"{source}: two BatchNormalizations in a row ('{op.name}')")
            pending = op
            continue
        if pending is not None and op.kind == "dense":
            s, c = pending.weight, pending.bias
            w, b = op.weight, op.bias
            assert w is not None and b is not None and s is not None and c is not None
            op = replace(op, weight=w * s[None, :], bias=b + w @ c, weight_t=None, bias_t=None)
            pending = None
        elif pending is not None and op.kind != "mean_pool":
            raise TrigkitError(
                f"{source}: BatchNormalization '{pending.name}' is followed by {op.kind} "
                f"'{op.name}'; it can be folded only into a dense layer before or after it"
            )
        out.append(op)
    if pending is not None:
        raise TrigkitError(
            f"{source}: BatchNormalization '{pending.name}' ends the model; nothing to fold it into"
        )
    return tuple(out)


def firmware_digest(network: object) -> str:
    """sha256 of what a FirmwareNetwork puts on the chip: types, codes, layer order.

    Names and ``meta`` (where the model came from) are left out, so the same weights imported
    from ONNX, TorchScript or Keras give the same digest.
    """
    data = dict(network.to_json())  # type: ignore[attr-defined]
    for key in ("name", "meta", "input_names", "output_names"):
        data.pop(key, None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
