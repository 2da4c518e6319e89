"""ROC plots as the field draws them: background rejection (log scale) vs signal efficiency,
the tagger and its baselines on the same axes. Written atomically as PNG with the Agg canvas
(no global matplotlib backend is touched)."""

from __future__ import annotations

import os
from pathlib import Path

from trigkit.core.atomic import atomic_path
from trigkit.models.metrics import Roc


def plot_roc(
    curves: list[tuple[str, Roc]],
    path: str | os.PathLike[str],
    *,
    signal: str = "signal",
    background: str = "background",
    title: str = "",
    x_min: float = 0.3,
) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for label, c in curves:
        keep = (c.sig_eff >= x_min) & (c.bkg_eff > 0)
        ax.plot(c.sig_eff[keep], 1.0 / c.bkg_eff[keep], label=label)
    ax.set_yscale("log")
    ax.set_xlim(x_min, 1.0)
    ax.set_xlabel(f"{signal} efficiency")
    ax.set_ylabel(f"{background} rejection (1/efficiency)")
    for wp in (0.5, 0.7, 0.8):
        ax.axvline(wp, color="grey", lw=0.5, ls=":")
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right")  # rejection falls with efficiency; "best" is slow on big ROCs
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
