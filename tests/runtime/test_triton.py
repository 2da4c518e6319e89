"""Triton model repository: layout and config.pbtxt structure (parsed independently here)."""

from __future__ import annotations

import re

import pytest

from trigkit.cli.app import main
from trigkit.core.errors import TrigkitError
from trigkit.runtime.triton import TritonOptions, export_triton

_TOKEN = re.compile(r'\s*(?:(\{|\}|\[|\]|:|,)|"([^"]*)"|([A-Za-z0-9_.\-]+))')


def parse_pbtxt(text: str) -> dict:
    """Minimal protobuf text-format parser: messages, repeated fields, lists, scalars."""
    toks = []
    for m in _TOKEN.finditer(text):
        if m.group(1):
            toks.append(("p", m.group(1)))
        elif m.group(2) is not None:
            toks.append(("s", m.group(2)))
        else:
            tok = m.group(3)
            toks.append(("n", int(tok)) if re.fullmatch(r"-?\d+", tok) else ("i", tok))
    pos = 0

    def value():
        nonlocal pos
        kind, v = toks[pos]
        pos += 1
        if (kind, v) == ("p", "{"):
            return message("}")
        if (kind, v) == ("p", "["):
            items = []
            while toks[pos] != ("p", "]"):
                items.append(value())
                if toks[pos] == ("p", ","):
                    pos += 1
            pos += 1
            return items
        return v

    def message(end):
        nonlocal pos
        out: dict = {}
        while pos < len(toks) and toks[pos] != ("p", end):
            key = toks[pos][1]
            pos += 1
            if toks[pos] == ("p", ":"):
                pos += 1
            out.setdefault(key, []).append(value())
        pos += 1
        return {k: v[0] if len(v) == 1 else v for k, v in out.items()}

    return message(None)


def test_onnx_repository(fp32_bundle, tmp_path):
    dest = export_triton(
        fp32_bundle.path,
        tmp_path / "repo",
        TritonOptions(instance_count=2, preferred_batch_sizes=(64, 256, 99999)),
    )
    assert dest == tmp_path / "repo" / "btag-deepsets"
    assert (dest / "1" / "model.onnx").read_bytes() == fp32_bundle.file("model.onnx").read_bytes()
    cfg = parse_pbtxt((dest / "config.pbtxt").read_text())
    assert cfg["name"] == "btag-deepsets" and cfg["platform"] == "onnxruntime_onnx"
    assert cfg["max_batch_size"] == 4096  # the bundle's profile maximum
    ins = cfg["input"]
    assert [(i["name"], i["data_type"], i["dims"]) for i in ins] == [
        ("tracks", "TYPE_FP32", [15, 6]),
        ("mask", "TYPE_FP32", [15]),
    ]  # no batch axis
    out = cfg["output"]
    out = out[0] if isinstance(out, list) else out
    assert (out["name"], out["data_type"], out["dims"]) == ("probs", "TYPE_FP32", [3])
    group = cfg["instance_group"][0]
    assert group == {"count": 2, "kind": "KIND_GPU"}
    assert cfg["dynamic_batching"] == {
        "preferred_batch_size": [64, 256],
        "max_queue_delay_microseconds": 100,
    }


def test_cli_and_errors(fp32_bundle, tmp_path):
    assert (
        main(
            [
                "export",
                "triton",
                str(fp32_bundle.path),
                str(tmp_path / "r"),
                "--name",
                "dips",
                "--kind",
                "KIND_CPU",
                "--max-batch-size",
                "128",
            ]
        )
        == 0
    )
    cfg = parse_pbtxt((tmp_path / "r" / "dips" / "config.pbtxt").read_text())
    assert cfg["max_batch_size"] == 128 and cfg["instance_group"][0]["kind"] == "KIND_CPU"
    assert cfg["dynamic_batching"]["preferred_batch_size"] == [64]
    with pytest.raises(TrigkitError, match="no TensorRT engine in this bundle"):
        export_triton(fp32_bundle.path, tmp_path / "r", TritonOptions(backend="tensorrt"))
    with pytest.raises(TrigkitError, match="instance_count must be >= 1"):
        TritonOptions(instance_count=0)
    assert main(["export", "triton", str(tmp_path / "nobundle"), str(tmp_path / "r")]) == 1
