"""`trigkit demo` end to end at a tiny scale on its default (Pythia) engine: every stage runs and
its outputs are consistent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trigkit.cli.app import main


@pytest.mark.slow
def test_demo_tiny(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("hls4ml", reason="the demo's FPGA stage needs the fpga extra")
    pytest.importorskip("onnxruntime", reason="the demo's GPU stage needs the gpu extra")
    if shutil.which("g++") is None:
        pytest.skip("g++ is needed for hls4ml's C simulation")
    pytest.importorskip("pythia8mc", reason="the demo's default engine needs the physics extra")
    pytest.importorskip("fastjet", reason="the demo's default engine needs the physics extra")
    out = tmp_path / "demo"
    monkeypatch.setenv("TRIGKIT_CACHE", str(tmp_path / "cache"))  # a cold Pythia cache
    # the default engine (pythia) at its smallest: 100 events per process, a 100-event pool
    args = ["demo", "--out", str(out), "--scale", "0.01", "--epochs", "1", "--pool-size", "100"]
    assert main(args) == 0
    record = json.loads((out / "demo.json").read_text())
    facts = record
    assert record["engine"]["name"] == "pythia" and record["engine"]["pool_size"] == 100
    samples = record["facts"]["samples"]
    assert [s["events"] for s in samples] == [100, 100, 100]
    assert not any(s["cache_hit"] for s in samples)
    assert (tmp_path / "cache" / "pythia").is_dir()  # the samples went to the given cache
    stages = [name for name, _ in facts["stages"]]
    assert stages[0] == "generate events" and stages[-1].startswith("emulate menu")
    assert len(stages) == 7 and set(record["facts"]["stage_cpu_s"]) == set(stages)
    # the firmware bundle reproduced hls4ml's C simulation and carries float-vs-firmware accuracy
    fpga = facts["facts"]["fpga_report"]
    assert fpga["accuracy"]["emulator_mismatches"] == 0
    assert fpga["accuracy"]["firmware_accuracy"] is not None
    # the emulation used the trained taggers' scores (written into the scored events)
    import awkward as ak

    from trigkit.events.parquet_io import read_parquet

    scored = read_parquet(out / "events" / "scored" / "hh4b.parquet")
    assert "btag" in scored.jets.fields and "xbb" in scored.fatjets.fields
    # the L1 tagger scored the L1 jets, from their L1 tracks (not the offline jets)
    assert "l1_score" in scored.l1jets.fields and "l1_score" not in scored.jets.fields
    btag = ak.to_numpy(ak.flatten(scored.jets.btag))
    assert ((btag >= 0) & (btag <= 1)).all() and btag.std() > 0
    result = json.loads((out / "emulation" / "result.json").read_text())
    assert result["menu"] == "run3_hh4b"
    report = (out / "report.md").read_text()
    assert "# trigkit demo" in report and "`pythia` engine" in report
    assert "not physical" not in report
    assert result["events_engine"]["name"] == "pythia"
    assert "demo finished" in capsys.readouterr().out
