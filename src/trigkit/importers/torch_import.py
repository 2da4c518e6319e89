"""TorchScript (``.pt``) and torch.export (``.pt2``) -> ONNX -> :class:`ImportedModel`.

Neither format is unpickled as Python objects: ``torch.jit.load`` rebuilds a graph and
tensors, never arbitrary classes. ``torch.export.load`` can unpickle (weights or constants
saved with ``use_pickle``, custom / opaque objects, legacy ``.pt`` payloads, and a
``weights_only=False`` fallback for ``.pt`` members), so a ``.pt2`` is audited first
(:func:`check_pt2_archive`): every payload must be a plain tensor and every ``.pt`` member must
load with ``torch.load(weights_only=True)``, else the file is refused. The loaded graph is
checked for dynamic control flow (a ``prim::If``/``prim::Loop`` computing tensors once the
module is frozen, ``torch.cond`` / ``while_loop``), traced to ONNX on an example of the input
shape and imported by
:mod:`trigkit.importers.onnx_import`, so every format goes through one op mapping.
"""

from __future__ import annotations

import functools
import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

from trigkit.core.errors import TrigkitError, first_line
from trigkit.core.lazy import require
from trigkit.importers.graph import ImportedModel

OPSET = 17
_CONTROL_FLOW_JIT = ("prim::If", "prim::Loop")
_CONTROL_FLOW_EXPORT = ("cond", "while_loop", "map_impl", "scan")
#: what of a torch exception our one-line errors quote (its first line, at most 200 characters)
torch_message = functools.partial(first_line, limit=200)


def load_torchscript(path: Path) -> tuple[Any, tuple[str, ...]]:
    """The TorchScript module at ``path`` and its forward's argument names; refused with dynamic
    control flow."""
    torch = require("torch", "gpu")
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - RuntimeError on corrupt archives
        raise TrigkitError(f"{path}: cannot load as TorchScript ({torch_message(exc)})") from None
    for node in _all_nodes(_frozen_graph(torch, module, path)):
        if node.kind() in _CONTROL_FLOW_JIT and _computes_tensors(node):
            raise TrigkitError(
                f"{path}: dynamic control flow ({node.kind()} at {_where(node)}); script a model "
                "without data-dependent branches or loops, or export it with torch.export"
            )
    args = [a.name for a in module.forward.schema.arguments if a.name != "self"]
    return module.eval(), tuple(args)


def import_torchscript(path: Path, shapes: dict[str, tuple[int, ...]]) -> ImportedModel:
    module, args = load_torchscript(path)
    if len(args) != 1:
        raise TrigkitError(f"{path}: forward takes {len(args)} inputs; exactly 1 supported")
    name = args[0]
    if name not in shapes:
        raise TrigkitError(
            f"{path}: a TorchScript file does not record input shapes; give input '{name}' one "
            f"with --input-shape {name}:1x16 (batch first)"
        )
    return _via_onnx(module, path, name, shapes[name], shapes, "torchscript")


def check_pt2_archive(path: Path) -> None:
    """Refuse a ``.pt2`` whose loading would unpickle anything (see the module docstring)."""
    torch = require("torch", "gpu")
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith("_config.json") and "/data/" in name:
                _check_payload_config(path, name, json.loads(z.read(name)))
            elif name.endswith(".pt"):
                try:
                    torch.load(io.BytesIO(z.read(name)), weights_only=True)
                except Exception as exc:  # noqa: BLE001 - UnpicklingError and friends
                    raise TrigkitError(
                        f"{path}: member '{name}' is not a plain tensor file "
                        f"({torch_message(exc)}); refusing to unpickle it"
                    ) from None


def _check_payload_config(path: Path, name: str, config: dict[str, Any]) -> None:
    for fqn, meta in dict(config.get("config", {})).items():
        pickled = bool(meta.get("use_pickle")) or not str(meta.get("path_name", "")).startswith(
            ("weight_", "tensor_")
        )
        if pickled:
            raise TrigkitError(
                f"{path}: '{fqn}' in {name} is stored as a pickled object "
                f"({meta.get('path_name')}); re-export with plain tensors (torch.export.save)"
            )


