"""Model files the importer tests read: torch exports, and Keras files in Keras's own layouts.

The Keras writers lay out exactly what Keras writes (``.keras``: ``config.json`` +
``model.weights.h5`` with ``layers/<class>_<k>/vars/<i>``, checked against tf-keras in
tests/importers/test_keras_real.py; legacy ``.h5``: the ``model_config``
attribute + ``model_weights/<name>/<name>/kernel:0`` named by ``weight_names``), with h5py, so
the tests run without TensorFlow.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn


def mlp(sizes: tuple[int, ...] = (16, 64, 32, 32, 5), softmax: bool = True, seed: int = 0):
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if softmax:
        layers.append(nn.Softmax(dim=-1))
    return nn.Sequential(*layers).eval()


def to_onnx(module: nn.Module, path: Path, shape: tuple[int, ...], name: str = "x") -> Path:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(2, *shape),),
            str(path),
            dynamo=False,
            input_names=[name],
            output_names=["y"],
            dynamic_axes={name: {0: "batch"}, "y": {0: "batch"}},
        )
    return path


def to_torchscript(module: nn.Module, path: Path) -> Path:
    torch.jit.save(torch.jit.script(module), str(path))
    return path


def to_pt2(module: nn.Module, path: Path, shape: tuple[int, ...]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.export.save(torch.export.export(module, (torch.zeros(4, *shape),)), str(path))
    return path


def _keras_layers(module: nn.Sequential, n_in: int, quant: dict | None) -> tuple[list, dict]:
    """(Keras layer configs, name -> [kernel, bias]) of a Linear/ReLU/Softmax Sequential."""
    layers = [{"class_name": "InputLayer", "config": {"name": "inp", "batch_shape": [None, n_in]}}]
    weights: dict[str, list[np.ndarray]] = {}
    mods = list(module)
    k = 0
    for i, m in enumerate(mods):
        if not isinstance(m, nn.Linear):
            continue
        k += 1
        nxt = mods[i + 1] if i + 1 < len(mods) else None
        act = (
            "relu"
            if isinstance(nxt, nn.ReLU)
            else "softmax"
            if isinstance(nxt, nn.Softmax)
            else ("linear")
        )
        name = f"dense_{k}"
        cfg: dict = {"name": name, "units": m.out_features, "use_bias": True, "activation": act}
        cls = "Dense"
        if quant is not None:
            cls = "QDense"
            cfg |= {
                "kernel_quantizer": quant["kernel"],
                "bias_quantizer": quant["bias"],
                "activation": quant["act"] if act == "relu" else act,
            }
        layers.append({"class_name": cls, "config": cfg})
        weights[name] = [m.weight.detach().double().numpy().T, m.bias.detach().double().numpy()]
    return layers, weights


def write_keras(module: nn.Sequential, path: Path, n_in: int, quant: dict | None = None) -> Path:
    layers, weights = _keras_layers(module, n_in, quant)
    config = {"class_name": "Sequential", "config": {"name": "seq", "layers": layers}}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:  # groups named by class and order, as Keras saves them
        for k, arrs in enumerate(weights.values()):
            cls = "q_dense" if quant is not None else "dense"
            for i, a in enumerate(arrs):
                f[f"layers/{cls}{f'_{k}' if k else ''}/vars/{i}"] = a.astype(np.float32)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", buf.getvalue())
    return path


def write_keras_h5(module: nn.Sequential, path: Path, n_in: int, quant: dict | None = None) -> Path:
    layers, weights = _keras_layers(module, n_in, quant)
    config = {"class_name": "Sequential", "config": {"name": "seq", "layers": layers}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        g = f.create_group("model_weights")
        for name, (kernel, bias) in weights.items():
            names = [f"{name}/kernel:0", f"{name}/bias:0"]
            g.create_group(name).attrs["weight_names"] = [n.encode() for n in names]
            g[f"{name}/{names[0]}"] = kernel.astype(np.float32)
            g[f"{name}/{names[1]}"] = bias.astype(np.float32)
    return path


def ort(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort_

    opts = ort_.SessionOptions()
    opts.add_session_config_entry("session.disable_quant_qdq", "1")  # run Q/DQ as written
    sess = ort_.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.asarray(sess.run(None, {name: x.astype(np.float32)})[0], dtype=np.float64)
