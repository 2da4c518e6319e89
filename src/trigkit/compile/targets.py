"""Registry of compile targets (`fpga`, `gpu`); each target module registers itself on import."""

from __future__ import annotations

from typing import Any

from trigkit.registry import Registry

TARGETS: Registry[Any] = Registry("compile target")

# Target modules register here; they import hls4ml / onnx / tensorrt only inside their functions.
from trigkit.compile import target_fpga, target_gpu  # noqa: E402,F401
