"""`trigkit compile MODEL --target fpga` on DeepSets taggers: hls4ml C simulation == numba
emulation bit for bit; with ``--rtl`` Verilator == emulation on small set models; the RTL
refusal of a sigmoid; estimates of the set layers."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from tests.importers import set_models as sm
from tests.importers import writers
from trigkit.bundle.manifest import load_bundle
from trigkit.core.errors import TrigkitError

pytest.importorskip("onnx")


def _needs_csim() -> None:
    pytest.importorskip("hls4ml")
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")


def _check_bundle(
    out: Path, n_rows: int, first: str = "pointwise", n_inputs: int = sm.N_CONST * sm.N_FEAT
) -> None:
    """Every stored C-sim output equals the emulation; float outputs within the error budget."""
    from trigkit.firmware.emulate import FirmwareEmulator

    bundle = load_bundle(out, target="fpga")
    emu = FirmwareEmulator.from_bundle(out)  # raises on any mismatch with the stored C-sim rows
    ins, outs = bundle.reference()
    x, y_csim = next(iter(ins.values())), outs["scores"]
    assert len(x) >= n_rows and x.shape[1] == n_inputs
    assert np.array_equal(emu.predict(x), y_csim)
    info = bundle.manifest.target_info
    assert info["reference_mismatches"] == 0 and info["reference_rows"] == len(x)
    kinds = [layer["kind"] for layer in info["network"]["layers"]]
    assert kinds[0] == first and "mean_pool" in kinds


@pytest.mark.slow
@pytest.mark.fpga_tools
def test_onnx_deepsets_cli_csim_bit_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _needs_csim()
    monkeypatch.setenv("COLUMNS", "200")
    from trigkit.cli.app import main

    path = writers.to_onnx(sm.DeepSets().eval(), tmp_path / "ds.onnx", sm.SHAPE)
    out = tmp_path / "fw"
    t0 = time.perf_counter()
    args = ["compile", str(path), "--target", "fpga", "--out", str(out), "--n-reference", "1200"]
    assert main(args) == 0
    print(f"bundle built in {time.perf_counter() - t0:.1f} s")  # noqa: T201 - for the log
    assert "numba emulation and hls4ml C simulation agree" in capsys.readouterr().out
    _check_bundle(out, 1200)
    # the original file (onnxruntime) against the emulation, on the in-range reference rows
    assert main(["compare", str(out), "--atol", "0.1"]) == 0
    assert "0 of 2400 reference rows differ" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.fpga_tools
def test_torchscript_conv_sum_leaky_relu6_csim_bit_exact(tmp_path: Path) -> None:
    _needs_csim()
    from trigkit.compile.targets.fpga import FpgaCompileConfig
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_fpga

    m = sm.DeepSets(conv=True, pool="sum", act="leaky").eval()
    path = writers.to_torchscript(m, tmp_path / "ds.pt")
    opts = ImportOptions(input_shapes={"x": sm.SHAPE[::-1]})
    out = tmp_path / "fw"
    compile_imported_fpga(path, out, opts, FpgaCompileConfig(n_reference=1000))
    _check_bundle(out, 1000)
    kinds = [la["kind"] for la in load_bundle(out).manifest.target_info["network"]["layers"]]
    assert kinds == ["pointwise", "leaky_relu", "mean_pool", "dense", "relu6", "dense"]


@pytest.mark.slow
@pytest.mark.fpga_tools
def test_keras_conv1d_kernel_3_cli_csim_bit_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _needs_csim()
    monkeypatch.setenv("COLUMNS", "200")
    from trigkit.cli.app import main

    path = sm.write_keras_conv(sm.ConvTagger().eval(), tmp_path / "conv.keras")
    out = tmp_path / "fw"
    assert main(["compile", str(path), "--target", "fpga", "--out", str(out)]) == 0
    _check_bundle(out, 1000, first="conv1d")


@pytest.mark.slow
@pytest.mark.fpga_tools
def test_qkeras_deepsets_cli_csim_bit_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """QConv1D + TimeDistributed(QDense) + QDense per constituent + GlobalAveragePooling1D over
    6 constituents + a quantizer on the mean: C-sim == emulation, and 0 difference from the
    model's own quantized function (QKeras predict itself: tests/importers/test_qkeras_sets.py)."""
    _needs_csim()
    monkeypatch.setenv("COLUMNS", "200")
    from tests.importers import qkeras_set_models as qs
    from trigkit.cli.app import main

    path = qs.write_h5(tmp_path / "qds.h5", qs.weights())
    out = tmp_path / "fw"
    args = ["compile", str(path), "--target", "fpga", "--out", str(out), "--n-reference", "600"]
    assert main(args) == 0
    assert "numba emulation and hls4ml C simulation agree" in capsys.readouterr().out
    _check_bundle(out, 600, first="conv1d", n_inputs=qs.N_CONST * qs.N_FEAT)
    assert main(["compare", str(out), "--atol", "0"]) == 0
    text = capsys.readouterr().out
    assert "0 of 1200 reference rows differ" in text and "OK:" in text  # 600 calibration + 600


