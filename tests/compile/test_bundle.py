"""Bundles: atomic write, hashed manifest, refusal of anything tampered, reference round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trigkit.bundle.manifest import (
    FORMAT_VERSION,
    MANIFEST,
    REFERENCE,
    LayerInfo,
    TensorSpec,
    load_bundle,
    new_manifest,
    sha256_file,
    write_bundle,
)
from trigkit.core.errors import TrigkitError

X = np.arange(12, dtype=np.float32).reshape(3, 4)
Y = np.array([[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]], dtype=np.float32)


def _manifest(target: str = "gpu"):  # noqa: ANN202
    return new_manifest(
        target=target,
        backend="onnxruntime",
        model_name="tiny",
        precision="fp32",
        inputs=[
            TensorSpec(name="x", shape=(-1, 4), dtype="float32", features=("a", "b", "c", "d"))
        ],
        outputs=[TensorSpec(name="p", shape=(-1, 2), dtype="float32")],
        layers=[LayerInfo(name="fc1", kind="dense", precision={"weight": "fp32"}, sparsity=0.5)],
    )


def _write(dest: Path, target: str = "gpu") -> Path:
    with write_bundle(dest, _manifest(target)) as w:
        w.path("model.onnx").write_bytes(b"not really onnx, just bytes")
        w.path("prj/firmware/nnet.h").write_text("// nested file\n")
        w.save_reference({"x": X}, {"p": Y})
    return dest


def test_round_trip(tmp_path: Path) -> None:
    dest = _write(tmp_path / "b")
    b = load_bundle(dest, target="gpu")
    assert b.path == dest
    m = b.manifest
    assert m.format_version == FORMAT_VERSION and m.model_name == "tiny"
    assert m.inputs[0].shape == (-1, 4) and m.inputs[0].features == ("a", "b", "c", "d")
    assert m.layers[0].sparsity == 0.5
    assert set(m.files) == {"model.onnx", "prj/firmware/nnet.h", REFERENCE}
    for name, digest in m.files.items():  # independent hash of every file
        assert digest == sha256_file(dest / name)
    assert b.file("model.onnx").read_bytes() == b"not really onnx, just bytes"
    ins, outs = b.reference()
    assert list(ins) == ["x"] and list(outs) == ["p"]
    np.testing.assert_array_equal(ins["x"], X)
    np.testing.assert_array_equal(outs["p"], Y)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no temporaries left


def test_file_not_in_manifest(tmp_path: Path) -> None:
    b = load_bundle(_write(tmp_path / "b"))
    with pytest.raises(TrigkitError, match="no file 'model.engine' in manifest.json"):
        b.file("model.engine")


def test_exception_while_writing_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), write_bundle(tmp_path / "b", _manifest()) as w:
        w.path("model.onnx").write_bytes(b"half")
        raise RuntimeError("export failed")
    assert list(tmp_path.iterdir()) == []


def test_exception_keeps_previous_bundle(tmp_path: Path) -> None:
    dest = _write(tmp_path / "b")
    before = (dest / MANIFEST).read_text()
    with pytest.raises(RuntimeError), write_bundle(dest, _manifest()) as w:
        w.path("model.onnx").write_bytes(b"other")
        raise RuntimeError
    assert (dest / MANIFEST).read_text() == before
    load_bundle(dest)


@pytest.mark.parametrize("name", ["model.onnx", "prj/firmware/nnet.h", REFERENCE])
def test_tampered_file_refused(tmp_path: Path, name: str) -> None:
    dest = _write(tmp_path / "b")
    with open(dest / name, "ab") as f:
        f.write(b"\0")
    with pytest.raises(TrigkitError, match=rf"sha256 mismatch for '{name}'"):
        load_bundle(dest)


def test_missing_file_refused(tmp_path: Path) -> None:
    dest = _write(tmp_path / "b")
    (dest / "model.onnx").unlink()
    with pytest.raises(TrigkitError, match="file 'model.onnx' listed in the manifest is missing"):
        load_bundle(dest)


def test_missing_manifest(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    with pytest.raises(TrigkitError, match="not a trigkit bundle"):
        load_bundle(tmp_path / "b")
    with pytest.raises(TrigkitError, match="not a trigkit bundle"):
        load_bundle(tmp_path / "does-not-exist")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: "{not json", "invalid manifest"),
        (lambda m: json.dumps({**m, "targte": "gpu"}), "invalid manifest"),
        (
            lambda m: json.dumps({k: v for k, v in m.items() if k != "model_name"}),
            "invalid manifest",
        ),
        (lambda m: json.dumps({**m, "target": "asic"}), "invalid manifest"),
        (lambda m: json.dumps({**m, "format_version": FORMAT_VERSION + 1}), "bundle format"),
    ],
)
def test_bad_manifest(tmp_path: Path, edit, match: str) -> None:  # noqa: ANN001
    dest = _write(tmp_path / "b")
    mpath = dest / MANIFEST
    mpath.write_text(edit(json.loads(mpath.read_text())))
    with pytest.raises(TrigkitError, match=match) as info:
        load_bundle(dest)
    assert "\n" not in str(info.value) and str(mpath) in str(info.value)


def test_wrong_target(tmp_path: Path) -> None:
    dest = _write(tmp_path / "b", target="fpga")
    load_bundle(dest, target="fpga")
    with pytest.raises(TrigkitError, match="a 'fpga' bundle, expected a 'gpu' bundle"):
        load_bundle(dest, target="gpu")
