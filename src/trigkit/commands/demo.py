"""`trigkit demo` (end to end; owned by the lead)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
