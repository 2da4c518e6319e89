"""Flat buffers (offsets + values) of the event fields a menu reads, taken from an EventBatch.

This is the only place that turns awkward arrays into the numpy buffers the numba kernels loop
over; a missing score field is reported here with the fields that are present. It also chooses
the jets the L1 seeds' jet-kinematic cuts read (:func:`~trigkit.emulator.compiled.reads_l1_jets`):
the batch's Level-1 jets when it has them (``l1_objects == "l1jets"``), else the offline jets;
and the jets the L1 seeds' per-jet score cuts (the L1 tagger) read: the L1 jets where they carry
L1 tracks, the L1 tagger's inputs (``l1_tagger_objects == "l1jets"``, with
:attr:`Columns.l1_scores`), else the offline jets (NanoAOD, the fast engine, older files).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.emulator.compiled import CompiledMenu
from trigkit.events.batch import EventBatch

L1Objects = Literal["l1jets", "offline jets"]
L1JETS: L1Objects = "l1jets"
OFFLINE_JETS: L1Objects = "offline jets"
#: what the L1 tagger read, in results: its scores on the L1 jets or the offline stand-in
L1_TAGGER_LABELS: dict[L1Objects, str] = {
    L1JETS: "l1jets (L1 jets + Phase-2 L1 tracks)",
    OFFLINE_JETS: "offline jets (no L1 tracks in the events: offline jets and tracks stand in)",
}


@dataclass(frozen=True)
class Columns:
    n_events: int
    jet_offsets: np.ndarray  # int64 (n_events + 1,)
    jet_pt: np.ndarray
    jet_eta: np.ndarray
    jet_scores: np.ndarray  # float32 (n_jet_fields or 1, n_jets)
    fat_offsets: np.ndarray
    fat_pt: np.ndarray
    fat_eta: np.ndarray
    fat_msd: np.ndarray
    fat_scores: np.ndarray  # float32 (n_fatjet_fields or 1, n_fatjets)
    # the jets of L1 jet-kinematic cuts: the batch's l1jets, or None (they read the offline jets)
    l1_offsets: np.ndarray | None = None
    l1_pt: np.ndarray | None = None
    l1_eta: np.ndarray | None = None
    # the L1 seeds' score fields on the L1 jets (float32 (n_l1_jet_fields or 1, n_l1jets)), or
    # None: the L1 jets carry no L1 tracks and those cuts read the offline jets' scores
    l1_scores: np.ndarray | None = None

    @property
    def l1_objects(self) -> L1Objects:
        """Which jets the L1 seeds' jet-kinematic cuts read."""
        return L1JETS if self.l1_offsets is not None else OFFLINE_JETS

    @property
    def l1_tagger_objects(self) -> L1Objects:
        """Which jets the L1 seeds' per-jet score cuts read."""
        return L1JETS if self.l1_scores is not None else OFFLINE_JETS

    def l1_score_buffer(self) -> np.ndarray:
        """The kernel's ``lsc``: the L1 jets' score rows (an empty row when unused)."""
        return self.l1_scores if self.l1_scores is not None else np.zeros((1, 0), np.float32)

    def l1_buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(offsets, pt, eta) of the jets L1 jet-kinematic cuts read."""
        if self.l1_offsets is None or self.l1_pt is None or self.l1_eta is None:
            return self.jet_offsets, self.jet_pt, self.jet_eta
        return self.l1_offsets, self.l1_pt, self.l1_eta

    def buffers(self) -> tuple[np.ndarray, ...]:
        """Every array the one-pass kernel reads, each once (L1 jets only where they exist)."""
        l1 = () if self.l1_offsets is None else self.l1_buffers()
        l1 += () if self.l1_scores is None else (self.l1_scores,)
        return (
            *l1,
            self.jet_offsets,
            self.jet_pt,
            self.jet_eta,
            self.jet_scores,
            self.fat_offsets,
            self.fat_pt,
            self.fat_eta,
            self.fat_msd,
            self.fat_scores,
        )

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.buffers())


def _offsets(arr: ak.Array) -> np.ndarray:
    counts = ak.to_numpy(ak.num(arr, axis=1)).astype(np.int64)
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _flat(
    arr: ak.Array, field: str, what: str, source: str, dtype: type | None = None
) -> np.ndarray:
    if field not in arr.fields:
        raise TrigkitError(
            f"{source or 'events'}: {what} have no field '{field}' needed by the menu; "
            f"present: {', '.join(arr.fields)} (attach scores with a ScoreSource)"
        )
    flat = ak.to_numpy(ak.flatten(arr[field], axis=1))
    return np.ascontiguousarray(flat if dtype is None else flat.astype(dtype, copy=False))


def _pt_ordered(pt: np.ndarray, offsets: np.ndarray) -> bool:
    if len(pt) < 2:
        return True
    rising = np.diff(pt) > 0
    boundary = np.zeros(len(pt) - 1, dtype=bool)
    inner = offsets[1:-1]
    boundary[inner[(inner > 0) & (inner < len(pt))] - 1] = True
    return not np.any(rising & ~boundary)


def sort_by_pt(arr: ak.Array) -> ak.Array:
    return arr[ak.argsort(arr["pt"], axis=1, ascending=False, stable=True)]


def _require_finite(src: str, collection: str, **cols: np.ndarray) -> None:
    """Kinematics must be finite: a NaN pt would silently fail (or an Inf pass) every cut."""
    for name, v in cols.items():
        bad = int(np.count_nonzero(~np.isfinite(v)))
        if bad:
            raise TrigkitError(
                f"{src or 'events'}: {bad} {collection} have a non-finite {name} (NaN/Inf); "
                "fix or drop those events before emulating"
            )


def _kinematics(
    objs: ak.Array, what: str, src: str
) -> tuple[ak.Array, np.ndarray, np.ndarray, np.ndarray]:
    """(pt-ordered objects, offsets, float32 pt, float32 eta); re-sorted by pt if they are not."""
    off = _offsets(objs)
    pt = _flat(objs, "pt", what, src, np.float32)
    if not _pt_ordered(pt, off):
        objs = sort_by_pt(objs)
        pt = _flat(objs, "pt", what, src, np.float32)
    eta = _flat(objs, "eta", what, src, np.float32)
    _require_finite(src, what, pt=pt, eta=eta)
    return objs, off, pt, eta


def columns_from_batch(batch: EventBatch, cmenu: CompiledMenu) -> Columns:
    """Extract the buffers the compiled menu needs; jets are re-sorted by pt if they are not.

    Kinematics and scores are float32 (as stored in NanoAOD and by the generator), so the one-pass
    kernel is compiled for one signature only. With ``batch.l1jets``, L1 jet-kinematic cuts read
    those (:attr:`Columns.l1_objects`); without, the offline jets, exactly as HLT paths do. With
    L1 tracks on them (``batch.has_l1_tracks``), the L1 seeds' score cuts read the L1 jets'
    score fields too (:attr:`Columns.l1_tagger_objects`).
    """
    on_l1 = batch.has_l1_tracks
    cols = _offline_columns(batch, cmenu, cmenu.hlt_jet_fields if on_l1 else cmenu.jet_fields)
    if batch.l1jets is None:
        return cols
    l1, l1off, l1pt, l1eta = _kinematics(batch.l1jets, "l1jets", batch.source)
    cols = replace(cols, l1_offsets=l1off, l1_pt=l1pt, l1_eta=l1eta)
    if not on_l1:
        return cols
    scores = np.zeros((max(1, len(cmenu.l1_jet_fields)), len(l1pt)), dtype=np.float32)
    for i, f in enumerate(cmenu.l1_jet_fields):
        scores[i] = _flat(l1, f, "l1jets", batch.source, np.float32)
    scores[np.isnan(scores)] = -np.inf  # a missing (NaN) score never passes a cut
    return replace(cols, l1_scores=scores)


def _offline_columns(batch: EventBatch, cmenu: CompiledMenu, needed: tuple[str, ...]) -> Columns:
    """The offline buffers; score rows of ``cmenu.jet_fields`` not ``needed`` (read by the L1
    jets only) are -inf when the offline jets lack them (no cut reads them)."""
    src = batch.source
    jets, off, pt, eta = _kinematics(batch.jets, "jets", src)
    scores = np.zeros((max(1, len(cmenu.jet_fields)), len(pt)), dtype=np.float32)
    for i, f in enumerate(cmenu.jet_fields):
        if f in needed or f in jets.fields:
            scores[i] = _flat(jets, f, "jets", src, np.float32)
        else:
            scores[i] = -np.inf
    scores[np.isnan(scores)] = -np.inf  # a missing (NaN) score never passes a cut
    fat = batch.fatjets
    if fat is None or not cmenu.menu.uses_fatjets():
        if cmenu.menu.uses_fatjets():
            raise TrigkitError(
                f"{src or 'events'}: the menu cuts on large-R jets but the events have no fatjets"
            )
        empty = np.zeros(0, dtype=np.float32)
        no_fat = np.zeros(len(batch) + 1, dtype=np.int64)
        return Columns(
            len(batch),
            off,
            pt,
            eta,
            scores,
            no_fat,
            empty,
            empty,
            empty,
            np.zeros((1, 0), dtype=np.float32),
        )
    foff = _offsets(fat)
    fpt = _flat(fat, "pt", "fatjets", src, np.float32)
    _require_finite(src, "fatjets", pt=fpt)
    fscores = np.zeros((max(1, len(cmenu.fatjet_fields)), len(fpt)), dtype=np.float32)
    for i, f in enumerate(cmenu.fatjet_fields):
        fscores[i] = _flat(fat, f, "fatjets", src, np.float32)
    fscores[np.isnan(fscores)] = -np.inf
    return Columns(
        len(batch),
        off,
        pt,
        eta,
        scores,
        foff,
        fpt,
        _flat(fat, "eta", "fatjets", src, fpt.dtype),
        _flat(fat, "msd", "fatjets", src, fpt.dtype),
        fscores,
    )
