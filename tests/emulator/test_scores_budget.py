"""Score sources and the latency budget against hand computations."""

from __future__ import annotations

import json
import math

import awkward as ak
import numpy as np
import pytest

from tests.emulator.conftest import make_batch
from trigkit.emulator.budget import HLTBudget, L1Budget, hlt_calls_per_event, latency_from_bench
from trigkit.emulator.scores import (
    CachedScores,
    FirmwareScores,
    RunnerScores,
    attach_baseline_scores,
    attach_scores,
)
from trigkit.errors import TrigkitError


def _batch_with_tracks():
    jets = [
        [
            {
                "pt": 50.0,
                "eta": 0.0,
                "tracks": [{"d0_sig": 8.0}, {"d0_sig": -1.0}, {"d0_sig": 5.0}],
            },
            {"pt": 40.0, "eta": 1.0, "tracks": [{"d0_sig": 0.5}]},
        ],
        [{"pt": 30.0, "eta": 0.0, "tracks": []}],
    ]
    fat = [
        [{"pt": 300.0, "eta": 0.0, "msd": 125.0, "tau21": 0.25}],
        [{"pt": 300.0, "eta": 0.0, "msd": 85.0, "tau21": 0.5}],
    ]
    return make_batch(jets, fat)


def test_baseline_scores_by_hand() -> None:
    b = attach_baseline_scores(_batch_with_tracks())
    btag = ak.to_list(b.jets.btag)
    # jet 0: 2nd-highest d0_sig = 5 -> sigmoid((5 - 3) / 1.5); jets with < 2 tracks -> 0
    assert btag[0][0] == pytest.approx(1 / (1 + math.exp(-2 / 1.5)), rel=1e-6)
    assert btag[0][1] == 0.0 and btag[1][0] == 0.0
    l1 = ak.to_list(b.jets.l1_score)
    assert l1[0][0] == round(64 / (1 + math.exp(-2 / 1.5))) / 64
    xbb = ak.to_list(b.fatjets.xbb)
    assert xbb[0][0] == pytest.approx(0.75, rel=1e-6)
    assert xbb[1][0] == pytest.approx(math.exp(-0.5 * 2**2) * 0.5, rel=1e-6)


def test_baseline_keeps_existing_and_cached_renames() -> None:
    b = _batch_with_tracks()
    b = attach_scores(b, [CachedScores("btag", from_field="pt")])
    assert ak.to_list(b.jets.btag) == [[50.0, 40.0], [30.0]]
    b2 = attach_baseline_scores(b)
    assert ak.to_list(b2.jets.btag) == [[50.0, 40.0], [30.0]]  # not overwritten
    with pytest.raises(TrigkitError, match="no cached score 'nope'"):
        attach_scores(b, [CachedScores("x", from_field="nope")])


class _FakeRunner:
    def __init__(self) -> None:
        self.seen = None

    def infer(self, inputs):
        self.seen = inputs
        return np.stack([1 - inputs["pt"] / 100, inputs["pt"] / 100], axis=1)


def test_runner_and_firmware_sources() -> None:
    b = _batch_with_tracks()
    runner = _FakeRunner()
    src = RunnerScores(
        runner, lambda ev: {"pt": ak.to_numpy(ak.flatten(ev.jets.pt)).astype(np.float32)}
    )
    out = attach_scores(b, [src])
    assert ak.to_list(ak.flatten(out.jets.btag)) == pytest.approx([0.5, 0.4, 0.3])
    assert src.calls == 3

    class _Emu:
        def predict(self, x):
            return x[:, 0] * 2

    fw = FirmwareScores(_Emu(), lambda ev: ak.to_numpy(ak.flatten(ev.jets.eta))[:, None])
    out = attach_scores(b, [fw])
    assert ak.to_list(out.jets.l1_score) == [[0.0, 2.0], [0.0]]

    bad = RunnerScores(runner, lambda ev: {"pt": np.zeros(2, np.float32)})
    with pytest.raises(TrigkitError, match="returned 2 scores for 3 objects"):
        attach_scores(b, [bad])


def test_l1_budget_by_hand() -> None:
    l1 = L1Budget(latency_cycles=60, clock_mhz=240.0, overheads_ns={"links": 1500.0, "GT": 1000.0})
    assert l1.tagger_ns == pytest.approx(250.0)
    assert l1.total_ns == pytest.approx(2750.0) and l1.fits
    assert not L1Budget(1000, 240.0, {"links": 1500.0}).fits  # 4166.7 + 1500 > 4000


