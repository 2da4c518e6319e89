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


@pytest.fixture(scope="module")
def set_bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """An FPGA bundle of a Conv1d tagger trained elsewhere (TorchScript, channels first)."""
    from tests.importers import set_models as sm
    from trigkit.bundle.manifest import TensorSpec, new_manifest, write_bundle
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.importers import import_model
    from trigkit.importers.firmware import flat_rows, to_firmware_network

    d = tmp_path_factory.mktemp("benchset")
    ts = writers.to_torchscript(sm.ConvTagger().eval(), d / "conv.pt")
    model = import_model(ts, {"x": sm.SHAPE[::-1]})
    assert model.channels_first
    calib = np.random.default_rng(0).normal(size=(500, *sm.SHAPE[::-1]))
    net = to_firmware_network(model, calib)
    info = {
        "network": net.to_json(),
        "imported": {
            "source": "conv.pt",
            "input_shape": list(sm.SHAPE[::-1]),
            "channels_first": True,
        },
    }
    man = new_manifest(
        target="fpga",
        backend="emulation",
        model_name="conv",
        precision="fixed",
        inputs=[TensorSpec(name="x", shape=(-1, net.n_inputs), dtype="float64")],
        outputs=[TensorSpec(name="scores", shape=(-1, 1), dtype="float64")],
        target_info=info,
    )
    x = flat_rows(model, calib[:32])
    with write_bundle(d / "fw", man) as w:
        w.save_reference({"x": x}, {"scores": FirmwareEmulator(net).predict(x)})
    return {"dir": d, "fw": d / "fw", "net": net, "calib": calib}


def test_bench_fpga_bundle_on_a_set_model(
    set_bundle: dict, bundles: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trigkit.benchmarks.bundle import firmware_rows
    from trigkit.bundle.manifest import load_bundle

    rows = set_bundle["calib"][:20]  # [n, n_feat=4, n_const=8], the model's own layout
    data = tmp_path / "rows.npz"
    np.savez(data, in_x=rows)
    # constituent-major by hand: row i = c0_f0, c0_f1, c0_f2, c0_f3, c1_f0, ...
    flat = np.array([[rows[i, f, c] for c in range(8) for f in range(4)] for i in range(20)])
    b = load_bundle(set_bundle["fw"])
    np.testing.assert_array_equal(firmware_rows(b, rows, "--data"), flat)
    np.testing.assert_array_equal(firmware_rows(b, flat, "--data"), flat)  # flat as stored
    args = ["bench", "fpga", "--bundle", str(set_bundle["fw"]), "--batches", "1,4"]
    assert (
        main(
            [*args, "--repeats", "3", "--warmup", "0", "--data", str(data), "--out", str(tmp_path)]
        )
        == 0
    )
    rec = json.loads((tmp_path / "bench_bundle.json").read_text())
    assert rec["target"] == "fpga" and rec["backend"] == "numba-emulation"
    assert rec["max_abs_diff_vs_reference"] == 0.0 and [s["batch"] for s in rec["batches"]] == [
        1,
        4,
    ]
    capsys.readouterr()
    np.savez(tmp_path / "bad.npz", in_x=rows.transpose(0, 2, 1))  # the other layout
    bad = [*args, "--data", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "b")]
    assert main(bad) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "rows of shape (20, 8, 4); expected [n, 32] or [n, 4, 8] (the model's own layout)"
    )
    assert "\n" not in err
    assert main(["bench", "fpga", "--bundle", str(bundles["gpu"]), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: --bundle {bundles['gpu']}: a gpu bundle; `bench fpga` takes fpga bundles "
        "(time any bundle with `trigkit bench bundle`)"
    ]
