"""Write a result directory atomically: result.json, result.md and the PNG plots."""

from __future__ import annotations

from pathlib import Path

from trigkit.core.atomic import atomic_dir
from trigkit.emulator.nanoaod import NanoAgreement
from trigkit.emulator.result import MenuResult
from trigkit.report.json_out import agreement_dict, result_dict, write_json
from trigkit.report.tables import Table, agreement_table, prescale_note, result_tables, to_markdown


def all_tables(res: MenuResult | None, agreement: NanoAgreement | None) -> list[Table]:
    tables = result_tables(res) if res is not None else []
    if agreement is not None:
        tables.append(agreement_table(agreement))
    return tables


def write_report(
    out_dir: str | Path, res: MenuResult | None, agreement: NanoAgreement | None, plots: bool = True
) -> list[Path]:
    """Everything is built in a temporary sibling and swapped in only when complete."""
    from trigkit.report.plots import write_plots

    with atomic_dir(out_dir) as tmp:
        data = (
            result_dict(res, agreement)
            if res is not None
            else {"schema": "trigkit.emulate/1", "nanoaod": agreement_dict(agreement)}
        )
        write_json(tmp / "result.json", data)
        title = f"# trigkit emulate: {res.menu_name if res else 'NanoAOD agreement'}\n\n"
        if res is not None:
            title += f"Prescale mode: {prescale_note(res.prescale_mode)}\n\n"
        (tmp / "result.md").write_text(title + to_markdown(all_tables(res, agreement)))
        names = ["result.json", "result.md"]
        if plots and res is not None:
            names += [p.name for p in write_plots(res, tmp)]
    return [Path(out_dir) / n for n in names]