def test_hlt_budget_and_gpus_by_hand() -> None:
    h = HLTBudget(
        calls_per_event=6.0,
        batch_size=512,
        batch_latency_ms=4.0,
        overhead_ms=1.0,
        budget_ms=2.0,
        l1_accept_hz=100e3,
        max_utilisation=0.8,
    )
    assert h.gpu_ms_per_event == pytest.approx(6 * 4.0 / 512)
    # 100 kHz x 0.046875 ms = 4.6875 GPU-seconds per second -> /0.8 = 5.86 -> 6 GPUs
    assert h.gpus_needed == 6
    assert h.total_ms == pytest.approx(1.046875) and h.fits


def test_latency_from_bench_json(tmp_path) -> None:
    p = tmp_path / "gpu.json"
    p.write_text(
        json.dumps(
            {
                "machine": {},
                "results": [
                    {"backend": "onnxruntime", "batch_size": 64, "latency_ms": {"median": 1.5}},
                    {"backend": "onnxruntime", "batch_size": 1024, "median_ms": 9.0},
                ],
            }
        )
    )
    assert latency_from_bench(p)[:2] == (1024, 9.0)
    assert latency_from_bench(p, 64)[:2] == (64, 1.5)
    # the `trigkit bench gpu` layout: points with contender / batch / p50_us
    g = tmp_path / "bench_gpu.json"
    g.write_text(json.dumps({"benchmark": "gpu", "points": [
        {"contender": "torch-graph-fp16", "batch": 256, "p50_us": 75.4, "mean_us": 80.0},
        {"contender": "onnxruntime-cpu-fp32", "batch": 256, "p50_us": 1050.0},
        {"contender": "torch-graph-fp16", "batch": 4096, "p50_us": 147.1},
    ], "transfers": [{"batch": 256, "h2d_p50_us": 40.0}]}))
    bs, ms, what = latency_from_bench(g, 256)
    assert (bs, ms) == (256, pytest.approx(0.0754)) and "torch-graph-fp16" in what
    assert latency_from_bench(g, 256, backend="onnxruntime-cpu-fp32")[1] == pytest.approx(1.05)
    assert latency_from_bench(g)[:2] == (4096, pytest.approx(0.1471))
    with pytest.raises(TrigkitError, match="present: onnxruntime-cpu-fp32, torch-graph-fp16"):
        latency_from_bench(g, backend="tensorrt")
    with pytest.raises(TrigkitError, match="no latency measured at batch size 7"):
        latency_from_bench(p, 7)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(TrigkitError, match="cannot read benchmark JSON"):
        latency_from_bench(tmp_path / "bad.json")


def test_calls_per_event_is_rate_weighted_over_l1_accepts() -> None:
    from types import SimpleNamespace

    d = SimpleNamespace(l1_accept=np.array([True, True, False]))
    s = SimpleNamespace(
        process="qcd",
        decisions=d,
        weight=np.array([1.0, 3.0, 100.0]),
        lumi_pb=np.ones(3),
        n_jets=np.array([4, 8, 50]),
    )
    assert hlt_calls_per_event([s]) == pytest.approx((4 + 3 * 8) / 4)


def test_firmware_scores_from_real_emulator_drive_an_l1_tagger_seed() -> None:
    pytest.importorskip("trigkit.firmware.emulate")
    from tests.emulator.conftest import synthetic_batch
    from trigkit.emulator.columns import columns_from_batch
    from trigkit.emulator.compiled import compile_menu
    from trigkit.emulator.fused import run_fused
    from trigkit.emulator.schema import parse_menu
    from trigkit.emulator.vectorised import run_vectorised
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.firmware.random_net import random_network

    def features(ev):
        j = ev.jets
        cols = [ak.to_numpy(ak.flatten(j[f])).astype(np.float64) for f in ("pt", "eta", "btag")]
        return np.stack([cols[0] / 100.0, cols[1], cols[2]], axis=1)

    net = random_network((3, 8, 2), seed=3, softmax=None)
    src = FirmwareScores.from_network(net, features)
    batch = synthetic_batch(300, 9)
    out = attach_scores(batch, [src])
    expect = FirmwareEmulator(net).predict(features(batch))[:, -1]
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(out.jets.l1_score)), expect.astype(np.float32))
    wp = float(np.quantile(expect, 0.8))
    menu = parse_menu(f"name: f\nl1:\n  L1_Tag: {{tagger: {{wp: {wp}, n: 1}}}}\nhlt:\n  H: {{seeds: [L1_Tag], ht: {{min: 50}}}}\n")
    cm = compile_menu(menu)
    fused = run_fused(cm, columns_from_batch(out, cm))
    np.testing.assert_array_equal(fused, run_vectorised(menu, out.jets, out.fatjets))
    assert 0 < fused[:, 0].sum() < len(batch)
