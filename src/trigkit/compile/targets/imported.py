"""Compile a model trained anywhere (``trigkit.importers``) for the FPGA or the GPU.

Both targets keep the user's file in the bundle (``source/<name>``) so ``trigkit compare`` can
run the original again, and record where it came from in ``target_info.imported``
(:class:`ImportedInfo`).

- fpga: :func:`~trigkit.importers.firmware.to_firmware_network` -> the same hls4ml project,
  C simulation and bit-exact check as trigkit's own taggers
  (:func:`trigkit.compile.targets.fpga.compile_network`); the float outputs stored beside the
  firmware's come from the original graph (numpy reference), so the accuracy cost is known.
- gpu: the ONNX graph (the user's own for ``.onnx``; torch / Keras sources converted), fixed
  input shapes, a dynamic batch axis and its single output named ``probs`` (the runtime's
  name); fp32 is checked against the float reference of the original graph, fp16 is that
  graph retyped (:mod:`trigkit.compile.onnx_fp16`) and checked against the same reference, int8
  is calibrated on ``--calib-data``; a TensorRT engine is built where TensorRT is present.
  ``target_info.imported.artifacts`` / ``not_built`` say what the bundle holds and what it
  does not (the engine, with the reason), so nothing falls back silently. A model the layer
  importer does not take (several inputs, kNN, attention) is compiled as its whole graph
  (:mod:`trigkit.importers.onnx_graph`, :func:`graph_source`): its float reference is the ONNX
  reference implementation, or torch for a torch file, and every input has its own rows.
  Both paths end in one :class:`GpuSource` and one writer, :func:`build_gpu_bundle`.
"""

from __future__ import annotations

import functools
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from trigkit.bundle.manifest import Bundle, TensorSpec, load_bundle, new_manifest, write_bundle
from trigkit.compile.targets import gpu as gpu_target
from trigkit.compile.targets.fpga import apply_build_options, compile_network
from trigkit.compile.targets.gpu import GpuTargetInfo, _opset
from trigkit.core.errors import TrigkitError
from trigkit.importers import ImportedModel, forward, import_model
from trigkit.importers.data import Rows, read_rows
from trigkit.importers.onnx_graph import GraphModel
from trigkit.importers.preprocessing import FeatureScaling, load_scaling

log = logging.getLogger(__name__)
SOURCE_DIR = "source"
SYNTHETIC_ROWS = 20_000
GPU_REFERENCE_ROWS = 256
GPU_PRECISIONS = ("fp32", "fp16", "int8")
FP32_TOLERANCE = 1e-4  # onnxruntime float32 vs the float64 numpy reference of the graph
FP16_TOLERANCE = gpu_target.REFERENCE_TOLERANCE["fp16"]  # fp16 graph vs the same reference


@dataclass(frozen=True)
class ImportOptions:
    """What ``trigkit compile`` adds for a foreign model file."""

    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    preprocessing: Path | None = None
    calib_data: Path | None = None
    bits: int | None = None
    scan_bits: tuple[int, ...] = ()  # fpga: widths whose cost to report (see imported_scan)


class ImportedInfo(BaseModel):
    """``target_info.imported`` of a bundle built from a foreign model file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    source_file: str
    format: str
    input: str  # the first input (the only one of a layer-by-layer import)
    input_shape: tuple[int, ...]
    inputs: dict[str, tuple[int, ...]] | None = None  # a whole graph: every input, in order
    whole_graph: str | None = None  # why the whole graph (the layer importer's refusal)
    channels_first: bool = False
    preprocessing: dict[str, Any] | None = None
    calibration: str = ""
    width_scan: list[dict[str, Any]] | None = None
    float_reference: str = "trigkit.importers.graph.forward (numpy float64) of the imported graph"
    max_abs_diff_vs_float: float | None = None  # gpu: model.onnx vs float_reference, ref rows
    artifacts: dict[str, str] | None = None  # gpu: file -> what it is
    not_built: dict[str, str] | None = None  # gpu: artifact -> why it is not in the bundle


def info_inputs(info: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Input name -> shape (batch excluded) of a ``target_info.imported`` record, in the
    model's input order (bundles of one input, older ones included, record only ``input``)."""
    if info.get("inputs"):
        return {k: tuple(v) for k, v in info["inputs"].items()}
    return {info["input"]: tuple(info["input_shape"])}


