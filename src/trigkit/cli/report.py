"""`trigkit report BUNDLE`: one table - accuracy, latency, II, resources, L1-budget verdict.

For an FPGA bundle the numbers come from :func:`trigkit.firmware.fpga_report.build_fpga_report`
(every latency/resource row labelled estimate / rtl / vendor); for a GPU bundle the manifest
facts are shown (tables in :mod:`trigkit.report.bundle`). Heavy imports stay inside the command.
"""

from __future__ import annotations

from pathlib import Path

import typer

from trigkit.cli import rtl_options as opt


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
    from trigkit.report.bundle import fpga_table, gpu_table

    console = Console()
    b = load_bundle(bundle)
    if b.manifest.target != "fpga":
        console.print(gpu_table(b))
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
        from trigkit.firmware.rtl.flow import run_rtl_flow

        if network is None:
            raise TrigkitError(
                f"{bundle}: --rtl needs the firmware network (manifest target_info.network)"
            )
        options = opt.build_rtl_options(
            rtl_cutoff, rtl_delay_model, timing_model, rtl_rebalance, rtl_max_fanout, rtl_min_slack
        )
        with console.status("RTL: da4ml -> Verilog -> Verilator -> yosys ..."):
            rtl_report = run_rtl_flow(network, rtl_dir, options)
    if model is not None:
        x = reference_inputs(b)
        if x is None:
            raise TrigkitError(f"{bundle}: --model needs exactly one reference input array")
        float_out = float_outputs_from_model(model, x, network)
    rep = build_fpga_report(
        b, budget_ns=budget_ns, rtl_report=rtl_report, float_out=float_out, vendor_dir=vendor_dir
    )
    console.print(fpga_table(rep))
    if json_out:
        write_text(json_out, json.dumps(rep.to_json(), indent=2, default=str))


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
