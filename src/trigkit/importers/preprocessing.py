"""Preprocessing that lives outside a user's model: per-feature offset and scale.

The file (YAML or JSON) lists the model's input features in order::

    features:
      - {name: jet_pt,  offset: 50.0, scale: 25.0}
      - {name: jet_eta, offset: 0.0,  scale: 2.5}

and the model sees ``(raw - offset) / scale`` per feature, trigkit's own convention
(:class:`trigkit.models.preprocessing.Preprocessing`). The bundle stores it, so whoever runs the
bundle applies the same numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import field_validator

from trigkit.core.errors import TrigkitError
from trigkit.core.mapping_file import read_mapping_file
from trigkit.core.validated import Validated


class FeatureScale(Validated):
    name: str
    offset: float = 0.0
    scale: float = 1.0

    @field_validator("offset", "scale")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be finite")
        return v

    @field_validator("scale")
    @classmethod
    def _nonzero(cls, v: float) -> float:
        if v == 0:
            raise ValueError("must be non-zero")
        return v


class FeatureScaling(Validated):
    """``(raw - offset) / scale`` per feature, in the model's input order."""

    features: tuple[FeatureScale, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def apply(self, raw: np.ndarray) -> np.ndarray:
        off = np.array([f.offset for f in self.features])
        scale = np.array([f.scale for f in self.features])
        return (np.asarray(raw, dtype=np.float64) - off) / scale

    def check_width(self, n_features: int, where: str) -> None:
        if len(self.features) != n_features:
            raise TrigkitError(
                f"{where}: {len(self.features)} features but the model takes {n_features} per row"
            )

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


def load_scaling(path: Path) -> FeatureScaling:
    """Read and validate a preprocessing file; TrigkitError naming the file and field."""
    path = Path(path)
    data = read_mapping_file(path, f"{path}: preprocessing")
    scaling = FeatureScaling.parse(data, f"{path}: preprocessing")
    if not scaling.features:
        raise TrigkitError(f"{path}: preprocessing lists no features")
    return scaling
