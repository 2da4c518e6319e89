"""Registry of runtime backends: ``RUNNERS.create(name, bundle, **opts) -> Runner``.

Each factory takes a loaded gpu :class:`~trigkit.bundle.manifest.Bundle` and imports its backend
module (and through it torch / onnxruntime / TensorRT) only when called; the probes say whether
the backend can run on this machine and why not.
"""

from __future__ import annotations

from typing import Any

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import probe
from trigkit.core.registry import Registry

RUNNERS: Registry[Any] = Registry("runtime backend")


def _onnxruntime(bundle: Any, **opts: Any) -> Any:
    from trigkit.runtime.backends.onnxrt import OnnxRuntimeRunner

    return OnnxRuntimeRunner(bundle.file("model.onnx"), bundle.manifest.inputs, **opts)


def _torch_model_file(bundle: Any, instead: str) -> Any:
    """The bundle's saved torch model; a bundle without one is refused, saying ``instead``."""
    from trigkit.compile.targets.gpu import read_target_info

    info = read_target_info(bundle)
    if info.torch_model is None:
        raise TrigkitError(f"{bundle.path}: bundle has no torch model (model.pt){instead}")
    return bundle.file(info.torch_model)


def _torch(bundle: Any, **opts: Any) -> Any:
    from trigkit.compile.gpu_model import load_gpu_model
    from trigkit.runtime.backends.torch import TorchRunner

    model_file = _torch_model_file(bundle, "; use backend 'onnxruntime'")
    precision = bundle.manifest.precision
    if "dtype" not in opts:
        if precision == "int8":
            raise TrigkitError(
                f"{bundle.path}: an int8 bundle; torch cannot run its Q/DQ graph - use "
                "'onnxruntime' or 'tensorrt', or pass dtype='fp32' to run the float model"
            )
        opts["dtype"] = precision
    return TorchRunner(load_gpu_model(model_file).module, bundle.manifest.inputs, **opts)


def _tensorrt(bundle: Any, **opts: Any) -> Any:
    from trigkit.compile.targets.gpu import read_target_info
    from trigkit.runtime.backends.tensorrt import TensorRTRunner

    info = read_target_info(bundle)
    if info.tensorrt is None:
        reason = f" ({info.tensorrt_skipped})" if info.tensorrt_skipped else ""
        raise TrigkitError(
            f"{bundle.path}: bundle has no TensorRT engine{reason}; recompile "
            "where TensorRT is installed"
        )
    return TensorRTRunner(
        bundle.file("model.engine"), info.tensorrt, bundle.manifest.inputs, **opts
    )


def _cuda_kernel(bundle: Any, **opts: Any) -> Any:
    from trigkit.compile.gpu_model import load_gpu_model
    from trigkit.runtime.backends.cuda_kernel import KernelRunner

    module = load_gpu_model(_torch_model_file(bundle, " to take the kernel's weights from")).module
    return KernelRunner(
        module, bundle.manifest.inputs, label=f"cuda-kernel ({bundle.path})", **opts
    )


def _probe_cuda_kernel() -> tuple[bool, str]:
    ok, why = probe("cupy")
    if not ok:
        return False, f"{why} (pip install cupy-cuda12x or cupy-cuda13x)"
    import torch

    if not torch.cuda.is_available():
        return False, "cupy importable, but torch sees no CUDA GPU"
    cap = torch.cuda.get_device_capability(0)
    if cap < (8, 0):
        return (
            False,
            f"needs compute capability >= 8.0, {torch.cuda.get_device_name(0)} "
            f"has {cap[0]}.{cap[1]}",
        )
    return True, f"hand-written tensor-core DeepSets kernel on {torch.cuda.get_device_name(0)}"


def _probe_torch() -> tuple[bool, str]:
    ok, why = probe("torch")
    if not ok:
        return ok, why
    import torch

    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    return True, f"torch {torch.__version__} ({dev}); eager, torch.compile, CUDA graphs on GPU"


def _probe_onnxruntime() -> tuple[bool, str]:
    ok, why = probe("onnxruntime")
    if not ok:
        return False, f"{why} (pip install 'trigkit[gpu]')"
    import onnxruntime as ort

    return True, f"onnxruntime {ort.__version__}: {', '.join(ort.get_available_providers())}"


def _probe_tensorrt() -> tuple[bool, str]:
    from trigkit.compile.tensorrt_build import NO_GPU, current_gpu
    from trigkit.compile.tensorrt_build import probe as trt_probe

    ok, why = trt_probe()
    if not ok:
        return ok, why
    gpu, _ = current_gpu()
    if gpu == NO_GPU:
        return False, f"{why} importable, but no CUDA GPU to run engines on"
    return True, f"{why} on {gpu}"


RUNNERS.register(
    "onnxruntime", _onnxruntime, _probe_onnxruntime, "ONNX Runtime (CPU EP; CUDA EP when present)"
)
RUNNERS.register(
    "torch", _torch, _probe_torch, "PyTorch eager / torch.compile / CUDA graphs, fp32/fp16/bf16"
)
RUNNERS.register(
    "tensorrt", _tensorrt, _probe_tensorrt, "TensorRT engine, CUDA stream, pinned async copies"
)
RUNNERS.register(
    "cuda-kernel",
    _cuda_kernel,
    _probe_cuda_kernel,
    "hand-written fp16 tensor-core kernel, DIPS-like DeepSets only; zero-copy graphs or persistent",
)
