"""`trigkit emulate` (owned by the emulator work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
