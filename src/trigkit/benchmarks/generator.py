"""`trigkit bench generator`: event-generation throughput (events / minute).

Contenders: the numba generator with 1 thread and with all threads numba may use. Both must
produce identical events (a running sha256 over every jet, track, large-R jet, constituent and
weight buffer), which also proves the output does not depend on the thread count. Generation
covers the full EventBatch (jets with tracks, large-R jets with constituents, truth, weights);
compilation/cache loading is excluded by a warm-up run, Parquet writing is not timed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import typer

from trigkit.core.errors import TrigkitError


@dataclass(frozen=True)
class Contender:
    name: str
    threads: int
    events: int
    seconds: float
    cpu_seconds: float
    digest: str

    @property
    def events_per_minute(self) -> float:
        return 60.0 * self.events / self.seconds

    @property
    def events_per_minute_per_core(self) -> float:
        """Wall-clock throughput divided by the threads that produced it."""
        return self.events_per_minute / self.threads

    @property
    def events_per_cpu_minute(self) -> float:
        """Throughput per core-minute: meaningful even on a machine shared with other jobs."""
        return 60.0 * self.events / self.cpu_seconds


@dataclass(frozen=True)
class GeneratorBenchResult:
    process: str
    events: int
    chunk_size: int
    contenders: tuple[Contender, ...]
    identical: bool
    machine: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, object] | None = None

    def per_core_ratios(self) -> dict[str, float]:
        """Each multi-thread contender's events/min per core over the 1-thread contender's."""
        one = [c for c in self.contenders if c.threads == 1]
        if not one:
            return {}
        return {
            f"{c.name}_per_core_vs_numba x1": c.events_per_minute_per_core
            / one[0].events_per_minute
            for c in self.contenders
            if c.threads > 1
        }

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["contenders"] = [
            {
                **asdict(c),
                "events_per_minute": c.events_per_minute,
                "events_per_minute_per_core": c.events_per_minute_per_core,
                "events_per_cpu_minute": c.events_per_cpu_minute,
            }
            for c in self.contenders
        ]
        out["ratios_per_core"] = self.per_core_ratios()
        out["thread_counts"] = {c.name: c.threads for c in self.contenders}
        out["load_average"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
        out["benchmark"] = "generator"
        return out


def machine_info() -> dict[str, str]:
    import awkward
    import numba
    import numpy
    import pyarrow

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": str(os.cpu_count()),
        "affinity_cpus": str(len(os.sched_getaffinity(0)))
        if hasattr(os, "sched_getaffinity")
        else "?",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "numba_threading_layer": str(numba.config.THREADING_LAYER),
        "awkward": awkward.__version__,
        "pyarrow": pyarrow.__version__,
    }


def _digest_update(h: hashlib._Hash, batch) -> None:  # type: ignore[name-defined]
    import awkward as ak

    for arr in (batch.jets, batch.fatjets):
        form, length, buffers = ak.to_buffers(ak.to_packed(arr))
        h.update(str(length).encode())
        for key in sorted(buffers):
            h.update(memoryview(buffers[key]).cast("B"))
    h.update(batch.weight.tobytes())


def _run(process: str, events: int, seed: int, chunk_size: int, threads: int) -> Contender:
    import numba

    from trigkit.events.generator import iter_generate

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        h = hashlib.sha256()
        t0, c0 = time.perf_counter(), time.process_time()
        n = 0
        for batch in iter_generate(process, events, seed, chunk_size=chunk_size):
            n += len(batch)
            t_pause, c_pause = time.perf_counter(), time.process_time()
            _digest_update(h, batch)
            t0 += time.perf_counter() - t_pause  # hashing is bookkeeping, not generation
            c0 += time.process_time() - c_pause
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    finally:
        numba.set_num_threads(previous)
    return Contender(f"numba x{threads}", threads, n, seconds, cpu_seconds, h.hexdigest())


def run_generator_bench(
    process: str = "hh4b",
    events: int = 1_000_000,
    seed: int = 1,
    chunk_size: int = 100_000,
    on_contender: Callable[[Contender], None] | None = None,
) -> GeneratorBenchResult:
    """Time generation for 1 thread and for all threads; warm-up excluded."""
    import numba

    from trigkit.events.generator import generate

    generate(process, 2000, seed)  # compile / load the numba cache
    counts = sorted({1, numba.config.NUMBA_NUM_THREADS})
    contenders = []
    for threads in counts:
        c = _run(process, events, seed, chunk_size, threads)
        contenders.append(c)
        if on_contender is not None:
            on_contender(c)
    from trigkit.benchmarks.provenance import provenance

    identical = len({c.digest for c in contenders}) == 1
    threads = {c.name: c.threads for c in contenders}
    return GeneratorBenchResult(
        process,
        events,
        chunk_size,
        tuple(contenders),
        identical,
        machine_info(),
        provenance(threads),
    )


def register(app: typer.Typer) -> None:
    @app.command("generator")
    def bench_generator(
        process: str = typer.Option("hh4b", "--process", help="hh4b, qcd or ttbar."),
        events: int = typer.Option(
            1_000_000, "--events", "-n", min=1, help="Events per contender."
        ),
        seed: int = typer.Option(1, "--seed", min=0),
        chunk_size: int = typer.Option(100_000, "--chunk-size", min=1),
        out: Path = typer.Option(
            Path("bench/results/generator.json"), "--out", help="JSON result file."
        ),
        allow_older: bool = typer.Option(
            False, "--allow-older", help="Replace a result made by newer or unrelated code."
        ),
    ) -> None:
        """Generator throughput: events/minute with 1 thread vs all threads (identical output)."""
        from rich.console import Console
        from rich.table import Table

        from trigkit.benchmarks.provenance import check_overwrite, write_result
        from trigkit.events.generator import get_process

        get_process(process)
        check_overwrite(out, allow_older)
        console = Console(stderr=True)
        with console.status(f"generating {events} {process} events per contender ..."):
            result = run_generator_bench(process, events, seed, chunk_size)
        write_result(out, result.to_json(), allow_older)
        table = Table(title=f"generator: {process}, {events} events, jets+tracks+large-R jets")
        for col in (
            "contender",
            "wall s",
            "events / min",
            "per core",
            "CPU s",
            "events / CPU-min",
            "identical output",
        ):
            table.add_column(col)
        for c in result.contenders:
            table.add_row(
                c.name,
                f"{c.seconds:.2f}",
                f"{c.events_per_minute:,.0f}",
                f"{c.events_per_minute_per_core:,.0f}",
                f"{c.cpu_seconds:.2f}",
                f"{c.events_per_cpu_minute:,.0f}",
                str(result.identical),
            )
        Console().print(table)
        console.print(f"wrote {out}")
        if not result.identical:
            raise TrigkitError(
                "generator output differs between thread counts (see the JSON digests)"
            )
