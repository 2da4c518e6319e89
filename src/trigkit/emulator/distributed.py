"""Emulate a menu over many files with dask.distributed.

The unit of work is a *slice* of a file (:func:`plan_slices`): a range of row groups of a
Parquet file, or a range of entries of a NanoAOD file (aligned to the reader's chunk size, so
the batches are the ones a single-process run reads). The plan aims at ~``TASKS_PER_WORKER``
tasks per worker thread of at least ``MIN_TASK_EVENTS`` events each, so one large file is
spread over the cluster too. HDF5 files are read whole by their reader, so each stays one task.

A worker reads its slice, attaches scores and runs the fused pass chunk by chunk, returning
small :class:`~trigkit.emulator.pipeline.RawChunk` objects (bits + a few observables). The
client concatenates them in input order and applies prescales per file, so the result is
identical to :func:`trigkit.emulator.pipeline.run_files`.

``workers=N`` starts a ``LocalCluster`` (N worker processes, one thread each, or threads with
``processes=False``); ``scheduler="tcp://host:8786"`` connects to a running cluster.

Faults: a worker that dies mid-task (killed, out of memory) loses only its tasks; the scheduler
reruns them elsewhere (up to ``distributed.scheduler.allowed-failures`` worker deaths per task,
then the run stops naming the slice). With ``skip_bad_files=True`` (:func:`emulate_files`) a
file that cannot be read, at planning (footer) or in a task (a corrupt row group), is left out
of the result and named in :attr:`DistributedRun.bad_files`; otherwise it stops the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.pipeline import (
    RawChunk,
    assemble_sample,
    evaluate_batch,
    file_fields,
    iter_file,
    sample_name,
)
from trigkit.emulator.result import SampleEvents, SkippedFile
from trigkit.emulator.schema import Menu
from trigkit.events.batch import EventBatch

log = logging.getLogger(__name__)

#: a task holds at least this many events (unless its whole file is smaller)
MIN_TASK_EVENTS = 100_000
#: aim at this many tasks per worker thread, so a slow task does not hold up the run
TASKS_PER_WORKER = 3
#: NanoAOD entries per chunk, as :func:`trigkit.events.nanoaod.iter_nanoaod` reads by default
NANOAOD_STEP = 100_000


@dataclass(frozen=True)
class Slice:
    """One task: a whole file (``kind="file"``), or units ``start:stop`` of it, where a unit is
    a Parquet row group (``kind="row groups"``) or a NanoAOD chunk of ``NANOAOD_STEP`` entries."""

    file_index: int
    path: str
    kind: str = "file"
    start: int = 0
    stop: int = 0
    first_event: int = 0
    events: int = 0  # 0 when not known without reading the file (HDF5)

    def describe(self) -> str:
        if self.kind == "file":
            return self.path
        rows = f"events {self.first_event}-{self.first_event + self.events - 1}"
        if self.kind == "row groups":
            groups = (
                f" {self.start}"
                if self.stop == self.start + 1
                else f"s {self.start}-{self.stop - 1}"
            )
            return f"{self.path}, row group{groups} ({rows})"
        return f"{self.path}, {rows}"


def _unit_sizes(path: str) -> tuple[str, list[int] | None]:
    """How a file can be split: its kind of unit and the events in each (None: not at all)."""
    from trigkit.events.sources import file_format

    kind = file_format(path)
    if kind == "parquet":
        from trigkit.events.parquet_io import row_group_sizes

        return "row groups", row_group_sizes(path)
    if kind == "nanoaod":
        from trigkit.events.nanoaod import count_entries

        n = count_entries(path)
        return "entries", [min(NANOAOD_STEP, n - a) for a in range(0, n, NANOAOD_STEP)]
    return "file", None


def _group(sizes: list[int], target: float, min_events: int) -> list[range]:
    """Consecutive units cut into ~``sum(sizes) / target`` groups of about equal events,
    none planned below ``min_events``."""
    total = sum(sizes)
    k = max(1, min(len(sizes), round(total / target), total // max(min_events, 1)))
    cum = np.concatenate([[0], np.cumsum(sizes)])
    cuts = {int(np.abs(cum - total * j / k).argmin()) for j in range(1, k)}  # nearest unit boundary
    bounds = sorted({0, len(sizes)} | {c for c in cuts if 0 < c < len(sizes)})
    return [range(a, b) for a, b in pairwise(bounds)]


def _split_file(
    index: int, path: str, kind: str, sizes: list[int] | None, target: float, min_events: int
) -> list[Slice]:
    if sizes is None or len(sizes) <= 1:
        return [Slice(index, path, events=sum(sizes or []))]
    first = [0, *np.cumsum(sizes).tolist()]
    return [
        Slice(index, path, kind, r.start, r.stop, first[r.start], first[r.stop] - first[r.start])
        for r in _group(sizes, target, min_events)
    ]


def plan_slices(
    paths: Sequence[str | Path],
    n_workers: int,
    *,
    min_events: int | None = None,
    tasks_per_worker: int = TASKS_PER_WORKER,
) -> list[Slice]:
    """The tasks for ``paths`` in input order: each file cut into slices of about
    ``max(min_events, total events / (n_workers * tasks_per_worker))`` events (``min_events``:
    ``MIN_TASK_EVENTS``). Reads only file footers / headers; an unreadable file is a
    TrigkitError."""
    min_events = MIN_TASK_EVENTS if min_events is None else min_events
    units = [_unit_sizes(str(p)) for p in paths]
    total = sum(sum(s) for _, s in units if s)
    target = max(min_events, total / max(1, n_workers * tasks_per_worker), 1)
    return [
        s
        for i, (p, (kind, sizes)) in enumerate(zip(paths, units, strict=True))
        for s in _split_file(i, str(p), kind, sizes, target, min_events)
    ]


def _read_slice(piece: Slice, menu: Menu | None = None) -> Iterator[EventBatch]:
    """The batches of ``piece``; with ``menu``, Parquet is read for the fields it needs only."""
    if piece.kind == "row groups":
        from trigkit.events.parquet_io import iter_parquet

        return iter_parquet(
            piece.path, range(piece.start, piece.stop), columns=file_fields(piece.path, menu)
        )
    if piece.kind == "entries":
        from trigkit.events.nanoaod import iter_nanoaod

        return iter_nanoaod(
            piece.path,
            step_size=NANOAOD_STEP,
            entry_start=piece.first_event,
            entry_stop=piece.first_event + piece.events,
        )
    return iter_file(piece.path, menu)


def evaluate_slice(menu: Menu, piece: Slice) -> list[RawChunk]:
    """Worker task: every chunk of one slice (cached or baseline scores). Errors name the slice."""
    cmenu = compile_menu(menu)
    try:
        return [evaluate_batch(cmenu, b, n_threads=1) for b in _read_slice(piece, menu)]
    except (TrigkitError, OSError, ValueError, KeyError) as exc:
        if piece.kind == "file" and isinstance(exc, TrigkitError):
            raise
        msg = (
            str(exc).removeprefix(f"{piece.path}: ").splitlines()[0]
            if str(exc)
            else type(exc).__name__
        )
        raise TrigkitError(f"{piece.describe()}: {msg}") from None


BadFile = SkippedFile  # a file left out of a run, and why (one line)


@dataclass(frozen=True)
class DistributedRun:
    """What a distributed run gives: one SampleEvents per good file, in input order."""

    samples: list[SampleEvents]
    indices: list[int]  # the input position of each good file (samples[k] is paths[indices[k]])
    bad_files: list[BadFile]


class LostWork(TrigkitError):
    """A task was lost with its worker more often than the scheduler retries."""


def _reason(exc: BaseException, path: str) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.removeprefix(f"{path}: ").removeprefix(f"{path}, ")


def _plan(
    paths: Sequence[str | Path], n_workers: int, skip_bad: bool
) -> tuple[list[Slice], list[int], list[BadFile]]:
    """The tasks for the files whose footers read, their input positions, and the bad files."""
    if not skip_bad:
        return plan_slices(paths, n_workers), list(range(len(paths))), []
    good, bad = [], []
    for i, p in enumerate(paths):
        try:
            _unit_sizes(str(p))
            good.append(i)
        except TrigkitError as exc:
            bad.append(BadFile(str(p), _reason(exc, str(p))))
    return plan_slices([paths[i] for i in good], n_workers), good, bad


def _submit(client, menu: Menu, plan: list[Slice]) -> list:
    return [
        client.submit(
            evaluate_slice,
            menu,
            s,
            pure=False,
            key=f"trigkit-emulate-{j}-{Path(s.path).name}-{s.start}",
        )
        for j, s in enumerate(plan)
    ]


def _file_chunks(dd, piece_futures: list[tuple[Slice, object]]) -> list[RawChunk]:
    """The chunks of one file's slices, in order; a slice whose task keeps killing workers
    stops the run naming it."""
    chunks: list[RawChunk] = []
    for piece, fut in piece_futures:
        try:
            chunks += fut.result()
        except dd.KilledWorker:
            raise LostWork(
                f"{piece.describe()}: its task was lost with a dask worker too often "
                "(distributed.scheduler.allowed-failures); the worker may run out of memory"
            ) from None
    return chunks


def _gather_in_order(
    dd,
    menu: Menu,
    paths: Sequence[str | Path],
    plan: list[Slice],
    futures: list,
    progress: Callable[[str], None] | None,
    skip_bad: bool,
) -> tuple[list[SampleEvents], list[int], list[BadFile]]:
    """One SampleEvents per file: its slices' chunks concatenated in order, then prescales."""
    cmenu = compile_menu(menu)
    out, kept, bad = [], [], []
    for i, path in enumerate(paths):
        mine = [(s, f) for s, f in zip(plan, futures, strict=True) if s.file_index == i]
        try:
            chunks = _file_chunks(dd, mine)
        except LostWork:
            raise
        except TrigkitError as exc:
            if not skip_bad:
                raise
            for _, f in mine:
                f.cancel()
            bad.append(BadFile(str(path), _reason(exc, str(path))))
            continue
        out.append(assemble_sample(cmenu, sample_name(path), chunks))
        kept.append(i)
        if progress:
            progress(str(path))
    return out, kept, bad


