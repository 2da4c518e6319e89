"""ONNX export: dynamic batch, opset, probabilities, fp32/fp16 agreement with torch; bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.runtime.gpu_helpers import saved_model
from trigkit.compile import onnx_export
from trigkit.compile.fp16 import export_fp16, fp16_overflow_risk
from trigkit.compile.gpu_model import synthetic_inputs
from trigkit.core.errors import TrigkitError


@pytest.fixture(scope="module", params=["btag-deepsets", "l1-mlp"])
def model(request, tmp_path_factory):
    torch.set_num_threads(1)
    return saved_model(request.param, tmp_path_factory.mktemp("m") / "m.pt")


def _float64_probs(model, inputs):
    """Independent reference: the module in float64, softmax in numpy."""
    import copy

    mod = copy.deepcopy(model.module).double()
    with torch.no_grad():
        z = mod(*(torch.from_numpy(inputs[k]).double() for k in model.input_names)).numpy()
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_fp32_export_dynamic_batch_and_tolerance(model, tmp_path):
    onnx = pytest.importorskip("onnx")
    path = onnx_export.export_onnx(model.module, synthetic_inputs(model, 8), tmp_path / "m.onnx")
    m = onnx.load(str(path))
    assert max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in m.graph.input] == list(model.input_names)
    assert [o.name for o in m.graph.output] == ["probs"]
    for t in [*m.graph.input, *m.graph.output]:
        assert t.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert "Softmax" in {n.op_type for n in m.graph.node}
    for n in (1, 37, 300):
        x = synthetic_inputs(model, n, seed=n)
        got = onnx_export.onnx_probabilities(path, x)
        assert got.shape == (n, len(model.class_names))
        assert np.max(np.abs(got - _float64_probs(model, x))) <= onnx_export.TOLERANCE["fp32"]
    x = synthetic_inputs(model, 64, seed=5)
    diff = onnx_export.check_against_torch(path, model.module, x, "fp32")
    assert diff == pytest.approx(
        np.max(
            np.abs(
                onnx_export.onnx_probabilities(path, x)
                - onnx_export.torch_probabilities(model.module, x)
            )
        )
    )


def test_mask_is_honoured(tmp_path):
    """Padded tracks (mask 0) must not change the output, whatever their values."""
    model = saved_model("btag-deepsets", tmp_path / "b.pt")
    x = synthetic_inputs(model, 32, seed=2)
    path = onnx_export.export_onnx(model.module, x, tmp_path / "m.onnx")
    noisy = {k: v.copy() for k, v in x.items()}
    noisy["tracks"] += 5.0 * (1.0 - noisy["mask"])[..., None]
    np.testing.assert_allclose(
        onnx_export.onnx_probabilities(path, noisy),
        onnx_export.onnx_probabilities(path, x),
        atol=1e-6,
    )


def test_fp16_within_stated_tolerance(model, tmp_path):
    x = synthetic_inputs(model, 200, seed=3)
    path = export_fp16(model.module, x, tmp_path / "h.onnx")
    diff = onnx_export.check_against_torch(path, model.module, x, "fp16")
    assert 0 < diff <= onnx_export.TOLERANCE["fp16"]  # really computed in half precision
    import onnx

    types = {i.data_type for i in onnx.load(str(path)).graph.initializer}
    assert onnx.TensorProto.FLOAT16 in types


def test_tolerance_violation_raises(tmp_path):
    model = saved_model("l1-mlp", tmp_path / "l.pt")
    x = synthetic_inputs(model, 16)
    path = onnx_export.export_onnx(model.module, x, tmp_path / "m.onnx")
    other = saved_model("l1-mlp", tmp_path / "l2.pt", seed=7)
    with pytest.raises(TrigkitError, match="disagrees with torch by"):
        onnx_export.check_against_torch(path, other.module, x, "fp32")


def test_corrupt_and_missing_onnx_named(tmp_path):
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(b"\x08\x07garbage-not-protobuf" * 5)
    with pytest.raises(TrigkitError, match=r"corrupt\.onnx: not a valid ONNX model"):
        onnx_export.load_onnx(bad)
    with pytest.raises(TrigkitError, match=r"absent\.onnx: ONNX file not found"):
        onnx_export.load_onnx(tmp_path / "absent.onnx")
    with pytest.raises(TrigkitError, match="opset 13 is too old"):
        onnx_export.export_onnx(
            torch.nn.Linear(2, 2),
            {"x": np.zeros((2, 2), np.float32)},
            tmp_path / "o.onnx",
            opset=13,
        )


def test_fp16_overflow_risk():
    x = {"a": np.array([[1.0, 7.0e4]], np.float32), "b": np.ones((1, 2), np.float32)}
    assert fp16_overflow_risk(x) == ["a"]
