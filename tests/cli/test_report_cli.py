"""`trigkit report BUNDLE` end to end (in-process CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.firmware.report_bundles import write_fpga_bundle, write_gpu_bundle
from trigkit.cli.app import main
from trigkit.firmware.estimate import estimate_network


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def test_report_fpga_bundle_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net, _ = write_fpga_bundle(tmp_path / "b", n=200)
    out_json = tmp_path / "rep.json"
    assert main(["report", str(tmp_path / "b"), "--budget-ns", "100", "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    est = estimate_network(net)
    assert "estimate" in text and "verdict" in text and "agreement" in text
    assert f"{est.latency_cycles} cycles = {est.latency_ns:g} ns" in text
    data = json.loads(out_json.read_text())
    assert data["latency"][0]["cycles"] == est.latency_cycles
    assert data["resources"][0]["lut"] == est.total("lut")
    assert data["accuracy"]["emulator_mismatches"] == 0
    assert data["fits_budget"] is (est.latency_ns <= 100)
    word = "FITS" if est.latency_ns <= 100 else "EXCEEDS"
    assert word in text


def test_report_tight_budget_exceeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fpga_bundle(tmp_path / "b", n=50)
    assert main(["report", str(tmp_path / "b"), "--budget-ns", "1"]) == 0
    assert "EXCEEDS the 1 ns budget" in capsys.readouterr().out


def test_report_refuses_tampered_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fpga_bundle(tmp_path / "b", n=50)
    with open(tmp_path / "b" / "reference.npz", "ab") as f:
        f.write(b"x")
    assert main(["report", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sha256 mismatch" in err[0] and "reference.npz" in err[0]


def test_report_gpu_bundle_shows_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_gpu_bundle(tmp_path / "g")
    assert main(["report", str(tmp_path / "g")]) == 0
    text = capsys.readouterr().out
    for word in ("gpu", "onnxruntime", "fp16", "tracks", "0.002"):
        assert word in text


def test_report_not_a_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 1
    assert "not a trigkit bundle" in capsys.readouterr().err


def test_report_vendor_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.firmware.test_vendor_reports import CSYNTH_XML

    write_fpga_bundle(tmp_path / "b", n=50)
    syn = tmp_path / "synth_elsewhere" / "myproject_prj" / "solution1" / "syn" / "report"
    syn.mkdir(parents=True)
    (syn / "csynth.xml").write_text(CSYNTH_XML)
    out_json = tmp_path / "r.json"
    args = [
        "report",
        str(tmp_path / "b"),
        "--vendor-dir",
        str(tmp_path / "synth_elsewhere"),
        "--budget-ns",
        "50",
        "--json",
        str(out_json),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "7-9 cycles = 45 ns" in text and "63018" in text
    data = json.loads(out_json.read_text())
    assert data["latency"][0]["source"].startswith("vendor") and data["fits_budget"] is True
    assert main(["report", str(tmp_path / "b"), "--vendor-dir", str(tmp_path / "nope")]) == 1


def test_report_model_option_computes_float_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np
    import torch

    from tests.firmware.report_bundles import float_forward
    from trigkit.models.configs import MLPConfig
    from trigkit.models.preprocessing import Preprocessing
    from trigkit.models.saved import TrainedModel

    net, ref = write_fpga_bundle(tmp_path / "b", n=120, float_outputs=False)
    cfg = MLPConfig(n_features=4, n_classes=3, hidden=(6,))
    module = cfg.build()
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    dense = [layer for layer in net.layers if layer.kind == "dense"]
    with torch.no_grad():
        for lin, layer in zip(linears, dense, strict=True):
            lin.weight.copy_(torch.from_numpy(layer.weight))
            lin.bias.copy_(torch.from_numpy(layer.bias))
    pre = Preprocessing("l1jets", ("jets",), net.input_names, (0.0,) * 4, (1.0,) * 4)
    TrainedModel("tiny", module, pre, cfg, ("jets",), ("a", "b", "c")).save(tmp_path / "m.pt")
    out_json = tmp_path / "r.json"
    assert (
        main(
            [
                "report",
                str(tmp_path / "b"),
                "--model",
                str(tmp_path / "m.pt"),
                "--json",
                str(out_json),
            ]
        )
        == 0
    )
    acc = json.loads(out_json.read_text())["accuracy"]
    t = net.input_t  # rows inside the input type (the others saturate or are NaN/Inf)
    finite = np.all(np.isfinite(ref["x"]) & (ref["x"] >= t.min) & (ref["x"] <= t.max), axis=1)
    want = np.mean(
        np.argmax(float_forward(net, ref["x"]), axis=1)[finite]
        == np.argmax(ref["fw"], axis=1)[finite]
    )
    assert acc["n"] == finite.sum() and acc["agreement"] == pytest.approx(want)
    assert "agreement" in capsys.readouterr().out


def test_report_shows_rtl_timing_estimate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trigkit.firmware.rtl.cutoff import CutoffTrial
    from trigkit.firmware.rtl.design import RtlDesign
    from trigkit.firmware.rtl.generate import RtlSimResult
    from trigkit.firmware.rtl.report import RtlReport
    from trigkit.firmware.rtl.timing import LABEL, TimingResult

    design = RtlDesign(
        "/x", "t", 4, 3, (1, 4, 5), (1, 6, 6), 2, ("fc1",), ("softmax",), 5, 6, 100.0, 40, 3.0
    )
    timing = TimingResult(
        4.8, 9, 3.0, 1.8, 6, "a", "b (FDRE.D)", (), {"b": 4.8}, 10, 0.3, 0.0, 1.0, 0.1
    )
    trials = (CutoffTrial(5.0, 1, 6.0, 12, False), CutoffTrial(3.0, 2, 4.8, 9, False))
    rep = RtlReport(design, RtlSimResult(3, 1, 100, 0, 5.0), None, timing, trials)
    write_fpga_bundle(
        tmp_path / "b", n=50, extra_files={"rtl/rtl_report.json": json.dumps(rep.to_json())}
    )
    out_json = tmp_path / "r.json"
    assert main(["report", str(tmp_path / "b"), "--budget-ns", "100", "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    # 4.8 ns > 5 ns x (1 - 10 %) = 4.5 ns: the clock is missed by 0.3 ns, fmax 1000 / 4.8 = 208 MHz
    assert "4.80 ns, 9 levels, fmax ~208 MHz" in text and LABEL in text
    assert "MISSES (slack -0.30 ns)" in text and "among 2" in text
    data = json.loads(out_json.read_text())
    assert data["verdict"] == (
        "FITS the 100 ns budget: 15 ns, II 1 (rtl: verilator); timing estimate (yosys, "
        "no place & route) MISSES the 5 ns clock (fmax ~208 MHz); "
        "16.00 ns at the clock it closes"
    )  # 3 cycles x 4.8 / 0.9
    t = data["timing"][0]
    assert (
        t["meets"] is False
        and t["required_ns"] == pytest.approx(4.5)
        and t["latency_cutoff"] == 3.0
    )
    assert t["fmax_mhz"] == pytest.approx(1000 / 4.8) and t["source"] == LABEL


def test_report_one_output_tagger_with_edge_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    from tests.firmware.fpga_nets import dense_relu_net

    net = dense_relu_net(sizes=(4, 6, 1), seed=2)  # a binary tagger's logit
    t = net.input_t
    x = np.random.default_rng(3).uniform(t.min, t.max, size=(200, 4)) / 2
    x[:2, 0], x[2, 3] = [1e30, -1e30], np.inf  # saturation checks
    _, ref = write_fpga_bundle(tmp_path / "b", net=net, x=x)
    out_json = tmp_path / "r.json"
    assert main(["report", str(tmp_path / "b"), "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    f, w = ref["float"][3:, 0], ref["fw"][3:, 0]
    med = np.median(f)
    agree = np.mean((f > med) == (w > med))
    row = next(line for line in text.splitlines() if "agreement" in line)
    assert f"{100 * agree:.2f} %" in row and "same side of" in row and "float median" in row
    assert "top class" not in text
    edge = next(line for line in text.splitlines() if "edge rows" in line)
    assert " 3 " in edge
    mx = np.max(np.abs(f - w))
    row = next(line for line in text.splitlines() if "max |float - firmware|" in line)
    assert f"{mx:.4g}" in row and "e+" not in row
    lsb_row = next(line for line in text.splitlines() if "in output LSBs" in line)
    assert f"max {mx * 64:.1f}" in lsb_row  # the logit type ap_fixed<12,6>: LSB 1/64
    acc = json.loads(out_json.read_text())["accuracy"]
    assert acc["n"] == 197 and acc["n_edge"] == 3
    assert acc["max_diff_lsb"] == pytest.approx(mx * 64)
