"""Run a menu over samples: read -> attach scores -> one-pass kernel -> stages -> MenuResult.

Work is split into *chunks* (one EventBatch each) that are evaluated independently
(:func:`evaluate_batch`, what a dask worker runs) and then concatenated in input order before
prescales are applied (:func:`assemble_sample`), so a distributed run gives exactly the
single-process result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.emulator.columns import L1_TAGGER_LABELS, OFFLINE_JETS, L1Objects, columns_from_batch
from trigkit.emulator.compiled import CompiledMenu, compile_menu, l1_score_fields
from trigkit.emulator.engine.onepass import run_onepass
from trigkit.emulator.result import SampleEvents
from trigkit.emulator.schema import Menu
from trigkit.emulator.scores import (
    BASELINE_DESCRIPTIONS,
    CachedScores,
    ScoreSource,
    attach_baseline_scores,
    attach_scores,
    collection_of,
    describe_source,
)
from trigkit.emulator.stages import apply_stages
from trigkit.events.batch import EventBatch

log = logging.getLogger(__name__)

#: offline HT / turn-on definition: jets with pt > 30 GeV and |eta| < 2.5
OFFLINE_JET_PT = 30.0
OFFLINE_JET_ETA = 2.5


@dataclass(frozen=True)
class RawChunk:
    """One-pass kernel output and per-event observables of one chunk (picklable, small)."""

    raw: np.ndarray
    weight: np.ndarray
    lumi_pb: float
    mhh: np.ndarray
    lead_pt: np.ndarray
    ht: np.ndarray
    n_jets: np.ndarray
    process: str
    source: str
    scores: tuple[
        tuple[str, str], ...
    ] = ()  # ("jets.btag", where its values came from), see score_provenance
    l1_objects: L1Objects = OFFLINE_JETS  # the jets L1 jet-kinematic cuts read
    l1_tagger: str = ""  # what the L1 seeds' score cuts read (L1_TAGGER_LABELS); "" = none


def offline_observables(batch: EventBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mhh, leading-jet pt, offline HT, number of offline jets) per event (NaN mhh when unknown);
    offline jets: pt > 30 GeV, |eta| < 2.5 (also the jets an HLT tagger would score)."""
    jets = batch.jets
    pt = ak.values_astype(jets.pt, np.float64)
    lead = ak.to_numpy(ak.fill_none(ak.max(pt, axis=1), 0.0))
    sel = (pt > OFFLINE_JET_PT) & (abs(jets.eta) < OFFLINE_JET_ETA)
    ht = ak.to_numpy(ak.sum(ak.where(sel, pt, 0.0), axis=1))
    truth = batch.truth
    mhh = (
        ak.to_numpy(truth["mhh"]).astype(np.float64)
        if "mhh" in ak.fields(truth)
        else np.full(len(batch), np.nan)
    )
    n_jets = ak.to_numpy(ak.sum(sel, axis=1)).astype(np.int32)
    return mhh, np.asarray(lead, np.float64), np.asarray(ht, np.float64), n_jets


def prepare_batch(
    batch: EventBatch, menu: Menu, sources: Sequence[ScoreSource] = (), baseline: bool = True
) -> EventBatch:
    """Attach the given score sources, then baseline stand-ins for fields still missing. The L1
    seeds' score fields go to the L1 tagger's objects (``l1jets`` where they carry L1 tracks)."""
    l1_fields = l1_score_fields(menu)
    _check_l1_sources(batch, sources, l1_fields)
    batch = attach_scores(batch, list(sources))
    if not baseline:
        return batch
    l1objs = batch.objects(batch.l1_tagger_collection)  # the jets themselves without L1 tracks
    missing = tuple(
        f
        for f in ("btag", "l1_score")
        if f in menu.jet_fields() and f not in (l1objs if f in l1_fields else batch.jets).fields
    ) + tuple(
        f
        for f in ("xbb",)
        if f in menu.fatjet_fields() and batch.fatjets is not None and f not in batch.fatjets.fields
    )
    if not missing:
        return batch
    return attach_baseline_scores(
        batch, missing, l1_fields=tuple(f for f in missing if f in l1_fields)
    )


