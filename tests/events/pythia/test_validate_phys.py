"""The newer `events validate` rows (Xbb, D2, conversions, quad-jet) against direct
recomputation: hand counts on the Pythia fixtures and float64 formulas on synthetic jets."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from scipy.stats import beta

from trigkit.events.batch import EventBatch
from trigkit.report import event_validation_phys as vp
from trigkit.report.event_validation import LUMI_2E34_PB_PER_S, MIN_BKG_PASS, MIN_MEDIAN_JETS


def test_d2_row_is_the_median_of_hbb_jets(hh4b) -> None:
    (row,) = vp.d2_rows(hh4b)
    fat = [f for ev in hh4b.fatjets.tolist() for f in ev if f["label"] == 1]
    assert len(fat) >= MIN_MEDIAN_JETS  # else the row is n/a
    assert row.value == pytest.approx(np.median([f["d2"] for f in fat]), rel=1e-6)
    assert row.quantity == "H->bb D2 median" and "EPJC 76 (2016) 154" in row.reference


def test_conversion_rows_from_the_truth_counts(qcd_pu) -> None:
    """Weighted by the event weights (QCD is pT-hat biased): photons carry their event's
    weight; the interval is Clopper-Pearson on the photons' effective count."""
    rows = vp.conversion_rows(qcd_pu)
    t = qcd_pu.truth.tolist()
    w = list(qcd_pu.weight)
    n_g = sum(wi * e["n_photons_central"] for wi, e in zip(w, t, strict=True))
    k = sum(wi * e["n_conversions_central"] for wi, e in zip(w, t, strict=True))
    n_eff = n_g**2 / sum(wi * wi * e["n_photons_central"] for wi, e in zip(w, t, strict=True))
    assert n_eff > 100 and 0 < k < n_g
    frac = rows[0]
    assert frac.value == pytest.approx(k / n_g)
    assert frac.lo == pytest.approx(beta.ppf(0.16, k / n_g * n_eff, n_eff - k / n_g * n_eff + 1))
    assert frac.hi == pytest.approx(beta.ppf(0.84, k / n_g * n_eff + 1, n_eff - k / n_g * n_eff))
    per_event = sum(wi * e["n_conversions"] for wi, e in zip(w, t, strict=True)) / sum(w)
    assert rows[1].value == pytest.approx(per_event)
    photons = sum(wi * e["n_photons"] for wi, e in zip(w, t, strict=True)) / sum(w)
    assert rows[1].ref_lo == pytest.approx(photons * (1 - np.exp(-7 / 9 * 0.15)), rel=5e-3)
    assert rows[1].ref_hi == pytest.approx(photons * (1 - np.exp(-7 / 9 * 0.35 * 2.5)), rel=5e-3)
    # the published-budget range: <cosh eta> over |eta| < 1 by quadrature
    mean_cosh = np.trapezoid(np.cosh(x := np.linspace(-1, 1, 100_001)), x) / 2.0
    lo, hi = (1 - np.exp(-7 / 9 * x0 * mean_cosh) for x0 in (0.15, 0.35))
    assert (frac.ref_lo, frac.ref_hi) == pytest.approx((lo, hi), rel=5e-3)  # 3 digits


def test_quad_jet_seed_hand_count(qcd_pu) -> None:
    passed = vp.quad_jet_pass(qcd_pu.l1jets)
    hand = []
    for ev in qcd_pu.l1jets.tolist():
        central = sorted((j["pt"] for j in ev if abs(j["eta"]) < 2.5), reverse=True)
        ht = sum(j["pt"] for j in ev if j["pt"] > 30 and abs(j["eta"]) < 2.5)
        quad = len(central) >= 4 and all(
            c >= t for c, t in zip(central, (70, 55, 40, 35), strict=False)
        )
        hand.append(quad and ht > 280)
    assert passed.tolist() == hand
    row = vp.quadjet_row(qcd_pu)
    w = qcd_pu.weight[np.asarray(hand)]
    assert row.value == pytest.approx(w.sum() / qcd_pu.lumi_pb * LUMI_2E34_PB_PER_S / 1e3)


def test_pt_reweighting_gives_the_signal_spectrum() -> None:
    rng = np.random.default_rng(1)
    sig = rng.uniform(250, 700, 3000)
    bkg = 250 + rng.exponential(150, 20_000)
    w = rng.uniform(0.5, 2.0, len(bkg))
    rw = vp.pt_reweight(sig, bkg, w)
    s, _ = np.histogram(sig, vp.PT_BINS)
    b, _ = np.histogram(bkg, vp.PT_BINS, weights=rw)
    np.testing.assert_allclose(b / b.sum(), s / s.sum(), rtol=1e-9)


