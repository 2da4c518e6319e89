"""Weighted signal efficiencies, rate upper limits where nothing passes, and curve under/overflow,
each against a hand computation with numpy / scipy on small synthetic inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import beta, chi2

from trigkit.emulator.result import (
    PB_TO_CM2,
    Curve,
    Efficiency,
    SampleEvents,
    build_result,
    weighted_efficiency,
)
from trigkit.emulator.stages import Decisions
from trigkit.report.json_out import result_dict
from trigkit.report.tables import efficiency_table, rate_table, sample_rate_table

CL = 0.683
A2 = (1 - CL) / 2


def _sample(
    name: str,
    hlt: np.ndarray,
    weight,
    *,
    mhh=None,
    lead_pt=None,
    ht=None,
    lumi_pb: float = 1.0,
    process: str = "hh4b",
) -> SampleEvents:
    hlt = np.asarray(hlt, bool)
    n = len(hlt)
    l1 = np.ones((n, 1), bool)
    d = Decisions(
        ("L1",), tuple("ABC"[: hlt.shape[1]]), l1, l1, hlt, l1.any(axis=1), hlt.any(axis=1)
    )
    x = np.linspace(300, 900, n)
    return SampleEvents(
        name,
        process,
        d,
        np.asarray(weight, np.float64),
        np.full(n, lumi_pb),
        x if mhh is None else np.asarray(mhh, float),
        x / 3 if lead_pt is None else np.asarray(lead_pt, float),
        x if ht is None else np.asarray(ht, float),
        np.zeros(n, np.int32),
    )


def _cp_hand(k: float, n: float) -> tuple[float, float]:
    lo = beta.ppf(A2, k, n - k + 1) if k > 0 else 0.0
    hi = beta.ppf(1 - A2, k + 1, n - k) if k < n else 1.0
    return lo, hi


# ---------------------------------------------------------------- 1. weighted efficiencies


def test_uniform_weights_give_exactly_the_counting_numbers() -> None:
    rng = np.random.default_rng(1)
    mask = rng.random(200) < 0.3
    k, n = int(mask.sum()), 200
    plain = Efficiency.of(mask, CL)
    for w in (None, np.full(n, 2.5), np.full(n, 1e-3)):
        e = Efficiency.of(mask, CL, w)
        assert (e.passed, e.total, e.value, e.low, e.high, e.weighted) == (
            plain.passed,
            plain.total,
            plain.value,
            plain.low,
            plain.high,
            False,
        )
    assert plain.value == k / n
    assert (plain.low, plain.high) == pytest.approx(_cp_hand(k, n), rel=1e-12)
    # curve: identical to the former np.histogram counting for in-range x
    x = rng.uniform(250, 1000, n)
    edges = np.arange(250.0, 1050.0, 50.0)
    c0 = Curve.of("mhh", x, mask, edges, CL)
    c1 = Curve.of("mhh", x, mask, edges, CL, np.full(n, 7.0))
    tot, _ = np.histogram(x, bins=edges)
    pas, _ = np.histogram(x[mask], bins=edges)
    for c in (c0, c1):
        assert not c.weighted
        np.testing.assert_array_equal(c.total, tot)
        np.testing.assert_array_equal(c.passed, pas)
        np.testing.assert_array_equal(c.value, np.where(tot > 0, pas / np.maximum(tot, 1), np.nan))
        lo = np.array([_cp_hand(p, t)[0] for p, t in zip(pas, tot, strict=True)])
        np.testing.assert_allclose(c.low, lo, rtol=1e-12)
    np.testing.assert_array_equal(c0.low, c1.low)
    np.testing.assert_array_equal(c0.high, c1.high)
    # through build_result: a sample with equal weights is not "weighted"
    res = build_result("m", [_sample("s", mask[:, None], np.full(n, 3.0))], [])
    assert not res.signals[0].weighted
    assert res.signals[0].efficiency["A"].value == k / n


def test_weighted_efficiency_small_hand_example() -> None:
    # w = 1, 2, 3, 4; events 0 and 2 pass: eff = 4 / 10, n_eff = 10^2 / 30, k_eff = 0.4 n_eff
    e = Efficiency.of(np.array([True, False, True, False]), CL, np.array([1.0, 2.0, 3.0, 4.0]))
    assert e.weighted and (e.passed, e.total) == (2, 4)
    assert e.value == pytest.approx(0.4, rel=1e-15)
    assert e.n_eff == pytest.approx(100 / 30, rel=1e-15)
    n_eff, k_eff = 100 / 30, 0.4 * 100 / 30
    assert e.low == pytest.approx(beta.ppf(A2, k_eff, n_eff - k_eff + 1), rel=1e-12)
    assert e.high == pytest.approx(beta.ppf(1 - A2, k_eff + 1, n_eff - k_eff), rel=1e-12)
    assert e.low < e.value < e.high


def test_weighted_efficiency_and_curves_vs_numpy() -> None:
    rng = np.random.default_rng(7)
    n = 400
    w = rng.lognormal(0.0, 0.8, n)  # e.g. reweighted HH
    mhh = rng.uniform(200, 1200, n)  # under- and overflow of the default 250..1000 binning
    hlt = np.column_stack([rng.random(n) < 0.2 + 0.6 * (mhh > 600), rng.random(n) < 0.1])
    res = build_result("m", [_sample("s", hlt, w, mhh=mhh)], [])
    s = res.signals[0]
    assert s.weighted
    for name, m in (("A", hlt[:, 0]), ("B", hlt[:, 1]), ("OR", hlt.any(axis=1))):
        e = s.efficiency[name]
        eff = w[m].sum() / w.sum()
        n_eff = w.sum() ** 2 / (w**2).sum()
        assert (e.passed, e.total) == (m.sum(), n)
        assert e.value == pytest.approx(eff, rel=1e-12)
        assert (e.low, e.high) == pytest.approx(_cp_hand(eff * n_eff, n_eff), rel=1e-10)
        # per bin: np.histogram with weights, with under/overflow clipped into the end bins
        c = s.curves["mhh"][name]
        xc = np.clip(mhh, c.edges[0], c.edges[-1])
        sw, _ = np.histogram(xc, bins=c.edges, weights=w)
        swp, _ = np.histogram(xc[m], bins=c.edges, weights=w[m])
        sw2, _ = np.histogram(xc, bins=c.edges, weights=w**2)
        np.testing.assert_allclose(c.value, swp / sw, rtol=1e-12)
        np.testing.assert_allclose(c.n_eff, sw**2 / sw2, rtol=1e-12)
        lo_hi = np.array(
            [_cp_hand(v * ne, ne) for v, ne in zip(swp / sw, sw**2 / sw2, strict=True)]
        )
        np.testing.assert_allclose(c.low, lo_hi[:, 0], rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(c.high, lo_hi[:, 1], rtol=1e-9)
    t = efficiency_table(res)
    assert "weighted" in t.headers[1] and "effective counts" in t.title
    d = json.loads(json.dumps(result_dict(res), allow_nan=False))
    assert d["signal"][0]["weighted"] is True
    assert d["signal"][0]["efficiency"]["OR"]["value"] == pytest.approx(s.efficiency["OR"].value)
    assert d["signal"][0]["efficiency"]["OR"]["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum())


def test_negative_weights_documented_behaviour() -> None:
    # sum w > 0: plain ratio, k_eff clipped into [0, n_eff]
    v, lo, hi, n_eff = weighted_efficiency(
        4.0, 5.0, 30.0, CL
    )  # a ratio above 1 (negative failing weights)
    assert v == pytest.approx(1.25) and n_eff == pytest.approx(16 / 30)
    assert hi == 1.0 and lo == pytest.approx(beta.ppf(A2, 16 / 30, 1.0), rel=1e-12)
    e = Efficiency.of(np.array([True, True, False]), CL, np.array([2.0, -1.0, 3.0]))
    assert e.value == pytest.approx(1 / 4) and e.n_eff == pytest.approx(16 / 14)
    # sum w <= 0: no efficiency
    v, lo, hi, n_eff = weighted_efficiency(-1.0, 1.0, 3.0, CL)
    assert np.isnan(v) and np.isnan(lo) and np.isnan(hi) and n_eff == 0


# -------------------------------------------------------------- 2. upper limit where nothing passes


def test_rate_upper_limit_when_no_event_passes() -> None:
    ul95 = 0.5 * chi2.ppf(0.95, 2)  # Poisson upper limit on the mean for 0 observed, 95 % CL
    assert ul95 == pytest.approx(2.995732273553991, rel=1e-12)
    # qcd: A passes events 0, 1; B passes event 2; C never
    hq = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], bool)
    wq = np.array([1.0, 2.0, 3.0, 6.0])  # mean 3
    # tt: nothing passes at all; mean weight 10 (per lumi 2 pb^-1 -> 5)
    ht = np.zeros((3, 3), bool)
    wt = np.array([5.0, 10.0, 15.0])
    sig = _sample("s", hq, np.ones(4))
    qcd = _sample("qcd", hq, wq, lumi_pb=0.5, process="qcd")
    tt = _sample("tt", ht, wt, lumi_pb=2.0, process="ttbar")
    L = 2e34
    res = build_result("m", [sig], [qcd, tt], inst_lumi=L)
    hz_q, hz_t = L * PB_TO_CM2 / 0.5, L * PB_TO_CM2 / 2.0
    assert np.isnan(res.rates["A"].upper_hz) and np.isnan(res.rates["OR"].upper_hz)
    c = res.rates["C"]
    assert (c.rate_hz, c.error_hz) == (0.0, 0.0)  # central value kept
    # largest mean per-event rate weight among the samples: qcd 3 x hz_q vs tt 10 x hz_t
    unit = max(wq.mean() * hz_q, wt.mean() * hz_t)
    assert unit == wq.mean() * hz_q
    assert c.upper_hz == pytest.approx(ul95 * unit, rel=1e-12)
    # per sample: each its own mean
    assert res.sample_rates["tt"]["A"].upper_hz == pytest.approx(ul95 * wt.mean() * hz_t, rel=1e-12)
    assert res.sample_rates["tt"]["OR"].rate_hz == 0.0
    assert np.isnan(res.sample_rates["qcd"]["A"].upper_hz)
    assert res.sample_rates["qcd"]["C"].upper_hz == pytest.approx(
        ul95 * wq.mean() * hz_q, rel=1e-12
    )
    # table: "< x" instead of "0 +- 0"
    rows = {r[0]: r for r in rate_table(res).rows}
    assert rows["C"][1] == f"< {ul95 * unit:.3g}" and rows["C"][2] == "-"
    assert not rows["A"][1].startswith("<")
    srows = {r[0]: r for r in sample_rate_table(res).rows}
    assert srows["A"][2].startswith("< ") and "±" in srows["A"][1]
    assert "upper limit" in rate_table(res).title
    # JSON: central 0 and the limit side by side; null where events passed
    d = json.loads(json.dumps(result_dict(res), allow_nan=False))
    assert d["rates_hz"]["C"]["rate"] == 0.0
    assert d["rates_hz"]["C"]["upper_limit"] == pytest.approx(ul95 * unit)
    assert d["rates_hz"]["C"]["upper_limit_cl"] == 0.95
    assert d["rates_hz"]["A"]["upper_limit"] is None
    assert d["rates_by_sample_hz"]["tt"]["OR"]["upper_limit"] == pytest.approx(
        ul95 * wt.mean() * hz_t
    )


# ---------------------------------------------------------------- 3. under/overflow


def test_curve_folds_underflow_and_overflow() -> None:
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    x = np.array([-5.0, 0.0, 9.9, 10.0, 25.0, 30.0, 30.1, 1e9, np.nan, np.inf])
    m = np.array([1, 0, 1, 1, 0, 1, 1, 0, 1, 1], bool)
    c = Curve.of("ht", x, m, edges, CL)
    # by hand: bin0 = {-5 (under), 0, 9.9}; bin1 = {10}; bin2 = {25, 30, 30.1 (over), 1e9 (over)}
    np.testing.assert_array_equal(c.total, [3, 1, 4])
    np.testing.assert_array_equal(c.passed, [2, 1, 2])
    assert (c.underflow, c.overflow, c.nonfinite) == (1, 2, 2)
    assert c.total.sum() + c.nonfinite == len(x)


def test_every_event_is_in_the_curves_and_json() -> None:
    rng = np.random.default_rng(3)
    n = 500
    mhh = rng.uniform(100, 2000, n)
    mhh[:7] = np.nan
    lead = rng.exponential(200, n)  # well beyond 400
    ht = rng.exponential(600, n)  # beyond 1000
    hlt = np.column_stack([rng.random(n) < 0.5, rng.random(n) < 0.3])
    for w in (np.ones(n), rng.uniform(0.5, 2, n)):
        res = build_result("m", [_sample("s", hlt, w, mhh=mhh, lead_pt=lead, ht=ht)], [])
        s = res.signals[0]
        d = json.loads(json.dumps(result_dict(res), allow_nan=False))["signal"][0]
        for var, x in (("mhh", mhh), ("lead_pt", lead), ("ht", ht)):
            for p, c in s.curves[var].items():
                m = hlt.any(axis=1) if p == "OR" else hlt[:, "AB".index(p)]
                assert c.total.sum() + c.nonfinite == n
                assert c.passed.sum() == np.count_nonzero(m & np.isfinite(x))
                assert c.overflow == np.count_nonzero(x > c.edges[-1]) > 0
                assert c.underflow == np.count_nonzero(x < c.edges[0])
                if c.weighted:
                    assert c.sum_w.sum() == pytest.approx(w[np.isfinite(x)].sum(), rel=1e-12)
                    assert c.sum_w_passed.sum() == pytest.approx(
                        w[m & np.isfinite(x)].sum(), rel=1e-12
                    )
                j = d["curves"][var][p]
                assert sum(j["total"]) + j["nonfinite"] == n
                assert j["overflow_in_last_bin"] == c.overflow
        assert s.curves["mhh"]["OR"].nonfinite == 7
