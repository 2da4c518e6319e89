"""The ``mma-*`` contenders of `trigkit bench gpu`: the register-resident tensor-core kernel of
:mod:`trigkit.runtime.cuda.mma` driven four ways by the host side of
:mod:`trigkit.runtime.cuda.mma_run` (the same code the ``cuda-kernel`` backend runs).

* ``mma-zerocopy-graph-fp16``: the kernel reads fp16 tracks + uint8 mask straight from mapped
  pinned host memory and writes the probabilities there; a call is a 1-node CUDA graph and a
  synchronize (no memcpy);
* ``mma-graph-io-fp16``: device buffers; H2D copies, kernel and D2H copy in one CUDA graph;
* ``mma-pipeline-graph-fp16`` / ``mma-pipeline-streams-graph-fp16``: the batch split in 8
  chunks (at least 4096 jets each) on copy and compute streams, the whole fork/join captured as
  one CUDA graph (one launch per call);
* ``mma-persistent-fp16``: the kernel launched once per batch size, polling a request counter in
  mapped host memory; no launch and no synchronize per call.

All need cupy (NVRTC) and an sm_80+ GPU.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from trigkit.runtime.cuda.graphs import capture, replayer
from trigkit.runtime.cuda.mma import RECORD_BYTES
from trigkit.runtime.cuda.mma_run import (
    MmaKernels,
    Server,
    chunk_size,
    fill_records,
    pipelined_launch,
)
from trigkit.runtime.cuda.pinned import mapped, pinned

Prepare = Callable[[int], Callable[[], np.ndarray]]


def records(data: dict[str, np.ndarray], n: int) -> torch.Tensor:
    """The first ``n`` jets of ``data`` (tracks, mask) as pinned uint8 jet records [n, 196]."""
    rec = np.zeros((n, RECORD_BYTES), dtype=np.uint8)
    fill_records(rec, data["tracks"][:n], data["mask"][:n])
    return pinned(rec)


def zerocopy_factory(k: MmaKernels, data: dict[str, np.ndarray]) -> Prepare:
    """Mapped host records in, mapped host probabilities out; a 1-node graph per call."""

    def prepare(n: int) -> Callable[[], np.ndarray]:
        rec = records(data, n)
        res = torch.zeros((n, 3)).pin_memory()
        mrec, mres = mapped(rec), mapped(res)
        graph, _ = capture(lambda: k.launch_records(k.mapped, n, mrec, mres), cupy=True)
        call = replayer(graph, res)
        call.keep = (rec, mrec, mres)  # type: ignore[attr-defined]
        return call

    return prepare


def pipeline_factory(
    k: MmaKernels, data: dict[str, np.ndarray], chunks: int | None, design: str = "copy-stream"
) -> Prepare:
    """``chunks=None``: the whole batch as one chunk (copy in, kernel, copy out)."""

    def prepare(n: int) -> Callable[[], np.ndarray]:
        rec = records(data, n)
        res = torch.zeros((n, 3)).pin_memory()
        chunk = n if chunks is None else chunk_size(n, chunks)
        graph, _ = capture(pipelined_launch(k, rec, res, chunk, design), cupy=True)
        return replayer(graph, res)

    return prepare


def persistent_factory(k: MmaKernels, data: dict[str, np.ndarray]) -> Prepare:
    """One persistent server per batch size; the previous one is stopped first."""
    running: list[Server] = []

    def prepare(n: int) -> Callable[[], np.ndarray]:
        while running:
            running.pop().stop()
        server = Server(k, records(data, n), torch.zeros((n, 4)).pin_memory())
        running.append(server)
        return server.request

    return prepare
