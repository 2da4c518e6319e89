"""Quantized DeepSets taggers (QONNX ``Quant``, Brevitas-style QCDQ, QKeras layouts) keep their
exact fixed-point semantics in the set kinds of the FirmwareNetwork.

References, all independent of trigkit's importer: onnxruntime on the original QCDQ file;
qonnx's executor where qonnx is installed, else a float64 numpy evaluation of the ONNX nodes
(``quant_set_models.numpy_run``, itself checked against onnxruntime here). The real QKeras
models are checked in tests/importers/test_qkeras_sets.py (QKeras venv), the hls4ml C
simulation in tests/compile/test_imported_deepsets_fpga.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.importers import qkeras_set_models as qs
from tests.importers import quant_set_models as qm
from tests.importers import writers
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.fixed import FixedType
from trigkit.importers import firmware_digest, forward, import_model
from trigkit.importers.firmware import to_firmware_network
from trigkit.importers.set_firmware import flat_rows

pytest.importorskip("onnx")
SPECS = {
    "qonnx-mean-8": qm.QuantSpec(),
    "qonnx-sum-8-quantized-sum": qm.QuantSpec(pool="sum", quant_pool=True),
    "qonnx-mean-6-quantized-mean": qm.QuantSpec(n_const=6, quant_pool=True, seed=1),
    "qcdq-mean-10-quantized-mean": qm.QuantSpec("qcdq", n_const=10, quant_pool=True, seed=2),
    "qcdq-sum-8": qm.QuantSpec("qcdq", pool="sum", seed=3),
    "qcdq-clip-mean-8": qm.QuantSpec("qcdq", clip=True, seed=4),
    "qonnx-rows-gemm-mean-8": qm.QuantSpec(rows=True, seed=5),
    "qcdq-rows-gemm-sum-8": qm.QuantSpec("qcdq", pool="sum", rows=True, seed=6),
}


def _rows(n_const: int, n: int = 3000, seed: int = 7) -> np.ndarray:
    """float32-representable rows; scale 2 saturates the 8-bit input type on some of them."""
    x = np.random.default_rng(seed).normal(scale=2.0, size=(n, n_const, qm.N_FEAT))
    return x.astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("name", list(SPECS))
def test_quantized_deepsets_emulation_is_bit_exact(tmp_path: Path, name: str) -> None:
    spec = SPECS[name]
    path = qm.write_quant_deepsets(tmp_path / f"{name}.onnx", spec)
    x = _rows(spec.n_const)
    want = qm.reference(path, x)
    if spec.style == "qcdq":
        pytest.importorskip("onnxruntime")
        assert np.array_equal(writers.ort(path, x), want)  # the file as onnxruntime runs it
    model = import_model(path)
    assert model.input_t == FixedType(8, 4, True, "AP_RND_CONV", "AP_SAT")
    net = to_firmware_network(model, x)
    kinds = [layer.kind for layer in net.layers]
    assert kinds == ["pointwise", "relu", "mean_pool", "dense", "relu", "dense"]
    got = FirmwareEmulator(net).predict(flat_rows(model, x))
    assert np.array_equal(got, want)
    assert np.array_equal(forward(model, x), want)  # the float reference applies the types too
    assert len(np.unique(want)) > 1000  # not trivially equal
    in_t = net.input_t
    assert np.any(np.abs(x) > in_t.max)  # some inputs saturate


def test_quantizer_after_the_pool_pins_its_result(tmp_path: Path) -> None:
    """A non-power-of-two mean cast by the next quantizer: the accumulator keeps enough fraction
    bits that the truncating division rounds like the true mean (see ``pool_types``)."""
    spec = SPECS["qonnx-mean-6-quantized-mean"]
    model = import_model(qm.write_quant_deepsets(tmp_path / "m.onnx", spec))
    net = to_firmware_network(model, _rows(6, 200))
    relu, pool = net.layers[1], net.layers[2]
    assert relu.result_t == FixedType(6, 3, False, "AP_RND_CONV", "AP_SAT")  # Quant(2**-3, 6)
    assert pool.result_t == FixedType(10, 5, False, "AP_RND_CONV", "AP_SAT")  # Quant(2**-5, 10)
    assert pool.accum_t is not None
    # 3 fraction bits in, 5 out: 3 + (5 + 1) + ceil(log2 6) = 12 fraction bits
    assert pool.accum_t.frac == 12 and pool.accum_t.integer == 3 + (6).bit_length()
    path = qm.write_quant_deepsets(tmp_path / "s.onnx", SPECS["qonnx-sum-8-quantized-sum"])
    sum_net = to_firmware_network(import_model(path), _rows(8, 200))
    # the sum's Quant(2**-2, 6 bits) holds the mean 8 times smaller: 3 integer bits fewer
    assert sum_net.layers[2].result_t == FixedType(6, 4 - 3, False, "AP_RND_CONV", "AP_SAT")


def test_numpy_reference_agrees_with_onnxruntime(tmp_path: Path) -> None:
    """The fallback reference (no qonnx) computes what onnxruntime computes on QCDQ files."""
    pytest.importorskip("onnxruntime")
    for name in ("qcdq-mean-10-quantized-mean", "qcdq-sum-8"):
        spec = SPECS[name]
        path = qm.write_quant_deepsets(tmp_path / f"{name}.onnx", spec)
        x = _rows(spec.n_const, 500, seed=9)
        assert np.array_equal(qm.numpy_run(path, x), writers.ort(path, x))


@pytest.mark.parametrize("style, op", [("qonnx", "Quant"), ("qcdq", "DequantizeLinear")])
def test_non_power_of_two_scale_is_one_line_naming_the_node(
    tmp_path: Path, style: str, op: str
) -> None:
    spec = qm.QuantSpec(style, w1_scale=0.03)
    with pytest.raises(TrigkitError) as err:
        import_model(qm.write_quant_deepsets(tmp_path / "bad.onnx", spec))
    msg = str(err.value)
    assert "\n" not in msg
    assert f"node 'phi_w' ({op}): quantizer scale 0.03 is not a power of two" in msg


def _qkeras_h5(tmp_path: Path, edit=None, name: str = "q.h5") -> Path:
    """The QKeras DeepSets file (h5py layout of tf-keras), its config changed by ``edit``."""
    path = qs.write_h5(tmp_path / name, qs.weights())
    if edit is not None:
        with h5py.File(path, "r+") as f:
            cfg = json.loads(f.attrs["model_config"])
            edit(cfg["config"]["layers"])
            f.attrs["model_config"] = json.dumps(cfg)
    return path


def _layer(layers: list[dict], name: str) -> dict:
    return next(la for la in layers if la["config"].get("name") == name)


def test_qkeras_set_layers_map_to_the_set_kinds(tmp_path: Path) -> None:
    model = import_model(_qkeras_h5(tmp_path))
    x = _rows(qs.N_CONST, 300)
    net = to_firmware_network(model, x)
    assert [la.kind for la in net.layers] == [
        "conv1d",
        "relu",
        "pointwise",
        "relu",
        "pointwise",
        "relu",
        "mean_pool",
        "dense",
    ]
    conv, pool = net.layers[0], net.layers[6]
    assert net.layers[4].result_t == FixedType(8, 3, True, "AP_RND_CONV", "AP_SAT")  # q_phi2
    assert (conv.filt_width, conv.pad, conv.n_const) == (3, (1, 1), qs.N_CONST)
    assert conv.weight_t == FixedType(6, 1, True, "AP_RND_CONV", "AP_SAT")
    assert conv.bias_t == FixedType(8, 3, True, "AP_RND_CONV", "AP_SAT")
    assert {net.layers[i].result_t.hls() for i in (1, 3, 5)} == {
        "ap_ufixed<6,2,AP_RND_CONV,AP_SAT>"
    }
    assert pool.result_t == FixedType(10, 3, True, "AP_RND_CONV", "AP_SAT")  # the q_pool cast
    assert net.input_t == FixedType(8, 4, True, "AP_RND_CONV", "AP_SAT")


def test_qconv1d_kernel_1_is_the_per_constituent_qdense(tmp_path: Path) -> None:
    """A QConv1D with kernel 1 and a QDense on the 3-D tensor give one firmware network."""

    def as_conv(layers: list[dict]) -> None:
        phi2 = _layer(layers, "phi2")
        phi2["class_name"] = "QConv1D"
        phi2["config"] |= {"filters": 16, "kernel_size": [1], "padding": "valid"}

    dense = _qkeras_h5(tmp_path)
    conv = _qkeras_h5(tmp_path, as_conv, "c.h5")
    with h5py.File(conv, "r+") as f:  # Keras stores a kernel-1 Conv1D kernel as (1, in, out)
        k = f["model_weights/phi2/phi2/kernel:0"][...]
        del f["model_weights/phi2/phi2/kernel:0"]
        f["model_weights/phi2/phi2/kernel:0"] = k[None]
    x = _rows(qs.N_CONST, 300)
    nets = [to_firmware_network(import_model(p), x) for p in (dense, conv)]
    assert firmware_digest(nets[0]) == firmware_digest(nets[1])


def test_qkeras_set_refusals_name_the_layer(tmp_path: Path) -> None:
    def learned_alpha(layers: list[dict]) -> None:
        _layer(layers, "conv")["config"]["kernel_quantizer"]["config"]["alpha"] = "auto_po2"

    with pytest.raises(TrigkitError, match=r"layer 'conv' \(QConv1D\): quantized_bits\(alpha="):
        import_model(_qkeras_h5(tmp_path, learned_alpha))

    def leaky(layers: list[dict]) -> None:
        _layer(layers, "relu1")["config"]["activation"]["config"]["negative_slope"] = 0.25

    with pytest.raises(TrigkitError, match=r"'relu1' \(QActivation\): quantized_relu\(negative_s"):
        import_model(_qkeras_h5(tmp_path, leaky, "l.h5"))

    def wrap_pool(layers: list[dict]) -> None:
        _layer(layers, "td")["config"]["layer"]["class_name"] = "QConv1D"

    with pytest.raises(TrigkitError, match=r"'td' \(TimeDistributed\): wraps QConv1D .*QDense"):
        import_model(_qkeras_h5(tmp_path, wrap_pool, "t.h5"))


def test_brevitas_clip_of_the_codes_narrows_the_types(tmp_path: Path) -> None:
    """QuantizeLinear -> Clip -> DequantizeLinear: a 6-bit quantizer in 8-bit codes is 6 bits
    wide; float weights quantized in the graph hold their clipped codes exactly."""
    import onnx
    from onnx import numpy_helper

    path = qm.write_quant_deepsets(tmp_path / "c.onnx", SPECS["qcdq-clip-mean-8"])
    net = to_firmware_network(import_model(path), _rows(8, 200))
    fc1, relu1 = net.layers[0], net.layers[1]
    assert relu1.result_t == FixedType(6, 3, False, "AP_RND_CONV", "AP_SAT")  # uint8 [0, 63]
    assert net.layers[4].result_t == FixedType(7, 4, False, "AP_RND_CONV", "AP_SAT")
    assert fc1.weight_t == FixedType(6, 1, True, "AP_RND_CONV", "AP_SAT")  # int8 [-31, 31]
    assert np.max(np.abs(fc1.weight_codes())) == 31  # some weights were clipped
    model = onnx.load(str(path))
    lo = next(t for t in model.graph.initializer if t.name == "phi_q_lo")
    lo.CopyFrom(numpy_helper.from_array(np.array(1, dtype=np.uint8), "phi_q_lo"))
    onnx.save(model, str(path))
    with pytest.raises(TrigkitError) as err:
        import_model(path)
    assert "node 'phi_q_clipped' (Clip): Clip(1, 63) of 8-bit codes has no ap_fixed" in str(
        err.value
    )


def test_unquantized_mean_over_a_non_power_of_two_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The one place a quantized source is not bit-exact: a float mean over 6 constituents."""
    for n_const, warns in ((6, True), (8, False)):
        path = qm.write_quant_deepsets(tmp_path / f"m{n_const}.onnx", qm.QuantSpec(n_const=n_const))
        caplog.clear()
        with caplog.at_level("WARNING", logger="trigkit.importers.firmware"):
            to_firmware_network(import_model(path), _rows(n_const, 100))
        text = caplog.text
        assert ("averages 6 constituents (not a power of two)" in text) == warns, text


