"""Which event fields feed which input of a model trained elsewhere: the ``--feature-map`` file.

A foreign tagger knows nothing of trigkit's feature extractors, so the user says, feature by
feature, which jet field of the :class:`~trigkit.events.batch.EventBatch` feeds it (YAML or
JSON)::

    features:            # model input feature i <- jet field, in the model's order
      - pt
      - eta
      - mass
      - tracks.d0_sig[0] # a track-level field of the jet's k-th track (tracks by |d0_sig|)
    fill: 0.0            # value for a track the jet does not have (default 0)
    score: 0             # output column used as the jet's score (default: class b, else 0)

A jet field is one of ``JET_FIELDS`` (``pt, eta, phi, mass, ...``); a track field is
``tracks.<TRACK_FIELDS>[k]``. Without a file, the bundle's stored preprocessing feature names
are used when every one names a field this way (``jet_`` prefix allowed: ``jet_pt``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
from pydantic import Field

from trigkit.core.errors import TrigkitError
from trigkit.core.mapping_file import read_mapping_file
from trigkit.core.validated import Validated
from trigkit.events.batch import JET_FIELDS, TRACK_FIELDS, EventBatch

_TRACK = re.compile(r"^tracks\.(?P<field>\w+)\[(?P<index>\d+)\]$")


def valid_fields() -> str:
    """The valid feature names, for messages."""
    return ", ".join(JET_FIELDS) + "; tracks.<" + "|".join(TRACK_FIELDS) + ">[k]"


@dataclass(frozen=True)
class FeatureSource:
    """One model feature: a jet field, or field ``name`` of the jet's ``index``-th track."""

    name: str
    track_index: int | None = None

    @property
    def label(self) -> str:
        return self.name if self.track_index is None else f"tracks.{self.name}[{self.track_index}]"


def parse_source(text: str, where: str) -> FeatureSource:
    """A :class:`FeatureSource` from ``pt`` / ``jet_pt`` / ``tracks.d0_sig[0]``."""
    name = text.strip()
    m = _TRACK.match(name)
    if m is not None and m["field"] in TRACK_FIELDS:
        return FeatureSource(m["field"], int(m["index"]))
    bare = name[4:] if name.startswith("jet_") else name
    if bare in JET_FIELDS:
        return FeatureSource(bare)
    raise TrigkitError(f"{where}: unknown jet field '{text}'; valid: {valid_fields()}")


class FeatureMapFile(Validated):
    """The ``--feature-map`` file as written (see the module docstring)."""

    features: tuple[str, ...] = Field(min_length=1)
    fill: float = 0.0
    score: int | None = Field(default=None, ge=0)


@dataclass(frozen=True)
class FeatureMap:
    """Validated map: the sources of the model's features, in order."""

    sources: tuple[FeatureSource, ...]
    fill: float = 0.0
    score: int | None = None
    origin: str = ""

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.sources)

    def rows(self, batch: EventBatch) -> np.ndarray:
        """float64 [n_jets, n_features]: one row per jet of ``batch`` (flattened event-major)."""
        jets = ak.flatten(batch.jets, axis=1)
        cols = [_column(jets, s, self.fill) for s in self.sources]
        return np.stack(cols, axis=1) if cols else np.zeros((len(jets), 0))


def _column(jets: ak.Array, src: FeatureSource, fill: float) -> np.ndarray:
    if src.track_index is None:
        return ak.to_numpy(jets[src.name]).astype(np.float64)
    tracks = jets["tracks"][src.name]
    padded = ak.pad_none(tracks, src.track_index + 1, axis=1)[:, src.track_index]
    return ak.to_numpy(ak.fill_none(padded, fill)).astype(np.float64)


def load_feature_map(path: Path) -> FeatureMap:
    """Read and validate a ``--feature-map`` file; TrigkitError naming the file and field."""
    path = Path(path)
    data = read_mapping_file(path, f"--feature-map {path}")
    raw = FeatureMapFile.parse(data, f"--feature-map {path}")
    sources = tuple(
        parse_source(name, f"--feature-map {path}: features[{i}]")
        for i, name in enumerate(raw.features)
    )
    return FeatureMap(sources, fill=raw.fill, score=raw.score, origin=str(path))


def map_from_names(names: tuple[str, ...], origin: str) -> FeatureMap | None:
    """A map from stored feature names when every one names a jet field; else None."""
    try:
        sources = tuple(parse_source(n, origin) for n in names)
    except TrigkitError:
        return None
    return FeatureMap(sources, origin=origin) if sources else None
