"""Each format imports to the same graph; ONNX import agrees with onnxruntime on the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tests.importers import writers
from trigkit.core.errors import TrigkitError
from trigkit.importers import detect_format, firmware_digest, forward, import_model
from trigkit.importers.firmware import to_firmware_network

SHAPES = {"torchscript": {"input": (16,)}}


def test_formats_detected_by_content(mlp_files: dict[str, Path]) -> None:
    for kind, path in mlp_files.items():
        assert detect_format(path) == kind


def test_same_weights_same_firmware_hash(mlp_files: dict[str, Path], calib: np.ndarray) -> None:
    digests = {}
    for kind, path in mlp_files.items():
        model = import_model(path, SHAPES.get(kind))
        assert [op.kind for op in model.ops] == ["dense", "relu"] * 3 + ["dense", "softmax"]
        digests[kind] = firmware_digest(to_firmware_network(model, calib))
    assert len(set(digests.values())) == 1, digests
    # and the digest does see the weights: one changed weight changes it
    m = import_model(mlp_files["onnx"])
    w = m.ops[0].weight.copy()
    w[0, 0] += 0.5
    from dataclasses import replace

    other = replace(m, ops=(replace(m.ops[0], weight=w), *m.ops[1:]))
    assert firmware_digest(to_firmware_network(other, calib)) != digests["onnx"]


def test_each_format_matches_onnxruntime_on_the_onnx_file(
    mlp_files: dict[str, Path], calib: np.ndarray
) -> None:
    want = writers.ort(mlp_files["onnx"], calib)
    for kind, path in mlp_files.items():
        got = forward(import_model(path, SHAPES.get(kind)), calib)
        assert np.max(np.abs(got - want)) < 1e-5, kind


class _Mixed(nn.Module):
    """BatchNorm (folded), LeakyReLU, ReLU6 (Clip) and a sigmoid head."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.fc1, self.bn, self.fc2, self.fc3 = (
            nn.Linear(6, 8),
            nn.BatchNorm1d(8),
            nn.Linear(8, 8),
            (nn.Linear(8, 1)),
        )
        with torch.no_grad():
            self.bn.running_mean.uniform_(-1, 1)
            self.bn.running_var.uniform_(0.5, 2.0)
            self.bn.weight.uniform_(0.5, 1.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.leaky_relu(self.bn(self.fc1(x)), 0.2)
        return torch.sigmoid(self.fc3(nn.functional.relu6(self.fc2(h))))


def test_onnx_ops_match_onnxruntime(tmp_path: Path) -> None:
    path = writers.to_onnx(_Mixed().eval(), tmp_path / "mixed.onnx", (6,))
    model = import_model(path)
    assert [op.kind for op in model.ops] == [
        "dense",
        "leaky_relu",
        "dense",
        "relu6",
        "dense",
        "sigmoid",
    ]
    x = np.random.default_rng(0).normal(scale=3.0, size=(300, 6))
    assert np.max(np.abs(forward(model, x) - writers.ort(path, x))) < 1e-5


class _DeepSets(nn.Module):
    def __init__(self, conv: bool, mean: bool) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.conv, self.mean = conv, mean
        self.phi = nn.Conv1d(4, 8, 1) if conv else nn.Linear(4, 8)
        self.rho = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, N, F]
        if self.conv:
            h = torch.relu(self.phi(x.transpose(1, 2)))  # [B, 8, N]
            pooled = h.mean(dim=2) if self.mean else h.sum(dim=2)
        else:
            h = torch.relu(self.phi(x))
            pooled = h.mean(dim=1) if self.mean else h.sum(dim=1)
        return torch.softmax(self.rho(pooled), dim=-1)


@pytest.mark.parametrize("conv,mean", [(False, False), (True, True), (False, True)])
def test_deepsets_pattern(tmp_path: Path, conv: bool, mean: bool, calib: np.ndarray) -> None:
    path = writers.to_onnx(_DeepSets(conv, mean).eval(), tmp_path / "ds.onnx", (10, 4))
    model = import_model(path)
    assert model.is_set_model
    assert [op.kind for op in model.ops] == [
        "dense",
        "relu",
        "mean_pool" if mean else "sum_pool",
        "dense",
        "softmax",
    ]
    x = np.random.default_rng(2).normal(size=(200, 10, 4))
    assert np.max(np.abs(forward(model, x) - writers.ort(path, x))) < 1e-5
    if not mean:  # hls4ml has no sum pool; sum = mean x 10 would not be exact
        with pytest.raises(TrigkitError, match="sum_pool over 10 constituents"):
            to_firmware_network(model, x)
        return
    net = to_firmware_network(model, x)  # the FPGA takes set models too
    assert [layer.kind for layer in net.layers][:3] == ["pointwise", "relu", "mean_pool"]


def test_keras_graph_rebuilt_as_onnx_matches(mlp_files: dict[str, Path], calib: np.ndarray) -> None:
    from trigkit.importers.onnx_build import build_onnx

    model = import_model(mlp_files["keras"])
    path = mlp_files["keras"].with_suffix(".rebuilt.onnx")
    path.write_bytes(build_onnx(model))
    assert np.max(np.abs(writers.ort(path, calib) - writers.ort(mlp_files["onnx"], calib))) < 1e-5


def test_batchnorm_after_activation_folds_into_next_dense(tmp_path: Path) -> None:
    torch.manual_seed(9)
    bn = nn.BatchNorm1d(8)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    m = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), bn, nn.Linear(8, 3)).eval()
    path = writers.to_onnx(m, tmp_path / "bn_after.onnx", (5,))
    model = import_model(path)
    assert [op.kind for op in model.ops] == ["dense", "relu", "dense"]
    x = np.random.default_rng(3).normal(size=(300, 5))
    assert np.max(np.abs(forward(model, x) - writers.ort(path, x))) < 1e-5
