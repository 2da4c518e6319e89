"""Listings printed by the CLI: an event file's summary, the trainable models, the backends."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from rich.markup import escape
from rich.table import Table

from trigkit.events.summary import EventSummary
from trigkit.models.kinds import KINDS
from trigkit.models.registry import get_spec, names


class BackendRow(Protocol):
    """One backend, target or tool and whether it can be used (``trigkit backends``)."""

    kind: str
    name: str
    available: bool
    detail: str


def event_summary_table(file: Path, s: EventSummary) -> Table:
    """What `trigkit events read` found in ``file``: counts, b-jet multiplicity, mHH, triggers."""
    table = Table(title=f"events in {escape(str(file))}", show_header=True)
    table.add_column("quantity", overflow="fold")
    table.add_column("value", justify="right")
    table.add_row("process", escape(", ".join(s.processes) or "-"))
    table.add_row("events", str(s.n_events))
    table.add_row("sum of weights", f"{s.sum_weights:.6g}")
    table.add_row("jets", str(s.n_jets))
    table.add_row("mean jets / event", f"{s.mean_jets:.3f}")
    if s.n_jets and s.n_jets_unknown_flavour == s.n_jets:
        table.add_row("b-jet multiplicity", "n/a (no hadron-flavour truth)")
    else:
        for k, frac in enumerate(s.bjet_fractions):
            label = f"{k}" if k < len(s.bjet_fractions) - 1 else f">={k}"
            table.add_row(f"events with {label} b jets", f"{frac:.4f}")
    if s.mhh_quantiles:
        table.add_row("events with mHH truth", str(s.n_with_mhh))
        for p, q in s.mhh_quantiles:
            table.add_row(f"mHH {p:g}% quantile [GeV]", f"{q:.1f}")
    else:
        table.add_row("mHH quantiles", "n/a (no HH truth)")
    table.add_row("fat jets", "none" if s.n_fatjets is None else str(s.n_fatjets))
    if s.n_fatjets is not None:
        table.add_row("mean fat jets / event", f"{s.mean_fatjets:.3f}")
    table.add_row("trigger bits", str(s.n_trigger_bits))
    for name, count in s.trigger_counts:
        table.add_row(f"  {escape(name)}", f"{count} ({count / max(s.n_events, 1):.1%})")
    return table


def models_table() -> Table:
    """Every registered tagger model: its feature kind, classes and description."""
    t = Table("model", "features", "classes", "description")
    for n in names():
        s = get_spec(n)
        t.add_row(n, s.kind, "/".join(KINDS[s.kind].class_names), s.summary)
    return t


def backends_table(rows: Iterable[BackendRow]) -> Table:
    """Runtime backends, compile targets and external tools: available, or not and why."""
    table = Table(title="trigkit backends")
    for col in ("kind", "name", "status", "detail"):
        table.add_column(col)
    for row in rows:
        status = "[green]available[/]" if row.available else "[red]unavailable[/]"
        table.add_row(row.kind, row.name, status, escape(row.detail))
    return table
