"""One seed block of a sample: its own Pythia instance and seeds, so blocks run anywhere.

A sample of ``n`` events is cut into blocks of ``BLOCK`` events. Block ``i`` draws everything
(Pythia's seed, the hh4b Les Houches events, vertices, pileup picks, detector smearing) from
seeds derived from ``(cfg.seed, i)`` alone, so a sample is the same whichever process ran
which block, and in which order. Inside a block, events are generated and go through the
detector in chunks of ``CHUNK``: one ``pythia.nextBatch(CHUNK)`` (records read in bulk by
``columns``), one pileup overlay pass, and each numba kernel and fastjet call sees the whole
chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.pythia import columns, hh_lhef, l1build, pileup, settings
from trigkit.events.pythia.config import MAX_PYTHIA_SEED, PythiaConfig
from trigkit.events.pythia.detector import ChunkInput, reconstruct_chunk
from trigkit.events.pythia.tracking import tracking_truth

BLOCK = 500
CHUNK = 100
MB_TO_PB = 1e9


@dataclass
class BlockResult:
    """A block's events (weights still Pythia's bias weights) and its cross-section estimate."""

    index: int
    batch: EventBatch
    sigma_pb: float


def block_seed(seed: int, index: int) -> int:
    """Pythia seed of block ``index``: a hash of (sample seed, index), in Pythia's range."""
    state = np.random.SeedSequence([seed, index, 0x424C4B]).generate_state(1)[0]
    return int(state) % (MAX_PYTHIA_SEED - 2)


def block_sizes(n_events: int, block: int = BLOCK) -> list[int]:
    """Events of each block (the last one holds the remainder)."""
    return [min(block, n_events - first) for first in range(0, n_events, block)]


def generate_block(
    cfg: PythiaConfig, work: Path, index: int, n: int, pool: pileup.Pool | None
) -> BlockResult:
    """Generate and reconstruct block ``index`` (``n`` events); ``work``: Pythia's files."""
    seed = block_seed(cfg.seed, index)
    lhef = work / f"hh4b-{cfg.digest()}-{index}.lhe" if cfg.process == "hh4b" else None
    try:
        if lhef is not None:
            hh_lhef.write_lhef(lhef, n, seed, cfg.kappa_lambda, settings.E_CM_GEV)
        pythia = settings.build(
            settings.hard_settings(cfg, str(lhef) if lhef else None),
            seed,
            f"process {cfg.process}",
            work / f"mpi-init-{cfg.process}.dat",
        )
        rng = np.random.default_rng([seed, 0x5055])
        parts = []
        for first in range(0, n, CHUNK):
            with settings.captured_stdout():  # Pythia's per-event warnings go to C++ cout
                chunk = _hard_chunk(pythia, min(CHUNK, n - first), pool, cfg.mu, rng)
            parts.append(_to_batch(chunk, cfg, seed=seed * 7 + first))
        sigma = _sigma_pb(cfg, pythia)
    finally:
        if lhef is not None:
            lhef.unlink(missing_ok=True)
    batch = parts[0] if len(parts) == 1 else EventBatch.concatenate(parts)
    return BlockResult(index, batch, sigma)


def _sigma_pb(cfg: PythiaConfig, pythia: Any) -> float:
    if cfg.process == "hh4b":
        return hh_lhef.sigma_4b_pb(cfg.kappa_lambda)
    return float(pythia.infoPython().sigmaGen()) * MB_TO_PB


def _next_chunk(
    pythia: Any, n: int, charges: dict[int, float]
) -> tuple[columns.Columns, np.ndarray, np.ndarray]:
    """The next ``n`` events as columns, with their weights and pT-hat: one
    ``nextBatch(n, "skip")`` (n ``next()`` calls, records copied out in C++; failed events are
    skipped, and so are records that fail :func:`columns.sound`; a short batch is topped
    up)."""
    batches: list[tuple[Any, columns.Columns]] = []
    have, failures = 0, 0
    while have < n:
        batch, cols = _sound_events(pythia.nextBatch(n - have, "skip"), charges)
        if cols is None:
            if pythia.infoPython().atEndOfFile():
                raise TrigkitError("Pythia reached the end of the Les Houches file early")
            failures += 1
            if failures >= 100:
                raise TrigkitError("Pythia failed 100 events in a row; check the settings")
            continue
        batches.append((batch, cols))
        have += len(batch)
    if len(batches) == 1:
        batch, cols = batches[0]
    else:
        batch = ak.to_packed(ak.concatenate([b for b, _ in batches]))
        cols = columns.Columns.from_batch(batch)
    info = batch["info"]
    weight = ak.to_numpy(info["weights"][:, 0]).astype(np.float64)
    pthat = np.sqrt(ak.to_numpy(info["pT2Hat"]).astype(np.float64))
    return cols, weight, pthat


