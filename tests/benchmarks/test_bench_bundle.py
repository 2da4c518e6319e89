"""`trigkit bench bundle`: the statistics come from the recorded per-call timings.

Bundles: a GPU bundle compiled from an ONNX MLP (onnxruntime, no engine) and an FPGA bundle of a
small random firmware network (bit-exact numba emulation). A scripted clock gives known call
times, so p50 / p99 / throughput are checked against hand-computed values (no wall-clock
asserts); the CLI JSON is checked against its own ``times_us``.
"""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path

import numpy as np
import pytest

from tests.importers import writers
from trigkit.cli.app import main

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from trigkit.bundle.manifest import TensorSpec, new_manifest, write_bundle
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.fixedpoint.random_net import edge_inputs, random_network

    d = tmp_path_factory.mktemp("benchb")
    onnx = writers.to_onnx(writers.mlp((6, 8, 3)), d / "m.onnx", (6,))
    compile_imported_gpu(onnx, d / "gpu", ImportOptions(), engine="never")
    net = random_network((5, 8, 2), seed=3)
    x = edge_inputs(net, 32, seed=1)
    man = new_manifest(
        target="fpga",
        backend="emulation",
        model_name="rand",
        precision="fixed",
        inputs=[TensorSpec(name="x", shape=(-1, 5), dtype="float64")],
        outputs=[TensorSpec(name="y", shape=(-1, 2), dtype="float64")],
        target_info={"network": net.to_json()},
    )
    with write_bundle(d / "fpga", man) as w:
        w.save_reference({"x": x}, {"y": FirmwareEmulator(net).predict(x)})
    return {"dir": d, "gpu": d / "gpu", "fpga": d / "fpga"}


def test_summarize_hand_computed() -> None:
    from trigkit.benchmarks.bundle import summarize

    s = summarize(64, np.arange(1, 101) * 1e-6)  # 1..100 us
    assert s.repeats == 100
    assert s.p50_us == pytest.approx(50.5)
    assert s.p99_us == pytest.approx(99.01)
    assert s.mean_us == pytest.approx(50.5)
    assert s.throughput_per_s == pytest.approx(64 / 50.5e-6)


def _scripted_clock(durations_s: list[float]):
    """perf_counter stand-in: call k's (start, stop) pair differs by durations_s[k % len]."""
    ticks = count()

    def clock() -> float:
        k = next(ticks)
        base = 100.0 * (k // 2)
        return base if k % 2 == 0 else base + durations_s[(k // 2) % len(durations_s)]

    return clock


@pytest.mark.parametrize("kind", ["gpu", "fpga"])
def test_stats_come_from_the_timings(bundles: dict[str, Path], kind: str) -> None:
    from trigkit.benchmarks.bundle import BenchRequest, run_bundle_bench

    durs = [4e-6, 1e-6, 3e-6, 2e-6]  # per call; 8 repeats -> each twice
    req = BenchRequest(bundles[kind], batches=(1, 16), warmup=2, repeats=8)
    rec = run_bundle_bench(req, clock=_scripted_clock(durs))
    assert rec["target"] == kind and rec["provenance"]["cpu_count"]
    assert rec["max_abs_diff_vs_reference"] <= (1e-5 if kind == "gpu" else 0.0)
    for s in rec["batches"]:
        assert sorted(s["times_us"]) == pytest.approx([1, 1, 2, 2, 3, 3, 4, 4])
        assert s["p50_us"] == pytest.approx(2.5)
        assert s["p99_us"] == pytest.approx(4.0)  # index 6.93 of the sorted 8: between 4 and 4
        assert s["throughput_per_s"] == pytest.approx(s["batch"] / 2.5e-6)


def test_cli_json_and_bad_data(
    bundles: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    data = tmp_path / "in.npz"
    np.savez(data, x=np.random.default_rng(0).normal(size=(7, 6)).astype(np.float32))
    args = ["bench", "bundle", str(bundles["gpu"]), "--batch", "1,8", "--repeats", "5"]
    assert main([*args, "--data", str(data), "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert [s["batch"] for s in rec["batches"]] == [1, 8] and rec["inputs_from"] == str(data)
    assert "git_commit" in rec["provenance"]
    for s in rec["batches"]:
        t = np.asarray(s["times_us"])
        assert len(t) == 5 and np.all(t > 0)
        assert s["p50_us"] == pytest.approx(np.percentile(t, 50))
        assert s["p99_us"] == pytest.approx(np.percentile(t, 99))
        assert s["throughput_per_s"] == pytest.approx(s["batch"] / (np.median(t) * 1e-6))
    capsys.readouterr()
    np.savez(tmp_path / "bad.npz", other=np.zeros((3, 6)))
    assert main([*args, "--data", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err.strip()
    assert "no array for input 'x'" in err and "valid keys: x or in_x" in err and "\n" not in err
    assert not (tmp_path / "b").exists()