@dataclass(frozen=True)
class Prepared:
    model: ImportedModel
    scaling: FeatureScaling | None
    rows: Rows | None


def prepare(path: Path, options: ImportOptions) -> Prepared:
    """Import the file, read the preprocessing and calibration rows, check they fit together."""
    return _prepared(import_model(path, options.input_shapes), options)


def _prepared(model: ImportedModel, options: ImportOptions) -> Prepared:
    scaling = load_scaling(options.preprocessing) if options.preprocessing else None
    if scaling is not None:
        scaling.check_width(_feature_width(model), str(options.preprocessing))
    rows = None
    if options.calib_data is not None:
        rows = read_rows(options.calib_data, model.input.name, model.input.shape, scaling)
    return Prepared(model, scaling, rows)


def _feature_width(model: ImportedModel) -> int:
    shape = model.input.shape
    return shape[0] if model.channels_first else shape[-1]


def _info(p: Prepared, source_file: str) -> ImportedInfo:
    m = p.model
    return ImportedInfo(
        source=str(m.source),
        source_file=source_file,
        format=m.format,
        input=m.input.name,
        input_shape=m.input.shape,
        channels_first=m.channels_first,
        preprocessing=p.scaling.to_dict() if p.scaling else None,
        calibration=p.rows.source if p.rows else f"synthetic N(0,1), {SYNTHETIC_ROWS} rows",
    )


def _calibration(p: Prepared, seed: int = 0) -> np.ndarray:
    if p.rows is not None:
        return p.rows.x
    log.warning("no --calib-data: integer bits and int8 ranges come from N(0, 1) inputs")
    return np.random.default_rng(seed).normal(size=(SYNTHETIC_ROWS, *p.model.input.shape))


def _copy_source(model: ImportedModel, root: Path) -> str:
    name = f"{SOURCE_DIR}/{model.source.name}"
    dest = root / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model.source, dest)
    return name


# -- fpga -------------------------------------------------------------------------------------
def compile_imported_fpga(
    path: Path,
    out: Path,
    options: ImportOptions,
    config: Any,
    *,
    csim_dir: Path | None = None,
    rtl_dir: Path | None = None,
) -> Bundle:
    """FPGA bundle of a foreign model file (``config``: an ``FpgaCompileConfig``)."""
    from trigkit.compile.fpga_reference import ReferenceSet, reference_set
    from trigkit.compile.layer_pins import apply_pins
    from trigkit.importers.firmware import FirmwareOptions, flat_rows, to_firmware_network
    from trigkit.importers.set_firmware import source_rows

    p = prepare(path, options)
    calib = _calibration(p, config.seed)
    scan = None
    if options.scan_bits:
        from trigkit.compile.imported_scan import scan_widths

        labels_ = p.rows.labels if p.rows is not None else None
        scan = [c.to_dict() for c in scan_widths(p.model, calib, labels_, options.scan_bits)]
    fw_opt = FirmwareOptions(bits=options.bits) if options.bits else FirmwareOptions()
    names = p.scaling.names if p.scaling else None
    network = to_firmware_network(p.model, calib, fw_opt, names)
    network = apply_pins(network, p.model, config.layer_pins, "--layer-precision")
    network = apply_build_options(network, config)
    labels = p.rows.labels if p.rows is not None else None
    ref = reference_set(
        network,
        config.n_reference,
        seed=config.seed,
        rows=flat_rows(p.model, calib),
        labels=labels,
        n_labelled=config.n_labelled if labels is not None else 0,
        n_unlabelled=config.n_reference,  # without labels: calibration rows, as many
    )
    with np.errstate(all="ignore"):  # the float reference of the original graph
        y = forward(p.model, source_rows(p.model, ref.x))
        ref = ReferenceSet(ref.x, ref.labels, y, ref.n_calibration)
    with tempfile.TemporaryDirectory(prefix="trigkit-src-") as tmp:
        source_file = _copy_source(p.model, Path(tmp))
        info = {
            "preprocessing": p.scaling.to_dict() if p.scaling else None,
            "calibration": _info(p, source_file).calibration,
            "labelled_rows": ref.n_labelled,
            "calibration_rows": ref.n_calibration,
            "imported": _info(p, source_file)
            .model_copy(update={"width_scan": scan})
            .model_dump(mode="json"),
        }
        bundle, _ = compile_network(
            network,
            out,
            config=config,
            info=info,
            input_name=p.model.input.name,
            csim_dir=csim_dir,
            reference=ref,
            rtl_dir=rtl_dir,
            extra_files={source_file: Path(tmp) / source_file},
        )
    return bundle


