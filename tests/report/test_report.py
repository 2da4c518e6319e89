"""Tables, JSON and plots from a small MenuResult."""

from __future__ import annotations

import json
import math
from dataclasses import replace

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
    samples = run_batches(
        menu, {"hh4b": synthetic_batch(500, 21, signal=True), "qcd": synthetic_batch(600, 22)}
    )
    res = build_result(menu.name, samples[:1], samples[1:], inst_lumi=2e34)
    return replace(
        res,
        budget=BudgetTable(
            L1Budget(48, 240.0, {"links": 1500.0}), HLTBudget(5.0, 256, 2.0, pooled=True)
        ),
    )


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
    # scores, L1 seed jets, efficiency, rate, overlap, budget (one background: no per-sample
    # rate table)
    assert md.count("### ") == 6
    assert "| offline jets |" in md
    header = next(line for line in md.splitlines() if line.startswith("| path | rate"))
    assert header.count("|") == 6
    assert len(to_rich(result_tables(result))) == 6


def test_rates_by_background_sample_add_up_and_are_reported() -> None:
    from trigkit.report.tables import sample_rate_table

    menu = load_menu("run3_hh4b")
    qcd, tt = synthetic_batch(700, 31), synthetic_batch(500, 32)
    tt = replace(tt, process="ttbar", weight=tt.weight * 0.01)
    samples = run_batches(
        menu, {"hh4b": synthetic_batch(300, 33, signal=True), "qcd": qcd, "ttbar": tt}
    )
    res = build_result(menu.name, samples[:1], samples[1:], inst_lumi=2e34)
    assert list(res.sample_rates) == ["qcd", "ttbar"]
    for key in (*res.hlt_names, "OR", *res.l1_names, "L1 OR"):
        parts = [res.sample_rates[s][key].rate_hz for s in ("qcd", "ttbar")]
        assert sum(parts) == pytest.approx(res.rates[key].rate_hz, rel=1e-12)
        errs = [res.sample_rates[s][key].error_hz for s in ("qcd", "ttbar")]
        assert np.hypot(*errs) == pytest.approx(res.rates[key].error_hz, rel=1e-12)
    # by hand for one path: the weights of qcd events passing it, x L / lumi_pb x 1e-36
    path = res.hlt_names[0]
    passed = samples[1].decisions.path(path)
    assert res.sample_rates["qcd"][path].rate_hz == pytest.approx(
        qcd.weight[passed].sum() / qcd.lumi_pb * 2e34 * 1e-36
    )
    t = sample_rate_table(res)
    assert t.headers == ("path", "qcd", "ttbar")
    assert any(t.title == x.title for x in result_tables(res))
    back = json.loads(json.dumps(result_dict(res), allow_nan=False))
    assert back["rates_by_sample_hz"]["ttbar"]["OR"]["rate"] == pytest.approx(
        res.sample_rates["ttbar"]["OR"].rate_hz
    )


def test_score_provenance_names_stand_ins_and_file_fields(tmp_path) -> None:
    menu = load_menu("run3_hh4b")
    with_btag = synthetic_batch(200, 41, signal=True)
    no_btag = synthetic_batch(200, 42, with_tracks=True)
    no_btag = replace(
        no_btag,
        jets=no_btag.jets[[f for f in no_btag.jets.fields if f != "btag"]],
        fatjets=no_btag.fatjets[[f for f in no_btag.fatjets.fields if f != "xbb"]],
    )
    samples = run_batches(menu, {"sig": with_btag, "bkg": no_btag})
    assert samples[0].scores == {
        "jets.btag": "events file field 'btag'",
        "fatjets.xbb": "events file field 'xbb'",
    }
    assert samples[1].scores["jets.btag"].startswith("baseline stand-in, not a trained tagger")
    assert samples[1].scores["fatjets.xbb"].startswith("baseline stand-in, not a trained tagger")
    res = build_result(menu.name, samples[:1], samples[1:])
    d = result_dict(res)
    assert d["samples"][1]["scores"]["jets.btag"] == samples[1].scores["jets.btag"]
    md = to_markdown(result_tables(res))
    assert "### Tagger scores" in md and "| jets.btag | bkg | baseline stand-in" in md


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
