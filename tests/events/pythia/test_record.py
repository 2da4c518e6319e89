"""The column reader (``nextBatch(1)`` buffers) against Pythia's per-particle API."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("process", ["xhh", "ttbar", "qcd"])
def test_columns_equal_the_particle_api(process: str) -> None:
    """``nextBatch(n)`` read in bulk == ``next()`` n times read particle by particle, on two
    Pythia instances with the same seed (so the same events)."""
    pytest.importorskip("pythia8mc")
    from trigkit.events.pythia import block, columns, record, settings
    from trigkit.events.pythia.config import PythiaConfig

    cfg = settings.process_settings(PythiaConfig(process, 1, mu=0))
    bulk, single = settings.build(cfg, 3, "x"), settings.build(cfg, 3, "x")
    charges = block._Charges(bulk)
    cols, weight, pthat = block._next_chunk(bulk, 4, charges)
    recs = columns.read(cols, charges)
    assert len(recs) == len(cols) == 4
    seen_higgs = seen_partons = 0
    for e, fast in enumerate(recs):
        assert single.next()
        info = single.infoPython()
        assert weight[e] == info.weight() and np.isclose(pthat[e], info.pTHat(), rtol=1e-12)
        ref = record.read(single.event)
        for field in ("parts", "hadrons", "partons", "higgs", "higgs_b"):
            np.testing.assert_array_equal(getattr(fast, field), getattr(ref, field), field)
        np.testing.assert_array_equal(fast.mhh, ref.mhh)
        assert len(fast.parts) > 50 and (process == "qcd" or len(fast.hadrons) >= 1)
        seen_higgs += len(fast.higgs)
        seen_partons += len(fast.partons)
        particles = single.event.particles()
        lo, hi = cols.off[e], cols.off[e + 1]
        assert hi - lo == single.event.size()
        for i in range(3, len(particles)):  # the beams (1, 2) have no daughter list
            d = columns.daughters(int(cols.d1[lo + i]), int(cols.d2[lo + i]))
            assert d == list(particles[i].daughterList())
    assert seen_higgs == (8 if process == "xhh" else 0)
    assert seen_partons >= 8


def test_chunk_assembly_matches_a_per_vertex_loop() -> None:
    """One pass writes each event's hard particles (vertex-shifted) then its pileup vertices
    (rotated, shifted), as a plain loop over events and vertices does."""
    from trigkit.events.pythia import pileup

    rng = np.random.default_rng(0)
    n_hard = np.array([3, 0, 2, 4, 1, 2])
    hard = rng.normal(size=(n_hard.sum(), 9))
    zpv = rng.normal(size=len(n_hard))
    pool = pileup.Pool(rng.normal(size=(5, 9)), np.array([0, 2, 5]))
    ov = pileup.draw(pool, np.random.default_rng(4), 3.0, len(n_hard))
    parts, off = pileup.assemble(hard, n_hard, zpv, pool, ov)
    draws = np.random.default_rng(4)  # the same draws, in draw's order
    n_pu = draws.poisson(3.0, len(n_hard))
    picks = draws.integers(0, 2, n_pu.sum())
    zs = draws.normal(0.0, pileup.SIGMA_Z_MM, n_pu.sum())
    rots = draws.integers(0, 72, n_pu.sum()) * (2 * np.pi / 72)  # whole towers
    rows, counts, h, v = [], [], 0, 0
    for e in range(len(n_hard)):
        first = len(rows)
        for p in hard[h : h + n_hard[e]]:
            rows.append([*p[:6], p[6] + zpv[e], p[7], p[8], 0.0, zpv[e]])
        h += n_hard[e]
        for k, z, phi in zip(picks[v : v + n_pu[e]], zs[v:], rots[v:], strict=False):
            c, s = np.cos(phi), np.sin(phi)
            for p in pool.parts[pool.offsets[k] : pool.offsets[k + 1]]:
                x, y = c * p[0] - s * p[1], s * p[0] + c * p[1]
                vx, vy = c * p[4] - s * p[5], s * p[4] + c * p[5]
                rows.append([x, y, p[2], p[3], vx, vy, p[6] + z, p[7], p[8], 1.0, z])
        v += n_pu[e]
        counts.append(len(rows) - first)
    np.testing.assert_allclose(parts, np.array(rows), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(off, np.concatenate([[0], np.cumsum(counts)]))
    assert n_pu.sum() > 0 and (parts[:, 9] == 1).sum() > 0


def test_chunk_assembly_without_pileup() -> None:
    from trigkit.events.pythia import pileup

    hard = np.arange(18, dtype=float).reshape(2, 9)
    parts, off = pileup.assemble(hard, np.array([2, 0]), np.array([1.5, -2.0]), None, None)
    np.testing.assert_array_equal(off, [0, 2, 2])
    np.testing.assert_array_equal(parts[:, 6], hard[:, 6] + 1.5)
    np.testing.assert_array_equal(parts[:, 9:], [[0.0, 1.5], [0.0, 1.5]])


class _Short:
    """A Pythia stand-in whose nextBatch hands out at most ``step`` events of a real batch."""

    def __init__(self, batch, step: int, eof: bool = False) -> None:
        self.batch, self.step, self.eof, self.calls = batch, step, eof, 0

    def nextBatch(self, n: int, mode: str):  # noqa: N802 (Pythia's name)
        self.calls += 1
        k = min(n, self.step, len(self.batch))
        out, self.batch = self.batch[:k], self.batch[k:]
        return out

    def infoPython(self):  # noqa: N802
        return self

    def atEndOfFile(self) -> bool:  # noqa: N802
        return self.eof


def test_short_batches_are_topped_up_and_a_dry_source_fails_in_one_line() -> None:
    pytest.importorskip("pythia8mc")
    from trigkit.core.errors import TrigkitError
    from trigkit.events.pythia import block, settings
    from trigkit.events.pythia.config import PythiaConfig

    pythia = settings.build(settings.process_settings(PythiaConfig("ttbar", 1, mu=0)), 4, "x")
    real, charges = pythia.nextBatch(5, "skip"), block._Charges(pythia)
    whole, w_whole, pt_whole = block._next_chunk(_Short(real, 5), 5, charges)
    short = _Short(real, 2)
    parts, w_parts, pt_parts = block._next_chunk(short, 5, charges)
    assert short.calls == 3 and len(parts) == len(whole) == 5
    for field in ("off", "pid", "status", "d1", "d2", "p", "v"):
        np.testing.assert_array_equal(getattr(parts, field), getattr(whole, field), field)
    np.testing.assert_array_equal(w_parts, w_whole)
    np.testing.assert_array_equal(pt_parts, pt_whole)
    with pytest.raises(TrigkitError, match="end of the Les Houches file"):
        block._next_chunk(_Short(real[:3], 2, eof=True), 5, charges)
    with pytest.raises(TrigkitError, match="failed 100 events in a row"):
        block._next_chunk(_Short(real[:0], 2), 5, charges)


def _ttbar_batch(n: int):
    from trigkit.events.pythia import block, settings
    from trigkit.events.pythia.config import PythiaConfig

    pythia = settings.build(settings.process_settings(PythiaConfig("ttbar", 1, mu=0)), 4, "x")
    return pythia.nextBatch(n, "skip"), block._Charges(pythia)


def test_record_check_rejects_what_pythias_check_event_would() -> None:
    """columns.sound (the hard process runs with Check:event = off) keeps real records and
    rejects a NaN vertex, a final state short of the beams' momentum or of their charge."""
    pytest.importorskip("pythia8mc")
    from trigkit.events.pythia import columns

    batch, charges = _ttbar_batch(5)
    cols = columns.Columns.from_batch(batch)
    assert columns.sound(cols, charges).all()
    p, v, pid = cols.p.copy(), cols.v.copy(), cols.pid.copy()

    def final_row(e: int, want_pid: int | None = None) -> int:
        rows = np.arange(cols.off[e], cols.off[e + 1])
        rows = rows[cols.status[rows] > 0]
        return int(rows[pid[rows] == want_pid][0] if want_pid else rows[0])

    e_beams = cols.p[cols.off[1] + 1, 3] + cols.p[cols.off[1] + 2, 3]
    p[final_row(1), 2] += 2 * columns.EP_TOL * e_beams  # twice Pythia's tolerance
    p[final_row(2), 0] += 0.5 * columns.EP_TOL * e_beams  # half of it: kept, as by Pythia
    v[final_row(3), 2] = np.nan
    pions = [e for e in range(5) if (pid[cols.off[e] : cols.off[e + 1]] == 211).any()]
    q_row = final_row(pions[-1], 211)
    pid[q_row] = 111  # pi+ -> pi0: the final state is one unit of charge short
    bad = columns.Columns(cols.off, pid, cols.status, cols.d1, cols.d2, p, v)
    want = np.ones(5, bool)
    want[[1, 3, pions[-1]]] = False
    np.testing.assert_array_equal(columns.sound(bad, charges), want)


