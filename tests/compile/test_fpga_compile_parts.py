"""The parts of `compile --target fpga` that need no hls4ml build: reproducing a saved QAT model
exactly, the reference set (labelled rows + synthetic rows), accuracy on labelled rows only, and
the optional RTL step (its skip message and how its report joins the bundle)."""

from __future__ import annotations

import copy
import json
import logging

import numpy as np
import pytest
import torch

from tests.firmware.fpga_nets import dense_relu_net
from trigkit.bundle.manifest import LayerInfo, TensorSpec, load_bundle, new_manifest, write_bundle
from trigkit.compile.fpga_reference import NO_LABEL, reference_set
from trigkit.compile.targets.fpga import FpgaCompileConfig, quantized_network
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.firmware.fpga_report import reference_accuracy


@pytest.fixture(scope="module")
def trained():
    """(float TrainedModel, calibration rows with a wide range, their labels)."""
    from trigkit.models.configs import MLPConfig
    from trigkit.models.kinds import KINDS
    from trigkit.models.preprocessing import Preprocessing
    from trigkit.models.saved import TrainedModel

    spec = KINDS["l1jets"]
    n = len(spec.feature_names)
    torch.manual_seed(1)
    pre = Preprocessing(
        kind="l1jets",
        input_names=spec.input_names,
        feature_names=spec.feature_names,
        offsets=(0.0,) * n,
        scales=(1.0,) * n,
    )
    cfg = MLPConfig(n_features=n, n_classes=len(spec.class_names), hidden=(16, 12))
    tm = TrainedModel(
        name="l1",
        module=cfg.build(),
        preprocessing=pre,
        config=cfg,
        input_names=spec.input_names,
        class_names=spec.class_names,
    )
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(3000, n)) * 6.0).astype(np.float32)
    return tm, x, rng.integers(0, len(spec.class_names), len(x))


def _qat_saved(trained):
    """The model as `trigkit compress --qat-bits 6` saves it, and the QAT module it trained."""
    from dataclasses import replace

    from trigkit.compile.width_scan import quantize_at
    from trigkit.models.training import TensorData

    tm, x, y = trained
    wrapped, pinned = quantize_at(
        copy.deepcopy(tm.module), 6, TensorData((x,), y), range_quantile=0.99
    )
    return replace(tm, extra={"qat": pinned.to_dict()}), wrapped.qat


def test_compile_reproduces_the_saved_qat_model_exactly(trained):
    """compile rebuilds the QAT model, input type included, whatever its calibration data."""
    saved, qat = _qat_saved(trained)
    narrow = trained[1][:500] * 0.05  # a very different range: would give other integer bits
    _, net, info = quantized_network(saved, FpgaCompileConfig(), narrow)
    want = qat.to_network()
    assert net.input_t == want.input_t
    assert net.to_json()["layers"] == want.to_json()["layers"]
    assert info["qat_config"]["input_type"] == want.input_t.hls()
    x = np.random.default_rng(3).normal(size=(2000, net.n_inputs)) * 4
    with torch.no_grad():
        y_qat = qat.firmware_forward(torch.from_numpy(x)).numpy()
    assert np.array_equal(FirmwareEmulator(net).predict(x), y_qat)


def test_unpinned_input_type_differs_and_is_warned(trained, caplog):
    """Negative control: without the pinned input type the calibration data changes it."""
    from dataclasses import replace

    saved, qat = _qat_saved(trained)
    loose = replace(saved, extra={"qat": {**saved.extra["qat"], "input_type": None}})
    with caplog.at_level(logging.WARNING):
        _, net, _ = quantized_network(loose, FpgaCompileConfig(), trained[1][:500] * 0.05)
    assert net.input_t != qat.to_network().input_t
    assert "does not pin the input type" in caplog.text


def test_softmax_option_keeps_the_pinned_types(trained):
    saved, qat = _qat_saved(trained)
    _, net, _ = quantized_network(saved, FpgaCompileConfig(softmax=True), trained[1][:500])
    want = qat.to_network().to_json()["layers"]
    assert net.layers[-1].kind == "softmax"
    assert net.to_json()["layers"][:-1] == want


def test_reference_set_labelled_rows_first():
    net = dense_relu_net(sizes=(4, 6, 3), seed=0)
    rng = np.random.default_rng(1)
    rows, labels = rng.normal(size=(50, 4)), rng.integers(0, 3, 50)
    ref = reference_set(net, 30, rows=rows, labels=labels, n_labelled=20)
    assert ref.x.shape == (50, 4) and ref.n_labelled == 20
    assert (ref.labels[20:] == NO_LABEL).all()
    for r, lab in zip(
        ref.x[:20], ref.labels[:20], strict=True
    ):  # each a calibration row, own label
        i = np.flatnonzero(np.all(rows == r, axis=1))
        assert len(i) == 1 and labels[i[0]] == lab
    assert reference_set(net, 30).labels is None
    with pytest.raises(TrigkitError, match="class indices in 0..2"):
        reference_set(net, 30, rows=rows, labels=labels + 1, n_labelled=50)
    with pytest.raises(TrigkitError, match=r"rows \[n, 4\]"):
        reference_set(net, 30, rows=rows[:, :3], labels=labels, n_labelled=50)


