"""Where the per-object tagger scores a menu cuts on come from.

A :class:`ScoreSource` produces one score per jet (or large-R jet); :func:`attach_scores` writes
it into the EventBatch as a field (``jets.btag``, ``l1jets.l1_score``, ``fatjets.xbb``...), which
the menu then reads like any cached field. The L1 tagger's score goes to the objects it reads
(:attr:`EventBatch.l1_tagger_collection`): ``l1jets`` where they carry L1 tracks, else ``jets``.
A source may choose its collection per batch (``collection_for(batch)``). Sources:

* :class:`CachedScores` - a field already in the events (NanoAOD ``btagPNetB``, a previous run).
* :class:`RunnerScores` - a runtime ``Runner`` (GPU/onnxruntime/torch; ``runner.infer(dict of
  arrays) -> array``) on per-object inputs built by a user-given function.
* :class:`FirmwareScores` - the bit-exact FPGA emulation (``FirmwareEmulator.predict(x)``).

:func:`attach_baseline_scores` is a **baseline stand-in** used when no tagger is given: simple
physics scores from the generated tracks and large-R jet substructure, not a trained tagger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, runtime_checkable

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.events.batch import EventBatch
from trigkit.models.second_highest import second_highest

log = logging.getLogger(__name__)
Collection = Literal["jets", "fatjets", "l1jets"]


@runtime_checkable
class ScoreSource(Protocol):
    collection: Collection
    field: str

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        """float32, one score per object of ``batch.<collection>`` in flattened order."""
        ...


def collection_of(src: ScoreSource, batch: EventBatch) -> Collection:
    """The collection ``src`` scores in ``batch`` (``collection_for(batch)`` where it has one)."""
    pick = getattr(src, "collection_for", None)
    return pick(batch) if callable(pick) else src.collection


def _objects(batch: EventBatch, collection: Collection) -> ak.Array:
    objs = batch.objects(collection)
    if objs is None:
        raise TrigkitError(f"{batch.source or 'events'}: no {collection} to score")
    return objs


@dataclass(frozen=True)
class CachedScores:
    """A score field already present in the events (optionally under another name)."""

    field: str
    collection: Collection = "jets"
    from_field: str | None = None

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        objs = _objects(batch, self.collection)
        name = self.from_field or self.field
        if name not in objs.fields:
            raise TrigkitError(
                f"{batch.source or 'events'}: {self.collection} have no cached score '{name}'; "
                f"present: {', '.join(objs.fields)}"
            )
        return ak.to_numpy(ak.flatten(objs[name], axis=1)).astype(np.float32)


@dataclass
class RunnerScores:
    """Scores from a runtime Runner: ``runner.infer(inputs(batch))`` -> one row per object.

    ``output_column`` picks the score column of a 2-D output. ``calls`` counts inferred objects
    (tagger calls), for the HLT latency budget.
    """

    runner: Any
    inputs: Callable[[EventBatch], dict[str, np.ndarray]]
    field: str = "btag"
    collection: Collection = "jets"
    output_column: int = -1
    calls: int = 0

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        out = np.asarray(self.runner.infer(self.inputs(batch)))
        out = out[:, self.output_column] if out.ndim == 2 else out.reshape(-1)
        self.calls += len(out)
        return out.astype(np.float32)


@dataclass
class FirmwareScores:
    """Scores from the bit-exact firmware emulation: ``emulator.predict(features(batch))``."""

    emulator: Any
    features: Callable[[EventBatch], np.ndarray]
    field: str = "l1_score"
    collection: Collection = "jets"
    output_column: int = -1
    calls: int = 0

    @classmethod
    def from_network(
        cls, network: Any, features: Callable[[EventBatch], np.ndarray], **kw: Any
    ) -> FirmwareScores:
        emulate = require("trigkit.firmware.emulate", "fpga")
        return cls(emulator=emulate.FirmwareEmulator(network), features=features, **kw)

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        out = np.asarray(self.emulator.predict(self.features(batch)))
        out = out[:, self.output_column] if out.ndim == 2 else out.reshape(-1)
        self.calls += len(out)
        return out.astype(np.float32)


def attach_scores(batch: EventBatch, sources: list[ScoreSource]) -> EventBatch:
    """A new batch whose jets / fatjets / l1jets carry each source's ``field``."""
    for src in sources:
        coll = collection_of(src, batch)
        objs = batch.objects(coll)
        if objs is None:
            raise TrigkitError(f"{batch.source or 'events'}: no {coll} to attach '{src.field}' to")
        flat = np.asarray(src.flat_scores(batch), dtype=np.float32)
        counts = ak.num(objs, axis=1)
        if len(flat) != int(ak.sum(counts)):
            raise TrigkitError(
                f"score source for {coll}.{src.field} returned {len(flat)} scores for "
                f"{int(ak.sum(counts))} objects"
            )
        batch = replace(batch, **{coll: ak.with_field(objs, ak.unflatten(flat, counts), src.field)})
    return batch


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def second_highest_per_jet(d0_sig: ak.Array) -> np.ndarray:
    """float64 per jet (flat): the 2nd-highest of the jet's tracks' values (-inf for < 2 tracks;
    NaN sorts first, as in awkward), by :func:`trigkit.models.second_highest.second_highest` on
    the flat buffers."""
    per_jet = ak.flatten(d0_sig, axis=1)
    values = np.ascontiguousarray(ak.to_numpy(ak.flatten(per_jet, axis=1)))
    counts = ak.to_numpy(ak.num(per_jet, axis=1)).astype(np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return second_highest(values, offsets)


def baseline_btag(jets: ak.Array) -> np.ndarray:
    """Baseline b-tag (flat, float32): sigmoid((s2 - 3) / 1.5), s2 = the 2nd-highest signed
    transverse impact-parameter significance d0/sigma among the jet's tracks (the classic
    "track counting" discriminant); jets with < 2 tracks score 0."""
    s2 = second_highest_per_jet(jets.tracks.d0_sig)
    return np.where(np.isfinite(s2), _sigmoid((s2 - 3.0) / 1.5), 0.0).astype(np.float32)


def baseline_l1_score(jets: ak.Array) -> np.ndarray:
    """Baseline L1 tagger (flat, float32): the baseline b-tag from d0/sigma rounded to integers
    (coarse L1 track inputs), output rounded to 1/64 (an 8-bit-like firmware output)."""
    rounded = ak.values_astype(np.round(jets.tracks.d0_sig), np.float64)
    s2 = second_highest_per_jet(rounded)
    score = np.where(np.isfinite(s2), _sigmoid((s2 - 3.0) / 1.5), 0.0)
    return (np.round(score * 64.0) / 64.0).astype(np.float32)


def baseline_xbb(fatjets: ak.Array) -> np.ndarray:
    """Baseline Xbb (flat, float32): a Gaussian in soft-drop mass around 125 GeV (sigma 20 GeV)
    times (1 - tau21), clipped to [0, 1]."""
    msd = ak.to_numpy(ak.flatten(fatjets.msd, axis=1)).astype(np.float64)
    tau21 = ak.to_numpy(ak.flatten(fatjets.tau21, axis=1)).astype(np.float64)
    x = np.exp(-0.5 * ((msd - 125.0) / 20.0) ** 2) * (1.0 - tau21)
    return np.clip(np.nan_to_num(x, nan=0.0), 0.0, 1.0).astype(np.float32)


#: what each baseline stand-in is, as written into the results (they are not trained taggers)
BASELINE_DESCRIPTIONS: dict[str, str] = {
    "btag": (
        "baseline stand-in, not a trained tagger: sigmoid((s2 - 3) / 1.5), "
        "s2 = 2nd-highest track d0/sigma"
    ),
    "l1_score": (
        "baseline stand-in, not a trained tagger: the btag stand-in on integer d0/sigma "
        "(of the L1 tracks on l1jets, of the offline tracks on jets), rounded to 1/64"
    ),
    "xbb": (
        "baseline stand-in, not a trained tagger: exp(-(msd - 125 GeV)^2 / (2 (20 GeV)^2)) "
        "x (1 - tau21)"
    ),
}


def describe_source(src: ScoreSource) -> str:
    """One line naming where a score source's values come from (for the result files)."""
    desc = getattr(src, "description", None)
    if isinstance(desc, str) and desc:
        return desc
    if isinstance(src, CachedScores):
        return f"events file field '{src.from_field or src.field}'"
    if isinstance(src, _Computed) and src.field in BASELINE_DESCRIPTIONS:
        return BASELINE_DESCRIPTIONS[src.field]
    return type(src).__name__


@dataclass(frozen=True)
class _Computed:
    field: str
    collection: Collection
    fn: Callable[[ak.Array], np.ndarray]

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        return self.fn(_objects(batch, self.collection))


def attach_baseline_scores(
    batch: EventBatch,
    fields: tuple[str, ...] = ("btag", "l1_score", "xbb"),
    overwrite: bool = False,
    l1_fields: tuple[str, ...] = ("l1_score",),
) -> EventBatch:
    """Attach the baseline stand-in scores (``jets.btag``, ``fatjets.xbb``, and ``l1_score`` on
    the L1 tagger's objects, :attr:`EventBatch.l1_tagger_collection`) that are missing (or all,
    with ``overwrite``); ``l1_fields``: the fields that go to the L1 tagger's objects. Logged,
    since they are not a trained tagger."""
    sources: list[ScoreSource] = []
    table: dict[str, tuple[Collection, Callable[[ak.Array], np.ndarray]]] = {
        "btag": ("jets", baseline_btag),
        "l1_score": ("jets", baseline_l1_score),
        "xbb": ("fatjets", baseline_xbb),
    }
    for name in fields:
        coll, fn = table[name]
        if name in l1_fields:
            coll = "l1jets" if batch.has_l1_tracks else "jets"
        objs = batch.objects(coll)
        if objs is None or (name in objs.fields and not overwrite):
            continue
        if coll != "fatjets" and "tracks" not in objs.fields:
            raise TrigkitError(
                f"{batch.source or 'events'}: jets have no tracks to compute a baseline {name} from"
            )
        sources.append(_Computed(name, coll, fn))
    if sources:
        log.info(
            "using baseline stand-in scores (no tagger given): %s",
            ", ".join(f"{s.collection}.{s.field}" for s in sources),
        )
    return attach_scores(batch, sources)
