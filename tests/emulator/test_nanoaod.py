"""Menu on recorded NanoAOD objects vs the recorded HLT bits (real CMS file from ../shared/data)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trigkit.emulator.nanoaod import compare_to_recorded, confusion_matrix, trigobj_jets
from trigkit.emulator.schema import load_menu, parse_menu

DATA = Path("/work/shared/data")
TT = DATA / "nano_tt_v12.root"
DIMUON = DATA / "nano_dimuon.root"
pytestmark = pytest.mark.skipif(not TT.exists(), reason="shared NanoAOD samples not present")


@pytest.fixture(scope="module")
def tt_batch():
    from trigkit.events.nanoaod import read_nanoaod

    return read_nanoaod(TT)


def test_confusion_matrix_by_hand() -> None:
    rec = np.array([1, 1, 0, 0, 1], bool)
    emu = np.array([1, 0, 0, 1, 1], bool)
    assert confusion_matrix(rec, emu).tolist() == [[1, 1], [1, 2]]


def test_nano_tt_v12_agreement(tt_batch) -> None:
    menu = load_menu("nano_tt_v12")
    res = compare_to_recorded(menu, [tt_batch])
    by = {p.name: p for p in res.paths}
    assert set(by) == set(menu.hlt)  # the 4 recorded HLT paths; no L1 bits in this file
    assert set(res.not_recorded) == set(menu.l1)
    for p in res.paths:
        c = p.confusion
        assert c.sum() == len(tt_batch) == 200
        assert p.agree == pytest.approx((c[0, 0] + c[1, 1]) / 200)
        assert c[1].sum() == int(tt_batch.triggers[p.name].sum())  # recorded passes
    # Measured (offline jets vs HLT PF jets / online b-tag): HT1050 agrees fully; the b-tag paths
    # agree on 79-88 % of events (offline PNet/DeepJet scores and jet energies differ online).
    assert by["HLT_PFHT1050"].agree == 1.0
    assert by["HLT_QuadPFJet70_50_40_35_PFBTagParticleNet_2BTagSum0p65"].agree > 0.6
    assert by["HLT_PFHT330PT30_QuadPFJet_75_60_45_40_TriplePFBTagDeepJet_4p5"].agree > 0.8


def test_chunking_does_not_change_agreement(tt_batch) -> None:
    menu = load_menu("nano_tt_v12")
    whole = compare_to_recorded(menu, [tt_batch])
    parts = compare_to_recorded(menu, [tt_batch[:77], tt_batch[77:150], tt_batch[150:]])
    for a, b in zip(whole.paths, parts.paths, strict=True):
        assert np.array_equal(a.confusion, b.confusion)


@pytest.mark.skipif(not DIMUON.exists(), reason="dimuon sample not present")
def test_trigobj_jets_on_data() -> None:
    from trigkit.events.nanoaod import read_nanoaod

    b = read_nanoaod(DIMUON)
    import awkward as ak

    jb = trigobj_jets(b)
    assert ak.sum(ak.num(jb.jets)) == ak.sum(b.trigobj.id == 1)
    assert ak.all(jb.jets.pt[:, :-1] >= jb.jets.pt[:, 1:])
    menu = parse_menu("""
name: d
l1:
  L1_HTT120er: {ht: {min: 120, jet_pt: 30, jet_abs_eta: 2.4}}
  L1_SingleJet60: {jets: {pt: [60], abs_eta: 5.0}}
hlt:
  HLT_PFHT180: {seeds: [L1_HTT120er], ht: {min: 180}}
