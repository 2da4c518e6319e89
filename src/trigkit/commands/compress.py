"""`trigkit compress` (owned by the compression work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
