"""Score sources and the latency budget against hand computations."""

from __future__ import annotations

import json
import math

import awkward as ak
import numpy as np
import pytest

from tests.emulator.conftest import make_batch
from trigkit.core.errors import TrigkitError
from trigkit.emulator.budget import (
    HLTBudget,
    L1Budget,
    L1RateCheck,
    bench_latencies,
    event_batch,
    hlt_calls_per_event,
    hlt_jets_quantile,
    latency_from_bench,
)
from trigkit.emulator.scores import (
    CachedScores,
    FirmwareScores,
    RunnerScores,
    attach_baseline_scores,
    attach_scores,
)


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
    # pooled batches of 512 jets (--hlt-batch 512): amortised GPU time, fill time added to the
    # latency
    h = HLTBudget(
        jets_per_event=6.0,
        batch_size=512,
        batch_latency_ms=4.0,
        overhead_ms=1.0,
        budget_ms=2.0,
        l1_accept_hz=100e3,
        max_utilisation=0.8,
        pooled=True,
        event_batch_size=16,
        event_latency_ms=0.5,
    )
    assert h.gpu_ms_per_event == pytest.approx(6 * 4.0 / 512)
    # 100 kHz x 0.046875 ms = 4.6875 GPU-seconds per second -> /0.8 = 5.86 -> 6 GPUs
    assert h.gpus_needed == 6
    # 512 jets / (6 jets x 100 kHz) = 0.8533 ms to fill; + 4 ms batch + 1 ms overhead
    assert h.fill_ms == pytest.approx(512 / 600e3 * 1e3)
    assert h.total_ms == pytest.approx(0.853333 + 4.0 + 1.0, rel=1e-5) and not h.fits
    assert h.event_calls == 1 and h.event_tagger_ms == pytest.approx(
        0.5
    )  # one event per call, for reference
    # default: one event per call at batch 16 (6 jets fit): latency 0.5 ms, GPU time 0.5 ms
    # per event
    e = HLTBudget(6.0, 16, 0.5, overhead_ms=1.0, budget_ms=2.0)
    assert e.fill_ms == 0.0 and e.total_ms == pytest.approx(1.5) and e.fits
    assert e.gpu_ms_per_event == pytest.approx(0.5)
    assert e.gpus_needed == 63  # 100 kHz x 0.5 ms = 50 busy GPUs / 0.8 = 62.5
    # an event with more jets than the batch needs ceil(jets / batch) calls;
    # --hlt-tagger-calls multiplies
    m = HLTBudget(6.0, 4, 0.5, tagger_calls=3)
    assert (
        m.event_calls == 6
        and m.total_ms == pytest.approx(3.0)
        and m.gpu_ms_per_event == pytest.approx(3.0)
    )


def test_l1_rate_check_by_hand() -> None:
    r = L1RateCheck(6.5e6, 1e4, 100e3)
    assert r.exceeds and r.verdict == "exceeds" and r.ratio == pytest.approx(65.0)
    assert not L1RateCheck(90e3, 1e3, 100e3).exceeds


