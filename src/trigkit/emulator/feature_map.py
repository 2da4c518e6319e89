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

A set input ``(n_const, n_feat)`` (DeepSets, Conv1D taggers) is filled from the jet's tracks:
list its ``n_feat`` per-constituent features as ``tracks.<field>`` without an index, and the
jet's first ``n_const`` tracks (by decreasing ``|d0_sig|``) become its constituents, ``fill``
standing in for tracks the jet does not have::

    features: [tracks.pt, tracks.deta, tracks.dphi, tracks.d0_sig]
    fill: 0.0
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
_PER_TRACK = re.compile(r"^tracks\.(?P<field>\w+)$")


def valid_fields() -> str:
    """The valid feature names, for messages."""
    tracks = "|".join(TRACK_FIELDS)
    return ", ".join(JET_FIELDS) + f"; tracks.<{tracks}>[k]; tracks.<{tracks}> (a set input)"


@dataclass(frozen=True)
class FeatureSource:
    """One model feature: a jet field, field ``name`` of the jet's ``index``-th track, or
    (``per_track``) field ``name`` of every track, one per set constituent."""

    name: str
    track_index: int | None = None
    per_track: bool = False

    @property
    def label(self) -> str:
        if self.per_track:
            return f"tracks.{self.name}"
        return self.name if self.track_index is None else f"tracks.{self.name}[{self.track_index}]"


def parse_source(text: str, where: str) -> FeatureSource:
    """A :class:`FeatureSource` from ``pt`` / ``jet_pt`` / ``tracks.d0_sig[0]``."""
    name = text.strip()
    m = _TRACK.match(name)
    if m is not None and m["field"] in TRACK_FIELDS:
        return FeatureSource(m["field"], int(m["index"]))
    m = _PER_TRACK.match(name)
    if m is not None and m["field"] in TRACK_FIELDS:
        return FeatureSource(m["field"], per_track=True)
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

    @property
    def per_track(self) -> bool:
        """Whether the map fills a set input from the tracks (every source ``tracks.<f>``)."""
        return all(s.per_track for s in self.sources)

    def rows(self, batch: EventBatch) -> np.ndarray:
        """float64 [n_jets, n_features]: one row per jet of ``batch`` (flattened event-major)."""
        jets = ak.flatten(batch.jets, axis=1)
        _need_tracks(jets, self.sources, batch, self.origin)
        cols = [_column(jets, s, self.fill) for s in self.sources]
        return np.stack(cols, axis=1) if cols else np.zeros((len(jets), 0))

    def set_rows(self, batch: EventBatch, n_const: int) -> np.ndarray:
        """float64 [n_jets, n_const, n_features]: each jet's first ``n_const`` tracks (by
        decreasing |d0_sig|), ``fill`` where it has fewer (a :attr:`per_track` map)."""
        jets = ak.flatten(batch.jets, axis=1)
        _need_tracks(jets, self.sources, batch, self.origin)
        tracks = ak.pad_none(jets["tracks"], n_const, axis=1, clip=True)
        cols = [
            ak.to_numpy(ak.fill_none(tracks[s.name], self.fill)).astype(np.float64)
            for s in self.sources
        ]
        if not cols:
            return np.zeros((len(jets), n_const, 0))
        return np.stack(cols, axis=-1).reshape(len(jets), n_const, len(cols))


def _need_tracks(
    jets: ak.Array, sources: tuple[FeatureSource, ...], batch: EventBatch, origin: str
) -> None:
    if "tracks" in ak.fields(jets):
        return
    wanted = [s.label for s in sources if s.per_track or s.track_index is not None]
    if wanted:
        raise TrigkitError(
            f"{origin}: {', '.join(wanted)} need the jets' tracks, but the events "
            f"({batch.source or batch.process}) have no jets.tracks"
        )


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
    per_track = [s.per_track for s in sources]
    if any(per_track) and not all(per_track):
        raise TrigkitError(
            f"--feature-map {path}: features mix per-track entries (tracks.<field>, a set "
            "input) with jet fields; give a set input only tracks.<field>, or index each track "
            "(tracks.<field>[k]) for a flat input"
        )
    return FeatureMap(sources, fill=raw.fill, score=raw.score, origin=f"--feature-map {path}")


def map_from_names(names: tuple[str, ...], origin: str) -> FeatureMap | None:
    """A map from stored feature names when every one names a jet field; else None."""
    try:
        sources = tuple(parse_source(n, origin) for n in names)
    except TrigkitError:
        return None
    return FeatureMap(sources, origin=origin) if sources else None
