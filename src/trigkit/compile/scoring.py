"""One tagger scored on validation jets: softmax probabilities, then (AUC, accuracy).

The same two numbers measure every compression stage (:mod:`trigkit.compile.compress`) and every
width of a scan (:mod:`trigkit.compile.width_scan`): AUC of the model's discriminant for class 0
vs. the kind's background classes, and accuracy over all classes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from trigkit.models import metrics as M
from trigkit.models.kinds import KINDS
from trigkit.models.saved import TrainedModel
from trigkit.models.training import TensorData


def probabilities(module: nn.Module, data: TensorData, batch_size: int = 8192) -> np.ndarray:
    """softmax(module(*inputs)) in float64 (eval mode, no grad)."""
    module.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            z = module(*(torch.from_numpy(x[i : i + batch_size]) for x in data.inputs))
            out.append(torch.softmax(z.double(), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def score(
    model: TrainedModel, probs: np.ndarray, labels: np.ndarray, kind: str
) -> tuple[float, float]:
    """(AUC of the model's discriminant for class 0 vs. background classes, accuracy)."""
    spec = KINDS[kind]
    sel = (labels == 0) | np.isin(labels, spec.background_classes)
    curve = M.roc(model.discriminant(probs)[sel], labels[sel] == 0)
    return M.auc(curve), M.accuracy(probs, labels)