def _check_l1_sources(
    batch: EventBatch, sources: Sequence[ScoreSource], l1_fields: tuple[str, ...]
) -> None:
    """A source scoring the offline jets for a field L1 seeds read, on events whose L1 jets
    carry L1 tracks (so the seeds read ``l1jets.<field>``), is refused rather than ignored."""
    if not batch.has_l1_tracks:
        return
    for src in sources:
        if src.field in l1_fields and collection_of(src, batch) == "jets":
            raise TrigkitError(
                f"{batch.source or 'events'}: the score source for jets.{src.field} "
                f"({describe_source(src)}) scores offline jets, but these events have L1 jets "
                f"with L1 tracks and the L1 seeds read l1jets.{src.field}; give an L1 tagger "
                "that reads L1 jets (an l1jets / l1tracks model or bundle)"
            )


def score_provenance(
    batch: EventBatch, menu: Menu, sources: Sequence[ScoreSource] = (), baseline: bool = True
) -> tuple[tuple[str, str], ...]:
    """Where each score field the menu cuts on comes from, for ``batch`` as read from its file:
    a given source (a compiled tagger), a field already in the file, or a baseline stand-in."""
    given = {f"{collection_of(s, batch)}.{s.field}": describe_source(s) for s in sources}
    out = []
    l1_fields = l1_score_fields(menu)
    l1_coll = batch.l1_tagger_collection
    hlt = [f for f in menu.jet_fields() if l1_coll == "jets" or f not in l1_fields or _hlt(menu, f)]
    for coll, fields in (
        ("jets", hlt),
        ("l1jets", [f for f in l1_fields if l1_coll == "l1jets"]),
        ("fatjets", menu.fatjet_fields()),
    ):
        objs = batch.objects(coll)
        for f in fields:
            key = f"{coll}.{f}"
            if key in given:
                out.append((key, given[key]))
            elif objs is None:
                out.append((key, f"no {coll} in the events file"))
            elif f in objs.fields:
                out.append((key, f"events file field '{f}'"))
            elif baseline and f in BASELINE_DESCRIPTIONS:
                out.append((key, BASELINE_DESCRIPTIONS[f]))
            else:
                out.append((key, "missing"))
    return tuple(out)


def _hlt(menu: Menu, field: str) -> bool:
    """Whether a cut outside the L1 seeds' jet cuts reads ``field`` (on the offline jets)."""
    return field in compile_menu(menu).hlt_jet_fields


def evaluate_batch(
    cmenu: CompiledMenu,
    batch: EventBatch,
    sources: Sequence[ScoreSource] = (),
    baseline: bool = True,
    n_threads: int | None = None,
) -> RawChunk:
    provenance = score_provenance(batch, cmenu.menu, sources, baseline)
    batch = prepare_batch(batch, cmenu.menu, sources, baseline)
    cols = columns_from_batch(batch, cmenu)
    raw = run_onepass(cmenu, cols, n_threads)
    mhh, lead, ht, n_jets = offline_observables(batch)
    return RawChunk(
        raw,
        batch.weight,
        float(batch.lumi_pb),
        mhh,
        lead,
        ht,
        n_jets,
        batch.process,
        batch.source,
        provenance,
        cols.l1_objects,
        L1_TAGGER_LABELS[cols.l1_tagger_objects] if cmenu.l1_jet_fields else "",
    )


def _merge_provenance(chunks: list[RawChunk]) -> dict[str, str]:
    """One description per field; chunks that disagree (a field in some files only) are all
    named."""
    seen: dict[str, list[str]] = {}
    for c in chunks:
        for key, desc in c.scores:
            if desc not in seen.setdefault(key, []):
                seen[key].append(desc)
    return {k: " / ".join(v) for k, v in seen.items()}


def assemble_sample(cmenu: CompiledMenu, name: str, chunks: list[RawChunk]) -> SampleEvents:
    if not chunks:
        raise TrigkitError(f"sample {name}: no events")
    raw = np.concatenate([c.raw for c in chunks])
    return SampleEvents(
        name=name,
        process=chunks[0].process,
        decisions=apply_stages(cmenu, raw),
        weight=np.concatenate([c.weight for c in chunks]),
        lumi_pb=np.concatenate([np.full(len(c.weight), c.lumi_pb) for c in chunks]),
        mhh=np.concatenate([c.mhh for c in chunks]),
        lead_pt=np.concatenate([c.lead_pt for c in chunks]),
        ht=np.concatenate([c.ht for c in chunks]),
        n_jets=np.concatenate([c.n_jets for c in chunks]),
        scores=_merge_provenance(chunks),
        l1_objects=" / ".join(dict.fromkeys(c.l1_objects for c in chunks)),
        l1_tagger=" / ".join(dict.fromkeys(c.l1_tagger for c in chunks if c.l1_tagger)),
    )


