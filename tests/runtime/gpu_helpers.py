"""Small taggers for the GPU tests: a DIPS-like DeepSets (the issue's anchor model) and an MLP.

Built locally from torch so the GPU tests do not depend on training; when
``trigkit.models.saved`` exists, :func:`saved_model` round-trips a real trigkit model instead.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from trigkit.compile.gpu_model import GpuModel


class DipsLike(nn.Module):
    """15 tracks x 6 features; phi 6-64-64-64 per track, masked sum, rho 64-64-32-3."""

    def __init__(self, n_features: int = 6, n_classes: int = 3) -> None:
        super().__init__()
        self.phi = nn.Sequential(
            nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU()
        )
        self.rho = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, n_classes))

    def forward(self, tracks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.phi(tracks) * mask.unsqueeze(-1)
        return self.rho(h.sum(dim=1))


class JetMlp(nn.Module):
    def __init__(self, n_features: int = 16, n_classes: int = 5) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_features, 32), nn.ReLU(), nn.Linear(32, n_classes))

    def forward(self, jets: torch.Tensor) -> torch.Tensor:
        return self.net(jets)


def dips_model(seed: int = 0) -> GpuModel:
    torch.manual_seed(seed)
    return GpuModel(
        DipsLike().eval(), "dips-local", ("tracks", "mask"), {"tracks": (15, 6), "mask": (15,)},
        ("b", "c", "light"),
    )  # fmt: skip


def mlp_model(seed: int = 0) -> GpuModel:
    torch.manual_seed(seed)
    return GpuModel(JetMlp().eval(), "l1-local", ("jets",), {"jets": (16,)}, ("b", "c", "uds", "gluon", "pileup"))


def train_toy(model: GpuModel, n: int = 4000, steps: int = 150, seed: int = 1) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Fit ``model`` a little on a separable toy task; return (inputs, labels) held out.

    Labels depend on the mean of feature 0 over real tracks (b: high, light: low), so the AUC
    is well above 0.5 and an INT8 AUC change is meaningful.
    """
    from trigkit.compile.gpu_model import synthetic_inputs

    data = synthetic_inputs(model, 2 * n, seed=seed)
    x = data[model.input_names[0]]
    if model.is_sequence:
        m = data["mask"]
        s = (x[..., 0] * m).sum(1) / np.maximum(m.sum(1), 1)
    else:
        s = x[:, 0]
    rng = np.random.default_rng(seed)
    s = s + 0.3 * rng.standard_normal(len(s))
    labels = np.where(s > 0.3, 0, np.where(s > -0.1, 1, 2)).astype(np.int64)
    tens = [torch.from_numpy(data[k][:n]) for k in model.input_names]
    y = torch.from_numpy(labels[:n])
    opt = torch.optim.Adam(model.module.parameters(), lr=3e-3)
    model.module.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model.module(*tens), y)
        loss.backward()
        opt.step()
    model.module.eval()
    return {k: v[n:] for k, v in data.items()}, labels[n:]
