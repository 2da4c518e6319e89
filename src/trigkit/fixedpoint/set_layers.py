"""The DeepSets layers and the extra activations of a FirmwareNetwork, with hls4ml's semantics.

All follow hls4ml's io_parallel templates (``nnet_conv1d_latency.h``, ``nnet_pooling.h``,
``nnet_activation.h``); a set tensor ``[n_const, n_feat]`` is stored constituent-major
(channels last), element ``c * n_feat + f``.

- ``pointwise`` (hls4ml ``Conv1D`` with a 1-wide kernel, made a ``PointwiseConv1D``): the
  ``dense`` arithmetic of every constituent with the same ``weight`` ``(n_filt, n_chan)``:
  ``acc = accum_t(bias)``; ``acc += accum_t(x_c * w)`` over the channels in order;
  ``y = result_t(acc)``.
- ``conv1d`` (hls4ml ``Conv1D``, ``nnet::conv_1d_latency_cl``): a 1-D convolution over the
  ``n_const`` positions, kernel ``filt_width``, stride 1, ``pad = (left, right)`` zero
  positions; each output position is the ``dense`` arithmetic over its im2col window, inputs
  in hls4ml's im2col order (kernel position major, channel minor), so ``weight`` is
  ``(n_filt, filt_width * n_chan)`` with column ``k * n_chan + c``; ``out_width = n_const +
  left + right - filt_width + 1``.
- ``mean_pool`` (``GlobalAveragePooling1D``, ``nnet::avg``): per feature
  ``acc = accum_t(0)``; ``acc = accum_t(acc + x_c)`` over the constituents in order; then
  ``acc /= n_const`` (ap_fixed division by an unsigned int: the code divided by ``n_const``,
  truncated towards zero, same fraction bits); ``y = result_t(acc)``.
- ``leaky_relu``: ``y = result_t(x)`` if ``x > 0`` else ``result_t(alpha * x)`` with ``alpha``
  a ``param_t`` constant and the product exact.
- ``relu6`` (``nnet::relu6`` = ``relu_max<6>``): ``0`` if ``x < 0``, ``result_t(6)`` if
  ``x > 6``, else ``result_t(x)``.

hls4ml has no sum pooling; the importer writes ``sum = mean * n_const`` into the next dense
layer's weights, which is exact when ``n_const`` is a power of two
(:mod:`trigkit.importers.firmware`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import FixedType

if TYPE_CHECKING:
    from trigkit.fixedpoint.network import FirmwareLayer

SET_KINDS = ("pointwise", "conv1d", "mean_pool")
EXTRA_ACTIVATIONS = ("leaky_relu", "relu6")


def check_layer(layer: FirmwareLayer, where: str) -> None:
    """The checks of the kinds described in this module (and ``n_const`` of every layer)."""
    if layer.n_const < 1:
        raise TrigkitError(f"{where}: n_const must be >= 1, got {layer.n_const}")
    _check_conv(layer, where)
    n_pos = out_positions(layer) if layer.kind != "mean_pool" else 1  # a pool's outputs: per jet
    if layer.n_in % layer.n_const or layer.n_out % n_pos:
        raise TrigkitError(
            f"{where}: n_in={layer.n_in} / n_out={layer.n_out} are not multiples of the "
            f"{layer.n_const} input / {n_pos} output positions"
        )
    if layer.kind == "mean_pool":
        if layer.accum_t is None:
            raise TrigkitError(f"{where}: a mean_pool layer needs accum_t")
        if layer.n_in != layer.n_const * layer.n_out:
            raise TrigkitError(
                f"{where}: mean_pool takes n_const x n_out = {layer.n_const} x {layer.n_out} "
                f"inputs, got n_in={layer.n_in}"
            )
    if layer.kind == "leaky_relu":
        _check_alpha(layer, where)
    elif layer.alpha is not None or layer.param_t is not None:
        raise TrigkitError(f"{where}: alpha / param_t belong to a leaky_relu layer only")


def _check_conv(layer: FirmwareLayer, where: str) -> None:
    k, (left, right) = layer.filt_width, layer.pad
    if layer.kind != "conv1d":
        if k != 1 or (left, right) != (0, 0):
            raise TrigkitError(f"{where}: filt_width / pad belong to a conv1d layer only")
        return
    if k < 1 or left < 0 or right < 0 or max(left, right) >= k:
        raise TrigkitError(
            f"{where}: conv1d filt_width={k}, pad=({left}, {right}); valid: filt_width >= 1 and "
            "0 <= pad < filt_width (stride 1, 'valid' or 'same' padding)"
        )
    if out_positions(layer) < 1:
        raise TrigkitError(f"{where}: kernel {k} is wider than the {layer.n_const} positions")


def out_positions(layer: FirmwareLayer) -> int:
    """Positions (constituents) of the layer's output: ``out_width`` of a conv1d."""
    if layer.kind == "conv1d":
        return layer.n_const + layer.pad[0] + layer.pad[1] - layer.filt_width + 1
    return layer.n_const


