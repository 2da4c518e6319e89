"""INT8 Q/DQ: onnxruntime's quantizer configured for TensorRT; AUC held within 0.5 %."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tests.runtime.gpu_helpers import saved_model, toy_labels
from trigkit.compile import int8, onnx_export
from trigkit.compile.gpu_model import synthetic_inputs
from trigkit.core.errors import TrigkitError

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("int8")
    model = saved_model("btag-deepsets", d / "b.pt")
    x = synthetic_inputs(model, 3000, seed=11)
    y = toy_labels(model, x)
    fp32 = onnx_export.export_onnx(model.module, x, d / "f.onnx")
    return model, x, y, fp32, d


@pytest.mark.parametrize(
    ("calibration", "bins"), [("max", 2048), ("percentile", 2048), ("entropy", 512)]
)
def test_qdq_graph_and_auc(setup, calibration, bins):
    model, x, y, fp32, d = setup
    out = d / f"q_{calibration}.onnx"
    cfg = int8.Int8Config(calibration=calibration, histogram_bins=bins, max_rows=2000)
    int8.quantize_int8(fp32, out, x, cfg)
    summary = int8.check_qdq(out)
    assert summary.quantize_nodes > 0 and summary.dequantize_nodes >= summary.quantize_nodes
    assert {"MatMul", "Gemm"} <= set(summary.quantized_ops)
    _every_matmul_fed_by_dq(out)
    p_f = onnx_export.onnx_probabilities(fp32, x)
    p_q = onnx_export.onnx_probabilities(out, x)
    chk = int8.compare_auc(p_f, p_q, y)
    assert chk.auc_float > 0.7  # a meaningful ranking to compare
    assert abs(chk.auc_change) <= int8.AUC_TOLERANCE
    assert 0 < chk.max_abs_diff <= onnx_export.TOLERANCE["int8"]  # it really is quantized


def _every_matmul_fed_by_dq(path):
    """Both operands of every MatMul/Gemm but the first and last (kept float by default) come out
    of a DequantizeLinear; biases stay float."""
    import onnx

    m = onnx.load(str(path))
    dq = {o for n in m.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    mm = [n for n in m.graph.node if n.op_type in ("MatMul", "Gemm")]
    assert len(mm) == 6
    assert mm[0].input[1] not in dq and mm[-1].input[1] not in dq
    for n in mm[1:-1]:
        assert n.input[0] in dq and n.input[1] in dq, n.name
        if n.op_type == "Gemm":
            assert n.input[2] not in dq  # QuantizeBias=False


def test_zero_points_and_axes(setup):
    import onnx
    from onnx import numpy_helper

    model, x, _, fp32, d = setup
    out = int8.quantize_int8(
        fp32, d / "q.onnx", x, int8.Int8Config(calibration="max", max_rows=500)
    )
    m = onnx.load(str(out))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    weights = 0
    for node in m.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            zp = inits[node.input[2]]
            assert zp.dtype == np.int8 and not zp.any()
            scale = inits[node.input[1]]
            if scale.ndim == 1:  # per-channel weights: one scale per output channel
                weights += 1
                q = inits[node.input[0]]
                axis = {a.name: a.i for a in node.attribute}["axis"]
                assert q.dtype == np.int8 and q.shape[axis] == scale.shape[0]
                assert q.shape[axis] in (64, 32, 3)  # the output widths of phi / rho layers
    assert weights == 4  # 3 phi MatMuls + 3 rho Gemms, minus the float first and last layer


def test_all_layers_quantized_on_request(setup, tmp_path):
    _, x, _, fp32, _ = setup
    out = int8.quantize_int8(
        fp32,
        tmp_path / "q.onnx",
        x,
        int8.Int8Config(calibration="max", max_rows=500, float_layers="none"),
    )
    import onnx

    m = onnx.load(str(out))
    dq = {o for n in m.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    assert all(n.input[1] in dq for n in m.graph.node if n.op_type in ("MatMul", "Gemm"))
    with pytest.raises(TrigkitError, match="float_layers 'all' unknown"):
        int8.Int8Config(float_layers="all")  # type: ignore[arg-type]


def test_check_qdq_rejects_asymmetric(setup, tmp_path):
    import onnx
    from onnx import numpy_helper

    _, x, _, fp32, d = setup
    out = int8.quantize_int8(
        fp32, tmp_path / "q.onnx", x, int8.Int8Config(calibration="max", max_rows=500)
    )
    m = onnx.load(str(out))
    for init in m.graph.initializer:
        if init.name.endswith("zero_point") and not numpy_helper.to_array(init).shape:
            init.CopyFrom(numpy_helper.from_array(np.array(3, np.int8), init.name))
            break
    onnx.save(m, str(tmp_path / "asym.onnx"))
    with pytest.raises(TrigkitError, match="TensorRT needs symmetric int8"):
        int8.check_qdq(tmp_path / "asym.onnx")
    with pytest.raises(TrigkitError, match="no QuantizeLinear"):
        int8.check_qdq(fp32)


def test_config_and_empty_calibration(setup, tmp_path):
    _, x, _, fp32, _ = setup
    with pytest.raises(TrigkitError, match="unknown INT8 calibration 'kl'"):
        int8.Int8Config(calibration="kl")  # type: ignore[arg-type]
    with pytest.raises(TrigkitError, match="at least one calibration row"):
        int8.quantize_int8(fp32, tmp_path / "q.onnx", {k: v[:0] for k, v in x.items()})


def test_auc_matches_pair_count():
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=60), 1)  # ties on purpose
    y = rng.random(60) < 0.4
    pairs = [(a, b) for a, b in itertools.product(s[y], s[~y])]
    brute = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / len(pairs)
    assert int8.auc(s, y) == pytest.approx(brute, abs=1e-12)
    with pytest.raises(TrigkitError, match="needs signal and background"):
        int8.auc(s, np.ones(60, bool))


def test_discriminant_is_d_b():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    want = np.log(p[:, 0] / (0.05 * p[:, 1] + 0.95 * p[:, 2]))
    np.testing.assert_allclose(int8.discriminant(p), want)
