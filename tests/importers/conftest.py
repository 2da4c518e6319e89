from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.importers import writers


@pytest.fixture(scope="session")
def mlp_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 16-64-32-32-5 MLP with the same weights as .onnx, TorchScript, .pt2, .keras, .h5."""
    pytest.importorskip("onnx")
    d = tmp_path_factory.mktemp("mlp")
    m = writers.mlp()
    return {
        "onnx": writers.to_onnx(m, d / "mlp.onnx", (16,)),
        "torchscript": writers.to_torchscript(m, d / "mlp.pt"),
        "torch_export": writers.to_pt2(m, d / "mlp.pt2", (16,)),
        "keras": writers.write_keras(m, d / "mlp.keras", 16),
        "keras_h5": writers.write_keras_h5(m, d / "mlp.h5", 16),
    }


@pytest.fixture(scope="session")
def calib() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(400, 16))


@pytest.fixture(scope="module")
def keras() -> Any:
    """tf_keras (Keras 2, which QKeras needs), seeded; only in the QKeras venv."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    return tf_keras
