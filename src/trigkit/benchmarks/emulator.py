"""`trigkit bench emulator`: registers its command on the bench sub-app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
