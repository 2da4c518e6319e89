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

Besides the stored track fields, a map may name the particle inputs weaver-core derives
(:mod:`trigkit.emulator.derived_fields`: ``tracks.log_ptrel``, ``tracks.energy``, ...), and an
entry of ``inputs`` may standardise them as weaver's "manual" preprocessing does:
``center: [...]``, ``scale: [...]`` (``(x - center) * scale``) and ``clip: [min, max]``, on real
tracks only. An Xbb tagger's map (``collection="fatjets"``) reads large-R jet fields and
``constituents.<field>`` the same way (:data:`OBJECTS`).
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
from trigkit.emulator.derived_fields import DERIVED, child_values
from trigkit.events.batch import (
    CONSTITUENT_FIELDS,
    FATJET_FIELDS,
    JET_FIELDS,
    TRACK_FIELDS,
    EventBatch,
)
from trigkit.events.jagged import padded

_INDEXED = re.compile(r"^(?P<child>\w+)\.(?P<field>\w+)\[(?P<index>\d+)\]$")
_PER_CHILD = re.compile(r"^(?P<child>\w+)\.(?P<field>\w+)$")


@dataclass(frozen=True)
class Objects:
    """What a map reads per scored object: the collection (``jets``: a b-tagger, ``fatjets``:
    an Xbb tagger), its fields, and its per-object children (tracks, or the large-R jet's
    constituents) with theirs."""

    collection: str
    noun: str  # in messages: "jet", "large-R jet"
    fields: tuple[str, ...]
    child: str
    child_fields: tuple[str, ...]


OBJECTS = {
    "jets": Objects("jets", "jet", JET_FIELDS, "tracks", TRACK_FIELDS),
    "fatjets": Objects("fatjets", "large-R jet", FATJET_FIELDS, "constituents", CONSTITUENT_FIELDS),
}


def valid_fields(collection: str = "jets") -> str:
    """The valid feature names, for messages."""
    o = OBJECTS[collection]
    kids = "|".join((*o.child_fields, *DERIVED))
    return ", ".join(o.fields) + f"; {o.child}.<{kids}>[k]; {o.child}.<{kids}> (a set input)"


@dataclass(frozen=True)
class FeatureSource:
    """One model feature: a field of the object, field ``name`` of its ``index``-th child (a
    jet's track, a large-R jet's constituent), or (``per_track``) field ``name`` of every
    child, one per set constituent."""

    name: str
    track_index: int | None = None
    per_track: bool = False
    child: str = "tracks"

    @property
    def label(self) -> str:
        if self.per_track:
            return f"{self.child}.{self.name}"
        if self.track_index is None:
            return self.name
        return f"{self.child}.{self.name}[{self.track_index}]"


def parse_source(text: str, where: str, collection: str = "jets") -> FeatureSource:
    """A :class:`FeatureSource` from ``pt`` / ``jet_pt`` / ``tracks.d0_sig[0]`` (a large-R jet's:
    ``msd`` / ``constituents.pt``)."""
    o = OBJECTS[collection]
    name = text.strip()
    known = (*o.child_fields, *DERIVED)
    m = _INDEXED.match(name)
    if m is not None and m["child"] == o.child and m["field"] in known:
        return FeatureSource(m["field"], int(m["index"]), child=o.child)
    m = _PER_CHILD.match(name)
    if m is not None and m["child"] == o.child and m["field"] in known:
        return FeatureSource(m["field"], per_track=True, child=o.child)
    bare = name[4:] if name.startswith("jet_") else name
    if bare in o.fields:
        return FeatureSource(bare, child=o.child)
    raise TrigkitError(
        f"{where}: unknown {o.noun} field '{text}'; valid: {valid_fields(collection)}"
    )


