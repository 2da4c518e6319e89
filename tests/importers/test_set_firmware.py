"""DeepSets models -> FirmwareNetwork: one network from every format, emulation against an
independent numpy reference, refusals (no hls4ml needed; the C simulation is in
tests/compile/test_imported_deepsets_fpga.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.importers import set_models as sm
from tests.importers import writers
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork
from trigkit.importers import firmware_digest, forward, import_model
from trigkit.importers.firmware import FIRMWARE_OPS, FirmwareOptions, to_firmware_network
from trigkit.importers.set_firmware import flat_rows, source_rows

pytest.importorskip("onnx")
VARIANTS = {  # name: (conv, pool, act)
    "linear-mean-relu": (False, "mean", "relu"),
    "conv-sum-leaky": (True, "sum", "leaky"),
    "linear-sum-relu6": (False, "sum", "relu6"),
}


def _rows(conv: bool, n: int = 400, seed: int = 0) -> np.ndarray:
    shape = sm.SHAPE[::-1] if conv else sm.SHAPE
    return np.random.default_rng(seed).normal(size=(n, *shape))


def _onnx(tmp_path: Path, conv: bool, pool: str, act: str):
    m = sm.DeepSets(conv, pool, act).eval()
    shape = sm.SHAPE[::-1] if conv else sm.SHAPE
    return import_model(writers.to_onnx(m, tmp_path / "ds.onnx", shape))


def test_same_network_from_onnx_torchscript_pt2_and_keras(tmp_path: Path) -> None:
    m = sm.DeepSets().eval()
    models = [
        import_model(writers.to_onnx(m, tmp_path / "ds.onnx", sm.SHAPE)),
        import_model(writers.to_torchscript(m, tmp_path / "ds.pt"), {"x": sm.SHAPE}),
        import_model(writers.to_pt2(m, tmp_path / "ds.pt2", sm.SHAPE)),
        import_model(sm.write_keras_deepsets(m, tmp_path / "ds.keras")),
    ]
    x = _rows(False)
    nets = [to_firmware_network(model, x) for model in models]
    assert [layer.kind for layer in nets[0].layers] == [
        "pointwise",
        "relu",
        "mean_pool",
        "dense",
        "relu",
        "dense",
    ]
    assert len({firmware_digest(n) for n in nets}) == 1
    assert nets[0].n_inputs == sm.N_CONST * sm.N_FEAT
    assert nets[0].input_names[:5] == ("c0_x0", "c0_x1", "c0_x2", "c0_x3", "c1_x0")


def _round(v: np.ndarray, t: FixedType) -> np.ndarray:
    """An independent float64 ``ap_fixed`` cast (these tests' types: TRN/RND, WRAP/SAT)."""
    s = np.ldexp(v, t.frac)
    c = np.floor(s + 0.5) if t.rounding == "AP_RND" else np.floor(s)
    if t.overflow == "AP_SAT":
        c = np.clip(c, t.min_code, t.max_code)
    else:
        span = 2.0**t.width
        c = np.mod(c - t.min_code, span) + t.min_code
    return np.ldexp(c, -t.frac)


def _numpy_reference(net: FirmwareNetwork, x: np.ndarray) -> np.ndarray:
    """The firmware's semantics written again in float64 numpy (exact for these widths)."""
    h = _round(x, net.input_t)
    for layer in net.layers:
        h = _numpy_layer(layer, h)
    return h


def _numpy_layer(layer: FirmwareLayer, h: np.ndarray) -> np.ndarray:
    k = layer.kind
    if k == "conv1d":
        rows = h.reshape(len(h), layer.n_const, -1)
        padded = np.pad(rows, ((0, 0), layer.pad, (0, 0)))
        n_out = padded.shape[1] - layer.filt_width + 1
        win = np.stack(
            [padded[:, o : o + layer.filt_width].reshape(len(h), -1) for o in range(n_out)], 1
        )
        acc = _round(win @ layer.weight.T + layer.bias, layer.accum_t)  # type: ignore[union-attr,operator,arg-type]
        return _round(acc, layer.result_t).reshape(len(h), -1)
    if k in ("dense", "pointwise"):
        rows = h.reshape(len(h), layer.n_const, -1)
        acc = _round(rows @ layer.weight.T + layer.bias, layer.accum_t)  # type: ignore[union-attr,operator,arg-type]
        return _round(acc, layer.result_t).reshape(len(h), -1)
    if k == "mean_pool":
        acc = layer.accum_t
        assert acc is not None
        total = h.reshape(len(h), layer.n_const, -1).sum(axis=1)  # exact: never overflows
        mean = np.ldexp(np.trunc(np.ldexp(total, acc.frac) / layer.n_const), -acc.frac)
        return _round(mean, layer.result_t)
    if k == "leaky_relu":
        return _round(np.where(h > 0, h, layer.alpha * h), layer.result_t)  # type: ignore[operator]
    if k == "relu6":
        return _round(np.clip(h, 0.0, 6.0), layer.result_t)
    assert k == "relu", k
    return _round(np.maximum(h, 0.0), layer.result_t)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_emulation_equals_numpy_reference_and_float_model(tmp_path: Path, variant: str) -> None:
    conv, pool, act = VARIANTS[variant]
    model = _onnx(tmp_path, conv, pool, act)
    calib = _rows(conv)
    x = _rows(conv, 1000, seed=3) * 1.5  # some rows saturate the input type
    for bits in (8, 16):
        net = to_firmware_network(model, calib, FirmwareOptions(bits=bits, input_bits=bits + 4))
        y = FirmwareEmulator(net).predict(flat_rows(model, x))
        assert np.array_equal(y, _numpy_reference(net, flat_rows(model, x)))
    # against the float model on the rows that set the ranges (nothing saturates): 16-bit
    # firmware is within a few of its output steps
    err = np.abs(FirmwareEmulator(net).predict(flat_rows(model, calib)) - forward(model, calib))
    assert err.max() < 64 * net.output_t.lsb, (err.max(), net.output_t.lsb)


def test_flat_and_source_layouts_round_trip(tmp_path: Path) -> None:
    model = _onnx(tmp_path, True, "sum", "leaky")  # channels first: [B, F, N]
    x = _rows(True, 5)
    flat = flat_rows(model, x)
    assert flat.shape == (5, sm.N_CONST * sm.N_FEAT)
    assert flat[0, 1] == x[0, 1, 0]  # constituent 0, feature 1
    assert np.array_equal(source_rows(model, flat), x)


def test_sum_pool_over_a_non_power_of_two_is_refused(tmp_path: Path) -> None:
    m = sm.DeepSets(False, "sum").eval()
    model = import_model(writers.to_onnx(m, tmp_path / "ds.onnx", (10, sm.N_FEAT)))
    x = np.random.default_rng(0).normal(size=(50, 10, sm.N_FEAT))
    with pytest.raises(TrigkitError, match=r"sum_pool over 10 constituents.*power-of-two"):
        to_firmware_network(model, x)


def test_unsupported_layer_names_itself_and_the_supported_list(tmp_path: Path) -> None:
    from torch import nn

    m = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 2)).eval()
    model = import_model(writers.to_onnx(m, tmp_path / "s.onnx", (4,)))
    with pytest.raises(TrigkitError) as err:
        to_firmware_network(model, np.zeros((10, 4)))
    msg = str(err.value)
    assert "sigmoid before the last layer" in msg and "layer '" in msg
    assert ", ".join(FIRMWARE_OPS) in msg and "mean_pool" in msg and "leaky_relu" in msg


