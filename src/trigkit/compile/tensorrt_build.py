"""Build serialized TensorRT engines from ONNX through TensorRT's Python API.

Works with the full ``tensorrt`` package (data-centre GPUs) or ``tensorrt_rtx`` (TensorRT for
RTX, installable from PyPI; its builder parses and builds ahead-of-time without a GPU, which is
how CI proves every exported graph is accepted by a TensorRT ONNX parser). The library is
imported only inside these functions.

* explicit batch (the default network mode of TensorRT 10 and RTX), one optimization profile
  ``min/opt/max`` over the batch axis of every input;
* precision: fp16 / int8 graphs are already typed (fp16 casts, Q/DQ nodes); weakly typed
  TensorRT additionally gets ``BuilderFlag.FP16`` / ``INT8`` so it may pick those kernels;
* an optional timing cache file is loaded before and saved after the build;
* :class:`EngineInfo` records library, version, GPU name and compute capability; an engine is
  refused (:func:`check_engine_compatible`) on any other library version or GPU.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Literal

from trigkit.bundle.manifest import TensorSpec
from trigkit.core import cuda_device
from trigkit.core.atomic import atomic_path
from trigkit.core.errors import MissingDependency, TrigkitError
from trigkit.core.validated import Validated

log = logging.getLogger(__name__)

LIBRARIES = ("tensorrt", "tensorrt_rtx")
NO_GPU = "none (ahead-of-time build without a GPU)"


class EngineInfo(Validated):
    """What an engine was built with/for; stored in the bundle manifest's ``target_info``."""

    library: Literal["tensorrt", "tensorrt_rtx"]
    version: str
    gpu_name: str
    compute_capability: str
    precision: str
    min_batch: int
    opt_batch: int
    max_batch: int
    engine_bytes: int


def import_tensorrt() -> ModuleType:
    """``tensorrt`` if importable, else ``tensorrt_rtx``, else MissingDependency(extra=gpu)."""
    import importlib

    errors = []
    for name in LIBRARIES:
        try:
            return importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - broken installs count as absent
            errors.append(f"{name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    raise MissingDependency("tensorrt", "gpu", detail="; ".join(errors))


def probe() -> tuple[bool, str]:
    try:
        trt = import_tensorrt()
    except MissingDependency as exc:
        return False, str(exc)
    return True, f"{trt.__name__} {trt.__version__}"


def current_gpu() -> tuple[str, str]:
    """(name, compute capability) of CUDA device 0, or (NO_GPU, 'none'), from the driver."""
    dev = cuda_device.device0()
    if dev is None:
        return NO_GPU, "none"
    return dev.name, dev.compute_capability


def _library_name(trt: ModuleType) -> str:
    return "tensorrt_rtx" if trt.__name__.startswith("tensorrt_rtx") else "tensorrt"


def _logger(trt: ModuleType) -> object:
    # TensorRT keeps one process-wide logger; reuse it so later builders do not warn
    global _TRT_LOGGER
    if _TRT_LOGGER is None or _TRT_LOGGER[0] is not trt:
        _TRT_LOGGER = (trt, trt.Logger(trt.Logger.WARNING))
    return _TRT_LOGGER[1]


_TRT_LOGGER: tuple[ModuleType, object] | None = None


def parse_onnx(onnx_path: Path) -> tuple[ModuleType, object, object]:
    """Parse ONNX into a TensorRT network; parser errors raise TrigkitError naming the file."""
    trt = import_tensorrt()
    builder = trt.Builder(_logger(trt))
    flags = 0
    if (
        hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH")
        and int(trt.__version__.split(".")[0]) < 10
    ):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, _logger(trt))
    if not parser.parse(Path(onnx_path).read_bytes()):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise TrigkitError(f"{onnx_path}: {trt.__name__} ONNX parser rejected the graph: {errs}")
    # keep the parser alive as long as the network (it owns the weights)
    return trt, builder, (network, parser)


def build_engine(
    onnx_path: Path,
    engine_path: Path,
    inputs: list[TensorSpec],
    *,
    precision: str = "fp32",
    min_batch: int = 1,
    opt_batch: int = 1024,
    max_batch: int = 65536,
    timing_cache: Path | None = None,
) -> EngineInfo:
    """Parse, build and serialize an engine for ``onnx_path``; write it atomically."""
    if not 1 <= min_batch <= opt_batch <= max_batch:
        raise TrigkitError(
            f"batch profile needs 1 <= min <= opt <= max; got {min_batch}/{opt_batch}/{max_batch}"
        )
    trt, builder, (network, _parser) = parse_onnx(onnx_path)
    config = builder.create_builder_config()
    flag_name = {"fp16": "FP16", "int8": "INT8"}.get(precision)
    if flag_name and hasattr(trt.BuilderFlag, flag_name):
        config.set_flag(getattr(trt.BuilderFlag, flag_name))
    if precision == "fp32" and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)  # fp32 means fp32: hold the 1e-5 tolerance
    profile = builder.create_optimization_profile()
    for spec in inputs:
        rest = tuple(spec.shape[1:])
        profile.set_shape(spec.name, (min_batch, *rest), (opt_batch, *rest), (max_batch, *rest))
    config.add_optimization_profile(profile)
    cache = _load_timing_cache(config, timing_cache)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise TrigkitError(f"{onnx_path}: {trt.__name__} failed to build an engine (see its log)")
    data = bytes(serialized)
    with atomic_path(engine_path, suffix=".engine") as tmp:
        tmp.write_bytes(data)
    if timing_cache is not None and cache is not None:
        with atomic_path(timing_cache) as tmp:
            tmp.write_bytes(bytes(cache.serialize()))
    gpu, cc = current_gpu()
    info = EngineInfo(
        library=_library_name(trt),  # type: ignore[arg-type]
        version=str(trt.__version__),
        gpu_name=gpu,
        compute_capability=cc,
        precision=precision,
        min_batch=min_batch,
        opt_batch=opt_batch,
        max_batch=max_batch,
        engine_bytes=len(data),
    )
    log.info("built %s engine %s (%d bytes) for %s", info.library, engine_path, len(data), gpu)
    return info


def _load_timing_cache(config: object, path: Path | None) -> object | None:
    if path is None:
        return None
    blob = Path(path).read_bytes() if Path(path).is_file() else b""
    cache = config.create_timing_cache(blob)  # type: ignore[attr-defined]
    if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):  # type: ignore[attr-defined]
        raise TrigkitError(
            f"{path}: timing cache could not be used (built by another TensorRT/GPU?)"
        )
    return cache


def check_engine_compatible(info: EngineInfo, engine_path: Path) -> ModuleType:
    """Refuse an engine built with another TensorRT library/version or for another GPU."""
    trt = import_tensorrt()
    lib, version = _library_name(trt), str(trt.__version__)
    gpu, _cc = current_gpu()
    if (info.library, info.version) != (lib, version):
        raise TrigkitError(
            f"{engine_path}: engine built with {info.library} {info.version}, this machine has "
            f"{lib} {version}; rebuild it here with `trigkit compile --target gpu`"
        )
    if info.gpu_name != gpu:
        raise TrigkitError(
            f"{engine_path}: engine built for GPU '{info.gpu_name}', this "
            f"machine has '{gpu}'; engines are specific to one GPU model - "
            "rebuild it here with `trigkit compile --target gpu`"
        )
    return trt
