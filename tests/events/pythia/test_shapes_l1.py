"""D2, L1 MET, b-hadron counts and the jet-track quality cuts against float64 hand
computations (no Pythia needed)."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from trigkit.events.pythia import jetbuild, l1, trackcols
from trigkit.events.pythia.shapes import d2


def _d2_reference(p4: np.ndarray) -> float:
    pt = np.hypot(p4[:, 0], p4[:, 1])
    eta = np.arcsinh(p4[:, 2] / pt)
    phi = np.arctan2(p4[:, 1], p4[:, 0])
    z = pt / pt.sum()

    def dr(i: int, j: int) -> float:
        dp = (phi[i] - phi[j] + np.pi) % (2 * np.pi) - np.pi
        return float(np.hypot(eta[i] - eta[j], dp))

    n = range(len(pt))
    e2 = sum(z[i] * z[j] * dr(i, j) for i, j in combinations(n, 2))
    e3 = sum(z[i] * z[j] * z[k] * dr(i, j) * dr(i, k) * dr(j, k) for i, j, k in combinations(n, 3))
    return e3 / e2**3


def test_d2_matches_the_definition() -> None:
    rng = np.random.default_rng(4)
    sets = []
    for n in (3, 7, 25):
        p = rng.normal(size=(n, 3)) * [8.0, 8.0, 30.0] + [60.0, 0.0, 0.0]
        p[0, 1] = -p[0, 1] - 200.0  # one constituent across the phi wrap-around region
        sets.append(np.column_stack([p, np.linalg.norm(p, axis=1)]))
    got = d2(np.concatenate(sets), np.array([len(s) for s in sets]))
    np.testing.assert_allclose(got, [_d2_reference(s) for s in sets], rtol=1e-10)
    assert d2(sets[0][:2], np.array([2]))[0] == 0.0  # fewer than three: no value


def _tower_met(parts: np.ndarray) -> float:
    """float64 reference: towers of 0.087 x 2pi/72 in |eta| < 3, ET = pT x response, > 0.5 GeV,
    MET from the tower centres."""
    grid = {}
    for p in parts:
        pt = np.hypot(p[0], p[1])
        pid = abs(p[8])
        eta = np.arcsinh(p[2] / pt)
        if pid == 13 or abs(eta) >= 3.0:
            continue
        key = (
            min(68, int((eta + 3.0) / 0.087)),
            int((np.arctan2(p[1], p[0]) + np.pi) / (2 * np.pi) * 72) % 72,
        )
        grid[key] = grid.get(key, 0.0) + pt * (1.0 if pid in (11, 22) else 0.75)
    ex = ey = 0.0
    for (_, ip), et in grid.items():
        if et >= 0.5:
            phi = -np.pi + (ip + 0.5) * 2 * np.pi / 72
            ex, ey = ex - et * np.cos(phi), ey - et * np.sin(phi)
    return float(np.hypot(ex, ey))


def test_l1_met_hand_computation() -> None:
    rng = np.random.default_rng(8)
    n = 300
    parts = np.zeros((n, 11))
    pt = rng.exponential(3.0, n) + 0.1
    phi, eta = rng.uniform(-np.pi, np.pi, n), rng.uniform(-3.5, 3.5, n)
    parts[:, 0], parts[:, 1], parts[:, 2] = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    parts[:, 8] = rng.choice([22.0, 211.0, -211.0, 13.0, 2112.0], n)
    parts[0, :3] = [150.0, 0.0, 10.0]  # one hard photon: MET ~ 150 GeV opposite to it
    parts[0, 8] = 22.0
    off = np.array([0, 100, n], dtype=np.int64)
    met = l1.l1_met(parts, off)
    assert met[0, 0] == pytest.approx(_tower_met(parts[:100]), rel=1e-9)
    assert met[1, 0] == pytest.approx(_tower_met(parts[100:]), rel=1e-9)
    assert abs(abs(met[0, 1]) - np.pi) < 0.3  # opposite to the photon at phi = 0


def test_b_hadron_count_hand_count() -> None:
    jets = np.zeros((2, jetbuild.N_J))
    jets[0, jetbuild.J_ETA], jets[0, jetbuild.J_PHI] = 0.0, 0.0
    jets[1, jetbuild.J_ETA], jets[1, jetbuild.J_PHI], jets[1, jetbuild.J_EV] = 1.0, 3.1, 1
    had = np.array(
        [
            [30.0, 0.3, 0.2, 5],  # b inside jet 0
            [20.0, -0.5, 0.4, 5],  # b inside jet 0 (dR 0.64)
            [20.0, 0.1, 0.0, 4],  # c: not counted
            [3.0, 0.0, 0.1, 5],  # below 5 GeV
            [25.0, 1.2, -3.1, 5],  # event 1, across the phi wrap: inside jet 1
        ]
    )
    got = jetbuild.count_b_hadrons(jets, had, np.array([0, 4, 5]), 0.8)
    assert got.tolist() == [2, 1]


def test_jet_tracks_apply_the_btag_quality_cuts() -> None:
    trk = np.zeros((4, trackcols.N_K))
    trk[:, trackcols.K_PT] = 5.0
    trk[:, trackcols.K_SD0] = trk[:, trackcols.K_SZ0] = 0.05
    trk[:, trackcols.K_X] = (0.1, 2.5, 0.1, 0.1)  # the second: |d0| > 2 mm
    trk[:, trackcols.K_RPROD] = (0.0, 0.0, 80.0, 60.0)  # the third: one pixel hit only
    out = np.zeros((30, jetbuild.N_TR))
    k = jetbuild.jet_tracks(trk, 0, 4, 0.0, 0.0, 0.4, out, 0)
    assert k == 2