def _sound_events(batch: Any, charges: dict[int, float]) -> tuple[Any, columns.Columns | None]:
    """``batch`` without the events whose records fail :func:`columns.sound`, and its
    columns (None when no event is left)."""
    if len(batch) == 0:
        return batch, None
    cols = columns.Columns.from_batch(batch)
    good = columns.sound(cols, charges)
    if good.all():
        return batch, cols
    batch = ak.to_packed(batch[good])
    return batch, columns.Columns.from_batch(batch) if len(batch) else None


class _Charges(dict[int, float]):
    """Electric charge per PDG id, asked of Pythia's particle data once per id."""

    def __init__(self, pythia: Any) -> None:
        super().__init__()
        self._data = pythia.particleData

    def __missing__(self, pid: int) -> float:
        self[pid] = charge = float(self._data.charge(pid))
        return charge


@dataclass
class _Hard:
    """A chunk's generated events before the detector, with their Pythia weights."""

    chunk: ChunkInput
    bias: np.ndarray
    pthat: np.ndarray


def _hard_chunk(
    pythia: Any, n: int, pool: pileup.Pool | None, mu: float, rng: np.random.Generator
) -> _Hard:
    charges = _Charges(pythia)
    cols, bias, pthat = _next_chunk(pythia, n, charges)
    recs = columns.read(cols, charges)
    zpv = rng.normal(0.0, pileup.SIGMA_Z_MM, n)
    hard = np.concatenate([r.parts for r in recs])
    ev = np.repeat(np.arange(n), [len(r.parts) for r in recs])
    keep = pileup.in_acceptance(hard)  # beam remnants and other very forward particles out
    hard, n_hard = hard[keep], np.bincount(ev[keep], minlength=n).astype(np.int64)
    if pool is None:
        parts, off = pileup.assemble(hard, n_hard, zpv, None, None)
        return _Hard(ChunkInput(parts, off, zpv, recs), bias, pthat)
    overlay = pileup.draw(pool, rng, mu, n)
    near = overlay.near(zpv)  # written out for the full detector; the rest: pool response
    parts, off = pileup.assemble(hard, n_hard, zpv, pool, overlay, near)
    far = pileup.far_vertices(pool, overlay, near)
    return _Hard(ChunkInput(parts, off, zpv, recs, far), bias, pthat)


def _invisible_pt(parts: np.ndarray) -> float:
    """pT of the invisible particles (neutrinos): minus the vector sum of the visible final
    state's (the record's every visible particle, beam remnants included), GeV."""
    return float(np.hypot(parts[:, 0].sum(), parts[:, 1].sum()))


def _to_batch(hard: _Hard, cfg: PythiaConfig, seed: int) -> EventBatch:
    jets, fatjets, rho, trk_stats = reconstruct_chunk(hard.chunk, seed % 2**31)
    l1jets, l1_zvtx, met = l1build.l1_objects(hard.chunk, seed)
    recs = hard.chunk.records
    hpt = [np.sort(r.higgs[:, 0])[::-1] if len(r.higgs) == 2 else np.full(2, np.nan) for r in recs]
    truth = ak.zip(
        {
            "mhh": np.array([r.mhh for r in recs], dtype=np.float32),
            "h1_pt": np.array([h[0] for h in hpt], dtype=np.float32),
            "h2_pt": np.array([h[1] for h in hpt], dtype=np.float32),
            "pthat": hard.pthat.astype(np.float32),
            "rho": rho.astype(np.float32),
            "pv_z": hard.chunk.zpv.astype(np.float32),
            "gen_met": np.array([_invisible_pt(r.parts) for r in recs], dtype=np.float32),
            "l1_met": met[:, 0].astype(np.float32),
            "l1_met_phi": met[:, 1].astype(np.float32),
            "l1_pv_z": l1_zvtx.astype(np.float32),
            **tracking_truth(trk_stats),
        }
    )
    return EventBatch(
        jets=jets,
        weight=hard.bias,
        truth=truth,
        fatjets=fatjets,
        l1jets=l1jets,
        process=cfg.process,
        lumi_pb=cfg.lumi_pb,
        source=f"pythia8:{cfg.process}:seed={cfg.seed}:mu={cfg.mu:g}:n={cfg.n_events}",
    )