def test_reference_set_unlabelled_calibration_rows_first():
    net = dense_relu_net(sizes=(4, 6, 3), seed=0)
    rows = np.random.default_rng(2).normal(size=(50, 4))
    ref = reference_set(net, 30, rows=rows, n_unlabelled=20)
    assert ref.x.shape == (50, 4) and ref.n_calibration == 20 and ref.labels is None
    picked = [np.flatnonzero(np.all(rows == r, axis=1)) for r in ref.x[:20]]
    assert all(len(i) == 1 for i in picked)  # each one of the calibration rows, once
    idx = [int(i[0]) for i in picked]
    assert idx == sorted(set(idx)) and idx[-1] > 25  # in file order, spread over the file
    np.testing.assert_array_equal(ref.x[20:], reference_set(net, 30).x)  # then the synthetic
    few = reference_set(net, 30, rows=rows[:5], n_unlabelled=20)
    assert few.n_calibration == 5 and np.array_equal(few.x[:5], rows[:5])
    with pytest.raises(TrigkitError, match=r"rows \[n, 4\], got \(50, 3\)"):
        reference_set(net, 30, rows=rows[:, :3], n_unlabelled=20)


def test_report_accuracy_uses_labelled_rows_only(tmp_path):
    """Synthetic rows (label -1) must not count; checked against a hand computation."""
    net = dense_relu_net(sizes=(4, 6, 3), seed=0, softmax=True)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 4))
    fw = FirmwareEmulator(net).predict(x)
    fl = fw + rng.normal(scale=0.2, size=fw.shape)  # some top classes differ
    labels = rng.integers(0, 3, 300)
    labels[200:] = NO_LABEL
    manifest = new_manifest(
        target="fpga",
        backend="hls4ml-vitis",
        model_name="tiny",
        precision="ap_fixed",
        inputs=[TensorSpec(name="x", shape=(-1, 4), dtype="float64")],
        outputs=[TensorSpec(name="scores", shape=(-1, 3), dtype="float64")],
        layers=[
            LayerInfo(name=la.name, kind=la.kind, precision=la.precisions()) for la in net.layers
        ],
        target_info={"network": net.to_json()},
    )
    with write_bundle(tmp_path / "b", manifest) as w:
        np.savez_compressed(
            w.path("reference.npz"), in_x=x, out_scores=fw, float_scores=fl, labels=labels
        )
    acc = reference_accuracy(load_bundle(tmp_path / "b"), net)
    assert acc.n == 200 and acc.emulator_mismatches == 0
    assert acc.float_accuracy == pytest.approx(np.mean(np.argmax(fl[:200], 1) == labels[:200]))
    assert acc.firmware_accuracy == pytest.approx(np.mean(np.argmax(fw[:200], 1) == labels[:200]))
    assert acc.agreement == pytest.approx(np.mean(np.argmax(fl[:200], 1) == np.argmax(fw[:200], 1)))


def test_rtl_missing_names_the_tool(monkeypatch):
    from trigkit.compile.targets import fpga as target_fpga
    from trigkit.core import tools

    pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")
    monkeypatch.setattr(tools, "find_tool", lambda name: None)
    assert "verilator not found" in target_fpga.rtl_missing()


def test_rtl_step_writes_the_flow_report(monkeypatch, tmp_path):
    """_rtl_report returns the flow's RtlReport as JSON (the flow itself is tested in test_rtl)."""
    import contextlib

    from trigkit.compile.targets import fpga as target_fpga
    from trigkit.firmware.rtl import flow as rtl_flow
    from trigkit.firmware.rtl import generate as rtl
    from trigkit.firmware.rtl.options import RtlOptions
    from trigkit.firmware.rtl.report import RtlReport

    pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")
    design = rtl.RtlDesign(
        "/x", "t", 3, 2, (1, 4, 5), (1, 6, 6), 2, ("fc1",), (), 5, 6, 100.0, 40, 5.0
    )
    rep = RtlReport(design, rtl.RtlSimResult(3, 1, 10, 0, 5.0), None)
    seen = []
    monkeypatch.setattr(target_fpga, "rtl_missing", lambda: None)
    monkeypatch.setattr(
        rtl_flow, "run_rtl_flow", lambda net, work, opts, **kw: seen.append((work, opts)) or rep
    )
    opts = RtlOptions(
        cutoffs=(3.0, 4.0), delay_model="carry", rebalance=2, max_fanout=4, min_slack_ns=0.1
    )
    with contextlib.ExitStack() as stack:
        config = target_fpga.FpgaCompileConfig(rtl_options=opts)
        text = target_fpga._rtl_report(dense_relu_net(), tmp_path / "rtl", stack, config)
    assert seen == [(tmp_path / "rtl", opts)]  # the very options of the config, not a copy
    assert seen[0][1] is config.rtl_options
    assert RtlReport.from_json(json.loads(text)) == rep
    monkeypatch.setattr(target_fpga, "rtl_missing", lambda: "verilator not found")
    with contextlib.ExitStack() as stack:
        assert (
            target_fpga._rtl_report(dense_relu_net(), None, stack, target_fpga.FpgaCompileConfig())
            is None
        )
