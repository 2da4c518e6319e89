"""`RtlOptions`: how the RTL flow cuts, times and re-cuts the pipeline, validated once.

One object from the command line (:func:`trigkit.cli.rtl_options.build_rtl_options`) through
:class:`~trigkit.compile.targets.fpga.FpgaCompileConfig` (field ``rtl_options``) to
:func:`~trigkit.firmware.rtl.flow.run_rtl_flow` (argument ``options``), under the same field
names everywhere. A message about an inconsistent choice names both the field and its flag.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from trigkit.core.errors import TrigkitError
from trigkit.core.validated import Validated
from trigkit.firmware.rtl.timing import TIMING_PRESETS

DEFAULT_LATENCY_CUTOFF = 5.0
DEFAULT_CUTOFFS = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 9.0, 12.0)
# delay model 'carry': cutoffs are ns of estimated logic per stage (trigkit.firmware.rtl.pipeline)
DEFAULT_CUTOFFS_NS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.7, 5.4, 7.0, 9.0, 13.0)

# field -> command-line flag, for messages a user of either can act on
FLAGS = {
    "cutoffs": "--rtl-cutoff",
    "delay_model": "--rtl-delay-model",
    "timing_model": "--timing-model",
    "rebalance": "--rtl-rebalance",
    "max_fanout": "--rtl-max-fanout",
    "min_slack_ns": "--rtl-min-slack",
}


def _named(field: str) -> str:
    return f"{field} ({FLAGS[field]})"


def parse_cutoffs(text: str, delay_model: str = "da4ml") -> tuple[float, ...]:
    """``"5"`` -> (5.0,); ``"auto"`` -> :data:`DEFAULT_CUTOFFS` (delay model 'carry':
    :data:`DEFAULT_CUTOFFS_NS`); ``"3,4.5,6"`` -> a search list."""
    t = text.strip().lower()
    if t == "auto":
        return DEFAULT_CUTOFFS_NS if delay_model == "carry" else DEFAULT_CUTOFFS
    try:
        values = tuple(float(v) for v in t.split(",") if v.strip())
    except ValueError:
        raise TrigkitError(
            f"--rtl-cutoff '{text}': expected a number, a comma-separated list or 'auto'"
        ) from None
    if not values or any(not v > 0 for v in values):
        raise TrigkitError(f"--rtl-cutoff '{text}': cutoffs must be positive numbers")
    return values


class RtlOptions(Validated):
    """The RTL flow's pipeline options (see :mod:`trigkit.firmware.rtl.flow`)."""

    cutoffs: tuple[float, ...] = Field(
        default=(DEFAULT_LATENCY_CUTOFF,),
        min_length=1,
        description="one: that latency cutoff; several: the fewest stages meeting the clock by "
        "the yosys timing estimate",
    )
    delay_model: Literal["da4ml", "carry"] = Field(
        default="da4ml",
        description="pipeline cuts by da4ml's adder count, or by carry-chain delay (cutoff in ns)",
    )
    timing_model: str = Field(
        default="auto", description="RTL timing preset: auto (from the part), 7series, ultrascale+"
    )
    rebalance: int = Field(
        default=0, ge=0, le=10, description="re-cuts of a design missing the clock, by its netlist"
    )
    max_fanout: int = Field(
        default=0, ge=0, description="replicate stage input register bits read by more ops (0: off)"
    )
    min_slack_ns: float = Field(
        default=0.0, ge=0.0, description="rebalance until the estimate has this slack"
    )

    @field_validator("cutoffs")
    @classmethod
    def _positive(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not c > 0 for c in v):
            raise ValueError(f"latency cutoffs ({FLAGS['cutoffs']}) must be positive numbers")
        return v

    @field_validator("timing_model")
    @classmethod
    def _known_preset(cls, v: str) -> str:
        name = v.strip().lower()
        if name != "auto" and name not in TIMING_PRESETS:
            valid = ", ".join(("auto", *TIMING_PRESETS))
            raise ValueError(f"unknown preset ({FLAGS['timing_model']}); valid: {valid}")
        return name

    @model_validator(mode="after")
    def _consistent(self) -> RtlOptions:
        if self.rebalance and self.delay_model != "carry":
            raise ValueError(
                f"{_named('rebalance')} re-cuts by per-op delays: use it with "
                f"{FLAGS['delay_model']} carry"
            )
        if self.min_slack_ns and not self.rebalance:
            raise ValueError(
                f"{_named('min_slack_ns')} is what rebalancing aims for: "
                f"give {FLAGS['rebalance']} N too"
            )
        if self.max_fanout == 1:
            raise ValueError(
                f"{_named('max_fanout')} 1: give 0 (no replication) or >= 2 ops per register bit"
            )
        return self

    @property
    def searches(self) -> bool:
        """Several cutoffs: the pipeline depth is chosen by the timing estimate."""
        return len(self.cutoffs) > 1