def _connect(dd, workers: int | None, scheduler: str | None, processes: bool):
    """(client, cluster or None) for a running scheduler or a new LocalCluster."""
    if scheduler is not None:
        try:
            return dd.Client(scheduler, timeout="10s"), None
        except OSError as exc:
            raise TrigkitError(f"cannot connect to dask scheduler {scheduler}: {exc}") from None
    cluster = dd.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None
    )
    return dd.Client(cluster), cluster


def run_files_distributed(
    menu: Menu,
    paths: Sequence[str | Path],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    processes: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[SampleEvents]:
    """One SampleEvents per file, equal to :func:`~trigkit.emulator.pipeline.run_files`; a bad
    file stops the run (see :func:`emulate_files` to leave bad files out)."""
    return emulate_files(
        menu, paths, workers=workers, scheduler=scheduler, processes=processes, progress=progress
    ).samples


def emulate_files(
    menu: Menu,
    paths: Sequence[str | Path],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    processes: bool = True,
    progress: Callable[[str], None] | None = None,
    skip_bad_files: bool = False,
) -> DistributedRun:
    """Run ``menu`` over ``paths`` on a dask cluster; ``skip_bad_files``: leave out (and name)
    the files that cannot be read instead of stopping."""
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
        # with --workers a bad file fails before the cluster starts
        early = _plan(paths, workers, skip_bad_files) if workers else None
        client, cluster = _connect(dd, workers, scheduler, processes)
        with client:
            plan, good, bad = early or _plan(paths, sum(client.nthreads().values()), skip_bad_files)
            good_paths = [paths[i] for i in good]
            log.info("%d files -> %d tasks", len(good_paths), len(plan))
            futures = _submit(client, menu, plan)
            samples, kept, late = _gather_in_order(
                dd, menu, good_paths, plan, futures, progress, skip_bad_files
            )
    finally:
        if cluster is not None:
            cluster.close()
        dlog.setLevel(old_level)
    bad_files = sorted([*bad, *late], key=lambda b: [str(p) for p in paths].index(b.path))
    for b in bad_files:
        log.warning("skipped bad file %s: %s", b.path, b.reason)
    return DistributedRun(samples, [good[k] for k in kept], bad_files)
