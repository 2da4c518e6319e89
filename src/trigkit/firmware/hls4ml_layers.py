"""hls4ml's own layer list for a FirmwareNetwork with set layers or the extra activations.

hls4ml's PyTorch frontend has no global pooling and no ReLU6, so a network using the kinds of
:mod:`trigkit.fixedpoint.set_layers` is handed to hls4ml as the layer list its Keras frontend
would build (``ModelGraph.from_layer_list``), channels last:

============  =========================================================================
trigkit       hls4ml layer
============  =========================================================================
pointwise     ``Conv1D`` (kernel 1, stride 1, no padding; hls4ml makes it a PointwiseConv1D)
conv1d        ``Conv1D`` (kernel ``filt_width``, stride 1, ``pad_left`` / ``pad_right``)
mean_pool     ``GlobalAveragePooling1D`` (``nnet::global_pooling1d_cl``, Average)
leaky_relu    ``LeakyReLU`` (``nnet::leaky_relu``, alpha of type ``param_t``)
relu6         ``Activation`` 'relu6' (``nnet::relu6``)
dense, relu, softmax, sigmoid: ``Dense``, ``Activation``, ``Softmax``
============  =========================================================================

The precisions come from :func:`trigkit.firmware.hls4ml.to_hls4ml_config` (all explicit) and
are checked after conversion as for every network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork
from trigkit.fixedpoint.set_layers import EXTRA_ACTIVATIONS, SET_KINDS, out_positions

_ACTIVATION = {"relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid"}


def needs_layer_list(network: FirmwareNetwork) -> bool:
    """True when the PyTorch frontend cannot express ``network``."""
    kinds = SET_KINDS + EXTRA_ACTIVATIONS
    return any(layer.kind in kinds or layer.n_const > 1 for layer in network.layers)


def input_shape(network: FirmwareNetwork) -> list[int]:
    """``[n_const, n_feat]`` for a set input, else ``[n_inputs]``."""
    first = network.layers[0]
    if first.n_const > 1:
        return [first.n_const, network.n_inputs // first.n_const]
    return [network.n_inputs]


def layer_list(network: FirmwareNetwork, input_name: str) -> list[dict[str, Any]]:
    """The layer dictionaries hls4ml's converters produce, one per layer of ``network``."""
    out: list[dict[str, Any]] = [
        {"class_name": "InputLayer", "name": input_name, "input_shape": input_shape(network)}
    ]
    for layer in network.layers:
        d = {"name": layer.name, "inputs": [out[-1]["name"]], **_layer_dict(layer)}
        out.append(d)
    return out


def _layer_dict(layer: FirmwareLayer) -> dict[str, Any]:
    if layer.kind == "dense":
        return {
            "class_name": "Dense",
            "n_in": layer.n_in,
            "n_out": layer.n_out,
            **_weights(layer, np.asarray(layer.weight).T),
        }
    if layer.kind in ("pointwise", "conv1d"):
        return _conv1d(layer)
    if layer.kind == "mean_pool":
        return {
            "class_name": "GlobalAveragePooling1D",
            "data_format": "channels_last",
            "n_in": layer.n_const,
            "n_filt": layer.n_out,
            "keepdims": False,
        }
    if layer.kind == "leaky_relu":
        return {"class_name": "LeakyReLU", "activation": "leaky_relu", "activ_param": layer.alpha}
    if layer.kind == "softmax":
        return {"class_name": "Softmax", "activation": "softmax", "axis": -1}
    if layer.kind in _ACTIVATION:
        return {"class_name": "Activation", "activation": _ACTIVATION[layer.kind]}
    raise TrigkitError(
        f"layer '{layer.name}' ({layer.kind}): no hls4ml layer; fold the cast into the previous "
        "layer's result_t"
    )


def _weights(layer: FirmwareLayer, kernel: np.ndarray) -> dict[str, Any]:
    return {
        "weight_data": np.ascontiguousarray(kernel, dtype=np.float64),
        "bias_data": np.asarray(layer.bias, dtype=np.float64),
        "weight_quantizer": None,
        "bias_quantizer": None,
    }


def _conv1d(layer: FirmwareLayer) -> dict[str, Any]:
    k = layer.filt_width
    w = np.asarray(layer.weight)
    n_filt, n_chan = w.shape[0], w.shape[1] // k
    kernel = w.reshape(n_filt, k, n_chan).transpose(1, 2, 0)  # Keras (width, n_chan, n_filt)
    return {
        "class_name": "Conv1D",
        "data_format": "channels_last",
        "in_width": layer.n_const,
        "out_width": out_positions(layer),
        "n_chan": n_chan,
        "n_filt": n_filt,
        "filt_width": k,
        "stride_width": 1,
        "pad_left": layer.pad[0],
        "pad_right": layer.pad[1],
        **_weights(layer, kernel),
    }


def build_model(
    network: FirmwareNetwork, out_dir: str, hls_config: dict[str, Any], input_name: str
) -> Any:
    """The hls4ml ``ModelGraph`` of ``network`` (not yet written)."""
    require("hls4ml", "fpga")
    from hls4ml.model.graph import ModelGraph
    from hls4ml.utils.config import create_config

    config = create_config(
        output_dir=out_dir,
        project_name=network.project_name,
        backend=network.backend,
        part=network.part,
        clock_period=network.clock_period_ns,
        io_type=network.io_type,
    )
    model_cfg = {k: v for k, v in hls_config["Model"].items() if k != "ChannelsLastConversion"}
    config["HLSConfig"] = {"Model": model_cfg, "LayerName": hls_config["LayerName"]}
    return ModelGraph.from_layer_list(config, layer_list(network, input_name))
