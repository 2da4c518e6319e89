"""A trained tagger with everything needed to use it: module, preprocessing, config, classes.

File format (``torch.save`` of a dict of plain types and tensors, read with
``weights_only=True``)::

    format_version   int (FORMAT_VERSION)
    name             model name (registry name, or a derived name such as "l1-mlp-pruned")
    config           architecture config dict (rebuilds the module)
    state_dict       weights
    preprocessing    Preprocessing.to_dict()
    input_names, class_names
    metrics          dict or None (validation metrics at training time)
    baselines        list of Baseline.to_dict() fitted on the training jets
    extra            dict of plain values for derived models (compression settings, ...)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trigkit.core.atomic import atomic_path
from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.models.baselines import Baseline
from trigkit.models.configs import AttentionConfig, DeepSetsConfig, MLPConfig, parse_config
from trigkit.models.feature_set import FeatureSet
from trigkit.models.features import extract
from trigkit.models.kinds import KINDS
from trigkit.models.metrics import discriminant_b
from trigkit.models.preprocessing import Preprocessing

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_KEYS = (
    "format_version",
    "name",
    "config",
    "state_dict",
    "preprocessing",
    "input_names",
    "class_names",
)


@dataclass
class TrainedModel:
    name: str
    module: nn.Module
    preprocessing: Preprocessing
    config: MLPConfig | DeepSetsConfig | AttentionConfig
    input_names: tuple[str, ...]
    class_names: tuple[str, ...]
    metrics: Mapping[str, Any] | None = None
    baselines: tuple[Baseline, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.preprocessing.kind

    def features(self, batch: EventBatch) -> FeatureSet:
        """This model's raw features of ``batch`` (same kind and object count as in training)."""
        return extract(self.kind, batch, max_objects=self.preprocessing.max_objects or None)

    def model_inputs(self, data: EventBatch | FeatureSet) -> tuple[np.ndarray, ...]:
        fs = self.features(data) if isinstance(data, EventBatch) else data
        return self.preprocessing.transform(fs)

    def logits(self, data: EventBatch | FeatureSet, batch_size: int = 8192) -> np.ndarray:
        xs = self.model_inputs(data)
        self.module.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(xs[0]), batch_size):
                out.append(
                    self.module(*(torch.from_numpy(x[i : i + batch_size]) for x in xs)).numpy()
                )
        if not out:
            return np.zeros((0, len(self.class_names)), np.float32)
        return np.concatenate(out)

    def predict(self, data: EventBatch | FeatureSet, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities [n, n_classes] (softmax of the logits, float32)."""
        z = torch.from_numpy(self.logits(data, batch_size))
        return torch.softmax(z, dim=1).numpy()

    def discriminant(self, probs: np.ndarray, f_c: float = 0.05) -> np.ndarray:
        """Signal score: D_b for flavour taggers, log(p_hbb / p_qcd) for Xbb."""
        if self.class_names[:2] == ("b", "c"):
            return discriminant_b(probs, f_c)
        p = np.asarray(probs, dtype=np.float64)
        return np.log(np.maximum(p[:, 0], 1e-12) / np.maximum(p[:, 1:].sum(axis=1), 1e-12))

    def save(self, path: str | os.PathLike[str]) -> Path:
        record = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "config": self.config.model_dump(mode="json"),
            "state_dict": {
                k: v.detach().cpu().clone() for k, v in self.module.state_dict().items()
            },
            "preprocessing": self.preprocessing.to_dict(),
            "input_names": list(self.input_names),
            "class_names": list(self.class_names),
            "metrics": None if self.metrics is None else _plain(dict(self.metrics)),
            "baselines": _plain([b.to_dict() for b in self.baselines]),
            "extra": _plain(dict(self.extra)),
        }
        with atomic_path(path) as tmp:
            torch.save(record, tmp)
        return Path(path)


def load_model(path: str | os.PathLike[str]) -> TrainedModel:
    """Rebuild a :class:`TrainedModel` saved by :meth:`TrainedModel.save` (eval mode)."""
    p = Path(path)
    if not p.is_file():
        raise TrigkitError(f"model file {p} does not exist")
    try:
        rec = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means not a model file
        raise TrigkitError(f"{p} is not a trigkit model file ({type(exc).__name__})") from None
    if not isinstance(rec, dict) or any(k not in rec for k in _KEYS):
        missing = [k for k in _KEYS if not isinstance(rec, dict) or k not in rec]
        raise TrigkitError(f"{p} is not a trigkit model file (missing {', '.join(missing)})")
    if rec["format_version"] != FORMAT_VERSION:
        raise TrigkitError(
            f"{p}: model format version {rec['format_version']} is not supported "
            f"(this trigkit reads version {FORMAT_VERSION}); retrain or convert it"
        )
    config = parse_config(rec["config"], str(p))
    pre = Preprocessing.from_dict(rec["preprocessing"])
    if pre.kind not in KINDS:
        raise TrigkitError(f"{p}: unknown feature kind '{pre.kind}'")
    module = config.build()
    try:
        module.load_state_dict(rec["state_dict"])
    except (RuntimeError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrigkitError(
            f"{p}: weights do not fit the {config.architecture} config: {first}"
        ) from None
    module.eval()
    return TrainedModel(
        name=str(rec["name"]),
        module=module,
        preprocessing=pre,
        config=config,
        input_names=tuple(rec["input_names"]),
        class_names=tuple(rec["class_names"]),
        metrics=rec.get("metrics"),
        baselines=tuple(Baseline.from_dict(b) for b in rec.get("baselines") or []),
        extra=dict(rec.get("extra") or {}),
    )


def _plain(obj: Any) -> Any:
    """Plain Python containers and scalars (numpy scalars/arrays converted), loadable with
    ``weights_only=True``."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TrigkitError(f"cannot store a {type(obj).__name__} in a model file (only plain values)")
