"""A QKeras twin of the L1 jet tagger (``l1-mlp``), for the Keras route into hls4ml.

The torch ``JetMLP`` (Linear/ReLU chain) maps layer for layer onto ``QDense`` +
``QActivation(quantized_relu)``: kernels and biases through ``quantized_bits(W, I, alpha=1)``
(QKeras counts the sign outside ``I``, so this is ``ap_fixed<W, I+1>``), activations through
``quantized_relu(W, I)`` (``ap_ufixed<W, I>``). Weights convert from the torch model, the model
trains in Keras, and :func:`to_hls4ml` hands it to hls4ml's Keras frontend.

Needs the ``qkeras`` extra (TensorFlow + tf-keras + QKeras, best in its own venv; see
``scripts/test-qkeras``). QKeras uses the Keras 2 API, so ``TF_USE_LEGACY_KERAS=1`` is set before
TensorFlow is first imported; everything heavy is imported inside the functions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from torch import nn

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.models.layers import flatten_mlp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QKerasSpec:
    """Quantizer widths: weights/biases ``quantized_bits(bits, integer)``, ReLU
    ``(act_bits, act_integer)``."""

    bits: int = 6
    integer: int = 0
    act_bits: int = 6
    act_integer: int = 3

    def __post_init__(self) -> None:
        if not 2 <= self.bits <= 32 or not 0 <= self.integer < self.bits:
            raise TrigkitError(
                f"QKeras weight quantizer quantized_bits({self.bits}, {self.integer}) invalid; "
                "need 2 <= bits <= 32 and 0 <= integer < bits"
            )
        if not 1 <= self.act_bits <= 32 or not 0 <= self.act_integer <= self.act_bits:
            raise TrigkitError(
                f"QKeras activation quantizer quantized_relu({self.act_bits}, {self.act_integer}) "
                "invalid; need 1 <= bits <= 32 and 0 <= integer <= bits"
            )

    @property
    def weight_quantizer(self) -> str:
        return f"quantized_bits({self.bits},{self.integer},alpha=1)"

    @property
    def relu_quantizer(self) -> str:
        return f"quantized_relu({self.act_bits},{self.act_integer})"


def _qkeras() -> tuple[ModuleType, ModuleType]:
    """(tf.keras, qkeras), imported with the legacy Keras 2 API."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    qkeras = require("qkeras", "qkeras")  # imports tensorflow itself
    tf = require("tensorflow", "qkeras")
    return tf.keras, qkeras


def torch_layer_sizes(module: nn.Module) -> list[int]:
    """[n_in, hidden..., n_out] of a Linear/ReLU chain; anything else is refused."""
    layers = flatten_mlp(module)  # the FPGA path's own notion of an MLP; refuses set models
    linear = [m for m in layers if isinstance(m, nn.Linear)]
    expected: list[type[nn.Module]] = []
    for i in range(len(linear)):
        expected += [nn.Linear] + ([nn.ReLU] if i < len(linear) - 1 else [])
    if not linear or [type(m) for m in layers] != expected:
        kinds = [type(m).__name__ for m in layers]
        raise TrigkitError(
            f"only a Linear/ReLU chain (the l1-mlp tagger) has a QKeras twin; got layers {kinds}"
        )
    return [linear[0].in_features] + [m.out_features for m in linear]


def build(sizes: Sequence[int], spec: QKerasSpec | None = None, *, seed: int = 0) -> Any:
    """A QKeras model ``sizes[0] -> ... -> sizes[-1]`` logits (QDense + quantized_relu)."""
    spec = spec or QKerasSpec()
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise TrigkitError(f"QKeras L1 model needs >= 2 positive layer sizes, got {list(sizes)}")
    keras, qkeras = _qkeras()
    keras.utils.set_random_seed(seed)
    x = keras.Input(shape=(int(sizes[0]),), name="jets")
    h = x
    for i, n in enumerate(sizes[1:]):
        last = i == len(sizes) - 2
        h = qkeras.QDense(
            int(n),
            kernel_quantizer=spec.weight_quantizer,
            bias_quantizer=spec.weight_quantizer,
            name="logits" if last else f"dense{i + 1}",
        )(h)
        if not last:
            h = qkeras.QActivation(spec.relu_quantizer, name=f"relu{i + 1}")(h)
    return keras.Model(inputs=x, outputs=h, name="l1_mlp_qkeras")


