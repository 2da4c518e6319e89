"""Keras / QKeras files written by Keras itself (the ``qkeras`` venv: scripts/test-qkeras).

The reader needs no TensorFlow; here TensorFlow writes the files and is the reference: the
float graph must match ``model.predict`` and the firmware of a QKeras model must equal QKeras's
own quantized outputs bit for bit.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trigkit.importers import firmware_digest, forward, import_model
from trigkit.importers.firmware import to_firmware_network

pytestmark = [
    pytest.mark.qkeras,
    pytest.mark.skipif(
        importlib.util.find_spec("qkeras") is None,
        reason="qkeras not installed (run scripts/test-qkeras)",
    ),
]


def _save(model: Any, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HDF5 is legacy", deprecations inside TensorFlow
        model.save(path)


def _float_model(keras: Any) -> Any:
    L = keras.layers
    return keras.Sequential(
        [
            L.InputLayer(input_shape=(16,)),
            L.Dense(32, activation="relu"),
            L.BatchNormalization(),
            L.Dense(16),
            L.Activation("relu"),
            L.Dense(5, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_keras_file_matches_keras_predict(keras: Any, tmp_path: Path, suffix: str) -> None:
    model = _float_model(keras)
    bn = model.layers[1]
    rng = np.random.default_rng(0)
    bn.set_weights(
        [
            rng.uniform(0.5, 1.5, 32),
            rng.normal(size=32),
            rng.normal(size=32),
            rng.uniform(0.5, 2.0, 32),
        ]
    )
    path = tmp_path / f"m{suffix}"
    _save(model, path)
    x = rng.normal(size=(300, 16)).astype(np.float32)
    got = forward(import_model(path), x)
    assert np.max(np.abs(got - model.predict(x, verbose=0))) < 1e-5


def test_qkeras_file_is_bit_exact_with_qkeras(keras: Any, tmp_path: Path) -> None:
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    q6 = quantized_bits(6, 0, alpha=1)
    model = keras.Sequential(
        [
            QActivation(quantized_bits(12, 4, alpha=1), input_shape=(16,), name="q_in"),
            QDense(12, kernel_quantizer=q6, bias_quantizer=q6, name="fc1"),
            QActivation(quantized_relu(6, 2), name="relu1"),
            QDense(3, kernel_quantizer=q6, bias_quantizer=q6, name="fc2"),
        ]
    )
    path = tmp_path / "q.h5"
    _save(model, path)
    x = np.random.default_rng(1).normal(scale=2.0, size=(2000, 16)).astype(np.float32)
    imported = import_model(path)
    assert imported.input_t is not None and imported.input_t.hls() == (
        "ap_fixed<12,5,AP_RND_CONV,AP_SAT>"
    )
    net = to_firmware_network(imported, x.astype(np.float64))
    from trigkit.firmware.emulate import FirmwareEmulator

    want = model.predict(x, verbose=0).astype(np.float64)
    assert np.array_equal(FirmwareEmulator(net).predict(x.astype(np.float64)), want)
    assert len(firmware_digest(net)) == 64
