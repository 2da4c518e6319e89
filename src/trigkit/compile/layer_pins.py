"""Per-layer precision overrides (``trigkit compile --target fpga --layer-precision FILE``).

The file is YAML or JSON with one entry per dense layer, the :class:`LayerQuant` fields of
``QATConfig.layers`` (what a trigkit model's saved QAT config pins)::

    layers:
      fc1: {weight: "ap_fixed<6,1>", bias: "ap_fixed<10,3>", result: "ap_fixed<12,5>"}
      fc2: {activation: "ap_ufixed<6,2>", reuse_factor: 2}   # activation: the ReLU after fc2

Layers are named ``fc1``, ``fc2``, ... in order (``relu<i>`` follows ``fc<i>``), for trigkit's
own taggers and for imported models alike. Unset fields keep what ``--bits`` and the
calibration rows chose. For a trigkit model the pins go into its QAT config; for an imported
model :func:`apply_pins` re-types the firmware network built from the imported graph: a pinned
weight or bias type re-quantizes the original float values, accumulators stay exact for the
new input types unless pinned, and an exact result (a quantized source's) follows its
accumulator.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from trigkit.compile.qat_config import LayerQuant
from trigkit.core.errors import TrigkitError
from trigkit.core.validated import Validated
from trigkit.fixedpoint.fixed import FixedType

if TYPE_CHECKING:
    from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork
    from trigkit.importers.graph import ImportedModel, Op

Pins = dict[str, LayerQuant]


class LayerPrecisionFile(Validated):
    """The ``--layer-precision`` file."""

    layers: dict[str, LayerQuant]


def read_layer_pins(path: Path) -> Pins:
    """The pins in ``path``; every type string is parsed here, so a bad one names the file."""
    from trigkit.core.mapping_file import read_mapping_file

    data = read_mapping_file(path, "--layer-precision")
    pins = LayerPrecisionFile.parse(data, f"{path}").layers
    for name, pin in pins.items():
        for field in ("weight", "bias", "accum", "result", "activation"):
            text = getattr(pin, field)
            if text is not None:
                _parse(text, f"{path}: layers.{name}.{field}")
    return pins


def check_pin_names(pins: Pins, network: FirmwareNetwork, where: str) -> None:
    """Every pinned name must be a dense layer of ``network``."""
    dense = [layer.name for layer in network.layers if layer.kind == "dense"]
    unknown = sorted(set(pins) - set(dense))
    if unknown:
        raise TrigkitError(
            f"{where}: layer '{unknown[0]}' is not a dense layer of the network; "
            f"valid: {', '.join(dense)}"
        )


def apply_pins(
    network: FirmwareNetwork, model: ImportedModel, pins: Pins, where: str
) -> FirmwareNetwork:
    """``network`` (from ``model``) with the pinned types; see the module docstring."""
    check_pin_names(pins, network, where)
    if not pins:
        return network
    dense_ops = [op for op in model.ops if op.kind == "dense"]
    layers: list[FirmwareLayer] = []
    prev_t, k = network.input_t, 0
    for layer in network.layers:
        if layer.kind == "dense":
            k += 1
            layer = _pin_dense(layer, dense_ops[k - 1], prev_t, pins.get(layer.name), where)
        elif layer.kind == "relu" and (pin := pins.get(f"fc{k}")) and pin.activation:
            layer = replace(layer, result_t=_parse(pin.activation, where))
        elif layer.kind == "linear":
            layer = replace(layer, result_t=prev_t)
        layers.append(layer)
        prev_t = layer.result_t
    return network.with_(layers=tuple(layers))


def _pin_dense(
    layer: FirmwareLayer, op: Op, in_t: FixedType, pin: LayerQuant | None, where: str
) -> FirmwareLayer:
    from trigkit.importers.quant import quantize_values

    pin = pin or LayerQuant(reuse_factor=layer.reuse_factor)
    assert layer.weight_t is not None and layer.bias_t is not None
    w, b = layer.weight, layer.bias
    wt, bt = layer.weight_t, layer.bias_t
    if pin.weight:
        wt = _parse(pin.weight, where)
        w = quantize_values(op.weight, wt)  # type: ignore[arg-type]
    if pin.bias:
        bt = _parse(pin.bias, where)
        b = quantize_values(op.bias, bt)  # type: ignore[arg-type]
    acc = _parse(pin.accum, where) if pin.accum else exact_accum(in_t, wt, bt, layer.n_in)
    result = layer.result_t
    if pin.result:
        result = _parse(pin.result, where)
    elif layer.result_t == layer.accum_t:  # a quantized source's exact result
        result = acc
    return replace(
        layer,
        weight=w,
        bias=b,
        weight_t=wt,
        bias_t=bt,
        accum_t=acc,
        result_t=result,
        reuse_factor=pin.reuse_factor,
    )


def exact_accum(in_t: FixedType, wt: FixedType, bt: FixedType, n_in: int) -> FixedType:
    """The accumulator that never rounds or overflows (the importers' and QAT's default)."""
    frac = max(in_t.frac + wt.frac, bt.frac)
    integer = max(in_t.integer + wt.integer, bt.integer) + (n_in + 1).bit_length()
    return FixedType(frac + integer, integer, True, "AP_TRN", "AP_WRAP")


def _parse(text: str, where: str) -> FixedType:
    try:
        return FixedType.parse(text)
    except TrigkitError as exc:
        raise TrigkitError(f"{where}: {exc}") from None