""")
    res = compare_to_recorded(menu, [b], objects="trigobj")
    assert {p.name for p in res.paths} == {"L1_HTT120er", "L1_SingleJet60", "HLT_PFHT180"}
    for p in res.paths:
        assert p.confusion.sum() == len(b)


def test_cli_nanoaod_agreement(tmp_path, capsys) -> None:
    import json

    from trigkit.cli.app import main

    out = tmp_path / "nano"
    assert main(["emulate", "--menu", "nano_tt_v12", "--nanoaod", str(TT), "--out", str(out)]) == 0
    data = json.loads((out / "result.json").read_text())
    p = data["nanoaod"]["paths"]["HLT_PFHT1050"]
    assert p["agree"] == 1.0 and p["confusion_rec_x_emu"] == [[196, 0], [0, 4]]
    # 200 of 200 agree: the 68.3 % central Clopper-Pearson interval is [a^(1/200), 1] with
    # a = (1 - 0.683) / 2, since P(all 200 agree | p) = p^200
    assert p["agree_interval"] == pytest.approx([0.1585 ** (1 / 200), 1.0], rel=1e-12)
    assert p["agree_interval_cl"] == 0.683
    assert "Agreement with recorded bits" in capsys.readouterr().out
    assert sorted(x.name for x in out.iterdir()) == ["result.json", "result.md"]


def test_agreement_table_lists_triggers_without_a_recorded_bit(tt_batch) -> None:
    from trigkit.report.tables import agreement_table

    menu = load_menu("nano_tt_v12")
    t = agreement_table(compare_to_recorded(menu, [tt_batch]))
    rows = {r[0]: r for r in t.rows}
    assert set(rows) == set(menu.hlt) | set(menu.l1)
    for name in menu.l1:  # this file records HLT bits only
        assert rows[name][1:] == ("no recorded bit", "-", "-", "-", "-")
    for name in menu.hlt:
        both_pass, both_fail, emu_only, rec_only = (int(x) for x in rows[name][2:])
        assert both_pass + both_fail + emu_only + rec_only == len(tt_batch)


@pytest.mark.skipif(not DIMUON.exists(), reason="dimuon sample not present")
def test_recorded_l1_seeds_gate_hlt_by_the_files_l1_bits() -> None:
    """--l1-seeds recorded: HLT = its filters AND the OR of its recorded seed bits (hand count)."""
    from trigkit.events.nanoaod import read_nanoaod

    b = read_nanoaod(DIMUON)
    seeds = ["L1_SingleMu22", "L1_DoubleMu8_SQ"]
    menu = parse_menu(f"""
name: d
l1:
  L1_SingleMu22: {{ht: {{min: 1.0e9}}}}
  L1_DoubleMu8_SQ: {{ht: {{min: 1.0e9}}}}
hlt:
  HLT_PFHT30: {{seeds: [{", ".join(seeds)}], ht: {{min: 30, jet_pt: 30, jet_abs_eta: 2.5}}}}
  HLT_AnyHT30: {{ht: {{min: 30, jet_pt: 30, jet_abs_eta: 2.5}}}}
