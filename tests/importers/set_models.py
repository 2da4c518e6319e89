"""The small DeepSets taggers the set-firmware tests build: torch modules and a Keras file.

``DeepSets``: 8 constituents x 4 features -> per-constituent 16 -> pooling -> 16 -> 1 (the
feature and hidden widths can be narrowed for the RTL tests), in the layouts trained models
arrive in (torch ``Linear`` on ``[B, N, F]`` or ``Conv1d`` on ``[B, F, N]``; Keras ``Dense`` on
3-D + ``GlobalAveragePooling1D``), all with the same weights.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn

N_CONST, N_FEAT, HIDDEN = 8, 4, 16
SHAPE = (N_CONST, N_FEAT)


class DeepSets(nn.Module):
    """phi (per constituent) -> act -> pool -> rho -> act -> out."""

    def __init__(
        self,
        conv: bool = False,
        pool: str = "mean",
        act: str = "relu",
        n_feat: int = N_FEAT,
        hidden: int = HIDDEN,
    ) -> None:
        super().__init__()
        torch.manual_seed(11)
        self.conv, self.pool = conv, pool
        self.phi = nn.Conv1d(n_feat, hidden, 1) if conv else nn.Linear(n_feat, hidden)
        self.act = {"relu": nn.ReLU(), "leaky": nn.LeakyReLU(0.1), "relu6": nn.ReLU6()}[act]
        self.rho = nn.Linear(hidden, hidden)
        self.head_act = nn.ReLU6() if act == "leaky" else nn.ReLU()
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv:  # x: [B, F, N]
            h = self.act(self.phi(x))
            p = h.mean(dim=2) if self.pool == "mean" else h.sum(dim=2)
        else:  # x: [B, N, F]
            h = self.act(self.phi(x))
            p = h.mean(dim=1) if self.pool == "mean" else h.sum(dim=1)
        return self.out(self.head_act(self.rho(p)))


def write_keras_deepsets(module: DeepSets, path: Path) -> Path:
    """The Keras 3 ``.keras`` file of a mean-pooled, ReLU ``DeepSets`` (``Linear`` phi)."""
    assert not module.conv and module.pool == "mean"
    layers: list[dict] = [
        {
            "class_name": "InputLayer",
            "config": {"name": "x", "batch_shape": [None, N_CONST, N_FEAT]},
        },
        _dense("phi", HIDDEN, "relu"),
        {"class_name": "GlobalAveragePooling1D", "config": {"name": "pool", "keepdims": False}},
        _dense("rho", HIDDEN, "relu"),
        _dense("out", 1, "linear"),
    ]
    config = {"class_name": "Sequential", "config": {"name": "deepsets", "layers": layers}}
    lin = {"dense": module.phi, "dense_1": module.rho, "dense_2": module.out}
    weights = {k: [m.weight.detach().numpy().T, m.bias.detach().numpy()] for k, m in lin.items()}
    return _write_keras_zip(path, config, weights)


def _dense(name: str, units: int, act: str) -> dict:
    return {
        "class_name": "Dense",
        "config": {"name": name, "units": units, "activation": act, "use_bias": True},
    }


class ConvTagger(nn.Module):
    """Conv1d kernel 3 ('same' zero padding) over the constituents -> ReLU -> mean -> Linear;
    input ``[B, N_FEAT, N_CONST]`` (torch's channels first)."""

    def __init__(self, padding: int = 1, n_feat: int = N_FEAT, filters: int = 8) -> None:
        super().__init__()
        torch.manual_seed(12)
        self.conv = nn.Conv1d(n_feat, filters, 3, padding=padding)
        self.out = nn.Linear(filters, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.conv(x)).mean(dim=2))


def write_keras_conv(module: ConvTagger, path: Path) -> Path:
    """The Keras 3 ``.keras`` file of a ``ConvTagger`` (channels last, padding 'same')."""
    conv = {
        "class_name": "Conv1D",
        "config": {
            "name": "conv",
            "filters": 8,
            "kernel_size": [3],
            "strides": [1],
            "padding": "same",
            "activation": "relu",
            "use_bias": True,
        },
    }
    layers = [
        {"class_name": "InputLayer", "config": {"name": "x", "batch_shape": [None, *SHAPE]}},
        conv,
        {"class_name": "GlobalAveragePooling1D", "config": {"name": "pool", "keepdims": False}},
        _dense("out", 1, "linear"),
    ]
    config = {"class_name": "Sequential", "config": {"name": "convtagger", "layers": layers}}
    kernel = module.conv.weight.detach().numpy().transpose(2, 1, 0)  # (k, n_chan, n_filt)
    weights = {
        "conv1d": [kernel, module.conv.bias.detach().numpy()],
        "dense": [module.out.weight.detach().numpy().T, module.out.bias.detach().numpy()],
    }
    return _write_keras_zip(path, config, weights)


def _write_keras_zip(path: Path, config: dict, weights: dict[str, list[np.ndarray]]) -> Path:
    buf = path.with_suffix(".weights.h5")
    with h5py.File(buf, "w") as f:
        for key, arrays in weights.items():
            g = f.create_group(f"layers/{key}/vars")
            for i, a in enumerate(arrays):
                g[str(i)] = a.astype(np.float32)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.write(buf, "model.weights.h5")
    buf.unlink()
    return path
