"""Bad input: one TrigkitError naming the file / node / input and what is valid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tests.importers import writers
from trigkit.core.errors import TrigkitError
from trigkit.importers import import_model, parse_input_shapes
from trigkit.importers.preprocessing import load_scaling


def test_corrupt_and_truncated_files(tmp_path: Path, mlp_files: dict[str, Path]) -> None:
    garbage = tmp_path / "g.onnx"
    garbage.write_bytes(b"not a model at all")
    with pytest.raises(TrigkitError, match=r"g.onnx: unknown model format"):
        import_model(garbage)
    for kind in ("onnx", "torchscript", "keras", "keras_h5"):
        src = mlp_files[kind]
        cut = tmp_path / f"cut{src.suffix}"
        cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
        with pytest.raises(TrigkitError, match=f"{cut.name}: .*(corrupt|truncated)"):
            import_model(cut, {"input": (16,)})
    empty = tmp_path / "e.onnx"
    empty.write_bytes(b"")
    with pytest.raises(TrigkitError, match="empty file"):
        import_model(empty)


def test_unknown_and_mismatched_extension(tmp_path: Path, mlp_files: dict[str, Path]) -> None:
    odd = tmp_path / "model.tflite"
    odd.write_bytes(mlp_files["onnx"].read_bytes())
    with pytest.raises(TrigkitError, match=r"unknown extension '.tflite'; valid: ONNX"):
        import_model(odd)
    wrong = tmp_path / "model.keras"
    wrong.write_bytes(mlp_files["onnx"].read_bytes())
    with pytest.raises(TrigkitError, match="extension says keras but the content is onnx"):
        import_model(wrong)


def test_missing_input_shape_names_the_input(tmp_path: Path, mlp_files: dict[str, Path]) -> None:
    with pytest.raises(TrigkitError, match="input 'input'.*--input-shape input:1x16"):
        import_model(mlp_files["torchscript"])
    import onnx

    free = onnx.load(str(mlp_files["onnx"]))
    free.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "n"
    path = tmp_path / "free.onnx"
    onnx.save(free, str(path))
    with pytest.raises(TrigkitError, match=r"input 'x' has free dimensions \(\?x\?\)"):
        import_model(path)
    assert import_model(path, {"x": (16,)}).input.shape == (16,)


def test_unsupported_op_names_node_type_and_supported_list(tmp_path: Path) -> None:
    m = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)).eval()
    path = writers.to_onnx(m, tmp_path / "tanh.onnx", (4,))
    with pytest.raises(TrigkitError, match=r"node '.*' \(Tanh\): unsupported op; supported: Gemm"):
        import_model(path)


def test_nan_weights_named(tmp_path: Path) -> None:
    m = nn.Sequential(nn.Linear(4, 3)).eval()
    with torch.no_grad():
        m[0].weight[1, 2] = float("nan")
    path = writers.to_onnx(m, tmp_path / "nan.onnx", (4,))
    with pytest.raises(TrigkitError, match="layer '.*': 1 NaN/Inf weights"):
        import_model(path)


class _Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return self.fc(x)
        return -self.fc(x)


def test_dynamic_control_flow(tmp_path: Path) -> None:
    path = writers.to_torchscript(_Branchy().eval(), tmp_path / "branchy.pt")
    with pytest.raises(TrigkitError, match=r"branchy.pt: dynamic control flow \(prim::If"):
        import_model(path, {"x": (4,)})


class _TwoBranches(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x) * self.b(x)


def test_non_chain_graph(tmp_path: Path) -> None:
    path = writers.to_onnx(_TwoBranches().eval(), tmp_path / "two.onnx", (4,))
    with pytest.raises(TrigkitError, match="two.onnx: node .*only single-chain graphs"):
        import_model(path)


def test_bad_input_shape_flags() -> None:
    assert parse_input_shapes(["x:1x16", "pf:1x50x8"]) == {"x": (16,), "pf": (50, 8)}
    for bad in ("x", "x:16", "x:1xa", ":1x4", "x:1x0"):
        with pytest.raises(TrigkitError, match="expected NAME:BATCHxDIM"):
            parse_input_shapes([bad])


def test_preprocessing_file(tmp_path: Path) -> None:
    good = tmp_path / "pre.yaml"
    good.write_text("features:\n  - {name: pt, offset: 10, scale: 2}\n  - {name: eta}\n")
    s = load_scaling(good)
    assert s.names == ("pt", "eta")
    assert np.allclose(s.apply(np.array([[14.0, 0.5]])), [[2.0, 0.5]])
    with pytest.raises(TrigkitError, match="pre.yaml: 2 features but the model takes 16"):
        s.check_width(16, str(good))
    bad = tmp_path / "bad.json"
    bad.write_text('{"features": [{"name": "pt", "scale": 0}]}')
    msg = r"bad.json: preprocessing: FeatureScale.scale: must be non-zero \(got 0\)"
    with pytest.raises(TrigkitError, match=msg):
        load_scaling(bad)


def test_layer_without_firmware_equivalent(tmp_path: Path) -> None:
    from trigkit.importers.firmware import to_firmware_network

    m = nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=-1), nn.Linear(4, 2)).eval()
    model = import_model(writers.to_onnx(m, tmp_path / "mid.onnx", (4,)))
    with pytest.raises(
        TrigkitError,
        match=r"layer '.*' \(softmax before the last layer\) has no firmware layer; "
        "supported: dense, dense per constituent",
    ):
        to_firmware_network(model, np.zeros((10, 4)))


class _Payload:
    """Any class: a pickle of it must never be loaded."""


def _rewrite(src: Path, dest: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, edit(name, zin.read(name)))
    return dest


def test_pt2_that_would_unpickle_is_refused(tmp_path: Path, mlp_files: dict[str, Path]) -> None:
    import io
    import json

    def use_pickle(name: str, data: bytes) -> bytes:
        if not name.endswith("model_weights_config.json"):
            return data
        cfg = json.loads(data)
        next(iter(cfg["config"].values()))["use_pickle"] = True
        return json.dumps(cfg).encode()

    bad = _rewrite(mlp_files["torch_export"], tmp_path / "pickled.pt2", use_pickle)
    with pytest.raises(TrigkitError, match=r"pickled.pt2: '0.weight' in .* pickled object"):
        import_model(bad)

    def object_member(name: str, data: bytes) -> bytes:
        if not name.endswith("sample_inputs/model.pt"):
            return data
        buf = io.BytesIO()
        torch.save(_Payload(), buf)
        return buf.getvalue()

    bad = _rewrite(mlp_files["torch_export"], tmp_path / "obj.pt2", object_member)
    with pytest.raises(TrigkitError, match=r"obj.pt2: member '.*model.pt' is not a plain tensor"):
        import_model(bad)


def test_branching_keras_functional_model(tmp_path: Path) -> None:
    import io
    import json
    import zipfile

    import h5py

    def layer(cls: str, name: str, inbound: list[str], **cfg: object) -> dict:
        nodes = [[[n, 0, 0, {}] for n in inbound]] if inbound else []
        return {
            "class_name": cls,
            "name": name,
            "config": {"name": name, **cfg},
            "inbound_nodes": nodes,
        }

    layers = [
        layer("InputLayer", "in", [], batch_input_shape=[None, 4]),
        layer("Dense", "a", ["in"], units=2),
        layer("Dense", "b", ["in"], units=2),
    ]
    cfg = {"class_name": "Functional", "config": {"name": "f", "layers": layers}}
    path = tmp_path / "branch.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(cfg))
        buf = io.BytesIO()
        h5py.File(buf, "w").close()
        z.writestr("model.weights.h5", buf.getvalue())
    with pytest.raises(TrigkitError, match=r"branch.keras: layer 'b' reads \['in'\], not 'a'"):
        import_model(path)
