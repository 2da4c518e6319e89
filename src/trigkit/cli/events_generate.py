"""`trigkit events generate`: write a generated sample to Parquet with a progress bar."""

from __future__ import annotations

from pathlib import Path

import typer

ENGINES = ("pythia", "fast")


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def generate(
        process: str = typer.Option(
            ...,
            "--process",
            "-p",
            help="hh4b, qcd, ttbar (both engines); xhh, zjets (Z+jet), wjets (W+jet) (pythia).",
        ),
        events: int = typer.Option(..., "--events", "-n", help="Number of events.", min=1),
        seed: int = typer.Option(
            1, "--seed", help="Random seed (same seed -> identical file).", min=0
        ),
        out: Path = typer.Option(..., "--out", "-o", help="Output FILE.parquet."),
        lumi_pb: float = typer.Option(
            1000.0, "--lumi-pb", help="Weights sum to sigma x this (pb^-1)."
        ),
        engine: str = typer.Option(
            "pythia",
            "--engine",
            help="pythia: Pythia 8 showers + pileup + detector response (extra 'physics'). "
            "fast: the numba TOY generator, for unit tests only (its physics is imitated).",
        ),
        chunk_size: int = typer.Option(
            100_000, "--chunk-size", help="fast engine: events per chunk / row group.", min=1
        ),
        mu: float = typer.Option(60.0, "--mu", help="pythia: mean pileup interactions."),
        kappa_lambda: float = typer.Option(1.0, "--kappa-lambda", help="pythia hh4b: k_lambda."),
        pthat_min: float = typer.Option(
            15.0, "--pthat-min", help="pythia qcd, zjets, wjets: pT-hat min, GeV (bias reference)."
        ),
        z_decay: str = typer.Option(
            "all", "--z-decay", help="pythia zjets: all (Pythia's BRs) or bb (Z->bb only)."
        ),
        m_x: float = typer.Option(1000.0, "--m-x", help="pythia xhh: resonance mass, GeV."),
        pool_size: int = typer.Option(2000, "--pool-size", help="pythia: min-bias pool size."),
        pythia_set: list[str] = typer.Option(
            [], "--set", help="pythia: extra Pythia setting 'Key = value' (repeatable)."
        ),
        workers: int = typer.Option(
            1, "--workers", help="pythia: processes (same events for any count).", min=1
        ),
        cache: Path | None = typer.Option(
            None, "--cache-dir", help="pythia: sample cache (default $TRIGKIT_CACHE/pythia)."
        ),
    ) -> None:
        """Generate HH->4b / QCD / ttbar / V+jets events (jets, tracks, large-R jets, truth)."""
        from trigkit.core.errors import TrigkitError

        if engine not in ENGINES:
            raise TrigkitError(f"unknown --engine '{engine}'; valid: {', '.join(ENGINES)}")
        if engine == "fast":
            _fast(process, events, seed, out, lumi_pb, chunk_size)
            return
        from trigkit.cli.events_pythia import generate_pythia

        generate_pythia(
            process=process,
            events=events,
            seed=seed,
            out=out,
            lumi_pb=lumi_pb,
            mu=mu,
            kappa_lambda=kappa_lambda,
            pthat_min=pthat_min,
            z_decay=z_decay,
            m_x=m_x,
            pool_size=pool_size,
            settings=pythia_set,
            cache=cache,
            workers=workers,
        )


def _fast(process: str, events: int, seed: int, out: Path, lumi_pb: float, chunk_size: int) -> None:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from trigkit.events.generator import get_process, iter_generate
    from trigkit.events.parquet_io import check_destination, write_parquet

    proc = get_process(process)
    check_destination(out)
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"{process} seed={seed} (toy)", total=events)
        batches = iter_generate(process, events, seed, lumi_pb=lumi_pb, chunk_size=chunk_size)
        written = write_parquet(batches, out, progress=lambda n: bar.advance(task, n))
    console.print(
        f"wrote {written} {process} events to {out} with the TOY fast engine "
        f"(sigma = {proc.sigma_pb:.4g} pb, lumi = {lumi_pb:g} pb^-1, "
        f"sum w = {proc.sigma_pb * lumi_pb:.4g})"
    )