# -- gpu --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GpuSource:
    """What a gpu bundle of a foreign model is built from, whichever importer read the file:
    its float32 graph (one output, ``probs``), the float reference of the original on a feed,
    the reference rows and, for INT8, the calibration rows."""

    model: ImportedModel | GraphModel
    specs: tuple[TensorSpec, ...]
    fp32: bytes
    reference: Callable[[dict[str, np.ndarray]], np.ndarray]
    ref_feed: dict[str, np.ndarray]
    calib_feed: dict[str, np.ndarray] | None
    quantized: bool  # the source pins its own types (fp16 would change them)
    info: ImportedInfo


def compile_imported_gpu(
    path: Path,
    out: Path,
    options: ImportOptions,
    *,
    precision: str = "fp32",
    batches: tuple[int, int, int] = (1, 1024, 65536),
    calibration: str = "entropy",
    engine: str = "auto",
    timing_cache: Path | None = None,
) -> Bundle:
    """GPU bundle (ONNX [+ TensorRT engine]) of a foreign model file: layer by layer where the
    importer takes it (float64 reference of its layers), else the whole graph (any operators and
    inputs; :mod:`trigkit.importers.onnx_graph`)."""
    from trigkit.importers import import_for_gpu

    if precision not in GPU_PRECISIONS:
        raise TrigkitError(
            f"--precision {precision} for an imported model; valid: {', '.join(GPU_PRECISIONS)}"
        )
    model = import_for_gpu(path, options.input_shapes)
    if isinstance(model, GraphModel):
        src = graph_source(model, options)
    else:
        src = _chain_source(_prepared(model, options))
    if precision == "int8" and src.calib_feed is None:
        raise TrigkitError("INT8 needs calibration rows: pass --calib-data FILE.npz|parquet")
    return build_gpu_bundle(src, out, precision, batches, calibration, engine, timing_cache)


def _chain_source(p: Prepared) -> GpuSource:
    m = p.model
    calib = _calibration(p)
    features = p.scaling.names if p.scaling else ()
    shape = (-1, *m.input.shape)
    return GpuSource(
        model=m,
        specs=(TensorSpec(name=m.input.name, shape=shape, dtype="float32", features=features),),
        fp32=gpu_graph(m),
        reference=lambda feed: forward(m, feed[m.input.name]),
        ref_feed={m.input.name: calib[:GPU_REFERENCE_ROWS].astype(np.float32)},
        calib_feed=None if p.rows is None else {m.input.name: p.rows.x.astype(np.float32)},
        quantized=m.is_quantized(),
        info=_info(p, ""),
    )


def graph_source(model: GraphModel, options: ImportOptions) -> GpuSource:
    """A whole graph: every input N(0, 1) or from ``--calib-data`` (one array per input)."""
    from trigkit.importers.data import read_feed
    from trigkit.importers.onnx_graph import graph_reference, synthetic_feed

    if options.preprocessing is not None:
        raise TrigkitError(
            f"--preprocessing {options.preprocessing}: scales the features of a model's one "
            f"input; {model.source} is compiled as a whole graph with inputs "
            f"{', '.join(model.input_names)} (preprocess inside the model, or give the model's "
            "inputs with --calib-data)"
        )
    data = read_feed(options.calib_data, model.shapes()) if options.calib_data else None
    feed = data.feed if data else synthetic_feed(model, GPU_REFERENCE_ROWS)
    fp32 = graph_with_probs(model.onnx, str(model.source))
    if model.format == "onnx":
        reference = functools.partial(graph_reference, model.onnx, str(model.source))
    else:
        from trigkit.importers.torch_graph import torch_reference

        reference = functools.partial(torch_reference, model)
    first = model.inputs[0]
    info = ImportedInfo(
        source=str(model.source),
        source_file="",
        format=model.format,
        input=first.name,
        input_shape=first.shape,
        inputs={i.name: i.shape for i in model.inputs},
        calibration=data.source if data else f"synthetic N(0,1), {GPU_REFERENCE_ROWS} rows",
        float_reference=model.reference,
        whole_graph=model.chain_error or "the whole ONNX graph",
    )
    return GpuSource(
        model=model,
        specs=tuple(
            TensorSpec(name=i.name, shape=(-1, *i.shape), dtype="float32") for i in model.inputs
        ),
        fp32=fp32,
        reference=reference,
        ref_feed={k: v[:GPU_REFERENCE_ROWS] for k, v in feed.items()},
        calib_feed=data.feed if data else None,
        quantized=False,
        info=info,
    )


