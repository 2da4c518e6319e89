"""QKeras twin of the L1 tagger. The ``qkeras`` tests run in their own venv (scripts/test-qkeras);
the checks that need no TensorFlow run everywhere."""

from __future__ import annotations

import importlib.util
import os
import shutil

import numpy as np
import pytest
import torch

from trigkit.core.errors import MissingDependency, TrigkitError
from trigkit.models import qkeras_l1 as Q
from trigkit.models.configs import DeepSetsConfig, MLPConfig

HAVE_QKERAS = importlib.util.find_spec("qkeras") is not None
needs_qkeras = pytest.mark.skipif(
    not HAVE_QKERAS, reason="qkeras not installed (run scripts/test-qkeras)"
)

SIZES = [16, 64, 32, 32, 5]


def l1_mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return MLPConfig(n_features=16, n_classes=5, hidden=(64, 32, 32)).build().eval()


def toy(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 16)).astype(np.float32)
    y = (np.argmax(x[:, :5] + 0.3 * rng.normal(size=(n, 5)), axis=1)).astype(np.int64)
    return x, y


# --- everywhere -------------------------------------------------------------------------------


def test_layer_sizes_of_the_l1_mlp_and_refusals() -> None:
    assert Q.torch_layer_sizes(l1_mlp()) == SIZES
    ds = DeepSetsConfig(n_features=6, n_classes=3, max_objects=4, phi=(8,), rho=(8,)).build()
    with pytest.raises(TrigkitError, match="DeepSets"):
        Q.torch_layer_sizes(ds)
    with pytest.raises(TrigkitError, match="Linear/ReLU chain"):
        Q.torch_layer_sizes(torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)))
    with pytest.raises(TrigkitError, match="quantized_bits"):
        Q.QKerasSpec(bits=4, integer=4)
    with pytest.raises(TrigkitError, match="quantized_relu"):
        Q.QKerasSpec(act_bits=0)
    assert Q.QKerasSpec(6, 0, 8, 3).weight_quantizer == "quantized_bits(6,0,alpha=1)"


@pytest.mark.skipif(HAVE_QKERAS, reason="qkeras is installed here")
def test_missing_qkeras_names_the_extra() -> None:
    with pytest.raises(MissingDependency) as err:
        Q.build(SIZES)
    assert err.value.extra == "qkeras" and "trigkit[qkeras]" in str(err.value)


# --- with qkeras ------------------------------------------------------------------------------


def np_quantized_bits(v: np.ndarray, bits: int, integer: int) -> np.ndarray:
    """QKeras quantized_bits(bits, integer, alpha=1): ap_fixed<bits, integer+1>, round half even,
    saturate."""
    lsb = 2.0 ** (integer - bits + 1)
    return np.clip(np.round(v / lsb), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1) * lsb


def np_quantized_relu(v: np.ndarray, bits: int, integer: int) -> np.ndarray:
    lsb = 2.0 ** (integer - bits)
    return np.clip(np.round(v / lsb), 0, 2**bits - 1) * lsb


def np_forward(module: torch.nn.Module, x: np.ndarray, spec: Q.QKerasSpec) -> np.ndarray:
    """Independent float64 reference of the QKeras forward pass from the torch weights."""
    linear = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    h = x.astype(np.float64)
    for i, lin in enumerate(linear):
        w = np_quantized_bits(lin.weight.detach().double().numpy(), spec.bits, spec.integer)
        b = np_quantized_bits(lin.bias.detach().double().numpy(), spec.bits, spec.integer)
        h = h @ w.T + b
        if i < len(linear) - 1:
            h = np_quantized_relu(h, spec.act_bits, spec.act_integer)
    return h


@pytest.mark.qkeras
@needs_qkeras
def test_weights_convert_and_forward_matches_reference() -> None:
    module = l1_mlp()
    x, _ = toy(500)
    fine = Q.QKerasSpec(bits=18, integer=2, act_bits=20, act_integer=6)
    keras_fine = Q.predict(Q.from_torch(module, fine), x)
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).double().numpy()
    assert np.max(np.abs(keras_fine - ref)) < 5e-3  # fine grid ~ float
    spec = Q.QKerasSpec(bits=6, integer=0, act_bits=6, act_integer=3)
    out = Q.predict(Q.from_torch(module, spec), x)
    expected = np_forward(module, x, spec)
    close = np.isclose(out, expected, atol=1e-5)
    assert (
        close.mean() > 0.99
    )  # float32 sums can land a ReLU input on the other side of a rounding edge
    assert np.max(np.abs(out - ref)) > 1e-2  # 6 bits really quantizes


@pytest.mark.qkeras
@needs_qkeras
def test_training_learns_the_toy_task() -> None:
    x, y = toy(3000)
    model = Q.build(SIZES, Q.QKerasSpec(bits=8, integer=1, act_bits=8, act_integer=3), seed=1)
    losses = Q.train(model, x, y, epochs=6, batch_size=128, lr=3e-3, seed=1)
    assert len(losses) == 6 and losses[-1] < losses[0]
    xt, yt = toy(1000, seed=5)
    acc = float(np.mean(np.argmax(Q.predict(model, xt), axis=1) == yt))
    assert acc > 0.6  # chance is 0.2
    with pytest.raises(TrigkitError, match="empty"):
        Q.train(model, x[:0], y[:0])


@pytest.mark.qkeras
@needs_qkeras
@pytest.mark.filterwarnings(
    "ignore:.*keras.constraints.serialize:UserWarning"
)  # QKeras vs tf-keras
def test_hls4ml_keras_frontend(tmp_path) -> None:
    spec = Q.QKerasSpec(bits=6, integer=0, act_bits=6, act_integer=3)
    model = Q.from_torch(l1_mlp(), spec)
    graph = Q.to_hls4ml(model, tmp_path / "hls", backend="Vitis")
    precisions = {
        layer.name: layer.get_attr("weight_t").precision
        for layer in graph.get_layers()
        if layer.get_attr("weight_t") is not None
    }
    assert set(precisions) == {"dense1", "dense2", "dense3", "logits"}
    assert all((p.width, p.integer, p.signed) == (6, 1, True) for p in precisions.values()), (
        precisions
    )
    if shutil.which("g++") is None or os.environ.get("TRIGKIT_SKIP_CSIM"):
        pytest.skip("g++ not available for the hls4ml C simulation")
    graph.compile()
    x, _ = toy(300)
    hls = np.asarray(graph.predict(np.ascontiguousarray(x)), np.float64).reshape(len(x), -1)
    keras = Q.predict(model, x)
    assert (np.argmax(hls, axis=1) == np.argmax(keras, axis=1)).mean() > 0.9
    assert np.median(np.abs(hls - keras)) < 0.1
