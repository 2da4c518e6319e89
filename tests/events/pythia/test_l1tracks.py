"""Phase-2 L1 tracks: smearing against float64 formulas, FastHisto and the per-L1-jet tracks by
hand, efficiency and pulls on a particle gun, and the Pythia sample's L1 jets."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from trigkit.events.pythia import l1build, l1tracks
from trigkit.events.pythia.trackcols import K_ETA, K_PHI, K_PT, K_SD0, K_SZ0, K_X, K_Y, K_Z0, N_K


def _particle(pt: float, eta: float, phi: float, x=0.0, y=0.0, z=0.0, q=1.0) -> np.ndarray:
    """A particle row (the 11 columns of ``pileup.assemble``), a charged pion by default."""
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return np.array([px, py, pz, np.hypot(pt, pz), x, y, z, q, 211.0, 0.0, z])


def test_resolutions_are_the_documented_formulas() -> None:
    """sigma(pT)/pT, sigma(z0), sigma(d0) at two points, by hand (module docstring)."""
    assert l1tracks.sigma_pt_rel(10.0, 0.0) == pytest.approx(np.hypot(0.01, 0.006))
    assert l1tracks.sigma_pt_rel(2.0, 2.0) == pytest.approx(np.hypot(0.01, 0.0012) * 1.8)
    assert l1tracks.sigma_z0(2.0, 0.0) == pytest.approx(1.0)  # 0.6 (+) 0.8 mm
    assert l1tracks.sigma_z0(100.0, 1.0) == pytest.approx(np.hypot(0.6, 0.016) * 1.4)
    assert l1tracks.sigma_d0(100.0, 0.0) * 1e3 == pytest.approx(np.hypot(20.0, 2.0))  # um
    assert l1tracks.sigma_d0(2.0, 0.0) * 1e3 == pytest.approx(np.hypot(20.0, 100.0))
    assert l1tracks.efficiency(1.9, 0.0, 0.0) == 0.0 and l1tracks.efficiency(3, 2.5, 0) == 0.0
    assert l1tracks.efficiency(5.0, 0.5, 0.0) == 0.95
    assert l1tracks.efficiency(5.0, -1.5, 250.0) == pytest.approx(0.45)


def test_smear_matches_float64_reference() -> None:
    """A prompt track: pT, perigee and z0 move by exactly sigma x the given normals."""
    pt, eta, phi, z = 10.0, 0.7, 1.1, 12.5
    p = _particle(pt, eta, phi, z=z)
    out = np.zeros((1, N_K))
    g = (0.8, -1.3, 2.1)
    l1tracks.smear(p, *g, out, 0)
    s_pt = np.hypot(0.01, 0.0006 * pt) * (1 + 0.4 * eta)
    s_d0 = np.hypot(0.02, 0.2 / pt) * (1 + 0.4 * eta**2)
    s_z0 = np.hypot(0.6, 1.6 / pt) * (1 + 0.4 * eta**2)
    np.testing.assert_allclose(out[0, K_PT], pt * (1 + s_pt * g[0]), rtol=1e-12)
    np.testing.assert_allclose(out[0, K_ETA], eta, rtol=1e-12)
    np.testing.assert_allclose(out[0, K_PHI], phi, rtol=1e-12)
    d = s_d0 * g[1]  # across the direction: (-d sin phi, d cos phi)
    np.testing.assert_allclose(out[0, [K_X, K_Y]], [-d * np.sin(phi), d * np.cos(phi)], atol=1e-12)
    np.testing.assert_allclose(out[0, K_Z0], z + s_z0 * g[2], rtol=1e-12)
    np.testing.assert_allclose(out[0, [K_SD0, K_SZ0]], [s_d0, s_z0], rtol=1e-12)


def test_displaced_track_keeps_its_true_impact_parameter() -> None:
    """A stiff track from (x, y) = (0, 2 mm) along +x has |d0| = 2 mm (no smearing)."""
    out = np.zeros((1, N_K))
    l1tracks.smear(_particle(500.0, 0.0, 0.0, y=2.0), 0.0, 0.0, 0.0, out, 0)
    assert np.hypot(out[0, K_X], out[0, K_Y]) == pytest.approx(2.0, rel=1e-4)


def test_fast_histo_by_hand() -> None:
    """Weights min(pT, 128); the first 3-bin window with the largest sum; weighted centres."""
    z0 = np.array([10.1, 10.5, 11.0, -40.0, 200.0])
    pt = np.array([5.0, 200.0, 3.0, 50.0, 500.0])  # the last one is outside |z| < 150 mm
    w = 300.0 / 256
    bins = ((z0[:4] + 150.0) / w).astype(int)
    assert list(bins) == [136, 136, 137, 93]  # 133 GeV in 136, 3 in 137, 50 in 93
    centre = lambda b: -150.0 + (b + 0.5) * w  # noqa: E731
    want = (133.0 * centre(136) + 3.0 * centre(137)) / 136.0  # windows 135-137 = 136-138
    assert l1tracks.fast_histo(z0, pt) == pytest.approx(want, rel=1e-12)
    assert l1tracks.fast_histo(np.zeros(0), np.zeros(0)) == 0.0


def _trk(rows: list[tuple[float, ...]]) -> np.ndarray:
    """Track rows (pt, eta, phi, x, y, z0, sd0, sz0) in the N_K layout."""
    out = np.zeros((len(rows), N_K))
    for i, (pt, eta, phi, x, y, z0, sd0, sz0) in enumerate(rows):
        out[i, [K_PT, K_ETA, K_PHI, K_X, K_Y, K_Z0, K_SD0, K_SZ0]] = (
            pt,
            eta,
            phi,
            x,
            y,
            z0,
            sd0,
            sz0,
        )
    return out


def test_jet_tracks_by_hand() -> None:
    """dR < 0.4 and |z0| < 5 mm; sorted by |d0/sigma|; d0 signed by the jet axis."""
    trk = _trk(
        [
            (3.0, 0.1, 0.1, 0.0, 0.05, 1.0, 0.05, 1.0),  # in, |S| = 1, in front (+)
            (4.0, 0.0, 0.2, 0.0, -0.3, -2.0, 0.1, 1.0),  # in, |S| = 3, y < 0: behind (-)
            (5.0, 0.0, 0.1, 0.0, 0.9, 6.0, 0.1, 1.0),  # dR ok, |z0| = 6 mm: out
            (6.0, 1.0, 0.0, 0.0, 0.9, 0.0, 0.1, 1.0),  # dR = 1: out
            (7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 1.0),  # second event: jet far away
        ]
    )
    jets = np.array([[50.0, 0.0, 0.1], [30.0, -2.0, -2.0]])  # pt eta phi
    toff = np.array([0, 4, 5])
    tracks, ntrk = l1tracks.jet_tracks(trk, toff, jets, np.array([1, 1]))
    assert list(ntrk) == [2, 0]
    np.testing.assert_allclose(tracks[:, 0], [4.0, 3.0])  # pt, |S| order
    np.testing.assert_allclose(tracks[:, 3], [-0.3, 0.05])  # signed d0
    np.testing.assert_allclose(tracks[:, 5], [-3.0, 1.0])  # d0_sig
    np.testing.assert_allclose(tracks[:, 1], [0.0, 0.1])  # deta
    np.testing.assert_allclose(tracks[:, 2], [0.1, 0.0], atol=1e-12)  # dphi


def test_gun_efficiency_and_pulls() -> None:
    """20 000 prompt pions at pT 10 GeV, |eta| < 0.8: kept 95 % (binomial, 5 sigma), pT / d0
    pulls of width 1, z0 pulls (from the FastHisto vertex of 50 tracks) of width ~1."""
    rng = np.random.default_rng(1)
    n_ev, per = 400, 50
    zv = rng.normal(0, 35.0, n_ev)
    rows = [
        _particle(10.0, rng.uniform(-0.8, 0.8), rng.uniform(-np.pi, np.pi), z=zv[e])
        for e in range(n_ev)
        for _ in range(per)
    ]
    parts = np.array(rows)
    off = np.arange(0, n_ev * per + 1, per, dtype=np.int64)
    trk, toff, zvtx = l1tracks.l1_tracks(parts, off, 17)
    n = n_ev * per
    assert abs(len(trk) - 0.95 * n) < 5 * np.sqrt(n * 0.95 * 0.05)
    assert np.all(np.abs(zvtx - zv) < 1.0)  # the vertex of 50 tracks with sigma(z0) ~ 0.7 mm
    eta = trk[:, K_ETA]
    pull_pt = (trk[:, K_PT] / 10.0 - 1.0) / (np.hypot(0.01, 0.006) * (1 + 0.4 * np.abs(eta)))
    pull_d0 = np.hypot(trk[:, K_X], trk[:, K_Y]) / trk[:, K_SD0]  # |d0| / sigma: chi with 1 dof
    assert np.std(pull_pt) == pytest.approx(1.0, abs=0.03)
    assert np.sqrt(np.mean(pull_d0**2)) == pytest.approx(1.0, abs=0.03)
    assert np.std(trk[:, K_Z0] / trk[:, K_SZ0]) == pytest.approx(1.0, abs=0.06)
    assert np.all(trk[:, K_PT] > 0)
    assert np.array_equal(trk, l1tracks.l1_tracks(parts, off, 17)[0])  # seeded


def test_to_awkward_orders_jets_with_their_tracks() -> None:
    jets = np.array([[30.0, 0.1, 0.2, 5.0, 0.9], [60.0, -1.0, 2.0, 8.0, 0.2]])
    tracks = np.arange(21, dtype=float).reshape(3, 7)
    arr = l1build.to_awkward(
        jets, np.array([2]), np.array([5, 0]), np.array([5, 21]), tracks, np.array([1, 2])
    )
    assert ak.to_list(arr.pt) == [[60.0, 30.0]]
    assert ak.to_list(arr.hadron_flavour) == [[0, 5]] and ak.to_list(arr.is_pileup) == [
        [True, False]
    ]
    assert ak.to_list(ak.num(arr.tracks, axis=2)) == [[2, 1]]
    assert ak.to_list(arr.tracks.pt[0, 1]) == [0.0]  # the 30 GeV jet's one track


def test_pythia_l1jets_carry_l1_tracks(qcd_pu) -> None:
    """The sample's L1 jets carry labels and L1 tracks (pT > 2 GeV x resolution, |dz| < 5 mm);
    the L1 vertex is within 1.5 mm of the true one in >= 90 % of events."""
    l1 = qcd_pu.l1jets
    assert qcd_pu.has_l1_tracks and qcd_pu.l1_tagger_collection == "l1jets"
    trk = ak.flatten(l1.tracks, axis=2)
    assert ak.sum(ak.num(trk)) > 100
    assert ak.min(trk.pt) > 1.5 and ak.max(abs(trk.z0)) < 5.0
    assert set(np.unique(ak.to_numpy(ak.flatten(l1.hadron_flavour)))) <= {0, 4, 5}
    dz = np.abs(ak.to_numpy(qcd_pu.truth.l1_pv_z - qcd_pu.truth.pv_z))
    assert np.mean(dz < 1.5) >= 0.9
