"""`trigkit compile --target fpga|gpu MODEL --out BUNDLE`, dispatched through the compile-target
registry (:data:`trigkit.compile.targets.TARGETS`). MODEL is a trigkit model file or a model
trained elsewhere (ONNX, TorchScript, torch.export, Keras/QKeras: see trigkit.importers)."""

from __future__ import annotations

from pathlib import Path

import typer

from trigkit.cli import rtl_options as opt
from trigkit.core.errors import TrigkitError

FPGA = "\\[fpga]"  # escaped: rich would read [fpga] as markup


def _calibration_rows(model_path: Path, events: list[Path]) -> tuple[object, object]:
    """(preprocessed model inputs, true classes) of the labelled jets in ``events``."""
    import numpy as np

    from trigkit.events.sources import open_events
    from trigkit.models.saved import load_model

    model = load_model(model_path)
    rows, labels = [], []
    for path in events:
        fs = model.features(open_events(path))
        rows.append(model.model_inputs(fs)[0])
        labels.append(np.asarray(fs.labels))
    x, y = np.concatenate(rows), np.concatenate(labels)
    if len(x) == 0:
        raise TrigkitError(
            f"{', '.join(map(str, events))}: no jets to calibrate the fixed-point ranges with"
        )
    ok = y >= 0
    return x[ok], y[ok]


