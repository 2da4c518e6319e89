"""The metrics table `trigkit train` and `trigkit evaluate` print (from Evaluation.as_dict())."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def _num(v: Any, fmt: str, n_bkg: int | None = None) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and v == float("inf"):
        # no background object passes: the rejection is only bounded by the sample size
        return f">{n_bkg}" if n_bkg else "inf"
    return format(v, fmt)


def metrics_table(ev: dict[str, Any], title: str = "") -> Table:
    bkg = ev.get("background", "bkg")
    t = Table(
        title=title,
        caption="rejection = 1/background efficiency at 50/70/80 % signal efficiency; "
        "'>N': no background object of N passes",
    )
    for col in (
        "tagger",
        "AUC",
        f"{bkg} rej@50%",
        "rej@70%",
        "rej@80%",
        "accuracy",
        "params",
        "MACs/jet",
        "FLOPs/jet",
    ):
        t.add_column(col, justify="left" if col == "tagger" else "right")
    for row in [ev["model"], *ev.get("baselines", [])]:
        rej, nb = row["rejection"], row.get("n_background")
        t.add_row(
            row["name"],
            _num(row["auc"], ".4f"),
            _num(rej.get("0.5"), ".1f", nb),
            _num(rej.get("0.7"), ".1f", nb),
            _num(rej.get("0.8"), ".1f", nb),
            _num(row.get("accuracy"), ".3f"),
            _num(row.get("n_params"), "d"),
            _num(row.get("macs"), "d"),
            _num(row.get("flops"), "d"),
        )
    return t