def test_set_network_json_round_trip_and_validation(tmp_path: Path) -> None:
    model = _onnx(tmp_path, True, "sum", "leaky")
    net = to_firmware_network(model, _rows(True))
    again = FirmwareNetwork.from_json(net.to_json())
    assert firmware_digest(again) == firmware_digest(net)
    lrelu = next(layer for layer in net.layers if layer.kind == "leaky_relu")
    assert lrelu.alpha is not None and abs(lrelu.alpha - 0.1) < 2 * lrelu.param_t.lsb  # type: ignore[union-attr]
    with pytest.raises(TrigkitError, match="not a value of param_t"):
        FirmwareLayer("l", "leaky_relu", 4, 4, FixedType(8, 3), alpha=0.1, param_t=FixedType(8, 1))
    with pytest.raises(TrigkitError, match="mean_pool takes n_const x n_out"):
        FirmwareLayer("p", "mean_pool", 24, 4, FixedType(8, 3), accum_t=FixedType(20, 8), n_const=8)


def test_conv1d_kernel_3_from_onnx_torchscript_keras(tmp_path: Path) -> None:
    m = sm.ConvTagger().eval()
    shape = sm.SHAPE[::-1]  # torch: [B, F, N]
    onnx_path = writers.to_onnx(m, tmp_path / "c.onnx", shape)
    models = [
        import_model(onnx_path),
        import_model(writers.to_torchscript(m, tmp_path / "c.pt"), {"x": shape}),
        import_model(sm.write_keras_conv(m, tmp_path / "c.keras")),
    ]
    x_cf = _rows(True, 300, seed=4)
    assert np.max(np.abs(forward(models[0], x_cf) - writers.ort(onnx_path, x_cf))) < 1e-5
    x_cl = np.swapaxes(x_cf, 1, 2)  # the same rows channels last, for Keras
    assert np.max(np.abs(forward(models[2], x_cl) - writers.ort(onnx_path, x_cf))) < 1e-5
    nets = [to_firmware_network(mm, xx) for mm, xx in zip(models, [x_cf, x_cf, x_cl], strict=True)]
    assert len({firmware_digest(n) for n in nets}) == 1
    conv = nets[0].layers[0]
    assert (conv.kind, conv.filt_width, conv.pad, conv.n_out) == ("conv1d", 3, (1, 1), 8 * 8)
    flat = flat_rows(models[0], x_cf * 1.5)
    y = FirmwareEmulator(nets[0]).predict(flat)
    assert np.array_equal(y, _numpy_reference(nets[0], flat))
    # 'valid' padding: 6 output positions feed the pool
    valid = import_model(writers.to_onnx(sm.ConvTagger(0).eval(), tmp_path / "v.onnx", shape))
    net = to_firmware_network(valid, x_cf)
    assert net.layers[0].pad == (0, 0) and net.layers[2].n_const == sm.N_CONST - 2
    assert np.array_equal(FirmwareEmulator(net).predict(flat), _numpy_reference(net, flat))


