"""`trigkit events read` and `trigkit events info` (owned by the readers work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
