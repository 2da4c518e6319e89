"""CUDA-graph capture and replay, written once for every runner and bench contender.

:func:`capture` warms a body up on a side stream (NVRTC compiles, cuBLAS handles, caching
allocator), then records one call of it into a :class:`torch.cuda.CUDAGraph`; whatever the body
enqueues - torch ops, copies between pinned host and device buffers, cupy ``RawKernel`` launches
(``cupy=True``) - becomes one graph launched by :meth:`~torch.cuda.CUDAGraph.replay`.
:func:`replayer` turns a graph whose last node writes a pinned host tensor into a call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")


@contextlib.contextmanager
def _cupy_stream(stream: torch.cuda.Stream, on: bool) -> Iterator[None]:
    """cupy's current stream set to ``stream``: its launches are enqueued (and captured) there."""
    if not on:
        yield
        return
    import cupy

    with cupy.cuda.ExternalStream(stream.cuda_stream):
        yield


def capture(
    body: Callable[[], T],
    stream: torch.cuda.Stream | None = None,
    *,
    warmup: int = 1,
    cupy: bool = False,
) -> tuple[torch.cuda.CUDAGraph, T]:
    """(graph, what the captured call of ``body`` returned - e.g. its static output tensor).

    ``body`` runs ``warmup`` times on ``stream`` (a new side stream if None) after the stream has
    waited for the current one (static inputs are usually filled there), the stream is
    synchronized, and one more call is captured. Autograd is off throughout; ``cupy``: cupy's
    current stream follows, so ``RawKernel`` launches in ``body`` join the graph.
    """
    stream = stream if stream is not None else torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.no_grad():
        with torch.cuda.stream(stream), _cupy_stream(stream, cupy):
            for _ in range(warmup):
                body()
        stream.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream), _cupy_stream(stream, cupy):
            out = body()
    return graph, out


def replayer(graph: torch.cuda.CUDAGraph, res: torch.Tensor) -> Callable[[], np.ndarray]:
    """A call that replays ``graph``, synchronizes and returns ``res`` (pinned host) as numpy."""

    def call() -> np.ndarray:
        graph.replay()  # replays on the current stream; sync it before reading the host buffer
        torch.cuda.current_stream().synchronize()
        return res.numpy()

    return call
