"""A user's model trained anywhere (ONNX, torch.export, TorchScript, Keras/QKeras) -> one graph.

:func:`import_model` detects the format from the file's content, reads it with one module per
format and returns an :class:`~trigkit.importers.graph.ImportedModel`; ``to_firmware_network``
(:mod:`trigkit.importers.firmware`) makes the FPGA's :class:`FirmwareNetwork` of it and
``ImportedModel.onnx`` is what the GPU target compiles. What the layer importer refuses, the
GPU target takes as its whole graph (:func:`import_for_gpu` ->
:class:`~trigkit.importers.onnx_graph.GraphModel`). Heavy libraries (onnx, torch) are imported
only when a file of that format is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from trigkit.core.errors import MissingDependency, TrigkitError
from trigkit.importers.detect import detect_format
from trigkit.importers.graph import ImportedModel, InputSpec, Op, firmware_digest, forward

if TYPE_CHECKING:
    from trigkit.importers.onnx_graph import GraphModel

__all__ = [
    "ImportedModel",
    "InputSpec",
    "Op",
    "detect_format",
    "firmware_digest",
    "forward",
    "import_for_gpu",
    "import_model",
    "is_foreign_model",
    "parse_input_shapes",
]


def import_model(
    path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None = None
) -> ImportedModel:
    """Read the model at ``path``; ``input_shapes``: name -> shape without the batch axis."""
    path = Path(path)
    shapes = dict(input_shapes or {})
    kind = detect_format(path)
    if kind == "onnx":
        from trigkit.importers.onnx_import import import_onnx

        return import_onnx(path, shapes)
    if kind == "torchscript":
        from trigkit.importers.torch_import import import_torchscript

        return import_torchscript(path, shapes)
    if kind == "torch_export":
        from trigkit.importers.torch_import import import_torch_export

        return import_torch_export(path, shapes)
    if kind == "keras":
        from trigkit.importers.keras_import import import_keras

        return import_keras(path, shapes)
    if kind == "keras_h5":
        from trigkit.importers.keras_import import import_keras_h5

        return import_keras_h5(path, shapes)
    raise TrigkitError(f"{path}: a trigkit model file; load it with trigkit.models.saved")


def import_for_gpu(
    path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None = None
) -> ImportedModel | GraphModel:
    """The model for the GPU target: layer by layer where :func:`import_model` takes it (the
    float reference is then its layers' float64 numpy), else an ONNX, TorchScript or
    torch.export file as its whole graph (:mod:`trigkit.importers.onnx_graph`: any operators,
    any number of inputs)."""
    path = Path(path)
    shapes = dict(input_shapes or {})
    try:
        return import_model(path, shapes)
    except MissingDependency:
        raise
    except TrigkitError as exc:
        kind = detect_format(path)
        if kind == "onnx":
            from trigkit.importers.onnx_graph import import_onnx_graph

            return import_onnx_graph(path, shapes, chain_error=str(exc))
        if kind in ("torchscript", "torch_export"):
            from trigkit.importers.torch_graph import import_torch_graph

            return import_torch_graph(path, shapes, kind, chain_error=str(exc))
        raise


def is_foreign_model(path: str | Path) -> bool:
    """True for a model file trigkit did not write (ONNX, TorchScript, .pt2, Keras).

    A file whose content is not recognised raises the detection error when its extension is a
    model extension (.onnx, .pt, .keras, ...); otherwise it is left to trigkit's own loader.
    """
    from trigkit.importers.detect import EXTENSIONS

    path = Path(path)
    try:
        return detect_format(path) != "trigkit"
    except TrigkitError:
        if path.suffix.lower() in EXTENSIONS:
            raise
        return False


def parse_input_shapes(items: list[str] | None) -> dict[str, tuple[int, ...]]:
    """``["x:1x16", "pf:1x50x8"]`` -> ``{"x": (16,), "pf": (50, 8)}`` (the batch axis dropped)."""
    out: dict[str, tuple[int, ...]] = {}
    for item in items or []:
        name, sep, dims = item.partition(":")
        try:
            shape = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            shape = ()
        if not sep or not name or len(shape) < 2 or any(d <= 0 for d in shape):
            raise TrigkitError(
                f"--input-shape '{item}': expected NAME:BATCHxDIM[xDIM...], e.g. x:1x16"
            )
        if name in out:
            raise TrigkitError(f"--input-shape: '{name}' given twice")
        out[name] = shape[1:]
    return out
