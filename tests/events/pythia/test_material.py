"""Tracker material, conversions, nuclear interactions and merged tracks against closed forms
and hand counts (no Pythia needed)."""

from __future__ import annotations

import numpy as np
import pytest

from trigkit.events.pythia import material as mat
from trigkit.events.pythia import merging, trackcols
from trigkit.events.pythia import tracking as trk


def _binomial_ok(k: int, n: int, p: float, z: float = 4.0) -> bool:
    return abs(k - n * p) <= z * np.sqrt(n * p * (1 - p))


def test_reach_hand_values() -> None:
    assert mat.reach(0.0, 0.0, 0.6, 0.8, 44.0) == pytest.approx(44.0)
    assert mat.reach(10.0, 0.0, 1.0, 0.0, 44.0) == pytest.approx(34.0)
    assert mat.reach(10.0, 0.0, -1.0, 0.0, 44.0) == pytest.approx(54.0)
    assert mat.reach(50.0, 0.0, 1.0, 0.0, 44.0) == -1.0


def test_material_budget_matches_the_map() -> None:
    # pipe 0.0023 + 3 pixel x 0.025 + 4 TIB x 0.035 inside 50 cm at eta = 0
    assert mat.total_x0(0.0) == pytest.approx(0.0023 + 0.075 + 0.140)
    assert mat.total_x0(1.0) == pytest.approx(0.2173 * np.cosh(1.0))
    assert mat.total_x0(2.4) == pytest.approx(0.2173 * mat.PATH_CAP)
    assert mat.pixel_hits(0.0) == 3 and mat.pixel_hits(50.0) == 2 and mat.pixel_hits(80.0) == 1


@pytest.mark.parametrize("eta", [0.0, 1.2, 2.2])
def test_conversion_probability_is_seven_ninths_x_over_x0(eta: float) -> None:
    """Fraction of photons converting inside r = 50 cm == 1 - exp(-7/9 X/X0) (float64)."""
    mat.seed_rng(11)
    n = 40_000
    hits = np.array([mat.first_interaction(0.0, eta, mat.CONVERSION_PER_X0) for _ in range(n)])
    p = 1.0 - np.exp(-7.0 / 9.0 * mat.total_x0(eta))
    assert _binomial_ok(int((hits >= 0).sum()), n, p)
    # the first layer alone: the beam pipe
    p0 = 1.0 - np.exp(-7.0 / 9.0 * 0.0023 * mat.path_factor(eta))
    assert _binomial_ok(int((hits == 0).sum()), n, p0)


def test_conversion_pair_kinematics_and_bethe_heitler_spectrum() -> None:
    mat.seed_rng(3)
    photon = np.array([3.0, 4.0, 6.0, np.sqrt(25.0 + 36.0), 0.0, 0.0, 1.5, 0.0, 22.0])
    pair = np.empty((2, 8))
    xs = []
    for _ in range(20_000):
        mat.conversion_pair(photon, 73.0, pair)
        xs.append(pair[0, 3] / photon[3])
    np.testing.assert_allclose(pair[:, :4].sum(0), photon[:4], rtol=1e-12)
    assert sorted(pair[:, 7]) == [-1.0, 1.0]
    np.testing.assert_allclose(np.hypot(pair[:, 4], pair[:, 5]), 73.0)
    np.testing.assert_allclose(pair[:, 6], 1.5 + 73.0 * 6.0 / 5.0)
    # float64 moments of the density 1 - 4/3 x (1 - x) on [0, 1]
    grid = np.linspace(0.0, 1.0, 200_001)
    dens = 1.0 - 4.0 / 3.0 * grid * (1.0 - grid)
    var = np.trapezoid((grid - 0.5) ** 2 * dens, grid) / np.trapezoid(dens, grid)
    xs = np.asarray(xs)
    assert abs(xs.mean() - 0.5) < 4 * np.sqrt(var / len(xs))
    assert xs.var() == pytest.approx(var, rel=0.03)


def test_nuclear_secondaries_start_at_the_interaction_point() -> None:
    mat.seed_rng(5)
    pion = np.array([2.0, 0.0, 1.0, 2.24, 0.0, 0.0, 0.0, 1.0, 211.0])
    out = np.empty((6, 8))
    for _ in range(200):
        n = mat.nuclear_secondaries(pion, 44.0, out)
        assert 1 <= n <= 6
        np.testing.assert_allclose(out[:n, 4], 44.0)
        np.testing.assert_allclose(out[:n, 6], 22.0)
        p_long = (out[:n, :3] @ pion[:3]) / np.linalg.norm(pion[:3])
        # the shares sum to U(0.3, 0.8) of p; the kicks are transverse to it
        assert 0.3 - 1e-9 <= p_long.sum() / np.linalg.norm(pion[:3]) <= 0.8 + 1e-9


