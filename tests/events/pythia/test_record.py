"""The column reader (``nextBatch(1)`` buffers) against Pythia's per-particle API."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("process", ["xhh", "ttbar"])
def test_columns_equal_the_particle_api(process: str) -> None:
    pytest.importorskip("pythia8mc")
    from trigkit.events.pythia import block, record, settings
    from trigkit.events.pythia.config import PythiaConfig

    pythia = settings.build(settings.process_settings(PythiaConfig(process, 1, mu=0)), 3, "x")
    charges = block._Charges(pythia)
    seen_higgs = 0
    for _ in range(3):
        cols = block._next(pythia)
        assert len(cols.pid) == pythia.event.size()
        fast = record.read_arrays(cols, pythia.event, pythia.process, charges)
        ref = record.read(pythia.event, pythia.process)
        for field in ("parts", "hadrons", "partons", "higgs", "higgs_b"):
            np.testing.assert_array_equal(getattr(fast, field), getattr(ref, field), field)
        np.testing.assert_array_equal(fast.mhh, ref.mhh)
        assert len(fast.parts) > 50 and len(fast.hadrons) >= 1
        seen_higgs += len(fast.higgs)
        particles = pythia.event.particles()
        for i in range(3, len(particles)):  # the beams (1, 2) have no daughter list
            assert cols.daughters(i) == list(particles[i].daughterList())
    assert seen_higgs == (6 if process == "xhh" else 0)


def test_chunk_assembly_matches_a_per_event_loop() -> None:
    from trigkit.events.pythia import block

    rng = np.random.default_rng(0)
    n_hard, n_pu = np.array([3, 0, 2, 4]), np.array([2, 3, 0, 1])
    hard = rng.normal(size=(n_hard.sum(), 9))
    pu = rng.normal(size=(n_pu.sum(), 11))
    zpv = rng.normal(size=4)
    chunk = block._assemble(hard, n_hard, pu, n_pu, zpv, [])
    rows, h, p = [], 0, 0
    for e in range(4):  # the reference: each event's hard rows, vertex-shifted, then its pileup
        hs = np.zeros((n_hard[e], 11))
        hs[:, :9] = hard[h : h + n_hard[e]]
        hs[:, 6] += zpv[e]
        hs[:, 10] = zpv[e]
        rows += [hs, pu[p : p + n_pu[e]]]
        h, p = h + n_hard[e], p + n_pu[e]
    np.testing.assert_array_equal(chunk.parts, np.concatenate(rows))
    np.testing.assert_array_equal(chunk.off, [0, 5, 8, 10, 15])


def test_pileup_overlay_matches_a_per_vertex_loop() -> None:
    from trigkit.events.pythia import pileup

    parts = np.random.default_rng(1).normal(size=(5, 9))
    pool = pileup.Pool(parts, np.array([0, 2, 5]))
    q, counts = pileup.overlay_chunk(pool, np.random.default_rng(4), 3.0, 6)
    rng = np.random.default_rng(4)  # the same draws, in overlay_chunk's order
    n_pu = rng.poisson(3.0, 6)
    picks = rng.integers(0, 2, n_pu.sum())
    zs, rots = (
        rng.normal(0.0, pileup.SIGMA_Z_MM, n_pu.sum()),
        rng.uniform(-np.pi, np.pi, n_pu.sum()),
    )
    rows = []
    for k, z, phi in zip(picks, zs, rots, strict=True):
        c, s = np.cos(phi), np.sin(phi)
        for p in parts[pool.offsets[k] : pool.offsets[k + 1]]:
            x, y = c * p[0] - s * p[1], s * p[0] + c * p[1]
            vx, vy = c * p[4] - s * p[5], s * p[4] + c * p[5]
            rows.append([x, y, p[2], p[3], vx, vy, p[6] + z, p[7], p[8], 1.0, z])
    np.testing.assert_allclose(q, np.array(rows), rtol=0, atol=1e-12)
    ev = np.repeat(np.arange(6), n_pu)
    np.testing.assert_array_equal(counts, np.bincount(ev, np.diff(pool.offsets)[picks], 6))
    assert counts.sum() == len(q) > 0
