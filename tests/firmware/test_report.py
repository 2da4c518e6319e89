"""FpgaReport from hand-built bundles: every number against an independent computation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.report_bundles import write_fpga_bundle
from tests.firmware.test_vendor_reports import CSYNTH_XML
from trigkit.bundle.manifest import load_bundle
from trigkit.core.errors import TrigkitError
from trigkit.firmware.estimate import estimate_network
from trigkit.firmware.fpga_report import (
    Accuracy,
    FpgaReport,
    LatencyFigure,
    build_fpga_report,
    compare_outputs,
)
from trigkit.firmware.rtl.design import RtlDesign
from trigkit.firmware.rtl.generate import RtlSimResult
from trigkit.firmware.rtl.report import RtlReport


def test_compare_outputs_by_hand() -> None:
    f = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]])
    w = np.array([[0.8, 0.2], [0.6, 0.4], [0.25, 0.75], [0.7, 0.3]])
    a = compare_outputs(f, w, labels=np.array([0, 1, 1, 1]))
    assert a.agreement == 0.75  # sample 1 flips
    assert a.max_abs_diff == pytest.approx(0.2)
    assert a.float_accuracy == 0.75 and a.firmware_accuracy == 0.5 and a.accuracy_loss == 0.25
    one = compare_outputs(np.array([[0.7], [0.2]]), np.array([[0.4], [0.1]]))
    assert one.agreement == 0.5  # single output: side of 0.5
    with pytest.raises(TrigkitError, match="same"):
        compare_outputs(f, w[:, :1])


def test_verdict_uses_most_authoritative_latency() -> None:
    figs = (
        LatencyFigure("estimate", 4, 5.0, ii=1),
        LatencyFigure("rtl: verilator", 10, 5.0, ii=1),
        LatencyFigure("vendor: HLS csynth.xml", 7, 5.0, ii=1, cycles_max=9),
    )
    rep = FpgaReport("b", "m", "Vitis", "p", 5.0, None, latency=figs, budget_ns=40.0)
    assert rep.best_latency().source.startswith("vendor") and rep.best_latency().ns == 45.0
    assert rep.fits_budget is False and rep.verdict().startswith("EXCEEDS")
    rep2 = FpgaReport("b", "m", "Vitis", "p", 5.0, None, latency=figs[:2], budget_ns=50.0)
    assert rep2.best_latency().source == "rtl: verilator" and rep2.fits_budget is True
    assert FpgaReport("b", "m", "V", None, None, None).fits_budget is None


def test_budget_counts_rtl_cycles_at_the_clock_the_estimate_closes() -> None:
    from trigkit.firmware.fpga_report import TimingFigure

    rtl6 = (LatencyFigure("rtl: verilator", 6, 5.0, ii=1),)
    miss = TimingFigure("estimate (yosys)", 4.507, 16, 5.0, 0.1, 0.18, 4.1)
    rep = FpgaReport(
        "b", "m", "Vitis", "p", 5.0, None, latency=rtl6, timing=(miss,), budget_ns=30.0
    )
    # 6 cycles x 5 ns = 30 ns, but the path needs 4.507 / 0.9 = 5.008 ns per cycle: 30.05 ns
    assert rep.closing_latency_ns() == pytest.approx(6 * 4.507 / 0.9)
    assert rep.fits_budget is False
    assert (
        rep.verdict().startswith("EXCEEDS the 30 ns budget: 30 ns, II 1")
        and "30.05 ns at the clock" in rep.verdict()
    )
    meets = TimingFigure("estimate (yosys)", 4.2, 16, 5.0, 0.1, 0.18, 4.1)
    ok = FpgaReport(
        "b", "m", "Vitis", "p", 5.0, None, latency=rtl6, timing=(meets,), budget_ns=30.0
    )
    assert ok.closing_latency_ns() is None and ok.fits_budget is True


def test_fpga_bundle_report(tmp_path: Path) -> None:
    net, ref = write_fpga_bundle(tmp_path / "b")
    rep = build_fpga_report(load_bundle(tmp_path / "b", target="fpga"), budget_ns=100.0)
    a = rep.accuracy
    t = net.input_t  # edge rows (NaN/Inf, outside the input type): bit-exact check only
    finite = np.all(np.isfinite(ref["x"]) & (ref["x"] >= t.min) & (ref["x"] <= t.max), axis=1)
    # random_inputs' first rows by hand: max, min, 0 inside; max + 1, min - 1, NaN, +-Inf not
    assert finite[:8].tolist() == [True] * 3 + [False] * 5
    assert isinstance(a, Accuracy) and a.n == finite.sum() < len(ref["x"])
    assert a.n_edge == len(ref["x"]) - a.n and a.input_type == t.hls()
    assert a.emulator_mismatches == 0  # the emulator re-run reproduces the stored outputs
    top_f, top_w = np.argmax(ref["float"], axis=1)[finite], np.argmax(ref["fw"], axis=1)[finite]
    assert a.agreement == pytest.approx(np.mean(top_f == top_w))
    assert a.float_accuracy == pytest.approx(np.mean(top_f == ref["labels"][finite]))
    assert a.firmware_accuracy == pytest.approx(np.mean(top_w == ref["labels"][finite]))
    assert a.max_abs_diff == pytest.approx(np.max(np.abs(ref["float"] - ref["fw"])[finite]))
    est = estimate_network(net)
    (lat,) = rep.latency
    (res,) = rep.resources
    assert lat.source == res.source == "estimate"
    assert (lat.cycles, lat.ii, lat.ns) == (est.latency_cycles, est.ii, est.latency_cycles * 5.0)
    assert (res.lut, res.ff, res.dsp) == (est.total("lut"), est.total("ff"), est.total("dsp"))
    assert rep.fits_budget == (lat.ns <= 100.0)
    assert any("vendor" in note for note in rep.notes)
    data = json.loads(json.dumps(rep.to_json()))
    assert data["latency"][0]["ns"] == lat.ns and data["fits_budget"] == rep.fits_budget


def test_fpga_bundle_with_vendor_and_rtl_numbers(tmp_path: Path) -> None:
    design = RtlDesign(
        "/x",
        "t",
        4,
        3,
        (1, 4, 5),
        (1, 6, 6),
        2,
        ("fc1", "relu1", "fc2"),
        ("softmax",),
        5,
        6,
        100.0,
        40,
        5.0,
    )
    rtl_json = json.dumps(RtlReport(design, RtlSimResult(3, 1, 100, 0, 5.0), None).to_json())
    write_fpga_bundle(
        tmp_path / "b",
        extra_files={
            "hls4ml_prj/myproject_prj/solution1/syn/report/csynth.xml": CSYNTH_XML,
            "rtl/rtl_report.json": rtl_json,
        },
    )
    rep = build_fpga_report(load_bundle(tmp_path / "b"), budget_ns=40.0)
    sources = [fig.source for fig in rep.latency]
    assert (
        sources[0].startswith("vendor")
        and sources[1] == "rtl: verilator"
        and sources[2] == "estimate"
    )
    vendor = rep.latency[0]
    assert (vendor.cycles, vendor.cycles_max, vendor.ii, vendor.ns) == (7, 9, 2, 45.0)
    assert rep.resources[0].lut == 63018 and rep.resources[0].dsp == 38
    assert "softmax" in rep.latency[1].note  # the RTL leaves the softmax out and says so
    assert rep.fits_budget is False  # 45 ns (vendor) > 40 ns


def test_tampered_bundle_is_refused(tmp_path: Path) -> None:
    write_fpga_bundle(tmp_path / "b", extra_files={"hls4ml_prj/firmware/parameters.h": "// w\n"})
    p = tmp_path / "b" / "hls4ml_prj" / "firmware" / "parameters.h"
    p.write_text("// tampered\n")
    with pytest.raises(TrigkitError, match="sha256 mismatch.*parameters.h"):
        load_bundle(tmp_path / "b", target="fpga")


def test_missing_float_outputs_are_noted(tmp_path: Path) -> None:
    net, ref = write_fpga_bundle(tmp_path / "b", n=60, float_outputs=False)
    b = load_bundle(tmp_path / "b")
    rep = build_fpga_report(b)
    assert (
        rep.accuracy.emulator_mismatches == 0 and rep.accuracy.agreement != rep.accuracy.agreement
    )
    assert any("--model" in note for note in rep.notes)
    given = build_fpga_report(b, float_out=ref["float"])  # e.g. computed by --model
    t = net.input_t
    inside = np.all(np.isfinite(ref["x"]) & (ref["x"] >= t.min) & (ref["x"] <= t.max), axis=1)
    assert given.accuracy.agreement == pytest.approx(
        compare_outputs(ref["float"][inside], ref["fw"][inside]).agreement
    )


def _edge_rows(net, n: int = 300) -> np.ndarray:
    """Ordinary rows inside the input type, then saturation-check rows (1e30, 4 x max, NaN)."""
    t = net.input_t
    x = np.random.default_rng(8).uniform(t.min, t.max, size=(n, net.n_inputs)) / 2
    x[:3, 0] = [1e30, -1e30, 4 * t.max]
    x[3, 1] = np.nan
    return x


def test_edge_rows_are_counted_not_compared(tmp_path: Path) -> None:
    from tests.firmware.fpga_nets import dense_relu_net

    net = dense_relu_net(sizes=(4, 6, 3), seed=1)  # logits out: no softmax bounding them
    x = _edge_rows(net)
    _, ref = write_fpga_bundle(tmp_path / "b", net=net, x=x)
    a = build_fpga_report(load_bundle(tmp_path / "b")).accuracy
    diff = np.abs(ref["float"] - ref["fw"])
    assert np.max(diff[:3]) > 1e20  # what "max |float - firmware|" printed with the 1e30 rows
    assert a.n == len(x) - 4 and a.n_edge == 4
    assert a.max_abs_diff == pytest.approx(np.max(diff[4:]))
    assert a.p99_abs_diff == pytest.approx(np.percentile(np.max(diff[4:], axis=1), 99))
    lsb = 2.0**-6  # the last dense's ap_fixed<12,6>
    assert a.output_lsb == lsb and a.max_diff_lsb == pytest.approx(np.max(diff[4:]) / lsb)
    assert a.agreement == pytest.approx(
        np.mean(np.argmax(ref["float"][4:], axis=1) == np.argmax(ref["fw"][4:], axis=1))
    )


def test_single_output_agreement_is_thresholded(tmp_path: Path) -> None:
    from tests.firmware.fpga_nets import dense_relu_net
    from trigkit.fixedpoint.fixed import FixedType
    from trigkit.fixedpoint.network import FirmwareLayer

    logit_net = dense_relu_net(sizes=(4, 6, 1), seed=2)
    x = _edge_rows(logit_net)
    _, ref = write_fpga_bundle(tmp_path / "logit", net=logit_net, x=x)
    a = build_fpga_report(load_bundle(tmp_path / "logit")).accuracy
    f, w = ref["float"][4:, 0], ref["fw"][4:, 0]
    med = float(np.median(f))  # logit: cut at the float median, half the rows on each side
    assert a.threshold == pytest.approx(med) and "float median" in a.agreement_on
    assert a.agreement == pytest.approx(np.mean((f > med) == (w > med)))
    assert a.max_abs_diff == pytest.approx(np.max(np.abs(f - w)))

    sig = FirmwareLayer("sigmoid", "sigmoid", 1, 1, FixedType(10, 1, False, "AP_RND", "AP_SAT"))
    sig_net = logit_net.with_(layers=(*logit_net.layers, sig))
    _, ref = write_fpga_bundle(tmp_path / "sig", net=sig_net, x=x)
    a = build_fpga_report(load_bundle(tmp_path / "sig")).accuracy
    f, w = ref["float"][4:, 0], ref["fw"][4:, 0]
    assert a.threshold == 0.5 and "sigmoid" in a.agreement_on
    assert a.agreement == pytest.approx(np.mean((f > 0.5) == (w > 0.5)))
    assert a.output_lsb == 2.0**-9 and a.max_diff_lsb == pytest.approx(np.max(np.abs(f - w)) * 512)
