"""`trigkit compile` and `trigkit report BUNDLE` (owned by the FPGA work; GPU target dispatches to trigkit.compile.target_gpu)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