""")
    emulated = compare_to_recorded(menu, [b])
    recorded = compare_to_recorded(menu, [b], l1_seeds="recorded")
    # the emulated L1 never fires (HT > 1e9), so the seeded path never fires either
    assert emulated.l1_seeds == "emulated" and recorded.l1_seeds == "recorded"
    import awkward as ak

    pt, eta = b.jets.pt, abs(b.jets.eta)
    ht = ak.to_numpy(ak.sum(ak.where((pt >= 30) & (eta <= 2.5), pt, 0.0), axis=1)) >= 30
    seed_or = np.asarray(b.triggers[seeds[0]], bool) | np.asarray(b.triggers[seeds[1]], bool)
    rec = {p.name: p for p in recorded.paths}
    # no recorded bit for these HLT names: compare through the emulated decisions instead
    assert "HLT_PFHT30" in recorded.not_recorded and "HLT_AnyHT30" in recorded.not_recorded
    assert rec["L1_SingleMu22"].confusion[1].sum() == int(np.sum(b.triggers["L1_SingleMu22"]))
    from trigkit.emulator.compiled import compile_menu
    from trigkit.emulator.nanoaod import _unseeded, with_recorded_seeds
    from trigkit.emulator.pipeline import evaluate_batch
    from trigkit.emulator.stages import apply_stages

    cm = compile_menu(menu)
    d = apply_stages(cm, evaluate_batch(cm, b, baseline=False).raw)
    filters = evaluate_batch(compile_menu(_unseeded(menu)), b, baseline=False).raw[:, cm.n_l1 :]
    out = with_recorded_seeds(menu, d, filters, b.triggers, "dimuon")
    assert not d.hlt[:, 0].any()  # emulated seeds never fire
    assert np.array_equal(out.hlt[:, 0], ht & seed_or) and (ht & seed_or).any()
    assert np.array_equal(out.hlt[:, 1], ht)  # unseeded: no seed requirement on recorded events


def test_recorded_l1_seeds_absent_in_file_is_a_clear_error(tt_batch) -> None:
    from trigkit.core.errors import TrigkitError

    with pytest.raises(
        TrigkitError,
        match=(
            r"nano_tt_v12.root: --l1-seeds recorded: seed\(s\) .*not recorded in the file "
            r"\(0 L1 bits"
        ),
    ):
        compare_to_recorded(load_menu("nano_tt_v12"), [tt_batch], l1_seeds="recorded")


def test_cli_rejects_unknown_l1_seeds_before_reading(tmp_path, capsys) -> None:
    from trigkit.cli.app import main

    out = tmp_path / "nano"
    rc = main(
        [
            "emulate",
            "--menu",
            "nano_tt_v12",
            "--nanoaod",
            str(TT),
            "--l1-seeds",
            "both",
            "--out",
            str(out),
        ]
    )
    assert rc == 1 and not out.exists()
    assert "--l1-seeds must be one of emulated, recorded, got 'both'" in capsys.readouterr().err


def _seeds_by_hand(l1: Any) -> dict[str, np.ndarray]:
    """The nano_tt_v12 L1 seeds recounted with numpy from the jets ``l1`` (pt, eta)."""
    import awkward as ak

    pt, eta = ak.values_astype(l1.pt, np.float64), abs(l1.eta)

    def n_jets(thr: float, er: float) -> np.ndarray:
        return ak.to_numpy(ak.sum((pt >= thr) & (eta <= er), axis=1))

    def jets(thrs: list[float], er: float) -> np.ndarray:
        return np.all([n_jets(t, er) >= i + 1 for i, t in enumerate(thrs)], axis=0)

    ht = ak.to_numpy(ak.sum(ak.where((pt >= 30) & (eta <= 2.5), pt, 0.0), axis=1))
    return {
        "L1_HTT280er_QuadJet_70_55_40_35_er2p5": jets([70, 55, 40, 35], 2.5) & (ht >= 280),
        "L1_HTT280er": ht >= 280,
        "L1_HTT320er": ht >= 320,
        "L1_HTT360er": ht >= 360,
        "L1_QuadJet60er2p5": jets([60] * 4, 2.5),
        "L1_SingleJet180": jets([180], 5.0),
    }


@pytest.mark.skipif(not DIMUON.exists(), reason="dimuon sample not present")
def test_dimuon_hlt_rows_and_trigobj_seeds_match_the_hand_count() -> None:
    """The other printed rows on the data file: the two recorded nano_tt_v12 HLT paths, whose
    filters no event passes on offline jets (so 40 / 40 agree whatever the L1), and the seeds on
    TrigObj jets (--objects trigobj), re-counted from the TrigObj jets (id 1)."""
    import awkward as ak

    from tests.emulator.agreement_rows import printed_row
    from trigkit.events.nanoaod import read_nanoaod
    from trigkit.report.tables import agreement_table

    b = read_nanoaod(DIMUON)
    menu = load_menu("nano_tt_v12")
    rows = {r[0]: r for r in agreement_table(compare_to_recorded(menu, [b])).rows}
    pt, eta = ak.values_astype(b.jets.pt, np.float64), abs(b.jets.eta)
    central = (pt >= 30) & (eta <= 2.5)
    pf_ht = ak.to_numpy(ak.sum(ak.where(central, pt, 0.0), axis=1))
    tags = ak.to_numpy(ak.sum(central & (b.jets.btag_deepflav >= np.float32(0.24)), axis=1))
    desc = ak.sort(pt[eta <= 2.5], ascending=False)
    fourth = ak.to_numpy(ak.fill_none(ak.pad_none(desc, 4)[:, 3], 0.0))  # 4th jet's pt, else 0
    filters = {
        "HLT_PFHT330PT30_QuadPFJet_75_60_45_40_TriplePFBTagDeepCSV_4p5": (pf_ht >= 330)
        & (tags >= 3)
        & (fourth >= 40),
        "HLT_PFHT1050": pf_ht >= 1050,
    }
    for name, passes in filters.items():
        assert not passes.any() and not np.asarray(b.triggers[name]).any()
        assert rows[name] == printed_row(name, [[40, 0], [0, 0]])
    to = b.trigobj[b.trigobj.id == 1]
    rows = {r[0]: r for r in agreement_table(compare_to_recorded(menu, [b], "trigobj")).rows}
    for name, emu in _seeds_by_hand(to).items():
        assert rows[name] == printed_row(name, confusion_matrix(b.triggers[name], emu).tolist())
    assert [rows[n][1].split()[0] for n in _seeds_by_hand(to)] == [
        "100.0",
        "95.0",
        "90.0",
        "97.5",
        "100.0",
        "95.0",
    ]


@pytest.mark.skipif(not DIMUON.exists(), reason="dimuon sample not present")
def test_derived_l1_jets_agreement_on_data() -> None:
    """--l1-jets derived on the 2018 data file: the L1 seeds read the derived L1 jets; each seed's
    bits are recounted here from those jets with numpy, and the measured agreement is pinned."""
    from tests.emulator.agreement_rows import printed_row
    from trigkit.events.nanoaod import read_nanoaod
    from trigkit.events.nanoaod_l1 import measure_l1_response, with_derived_l1jets
    from trigkit.report.tables import agreement_table

    b = read_nanoaod(DIMUON)
    menu = load_menu("nano_tt_v12")
    offline = compare_to_recorded(menu, [b], l1_jets="offline")
    before = {p.name: p for p in offline.paths}
    res = compare_to_recorded(menu, [b], l1_jets="derived")
    after = {p.name: p for p in res.paths}
    assert res.l1_jets == "derived" and res.l1_response is not None
    l1 = with_derived_l1jets(b, measure_l1_response([b])).l1jets
    table_before = {r[0]: r for r in agreement_table(offline).rows}
    table_after = {r[0]: r for r in agreement_table(res).rows}
    for jets_, got, rows in ((l1, after, table_after), (b.jets, before, table_before)):
        for name, emu in _seeds_by_hand(jets_).items():
            table = confusion_matrix(b.triggers[name], emu).tolist()
            assert got[name].confusion.tolist() == table
            assert rows[name] == printed_row(name, table)  # agree %, 68 % interval, counts
    # measured on this file (40 events); before = offline jets as L1 jets
    agree = {n: (before[n].agree, after[n].agree) for n in _seeds_by_hand(l1)}
    assert agree == {
        "L1_HTT280er_QuadJet_70_55_40_35_er2p5": (0.85, 0.9),
        "L1_HTT280er": (0.775, 0.9),
        "L1_HTT320er": (0.95, 0.95),
        "L1_HTT360er": (0.85, 0.95),
        "L1_QuadJet60er2p5": (0.9, 0.975),
        "L1_SingleJet180": (1.0, 0.975),
    }


@pytest.mark.skipif(not DIMUON.exists(), reason="dimuon sample not present")
def test_auto_l1_jets_derive_where_the_file_has_trigobj_l1_jets(tt_batch) -> None:
    """The default (auto): derived L1 jets on the data file (TrigObj with l1pt), the same
    decisions as --l1-jets derived; offline jets on the tt file (no TrigObj) and with
    --objects trigobj (the L1 seeds then read the TrigObj jets, as the paths do)."""
    from trigkit.events.nanoaod import read_nanoaod

    b, menu = read_nanoaod(DIMUON), load_menu("nano_tt_v12")
    auto = compare_to_recorded(menu, [b])
    derived = compare_to_recorded(menu, [b], l1_jets="derived")
    assert auto.l1_jets == "derived" and auto.l1_response is not None
    for x, y in zip(auto.paths, derived.paths, strict=True):
        assert x.name == y.name and x.confusion.tolist() == y.confusion.tolist()
    tt = compare_to_recorded(menu, [tt_batch])
    assert tt.l1_jets == "offline" and tt.l1_response is None
    on_to = compare_to_recorded(menu, [b], objects="trigobj")
    assert on_to.l1_jets == "offline" and on_to.l1_response is None
    # a file with TrigObj_l1pt but no TrigObj L1 jet near an offline jet: offline under auto
    no_jet_objects = replace(b, trigobj=b.trigobj[b.trigobj.id != 1])
    assert compare_to_recorded(menu, [no_jet_objects]).l1_jets == "offline"


@pytest.mark.skipif(not DIMUON.exists(), reason="dimuon sample not present")
def test_recorded_l1_bits_are_final_decisions_after_prescale() -> None:
    """Why some seeds cannot reach 100 %: a seed strictly looser than a recorded one is 0 where
    the tighter one fired, so its recorded (final, after prescale/mask) bit was suppressed."""
    from trigkit.events.nanoaod import read_nanoaod

    t = read_nanoaod(DIMUON).triggers
    tight_loose = [
        ("L1_HTT320er_QuadJet_70_55_40_40_er2p5", "L1_HTT280er_QuadJet_70_55_40_35_er2p5"),
        ("L1_HTT380er", "L1_HTT360er"),
        ("L1_HTT320er", "L1_HTT280er"),
    ]
    for tight, loose in tight_loose:
        assert t[tight].sum() >= 4 and not (t[tight] & t[loose]).any()


def test_unknown_l1_jets_is_a_clear_error(tt_batch) -> None:
    from trigkit.core.errors import TrigkitError

    bad: Any = "l1"
    with pytest.raises(TrigkitError, match="--l1-jets must be one of auto, offline, derived"):
        compare_to_recorded(load_menu("nano_tt_v12"), [tt_batch], l1_jets=bad)
    with pytest.raises(TrigkitError, match="nano_tt_v12.root: no TrigObj_l1pt branch"):
        compare_to_recorded(load_menu("nano_tt_v12"), [tt_batch], l1_jets="derived")


@pytest.mark.skipif(not DIMUON.exists(), reason="dimuon sample not present")
def test_cli_derived_l1_jets(tmp_path) -> None:
    import json

    from trigkit.cli.app import main

    out = tmp_path / "nano"
    args = ["emulate", "--menu", "nano_tt_v12", "--nanoaod", str(DIMUON), "--out", str(out)]
    assert main([*args, "--l1-jets", "derived"]) == 0
    data = json.loads((out / "result.json").read_text())["nanoaod"]
    assert data["l1_jets"] == "derived"
    r = data["l1_response"]
    assert r["n_pairs"] == [[0, 0, 0], [0, 1, 0], [2, 0, 0]] and r["n_ht_objects"] == 5
    assert data["paths"]["L1_HTT360er"]["confusion_rec_x_emu"] == [[38, 2], [0, 0]]
    assert "derived L1 jets" in (out / "result.md").read_text()


@pytest.mark.skipif(not DIMUON.exists(), reason="dimuon sample not present")
def test_trigobj_jets_keep_every_score_field_as_nan() -> None:
    """A menu cutting on ``btag_deepflav`` runs on TrigObj jets: the score is NaN, the cut fails."""
    import awkward as ak

    from trigkit.events.nanoaod import read_nanoaod

    b = read_nanoaod(DIMUON)
    jb = trigobj_jets(b)
    assert {"btag", "l1_score", "btag_pnet", "btag_deepflav"} <= set(jb.jets.fields)
    assert ak.all(np.isnan(ak.flatten(jb.jets.btag_deepflav)))
    menu = load_menu("nano_tt_v12")
    res = compare_to_recorded(menu, [b], objects="trigobj")
    by = {p.name: p for p in res.paths}
    deepcsv = "HLT_PFHT330PT30_QuadPFJet_75_60_45_40_TriplePFBTagDeepCSV_4p5"
    assert by[deepcsv].confusion[:, 1].sum() == 0  # NaN scores never pass the triple b-tag
    assert by[deepcsv].confusion.sum() == len(b) == 40
