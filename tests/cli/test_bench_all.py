"""`trigkit bench all`: collection, skip and failure logic, and a real --quick run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trigkit.benchmarks import all as bench_all
from trigkit.cli.app import main
from trigkit.core.errors import TrigkitError


def _fake(
    name: str, needs: str | None = None, fail: Exception | None = None
) -> bench_all.BenchSpec:
    def run(quick: bool, work: Path) -> dict[str, object]:
        if fail is not None:
            raise fail
        return {"name": name, "quick": quick, "value": len(name)}

    return bench_all.BenchSpec(
        name, lambda: needs, run, lambda r: f"{r['name']} value {r['value']}"
    )


def test_collects_skips_and_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = (
        _fake("alpha"),
        _fake("beta", needs="no beta here"),
        _fake("gamma", fail=TrigkitError("gamma: outputs differ")),
        _fake("delta"),
    )
    monkeypatch.setattr(bench_all, "BENCHMARKS", specs)
    out = tmp_path / "r" / "all.json"
    assert main(["bench", "all", "--quick", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        "error: bench all: 1 benchmark(s) failed: gamma (TrigkitError: gamma: outputs differ); "
        f"see {out}"
    )
    rec = json.loads(out.read_text())  # the record is complete even when one benchmark failed
    res = rec["results"]
    assert rec["benchmark"] == "all" and rec["quick"] is True
    assert list(res) == ["alpha", "beta", "gamma", "delta"]
    assert [r["status"] for r in res.values()] == ["ok", "skipped", "failed", "ok"]
    assert res["alpha"]["record"] == {"name": "alpha", "quick": True, "value": 5}
    assert res["alpha"]["headline"] == "alpha value 5"
    assert res["beta"]["reason"] == "no beta here" and res["beta"]["record"] is None
    assert res["gamma"]["reason"] == "TrigkitError: gamma: outputs differ"
    m = rec["machine"]
    assert m["cpu_count"] >= 1 and m["python"] and m["versions"]["numpy"]
    assert {"cpu_model", "memory_bytes", "gpu"} <= set(m)


def test_only_and_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench_all, "BENCHMARKS", (_fake("alpha"), _fake("beta")))
    res = bench_all.run_all(quick=True, only=("beta",))
    assert [(o.name, o.status) for o in res.outcomes] == [("alpha", "skipped"), ("beta", "ok")]
    out = tmp_path / "all.json"
    assert main(["bench", "all", "--only", "alpha,zeta", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: --only zeta: unknown benchmark; valid: alpha, beta"
    assert not out.exists()


def test_firmware_skip_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_all.shutil, "which", lambda name: None)
    monkeypatch.setattr("trigkit.core.lazy.probe", lambda m: (True, "importable"))
    assert "g++ not found" in (bench_all._needs_firmware() or "")
    monkeypatch.setattr("trigkit.core.lazy.probe", lambda m: (False, "ModuleNotFoundError: hls4ml"))
    assert "trigkit[fpga]" in (bench_all._needs_firmware() or "")


def test_missing_module_is_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "awkward_blocked_for_test", None)
    needs = bench_all._needs_modules("json", "awkward_blocked_for_test")
    assert (needs() or "").startswith("awkward_blocked_for_test not importable (")
    assert bench_all._needs_modules("json")() is None
    assert [s.name for s in bench_all.BENCHMARKS] == ["generator", "emulator", "firmware", "gpu"]


def test_quick_real_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Generator, emulator and GPU (CPU backends here) for real at --quick sizes; firmware is
    covered by tests/firmware and takes ~30 s, so it is left out here."""
    out = tmp_path / "all.json"
    assert (
        main(["bench", "all", "--quick", "--only", "generator,emulator,gpu", "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    rec = json.loads(out.read_text())
    res = rec["results"]
    assert res["firmware"]["status"] == "skipped"
    for name in ("generator", "emulator", "gpu"):
        assert res[name]["status"] == "ok", res[name]
        assert name in printed
    gen = res["generator"]["record"]
    assert gen["identical"] is True and gen["events"] == 20_000
    assert all(c["events"] == 20_000 for c in gen["contenders"])
    emu = res["emulator"]["record"]
    assert emu["identical"] is True and emu["n_events"] == 200_000
    fused = emu["n_events"] / emu["fused_1thread_s"]  # per-core ratios from the raw timings
    ratios = emu["ratios_per_core"]
    assert ratios["fused_1thread_vs_numpy"] == pytest.approx(
        fused / (emu["numpy_events"] / emu["numpy_s"])
    )
    assert ratios["fused_1thread_vs_awkward_careful"] == pytest.approx(
        fused / (emu["awkward_events"] / emu["awkward_careful_s"])
    )
    assert emu["memory_floor_fraction"] == pytest.approx(
        emu["memory_floor_s"] / emu["fused_1thread_s"]
    )
    assert emu["thread_counts"]["numpy"] == 1 and emu["provenance"]["cpu_count"] >= 1
    assert rec["provenance"]["git_commit"] == emu["provenance"]["git_commit"]
    assert gen["ratios_per_core"] and set(gen["thread_counts"].values()) >= {1}
    gpu = res["gpu"]["record"]
    assert not gpu["failed_contenders"] and gpu["points"]
    assert {p["batch"] for p in gpu["points"]} == {1, 64}
