"""The rules that tie the RTL flow's pipeline options together, stated once.

The ``compile`` and ``report`` commands, :class:`~trigkit.compile.targets.fpga.FpgaCompileConfig`
and :func:`~trigkit.firmware.rtl.flow.run_rtl_flow` all enforce them, each before its expensive
work and each naming the options in its own terms (command-line flags or config fields).
"""

from __future__ import annotations

from trigkit.core.errors import TrigkitError

FLAGS = {
    "delay_model": "--rtl-delay-model",
    "rebalance": "--rtl-rebalance",
    "max_fanout": "--rtl-max-fanout",
    "min_slack": "--rtl-min-slack",
}
FIELDS = {
    "delay_model": "rtl_delay_model",
    "rebalance": "rtl_rebalance",
    "max_fanout": "rtl_max_fanout",
    "min_slack": "rtl_min_slack_ns",
}


def rtl_option_problem(
    delay_model: str,
    rebalance: int,
    max_fanout: int,
    min_slack: float,
    names: dict[str, str] = FLAGS,
) -> str | None:
    """What is inconsistent about these options (None: nothing), naming them by ``names``."""
    if rebalance and delay_model != "carry":
        return f"{names['rebalance']} re-cuts by per-op delays: use it with {names['delay_model']} carry"
    if min_slack and not rebalance:
        return f"{names['min_slack']} is what rebalancing aims for: give {names['rebalance']} N too"
    if max_fanout == 1:
        return f"{names['max_fanout']} 1: give 0 (no replication) or >= 2 ops per register bit"
    return None


def check_rtl_options(delay_model: str, rebalance: int, max_fanout: int, min_slack: float) -> None:
    """:func:`rtl_option_problem` as a :class:`TrigkitError` naming the command-line flags."""
    if (why := rtl_option_problem(delay_model, rebalance, max_fanout, min_slack)) is not None:
        raise TrigkitError(why)
