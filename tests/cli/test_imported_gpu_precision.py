"""FP16 and INT8 gpu bundles of an imported ONNX model where TensorRT is absent.

The bundle must say what it holds and what it lacks (the engine, with the reason) and the CLI
must print it; `trigkit compare`, `trigkit report` and `trigkit bench gpu --bundle` then run on
the bundle unchanged. References are computed here with onnxruntime on the original file and on
the bundle's graph.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.importers import writers
from trigkit.bundle.manifest import Bundle, load_bundle
from trigkit.cli.app import main

NO_TRT = "tensorrt: not installed (pip install 'trigkit[gpu]')"


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")


def _no_tensorrt(mp: pytest.MonkeyPatch) -> None:
    from trigkit.compile import tensorrt_build

    mp.setattr(tensorrt_build, "probe", lambda: (False, NO_TRT))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """fp16 and int8 bundles of one 8-16-16-4 ONNX MLP, and what `compile` printed."""
    pytest.importorskip("onnxruntime")
    d = tmp_path_factory.mktemp("prec")
    src = writers.to_onnx(writers.mlp((8, 16, 16, 4)), d / "m.onnx", (8,))
    calib = d / "calib.npz"
    np.savez(calib, in_x=np.random.default_rng(0).normal(size=(400, 8)))
    out: dict[str, object] = {"source": src}
    with pytest.MonkeyPatch.context() as mp:
        _no_tensorrt(mp)
        for prec, extra in (("fp16", []), ("int8", ["--calib-data", str(calib)])):
            path = d / prec
            log = d / f"{prec}.txt"
            args = ["compile", str(src), "--target", "gpu", "--out", str(path), "--precision"]
            out[f"{prec}_rc"] = _run_logged([*args, prec, *extra], log)
            out[prec], out[f"{prec}_log"] = path, log.read_text()
    return out


def _run_logged(args: list[str], log: Path) -> int:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(args)
    log.write_text(buf.getvalue())
    return rc


def _bundle(built: dict[str, object], prec: str) -> Bundle:
    assert built[f"{prec}_rc"] == 0, built[f"{prec}_log"]
    return load_bundle(built[prec], target="gpu")  # type: ignore[arg-type]


@pytest.mark.parametrize("prec", ["fp16", "int8"])
def test_bundle_records_what_was_and_was_not_built(built: dict[str, object], prec: str) -> None:
    b = _bundle(built, prec)
    m = b.manifest
    assert m.precision == prec and m.backend == "onnxruntime"
    assert "model.engine" not in m.files and not (b.path / "model.engine").exists()
    info = m.target_info
    assert info["tensorrt"] is None and info["tensorrt_skipped"] == NO_TRT
    imported = info["imported"]
    assert imported["not_built"] == {"model.engine": f"TensorRT {prec} engine: {NO_TRT}"}
    assert set(imported["artifacts"]) == set(m.files)
    line = f"not built: model.engine (TensorRT {prec} engine: {NO_TRT}); runners use model.onnx"
    assert line in " ".join(str(built[f"{prec}_log"]).split())


def test_fp16_graph_is_fp16_typed_and_close_to_the_original(built: dict[str, object]) -> None:
    import onnx

    b = _bundle(built, "fp16")
    graph = onnx.load(str(b.file("model.onnx"))).graph
    assert {t.data_type for t in graph.initializer} == {onnx.TensorProto.FLOAT16}
    assert [n.op_type for n in graph.node][0] == "Cast" == [n.op_type for n in graph.node][-1]
    ins, outs = b.reference()
    want = writers.ort(built["source"], ins["x"])  # type: ignore[arg-type]
    err = np.abs(outs["probs"] - want)
    assert 0 < err.max() <= 1e-2  # fp16 moves the outputs, within the bundle's tolerance
    assert b.manifest.reference_tolerance == 1e-2
    vs_float = b.manifest.target_info["imported"]["max_abs_diff_vs_float"]
    assert vs_float == pytest.approx(err.max(), abs=2e-7)  # float32 ORT vs float64 reference


def _max_abs_row(text: str, artifact: str) -> str:
    row = next(line for line in text.splitlines() if artifact in line)
    return [c.strip() for c in re.split(r"[│|]", row) if c.strip()][3]


@pytest.mark.parametrize("prec", ["fp16", "int8"])
def test_compare_runs_on_the_bundle(
    built: dict[str, object], prec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    b = _bundle(built, prec)
    ins, _ = b.reference()
    got = writers.ort(b.file("model.onnx"), ins["x"])
    want = writers.ort(built["source"], ins["x"])  # type: ignore[arg-type]
    capsys.readouterr()
    assert main(["compare", str(b.path)]) == 0
    text = capsys.readouterr().out
    assert _max_abs_row(text, "onnxruntime (model.onnx)") == f"{np.max(np.abs(got - want)):.3g}"
    assert "OK: every artifact agrees" in text


@pytest.mark.parametrize("prec", ["fp16", "int8"])
def test_report_shows_the_record(
    built: dict[str, object], prec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    b = _bundle(built, prec)
    capsys.readouterr()
    assert main(["report", str(b.path)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"precision │ {prec}" in text and "backend │ onnxruntime" in text
    assert f"not built model.engine │ TensorRT {prec} engine: {NO_TRT}" in text


@pytest.mark.parametrize("prec", ["fp16", "int8"])
def test_bench_gpu_bundle_times_it(
    built: dict[str, object], prec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = _bundle(built, prec)
    args = ["bench", "gpu", "--bundle", str(b.path), "--batches", "1,8"]
    assert main([*args, "--repeats", "3", "--warmup", "0", "--out", str(tmp_path)]) == 0
    rec = json.loads((tmp_path / "bench_bundle.json").read_text())
    assert rec["target"] == "gpu" and rec["backend"] == "onnxruntime"
    assert [s["batch"] for s in rec["batches"]] == [1, 8]
    assert all(len(s["times_us"]) == 3 for s in rec["batches"])
    ins, outs = b.reference()
    want = float(np.max(np.abs(writers.ort(b.file("model.onnx"), ins["x"]) - outs["probs"])))
    assert rec["max_abs_diff_vs_reference"] == pytest.approx(want, abs=1e-7)
    for s in rec["batches"]:
        assert s["p50_us"] == pytest.approx(float(np.percentile(s["times_us"], 50)))


def test_bench_gpu_bundle_refuses_an_fpga_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trigkit.bundle.manifest import new_manifest, write_bundle

    m = new_manifest(
        target="fpga", backend="hls4ml-vitis", model_name="x", precision="p", inputs=[], outputs=[]
    )
    with write_bundle(tmp_path / "fw", m):
        pass
    args = ["bench", "gpu", "--bundle", str(tmp_path / "fw"), "--out", str(tmp_path)]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: --bundle {tmp_path / 'fw'}: a fpga bundle; `bench gpu` takes gpu bundles "
        "(time any bundle with `trigkit bench bundle`)"
    ]


def test_fp16_refused_for_a_quantized_graph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.importers.test_quantized import _qcdq

    src = _qcdq(tmp_path)
    args = ["compile", str(src), "--target", "gpu", "--out", str(tmp_path / "b")]
    assert main([*args, "--precision", "fp16"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--precision fp16 would change them" in err[0]
    assert not (tmp_path / "b").exists()
