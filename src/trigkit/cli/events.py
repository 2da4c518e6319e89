"""`trigkit events ...`: generate, read and summarise event samples."""

from __future__ import annotations

import typer

events_app = typer.Typer(help="Generate, read and summarise event samples.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from trigkit.cli import events_generate, events_read, events_validate

    events_generate.register(events_app)
    events_read.register(events_app)
    events_validate.register(events_app)
    app.add_typer(events_app, name="events")
