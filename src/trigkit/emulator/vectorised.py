"""The same menu, evaluated with awkward-array (vectorised, columnar) operations.

An independent implementation used as the reference in tests and as the contender in
`trigkit bench emulator`. It relies on no jet ordering (multiplicity by counting: the i-th
threshold needs at least i+1 jets above it) and evaluates every cut on every event.
Raw decisions have the same meaning as :func:`trigkit.emulator.fused.run_fused`.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from trigkit.emulator.schema import (
    FatJetCut,
    HLTPath,
    HTCut,
    JetsCut,
    L1Seed,
    Menu,
    ScoreCountCut,
    ScoreTopCut,
)


def _f64(x: ak.Array) -> ak.Array:
    """float32 storage (as the fused pass reads it), compared in float64."""
    return ak.values_astype(ak.values_astype(x, np.float32), np.float64)


def _sel(jets: ak.Array, jet_pt: float, abs_eta: float) -> ak.Array:
    return (_f64(jets.pt) >= np.float64(jet_pt)) & (abs(_f64(jets.eta)) <= np.float64(abs_eta))


def jets_cut(jets: ak.Array, cut: JetsCut) -> np.ndarray:
    central = abs(_f64(jets.eta)) <= np.float64(cut.abs_eta)
    pt = _f64(jets.pt)
    ok = np.ones(len(jets), dtype=bool)
    for i, thr in enumerate(cut.pt):  # sorted decreasing
        ok &= ak.to_numpy(ak.sum(central & (pt >= np.float64(thr)), axis=1)) >= i + 1
    return ok


def ht_value(
    jets: ak.Array, jet_pt: float, abs_eta: float, leading: int | None = None
) -> np.ndarray:
    """HT of the selected jets; with ``leading``, of the ``leading`` highest-pt selected jets only
    (sorted here, not assumed ordered; summed from the highest down, the order of the kernels)."""
    if leading is None:
        return ak.to_numpy(
            ak.sum(ak.where(_sel(jets, jet_pt, abs_eta), _f64(jets.pt), 0.0), axis=1)
        )
    pts = _f64(jets.pt)[_sel(jets, jet_pt, abs_eta)]
    return ak.to_numpy(ak.sum(ak.sort(pts, axis=1, ascending=False)[:, :leading], axis=1))


def ht_cut(jets: ak.Array, cut: HTCut) -> np.ndarray:
    return ht_value(jets, cut.jet_pt, cut.jet_abs_eta, cut.leading) >= np.float64(cut.min)


def count_cut(jets: ak.Array, cut: ScoreCountCut) -> np.ndarray:
    good = _sel(jets, cut.jet_pt, cut.jet_abs_eta) & (_f64(jets[cut.field]) >= np.float64(cut.wp))
    return ak.to_numpy(ak.sum(good, axis=1)) >= cut.n


def top_sum(
    jets: ak.Array, field: str, top: int, jet_pt: float, abs_eta: float
) -> tuple[np.ndarray, np.ndarray]:
    """(sum of the ``top`` highest scores, number of selected jets)."""
    scores = _f64(jets[field])
    scores = ak.where(np.isnan(scores), -np.inf, scores)[_sel(jets, jet_pt, abs_eta)]
    best = ak.sort(scores, axis=1, ascending=False)[:, :top]
    return ak.to_numpy(ak.sum(best, axis=1)), ak.to_numpy(ak.num(scores, axis=1))


def mean_cut(jets: ak.Array, cut: ScoreTopCut) -> np.ndarray:
    total, n = top_sum(jets, cut.field, cut.top, cut.jet_pt, cut.jet_abs_eta)
    return (n >= cut.top) & (total / cut.top >= np.float64(cut.min))


def sum_cut(jets: ak.Array, cut: ScoreTopCut) -> np.ndarray:
    total, n = top_sum(jets, cut.field, cut.top, cut.jet_pt, cut.jet_abs_eta)
    return (n >= cut.top) & (total >= np.float64(cut.min))


def fatjet_cut(fat: ak.Array, cut: FatJetCut) -> np.ndarray:
    good = (_f64(fat.pt) >= np.float64(cut.pt)) & (abs(_f64(fat.eta)) <= np.float64(cut.abs_eta))
    good = good & (_f64(fat.msd) >= np.float64(cut.msd))
    if cut.xbb is not None:
        good = good & (_f64(fat[cut.xbb_field]) >= np.float64(cut.xbb))
    return ak.to_numpy(ak.sum(good, axis=1)) >= cut.n


def trigger_cuts(trig: L1Seed | HLTPath, jets: ak.Array, fat: ak.Array | None) -> np.ndarray:
    ok = np.ones(len(jets), dtype=bool)
    if trig.jets is not None:
        ok &= jets_cut(jets, trig.jets)
    if trig.ht is not None:
        ok &= ht_cut(jets, trig.ht)
    if isinstance(trig, L1Seed):
        if trig.tagger is not None:
            ok &= count_cut(jets, trig.tagger)
        return ok
    if trig.btag_count is not None:
        ok &= count_cut(jets, trig.btag_count)
    if trig.btag_mean is not None:
        ok &= mean_cut(jets, trig.btag_mean)
    if trig.btag_sum is not None:
        ok &= sum_cut(jets, trig.btag_sum)
    if trig.fatjet is not None:
        ok &= fatjet_cut(fat, trig.fatjet)
    return ok


def run_vectorised(menu: Menu, jets: ak.Array, fatjets: ak.Array | None = None) -> np.ndarray:
    """Raw decisions (n_events, n_l1 + n_hlt), same layout as the fused pass."""
    n = len(jets)
    l1 = {name: trigger_cuts(seed, jets, fatjets) for name, seed in menu.l1.items()}
    for name, seed in menu.l1.items():
        if seed.any_of:
            l1[name] = l1[name] & np.any([l1[r] for r in seed.any_of], axis=0)
    cols = list(l1.values())
    for path in menu.hlt.values():
        seeded = (
            np.any([l1[s] for s in path.seeds], axis=0) if path.seeds else np.ones(n, dtype=bool)
        )
        cols.append(seeded & trigger_cuts(path, jets, fatjets))
    return np.stack(cols, axis=1) if cols else np.zeros((n, 0), dtype=bool)
