""":class:`ImportedModel` -> :class:`FirmwareNetwork` (for hls4ml, the numba emulation, RTL).

Types pinned by the source (QKeras quantizers, QONNX ``Quant``, QCDQ) are kept exactly: a
quantized dense layer's result is its exact accumulator (QKeras adds the products in float,
exactly for these widths), the activation quantizer that follows sets the activation type, a
ReLU without one keeps its input's values (:func:`_exact_relu`), a bare quantizer becomes the
result type of the layer before it (:func:`fold_casts`) and one after the pooling the pool's
(exact for any ``n_const``, :func:`~trigkit.importers.set_firmware.pool_types`). Everything
else is chosen like post-training quantization does (``trigkit.compile.qat``): ``bits``-wide
weights / biases with integer bits from their largest value, activations from the calibration
rows, exact accumulators. Layers are named ``fc<i>``, ``relu<i>``, ``softmax``... so one set of
weights gives one network whatever the source format.

A set (DeepSets) model ``[batch, n_const, n_feat]`` becomes per-constituent ``pointwise`` layers
(or ``conv1d`` for a Conv1D with a wider kernel), a ``mean_pool`` and the per-jet head
(:mod:`trigkit.fixedpoint.set_layers`); the firmware reads the constituents flattened
constituent-major (:func:`flat_rows`). hls4ml has no sum pooling:
a sum pool becomes a mean pool whose next dense layer has its weights times ``n_const``, exact
only for a power of two, so any other ``n_const`` is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork, SoftmaxSpec
from trigkit.importers.graph import ImportedModel, Op, conv1d_apply
from trigkit.importers.quant import quantize_values
from trigkit.importers.set_firmware import (
    PARAM_BITS,
    flat_rows,
    im2col_weight,
    leaky_param,
    lower_sum_pool,
    pool_types,
    set_rows,
)

__all__ = ["FIRMWARE_OPS", "FirmwareOptions", "flat_rows", "to_firmware_network"]
FIRMWARE_OPS = (
    "dense",
    "dense per constituent (MatMul/Linear/Dense on [n, n_const, n_feat], Conv1D kernel 1)",
    "conv1d (stride 1, 'valid' / 'same' zero padding)",
    "relu",
    "leaky_relu",
    "relu6",
    "linear",
    "mean_pool (ReduceMean, GlobalAveragePooling1D)",
    "sum_pool (ReduceSum; a power-of-two n_const, then a dense)",
    "softmax (last)",
    "sigmoid (last)",
)
log = logging.getLogger(__name__)
_HIDDEN_ACTS = ("relu", "leaky_relu", "relu6")
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
    """The firmware of ``model``; ``calib`` ``[n, *input shape]`` sets unpinned integer bits.

    ``input_names``: one name per feature (per constituent feature for a set model).
    """
    opt = options or FirmwareOptions()
    _check_supported(model)
    x = set_rows(model, calib)
    modes = (opt.rounding, opt.overflow)
    in_t = model.input_t or _signed(opt.input_bits, x, opt.range_quantile, modes)
    if model.input_t is not None:
        x = quantize_values(x, in_t)
    layers: list[FirmwareLayer] = []
    prev_t, h, n = in_t, x, 0
    ops = fold_casts(lower_sum_pool(model, x.shape[1] if x.ndim == 3 else 1))
    for i, op in enumerate(ops):
        nxt = ops[i + 1] if i + 1 < len(ops) else None
        if op.kind in ("dense", "conv1d"):
            n += 1
            layer, h = _dense(op, f"fc{n}", prev_t, h, nxt, opt, model.is_quantized())
        elif op.kind == "mean_pool":
            layer, h = _mean_pool(op, prev_t, h, opt)
            _warn_inexact_mean(model, op, layer)
        else:
            layer, h = _activation(op, n, prev_t, h, opt, model.is_quantized())
        layers.append(layer)
        prev_t = layer.result_t
    return FirmwareNetwork(
        name=_identifier(model.name),
        input_t=in_t,
        input_names=_input_names(model, x, input_names),
        layers=tuple(layers),
        meta={"source": str(model.source), "format": model.format},
    )


def _check_supported(model: ImportedModel) -> None:
    for i, op in enumerate(model.ops):
        last = i == len(model.ops) - 1
        if op.kind in ("softmax", "sigmoid") and not last:
            raise TrigkitError(
                f"{model.source}: layer '{op.name}' ({op.kind} before the last layer) has "
                f"no firmware layer; supported: {', '.join(FIRMWARE_OPS)}"
            )
    if model.ops[0].kind not in ("dense", "conv1d"):
        raise TrigkitError(
            f"{model.source}: the firmware network must start with a dense or Conv1D layer"
        )


def _input_names(
    model: ImportedModel, x: np.ndarray, names: tuple[str, ...] | None
) -> tuple[str, ...]:
    n_feat = x.shape[-1]
    base = names or tuple(f"x{i}" for i in range(n_feat))
    if len(base) != n_feat:
        raise TrigkitError(f"{len(base)} input names for {n_feat} features of {model.source}")
    if x.ndim == 2:
        return tuple(base)
    return tuple(f"c{c}_{name}" for c in range(x.shape[1]) for name in base)


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
    conv = op.kind == "conv1d"
    k = w.shape[2] if conv else 1
    acc = _exact_accum(in_t, wt, bt, op.n_in * k)
    n_in_pos = h.shape[1] if h.ndim == 3 else 1
    h = conv1d_apply(replace(op, weight=w, bias=b), h) if conv else h @ w.T + b
    hidden = nxt is not None and nxt.kind in _HIDDEN_ACTS
    if op.result_t is not None:
        res = op.result_t
    elif quantized:
        res = acc
    else:
        width = opt.bits + 1 if hidden else opt.logit_bits
        span = _softmax_span(h) if nxt is not None and nxt.kind == "softmax" else h
        res = _signed(width, span, opt.range_quantile, (opt.rounding, opt.overflow))
    n_out_pos = h.shape[1] if h.ndim == 3 else 1
    kind = "conv1d" if conv else "pointwise" if h.ndim == 3 else "dense"
    layer = FirmwareLayer(
        name,
        kind,
        op.n_in * n_in_pos,
        op.n_out * n_out_pos,
        res,
        weight=im2col_weight(w) if conv else w,
        bias=b,
        weight_t=wt,
        bias_t=bt,
        accum_t=acc,
        n_const=n_in_pos,
        filt_width=k,
        pad=op.pads if conv else (0, 0),
    )
    return layer, quantize_values(h, res)


def fold_casts(ops: tuple[Op, ...]) -> tuple[Op, ...]:
    """A quantizer on its own (a ``linear`` op with a pinned type: QKeras ``QActivation
    (quantized_bits)``) right after a dense / conv1d / pooling / ReLU whose result is not pinned
    becomes that layer's ``result_t``: hls4ml has no layer for a bare cast, and casting the
    layer's exact result once is what the source computes."""
    out: list[Op] = []
    foldable = ("dense", "conv1d", "mean_pool", "relu", "relu6")
    for op in ops:
        prev = out[-1] if out else None
        if (
            op.kind == "linear"
            and op.result_t is not None
            and prev is not None
            and prev.kind in foldable
            and prev.result_t is None
        ):
            out[-1] = replace(prev, result_t=op.result_t)
            continue
        out.append(op)
    return tuple(out)