def _particles(n: int, pid: float, charge: float, pt: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eta = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    parts = np.zeros((n, 11))
    parts[:, 0], parts[:, 1], parts[:, 2] = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    parts[:, 3] = np.linalg.norm(parts[:, :3], axis=1)
    parts[:, 7], parts[:, 8] = charge, pid
    return parts


def test_pion_efficiency_lands_on_the_published_value() -> None:
    """Isolated 5 GeV pions, |eta| < 1: CMS JINST 9 (2014) P10009 Fig. 11 gives ~0.90
    (nuclear interactions included); muons (no nuclear interactions) get the 0.93 hit finding."""
    n = 20_000
    for pid, expected in ((211.0, 0.90), (13.0, trk.EFF_CENTRAL)):
        parts = _particles(n, pid, 1.0, 5.0, seed=1)
        off = np.arange(0, n + 1, 20, dtype=np.int64)  # 20 per event: no merging
        table, _, stats = trk.reconstruct(parts, off, np.zeros(len(off) - 1), 7)
        prim = table[table[:, trackcols.K_ORIGIN] == trackcols.PRIMARY]
        assert len(prim) / n == pytest.approx(expected, abs=0.012)
        assert stats[:, trk.S_MERGED].sum() < 0.001 * n  # isolated: (almost) no merging
    assert stats[:, trk.S_NUCL].sum() == 0  # muons do not interact


def test_photon_conversions_are_counted_and_tracked() -> None:
    n = 5_000
    parts = _particles(n, 22.0, 0.0, 4.0, seed=2)
    off = np.array([0, n], dtype=np.int64)
    table, _, stats = trk.reconstruct(parts, off, np.zeros(1), 9)
    eta = np.arcsinh(parts[:, 2] / 4.0)
    p = np.mean(1.0 - np.exp(-7.0 / 9.0 * 0.2173 * np.minimum(np.cosh(eta), mat.PATH_CAP)))
    assert stats[0, trk.S_GAMMA] == n and stats[0, trk.S_GAMMA_C] == n
    assert _binomial_ok(int(stats[0, trk.S_CONV]), n, p)
    conv = table[table[:, trackcols.K_ORIGIN] == trackcols.CONVERSION]
    assert len(conv) > 0 and np.all(conv[:, trackcols.K_RPROD] > 20.0)
    # conversion tracks start at a layer radius and are displaced from the beam line
    assert set(np.round(conv[:, trackcols.K_RPROD], 1)) <= set(mat.LAYER_R_MM)
    assert np.median(np.hypot(conv[:, trackcols.K_X], conv[:, trackcols.K_Y])) > 0.05


def _two_tracks(dphi: float, dz: float, phi0: float = 0.3) -> np.ndarray:
    t = np.zeros((2, trackcols.N_K))
    t[:, trackcols.K_PT] = (20.0, 10.0)
    t[:, trackcols.K_PHI] = (phi0, phi0 + dphi)
    t[:, trackcols.K_Q] = 1.0
    t[:, trackcols.K_Z0] = (0.0, dz)
    return t


def test_tracks_closer_than_two_pixels_merge() -> None:
    # same charge and pT differences aside, hits at 44 mm differ by r x dphi (+ the bending,
    # equal for both here up to the pT difference)
    hit = [merging.hit_on_layer(p, 0.3, 1.0, 0.0, 0.0, 44.0)[0] for p in (20.0, 10.0)]
    bend = (hit[1] - hit[0]) * 44.0  # mm, from asin(r / 2R) of each pT
    close = _two_tracks(0.1 / 44.0 - bend / 44.0, 0.1)  # 0.1 mm apart in r-phi, 0.1 mm in z
    kept, off, merged = merging.merge_tracks(close.copy(), np.array([0, 2]))
    assert len(kept) == 1 and merged[0] == 1 and off[1] == 1
    assert kept[0, trackcols.K_PT] == 20.0  # the harder one survives
    shift = 0.5 * 0.1 * 73.0 / 29.0
    assert kept[0, trackcols.K_Z0] == pytest.approx(0.5 * 0.1 * 73.0 / 29.0)
    assert np.hypot(kept[0, trackcols.K_X], kept[0, trackcols.K_Y]) == pytest.approx(shift)
    for dphi, dz in ((0.5 / 44.0 - bend / 44.0, 0.0), (-bend / 44.0, 0.5)):
        apart = _two_tracks(dphi, dz)
        kept, _, merged = merging.merge_tracks(apart, np.array([0, 2]))
        assert len(kept) == 2 and merged[0] == 0


def test_merging_across_the_phi_wrap_and_skipping_late_tracks() -> None:
    h20 = merging.hit_on_layer(20.0, 0.0, 1.0, 0.0, 0.0, 44.0)[0]
    h10 = merging.hit_on_layer(10.0, 0.0, 1.0, 0.0, 0.0, 44.0)[0]
    t = _two_tracks(0.0, 0.0, phi0=np.pi - 0.0005)
    t[1, trackcols.K_PHI] = -np.pi + 0.0005 + (h20 - h10) - 0.0005  # hit 0.5 mrad across
    kept, _, merged = merging.merge_tracks(t, np.array([0, 2]))
    assert merged[0] == 1 and len(kept) == 1
    late = _two_tracks(0.0, 0.0)
    late[1, trackcols.K_RPROD] = 50.0  # produced outside the first layer: no hit there
    kept, _, merged = merging.merge_tracks(late, np.array([0, 2]))
    assert merged[0] == 0 and len(kept) == 2