@pytest.mark.slow
@pytest.mark.fpga_tools
def test_qcdq_deepsets_cli_csim_and_onnxruntime_bit_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Brevitas-style QCDQ (sub-8-bit quantizers as a Clip of the codes), a quantized mean over
    10 constituents: C-sim == emulation, and the emulation == onnxruntime on the original file
    (``trigkit compare --data``, tolerance 0) on rows that saturate the input type."""
    _needs_csim()
    monkeypatch.setenv("COLUMNS", "200")
    from tests.importers import quant_set_models as qm
    from trigkit.cli.app import main

    spec = qm.QuantSpec("qcdq", n_const=10, quant_pool=True, clip=True)
    path = qm.write_quant_deepsets(tmp_path / "q.onnx", spec)
    out = tmp_path / "fw"
    args = ["compile", str(path), "--target", "fpga", "--out", str(out), "--n-reference", "600"]
    assert main(args) == 0
    _check_bundle(out, 600, n_inputs=spec.n_const * qm.N_FEAT)
    x = np.random.default_rng(3).normal(scale=2.0, size=(2000, spec.n_const, qm.N_FEAT))
    np.savez(tmp_path / "rows.npz", in_x=x.astype(np.float32))
    capsys.readouterr()
    assert main(["compare", str(out), "--data", str(tmp_path / "rows.npz"), "--atol", "0"]) == 0
    text = capsys.readouterr().out
    assert "(onnxruntime)" in text and "2000" in text and "OK:" in text


def test_rtl_refuses_a_sigmoid_before_building(tmp_path: Path) -> None:
    """Set layers have RTL now; a sigmoid head still has none: refused before any hls4ml work."""
    pytest.importorskip("hls4ml")
    from torch import nn

    from trigkit.compile.targets.fpga import FpgaCompileConfig
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_fpga

    torch_model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())
    path = writers.to_onnx(torch_model.eval(), tmp_path / "sig.onnx", (3,))
    with pytest.raises(TrigkitError) as err:
        compile_imported_fpga(path, tmp_path / "fw", ImportOptions(), FpgaCompileConfig(rtl=True))
    msg = str(err.value)
    assert "layer 'sigmoid' (sigmoid)" in msg and "--rtl" in msg and "\n" not in msg
    assert "pointwise" in msg and "mean_pool" in msg  # what it does cover
    assert not (tmp_path / "fw").exists()


SMALL_MODELS = {  # name: (torch module, ONNX input shape); few constituents, narrow layers
    # pointwise -> leaky_relu -> sum pool -> dense -> relu6 -> dense, 4 constituents x 2
    "deepsets": (lambda: sm.DeepSets(True, "sum", "leaky", n_feat=2, hidden=4), (2, 4)),
    # conv1d kernel 3 'valid' over 5 constituents -> relu -> mean over 3 positions -> dense
    "conv1d": (lambda: sm.ConvTagger(0, n_feat=2, filters=3), (2, 5)),
}


@pytest.mark.slow
@pytest.mark.fpga_tools
@pytest.mark.parametrize("name", list(SMALL_MODELS))
def test_set_models_cli_rtl_bit_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """``compile MODEL --target fpga --rtl``: Verilator reproduces the emulation on every sample
    (the flow raises otherwise), and the report gives the RTL and estimate figures."""
    _needs_csim()
    from trigkit.core.tools import find_tool

    if find_tool("verilator") is None:
        pytest.skip("verilator not installed")
    monkeypatch.setenv("COLUMNS", "200")
    from trigkit.cli.app import main
    from trigkit.firmware.fpga_report import build_fpga_report

    make, shape = SMALL_MODELS[name]
    path = writers.to_onnx(make().eval(), tmp_path / f"{name}.onnx", shape)
    out = tmp_path / "fw"
    args = ["compile", str(path), "--target", "fpga", "--out", str(out), "--rtl"]
    assert main([*args, "--n-reference", "300"]) == 0
    text = capsys.readouterr().out
    rtl = json.loads((out / "rtl_report.json").read_text())
    sim, design = rtl["sim"], rtl["design"]
    assert sim["mismatches"] == 0 and sim["n_samples"] == 1000 and sim["ii"] == 1
    net = load_bundle(out, target="fpga").manifest.target_info["network"]
    kinds = [layer["kind"] for layer in net["layers"]]
    assert design["covered"] == [layer["name"] for layer in net["layers"]]
    assert ("conv1d" if name == "conv1d" else "pointwise") in kinds and "mean_pool" in kinds
    cycles = sim["latency_cycles"]
    assert f": {cycles} cycles = {cycles * 5:g} ns, II 1" in text
    rep = build_fpga_report(load_bundle(out, target="fpga"))
    sources = {r.source.split(":")[0] for r in rep.resources}
    assert "estimate" in sources
    if find_tool("yosys") is not None:
        assert rtl["synth"]["lut"] > 0
        assert f"{rtl['synth']['lut']} LUT" in text


def test_estimate_counts_per_constituent_multipliers(tmp_path: Path) -> None:
    from trigkit.firmware.estimate import estimate_network
    from trigkit.importers import import_model
    from trigkit.importers.firmware import to_firmware_network

    model = import_model(writers.to_onnx(sm.DeepSets().eval(), tmp_path / "d.onnx", sm.SHAPE))
    x = np.random.default_rng(0).normal(size=(300, *sm.SHAPE))
    net = to_firmware_network(model, x)
    est = {e.name: e for e in estimate_network(net).layers}
    fc1 = net.layers[0]
    assert est["fc1"].multiplications == sm.N_CONST * int(np.count_nonzero(fc1.weight))
    assert est["fc2"].multiplications == int(np.count_nonzero(net.layers[3].weight))
    pool = est["pool"]
    # 8 constituents: a 3-deep adder tree, 7 adders per feature, the division is a shift
    assert pool.adder_depth == 3 and pool.multiplications == 0
    assert pool.lut == sm.HIDDEN * 7 * net.layers[2].accum_t.width  # type: ignore[union-attr]


def test_estimate_counts_conv1d_per_output_position(tmp_path: Path) -> None:
    from trigkit.firmware.estimate import estimate_network
    from trigkit.importers import import_model
    from trigkit.importers.firmware import to_firmware_network

    shape = sm.SHAPE[::-1]
    for padding, n_pos in ((1, sm.N_CONST), (0, sm.N_CONST - 2)):
        path = writers.to_onnx(sm.ConvTagger(padding).eval(), tmp_path / "c.onnx", shape)
        x = np.random.default_rng(0).normal(size=(300, *shape))
        net = to_firmware_network(import_model(path), x)
        conv = estimate_network(net).layers[0]
        nnz = int(np.count_nonzero(net.layers[0].weight))
        assert (conv.kind, conv.multiplications) == ("conv1d", n_pos * nnz)
