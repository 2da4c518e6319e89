"""`trigkit backends`: every optional backend, available or not and why."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("backends")
    def backends_cmd() -> None:
        """List runtime backends, compile targets and external tools: available / unavailable \
and why."""
        from rich.console import Console

        from trigkit.cli.inventory import all_backends
        from trigkit.report.listings import backends_table

        Console().print(backends_table(all_backends()))
