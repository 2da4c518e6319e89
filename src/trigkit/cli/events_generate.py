"""`trigkit events generate`: write a generated sample to Parquet with a progress bar."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def generate(
        process: str = typer.Option(..., "--process", "-p", help="hh4b, qcd or ttbar."),
        events: int = typer.Option(..., "--events", "-n", help="Number of events.", min=1),
        seed: int = typer.Option(
            1, "--seed", help="Random seed (same seed -> identical file).", min=0
        ),
        out: Path = typer.Option(..., "--out", "-o", help="Output FILE.parquet."),
        lumi_pb: float = typer.Option(
            1000.0, "--lumi-pb", help="Weights sum to sigma x this (pb^-1)."
        ),
        chunk_size: int = typer.Option(
            100_000, "--chunk-size", help="Events per chunk / row group.", min=1
        ),
    ) -> None:
        """Generate HH->4b / QCD / ttbar events (jets, tracks, large-R jets, truth, weights)."""
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
            task = bar.add_task(f"{process} seed={seed}", total=events)
            batches = iter_generate(process, events, seed, lumi_pb=lumi_pb, chunk_size=chunk_size)
            written = write_parquet(batches, out, progress=lambda n: bar.advance(task, n))
        console.print(
            f"wrote {written} {process} events to {out} "
            f"(sigma = {proc.sigma_pb:.4g} pb, lumi = {lumi_pb:g} pb^-1, sum w = {proc.sigma_pb * lumi_pb:.4g})"
        )
