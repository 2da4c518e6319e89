"""`events validate` rows for the Phase-2 L1 tracks and the L1 MET seed.

L1 tracks: resolutions and efficiency of :mod:`trigkit.events.pythia.l1tracks` measured on a
particle gun through the same kernel the engine runs (prompt charged pions at the vertex, 50
per event so the FastHisto vertex is found), against the CMS Phase-2 L1 track-trigger numbers
(CMS-TDR-014); the L1 vertex against the true primary vertex of the samples (truth ``pv_z``).
L1 MET: the rate of L1 MET > 100 GeV at 2e34 (the Stage-2 ETM of ``l1.l1_met``, towers in
|eta| < 3 above their pileup-mitigation threshold, :mod:`trigkit.events.pythia.l1_pum`) against
the Run-3 L1_ETMHF100 rate. Samples of engine version 7 or older carry the MET without it.
L1 MET efficiency: the fraction of events with generator-level MET (``truth.gen_met``, the
neutrinos' pT) above 200 GeV, twice the threshold, whose L1 MET passes 100 GeV.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from trigkit.emulator.result import clopper_pearson
from trigkit.events.batch import EventBatch
from trigkit.report.event_validation import (
    REF_L1,
    Row,
    _na,
    _row,
    l1_rate_khz,
    n_effective,
)

REF_L1TRK = (
    "CMS Phase-2 L1 track trigger, CMS-TDR-014 (2017), L1 tracking performance: prompt-track "
    "pT resolution ~1-2 % central, z0 ~1 mm, d0 (displaced 5-parameter fit) O(tens of um) at "
    "high pT, efficiency ~90-95 % for pT > 2 GeV"
)
REF_L1VTX = (
    "CMS Phase-2 L1 trigger TDR, CMS-TDR-021 (2020), FastHisto L1 vertex: the hard-scatter "
    "vertex found within ~1-2 mm in most ttbar events (read qualitatively)"
)
REF_ETM = REF_L1.replace("few kHz", "L1_ETMHF100 few kHz")
GUN_SEED = 20260
GUN_EVENTS, GUN_PER_EVENT = 200, 50
MET_CUT = 100.0
GEN_MET_MIN, MIN_EFF_EVENTS = 200.0, 20
MET_PROCESSES = ("ttbar", "wjets")  # the samples with genuine MET (neutrinos from W decays)
REF_ETM_EFF = (
    "CMS, JINST 15 (2020) P10017, L1 ETM turn-ons with pileup mitigation vs offline MET: close "
    "to the plateau at twice the threshold (read qualitatively)"
)


def gun(pt_lo: float, pt_hi: float, eta_max: float, seed: int = GUN_SEED):  # noqa: ANN201
    """(true pT, true z minus the found L1 vertex, L1 tracks, offsets) of prompt pions with pT
    uniform in [pt_lo, pt_hi], |eta| < eta_max, 50 per event at vertices z ~ N(0, 35 mm)."""
    from trigkit.events.pythia.l1tracks import l1_tracks

    rng = np.random.default_rng(seed)
    n = GUN_EVENTS * GUN_PER_EVENT
    pt = rng.uniform(pt_lo, pt_hi, n)
    eta = rng.uniform(-eta_max, eta_max, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    zv = np.repeat(rng.normal(0.0, 35.0, GUN_EVENTS), GUN_PER_EVENT)
    pz = pt * np.sinh(eta)
    parts = np.zeros((n, 11))
    parts[:, 0], parts[:, 1], parts[:, 2] = pt * np.cos(phi), pt * np.sin(phi), pz
    parts[:, 3] = np.hypot(pt, pz)
    parts[:, 6] = parts[:, 10] = zv
    parts[:, 7], parts[:, 8] = 1.0, 211.0
    off = np.arange(0, n + 1, GUN_PER_EVENT, dtype=np.int64)
    trk, toff, zvtx = l1_tracks(parts, off, seed)
    ev = np.repeat(np.arange(GUN_EVENTS), np.diff(toff))
    return pt, zv - np.repeat(zvtx, GUN_PER_EVENT), trk, toff, ev


def track_rows() -> list[Row]:
    from trigkit.events.pythia.trackcols import K_PART, K_PT, K_X, K_Y, K_Z0

    rows = []
    pt, dz, trk, _, ev = gun(2.0, 8.0, 0.8)
    src = ev * GUN_PER_EVENT + trk[:, K_PART].astype(np.int64)  # the particle of each track
    res_pt = 100.0 * float(np.std(trk[:, K_PT] / pt[src] - 1.0))
    res_z0 = float(np.std(trk[:, K_Z0] - dz[src]))
    eff = len(trk) / len(pt)
    s = "gun"
    rows.append(
        _row("L1 track pT resolution, pT 2-8, |eta|<0.8 [%]", s, res_pt, (0.5, 2.0), REF_L1TRK)
    )
    rows.append(
        _row("L1 track z0 resolution, pT 2-8, |eta|<0.8 [mm]", s, res_z0, (0.3, 1.5), REF_L1TRK)
    )
    rows.append(_row("L1 track efficiency, pT 2-8, |eta|<0.8", s, eff, (0.90, 0.98), REF_L1TRK))
    _, _, hard, _, _ = gun(20.0, 100.0, 0.8, GUN_SEED + 1)
    res_d0 = 1e3 * float(np.sqrt(np.mean(hard[:, K_X] ** 2 + hard[:, K_Y] ** 2)))
    rows.append(
        _row(
            "L1 track d0 resolution, pT 20-100, |eta|<0.8 [um]", s, res_d0, (10.0, 60.0), REF_L1TRK
        )
    )
    return rows


VERTEX_PROCESSES = ("ttbar", "hh4b", "xhh", "zjets", "wjets")


def vertex_row(batches: list[EventBatch]) -> list[Row]:
    """Per sample with a hard scatter (:data:`VERTEX_PROCESSES`), the weighted fraction of
    events whose L1 vertex lies within 1.5 mm of the true primary vertex. QCD is left out: from
    pT-hat 15 GeV its events are mostly soft, with a primary vertex no harder than the
    pileup's (weighted, FastHisto finds it in about a quarter of them), which is not what the
    reference measures (ttbar)."""
    text = "L1 vertex within 1.5 mm of the true PV"
    rows = []
    for b in batches:
        if b.process in VERTEX_PROCESSES and {"l1_pv_z", "pv_z"} <= set(ak.fields(b.truth)):
            d = np.abs(ak.to_numpy(b.truth.l1_pv_z - b.truth.pv_z))
            frac = float(np.average(d < 1.5, weights=b.weight))
            rows.append(_row(text, b.process, frac, (0.85, 1.0), REF_L1VTX))
    return rows


def met_row(b: EventBatch) -> list[Row]:
    text = f"L1 ETM{MET_CUT:g} rate [kHz]"
    if "l1_met" not in ak.fields(b.truth):
        return [_na(text, b.process, (1.0, 12.0), REF_ETM, "no truth.l1_met")]
    rate, err = l1_rate_khz(b, ak.to_numpy(b.truth.l1_met) > MET_CUT)
    return [_row(text, b.process, rate, (1.0, 12.0), REF_ETM, lo=rate - err, hi=rate + err)]


def met_efficiency_row(b: EventBatch) -> list[Row]:
    """L1 ETM100 efficiency on events with generator MET above GEN_MET_MIN, weighted by the
    event weights (n/a below MIN_EFF_EVENTS effective events); 68 % Clopper-Pearson interval
    on the effective counts."""
    if not {"l1_met", "gen_met"} <= set(ak.fields(b.truth)):
        return []
    text = f"L1 ETM{MET_CUT:g} efficiency, gen MET > {GEN_MET_MIN:g} GeV"
    ref = (0.85, 1.0)
    sel = ak.to_numpy(b.truth.gen_met) > GEN_MET_MIN
    n, w = int(sel.sum()), b.weight[sel]
    n_eff = n_effective(w)
    if n_eff < MIN_EFF_EVENTS:
        count = f"{n} events" if np.isclose(n_eff, n) else f"{n} events count as {n_eff:.0f}"
        return [_na(text, b.process, ref, REF_ETM_EFF, f"{count}, need {MIN_EFF_EVENTS}")]
    frac = float(np.average(ak.to_numpy(b.truth.l1_met)[sel] > MET_CUT, weights=w))
    lo, hi = clopper_pearson(frac * n_eff, n_eff, 0.6827)
    return [_row(text, b.process, frac, ref, REF_ETM_EFF, lo=float(lo), hi=float(hi))]


def l1_rows(batches: list[EventBatch]) -> list[Row]:
    """The L1-track rows (where any sample has L1 tracks) and the L1 MET rate of QCD samples."""
    rows: list[Row] = []
    if any(b.has_l1_tracks for b in batches):
        rows += track_rows() + vertex_row(batches)
    for b in batches:
        if b.process == "qcd" and b.l1jets is not None:
            rows += met_row(b)
        if b.process in MET_PROCESSES:
            rows += met_efficiency_row(b)
    return rows
