"""Terminal tables of `trigkit report BUNDLE`: the FPGA report and a GPU bundle's manifest.

Every latency/resource row of the FPGA table carries its source (estimate / rtl / vendor), as
:func:`trigkit.firmware.fpga_report.build_fpga_report` labelled it.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from trigkit.bundle.manifest import Bundle
from trigkit.firmware.fpga_report import FpgaReport
from trigkit.firmware.report_accuracy import Accuracy


def _fmt(v: Any, spec: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and v != v:  # NaN
        return "-"
    return format(v, spec) if spec else str(v)


def fpga_table(rep: FpgaReport) -> Table:
    """Accuracy, latency, II, timing, resources and the budget verdict of an FPGA bundle."""
    t = Table(
        title=f"FPGA report: {rep.model_name} ({rep.backend}, {rep.part or 'part ?'}, "
        f"clock {_fmt(rep.clock_period_ns, 'g')} ns)",
        show_lines=False,
    )
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_column("source / note")
    a = rep.accuracy
    if a is not None:
        _accuracy_rows(t, a)
        if a.float_accuracy is not None:
            t.add_row(
                "accuracy float / firmware",
                f"{100 * a.float_accuracy:.2f} % / {100 * a.firmware_accuracy:.2f} %",
                f"loss {100 * a.accuracy_loss:.2f} %",
            )
        if a.emulator_mismatches is not None:
            t.add_row(
                "emulator re-run mismatches",
                str(a.emulator_mismatches),
                "bit-exact check vs stored outputs",
            )
    for fig in rep.latency:
        cyc = (
            str(fig.cycles)
            if fig.cycles_max in (None, fig.cycles)
            else f"{fig.cycles}-{fig.cycles_max}"
        )
        t.add_row(
            "latency",
            f"{cyc} cycles = {fig.ns:g} ns",
            " ".join(x for x in (fig.source, fig.note) if x),
        )
        t.add_row("  II", _fmt(fig.ii), fig.source)
    for tf in rep.timing:
        t.add_row(
            "critical path",
            f"{tf.critical_path_ns:.2f} ns, {tf.logic_levels} levels, fmax ~{tf.fmax_mhz:.0f} MHz",
            f"{tf.source}; {tf.note}",
        )
        t.add_row(
            f"  at {tf.clock_period_ns:g} ns clock",
            f"{'meets' if tf.meets else 'MISSES'} (slack {tf.slack_ns:+.2f} ns)",
            f"path must be <= {tf.required_ns:.2f} ns "
            f"({100 * tf.uncertainty:g} % clock uncertainty)",
        )
    for r in rep.resources:
        parts = [
            f"{k} {_fmt(getattr(r, k.lower() if k != 'BRAM18' else 'bram_18k'))}"
            for k in ("LUT", "FF", "DSP", "BRAM18")
        ]
        t.add_row("resources", ", ".join(parts), " ".join(x for x in (r.source, r.note) if x))
    t.add_row("verdict", rep.verdict(), "")
    for note in rep.notes:
        t.add_row("note", "", note)
    return t


def _accuracy_rows(t: Table, a: Accuracy) -> None:
    """Float vs firmware on the ordinary reference rows; the edge rows counted apart."""
    inside = f"inputs finite, inside {a.input_type}" if a.input_type else "finite inputs"
    t.add_row("reference rows compared", str(a.n), f"reference.npz, {inside}")
    if a.n_edge:
        t.add_row(
            "edge rows (not compared)",
            str(a.n_edge),
            "an input NaN/Inf or saturating the input type: bit-exact check only",
        )
    if a.agreement != a.agreement:  # NaN: no float outputs, or no ordinary row
        return
    t.add_row("float vs firmware agreement", f"{100 * a.agreement:.2f} %", f"same {a.agreement_on}")
    t.add_row("max |float - firmware|", _fmt(a.max_abs_diff, ".4g"), f"p99 {a.p99_abs_diff:.4g}")
    if a.max_diff_lsb is not None:
        t.add_row(
            "  in output LSBs",
            f"max {a.max_diff_lsb:.1f}, p99 {a.p99_diff_lsb:.1f}",
            f"LSB {a.output_lsb:g} of {a.output_type}",
        )


def gpu_table(bundle: Bundle) -> Table:
    """The manifest facts of a GPU bundle."""
    m = bundle.manifest
    t = Table(title=f"GPU bundle: {m.model_name}")
    t.add_column("field")
    t.add_column("value")
    t.add_row("target", m.target)
    t.add_row("backend", m.backend)
    t.add_row("precision", m.precision)
    for spec in m.inputs:
        t.add_row(
            f"input {spec.name}", f"{spec.dtype}{list(spec.shape)} {', '.join(spec.features)}"
        )
    for spec in m.outputs:
        t.add_row(f"output {spec.name}", f"{spec.dtype}{list(spec.shape)}")
    t.add_row("reference tolerance", f"{m.reference_tolerance:g}")
    t.add_row("files", str(len(m.files)))
    for field, value in _gpu_artifact_rows(m.target_info or {}):
        t.add_row(field, escape(value))
    return t


def _gpu_artifact_rows(info: dict) -> list[tuple[str, str]]:
    """What a gpu bundle holds and lacks, as the compile recorded it."""
    built = ((info.get("imported") or {}).get("artifacts") or {}).items()
    rows = [(f"built {k}", v) for k, v in built]
    return rows + [(f"not built {k}", v) for k, v in gpu_not_built(info).items()]


def gpu_not_built(info: dict) -> dict[str, str]:
    """Artifact -> why a gpu bundle lacks it (the TensorRT engine), from its ``target_info``."""
    missing = (info.get("imported") or {}).get("not_built")
    if missing is None and info.get("tensorrt_skipped"):
        missing = {"model.engine": f"TensorRT engine: {info['tensorrt_skipped']}"}
    return dict(missing or {})
