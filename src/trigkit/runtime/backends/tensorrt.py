"""TensorRT runner: a serialized engine, one execution context, its own CUDA stream.

Device memory and pinned host staging buffers come from torch (the CUDA allocator every GPU
stack here has); inputs are copied host -> pinned -> device asynchronously on the runner's
stream, the engine is enqueued with ``execute_async_v3`` on the same stream, and the output
comes back through a pinned buffer. Buffers are sized for the largest batch seen so far.

Before deserializing, the engine's recorded TensorRT library/version and GPU are compared with
this machine's (:func:`trigkit.compile.tensorrt_build.check_engine_compatible`); a mismatch is
refused with a message saying how to rebuild. TensorRT is imported only when the runner is
activated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trigkit.bundle.manifest import TensorSpec
from trigkit.compile.tensorrt_build import EngineInfo, check_engine_compatible
from trigkit.core.errors import TrigkitError
from trigkit.runtime.base import NanPolicy, Runner

log = logging.getLogger(__name__)


class TensorRTRunner(Runner):
    backend = "tensorrt"

    def __init__(
        self,
        engine_path: Path,
        info: EngineInfo,
        inputs: Sequence[TensorSpec],
        *,
        output: str = "probs",
        nan_policy: NanPolicy = "reject",
    ) -> None:
        super().__init__(inputs, nan_policy=nan_policy, label=f"tensorrt:{Path(engine_path).name}")
        self.engine_path = Path(engine_path)
        self.info = info
        self.output = output
        self._capacity = 0

    def _activate_impl(self) -> None:
        trt = check_engine_compatible(self.info, self.engine_path)
        import torch

        if not torch.cuda.is_available():
            raise TrigkitError(
                f"{self.engine_path}: the TensorRT runner needs a CUDA GPU; none is visible"
            )
        from trigkit.compile.tensorrt_build import _logger

        self._torch = torch
        self._runtime = trt.Runtime(_logger(trt))
        engine = self._runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
        if engine is None:
            raise TrigkitError(
                f"{self.engine_path}: TensorRT could not deserialize the engine "
                "(corrupt, or built by another TensorRT version / for another "
                "GPU); rebuild it with `trigkit compile --target gpu`"
            )
        self._engine = engine
        self._context = engine.create_execution_context()
        self._stream = torch.cuda.Stream()
        self._device_bufs: dict[str, object] = {}
        self._host_bufs: dict[str, object] = {}
        self._capacity = 0

    def _ensure(self, n: int, feed: dict[str, np.ndarray]) -> None:
        if n <= self._capacity:
            return
        torch = self._torch
        cap = max(n, 2 * self._capacity)
        bufs, host = {}, {}
        for name, arr in feed.items():
            dt = torch.from_numpy(arr[:0]).dtype
            bufs[name] = torch.empty((cap, *arr.shape[1:]), dtype=dt, device="cuda")
            host[name] = torch.empty((cap, *arr.shape[1:]), dtype=dt).pin_memory()
        n_cls = int(self._engine.get_tensor_shape(self.output)[-1])
        bufs[self.output] = torch.empty((cap, n_cls), dtype=torch.float32, device="cuda")
        host[self.output] = torch.empty((cap, n_cls), dtype=torch.float32).pin_memory()
        self._device_bufs, self._host_bufs, self._capacity = bufs, host, cap

    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        n = next(iter(feed.values())).shape[0]
        if not self.info.min_batch <= n <= self.info.max_batch:
            raise TrigkitError(
                f"{self.label}: batch {n} outside the engine's profile "
                f"[{self.info.min_batch}, {self.info.max_batch}]; rebuild with another --max-batch"
            )
        self._ensure(n, feed)
        torch, ctx = self._torch, self._context
        with torch.cuda.stream(self._stream):
            for name, arr in feed.items():
                host = self._host_bufs[name][:n]
                host.numpy()[...] = arr
                dev = self._device_bufs[name][:n]
                dev.copy_(host, non_blocking=True)
                ctx.set_input_shape(name, tuple(arr.shape))
                ctx.set_tensor_address(name, dev.data_ptr())
            out_dev = self._device_bufs[self.output][:n]
            ctx.set_tensor_address(self.output, out_dev.data_ptr())
            if not ctx.execute_async_v3(self._stream.cuda_stream):
                raise TrigkitError(f"{self.label}: TensorRT execution failed (see its log)")
            out_host = self._host_bufs[self.output][:n]
            out_host.copy_(out_dev, non_blocking=True)
        self._stream.synchronize()
        return out_host.numpy().copy()

    def _deactivate_impl(self) -> None:
        self._device_bufs, self._host_bufs = {}, {}
        self._context = self._engine = self._runtime = None
        self._capacity = 0
