"""The per-core ratios and memory-floor fraction the bench commands print and write follow from
the raw timings (computed by hand here)."""

from __future__ import annotations

import json
import math

from trigkit.cli.app import main


def test_bench_emulator_prints_ratios_from_raw_timings(tmp_path, monkeypatch, capsys) -> None:
    from trigkit.benchmarks import emulator
    from trigkit.cli.app import main

    res = emulator.EmulatorBenchResult(
        menu="m",
        n_events=1_000_000,
        awkward_events=10_000,
        n_triggers=8,
        bytes_per_event=100.0,
        threads=2,
        fused_1thread_s=0.05,
        fused_1thread_cpu_s=0.05,
        perpath_1thread_s=None,
        perpath_1thread_cpu_s=None,
        fused_all_s=0.03,
        awkward_s=0.04,
        identical=True,
        accept_fraction={},
        awkward_careful_s=0.02,
        numpy_events=500_000,
        numpy_s=0.5,
        memory_floor_s=0.02,
        stream_floor_s=0.01,
        skeleton_s=0.04,
    )
    monkeypatch.setattr(emulator, "run_benchmark", lambda *a, **k: res)
    out = tmp_path / "e.json"
    assert main(["bench", "emulator", "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    # by hand: fused 1e6 / 0.05 s = 20 M/s; careful awkward 1e4 / 0.02 s = 0.5 M/s -> 40x;
    # numpy 5e5 / 0.5 s = 1 M/s -> 20x; floor 0.02 s / 0.05 s = 40 % of 100 B x 1e6 = 100 MB
    assert "runs at 40% of a numpy read of the same 100 MB" in printed
    # stream floor 0.01 s / 0.05 s = 20 %; 100 MB / 0.01 s = 10 GB/s, numpy 100 MB / 0.02 s = 5
    assert "at 20% of a numba read streaming them (10.0 GB/s vs numpy 5.0 GB/s)" in printed
    # skeleton: floor 0.02 s / 0.04 s = 50 %
    assert (
        "loop skeleton alone (per-event jet loops, empty body) runs at 50% of the numpy" in printed
    )
    rec = json.loads(out.read_text())
    r = rec["ratios_per_core"]
    assert math.isclose(r["fused_1thread_vs_awkward_careful"], 40.0)
    assert math.isclose(r["fused_1thread_vs_numpy"], 20.0)
    assert math.isclose(r["fused_all_per_core_vs_numpy"], 1e6 / 0.03 / 2 / 1e6)
    assert math.isclose(rec["speedup_per_core"], 20e6 / 0.25e6)  # old key kept
    assert rec["thread_counts"]["fused_all"] == 2 and rec["thread_counts"]["numpy"] == 1
    assert math.isclose(rec["stream_floor_fraction"], 0.2) and rec["thread_counts"]["stream_floor"]
    assert "40.0x" in printed and "20.0x" in printed


def test_bench_emulator_prints_both_backends(tmp_path, monkeypatch, capsys) -> None:
    """The C backend timed, the numba kernel beside it: both floor fractions, from raw times."""
    from dataclasses import replace

    from trigkit.benchmarks import emulator

    res = emulator.EmulatorBenchResult(
        menu="m",
        n_events=1_000_000,
        awkward_events=10_000,
        n_triggers=8,
        bytes_per_event=100.0,
        threads=2,
        fused_1thread_s=0.04,
        fused_1thread_cpu_s=0.04,
        perpath_1thread_s=None,
        perpath_1thread_cpu_s=None,
        fused_all_s=0.03,
        awkward_s=0.04,
        identical=True,
        accept_fraction={},
        awkward_careful_s=0.02,
        numpy_events=500_000,
        numpy_s=0.5,
        memory_floor_s=0.02,
        stream_floor_s=0.01,
        skeleton_s=0.04,
        backend="c",
        numba_1thread_s=0.1,
        numba_1thread_cpu_s=0.1,
    )
    monkeypatch.setattr(emulator, "run_benchmark", lambda *a, **k: res)
    out = tmp_path / "e.json"
    assert main(["bench", "emulator", "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    # by hand: C 0.02 / 0.04 = 50 %; numba 0.02 / 0.1 = 20 %, 0.1 / 0.04 = 2.50x the C time
    assert "fused pass (C, AVX-512 lanes) runs at 50% of a numpy read" in printed
    assert "the numba kernel: 20% of the numpy read (2.50x the c kernel's time)" in printed
    # the numba row: 1e6 / 0.1 s = 10 M/s; the C pass 25 M/s per core is 2.5x it
    assert "0.100 │ 10.00 │ 10.00 │ 2.5x" in printed and "(fallbac" in printed
    rec = json.loads(out.read_text())
    assert rec["backend"] == "c" and math.isclose(rec["numba_memory_floor_fraction"], 0.2)
    assert math.isclose(rec["fused_1thread_vs_numba_1thread"], 2.5)
    assert rec["thread_counts"]["numba_1thread"] == 1
    res = replace(res, backend="numba", backend_reason="no C compiler", numba_1thread_s=0.04)
    monkeypatch.setattr(emulator, "run_benchmark", lambda *a, **k: res)
    assert main(["bench", "emulator", "--out", str(tmp_path / "n.json")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "(numba kernel: no C compiler)" in printed and "(fallbac" not in printed


def test_bench_firmware_prints_per_core_speedup(tmp_path, monkeypatch, capsys) -> None:
    from trigkit.benchmarks import firmware

    res = firmware.FirmwareBenchResult(
        n_inputs=10_000,
        repeats=1,
        emulator_s=0.1,
        hls4ml_s=2.0,
        mismatching_samples=0,
        emulator_first_call_s=0.5,
        network="net",
        emulator_1thread_s=0.16,
        threads=2,
        emulator_1thread_cpu_s=0.125,
        hls4ml_cpu_s=1.5,
    )
    monkeypatch.setattr(firmware, "run_firmware_bench", lambda *a, **k: res)
    out = tmp_path / "f.json"
    assert main(["bench", "firmware", "--n", "10000", "--json", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    # by hand: 2.0 / 0.1 = 20x on 2 threads; 2.0 / 0.16 = 12.5x with one thread each
    assert "20.0x" in printed and "12.5x" in printed
    assert "62,500" in printed and "50,000" in printed  # 1e4/0.16; 1e4/0.1 per core (2 threads)
    rec = json.loads(out.read_text())
    assert math.isclose(rec["speedup"], 20.0) and math.isclose(rec["speedup_per_core"], 12.5)
    assert math.isclose(rec["speedup_all_threads_per_core"], 10.0)
    assert math.isclose(rec["speedup_per_core_cpu"], 12.0)  # 1.5 / 0.125 CPU-s
    assert "12.0x (hls4ml 1.5000 CPU-s / emulator 0.1250 CPU-s)" in printed
    assert rec["thread_counts"] == {"emulator": 2, "emulator_1thread": 1, "hls4ml": 1}


def test_generator_per_core() -> None:
    from trigkit.benchmarks.generator import Contender, GeneratorBenchResult

    one = Contender("numba x1", 1, 60_000, 2.0, 2.0, "d")
    two = Contender("numba x2", 2, 60_000, 1.25, 2.5, "d")
    res = GeneratorBenchResult("hh4b", 60_000, 10_000, (one, two), True)
    rec = res.to_json()
    # by hand: x1 1.8 M/min; x2 2.88 M/min = 1.44 M/min per core -> 0.8 of x1 per core
    assert math.isclose(rec["contenders"][1]["events_per_minute_per_core"], 1.44e6)
    assert math.isclose(rec["ratios_per_core"]["numba x2_per_core_vs_numba x1"], 0.8)
    assert rec["thread_counts"] == {"numba x1": 1, "numba x2": 2}