class InputMapFile(Validated):
    """One entry of ``inputs``: ``features`` or ``mask: true``."""

    features: tuple[str, ...] = ()
    mask: bool = False
    layout: Literal["channels_first", "channels_last"] | None = None
    #: weaver-core's "manual" standardisation of each feature: (x - center) * scale, then
    #: clipped to clip = [min, max]; padding stays ``fill``
    center: tuple[float, ...] | None = None
    scale: tuple[float, ...] | None = None
    clip: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> InputMapFile:
        if bool(self.features) == self.mask:
            raise ValueError("give either features: [...] or mask: true")
        if self.mask and (self.center or self.scale or self.clip):
            raise ValueError("a mask takes no center / scale / clip")
        n = len(self.features)
        for key in ("center", "scale"):
            given = getattr(self, key)
            if given is not None and len(given) != n:
                raise ValueError(f"{key} has {len(given)} values for {n} features")
        if self.clip is not None and not self.clip[0] < self.clip[1]:
            raise ValueError(f"clip [min, max] needs min < max, got {list(self.clip)}")
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
    child: str = "tracks"  # whose mask: tracks, or a large-R jet's constituents
    center: tuple[float, ...] | None = None
    scale: tuple[float, ...] | None = None
    clip: tuple[float, float] | None = None

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """(x - center) * scale, clipped (the features on the last axis); as given in the file."""
        if self.center is not None:
            x = x - np.asarray(self.center)
        if self.scale is not None:
            x = x * np.asarray(self.scale)
        return np.clip(x, *self.clip) if self.clip is not None else x

    @property
    def labels(self) -> tuple[str, ...]:
        if self.mask:
            return (f"{self.child[:-1]} mask",)
        return tuple(s.label for s in self.sources)


@dataclass(frozen=True)
class FeatureMap:
    """Validated map: the sources of the model's features, in order."""

    sources: tuple[FeatureSource, ...]
    fill: float = 0.0
    score: int | None = None
    origin: str = ""
    inputs: tuple[tuple[str, InputMap], ...] = ()  # a model with several inputs, in file order
    collection: str = "jets"  # what is scored: jets (tracks) or fatjets (constituents)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.sources)

    @property
    def per_track(self) -> bool:
        """Whether the map fills a set input from the tracks (every source ``tracks.<f>``)."""
        return all(s.per_track for s in self.sources)

    @property
    def objects(self) -> Objects:
        return OBJECTS[self.collection]

    def _flat(self, batch: EventBatch) -> ak.Array:
        objs = batch.objects(self.collection)
        if objs is None:
            raise TrigkitError(
                f"{self.origin}: the events ({batch.source or batch.process}) have no "
                f"{self.collection}"
            )
        return ak.flatten(objs, axis=1)

    def rows(self, batch: EventBatch) -> np.ndarray:
        """float64 [n_objects, n_features]: one row per object of ``batch`` (flattened
        event-major)."""
        objs = self._flat(batch)
        self._need_children(objs, batch)
        cols = [_column(objs, s, self.fill) for s in self.sources]
        return np.stack(cols, axis=1) if cols else np.zeros((len(objs), 0))

    def set_rows(self, batch: EventBatch, n_const: int) -> np.ndarray:
        """float64 [n_objects, n_const, n_features]: each object's first ``n_const`` children
        (a jet's tracks by decreasing |d0_sig|, a large-R jet's constituents as stored),
        ``fill`` where it has fewer (a :attr:`per_track` map)."""
        objs = self._flat(batch)
        self._need_children(objs, batch)
        child = self.objects.child
        cols = [padded(child_values(objs, child, s.name), n_const, self.fill) for s in self.sources]
        if not cols:
            return np.zeros((len(objs), n_const, 0))
        return np.stack(cols, axis=-1).reshape(len(objs), n_const, len(cols))

    def mask_rows(self, batch: EventBatch, n_const: int) -> np.ndarray:
        """float64 [n_objects, n_const]: 1 for each of the object's first ``n_const`` children
        (tracks, constituents), else 0."""
        objs, o = self._flat(batch), self.objects
        if o.child not in ak.fields(objs):
            raise TrigkitError(
                f"{self.origin}: a {o.child[:-1]} mask needs the {o.collection}' {o.child}, but "
                f"the events ({batch.source or batch.process}) have no {o.collection}.{o.child}"
            )
        counts = ak.to_numpy(ak.num(objs[o.child], axis=1))
        return (np.arange(n_const)[None, :] < counts[:, None]).astype(np.float64)

    def with_sources(self, sources: tuple[FeatureSource, ...]) -> FeatureMap:
        """This map (fill, origin, collection) with other sources: one input of a
        several-input map."""
        return FeatureMap(
            sources,
            fill=self.fill,
            score=self.score,
            origin=self.origin,
            collection=self.collection,
        )

    def _need_children(self, objs: ak.Array, batch: EventBatch) -> None:
        o = self.objects
        if o.child in ak.fields(objs):
            return
        wanted = [s.label for s in self.sources if s.per_track or s.track_index is not None]
        if wanted:
            raise TrigkitError(
                f"{self.origin}: {', '.join(wanted)} need the {o.collection}' {o.child}, but "
                f"the events ({batch.source or batch.process}) have no {o.collection}.{o.child}"
            )


