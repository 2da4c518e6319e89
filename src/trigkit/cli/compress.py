"""`trigkit compress`: prune, fixed-point QAT (or a width scan) and INT8 for a trained tagger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    @app.command("compress")
    def compress_cmd(
        model_path: Path = typer.Argument(..., help="Trained model file (from `trigkit train`)."),
        events: list[Path] = typer.Option(
            [],
            "--events",
            "-e",
            help="Event files (e.g. hh4b.parquet qcd.parquet).",
            show_default=False,
        ),
        more: list[Path] = typer.Argument(
            None, help="More event files (after --events).", show_default=False
        ),
        out: Path | None = typer.Option(
            None, "--out", "-o", help="Where to write the compressed model (.pt)."
        ),
        prune: float | None = typer.Option(
            None, "--prune", help="Target sparsity in [0, 1), e.g. 0.75."
        ),
        structured: bool = typer.Option(
            False, "--structured", help="Prune whole neurons (rows) instead of single weights."
        ),
        norm: str = typer.Option("l1", "--norm", help="Row norm for --structured: l1 or l2."),
        scope: str | None = typer.Option(
            None, "--scope", help="global or layer (default: global; layer for --structured)."
        ),
        steps: int = typer.Option(4, "--steps", help="Pruning steps (cubic ramp).", min=1),
        qat_bits: int | None = typer.Option(
            None, "--qat-bits", help="Fixed-point QAT at this total width."
        ),
        bits: str | None = typer.Option(
            None, "--bits", help="Width scan, e.g. 4..16 or 4,6,8: metric vs bits."
        ),
        range_quantile: float = typer.Option(
            0.999,
            "--range-quantile",
            help="QAT: size activation types for this quantile of the values (rest saturate).",
        ),
        no_finetune: bool = typer.Option(
            False, "--no-finetune", help="Scan/QAT without fine-tuning (post-training)."
        ),
        int8: bool = typer.Option(
            False, "--int8", help="Also write a calibrated INT8 Q/DQ ONNX graph."
        ),
        calibration: str = typer.Option(
            "entropy", "--calibration", help="INT8 calibration: max, percentile, entropy."
        ),
        onnx_out: Path | None = typer.Option(
            None, "--onnx-out", help="INT8 ONNX output (default: OUT with .int8.onnx)."
        ),
        plot: Path | None = typer.Option(
            None, "--plot", help="Width-scan PNG (default: OUT or MODEL stem + -width-scan.png)."
        ),
        epochs: int = typer.Option(
            2, "--epochs", help="Fine-tuning epochs per pruning step and for QAT.", min=0
        ),
        qat_epochs: int | None = typer.Option(
            None,
            "--qat-epochs",
            help="QAT / width-scan fine-tuning epochs (default: --epochs).",
            min=1,
        ),
        lr: float = typer.Option(1e-3, "--lr", help="Fine-tuning learning rate."),
        max_jets: int | None = typer.Option(
            None, "--max-jets", help="Use at most this many jets.", min=10
        ),
        val_fraction: float = typer.Option(
            0.2,
            "--val-fraction",
            help="Jets held out to measure the metrics (the same split as "
            "`trigkit train` for the same files and seed).",
        ),
        seed: int = typer.Option(0, "--seed", help="Random seed (split, fine-tuning)."),
    ) -> None:
        """Prune and quantize a trained tagger; print per-layer sparsity and the metric change."""
        from rich.console import Console

        from trigkit.compile import compress as C
        from trigkit.compile import width_scan as W
        from trigkit.core.errors import TrigkitError
        from trigkit.models.saved import load_model
        from trigkit.report import compression as report

        files = [*events, *(more or [])]
        if not files:
            raise TrigkitError("no event files given; pass --events FILE [FILE ...]")
        if qat_bits is not None and bits is not None:
            raise TrigkitError("--qat-bits and --bits exclude each other: one width, or a scan")
        if out is None and (prune is not None or qat_bits is not None or bits is None):
            raise TrigkitError("--out is required (where to write the compressed model)")
        if int8 and out is None and onnx_out is None:
            raise TrigkitError("--int8 needs --onnx-out (or --out)")
        widths = W.parse_bits(bits) if bits is not None else None
        q_epochs = epochs if qat_epochs is None else qat_epochs
        console = Console()
        _refuse_foreign(model_path)
        model = load_model(model_path)
        train, val = C.load_features(
            model, files, max_jets=max_jets, val_fraction=val_fraction, seed=seed
        )
        console.print(
            f"{model.name}: {len(train)} training / {len(val)} validation jets "
            f"from {len(files)} file(s)"
        )
        if widths is not None:
            scan = W.scan(
                model,
                train,
                val,
                widths,
                finetune=not no_finetune,
                epochs=q_epochs,
                lr=lr,
                seed=seed,
                progress=True,
                range_quantile=range_quantile,
                on_point=lambda p: console.print(
                    f"  {p.bits} bits: AUC {p.auc:.4f}, accuracy {p.accuracy:.4f}"
                ),
            )
            png = plot or _sibling(out or model_path, "-width-scan.png")
            report.plot_width_scan(scan, png)
            report.width_table(console, scan)
            console.print(f"wrote {png}")
            if prune is None and not int8:
                return
        kw: dict[str, Any] = {"seed": seed, "lr": lr, "progress": True}
        if prune is not None:
            kw["prune"] = C.PruningSchedule(
                target_sparsity=prune,
                steps=steps,
                finetune_epochs=epochs,
                structured=structured,
                norm=norm,
                scope=scope,
            )
        if qat_bits is not None:
            kw["qat"] = C.QATOptions(
                bits=qat_bits, epochs=0 if no_finetune else q_epochs, range_quantile=range_quantile
            )
        if int8:
            kw["int8"] = C.Int8Options(
                calibration=calibration, onnx_out=onnx_out or _sibling(out, ".int8.onnx")
            )
        result = C.compress(model, train, val, C.CompressConfig(**kw))
        if result.prune is not None:
            report.sparsity_table(console, result.prune)
        report.stage_table(console, result)
        if out is not None:
            result.model.save(out)
            console.print(f"wrote {out}")
        if result.int8_onnx is not None:
            console.print(f"wrote {result.int8_onnx}")


def _sibling(path: Path | None, suffix: str) -> Path:
    assert path is not None
    return path.with_name(path.stem + suffix)


def _refuse_foreign(path: Path) -> None:
    """compress fine-tunes what trigkit trained; say what a model trained elsewhere gets."""
    from trigkit.core.errors import TrigkitError
    from trigkit.importers import is_foreign_model

    if path.is_file() and is_foreign_model(path):
        raise TrigkitError(
            f"{path}: a model trained elsewhere; compress prunes and fine-tunes models of "
            "`trigkit train` on their own features. Yours is quantized when it is compiled: "
            "trigkit compile MODEL --target fpga --bits W | --scan-bits 4..12 | "
            "--layer-precision FILE, or --target gpu --precision fp16 | int8 --calib-data FILE"
        )
