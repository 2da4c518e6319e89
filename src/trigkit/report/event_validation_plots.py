"""Plots of `events validate`: S(d0) by flavour, large-R jet msd by label (H->bb, Z->bb), mHH."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from trigkit.core.atomic import atomic_path
from trigkit.events.batch import EventBatch
from trigkit.report.event_validation_vjets import zbb_jets


def write_plots(batches: list[EventBatch], outdir: Path) -> list[Path]:
    """Write the validation figures (PNG) into ``outdir``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    for name, draw in (("ip_significance", _ip), ("fatjet_msd", _msd), ("mhh", _mhh)):
        fig, ax = plt.subplots(figsize=(5, 4))
        if draw(batches, ax):
            path = outdir / f"{name}.png"
            with atomic_path(path, suffix=".png") as tmp:
                fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
            out.append(path)
        plt.close(fig)
    return out


def _ip(batches: list[EventBatch], ax) -> bool:  # noqa: ANN001
    jets = ak.concatenate([ak.flatten(b.jets) for b in batches])
    jets = jets[(jets.pt > 30) & (ak.num(jets.tracks) >= 2)]
    bins = np.linspace(-10, 40, 51)
    for flav, name in ((5, "b"), (4, "c"), (0, "light")):
        sel = jets[jets.hadron_flavour == flav]
        if len(sel):
            ax.hist(
                ak.to_numpy(sel.tracks.d0_sig[:, 1]),
                bins,
                histtype="step",
                density=True,
                label=name,
            )
    ax.set(xlabel="2nd-highest track S(d0)", ylabel="jets (normalised)", yscale="log")
    ax.legend()
    return len(jets) > 0


def _msd(batches: list[EventBatch], ax) -> bool:  # noqa: ANN001
    drawn = False
    for b in batches:
        if b.fatjets is None or not len(ak.flatten(b.fatjets)):
            continue
        fat = ak.flatten(b.fatjets)
        groups = {b.process: fat}
        if b.process in ("hh4b", "xhh"):
            groups = {"H->bb": fat[fat.label == 1]}
        elif b.process == "zjets" and "n_b_hadrons" in ak.fields(fat):
            groups = {"Z->bb (2 b hadrons, pT > 200)": zbb_jets(b)}
        for name, sel in groups.items():
            ax.hist(
                ak.to_numpy(sel.msd),
                np.linspace(0, 300, 31),
                histtype="step",
                density=True,
                label=name,
            )
            drawn = True
    ax.set(xlabel="soft-drop mass [GeV]", ylabel="large-R jets (normalised)")
    if drawn:
        ax.legend()
    return drawn


def _mhh(batches: list[EventBatch], ax) -> bool:  # noqa: ANN001
    m = [ak.to_numpy(b.truth.mhh) for b in batches if b.process in ("hh4b", "xhh")]
    if not m:
        return False
    ax.hist(np.concatenate(m), np.linspace(200, 1200, 41), histtype="step")
    ax.axvline(250.4, ls="--", color="gray")
    ax.set(xlabel="mHH [GeV]", ylabel="events")
    return True
