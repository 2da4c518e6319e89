"""Result JSON records the code's commit; a result of newer or unrelated code is not replaced
unnoticed."""

from __future__ import annotations

import json
import logging
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
