""":class:`ImportedModel` -> :class:`FirmwareNetwork` (for hls4ml, the numba emulation, RTL).

Types pinned by the source (QKeras quantizers, QONNX ``Quant``) are kept exactly: a quantized
dense layer's result is its exact accumulator (QKeras adds the products in float, exactly for
these widths) and the activation quantizer that follows sets the activation type. Everything
else is chosen like post-training quantization does (``trigkit.compile.qat``): ``bits``-wide
weights / biases with integer bits from their largest value, activations from the calibration
rows, exact accumulators. Layers are named ``fc<i>``, ``relu<i>``, ``softmax``... so one set of
weights gives one network whatever the source format.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork, SoftmaxSpec
from trigkit.importers.graph import ImportedModel, Op
from trigkit.importers.quant import quantize_values

FIRMWARE_OPS = ("dense", "relu", "linear", "softmax (last)", "sigmoid (last)")
_WEIGHT_MODES = ("AP_RND_CONV", "AP_SAT")


@dataclass(frozen=True)
class FirmwareOptions:
    """Widths for the types the source does not pin (see the module docstring)."""

    bits: int = 8
    input_bits: int = 16
    logit_bits: int = 16
    range_quantile: float = 1.0
    rounding: str = "AP_RND"
    overflow: str = "AP_SAT"

    def __post_init__(self) -> None:
        for key in ("bits", "input_bits", "logit_bits"):
            if not 2 <= getattr(self, key) <= 32:
                raise TrigkitError(f"{key}={getattr(self, key)} out of range; valid: 2..32")
        if not 0.5 < self.range_quantile <= 1.0:
            raise TrigkitError(f"range_quantile={self.range_quantile}; valid: (0.5, 1]")


def to_firmware_network(
    model: ImportedModel,
    calib: np.ndarray,
    options: FirmwareOptions | None = None,
    input_names: tuple[str, ...] | None = None,
) -> FirmwareNetwork:
    """The firmware of ``model``; ``calib`` ``[n, n_features]`` sets unpinned integer bits."""
    opt = options or FirmwareOptions()
    _check_supported(model)
    x = np.asarray(calib, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != model.input.shape[0] or len(x) == 0:
        raise TrigkitError(
            f"calibration data: expected rows of {model.input.shape[0]} features, got {x.shape}"
        )
    modes = (opt.rounding, opt.overflow)
    in_t = model.input_t or _signed(opt.input_bits, x, opt.range_quantile, modes)
    if model.input_t is not None:
        x = quantize_values(x, in_t)
    layers: list[FirmwareLayer] = []
    prev_t, h, n = in_t, x, 0
    ops = model.ops
    for i, op in enumerate(ops):
        nxt = ops[i + 1] if i + 1 < len(ops) else None
        if op.kind == "dense":
            n += 1
            layer, h = _dense(op, f"fc{n}", prev_t, h, nxt, opt, model.is_quantized())
        else:
            layer, h = _activation(op, n, prev_t, h, opt)
        layers.append(layer)
        prev_t = layer.result_t
    names = input_names or tuple(f"x{i}" for i in range(model.input.shape[0]))
    return FirmwareNetwork(
        name=_identifier(model.name),
        input_t=in_t,
        input_names=names,
        layers=tuple(layers),
        meta={"source": str(model.source), "format": model.format},
    )


def _check_supported(model: ImportedModel) -> None:
    if model.is_set_model:
        raise TrigkitError(
            f"{model.source}: a set (DeepSets) model; FirmwareNetwork holds per-jet MLPs only "
            "(layers: dense, relu, linear, softmax, sigmoid) - compile it with --target gpu"
        )
    for i, op in enumerate(model.ops):
        last = i == len(model.ops) - 1
        head = op.kind in ("softmax", "sigmoid")
        if op.kind in ("leaky_relu", "relu6") or (head and not last):
            what = f"{op.kind} before the last layer" if head else op.kind
            raise TrigkitError(
                f"{model.source}: layer '{op.name}' ({what}) has "
                f"no firmware layer; supported: {', '.join(FIRMWARE_OPS)}"
            )
    if model.ops[0].kind != "dense":
        raise TrigkitError(f"{model.source}: the firmware network must start with a dense layer")


def _dense(
    op: Op,
    name: str,
    in_t: FixedType,
    h: np.ndarray,
    nxt: Op | None,
    opt: FirmwareOptions,
    quantized: bool,
) -> tuple[FirmwareLayer, np.ndarray]:
    w, b = op.weight, op.bias
    assert w is not None and b is not None
    wt = op.weight_t or _signed(opt.bits, w, 1.0, _WEIGHT_MODES)
    bt = op.bias_t or _signed(opt.bits, b, 1.0, _WEIGHT_MODES)
    w, b = quantize_values(w, wt), quantize_values(b, bt)
    acc = _exact_accum(in_t, wt, bt, op.n_in)
    h = h @ w.T + b
    hidden = nxt is not None and nxt.kind == "relu"
    if op.result_t is not None:
        res = op.result_t
    elif quantized:
        res = acc
    else:
        width = opt.bits + 1 if hidden else opt.logit_bits
        res = _signed(width, h, opt.range_quantile, (opt.rounding, opt.overflow))
    layer = FirmwareLayer(
        name, "dense", op.n_in, op.n_out, res, weight=w, bias=b, weight_t=wt, bias_t=bt, accum_t=acc
    )
    return layer, quantize_values(h, res)


def _activation(
    op: Op, n: int, in_t: FixedType, h: np.ndarray, opt: FirmwareOptions
) -> tuple[FirmwareLayer, np.ndarray]:
    width = h.shape[1]
    modes = (opt.rounding, opt.overflow)
    if op.kind == "relu":
        h = np.maximum(h, 0.0)
        top = float(np.quantile(h, opt.range_quantile)) if h.size else 0.0
        unsigned = FixedType(opt.bits, 1, False, *modes)  # type: ignore[arg-type]
        res = op.result_t or unsigned.covering(0.0, top)
        return FirmwareLayer(f"relu{n}", "relu", width, width, res), quantize_values(h, res)
    if op.kind == "linear":
        res = op.result_t or in_t
        return FirmwareLayer(f"act{n}", "linear", width, width, res), quantize_values(h, res)
    res = op.result_t or FixedType(opt.logit_bits, 1, False, "AP_RND", "AP_SAT")
    if op.kind == "softmax":
        layer = FirmwareLayer("softmax", "softmax", width, width, res, softmax=SoftmaxSpec())
    else:
        layer = FirmwareLayer("sigmoid", "sigmoid", width, width, res)
    return layer, h


def _signed(width: int, values: np.ndarray, q: float, modes: tuple[str, str]) -> FixedType:
    v = np.abs(np.asarray(values, dtype=np.float64))
    m = float(np.quantile(v, q)) if v.size else 0.0
    return FixedType(width, 1, True, *modes).covering(-m, m)  # type: ignore[arg-type]


def _exact_accum(in_t: FixedType, wt: FixedType, bt: FixedType, n_in: int) -> FixedType:
    """An accumulator that never rounds or overflows (as ``trigkit.compile.qat`` builds it)."""
    frac = max(in_t.frac + wt.frac, bt.frac)
    integer = max(in_t.integer + wt.integer, bt.integer) + (n_in + 1).bit_length()
    return FixedType(frac + integer, integer, True, "AP_TRN", "AP_WRAP")


def _identifier(name: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in name) or "model"
    return out if out[0].isalpha() else f"m_{out}"
