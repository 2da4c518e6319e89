"""`--layer-precision` files: parsing errors, and the pins on a trigkit model's QAT network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.compile.test_target_fpga import _tools_or_skip, saved_model  # noqa: F401 - fixture
from trigkit.compile.layer_pins import read_layer_pins
from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import FixedType


def test_read_layer_pins(tmp_path: Path) -> None:
    path = tmp_path / "pins.yaml"
    path.write_text("layers:\n  fc1: {weight: 'ap_fixed<6,1>', reuse_factor: 4}\n")
    pins = read_layer_pins(path)
    assert pins["fc1"].weight == "ap_fixed<6,1>" and pins["fc1"].reuse_factor == 4
    path.write_text("layers:\n  fc1: {wieght: 'ap_fixed<6,1>'}\n")
    with pytest.raises(TrigkitError, match=r"pins.yaml: .*wieght.*Extra inputs are not permitted"):
        read_layer_pins(path)
    path.write_text("layers:\n  fc2: {result: 'fixed<6,1>'}\n")
    with pytest.raises(TrigkitError, match=r"pins.yaml: layers.fc2.result: cannot parse"):
        read_layer_pins(path)


def test_gpu_target_refuses_layer_precision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.importers import writers
    from trigkit.cli.app import main

    pytest.importorskip("onnx")
    src = writers.to_onnx(writers.mlp((4, 3)), tmp_path / "m.onnx", (4,))
    (tmp_path / "p.yaml").write_text("layers: {}\n")
    args = ["compile", str(src), "--target", "gpu", "--out", str(tmp_path / "b")]
    assert main([*args, "--layer-precision", str(tmp_path / "p.yaml")]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --layer-precision: per-layer fixed-point types are for --target fpga"
    ]


@pytest.mark.fpga_tools
def test_pins_reach_a_trigkit_model_network(saved_model: Path, tmp_path: Path) -> None:  # noqa: F811
    _tools_or_skip()
    from trigkit.bundle.manifest import load_bundle
    from trigkit.compile.qat_config import LayerQuant, QATConfig
    from trigkit.compile.targets.fpga import FpgaCompileConfig, compile_fpga
    from trigkit.fixedpoint.network import FirmwareNetwork

    pins = {"fc2": LayerQuant(weight="ap_fixed<5,1,AP_RND_CONV,AP_SAT>", reuse_factor=2)}
    cfg = FpgaCompileConfig(qat=QATConfig(bits=8), layer_pins=pins, n_reference=40)
    bundle = load_bundle(compile_fpga(saved_model, tmp_path / "b", config=cfg).path)
    net = FirmwareNetwork.from_json(bundle.manifest.target_info["network"])
    by = {layer.name: layer for layer in net.layers}
    assert by["fc2"].weight_t == FixedType.parse("ap_fixed<5,1,AP_RND_CONV,AP_SAT>")
    assert by["fc2"].reuse_factor == 2 and by["fc1"].weight_t.width == 8  # type: ignore[union-attr]
    w = by["fc2"].weight
    assert np.all(np.abs(w) <= 1.0) and np.array_equal(w * 16, np.rint(w * 16))  # on the grid
    assert bundle.manifest.target_info["reference_mismatches"] == 0  # numba == hls4ml C-sim
    bad = FpgaCompileConfig(layer_pins={"fc7": LayerQuant(weight="ap_fixed<5,1>")})
    with pytest.raises(TrigkitError, match="layer 'fc7' is not a dense layer.*valid: fc1, fc2"):
        compile_fpga(saved_model, tmp_path / "c", config=bad)


def test_pinned_weight_on_a_quantized_source_keeps_the_result_exact(tmp_path: Path) -> None:
    """A QCDQ model's dense results are its exact accumulators; pinning fc2's weights to a
    coarser type re-quantizes them from the float values and the result follows the new exact
    accumulator. Reference: the quantized function written out in numpy here."""
    from tests.importers.test_quantized import _qcdq
    from trigkit.compile.layer_pins import apply_pins
    from trigkit.compile.qat_config import LayerQuant
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.importers import import_model
    from trigkit.importers.firmware import to_firmware_network

    pytest.importorskip("onnx")
    model = import_model(_qcdq(tmp_path))
    x = np.random.default_rng(3).normal(scale=3.0, size=(500, 6))
    net = to_firmware_network(model, x)
    pins = {"fc2": LayerQuant(weight="ap_fixed<6,2,AP_RND_CONV,AP_SAT>")}
    pinned = apply_pins(net, model, pins, "test")
    fc2 = {layer.name: layer for layer in pinned.layers}["fc2"]
    assert fc2.result_t == fc2.accum_t and fc2.accum_t.frac == 9  # type: ignore[union-attr]
    w1, b1 = model.ops[0].weight, model.ops[0].bias
    w2 = np.clip(np.rint(model.ops[2].weight * 16), -32, 31) / 16  # type: ignore[operator]
    h = np.clip(np.rint(x * 16), -128, 127) / 16
    h = np.clip(np.rint(np.maximum(h @ w1.T + b1, 0) * 8), 0, 255) / 8  # type: ignore[union-attr]
    want = h @ w2.T + model.ops[2].bias
    got = FirmwareEmulator(pinned).predict(x)
    assert np.array_equal(got, want)
    assert not np.array_equal(FirmwareEmulator(net).predict(x), want)  # the pin changed it
