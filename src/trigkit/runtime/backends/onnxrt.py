"""onnxruntime runner: CPU execution provider, CUDA execution provider when onnxruntime has it.

Q/DQ (int8) graphs run as written by default - quantize/dequantize in float around float
kernels, numerically TensorRT's integer math - because onnxruntime's fused int8 CPU kernels may
saturate 16-bit intermediates on CPUs without VNNI; ``fuse_qdq=True`` uses them anyway.

Threads are configurable; by default one intra-op and one inter-op thread with spinning
disabled (``session.intra_op.allow_spinning = 0``), so an idle onnxruntime pool does not burn
the cores torch is being timed on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from trigkit.core.errors import TrigkitError, first_line
from trigkit.core.lazy import require
from trigkit.runtime.base import NanPolicy, Runner

if TYPE_CHECKING:
    from trigkit.bundle.manifest import TensorSpec

log = logging.getLogger(__name__)

Device = Literal["cpu", "cuda", "auto"]


def cuda_provider_available() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


class OnnxRuntimeRunner(Runner):
    backend = "onnxruntime"

    def __init__(
        self,
        onnx_path: Path,
        inputs: Sequence[TensorSpec],
        *,
        output: str = "probs",
        device: Device = "cpu",
        intra_op_threads: int = 1,
        inter_op_threads: int = 1,
        allow_spinning: bool = False,
        fuse_qdq: bool = False,
        nan_policy: NanPolicy = "reject",
    ) -> None:
        super().__init__(inputs, nan_policy=nan_policy, label=f"onnxruntime:{Path(onnx_path).name}")
        if device not in ("cpu", "cuda", "auto"):
            raise TrigkitError(f"onnxruntime device '{device}' unknown; valid: cpu, cuda, auto")
        self.onnx_path = Path(onnx_path)
        self.output = output
        self.device = device
        self.intra_op_threads = intra_op_threads
        self.inter_op_threads = inter_op_threads
        self.allow_spinning = allow_spinning
        self.fuse_qdq = fuse_qdq
        self._session: object | None = None

    def providers(self) -> list[str]:
        cuda = cuda_provider_available()
        if self.device == "cuda" and not cuda:
            raise TrigkitError(
                "onnxruntime has no CUDAExecutionProvider here (install onnxruntime-gpu and use a "
                "CUDA machine) - use device='cpu'"
            )
        if self.device == "cuda" or (self.device == "auto" and cuda):
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        return ["CPUExecutionProvider"]

    def _activate_impl(self) -> None:
        ort = require("onnxruntime", "gpu")
        if not self.onnx_path.is_file():
            raise TrigkitError(f"{self.onnx_path}: ONNX file not found")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.intra_op_threads
        opts.inter_op_num_threads = self.inter_op_threads
        spin = "1" if self.allow_spinning else "0"
        opts.add_session_config_entry("session.intra_op.allow_spinning", spin)
        opts.add_session_config_entry("session.inter_op.allow_spinning", spin)
        if not self.fuse_qdq:
            opts.add_session_config_entry("session.disable_quant_qdq", "1")
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(self.onnx_path), opts, providers=self.providers()
            )
        except Exception as exc:  # noqa: BLE001 - InvalidProtobuf, Fail, NotImplemented ...
            first = first_line(exc)
            raise TrigkitError(
                f"{self.onnx_path}: onnxruntime cannot load this ONNX file ({first})"
            ) from None
        log.debug("onnxruntime session on %s", self._session.get_providers())  # type: ignore[attr-defined]

    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        assert self._session is not None
        return self._session.run([self.output], feed)[0]  # type: ignore[attr-defined]

    def _deactivate_impl(self) -> None:
        self._session = None
