"""Physics shapes of the generated samples, checked against float64 numpy references."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from tests.events.generator_samples import sample
from trigkit.events.generator import generate, get_process, sample_weights
from trigkit.events.generator.constants import ETA_TRACKER, M_H
from trigkit.events.generator.qcd import PTHAT_EDGES, PTHAT_SIGMA_PB


def second_track_sig(batch, flavour: int) -> np.ndarray:
    jets = batch.jets
    sel = (ak.num(jets.tracks, axis=2) >= 2) & ~jets.is_pileup & (jets.hadron_flavour == flavour)
    return ak.to_numpy(ak.flatten(jets.tracks.d0_sig[sel][:, :, 1]))


def test_mhh_threshold_and_peak():
    batch = sample("hh4b", 20000)
    mhh = ak.to_numpy(batch.truth.mhh).astype(np.float64)
    assert mhh.min() >= 2 * M_H - 1e-3
    counts, edges = np.histogram(mhh, bins=np.arange(250.0, 1000.0, 25.0))
    peak = 0.5 * (edges[np.argmax(counts)] + edges[np.argmax(counts) + 1])
    assert 350.0 <= peak <= 450.0
    assert np.median(mhh) > peak  # long high-mass tail


def test_higgs_truth_ordering_and_nan_for_backgrounds():
    hh = sample("hh4b")
    assert np.all(ak.to_numpy(hh.truth.h1_pt) >= ak.to_numpy(hh.truth.h2_pt))
    for proc in ("qcd", "ttbar"):
        t = sample(proc).truth
        assert np.all(np.isnan(ak.to_numpy(t.mhh))) and np.all(np.isnan(ak.to_numpy(t.h1_pt)))
    assert np.all(np.isfinite(ak.to_numpy(sample("qcd").truth.pthat)))


def test_hh4b_has_many_b_jets():
    jets = sample("hh4b").jets
    nb = ak.to_numpy(
        ak.sum((jets.hadron_flavour == 5) & (jets.pt > 20) & (abs(jets.eta) < ETA_TRACKER), axis=1)
    )
    assert np.mean(nb >= 3) > 0.6
    assert np.mean(nb >= 4) > 0.3


@pytest.mark.parametrize("process", ["hh4b", "ttbar", "qcd"])
def test_ip_significance_orders_b_c_light(process):
    batch = sample(process)
    med = {f: np.median(second_track_sig(batch, f)) for f in (5, 4, 0)}
    assert med[5] > 3.0 > abs(med[0])
    assert med[5] > med[0]
    if process != "hh4b":  # enough c jets
        assert med[5] > med[4] > med[0]


def test_track_resolution_matches_parametrisation():
    """d0 / d0_sig must equal sigma(d0) recomputed in float64 from the documented formula."""
    jets = sample("ttbar").jets
    jets = jets[abs(jets.eta) < ETA_TRACKER]
    trk = jets.tracks
    eta = ak.to_numpy(ak.flatten(ak.broadcast_arrays(jets.eta, trk.pt)[0], axis=None)).astype(
        np.float64
    )
    pt = ak.to_numpy(ak.flatten(trk.pt, axis=None)).astype(np.float64)
    deta = ak.to_numpy(ak.flatten(trk.deta, axis=None)).astype(np.float64)
    d0 = ak.to_numpy(ak.flatten(trk.d0, axis=None)).astype(np.float64)
    sig = ak.to_numpy(ak.flatten(trk.d0_sig, axis=None)).astype(np.float64)
    ref = np.sqrt(0.012**2 + (0.085 * np.sqrt(np.cosh(eta + deta)) / pt) ** 2)
    ok = np.abs(sig) > 1e-3
    np.testing.assert_allclose(d0[ok] / sig[ok], ref[ok], rtol=2e-3)
    assert pt.min() >= 1.0 - 1e-6


def test_tracks_sorted_and_only_in_tracker():
    jets = sample("hh4b").jets
    a = abs(jets.tracks.d0_sig)
    assert ak.all(a[:, :, :-1] >= a[:, :, 1:])
    assert ak.all(ak.num(jets.tracks[abs(jets.eta) > ETA_TRACKER], axis=2) == 0)
    assert ak.all(jets.pt[:, :-1] >= jets.pt[:, 1:])


def test_pileup_jets_soft_with_displaced_z0():
    jets = sample("hh4b").jets
    pu, hs = jets[jets.is_pileup], jets[~jets.is_pileup & (abs(jets.eta) < ETA_TRACKER)]
    assert ak.all(pu.hadron_flavour == 0) and ak.all(pu.parton_flavour == 0)
    assert np.median(ak.to_numpy(ak.flatten(pu.pt))) < np.median(ak.to_numpy(ak.flatten(hs.pt)))
    z_pu = np.median(np.abs(ak.to_numpy(ak.flatten(pu.tracks.z0, axis=None))))
    z_hs = np.median(np.abs(ak.to_numpy(ak.flatten(hs.tracks.z0, axis=None))))
    assert z_pu > 10.0 > 10 * z_hs


def test_fatjets_boosted_higgs_vs_qcd():
    hh, qcd = sample("hh4b", 20000).fatjets, sample("qcd").fatjets
    h = hh[hh.label == 1]
    msd_h = ak.to_numpy(ak.flatten(h.msd))
    assert len(msd_h) > 500
    assert abs(np.median(msd_h) - M_H) < 0.1 * M_H
    assert np.median(ak.to_numpy(ak.flatten(h.tau21))) < np.median(
        ak.to_numpy(ak.flatten(qcd.tau21))
    )
    assert ak.all(qcd.label == 0)
    # merged H jets come from boosted Higgs bosons: their pT is large
    assert np.median(ak.to_numpy(ak.flatten(h.pt))) > 250.0
    con = h.constituents
    assert ak.all(abs(ak.sum(con.pt, axis=2) - h.pt) < 1e-3 * h.pt + 1e-2)
    assert set(np.unique(ak.to_numpy(ak.flatten(con.charge, axis=None)))) <= {-1, 0, 1}
    assert ak.all(con.d0_sig[con.charge == 0] == 0)


def test_qcd_weights_sum_to_cross_section_and_fall_with_pthat():
    lumi = 37.5
    sigma = get_process("qcd").sigma_pb
    for n in (7, 15, 1003):
        w = sample_weights("qcd", n, lumi, 0, n)
        assert abs(w.sum() - sigma * lumi) <= 1e-9 * sigma * lumi
    batch = generate("qcd", 1500, 5, lumi_pb=lumi)
    assert abs(batch.sum_weights - sigma * lumi) <= 1e-9 * sigma * lumi
    pthat = ak.to_numpy(batch.truth.pthat).astype(np.float64)
    stratum = np.arange(len(batch)) % len(PTHAT_SIGMA_PB)  # event i belongs to stratum i % K
    per_bin = np.bincount(stratum, weights=batch.weight)
    np.testing.assert_allclose(per_bin, PTHAT_SIGMA_PB * lumi, rtol=1e-9)
    lo, hi = PTHAT_EDGES[stratum], PTHAT_EDGES[stratum + 1]
    assert np.all(pthat >= lo * (1 - 1e-6)) and np.all(pthat <= hi * (1 + 1e-6))
    density = per_bin / np.diff(PTHAT_EDGES)
    assert np.all(np.diff(density) < 0)
    # within the first stratum the spectrum falls too (local power law)
    first = pthat[stratum == 0]
    assert np.mean(first < 0.5 * (PTHAT_EDGES[0] + PTHAT_EDGES[1])) > 0.6


def test_signal_and_ttbar_weights():
    for proc in ("hh4b", "ttbar"):
        batch = sample(proc)
        ref = get_process(proc).sigma_pb * batch.lumi_pb
        assert abs(batch.sum_weights - ref) <= 1e-9 * ref
    assert get_process("hh4b").sigma_pb == pytest.approx(34.43e-3 * 0.5824**2)


def test_qcd_flavour_mix():
    hf = ak.to_numpy(ak.flatten(sample("qcd").jets.hadron_flavour))
    fb, fc = np.mean(hf == 5), np.mean(hf == 4)
    assert 0.005 < fb < 0.06 and 0.01 < fc < 0.1
    pf = ak.to_numpy(ak.flatten(sample("qcd").jets.parton_flavour))
    assert np.mean(pf == 21) > 0.3  # gluon-dominated
    assert np.any((hf == 5) & (pf == 21))  # g -> bb splitting


def test_ttbar_six_partons():
    jets = sample("ttbar").jets
    hs = jets[~jets.is_pileup & (jets.pt > 25) & (abs(jets.eta) < ETA_TRACKER)]
    assert np.median(ak.to_numpy(ak.num(hs))) >= 5
    nb = ak.to_numpy(ak.sum(hs.hadron_flavour == 5, axis=1))
    assert np.argmax(np.bincount(nb)) == 2


def test_schema_dtypes():
    b = sample("hh4b")
    t = str(b.jets.type)
    assert "pt: float32" in t and "hadron_flavour: int8" in t and "is_pileup: bool" in t
    assert "d0_sig: float32" in t and "z0_sig: float32" in t
    assert "label: int8" in str(b.fatjets.type) and "charge: int8" in str(b.fatjets.type)
    assert b.weight.dtype == np.float64
