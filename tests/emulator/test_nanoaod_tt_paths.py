"""The nano_tt_v12 menu against the recorded bits of nano_tt_v12.root, re-counted by hand.

The reference reads the file with uproot and applies each path's cuts with numpy, independently
of the menu compiler and its kernels: L1 seeds on offline jets (``--l1-jets offline``), then the
HLT quad-jet cut and the PNet b-tag mean of the two highest scores of the central jets above
35 GeV (CMSSW ``HLTSumJetTag`` with ``UseMeanValue``, the filter behind "2BTagSum0p65", fed by
``hltPFCentralJetTightIDPt35`` in the 2022 HLT menu). Every printed agreement number, with its
68 % Clopper-Pearson interval, is recomputed from the hand counts and the interval's definition.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from tests.emulator.agreement_rows import printed_row
from trigkit.emulator.nanoaod import compare_to_recorded, confusion_matrix
from trigkit.emulator.schema import load_menu

PNET_PATH = "HLT_QuadPFJet70_50_40_35_PFBTagParticleNet_2BTagSum0p65"
HT1050 = "HLT_PFHT1050"
PFHT330 = "HLT_PFHT330PT30_QuadPFJet_75_60_45_40_TriplePFBTag"
# the README table (both fail, emulated only; recorded only, both pass); both paths read DeepJet
PFHT330_PATHS = {
    PFHT330 + "DeepCSV_4p5": [[153, 12], [21, 14]],
    PFHT330 + "DeepJet_4p5": [[161, 11], [13, 15]],
}


@pytest.fixture(scope="module")
def raw(nano_tt: Path) -> ak.Array:
    import uproot

    with uproot.open(nano_tt) as f:
        names = ["Jet_pt", "Jet_eta", "Jet_btagPNetB", "Jet_btagDeepFlavB", PNET_PATH, HT1050]
        return f["Events"].arrays(names + list(PFHT330_PATHS))


@pytest.fixture(scope="module")
def emulated(nano_tt: Path) -> dict:
    from trigkit.events.nanoaod import read_nanoaod

    res = compare_to_recorded(load_menu("nano_tt_v12"), [read_nanoaod(nano_tt)])
    return {p.name: p for p in res.paths}


def _nth_pt(pt: ak.Array, keep: ak.Array, n: int) -> np.ndarray:
    """pt of the n-th highest-pt jet among ``keep`` (0 when fewer jets)."""
    s = ak.sort(pt[keep], axis=1, ascending=False)
    return ak.to_numpy(ak.fill_none(ak.pad_none(s, n + 1)[:, n], 0.0))


def _quad(pt: ak.Array, eta: ak.Array, thresholds: tuple[float, ...], eta_max: float) -> np.ndarray:
    keep = abs(eta) <= eta_max
    ok = np.ones(len(pt), bool)
    for n, t in enumerate(thresholds):
        ok &= _nth_pt(pt, keep, n) >= t
    return ok


def _ht(pt: ak.Array, eta: ak.Array) -> np.ndarray:
    """L1 "er" HTT on offline jets: pt > 30, |eta| < 2.5 (the menu's L1 HT definition)."""
    return ak.to_numpy(ak.sum(pt[(pt >= 30) & (abs(eta) <= 2.5)], axis=1))


def reference_pnet_path(raw: ak.Array, menu: str = "nano_tt_v12") -> np.ndarray:
    """The PNet path with the seeds of ``menu``: nano_tt_v12 adds L1_HTT280er (which holds its
    L1_HTT280er_QuadJet and L1_HTT320er) and L1_QuadJet60er2p5 to run3_hh4b's."""
    pt, eta = ak.values_astype(raw.Jet_pt, np.float64), ak.values_astype(raw.Jet_eta, np.float64)
    ht = _ht(pt, eta)
    if menu == "nano_tt_v12":
        l1 = (ht >= 280) | _quad(pt, eta, (60, 60, 60, 60), 2.5)
    else:
        l1 = (_quad(pt, eta, (70, 55, 40, 35), 2.5) & (ht >= 280)) | (ht >= 320)
    hlt_jets = _quad(pt, eta, (70, 50, 40, 35), 2.5)
    tag = raw.Jet_btagPNetB[(pt >= 35) & (abs(eta) <= 2.5)]
    top2 = ak.sort(tag, axis=1, ascending=False)[:, :2]
    two = ak.to_numpy(ak.num(top2)) == 2
    mean = ak.to_numpy(ak.sum(ak.values_astype(top2, np.float64), axis=1)) / 2.0
    return l1 & hlt_jets & two & (mean >= 0.65)


def reference_pfht330(raw: ak.Array) -> np.ndarray:
    """L1 (HTT280er_QuadJet, HTT280er, HTT320er, HTT360er: HTT >= 280), four jets 75/60/45/40,
    PF HT >= 330 of jets pt >= 30, |eta| <= 2.5, and three jets (pt >= 30, |eta| <= 2.6: the
    HLT's hltPFJetForBtag) with DeepJet >= 0.24."""
    pt, eta = ak.values_astype(raw.Jet_pt, np.float64), ak.values_astype(raw.Jet_eta, np.float64)
    l1 = _ht(pt, eta) >= 280
    central = (pt >= 30) & (abs(eta) <= 2.5)
    pf_ht = ak.to_numpy(ak.sum(pt[central], axis=1))
    for_btag = (pt >= 30) & (abs(eta) <= 2.6)
    tagged = ak.to_numpy(ak.sum(raw.Jet_btagDeepFlavB[for_btag] >= np.float32(0.24), axis=1))
    return l1 & _quad(pt, eta, (75, 60, 45, 40), 2.5) & (pf_ht >= 330) & (tagged >= 3)


def test_pfht330_paths_match_the_hand_count(raw: ak.Array, emulated: dict) -> None:
    emu = reference_pfht330(raw)
    for name, table in PFHT330_PATHS.items():
        ref = confusion_matrix(ak.to_numpy(raw[name]).astype(bool), emu)
        assert emulated[name].confusion.tolist() == ref.tolist() == table


def test_pnet_path_matches_the_hand_count(raw: ak.Array, emulated: dict) -> None:
    recorded = ak.to_numpy(raw[PNET_PATH]).astype(bool)
    ref = confusion_matrix(recorded, reference_pnet_path(raw))
    assert emulated[PNET_PATH].confusion.tolist() == ref.tolist()
    # the README table: 92 both fail, 25 emulated only, 18 recorded only, 65 both pass
    assert ref.tolist() == [[92, 25], [18, 65]]
    assert emulated[PNET_PATH].agree == pytest.approx(157 / 200)


def test_pnet_path_cuts_on_the_mean_not_the_sum(raw: ak.Array, nano_tt: Path) -> None:
    """Events passing every other cut (L1 HTT >= 320, the four jets) whose two highest PNet
    scores sum to >= 0.65 but average below it: the emulator fails them all (a sum cut would
    pass them), and passes all those whose mean is >= 0.65. Selected by hand from the file."""
    from trigkit.events.nanoaod import read_nanoaod

    pt, eta = raw.Jet_pt, raw.Jet_eta
    tag = raw.Jet_btagPNetB[(pt >= 35) & (abs(eta) <= 2.5)]
    top2 = ak.to_numpy(ak.fill_none(ak.pad_none(ak.sort(tag, ascending=False), 2), 0.0)[:, :2])
    s = top2.astype(np.float64).sum(axis=1)
    kin = _quad(pt, eta, (70, 50, 40, 35), 2.5) & (_ht(pt, eta) >= 320)
    between, above = kin & (s >= 0.65) & (s < 1.3), kin & (s >= 1.3)
    assert between.sum() >= 10 and above.sum() >= 10
    batch, menu = read_nanoaod(nano_tt), load_menu("nano_tt_v12")
    for sel, n_pass in ((between, 0), (above, int(above.sum()))):
        res = compare_to_recorded(menu, [batch[np.flatnonzero(sel)]])
        path = next(p for p in res.paths if p.name == PNET_PATH)
        assert int(path.confusion[:, 1].sum()) == n_pass


def test_printed_agreement_rows_match_the_hand_counts(raw: ak.Array, nano_tt: Path) -> None:
    """Every row of the agreement table (agree %, its 68 % interval and the four counts) for the
    four recorded paths, from the hand counts above; HT1050 by hand too (PF HT >= 1050, seeded
    by HTT360er or SingleJet180 on offline jets)."""
    from trigkit.events.nanoaod import read_nanoaod
    from trigkit.report.tables import agreement_table

    res = compare_to_recorded(load_menu("nano_tt_v12"), [read_nanoaod(nano_tt)])
    rows = {r[0]: r for r in agreement_table(res).rows}
    pt, eta = ak.values_astype(raw.Jet_pt, np.float64), ak.values_astype(raw.Jet_eta, np.float64)
    pf_ht = ak.to_numpy(ak.sum(pt[(pt >= 30) & (abs(eta) <= 2.5)], axis=1))
    ht1050 = ((_ht(pt, eta) >= 360) | (_nth_pt(pt, abs(eta) <= 5.0, 0) >= 180)) & (pf_ht >= 1050)
    emulated = {PNET_PATH: reference_pnet_path(raw), HT1050: ht1050}
    emulated |= {name: reference_pfht330(raw) for name in PFHT330_PATHS}
    assert set(emulated) | set(load_menu("nano_tt_v12").l1) == set(rows)
    for name, emu in emulated.items():
        table = confusion_matrix(ak.to_numpy(raw[name]).astype(bool), emu).tolist()
        assert rows[name] == printed_row(name, table)
    # the README table
    assert [rows[n][1] for n in [PNET_PATH, *PFHT330_PATHS, HT1050]] == [
        "78.5 [75.2, 81.5]",
        "83.5 [80.4, 86.2]",
        "88.0 [85.2, 90.3]",
        "100.0 [99.1, 100.0]",
    ]


def test_run3_hh4b_pnet_row_matches_the_hand_count(raw: ak.Array, nano_tt: Path) -> None:
    """run3_hh4b shares the PNet path (the mean of the jets above 35 GeV) but seeds it without
    L1_HTT280er and L1_QuadJet60er2p5: its printed row, re-counted by hand (the README quotes
    it)."""
    from trigkit.events.nanoaod import read_nanoaod
    from trigkit.report.tables import agreement_table

    res = compare_to_recorded(load_menu("run3_hh4b"), [read_nanoaod(nano_tt)])
    rows = {r[0]: r for r in agreement_table(res).rows}
    recorded = ak.to_numpy(raw[PNET_PATH]).astype(bool)
    table = confusion_matrix(recorded, reference_pnet_path(raw, "run3_hh4b")).tolist()
    assert rows[PNET_PATH] == printed_row(PNET_PATH, table)
    assert table == [[93, 24], [19, 64]] and rows[PNET_PATH][1] == "78.5 [75.2, 81.5]"
