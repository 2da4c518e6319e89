"""A QKeras DeepSets / Conv1D tagger: the real QKeras model, and the same file written by h5py.

``x [B, N_CONST, 4] -> QActivation(quantized_bits) -> QConv1D(kernel 3, 'same',
quantized_relu) -> TimeDistributed(QDense) -> QActivation(quantized_relu) -> QDense on the 3-D
tensor -> QActivation(quantized_bits) -> QActivation(quantized_relu) -> GlobalAveragePooling1D
-> [QActivation(quantized_bits)] -> QDense``, every type pinned by a quantizer (a
``quantized_bits`` QActivation becomes the result type of the layer before it). ``N_CONST``
is 6 (not a power of two): with the quantizer after the pooling, the mean is still exact at
the quantized point.

:func:`write_h5` lays out the legacy ``.h5`` exactly as tf-keras saves this model (the
``model_config`` attribute, ``model_weights/<layer>/<layer>/kernel:0`` named by
``weight_names``), so the tests without TensorFlow (hls4ml C simulation) read the same file;
tests/importers/test_qkeras_sets.py checks in the QKeras venv that both give one firmware.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

N_CONST, N_FEAT = 6, 4
Q_IN = {"bits": 8, "integer": 3}  # quantized_bits: ap_fixed<8,4>
Q_W = {"bits": 6, "integer": 0}
Q_B = {"bits": 8, "integer": 2}
Q_RELU = {"bits": 6, "integer": 2}  # ap_ufixed<6,2>
Q_POOL = {"bits": 10, "integer": 2}  # ap_fixed<10,3> on the mean
Q_CAST = {"bits": 8, "integer": 2}  # ap_fixed<8,3> on phi2's output
HEAD = ("out", "QDense", 3)


def weights(seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Keras-layout kernels and biases (conv kernel ``(3, n_chan, n_filt)``), float32."""
    rng = np.random.default_rng(seed)
    shapes = {"conv": (3, N_FEAT, 8), "td": (8, 16), "phi2": (16, 16), "out": (16, 3)}
    return {
        k: [
            rng.uniform(-1.0, 1.0, s).astype(np.float32),
            rng.uniform(-2.0, 2.0, s[-1]).astype(np.float32),
        ]
        for k, s in shapes.items()
    }


def _q(name: str, cfg: dict[str, int]) -> dict[str, Any]:
    full = {"symmetric": 0, "alpha": 1, "keep_negative": True} if name == "quantized_bits" else {}
    if name == "quantized_relu":
        full = {"use_sigmoid": 0, "negative_slope": 0.0, "relu_upper_bound": None}
    return {"class_name": name, "config": {**cfg, **full, "use_stochastic_rounding": False}}


def _qdense(name: str, units: int, act: Any = "linear") -> dict[str, Any]:
    return {
        "class_name": "QDense",
        "config": {
            "name": name,
            "units": units,
            "activation": act,
            "use_bias": True,
            "kernel_quantizer": _q("quantized_bits", Q_W),
            "bias_quantizer": _q("quantized_bits", Q_B),
        },
    }


def _qact(name: str, quantizer: dict[str, Any]) -> dict[str, Any]:
    return {"class_name": "QActivation", "config": {"name": name, "activation": quantizer}}


def config(pool_quantizer: bool = True) -> dict[str, Any]:
    """The ``model_config`` tf-keras writes for :func:`qkeras_model`."""
    shape = [None, N_CONST, N_FEAT]
    conv = _qdense("conv", 8, _q("quantized_relu", Q_RELU))
    conv["class_name"] = "QConv1D"
    conv["config"] |= {
        "filters": 8,
        "kernel_size": [3],
        "strides": [1],
        "padding": "same",
        "data_format": "channels_last",
        "dilation_rate": [1],
        "groups": 1,
    }
    del conv["config"]["units"]
    td_cfg = {"name": "td", "layer": _qdense("q_dense", 16)}
    td = {"class_name": "TimeDistributed", "config": td_cfg}
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": shape, "name": "x"}},
        _qact("q_in", _q("quantized_bits", Q_IN)),
        conv,
        td,
        _qact("relu1", _q("quantized_relu", Q_RELU)),
        _qdense("phi2", 16),
        _qact("q_phi2", _q("quantized_bits", Q_CAST)),
        _qact("relu2", "quantized_relu(6,2)"),  # QKeras also writes a quantizer as its string
        {"class_name": "GlobalAveragePooling1D", "config": {"name": "pool", "keepdims": False}},
    ]
    if pool_quantizer:
        layers.append(_qact("q_pool", _q("quantized_bits", Q_POOL)))
    layers.append(_qdense(*HEAD[::2]))
    return {"class_name": "Sequential", "config": {"name": "qdeepsets", "layers": layers}}


def write_h5(path: Path, w: dict[str, list[np.ndarray]], pool_quantizer: bool = True) -> Path:
    """The legacy ``.h5`` file tf-keras writes for :func:`qkeras_model` with weights ``w``."""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config(pool_quantizer))
        g = f.create_group("model_weights")
        for name, (kernel, bias) in w.items():
            names = [f"{name}/kernel:0", f"{name}/bias:0"]
            g.create_group(name).attrs["weight_names"] = [n.encode() for n in names]
            g[f"{name}/{names[0]}"] = kernel
            g[f"{name}/{names[1]}"] = bias
    return path


def qkeras_model(keras: Any, w: dict[str, list[np.ndarray]], pool_quantizer: bool = True) -> Any:
    """The real QKeras model (the QKeras venv only)."""
    from qkeras import QActivation, QConv1D, QDense, quantized_bits, quantized_relu

    L = keras.layers
    qw, qb = quantized_bits(**Q_W, alpha=1), quantized_bits(**Q_B, alpha=1)
    layers = [
        QActivation(quantized_bits(**Q_IN, alpha=1), input_shape=(N_CONST, N_FEAT), name="q_in"),
        QConv1D(
            8,
            3,
            padding="same",
            kernel_quantizer=qw,
            bias_quantizer=qb,
            activation=quantized_relu(**Q_RELU),
            name="conv",
        ),
        L.TimeDistributed(QDense(16, kernel_quantizer=qw, bias_quantizer=qb), name="td"),
        QActivation(quantized_relu(**Q_RELU), name="relu1"),
        QDense(16, kernel_quantizer=qw, bias_quantizer=qb, name="phi2"),
        QActivation(quantized_bits(**Q_CAST, alpha=1), name="q_phi2"),
        QActivation("quantized_relu(6,2)", name="relu2"),
        L.GlobalAveragePooling1D(name="pool"),
    ]
    if pool_quantizer:
        layers.append(QActivation(quantized_bits(**Q_POOL, alpha=1), name="q_pool"))
    layers.append(QDense(3, kernel_quantizer=qw, bias_quantizer=qb, name="out"))
    model = keras.Sequential(layers)
    for name, arrays in w.items():
        model.get_layer(name).set_weights(arrays)
    return model
