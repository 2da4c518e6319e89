"""Prescales, Clopper-Pearson, rates, pure/unique rates and overlaps against independent math."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta

from tests.emulator.conftest import make_batch
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.pipeline import run_batches
from trigkit.emulator.result import PB_TO_CM2, build_result, clopper_pearson
from trigkit.emulator.schema import parse_menu
from trigkit.emulator.stages import apply_stages, prescale_mask


def test_prescale_counter() -> None:
    c = np.array([1, 0, 1, 1, 0, 1, 1, 1], bool)
    assert prescale_mask(c, 1).tolist() == c.tolist()
    assert prescale_mask(c, 2).astype(int).tolist() == [1, 0, 0, 1, 0, 0, 1, 0]
    assert prescale_mask(c, 3).astype(int).tolist() == [1, 0, 0, 0, 0, 1, 0, 0]
    assert not prescale_mask(c, 0).any()
    # chunking does not matter: prescales are applied to the concatenated decisions
    assert prescale_mask(c, 2).sum() == 3


def test_stages_l1_prescale_feeds_hlt() -> None:
    menu = parse_menu("""
name: p
l1:
  A: {ht: {min: 10}, prescale: 2}
  B: {ht: {min: 1000}}
hlt:
  H: {seeds: [A], ht: {min: 10}, prescale: 2}
  U: {ht: {min: 10}}
""")
    cm = compile_menu(menu)
    raw = np.zeros((6, 4), bool)
    raw[:, 0] = True  # A fires raw everywhere
    raw[:, 2] = [1, 1, 1, 0, 1, 1]  # H filters (and raw seed)
    raw[:, 3] = True
    d = apply_stages(cm, raw)
    assert d.l1[:, 0].astype(int).tolist() == [1, 0, 1, 0, 1, 0]
    # H's prescaler counts the L1-accepted events 0, 2, 4 and keeps the 1st and 3rd
    assert d.hlt[:, 0].astype(int).tolist() == [1, 0, 0, 0, 1, 0]
    # the unseeded U runs on every L1-accepted event (A after its prescale; B never fires)
    assert d.hlt[:, 1].astype(int).tolist() == [1, 0, 1, 0, 1, 0]
    assert d.hlt_accept.tolist() == d.l1_accept.tolist()


def test_unseeded_path_only_sees_l1_accepted_events() -> None:
    """The HLT never sees an L1-rejected event: an unseeded path passes at most the L1 OR, and
    its prescaler counts L1-accepted events only."""
    menu = parse_menu("""
name: u
l1:
  A: {ht: {min: 100}}
  B: {jets: {pt: [200]}}
hlt:
  U: {seeds: [], ht: {min: 10}, prescale: 2}
  V: {seeds: [], ht: {min: 10}}
""")
    cm = compile_menu(menu)
    raw = np.zeros((6, 4), bool)
    raw[:, 0] = [1, 0, 0, 1, 0, 1]  # A
    raw[:, 1] = [0, 0, 1, 1, 0, 0]  # B
    raw[:, 2] = True  # U's filters pass everywhere (raw bits of unseeded paths carry no L1 part)
    raw[:, 3] = [1, 1, 1, 0, 1, 1]
    d = apply_stages(cm, raw)
    assert d.l1_accept.astype(int).tolist() == [1, 0, 1, 1, 0, 1]
    # U's prescaler counts the L1-accepted events 0, 2, 3, 5 and keeps the 1st and 3rd
    assert d.hlt[:, 0].astype(int).tolist() == [1, 0, 0, 1, 0, 0]
    assert d.hlt[:, 1].astype(int).tolist() == [1, 0, 1, 0, 0, 1]
    assert not (d.hlt_accept & ~d.l1_accept).any()


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (57, 200), (1, 1)])
def test_clopper_pearson_matches_beta_quantiles(k: int, n: int) -> None:
    lo, hi = clopper_pearson(k, n, 0.95)
    exp_lo = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
    exp_hi = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
    assert float(lo) == pytest.approx(exp_lo, abs=1e-12) and float(hi) == pytest.approx(
        exp_hi, abs=1e-12
    )


def test_clopper_pearson_known_values() -> None:
    # 0 of 10: upper limit 1 - 0.025^(1/10); 10 of 10: lower limit 0.025^(1/10)
    _, hi = clopper_pearson(0, 10, 0.95)
    lo, _ = clopper_pearson(10, 10, 0.95)
    assert float(hi) == pytest.approx(1 - 0.025**0.1, rel=1e-9)
    assert float(lo) == pytest.approx(0.025**0.1, rel=1e-9)
    # textbook: 5 of 10 at 95%: [0.187086, 0.812914]
    lo, hi = clopper_pearson(5, 10, 0.95)
    assert (float(lo), float(hi)) == pytest.approx((0.187086, 0.812914), abs=1e-6)
    assert np.isnan(clopper_pearson(0, 0)[0])


MENU = parse_menu("""
name: r
l1:
  L1: {ht: {min: 50}}
