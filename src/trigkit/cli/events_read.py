"""`trigkit events read` and `trigkit events info` (owned by the readers work)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from trigkit.events.batch import EventBatch
    from trigkit.events.summary import EventSummary

STEP_HELP = "Events per chunk while reading."


def register(app: typer.Typer) -> None:
    @app.command("info")
    def info_cmd(
        file: Path = typer.Argument(..., help="Event file: .root (NanoAOD), .h5/.hdf5, .parquet."),
        top: int = typer.Option(10, "--top", min=0, help="How many trigger bits to list."),
        step_size: int = typer.Option(100_000, "--step-size", min=1, help=STEP_HELP),
    ) -> None:
        """Print a sample's counts, jets/event, b-jet multiplicity, mHH quantiles and \
trigger bits."""
        from trigkit.events.sources import iter_events
        from trigkit.events.summary import summarize

        summary = summarize(
            _with_progress(iter_events(file, step_size=step_size), file), top_triggers=top
        )
        _print_summary(file, summary)

    @app.command("read")
    def read_cmd(
        file: Path = typer.Argument(..., help="Input: .root (NanoAOD), .h5/.hdf5, .parquet."),
        out: Path = typer.Option(..., "--out", "-o", help="Output: .parquet or .h5/.hdf5."),
        lumi_pb: float = typer.Option(
            1.0, "--lumi-pb", help="NanoAOD: luminosity (pb^-1) the weights refer to."
        ),
        xsec_pb: float | None = typer.Option(
            None, "--xsec-pb", help="NanoAOD: cross-section (pb); weights then sum to xsec x lumi."
        ),
        step_size: int = typer.Option(100_000, "--step-size", min=1, help=STEP_HELP),
    ) -> None:
        """Convert any supported event file to Parquet or HDF5 (written atomically)."""
        from rich.console import Console

        n = convert(file, out, lumi_pb=lumi_pb, xsec_pb=xsec_pb, step_size=step_size)
        Console().print(f"wrote {n} events to {out}")


def convert(
    file: Path,
    out: Path,
    *,
    lumi_pb: float = 1.0,
    xsec_pb: float | None = None,
    step_size: int = 100_000,
) -> int:
    """Read ``file`` and write it to ``out`` (format by suffix); returns the number of events."""
    from trigkit.core.errors import TrigkitError
    from trigkit.events.batch import EventBatch
    from trigkit.events.sources import OUTPUT_FORMATS, file_format, iter_events

    kind = OUTPUT_FORMATS.get(out.suffix.lower())
    if kind is None:
        raise TrigkitError(
            f"{out}: unsupported output type '{out.suffix or '(none)'}'; "
            "expected .parquet or .h5/.hdf5"
        )
    in_kind = file_format(file)
    if out.exists() and out.resolve() == file.resolve():
        raise TrigkitError(f"{out}: output would overwrite the input file")
    kw: dict[str, object] = {"step_size": step_size}
    if in_kind == "nanoaod":
        kw.update(lumi_pb=lumi_pb, xsec_pb=xsec_pb)
    elif xsec_pb is not None or lumi_pb != 1.0:
        raise TrigkitError(f"{file}: --xsec-pb/--lumi-pb apply to NanoAOD input only")
    batches = _with_progress(iter_events(file, **kw), file)
    if kind == "parquet":
        from trigkit.events.parquet_io import write_parquet

        return write_parquet(batches, out)  # streams chunk by chunk, atomically
    from trigkit.events.hdf5 import write_hdf5

    chunks = list(batches)
    if not chunks:
        raise TrigkitError(f"{file}: holds no events")
    batch = chunks[0] if len(chunks) == 1 else EventBatch.concatenate(chunks)
    write_hdf5(batch, out)
    return len(batch)


def _with_progress(batches: Iterator[EventBatch], file: Path) -> Iterator[EventBatch]:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:  # no live display into logs or pipes
        yield from batches
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"reading {file.name}", total=None)
        n = 0
        for batch in batches:
            n += len(batch)
            progress.update(task, description=f"reading {file.name}: {n} events")
            yield batch


def _print_summary(file: Path, s: EventSummary) -> None:
    from rich.console import Console

    from trigkit.report.listings import event_summary_table

    Console().print(event_summary_table(file, s))