def build_gpu_bundle(
    src: GpuSource,
    out: Path,
    precision: str,
    batches: tuple[int, int, int],
    calibration: str,
    engine: str,
    timing_cache: Path | None,
) -> Bundle:
    """Write the gpu bundle of ``src``: the graph of ``precision`` checked against the float
    reference, the reference rows and their outputs, the original file, a TensorRT engine
    where TensorRT is present."""
    m = src.model
    with np.errstate(all="ignore"):
        want = src.reference(src.ref_feed)
    n_out = int(want.shape[-1])
    classes = tuple(f"out{i}" for i in range(n_out))
    manifest = new_manifest(
        target="gpu",
        backend="onnxruntime",
        model_name=m.name,
        precision=precision,
        inputs=list(src.specs),
        outputs=[TensorSpec(name="probs", shape=(-1, n_out), dtype="float32", features=classes)],
        reference_tolerance=_reference_tolerance(precision),
    )
    with write_bundle(out, manifest) as writer:
        onnx_path = writer.path("model.onnx")
        fp32 = writer.root.parent / f".{writer.root.name}.fp32.onnx"
        try:
            fp32.write_bytes(src.fp32)
            diff = check_fp32(fp32, m.source, want, src.ref_feed)
            if precision == "int8":
                _int8(fp32, onnx_path, src, calibration)
            elif precision == "fp16":
                _fp16(fp32, onnx_path, src)
            else:
                shutil.copy2(fp32, onnx_path)
        finally:
            fp32.unlink(missing_ok=True)
        y = run_onnx(onnx_path, src.ref_feed)
        writer.save_reference(src.ref_feed, {"probs": y})
        vs_float = _max_diff(y, want)
        if precision == "fp16" and not vs_float <= FP16_TOLERANCE:
            raise TrigkitError(
                f"{m.source}: the fp16 graph moves the outputs by {vs_float:.3g} (bound "
                f"{FP16_TOLERANCE:g} vs the float reference); use --precision fp32"
            )
        source_file = _copy_source(m, writer.root)
        info = src.info.model_copy(update={"source_file": source_file})
        specs = list(src.specs)
        trt, skipped = gpu_target._maybe_engine(
            engine, onnx_path, writer.path("model.engine"), specs, precision, batches, timing_cache
        )
        if trt is None:
            writer.path("model.engine").unlink(missing_ok=True)
        manifest.backend = "tensorrt" if trt is not None else "onnxruntime"
        manifest.target_info = GpuTargetInfo(
            onnx_opset=_opset(onnx_path),
            output="probs",
            output_semantics="the imported model's own output, as its original graph computes it",
            class_names=list(classes),
            max_abs_diff_vs_torch=diff,
            tolerance_vs_torch=FP32_TOLERANCE,
            reference_source=info.calibration,
            batch_profile=batches,
            tensorrt=trt,
            tensorrt_skipped=skipped,
            imported=info.model_copy(
                update=_built(precision, source_file, trt, skipped, vs_float)
            ).model_dump(mode="json"),
        ).model_dump(mode="json")
    return load_bundle(out, target="gpu")


_GRAPHS = {
    "fp32": "float32 ONNX graph",
    "fp16": "fp16-typed ONNX graph (float16 weights and arithmetic, float32 input and output)",
    "int8": "INT8 Q/DQ ONNX graph (first and last dense layers in float)",
}


def _reference_tolerance(precision: str) -> float:
    return FP32_TOLERANCE if precision == "fp32" else gpu_target.REFERENCE_TOLERANCE[precision]


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0


def _built(
    precision: str, source_file: str, trt: Any, skipped: str, vs_float: float
) -> dict[str, Any]:
    """What the bundle holds and what it does not, for ``ImportedInfo``."""
    artifacts = {
        "model.onnx": f"{_GRAPHS[precision]}, run by onnxruntime",
        "reference.npz": f"{GPU_REFERENCE_ROWS} rows and the outputs model.onnx gives",
        source_file: "the original model file (trigkit compare runs it)",
    }
    not_built = {}
    if trt is not None:
        artifacts["model.engine"] = f"TensorRT {precision} engine ({trt.library} {trt.version})"
    else:
        not_built["model.engine"] = f"TensorRT {precision} engine: {skipped}"
    return {"artifacts": artifacts, "not_built": not_built, "max_abs_diff_vs_float": vs_float}


