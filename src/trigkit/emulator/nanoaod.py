"""Run a menu on recorded NanoAOD objects and compare with the recorded HLT_*/L1_* bits.

Objects: ``offline`` (the ``Jet``/``FatJet`` collections, with their PNet/DeepJet scores) or
``trigobj`` (jets built from ``TrigObj`` entries with ``id == 1``, pt-ordered, no b-tag scores:
score cuts on them fail). Offline jets are not the HLT's PF jets (different calibration,
pileup mitigation and b-tag training), so agreement below 100 % is expected near thresholds.

L1 seeds of the HLT paths: ``emulated`` (the menu's L1 on the same objects, as in ``trigkit
emulate``) or ``recorded`` (the file's own ``L1_*`` bits), which isolates the HLT emulation from
the L1 one. With ``recorded``, a path without seeds has no seed requirement (every event in a
file passed some L1 seed), and every seed a path names must be recorded in the file.

L1 jets (what the L1 seeds' jet and HT cuts read): ``offline`` (the offline jets themselves),
``derived`` (offline jets times the L1 response measured on the file's own TrigObj L1 jets, see
:mod:`trigkit.events.nanoaod_l1`; the response is measured once over all the batches given), or
``auto`` (the default): ``derived`` where the file can measure a response (every batch has
``TrigObj_l1pt`` and some TrigObj L1 jet matches an offline jet) and the objects are offline,
``offline`` otherwise (CMS NanoAOD simulation skims such as ``nano_tt_v12.root`` keep no
TrigObj; with ``--objects trigobj`` the L1 seeds read the TrigObj jets, as the HLT paths do).
The choice made is in :attr:`NanoAgreement.l1_jets`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.emulator.columns import sort_by_pt
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.pipeline import evaluate_batch
from trigkit.emulator.result import clopper_pearson
from trigkit.emulator.schema import Menu
from trigkit.emulator.stages import Decisions, apply_stages, prescale_mask
from trigkit.events.batch import EventBatch
from trigkit.events.nanoaod_l1 import L1Response, measure_l1_response, with_derived_l1jets

Objects = Literal["offline", "trigobj"]
L1Seeds = Literal["emulated", "recorded"]
L1_SEEDS = ("emulated", "recorded")
L1Jets = Literal["auto", "offline", "derived"]
L1_JETS = ("auto", "offline", "derived")
TRIGOBJ_JET_ID = 1
#: confidence level of the agreement interval (central Clopper-Pearson, as for efficiencies)
AGREE_CL = 0.683


@dataclass(frozen=True)
class PathAgreement:
    name: str
    n_events: int
    agree: float  # fraction of events where emulated == recorded
    confusion: np.ndarray  # [[rec 0 & emu 0, rec 0 & emu 1], [rec 1 & emu 0, rec 1 & emu 1]]

    @property
    def n_agree(self) -> int:
        return int(self.confusion[0, 0] + self.confusion[1, 1])

    @property
    def interval(self) -> tuple[float, float]:
        """Central ``AGREE_CL`` Clopper-Pearson interval of ``agree``: the events are a sample
        (200 or 40 here), so one event moves the fraction by 0.5 or 2.5 points."""
        lo, hi = clopper_pearson(self.n_agree, self.n_events, AGREE_CL)
        return float(lo), float(hi)

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
    l1_seeds: str = "emulated"  # where the HLT paths' L1 seeds came from
    l1_jets: str = "offline"  # what the L1 seeds' jet/HT cuts read: offline or derived
    l1_response: L1Response | None = None  # the measured response when l1_jets == "derived"


def score_fields(jets: ak.Array) -> list[str]:
    """The score fields a menu may cut on: ``btag``, ``l1_score`` and every other ``btag*``
    field of ``jets`` (``btag_pnet``, ``btag_deepflav`` from the NanoAOD reader)."""
    extra = [f for f in jets.fields if f.startswith("btag") and f != "btag"]
    return ["btag", "l1_score", *extra]


def trigobj_jets(batch: EventBatch) -> EventBatch:
    """Replace ``jets`` by the TrigObj jets (id 1), pt-ordered; every score field of the offline
    jets (:func:`score_fields`) NaN, so score cuts on them fail instead of erroring."""
    if batch.trigobj is None:
        raise TrigkitError(
            f"{batch.source or 'events'}: no TrigObj collection; use --objects offline"
        )
    to = batch.trigobj[batch.trigobj.id == TRIGOBJ_JET_ID]
    nan = ak.values_astype(to.pt * np.nan, np.float32)
    fields = {"pt": to.pt, "eta": to.eta, "phi": to.phi}
    fields.update({f: nan for f in score_fields(batch.jets)})
    return replace(batch, jets=sort_by_pt(ak.zip(fields)))


def confusion_matrix(recorded: np.ndarray, emulated: np.ndarray) -> np.ndarray:
    r = np.asarray(recorded, bool)
    e = np.asarray(emulated, bool)
    return np.array(
        [[np.sum(~r & ~e), np.sum(~r & e)], [np.sum(r & ~e), np.sum(r & e)]], dtype=np.int64
    )


def agreement(
    decisions: Decisions,
    triggers: dict[str, np.ndarray],
    source: str,
    objects: str,
    l1_seeds: str = "emulated",
) -> NanoAgreement:
    rows, missing = [], []
    for names, bits in ((decisions.hlt_names, decisions.hlt), (decisions.l1_names, decisions.l1)):
        for i, name in enumerate(names):
            if name not in triggers:
                missing.append(name)
                continue
            rec = np.asarray(triggers[name], bool)
            cm = confusion_matrix(rec, bits[:, i])
            rows.append(PathAgreement(name, len(rec), float(np.mean(rec == bits[:, i])), cm))
    return NanoAgreement(source, objects, rows, missing, l1_seeds)


def _unseeded(menu: Menu) -> Menu:
    """``menu`` with every HLT path's seeds removed: its raw bit is then its filters alone."""
    hlt = {name: path.model_copy(update={"seeds": []}) for name, path in menu.hlt.items()}
    return menu.model_copy(update={"hlt": hlt})