def needed_fields(
    menu: Menu, available: Sequence[str], sources: Sequence[ScoreSource] = (), baseline: bool = True
) -> list[str] | None:
    """The leaf fields (dotted, as :func:`trigkit.events.parquet_io.leaf_fields` names them) that
    emulating ``menu`` reads from a file holding ``available``: kinematics, score fields already
    in the file, else what their baseline stand-in is computed from (track d0/sigma, large-R jet
    msd and tau21). None (read everything) when a tagger source may read any field, or when a
    score is missing, so that the error message lists every field of the file."""
    if any(not isinstance(s, CachedScores) for s in sources):
        return None
    have = set(available)
    given = {f"{s.collection}.{s.field}": s for s in sources if isinstance(s, CachedScores)}
    out = ["jets.pt", "jets.eta"]
    if "l1jets.pt" in have:  # L1 seeds read the L1 jets when the file has them
        out += ["l1jets.pt", "l1jets.eta"]
    l1_tracks = "l1jets.tracks.d0_sig" in have  # the L1 tagger reads l1jets (has_l1_tracks)
    if l1_tracks:
        out.append("l1jets.tracks.d0_sig")
    l1_fields = l1_score_fields(menu) if l1_tracks else ()
    if menu.uses_fatjets() or menu.fatjet_fields():
        out += ["fatjets.pt", "fatjets.eta", "fatjets.msd"]
    jet_fields = [f for f in menu.jet_fields() if f not in l1_fields or _hlt(menu, f)]
    for coll, fields in (
        ("jets", jet_fields),
        ("l1jets", list(l1_fields)),
        ("fatjets", menu.fatjet_fields()),
    ):
        for f in fields:
            key = f"{coll}.{f}"
            src = given.get(key)
            if src is not None:
                out.append(f"{coll}.{src.from_field or src.field}")
            elif key in have:
                out.append(key)
            elif (
                baseline
                and coll in ("jets", "l1jets")
                and f in ("btag", "l1_score")
                and f"{coll}.tracks.d0_sig" in have
            ):
                out.append(f"{coll}.tracks.d0_sig")
            elif baseline and coll == "fatjets" and f == "xbb":
                out += ["fatjets.msd", "fatjets.tau21"]
            else:
                return None
    return out


def file_fields(
    path: str | Path, menu: Menu | None, sources: Sequence[ScoreSource] = ()
) -> list[str] | None:
    """:func:`needed_fields` for a Parquet ``path`` (None for other formats, or without a menu)."""
    if menu is None or Path(path).suffix != ".parquet":
        return None
    from trigkit.events.parquet_io import leaf_fields

    return needed_fields(menu, leaf_fields(path), sources)


def iter_file(
    path: str | Path, menu: Menu | None = None, sources: Sequence[ScoreSource] = ()
) -> Iterator[EventBatch]:
    """EventBatches from one file (Parquet from the generator, NanoAOD, HDF5). With ``menu``, a
    Parquet file is read for the fields that emulating ``menu`` (with ``sources``) needs only."""
    p = Path(path)
    if not p.exists():
        raise TrigkitError(f"{p}: no such events file")
    columns = file_fields(p, menu, sources)
    if columns is not None:
        from trigkit.events.parquet_io import iter_parquet

        yield from iter_parquet(p, columns=columns)
        return
    try:
        from trigkit.events.sources import iter_events
    except ImportError:
        iter_events = None
    if iter_events is not None:
        yield from iter_events(p)
        return
    if p.suffix == ".parquet":
        from trigkit.events.parquet_io import iter_parquet

        yield from iter_parquet(p)
        return
    raise TrigkitError(f"{p}: cannot read events of this type here (expected .parquet)")


def sample_name(path: str | Path) -> str:
    return Path(path).stem


def run_files(
    cmenu: CompiledMenu,
    paths: Sequence[str | Path],
    sources: Sequence[ScoreSource] = (),
    progress: Callable[[str], None] | None = None,
) -> list[SampleEvents]:
    """Single-process: one SampleEvents per file, chunk by chunk."""
    out = []
    for path in paths:
        chunks = [evaluate_batch(cmenu, b, sources) for b in iter_file(path, cmenu.menu, sources)]
        out.append(assemble_sample(cmenu, sample_name(path), chunks))
        if progress:
            progress(str(path))
    return out


def run_batches(
    menu: Menu, batches: dict[str, EventBatch], sources: Sequence[ScoreSource] = ()
) -> list[SampleEvents]:
    cmenu = compile_menu(menu)
    return [
        assemble_sample(cmenu, name, [evaluate_batch(cmenu, b, sources)])
        for name, b in batches.items()
    ]
