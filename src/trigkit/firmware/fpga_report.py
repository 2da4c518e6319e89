"""The FPGA report model: accuracy, latency, II, resources and the L1-budget verdict.

One :class:`FpgaReport` per bundle. Every latency and resource figure carries its ``source``
label - ``"estimate"`` (analytic model, :mod:`trigkit.firmware.estimate`), ``"rtl: ..."``
(da4ml Verilog simulated by Verilator / synthesised by yosys,
:mod:`trigkit.firmware.rtl.generate`) or
``"vendor: ..."`` (parsed Vivado/Vitis reports, :mod:`trigkit.firmware.vendor_reports`). The
verdict uses the most authoritative latency available: vendor > RTL > estimate; an RTL latency
comes with the critical-path estimate of its netlist (:class:`TimingFigure`, "estimate (yosys,
no place & route)"), and the verdict says when that estimate misses the clock. The accuracy
part (float vs firmware on the ordinary reference rows) is :mod:`trigkit.firmware.report_accuracy`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.firmware.estimate import LABEL, estimate_network
from trigkit.firmware.report_accuracy import Accuracy, compare_outputs, reference_accuracy
from trigkit.firmware.rtl.report import RtlReport
from trigkit.firmware.vendor_reports import find_vendor_reports
from trigkit.fixedpoint.network import FirmwareNetwork

__all__ = ["Accuracy", "FpgaReport", "build_fpga_report", "compare_outputs", "reference_accuracy"]
_AUTHORITY = ("vendor", "rtl", "estimate")


@dataclass(frozen=True)
class LatencyFigure:
    source: str
    cycles: int
    clock_period_ns: float
    ii: int | None = None
    cycles_max: int | None = None
    note: str = ""

    @property
    def worst_cycles(self) -> int:
        return self.cycles_max if self.cycles_max is not None else self.cycles

    @property
    def ns(self) -> float:
        return self.worst_cycles * self.clock_period_ns


@dataclass(frozen=True)
class ResourceFigure:
    source: str
    lut: int | None = None
    ff: int | None = None
    dsp: int | None = None
    bram_18k: int | None = None
    uram: int | None = None
    note: str = ""


@dataclass(frozen=True)
class TimingFigure:
    """Critical-path estimate of the RTL netlist against the clock (:mod:`.rtl_timing`)."""

    source: str
    critical_path_ns: float
    logic_levels: int
    clock_period_ns: float
    uncertainty: float
    net_ns: float
    latency_cutoff: float
    note: str = ""

    @property
    def fmax_mhz(self) -> float:
        return 1000.0 / self.critical_path_ns

    @property
    def required_ns(self) -> float:
        return self.clock_period_ns * (1.0 - self.uncertainty)

    @property
    def slack_ns(self) -> float:
        return self.required_ns - self.critical_path_ns

    @property
    def meets(self) -> bool:
        return self.slack_ns >= 0.0


@dataclass(frozen=True)
class FpgaReport:
    bundle: str
    model_name: str
    backend: str
    part: str | None
    clock_period_ns: float | None
    accuracy: Accuracy | None
    latency: tuple[LatencyFigure, ...] = ()
    resources: tuple[ResourceFigure, ...] = ()
    budget_ns: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    timing: tuple[TimingFigure, ...] = ()

    def best_latency(self) -> LatencyFigure | None:
        """The most authoritative latency figure (vendor > rtl > estimate)."""
        for kind in _AUTHORITY:
            for fig in self.latency:
                if fig.source.startswith(kind):
                    return fig
        return self.latency[0] if self.latency else None

    def closing_latency_ns(self) -> float | None:
        """RTL cycles at the clock the timing estimate closes (period = path / (1 - uncertainty)),
        when the RTL latency is the authoritative one and an estimate misses the nominal clock."""
        best = self.best_latency()
        missed = [t for t in self.timing if not t.meets]
        if best is None or not missed or not best.source.startswith("rtl"):
            return None
        period = max(t.critical_path_ns / (1.0 - t.uncertainty) for t in missed)
        return best.worst_cycles * max(period, best.clock_period_ns)

    @property
    def fits_budget(self) -> bool | None:
        """Latency (worst case, most authoritative source; RTL cycles at the clock the timing
        estimate closes when it misses the nominal one) within ``budget_ns``; None if unknown."""
        best = self.best_latency()
        if self.budget_ns is None or best is None:
            return None
        closing = self.closing_latency_ns()
        return (closing if closing is not None else best.ns) <= self.budget_ns

    def verdict(self) -> str:
        best = self.best_latency()
        if best is None:
            return "no latency figure available"
        ii = f", II {best.ii}" if best.ii is not None else ""
        if self.budget_ns is None:
            return f"{best.ns:g} ns{ii} ({best.source}); no budget given"
        word = "FITS" if self.fits_budget else "EXCEEDS"
        text = f"{word} the {self.budget_ns:g} ns budget: {best.ns:g} ns{ii} ({best.source})"
        if best.source.startswith("rtl"):
            text += "".join(
                f"; timing {t.source} MISSES the {t.clock_period_ns:g} ns clock "
                f"(fmax ~{t.fmax_mhz:.0f} MHz)"
                for t in self.timing
                if not t.meets
            )
        if (closing := self.closing_latency_ns()) is not None:
            text += f"; {closing:.2f} ns at the clock it closes"
        return text

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdict"] = self.verdict()
        out["fits_budget"] = self.fits_budget
        out["closing_latency_ns"] = self.closing_latency_ns()
        for fig, d in zip(self.latency, out["latency"], strict=True):
            d["ns"] = fig.ns
        for tfig, d in zip(self.timing, out["timing"], strict=True):
            d.update(
                fmax_mhz=tfig.fmax_mhz,
                required_ns=tfig.required_ns,
                slack_ns=tfig.slack_ns,
                meets=tfig.meets,
            )
        if self.accuracy is not None:
            a = self.accuracy
            out["accuracy"] |= {
                "accuracy_loss": a.accuracy_loss,
                "max_diff_lsb": a.max_diff_lsb,
                "p99_diff_lsb": a.p99_diff_lsb,
            }
        return out


# -- assembling a report from a bundle --------------------------------------------------------

NETWORK_FILE = "network.json"
RTL_REPORT_FILE = "rtl_report.json"


def _bundle_file(bundle: Any, key: str, default: str) -> Any:
    """A file named in ``target_info[key]`` (or ``default``) if the manifest lists it."""
    name = bundle.manifest.target_info.get(key, default)
    if isinstance(name, str) and name in bundle.manifest.files:
        return bundle.path / name
    matches = [n for n in bundle.manifest.files if n.rsplit("/", 1)[-1] == default]
    return bundle.path / matches[0] if matches else None


def load_network(bundle: Any) -> Any:
    """The bundle's :class:`~trigkit.fixedpoint.network.FirmwareNetwork`, or None.

    Read from ``manifest.target_info["network"]`` (what ``compile_fpga`` writes) or, failing
    that, a ``network.json`` file listed in the manifest.
    """
    data = bundle.manifest.target_info.get("network")
    where = f"{bundle.path}: target_info.network"
    if not isinstance(data, dict):
        path = _bundle_file(bundle, "network_file", NETWORK_FILE)
        if path is None:
            return None
        where = str(path)
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise TrigkitError(f"{path}: not valid JSON: {exc}") from None
    try:
        return FirmwareNetwork.from_json(data)
    except (ValueError, TypeError) as exc:
        raise TrigkitError(f"{where}: not a valid firmware network: {exc}") from None


def float_outputs_from_model(
    model_path: str | Path, x: np.ndarray, network: Any = None
) -> np.ndarray:
    """The trained float model's outputs on preprocessed inputs ``x`` (softmax applied when the
    firmware network ends in a softmax, so both sides are probabilities)."""
    import torch

    from trigkit.models.saved import load_model

    model = load_model(model_path)
    model.module.eval()
    with torch.no_grad():
        z = model.module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        if network is not None and network.layers[-1].kind == "softmax":
            z = torch.softmax(z, dim=1)
    return z.double().numpy()


def reference_inputs(bundle: Any) -> np.ndarray | None:
    """The single reference input array of the bundle (None if absent or several)."""
    ins, _ = bundle.reference()
    return next(iter(ins.values())) if len(ins) == 1 else None


def estimate_figures(network: Any) -> tuple[LatencyFigure, ResourceFigure]:
    est = estimate_network(network)
    return (
        LatencyFigure(
            LABEL,
            est.latency_cycles,
            est.clock_period_ns,
            ii=est.ii,
            note="analytic model, not synthesis",
        ),
        ResourceFigure(
            LABEL,
            lut=est.total("lut"),
            ff=est.total("ff"),
            dsp=est.total("dsp"),
            bram_18k=est.total("bram_18k"),
            note="analytic model, not synthesis",
        ),
    )


def timing_figure(report: Any, clock_period_ns: float) -> TimingFigure | None:
    """The critical-path estimate of an :class:`~trigkit.firmware.rtl.report.RtlReport`, if any."""
    t = report.timing
    if t is None:
        return None
    searched = len(report.cutoff_search)
    cells = getattr(t, "cells", "artix7")
    cuts = (
        "carry-delay cuts"
        if getattr(report.design, "delay_model", "da4ml") == "carry"
        else "da4ml cuts"
    )
    if step := getattr(report.design, "rebalance_step", 0):
        cuts += f" rebalanced by the netlist ({step} step{'s' if step > 1 else ''})"
    if fanout := getattr(report.design, "max_fanout", 0):
        cuts += f", registers replicated to <= {fanout} ops per bit"
    note = (
        f"pipeline chosen by this estimate among {searched} designs tried"
        if searched
        else f"net {t.net_ns:g} ns/hop, {100 * t.uncertainty:g} % clock uncertainty"
    )
    note = f"{cells} cell delays, {cuts}; {note}"
    return TimingFigure(
        t.source,
        t.critical_path_ns,
        t.logic_levels,
        clock_period_ns,
        t.uncertainty,
        t.net_ns,
        report.design.latency_cutoff,
        note,
    )


def rtl_figures(
    report: Any, clock_period_ns: float
) -> tuple[list[LatencyFigure], list[ResourceFigure]]:
    """Figures from an :class:`~trigkit.firmware.rtl.report.RtlReport` (latency from Verilator,
    resources from yosys)."""
    lat: list[LatencyFigure] = []
    res: list[ResourceFigure] = []
    excluded = report.design.excluded
    note = f"without {', '.join(excluded)} (not in RTL)" if excluded else ""
    if report.sim is not None:
        lat.append(
            LatencyFigure(
                "rtl: verilator",
                report.sim.latency_cycles,
                clock_period_ns,
                ii=report.sim.ii,
                note=note,
            )
        )
    if report.synth is not None:
        s = report.synth
        if copies := getattr(report.design, "replicated_ffs", 0):
            note = "; ".join(filter(None, (note, f"FF includes {copies} replicated register bits")))
        res.append(
            ResourceFigure(s.source, lut=s.lut, ff=s.ff, dsp=s.dsp, bram_18k=s.bram, note=note)
        )
    return lat, res


def vendor_figures(
    reports: list[Any], clock_period_ns: float | None
) -> tuple[list[LatencyFigure], list[ResourceFigure]]:
    lat: list[LatencyFigure] = []
    res: list[ResourceFigure] = []
    for r in reports:
        clock = r.target_clock_ns or clock_period_ns
        if r.latency_best is not None and clock:
            lat.append(
                LatencyFigure(
                    r.source, r.latency_best, clock, ii=r.interval_max, cycles_max=r.latency_worst
                )
            )
        if r.lut is not None:
            res.append(
                ResourceFigure(
                    r.source, lut=r.lut, ff=r.ff, dsp=r.dsp, bram_18k=r.bram_18k, uram=r.uram
                )
            )
    return lat, res


def build_fpga_report(
    bundle: Any,
    budget_ns: float | None = None,
    rtl_report: Any = None,
    float_out: np.ndarray | None = None,
    vendor_dir: str | Path | None = None,
) -> FpgaReport:
    """Assemble the report of an FPGA bundle (already verified by ``load_bundle``).

    ``float_out``: float-model outputs on the reference inputs (else read from the bundle).
    ``vendor_dir``: a copy of the project synthesised elsewhere, searched for vendor reports
    besides the bundle's own (hash-verified) files.
    """
    m = bundle.manifest
    network = load_network(bundle)
    clock = network.clock_period_ns if network is not None else m.target_info.get("clock_period_ns")
    part = network.part if network is not None else m.target_info.get("part")
    notes: list[str] = []
    lat: list[LatencyFigure] = []
    res: list[ResourceFigure] = []
    reports = find_vendor_reports(bundle.path, only=set(m.files))
    if vendor_dir is not None:
        if not Path(vendor_dir).is_dir():
            raise TrigkitError(f"--vendor-dir {vendor_dir}: not a directory")
        reports += find_vendor_reports(vendor_dir)
    vl, vr = vendor_figures(reports, clock)
    lat += vl
    res += vr
    if rtl_report is None:
        path = _bundle_file(bundle, "rtl_report", RTL_REPORT_FILE)
        if path is not None:
            rtl_report = RtlReport.from_json(json.loads(path.read_text()))
    timing: list[TimingFigure] = []
    if rtl_report is not None and clock:
        rl, rr = rtl_figures(rtl_report, float(clock))
        lat += rl
        res += rr
        tf = timing_figure(rtl_report, float(clock))
        timing += [tf] if tf is not None else []
    if network is not None:
        el, er = estimate_figures(network)
        lat.append(el)
        res.append(er)
    else:
        notes.append("no firmware network in the bundle: no estimate, emulator not re-run")
    if not vl:
        notes.append("no vendor (Vivado/Vitis) reports in the bundle")
    accuracy = reference_accuracy(bundle, network, float_out)
    if accuracy is not None and accuracy.agreement != accuracy.agreement:  # NaN: nothing compared
        if accuracy.n == 0:
            notes.append(
                "none of the reference rows is ordinary (every one has an input NaN/Inf or "
                "outside the input type): float vs firmware not compared"
            )
        else:
            notes.append("no float-model outputs in the bundle: pass --model MODEL.pt to compare")
    return FpgaReport(
        bundle=str(bundle.path),
        model_name=m.model_name,
        backend=m.backend,
        part=part,
        clock_period_ns=float(clock) if clock else None,
        accuracy=accuracy,
        latency=tuple(lat),
        resources=tuple(res),
        budget_ns=budget_ns,
        notes=tuple(notes),
        timing=tuple(timing),
    )
