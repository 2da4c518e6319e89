"""L1 MET pileup mitigation (:mod:`trigkit.events.pythia.l1_pum`) against numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from trigkit.events.pythia import l1_pum as P
from trigkit.events.pythia.far import Deposits
from trigkit.events.pythia.l1_grid import TOWER_MIN

CENTRES = -3.0 + (np.arange(P.N_ETA) + 0.5) * P.TOWER
CENTRAL = np.flatnonzero(np.abs(CENTRES) < P.EST_ETA)
PHI = -np.pi + (np.arange(P.N_PHI) + 0.5) * 2 * np.pi / P.N_PHI


def _ref_bin(grid: np.ndarray) -> int:
    n = int((grid[CENTRAL] > 0).sum())
    return min(P.N_EST - 1, n * P.N_EST // (len(CENTRAL) * P.N_PHI))


def _ref_met(grid: np.ndarray, table: np.ndarray) -> tuple[float, float]:
    rings = np.minimum(np.arange(P.N_ETA), P.N_ETA - 1 - np.arange(P.N_ETA))
    thr = table[rings, _ref_bin(grid)][:, None]
    et = np.where(grid > thr, grid, 0.0)
    ex, ey = -(et * np.cos(PHI)).sum(), -(et * np.sin(PHI)).sum()
    return float(np.hypot(ex, ey)), float(np.arctan2(ey, ex))


def test_estimate_counts_the_central_rings_only() -> None:
    assert len(CENTRAL) == 8  # |ieta| <= 4 on both sides
    grid = np.zeros((P.N_ETA, P.N_PHI))
    grid[CENTRAL[0], :40] = 1.0
    grid[CENTRAL[-1], :30] = 0.6
    grid[0, :] = 5.0  # forward towers: not in the estimate
    assert P.estimate_bin(grid) == 70 * 20 // 576 == _ref_bin(grid)
    grid[CENTRAL] = 1.0
    assert P.estimate_bin(grid) == P.N_EST - 1


def test_met_drops_towers_at_or_below_threshold() -> None:
    rng = np.random.default_rng(3)
    table = rng.uniform(0.5, 3.0, (P.N_RING, P.N_EST))
    grid = np.where(rng.random((P.N_ETA, P.N_PHI)) < 0.3, rng.uniform(0.5, 4.0, (69, 72)), 0.0)
    grid[10, 7] = table[10, _ref_bin(grid)]  # exactly at threshold: out
    got = P.met(grid, table)
    want = _ref_met(grid, table)
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    assert got[1] == pytest.approx(want[1], abs=1e-12)
    assert P.met(grid, P.no_thresholds())[0] == pytest.approx(_ref_met(grid, 0 * table)[0])


def test_pum_keeps_a_real_imbalance_and_cuts_pileup_noise() -> None:
    rng = np.random.default_rng(5)
    noise = np.where(rng.random((P.N_ETA, P.N_PHI)) < 0.4, rng.uniform(0.5, 2.0, (69, 72)), 0.0)
    table = np.full((P.N_RING, P.N_EST), 2.0)
    jet = noise.copy()
    jet[30:33, 10:13] += 100.0 / 9  # 100 GeV, unbalanced
    assert P.met(noise, table)[0] == 0.0 < P.met(noise, P.no_thresholds())[0]
    only_jet = np.zeros_like(jet)
    only_jet[30:33, 10:13] = jet[30:33, 10:13]  # the jet towers with the noise under them
    assert P.met(jet, table)[0] == pytest.approx(_ref_met(only_jet, 0 * table)[0], rel=1e-12)
    assert P.met(jet, P.no_thresholds())[0] != P.met(jet, table)[0] > 100.0


def test_thresholds_are_the_quantile_within_one_step() -> None:
    rng = np.random.default_rng(7)
    hist = np.zeros((P.N_RING, P.N_EST, P.N_H))
    raw = {}
    for r, b in [(0, 3), (12, 3), (34, 9)]:
        et = rng.exponential(1.0, 5000) + 0.5
        raw[r, b] = et
        np.add.at(hist[r, b], np.minimum(P.N_H - 1, (et / P.H_STEP).astype(int)), 1)
    table = P.thresholds_from(hist)
    for (r, b), et in raw.items():
        q = np.quantile(et, P.QUANTILE)
        assert q <= table[r, b] <= q + P.H_STEP
    assert np.all(table[:, :3] == table[:, [3]])  # empty bins: nearest filled one (3)
    assert np.all(table[:, 4:7] == table[:, [3]]) and np.all(table[:, 7:] == table[:, [9]])
    assert table[5, 3] == 0.0  # a ring with no tower in a filled bin: no threshold


def test_histograms_match_a_numpy_overlay() -> None:
    rng = np.random.default_rng(11)
    n_pool, per = 30, 25
    bins = rng.integers(0, P.N_ETA * P.N_PHI, n_pool * per)
    val = rng.uniform(0.1, 3.0, n_pool * per)
    dep = Deposits(bins, val, np.arange(0, n_pool * per + 1, per, dtype=np.int64))
    n_pu = np.array([0, 3, 7, 1])
    foff = np.concatenate([[0], np.cumsum(n_pu)]).astype(np.int64)
    picks, rots = rng.integers(0, n_pool, foff[-1]), rng.integers(0, P.N_PHI, foff[-1])
    hist = P.tower_histograms(dep.bins, dep.val, dep.off, foff, picks, rots)
    want = np.zeros_like(hist)
    rings = np.minimum(np.arange(P.N_ETA), P.N_ETA - 1 - np.arange(P.N_ETA))
    for e in range(len(n_pu)):
        grid = np.zeros((P.N_ETA, P.N_PHI))
        for v in range(foff[e], foff[e + 1]):
            sl = slice(dep.off[picks[v]], dep.off[picks[v] + 1])
            ie, ip = np.divmod(dep.bins[sl], P.N_PHI)
            np.add.at(grid, (ie, (ip + rots[v]) % P.N_PHI), dep.val[sl])
        grid[grid < TOWER_MIN] = 0.0
        ie, ip = np.nonzero(grid)
        h = np.minimum(P.N_H - 1, (grid[ie, ip] / P.H_STEP).astype(int))
        np.add.at(want, (rings[ie], _ref_bin(grid), h), 1)
    assert hist.sum() > 0
    np.testing.assert_array_equal(hist, want)


def test_calibration_is_a_function_of_the_pool() -> None:
    rng = np.random.default_rng(13)
    bins = rng.integers(0, P.N_ETA * P.N_PHI, 40 * 30)
    dep = Deposits(bins, rng.exponential(0.8, 40 * 30), np.arange(0, 1201, 30, dtype=np.int64))
    a, b = P.calibrate(dep, n_events=200), P.calibrate(dep, n_events=200)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (P.N_RING, P.N_EST) and a.max() > TOWER_MIN
    # more pileup (a higher estimate bin) never needs a lower threshold, ring by ring, on average
    assert np.mean(np.diff(a, axis=1) >= -P.H_STEP) > 0.9
