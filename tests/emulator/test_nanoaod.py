"""Menu on recorded NanoAOD objects vs the recorded HLT bits (real CMS file from ../shared/data)."""

from __future__ import annotations

from pathlib import Path

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
    # agree on 67-88 % of events (offline PNet/DeepJet scores and jet energies differ online).
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
