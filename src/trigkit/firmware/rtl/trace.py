"""FirmwareNetwork -> da4ml trace (``CombLogic``): the layer-by-layer lowering of the RTL path.

Every constant matrix-vector product becomes a distributed-arithmetic adder graph, every cast a
bit-exact ``quantize``; a dense layer with its ReLU gets the shallow form of
:mod:`trigkit.firmware.rtl.dense`, a pointwise / conv1d layer is that dense on every output
position and the other set layers and activations are in :mod:`trigkit.firmware.rtl.set_layers`;
the softmax is :mod:`trigkit.firmware.rtl.softmax`. Constant adds are sunk by
:mod:`trigkit.firmware.rtl.graph`. :mod:`trigkit.firmware.rtl.generate` pipelines the result.
"""

from __future__ import annotations

import functools

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.firmware.rtl import dense as rtl_dense
from trigkit.firmware.rtl import set_layers as rtl_sets
from trigkit.firmware.rtl.graph import sink_constant_adds
from trigkit.firmware.rtl.softmax import trace_softmax
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import WEIGHTED_KINDS, FirmwareLayer, FirmwareNetwork

__all__ = ["DEFAULT_DELAY_CONSTRAINT", "RTL_KINDS", "rtl_layer_count", "trace_network"]

DEFAULT_DELAY_CONSTRAINT = 0  # da4ml hard_dc: shallowest adder trees
RTL_KINDS = (
    "dense",
    "relu",
    "linear",
    "pointwise",
    "conv1d",
    "mean_pool",
    "leaky_relu",
    "relu6",
)
_ROUND = rtl_sets.ROUND
_cast = rtl_sets.cast


def rtl_layer_count(network: FirmwareNetwork) -> int:
    """How many leading layers the RTL implements: every kind but sigmoid, a softmax only
    last."""
    n = 0
    for layer in network.layers:
        if layer.kind not in RTL_KINDS:
            if layer.kind == "softmax":
                n += 1
            break
        n += 1
    if n == 0:
        raise TrigkitError(
            f"network '{network.name}': first layer '{network.layers[0].name}' "
            f"({network.layers[0].kind}) has no RTL implementation; valid: {', '.join(RTL_KINDS)}"
        )
    if n < len(network.layers):
        raise TrigkitError(
            f"layer '{network.layers[n].name}' ({network.layers[n].kind}) has no RTL "
            f"implementation; the RTL path covers {', '.join(RTL_KINDS)} and a final softmax"
        )
    return n


def _check_dense(layer: FirmwareLayer, in_t: FixedType) -> None:
    acc, w, b = layer.accum_t, layer.weight_t, layer.bias_t
    assert acc is not None and w is not None and b is not None
    where = f"layer '{layer.name}'"
    if acc.frac < in_t.frac + w.frac or acc.frac < b.frac:
        raise TrigkitError(
            f"{where}: accum {acc.hls()} has {acc.frac} fraction bits but products need "
            f"{in_t.frac + w.frac} and the bias {b.frac}; the RTL path needs exact products - "
            "widen accum_t"
        )
    if acc.overflow == "AP_SAT":
        xmax = max(abs(in_t.min), abs(in_t.max))
        assert layer.weight is not None and layer.bias is not None
        worst = float((np.abs(layer.bias) + np.abs(layer.weight).sum(axis=1) * xmax).max())
        if worst > acc.max or -worst < acc.min:
            raise TrigkitError(
                f"{where}: saturating accum {acc.hls()} can overflow (|sum| up to {worst:g}); "
                "the RTL path needs AP_WRAP or a wider accumulator"
            )


def _dense(x, layer: FirmwareLayer, *, relu: FirmwareLayer | None, in_t: FixedType):  # noqa: ANN001, ANN202
    """One per-jet dense layer (and the ReLU after it, if given) on the da4ml array ``x``."""
    where = f"layer '{layer.name}'"
    if relu is not None and all(t.rounding in _ROUND for t in (layer.result_t, relu.result_t)):
        fused = rtl_dense.dense_block(x, layer, relu, in_t)
        if fused is not None:
            return fused
    elif relu is None and layer.result_t.rounding in _ROUND:
        fused = rtl_dense.dense_last(x, layer, in_t)
        if fused is not None:
            return fused
    assert layer.weight is not None and layer.bias is not None and layer.accum_t is not None
    acc = _cast(x @ layer.weight.T.astype(np.float64) + layer.bias, layer.accum_t, where)
    y = _cast(acc, layer.result_t, where)
    if relu is not None:
        y = _cast(y.relu(), relu.result_t, f"layer '{relu.name}'")
    return y


def trace_network(
    network: FirmwareNetwork,
    upto: int | None = None,
    delay_constraint: int = DEFAULT_DELAY_CONSTRAINT,
):  # noqa: ANN201 - da4ml CombLogic
    """Trace the first ``upto`` layers (default: all RTL-able) into a da4ml ``CombLogic``.

    ``delay_constraint``: da4ml's ``hard_dc`` for every constant matrix-vector product - how many
    adder levels an output may have beyond the shallowest possible tree (0: the shallowest, a few
    % more adders; -1: no limit, da4ml's default). A dense layer and the ReLU after it are traced
    by :func:`trigkit.firmware.rtl.dense.dense_block` (one constant add, one bit-test cap) where
    its identities hold; a pointwise / conv1d layer is that dense on every output position, the
    other set layers are in :mod:`trigkit.firmware.rtl.set_layers`."""
    trace = require("da4ml.trace", "fpga")
    n = rtl_layer_count(network) if upto is None else upto
    inp = trace.FixedVariableArrayInput(
        network.n_inputs,
        hwconf=trace.HWConfig(1, -1, -1),
        solver_options={"hard_dc": int(delay_constraint)},
    )
    x = inp.quantize(*network.input_t.kif)  # declares the input codes' width (already input_t)
    layers = network.layers[:n]
    index = 0
    while index < len(layers):
        layer, in_t = layers[index], network.input_type_of(index)
        where = f"layer '{layer.name}'"
        nxt = layers[index + 1] if index + 1 < len(layers) else None
        if layer.kind in WEIGHTED_KINDS:
            relu = nxt if nxt is not None and nxt.kind == "relu" else None
            _check_dense(layer, in_t)
            x = rtl_sets.per_position(x, layer, functools.partial(_dense, relu=relu, in_t=in_t))
            index += 1 if relu is None else 2
            continue
        if layer.kind == "relu":
            x = _cast(x.relu(), layer.result_t, where)
        elif layer.kind == "softmax":
            x = _softmax(x, layer, in_t)
        elif layer.kind == "mean_pool":
            x = rtl_sets.mean_pool(x, layer, in_t)
        elif layer.kind == "leaky_relu":
            x = rtl_sets.leaky_relu(x, layer)
        elif layer.kind == "relu6":
            x = rtl_sets.relu6(x, layer)
        else:  # linear
            x = _cast(x, layer.result_t, where)
        index += 1
    return sink_constant_adds(trace.comb_trace(inp, x, keep_dead_inputs=True))


def _softmax(x, layer: FirmwareLayer, in_t: FixedType):  # noqa: ANN001, ANN202 - da4ml arrays
    spec = layer.softmax
    assert spec is not None
    for t in (spec.accum_t, spec.inv_inp_t, layer.result_t):
        if t.rounding not in _ROUND:
            raise TrigkitError(
                f"layer '{layer.name}': rounding {t.rounding} of {t.hls()} has no da4ml "
                "equivalent; valid for RTL: AP_TRN, AP_RND"
            )
    return trace_softmax(x, layer, in_t)
