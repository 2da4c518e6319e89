"""`trigkit report BUNDLE`: one table - accuracy, latency, II, resources, L1-budget verdict.

For an FPGA bundle the numbers come from :func:`trigkit.firmware.fpga_report.build_fpga_report`
(every latency/resource row labelled estimate / rtl / vendor); for a GPU bundle the manifest
facts are shown. Heavy imports stay inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from trigkit.cli import rtl_options as opt


def _fmt(v: Any, spec: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and v != v:  # NaN
        return "-"
    return format(v, spec) if spec else str(v)


def _fpga_table(rep: Any) -> Any:
    from rich.table import Table

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
        t.add_row("reference samples", str(a.n), "reference.npz (finite inputs)")
        if a.agreement == a.agreement:  # not NaN: float outputs known
            t.add_row("float vs firmware agreement", f"{100 * a.agreement:.2f} %", "same top class")
            t.add_row("max |float - firmware|", _fmt(a.max_abs_diff, ".4g"), "")
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
            f"path must be <= {tf.required_ns:.2f} ns ({100 * tf.uncertainty:g} % clock uncertainty)",
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


def _gpu_table(bundle: Any) -> Any:
    from rich.table import Table

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
    return t


def report_cmd(
    bundle: Path = typer.Argument(..., help="A compiled bundle directory."),
    budget_ns: float | None = typer.Option(None, "--budget-ns", help="L1 latency budget in ns."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the report as JSON."),
    rtl: bool = typer.Option(
        False, "--rtl", help="Run the RTL path now (da4ml + Verilator + yosys)."
    ),
    rtl_dir: Path | None = typer.Option(None, "--rtl-dir", help="Where --rtl writes its project."),
    rtl_cutoff: str = opt.rtl_cutoff("With --rtl:"),
    rtl_delay_model: str = opt.rtl_delay_model("With --rtl:"),
    timing_model: str = opt.timing_model("With --rtl:"),
    rtl_rebalance: int = opt.rtl_rebalance("With --rtl:"),
    rtl_max_fanout: int = opt.rtl_max_fanout("With --rtl:"),
    rtl_min_slack: float = opt.rtl_min_slack("With --rtl:"),
    model: Path | None = typer.Option(
        None, "--model", help="Trained float model (.pt) to compare with."
    ),
    vendor_dir: Path | None = typer.Option(
        None,
        "--vendor-dir",
        help="hls4ml project synthesised elsewhere (csynth.xml, vivado_synth.rpt).",
    ),
) -> None:
    """Print accuracy, latency, II, resources and the budget verdict of a bundle."""
    import json

    from rich.console import Console

    from trigkit.bundle.manifest import load_bundle
    from trigkit.core.atomic import write_text

    console = Console()
    b = load_bundle(bundle)
    if b.manifest.target != "fpga":
        console.print(_gpu_table(b))
        if json_out:
            write_text(json_out, b.manifest.model_dump_json(indent=2))
        return
    from trigkit.core.errors import TrigkitError
    from trigkit.firmware.fpga_report import (
        build_fpga_report,
        float_outputs_from_model,
        load_network,
        reference_inputs,
    )

    network = load_network(b)
    rtl_report = float_out = None
    if rtl:
        from trigkit.firmware.rtl.cutoff import parse_cutoffs
        from trigkit.firmware.rtl.flow import run_rtl_flow

        if network is None:
            raise TrigkitError(
                f"{bundle}: --rtl needs the firmware network (manifest target_info.network)"
            )
        if rtl_delay_model not in ("da4ml", "carry"):
            raise TrigkitError(
                f"--rtl-delay-model '{rtl_delay_model}' unknown; valid: da4ml, carry"
            )
        cutoffs = parse_cutoffs(rtl_cutoff, rtl_delay_model)
        kw = {"latency_cutoff": cutoffs[0]} if len(cutoffs) == 1 else {"cutoffs": cutoffs}
        with console.status("RTL: da4ml -> Verilog -> Verilator -> yosys ..."):
            rtl_report = run_rtl_flow(
                network,
                rtl_dir,
                delay_model=rtl_delay_model,
                timing_model=timing_model,
                rebalance=rtl_rebalance,
                max_fanout=rtl_max_fanout,
                min_slack=rtl_min_slack,
                **kw,
            )
    if model is not None:
        x = reference_inputs(b)
        if x is None:
            raise TrigkitError(f"{bundle}: --model needs exactly one reference input array")
        float_out = float_outputs_from_model(model, x, network)
    rep = build_fpga_report(
        b, budget_ns=budget_ns, rtl_report=rtl_report, float_out=float_out, vendor_dir=vendor_dir
    )
    console.print(_fpga_table(rep))
    if json_out:
        write_text(json_out, json.dumps(rep.to_json(), indent=2, default=str))


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
