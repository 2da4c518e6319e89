"""Run Pythia for a :class:`PythiaConfig`: hard events, pileup overlay, detector, EventBatch.

Weights: sum(weight) = sigma x lumi_pb. sigma is Pythia's own estimate (``info.sigmaGen``,
mb -> pb) for qcd, ttbar and xhh, and the NNLO value of ``hh_lhef`` for hh4b (whose hard process
is ours). QCD is generated with a pT-hat bias (pT-hat / pT-hat_min)^4; each event carries
Pythia's compensating weight, normalised so the sample sums to sigma x L: smooth weights, no
few heavy events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.pythia import hh_lhef, l1, pileup, record, settings
from trigkit.events.pythia.config import POOL_SEED, PythiaConfig
from trigkit.events.pythia.detector import ChunkInput, reconstruct_chunk

logger = logging.getLogger(__name__)

CHUNK = 100
MB_TO_PB = 1e9
Progress = Callable[[str, int], None]


@dataclass
class HardSample:
    """The generated events of one chunk before the detector, with their Pythia weights."""

    chunk: ChunkInput
    bias: np.ndarray
    pthat: np.ndarray


def run(cfg: PythiaConfig, work: Path, progress: Progress | None = None) -> EventBatch:
    """Generate the sample (``work``: where the pool and the Les Houches file go)."""
    if cfg.process != "hh4b":
        return _generate(cfg, work, None, progress)
    lhef = work / f"hh4b-{cfg.digest()}.lhe"
    try:
        hh_lhef.write_lhef(lhef, cfg.n_events, cfg.seed, cfg.kappa_lambda, settings.E_CM_GEV)
        return _generate(cfg, work, lhef, progress)
    finally:
        lhef.unlink(missing_ok=True)


def _generate(
    cfg: PythiaConfig, work: Path, lhef: Path | None, progress: Progress | None
) -> EventBatch:
    tick = progress or (lambda _stage, _n: None)
    pythia = settings.build(
        [*settings.process_settings(cfg, str(lhef) if lhef else None), *cfg.settings],
        cfg.seed,
        f"process {cfg.process}",
        work / f"mpi-init-{cfg.process}.dat",
    )
    pool = None
    if cfg.mu > 0:
        path = work / f"minbias-{cfg.pool_key()}.npz"
        pool = pileup.load_or_make(path, cfg.pool_size, POOL_SEED, lambda n: tick("pool", n))
    rng = np.random.default_rng([cfg.seed, 0x5055])
    parts: list[EventBatch] = []
    biases: list[np.ndarray] = []
    for first in range(0, cfg.n_events, CHUNK):
        n = min(CHUNK, cfg.n_events - first)
        with settings.captured_stdout():  # Pythia's per-event warnings go to the C++ cout
            hard = _hard_chunk(pythia, n, pool, cfg.mu, rng)
        biases.append(hard.bias)
        parts.append(_to_batch(hard, cfg, seed=cfg.seed * 100_003 + first))
        tick("events", n)
    sigma_pb = _sigma_pb(cfg, pythia)
    batch = parts[0] if len(parts) == 1 else EventBatch.concatenate(parts)
    bias = np.concatenate(biases)
    return replace(batch, weight=bias / bias.sum() * sigma_pb * cfg.lumi_pb)


def _sigma_pb(cfg: PythiaConfig, pythia: Any) -> float:
    if cfg.process == "hh4b":
        return hh_lhef.sigma_4b_pb(cfg.kappa_lambda)
    return float(pythia.infoPython().sigmaGen()) * MB_TO_PB


def _next(pythia: Any) -> None:
    for _ in range(100):
        if pythia.next():
            return
        if pythia.infoPython().atEndOfFile():
            raise TrigkitError("Pythia reached the end of the Les Houches file early")
    raise TrigkitError("Pythia failed 100 events in a row; check the settings")


def _hard_chunk(
    pythia: Any, n: int, pool: pileup.Pool | None, mu: float, rng: np.random.Generator
) -> HardSample:
    recs, arrays, zpv = [], [], np.empty(n)
    bias, pthat = np.empty(n), np.empty(n)
    for i in range(n):
        _next(pythia)
        rec = record.read(pythia.event, pythia.process)
        info = pythia.infoPython()  # a fresh view: an old one keeps stale process fields
        bias[i], pthat[i] = info.weight(), info.pTHat()
        zpv[i] = rng.normal(0.0, pileup.SIGMA_Z_MM)
        hs = np.zeros((len(rec.parts), 11))
        hs[:, :9] = rec.parts
        hs[:, 6] += zpv[i]
        hs[:, 10] = zpv[i]
        if pool is not None:
            pu, _ = pileup.overlay(pool, rng, mu)
            hs = np.concatenate([hs, pu])
        recs.append(rec)
        arrays.append(hs)
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(a) for a in arrays], out=off[1:])
    chunk = ChunkInput(np.ascontiguousarray(np.concatenate(arrays)), off, zpv, recs)
    return HardSample(chunk, bias, pthat)


def _to_batch(hard: HardSample, cfg: PythiaConfig, seed: int) -> EventBatch:
    jets, fatjets, rho = reconstruct_chunk(hard.chunk, seed % 2**31)
    l1j, l1n = l1.l1_jets(hard.chunk.parts, hard.chunk.off, (seed + 3) % 2**31)
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
        }
    )
    return EventBatch(
        jets=jets,
        weight=hard.bias,
        truth=truth,
        fatjets=fatjets,
        l1jets=l1.to_awkward(l1j, l1n),
        process=cfg.process,
        lumi_pb=cfg.lumi_pb,
        source=f"pythia8:{cfg.process}:seed={cfg.seed}:mu={cfg.mu:g}:n={cfg.n_events}",
    )