def _warn_inexact_mean(model: ImportedModel, op: Op, layer: FirmwareLayer) -> None:
    n = layer.n_const
    if model.is_quantized() and op.result_t is None and n & (n - 1):
        log.warning(
            "%s: layer '%s' averages %d constituents (not a power of two) with no quantizer "
            "after it: the firmware truncates the mean the source computes in float, so it is "
            "not bit-exact with the source there; add a quantizer after the pooling",
            model.source,
            op.name,
            n,
        )


def _mean_pool(
    op: Op, in_t: FixedType, h: np.ndarray, opt: FirmwareOptions
) -> tuple[FirmwareLayer, np.ndarray]:
    n_const, n_feat = h.shape[1], h.shape[2]
    acc, res = pool_types(in_t, n_const, (opt.rounding, opt.overflow), op.result_t)
    layer = FirmwareLayer(
        "pool", "mean_pool", n_const * n_feat, n_feat, res, accum_t=acc, n_const=n_const
    )
    return layer, quantize_values(h.mean(axis=1), res)


def _activation(
    op: Op, n: int, in_t: FixedType, h: np.ndarray, opt: FirmwareOptions, quantized: bool
) -> tuple[FirmwareLayer, np.ndarray]:
    width = int(np.prod(h.shape[1:]))
    g = h.shape[1] if h.ndim == 3 else 1
    modes = (opt.rounding, opt.overflow)
    if op.kind in ("relu", "relu6"):
        h = np.clip(h, 0.0, 6.0 if op.kind == "relu6" else np.inf)
        top = float(np.quantile(h, opt.range_quantile)) if h.size else 0.0
        top = 6.0 if op.kind == "relu6" else top  # its range is known
        unsigned = FixedType(opt.bits, 1, False, *modes)  # type: ignore[arg-type]
        res = op.result_t or (_exact_relu(in_t) if quantized else unsigned.covering(0.0, top))
        name = f"relu{n}" if op.kind == "relu" else f"relu6_{n}"
        layer = FirmwareLayer(name, op.kind, width, width, res, n_const=g)
        return layer, quantize_values(h, res)
    if op.kind == "leaky_relu":
        alpha, param_t = leaky_param(op.alpha, PARAM_BITS)
        h = np.where(h > 0, h, alpha * h)
        res = op.result_t or _signed(opt.bits + 1, h, opt.range_quantile, modes)
        layer = FirmwareLayer(
            f"lrelu{n}", "leaky_relu", width, width, res, n_const=g, alpha=alpha, param_t=param_t
        )
        return layer, quantize_values(h, res)
    if op.kind == "linear":
        res = op.result_t or in_t
        layer = FirmwareLayer(f"act{n}", "linear", width, width, res, n_const=g)
        return layer, quantize_values(h, res)
    res = op.result_t or FixedType(opt.logit_bits, 1, False, "AP_RND", "AP_SAT")
    if op.kind == "softmax":
        spec = SoftmaxSpec(inv_inp_t=softmax_sum_t(width))
        layer = FirmwareLayer("softmax", "softmax", width, width, res, softmax=spec)
    else:
        layer = FirmwareLayer("sigmoid", "sigmoid", width, width, res)
    return layer, h