def with_recorded_seeds(
    menu: Menu,
    decisions: Decisions,
    filters: np.ndarray,
    triggers: dict[str, np.ndarray],
    source: str,
) -> Decisions:
    """``decisions`` with each HLT path re-seeded by the recorded L1 bits: its filters (``filters``,
    one column per path) AND the OR of its recorded seeds, then its prescale."""
    hlt = np.zeros_like(decisions.hlt)
    for p, path in enumerate(menu.hlt.values()):
        absent = [s for s in path.seeds if s not in triggers]
        if absent:
            recorded = sorted(k for k in triggers if k.startswith("L1_"))
            more = " ..." if len(recorded) > 8 else ""
            listed = ": " + ", ".join(recorded[:8]) + more if recorded else ""
            raise TrigkitError(
                f"{source}: --l1-seeds recorded: seed(s) {', '.join(absent)} of "
                f"{menu.hlt_names[p]} not recorded in the file ({len(recorded)} L1 bits recorded"
                f"{listed})"
            )
        seeded = (
            np.any([np.asarray(triggers[s], bool) for s in path.seeds], axis=0)
            if path.seeds
            else np.ones(len(filters), dtype=bool)
        )
        hlt[:, p] = prescale_mask(seeded, path.prescale) & filters[:, p]
    return replace(decisions, hlt=hlt, hlt_accept=hlt.any(axis=1))


def compare_to_recorded(
    menu: Menu,
    batches: list[EventBatch],
    objects: Objects = "offline",
    l1_seeds: L1Seeds = "emulated",
    l1_jets: L1Jets = "auto",
) -> NanoAgreement:
    """Emulate ``menu`` on the batches (in order) and compare per path with the recorded bits;
    ``l1_seeds`` says where the HLT paths' seeds come from, ``l1_jets`` what the L1 seeds read
    (module docstring)."""
    if not batches:
        raise TrigkitError("no NanoAOD events to compare")
    if l1_seeds not in L1_SEEDS:
        raise TrigkitError(f"--l1-seeds must be one of {', '.join(L1_SEEDS)}, got '{l1_seeds}'")
    if l1_jets not in L1_JETS:
        raise TrigkitError(f"--l1-jets must be one of {', '.join(L1_JETS)}, got '{l1_jets}'")
    auto_offline = l1_jets == "auto" and objects == "trigobj"
    response = _l1_response(batches, "offline" if auto_offline else l1_jets)
    if response is not None:
        batches = [with_derived_l1jets(b, response) for b in batches]
    recorded = l1_seeds == "recorded"
    # with recorded seeds, one pass of the unseeded menu gives the emulated L1 bits and each HLT
    # path's filters alone; with_recorded_seeds then gates the filters by the recorded seeds
    cmenu = compile_menu(_unseeded(menu) if recorded else menu)
    raws, trig = [], []
    for b in batches:
        if not b.triggers:
            raise TrigkitError(
                f"{b.source or 'events'}: no recorded HLT_*/L1_* bits to compare with"
            )
        b = trigobj_jets(b) if objects == "trigobj" else b
        raws.append(evaluate_batch(cmenu, b, baseline=False).raw)
        trig.append(b.triggers)
    raw = np.concatenate(raws)
    decisions = apply_stages(cmenu, raw)
    common = set.intersection(*(set(t) for t in trig))
    triggers = {k: np.concatenate([t[k] for t in trig]) for k in common}
    source = batches[0].source
    if recorded:
        decisions = with_recorded_seeds(menu, decisions, raw[:, cmenu.n_l1 :], triggers, source)
    res = agreement(decisions, triggers, source, objects, l1_seeds)
    return replace(res, l1_jets="offline" if response is None else "derived", l1_response=response)


def _l1_response(batches: list[EventBatch], l1_jets: L1Jets) -> L1Response | None:
    """The L1 response the derived L1 jets use, or None when the L1 seeds read offline jets
    (``l1_jets`` as in the module docstring; ``derived`` on a file without one is an error)."""
    if l1_jets == "offline":
        return None
    if l1_jets == "auto":
        has_l1pt = all(b.trigobj is not None and "l1pt" in b.trigobj.fields for b in batches)
        if not has_l1pt:
            return None
        try:
            return measure_l1_response(batches)
        except TrigkitError:  # TrigObj_l1pt, but no TrigObj L1 jet near an offline jet
            return None
    return measure_l1_response(batches)
