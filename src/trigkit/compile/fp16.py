"""FP16 graphs: the model's weights and arithmetic in float16, its interface in float32/bool.

The torch module is cast to half and exported with casts at the boundary
(:class:`~trigkit.compile.onnx_export.ProbabilityHead` in ``half`` mode), so the graph is
*typed* fp16: strongly typed builders (TensorRT-RTX, TensorRT with ``STRONGLY_TYPED``) run it
in fp16 without a precision flag, weakly typed TensorRT additionally gets ``BuilderFlag.FP16``.
The float32 interface keeps bundles, runners and Triton configs identical across precisions;
runners that want fewer input bytes (the GPU benchmark) feed fp16 directly to torch.

Tolerance: max |p_fp16 - p_fp32| <= 1e-2 on probabilities (:data:`onnx_export.TOLERANCE`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import nn

from trigkit.compile.onnx_export import OPSET, export_onnx


def export_fp16(
    module: nn.Module, examples: dict[str, np.ndarray], path: Path, *, opset: int = OPSET
) -> Path:
    """Export ``module`` as an fp16-typed ONNX graph with float32 inputs and probabilities."""
    return export_onnx(module, examples, path, half=True, opset=opset)


def fp16_overflow_risk(inputs: dict[str, np.ndarray], limit: float = 6.0e4) -> list[str]:
    """Names of float inputs with values beyond float16's range (65504) - they become inf."""
    return [
        k
        for k, v in inputs.items()
        if np.issubdtype(v.dtype, np.floating) and v.size and float(np.nanmax(np.abs(v))) > limit
    ]
