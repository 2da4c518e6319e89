"""Taggers trained elsewhere as score sources: a bundle fed through a :class:`FeatureMap`.

``trigkit compile model.onnx`` bundles carry no trigkit feature extractor, so the jets' inputs
come from a ``--feature-map`` file (or the bundle's preprocessing feature names when they name
jet fields, see :mod:`trigkit.emulator.feature_map`). Rows are the raw jet fields; the bundle's
stored preprocessing (``target_info.imported.preprocessing`` / ``target_info.preprocessing``:
per-feature ``(raw - offset) / scale``) is applied before the model, as ``trigkit compile
--preprocessing`` recorded it. One row per jet, so every jet gets a score (NaN where an input
is NaN). The score is output column ``score`` of the map, else class ``b``, else column 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.emulator.bundle_scorers import FpgaScorer, GpuScorer
from trigkit.emulator.feature_map import FeatureMap, load_feature_map, map_from_names
from trigkit.events.batch import EventBatch


def _scaling(info: dict[str, Any], where: str) -> Any:  # noqa: ANN401 - FeatureScaling | None
    from trigkit.importers.preprocessing import FeatureScaling

    data = (info.get("imported") or {}).get("preprocessing") or info.get("preprocessing")
    if info.get("torch_model") or (isinstance(data, dict) and "kind" in data):
        raise TrigkitError(
            f"{where}: a trigkit-trained bundle (trigkit extracts its features and preprocessing "
            "itself); a feature map is for models trained elsewhere: drop the feature map"
        )
    if not (isinstance(data, dict) and "features" in data):
        return None
    return FeatureScaling.parse(data, f"{where}: stored preprocessing")


def resolve_map(
    feature_map: Path | None, names: tuple[str, ...], flag: str, bundle: Path
) -> FeatureMap:
    """The map from ``--feature-map``, else from the bundle's feature names; else one error."""
    if feature_map is not None:
        return load_feature_map(feature_map)
    fm = map_from_names(names, f"{flag} {bundle} (stored feature names)")
    if fm is None:
        raise TrigkitError(
            f"{flag} {bundle}: a model trained elsewhere needs --feature-map FILE (which jet "
            f"field feeds each input); its stored feature names ({', '.join(names) or 'none'}) "
            "do not all name jet fields"
        )
    return fm


def _check_width(fm: FeatureMap, width: int, scaling: Any, where: str) -> None:  # noqa: ANN401
    if len(fm.sources) != width:
        raise TrigkitError(
            f"{where}: the feature map gives {len(fm.sources)} features "
            f"({', '.join(fm.labels)}) but the model takes {width} per jet"
        )
    if scaling is not None:
        scaling.check_width(width, f"{where}: stored preprocessing")


def _column(fm: FeatureMap, names: list[str] | tuple[str, ...], n_out: int, where: str) -> int:
    col = fm.score if fm.score is not None else (list(names).index("b") if "b" in names else 0)
    if col >= n_out:
        raise TrigkitError(f"{where}: score column {col} but the model has {n_out} outputs")
    return col


@dataclass
class MappedGpuScores:
    """``jets.<field>`` from a GPU bundle (onnxruntime) fed through a feature map."""

    bundle: Path
    feature_map: Path | None = None
    field: str = "btag"
    backend: str = "onnxruntime"
    collection: str = "jets"
    flag: str = "--btag-bundle"
    calls: int = 0
    _state: dict[str, Any] = dc_field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from trigkit.bundle.manifest import load_bundle

        b = load_bundle(self.bundle, target="gpu")
        where = f"{self.flag} {self.bundle}"
        if len(b.manifest.inputs) != 1 or len(b.manifest.inputs[0].shape) != 2:
            shapes = ", ".join(f"{t.name}{list(t.shape)}" for t in b.manifest.inputs)
            raise TrigkitError(
                f"{where}: a feature map fills one (batch, features) input; the bundle takes "
                f"{shapes}"
            )
        spec, info = b.manifest.inputs[0], b.manifest.target_info
        fm = resolve_map(self.feature_map, tuple(spec.features), self.flag, self.bundle)
        scaling = _scaling(info, where)
        _check_width(fm, spec.shape[1], scaling, where)
        out = b.manifest.outputs[0]
        names = info.get("class_names") or out.features
        self._state.update(
            map=fm,
            scaling=scaling,
            input=spec.name,
            col=_column(fm, names, out.shape[-1], where),
            n_out=out.shape[-1],
            scorer=GpuScorer.from_info(self.bundle, info, self.backend, nan_policy="pass"),
        )

    @property
    def description(self) -> str:
        fm = self._state["map"]
        return f"GPU bundle {self.bundle} ({self.backend}) on jet fields {', '.join(fm.labels)}"

    def features(self, batch: EventBatch) -> np.ndarray:
        """float32 [n_jets, n_features]: the model inputs (preprocessing applied)."""
        x = self._state["map"].rows(batch)
        scaling = self._state["scaling"]
        return (scaling.apply(x) if scaling is not None else x).astype(np.float32)

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        x = self.features(batch)
        p = self._state["scorer"].probs({self._state["input"]: x}, self._state["n_out"])
        self.calls += len(x)
        return p[:, self._state["col"]].astype(np.float32)


def is_foreign(bundle: Path, target: str) -> bool:
    """Whether a bundle was built from a model file trained elsewhere (``trigkit compile``)."""
    from trigkit.bundle.manifest import load_bundle

    return load_bundle(bundle, target=target).manifest.target_info.get("imported") is not None


@dataclass
class MappedFpgaScores:
    """``jets.<field>`` from the bit-exact firmware emulation of an FPGA bundle, fed through a
    feature map (:class:`~trigkit.emulator.bundle_scorers.FpgaScorer` runs it)."""

    bundle: Path
    feature_map: Path | None = None
    field: str = "l1_score"
    collection: str = "jets"
    flag: str = "--l1-bundle"
    calls: int = 0
    _state: dict[str, Any] = dc_field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from trigkit.bundle.manifest import load_bundle

        b = load_bundle(self.bundle, target="fpga")
        where, info = f"{self.flag} {self.bundle}", b.manifest.target_info
        scorer = FpgaScorer.from_bundle(self.bundle)
        net = scorer.network
        names = tuple(b.manifest.inputs[0].features) or tuple(net.input_names)
        fm = resolve_map(self.feature_map, names, self.flag, self.bundle)
        scaling = _scaling(info, where)
        _check_width(fm, net.n_inputs, scaling, where)
        self._state.update(
            map=fm,
            scaling=scaling,
            scorer=scorer,
            col=_column(fm, net.output_names, net.n_outputs, where),
        )

    @property
    def description(self) -> str:
        labels = ", ".join(self._state["map"].labels)
        return f"bit-exact firmware emulation of FPGA bundle {self.bundle} on jet fields {labels}"

    def features(self, batch: EventBatch) -> np.ndarray:
        """float64 [n_jets, n_features]: the firmware inputs (preprocessing applied)."""
        x = self._state["map"].rows(batch)
        scaling = self._state["scaling"]
        return scaling.apply(x) if scaling is not None else x

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        x = self.features(batch)
        y = self._state["scorer"].probs(x)
        self.calls += len(x)
        return y[:, self._state["col"]].astype(np.float32)
