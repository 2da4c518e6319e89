"""A rich progress bar over the samples a command generates (one row per sample, plus the
Pythia minimum-bias pool when one is built)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from trigkit.events.samples import Sample, SampleSpec, make_sample


@contextmanager
def _bar() -> Iterator[object]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    cols = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*cols, console=Console(stderr=True)) as bar:
        yield bar


def generate_with_progress(
    specs: Sequence[SampleSpec],
    outs: Sequence[Path | None],
    workers: int = 1,
    cache: Path | None = None,
) -> list[Sample]:
    """``make_sample`` for each spec in turn, under one progress bar."""
    samples = []
    with _bar() as bar:
        for spec, out in zip(specs, outs, strict=True):
            tag = "toy" if spec.engine == "fast" else f"pythia mu={spec.mu:g}"
            tasks = {"events": bar.add_task(f"{spec.process} ({tag})", total=spec.n_events)}
            if spec.engine == "pythia" and spec.mu > 0:
                tasks["pool"] = bar.add_task("  minimum-bias pool", total=spec.pool_size)

            def tick(stage: str, n: int, tasks: dict = tasks) -> None:
                if stage in tasks:
                    bar.advance(tasks[stage], n)

            sample = make_sample(spec, out, tick, workers, cache)
            if "pool" in tasks:  # a pool read from its cache made no ticks
                bar.update(tasks["pool"], completed=spec.pool_size, visible=False)
            bar.update(tasks["events"], completed=spec.n_events)
            samples.append(sample)
    return samples
