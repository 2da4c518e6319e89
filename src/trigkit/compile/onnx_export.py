"""Export a tagger to ONNX and check the graph against torch in onnxruntime.

The exported graph outputs **probabilities**, not logits: a softmax over the class axis is part
of the graph (sigmoid for single-logit models), so every runtime (onnxruntime, TensorRT,
Triton) returns the same numbers the trigger cuts on. Axis 0 of every input and output is a
dynamic ``batch`` axis; masks of track models are ``bool`` inputs that the model multiplies in
as float (no boolean indexing), which exports to plain ``Mul``.

Tolerances (max abs difference on probabilities, onnxruntime vs. torch float32 on the same
inputs) are stated in :data:`TOLERANCE`; ``int8`` is judged by the AUC change (see
:mod:`trigkit.compile.int8`) and by the 99th percentile of the per-row max abs difference
(<= 0.2); its max abs difference is reported only - a few rows near a decision boundary can
move a lot while the ranking, which the trigger cuts on, stays.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trigkit.bundle.manifest import TensorSpec
from trigkit.core.atomic import atomic_path
from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require

log = logging.getLogger(__name__)

OPSET = 17
BATCH_AXIS = "batch"
OUTPUT_NAME = "probs"
# max |p_onnx - p_torch| allowed per precision (probabilities in [0, 1])
# (int8: the 99th percentile over rows of max |p_int8 - p_float|; its max is only reported)
TOLERANCE: dict[str, float] = {"fp32": 1e-5, "fp16": 1e-2, "int8": 0.2}


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


def load_onnx(path: Path) -> object:
    """Load and check an ONNX file; a corrupt or invalid file raises TrigkitError naming it."""
    onnx = require("onnx", "gpu")
    path = Path(path)
    if not path.is_file():
        raise TrigkitError(f"{path}: ONNX file not found")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx raises DecodeError, ValidationError, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise TrigkitError(
            f"{path}: not a valid ONNX model ({type(exc).__name__}: {first})"
        ) from None
    return model


def torch_probabilities(module: nn.Module, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Float32 torch reference: softmax(module(*inputs)) on CPU."""
    args = tuple(torch.from_numpy(np.ascontiguousarray(v)) for v in inputs.values())
    head = make_head(module, tuple(a[:1] for a in args))
    with torch.no_grad():
        out = head(*args)
    return out.numpy()


def onnx_probabilities(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Run the ONNX graph in onnxruntime on CPU, one thread, no spinning."""
    ort = require("onnxruntime", "gpu")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # run Q/DQ graphs as written (float fake-quant = TensorRT's integer math); onnxruntime's own
    # fused int8 CPU kernels may saturate 16-bit intermediates on CPUs without VNNI
    opts.add_session_config_entry("session.disable_quant_qdq", "1")
    try:
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001
        raise TrigkitError(
            f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0]})"
        ) from None
    return sess.run([OUTPUT_NAME], dict(inputs))[0]


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0


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


def onnx_io_names(path: Path) -> tuple[Sequence[str], Sequence[str]]:
    model = load_onnx(path)
    graph = model.graph  # type: ignore[attr-defined]
    return [i.name for i in graph.input], [o.name for o in graph.output]