def weight_shape(layer: FirmwareLayer) -> tuple[int, int]:
    """``(n_out, n_in)`` of one output position's weight matrix."""
    n_pos = out_positions(layer)
    if n_pos < 1 or layer.n_out % n_pos:
        return (-1, -1)  # reported by check_layer
    return layer.n_out // n_pos, layer.filt_width * layer.n_in // layer.n_const


def im2col_index(layer: FirmwareLayer) -> np.ndarray:
    """``[out_width, filt_width * n_chan]`` input indices of every window (-1: a zero pad),
    in hls4ml's ``_compute_conv1d_im2col`` order."""
    n_chan = layer.n_in // layer.n_const
    pos = np.arange(out_positions(layer))[:, None] + np.arange(layer.filt_width)[None, :]
    pos = pos - layer.pad[0]
    idx = pos[:, :, None] * n_chan + np.arange(n_chan)[None, None, :]
    idx = np.where(((pos >= 0) & (pos < layer.n_const))[:, :, None], idx, -1)
    return idx.reshape(len(idx), -1)


def _check_alpha(layer: FirmwareLayer, where: str) -> None:
    a, t = layer.alpha, layer.param_t
    if a is None or t is None:
        raise TrigkitError(f"{where}: a leaky_relu layer needs alpha and param_t")
    code = math.ldexp(a, t.frac)
    if not math.isfinite(a) or code != round(code) or not t.min_code <= code <= t.max_code:
        raise TrigkitError(
            f"{where}: alpha {a!r} is not a value of param_t {t.hls()}; quantize it first"
        )


def alpha_code(layer: FirmwareLayer) -> int:
    """The ``param_t`` code of a leaky_relu's ``alpha``."""
    assert layer.alpha is not None and layer.param_t is not None
    return int(math.ldexp(layer.alpha, layer.param_t.frac))


def extra_json(layer: FirmwareLayer) -> dict[str, Any]:
    """The JSON fields of this module's kinds (none for a per-jet layer of the older kinds, so
    their firmware digest is unchanged)."""
    d: dict[str, Any] = {}
    if layer.n_const != 1:
        d["n_const"] = layer.n_const
    if layer.kind == "mean_pool":
        d["accum_t"] = layer.accum_t.hls()  # type: ignore[union-attr]
    if layer.kind == "conv1d":
        d |= {"filt_width": layer.filt_width, "pad": list(layer.pad)}
    if layer.kind == "leaky_relu":
        d["alpha_code"] = alpha_code(layer)
        d["param_t"] = layer.param_t.hls()  # type: ignore[union-attr]
    return d


def extra_from_json(d: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :class:`FirmwareLayer` read from :func:`extra_json`'s fields."""
    kw: dict[str, Any] = {"n_const": int(d.get("n_const", 1))}
    if d["kind"] == "mean_pool":
        kw["accum_t"] = FixedType.parse(d["accum_t"])
    if d["kind"] == "conv1d":
        kw |= {"filt_width": int(d["filt_width"]), "pad": tuple(int(p) for p in d["pad"])}
    if d["kind"] == "leaky_relu":
        t = FixedType.parse(d["param_t"])
        kw |= {"param_t": t, "alpha": math.ldexp(float(int(d["alpha_code"])), -t.frac)}
    return kw
