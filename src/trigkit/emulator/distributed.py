"""Emulate a menu over many files with dask.distributed.

One task per file: the worker reads the file, attaches scores and runs the fused pass chunk by
chunk, returning small :class:`~trigkit.emulator.pipeline.RawChunk` objects (bits + a few
observables). The client concatenates them in input order and applies prescales, so the
result is identical to :func:`trigkit.emulator.pipeline.run_files`.

``workers=N`` starts a ``LocalCluster`` (N worker processes, one thread each, or threads with
``processes=False``); ``scheduler="tcp://host:8786"`` connects to a running cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.pipeline import (
    RawChunk,
    assemble_sample,
    evaluate_batch,
    iter_file,
    sample_name,
)
from trigkit.emulator.result import SampleEvents
from trigkit.emulator.schema import Menu
from trigkit.errors import TrigkitError
from trigkit.lazy import require

log = logging.getLogger(__name__)


def evaluate_file(menu: Menu, path: str) -> list[RawChunk]:
    """Worker task: every chunk of one file (cached or baseline scores)."""
    cmenu = compile_menu(menu)
    return [evaluate_batch(cmenu, b, n_threads=1) for b in iter_file(path)]


def run_files_distributed(menu: Menu, paths: Sequence[str | Path], *, workers: int | None = None,
                          scheduler: str | None = None, processes: bool = True,
                          progress: Callable[[str], None] | None = None) -> list[SampleEvents]:
    if (workers is None) == (scheduler is None):
        raise TrigkitError("give exactly one of --workers N or --scheduler ADDRESS")
    if workers is not None and workers < 1:
        raise TrigkitError(f"--workers must be >= 1, got {workers}")
    dd = require("distributed", "dist")
    cluster = None
    # dask logs every scheduler/nanny/worker start and stop at INFO; keep them for -v / --debug
    dlog = logging.getLogger("distributed")
    old_level = dlog.level
    if not logging.getLogger("trigkit").isEnabledFor(logging.INFO):
        dlog.setLevel(logging.WARNING)
    try:
        if scheduler is not None:
            try:
                client = dd.Client(scheduler, timeout="10s")
            except OSError as exc:
                raise TrigkitError(f"cannot connect to dask scheduler {scheduler}: {exc}") from None
        else:
            cluster = dd.LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                                      dashboard_address=None)
            client = dd.Client(cluster)
        with client:
            futures = [client.submit(evaluate_file, menu, str(p), key=f"trigkit-emulate-{i}-{Path(p).name}", pure=False)
                       for i, p in enumerate(paths)]
            out = []
            cmenu = compile_menu(menu)
            for path, fut in zip(paths, futures, strict=True):
                out.append(assemble_sample(cmenu, sample_name(path), fut.result()))
                if progress:
                    progress(str(path))
            return out
    finally:
        if cluster is not None:
            cluster.close()
        dlog.setLevel(old_level)