def test_compare_runs_a_qonnx_original_in_qonnx(tmp_path: Path) -> None:
    """``trigkit compare`` on a QONNX set model: the original in qonnx's own executor."""
    pytest.importorskip("qonnx")
    pytest.importorskip("onnxruntime")
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu
    from trigkit.runtime.compare import compare_bundle

    spec = SPECS["qonnx-mean-6-quantized-mean"]
    path = qm.write_quant_deepsets(tmp_path / "q.onnx", spec)
    compile_imported_gpu(path, tmp_path / "gpu", ImportOptions())
    np.savez(tmp_path / "rows.npz", in_x=_rows(spec.n_const, 500).astype(np.float32))
    result = compare_bundle(tmp_path / "gpu", tmp_path / "rows.npz", atol=0.0)
    assert "qonnx's executor" in result.original
    diff = next(d for d in result.diffs if d.artifact.startswith("onnxruntime"))
    assert (diff.rows, diff.max_abs, diff.mismatches) == (500, 0.0, 0) and result.ok


def test_reshape_of_a_set_other_than_rows_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    path = qm.write_quant_deepsets(tmp_path / "r.onnx", SPECS["qonnx-rows-gemm-mean-8"])
    model = onnx.load(str(path))
    shape = next(t for t in model.graph.initializer if t.name == "rows_shape")
    flat = np.array([-1, 8 * qm.N_FEAT], dtype=np.int64)  # every constituent in one row
    shape.CopyFrom(numpy_helper.from_array(flat, "rows_shape"))
    onnx.save(model, str(path))
    with pytest.raises(TrigkitError) as err:
        import_model(path)
    msg = str(err.value)
    assert "node 'rows' (Reshape): reshape of a per-constituent tensor to [-1, 32]" in msg
    assert "\n" not in msg


def test_qkeras_layer_without_bias_quantizer_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def float_bias(layers: list[dict]) -> None:
        _layer(layers, "phi2")["config"]["bias_quantizer"] = None

    with caplog.at_level("WARNING", logger="trigkit.importers.keras_import"):
        import_model(_qkeras_h5(tmp_path, float_bias))
    assert "layer 'phi2' (QDense): no bias_quantizer" in caplog.text
    assert caplog.text.count("no bias_quantizer") == 1  # the other layers quantize theirs