def _column(objs: ak.Array, src: FeatureSource, fill: float) -> np.ndarray:
    if src.track_index is None:
        return ak.to_numpy(objs[src.name]).astype(np.float64)
    kids = child_values(objs, src.child, src.name)
    padded = ak.pad_none(kids, src.track_index + 1, axis=1)[:, src.track_index]
    return ak.to_numpy(ak.fill_none(padded, fill)).astype(np.float64)


def load_feature_map(path: Path, collection: str = "jets") -> FeatureMap:
    """Read and validate a ``--feature-map`` file for a tagger of ``collection`` (jets or
    fatjets); TrigkitError naming the file and field."""
    path = Path(path)
    where = f"--feature-map {path}"
    data = read_mapping_file(path, where)
    raw = FeatureMapFile.parse(data, where)
    common = {"fill": raw.fill, "score": raw.score, "origin": where, "collection": collection}
    if raw.inputs is not None:
        inputs = tuple(
            (name, _input_map(entry, f"{where}: inputs.{name}", collection))
            for name, entry in raw.inputs.items()
        )
        return FeatureMap((), inputs=inputs, **common)  # type: ignore[arg-type]
    assert raw.features is not None
    return FeatureMap(_sources(raw.features, where, "features", collection), **common)  # type: ignore[arg-type]


def _sources(
    names: tuple[str, ...], where: str, key: str, collection: str
) -> tuple[FeatureSource, ...]:
    sources = tuple(
        parse_source(n, f"{where}: {key}[{i}]", collection) for i, n in enumerate(names)
    )
    per_track = [s.per_track for s in sources]
    if any(per_track) and not all(per_track):
        o = OBJECTS[collection]
        raise TrigkitError(
            f"{where}: {key} mix per-track entries ({o.child}.<field>, a set input) with "
            f"{o.noun} fields; give a set input only {o.child}.<field>, or index each one "
            f"({o.child}.<field>[k]) for a flat input"
        )
    return sources


def _input_map(entry: InputMapFile, where: str, collection: str) -> InputMap:
    child = OBJECTS[collection].child
    if entry.mask:
        return InputMap(mask=True, layout=entry.layout, child=child)
    sources = _sources(entry.features, where, "features", collection)
    return InputMap(
        sources,
        layout=entry.layout,
        child=child,
        center=entry.center,
        scale=entry.scale,
        clip=entry.clip,
    )


def map_from_names(
    names: tuple[str, ...], origin: str, collection: str = "jets"
) -> FeatureMap | None:
    """A map from stored feature names when every one names a field; else None."""
    try:
        sources = tuple(parse_source(n, origin, collection) for n in names)
    except TrigkitError:
        return None
    return FeatureMap(sources, origin=origin, collection=collection) if sources else None
