"""Compile a :class:`~trigkit.emulator.schema.Menu` into the trigger table both engines walk.

Triggers are numbered L1 seeds first (menu order), then HLT paths. Each trigger is an AND of
cuts stored in CSR form (``trig_cut_start`` into :attr:`CompiledMenu.cuts`); a cut row is its
cut type (:mod:`trigkit.emulator.cuts`) and its validated schema model, nothing re-encoded, and
whether it reads the L1 jets (:func:`reads_l1_jets`, :func:`on_l1_jets`: the one rule both
engines follow).
A trigger with a *gate* (the seeds an ``any_of`` seed or an HLT path requires,
``gate_start`` / ``gate_idx``) fires only when one of them fired (unprescaled); ``order`` lists
plain L1 seeds, then seeds with ``any_of``, then HLT paths, so gates are known when needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from trigkit.emulator.cuts import CutType
from trigkit.emulator.cuts.base import Strict
from trigkit.emulator.schema import Menu


def reads_l1_jets(t: CutType, cut: Strict) -> bool:
    """Whether ``cut``, in an L1 seed, reads the events' Level-1 jets (when they have them): every
    cut on small-R jets. The jet-kinematic ones (multiplicity, HT) read any L1 jets; those on a
    per-jet score (:func:`reads_l1_scores`: the L1 tagger's ``l1_score``) read them only where
    the L1 jets carry L1 tracks (the tagger's inputs, ``EventBatch.has_l1_tracks``), else the
    offline jets the scores are then attached to."""
    return t.collection == "jets" and t.pt_floor(cut) is not None


def reads_l1_scores(t: CutType, cut: Strict) -> bool:
    """Whether an L1 seed's ``cut`` reads a per-jet score (the L1 tagger's)."""
    return reads_l1_jets(t, cut) and bool(t.jet_fields(cut))


def on_l1_jets(row: CutRow, l1jets: bool, l1_scores: bool) -> bool:
    """Whether cut ``row`` reads the L1 jets, for events with L1 jets (``l1jets``) that carry
    the L1 tagger's scores (``l1_scores``): the one rule both engines follow."""
    return l1jets and row.l1_jets and (l1_scores or not row.l1_scores)


def l1_score_fields(menu: Menu) -> tuple[str, ...]:
    """The per-jet score fields the L1 seeds of ``menu`` cut on (the L1 tagger's)."""
    seeds = (trig for i, trig in enumerate(menu.triggers()) if i < len(menu.l1))
    cuts = ((t, c) for trig in seeds for t, c in trig.cuts() if reads_l1_scores(t, c))
    return tuple(dict.fromkeys(f for t, c in cuts for f in t.jet_fields(c)))


@dataclass(frozen=True)
class CutRow:
    """One cut of one trigger: its type, its schema model and whether it reads the L1 jets (an
    L1 seed's jet cut; events without L1 jets give it the offline ones, and a score cut reads
    them only where they carry L1 tracks, :func:`on_l1_jets`)."""

    type: CutType
    cut: Strict
    l1_jets: bool = False
    l1_scores: bool = False  # an L1 seed's cut on a per-jet score (reads l1jets' scores)


@dataclass(frozen=True)
class CompiledMenu:
    menu: Menu
    jet_fields: tuple[str, ...]
    l1_jet_fields: tuple[str, ...]  # per-jet scores L1 seeds read (on l1jets with L1 tracks)
    hlt_jet_fields: tuple[str, ...]  # per-jet scores the other cuts read (always offline jets)
    fatjet_fields: tuple[str, ...]
    n_l1: int
    n_hlt: int
    cuts: tuple[CutRow, ...]
    trig_cut_start: np.ndarray  # (n_l1 + n_hlt + 1,) int64, CSR into cuts
    l1_or_start: np.ndarray  # (n_l1 + 1,) int64, CSR into l1_or_idx
    l1_or_idx: np.ndarray
    hlt_seed_start: np.ndarray  # (n_hlt + 1,) int64, CSR into hlt_seed_idx
    hlt_seed_idx: np.ndarray
    order: np.ndarray  # evaluation order: plain L1 seeds, L1 seeds with any_of, HLT paths
    gate_start: np.ndarray  # (n_l1 + n_hlt + 1,) CSR into gate_idx: triggers one of which must fire
    gate_idx: np.ndarray

    @property
    def trigger_names(self) -> list[str]:
        return [*self.menu.l1_names, *self.menu.hlt_names]

    def trigger_cuts(self, t: int) -> tuple[CutRow, ...]:
        """The cuts of trigger ``t`` (in evaluation order)."""
        return self.cuts[int(self.trig_cut_start[t]) : int(self.trig_cut_start[t + 1])]

    def gate(self, t: int) -> list[int]:
        """The triggers one of which must fire for trigger ``t`` to be evaluated ([]: ungated)."""
        return [
            int(g) for g in self.gate_idx[int(self.gate_start[t]) : int(self.gate_start[t + 1])]
        ]


def compile_menu(menu: Menu) -> CompiledMenu:
    rows: list[CutRow] = []
    starts = [0]
    for i, trig in enumerate(menu.triggers()):
        l1 = i < len(menu.l1)
        rows += [
            CutRow(t, cut, l1 and reads_l1_jets(t, cut), l1 and reads_l1_scores(t, cut))
            for t, cut in trig.cuts()
        ]
        starts.append(len(rows))
    l1_index = {name: i for i, name in enumerate(menu.l1)}
    any_of = [[l1_index[s] for s in (seed.any_of or [])] for seed in menu.l1.values()]
    seeds = [[l1_index[s] for s in path.seeds] for path in menu.hlt.values()]
    or_start, or_idx = _csr(any_of)
    seed_start, seed_idx = _csr(seeds)
    gate_start, gate_idx = _csr(any_of + seeds)
    plain = [i for i, seed in enumerate(menu.l1.values()) if not seed.any_of]
    with_or = [i for i, seed in enumerate(menu.l1.values()) if seed.any_of]
    hlt = range(len(menu.l1), len(menu.l1) + len(menu.hlt))
    return CompiledMenu(
        menu=menu,
        jet_fields=tuple(menu.jet_fields()),
        l1_jet_fields=_fields(r for r in rows if r.l1_scores),
        hlt_jet_fields=_fields(r for r in rows if not r.l1_scores),
        fatjet_fields=tuple(menu.fatjet_fields()),
        n_l1=len(menu.l1),
        n_hlt=len(menu.hlt),
        cuts=tuple(rows),
        trig_cut_start=np.array(starts, dtype=np.int64),
        l1_or_start=or_start,
        l1_or_idx=or_idx,
        hlt_seed_start=seed_start,
        hlt_seed_idx=seed_idx,
        order=np.array([*plain, *with_or, *hlt], dtype=np.int64),
        gate_start=gate_start,
        gate_idx=gate_idx,
    )


def _fields(rows: Iterable[CutRow]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for r in rows for f in r.type.jet_fields(r.cut)))


def _csr(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    start = np.zeros(len(rows) + 1, dtype=np.int64)
    start[1:] = np.cumsum([len(r) for r in rows])
    idx = np.array([i for r in rows for i in r] or [0], dtype=np.int64)
    return start, idx
