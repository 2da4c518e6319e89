"""`trigkit compare BUNDLE [--data FILE]`: the original model vs every artifact of the bundle."""

from __future__ import annotations

from pathlib import Path

import typer


def _compare(
    bundle: Path = typer.Argument(
        ..., help="Bundle written by `trigkit compile` from a model file."
    ),
    data: Path | None = typer.Option(
        None, "--data", help="Model inputs (.npz in_<name> / .parquet); default: reference.npz."
    ),
    atol: float | None = typer.Option(
        None, "--atol", help="Absolute tolerance (default: the bundle's; fpga 0.05)."
    ),
    rtol: float = typer.Option(0.0, "--rtol", min=0.0, help="Relative tolerance."),
    csim: bool = typer.Option(
        False, "--csim", help="Also build and run the hls4ml C simulation (fpga; ~10 s)."
    ),
) -> None:
    """Compare the original model with each artifact per output; exit 1 beyond the tolerance."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from trigkit.runtime.compare import HIST_EDGES, compare_bundle

    result = compare_bundle(bundle, data, atol=atol, rtol=rtol, csim=csim)
    con = Console()
    con.print(escape(f"original: {result.original}; inputs: {result.data}"))
    table = Table("artifact", "output", "rows", "max abs", "max rel", "mismatches", "worst rows")
    for d in result.diffs:
        worst = ", ".join(f"{i} ({a:.2g})" for i, a in zip(d.worst_rows, d.worst_abs, strict=True))
        bad = f"{d.mismatches} (atol {d.atol:g}, rtol {d.rtol:g})"
        table.add_row(
            escape(d.artifact),
            escape(d.output),
            str(d.rows),
            f"{d.max_abs:.3g}",
            f"{d.max_rel:.3g}",
            bad,
            worst,
        )
    con.print(table)
    edges = [f"{e:g}" for e in HIST_EDGES]
    for d in result.diffs:
        bins = ", ".join(
            f"[{a}, {b}): {n}" for a, b, n in zip(edges[:-1], edges[1:], d.histogram, strict=True)
        )
        con.print(escape(f"{d.artifact}: rows by max |diff|: {bins}"))
    for note in result.notes:
        con.print(escape(note))
    if not result.ok:
        from trigkit.core.errors import TrigkitError

        bad = [d.artifact for d in result.diffs if d.mismatches] + list(result.failed)
        raise TrigkitError(
            f"{bundle}: FAIL - {', '.join(bad)} differ from the original beyond "
            "the tolerance (see the table)"
        )
    con.print("[green]OK[/]: every artifact agrees with the original within the tolerance")


def register(app: typer.Typer) -> None:
    app.command("compare")(_compare)
