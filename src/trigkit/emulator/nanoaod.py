"""Run a menu on recorded NanoAOD objects and compare with the recorded HLT_*/L1_* bits.

Objects: ``offline`` (the ``Jet``/``FatJet`` collections, with their PNet/DeepJet scores) or
``trigobj`` (jets built from ``TrigObj`` entries with ``id == 1``, pt-ordered, no b-tag scores:
score cuts on them fail). Offline jets are not the HLT's PF jets (different calibration,
pileup mitigation and b-tag training), so agreement below 100 % is expected near thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import awkward as ak
import numpy as np

from trigkit.emulator.columns import sort_by_pt
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.pipeline import evaluate_batch
from trigkit.emulator.schema import Menu
from trigkit.emulator.stages import Decisions, apply_stages
from trigkit.errors import TrigkitError
from trigkit.events.batch import EventBatch

Objects = Literal["offline", "trigobj"]
TRIGOBJ_JET_ID = 1


@dataclass(frozen=True)
class PathAgreement:
    name: str
    n_events: int
    agree: float  # fraction of events where emulated == recorded
    confusion: np.ndarray  # [[rec 0 & emu 0, rec 0 & emu 1], [rec 1 & emu 0, rec 1 & emu 1]]

    @property
    def recorded_rate(self) -> float:
        return float(self.confusion[1].sum() / max(self.n_events, 1))

    @property
    def emulated_rate(self) -> float:
        return float(self.confusion[:, 1].sum() / max(self.n_events, 1))


@dataclass(frozen=True)
class NanoAgreement:
    source: str
    objects: str
    paths: list[PathAgreement]
    not_recorded: list[str]  # menu triggers without a recorded bit


def trigobj_jets(batch: EventBatch) -> EventBatch:
    """Replace ``jets`` by the TrigObj jets (id 1), pt-ordered; scores NaN."""
    if batch.trigobj is None:
        raise TrigkitError(f"{batch.source or 'events'}: no TrigObj collection; use --objects offline")
    to = batch.trigobj[batch.trigobj.id == TRIGOBJ_JET_ID]
    nan = ak.values_astype(to.pt * np.nan, np.float32)
    jets = sort_by_pt(ak.zip({"pt": to.pt, "eta": to.eta, "phi": to.phi, "btag": nan, "l1_score": nan}))
    return replace(batch, jets=jets)


def confusion_matrix(recorded: np.ndarray, emulated: np.ndarray) -> np.ndarray:
    r = np.asarray(recorded, bool)
    e = np.asarray(emulated, bool)
    return np.array([[np.sum(~r & ~e), np.sum(~r & e)], [np.sum(r & ~e), np.sum(r & e)]], dtype=np.int64)


def agreement(decisions: Decisions, triggers: dict[str, np.ndarray], source: str, objects: str) -> NanoAgreement:
    rows, missing = [], []
    for names, bits in ((decisions.hlt_names, decisions.hlt), (decisions.l1_names, decisions.l1)):
        for i, name in enumerate(names):
            if name not in triggers:
                missing.append(name)
                continue
            rec = np.asarray(triggers[name], bool)
            cm = confusion_matrix(rec, bits[:, i])
            rows.append(PathAgreement(name, len(rec), float(np.mean(rec == bits[:, i])), cm))
    return NanoAgreement(source, objects, rows, missing)


def compare_to_recorded(menu: Menu, batches: list[EventBatch], objects: Objects = "offline") -> NanoAgreement:
    """Emulate ``menu`` on the batches (in order) and compare per path with the recorded bits."""
    if not batches:
        raise TrigkitError("no NanoAOD events to compare")
    cmenu = compile_menu(menu)
    raws, trig = [], []
    for b in batches:
        if not b.triggers:
            raise TrigkitError(f"{b.source or 'events'}: no recorded HLT_*/L1_* bits to compare with")
        b = trigobj_jets(b) if objects == "trigobj" else b
        raws.append(evaluate_batch(cmenu, b, baseline=False).raw)
        trig.append(b.triggers)
    decisions = apply_stages(cmenu, np.concatenate(raws))
    common = set.intersection(*(set(t) for t in trig))
    triggers = {k: np.concatenate([t[k] for t in trig]) for k in common}
    return agreement(decisions, triggers, batches[0].source, objects)