def load_torch_export(path: Path) -> tuple[Any, tuple[str, ...]]:
    """The torch.export program at ``path`` (audited: nothing unpickled) and its user inputs'
    names; refused with dynamic control flow."""
    torch = require("torch", "gpu")
    check_pt2_archive(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.load(str(path))
    except Exception as exc:  # noqa: BLE001
        raise TrigkitError(
            f"{path}: cannot load as a torch.export program ({torch_message(exc)})"
        ) from None
    for node in program.graph.nodes:
        target = str(getattr(node, "target", ""))
        if node.op == "call_function" and any(f in target for f in _CONTROL_FLOW_EXPORT):
            raise TrigkitError(f"{path}: dynamic control flow (node '{node.name}': {target})")
    users = [s.arg.name for s in program.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    return program, tuple(users)


def import_torch_export(path: Path, shapes: dict[str, tuple[int, ...]]) -> ImportedModel:
    torch = require("torch", "gpu")
    program, users = load_torch_export(path)
    if len(users) != 1:
        raise TrigkitError(f"{path}: the program takes {len(users)} inputs; exactly 1 supported")
    name = users[0]
    batch, recorded = recorded_shape(program, name)
    shape = shapes.get(name) or recorded
    if shape is None:
        raise TrigkitError(
            f"{path}: input '{name}' has free dimensions; give them with "
            f"--input-shape {name}:1x16 (batch first)"
        )
    traced = _trace(torch, program.module(), (batch, *shape), path)
    return _via_onnx(traced, path, name, shape, shapes, "torch_export", batch)


def _frozen_graph(torch: Any, module: Any, path: Path) -> Any:
    """The eval-mode graph with attributes folded in: only data-dependent branches remain."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.freeze(module.eval()).graph
    except Exception as exc:  # noqa: BLE001
        raise TrigkitError(
            f"{path}: cannot freeze the TorchScript module ({torch_message(exc)})"
        ) from None


def recorded_shape(program: Any, name: str) -> tuple[int, tuple[int, ...] | None]:
    """(example batch size, inner shape or None when a dimension is symbolic) of an input."""
    node = next(n for n in program.graph.nodes if n.op == "placeholder" and n.name == name)
    dims = list(getattr(node.meta.get("val"), "shape", ()))
    batch = int(dims[0]) if dims and isinstance(dims[0], int) else 2
    inner = dims[1:]
    if not inner or not all(isinstance(d, int) for d in inner):
        return batch, None
    return batch, tuple(int(d) for d in inner)


def _trace(torch: Any, module: Any, shape: tuple[int, ...], path: Path) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.trace(module, (torch.zeros(*shape),))
    except Exception as exc:  # noqa: BLE001
        raise TrigkitError(
            f"{path}: cannot run the program on shape {shape} ({torch_message(exc)})"
        ) from None


def _via_onnx(
    module: Any,
    path: Path,
    name: str,
    shape: tuple[int, ...],
    shapes: dict[str, tuple[int, ...]],
    fmt: str,
    batch: int = 2,
) -> ImportedModel:
    from trigkit.importers.onnx_import import import_onnx_proto

    proto = export_onnx(module, path, {name: tuple(shape)}, batch)
    return import_onnx_proto(proto, path, {**shapes, name: tuple(shape)}, fmt=fmt)


def export_onnx(module: Any, path: Path, inputs: dict[str, tuple[int, ...]], batch: int = 2) -> Any:
    """``module`` traced to ONNX (torch's TorchScript exporter) on zeros of ``inputs`` (name ->
    shape without the batch axis, in forward's order), every batch axis and the one output
    (``output``) dynamic; TrigkitError naming ``path`` when it cannot be converted."""
    torch = require("torch", "gpu")
    onnx = require("onnx", "gpu")
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                tuple(torch.zeros(batch, *s) for s in inputs.values()),
                buf,
                dynamo=False,
                input_names=list(inputs),
                output_names=["output"],
                dynamic_axes={n: {0: "batch"} for n in (*inputs, "output")},
                opset_version=OPSET,
            )
    except TrigkitError:
        raise
    except Exception as exc:  # noqa: BLE001
        shown = ", ".join(f"{n} {s}" for n, s in inputs.items())
        raise TrigkitError(
            f"{path}: cannot convert to ONNX on {shown} ({torch_message(exc)})"
        ) from None
    return onnx.load_model_from_string(buf.getvalue())


def _all_nodes(graph: Any) -> Any:
    for node in graph.nodes():
        yield node
        for block in node.blocks():
            yield from _all_nodes(block)


def _computes_tensors(node: Any) -> bool:
    """A branch or loop that computes tensors (not one of torch's input checks that raise)."""
    return any(
        o.type().kind() == "TensorType"
        for block in node.blocks()
        for inner in _all_nodes(block)
        for o in inner.outputs()
    )


def _where(node: Any) -> str:
    text = str(node.sourceRange()).strip().splitlines()
    return text[0][:80] if text else node.kind()