def dense_layers(model: Any) -> list[Any]:
    return [layer for layer in model.layers if type(layer).__name__ == "QDense"]


def from_torch(module: nn.Module, spec: QKerasSpec | None = None) -> Any:
    """Build the QKeras twin of a torch Linear/ReLU chain and copy its float weights in."""
    sizes = torch_layer_sizes(module)
    model = build(sizes, spec)
    linear = [m for m in module.modules() if isinstance(m, nn.Linear)]
    for layer, lin in zip(dense_layers(model), linear, strict=True):
        kernel = lin.weight.detach().cpu().double().numpy().T.astype(np.float32)
        bias = (
            lin.bias.detach().cpu().numpy().astype(np.float32)
            if lin.bias is not None
            else np.zeros(lin.out_features, np.float32)
        )
        layer.set_weights([kernel, bias])
    return model


def train(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 5,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[float]:
    """Train on preprocessed features ``x`` and integer labels ``y``; return the loss per epoch."""
    if len(x) == 0:
        raise TrigkitError("QKeras training set is empty")
    if len(x) != len(y):
        raise TrigkitError(f"QKeras training: {len(x)} feature rows but {len(y)} labels")
    keras, _ = _qkeras()
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    hist = model.fit(
        np.asarray(x, np.float32),
        np.asarray(y, np.int64),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        shuffle=True,
        validation_data=validation,
    )
    return [float(v) for v in hist.history["loss"]]


def predict(model: Any, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Logits as float64."""
    return np.asarray(
        model.predict(np.asarray(x, np.float32), batch_size=batch_size, verbose=0), np.float64
    )


@contextlib.contextmanager
def _keras2_as_keras() -> Iterator[None]:
    """Let hls4ml see the Keras 2 (tf-keras) that QKeras models are built with.

    hls4ml picks its Keras frontend from ``import keras; keras.__version__``; TensorFlow 2.21
    also installs Keras 3 as ``keras``, which would send a tf-keras model to the Keras 3 parser.
    For the duration of the conversion ``keras`` resolves to ``tf_keras``.
    """
    tf_keras = require("tf_keras", "qkeras")
    saved = sys.modules.get("keras")
    sys.modules["keras"] = tf_keras
    try:
        yield
    finally:
        if saved is None:
            sys.modules.pop("keras", None)
        else:
            sys.modules["keras"] = saved


def to_hls4ml(
    model: Any,
    output_dir: str | os.PathLike[str],
    *,
    backend: str = "Vitis",
    io_type: str = "io_parallel",
    part: str | None = None,
) -> Any:
    """Hand the QKeras model to hls4ml's Keras frontend; returns the (unwritten) ModelGraph.

    The QKeras quantizers set the weight, bias and activation precisions; hls4ml's defaults
    apply to the accumulators. Call ``.compile()`` for its C simulation, ``.write()`` for the
    project.
    """
    _qkeras()
    hls4ml = require("hls4ml", "fpga")
    kwargs: dict[str, Any] = {"part": part} if part else {}
    with _keras2_as_keras(), warnings.catch_warnings():
        # QKeras quantizers sit in the constraint slots; tf-keras warns when serialising them
        warnings.filterwarnings(
            "ignore", message=".*keras.constraints.serialize", category=UserWarning
        )
        config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
        graph = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=config,
            output_dir=str(Path(output_dir)),
            backend=backend,
            io_type=io_type,
            **kwargs,
        )
    log.info("QKeras model %s handed to hls4ml (%s, %s)", model.name, backend, io_type)
    return graph
