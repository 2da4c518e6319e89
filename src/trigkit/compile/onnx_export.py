"""Export a tagger to ONNX and check the graph against torch in onnxruntime.

The exported graph outputs **probabilities**, not logits: a softmax over the class axis is part
of the graph (sigmoid for single-logit models), so every runtime (onnxruntime, TensorRT,
Triton) returns the same numbers the trigger cuts on. Axis 0 of every input and output is a
dynamic ``batch`` axis; masks of track models are ``bool`` inputs that the model multiplies in
as float (no boolean indexing), which exports to plain ``Mul``.

Tolerances (max abs difference on probabilities, onnxruntime vs. torch float32 on the same
inputs) are stated in :data:`trigkit.compile.onnx_run.TOLERANCE`; ``int8`` is judged by the
AUC change (see :mod:`trigkit.compile.int8`) and by the 99th percentile of the per-row max abs
difference (<= 0.2); its max abs difference is reported only - a few rows near a decision
boundary can move a lot while the ranking, which the trigger cuts on, stays.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trigkit.bundle.manifest import TensorSpec
from trigkit.compile.onnx_run import (
    OUTPUT_NAME,
    TOLERANCE,
    load_onnx,
    max_abs_diff,
    onnx_probabilities,
)
from trigkit.core.atomic import atomic_path
from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require

log = logging.getLogger(__name__)

OPSET = 17
BATCH_AXIS = "batch"


class ProbabilityHead(nn.Module):
    """``softmax(module(*inputs))`` (sigmoid for one logit), optionally computed in fp16/bf16.

    With ``dtype`` set, the module's weights are cast to it, float inputs are cast to it inside
    the graph and the probabilities are cast back to float32, so the interface stays float32.
    """

    def __init__(
        self, module: nn.Module, dtype: torch.dtype | None = None, single_logit: bool = False
    ) -> None:
        super().__init__()
        self.module = module.to(dtype) if dtype is not None else module
        self.dtype = dtype
        self.single_logit = single_logit

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.dtype is not None:
            inputs = tuple(x.to(self.dtype) if x.is_floating_point() else x for x in inputs)
        logits = self.module(*inputs)
        if self.single_logit:
            probs = torch.sigmoid(logits)
        else:
            probs = torch.softmax(logits, dim=-1)
        return probs.float()


def make_head(
    module: nn.Module, example: tuple[torch.Tensor, ...], dtype: torch.dtype | None = None
) -> ProbabilityHead:
    """A ProbabilityHead on a float32 copy of ``module``; one probe call decides sigmoid/softmax."""
    base = _copy_module(module)
    with torch.no_grad():
        n_out = base(*example).shape[-1]
    return ProbabilityHead(base, dtype, single_logit=n_out == 1).eval()


def specs_from_arrays(arrays: dict[str, np.ndarray]) -> list[TensorSpec]:
    """Input specs (batch axis = -1) from example arrays, in the dict's order."""
    return [
        TensorSpec(name=k, shape=(-1, *v.shape[1:]), dtype=str(v.dtype)) for k, v in arrays.items()
    ]


def export_onnx(
    module: nn.Module,
    examples: dict[str, np.ndarray],
    path: Path,
    *,
    half: bool = False,
    opset: int = OPSET,
) -> Path:
    """Write ``softmax(module(*examples.values()))`` as ONNX with a dynamic batch axis.

    ``examples`` maps input name -> example array (its dict order is the module's positional
    order); only its shapes beyond axis 0 and dtypes matter.
    """
    if opset < OPSET:
        raise TrigkitError(f"ONNX opset {opset} is too old; use >= {OPSET}")
    require("onnx", "gpu")  # torch.onnx.export needs it; fail with the extra to install
    args = tuple(torch.from_numpy(np.ascontiguousarray(v[:2])) for v in examples.values())
    head = make_head(module, args, torch.float16 if half else None)
    names = list(examples)
    dyn = {n: {0: BATCH_AXIS} for n in [*names, OUTPUT_NAME]}
    with atomic_path(path, suffix=".onnx") as tmp, torch.no_grad():
        torch.onnx.export(
            head,
            args,
            str(tmp),
            input_names=names,
            output_names=[OUTPUT_NAME],
            dynamic_axes=dyn,
            opset_version=opset,
            dynamo=False,
        )
        load_onnx(tmp)  # refuse to publish a graph the checker rejects
    log.info("exported %s (opset %d, %s)", path, opset, "fp16" if half else "fp32")
    return path


def _copy_module(module: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(module).float().eval()


def torch_probabilities(module: nn.Module, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Float32 torch reference: softmax(module(*inputs)) on CPU."""
    args = tuple(torch.from_numpy(np.ascontiguousarray(v)) for v in inputs.values())
    head = make_head(module, tuple(a[:1] for a in args))
    with torch.no_grad():
        out = head(*args)
    return out.numpy()


def check_against_torch(
    path: Path,
    module: nn.Module,
    inputs: dict[str, np.ndarray],
    precision: str,
    *,
    tolerance: float | None = None,
) -> float:
    """Max abs difference on probabilities, onnxruntime vs. torch float32; raise if too large."""
    tol = TOLERANCE[precision] if tolerance is None else tolerance
    diff = max_abs_diff(onnx_probabilities(path, inputs), torch_probabilities(module, inputs))
    log.info(
        "%s: max |onnxruntime - torch| = %.3g (tolerance %.3g, %s)", path, diff, tol, precision
    )
    if not diff <= tol:
        raise TrigkitError(
            f"{path}: {precision} graph disagrees with torch by {diff:.3g} on '{OUTPUT_NAME}' "
            f"(tolerance {tol:g})"
        )
    return diff
