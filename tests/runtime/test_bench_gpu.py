"""`trigkit bench gpu` on CPU: the sweep runs, contenders agree, JSON/PNG written (no timing
asserts)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trigkit.benchmarks.gpu import merge_results, run_bench


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    out = tmp_path_factory.mktemp("bench")
    rec = run_bench(out, batches=(1, 8), repeats=3, warmup=1, min_repeats=2, budget_s=0.05)
    return out, rec


def test_cpu_sweep_writes_json_and_plot(cpu_run):
    out, rec = cpu_run
    data = json.loads((out / "bench_gpu.json").read_text())
    assert data == json.loads(json.dumps(rec))
    assert (out / "bench_gpu.png").read_bytes()[:4] == b"\x89PNG"
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


def test_merge_of_per_process_runs_keeps_every_row(cpu_run, tmp_path):
    _, rec = cpu_run
    names = sorted({p["contender"] for p in rec["points"]})
    dirs = []
    for i, name in enumerate(names):  # one "process" per contender, as bench/run_gpu_device.sh does
        part = dict(
            rec,
            points=[p for p in rec["points"] if p["contender"] == name],
            agreement={name: rec["agreement"][name]},
            contenders={name: rec["contenders"][name]},
            transfers=[] if i else rec["transfers"],
        )
        d = tmp_path / f"p{i}"
        d.mkdir()
        (d / "bench_gpu.json").write_text(json.dumps(part))
        dirs.append(d)
    merged = merge_results([*dirs, tmp_path / "crashed"], tmp_path / "all")
    on_disk = json.loads((tmp_path / "all" / "bench_gpu.json").read_text())
    assert on_disk == json.loads(json.dumps(merged))
    assert sorted(map(json.dumps, merged["points"])) == sorted(map(json.dumps, rec["points"]))
    assert merged["agreement"] == rec["agreement"]
    assert (tmp_path / "all" / "bench_gpu.png").is_file()


def test_merge_without_any_result_is_a_clear_error(tmp_path):
    from trigkit.core.errors import TrigkitError

    with pytest.raises(TrigkitError, match="no bench_gpu.json"):
        merge_results([tmp_path / "a"], tmp_path / "out")


def test_fused_kernel_rejects_other_architectures():
    import torch

    from trigkit.benchmarks.gpu_fused import _weights
    from trigkit.benchmarks.gpu_tc import tc_weights

    with pytest.raises(ValueError, match="only for the 6-64-64-64"):
        _weights(torch.nn.Sequential(torch.nn.Linear(4, 8)))
    with pytest.raises(ValueError, match="only for the 6-64-64-64"):
        tc_weights(torch.nn.Sequential(torch.nn.Linear(4, 8)))


def test_tensor_core_weight_layout_matches_torch():
    """The kernel's [in, out] fp16 layout (first layer zero-padded to K=16), modelled in float64
    numpy with the kernel's fp16 roundings, reproduces the torch module within fp16 tolerance."""
    import torch

    from trigkit.benchmarks.gpu_contenders import local_dips
    from trigkit.benchmarks.gpu_tc import reference_tc, tc_weights

    model = local_dips()
    w = tc_weights(model.module)
    assert w[0].shape == (16, 64) and w[0].dtype == np.float16 and not w[0][6:].any()
    assert [a.shape for a in w[6::2]] == [(64, 64), (64, 32), (32, 3)]
    rng = np.random.default_rng(1)
    tracks = rng.normal(size=(64, 15, 6)).astype(np.float32)
    mask = (rng.random((64, 15)) < 0.7).astype(np.float32)
    with torch.no_grad():
        logits = model.module(torch.from_numpy(tracks), torch.from_numpy(mask)).double()
    want = torch.softmax(logits, dim=1).numpy()
    got = reference_tc(w, tracks, mask)
    assert np.allclose(got.sum(axis=1), 1.0)
    assert np.max(np.abs(got - want)) < 1e-2
