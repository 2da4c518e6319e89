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
    # event 0: HT = 100 + 40 (both pt > 30, |eta| < 2.4), L1 HTT 100
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
            hts.append(l1[htk[0]] / jpt[(jpt > 30) & (np.abs(jeta) < 2.4)].sum())
    r = measure_l1_response([b])
    assert r.n_total == len(ratios) == 3
    assert r.overall == pytest.approx(float(np.median(ratios)), rel=1e-5)
    np.testing.assert_allclose(np.sort(r.ht_ratio), np.sort(hts), rtol=1e-5)
    assert len(hts) == 5
    np.testing.assert_allclose(ht_ratios(b), r.ht_ratio)
    d = with_derived_l1jets(b, r)
    assert ak.all(ak.num(d.l1jets) == ak.num(b.jets))
    assert ak.all(d.l1jets.pt[:, :-1] >= d.l1jets.pt[:, 1:])
