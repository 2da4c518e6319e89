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

A model with several inputs (weaver-core's ParticleNet: points, features, mask) gets one entry
per input under ``inputs`` instead: ``features`` as above (jet fields for a flat input,
``tracks.<field>`` for a set input), or ``mask: true`` (1 for each of the jet's first
``n_const`` tracks, 0 for the padding). A set input's layout, ``[n_const, n_feat]`` or channels
first ``[n_feat, n_const]``, follows from its shape; ``layout: channels_first`` /
``channels_last`` says it where both dimensions are equal::

    inputs:
      pf_points: {features: [tracks.deta, tracks.dphi]}
      pf_features: {features: [tracks.pt, tracks.deta, tracks.dphi, tracks.d0_sig, tracks.z0_sig]}
      pf_mask: {mask: true}
    score: 0
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import awkward as ak
import numpy as np
from pydantic import Field, model_validator

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


class InputMapFile(Validated):
    """One entry of ``inputs``: ``features`` or ``mask: true``."""

    features: tuple[str, ...] = ()
    mask: bool = False
    layout: Literal["channels_first", "channels_last"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> InputMapFile:
        if bool(self.features) == self.mask:
            raise ValueError("give either features: [...] or mask: true")
        return self


class FeatureMapFile(Validated):
    """The ``--feature-map`` file as written (see the module docstring)."""

    features: tuple[str, ...] | None = Field(default=None, min_length=1)
    inputs: dict[str, InputMapFile] | None = Field(default=None, min_length=1)
    fill: float = 0.0
    score: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _features_or_inputs(self) -> FeatureMapFile:
        if (self.features is None) == (self.inputs is None):
            raise ValueError(
                "give either features: [...] (a model with one input) or inputs: {name: ...} "
                "(one entry per input)"
            )
        return self


@dataclass(frozen=True)
class InputMap:
    """How one input of a model with several is filled: ``sources`` (a flat or set input) or
    the jet's track ``mask``; ``layout`` as the file gives it."""

    sources: tuple[FeatureSource, ...] = ()
    mask: bool = False
    layout: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return ("track mask",) if self.mask else tuple(s.label for s in self.sources)


@dataclass(frozen=True)
class FeatureMap:
    """Validated map: the sources of the model's features, in order."""

    sources: tuple[FeatureSource, ...]
    fill: float = 0.0
    score: int | None = None
    origin: str = ""
    inputs: tuple[tuple[str, InputMap], ...] = ()  # a model with several inputs, in file order

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

    def mask_rows(self, batch: EventBatch, n_const: int) -> np.ndarray:
        """float64 [n_jets, n_const]: 1 for each of the jet's first ``n_const`` tracks, else 0."""
        jets = ak.flatten(batch.jets, axis=1)
        if "tracks" not in ak.fields(jets):
            raise TrigkitError(
                f"{self.origin}: a track mask needs the jets' tracks, but the events "
                f"({batch.source or batch.process}) have no jets.tracks"
            )
        counts = ak.to_numpy(ak.num(jets["tracks"], axis=1))
        return (np.arange(n_const)[None, :] < counts[:, None]).astype(np.float64)

    def with_sources(self, sources: tuple[FeatureSource, ...]) -> FeatureMap:
        """This map (fill, origin) with other sources: one input of a several-input map."""
        return FeatureMap(sources, fill=self.fill, score=self.score, origin=self.origin)


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
    where = f"--feature-map {path}"
    data = read_mapping_file(path, where)
    raw = FeatureMapFile.parse(data, where)
    if raw.inputs is not None:
        inputs = tuple(
            (name, _input_map(entry, f"{where}: inputs.{name}"))
            for name, entry in raw.inputs.items()
        )
        return FeatureMap((), fill=raw.fill, score=raw.score, origin=where, inputs=inputs)
    assert raw.features is not None
    sources = _sources(raw.features, where, "features")
    return FeatureMap(sources, fill=raw.fill, score=raw.score, origin=where)


def _sources(names: tuple[str, ...], where: str, key: str) -> tuple[FeatureSource, ...]:
    sources = tuple(parse_source(n, f"{where}: {key}[{i}]") for i, n in enumerate(names))
    per_track = [s.per_track for s in sources]
    if any(per_track) and not all(per_track):
        raise TrigkitError(
            f"{where}: {key} mix per-track entries (tracks.<field>, a set input) with jet "
            "fields; give a set input only tracks.<field>, or index each track "
            "(tracks.<field>[k]) for a flat input"
        )
    return sources


def _input_map(entry: InputMapFile, where: str) -> InputMap:
    if entry.mask:
        return InputMap(mask=True, layout=entry.layout)
    return InputMap(_sources(entry.features, where, "features"), layout=entry.layout)


def map_from_names(names: tuple[str, ...], origin: str) -> FeatureMap | None:
    """A map from stored feature names when every one names a jet field; else None."""
    try:
        sources = tuple(parse_source(n, origin) for n in names)
    except TrigkitError:
        return None
    return FeatureMap(sources, origin=origin) if sources else None
