"""Far pileup vertices through the pool's precomputed response == the same vertices written
out particle by particle through the full detector (calorimeter and L1 exactly; tracks as the
same draws moved rigidly)."""

from __future__ import annotations

import numpy as np
import pytest

from trigkit.events.pythia import calo, l1, l1tracks, pileup, pool_response, tracking
from trigkit.events.pythia.far import N_ROT, NEAR_DZ_MM
from trigkit.events.pythia.trackcols import K_PHI, K_X, K_Y, K_Z0


def _pool(
    rng: np.random.Generator, n_events: int = 6, per_event: int = 80, eta_max: float = 4.6
) -> pileup.Pool:
    """Minimum-bias-like events: pions, kaons, photons, muons, neutrons; |eta| < eta_max."""
    n = n_events * per_event
    parts = np.zeros((n, 9))
    pt = rng.exponential(1.5, n) + 0.05
    phi, eta = rng.uniform(-np.pi, np.pi, n), rng.uniform(-eta_max, eta_max, n)
    parts[:, 0], parts[:, 1], parts[:, 2] = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    parts[:, 3] = np.linalg.norm(parts[:, :3], axis=1) + 0.01
    pid = rng.choice([211.0, -211.0, 321.0, 22.0, 13.0, 2112.0, 11.0], n)
    parts[:, 8] = pid
    parts[:, 7] = np.where(np.isin(np.abs(pid), [22.0, 2112.0]), 0.0, np.sign(pid))
    parts[:, 4:6] = rng.normal(0.0, 0.02, (n, 2))  # beam spot, a few displaced decays
    parts[::17, 4:6] = rng.normal(0.0, 15.0, (len(parts[::17]), 2))
    parts[:, 6] = rng.normal(0.0, 0.05, n)
    return pileup.Pool(parts, np.arange(0, n + 1, per_event, dtype=np.int64))


def _chunk(seed: int):  # noqa: ANN202
    """A pool, hard particles and an overlay whose pool events differ within each event (a
    pool event overlaid twice in one event at two rotations gives towers of exactly equal ET,
    whose tie the L1 seed finder breaks by position; written out from rotated momenta, they
    differ in the last bit instead)."""
    rng = np.random.default_rng(seed)
    pool = _pool(rng, 40)
    n_hard = np.array([40, 25, 60])
    hard = _pool(rng, 1, int(n_hard.sum())).parts
    hard[:, 0:3] *= 8.0
    hard[:, 3] = np.linalg.norm(hard[:, :3], axis=1) + 0.01
    zpv = np.array([3.0, -20.0, 41.0])
    n_pu = np.array([14, 9, 12])
    picks = np.concatenate([rng.permutation(len(pool))[:n] for n in n_pu])
    zs = np.concatenate([z + rng.normal(0.0, 20.0, n) for z, n in zip(zpv, n_pu, strict=True)])
    ov = pileup.Overlay(n_pu, picks, zs, rng.integers(0, N_ROT, n_pu.sum()))
    return pool, hard, n_hard, zpv, ov


@pytest.mark.parametrize("seed", [1, 2])
def test_far_vertices_give_the_calorimeter_and_l1_of_the_full_detector(seed: int) -> None:
    pool, hard, n_hard, zpv, ov = _chunk(seed)
    near = ov.near(zpv)
    assert 0 < near.sum() < len(near)  # both kinds present
    full, foff = pileup.assemble(hard, n_hard, zpv, pool, ov)
    some, soff = pileup.assemble(hard, n_hard, zpv, pool, ov, near)
    far = pileup.far_vertices(pool, ov, near)
    assert np.diff(far.off).sum() == (~near).sum() and len(some) < len(full)

    ref, rcoff = calo.calo_inputs(full, foff, zpv)
    got, gcoff = calo.calo_inputs(some, soff, zpv, far)
    np.testing.assert_array_equal(np.diff(gcoff), np.diff(rcoff))
    for ev in range(len(zpv)):
        a, b = ref[rcoff[ev] : rcoff[ev + 1], :5], got[gcoff[ev] : gcoff[ev + 1], :5]
        a, b = (x[np.lexsort(np.round(x, 6).T[::-1])] for x in (a, b))  # same rows, any order
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-9)

    rj, rn, rmet = l1.l1_objects(full, foff, 5, pum=far.response.l1_pum)
    gj, gn, gmet = l1.l1_objects(some, soff, 5, far)
    np.testing.assert_array_equal(gn, rn)
    np.testing.assert_allclose(gj, rj, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(gmet[:, 0], rmet[:, 0], rtol=1e-12, atol=1e-9)


def test_pool_tracks_move_rigidly_with_the_vertex_and_the_rotation() -> None:
    """One pool event's response, moved to vertex z and rotated by k towers, equals the
    tracking of that event's particles rotated and moved, with the same random stream.
    (|eta| < 1.4: beyond, the transverse kicks of nuclear secondaries are drawn in a basis
    that does not rotate with phi -- the same distribution, not the same numbers.)"""
    pool = _pool(np.random.default_rng(3), 1, 400, eta_max=1.4)
    resp = pool.response
    zv, zpv, k = 17.5, -4.0, 29
    angle = k * 2 * np.pi / N_ROT
    c, s = np.cos(angle), np.sin(angle)
    p = np.zeros((len(pool.parts), 11))
    p[:, :9] = pool.parts
    p[:, 0], p[:, 1] = (
        c * pool.parts[:, 0] - s * pool.parts[:, 1],
        s * pool.parts[:, 0] + c * pool.parts[:, 1],
    )
    p[:, 4], p[:, 5] = (
        c * pool.parts[:, 4] - s * pool.parts[:, 5],
        s * pool.parts[:, 4] + c * pool.parts[:, 5],
    )
    p[:, 6] += zv
    p[:, 9], p[:, 10] = 1.0, zv
    ref, _, ref_stats = tracking.real_tracks(p, pool.offsets, np.array([zpv]), pool_response._SEED)
    assert len(ref) == len(resp.tracks) > 50
    np.testing.assert_array_equal(ref_stats, resp.stats)
    moved = np.empty_like(resp.tracks)
    tracking.moved(resp.tracks, 0, len(resp.tracks), zv - zpv, angle, moved, 0)
    for col in (K_X, K_Y, K_Z0):
        np.testing.assert_allclose(moved[:, col], ref[:, col], rtol=0, atol=1e-9)
    dphi = (moved[:, K_PHI] - ref[:, K_PHI] + np.pi) % (2 * np.pi) - np.pi
    np.testing.assert_allclose(dphi, 0.0, atol=1e-12)
    assert np.all(np.abs(moved[:, K_PHI]) <= np.pi)
    # Phase-2 L1 tracks (z0 absolute): the same, with no secondaries
    ref1, _ = l1tracks.real_l1_tracks(p, pool.offsets, pool_response._SEED + 1)
    assert len(ref1) == len(resp.l1_tracks) > 10
    moved1 = np.empty_like(resp.l1_tracks)
    tracking.moved(resp.l1_tracks, 0, len(resp.l1_tracks), zv, angle, moved1, 0)
    for col in (K_X, K_Y, K_Z0):
        np.testing.assert_allclose(moved1[:, col], ref1[:, col], rtol=0, atol=1e-9)


def test_near_window_covers_the_track_and_chs_cuts() -> None:
    from trigkit.events.pythia import jetbuild

    assert NEAR_DZ_MM >= 3 * jetbuild.TRACK_DZ_MM and NEAR_DZ_MM > calo.CHS_DZ_MM
