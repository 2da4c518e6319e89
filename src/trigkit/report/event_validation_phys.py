"""More `events validate` rows: Xbb background rejection (QCD pT-reweighted to H->bb, g->bb and
top apart), D2 medians, photon conversions, the L1 quad-jet seed rate.

Rows only appear for samples that carry the fields they read (Pythia engine version with
``fatjets.d2`` / ``fatjets.n_b_hadrons`` / ``truth.n_conversions``); older files skip them.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from trigkit.events.batch import EventBatch
from trigkit.events.pythia.material import PATH_CAP
from trigkit.report.event_validation import (
    REF_L1,
    Row,
    _na,
    _row,
    fat_jets_weighted,
    l1_rate_khz,
    median_row,
    weighted_fraction_interval,
    weighted_rejection,
)

XBB_PT_MIN = 250.0
XBB_SIG_EFF = 0.50
PT_BINS = np.array([250.0, 300.0, 350.0, 400.0, 450.0, 500.0, 600.0, 800.0, np.inf])
REF_XBB = (
    "CMS, boosted jet identification, JINST 15 (2020) P06005, Sec. 7: cut-based mass + "
    "substructure H->bb taggers at 50 % efficiency (approximate, read off the figures)"
)
REF_D2 = (
    "ATLAS, boosted W tagging with D2 (beta = 1), EPJC 76 (2016) 154: two-prong jets near 1, "
    "QCD jets 1.5-3 (approximate, read off the figures)"
)
REF_CONV = (
    "PDG: P(conversion) = 1 - exp(-7/9 X/X0); CMS tracker material inside r = 50 cm "
    "0.15-0.35 X0 at eta = 0 (JINST 9 (2014) P10009, Fig. 1, read off)"
)
X0_RANGE = (0.15, 0.35)
MEAN_COSH_ETA1 = float(np.sinh(1.0))  # <cosh eta> for eta uniform in [-1, 1]
QUAD = (70.0, 55.0, 40.0, 35.0)


def physics_rows(batches: list[EventBatch]) -> list[Row]:
    rows: list[Row] = []
    for b in batches:
        if b.fatjets is not None and "d2" in ak.fields(b.fatjets):
            rows += d2_rows(b)
        if "n_conversions" in ak.fields(b.truth):
            rows += conversion_rows(b)
        if b.process == "qcd" and b.l1jets is not None:
            rows.append(quadjet_row(b))
    rows += xbb_rows(batches)
    return rows


def d2_rows(b: EventBatch) -> list[Row]:
    fat, w = fat_jets_weighted(b)
    hbb = (fat.label == 1, "H->bb", (0.5, 2.0))
    sel = {"hh4b": hbb, "xhh": hbb}
    sel["qcd"] = (fat.pt > XBB_PT_MIN, f"QCD (pT>{XBB_PT_MIN:g})", (1.2, 3.5))
    sel["ttbar"] = (fat.pt > 400.0, "top (pT>400)", (0.5, 3.0))
    if b.process not in sel:
        return []
    mask, name, ref = sel[b.process]
    keep = ak.to_numpy(mask)
    d2 = ak.to_numpy(fat.d2).astype(np.float64)[keep]
    return [median_row(f"{name} D2 median", b.process, d2, ref, REF_D2, w[keep])]


def conversion_fraction_range() -> tuple[float, float]:
    """Conversion probability in |eta| < 1 for the published budget range (float64)."""
    lo, hi = (1.0 - np.exp(-7.0 / 9.0 * x * MEAN_COSH_ETA1) for x in X0_RANGE)
    return _round3(lo), _round3(hi)


def _round3(x: float) -> float:
    """Three significant digits: a reference range read off a figure has no more."""
    return float(f"{x:.3g}")


def conversion_rows(b: EventBatch) -> list[Row]:
    """Conversion fraction and conversions per event, weighted by the event weights."""
    t, w = b.truth, b.weight
    n_g = ak.to_numpy(t.n_photons_central).astype(np.float64)
    k = ak.to_numpy(t.n_conversions_central).astype(np.float64)
    ref = conversion_fraction_range()
    name = "photon conversion fraction, |eta|<1, r<50 cm"
    if n_g.sum() == 0:
        return [_na(name, b.process, ref, REF_CONV, "no photons")]
    # each photon carries its event's weight: a weighted fraction on the photons' effective count
    frac = float((w * k).sum() / (w * n_g).sum())
    lo, hi = weighted_fraction_interval(frac, float((w * n_g).sum() ** 2 / (w * w * n_g).sum()))
    rows = [_row(name, b.process, frac, ref, REF_CONV, lo=lo, hi=hi)]
    per_event = float(np.average(ak.to_numpy(t.n_conversions), weights=w))
    photons = float(np.average(ak.to_numpy(t.n_photons), weights=w))
    # the sample's own photons (pT > 1 GeV, |eta| < 2.5) times the published probability range,
    # the path factor running from 1 (eta = 0) to 2.5 (the map's endcap cap)
    ev_ref = (
        _round3(photons * (1.0 - np.exp(-7.0 / 9.0 * X0_RANGE[0]))),
        _round3(photons * (1.0 - np.exp(-7.0 / 9.0 * X0_RANGE[1] * PATH_CAP))),
    )
    rows.append(_row("conversions per event (gamma pT>1)", b.process, per_event, ev_ref, REF_CONV))
    return rows


def quad_jet_pass(l1jets: ak.Array) -> np.ndarray:
    """L1_HTT280er_QuadJet_70_55_40_35_er2p5: L1 HT > 280 GeV and four L1 jets in |eta| < 2.5
    above 70, 55, 40, 35 GeV."""
    from trigkit.events.pythia.l1 import l1_ht

    central = l1jets.pt[abs(l1jets.eta) < 2.5]
    srt = ak.sort(central, axis=1, ascending=False)
    padded = ak.to_numpy(ak.fill_none(ak.pad_none(srt, 4, axis=1, clip=True), 0.0))
    ok = np.all(padded >= np.asarray(QUAD)[None, :], axis=1)
    return ok & (l1_ht(l1jets) > 280.0)


def quadjet_row(b: EventBatch) -> Row:
    rate, err = l1_rate_khz(b, quad_jet_pass(b.l1jets))
    text = "L1 HTT280er_QuadJet_70_55_40_35 rate [kHz]"
    return _row(text, b.process, rate, (1.0, 12.0), REF_L1, lo=rate - err, hi=rate + err)


def pt_reweight(sig_pt: np.ndarray, bkg_pt: np.ndarray, bkg_w: np.ndarray) -> np.ndarray:
    """Background weights times the signal/background pT density ratio in ``PT_BINS``, so the
    weighted background has the signal's pT spectrum (bins without signal get weight 0)."""
    s, _ = np.histogram(sig_pt, PT_BINS)
    bk, _ = np.histogram(bkg_pt, PT_BINS, weights=bkg_w)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bk > 0, (s / max(s.sum(), 1)) / (bk / max(bk.sum(), 1e-300)), 0.0)
    idx = np.clip(np.searchsorted(PT_BINS, bkg_pt, side="right") - 1, 0, len(ratio) - 1)
    return bkg_w * ratio[idx]


