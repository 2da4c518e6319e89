"""Registry of compile targets: ``TARGETS.create(name, ...)`` builds a bundle for that target.

Each target module imports hls4ml / onnx / tensorrt only inside its functions, so listing the
targets (``trigkit backends``) stays light.
"""

from __future__ import annotations

from typing import Any

from trigkit.compile.targets import fpga, gpu
from trigkit.core.registry import Registry

TARGETS: Registry[Any] = Registry("compile target")
TARGETS.register("fpga", fpga.compile_fpga, fpga.available, fpga.SUMMARY)
TARGETS.register("gpu", gpu.compile_gpu, gpu.available, gpu.SUMMARY)
