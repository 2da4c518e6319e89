"""torch runner: eager or ``torch.compile``, fp32/fp16/bf16, CUDA graphs for fixed batch sizes.

On a CUDA device the runner owns a side stream; host inputs go through pinned (page-locked)
staging buffers with ``non_blocking`` copies on that stream, and outputs come back the same way.
For each batch size in ``cuda_graph_batches`` the whole forward pass is captured once into a
CUDA graph (static input/output tensors) and replayed, removing per-kernel launch overhead;
other batch sizes run eagerly. On CPU the same code runs eagerly (no streams, no graphs).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from torch import nn

from trigkit.compile.onnx_export import make_head
from trigkit.core.errors import TrigkitError
from trigkit.runtime.base import NanPolicy, Runner
from trigkit.runtime.cuda.graphs import capture

if TYPE_CHECKING:
    from trigkit.bundle.manifest import TensorSpec

log = logging.getLogger(__name__)

DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}
Device = Literal["cpu", "cuda", "auto"]


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise TrigkitError(
            "torch runner: device 'cuda' requested but torch sees no CUDA GPU; use device='cpu'"
        )
    if device not in ("cpu", "cuda"):
        raise TrigkitError(f"torch runner: device '{device}' unknown; valid: cpu, cuda, auto")
    return torch.device(device)


class _Graph:
    """One captured CUDA graph with its static device inputs/output and pinned host buffers."""

    def __init__(
        self,
        head: nn.Module,
        specs: Sequence[TensorSpec],
        batch: int,
        device: torch.device,
        stream: torch.cuda.Stream,
    ) -> None:
        self.inputs = [
            torch.zeros((batch, *s.shape[1:]), dtype=_torch_dtype(s.dtype), device=device)
            for s in specs
        ]
        self.host_in = [torch.empty_like(t, device="cpu").pin_memory() for t in self.inputs]
        with torch.cuda.device(device):  # inputs were zeroed on this device's current stream
            self.graph, self.output = capture(lambda: head(*self.inputs), stream, warmup=3)
        self.host_out = torch.empty_like(self.output, device="cpu").pin_memory()


def _torch_dtype(dtype: str) -> torch.dtype:
    return getattr(torch, dtype)


class TorchRunner(Runner):
    backend = "torch"

    def __init__(
        self,
        module: nn.Module,
        inputs: Sequence[TensorSpec],
        *,
        device: Device = "cpu",
        dtype: str = "fp32",
        compile: bool = False,
        cuda_graph_batches: Sequence[int] = (),
        nan_policy: NanPolicy = "reject",
    ) -> None:
        super().__init__(inputs, nan_policy=nan_policy, label=f"torch:{dtype}")
        if dtype not in DTYPES:
            raise TrigkitError(f"torch runner dtype '{dtype}' unknown; valid: {', '.join(DTYPES)}")
        self.module = module
        self.device_name = device
        self.dtype = dtype
        self.compile = compile
        self.cuda_graph_batches = tuple(int(b) for b in cuda_graph_batches)
        self._head: nn.Module | None = None
        self._graphs: dict[int, _Graph] = {}
        self._stream: torch.cuda.Stream | None = None

    def _activate_impl(self) -> None:
        self.device = resolve_device(self.device_name)
        if self.cuda_graph_batches and self.device.type != "cuda":
            raise TrigkitError("torch runner: CUDA graphs need device='cuda'")
        probe = tuple(
            torch.zeros((1, *s.shape[1:]), dtype=_torch_dtype(s.dtype)) for s in self.inputs
        )
        head = make_head(self.module, probe, None if self.dtype == "fp32" else DTYPES[self.dtype])
        head = head.to(self.device).eval()
        if self.compile:
            head = torch.compile(head, dynamic=True)
        self._head = head
        if self.device.type == "cuda":
            self._stream = torch.cuda.Stream(self.device)
            for b in self.cuda_graph_batches:
                self._graphs[b] = _Graph(head, self.inputs, b, self.device, self._stream)

    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        assert self._head is not None
        n = next(iter(feed.values())).shape[0]
        if n in self._graphs:
            return self._replay(self._graphs[n], feed)
        tensors = [torch.from_numpy(np.ascontiguousarray(v)) for v in feed.values()]
        if self.device.type == "cpu":
            with torch.no_grad():
                return self._head(*tensors).numpy()
        assert self._stream is not None
        with torch.cuda.stream(self._stream), torch.no_grad():
            dev = [t.pin_memory().to(self.device, non_blocking=True) for t in tensors]
            out = self._head(*dev).to("cpu", non_blocking=True)
        self._stream.synchronize()
        return out.numpy()

    def _replay(self, g: _Graph, feed: dict[str, np.ndarray]) -> np.ndarray:
        assert self._stream is not None
        for host, arr in zip(g.host_in, feed.values(), strict=True):
            host.numpy()[...] = arr
        with torch.cuda.stream(self._stream):
            for dev, host in zip(g.inputs, g.host_in, strict=True):
                dev.copy_(host, non_blocking=True)
            g.graph.replay()
            g.host_out.copy_(g.output, non_blocking=True)
        self._stream.synchronize()
        return g.host_out.numpy().copy()

    def _deactivate_impl(self) -> None:
        self._graphs.clear()
        self._head = None
        self._stream = None
