"""`gpu` target: bundles for fp32 / fp16 / int8, TensorRT engines (TensorRT-RTX builds without a
GPU), engine compatibility checks, calibration inputs, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.runtime.gpu_helpers import save_untrained, saved_model, toy_labels
from trigkit.compile import onnx_export
from trigkit.compile.gpu_model import synthetic_inputs
from trigkit.compile.targets import TARGETS, compile_gpu_any
from trigkit.compile.targets.gpu import compile_gpu, read_target_info
from trigkit.core.errors import TrigkitError


def _have_trt() -> bool:
    from trigkit.compile.tensorrt_build import probe

    return probe()[0]


needs_trt = pytest.mark.skipif(
    not _have_trt(), reason="no TensorRT / TensorRT-RTX library installed"
)


@pytest.fixture(scope="module")
def btag(tmp_path_factory):
    torch.set_num_threads(1)
    return save_untrained("btag-deepsets", tmp_path_factory.mktemp("m") / "btag.pt")


@pytest.fixture(scope="module")
def calib_npz(btag, tmp_path_factory):
    model = saved_model("btag-deepsets", tmp_path_factory.mktemp("c") / "copy.pt")
    x = synthetic_inputs(model, 1024, seed=4)
    path = tmp_path_factory.mktemp("c") / "calib.npz"
    np.savez(path, labels=toy_labels(model, x), **{f"in_{k}": v for k, v in x.items()})
    return path


@pytest.fixture(scope="module")
def bundles(btag, calib_npz, tmp_path_factory):
    d = tmp_path_factory.mktemp("bundles")
    out = {}
    for prec in ("fp32", "fp16", "int8"):
        kw = {"calib_events": calib_npz, "calibration": "max"} if prec == "int8" else {}
        out[prec] = compile_gpu(
            btag, d / prec, precision=prec, min_batch=1, opt_batch=256, max_batch=8192, **kw
        )
    return out


def test_registered_target():
    assert "gpu" in TARGETS.names()
    assert TARGETS.entry("gpu").factory is compile_gpu_any  # trigkit or foreign model files


@pytest.mark.parametrize("prec", ["fp32", "fp16", "int8"])
def test_bundle_contents(bundles, prec, btag):
    b = bundles[prec]
    m = b.manifest
    assert (m.target, m.precision, m.model_name) == ("gpu", prec, "btag-deepsets")
    assert [(s.name, s.shape, s.dtype) for s in m.inputs] == [
        ("tracks", (-1, 15, 6), "float32"),
        ("mask", (-1, 15), "float32"),
    ]
    assert m.outputs[0].shape == (-1, 3) and m.outputs[0].features == ("b", "c", "light")
    assert {"model.onnx", "reference.npz", "model.pt", "manifest.json"} - {"manifest.json"} <= set(
        m.files
    )
    info = read_target_info(b)
    assert info.onnx_opset >= 17 and info.batch_profile == (1, 256, 8192)
    assert "softmax" in info.output_semantics
    if prec != "int8":  # int8: the bound is on the 99th percentile (test below)
        assert info.max_abs_diff_vs_torch <= info.tolerance_vs_torch
    ins, outs = b.reference()
    assert ins["tracks"].shape == (256, 15, 6) and outs["probs"].shape == (256, 3)
    # reference outputs are what onnxruntime gives for the bundle's graph
    got = onnx_export.onnx_probabilities(b.file("model.onnx"), ins)
    np.testing.assert_array_equal(got, outs["probs"])
    # and they are close to torch on the original file (independently loaded)
    ref = onnx_export.torch_probabilities(saved_model("btag-deepsets", btag).module, ins)
    assert np.max(np.abs(ref - outs["probs"])) <= onnx_export.TOLERANCE[prec]
    layers = {layer.name: layer for layer in m.layers}
    assert len(layers) == 6
    assert ("int8" in layers["phi.0"].precision["weight"]) == (prec == "int8")


def test_int8_records_calibration_and_auc(bundles, calib_npz):
    info = read_target_info(bundles["int8"]).int8
    assert info is not None and info.calibration == "max"
    assert info.calibration_source == str(calib_npz) and info.calibration_rows == 1024
    assert abs(info.auc_relative_change) <= info.auc_tolerance == 0.005
    assert info.auc_relative_change == pytest.approx(
        (info.auc_int8 - info.auc_float) / info.auc_float
    )
    assert 0 < info.p99_abs_diff_vs_float <= info.max_abs_diff_vs_float
    assert info.p99_abs_diff_vs_float <= onnx_export.TOLERANCE["int8"]


@needs_trt
@pytest.mark.parametrize("prec", ["fp32", "fp16", "int8"])
def test_engine_built_and_recorded(bundles, prec):
    from trigkit.compile.tensorrt_build import current_gpu, import_tensorrt

    b = bundles[prec]
    info = read_target_info(b).tensorrt
    assert info is not None and b.manifest.backend == "tensorrt"
    trt = import_tensorrt()
    assert info.version == trt.__version__ and info.gpu_name == current_gpu()[0]
    assert (info.min_batch, info.opt_batch, info.max_batch) == (1, 256, 8192)
    assert b.file("model.engine").stat().st_size == info.engine_bytes > 1000


@needs_trt
def test_attention_int8_graph_parsed_by_tensorrt(tmp_path):
    """GN2-lite: Q/DQ only on MatMul/Gemm; a TensorRT parser accepts and builds it."""
    from trigkit.compile import int8, tensorrt_build

    model = saved_model("btag-gn2lite", tmp_path / "gn2.pt")
    x = synthetic_inputs(model, 256, seed=1)
    fp32 = onnx_export.export_onnx(model.module, x, tmp_path / "f.onnx")
    q = int8.quantize_int8(fp32, tmp_path / "q.onnx", x, int8.Int8Config(calibration="max"))
    assert "MatMul" in int8.check_qdq(q).quantized_ops
    info = tensorrt_build.build_engine(
        q,
        tmp_path / "q.engine",
        model.input_specs(),
        precision="int8",
        opt_batch=64,
        max_batch=1024,
        timing_cache=tmp_path / "t.cache",
    )
    assert info.engine_bytes > 0 and (tmp_path / "t.cache").stat().st_size > 0


@needs_trt
def test_engine_from_other_version_or_gpu_refused(bundles):
    from trigkit.compile.tensorrt_build import check_engine_compatible

    info = read_target_info(bundles["fp32"]).tensorrt
    other = info.model_copy(update={"version": "9.9.9"})
    with pytest.raises(TrigkitError, match=r"built with .* 9\.9\.9, this machine has .*rebuild"):
        check_engine_compatible(other, bundles["fp32"].file("model.engine"))
    other = info.model_copy(update={"gpu_name": "NVIDIA H100 80GB HBM3"})
    with pytest.raises(
        TrigkitError, match="built for GPU 'NVIDIA H100 80GB HBM3', this machine has"
    ):
        check_engine_compatible(other, bundles["fp32"].file("model.engine"))


@needs_trt
def test_tensorrt_parser_rejects_garbage(tmp_path):
    from trigkit.compile.tensorrt_build import parse_onnx

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(TrigkitError, match=r"bad\.onnx: tensorrt.* ONNX parser rejected"):
        parse_onnx(bad)


def test_bad_options(btag, tmp_path):
    with pytest.raises(TrigkitError, match="unknown GPU precision 'int4'"):
        compile_gpu(btag, tmp_path / "x", precision="int4")
    with pytest.raises(TrigkitError, match="INT8 needs calibration data"):
        compile_gpu(btag, tmp_path / "x", precision="int8")
    with pytest.raises(TrigkitError, match="1 <= min <= opt <= max"):
        compile_gpu(btag, tmp_path / "x", min_batch=64, opt_batch=8)
    with pytest.raises(TrigkitError, match="model file not found"):
        compile_gpu(tmp_path / "none.pt", tmp_path / "x")
    npz = tmp_path / "wrong.npz"
    np.savez(npz, in_tracks=np.zeros((4, 15, 5), np.float32), in_mask=np.zeros((4, 15), np.float32))
    with pytest.raises(TrigkitError, match=r"'in_tracks' rows have shape \[15, 5\]"):
        compile_gpu(btag, tmp_path / "x", calib_events=npz)
    assert not (tmp_path / "x").exists()


def test_cli_compile_gpu(btag, tmp_path):
    from trigkit.cli.app import main

    out = tmp_path / "cli"
    assert (
        main(
            [
                "compile",
                str(btag),
                "--target",
                "gpu",
                "--precision",
                "fp16",
                "--out",
                str(out),
                "--max-batch",
                "1024",
            ]
        )
        == 0
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["precision"] == "fp16" and manifest["target_info"]["batch_profile"] == [
        1,
        1024,
        1024,
    ]


@needs_trt
def test_triton_repository_with_engine(bundles, tmp_path):
    from trigkit.compile.targets.gpu import read_target_info
    from trigkit.runtime.triton import TritonOptions, export_triton

    b = bundles["fp16"]
    dest = export_triton(b.path, tmp_path / "repo")
    text = (dest / "config.pbtxt").read_text()
    if read_target_info(b).tensorrt.library == "tensorrt":
        assert (dest / "1" / "model.plan").read_bytes() == b.file("model.engine").read_bytes()
        assert 'platform: "tensorrt_plan"' in text and "max_batch_size: 8192" in text
        with pytest.raises(TrigkitError, match="exceeds the engine's profile maximum 8192"):
            export_triton(b.path, tmp_path / "repo2", TritonOptions(max_batch_size=10000))
    else:  # a TensorRT-RTX engine is not a plan Triton's (standard TensorRT) backend can load
        assert not (dest / "1" / "model.plan").exists() and (dest / "1" / "model.onnx").is_file()
        assert 'platform: "onnxruntime_onnx"' in text
        with pytest.raises(TrigkitError, match="tensorrt_plan backend cannot load"):
            export_triton(b.path, tmp_path / "repo2", TritonOptions(backend="tensorrt"))


@needs_trt
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU refusal")
def test_tensorrt_runner_without_gpu_says_so(bundles):
    from trigkit.runtime import load_runner

    runner = load_runner(bundles["fp32"].path, backend="tensorrt")
    with pytest.raises(TrigkitError, match="needs a CUDA GPU"):
        runner.activate()
