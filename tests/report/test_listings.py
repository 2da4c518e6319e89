"""`report.listings`: the CLI's listings hold exactly what the registries and summaries say."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console

from trigkit.models.kinds import KINDS
from trigkit.models.registry import get_spec, names
from trigkit.report.listings import backends_table, models_table


def _text(table: object) -> str:
    console = Console(width=300, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_models_table_has_one_row_per_registered_model() -> None:
    table = models_table()
    assert table.row_count == len(names())
    text = _text(table)
    for n in names():
        spec = get_spec(n)
        line = next(row for row in text.splitlines() if f" {n} " in row)
        assert spec.kind in line and "/".join(KINDS[spec.kind].class_names) in line


@dataclass(frozen=True)
class _Row:
    kind: str
    name: str
    available: bool
    detail: str


def test_backends_table_marks_each_row_and_keeps_markup_out() -> None:
    rows = [_Row("runtime", "onnxrt", True, "ok"), _Row("tool", "yosys", False, "not on [PATH]")]
    text = _text(backends_table(rows))
    onnx = next(line for line in text.splitlines() if "onnxrt" in line)
    yosys = next(line for line in text.splitlines() if "yosys" in line)
    assert "available" in onnx and "unavailable" not in onnx
    assert "unavailable" in yosys and "not on [PATH]" in yosys  # escaped, not read as markup
