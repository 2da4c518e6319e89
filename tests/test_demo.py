"""`trigkit demo` end to end at a tiny scale: every stage runs and its outputs are consistent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trigkit.cli.app import main


@pytest.mark.slow
def test_demo_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("hls4ml", reason="the demo's FPGA stage needs the fpga extra")
    pytest.importorskip("onnxruntime", reason="the demo's GPU stage needs the gpu extra")
    if shutil.which("g++") is None:
        pytest.skip("g++ is needed for hls4ml's C simulation")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--scale", "0.02", "--epochs", "1"]) == 0
    facts = json.loads((out / "demo.json").read_text())
    stages = [name for name, _ in facts["stages"]]
    assert stages[0] == "generate events" and stages[-1].startswith("emulate menu")
    assert len(stages) == 7
    # the firmware bundle reproduced hls4ml's C simulation and carries float-vs-firmware accuracy
    fpga = facts["facts"]["fpga_report"]
    assert fpga["accuracy"]["emulator_mismatches"] == 0
    assert fpga["accuracy"]["firmware_accuracy"] is not None
    # the emulation used the trained taggers' scores (written into the scored events)
    import awkward as ak

    from trigkit.events.parquet_io import read_parquet

    scored = read_parquet(out / "events" / "scored" / "hh4b.parquet")
    assert {"btag", "l1_score"} <= set(scored.jets.fields) and "xbb" in scored.fatjets.fields
    btag = ak.to_numpy(ak.flatten(scored.jets.btag))
    assert ((btag >= 0) & (btag <= 1)).all() and btag.std() > 0
    result = json.loads((out / "emulation" / "result.json").read_text())
    assert result["menu"] == "run3_hh4b"
    assert "# trigkit demo" in (out / "report.md").read_text()
    assert "demo finished" in capsys.readouterr().out
