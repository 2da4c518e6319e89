"""`events validate` L1 rows: the L1-track gun rows against float64 expectations of the
documented resolutions, the L1 vertex and L1 MET rows by hand, and their place in the table."""

from __future__ import annotations

from dataclasses import replace

import awkward as ak
import numpy as np
import pytest

from trigkit.events.batch import EventBatch
from trigkit.report import event_validation_l1 as v


def _rng_gun(lo: float, hi: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The gun's true pT and eta, drawn as ``event_validation_l1.gun`` draws them."""
    rng = np.random.default_rng(seed)
    n = v.GUN_EVENTS * v.GUN_PER_EVENT
    return rng.uniform(lo, hi, n), rng.uniform(-0.8, 0.8, n)


def test_track_rows_match_the_documented_resolutions() -> None:
    rows = {r.quantity: r for r in v.track_rows()}
    pt, eta = _rng_gun(2.0, 8.0, v.GUN_SEED)
    s_pt = np.hypot(0.01, 0.0006 * pt) * (1 + 0.4 * np.abs(eta))  # float64, by hand
    s_z0 = np.hypot(0.6, 1.6 / pt) * (1 + 0.4 * eta**2)
    want_pt = 100 * np.sqrt(np.mean(s_pt**2))
    got = rows["L1 track pT resolution, pT 2-8, |eta|<0.8 [%]"]
    assert got.value == pytest.approx(want_pt, rel=0.03) and got.status == "ok"
    z0 = rows["L1 track z0 resolution, pT 2-8, |eta|<0.8 [mm]"].value
    want_z0 = np.sqrt(np.mean(s_z0**2))
    assert want_z0 * 0.97 < z0 < np.hypot(want_z0, 0.4)  # plus the L1 vertex's own spread
    n = len(pt)
    eff = rows["L1 track efficiency, pT 2-8, |eta|<0.8"].value
    assert abs(eff - 0.95) < 5 * np.sqrt(0.95 * 0.05 / n)
    hpt, heta = _rng_gun(20.0, 100.0, v.GUN_SEED + 1)
    s_d0 = np.hypot(0.020, 0.200 / hpt) * (1 + 0.4 * heta**2)
    d0 = rows["L1 track d0 resolution, pT 20-100, |eta|<0.8 [um]"].value
    assert d0 == pytest.approx(1e3 * np.sqrt(np.mean(s_d0**2)), rel=0.03)


def _batch(truth: dict, weight: np.ndarray, process: str = "qcd") -> EventBatch:
    n = len(weight)
    jets = ak.Array([[]] * n)
    return EventBatch(
        jets=jets, weight=weight, truth=ak.zip(truth), process=process, lumi_pb=2.0, l1jets=jets
    )


def test_vertex_and_met_rows_by_hand() -> None:
    b = _batch(
        {
            "l1_pv_z": np.array([0.0, 1.0, 5.0, -2.0]),
            "pv_z": np.array([0.5, -1.0, 5.2, -2.1]),
            "l1_met": np.array([50.0, 120.0, 101.0, 99.0]),
        },
        np.array([1.0, 2.0, 3.0, 4.0]),
    )
    assert v.vertex_row([b]) == []  # qcd: not what the reference measures
    (vtx,) = v.vertex_row([replace(b, process="ttbar")])
    # |dz| = 0.5, 2.0, 0.2, 0.1: events 1, 3, 4 pass, counted by their weights
    assert vtx.value == pytest.approx((1.0 + 3.0 + 4.0) / 10.0) and vtx.sample == "ttbar"
    (met,) = v.met_row(b)
    assert met.value == pytest.approx((2.0 + 3.0) / 2.0 * 0.02 / 1e3)
    assert met.hi - met.value == pytest.approx(np.sqrt(4.0 + 9.0) / 2.0 * 0.02 / 1e3)
    assert v.l1_rows([b]) == [met]  # no L1 tracks: no track rows


def test_met_efficiency_row_by_hand() -> None:
    from scipy.stats import beta

    gen = np.array([250.0, 300.0, 150.0, 201.0, 500.0] * 5)
    l1 = np.array([120.0, 90.0, 130.0, 100.0, 300.0] * 5)  # above 200: pass, fail, at cut, pass
    b = _batch({"gen_met": gen, "l1_met": l1}, np.ones(len(gen)), "ttbar")
    (row,) = v.met_efficiency_row(b)
    assert row.value == 10 / 20 and row.status == "outside"
    a = (1 - 0.6827) / 2
    assert row.lo == pytest.approx(beta.ppf(a, 10, 11)) and row.hi == pytest.approx(
        beta.ppf(1 - a, 11, 10)
    )
    few = _batch({"gen_met": gen[:5], "l1_met": l1[:5]}, np.ones(5), "ttbar")
    assert v.met_efficiency_row(few)[0].status == "n/a (4 events, need 20)"
    assert v.l1_rows([b]) == [row]
    # weighted (a pT-hat-biased W+jets sample): sum(w pass) / sum(w) over gen MET > 200
    w = np.tile([1.0, 3.0, 1.0, 1.0, 1.0], 10)  # 40 events above 200 count as 30
    twice = {"gen_met": np.tile(gen, 2), "l1_met": np.tile(l1, 2)}
    (wrow,) = v.met_efficiency_row(_batch(twice, w, "wjets"))
    assert wrow.value == pytest.approx((1 + 1) / (1 + 3 + 1 + 1))
    assert wrow.lo < wrow.value < wrow.hi


def test_validate_table_has_the_l1_rows(qcd_pu) -> None:
    from trigkit.report.event_validation import validate

    names = {r.quantity for r in validate([qcd_pu])}
    assert "L1 track pT resolution, pT 2-8, |eta|<0.8 [%]" in names
    assert "L1 ETM100 rate [kHz]" in names
    assert "L1 vertex within 1.5 mm of the true PV" not in names  # no hard-scatter sample
    ttbar = {r.quantity for r in validate([replace(qcd_pu, process="ttbar")])}
    assert "L1 vertex within 1.5 mm of the true PV" in ttbar
