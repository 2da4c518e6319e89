from __future__ import annotations

import pytest

from trigkit.core.errors import TrigkitError
from trigkit.emulator.schema import load_menu, parse_menu, shipped_menus

GOOD = """\
name: t
l1:
  L1_A:
    jets: {pt: [35, 70], abs_eta: 2.5}
  L1_B:
    ht: {min: 300}
  L1_AB:
    any_of: [L1_A, L1_B]
    tagger: {wp: 0.5}
hlt:
  HLT_X:
    seeds: [L1_A]
    btag_mean: {min: 0.5}
"""


def test_good_menu_parses_and_sorts_thresholds() -> None:
    m = parse_menu(GOOD)
    assert m.l1["L1_A"].jets.pt == [70.0, 35.0]
    assert m.l1["L1_B"].ht.jet_pt == 30.0
    assert m.jet_fields() == ["l1_score", "btag"]


@pytest.mark.parametrize("name", shipped_menus())
def test_shipped_menus_load(name: str) -> None:
    assert load_menu(name).hlt


def test_run3_menu_has_the_cms_paths() -> None:
    m = load_menu("run3_hh4b")
    assert "L1_HTT280er_QuadJet_70_55_40_35_er2p5" in m.l1
    for p in (
        "HLT_PFHT280_QuadPFJet30_PNet2BTagMean0p55",
        "HLT_PFHT340_QuadPFJet70_50_40_40_PNet2BTagMean0p70",
        "HLT_QuadPFJet70_50_40_35_PFBTagParticleNet_2BTagSum0p65",
        "HLT_AK8PFJet250_SoftDropMass40_PNetBB0p06",
    ):
        assert p in m.hlt


def test_typo_names_line_and_allowed_keys() -> None:
    bad = GOOD.replace("    btag_mean: {min: 0.5}", "    btag_maen: {min: 0.5}")
    with pytest.raises(TrigkitError) as exc:
        parse_menu(bad, "m.yaml")
    msg = str(exc.value)
    assert "m.yaml line 13" in msg and "btag_maen" in msg
    assert "allowed keys: seeds, jets, ht, btag_count, btag_mean, btag_sum, fatjet, prescale" in msg
    assert "\n" not in msg


def test_nested_typo_names_line_and_cut_keys() -> None:
    bad = GOOD.replace("    ht: {min: 300}", "    ht:\n      min: 300\n      jet_ptt: 20")
    with pytest.raises(
        TrigkitError, match=r"line 8: unknown key 'jet_ptt'.*allowed keys: min, jet_pt, jet_abs_eta"
    ):
        parse_menu(bad)


def test_bad_value_and_missing_key_lines() -> None:
    with pytest.raises(TrigkitError, match=r"line 4: l1.L1_A.jets.pt.0: .*number"):
        parse_menu(GOOD.replace("[35, 70]", "[abc, 70]"))
    with pytest.raises(TrigkitError, match=r"line 9: .*l1.L1_AB.tagger.wp is required"):
        parse_menu(GOOD.replace("tagger: {wp: 0.5}", "tagger: {n: 2}"))
    with pytest.raises(TrigkitError, match=r"line 1: .*hlt is required"):
        parse_menu("name: x\nl1: {L1_A: {ht: {min: 1}}}\n")


def test_unknown_seed_reference_and_any_of() -> None:
    with pytest.raises(
        TrigkitError,
        match=r"line 12: hlt.HLT_X.seeds: unknown L1 seed 'L1_Z'; defined: L1_A, L1_B, L1_AB",
    ):
        parse_menu(GOOD.replace("seeds: [L1_A]", "seeds: [L1_Z]"))
    with pytest.raises(TrigkitError, match=r"line 8: l1.L1_AB.any_of: 'L1_AB'"):
        parse_menu(GOOD.replace("any_of: [L1_A, L1_B]", "any_of: [L1_A, L1_AB]"))