def test_keras_set_models_rebuild_as_onnx_for_the_gpu(tmp_path: Path) -> None:
    from trigkit.importers.onnx_build import build_onnx

    for name, model in (
        ("ds", import_model(sm.write_keras_deepsets(sm.DeepSets().eval(), tmp_path / "d.keras"))),
        ("conv", import_model(sm.write_keras_conv(sm.ConvTagger().eval(), tmp_path / "c.keras"))),
    ):
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(build_onnx(model))
        x = _rows(False, 200, seed=5)
        assert np.max(np.abs(writers.ort(path, x) - forward(model, x))) < 1e-5


def test_strided_conv_is_refused_naming_the_node(tmp_path: Path) -> None:
    from torch import nn

    m = nn.Sequential(nn.Conv1d(4, 8, 3, stride=2)).eval()
    path = writers.to_onnx(m, tmp_path / "s.onnx", (4, 8))
    with pytest.raises(TrigkitError, match=r"node '.*' \(Conv\): Conv1D kernel 3.*strides \[2"):
        import_model(path)


def test_width_scan_runs_on_set_models(tmp_path: Path) -> None:
    from trigkit.compile.imported_scan import scan_widths

    model = _onnx(tmp_path, True, "sum", "leaky")
    x = _rows(True, 300, seed=6)
    costs = scan_widths(model, x, None, (6, 14))
    err = {c.bits: c.max_abs_diff for c in costs}
    for bits, got in err.items():  # recomputed here from the emulation and the float model
        net = to_firmware_network(model, x, FirmwareOptions(bits=bits))
        y = FirmwareEmulator(net).predict(flat_rows(model, x))
        assert got == float(np.max(np.abs(y - forward(model, x))))
    assert err[14] < err[6]
