"""Runners: onnxruntime and torch agree with the bundle's reference; the Runner contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trigkit.core.errors import TrigkitError
from trigkit.runtime import load_runner
from trigkit.runtime.backends import RUNNERS


def _softmax_reference(bundle, inputs):
    """Independent float64 reference: the saved model's module, softmax in numpy."""
    from trigkit.models.saved import load_model

    tm = load_model(bundle.file("model.pt"))
    with torch.no_grad():
        z = tm.module.double()(*(torch.from_numpy(v).double() for v in inputs.values())).numpy()
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
@pytest.mark.parametrize("which", ["fp32_bundle", "fp16_bundle"])
def test_backends_match_reference(backend, which, request):
    bundle = request.getfixturevalue(which)
    ins, outs = bundle.reference()
    tol = bundle.manifest.reference_tolerance
    assert tol == {"fp32": 1e-5, "fp16": 1e-2}[bundle.manifest.precision]
    with load_runner(bundle.path, backend=backend) as r:
        got = r.infer(ins)
        one = r.infer({k: v[:1] for k, v in ins.items()})  # batch 1 through the dynamic axis
    assert got.shape == outs["probs"].shape == (256, 3) and got.dtype == np.float32
    assert np.max(np.abs(got - outs["probs"])) <= tol
    assert np.max(np.abs(got - _softmax_reference(bundle, ins))) <= tol
    np.testing.assert_allclose(one, got[:1], atol=tol)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-3)


def test_torch_bf16_and_compile_flags(fp32_bundle):
    ins, outs = fp32_bundle.reference()
    with load_runner(fp32_bundle.path, backend="torch", dtype="bf16") as r:
        got = r.infer(ins)
    assert np.max(np.abs(got - outs["probs"])) < 5e-2  # bf16 has 8 mantissa bits
    with pytest.raises(TrigkitError, match="dtype 'fp64' unknown"):
        load_runner(fp32_bundle.path, backend="torch", dtype="fp64")
    if not torch.cuda.is_available():
        with pytest.raises(TrigkitError, match="CUDA graphs need device='cuda'"):
            load_runner(fp32_bundle.path, backend="torch", cuda_graph_batches=[8]).activate()
        with pytest.raises(TrigkitError, match="no CUDA GPU"):
            load_runner(fp32_bundle.path, backend="torch", device="cuda").activate()


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_bad_inputs_name_the_input(backend, fp32_bundle):
    ins, _ = fp32_bundle.reference()
    with load_runner(fp32_bundle.path, backend=backend) as r:
        with pytest.raises(
            TrigkitError,
            match=r"input 'tracks' shape expected \[batch, 15, 6\], got \[256, 15, 5\]",
        ):
            r.infer({"tracks": ins["tracks"][..., :5], "mask": ins["mask"]})
        with pytest.raises(TrigkitError, match="input 'mask' dtype expected float32, got bool"):
            r.infer({"tracks": ins["tracks"], "mask": ins["mask"].astype(bool)})
        with pytest.raises(TrigkitError, match=r"missing: mask"):
            r.infer({"tracks": ins["tracks"]})
        with pytest.raises(TrigkitError, match=r"unknown: jets"):
            r.infer({**ins, "jets": ins["mask"]})
        with pytest.raises(TrigkitError, match="input 'mask' has batch 10, other inputs have 256"):
            r.infer({"tracks": ins["tracks"], "mask": ins["mask"][:10]})
        with pytest.raises(TrigkitError, match="must be a numpy array"):
            r.infer({"tracks": ins["tracks"].tolist(), "mask": ins["mask"]})
        with pytest.raises(TrigkitError, match=r"\(missing: mask\) \(unknown: jets\)"):
            r.infer({"tracks": ins["tracks"], "jets": ins["mask"]})
        with pytest.raises(
            TrigkitError, match=r"input 'tracks' shape expected \[batch, 15, 6\], got \[256, 90\]"
        ):
            r.infer({"tracks": ins["tracks"].reshape(256, 90), "mask": ins["mask"]})
        assert list(r.validate({"mask": ins["mask"], "tracks": ins["tracks"]})) == [
            "tracks",
            "mask",
        ]  # model order


def test_nan_inputs_rejected_with_count_or_passed(fp32_bundle):
    ins, outs = fp32_bundle.reference()
    bad = {k: v.copy() for k, v in ins.items()}
    bad["tracks"][3, 0, 0] = np.nan
    bad["tracks"][7, 1, 2] = np.inf
    bad["mask"][5, 0] = np.nan
    with load_runner(fp32_bundle.path, backend="onnxruntime") as r:
        with pytest.raises(
            TrigkitError, match=r"3 NaN/Inf input values \(2 in 'tracks', 1 in 'mask'\)"
        ):
            r.infer(bad)
    with load_runner(fp32_bundle.path, backend="onnxruntime", nan_policy="pass") as r:
        got = r.infer(bad)
    clean = [i for i in range(256) if i not in (3, 5, 7)]
    np.testing.assert_allclose(got[clean], outs["probs"][clean], atol=1e-5)
    assert not np.isfinite(got[3]).all()
    with pytest.raises(TrigkitError, match="unknown nan_policy 'drop'"):
        load_runner(fp32_bundle.path, backend="onnxruntime", nan_policy="drop")


def test_lifecycle_and_registry(fp32_bundle):
    r = load_runner(fp32_bundle.path, backend="onnxruntime")
    ins, _ = fp32_bundle.reference()
    with pytest.raises(TrigkitError, match="not active"):
        r.infer(ins)
    with r:
        assert r.is_active
    assert not r.is_active
    with pytest.raises(
        TrigkitError,
        match=(
            "unknown runtime backend 'tensorflow'; valid: onnxruntime, torch, tensorrt, cuda-kernel"
        ),
    ):
        load_runner(fp32_bundle.path, backend="tensorflow")
    names = [row[0] for row in RUNNERS.status()]
    assert names == ["onnxruntime", "torch", "tensorrt", "cuda-kernel"]


def test_corrupt_onnx_is_named(tmp_path, fp32_bundle):
    from trigkit.runtime.backends.onnxrt import OnnxRuntimeRunner

    bad = tmp_path / "broken.onnx"
    bad.write_bytes(fp32_bundle.file("model.onnx").read_bytes()[:300])
    with pytest.raises(TrigkitError, match=r"broken\.onnx: onnxruntime cannot load"):
        OnnxRuntimeRunner(bad, fp32_bundle.manifest.inputs).activate()
    with pytest.raises(TrigkitError, match=r"nothere\.onnx: ONNX file not found"):
        OnnxRuntimeRunner(tmp_path / "nothere.onnx", fp32_bundle.manifest.inputs).activate()


def test_tampered_bundle_refused(fp32_bundle, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(fp32_bundle.path, copy)
    (copy / "model.onnx").write_bytes(b"garbage")
    with pytest.raises(TrigkitError, match="sha256 mismatch for 'model.onnx'"):
        load_runner(copy, backend="onnxruntime")


def test_tensorrt_backend_needs_an_engine(fp32_bundle):
    with pytest.raises(TrigkitError, match="no TensorRT engine"):
        load_runner(fp32_bundle.path, backend="tensorrt")


def test_int8_bundle_not_run_by_torch_by_default(fp32_bundle, tmp_path):
    from trigkit.bundle.manifest import load_bundle

    bundle = load_bundle(fp32_bundle.path)
    from trigkit.runtime.backends import _torch

    bundle.manifest.precision = "int8"  # in memory only: the factory's decision
    with pytest.raises(TrigkitError, match="int8 bundle; torch cannot run its Q/DQ graph"):
        _torch(bundle)
