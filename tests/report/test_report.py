"""Tables, JSON and plots from a small MenuResult."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.emulator.conftest import synthetic_batch
from trigkit.emulator.budget import BudgetTable, HLTBudget, L1Budget
from trigkit.emulator.pipeline import run_batches
from trigkit.emulator.result import build_result
from trigkit.emulator.schema import load_menu
from trigkit.report.json_out import result_dict
from trigkit.report.tables import (
    budget_table,
    efficiency_table,
    rate_table,
    result_tables,
    to_markdown,
    to_rich,
)
from trigkit.report.write import write_report


@pytest.fixture(scope="module")
def result():
    from dataclasses import replace

    menu = load_menu("run3_hh4b")
    samples = run_batches(menu, {"hh4b": synthetic_batch(500, 21, signal=True), "qcd": synthetic_batch(600, 22)})
    res = build_result(menu.name, samples[:1], samples[1:], inst_lumi=2e34)
    return replace(res, budget=BudgetTable(L1Budget(48, 240.0, {"links": 1500.0}), HLTBudget(5.0, 256, 2.0)))


def test_efficiency_and_rate_tables_match_result(result) -> None:
    t = efficiency_table(result)
    row = dict((r[0], r[1]) for r in t.rows)
    e = result.signals[0].efficiency["OR"]
    assert row["OR"] == f"{100 * e.value:.2f} [{100 * e.low:.2f}, {100 * e.high:.2f}]"
    r = rate_table(result)
    rates = {row[0]: row[1] for row in r.rows}
    assert float(rates["OR"]) == pytest.approx(result.rates["OR"].rate_hz, rel=5e-3)


def test_markdown_and_rich(result) -> None:
    md = to_markdown(result_tables(result))
    assert md.count("### ") == 4
    header = next(line for line in md.splitlines() if line.startswith("| path | rate"))
    assert header.count("|") == 6
    assert len(to_rich(result_tables(result))) == 4


def test_budget_table_numbers(result) -> None:
    rows = budget_table(result.budget).rows
    assert rows[0][2] == "200.0 ns" and rows[2][2] == "1700.0 ns (fits)"
    assert rows[-1][2] == str(math.ceil(100e3 * 5.0 * 2.0 / 256 * 1e-3 / 0.8))


def test_json_is_strict_and_complete(result) -> None:
    d = result_dict(result)
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["hlt_paths"] == list(result.hlt_names)
    m = np.array([[np.nan if v is None else v for v in row] for row in back["overlap"]["matrix"]])
    np.testing.assert_allclose(m, result.overlap, equal_nan=True)
    curve = back["signal"][0]["curves"]["mhh"]["OR"]
    assert len(curve["edges"]) == len(curve["value"]) + 1
    assert all(v is None or 0 <= v <= 1 for v in curve["value"])
    assert back["budget"]["hlt"]["gpus_needed"] == result.budget.hlt.gpus_needed


def test_write_report_atomic(result, tmp_path) -> None:
    out = tmp_path / "r"
    files = write_report(out, result, None)
    assert {p.name for p in files} == {p.name for p in out.iterdir()}
    png = (out / "rates.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
