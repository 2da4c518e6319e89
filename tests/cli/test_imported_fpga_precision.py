"""Precision options of `trigkit compile --target fpga` on an imported ONNX MLP.

`--bits`, `--layer-precision` (per-layer types), `--scan-bits` with `--calib-data` and `--rtl`,
each checked against references computed here: a plain-numpy fixed-point forward pass of the
bundle's network (its own rounding and saturation code, not trigkit's), the hls4ml C-simulation
outputs the bundle stores, and float64 matrix products of the ONNX file's own initializers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.importers import writers
from trigkit.bundle.manifest import Bundle, load_bundle
from trigkit.cli.app import main
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareNetwork

pytestmark = pytest.mark.fpga_tools


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture(scope="module")
def onnx_mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 8-16-16-4 MLP with logits out (no softmax: every output is a plain fixed-point sum)."""
    pytest.importorskip("hls4ml")
    pytest.importorskip("onnxruntime")
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")
    d = tmp_path_factory.mktemp("fpga_prec")
    return writers.to_onnx(writers.mlp((8, 16, 16, 4), softmax=False, seed=3), d / "m.onnx", (8,))


def _cast(v: np.ndarray, t: FixedType) -> np.ndarray:
    """``v`` in type ``t``: its rounding then its overflow, in plain numpy float64."""
    s = v * 2.0**t.frac
    codes = {"AP_TRN": np.floor(s), "AP_RND": np.floor(s + 0.5), "AP_RND_CONV": np.rint(s)}
    c = codes[t.rounding]
    lo = -(2 ** (t.width - 1)) if t.signed else 0
    hi = 2 ** (t.width - 1) - 1 if t.signed else 2**t.width - 1
    c = np.clip(c, lo, hi) if t.overflow == "AP_SAT" else (c - lo) % (hi - lo + 1) + lo
    return c / 2.0**t.frac


def _numpy_fixed(net: FirmwareNetwork, x: np.ndarray) -> np.ndarray:
    """The network's function (dense / relu only) in float64, exact for these widths."""
    h = _cast(x, net.input_t)
    for layer in net.layers:
        if layer.kind == "dense":
            assert layer.accum_t is not None
            h = _cast(_cast(h @ layer.weight.T + layer.bias, layer.accum_t), layer.result_t)
        else:
            assert layer.kind == "relu", layer.kind
            h = _cast(np.maximum(h, 0.0), layer.result_t)
    return h


def _initializers(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight [out, in], bias) of each Gemm, read from the ONNX file itself."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(path)).graph
    arr = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    return [(arr[n.input[1]], arr[n.input[2]]) for n in g.node if n.op_type == "Gemm"]


def _float64(path: Path, x: np.ndarray) -> np.ndarray:
    layers = _initializers(path)
    for i, (w, b) in enumerate(layers):
        x = x @ w.T + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x


def _compile(src: Path, out: Path, *extra: str) -> int:
    args = ["compile", str(src), "--target", "fpga", "--out", str(out), "--n-reference", "64"]
    return main([*args, *extra])


def _check_against_csim_and_numpy(bundle: Bundle) -> FirmwareNetwork:
    net = FirmwareNetwork.from_json(bundle.manifest.target_info["network"])
    ins, outs = bundle.reference()
    x, csim = ins["x"], outs["scores"]
    ok = np.all(np.isfinite(x), axis=1)
    assert ok.sum() >= 30
    assert np.array_equal(_numpy_fixed(net, x[ok]), csim[ok])  # numpy == hls4ml C-sim
    assert bundle.manifest.target_info["reference_mismatches"] == 0  # numba == C-sim, all rows
    return net


def test_bits_sets_every_width(onnx_mlp: Path, tmp_path: Path) -> None:
    assert _compile(onnx_mlp, tmp_path / "b6", "--bits", "6") == 0
    net = _check_against_csim_and_numpy(load_bundle(tmp_path / "b6"))
    dense = [layer for layer in net.layers if layer.kind == "dense"]
    for layer, (w, b) in zip(dense, _initializers(onnx_mlp), strict=True):
        assert layer.weight_t.width == 6 and layer.bias_t.width == 6  # type: ignore[union-attr]
        assert np.array_equal(layer.weight, _cast(w, layer.weight_t))  # type: ignore[arg-type]
        assert np.array_equal(layer.bias, _cast(b, layer.bias_t))  # type: ignore[arg-type]
    relus = [layer for layer in net.layers if layer.kind == "relu"]
    assert [r.result_t.width for r in relus] == [6, 6] and not relus[0].result_t.signed