def test_rejected_records_are_dropped_and_topped_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record that fails the check leaves the chunk; the next event takes its place."""
    pytest.importorskip("pythia8mc")
    from trigkit.events.pythia import block, columns

    real, charges = _ttbar_batch(6)
    want, _, _ = block._next_chunk(_Short(real[1:], 5), 5, charges)
    sound = columns.sound
    first = [True]

    def reject_first(cols: columns.Columns, q: dict[int, float]) -> np.ndarray:
        ok = sound(cols, q)
        if first.pop() if first else False:
            ok[0] = False
        return ok

    monkeypatch.setattr(columns, "sound", reject_first)
    got, _, _ = block._next_chunk(_Short(real, 5), 5, charges)
    for field in ("off", "pid", "status", "p", "v"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field), field)


def test_gen_met_is_the_neutrinos_pt() -> None:
    """truth.gen_met (minus the visible final state's pT sum) against the record's neutrinos."""
    from trigkit.events.pythia import block, record, settings
    from trigkit.events.pythia.config import PythiaConfig

    pythia = settings.build(settings.process_settings(PythiaConfig("ttbar", 1, mu=0)), 5, "x")
    for _ in range(4):
        assert pythia.next()
        nu = [q for q in pythia.event.particles() if q.isFinal() and q.idAbs() in (12, 14, 16)]
        want = np.hypot(sum(q.px() for q in nu), sum(q.py() for q in nu))
        got = block._invisible_pt(record.read_final(pythia.event))
        assert got == pytest.approx(want, abs=1e-6)


def test_a_batch_that_fails_the_check_throughout_counts_as_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every record rejected (a setting that breaks them all): one line after 100 tries, not
    an endless loop of empty batches."""
    pytest.importorskip("pythia8mc")
    from trigkit.core.errors import TrigkitError
    from trigkit.events.pythia import block, columns

    real, charges = _ttbar_batch(3)

    class _Again(_Short):
        def nextBatch(self, n: int, mode: str):  # noqa: N802 (Pythia's name)
            self.calls += 1
            return self.batch[: min(n, self.step)]

    monkeypatch.setattr(columns, "sound", lambda cols, q: np.zeros(len(cols), dtype=bool))
    source = _Again(real, 3)
    with pytest.raises(TrigkitError, match="failed 100 events in a row"):
        block._next_chunk(source, 3, charges)
    assert source.calls == 100
