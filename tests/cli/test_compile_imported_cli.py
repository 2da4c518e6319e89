"""`trigkit compile` on models trained elsewhere, then `trigkit compare` (in-process CLI).

Fixtures hold the repeated setup: ``files`` (one MLP in three formats), ``compile_gpu`` (the
gpu compile command with no TensorRT engine build), ``pre_file`` (a preprocessing YAML) and
``fpga_tools`` (hls4ml and g++, else skip).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.importers import writers
from trigkit.bundle.manifest import load_bundle
from trigkit.cli.app import main


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("onnxruntime")
    d = tmp_path_factory.mktemp("models")
    m = writers.mlp((8, 16, 4))
    return {
        "onnx": writers.to_onnx(m, d / "m.onnx", (8,)),
        "torchscript": writers.to_torchscript(m, d / "m.pt"),
        "keras": writers.write_keras(m, d / "m.keras", 8),
        "onnx3": writers.to_onnx(writers.mlp((8, 16, 16, 4)), d / "m3.onnx", (8,)),
    }


CompileGpu = Callable[..., int]


@pytest.fixture
def compile_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CompileGpu:
    """``compile_gpu(model, *extra, out=...)``: `trigkit compile MODEL --target gpu` with no
    TensorRT engine build (slow where TensorRT is installed); ``out`` defaults to tmp/b."""
    from trigkit.compile.targets import gpu

    monkeypatch.setattr(gpu, "_maybe_engine", lambda *a, **k: (None, "disabled in tests"))

    def run(model: Path, *extra: str, out: Path | None = None) -> int:
        dest = out or tmp_path / "b"
        return main(["compile", str(model), "--target", "gpu", "--out", str(dest), *extra])

    return run


def _pre_file(path: Path, offset: float, scale: float) -> Path:
    rows = "".join(f"  - {{name: f{i}, offset: {offset:g}, scale: {scale:g}}}\n" for i in range(8))
    path.write_text("features:\n" + rows)
    return path


@pytest.fixture
def fpga_tools() -> None:
    pytest.importorskip("hls4ml")
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")


def test_gpu_bundle_from_onnx_matches_the_original(
    files: dict[str, Path],
    tmp_path: Path,
    compile_gpu: CompileGpu,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pre = _pre_file(tmp_path / "pre.yaml", 1, 2)
    out = tmp_path / "b"
    assert compile_gpu(files["onnx"], "--preprocessing", str(pre)) == 0
    bundle = load_bundle(out, target="gpu")
    assert "source/m.onnx" in bundle.manifest.files
    assert bundle.manifest.inputs[0].features == tuple(f"f{i}" for i in range(8))
    assert bundle.manifest.target_info["imported"]["preprocessing"]["features"][0]["offset"] == 1
    ins, outs = bundle.reference()
    assert np.max(np.abs(outs["probs"] - writers.ort(files["onnx"], ins["x"]))) < 1e-6
    capsys.readouterr()
    assert main(["compare", str(out)]) == 0
    text = capsys.readouterr().out
    assert "onnxruntime (model.onnx)" in text and "OK" in text
    assert "no TensorRT engine in the bundle" in text


def test_parquet_calibration_through_the_preprocessing(
    files: dict[str, Path], tmp_path: Path, compile_gpu: CompileGpu
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = np.random.default_rng(2).normal(loc=5.0, scale=3.0, size=(300, 8))
    cols = {f"f{i}": raw[:, i] for i in range(8)} | {"other": np.zeros(300)}
    pq.write_table(pa.table(cols), tmp_path / "rows.parquet")
    pre = _pre_file(tmp_path / "pre.yaml", 5, 3)
    out = tmp_path / "b"
    rows = tmp_path / "rows.parquet"
    assert compile_gpu(files["onnx"], "--preprocessing", str(pre), "--calib-data", str(rows)) == 0
    ins, _ = load_bundle(out).reference()
    assert np.allclose(ins["x"], ((raw - 5.0) / 3.0)[:256], atol=1e-6)


@pytest.mark.parametrize("kind", ["torchscript", "keras"])
def test_gpu_bundle_from_torchscript_and_keras(
    kind: str,
    files: dict[str, Path],
    tmp_path: Path,
    compile_gpu: CompileGpu,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "b"
    extra: list[str] = []
    if kind == "torchscript":
        assert compile_gpu(files[kind]) == 1
        assert "--input-shape input:1x16" in capsys.readouterr().err
        extra = ["--input-shape", "input:1x8"]
    assert compile_gpu(files[kind], *extra) == 0
    ins, outs = load_bundle(out).reference()
    x = next(iter(ins.values()))
    assert np.max(np.abs(outs["probs"] - writers.ort(files["onnx"], x))) < 1e-5
    capsys.readouterr()
    assert main(["compare", str(out)]) == 0
    if kind == "torchscript":  # torch vs onnxruntime differ in the last float32 bits
        assert main(["compare", str(out), "--atol", "0"]) == 1
        assert "FAIL - onnxruntime (model.onnx) differ" in capsys.readouterr().err


def test_compare_with_data_file(
    files: dict[str, Path],
    tmp_path: Path,
    compile_gpu: CompileGpu,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "b"
    assert compile_gpu(files["onnx"]) == 0
    data = tmp_path / "rows.npz"
    np.savez(data, in_x=np.random.default_rng(0).normal(size=(123, 8)))
    capsys.readouterr()
    assert main(["compare", str(out), "--data", str(data)]) == 0
    assert "rows.npz [in_x]" in capsys.readouterr().out


def test_gpu_int8_from_onnx_with_calib_data(
    files: dict[str, Path],
    tmp_path: Path,
    compile_gpu: CompileGpu,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "b8"
    assert compile_gpu(files["onnx3"], "--precision", "int8", out=out) == 1
    assert "INT8 needs calibration rows: pass --calib-data" in capsys.readouterr().err
    data = tmp_path / "calib.npz"
    np.savez(data, in_x=np.random.default_rng(0).normal(size=(400, 8)))
    int8 = ["--precision", "int8", "--calib-data", str(data)]
    assert compile_gpu(files["onnx"], *int8, out=out) == 1
    assert "has 2; nothing would be quantized" in capsys.readouterr().err
    assert compile_gpu(files["onnx3"], *int8, out=out) == 0
    bundle = load_bundle(out, target="gpu")
    assert bundle.manifest.precision == "int8"
    import onnx

    ops = {n.op_type for n in onnx.load(str(bundle.file("model.onnx"))).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    ins, outs = bundle.reference()
    err = np.abs(outs["probs"] - writers.ort(files["onnx3"], ins["x"]))
    assert 0 < err.max() < 0.2  # int8 moves the outputs, but not far
    assert main(["compare", str(out)]) == 0


def test_bad_preprocessing_writes_nothing(
    files: dict[str, Path],
    tmp_path: Path,
    compile_gpu: CompileGpu,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pre = tmp_path / "pre.json"
    pre.write_text('{"features": [{"name": "a"}, {"name": "b"}]}')
    out = tmp_path / "b"
    assert compile_gpu(files["onnx"], "--preprocessing", str(pre)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {pre}: 2 features but the model takes 8 per row"]
    assert not out.exists() and not list(tmp_path.glob(".b*"))


def test_unknown_target_lists_registry(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", str(files["onnx"]), "--target", "tpu", "--out", str(tmp_path)]) == 1
    assert "valid: fpga, gpu" in capsys.readouterr().err


def _compile_fpga(model: Path, out: Path, *extra: str) -> int:
    return main(["compile", str(model), "--target", "fpga", "--out", str(out), *extra])


@pytest.mark.fpga_tools
@pytest.mark.usefixtures("fpga_tools")
def test_fpga_bundle_from_onnx_and_compare_with_csim(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fw"
    assert _compile_fpga(files["onnx"], out, "--n-reference", "200") == 0
    assert "numba emulation and hls4ml C simulation agree" in capsys.readouterr().out
    info = load_bundle(out, target="fpga").manifest.target_info
    assert info["imported"]["format"] == "onnx" and info["reference_mismatches"] == 0
    data = tmp_path / "rows.npz"
    np.savez(data, in_x=np.random.default_rng(3).normal(size=(500, 8)))
    assert main(["compare", str(out), "--csim", "--data", str(data), "--atol", "0.1"]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if "scores" in line]
    assert len(rows) == 2 and "hls4ml C simulation (rebuilt)" in rows[1]
    assert rows[0].split("│")[3:] == rows[1].split("│")[3:]  # same errors, row for row
    assert "0 of 400 reference rows differ" in text
    assert main(["compare", str(out), "--atol", "1e-9", "--data", str(data)]) == 1


@pytest.mark.fpga_tools
@pytest.mark.usefixtures("fpga_tools")
def test_fpga_width_scan_reports_each_width(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.importers import forward, import_model
    from trigkit.importers.firmware import FirmwareOptions, to_firmware_network

    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 8))
    labels = forward(import_model(files["onnx"]), x).argmax(1)  # the float model is 100 % right
    data = tmp_path / "calib.npz"
    np.savez(data, in_x=x, labels=labels)
    out = tmp_path / "fw"
    scan = ["--calib-data", str(data), "--scan-bits", "4,10", "--n-reference", "50"]
    assert _compile_fpga(files["onnx"], out, *scan) == 0
    text = capsys.readouterr().out
    scan = load_bundle(out).manifest.target_info["imported"]["width_scan"]
    assert [c["bits"] for c in scan] == [4, 10]
    for c in scan:
        net = to_firmware_network(import_model(files["onnx"]), x, FirmwareOptions(bits=c["bits"]))
        agree = float(np.mean(FirmwareEmulator(net).predict(x).argmax(1) == labels))
        assert c["agreement"] == agree == c["firmware_accuracy"] and c["float_accuracy"] == 1.0
        assert f"width {c['bits']:2d}: same top class as float {100 * agree:.2f} %" in text
    assert scan[1]["max_abs_diff"] < scan[0]["max_abs_diff"]