def test_event_batch_and_jets_quantile() -> None:
    from types import SimpleNamespace

    lat = {1: 0, 16: 0, 256: 0}
    assert [event_batch(lat, j) for j in (0.0, 1.0, 1.2, 16.0, 16.01, 300.0)] == [
        1,
        1,
        16,
        16,
        256,
        256,
    ]
    s = SimpleNamespace(
        decisions=SimpleNamespace(l1_accept=np.array([True, True, True, False])),
        weight=np.array([1.0, 1.0, 2.0, 50.0]),
        lumi_pb=np.ones(4),
        n_jets=np.array([2, 9, 4, 40]),
    )
    # accepted: 2 jets (w 1), 4 jets (w 2), 9 jets (w 1): cumulative 0.25, 0.75, 1.0
    assert [hlt_jets_quantile([s], q) for q in (0.2, 0.25, 0.5, 0.75, 0.9, 1.0)] == [
        2,
        2,
        4,
        4,
        9,
        9,
    ]


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
    g.write_text(
        json.dumps(
            {
                "benchmark": "gpu",
                "points": [
                    {
                        "contender": "torch-graph-fp16",
                        "batch": 256,
                        "p50_us": 75.4,
                        "mean_us": 80.0,
                    },
                    {"contender": "onnxruntime-cpu-fp32", "batch": 256, "p50_us": 1050.0},
                    {"contender": "torch-graph-fp16", "batch": 4096, "p50_us": 147.1},
                ],
                "transfers": [{"batch": 256, "h2d_p50_us": 40.0}],
            }
        )
    )
    bs, ms, what = latency_from_bench(g, 256)
    assert (bs, ms) == (256, pytest.approx(0.0754)) and "torch-graph-fp16" in what
    assert latency_from_bench(g, 256, backend="onnxruntime-cpu-fp32")[1] == pytest.approx(1.05)
    assert latency_from_bench(g)[:2] == (4096, pytest.approx(0.1471))
    lat = bench_latencies(g)
    assert (
        list(lat) == [256, 4096]
        and lat[256][0] == pytest.approx(0.0754)
        and "torch-graph-fp16" in lat[256][1]
    )
    assert bench_latencies(g, "onnxruntime-cpu-fp32") == {
        256: (pytest.approx(1.05), "bench_gpu.json: onnxruntime-cpu-fp32 at batch 256")
    }
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
    from trigkit.emulator.engine.onepass import run_onepass
    from trigkit.emulator.engine.reference import run_reference_events
    from trigkit.emulator.schema import parse_menu
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.fixedpoint.random_net import random_network

    def features(ev):
        j = ev.jets
        cols = [ak.to_numpy(ak.flatten(j[f])).astype(np.float64) for f in ("pt", "eta", "btag")]
        return np.stack([cols[0] / 100.0, cols[1], cols[2]], axis=1)

    net = random_network((3, 8, 2), seed=3, softmax=None)
    src = FirmwareScores.from_network(net, features)
    batch = synthetic_batch(300, 9)
    out = attach_scores(batch, [src])
    expect = FirmwareEmulator(net).predict(features(batch))[:, -1]
    np.testing.assert_array_equal(
        ak.to_numpy(ak.flatten(out.jets.l1_score)), expect.astype(np.float32)
    )
    wp = float(np.quantile(expect, 0.8))
    menu = parse_menu(
        f"name: f\nl1:\n  L1_Tag: {{tagger: {{wp: {wp}, n: 1}}}}\n"
        f"hlt:\n  H: {{seeds: [L1_Tag], ht: {{min: 50}}}}\n"
    )
    cm = compile_menu(menu)
    fused = run_onepass(cm, columns_from_batch(out, cm))
    np.testing.assert_array_equal(fused, run_reference_events(menu, out.jets, out.fatjets))
    assert 0 < fused[:, 0].sum() < len(batch)


