"""Zero-copy and pipelined contenders built on the hand-fused kernels.

* ``fused-zerocopy-{kernel,graph}-fp32``: the fp32 kernel of :mod:`gpu_fused` reads the jets
  straight from mapped pinned host memory and writes the probabilities straight into mapped
  pinned host memory, so a call is one kernel launch (or one graph with a single kernel node)
  and a synchronize - no memcpy at all;
* ``tc-zerocopy-fp16-packed``: the tensor-core kernel of :mod:`gpu_tc` (fp16 tracks, uint8
  mask) the same way - the PCIe reads happen inside the kernel, overlapped with its compute;
* ``tc-pipeline-fp16-packed``: the tensor-core kernel on device buffers, the batch split in
  chunks over 4 streams (H2D of one chunk overlaps the kernel of another, D2H per chunk).

Every contender goes through the harness' agreement check against onnxruntime before timing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from trigkit.runtime.cuda.graphs import capture, replayer
from trigkit.runtime.cuda.pinned import mapped, pinned

BLOCKS_PER_SM = 4


def _packed(data: dict[str, np.ndarray], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return pinned(data["tracks"][:n].astype(np.float16)), pinned(
        (data["mask"][:n] != 0).astype(np.uint8)
    )


def zerocopy_fused_factory(
    module: nn.Module, data: dict[str, np.ndarray], use_graph: bool
) -> Callable[[int], Callable[[], np.ndarray]]:
    import cupy

    from trigkit.benchmarks.gpu_fused import KERNEL, _weights

    kernel = cupy.RawKernel(KERNEL, "dips")
    weights = [cupy.asarray(w) for w in _weights(module)]

    def prepare(n: int) -> Callable[[], np.ndarray]:
        host = [
            pinned(data["tracks"][:n].astype(np.float32)),
            pinned(data["mask"][:n].astype(np.float32)),
        ]
        res = torch.zeros((n, 3)).pin_memory()
        args = (mapped(host[0]), mapped(host[1]), *weights, mapped(res))
        stream = torch.cuda.Stream()
        cs = cupy.cuda.ExternalStream(stream.cuda_stream)

        def launch() -> None:
            with cs:
                kernel((n,), (15 * 64,), args)

        if use_graph:
            graph, _ = capture(lambda: kernel((n,), (15 * 64,), args), stream, cupy=True)
            return replayer(graph, res)
        launch()  # compile (NVRTC) and warm up
        stream.synchronize()

        def call() -> np.ndarray:
            launch()
            stream.synchronize()
            return res.numpy()

        return call

    return prepare


def _tc_setup(module: nn.Module) -> tuple[object, list[object], int]:
    import cupy

    from trigkit.benchmarks.gpu_tc import TC_KERNEL, tc_weights

    kernel = cupy.RawKernel(TC_KERNEL, "dips_tc")
    weights = [cupy.asarray(w) for w in tc_weights(module)]
    n_sm = torch.cuda.get_device_properties(0).multi_processor_count
    return kernel, weights, n_sm * BLOCKS_PER_SM


def _grid(n: int, max_blocks: int) -> tuple[int]:
    return (max(1, min(-(-n // 4), max_blocks)),)


def tc_zerocopy_factory(
    module: nn.Module, data: dict[str, np.ndarray]
) -> Callable[[int], Callable[[], np.ndarray]]:
    import cupy

    kernel, weights, max_blocks = _tc_setup(module)

    def prepare(n: int) -> Callable[[], np.ndarray]:
        x, m = _packed(data, n)
        res = torch.zeros((n, 3)).pin_memory()
        args = (mapped(x), mapped(m), *weights, mapped(res), np.int32(n))
        stream = torch.cuda.Stream()
        cs = cupy.cuda.ExternalStream(stream.cuda_stream)
        grid = _grid(n, max_blocks)

        def call() -> np.ndarray:
            with cs:
                kernel(grid, (128,), args)
            stream.synchronize()
            return res.numpy()

        return call

    return prepare


def tc_pipeline_factory(
    module: nn.Module, data: dict[str, np.ndarray], n_streams: int = 4, n_chunks: int = 8
) -> Callable[[int], Callable[[], np.ndarray]]:
    import cupy

    kernel, weights, max_blocks = _tc_setup(module)

    def prepare(n: int) -> Callable[[], np.ndarray]:
        x, m = _packed(data, n)
        dx, dm = x.cuda(), m.cuda()
        dres = torch.zeros((n, 3), device="cuda")
        res = torch.zeros((n, 3)).pin_memory()
        chunk = -(-n // n_chunks)
        streams = [torch.cuda.Stream() for _ in range(n_streams)]
        plan = []
        for j, lo in enumerate(range(0, n, chunk)):
            hi = min(n, lo + chunk)
            s = streams[j % n_streams]
            args = (
                cupy.asarray(dx[lo:hi]),
                cupy.asarray(dm[lo:hi]),
                *weights,
                cupy.asarray(dres[lo:hi]),
                np.int32(hi - lo),
            )
            plan.append(
                (
                    lo,
                    hi,
                    s,
                    cupy.cuda.ExternalStream(s.cuda_stream),
                    args,
                    _grid(hi - lo, max_blocks),
                )
            )
        torch.cuda.synchronize()

        def call() -> np.ndarray:
            for lo, hi, s, cs, args, grid in plan:
                with torch.cuda.stream(s):
                    dx[lo:hi].copy_(x[lo:hi], non_blocking=True)
                    dm[lo:hi].copy_(m[lo:hi], non_blocking=True)
                    with cs:
                        kernel(grid, (128,), args)
                    res[lo:hi].copy_(dres[lo:hi], non_blocking=True)
            for s in streams:
                s.synchronize()
            return res.numpy()

        return call

    return prepare