PINS = """\
layers:
  fc1:
    weight: ap_fixed<5,1,AP_RND_CONV,AP_SAT>
    result: ap_fixed<14,5,AP_RND,AP_SAT>
    activation: ap_ufixed<7,3,AP_RND,AP_SAT>
  fc2: {bias: "ap_fixed<6,2,AP_RND_CONV,AP_SAT>", reuse_factor: 2}
"""


def test_layer_precision_pins_named_layers(onnx_mlp: Path, tmp_path: Path) -> None:
    pins = tmp_path / "pins.yaml"
    pins.write_text(PINS)
    out = tmp_path / "pinned"
    assert _compile(onnx_mlp, out, "--bits", "8", "--layer-precision", str(pins)) == 0
    net = _check_against_csim_and_numpy(load_bundle(out))
    by = {layer.name: layer for layer in net.layers}
    (w1, _), (_, b2), _ = _initializers(onnx_mlp)
    assert by["fc1"].weight_t == FixedType.parse("ap_fixed<5,1,AP_RND_CONV,AP_SAT>")
    assert np.array_equal(by["fc1"].weight, _cast(w1, by["fc1"].weight_t))  # type: ignore[arg-type]
    assert by["fc1"].result_t.hls() == "ap_fixed<14,5,AP_RND,AP_SAT>"
    assert by["relu1"].result_t.hls() == "ap_ufixed<7,3,AP_RND,AP_SAT>"
    assert np.array_equal(by["fc2"].bias, _cast(b2, by["fc2"].bias_t))  # type: ignore[arg-type]
    assert by["fc2"].reuse_factor == 2 and by["fc3"].reuse_factor == 1
    assert by["fc3"].weight_t.width == 8  # type: ignore[union-attr]
    # fc2's accumulator is exact for its new input (relu1) and bias types
    acc = by["fc2"].accum_t
    assert acc is not None and acc.frac == max(7 - 3 + by["fc2"].weight_t.frac, 6 - 2)  # type: ignore[union-attr]


