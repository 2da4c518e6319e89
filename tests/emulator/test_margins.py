"""Per-cut margins on two hand-written events, and against the compiled emulator on nano_tt_v12."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.emulator.margins import cut_margin, path_features, path_margins, seed_margin
from trigkit.emulator.schema import load_menu, parse_menu

MENU = """
name: tiny
l1:
  L1_HT150: {ht: {min: 150}}
  L1_Jet75: {jets: {pt: [75]}}
  L1_OR: {any_of: [L1_HT150, L1_Jet75], jets: {pt: [90]}}
hlt:
  HLT_A:
    seeds: [L1_HT150, L1_Jet75]
    jets: {pt: [70, 50], abs_eta: 2.5}
    ht: {min: 100, jet_pt: 30, jet_abs_eta: 2.5}
    btag_mean: {field: btag, top: 2, min: 0.5, jet_pt: 30}
    btag_count: {field: btag, wp: 0.25, n: 2, jet_pt: 30}
  HLT_Unseeded: {ht: {min: 200}}
  HLT_Fat: {fatjet: {pt: 250}}
"""


@pytest.fixture(scope="module")
def jets() -> ak.Array:
    # event 0: 100 (eta 0, tag 0.9), 60 (eta 3.0, out of |eta| 2.5, tag 0.2), 55 (eta 1, 0.3)
    # event 1: one jet, 80 GeV, tag NaN
    return ak.Array(
        {
            "pt": [[100.0, 60.0, 55.0], [80.0]],
            "eta": [[0.0, 3.0, 1.0], [0.5]],
            "btag": [[0.9, 0.2, 0.3], [np.nan]],
        }
    )


def test_cut_margins_by_hand(jets: ak.Array) -> None:
    menu = parse_menu(MENU)
    m = path_margins(menu, "HLT_A", jets)
    # central jets 100, 55: 100 / 70 and 55 / 50 -> 1.1; event 1 has no second jet -> 0
    np.testing.assert_allclose(m["jets"], [1.1, 0.0])
    np.testing.assert_allclose(m["ht"], [1.55, 0.8])  # 100 + 55 = 155 and 80 over 100
    # the mean of 0.9 and 0.3 (0.2 is out of |eta|) over 0.5; one jet is too few: -inf
    np.testing.assert_allclose(m["btag_mean"], [1.2, -np.inf])
    np.testing.assert_allclose(m["btag_count"], [0.3 / 0.25, -np.inf])  # 2nd highest tag / wp
    # L1: the OR of HT >= 150 (155 / 150, 80 / 150) and a jet >= 75 (100 / 75 [the eta-3 jet is
    # outside the default 2.5], 80 / 75)
    np.testing.assert_allclose(m["L1"], [100 / 75, 80 / 75])
    assert list(m) == ["L1", "jets", "ht", "btag_count", "btag_mean"]  # the cuts' registry order
    # unseeded: +inf L1 margin
    assert np.all(np.isinf(path_margins(menu, "HLT_Unseeded", jets)["L1"]))


def test_any_of_and_parts(jets: ak.Array) -> None:
    menu = parse_menu(MENU)
    # L1_OR: its own jet >= 90 (100 / 90, 80 / 90) and the OR of its any_of seeds (as above)
    np.testing.assert_allclose(seed_margin(menu, "L1_OR", jets), [100 / 90, 80 / 90])
    parts = path_features(menu, "HLT_A", jets)
    assert list(parts) == [
        "L1 L1_HT150", "L1 L1_Jet75", "jet1", "jet2", "ht",
        "btag_count1", "btag_count2", "btag_mean1", "btag_mean2",
    ]  # fmt: skip
    np.testing.assert_allclose(parts["L1 L1_HT150"], [155 / 150, 80 / 150])
    np.testing.assert_allclose(parts["jet1"], [100 / 70, 80 / 70])
    np.testing.assert_allclose(parts["jet2"], [55 / 50, 0.0])
    np.testing.assert_allclose(parts["btag_mean1"], [0.9 / 0.5, -np.inf])
    np.testing.assert_allclose(parts["btag_mean2"], [0.3 / 0.5, -np.inf])
    np.testing.assert_allclose(parts["btag_count1"], [0.9 / 0.25, -np.inf])


def test_no_margin_is_a_one_line_error(jets: ak.Array) -> None:
    menu = parse_menu(MENU)
    with pytest.raises(TrigkitError, match="tiny HLT_Fat: fatjet: no margin for this cut type"):
        path_margins(menu, "HLT_Fat", jets)
    with pytest.raises(TrigkitError, match="no HLT path HLT_B"):
        path_margins(menu, "HLT_B", jets)
    ht = menu.hlt["HLT_Unseeded"].ht.model_copy(update={"min": 0.0})
    with pytest.raises(TrigkitError, match="threshold 0.0 <= 0 has no margin"):
        cut_margin("ht", ht, jets)


def test_margins_decide_as_the_compiled_menu(nano_tt: Path) -> None:
    """Every margin >= 1 is the kernels' decision on every path of nano_tt_v12 (the compiled
    menu via compare_to_recorded, an independent implementation of the same cuts)."""
    from trigkit.emulator.nanoaod import compare_to_recorded, confusion_matrix
    from trigkit.events.nanoaod import read_nanoaod

    batch, menu = read_nanoaod(nano_tt), load_menu("nano_tt_v12")
    res = {p.name: p for p in compare_to_recorded(menu, [batch]).paths}
    for path in menu.hlt:
        m = path_margins(menu, path, batch.jets)
        emulated = np.min(np.stack(list(m.values())), axis=0) >= 1.0
        cm = confusion_matrix(batch.triggers[path], emulated)
        assert cm.tolist() == res[path].confusion.tolist(), path


def test_seed_margins_decide_as_the_compiled_seeds_on_derived_l1_jets(nano_dimuon: Path) -> None:
    """On the dimuon file (L1 jets derived from its TrigObj response), every seed's margin >= 1
    is the compiled seed's decision, as compare_to_recorded counts it."""
    from trigkit.emulator.nanoaod import compare_to_recorded, confusion_matrix
    from trigkit.emulator.nanoaod_ceiling import menu_ceilings
    from trigkit.events.nanoaod import read_nanoaod
    from trigkit.events.nanoaod_l1 import with_derived_l1jets

    batch, menu = read_nanoaod(nano_dimuon), load_menu("nano_tt_v12")
    res = compare_to_recorded(menu, [batch])
    assert res.l1_jets == "derived"
    rows = {p.name: p for p in res.paths}
    derived = with_derived_l1jets(batch, res.l1_response)
    for seed in menu.l1:
        emulated = seed_margin(menu, seed, derived.l1jets) >= 1.0
        cm = confusion_matrix(batch.triggers[seed], emulated)
        assert cm.tolist() == rows[seed].confusion.tolist(), seed
    ceilings = menu_ceilings(menu, batch)
    assert [c.name for c in ceilings] == [p for p in menu.hlt if p in batch.triggers]
    assert all(c.n_agree == rows[c.name].n_agree for c in ceilings)
    with pytest.raises(TrigkitError, match="l1_jets must be one of auto, offline, derived"):
        menu_ceilings(menu, batch, l1_jets="l1")  # type: ignore[arg-type]
