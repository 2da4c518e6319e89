"""`trigkit backends`: every optional backend, available or not and why."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("backends")
    def backends_cmd() -> None:
        """List runtime backends, compile targets and external tools: available / unavailable and why."""
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        from trigkit.cli.inventory import all_backends

        table = Table(title="trigkit backends")
        for col in ("kind", "name", "status", "detail"):
            table.add_column(col)
        for row in all_backends():
            status = "[green]available[/]" if row.available else "[red]unavailable[/]"
            table.add_row(row.kind, row.name, status, escape(row.detail))
        Console().print(table)
