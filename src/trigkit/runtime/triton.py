"""Export a gpu bundle as a Triton Inference Server model repository (SONIC-style serving).

Layout written (atomically, one model per call)::

    <repo>/<model>/config.pbtxt
    <repo>/<model>/<version>/model.onnx     (platform onnxruntime_onnx)
                          or model.plan     (platform tensorrt_plan, the bundle's engine)

``config.pbtxt`` declares ``max_batch_size`` (Triton then prepends the batch axis, so input and
output ``dims`` are given *without* it), the inputs/outputs with their Triton data types,
``dynamic_batching`` (preferred batch sizes, queue delay) and ``instance_group`` (count, kind).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from trigkit.bundle.manifest import TensorSpec, load_bundle
from trigkit.core.atomic import atomic_dir
from trigkit.core.errors import TrigkitError

log = logging.getLogger(__name__)

TRITON_DTYPES = {
    "float32": "TYPE_FP32",
    "float16": "TYPE_FP16",
    "bool": "TYPE_BOOL",
    "uint8": "TYPE_UINT8",
    "int8": "TYPE_INT8",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "float64": "TYPE_FP64",
}
PLATFORMS = {
    "onnx": ("onnxruntime_onnx", "model.onnx", "model.onnx"),
    "tensorrt": ("tensorrt_plan", "model.engine", "model.plan"),
}


@dataclass(frozen=True)
class TritonOptions:
    model_name: str | None = None
    backend: Literal["auto", "onnx", "tensorrt"] = "auto"
    max_batch_size: int | None = None
    instance_count: int = 1
    instance_kind: Literal["KIND_GPU", "KIND_CPU"] = "KIND_GPU"
    preferred_batch_sizes: tuple[int, ...] = field(default=(64, 256, 1024))
    max_queue_delay_us: int = 100
    version: int = 1

    def __post_init__(self) -> None:
        if self.instance_count < 1:
            raise TrigkitError(f"instance_count must be >= 1, got {self.instance_count}")
        if self.version < 1:
            raise TrigkitError(f"model version must be >= 1, got {self.version}")
        if self.max_queue_delay_us < 0:
            raise TrigkitError(f"max_queue_delay_us must be >= 0, got {self.max_queue_delay_us}")


def _tensor_block(specs: list[TensorSpec]) -> str:
    items = []
    for s in specs:
        if s.dtype not in TRITON_DTYPES:
            raise TrigkitError(f"tensor '{s.name}': dtype {s.dtype} has no Triton data type")
        dims = ", ".join(str(d) for d in s.shape[1:])
        items.append(
            f'  {{\n    name: "{s.name}"\n    data_type: {TRITON_DTYPES[s.dtype]}\n    dims: [ '
            f"{dims} ]\n  }}"
        )
    return "[\n" + ",\n".join(items) + "\n]"


def render_config(
    name: str,
    platform: str,
    max_batch: int,
    inputs: list[TensorSpec],
    outputs: list[TensorSpec],
    opts: TritonOptions,
) -> str:
    """The ``config.pbtxt`` text (protobuf text format of Triton's ModelConfig)."""
    preferred = [b for b in opts.preferred_batch_sizes if b <= max_batch] or [max_batch]
    return (
        f'name: "{name}"\n'
        f'platform: "{platform}"\n'
        f"max_batch_size: {max_batch}\n"
        f"input {_tensor_block(inputs)}\n"
        f"output {_tensor_block(outputs)}\n"
        f"instance_group [\n  {{\n    count: {opts.instance_count}\n    kind: "
        f"{opts.instance_kind}\n  }}\n]\n"
        "dynamic_batching {\n"
        f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]\n"
        f"  max_queue_delay_microseconds: {opts.max_queue_delay_us}\n"
        "}\n"
    )


def export_triton(bundle_path: Path, repo: Path, opts: TritonOptions | None = None) -> Path:
    """Write ``<repo>/<model>/`` for the gpu bundle at ``bundle_path``; return that directory."""
    from trigkit.compile.targets.gpu import read_target_info

    opts = opts or TritonOptions()
    bundle = load_bundle(bundle_path, target="gpu")
    info = read_target_info(bundle)
    backend = opts.backend
    # Triton's tensorrt_plan platform deserializes with standard TensorRT: an engine built by
    # TensorRT-RTX (e.g. the GPU-less CI build) is a different format, so it is never exported.
    plan_ok = info.tensorrt is not None and info.tensorrt.library == "tensorrt"
    if backend == "auto":
        backend = "tensorrt" if plan_ok else "onnx"
    if backend == "tensorrt" and info.tensorrt is None:
        raise TrigkitError(f"{bundle.path}: no TensorRT engine in this bundle; use --backend onnx")
    if backend == "tensorrt" and not plan_ok:
        raise TrigkitError(
            f"{bundle.path}: the engine was built with {info.tensorrt.library} "
            f"{info.tensorrt.version}, which Triton's tensorrt_plan backend "
            "cannot load; use --backend onnx or rebuild with TensorRT"
        )
    platform, src_name, dst_name = PLATFORMS[backend]
    engine_max = info.tensorrt.max_batch if (backend == "tensorrt" and info.tensorrt) else None
    max_batch = opts.max_batch_size or engine_max or info.batch_profile[2]
    if engine_max is not None and max_batch > engine_max:
        raise TrigkitError(
            f"max_batch_size {max_batch} exceeds the engine's profile maximum {engine_max}"
        )
    if max_batch < 1:
        raise TrigkitError(f"max_batch_size must be >= 1, got {max_batch}")
    name = opts.model_name or bundle.manifest.model_name
    if not name or "/" in name or name.startswith("."):
        raise TrigkitError(f"invalid Triton model name '{name}'")
    text = render_config(
        name, platform, max_batch, bundle.manifest.inputs, bundle.manifest.outputs, opts
    )
    dest = Path(repo) / name
    with atomic_dir(dest) as tmp:
        (tmp / "config.pbtxt").write_text(text)
        (tmp / str(opts.version)).mkdir()
        shutil.copy2(bundle.file(src_name), tmp / str(opts.version) / dst_name)
    log.info("Triton model '%s' (%s) written to %s", name, platform, dest)
    return dest
