"""The `gpu` compile target: trained model -> ONNX (fp32 / fp16 / int8 Q/DQ) [-> TensorRT engine].

Steps, each checked before the bundle is published:

1. export float32 ONNX (softmax in the graph, dynamic batch) and compare it with torch in
   onnxruntime on the reference rows: max abs difference <= 1e-5;
2. ``fp16``: export the fp16-typed graph, max abs difference vs torch float32 <= 1e-2;
   ``int8``: calibrate (max / percentile / entropy) into Q/DQ ONNX; with labelled rows the AUC
   of the class-0 discriminant must stay within 0.5 % of float, and the 99th percentile of the
   per-row max abs difference must stay <= 0.2 (the max is reported);
3. when a TensorRT library is importable (``engine="auto"``), build ``model.engine`` with a
   ``min/opt/max`` batch profile; the TensorRT version and GPU name go into ``target_info``;
4. write the bundle: ``model.onnx``, ``model.engine`` (if built), ``model.pt`` (the source model,
   for the torch runner), ``reference.npz`` (256 rows and the probabilities they must give).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from trigkit.bundle.manifest import Bundle, LayerInfo, load_bundle, new_manifest, write_bundle
from trigkit.compile.tensorrt_build import EngineInfo
from trigkit.core.errors import TrigkitError
from trigkit.core.validated import Validated

if TYPE_CHECKING:
    from trigkit.compile.gpu_model import GpuModel, InputRows

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
REFERENCE_ROWS = 256
# max |runner - reference.npz| any runtime must hold, per precision
REFERENCE_TOLERANCE = {"fp32": 1e-5, "fp16": 1e-2, "int8": 5e-2}
OUTPUT_SEMANTICS = "probabilities: softmax over class_names inside the graph (sigmoid for 1 logit)"


class Int8Info(Validated):
    calibration: str
    calibration_rows: int
    calibration_source: str
    max_abs_diff_vs_float: float
    p99_abs_diff_vs_float: float
    auc_float: float | None = None
    auc_int8: float | None = None
    auc_relative_change: float | None = None
    auc_tolerance: float


class GpuTargetInfo(Validated):
    """``manifest.target_info`` of a gpu bundle."""

    onnx_opset: int
    output: str
    output_semantics: str = OUTPUT_SEMANTICS
    class_names: list[str]
    max_abs_diff_vs_torch: float
    tolerance_vs_torch: float
    reference_source: str
    batch_profile: tuple[int, int, int]
    torch_model: str | None = None
    int8: Int8Info | None = None
    tensorrt: EngineInfo | None = None
    tensorrt_skipped: str = ""
    imported: dict[str, Any] | None = None  # trigkit.compile.targets.imported.ImportedInfo


def read_target_info(bundle: Bundle) -> GpuTargetInfo:
    return GpuTargetInfo.parse(
        bundle.manifest.target_info, f"{bundle.path}: gpu target_info invalid"
    )


def compile_gpu(
    model_path: Path,
    out: Path,
    *,
    precision: str = "fp32",
    min_batch: int = 1,
    opt_batch: int = 1024,
    max_batch: int = 65536,
    calibration: str = "entropy",
    calib_events: Path | None = None,
    engine: Literal["auto", "always", "never"] = "auto",
    timing_cache: Path | None = None,
) -> Bundle:
    """Compile the saved model at ``model_path`` into a gpu bundle at ``out``.

    A model file trigkit did not write is compiled by
    :func:`trigkit.compile.targets.imported.compile_imported_gpu` (``TARGETS`` dispatches).
    """
    from trigkit.compile.gpu_model import load_gpu_model

    return compile_gpu_model(
        load_gpu_model(Path(model_path)),
        Path(out),
        precision=precision,
        min_batch=min_batch,
        opt_batch=opt_batch,
        max_batch=max_batch,
        calibration=calibration,
        calib_events=calib_events,
        engine=engine,
        timing_cache=timing_cache,
    )


def compile_gpu_model(
    model: GpuModel,
    out: Path,
    *,
    precision: str = "fp32",
    min_batch: int = 1,
    opt_batch: int = 1024,
    max_batch: int = 65536,
    calibration: str = "entropy",
    calib_events: Path | None = None,
    calib_rows: InputRows | None = None,
    engine: Literal["auto", "always", "never"] = "auto",
    timing_cache: Path | None = None,
) -> Bundle:
    """Compile an in-memory :class:`GpuModel`; ``calib_rows`` overrides ``calib_events``."""
    from trigkit.compile.gpu_model import read_inputs, synthetic_inputs
    from trigkit.compile.int8 import Int8Config

    if precision not in PRECISIONS:
        raise TrigkitError(f"unknown GPU precision '{precision}'; valid: {', '.join(PRECISIONS)}")
    if not 1 <= min_batch <= opt_batch <= max_batch:
        raise TrigkitError(
            f"batch profile needs 1 <= min <= opt <= max; got {min_batch}/{opt_batch}/{max_batch}"
        )
    if engine not in ("auto", "always", "never"):
        raise TrigkitError(f"engine='{engine}' unknown; valid: auto, always, never")
    int8_cfg = Int8Config(calibration=calibration) if precision == "int8" else None  # type: ignore[arg-type]
    rows = calib_rows or (read_inputs(calib_events, model) if calib_events else None)
    if precision == "int8" and rows is None:
        raise TrigkitError(
            "INT8 needs calibration data: pass --calib-events (events file or .npz of inputs)"
        )
    ref_inputs = (
        {k: v[:REFERENCE_ROWS] for k, v in rows.inputs.items()}
        if rows is not None
        else synthetic_inputs(model, REFERENCE_ROWS)
    )
    specs = model.input_specs()
    manifest = _manifest(model, precision, specs)
    with write_bundle(out, manifest) as writer:
        onnx_path = writer.path("model.onnx")
        diff, int8_info = _export_graph(
            model, precision, onnx_path, ref_inputs, rows, int8_cfg, writer.root
        )
        writer.save_reference(ref_inputs, {"probs": _onnx_outputs(onnx_path, ref_inputs)})
        trt_info, skipped = _maybe_engine(
            engine,
            onnx_path,
            writer.path("model.engine"),
            specs,
            precision,
            (min_batch, opt_batch, max_batch),
            timing_cache,
        )
        torch_model = "model.pt" if model.save_source(writer.path("model.pt")) else None
        manifest.backend = "tensorrt" if trt_info is not None else "onnxruntime"
        manifest.target_info = GpuTargetInfo(
            onnx_opset=_opset(onnx_path),
            output="probs",
            class_names=list(model.class_names),
            max_abs_diff_vs_torch=diff,
            tolerance_vs_torch=_torch_tolerance(precision),
            reference_source=rows.source if rows is not None else "synthetic N(0,1) rows, seed 0",
            batch_profile=(min_batch, opt_batch, max_batch),
            torch_model=torch_model,
            int8=int8_info,
            tensorrt=trt_info,
            tensorrt_skipped=skipped,
        ).model_dump(mode="json")
    return load_bundle(out, target="gpu")


def _torch_tolerance(precision: str) -> float:
    from trigkit.compile.onnx_run import TOLERANCE

    return TOLERANCE[precision]


def _manifest(model: GpuModel, precision: str, specs: list) -> object:
    from trigkit.bundle.manifest import TensorSpec

    n_cls = len(model.class_names)
    return new_manifest(
        target="gpu",
        backend="onnxruntime",
        model_name=model.name,
        precision=precision,
        inputs=specs,
        outputs=[
            TensorSpec(name="probs", shape=(-1, n_cls), dtype="float32", features=model.class_names)
        ],
        layers=_layers(model, precision),
        reference_tolerance=REFERENCE_TOLERANCE[precision],
    )


def _layers(model: GpuModel, precision: str) -> list[LayerInfo]:
    from torch import nn

    kinds = (nn.Linear, nn.Conv1d, nn.MultiheadAttention, nn.LayerNorm)
    desc = {
        "fp32": {"weight": "float32", "activation": "float32"},
        "fp16": {"weight": "float16", "activation": "float16"},
        "int8": {"weight": "int8 per-channel symmetric", "activation": "int8 per-tensor symmetric"},
    }[precision]
    out = []
    for name, mod in model.module.named_modules():
        if isinstance(mod, kinds):
            prec = (
                desc
                if (precision != "int8" or isinstance(mod, nn.Linear))
                else {"weight": "float32"}
            )
            w = getattr(mod, "weight", None)
            sparsity = float((w == 0).float().mean()) if w is not None else 0.0
            out.append(
                LayerInfo(name=name, kind=type(mod).__name__, precision=prec, sparsity=sparsity)
            )
    return out


def _export_graph(
    model: GpuModel,
    precision: str,
    onnx_path: Path,
    ref_inputs: dict[str, np.ndarray],
    rows: InputRows | None,
    int8_cfg: object,
    tmpdir: Path,
) -> tuple[float, Int8Info | None]:
    from trigkit.compile import onnx_export

    if precision == "fp32":
        onnx_export.export_onnx(model.module, ref_inputs, onnx_path)
        return onnx_export.check_against_torch(onnx_path, model.module, ref_inputs, "fp32"), None
    if precision == "fp16":
        from trigkit.compile.fp16 import export_fp16, fp16_overflow_risk

        if bad := fp16_overflow_risk(ref_inputs):
            log.warning("inputs %s exceed float16 range; they become inf in fp16", bad)
        export_fp16(model.module, ref_inputs, onnx_path)
        return onnx_export.check_against_torch(onnx_path, model.module, ref_inputs, "fp16"), None
    fp32_path = tmpdir.parent / f".{tmpdir.name}.fp32.onnx"
    try:
        onnx_export.export_onnx(model.module, ref_inputs, fp32_path)
        onnx_export.check_against_torch(fp32_path, model.module, ref_inputs, "fp32")
        return _int8(model, fp32_path, onnx_path, rows, int8_cfg)  # type: ignore[arg-type]
    finally:
        fp32_path.unlink(missing_ok=True)


def _int8(
    model: GpuModel, fp32_path: Path, onnx_path: Path, rows: InputRows, cfg: object
) -> tuple[float, Int8Info]:
    from trigkit.compile import int8, onnx_run

    int8.quantize_int8(fp32_path, onnx_path, rows.inputs, cfg)  # type: ignore[arg-type]
    p_float = onnx_run.onnx_probabilities(fp32_path, rows.inputs)
    p_int8 = onnx_run.onnx_probabilities(onnx_path, rows.inputs)
    diff = onnx_run.max_abs_diff(p_int8, p_float)
    info = {
        "calibration": cfg.calibration,
        "calibration_rows": len(p_float),  # type: ignore[attr-defined]
        "calibration_source": rows.source,
        "auc_tolerance": int8.AUC_TOLERANCE,
        "max_abs_diff_vs_float": diff,
        "p99_abs_diff_vs_float": float(np.percentile(np.abs(p_int8 - p_float).max(axis=1), 99)),
    }
    if rows.labels is not None and len(np.unique(rows.labels == 0)) == 2:
        chk = int8.compare_auc(p_float, p_int8, rows.labels)
        info |= {
            "auc_float": chk.auc_float,
            "auc_int8": chk.auc_int8,
            "auc_relative_change": chk.auc_change,
        }
        if abs(chk.auc_change) > int8.AUC_TOLERANCE:
            raise TrigkitError(
                f"{model.name}: INT8 ({cfg.calibration} calibration) changes the AUC by "  # type: ignore[attr-defined]
                f"{100 * chk.auc_change:+.2f} % (allowed "
                f"+-{100 * int8.AUC_TOLERANCE:.1f} %); try another --calibration"
            )
    tol = onnx_run.TOLERANCE["int8"]
    if not info["p99_abs_diff_vs_float"] <= tol:
        raise TrigkitError(
            f"{model.name}: INT8 ({cfg.calibration} calibration) moves 1 % of "  # type: ignore[attr-defined]
            f"the rows' probabilities by more than {info['p99_abs_diff_vs_float']:.3g} "
            f"(bound {tol} on the 99th percentile); try another --calibration"
        )
    log.info("int8: max |p_int8 - p_float| = %.3g on %d rows", diff, len(p_float))
    return diff, Int8Info(**info)


def _onnx_outputs(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    from trigkit.compile.onnx_run import onnx_probabilities

    return onnx_probabilities(path, inputs)


def _opset(path: Path) -> int:
    from trigkit.compile.onnx_run import load_onnx

    model = load_onnx(path)
    return max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))  # type: ignore[attr-defined]


def _maybe_engine(
    mode: str,
    onnx_path: Path,
    engine_path: Path,
    specs: list,
    precision: str,
    batches: tuple[int, int, int],
    timing_cache: Path | None,
) -> tuple[EngineInfo | None, str]:
    from trigkit.compile import tensorrt_build

    if mode == "never":
        return None, "engine build disabled (engine='never')"
    ok, why = tensorrt_build.probe()
    if not ok:
        if mode == "always":
            tensorrt_build.import_tensorrt()  # raises MissingDependency naming the extra
        return None, why
    info = tensorrt_build.build_engine(
        onnx_path,
        engine_path,
        specs,
        precision=precision,
        min_batch=batches[0],
        opt_batch=batches[1],
        max_batch=batches[2],
        timing_cache=timing_cache,
    )
    return info, ""


def available() -> tuple[bool, str]:
    from trigkit.core.lazy import probe

    ok, why = probe("onnx")
    if not ok:
        return False, f"{why} (pip install 'trigkit[gpu]')"
    from trigkit.compile.tensorrt_build import probe as trt_probe

    trt_ok, trt_why = trt_probe()
    return True, "ONNX" + (
        f" + TensorRT engines ({trt_why})" if trt_ok else " only (no TensorRT library)"
    )


SUMMARY = "ONNX (fp32/fp16/int8 Q/DQ) + TensorRT engine for HLT GPUs"
