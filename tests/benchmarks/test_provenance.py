"""Result JSON records the code's commit; a result of newer or unrelated code is not replaced
unnoticed; the printed per-core ratios and memory-floor fraction follow from the raw timings."""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import pytest

from trigkit.benchmarks import provenance as prov
from trigkit.core.errors import TrigkitError

HEAD = prov.git_commit()
PARENT = prov._git("rev-parse", "HEAD~1") if HEAD else None
needs_git = pytest.mark.skipif(PARENT is None, reason="needs trigkit's git history")


def _result(path: Path, commit: str | None, nested: bool = False) -> None:
    record = {"provenance": {"git_commit": commit}, "value": 1}
    path.write_text(json.dumps({"results": {"x": {"record": record}}} if nested else record))


def test_provenance_record() -> None:
    rec = prov.provenance({"fused": 2})
    assert rec["cpu_count"] == os.cpu_count() and rec["threads"] == {"fused": 2}
    assert len(rec["loadavg"]) == 3 and rec["git_commit"] == HEAD


@needs_git
def test_stale_result_is_replaced_and_said(tmp_path: Path, caplog) -> None:
    out = tmp_path / "emulator.json"
    _result(out, PARENT)
    with caplog.at_level(logging.WARNING, logger="trigkit.benchmarks.provenance"):
        prov.write_result(out, {"provenance": prov.provenance(), "value": 2})
    assert json.loads(out.read_text())["value"] == 2
    assert f"made by older code (commit {PARENT[:12]})" in caplog.text


@needs_git
def test_result_of_newer_code_is_refused_unless_allowed(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "all.json"
    _result(out, HEAD, nested=True)  # the commit sits inside a bench-all record
    monkeypatch.setattr(prov, "git_commit", lambda: PARENT)  # we are the older code now
    with pytest.raises(TrigkitError, match=r"made by newer code .*pass --allow-older"):
        prov.write_result(out, {"value": 3})
    assert json.loads(out.read_text())["results"]["x"]["record"]["value"] == 1
    prov.write_result(out, {"value": 3}, allow_older=True)
    assert json.loads(out.read_text()) == {"value": 3}


@needs_git
def test_unknown_commit_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    _result(out, "0" * 40)
    with pytest.raises(TrigkitError, match="unrelated"):
        prov.check_overwrite(out, allow_older=False)
    _result(out, None)  # no commit recorded: nothing to compare, written
    prov.write_result(out, {"value": 4})
    assert json.loads(out.read_text()) == {"value": 4}


def test_bench_emulator_prints_ratios_from_raw_timings(tmp_path, monkeypatch, capsys) -> None:
    from trigkit.benchmarks import emulator
    from trigkit.cli.app import main

    res = emulator.EmulatorBenchResult(
        menu="m", n_events=1_000_000, awkward_events=10_000, n_triggers=8, bytes_per_event=100.0,
        threads=2, fused_1thread_s=0.05, fused_1thread_cpu_s=0.05, perpath_1thread_s=0.2,
        perpath_1thread_cpu_s=0.2, fused_all_s=0.03, awkward_s=0.04, identical=True,
        accept_fraction={}, awkward_careful_s=0.02, numpy_events=500_000, numpy_s=0.5,
        memory_floor_s=0.02,
    )  # fmt: skip
    monkeypatch.setattr(emulator, "run_benchmark", lambda *a, **k: res)
    out = tmp_path / "e.json"
    assert main(["bench", "emulator", "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    # by hand: fused 1e6 / 0.05 s = 20 M/s; careful awkward 1e4 / 0.02 s = 0.5 M/s -> 40x;
    # numpy 5e5 / 0.5 s = 1 M/s -> 20x; floor 0.02 s / 0.05 s = 40 % of 100 B x 1e6 = 100 MB
    assert "runs at 40% of a numpy read of the same 100 MB" in printed
    rec = json.loads(out.read_text())
    r = rec["ratios_per_core"]
    assert math.isclose(r["fused_1thread_vs_awkward_careful"], 40.0)
    assert math.isclose(r["fused_1thread_vs_numpy"], 20.0)
    assert math.isclose(r["fused_all_per_core_vs_numpy"], 1e6 / 0.03 / 2 / 1e6)
    assert math.isclose(rec["speedup_per_core"], 20e6 / 0.25e6)  # old key kept
    assert rec["thread_counts"]["fused_all"] == 2 and rec["thread_counts"]["numpy"] == 1
    assert "40.0x" in printed and "20.0x" in printed