def test_empty_trigger_and_bad_yaml() -> None:
    with pytest.raises(TrigkitError, match="line 3: .*needs at least one of"):
        parse_menu("name: x\nl1:\n  L1_A: {prescale: 2}\nhlt: {H: {ht: {min: 1}}}\n")
    with pytest.raises(TrigkitError, match="line 3: not valid YAML"):
        parse_menu("name: x\nl1: [\n")
    with pytest.raises(TrigkitError, match="not a shipped menu"):
        load_menu("no_such_menu")


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    # YAML keeps the last of two equal keys: a copy-pasted path would silently replace the first
    dup = GOOD + "  HLT_X:\n    seeds: [L1_B]\n    ht: {min: 500}\n"
    with pytest.raises(TrigkitError) as exc:
        parse_menu(dup, "m.yaml")
    msg = str(exc.value)
    assert "m.yaml line 14: duplicate key 'HLT_X' in hlt (first defined at line 11)" == msg
    nested = GOOD.replace("    ht: {min: 300}", "    ht: {min: 300, min: 400}")
    with pytest.raises(TrigkitError, match=r"line 6: duplicate key 'min' in l1.L1_B.ht"):
        parse_menu(nested)


def test_atlas_working_points_follow_their_efficiency_names() -> None:
    """ATLAS "bNN" keeps NN % of b jets: a higher NN is a looser cut, i.e. a lower score
    threshold."""
    import re

    m = load_menu("atlas_2b2j")
    wps = {}
    for name, path in m.hlt.items():
        hit = re.search(r"b(\d\d)(?:_|$)", name)
        if hit and path.btag_count is not None:
            wps.setdefault(int(hit.group(1)), set()).add(path.btag_count.wp)
    assert sorted(wps) == [77, 85] and all(len(v) == 1 for v in wps.values())
    assert max(wps[85]) < min(wps[77])


def test_atlas_working_points_give_their_b_efficiency_on_generated_b_jets() -> None:
    import awkward as ak
    import numpy as np

    from trigkit.emulator.scores import baseline_btag
    from trigkit.events.generator import generate

    jets = generate("ttbar", 1500, seed=3).jets
    score = baseline_btag(jets)
    flat = ak.flatten(jets)
    b = ak.to_numpy((flat.hadron_flavour == 5) & (flat.pt > 35) & (abs(flat.eta) < 2.5))
    m = load_menu("atlas_2b2j")
    wp77 = m.hlt["HLT_2j35_0eta240_2j35_0eta240_2b77"].btag_count.wp
    wp85 = m.hlt["HLT_2j35_2j35_2b85_pf_ftf_presel4j25_L1HT190"].btag_count.wp
    assert b.sum() > 1000
    assert np.mean(score[b] >= wp77) == pytest.approx(0.77, abs=0.025)
    assert np.mean(score[b] >= wp85) == pytest.approx(0.85, abs=0.025)


def test_ht_leading_is_a_positive_int_reported_with_its_line() -> None:
    m = parse_menu(GOOD.replace("ht: {min: 300}", "ht: {min: 300, leading: 5}"))
    assert m.l1["L1_B"].ht.leading == 5
    assert parse_menu(GOOD).l1["L1_B"].ht.leading is None  # omitted: every selected jet
    for bad, why in (
        ("0", "greater than or equal to 1"),
        ("-2", "greater than or equal to 1"),
        ("2.5", "valid integer"),
        ("5.0", "valid integer"),
        ("'5'", "valid integer"),
        ("true", "valid integer"),
        ("101", "less than or equal to 100"),
    ):
        menu = GOOD.replace("    ht: {min: 300}", f"    ht:\n      min: 300\n      leading: {bad}")
        with pytest.raises(TrigkitError, match=rf"m.yaml line 8: l1.L1_B.ht.leading: .*{why}"):
            parse_menu(menu, "m.yaml")


def test_atlas_ht_seed_sums_the_5_leading_jets() -> None:
    """L1_HT190-J15s5pETA21: HT > 190 of the 5 leading ("s5") jets with pt > 15, |eta| < 2.1."""
    ht = load_menu("atlas_2b2j").l1["L1_HT190-J15s5pETA21"].ht
    assert (ht.min, ht.jet_pt, ht.jet_abs_eta, ht.leading) == (190.0, 15.0, 2.1, 5)
