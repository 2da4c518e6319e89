"""Taggers the layer importer does not take, as the HLT uses them: weaver-core's ParticleNet
layout (points, features and mask inputs, channels first ``[batch, channels, particles]``;
EdgeConv blocks on k nearest neighbours by ``topk`` + ``gather``; masked global pooling) and a
single-input attention block. Small, with seeded weights, written as weaver exports them."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

N_PART, N_FEAT, K = 16, 5, 4
SHAPES = {"pf_points": (2, N_PART), "pf_features": (N_FEAT, N_PART), "pf_mask": (1, N_PART)}


def _knn(points: torch.Tensor, k: int) -> torch.Tensor:
    """Indices [batch, particles, k] of each particle's k nearest others (weaver's knn)."""
    inner = -2 * torch.matmul(points.transpose(2, 1), points)
    xx = torch.sum(points**2, dim=1, keepdim=True)
    dist = -xx - inner - xx.transpose(2, 1)
    return dist.topk(k=k + 1, dim=-1)[1][:, :, 1:]


def _neighbours(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """[batch, channels, particles, k]: each particle's neighbours' features."""
    b, c, n = x.shape
    k = idx.shape[-1]
    flat = x.transpose(2, 1).reshape(b, n, 1, c).expand(b, n, k, c)
    rows = idx.reshape(b, n, k, 1).expand(b, n, k, c)
    gathered = torch.gather(x.transpose(2, 1).reshape(b, 1, n, c).expand(b, n, n, c), 2, rows)
    return torch.cat([flat, gathered - flat], dim=-1).permute(0, 3, 1, 2)


class EdgeConv(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(2 * c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
        )
        self.shortcut = nn.Sequential(nn.Conv1d(c_in, c_out, 1, bias=False), nn.BatchNorm1d(c_out))

    def forward(self, points: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(_neighbours(x, _knn(points, K))).mean(dim=-1)
        return torch.relu(h + self.shortcut(x))


class ParticleNetLike(nn.Module):
    """forward(pf_points, pf_features, pf_mask) -> class probabilities [batch, 3]."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(N_FEAT)
        self.e1, self.e2 = EdgeConv(N_FEAT, 16), EdgeConv(16, 16)
        self.fc = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(
        self, pf_points: torch.Tensor, pf_features: torch.Tensor, pf_mask: torch.Tensor
    ) -> torch.Tensor:
        mask = (pf_mask != 0).float()
        shift = (1 - mask) * 1e9  # masked particles far away: never a neighbour
        x = self.bn(pf_features) * mask
        x = self.e1(pf_points + shift, x) * mask
        x = self.e2(x + shift, x) * mask
        pooled = x.sum(dim=-1) / mask.sum(dim=-1).clamp(min=1)
        return torch.softmax(self.fc(pooled), dim=-1)


class AttentionLike(nn.Module):
    """One input [batch, particles, features]: one self-attention head (activations times
    activations: no chain of layers), then mean pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(N_FEAT, 16)
        self.qkv = nn.Linear(16, 48)
        self.out = nn.Linear(16, 2)

    def forward(self, parts: torch.Tensor) -> torch.Tensor:
        h = self.embed(parts)
        q, k, v = self.qkv(h).split(16, dim=-1)
        w = torch.softmax(torch.matmul(q, k.transpose(1, 2)) / 4.0, dim=-1)
        h = h + torch.matmul(w, v)
        return torch.softmax(self.out(h.mean(dim=1)), dim=-1)


def particlenet(seed: int = 3) -> ParticleNetLike:
    torch.manual_seed(seed)
    model = ParticleNetLike()
    with torch.no_grad():  # running stats away from the identity, as a trained model has
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def feed(rows: int, seed: int = 0, *, masked: int = 4) -> dict[str, np.ndarray]:
    """Weaver-like inputs: the last ``masked`` particles of each jet are padding (zeros)."""
    rng = np.random.default_rng(seed)
    mask = np.ones((rows, 1, N_PART), dtype=np.float32)
    mask[:, :, N_PART - masked :] = 0
    points = rng.normal(size=(rows, 2, N_PART)).astype(np.float32) * 0.4 * mask
    features = rng.normal(size=(rows, N_FEAT, N_PART)).astype(np.float32) * mask
    return {"pf_points": points, "pf_features": features, "pf_mask": mask}


def torch_outputs(model: nn.Module, inputs: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        args = [torch.from_numpy(v) for v in inputs.values()]
        return model(*args).double().numpy()


def to_onnx(model: nn.Module, path: Path, shapes: dict[str, tuple[int, ...]] = SHAPES) -> Path:
    """Export as weaver-core does: named inputs, one output ``softmax``, a dynamic batch."""
    args = tuple(torch.zeros(2, *s) for s in shapes.values())
    dynamic = {n: {0: "N"} for n in (*shapes, "softmax")}
    with warnings.catch_warnings():  # the tracer's notes on shape arithmetic
        warnings.simplefilter("ignore")
        _export(model, args, path, list(shapes), dynamic)
    return path


def _export(model: nn.Module, args: tuple, path: Path, names: list[str], dynamic: dict) -> None:
    torch.onnx.export(
        model,
        args,
        str(path),
        input_names=names,
        output_names=["softmax"],
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
    )


def to_torchscript(model: nn.Module, path: Path) -> Path:
    args = tuple(torch.zeros(2, *s) for s in SHAPES.values())
    torch.jit.trace(model, args).save(str(path))
    return path


def to_pt2(model: nn.Module, path: Path) -> Path:
    batch = torch.export.Dim("batch", min=1, max=4096)
    args = tuple(torch.zeros(8, *s) for s in SHAPES.values())
    dims = {name: {0: batch} for name in SHAPES}
    torch.export.save(torch.export.export(model, args, dynamic_shapes=dims), str(path))
    return path