def test_weighted_rejection_with_unit_weights_is_the_counting_one() -> None:
    passed = np.zeros(10_000, bool)
    passed[:400] = True
    from scipy.stats import beta

    r = vp.weighted_rejection_row("x", "s", (8, 150), passed, np.ones(len(passed)))
    ref = (25.0, 1 / beta.ppf(0.84, 401, 9_600), 1 / beta.ppf(0.16, 400, 9_601))
    assert (r.value, r.lo, r.hi) == pytest.approx(ref, rel=1e-9)
    few = vp.weighted_rejection_row("x", "s", (8, 150), passed[:5000] & False, np.ones(5000))
    assert few.status.startswith("n/a")


def _fat_batch(process: str, fat: dict[str, np.ndarray], weight: np.ndarray) -> EventBatch:
    n = len(weight)
    per = len(fat["pt"]) // n
    fj = ak.unflatten(ak.zip(fat), np.full(n, per))
    jets = ak.unflatten(ak.zip({"pt": np.zeros(0, np.float32)}), np.zeros(n, np.int64))
    truth = ak.zip({"mhh": np.full(n, np.nan)})
    return EventBatch(jets=jets, weight=weight, truth=truth, fatjets=fj, process=process)


def _xbb(msd: np.ndarray, tau21: np.ndarray) -> np.ndarray:
    return np.clip(np.exp(-0.5 * ((msd - 125.0) / 20.0) ** 2) * (1.0 - tau21), 0.0, 1.0)


def test_xbb_rows_hand_computation() -> None:
    rng = np.random.default_rng(3)
    n_s, n_b = 400, 4000

    def fat(n: int, msd_mu: float, label: int, nb: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "pt": rng.uniform(260, 800, n).astype(np.float32),
            "eta": rng.uniform(-2, 2, n).astype(np.float32),
            "msd": rng.normal(msd_mu, 30, n).astype(np.float32),
            "tau21": rng.uniform(0.1, 0.9, n).astype(np.float32),
            "label": np.full(n, label, np.int8),
            "n_b_hadrons": nb.astype(np.int8),
        }

    sig = fat(n_s, 125.0, 1, np.full(n_s, 2))
    nb = rng.choice([0, 2], n_b, p=[0.9, 0.1])
    bkg = fat(n_b, 70.0, 0, nb)
    w = rng.uniform(1, 3, n_b)
    rows = vp.xbb_rows([_fat_batch("hh4b", sig, np.ones(n_s)), _fat_batch("qcd", bkg, w)])
    assert [r.quantity for r in rows] == [
        "Xbb baseline QCD (< 2 b hadrons) rejection @50% H->bb",
        "Xbb baseline g->bb (2 b hadrons) rejection @50% H->bb",
    ]
    cut = np.quantile(_xbb(sig["msd"].astype(np.float64), sig["tau21"].astype(np.float64)), 0.5)
    score = _xbb(bkg["msd"].astype(np.float64), bkg["tau21"].astype(np.float64))
    for row, sel in zip(rows, (nb < 2, nb >= 2), strict=True):
        rw = vp.pt_reweight(sig["pt"].astype(np.float64), bkg["pt"][sel].astype(np.float64), w[sel])
        expect = rw.sum() / rw[score[sel] >= cut].sum()
        if row.status.startswith("n/a"):
            assert (score[sel] >= cut).sum() < MIN_BKG_PASS
        else:
            assert row.value == pytest.approx(expect, rel=1e-5)
            assert row.lo < row.value < row.hi


def test_two_samples_of_one_process_are_stitched_with_halved_weights() -> None:
    """validate() stitches samples of one process (trigkit.events.stitch): two equal samples
    without pT-hat each keep half their weight."""
    from trigkit.events.stitch import stitch

    rng = np.random.default_rng(6)
    n = 200
    sig = {
        "pt": rng.uniform(260, 800, n).astype(np.float32),
        "eta": np.zeros(n, np.float32),
        "msd": rng.normal(125, 15, n).astype(np.float32),
        "tau21": rng.uniform(0.1, 0.5, n).astype(np.float32),
        "label": np.ones(n, np.int8),
        "n_b_hadrons": np.full(n, 2, np.int8),
    }
    a = _fat_batch("hh4b", sig, np.full(n, 2.0))
    pooled = vp._by_process([stitch([a, a])])["hh4b"]
    assert len(pooled[0]) == 2 * n and np.allclose(pooled[1], 1.0)


def test_files_without_the_new_fields_get_no_new_rows() -> None:
    """Toy-generator (or older-engine) samples lack d2, n_b_hadrons and the tracking counters:
    the new rows are skipped, nothing fails."""
    from trigkit.events.generator import generate

    toy = [generate("hh4b", 30, seed=1), generate("qcd", 30, seed=2)]
    assert vp.physics_rows(toy) == []