def weighted_rejection_row(
    text: str, sample: str, ref: tuple[float, float], passed: np.ndarray, w: np.ndarray
) -> Row:
    """An Xbb rejection row (:func:`weighted_rejection` with the Xbb reference)."""
    return weighted_rejection(text, sample, ref, REF_XBB, passed, w)


def _large_r(b: EventBatch) -> tuple[ak.Array, np.ndarray]:
    flat, w = fat_jets_weighted(b)
    keep = (ak.to_numpy(flat.pt) > XBB_PT_MIN) & (np.abs(ak.to_numpy(flat.eta)) < 2.4)
    return flat[keep], w[keep]


def _by_process(batches: list[EventBatch]) -> dict[str, tuple[ak.Array, np.ndarray]]:
    """Large-R jets and weights per process (one sample per process: :func:`validate` stitches
    several samples of one process into one)."""
    return {b.process: _large_r(b) for b in batches}


def xbb_rows(batches: list[EventBatch]) -> list[Row]:
    """Baseline Xbb (msd Gaussian x (1 - tau21)) at 50 % H->bb efficiency: rejection of QCD
    (no two b hadrons), g->bb (QCD jets with two b hadrons) and top jets, each pT-reweighted to
    the H->bb jets (pT > 250 GeV, |eta| < 2.4)."""
    from trigkit.emulator.scores import baseline_xbb

    by = _by_process([b for b in batches if b.fatjets is not None and len(b)])
    if "hh4b" not in by or "n_b_hadrons" not in ak.fields(by["hh4b"][0]):
        return []
    sig, _ = by["hh4b"]
    sig = sig[sig.label == 1]
    if len(sig) < 20:
        return []
    sig_pt = ak.to_numpy(sig.pt).astype(np.float64)
    cut = np.quantile(baseline_xbb(ak.Array([sig])), 1.0 - XBB_SIG_EFF)
    rows = []
    bkg = {p: by[p] for p in ("qcd", "ttbar") if p in by}
    if "qcd" in bkg and "n_b_hadrons" in ak.fields(bkg["qcd"][0]):
        nb = ak.to_numpy(bkg["qcd"][0].n_b_hadrons)
        rows.append(_xbb_row("QCD (< 2 b hadrons)", "qcd", (5.0, 50.0), bkg["qcd"], nb < 2))
        rows.append(_xbb_row("g->bb (2 b hadrons)", "qcd", (2.0, 30.0), bkg["qcd"], nb >= 2))
    if "ttbar" in bkg:
        rows.append(_xbb_row("top", "ttbar", (2.0, 30.0), bkg["ttbar"]))
    if len(bkg) == 2:  # both samples' weights are sigma x L: their union is the mixture
        fats = ak.concatenate([bkg["qcd"][0], bkg["ttbar"][0]])
        mix = (fats, np.concatenate([bkg["qcd"][1], bkg["ttbar"][1]]))
        rows.append(_xbb_row("QCD + g->bb + top", "qcd+ttbar", (4.0, 50.0), mix))
    return [_reweighted(r, sig_pt, cut) for r in rows]


def _xbb_row(
    name: str,
    sample: str,
    ref: tuple[float, float],
    fat_w: tuple[ak.Array, np.ndarray],
    sel: np.ndarray | None = None,
) -> tuple[str, str, tuple[float, float], ak.Array, np.ndarray]:
    fat, w = fat_w
    if sel is not None:
        fat, w = fat[sel], w[sel]
    return f"Xbb baseline {name} rejection @50% H->bb", sample, ref, fat, w


def _reweighted(
    spec: tuple[str, str, tuple[float, float], ak.Array, np.ndarray],
    sig_pt: np.ndarray,
    cut: float,
) -> Row:
    from trigkit.emulator.scores import baseline_xbb

    text, sample, ref, fat, w = spec
    w = pt_reweight(sig_pt, ak.to_numpy(fat.pt).astype(np.float64), w)
    score = baseline_xbb(ak.Array([fat])) if len(fat) else np.zeros(0)
    good = w > 0
    return weighted_rejection_row(text, sample, ref, (score >= cut)[good], w[good])