def test_layer_precision_unknown_layer_is_one_error(
    onnx_mlp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = tmp_path / "pins.yaml"
    pins.write_text("layers:\n  fc9: {weight: 'ap_fixed<4,1>'}\n")
    assert _compile(onnx_mlp, tmp_path / "x", "--layer-precision", str(pins)) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --layer-precision: layer 'fc9' is not a dense layer of the network; "
        "valid: fc1, fc2, fc3"
    ]
    pins.write_text("layers:\n  fc1: {weight: ap_fixed<4>}\n")
    assert _compile(onnx_mlp, tmp_path / "x", "--layer-precision", str(pins)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {pins}: layers.fc1.weight: cannot parse")
    assert not (tmp_path / "x").exists()


def test_scan_bits_numbers_match_float64_math(
    onnx_mlp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trigkit.importers import import_model
    from trigkit.importers.firmware import FirmwareOptions, to_firmware_network

    rng = np.random.default_rng(9)
    x = rng.normal(size=(300, 8))
    ref = _float64(onnx_mlp, x)
    labels = ref.argmax(1)
    flip = rng.random(300) < 0.2
    labels[flip] = (labels[flip] + 1) % 4  # the float model is not always right
    data = tmp_path / "calib.npz"
    np.savez(data, in_x=x, labels=labels)
    out = tmp_path / "scan"
    capsys.readouterr()
    assert _compile(onnx_mlp, out, "--calib-data", str(data), "--scan-bits", "4,7") == 0
    text = capsys.readouterr().out
    scan = load_bundle(out).manifest.target_info["imported"]["width_scan"]
    assert [c["bits"] for c in scan] == [4, 7]
    float_acc = float(np.mean(ref.argmax(1) == labels))
    for c in scan:  # the widths' types as the scan builds them, the arithmetic in numpy here
        net = to_firmware_network(import_model(onnx_mlp), x, FirmwareOptions(bits=c["bits"]))
        y = _numpy_fixed(net, x)
        agree = float(np.mean(y.argmax(1) == ref.argmax(1)))
        fw_acc = float(np.mean(y.argmax(1) == labels))
        assert c["agreement"] == agree and c["firmware_accuracy"] == fw_acc
        assert c["float_accuracy"] == float_acc
        assert c["max_abs_diff"] == pytest.approx(float(np.max(np.abs(y - ref))), rel=1e-9)
        line = (
            f"width {c['bits']:2d}: same top class as float {100 * agree:.2f} %, max |firmware "
            f"- float| {np.max(np.abs(y - ref)):.3g}, accuracy {100 * fw_acc:.2f} % (float "
            f"{100 * float_acc:.2f} %)"
        )
        assert " ".join(line.split()) in " ".join(text.split())
    assert scan[0]["max_abs_diff"] > scan[1]["max_abs_diff"]


@pytest.mark.slow
def test_rtl_flow_on_an_imported_model(
    onnx_mlp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 4-6-3 MLP (the Verilator build is the cost): simulated bit-exact, latency measured."""
    from trigkit.compile.targets.fpga import rtl_missing

    src = writers.to_onnx(writers.mlp((4, 6, 3), softmax=False, seed=5), tmp_path / "s.onnx", (4,))
    out = tmp_path / "rtl"
    capsys.readouterr()
    assert _compile(src, out, "--bits", "5", "--rtl") == 0
    cap = capsys.readouterr()
    bundle = load_bundle(out)
    if (why := rtl_missing()) is not None:
        assert f"--rtl skipped: {why}" in " ".join(cap.err.split())
        assert bundle.manifest.target_info.get("rtl_report") is None
        return
    assert bundle.manifest.target_info["rtl_report"] == "rtl_report.json"
    sim = json.loads(bundle.file("rtl_report.json").read_text())["sim"]
    assert sim["mismatches"] == 0 and sim["n_samples"] > 0 and sim["latency_cycles"] >= 1
    assert f"{sim['latency_cycles']} cycles" in cap.out
    _check_against_csim_and_numpy(bundle)
    from trigkit.cli.app import main

    assert main(["compare", str(out), "--atol", "1"]) == 0  # 5-bit weights: far from float
    line = (
        f"RTL simulation (Verilator, at compile time) vs the numba emulation: 0 of "
        f"{sim['n_samples']} rows differ (bit for bit); latency {sim['latency_cycles']} cycles"
    )
    assert line in " ".join(capsys.readouterr().out.split())


def test_compare_fails_on_an_rtl_simulation_mismatch(tmp_path: Path) -> None:
    """The RTL line comes from the bundle's rtl_report.json; a mismatch there fails compare."""
    from types import SimpleNamespace

    from trigkit.runtime.compare import rtl_note

    def bundle(report: dict | None) -> SimpleNamespace:
        if report is not None:
            (tmp_path / "rtl_report.json").write_text(json.dumps(report))
        info = {"rtl_report": "rtl_report.json" if report is not None else None}
        return SimpleNamespace(manifest=SimpleNamespace(target_info=info), file=tmp_path.joinpath)

    sim = {"mismatches": 3, "n_samples": 1000, "latency_cycles": 7, "ii": 1}
    line, ok = rtl_note(bundle({"sim": sim}))  # type: ignore[arg-type]
    assert not ok and "3 of 1000 rows differ" in line and "latency 7 cycles, II 1" in line
    assert rtl_note(bundle({"sim": sim | {"mismatches": 0}}))[1]  # type: ignore[arg-type]
    line, ok = rtl_note(bundle({"sim": None}))  # type: ignore[arg-type]
    assert ok and "not simulated" in line
    line, ok = rtl_note(bundle(None))  # type: ignore[arg-type]
    assert ok and "no RTL in the bundle" in line
