"""The GPU results no machine here can regenerate: named with their commit and date, checked
against git and the README, and kept by `trigkit bench all` unless --force."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from trigkit.benchmarks import all as bench_all
from trigkit.benchmarks import frozen
from trigkit.benchmarks.provenance import recorded_commit
from trigkit.cli.app import main

ROOT = Path(__file__).parents[2]
GPU = frozen.FROZEN[0]


def _recording_benchmarks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ran: list[str] = []

    def run(quick: bool, work: Path) -> dict[str, object]:
        ran.append("alpha")
        return {"value": 1}

    spec = bench_all.BenchSpec("alpha", lambda: None, run, lambda r: "alpha ok")
    monkeypatch.setattr(bench_all, "BENCHMARKS", (spec,))
    return ran


def test_bench_all_refuses_a_frozen_result_saying_why(monkeypatch, capsys) -> None:
    ran = _recording_benchmarks(monkeypatch)
    target = frozen.RESULTS / GPU.name
    before = target.read_bytes()
    assert main(["bench", "all", "--quick", "--out", str(target)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"will not overwrite {GPU.name}: measured on an NVIDIA H100" in err
    assert f"committed in {GPU.commit[:12]} on {GPU.date[:10]}" in err and "--force" in err
    assert ran == [] and target.read_bytes() == before  # refused before any benchmark ran


def test_force_overwrites(monkeypatch, tmp_path) -> None:
    ran = _recording_benchmarks(monkeypatch)
    results = tmp_path / "bench" / "results"
    results.mkdir(parents=True)
    shutil.copy(frozen.RESULTS / GPU.name, results / GPU.name)
    monkeypatch.setattr(frozen, "RESULTS", results)
    out = results / GPU.name
    assert main(["bench", "all", "--quick", "--out", str(out)]) == 1 and ran == []
    assert main(["bench", "all", "--quick", "--out", str(out), "--force"]) == 0
    assert ran == ["alpha"] and json.loads(out.read_text())["benchmark"] == "all"
    other = results / "elsewhere.json"  # not a frozen result: written without --force
    assert main(["bench", "all", "--quick", "--out", str(other)]) == 0


@pytest.mark.parametrize("entry", frozen.FROZEN, ids=lambda e: e.name)
def test_entry_is_the_files_last_commit(entry: frozen.FrozenResult) -> None:
    path = frozen.RESULTS / entry.name
    assert path.is_file() and recorded_commit(path) is None  # no provenance of its own
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("no git checkout")
    done = subprocess.run(
        [git, "-C", str(ROOT), "log", "-1", "--format=%H %cI", "--", f"bench/results/{entry.name}"],
        capture_output=True,
        text=True,
        check=True,
    )
    if not done.stdout.strip():
        pytest.skip("git history lacks the file (shallow clone?)")
    assert done.stdout.split() == [entry.commit, entry.date]


def test_results_readme_names_every_frozen_file() -> None:
    text = " ".join((frozen.RESULTS / "README.md").read_text().split())
    for entry in frozen.FROZEN:
        assert f"`{entry.name}` (commit `{entry.commit[:12]}`, {entry.date[:10]})" in text