def _compile(
    model: Path = typer.Argument(
        ...,
        help="Saved model (.pt) from `trigkit train` / `trigkit compress`, or a model trained "
        "elsewhere: .onnx, TorchScript .pt, torch.export .pt2, Keras .keras/.h5.",
    ),
    target: str = typer.Option(..., "--target", "-t", help="fpga or gpu."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Bundle directory to write (replaced atomically)."
    ),
    # FPGA
    bits: int | None = typer.Option(
        None, "--bits", help="\\[fpga] ap_fixed width of weights/activations (PTQ)."
    ),
    softmax: bool = typer.Option(
        False, "--softmax/--no-softmax", help="\\[fpga] put hls4ml's table softmax on the output."
    ),
    backend: str = typer.Option(
        "Vitis", "--backend", help="\\[fpga] hls4ml backend: Vitis or Vivado."
    ),
    strategy: str = typer.Option("Latency", "--strategy", help="\\[fpga] Latency or Resource."),
    reuse_factor: int = typer.Option(
        1, "--reuse-factor", min=1, help="\\[fpga] reuse factor of every dense layer."
    ),
    part: str = typer.Option("xcvu9p-flga2104-2L-e", "--part", help="\\[fpga] FPGA part."),
    clock_ns: float = typer.Option(
        5.0, "--clock-ns", help="\\[fpga] clock period in ns (5 = 200 MHz)."
    ),
    n_reference: int = typer.Option(
        1000, "--n-reference", min=10, help="\\[fpga] reference inputs checked and stored."
    ),
    strict_overflow: bool = typer.Option(
        False, "--strict-overflow", help="\\[fpga] fail if a weight saturates."
    ),
    keep_csim: Path | None = typer.Option(
        None, "--keep-csim", help="\\[fpga] keep the built C simulation project here."
    ),
    rtl: bool = typer.Option(
        False, "--rtl", help="\\[fpga] also measure latency/II (Verilator) and LUT/FF/DSP (yosys)."
    ),
    rtl_dir: Path | None = typer.Option(
        None, "--rtl-dir", help="\\[fpga] keep the RTL flow's work directory here."
    ),
    rtl_cutoff: str = opt.rtl_cutoff(FPGA),
    rtl_delay_model: str = opt.rtl_delay_model(FPGA),
    timing_model: str = opt.timing_model(FPGA),
    rtl_rebalance: int = opt.rtl_rebalance(FPGA),
    rtl_max_fanout: int = opt.rtl_max_fanout(FPGA),
    rtl_min_slack: float = opt.rtl_min_slack(FPGA),
    n_labelled: int = typer.Option(
        10_000,
        "--n-labelled",
        min=0,
        help="\\[fpga] labelled --calib-events jets kept as reference rows (accuracy).",
    ),
    # GPU
    precision: str = typer.Option("fp32", "--precision", help="\\[gpu] fp32, fp16 or int8."),
    min_batch: int = typer.Option(1, "--min-batch", min=1),
    opt_batch: int = typer.Option(1024, "--opt-batch", min=1),
    max_batch: int = typer.Option(65536, "--max-batch", min=1),
    calibration: str = typer.Option(
        "percentile",
        "--calibration",
        help="\\[gpu int8] max, percentile or entropy (percentile met the 0.5 "
        "% AUC goal; see bench/results/README.md).",
    ),
    calib_events: list[Path] | None = typer.Option(
        None,
        "--calib-events",
        help="Events for calibration (fpga ranges + accuracy rows / gpu int8); "
        "repeat for several files.",
    ),
    # models trained elsewhere
    input_shape: list[str] | None = typer.Option(
        None, "--input-shape", help="NAME:1x16 (batch first) for an input with free dimensions."
    ),
    preprocessing: Path | None = typer.Option(
        None, "--preprocessing", help="YAML/JSON of per-feature offset/scale stored in the bundle."
    ),
    calib_data: Path | None = typer.Option(
        None, "--calib-data", help="Model inputs (.npz in_<name>, or .parquet) for ranges / int8."
    ),
    scan_bits: str | None = typer.Option(
        None, "--scan-bits", help="\\[fpga] report each width's cost on --calib-data (4..12)."
    ),
    layer_precision: Path | None = typer.Option(
        None,
        "--layer-precision",
        help="\\[fpga] per-layer types, YAML/JSON: layers: {fc1: {weight: 'ap_fixed<6,1>'}}.",
    ),
) -> None:
    """Compile a trained tagger into a bundle for the FPGA (hls4ml) or the GPU (ONNX/TensorRT)."""
    from rich.console import Console

    from trigkit.compile.targets import TARGETS

    if target not in TARGETS.names():
        raise TrigkitError(f"--target '{target}' unknown; valid: {', '.join(TARGETS.names())}")
    if not model.is_file():
        raise TrigkitError(f"{model}: no such model file")
    imported = _import_options(
        model, input_shape, preprocessing, calib_data, bits, calib_events, scan_bits
    )
    con = Console()
    if target == "gpu" and layer_precision is not None:
        raise TrigkitError("--layer-precision: per-layer fixed-point types are for --target fpga")
    if target == "gpu":
        if calib_events and len(calib_events) > 1:
            raise TrigkitError("--calib-events: the gpu target takes one calibration file")
        kw = {"calib_events": calib_events[0]} if calib_events else {}
        bundle = TARGETS.create(
            "gpu",
            model,
            out,
            precision=precision,
            min_batch=min_batch,
            opt_batch=opt_batch,
            max_batch=max_batch,
            calibration=calibration,
            imported_options=imported,
            **kw,
        )
    else:
        if rtl and (why := _rtl_missing()) is not None:
            Console(stderr=True).print(
                f"[yellow]--rtl skipped[/]: {why}; the report will show the estimate only"
            )
            rtl = False
        rtl_options = opt.build_rtl_options(
            rtl_cutoff, rtl_delay_model, timing_model, rtl_rebalance, rtl_max_fanout, rtl_min_slack
        )
        opts = {
            "backend": backend,
            "strategy": strategy,
            "reuse_factor": reuse_factor,
            "part": part,
            "clock_period_ns": clock_ns,
            "n_reference": n_reference,
            "fail_on_weight_overflow": strict_overflow,
            "softmax": softmax,
            "rtl": rtl,
            "n_labelled": n_labelled,
            "rtl_options": rtl_options,
            "layer_pins": _layer_pins(layer_precision),
        }
        if rtl:
            from trigkit.firmware.rtl.timing import timing_model_for

            timing_model_for(part, rtl_options.timing_model)  # an unknown family fails early
        bundle = _compile_fpga(model, out, bits, opts, calib_events, keep_csim, rtl_dir, imported)
    m = bundle.manifest
    con.print(
        f"wrote {m.target} bundle {bundle.path} ({m.backend}, {m.precision}, {len(m.files)} files)"
    )
    if target == "gpu":
        _print_not_built(con, m.target_info)
    if target == "fpga":
        info = m.target_info
        who = "numba emulation, torch QAT model and"
        if info.get("imported"):
            who = "numba emulation and"
        n_cal = info.get("calibration_rows") or 0
        kinds = f"{n_cal} calibration rows, then random" if n_cal else "random"
        con.print(
            f"{info['reference_rows']} reference inputs ({kinds}, extremes, "
            f"NaN/Inf): {who} hls4ml C simulation agree bit for bit"
        )
        _print_fpga_summary(con, bundle)
        _print_width_scan(con, (info.get("imported") or {}).get("width_scan"))
        for name, o in info.get("weight_overflow", {}).items():
            con.print(
                f"[yellow]overflow[/] layer {name}: {o['weight']} weights "
                f"saturate in {o['weight_t']}, {o['bias']} biases in {o['bias_t']}"
            )


def _import_options(
    model: Path,
    shapes: list[str] | None,
    preprocessing: Path | None,
    calib_data: Path | None,
    bits: int | None,
    calib_events: list[Path] | None,
    scan_bits: str | None = None,
) -> object | None:
    """ImportOptions for a model trained elsewhere; None for a trigkit model file."""
    from trigkit.compile.targets.fpga import is_foreign

    flags = (
        ("--input-shape", shapes),
        ("--preprocessing", preprocessing),
        ("--calib-data", calib_data),
        ("--scan-bits", scan_bits),
    )
    given = [f for f, v in flags if v]
    if not is_foreign(model):
        if given:
            raise TrigkitError(
                f"{', '.join(given)}: only for models trained elsewhere; "
                f"{model} is a trigkit model file"
            )
        return None
    if calib_events:
        raise TrigkitError(
            "--calib-events: a foreign model has no trigkit feature "
            "extraction; give its inputs with --calib-data FILE.npz|parquet"
        )
    from trigkit.compile.targets.imported import ImportOptions
    from trigkit.importers import parse_input_shapes

    widths: tuple[int, ...] = ()
    if scan_bits:  # width_scan imports torch (1-2 s): only a scan pays for it
        from trigkit.compile.width_scan import parse_bits

        widths = parse_bits(scan_bits)
    return ImportOptions(
        input_shapes=parse_input_shapes(shapes),
        preprocessing=preprocessing,
        calib_data=calib_data,
        bits=bits,
        scan_bits=widths,
    )


