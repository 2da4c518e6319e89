"""`trigkit compile --target fpga|gpu MODEL.pt --out BUNDLE` (FPGA work; gpu dispatches to
:func:`trigkit.compile.target_gpu.compile_gpu`)."""

from __future__ import annotations

from pathlib import Path

import typer

from trigkit.errors import TrigkitError

TARGET_NAMES = ("fpga", "gpu")


def _calibration_rows(model_path: Path, events: Path) -> object:
    """Preprocessed model inputs of the jets in ``events`` (for the integer bits of PTQ)."""
    from trigkit.events.sources import open_events
    from trigkit.models.saved import load_model

    model = load_model(model_path)
    rows = model.model_inputs(open_events(events))[0]
    if len(rows) == 0:
        raise TrigkitError(f"{events}: no jets to calibrate the fixed-point ranges with")
    return rows


def _compile(
    model: Path = typer.Argument(..., help="Saved model (.pt) from `trigkit train` / `trigkit compress`."),
    target: str = typer.Option(..., "--target", "-t", help="fpga or gpu."),
    out: Path = typer.Option(..., "--out", "-o", help="Bundle directory to write (replaced atomically)."),
    # FPGA
    bits: int | None = typer.Option(None, "--bits", help="[fpga] ap_fixed width of weights/activations (PTQ)."),
    softmax: bool = typer.Option(False, "--softmax/--no-softmax", help="[fpga] put hls4ml's table softmax on the output."),
    backend: str = typer.Option("Vitis", "--backend", help="[fpga] hls4ml backend: Vitis or Vivado."),
    strategy: str = typer.Option("Latency", "--strategy", help="[fpga] Latency or Resource."),
    reuse_factor: int = typer.Option(1, "--reuse-factor", min=1, help="[fpga] reuse factor of every dense layer."),
    part: str = typer.Option("xcvu9p-flga2104-2L-e", "--part", help="[fpga] FPGA part."),
    clock_ns: float = typer.Option(5.0, "--clock-ns", help="[fpga] clock period in ns (5 = 200 MHz)."),
    n_reference: int = typer.Option(1000, "--n-reference", min=10, help="[fpga] reference inputs checked and stored."),
    strict_overflow: bool = typer.Option(False, "--strict-overflow", help="[fpga] fail if a weight saturates."),
    keep_csim: Path | None = typer.Option(None, "--keep-csim", help="[fpga] keep the built C simulation project here."),
    # GPU
    precision: str = typer.Option("fp32", "--precision", help="[gpu] fp32, fp16 or int8."),
    min_batch: int = typer.Option(1, "--min-batch", min=1),
    opt_batch: int = typer.Option(1024, "--opt-batch", min=1),
    max_batch: int = typer.Option(65536, "--max-batch", min=1),
    calib_events: Path | None = typer.Option(None, "--calib-events", help="Events for calibration (fpga ranges / gpu int8)."),
) -> None:
    """Compile a trained tagger into a bundle for the FPGA (hls4ml) or the GPU (ONNX/TensorRT)."""
    from rich.console import Console

    if target not in TARGET_NAMES:
        raise TrigkitError(f"--target '{target}' unknown; valid: {', '.join(TARGET_NAMES)}")
    if not model.is_file():
        raise TrigkitError(f"{model}: no such model file")
    con = Console()
    if target == "gpu":
        from trigkit.compile.target_gpu import compile_gpu

        kw = {"calib_events": calib_events} if calib_events is not None else {}
        bundle = compile_gpu(model, out, precision=precision, min_batch=min_batch,
                             opt_batch=opt_batch, max_batch=max_batch, **kw)  # fmt: skip
    else:
        bundle = _compile_fpga(model, out, bits, softmax, backend, strategy, reuse_factor, part,
                               clock_ns, n_reference, calib_events, keep_csim, strict_overflow)  # fmt: skip
    m = bundle.manifest
    con.print(f"wrote {m.target} bundle {bundle.path} ({m.backend}, {m.precision}, {len(m.files)} files)")
    if target == "fpga":
        info = m.target_info
        con.print(f"{info['reference_rows']} reference inputs (random, extremes, NaN/Inf): numba emulation, "
                  "torch QAT model and hls4ml C simulation agree bit for bit")  # fmt: skip
        for name, o in info.get("weight_overflow", {}).items():
            con.print(f"[yellow]overflow[/] layer {name}: {o['weight']} weights saturate in {o['weight_t']}, "
                      f"{o['bias']} biases in {o['bias_t']}")  # fmt: skip


def _compile_fpga(model: Path, out: Path, bits: int | None, softmax: bool, backend: str, strategy: str,
                  reuse_factor: int, part: str, clock_ns: float, n_reference: int,
                  calib_events: Path | None, keep_csim: Path | None,
                  strict_overflow: bool) -> object:  # fmt: skip
    from pydantic import ValidationError
    from rich.console import Console

    from trigkit.compile.qat_config import QATConfig
    from trigkit.compile.target_fpga import FpgaCompileConfig, compile_fpga

    try:
        qat = QATConfig(bits=bits, softmax=softmax) if bits is not None else (QATConfig(softmax=True) if softmax else None)
        config = FpgaCompileConfig(qat=qat, backend=backend, strategy=strategy, reuse_factor=reuse_factor,
                                   part=part, clock_period_ns=clock_ns, n_reference=n_reference,
                                   fail_on_weight_overflow=strict_overflow)  # fmt: skip
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise TrigkitError(f"fpga compile option '{field}': {err['msg']}") from None
    calib = _calibration_rows(model, calib_events) if calib_events is not None else None
    with Console(stderr=True).status("hls4ml: converting, building the C simulation, verifying bit-exactness"):
        return compile_fpga(model, out, config=config, calib=calib, csim_dir=keep_csim)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    app.command("compile")(_compile)
