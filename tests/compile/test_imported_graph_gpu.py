"""The gpu target on models the layer importer does not take: weaver-core's ParticleNet layout
(three inputs, k nearest neighbours by TopK / Gather, masked pooling) as ONNX, TorchScript and
torch.export, and a single-input attention model.

Every bundle's graph is checked against torch running the model that was exported (an
independent reference: onnxruntime vs torch) on rows it never saw, and against the ONNX
specification's reference implementation at compile time; ``trigkit compare`` must pass on the
bundle and fail on a tampered one.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.importers import graph_models as gm
from trigkit.core.errors import TrigkitError

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("graph_models")
    pn = gm.particlenet()
    return {
        "dir": d,
        "onnx": gm.to_onnx(pn, d / "pn.onnx"),
        "torchscript": gm.to_torchscript(pn, d / "pn.pt"),
        "pt2": gm.to_pt2(pn, d / "pn.pt2"),
    }


def _compile(model: Path, out: Path, **kwargs: object) -> object:
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu

    options = kwargs.pop("options", ImportOptions())
    return compile_imported_gpu(model, out, options, engine="never", **kwargs)  # type: ignore[arg-type]


def _onnxruntime(bundle_dir: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    from trigkit.bundle.manifest import load_bundle
    from trigkit.runtime.backends import RUNNERS

    with RUNNERS.create("onnxruntime", load_bundle(bundle_dir)) as runner:
        return np.asarray(runner.infer(feed), dtype=np.float64)


TS_SHAPES = {"pf_points": (2, 16), "pf_features": (5, 16), "pf_mask": (1, 16)}


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "pt2"])
def test_particlenet_bundle_equals_torch(models: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    from trigkit.compile.targets.imported import ImportOptions

    options = ImportOptions(input_shapes=TS_SHAPES if fmt == "torchscript" else {})
    bundle = _compile(models[fmt], tmp_path / "b", options=options)
    m = bundle.manifest  # type: ignore[attr-defined]
    assert [(t.name, tuple(t.shape)) for t in m.inputs] == [
        (n, (-1, *s)) for n, s in gm.SHAPES.items()
    ]
    info = m.target_info["imported"]
    assert info["inputs"] == {n: list(s) for n, s in gm.SHAPES.items()}
    assert "3 " in info["whole_graph"] and "inputs" in info["whole_graph"]
    assert info["max_abs_diff_vs_float"] <= 1e-5
    fresh = gm.feed(300, seed=9, masked=6)  # rows the compile never saw, more padding
    want = gm.torch_outputs(gm.particlenet(), fresh)
    got = _onnxruntime(tmp_path / "b", fresh)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.ptp(want[:, 0]) > 1e-3  # the rows differ: the check is not on a constant


def test_masked_particles_do_not_move_the_output(models: dict[str, Path], tmp_path: Path) -> None:
    """What the mask input is for, through the bundle: padding values change nothing."""
    _compile(models["onnx"], tmp_path / "b")
    a = gm.feed(50, seed=4)
    b = {k: v.copy() for k, v in a.items()}
    b["pf_features"][:, :, -4:] = 7.0
    b["pf_points"][:, :, -4:] = -3.0
    np.testing.assert_allclose(_onnxruntime(tmp_path / "b", a), _onnxruntime(tmp_path / "b", b))


def test_compare_passes_and_catches_a_tampered_graph(
    models: dict[str, Path], tmp_path: Path
) -> None:
    from trigkit.runtime.compare import compare_bundle

    for fmt in ("onnx", "pt2"):
        _compile(models[fmt], tmp_path / fmt)
        result = compare_bundle(tmp_path / fmt)
        assert result.ok and result.diffs[0].rows == 256, fmt
        assert result.diffs[0].max_abs <= 1e-5
    data = tmp_path / "rows.npz"
    np.savez(data, **{f"in_{k}": v for k, v in gm.feed(40, seed=2).items()})
    assert compare_bundle(tmp_path / "onnx", data).diffs[0].rows == 40
    # torch vs onnxruntime differ in the last float32 bits: a tolerance below them must fail
    tight = compare_bundle(tmp_path / "pt2", atol=1e-12)
    assert not tight.ok and tight.diffs[0].mismatches > 0
    # a graph swapped into the bundle is refused before anything runs
    other = gm.to_onnx(gm.particlenet(seed=8), tmp_path / "other.onnx")
    shutil.copy(other, tmp_path / "onnx" / "model.onnx")
    with pytest.raises(TrigkitError, match="sha256 mismatch for 'model.onnx'"):
        compare_bundle(tmp_path / "onnx")


def test_int8_and_fp16(models: dict[str, Path], tmp_path: Path) -> None:
    from trigkit.compile.targets.imported import ImportOptions

    calib = tmp_path / "calib.npz"
    np.savez(calib, **{f"in_{k}": v for k, v in gm.feed(1024, seed=5).items()})
    b8 = _compile(
        models["onnx"], tmp_path / "i8", precision="int8", options=ImportOptions(calib_data=calib)
    )
    assert b8.manifest.precision == "int8"  # type: ignore[attr-defined]
    fresh = gm.feed(200, seed=6)
    y8 = _onnxruntime(tmp_path / "i8", fresh)
    assert (
        np.percentile(np.abs(y8 - gm.torch_outputs(gm.particlenet(), fresh)).max(axis=1), 99) <= 0.2
    )
    # weaver shifts masked points by 1e9: beyond float16, so fp16 is refused, naming the node
    with pytest.raises(TrigkitError, match="Constant node .* beyond float16's range"):
        _compile(models["onnx"], tmp_path / "f16", precision="fp16")
    assert not (tmp_path / "f16").exists()
    # a graph inside float16's range compiles and stays within 1e-2 of the float reference
    att = gm.to_onnx(gm.AttentionLike().eval(), tmp_path / "att.onnx", {"parts": (16, 5)})
    b16 = _compile(att, tmp_path / "att16", precision="fp16")
    assert b16.manifest.target_info["imported"]["max_abs_diff_vs_float"] <= 1e-2  # type: ignore[attr-defined]


def test_single_input_graph_with_attention(tmp_path: Path) -> None:
    """One input, but no chain of layers (MultiheadAttention): the gpu target takes the graph,
    the fpga target refuses it naming the layer."""
    import torch

    from trigkit.importers import import_model

    torch.manual_seed(1)
    model = gm.AttentionLike().eval()
    path = gm.to_onnx(model, tmp_path / "att.onnx", {"parts": (16, 5)})
    with pytest.raises(TrigkitError, match="att.onnx"):
        import_model(path)
    _compile(path, tmp_path / "b")
    x = np.random.default_rng(3).normal(size=(64, 16, 5)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).double().numpy()
    np.testing.assert_allclose(_onnxruntime(tmp_path / "b", {"parts": x}), want, atol=1e-5)


def test_cli_compile_compare_bench(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trigkit.cli.app import main
    from trigkit.compile.targets import gpu

    monkeypatch.setattr(gpu, "_maybe_engine", lambda *a, **k: (None, "disabled in tests"))
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "b"
    assert main(["compile", str(models["onnx"]), "--target", "gpu", "--out", str(out)]) == 0
    assert main(["compare", str(out)]) == 0
    data = tmp_path / "rows.npz"
    np.savez(data, **gm.feed(8, seed=1))  # plain input names as keys
    bench = tmp_path / "bench.json"
    args = ["bench", "bundle", str(out), "--batch", "1,4", "--repeats", "3", "--data", str(data)]
    assert main([*args, "--out", str(bench)]) == 0
    result = json.loads(bench.read_text())
    assert [r["batch"] for r in result["batches"]] == [1, 4] and result["inputs_from"] == str(data)
    assert result["max_abs_diff_vs_reference"] <= 1e-6
    assert (
        main(["compile", str(models["onnx"]), "--target", "fpga", "--out", str(tmp_path / "f")])
        != 0
    )


@pytest.mark.parametrize(
    "case, match",
    [
        ("preprocessing", "compiled as a whole graph with inputs pf_points, pf_features, pf_mask"),
        ("calib_missing", "no array for input 'pf_mask'"),
        ("calib_rows", "different numbers of rows"),
        ("calib_shape", r"input 'pf_features' takes numbers of shape \(5, 16\)"),
        ("shape_name", "--input-shape jets: the model has no such input"),
        ("torchscript", "give input .pf_points., .pf_features., .pf_mask. one with --input-shape"),
    ],
)
def test_bad_input_names_the_input(
    models: dict[str, Path], tmp_path: Path, case: str, match: str
) -> None:
    from trigkit.compile.targets.imported import ImportOptions

    feed = gm.feed(10)
    model, options = models["onnx"], ImportOptions()
    data = tmp_path / "d.npz"
    if case == "preprocessing":
        pre = tmp_path / "pre.yaml"
        pre.write_text("features:\n  - {name: pt, offset: 0, scale: 1}\n")
        options = ImportOptions(preprocessing=pre)
    elif case.startswith("calib"):
        arrays = {f"in_{k}": v for k, v in feed.items()}
        if case == "calib_missing":
            del arrays["in_pf_mask"]
        elif case == "calib_rows":
            arrays["in_pf_mask"] = arrays["in_pf_mask"][:5]
        else:
            arrays["in_pf_features"] = arrays["in_pf_features"][:, :4]
        np.savez(data, **arrays)
        options = ImportOptions(calib_data=data)
    elif case == "shape_name":
        options = ImportOptions(input_shapes={"jets": (4,)})
    else:
        model = models["torchscript"]
    with pytest.raises(TrigkitError, match=match):
        _compile(model, tmp_path / "b", options=options)
    assert not (tmp_path / "b").exists()


def test_graph_refusals(tmp_path: Path) -> None:
    """Two outputs, an integer input and a fixed batch: one line each, naming what to change."""
    import onnx
    from onnx import TensorProto, helper

    from trigkit.importers.onnx_graph import import_onnx_graph

    def save(name: str, inputs: list, outputs: list, nodes: list) -> Path:
        graph = helper.make_graph(nodes, name, inputs, outputs)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        onnx.save(model, tmp_path / f"{name}.onnx")
        return tmp_path / f"{name}.onnx"

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])
    two = save(
        "two",
        [x],
        [y, z],
        [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Neg", ["x"], ["z"])],
    )
    with pytest.raises(TrigkitError, match="2 graph outputs"):
        import_onnx_graph(two, {})
    i = helper.make_tensor_value_info("i", TensorProto.INT64, ["N", 4])
    ints = save("ints", [i], [y], [helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT)])
    with pytest.raises(TrigkitError, match="input 'i' is INT64; the gpu target takes float32"):
        import_onnx_graph(ints, {})
    # a QONNX Quant node outside a chain: neither importer takes it, and both say why
    q = helper.make_tensor_value_info("q", TensorProto.FLOAT, ["N", 4])
    quant = helper.make_node(
        "Quant", ["x", "s", "z", "b"], ["xq"], domain="qonnx.custom_op.general", signed=1
    )
    consts = [
        helper.make_tensor(n, TensorProto.FLOAT, [], [v])
        for n, v in (("s", 0.25), ("z", 0.0), ("b", 6.0))
    ]
    graph = helper.make_graph(
        [quant, helper.make_node("Add", ["xq", "q"], ["y"])], "qonnx", [x, q], [y], consts
    )
    model = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", 17),
            helper.make_opsetid("qonnx.custom_op.general", 1),
        ],
    )
    onnx.save(model, tmp_path / "qonnx.onnx")
    with pytest.raises(TrigkitError, match="not a standard ONNX operator.*the layer importer:"):
        _compile(tmp_path / "qonnx.onnx", tmp_path / "qb")
    fixed = helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 4])
    batch = save("batch", [fixed], [y], [helper.make_node("Relu", ["x"], ["y"])])
    with pytest.raises(TrigkitError, match="fixed batch of 8"):
        import_onnx_graph(batch, {})


def test_compare_runs_an_original_exported_with_batch_one(tmp_path: Path) -> None:
    """A file exported without a dynamic batch axis (batch 1, torch's default): compare runs
    it row block by row block instead of failing on the 256 reference rows."""
    import torch

    from trigkit.runtime.compare import compare_bundle

    torch.manual_seed(2)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    path = tmp_path / "fixed.onnx"
    torch.onnx.export(mlp.eval(), (torch.zeros(1, 4),), str(path), input_names=["x"], dynamo=False)
    _compile(path, tmp_path / "b")
    result = compare_bundle(tmp_path / "b")
    assert result.ok and result.diffs[0].rows == 256


def test_a_batch_baked_into_the_graph_is_named(tmp_path: Path) -> None:
    """A Reshape to the export batch runs on 1 row only: the reference's failure says so."""
    import torch

    class Baked(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.softmax(a.reshape(1, 4) + b, -1)

    path = tmp_path / "baked.onnx"
    args = (torch.zeros(1, 4), torch.zeros(1, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Baked(), args, str(path), input_names=["a", "b"], dynamo=False)
    with pytest.raises(TrigkitError, match="baked.onnx: .* on 256 rows .*dynamic batch axis"):
        _compile(path, tmp_path / "b")
    assert not (tmp_path / "b").exists()
