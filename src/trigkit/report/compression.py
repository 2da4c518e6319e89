"""Tables and the plot of `trigkit compress`: per-layer sparsity, metrics per stage, width scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from trigkit.compile.compress import CompressResult
from trigkit.compile.prune import PruneReport
from trigkit.compile.width_scan import WidthScan
from trigkit.core.atomic import atomic_path


def sparsity_table(console: Console, report: PruneReport) -> None:
    kind = "structured (rows)" if report.structured else "unstructured"
    table = Table(title=f"pruning, {kind}, target {report.target_sparsity:.0%}")
    for col in ("layer", "weights", "zeros", "sparsity", "zero rows"):
        table.add_column(col, justify="left" if col == "layer" else "right")
    for r in report.rows:
        name = r.layer if r.pruned else f"{r.layer} (kept)"
        table.add_row(
            name,
            str(r.n_weights),
            str(r.n_zero),
            f"{r.sparsity:.1%}",
            f"{r.n_rows_zero}/{r.n_rows}",
        )
    table.add_row(
        "pruned layers",
        str(report.n_weights),
        str(report.n_zero),
        f"{report.sparsity:.1%}",
        "",
        style="bold",
    )
    console.print(table)


def stage_table(console: Console, result: CompressResult) -> None:
    ref = result.stage("float")
    table = Table(title=f"{result.model.name}: metrics on the validation jets")
    for col in ("stage", "AUC", "dAUC", "accuracy", "d accuracy", "nonzero params"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for s in result.stages:
        d_auc = (s.auc - ref.auc) / ref.auc
        d_acc = (s.accuracy - ref.accuracy) / ref.accuracy
        table.add_row(
            s.stage,
            f"{s.auc:.4f}",
            f"{d_auc:+.2%}",
            f"{s.accuracy:.4f}",
            f"{d_acc:+.2%}",
            f"{s.nonzero_params}/{s.n_params}",
        )
    console.print(table)


def width_table(console: Console, scan: WidthScan) -> None:
    how = f"QAT, {scan.epochs} epochs" if scan.finetuned else "post-training"
    table = Table(title=f"{scan.model}: metrics vs. fixed-point width ({how})")
    for col in ("bits", "AUC", "dAUC", "accuracy", "d accuracy"):
        table.add_column(col, justify="right")
    table.add_row(
        "float", f"{scan.float_auc:.4f}", "", f"{scan.float_accuracy:.4f}", "", style="bold"
    )
    for p in scan.points:
        table.add_row(
            str(p.bits),
            f"{p.auc:.4f}",
            f"{scan.change(p, 'auc'):+.2%}",
            f"{p.accuracy:.4f}",
            f"{scan.change(p, 'accuracy'):+.2%}",
        )
    console.print(table)


def plot_width_scan(result: WidthScan, path: str | Path) -> Path:
    """Accuracy and AUC vs. width, float model as dashed lines; PNG written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    bits = np.array([p.bits for p in result.points])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    for ax, metric, ref in (
        (axes[0], "accuracy", result.float_accuracy),
        (axes[1], "auc", result.float_auc),
    ):
        ax.plot(
            bits,
            [getattr(p, metric) for p in result.points],
            "o-",
            label="QAT" if result.finetuned else "post-training",
        )
        ax.axhline(ref, ls="--", color="gray", label="float")
        ax.set_xlabel("total width W of ap_fixed<W, I> (bits)")
        ax.set_ylabel(metric.upper() if metric == "auc" else metric)
        ax.set_xticks(bits)
        ax.legend()
    fig.suptitle(f"{result.model}: metrics vs. fixed-point width")
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
