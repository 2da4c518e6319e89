"""Registry of compile targets: ``TARGETS.create(name, ...)`` builds a bundle for that target.

Each target takes a trigkit model file or a model trained elsewhere (ONNX, TorchScript, .pt2,
Keras; decided by the file's content): the first goes to :mod:`.fpga` / :mod:`.gpu`, the second
to :mod:`.imported`, which reuses their builders. The target modules import hls4ml / onnx /
tensorrt only inside their functions, so listing the targets (``trigkit backends``) stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trigkit.bundle.manifest import Bundle
from trigkit.compile.targets import fpga, gpu, imported
from trigkit.core.registry import Registry


def compile_fpga_any(
    model_path: Path,
    out: Path,
    *,
    imported_options: imported.ImportOptions | None = None,
    **kwargs: Any,
) -> Bundle:
    """:func:`.fpga.compile_fpga`, or for a foreign model file
    :func:`.imported.compile_imported_fpga` (``config``, ``csim_dir``, ``rtl_dir`` pass on)."""
    if imported_options is None and not fpga.is_foreign(model_path):
        return fpga.compile_fpga(model_path, out, **kwargs)
    return imported.compile_imported_fpga(
        model_path,
        out,
        imported_options or imported.ImportOptions(),
        kwargs.get("config") or fpga.FpgaCompileConfig(),
        csim_dir=kwargs.get("csim_dir"),
        rtl_dir=kwargs.get("rtl_dir"),
    )


def compile_gpu_any(
    model_path: Path,
    out: Path,
    *,
    imported_options: imported.ImportOptions | None = None,
    **kwargs: Any,
) -> Bundle:
    """:func:`.gpu.compile_gpu`, or for a foreign model file :func:`.imported.compile_imported_gpu`
    (precision, batch range, calibration, engine and timing cache pass on)."""
    if imported_options is None and not fpga.is_foreign(model_path):
        return gpu.compile_gpu(model_path, out, **kwargs)
    batches = tuple(
        kwargs.get(k, d) for k, d in (("min_batch", 1), ("opt_batch", 1024), ("max_batch", 65536))
    )
    return imported.compile_imported_gpu(
        Path(model_path),
        Path(out),
        imported_options or imported.ImportOptions(),
        precision=kwargs.get("precision", "fp32"),
        batches=batches,  # type: ignore[arg-type]
        calibration=kwargs.get("calibration", "entropy"),
        engine=kwargs.get("engine", "auto"),
        timing_cache=kwargs.get("timing_cache"),
    )


TARGETS: Registry[Any] = Registry("compile target")
TARGETS.register("fpga", compile_fpga_any, fpga.available, fpga.SUMMARY)
TARGETS.register("gpu", compile_gpu_any, gpu.available, gpu.SUMMARY)
