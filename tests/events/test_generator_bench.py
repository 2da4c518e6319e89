"""`trigkit bench generator`: contenders agree, JSON records machine and versions."""

from __future__ import annotations

import json

from trigkit.benchmarks.generator import run_generator_bench
from trigkit.cli.app import main
from trigkit.events.generator import iter_generate


def test_contenders_identical_and_counted():
    result = run_generator_bench("qcd", events=400, chunk_size=150)
    assert result.identical
    assert all(c.events == 400 and c.seconds > 0 and c.cpu_seconds > 0 for c in result.contenders)
    assert {c.threads for c in result.contenders} >= {1}
    record = result.to_json()
    json.dumps(record)
    assert record["machine"]["numba"] and record["machine"]["awkward"]
    first = record["contenders"][0]
    assert first["events_per_minute"] == 60.0 * 400 / first["seconds"]


def test_digest_changes_with_seed():
    from trigkit.benchmarks.generator import _run

    a = _run("hh4b", 200, 1, 100, 1)
    b = _run("hh4b", 200, 2, 100, 1)
    assert a.digest != b.digest
    assert sum(len(x) for x in iter_generate("hh4b", 200, 1, chunk_size=100)) == a.events


def test_cli_writes_json(tmp_path):
    out = tmp_path / "r" / "gen.json"
    assert (
        main(["bench", "generator", "--process", "ttbar", "--events", "300", "--out", str(out)])
        == 0
    )
    record = json.loads(out.read_text())
    assert record["benchmark"] == "generator" and record["identical"] is True
    assert record["process"] == "ttbar" and len(record["contenders"]) >= 1