def _softmax_span(logits: np.ndarray) -> np.ndarray:
    """The logits and every ``max - logit`` of their row: the values hls4ml's stable softmax
    holds in the logit type's range (``x_max - x_i`` in ``inp_norm_t``, one bit narrower), so a
    logit type that covers the logits only saturates that difference at the type's top and
    flattens the probabilities."""
    z = np.asarray(logits, dtype=np.float64).reshape(len(logits), -1)
    if z.size == 0:
        return z
    return np.concatenate([z, z.max(axis=1, keepdims=True) - z], axis=1)


def softmax_sum_t(n_out: int) -> FixedType:
    """``inv_inp_t`` for an ``n_out``-class stable softmax: the sum of ``exp(x_i - x_max)`` lies
    in ``[1, n_out]``, so an 18-bit type covering ``n_out`` addresses the 1/sum table in steps
    of ``2**(integer - 10)`` (1024 entries); hls4ml's default ap_fixed<18,8> steps 0.25 over
    [0, 128), a ~5 % error on 1/sum for five classes."""
    return FixedType(18, 1, True, "AP_RND", "AP_SAT").covering(0.0, float(n_out))


def _exact_relu(in_t: FixedType) -> FixedType:
    """The unsigned type holding every non-negative value of ``in_t`` exactly: a quantized
    source's ReLU / ReLU6 with no quantizer of its own only drops the sign (an input reaching 6
    has >= 3 integer bits, so ReLU6's 6 is a value too)."""
    s = int(in_t.signed)
    return FixedType(in_t.width - s, in_t.integer - s, False)


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
