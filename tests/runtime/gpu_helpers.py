"""Small taggers for the GPU tests, saved and re-loaded through ``trigkit.models.saved``.

No training: the architectures come from the model registry (``btag-deepsets`` is the issue's
DIPS-like anchor: 15 tracks x 6 features, phi 6-64-64-64, masked sum, rho 64-64-32-3) with
random weights and identity preprocessing; labels for AUC checks are drawn from the float
model's own probabilities (:func:`toy_labels`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from trigkit.compile.gpu_model import GpuModel, load_gpu_model


def save_untrained(name: str, path: Path, seed: int = 0, **overrides: object) -> Path:
    """Registry model ``name`` with random weights, identity preprocessing, saved to ``path``."""
    from trigkit.models.kinds import KINDS
    from trigkit.models.preprocessing import Preprocessing
    from trigkit.models.registry import get_spec
    from trigkit.models.saved import TrainedModel

    spec = get_spec(name)
    config = spec.config.model_copy(update=overrides) if overrides else spec.config
    kind = KINDS[spec.kind]
    torch.manual_seed(seed)
    module = config.build().eval()
    nf = len(kind.feature_names)
    pre = Preprocessing(
        kind=kind.kind,
        input_names=kind.input_names,
        feature_names=kind.feature_names,
        offsets=(0.0,) * nf,
        scales=(1.0,) * nf,
        max_objects=kind.default_max_objects,
    )
    tm = TrainedModel(
        name=name,
        module=module,
        preprocessing=pre,
        config=config,
        input_names=kind.input_names,
        class_names=kind.class_names,
    )
    return tm.save(path)


def saved_model(name: str, path: Path, seed: int = 0) -> GpuModel:
    return load_gpu_model(save_untrained(name, path, seed))


def toy_labels(
    model: GpuModel, inputs: dict[str, np.ndarray], seed: int = 1, temperature: float = 0.05
) -> np.ndarray:
    """Labels drawn from the float model's sharpened probabilities (Gumbel-max sampling).

    The float discriminant then separates class 0 from the rest with an AUC well above 0.5,
    so an INT8 AUC change is measured on a meaningful ranking.
    """
    from trigkit.compile.onnx_export import torch_probabilities

    p = torch_probabilities(model.module, inputs).astype(np.float64)
    g = np.random.default_rng(seed).gumbel(size=p.shape)
    return np.argmax(np.log(p + 1e-12) / temperature + g, axis=1).astype(np.int64)
