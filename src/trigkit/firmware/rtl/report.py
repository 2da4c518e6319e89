"""`RtlReport`: everything the RTL path measured, JSON round-trippable (``rtl_report.json``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from trigkit.core.errors import TrigkitError
from trigkit.firmware.rtl.cutoff import CutoffTrial
from trigkit.firmware.rtl.design import RtlDesign
from trigkit.firmware.rtl.generate import RtlSimResult
from trigkit.firmware.rtl.synth import SynthResult
from trigkit.firmware.rtl.timing import TimingResult

RTL_REPORT_NAME = "rtl_report.json"


@dataclass(frozen=True)
class RtlReport:
    """Everything the RTL path measured, JSON round-trippable (``rtl_report.json``).

    ``timing``: the critical-path estimate of the synthesised netlist (:mod:`.timing`);
    ``cutoff_search``: the pipeline depths tried when the cutoff was chosen by it (:mod:`.cutoff`).
    """

    design: RtlDesign
    sim: RtlSimResult | None
    synth: SynthResult | None
    timing: TimingResult | None = None
    cutoff_search: tuple[CutoffTrial, ...] = ()

    def to_json(self) -> dict:
        return {
            "design": asdict(self.design),
            "sim": asdict(self.sim) if self.sim else None,
            "synth": asdict(self.synth) if self.synth else None,
            "timing": self.timing.to_json() if self.timing else None,
            "cutoff_search": [asdict(t) for t in self.cutoff_search],
        }

    @classmethod
    def from_json(cls, data: dict) -> RtlReport:
        try:
            d = dict(data["design"])
            for key in ("in_kif", "out_kif", "covered", "excluded"):
                d[key] = tuple(d[key])
            sim = RtlSimResult(**data["sim"]) if data.get("sim") else None
            synth = SynthResult(**data["synth"]) if data.get("synth") else None
            timing = TimingResult.from_json(data["timing"]) if data.get("timing") else None
            trials = tuple(CutoffTrial(**t) for t in data.get("cutoff_search") or ())
            return cls(RtlDesign(**d), sim, synth, timing, trials)
        except (KeyError, TypeError) as exc:
            raise TrigkitError(f"RTL report JSON: bad or missing field ({exc})") from None
