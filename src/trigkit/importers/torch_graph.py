"""A TorchScript or torch.export model the layer importer does not take, as one whole ONNX graph.

The same loading and checks as :mod:`trigkit.importers.torch_import` (a ``.pt2`` audited so
nothing is unpickled, dynamic control flow refused), then every input traced at once and
exported to ONNX with a free batch axis (:mod:`trigkit.importers.onnx_graph` checks it). The
float reference is torch itself running the user's file (:func:`run_torch_file`), so the
export is checked against the framework that trained the model.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.importers.data import pad_rows
from trigkit.importers.graph import Format
from trigkit.importers.onnx_graph import GraphModel, check_shape_names, graph_model
from trigkit.importers.torch_import import (
    export_onnx,
    load_torch_export,
    load_torchscript,
    recorded_shape,
    torch_message,
)

TORCH_REFERENCE = "torch running the original file (float32)"
OPSET_PROGRAM = 18  # torch's dynamo exporter writes opset 18


def import_torch_graph(
    path: Path, shapes: dict[str, tuple[int, ...]], fmt: Format, *, chain_error: str = ""
) -> GraphModel:
    """The model at ``path`` (``fmt``: torchscript or torch_export) as a whole graph: a
    TorchScript module traced to ONNX on zeros of the given shapes, a torch.export program
    exported as it is (its dynamic dimensions stay dynamic)."""
    if fmt == "torchscript":
        module, names = load_torchscript(path)
        inner = _inner_shapes(path, fmt, names, shapes, {})
        proto = export_onnx(module, path, {n: inner[n] for n in names})
    else:
        program, names = load_torch_export(path)
        recorded = {n: recorded_shape(program, n)[1] for n in names}
        inner = _inner_shapes(path, fmt, names, shapes, recorded)
        proto = _export_program(program, path)
    return graph_model(proto, Path(path), inner, fmt, chain_error, TORCH_REFERENCE)


def _inner_shapes(
    path: Path,
    fmt: Format,
    names: tuple[str, ...],
    given: dict[str, tuple[int, ...]],
    recorded: dict[str, tuple[int, ...] | None],
) -> dict[str, tuple[int, ...]]:
    """Each input's shape beyond the batch: ``--input-shape`` first, then what a ``.pt2``
    records (a TorchScript file records none)."""
    check_shape_names(given, names)
    inner = {n: given.get(n) or recorded.get(n) for n in names}
    missing = [n for n, s in inner.items() if s is None]
    if missing:
        what = (
            "a TorchScript file does not record input shapes"
            if fmt == "torchscript"
            else ("the program's inputs have free dimensions")
        )
        flags = " ".join(f"--input-shape {n}:1x16" for n in missing)
        raise TrigkitError(
            f"{path}: {what}; give input {', '.join(repr(n) for n in missing)} one with "
            f"{flags} (batch first, each its own shape)"
        )
    return {n: tuple(s) for n, s in inner.items() if s is not None}


def _export_program(program: Any, path: Path) -> Any:
    """torch's own exporter on the program (needs onnxscript, in the gpu extra)."""
    torch = require("torch", "gpu")
    require("onnxscript", "gpu")
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it names every torchvision op it skips
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            exported = torch.onnx.export(program, (), dynamo=True, opset_version=OPSET_PROGRAM)
    except Exception as exc:  # noqa: BLE001
        raise TrigkitError(f"{path}: cannot convert to ONNX ({torch_message(exc)})") from None
    finally:
        quiet.setLevel(level)
    return exported.model_proto


def torch_reference(model: GraphModel, feed: dict[str, np.ndarray]) -> np.ndarray:
    """The original torch file on ``feed`` (float64 copy of torch's float32 output)."""
    return run_torch_file(model.source, model.format, [feed[n] for n in model.input_names])


def run_torch_file(path: Path, fmt: str, arrays: list[np.ndarray]) -> np.ndarray:
    """Run the TorchScript / torch.export file on ``arrays`` (one per input, in order); a
    program traced with a fixed batch runs in chunks of it, the last one zero-padded."""
    torch = require("torch", "gpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "torchscript":
            module, batch = torch.jit.load(str(path), map_location="cpu").eval(), len(arrays[0])
        else:
            program = torch.export.load(str(path))
            module, batch = program.module(), export_batch(program)
    n, out = len(arrays[0]), []
    batch = max(batch, 1)
    with torch.no_grad():
        for i in range(0, n, batch):
            chunk = [pad_rows(x[i : i + batch], batch) for x in arrays]
            y = module(*(torch.from_numpy(c.astype(np.float32)) for c in chunk))
            out.append(y.double().numpy()[: min(batch, n - i)])
    return np.concatenate(out) if out else np.zeros((0, 0))


def export_batch(program: object) -> int:
    """The batch size a torch.export program was traced with (its inputs may be static)."""
    for node in program.graph.nodes:  # type: ignore[attr-defined]
        if node.op == "placeholder" and node.meta.get("val") is not None:
            spec_names = [
                s.arg.name
                for s in program.graph_signature.input_specs  # type: ignore[attr-defined]
                if s.kind.name == "USER_INPUT"
            ]
            if node.name in spec_names:
                dim = node.meta["val"].shape[0]
                return int(dim) if isinstance(dim, int) else 1024
    return 1024
