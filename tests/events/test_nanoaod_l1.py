"""L1 jets derived from offline jets with the L1 response of the file's own TrigObj."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.nanoaod import read_nanoaod
from trigkit.events.nanoaod_l1 import (
    ht_ratios,
    match_trigobj,
    measure_l1_response,
    with_derived_l1jets,
)


def _batch(jets: list[list[tuple[float, float, float]]], trigobj: list[list[tuple]]) -> EventBatch:
    """jets: (pt, eta, phi) per event; trigobj: (pt, eta, phi, id, l1pt) per event."""
    j = ak.zip(
        {
            k: ak.Array([[x[i] for x in ev] for ev in jets])
            for i, k in enumerate("pt eta phi".split())
        }
    )
    names = ("pt", "eta", "phi", "id", "l1pt")
    to = ak.zip(
        {k: ak.Array([[float(x[i]) for x in ev] for ev in trigobj]) for i, k in enumerate(names)}
    )
    to = ak.with_field(to, ak.values_astype(to.id, np.int32), "id")
    n = len(jets)
    return EventBatch(
        jets=j,
        weight=np.ones(n),
        truth=ak.zip({"mhh": np.full(n, np.nan)}),
        trigobj=to,
        source="hand",
    )


def _hand() -> EventBatch:
    # event 0: two jets; TrigObj jet near jet 0 (dR 0.1) with l1pt 90, HT object L1 HTT 100
    # event 1: one jet (pt 50, |eta| 3): no TrigObj jet near (dR 1); saturated jet far away
    # event 2: jet at 200 GeV (bin 150+) matched to l1pt 180; phi wraps around pi
    return _batch(
        [
            [(100.0, 0.5, 0.0), (40.0, -1.0, 2.0)],
            [(50.0, 3.0, 1.0)],
            [(200.0, 1.0, 3.1)],
        ],
        [
            [(95.0, 0.6, 0.0, 1, 90.0), (130.0, 0.0, 0.0, 3, 100.0), (40.0, -1.0, 2.0, 13, 9.0)],
            [(48.0, 3.0, 2.0, 1, 45.0), (600.0, -2.0, 0.0, 1, 1022.0)],
            [(190.0, 1.0, -3.1, 1, 180.0)],
        ],
    )


def test_match_by_hand() -> None:
    l1pt, matched = match_trigobj(_hand())
    assert ak.to_list(matched) == [[True, False], [False], [True]]
    assert ak.to_list(l1pt) == [[90.0, 0.0], [0.0], [180.0]]


def test_response_and_derived_jets_by_hand() -> None:
    b = _hand()
    r = measure_l1_response([b])
    assert r.n_total == 2 and r.overall == pytest.approx((0.9 + 0.9) / 2)
    assert r.n_pairs[1, 0] == 1 and r.median[1, 0] == pytest.approx(0.9)  # 60-150, |eta|<1.3
    assert r.n_pairs[2, 0] == 1 and r.median[2, 0] == pytest.approx(0.9)  # >150
    # event 0: HT = 100 + 40 (both pt > 30, |eta| < 2.5), L1 HTT 100
    np.testing.assert_allclose(r.ht_ratio, [100.0 / 140.0])
    assert r.fallback == pytest.approx(100.0 / 140.0)  # every bin is thin (< 3 pairs)
    d = with_derived_l1jets(b, r)
    got = ak.to_list(d.l1jets.pt)
    f = 100.0 / 140.0
    expected = [[90.0, 40.0 * f], [50.0 * f], [180.0]]  # matched jets take their l1pt
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6)
    assert ak.to_list(d.l1jets.eta) == ak.to_list(b.jets.eta)


def test_no_pairs_is_a_clear_error() -> None:
    b = _batch([[(100.0, 0.5, 0.0)]], [[(30.0, 2.0, 2.0, 13, 30.0)]])
    with pytest.raises(TrigkitError, match="hand: no TrigObj jet .* cannot measure"):
        measure_l1_response([b])
    no_l1pt = EventBatch(jets=b.jets, weight=b.weight, truth=b.truth, source="x")
    with pytest.raises(TrigkitError, match="x: no TrigObj_l1pt branch"):
        measure_l1_response([no_l1pt])


def test_dimuon_response_against_uproot(nano_dimuon: Path) -> None:
    """The pairs and HT ratios of the real file, recomputed from the raw branches."""
    b = read_nanoaod(nano_dimuon)
    with uproot.open(nano_dimuon) as f:
        a = f["Events"].arrays(filter_name=["TrigObj_*", "Jet_pt", "Jet_eta", "Jet_phi"])
    ratios, hts = [], []
    for i in range(len(a)):
        ids, l1 = np.asarray(a.TrigObj_id[i]), np.asarray(a.TrigObj_l1pt[i], np.float64)
        jpt, jeta = np.asarray(a.Jet_pt[i], np.float64), np.asarray(a.Jet_eta[i], np.float64)
        jphi = np.asarray(a.Jet_phi[i], np.float64)
        for k in np.flatnonzero((ids == 1) & (l1 > 0) & (l1 < 1000)):
            dphi = np.angle(np.exp(1j * (jphi - float(a.TrigObj_phi[i][k]))))
            dr = np.hypot(jeta - float(a.TrigObj_eta[i][k]), dphi)
            if len(dr) and dr.min() < 0.4:
                ratios.append(l1[k] / jpt[dr.argmin()])
        htk = np.flatnonzero((ids == 3) & (l1 > 0) & (l1 < 2000))
        if len(htk) == 1:
            hts.append(l1[htk[0]] / jpt[(jpt > 30) & (np.abs(jeta) < 2.5)].sum())
    r = measure_l1_response([b])
    assert r.n_total == len(ratios) == 3
    assert r.overall == pytest.approx(float(np.median(ratios)), rel=1e-5)
    np.testing.assert_allclose(np.sort(r.ht_ratio), np.sort(hts), rtol=1e-5)
    assert len(hts) == 5
    np.testing.assert_allclose(ht_ratios(b), r.ht_ratio)
    d = with_derived_l1jets(b, r)
    assert ak.all(ak.num(d.l1jets) == ak.num(b.jets))
    assert ak.all(d.l1jets.pt[:, :-1] >= d.l1jets.pt[:, 1:])


def test_saturated_l1_jet_is_kept_but_measures_no_response() -> None:
    # event 0: jet 300 GeV matched (dR 0.05) to a saturated L1 jet (l1pt 1023.5), jet 80 GeV
    # matched to l1pt 72; event 1: jet 100 matched to l1pt 90 and one to l1pt 45 (pt 50)
    b = _batch(
        [[(300.0, 0.2, 1.0), (80.0, -0.5, -1.0)], [(100.0, 0.1, 0.0), (50.0, 1.0, 2.0)]],
        [
            [(310.0, 0.25, 1.0, 1, 1023.5), (78.0, -0.5, -1.0, 1, 72.0)],
            [(98.0, 0.1, 0.0, 1, 90.0), (49.0, 1.0, 2.0, 1, 45.0)],
        ],
    )
    assert ak.to_list(match_trigobj(b)[1]) == [[False, True], [True, True]]
    assert ak.to_list(match_trigobj(b, saturated=True)[0]) == [[1023.5, 72.0], [90.0, 45.0]]
    r = measure_l1_response([b])
    assert r.n_total == 3  # 72/80, 90/100, 45/50: the saturated pair is left out
    assert r.overall == pytest.approx(0.9)
    d = with_derived_l1jets(b, r)
    assert ak.to_list(d.l1jets.pt) == [[1023.5, 72.0], [90.0, 45.0]]


def test_dimuon_saturated_l1_jet_keeps_its_recorded_pt(nano_dimuon: Path) -> None:
    """nano_dimuon.root event 14: offline jet 329.5 GeV at eta 2.407 matched to a TrigObj jet
    with l1pt 1022 (saturated; the event's L1 HTT object is saturated too, 2044). Its derived
    L1 jet keeps 1022 instead of 329.5 x response, inside the L1 HTT acceptance (|eta| < 2.5,
    towers |ieta| <= 26): the derived HTT passes L1_HTT320er, as recorded (with |eta| < 2.4, as
    the L1 HTT is often quoted, it would not)."""
    b = read_nanoaod(nano_dimuon)
    to = b.trigobj[14]
    assert sorted(ak.to_list(to.l1pt[to.id == 1])) == pytest.approx([88.0, 1022.0], abs=0.5)
    assert ak.to_list(to.l1pt[to.id == 3]) == pytest.approx([2044.0], abs=0.5)
    d = with_derived_l1jets(b, measure_l1_response([b]))
    j = d.l1jets[14]
    assert float(j.pt[0]) == pytest.approx(1022.0, abs=0.5)
    assert float(j.eta[0]) == pytest.approx(2.407, abs=1e-3)
    assert b.triggers["L1_HTT320er"][14]
    assert float(ak.sum(j.pt[(j.pt >= 30) & (abs(j.eta) <= 2.5)])) >= 320
    assert float(ak.sum(j.pt[(j.pt >= 30) & (abs(j.eta) <= 2.4)])) < 320
    from trigkit.emulator.nanoaod import compare_to_recorded
    from trigkit.emulator.schema import load_menu

    # the same event through the menu, with the response measured on the whole file
    menu = load_menu("nano_tt_v12")
    res = compare_to_recorded(menu, [b], l1_jets="derived")
    by = {p.name: p for p in res.paths}
    assert menu.l1["L1_HTT320er"].ht.jet_abs_eta == 2.5
    # recorded in events 14, 20, 22, 28, 33; derived HTT >= 320 in 14, 22, 33 (event 14 only
    # with the |eta| < 2.5 acceptance); 20 and 28 stay below (derived HTT 287 and 244)
    assert by["L1_HTT320er"].confusion.tolist() == [[35, 0], [2, 3]]
    assert np.flatnonzero(b.triggers["L1_HTT320er"]).tolist() == [14, 20, 22, 28, 33]
