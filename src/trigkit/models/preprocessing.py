"""Feature scaling that travels with the model: ``(f(x) - offset) / scale`` per feature, where
``f`` is the identity or ``asinh`` (for heavy-tailed impact-parameter significances, listed per
feature kind in ``KindSpec.asinh_features``).

Fitted on the training features (mean and standard deviation over real, unmasked objects, in
float64) and saved inside the model file, so training, the GPU engine and the firmware all see
the same numbers. ``transform`` returns the model inputs in ``input_names`` order, float32;
sequence inputs are padded/truncated to ``max_objects`` and padded slots are exactly 0, and the
``mask`` input becomes float32 (1 = real object, 0 = padding).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.models.feature_set import FeatureSet
from trigkit.models.kinds import KINDS

TRANSFORMS = ("identity", "asinh")


@dataclass(frozen=True)
class Preprocessing:
    kind: str
    input_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    offsets: tuple[float, ...]
    scales: tuple[float, ...]
    max_objects: int = 0  # 0 for per-jet inputs
    transforms: tuple[str, ...] = ()  # per feature: "identity" or "asinh"; () = all identity
    objects: str = ""  # the collection it was fitted on (FeatureSet.objects); "" = not recorded

    def __post_init__(self) -> None:
        n = len(self.feature_names)
        if self.transforms and (
            len(self.transforms) != n or set(self.transforms) - set(TRANSFORMS)
        ):
            raise TrigkitError(
                f"preprocessing: transforms must be {n} of {', '.join(TRANSFORMS)}, "
                f"got {self.transforms}"
            )
        if len(self.offsets) != n or len(self.scales) != n:
            raise TrigkitError(
                f"preprocessing: {n} features but {len(self.offsets)} offsets and "
                f"{len(self.scales)} scales"
            )
        if any(not np.isfinite(s) or s <= 0 for s in self.scales):
            raise TrigkitError(f"preprocessing: scales must be finite and > 0, got {self.scales}")

    @property
    def max_tracks(self) -> int:
        return self.max_objects

    @property
    def feature_input(self) -> str:
        """Name of the input that carries the features (the other one, if any, is ``mask``)."""
        return self.input_names[0]

    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-object input shapes (without the batch axis)."""
        nf = len(self.feature_names)
        if self.max_objects:
            return {self.input_names[0]: (self.max_objects, nf), "mask": (self.max_objects,)}
        return {self.input_names[0]: (nf,)}

    def apply_transforms(self, x: np.ndarray) -> np.ndarray:
        """The per-feature nonlinear map (before offset and scale), float64."""
        x = np.asarray(x, dtype=np.float64)
        if "asinh" not in self.transforms:
            return x
        cols = np.array([t == "asinh" for t in self.transforms])
        return np.where(cols, np.arcsinh(x), x)

    @classmethod
    def fit(cls, fs: FeatureSet) -> Preprocessing:
        if len(fs) == 0:
            raise TrigkitError(f"cannot fit preprocessing on an empty training set ({fs.source})")
        spec = KINDS[fs.kind]
        transforms = tuple(
            "asinh" if f in spec.asinh_features else "identity" for f in fs.feature_names
        )
        ident = cls(
            fs.kind,
            spec.input_names,
            fs.feature_names,
            (0.0,) * len(transforms),
            (1.0,) * len(transforms),
            0,
            transforms,
        )
        x = ident.apply_transforms(fs.inputs[spec.input_names[0]])
        if "mask" in fs.inputs:
            x = x[fs.inputs["mask"]]
        x = x.reshape(-1, x.shape[-1])
        if len(x) == 0:
            raise TrigkitError(f"cannot fit preprocessing: no objects with features in {fs.source}")
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std = np.where(std > 1e-6, std, 1.0)
        return cls(
            kind=fs.kind,
            input_names=spec.input_names,
            feature_names=fs.feature_names,
            offsets=tuple(float(v) for v in mean),
            scales=tuple(float(v) for v in std),
            max_objects=fs.inputs[spec.input_names[0]].shape[1] if spec.is_sequence else 0,
            transforms=transforms,
            objects=fs.objects,
        )

    def transform(self, data: FeatureSet | dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        inputs = data.inputs if isinstance(data, FeatureSet) else data
        if isinstance(data, FeatureSet) and data.feature_names != self.feature_names:
            raise TrigkitError(
                f"features {data.feature_names} do not match the model's {self.feature_names}"
            )
        if isinstance(data, FeatureSet) and self.objects and data.objects != self.objects:
            raise TrigkitError(
                f"{data.source}: the model was trained on {self.kind} features of "
                f"{self.objects}, these events give them for {data.objects} (events with L1 "
                "tracks give l1jets, events without give offline jets); use events of the kind "
                "it was trained on"
            )
        key = self.feature_input
        if key not in inputs:
            raise TrigkitError(f"model input '{key}' missing; got {', '.join(inputs)}")
        x = np.asarray(inputs[key], dtype=np.float64)
        if x.shape[-1] != len(self.feature_names):
            raise TrigkitError(
                f"input '{key}' has {x.shape[-1]} features, "
                f"the model expects {len(self.feature_names)}"
            )
        x = self.apply_transforms(x)
        off = np.asarray(self.offsets)
        scl = np.asarray(self.scales)
        if not self.max_objects:
            return (((x - off) / scl).astype(np.float32),)
        if "mask" not in inputs:
            raise TrigkitError(f"model input 'mask' missing for sequence input '{key}'")
        mask = np.asarray(inputs["mask"], dtype=bool)
        x, mask = _fit_length(x, mask, self.max_objects)
        z = np.where(mask[..., None], (x - off) / scl, 0.0)
        return z.astype(np.float32), mask.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessing:
        try:
            return cls(
                kind=str(d["kind"]),
                input_names=tuple(d["input_names"]),
                feature_names=tuple(d["feature_names"]),
                offsets=tuple(float(v) for v in d["offsets"]),
                scales=tuple(float(v) for v in d["scales"]),
                max_objects=int(d["max_objects"]),
                transforms=tuple(str(t) for t in d.get("transforms", ())),
                objects=str(d.get("objects", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TrigkitError(f"preprocessing record is malformed: {exc!r}") from None


def _fit_length(x: np.ndarray, mask: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim != 3 or mask.shape != x.shape[:2]:
        raise TrigkitError(
            "sequence input must be [n, objects, features] with mask [n, objects]; "
            f"got {x.shape} and {mask.shape}"
        )
    if x.shape[1] >= n:
        return x[:, :n], mask[:, :n]
    pad = n - x.shape[1]
    return (np.pad(x, ((0, 0), (0, pad), (0, 0))), np.pad(mask, ((0, 0), (0, pad))))