def _fp16(fp32: Path, onnx_path: Path, src: GpuSource) -> None:
    from trigkit.compile.onnx_fp16 import to_fp16_graph

    if src.quantized:
        raise TrigkitError(
            f"{src.model.source}: a quantized model (its types are pinned by the source); "
            "--precision fp16 would change them - use --precision fp32"
        )
    onnx_path.write_bytes(to_fp16_graph(fp32.read_bytes(), str(src.model.source)))


def gpu_graph(model: ImportedModel) -> bytes:
    """The ONNX bytes for the GPU: one output renamed ``probs``, float32 input."""
    from trigkit.core.lazy import require
    from trigkit.importers.onnx_build import build_onnx

    onnx = require("onnx", "gpu")
    proto = onnx.load_model_from_string(model.onnx) if model.onnx else None
    if proto is None or not runs_in_onnxruntime(proto):  # Keras; QONNX's Quant nodes
        return graph_with_probs(build_onnx(model), str(model.source))
    return graph_with_probs(model.onnx, str(model.source))


def graph_with_probs(onnx_bytes: bytes, where: str) -> bytes:
    """``onnx_bytes`` with its one output renamed ``probs`` (the runtime's name), batch free."""
    from trigkit.core.lazy import require

    onnx = require("onnx", "gpu")
    proto = onnx.load_model_from_string(onnx_bytes)
    g = proto.graph
    if len(g.output) != 1:
        raise TrigkitError(f"{where}: {len(g.output)} outputs; the gpu target takes one")
    old = g.output[0].name
    for node in g.node:
        node.output[:] = ["probs" if o == old else o for o in node.output]
    g.output[0].name = "probs"
    g.output[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def runs_in_onnxruntime(proto: Any) -> bool:
    """Only standard ONNX operators (not QONNX's custom ``Quant`` domain)."""
    return all(node.domain in ("", "ai.onnx") for node in proto.graph.node)


def run_onnx(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """onnxruntime on CPU, one thread (what the reference outputs are)."""
    from trigkit.compile.onnx_run import onnx_probabilities

    return onnx_probabilities(path, inputs)


def check_fp32(path: Path, source: Path, want: np.ndarray, inputs: dict[str, np.ndarray]) -> float:
    """max |onnxruntime(graph) - ``want``| (the float reference on ``inputs``); raise beyond
    1e-4."""
    got = run_onnx(path, inputs).astype(np.float64)
    if got.shape != want.shape:
        raise TrigkitError(
            f"{source}: onnxruntime gives outputs of shape {got.shape}, the float reference "
            f"{want.shape}"
        )
    diff = float(np.max(np.abs(got - want))) if got.size else 0.0
    if not diff <= FP32_TOLERANCE:
        raise TrigkitError(
            f"{source}: the ONNX graph in onnxruntime and the float reference disagree by "
            f"{diff:.3g} (tolerance {FP32_TOLERANCE:g}); please report this model"
        )
    return diff


def _int8(fp32: Path, onnx_path: Path, src: GpuSource, calibration: str) -> None:
    from trigkit.compile.int8 import Int8Config, dense_nodes, quantize_int8

    assert src.calib_feed is not None
    n_dense = len(dense_nodes(fp32))  # the layers quantize_int8 chooses from
    if n_dense <= 2:
        raise TrigkitError(
            f"{src.model.source}: INT8 keeps the first and last dense layers in float and this "
            f"model has {n_dense}; nothing would be quantized - use --precision fp32"
        )
    rows = src.calib_feed
    cfg = Int8Config(calibration=calibration)  # type: ignore[arg-type]
    quantize_int8(fp32, onnx_path, rows, cfg)
    y8, yf = run_onnx(onnx_path, rows), run_onnx(fp32, rows)
    p99 = float(np.percentile(np.abs(y8 - yf).max(axis=1), 99))
    if not p99 <= 0.2:
        raise TrigkitError(
            f"{src.model.source}: INT8 ({calibration}) moves 1 % of the rows by more than "
            f"{p99:.3g} (bound 0.2 on the 99th percentile); try another --calibration"
        )
    log.info("int8: 99th percentile of max |int8 - fp32| = %.3g", p99)
