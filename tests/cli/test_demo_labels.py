"""The demo names its event engine: the toy's label in --help, report.md and result files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trigkit.cli.app import main
from trigkit.cli.demo_steps import DemoConfig, DemoLog, _label_emulation, write_markdown
from trigkit.events.samples import PYTHIA_LABEL, TOY_LABEL, engine_label


def test_help_names_the_toy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert TOY_LABEL in text and "[default: pythia]" in text


def test_unknown_engine_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--engine", "herwig", "--out", "x"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: unknown --engine 'herwig'; valid: pythia, fast"]


@pytest.mark.parametrize("engine", ["fast", "pythia"])
def test_report_and_emulation_files_carry_the_label(tmp_path: Path, engine: str) -> None:
    dl = DemoLog(stages=[("generate events", 2.0)], cpu=[3.5])
    dl.facts["engine"] = {"name": engine, "label": engine_label(engine)}
    report = write_markdown(DemoConfig(out=tmp_path, engine=engine), dl).read_text()
    assert f"`{engine}` engine, {engine_label(engine)}" in report
    assert "| generate events | 2.0 | 3.5 |" in report
    assert (TOY_LABEL in report) == (engine == "fast")
    folder = tmp_path / "emulation"
    folder.mkdir()
    (folder / "result.md").write_text("# trigkit emulate: m\n\nPrescale mode: counter\n")
    (folder / "result.json").write_text(json.dumps({"menu": "m"}))
    _label_emulation(folder, engine)
    md = (folder / "result.md").read_text()
    assert md.startswith("# trigkit emulate: m\n\nEvents: ") and "Prescale mode" in md
    data = json.loads((folder / "result.json").read_text())
    assert data == {"menu": "m", "events_engine": {"name": engine, "label": engine_label(engine)}}
    assert PYTHIA_LABEL != TOY_LABEL
