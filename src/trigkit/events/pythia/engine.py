"""Run Pythia for a :class:`PythiaConfig`: seed blocks (``block``) on 1..N processes, weights.

Weights: sum(weight) = sigma x lumi_pb. sigma is Pythia's own estimate (``info.sigmaGen``,
mb -> pb, averaged over the blocks by their event counts) for qcd, ttbar and xhh, and the NNLO
value of ``hh_lhef`` for hh4b (whose hard process is ours). QCD is generated with a pT-hat bias
(pT-hat / pT-hat_min)^4; each event carries Pythia's compensating weight, normalised so the
sample sums to sigma x L: smooth weights, no few heavy events.

``workers`` processes each generate whole blocks; every block has its own seeds
(``block.block_seed``), so the sample does not depend on the worker count.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

import numpy as np

from trigkit.core import numba_extensions
from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.pythia import pileup, settings
from trigkit.events.pythia.block import BLOCK, BlockResult, block_sizes, generate_block
from trigkit.events.pythia.config import POOL_SEED, PythiaConfig

logger = logging.getLogger(__name__)

Progress = Callable[[str, int], None]
_POOLS: dict[Path, pileup.Pool] = {}  # per process: the pool a worker loaded once


def run(
    cfg: PythiaConfig,
    work: Path,
    progress: Progress | None = None,
    workers: int = 1,
    block: int = BLOCK,
) -> EventBatch:
    """Generate the sample (``work``: where the pool and Pythia's init tables go)."""
    if not isinstance(workers, int) or workers < 1:
        raise TrigkitError(f"workers (--workers) must be a positive integer, got {workers!r}")
    tick = progress or (lambda _stage, _n: None)
    lhef = "check.lhe" if cfg.process == "hh4b" else None  # read as a name only, not opened
    settings.check(settings.hard_settings(cfg, lhef), f"process {cfg.process}")
    tick("events", 0)  # work starts: a caller's events bar appears now, not after a block
    sizes = block_sizes(cfg.n_events, block)
    in_process = workers == 1 or len(sizes) == 1
    pool_path = None
    if cfg.mu > 0:
        pool_path = work / f"minbias-{cfg.pool_key()}.npz"
        # made here once if missing; loaded here only when this process runs the blocks (the
        # workers each read the file once)
        if not pool_path.exists() or (in_process and pool_path not in _POOLS):
            _POOLS[pool_path] = pileup.load_or_make(
                pool_path, cfg.pool_size, POOL_SEED, lambda n: tick("pool", n)
            )
    if in_process:
        results = []
        for i, n in enumerate(sizes):
            results.append(_block(cfg, work, i, n, pool_path))
            tick("events", n)
    else:
        results = _parallel(cfg, work, sizes, pool_path, min(workers, len(sizes)), tick)
    return _combine(cfg, sorted(results, key=lambda r: r.index))


def _block(
    cfg: PythiaConfig, work: Path, index: int, n: int, pool_path: Path | None
) -> BlockResult:
    """One block in this process (a worker's entry point: it loads the pool once)."""
    pool = None
    if pool_path is not None:
        if pool_path not in _POOLS:
            _POOLS[pool_path] = pileup.load_or_make(pool_path, cfg.pool_size, POOL_SEED)
        pool = _POOLS[pool_path]
    return generate_block(cfg, work, index, n, pool)


def _parallel(
    cfg: PythiaConfig,
    work: Path,
    sizes: list[int],
    pool_path: Path | None,
    workers: int,
    tick: Progress,
) -> list[BlockResult]:
    results: list[BlockResult] = []
    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding Pythia / numba
    init = numba_extensions.skip  # a worker runs trigkit's numpy-only kernels alone
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=init) as ex:
        futures: dict[Future[BlockResult], int] = {
            ex.submit(_block, cfg, work, i, n, pool_path): i for i, n in enumerate(sizes)
        }
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in done:
                    results.append(_result(fut, futures[fut]))
                    tick("events", sizes[futures[fut]])
        except BaseException:
            for fut in pending:
                fut.cancel()  # blocks not started yet are dropped; running ones finish
            raise
    return results


def _result(fut: Future[BlockResult], index: int) -> BlockResult:
    try:
        return fut.result()
    except TrigkitError:
        raise
    except Exception as exc:  # a worker that died or raised: one line naming the block
        raise TrigkitError(
            f"pythia worker failed on block {index}: {type(exc).__name__}: {exc}"
        ) from exc


def _combine(cfg: PythiaConfig, results: list[BlockResult]) -> EventBatch:
    batches = [r.batch for r in results]
    batch = batches[0] if len(batches) == 1 else EventBatch.concatenate(batches)
    counts = np.array([len(r.batch) for r in results], dtype=float)
    sigma_pb = float(np.dot([r.sigma_pb for r in results], counts) / counts.sum())
    bias = np.asarray(batch.weight, dtype=float)
    return replace(batch, weight=bias / bias.sum() * sigma_pb * cfg.lumi_pb)
