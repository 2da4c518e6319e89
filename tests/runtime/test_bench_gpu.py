"""`trigkit bench gpu` on CPU: the sweep runs, contenders agree, JSON/PNG written (no timing asserts)."""

from __future__ import annotations

import json

import pytest

from trigkit.benchmarks.gpu import run_bench


def test_cpu_sweep_writes_json_and_plot(tmp_path):
    pytest.importorskip("onnxruntime")
    rec = run_bench(tmp_path, batches=(1, 8), repeats=3, warmup=1, min_repeats=2, budget_s=0.05)
    data = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert data == json.loads(json.dumps(rec))
    assert (tmp_path / "bench_gpu.png").read_bytes()[:4] == b"\x89PNG"
    names = {p["contender"] for p in data["points"]}
    assert {"onnxruntime-cpu-fp32", "torch-cpu-fp32"} <= names
    assert data["failed_contenders"] == {}
    for name, a in data["agreement"].items():
        assert a["max_abs_diff"] <= a["tolerance"], name
    for p in data["points"]:
        assert p["batch"] in (1, 8) and 2 <= p["repeats"] <= 3
        assert p["p50_us"] <= p["p99_us"]
        assert p["jets_per_s"] == pytest.approx(p["batch"] / (p["p50_us"] * 1e-6))
    env = data["environment"]
    assert env["device"] == "cpu" or env["cuda_available"]
    assert data["inputs"] == {"tracks": [-1, 15, 6], "mask": [-1, 15]}


def test_fused_kernel_rejects_other_architectures():
    import torch

    from trigkit.benchmarks.gpu_fused import _weights

    with pytest.raises(ValueError, match="only for the 6-64-64-64"):
        _weights(torch.nn.Sequential(torch.nn.Linear(4, 8)))
