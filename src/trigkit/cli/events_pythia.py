"""`trigkit events generate --engine pythia`: a cached Pythia sample copied to ``--out``."""

from __future__ import annotations

from pathlib import Path


def generate_pythia(
    *,
    process: str,
    events: int,
    seed: int,
    out: Path,
    lumi_pb: float,
    mu: float,
    kappa_lambda: float,
    pthat_min: float,
    m_x: float,
    pool_size: int,
    settings: list[str],
    cache: Path | None,
    workers: int = 1,
    z_decay: str = "all",
) -> None:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )

    from trigkit.core.errors import TrigkitError
    from trigkit.events.parquet_io import check_destination, read_parquet
    from trigkit.events.pythia.cache import cached_sample, copy_to
    from trigkit.events.pythia.config import PythiaConfig
    from trigkit.events.pythia.libs import fastjet, pythia8

    cfg = PythiaConfig(
        process=process,
        n_events=events,
        seed=seed,
        mu=mu,
        lumi_pb=lumi_pb,
        kappa_lambda=kappa_lambda,
        pthat_min=pthat_min,
        m_x=m_x,
        pool_size=pool_size,
        z_decay=z_decay,
        settings=tuple(settings),
    )
    if workers < 1:
        raise TrigkitError(f"--workers must be a positive integer, got {workers}")
    check_destination(out)
    pythia8(), fastjet()  # a missing extra fails here, before any work
    console = Console(stderr=True)
    cols = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn())
    names = {
        "events": (f"pythia {process} mu={mu:g}", events),
        "pool": ("minimum-bias pool", pool_size),
    }
    with Progress(*cols, TimeRemainingColumn(), console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, n: int) -> None:  # a bar appears with its first work: none on a hit
            if stage not in tasks:
                description, total = names[stage]
                tasks[stage] = bar.add_task(description, total=total)
            bar.advance(tasks[stage], n)

        path, hit = cached_sample(cfg, cache, advance, workers)
    copy_to(path, out)
    batch = read_parquet(out)
    console.print(
        f"wrote {len(batch)} {process} events (Pythia 8, mu = {mu:g}) to {out} "
        f"({'cache hit' if hit else 'generated'}: {path.name}; sum w = {batch.sum_weights:.4g}, "
        f"lumi = {lumi_pb:g} pb^-1)",
        soft_wrap=True,
    )
