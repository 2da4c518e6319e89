"""PNG plots of a MenuResult: efficiency vs mHH, turn-on curves (leading-jet pT, HT), rates."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from trigkit.emulator.result import OR_NAME, RATE_UL_CL, Curve, MenuResult

log = logging.getLogger(__name__)
LABELS = {
    "mhh": r"$m_{HH}$ [GeV]",
    "lead_pt": r"leading-jet $p_T$ [GeV]",
    "ht": r"offline $H_T$ [GeV]",
}


def _pyplot():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    try:
        import mplhep

        plt.style.use(mplhep.style.CMS)
    except Exception as exc:  # noqa: BLE001 - style is cosmetic
        log.debug("mplhep style unavailable: %s", exc)
    return plt


def _draw_curve(ax, c: Curve, label: str) -> None:  # noqa: ANN001
    centers = 0.5 * (c.edges[1:] + c.edges[:-1])
    ok = c.total > 0
    yerr = np.vstack([c.value - c.low, c.high - c.value])[:, ok]
    ax.errorbar(
        centers[ok],
        c.value[ok],
        yerr=yerr,
        xerr=0.5 * np.diff(c.edges)[ok],
        fmt="o",
        ms=3,
        label=label,
    )


def plot_curves(res: MenuResult, out_dir: Path) -> list[Path]:
    plt = _pyplot()
    written = []
    for s in res.signals:
        for var, curves in s.curves.items():
            fig, ax = plt.subplots(figsize=(9, 7))
            for name, c in curves.items():
                _draw_curve(ax, c, "OR of all paths" if name == OR_NAME else name)
            ax.set_xlabel(LABELS.get(var, var))
            ax.set_ylabel("weighted efficiency" if s.weighted else "efficiency")
            # every event is drawn: the end bins hold the under- and overflow
            ax.text(
                0.99,
                0.01,
                "first bin includes underflow, last bin overflow",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=8,
            )
            ax.set_ylim(0, 1.3)
            ax.legend(fontsize=9, loc="upper left")
            ax.set_title(f"{s.name}: {res.menu_name}", fontsize=12)
            path = out_dir / f"eff_{s.name}_{var}.png"
            fig.savefig(path, dpi=80, bbox_inches="tight")
            plt.close(fig)
            written.append(path)
    return written


def plot_rates(res: MenuResult, out_dir: Path) -> list[Path]:
    if not res.rates:
        return []
    plt = _pyplot()
    names = [*res.hlt_names, OR_NAME]
    rates = np.array([res.rates[n].rate_hz for n in names])
    errs = np.array([res.rates[n].error_hz for n in names])
    pure = np.array([res.rates[n].pure_hz if n != OR_NAME else np.nan for n in names])
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.6 * len(names)))
    y = np.arange(len(names))
    ax.barh(y, rates, xerr=errs, label="rate", color="tab:blue", alpha=0.7)
    ax.barh(y, np.nan_to_num(pure), label="pure rate", color="tab:orange", alpha=0.9, height=0.4)
    upper = np.array([res.rates[n].upper_hz for n in names])
    if np.isfinite(upper).any():  # no event passed: a one-sided upper limit instead of a 0 bar
        ax.plot(
            upper,
            y,
            "<",
            color="tab:red",
            label=f"{100 * RATE_UL_CL:.0f}% CL upper limit (no event passed)",
        )
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel(f"rate [Hz] at L = {res.inst_lumi:.2g} cm$^{{-2}}$s$^{{-1}}$")
    ax.legend(fontsize=9)
    path = out_dir / "rates.png"
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return [path]


def write_plots(res: MenuResult, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    return plot_curves(res, out_dir) + plot_rates(res, out_dir)
