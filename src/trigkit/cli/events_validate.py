"""`trigkit events validate SAMPLE...`: a table (and plots) against published references."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_cmd(
        samples: list[Path] = typer.Argument(..., help="Event files (.parquet, .h5, .root)."),
        plots: Path | None = typer.Option(None, "--plots", help="Write PNG figures here."),
        json_out: Path | None = typer.Option(None, "--json", help="Write the rows as JSON here."),
    ) -> None:
        """Compare samples with published references: one row per quantity, each with its source."""
        import json

        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        from trigkit.core.atomic import write_text
        from trigkit.events.sources import open_events
        from trigkit.report.event_validation import validate
        from trigkit.report.event_validation_plots import write_plots

        batches = [open_events(p) for p in samples]
        rows = validate(batches)
        table = Table(title="sample vs references")
        for col in (
            "quantity",
            "sample",
            "value",
            "68% interval",
            "reference range",
            "status",
            "reference",
        ):
            table.add_column(col)
        for r in rows:
            interval = "" if r.lo != r.lo else f"[{r.lo:.3g}, {r.hi:.3g}]"
            value = "" if r.value != r.value else f"{r.value:.3g}"
            cells = (r.quantity, r.sample, value, interval, f"{r.ref_lo:g}-{r.ref_hi:g}")
            table.add_row(*(escape(c) for c in (*cells, r.status, r.reference)))
        console = Console()
        if not console.is_terminal:  # a file or a pipe: no wrapping of the reference column
            console = Console(width=240)
        console.print(table)
        if json_out is not None:
            write_text(json_out, json.dumps([r.as_dict() for r in rows], indent=1, default=float))
        if plots is not None:
            for path in write_plots(batches, plots):
                Console(stderr=True).print(f"wrote {path}")