hlt:
  A: {seeds: [L1], ht: {min: 100}}
  B: {seeds: [L1], jets: {pt: [80]}}
  C: {seeds: [L1], jets: {pt: [60, 60]}}
""")


def _ev(*pts):
    return [{"pt": float(p), "eta": 0.0} for p in pts]


def test_rates_pure_shared_overlap_vs_hand_sums() -> None:
    jets = [_ev(90, 20), _ev(70, 65), _ev(60), _ev(120), _ev(40, 35), _ev()]
    # HT(>=30): 90, 135, 60, 120, 75, 0 -> L1: 1 1 1 1 1 0
    # A (HT>=100): 0 1 0 1 0 0 ; B (>=80): 1 0 0 1 0 0 ; C (2x60): 0 1 0 0 0 0
    w = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    bkg = make_batch(jets, weight=w, lumi_pb=0.5, process="qcd")
    sig = make_batch(jets, mhh=[300, 300, 500, 500, 700, 700], process="hh4b")
    samples = run_batches(MENU, {"sig": sig, "bkg": bkg})
    res = build_result("r", samples[:1], samples[1:], inst_lumi=1e34, cl=0.683)
    hz = 1e34 * PB_TO_CM2 / 0.5  # Hz per unit weight
    assert res.rates["A"].rate_hz == pytest.approx((2 + 8) * hz)
    assert res.rates["A"].error_hz == pytest.approx(np.sqrt(4 + 64) * hz)
    assert res.rates["B"].rate_hz == pytest.approx((1 + 8) * hz)
    assert res.rates["OR"].rate_hz == pytest.approx((1 + 2 + 8) * hz)
    assert res.rates["L1"].rate_hz == pytest.approx((1 + 2 + 4 + 8 + 16) * hz)
    assert res.rates["B"].pure_hz == pytest.approx(1 * hz)
    assert res.rates["C"].pure_hz == 0.0  # event 1 also fires A
    assert res.rates["A"].shared_hz == pytest.approx((2 / 2 + 8 / 2) * hz)
    assert sum(res.rates[p].shared_hz for p in "ABC") == pytest.approx(res.rates["OR"].rate_hz)
    # unique rate = OR - OR without the path, computed independently
    d = samples[1].decisions.hlt
    for i, p in enumerate("ABC"):
        others = np.delete(d, i, axis=1).any(axis=1)
        assert res.rates[p].pure_hz == pytest.approx((w * hz)[d.any(axis=1) & ~others].sum())
    assert res.overlap[0].tolist() == pytest.approx([1.0, 8 / 10, 2 / 10])
    # signal efficiency and the mhh curve
    eff = res.signals[0].efficiency
    assert (eff["A"].passed, eff["A"].total) == (2, 6)
    assert (eff["OR"].passed, eff["L1 OR"].passed) == (3, 5)
    curve = res.signals[0].curves["mhh"]["OR"]
    i300 = np.searchsorted(curve.edges, 300, side="right") - 1
    assert (curve.passed[i300], curve.total[i300]) == (2, 2)
