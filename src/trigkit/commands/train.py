"""`trigkit train` and `trigkit evaluate` (owned by the models work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
