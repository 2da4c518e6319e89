"""The RTL pipeline flags shared by ``compile`` (FPGA target) and ``report``: one declaration
each (flag, default, bounds, help), prefixed with where the option applies, and
:func:`build_rtl_options`, the one place they become an :class:`RtlOptions`."""

from __future__ import annotations

from typing import Any

import typer

from trigkit.firmware.rtl.options import RtlOptions, parse_cutoffs


def rtl_cutoff(prefix: str) -> Any:
    return typer.Option(
        "5",
        "--rtl-cutoff",
        help=f"{prefix} da4ml latency cutoff (adder delays per stage); 'auto' or a "
        "list '3,4,6': the fewest stages whose yosys timing estimate meets the clock.",
    )


def rtl_delay_model(prefix: str) -> Any:
    return typer.Option(
        "da4ml",
        "--rtl-delay-model",
        help=f"{prefix} pipeline cuts: 'da4ml' (adder count) or 'carry' "
        "(estimated carry-chain delay; --rtl-cutoff in ns of logic per stage).",
    )


def timing_model(prefix: str) -> Any:
    return typer.Option(
        "auto",
        "--timing-model",
        help=f"{prefix} RTL timing preset: auto (from the part), 7series or ultrascale+.",
    )


def rtl_rebalance(prefix: str) -> Any:
    return typer.Option(
        0,
        "--rtl-rebalance",
        min=0,
        max=10,
        help=f"{prefix} needs --rtl-delay-model carry; re-cuts a design that misses the "
        "clock up to N times, steered by its synthesised stage paths (needs yosys).",
    )


def rtl_max_fanout(prefix: str) -> Any:
    return typer.Option(
        0,
        "--rtl-max-fanout",
        min=0,
        help=f"{prefix} replicate every pipeline register bit read by more than "
        "N ops (N >= 2; 0: off), so no register drives a long high-fanout net.",
    )


def rtl_min_slack(prefix: str) -> Any:
    return typer.Option(
        0.0,
        "--rtl-min-slack",
        min=0.0,
        help=f"{prefix} needs --rtl-rebalance; keeps re-cutting until the timing "
        "estimate meets the clock with this many ns to spare (0: just meets).",
    )


def build_rtl_options(
    cutoff: str,
    delay_model: str,
    timing_model: str,
    rebalance: int,
    max_fanout: int,
    min_slack: float,
) -> RtlOptions:
    """The :class:`RtlOptions` these flags say (``--rtl-cutoff`` text parsed: a number, a list or
    'auto'); an inconsistent choice fails here, before any compiling."""
    return RtlOptions(
        cutoffs=parse_cutoffs(cutoff, delay_model),
        delay_model=delay_model,
        timing_model=timing_model,
        rebalance=rebalance,
        max_fanout=max_fanout,
        min_slack_ns=min_slack,
    )
