"""`trigkit report BUNDLE` end to end (in-process CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.firmware.report_bundles import write_fpga_bundle, write_gpu_bundle
from trigkit.cli import main
from trigkit.firmware.estimate import estimate_network


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def test_report_fpga_bundle_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net, _ = write_fpga_bundle(tmp_path / "b", n=200)
    out_json = tmp_path / "rep.json"
    assert main(["report", str(tmp_path / "b"), "--budget-ns", "100", "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    est = estimate_network(net)
    assert "estimate" in text and "verdict" in text and "agreement" in text
    assert f"{est.latency_cycles} cycles = {est.latency_ns:g} ns" in text
    data = json.loads(out_json.read_text())
    assert data["latency"][0]["cycles"] == est.latency_cycles
    assert data["resources"][0]["lut"] == est.total("lut")
    assert data["accuracy"]["emulator_mismatches"] == 0
    assert data["fits_budget"] is (est.latency_ns <= 100)
    word = "FITS" if est.latency_ns <= 100 else "EXCEEDS"
    assert word in text


def test_report_tight_budget_exceeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fpga_bundle(tmp_path / "b", n=50)
    assert main(["report", str(tmp_path / "b"), "--budget-ns", "1"]) == 0
    assert "EXCEEDS the 1 ns budget" in capsys.readouterr().out


def test_report_refuses_tampered_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fpga_bundle(tmp_path / "b", n=50)
    with open(tmp_path / "b" / "reference.npz", "ab") as f:
        f.write(b"x")
    assert main(["report", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sha256 mismatch" in err[0] and "reference.npz" in err[0]


def test_report_gpu_bundle_shows_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_gpu_bundle(tmp_path / "g")
    assert main(["report", str(tmp_path / "g")]) == 0
    text = capsys.readouterr().out
    for word in ("gpu", "onnxruntime", "fp16", "tracks", "0.002"):
        assert word in text


def test_report_not_a_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 1
    assert "not a trigkit bundle" in capsys.readouterr().err