def test_budget_table_by_hand_from_synthetic_bench_and_rates(tmp_path, caplog) -> None:
    """Every number of the budget (table rows and JSON) against a hand computation: a bench JSON
    with batches 1 / 16 / 256, an L1 accept stream of 3 and 5 jets (rate weights 1 : 3, mean 4.5)
    and an L1 OR rate of 250 kHz."""
    import logging
    from types import SimpleNamespace

    from trigkit.emulator.api import BudgetRequest, _budget, _hlt_latency
    from trigkit.emulator.result import RateSummary
    from trigkit.report.json_out import _budget as budget_json
    from trigkit.report.tables import budget_table

    bench = tmp_path / "bench.json"
    bench.write_text(
        json.dumps(
            {
                "points": [
                    {"contender": "a", "batch": 1, "p50_us": 40.0},
                    {"contender": "b", "batch": 1, "p50_us": 50.0},
                    {"contender": "a", "batch": 16, "p50_us": 60.0},
                    {"contender": "b", "batch": 16, "p50_us": 55.0},
                    {"contender": "a", "batch": 256, "p50_us": 200.0},
                ]
            }
        )
    )
    bkg = SimpleNamespace(
        decisions=SimpleNamespace(l1_accept=np.array([True, True, False])),
        weight=np.array([1.0, 3.0, 10.0]),
        lumi_pb=np.ones(3),
        n_jets=np.array([3, 5, 40]),
    )
    sig = SimpleNamespace(
        decisions=SimpleNamespace(l1_accept=np.array([True])),
        weight=np.ones(1),
        lumi_pb=np.ones(1),
        n_jets=np.array([100]),
    )
    res = SimpleNamespace(
        menu_name="m",
        signals=[object()],
        samples=[sig, bkg],
        rates={"L1 OR": RateSummary("L1 OR", 250e3, 5e3)},
    )

    # default: one event per call; mean 4.5 jets -> batch 16, fastest there is b (0.055 ms)
    req = BudgetRequest(bench_json=bench, hlt_budget_ms=1.0)
    with caplog.at_level(logging.WARNING, logger="trigkit"):
        b = _budget(req, res, _hlt_latency(req))
    assert "L1 OR rate 250 kHz exceeds the 100 kHz L1 accept rate (x2.5)" in caplog.text
    h = b.hlt
    assert h.jets_per_event == pytest.approx(4.5) and h.batch_size == 16 and not h.pooled
    assert h.total_ms == pytest.approx(0.055) and h.gpu_ms_per_event == pytest.approx(0.055)
    assert h.gpus_needed == 7  # 100 kHz x 0.055 ms = 5.5 / 0.8 = 6.875
    rows = {r[1]: r[2] for r in budget_table(b).rows}
    assert rows["L1 OR rate vs 100 kHz L1 accept"] == "250 ± 5 kHz (EXCEEDS, x2.5)"
    assert rows["tagged jets per L1-accepted event (mean 4.50)"] == "-> batch 16"
    assert (
        rows[
            "(a) tagger, one event per call: 1 x runner latency at batch 16 "
            "(bench.json: b at batch 16)"
        ]
        == "0.055 ms"
    )
    assert (
        rows["(a) latency added to an event (tagger + overhead) vs budget 1 ms"]
        == "0.055 ms (fits)"
    )
    assert rows["(b) GPU time per event at batch 16 (one event per call)"] == "0.055 ms"
    assert rows["(b) GPUs for 100 kHz L1 accept at batch 16 (<= 80% busy)"] == "7"
    d = budget_json(b)
    assert d["l1_rate"] == {
        "l1_or_hz": 250e3,
        "l1_or_error_hz": 5e3,
        "l1_accept_hz": 100e3,
        "ratio": 2.5,
        "exceeds": True,
        "verdict": "exceeds",
    }
    assert (
        d["hlt"]["event_batch_size"] == 16
        and d["hlt"]["fill_ms"] == 0.0
        and d["hlt"]["gpus_needed"] == 7
    )

    # the 0.75 quantile (5 jets) also fits batch 16; 3 tagger calls per event
    req = BudgetRequest(
        bench_json=bench, hlt_jets_quantile=0.75, hlt_tagger_calls=3, l1_accept_hz=400e3
    )
    b = _budget(req, res, _hlt_latency(req))
    assert b.hlt.event_jets == 5 and b.hlt.total_ms == pytest.approx(3 * 0.055)
    assert b.hlt.gpus_needed == 83  # 400 kHz x 0.165 ms = 66 / 0.8 = 82.5
    assert not b.l1_rate.exceeds and b.l1_rate.ratio == pytest.approx(0.625)

    # --hlt-batch 256: pooled; fill = 256 / (4.5 x 100 kHz) = 0.56889 ms, + 0.2 ms batch latency
    req = BudgetRequest(bench_json=bench, batch_size=256, hlt_budget_ms=0.7, hlt_overhead_ms=0.01)
    b = _budget(req, res, _hlt_latency(req))
    h = b.hlt
    assert h.pooled and h.event_batch_size == 16 and h.event_tagger_ms == pytest.approx(0.055)
    assert h.fill_ms == pytest.approx(256 / 450e3 * 1e3)
    assert h.total_ms == pytest.approx(0.568889 + 0.2 + 0.01, rel=1e-5) and not h.fits
    assert h.gpu_ms_per_event == pytest.approx(0.2 * 4.5 / 256)
    assert h.gpus_needed == 1  # 100 kHz x 0.0035156 ms = 0.35 busy GPUs
    rows = {r[1]: r[2] for r in budget_table(b).rows}
    assert rows["batch fill time: 256 jets / (4.50 jets/event x 100 kHz)"] == "0.5689 ms"
    assert rows["runner latency at pooled batch 256 (bench.json: a at batch 256) x 1"] == "0.2 ms"
    assert (
        rows["(a) latency added to an event (fill + pooled batch + overhead) vs budget 0.7 ms"]
        == "0.7789 ms (EXCEEDS)"
    )
    assert (
        rows["(b) GPU time per event at batch 256 (1 x 0.2 ms x 4.50 jets / 256, amortised)"]
        == "0.003516 ms"
    )

    # explicit latency, no batch: measured at batch 1 only -> ceil(4.5) = 5 calls per event
    req = BudgetRequest(hlt_latency_ms=0.1)
    b = _budget(req, res, _hlt_latency(req))
    assert b.hlt.event_calls == 5 and b.hlt.total_ms == pytest.approx(0.5)
    # no background: no L1 OR row
    assert (
        _budget(
            BudgetRequest(), SimpleNamespace(menu_name="m", signals=[], samples=[], rates={}), None
        )
        is None
    )
