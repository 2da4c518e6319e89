"""Seeded, numba-accelerated event generator: ``hh4b``, ``qcd`` and ``ttbar`` samples.

>>> batch = generate("hh4b", 1000, seed=1)          # one EventBatch
>>> for chunk in iter_generate("qcd", 10**6, seed=2):  # chunks of 100k, same events as generate()
...     ...

Event ``i`` of a sample depends only on (process, seed, i): chunking and thread count never change
the output. Weights are normalised over the whole sample so that sum(w) = sigma x ``lumi_pb``
(sigma in pb; see :func:`get_process`): hh4b 0.01168 pb (34.43 fb x BR(bb)^2),
ttbar 419.7 pb (923.6 pb x BR(W->qq')^2), qcd 1.37e9 pb (pT-hat > 15 GeV, Pythia 8 LO bins).
Physics choices are documented in the per-process and per-object modules (hh4b, qcd, ttbar,
radiation, jets, tracks, fatjets, constituents).
Generated truth adds ``pthat`` (QCD pT-hat, NaN otherwise) to the EventBatch truth fields.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch

logger = logging.getLogger(__name__)

MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Process:
    name: str
    proc_id: int
    sigma_pb: float
    description: str


def _processes() -> dict[str, Process]:
    from trigkit.events.generator import hh4b, qcd, ttbar
    from trigkit.events.generator.kernels import PROC_HH4B, PROC_QCD, PROC_TTBAR

    return {
        "hh4b": Process("hh4b", PROC_HH4B, hh4b.SIGMA_PB, "gg->HH->4b, 13.6 TeV"),
        "qcd": Process(
            "qcd", PROC_QCD, float(qcd.PTHAT_SIGMA_PB.sum()), "QCD 2->2 multijet, pT-hat > 15 GeV"
        ),
        "ttbar": Process("ttbar", PROC_TTBAR, ttbar.SIGMA_PB, "ttbar all-hadronic, 13.6 TeV"),
    }


PROCESS_NAMES = ("hh4b", "qcd", "ttbar")


def get_process(name: str) -> Process:
    procs = _processes()
    if name not in procs:
        raise TrigkitError(f"unknown process '{name}'; valid: {', '.join(PROCESS_NAMES)}")
    return procs[name]


def _strata(process: Process) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from trigkit.events.generator import qcd

    if process.name != "qcd":
        one = np.ones(1)
        return one, one, one
    edges = qcd.PTHAT_EDGES
    return edges[:-1].copy(), edges[1:].copy(), qcd.stratum_slopes()


def sample_weights(process: str, n_events: int, lumi_pb: float, first: int, n: int) -> np.ndarray:
    """Weights of events first..first+n-1 in a sample of n_events; the full sample sums to
    sigma x lumi_pb (QCD: stratum k = i % K holds n_k events of weight sigma_k lumi / n_k,
    rescaled by sigma / sigma(populated strata) when n_events < K)."""
    proc = get_process(process)
    idx = np.arange(first, first + n, dtype=np.int64)
    if process != "qcd":
        return np.full(n, proc.sigma_pb * lumi_pb / n_events)
    from trigkit.events.generator import qcd

    sig = qcd.PTHAT_SIGMA_PB
    k_all = len(sig)
    counts = np.full(k_all, n_events // k_all, dtype=np.int64)
    counts[: n_events % k_all] += 1
    populated = counts > 0
    scale = sig.sum() / sig[populated].sum()
    per_event = np.where(populated, sig * scale * lumi_pb / np.maximum(counts, 1), 0.0)
    return per_event[idx % k_all]


def _check(process: str, n_events: int, seed: int, lumi_pb: float, chunk_size: int) -> Process:
    proc = get_process(process)
    if not isinstance(n_events, (int, np.integer)) or n_events < 1:
        raise TrigkitError(f"n_events must be a positive integer, got {n_events!r}")
    if not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise TrigkitError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    if not lumi_pb > 0:
        raise TrigkitError(f"lumi_pb must be positive, got {lumi_pb!r}")
    if chunk_size < 1:
        raise TrigkitError(f"chunk_size must be positive, got {chunk_size!r}")
    return proc


def iter_generate(
    process: str, n_events: int, seed: int, *, lumi_pb: float = 1000.0, chunk_size: int = 100_000
) -> Iterator[EventBatch]:
    """Yield the sample in chunks of at most ``chunk_size`` events (arguments checked at once)."""
    proc = _check(process, n_events, seed, lumi_pb, chunk_size)
    return _chunks(proc, int(n_events), int(seed), float(lumi_pb), int(chunk_size))


def _chunks(
    proc: Process, n_events: int, seed: int, lumi_pb: float, chunk_size: int
) -> Iterator[EventBatch]:
    from trigkit.events.generator.build import generate_chunk, to_batch

    strata = _strata(proc)
    source = f"trigkit-generator:{proc.name}:seed={seed}:n={n_events}"
    for first in range(0, n_events, chunk_size):
        n = min(chunk_size, n_events - first)
        jets, fatjets, truth = generate_chunk(proc.proc_id, seed, first, n, strata)
        weight = sample_weights(proc.name, n_events, lumi_pb, first, n)
        logger.debug("generated %s events %d..%d", proc.name, first, first + n)
        yield to_batch(jets, fatjets, truth, weight, proc.name, lumi_pb, source)


def generate(process: str, n_events: int, seed: int, *, lumi_pb: float = 1000.0) -> EventBatch:
    """The whole sample as one EventBatch (same events as :func:`iter_generate`)."""
    chunks = list(iter_generate(process, n_events, seed, lumi_pb=lumi_pb))
    return chunks[0] if len(chunks) == 1 else EventBatch.concatenate(chunks)


__all__ = ["PROCESS_NAMES", "Process", "generate", "get_process", "iter_generate", "sample_weights"]
