"""`trigkit compile --target fpga` end to end, and the central bit-exactness test:

torch QAT model == numba emulation == hls4ml C simulation, bit for bit, on 100 000 inputs
(random, representable extremes, saturating values, NaN and +-Inf). The C simulation is built
once for the whole module (g++, ~1 min).
"""

from __future__ import annotations

import contextlib
import io
import shutil

import numpy as np
import pytest
import torch

from trigkit.bundle.manifest import load_bundle
from trigkit.cli.app import main
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.network import FirmwareNetwork
from trigkit.fixedpoint.random_net import edge_inputs

N_CHECK = 100_000
N_LABELLED = 150
needs_tools = pytest.mark.fpga_tools


def _tools_or_skip() -> None:
    pytest.importorskip("hls4ml", reason="hls4ml (extra 'fpga') is not installed")
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed (needed for hls4ml's C simulation)")


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    from trigkit.models.configs import MLPConfig
    from trigkit.models.kinds import KINDS
    from trigkit.models.preprocessing import Preprocessing
    from trigkit.models.saved import TrainedModel

    spec = KINDS["l1jets"]
    torch.manual_seed(0)
    n = len(spec.feature_names)
    pre = Preprocessing(
        kind="l1jets",
        input_names=spec.input_names,
        feature_names=spec.feature_names,
        offsets=(0.0,) * n,
        scales=(1.0,) * n,
    )
    cfg = MLPConfig(
        n_features=n, n_classes=len(spec.class_names), hidden=(16, 12)
    )  # small: fast C-sim
    tm = TrainedModel(
        name="l1-mlp-small",
        module=cfg.build(),
        preprocessing=pre,
        config=cfg,
        input_names=spec.input_names,
        class_names=spec.class_names,
    )
    return tm.save(tmp_path_factory.mktemp("model") / "l1.pt")


@pytest.fixture(scope="module")
def calib_events(tmp_path_factory):
    """A small labelled events file (the calibration + accuracy rows of the CLI run)."""
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet

    path = tmp_path_factory.mktemp("events") / "ttbar.parquet"
    write_parquet([generate("ttbar", 60, seed=3)], path)
    return path


@pytest.fixture(scope="module")
def built(saved_model, calib_events, tmp_path_factory):
    """(bundle path, C-sim library, network, CLI stdout) from one CLI run."""
    _tools_or_skip()
    from trigkit.firmware.hls4ml import CsimLibrary

    root = tmp_path_factory.mktemp("fpga")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(
            [
                "compile",
                str(saved_model),
                "--target",
                "fpga",
                "--out",
                str(root / "bundle"),
                "--bits",
                "6",
                "--softmax",
                "--keep-csim",
                str(root / "csim"),
                "--calib-events",
                str(calib_events),
                "--n-labelled",
                str(N_LABELLED),
            ]
        )
    assert rc == 0, out.getvalue()
    bundle = load_bundle(root / "bundle", target="fpga")
    net = FirmwareNetwork.from_json(bundle.manifest.target_info["network"])
    return (
        root / "bundle",
        CsimLibrary(root / "csim", net.n_inputs, net.n_outputs),
        net,
        out.getvalue(),
    )


@pytest.fixture(scope="module")
def central_inputs(built):
    _, csim, net, _ = built
    x = edge_inputs(net, N_CHECK, seed=11)
    return x, csim.predict(x)


@needs_tools
def test_bundle_manifest(built, saved_model):
    path, _, net, _ = built
    m = load_bundle(path).manifest
    assert (m.target, m.backend, m.reference_tolerance) == ("fpga", "hls4ml-vitis", 0.0)
    assert m.inputs[0].name == "jets" and len(m.inputs[0].features) == 16
    assert m.outputs[0].features == ("b", "c", "uds", "gluon", "pileup")
    assert [layer.name for layer in m.layers] == ["fc1", "relu1", "fc2", "relu2", "fc3", "softmax"]
    for info, layer in zip(m.layers, net.layers, strict=True):
        assert info.precision == layer.precisions()
        assert info.reuse_factor == layer.reuse_factor
    assert all(
        w == 6 for w in (layer.weight_t.width for layer in net.layers if layer.kind == "dense")
    )
    assert "hls4ml_prj/firmware/myproject.cpp" in m.files
    assert not any(name.endswith(".so") for name in m.files)
    ins, outs = load_bundle(path).reference()
    n_lab = m.target_info["labelled_rows"]
    assert 0 < n_lab <= N_LABELLED
    assert ins["jets"].shape == (n_lab + 1000, 16) and outs["scores"].shape == (n_lab + 1000, 5)
    assert np.isnan(ins["jets"]).any() and np.isinf(ins["jets"]).any()


@needs_tools
@pytest.mark.parametrize("contender", ["numba emulator", "torch QAT model"])
def test_bit_exact_with_hls4ml_csim(contender, built, central_inputs, saved_model, calib_events):
    """The conifer-style central test: every implementation gives the C simulation's bits."""
    _, _, net, _ = built
    x, y_csim = central_inputs
    assert (
        np.isnan(x).any()
        and np.isinf(x).any()
        and (np.abs(x[np.isfinite(x)]) > net.input_t.max).any()
    )
    if contender == "numba emulator":
        y = FirmwareEmulator(net).predict(x)
    else:
        qat = _rebuild_qat(saved_model, net, calib_events)
        with torch.no_grad():
            y = np.concatenate(
                [
                    qat.firmware_forward(torch.from_numpy(x[i : i + 10_000])).numpy()
                    for i in range(0, len(x), 10_000)
                ]
            )
    mismatches = int(np.count_nonzero(np.any(y != y_csim, axis=1)))
    assert mismatches == 0, f"{mismatches} of {len(x)} rows differ"


def _rebuild_qat(saved_model, net, calib_events):
    """The torch QAT model the CLI built (same config and calibration jets)."""
    from trigkit.cli.compile import _calibration_rows
    from trigkit.compile.qat import quantize_module
    from trigkit.compile.qat_config import QATConfig
    from trigkit.models.saved import load_model

    model = load_model(saved_model)
    calib, _ = _calibration_rows(saved_model, [calib_events])
    qat = quantize_module(model.module.float(), QATConfig(bits=6, softmax=True), calib)
    assert qat.to_network().to_json()["layers"] == net.to_json()["layers"]
    return qat


@needs_tools
def test_reference_float_scores_labels_and_report(built, saved_model, calib_events, capsys):
    """reference.npz carries the float model's softmax and the true classes; `trigkit report`
    shows float vs firmware accuracy from them (no --model), matching a float64 recomputation."""
    from trigkit.cli.compile import _calibration_rows
    from trigkit.models.saved import load_model

    path, _, net, _ = built
    with np.load(path / "reference.npz") as npz:
        x, fw, fl, labels = npz["in_jets"], npz["out_scores"], npz["float_scores"], npz["labels"]
    n_lab = int(np.count_nonzero(labels >= 0))
    assert n_lab == load_bundle(path).manifest.target_info["labelled_rows"]
    assert (labels[n_lab:] == -1).all() and len(labels) == n_lab + 1000
    rows, truth = _calibration_rows(saved_model, [calib_events])
    # the labelled rows are calibration jets with their own true class
    matches = [np.flatnonzero(np.all(rows == r, axis=1)) for r in x[:n_lab]]
    assert all(len(m) >= 1 for m in matches)
    assert all(labels[i] in truth[m] for i, m in enumerate(matches))
    # float_scores: softmax of the float weights, recomputed in float64 numpy
    lin = [m for m in load_model(saved_model).module.modules() if isinstance(m, torch.nn.Linear)]
    h = x[:n_lab]
    for i, layer in enumerate(lin):
        h = h @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()
        h = np.maximum(h, 0.0) if i < len(lin) - 1 else h
    e = np.exp(h - h.max(axis=1, keepdims=True))
    np.testing.assert_allclose(fl[:n_lab], e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)
    acc_f = np.mean(np.argmax(fl[:n_lab], axis=1) == labels[:n_lab])
    acc_w = np.mean(np.argmax(fw[:n_lab], axis=1) == labels[:n_lab])
    assert main(["report", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"{100 * acc_f:.2f} % / {100 * acc_w:.2f} %" in text
    assert "pass --model" not in text


@needs_tools
def test_cli_output_has_no_hls4ml_chatter(built):
    path, _, _, stdout = built
    assert "Interpreting" not in stdout and "Topology" not in stdout
    assert "accuracy on" in stdout and "labelled jets" in stdout
    m = load_bundle(path).manifest
    assert "logs/hls4ml_convert.log" in m.files
    assert "Interpreting" in (path / "logs" / "hls4ml_convert.log").read_text()


@needs_tools
def test_emulator_from_bundle_and_tampering(built, tmp_path):
    path, _, net, _ = built
    emu = FirmwareEmulator.from_bundle(path)
    assert emu.network.to_json() == net.to_json()
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    weights = copy / "hls4ml_prj" / "firmware" / "weights" / "w2.txt"
    weights.write_text(weights.read_text().replace("0", "1", 1))
    with pytest.raises(TrigkitError, match="sha256 mismatch"):
        FirmwareEmulator.from_bundle(copy)


def test_cli_bad_input(tmp_path, capsys, saved_model):
    assert (
        main(["compile", str(saved_model), "--target", "asic", "--out", str(tmp_path / "b")]) == 1
    )
    assert "--target 'asic' unknown; valid: fpga, gpu" in capsys.readouterr().err
    assert (
        main(
            ["compile", str(tmp_path / "none.pt"), "--target", "fpga", "--out", str(tmp_path / "b")]
        )
        == 1
    )
    assert "no such model file" in capsys.readouterr().err
    assert (
        main(
            [
                "compile",
                str(saved_model),
                "--target",
                "fpga",
                "--backend",
                "Quartus",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 1
    )
    assert "backend" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_narrow_weight_precision_is_reported(saved_model, tmp_path):
    from trigkit.compile.qat_config import LayerQuant, QATConfig
    from trigkit.compile.targets.fpga import FpgaCompileConfig, compile_fpga

    narrow = QATConfig(bits=6, layers={"fc1": LayerQuant(weight="ap_fixed<4,-3,AP_RND,AP_SAT>")})
    cfg = FpgaCompileConfig(qat=narrow, fail_on_weight_overflow=True)
    with pytest.raises(
        TrigkitError, match=r"precision too narrow.*fc1: \d+ weights outside ap_fixed<4,-3"
    ):
        compile_fpga(saved_model, tmp_path / "b", config=cfg)
    assert not (tmp_path / "b").exists()
