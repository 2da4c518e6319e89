"""A user's ONNX graph kept whole, for the GPU target: any operators, any number of inputs.

The layer-by-layer importer (:mod:`trigkit.importers.onnx_import`) takes one chain of dense,
Conv1D and pooling layers from one input, what the FPGA can build. A GPU runs the graph as it
is, so the taggers of the HLT (weaver-core's ParticleNet and ParT: point, feature and mask
inputs, k-nearest-neighbour ``TopK`` / ``Gather``, attention) compile for it too. Their float
reference is the ONNX specification's own Python implementation
(``onnx.reference.ReferenceEvaluator``), independent of onnxruntime; for a torch source, torch.

Refused, each naming the tensor or node: a graph with other than one output, a non-float32
input, an input with free dimensions beyond the batch axis (give them with ``--input-shape``),
a batch axis that is not free, and QONNX ``Quant`` nodes (onnxruntime cannot run them, and
outside a chain no importer applies them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError, first_line
from trigkit.core.lazy import require
from trigkit.importers.graph import Format, InputSpec
from trigkit.importers.onnx_import import input_spec, load_onnx_model

REFERENCE = "onnx.reference.ReferenceEvaluator (the ONNX specification's Python implementation)"


@dataclass(frozen=True, eq=False)
class GraphModel:
    """A model as its whole ONNX graph (GPU target only).

    ``onnx``: the graph with every input's inner dimensions fixed and a free batch axis.
    ``chain_error``: why the layer importer (and so the FPGA target) does not take it.
    ``reference``: how the float reference outputs are computed (see :func:`graph_reference`).
    """

    source: Path
    format: Format
    name: str
    inputs: tuple[InputSpec, ...]
    onnx: bytes
    chain_error: str = ""
    reference: str = REFERENCE

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Input name -> shape without the batch axis, in the graph's input order."""
        return {i.name: i.shape for i in self.inputs}


def import_onnx_graph(
    path: Path, shapes: dict[str, tuple[int, ...]], *, chain_error: str = ""
) -> GraphModel:
    """The ONNX file at ``path`` as a :class:`GraphModel` (``shapes`` fixes free dimensions)."""
    return graph_model(load_onnx_model(path), Path(path), shapes, "onnx", chain_error)


def graph_model(
    proto: Any,  # noqa: ANN401 - an onnx.ModelProto
    source: Path,
    shapes: dict[str, tuple[int, ...]],
    fmt: Format,
    chain_error: str = "",
    reference: str = REFERENCE,
) -> GraphModel:
    """Check a parsed graph for the GPU target and fix its input shapes."""
    g = proto.graph
    custom = [n for n in g.node if n.domain not in ("", "ai.onnx")]
    if custom:
        n = custom[0]
        why = f"; the layer importer: {chain_error}" if chain_error else ""
        raise TrigkitError(
            f"{source}: node '{n.name or n.output[0]}' ({n.domain}.{n.op_type}) is not a standard "
            "ONNX operator; onnxruntime cannot run it (a QONNX Quant graph must be one chain of "
            f"layers, which trigkit imports layer by layer){why}"
        )
    if len(g.output) != 1:
        names = ", ".join(o.name for o in g.output)
        raise TrigkitError(
            f"{source}: {len(g.output)} graph outputs ({names}); the gpu target takes one "
            "(the class probabilities)"
        )
    consts = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in consts]
    if not inputs:
        raise TrigkitError(f"{source}: the graph has no inputs")
    check_shape_names(shapes, tuple(i.name for i in inputs))
    specs = tuple(_spec(i, shapes, source) for i in inputs)
    fixed = _fixed_shapes(proto, specs)
    return GraphModel(
        source=source,
        format=fmt,
        name=source.stem,
        inputs=specs,
        onnx=fixed.SerializeToString(),
        chain_error=chain_error,
        reference=reference,
    )


def check_shape_names(shapes: dict[str, tuple[int, ...]], names: tuple[str, ...]) -> None:
    """Every ``--input-shape`` names one of the model's inputs ``names``."""
    unknown = sorted(set(shapes) - set(names))
    if unknown:
        raise TrigkitError(
            f"--input-shape {unknown[0]}: the model has no such input; valid: {', '.join(names)}"
        )


def _spec(inp: Any, shapes: dict[str, tuple[int, ...]], source: Path) -> InputSpec:  # noqa: ANN401
    onnx = require("onnx", "gpu")
    elem = inp.type.tensor_type.elem_type
    if elem != onnx.TensorProto.FLOAT:
        name = onnx.TensorProto.DataType.Name(elem)
        raise TrigkitError(
            f"{source}: input '{inp.name}' is {name}; the gpu target takes float32 inputs "
            "(cast inside the model)"
        )
    batch = inp.type.tensor_type.shape.dim[:1]
    if batch and batch[0].HasField("dim_value") and batch[0].dim_value > 1:
        raise TrigkitError(
            f"{source}: input '{inp.name}' has a fixed batch of {batch[0].dim_value}; export "
            "the model with a dynamic batch axis (dynamic_axes / dynamic_shapes)"
        )
    return input_spec(inp, shapes, source)


def _fixed_shapes(proto: Any, specs: tuple[InputSpec, ...]) -> Any:  # noqa: ANN401
    """A copy whose inputs have a free batch axis and the given inner dimensions."""
    fixed = type(proto)()
    fixed.CopyFrom(proto)
    by_name = {s.name: s for s in specs}
    for inp in fixed.graph.input:
        if inp.name in by_name:
            dims = inp.type.tensor_type.shape.dim
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "batch"
            for d, n in zip(list(dims)[1:], by_name[inp.name].shape, strict=True):
                d.dim_value = n
    return fixed


def synthetic_feed(model: GraphModel, rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    """N(0, 1) float32 rows for every input (when the user gives no data)."""
    rng = np.random.default_rng(seed)
    return {i.name: rng.normal(size=(rows, *i.shape)).astype(np.float32) for i in model.inputs}


def graph_reference(onnx_bytes: bytes, where: str, feed: dict[str, np.ndarray]) -> np.ndarray:
    """The graph's one output on ``feed`` by the ONNX reference implementation (float64);
    ``where`` (the model file) names it in errors."""
    onnx = require("onnx", "gpu")
    from onnx.reference import ReferenceEvaluator

    proto = onnx.load_model_from_string(onnx_bytes)
    rows = len(next(iter(feed.values()))) if feed else 0
    try:
        with np.errstate(all="ignore"):
            out = ReferenceEvaluator(proto).run(None, feed)[0]
    except Exception as exc:  # noqa: BLE001 - NotImplementedError for an op it lacks, ...
        first = first_line(exc)
        raise TrigkitError(
            f"{where}: the ONNX reference implementation cannot run the graph on {rows} rows "
            f"({type(exc).__name__}: {first}); if the graph fixes the batch size inside (a "
            "Reshape to the export batch), re-export it with a dynamic batch axis "
            "(dynamic_axes / dynamic_shapes)"
        ) from None
    return np.asarray(out, dtype=np.float64)
