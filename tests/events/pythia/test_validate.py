"""`events validate` rows against direct recomputation from the sample."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest

from trigkit.report.event_validation import (
    MIN_BKG_PASS,
    MIN_MEDIAN_JETS,
    l1_rate_khz,
    validate,
    weighted_rejection,
)


def _rows(hh4b, qcd_pu):
    return {(r.quantity, r.sample): r for r in validate([hh4b, qcd_pu])}


def test_mhh_and_msd_rows_match_the_sample(hh4b, qcd_pu) -> None:
    rows = _rows(hh4b, qcd_pu)
    m = ak.to_numpy(hh4b.truth.mhh)
    assert rows[("mHH min [GeV]", "hh4b")].value == pytest.approx(m.min())
    assert rows[("mHH median [GeV]", "hh4b")].value == pytest.approx(np.median(m))
    assert rows[("mHH min [GeV]", "hh4b")].status == "ok"
    fat = ak.flatten(hh4b.fatjets)
    msd = ak.to_numpy(fat.msd[fat.label == 1])
    row = rows[("H->bb msd median [GeV]", "hh4b")]
    assert len(msd) >= MIN_MEDIAN_JETS  # else the row is n/a
    assert row.value == pytest.approx(np.median(msd))
    assert row.lo <= row.value <= row.hi and {row.lo, row.hi} <= set(msd.tolist())
    assert all(r.reference for r in rows.values())


def test_track_rows_hand_count(hh4b, qcd_pu) -> None:
    rows = _rows(hh4b, qcd_pu)
    n_b = n_pass = 0
    for ev in hh4b.jets.tolist():
        for j in ev:
            if (
                j["pt"] > 30
                and abs(j["eta"]) < 2.4
                and not j["is_pileup"]
                and j["hadron_flavour"] == 5
            ):
                n_b += 1
                n_pass += sum(t["d0_sig"] > 3 for t in j["tracks"]) >= 2
    assert rows[("b jets with 2 tracks S(d0)>3", "hh4b")].value == pytest.approx(n_pass / n_b)


def test_track_rows_are_weighted_by_the_event_weights(qcd_pu) -> None:
    """QCD is pT-hat biased: the light-jet S(d0) fraction is sum(w pass) / sum(w), by hand."""
    rows = _rows(qcd_pu, qcd_pu)
    num = den = 0.0
    for w, ev in zip(qcd_pu.weight, qcd_pu.jets.tolist(), strict=True):
        for j in ev:
            if j["pt"] > 30 and abs(j["eta"]) < 2.4 and not j["is_pileup"]:
                if j["hadron_flavour"] == 0:
                    den += w
                    num += w * (sum(t["d0_sig"] > 3 for t in j["tracks"]) >= 2)
    row = rows[("light jets with 2 tracks S(d0)>3", "qcd")]
    assert row.value == pytest.approx(num / den)
    assert row.lo < row.value < row.hi  # the interval on the effective count
    assert np.ptp(qcd_pu.weight) > 0  # the weights differ, so weighting is tested


def test_weighted_fraction_interval_is_clopper_pearson_on_unit_weights() -> None:
    from scipy.stats import beta

    from trigkit.report.event_validation import weighted_fraction_interval

    lo, hi = weighted_fraction_interval(30 / 200, 200.0)  # 30 of 200 unweighted jets
    assert lo == pytest.approx(beta.ppf(0.16, 30, 171)) and hi == pytest.approx(
        beta.ppf(0.84, 31, 170)
    )
    assert weighted_fraction_interval(0.0, 50.0)[0] == 0.0


def test_rates_from_weights(qcd_pu) -> None:
    from trigkit.events.pythia.l1 import l1_ht

    rows = _rows(qcd_pu, qcd_pu)
    passed = l1_ht(qcd_pu.l1jets) > 280
    by_hand = sum(w for w, p in zip(qcd_pu.weight, passed, strict=True) if p) / qcd_pu.lumi_pb
    rate = rows[("L1 HTT280er rate [kHz]", "qcd")].value
    assert rate == pytest.approx(by_hand * 2e34 * 1e-36 / 1e3)
    assert l1_rate_khz(qcd_pu, passed)[0] == pytest.approx(rate)


def test_rejection_needs_enough_background_and_has_an_interval() -> None:
    from scipy.stats import beta

    ones = np.ones(10_000)
    passed = np.arange(10_000) < 400
    few = weighted_rejection(
        "x", "all", (8, 150), "ref", np.arange(10_000) < MIN_BKG_PASS - 1, ones
    )
    assert few.status.startswith("n/a") and np.isnan(few.value)
    r = weighted_rejection("x", "all", (8, 150), "ref", passed, ones)
    assert r.value == pytest.approx(25.0) and r.status == "ok"
    # unit weights: the Clopper-Pearson interval of 400 of 10 000, about +-5 % (sqrt(400) = 20)
    assert r.lo == pytest.approx(1 / beta.ppf(0.84, 401, 9_600))
    assert r.hi == pytest.approx(1 / beta.ppf(0.16, 400, 9_601))
    assert r.hi / r.lo == pytest.approx(1.105, abs=0.01)


def test_cli_validate_writes_table_json_plots(hh4b, tmp_path, capsys) -> None:
    from trigkit.cli.app import main
    from trigkit.events.parquet_io import write_parquet

    write_parquet([hh4b], tmp_path / "hh.parquet")
    argv = ["events", "validate", str(tmp_path / "hh.parquet"), "--json", str(tmp_path / "v.json")]
    assert main([*argv, "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    assert "mHH median" in out and "arXiv:1910.00012" in out
    rows = json.loads((tmp_path / "v.json").read_text())
    assert {r["quantity"] for r in rows} >= {"mHH min [GeV]", "IP3D light rejection @70% b"}
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "fatjet_msd.png",
        "ip_significance.png",
        "mhh.png",
    ]


@pytest.mark.parametrize("n", [5, 12, 30, 101, 1000])
def test_median_interval_is_the_shortest_symmetric_68_percent_one(n: int) -> None:
    from math import comb

    from trigkit.report.event_validation import median_interval

    def coverage(lo: int, hi: int) -> float:  # P(lo + 1 <= values below the median <= hi)
        return sum(comb(n, k) for k in range(lo + 1, hi + 1)) / 2**n

    lo, hi = median_interval(n)
    assert lo + hi == n - 1
    assert coverage(lo, hi) >= 0.6827 or (lo, hi) == (0, n - 1)
    if lo + 1 < hi - 1:
        assert coverage(lo + 1, hi - 1) < 0.6827


def test_weighted_median_row_by_hand() -> None:
    from trigkit.report.event_validation import median_row, n_effective

    x = np.arange(1.0, 41.0)  # 40 jets
    w = np.where(x > 30, 3.0, 1.0)  # the 10 highest weigh 3x: cumulative weight 30 of 60 at 30
    row = median_row("m", "qcd", x, (0.0, 100.0), "ref", w)
    assert row.value == 30.0
    assert n_effective(w) == pytest.approx(60.0**2 / (30 + 90))  # 30 effective jets
    assert row.lo < 30.0 < row.hi
    same = median_row("m", "qcd", x, (0.0, 100.0), "ref", np.full(40, 2.0))
    plain = median_row("m", "qcd", x, (0.0, 100.0), "ref")
    assert (
        (same.value, same.lo, same.hi)
        == (plain.value, plain.lo, plain.hi)
        == (20.5, same.lo, same.hi)
    )
    few = median_row("m", "qcd", x[:25], (0.0, 100.0), "ref", np.r_[np.ones(24), 40.0])
    assert few.status.startswith("n/a (25 jets count as")


def test_qcd_tau21_median_is_weighted(qcd_pu) -> None:
    """The QCD row reads the event weights: its effective count (here below 20, so n/a, said
    with the count) and the weighted median of the same jets, both by hand."""
    from trigkit.report.event_validation import weighted_quantiles

    rows = {(r.quantity, r.sample): r for r in validate([qcd_pu])}
    fat = ak.flatten(qcd_pu.fatjets)
    w = ak.to_numpy(ak.flatten(ak.broadcast_arrays(qcd_pu.weight, qcd_pu.fatjets.pt)[0]))
    n_eff = w.sum() ** 2 / (w * w).sum()
    row = rows[("QCD large-R tau21 median", "qcd")]
    if n_eff < 20:
        assert row.status == f"n/a ({len(w)} jets count as {n_eff:.0f}, need 20)"
    else:
        assert row.lo <= row.value <= row.hi
    t = ak.to_numpy(fat.tau21).astype(np.float64)
    order = np.argsort(t, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    by_hand = t[order][np.argmax(cum >= 0.5)]
    assert weighted_quantiles(t, w, (0.5,))[0] == pytest.approx(by_hand)
    assert by_hand != pytest.approx(np.median(t))  # the weights matter on this sample