def _layer_pins(path: Path | None) -> dict:
    if path is None:
        return {}
    from trigkit.compile.layer_pins import read_layer_pins

    return read_layer_pins(path)


def _rtl_missing() -> str | None:
    from trigkit.compile.targets.fpga import rtl_missing

    return rtl_missing()


def _compile_fpga(
    model: Path,
    out: Path,
    bits: int | None,
    opts: dict,
    calib_events: list[Path] | None,
    keep_csim: Path | None,
    rtl_dir: Path | None,
    imported: object = None,
) -> object:
    from rich.console import Console

    from trigkit.compile.qat_config import QATConfig
    from trigkit.compile.targets import TARGETS
    from trigkit.compile.targets.fpga import FpgaCompileConfig

    qat = QATConfig(bits=bits, softmax=bool(opts["softmax"])) if bits is not None else None
    config = FpgaCompileConfig(qat=qat, **{**opts, "softmax": True if opts["softmax"] else None})
    calib, labels = _calibration_rows(model, calib_events) if calib_events else (None, None)
    what = "hls4ml: converting, building the C simulation, verifying bit-exactness"
    if config.rtl:
        what += "; then the RTL flow (Verilator build: minutes)"
    with Console(stderr=True).status(what):
        return TARGETS.create(
            "fpga",
            model,
            out,
            config=config,
            calib=calib,
            labels=labels,
            csim_dir=keep_csim,
            rtl_dir=rtl_dir,
            imported_options=imported,
        )


def _print_not_built(con: object, info: dict) -> None:
    """Say what a gpu bundle lacks (the TensorRT engine, and why): no silent fallback."""
    from rich.markup import escape

    from trigkit.report.bundle import gpu_not_built

    for name, why in gpu_not_built(info).items():
        line = f"not built: {name} ({why}); runners use model.onnx (onnxruntime)"
        con.print(f"[yellow]{escape(line)}[/]")  # type: ignore[attr-defined]


def _print_width_scan(con: object, scan: list[dict] | None) -> None:
    """The cost of each width (``--scan-bits``) on the calibration rows."""
    for c in scan or []:
        acc = ""
        if c["float_accuracy"] is not None:
            acc = (
                f", accuracy {100 * c['firmware_accuracy']:.2f} % (float "
                f"{100 * c['float_accuracy']:.2f} %)"
            )
        line = (
            f"width {c['bits']:2d}: same top class as float {100 * c['agreement']:.2f} "
            f"%, max |firmware - float| {c['max_abs_diff']:.3g}{acc}"
        )
        con.print(line)  # type: ignore[attr-defined]


def _print_fpga_summary(con: object, bundle: object) -> None:
    """Accuracy on the labelled reference rows and the RTL measurement, when the bundle has them."""
    from trigkit.firmware.fpga_report import build_fpga_report

    rep = build_fpga_report(bundle)
    a = rep.accuracy
    if a is not None and a.float_accuracy is not None:
        con.print(  # type: ignore[attr-defined]
            f"accuracy on {a.n} labelled jets: float {100 * a.float_accuracy:.2f} %, firmware "
            f"{100 * a.firmware_accuracy:.2f} % (same {a.agreement_on} {100 * a.agreement:.2f} %)"
        )
    for fig in rep.latency:
        if fig.source.startswith("rtl"):
            con.print(f"RTL ({fig.source}): {fig.worst_cycles} cycles = {fig.ns:g} ns, II {fig.ii}")  # type: ignore[attr-defined]
    for r in rep.resources:
        if r.source.startswith("rtl") and r.lut is not None:
            con.print(f"RTL ({r.source}): {r.lut} LUT, {r.ff} FF, {r.dsp} DSP")  # type: ignore[attr-defined]
    for t in rep.timing:
        con.print(  # type: ignore[attr-defined]
            f"RTL critical path {t.critical_path_ns:.2f} ns ({t.logic_levels} levels, "
            f"fmax ~{t.fmax_mhz:.0f} MHz, {t.source}): "
            f"{'meets' if t.meets else 'MISSES'} the {t.clock_period_ns:g} ns clock with "
            f"{100 * t.uncertainty:g} % uncertainty (latency cutoff {t.latency_cutoff:g})"
        )


def register(app: typer.Typer) -> None:
    app.command("compile")(_compile)
